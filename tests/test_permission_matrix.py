"""The permission matrix: every URL pattern with an object in it, asked by every kind of visitor,
gets exactly the expected answer. Someone else's object is a 404 (never a 403 that would confirm
it exists); a page for a role the visitor lacks is a 403; anonymous visitors are sent to sign in.

One file is carried through its whole life (a draft, one in review, one published with a
question, one awarded, delivered with a file, certified and paid), then each URL is requested
by each visitor — GET for pages, POST for actions, inside a savepoint rolled back after each
request so that no visitor's action changes what the next one sees.
"""

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.support.permission_matrix import EXPECTED, VISITORS, World, url_args
from tests.support.urls import all_url_patterns

pytestmark = pytest.mark.django_db


def _answer(response) -> str:
    """What the visitor got: `login`; `ok` (shown or done); `refused` (the view said no with an
    error message); `invalid` (reached the view, the empty form was refused on its merits); or
    the status code (403, 404, 405)."""
    code = response.status_code
    if code == 302 and "/accounts/login/" in response["Location"]:
        return "login"
    if code in (400, 409):
        return "invalid"
    if code in (200, 302, 303):
        said = list(get_messages(response.wsgi_request))
        return "refused" if any(m.level >= messages.ERROR for m in said) else "ok"
    return str(code)


def _observe(world: World) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for name, (method, args) in url_args(world).items():
        path = reverse(name, args=args)
        row = {}
        for visitor in VISITORS:
            client = Client()
            if world.people[visitor] is not None:
                client.force_login(world.people[visitor])
            with transaction.atomic():
                response = getattr(client, method)(path)
                transaction.set_rollback(True)
            row[visitor] = _answer(response)
        table[name] = row
    return table


def test_every_object_url_is_covered():
    with_objects = {
        name
        for name, path in all_url_patterns()
        if name and "/1/" in path and not name.startswith(("account_", "admin:", "mfa_"))
    }
    # Not about one person's object: public by design, or a token is the authorization.
    with_objects -= {"marketplace:unsubscribe", "opportunities:skill_feed"}
    assert with_objects - set(EXPECTED) == set()


def test_each_visitor_gets_exactly_the_expected_answer(world):
    observed = _observe(world)
    expected = {
        name: dict(zip(VISITORS, row.split(), strict=True)) for name, row in EXPECTED.items()
    }
    differences = {
        name: {
            v: (expected[name][v], observed[name][v])
            for v in VISITORS
            if expected[name][v] != observed[name][v]
        }
        for name in observed
        if name in expected
    }
    assert {k: v for k, v in differences.items() if v} == {}
    assert set(observed) == set(expected)
