"""Every URL pattern of the site with a sample path (tests/marketplace/test_urls.py, the CSRF and
permission-matrix tests)."""

import re
import uuid

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

ARG_VALUES = {"int": "1", "slug": "x", "str": "x", "uuid": str(uuid.uuid4()), "path": "x"}


def _sample_path(route: str) -> str:
    """Turn a route (`users/<int:pk>/`) or a regex (`^(?P<key>.+)/$`) into a concrete path."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: ARG_VALUES[m.group(1) or "str"], path)
    return path.lstrip("^").rstrip("$").replace("\\", "")


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            child_ns = namespace
            if entry.namespace:
                child_ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry, prefix + _sample_path(route), child_ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield name, "/" + (prefix + _sample_path(route)).lstrip("/")


def all_url_patterns():
    with translation.override("en"):
        return sorted(set(_walk(get_resolver())), key=lambda item: item[1])
