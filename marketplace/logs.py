"""Logs that can be followed: every line a request writes carries its request id, and with
LOG_FORMAT=json each line is one JSON object (time, level, logger, message, request id, and the
exception's traceback when there is one) for a log collector.

The id comes from the `X-Request-ID` header when the proxy in front sets a sane one, else it is
made here; it is sent back in the response's `X-Request-ID`, so a person reporting a problem can
quote it. Celery's workers log the task's name and id in their own format.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# What a proxy may hand us: letters, digits, dashes and underscores, at most 64.
SANE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _new_id(given: str) -> str:
    return given if SANE_ID.match(given) else uuid.uuid4().hex


def request_started(sender, environ=None, **kwargs) -> None:
    """Set the id as the request starts: Django logs a 4xx or 5xx answer after the middleware
    has finished, and that line needs the id too."""
    request_id.set(_new_id((environ or {}).get("HTTP_X_REQUEST_ID", "")))


def request_finished(sender, **kwargs) -> None:
    request_id.set("-")


class RequestIdMiddleware:
    """Tells the request's id in the response (and makes one where no handler did)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_id.get() == "-":
            request_id.set(_new_id(request.headers.get("X-Request-ID", "")))
        response = self.get_response(request)
        response["X-Request-ID"] = request_id.get()
        return response


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
