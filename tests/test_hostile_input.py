"""Random and hostile data posted to every form and action of the site, by the people entitled
to use them (hypothesis): never a 500, and a request refused as invalid writes nothing.

The file of the permission matrix is the stage; each example posts one payload — the fields the
site's forms know and some it does not, with values drawn from any text, control characters,
huge strings, numbers, impossible dates and injection attempts — to one action as one of its
entitled visitors, inside a savepoint rolled back afterwards.
"""

import pytest
from django import forms
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import SkillFactory
from tests.support.permission_matrix import EXPECTED, VISITORS, url_args

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("marketplace", "opportunities", "bids", "evaluation", "payments", "reports")

# Actions without an object in their URL: (URL name, who may use it).
PLAIN_ACTIONS = [
    ("opportunities:create", "owner_buyer"),
    ("opportunities:alert", "stranger"),
    ("opportunities:guardrails", "admin"),
    ("marketplace:supplier_profile", "winner"),
    ("marketplace:preferred_language", "stranger"),
    ("marketplace:full_name", "stranger"),
    ("marketplace:notification_preferences", "winner"),
    ("marketplace:notifications_read_all", "winner"),
    ("reports:metrics_refresh", "admin"),
    ("reports:self_identification", "stranger"),
]

SAMPLES = [
    "",
    " ",
    "\x00",
    "\r\n\t",
    "<script>alert(1)</script>",
    "' OR '1'='1' --",
    "${7*7}{{7*7}}",
    "../../../../etc/passwd",
    "-1",
    "0",
    "9" * 400,
    "1e309",
    "NaN",
    "2026-02-30",
    "99999-12-31",
    "javascript:alert(1)",
    "https://" + "a" * 3000 + ".example",
    "😀" * 200,
    "a" * 100_000,
]
VALUE = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=200))


def _field_names() -> list[str]:
    """Every field name the project's forms declare (and the bid form's per-criterion fields)."""
    names: set[str] = set()
    pending = [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PROJECT_APPS:
            names.update(getattr(cls, "base_fields", {}))
    return sorted(names)


def _targets(stage) -> list[tuple[str, str, list]]:
    """(URL, visitor, extra field names) for every action and every entitled visitor."""
    targets = []
    answers = [f"answer_{c.pk}" for c in stage.objects["awarded"].criteria.all()]
    for name, (_method, args) in url_args(stage).items():
        row = dict(zip(VISITORS, EXPECTED[name].split(), strict=True))
        for visitor, answer in row.items():
            if answer in ("ok", "refused", "invalid") and visitor != "anonymous":
                targets.append((reverse(name, args=args), visitor, answers))
    targets += [(reverse(name), visitor, []) for name, visitor in PLAIN_ACTIONS]
    return targets


def _fingerprint() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
    }


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_posts_never_fail_and_invalid_ones_write_nothing(world, data):
    targets = _targets(world)
    path, visitor, extra = data.draw(st.sampled_from(targets), label="target")
    names = data.draw(
        st.lists(st.sampled_from(_field_names() + extra + ["csrfmiddlewaretoken", "zz"])),
        label="fields",
    )
    payload = {name: data.draw(st.one_of(VALUE, st.lists(VALUE, max_size=3))) for name in names}
    client = Client(raise_request_exception=True)
    client.force_login(world.people[visitor])
    with transaction.atomic():
        before = _fingerprint()
        response = client.post(path, payload)
        after = _fingerprint()
        transaction.set_rollback(True)
    assert response.status_code < 500
    if response.status_code in (400, 403, 404, 405, 409):
        assert after == before, (
            f"{path} refused the request but wrote {after.items() - before.items()}"
        )


HUGE = "9" * 60


@pytest.mark.parametrize(
    ("url_name", "visitor", "field"),
    [
        ("opportunities:create", "owner_buyer", "skills"),
        ("opportunities:alert", "stranger", "skills"),
    ],
)
def test_a_key_too_large_for_the_database_is_an_invalid_choice(world, url_name, visitor, field):
    SkillFactory()  # a list of skills to tick, with its errors under it
    client = Client(raise_request_exception=True)
    client.force_login(world.people[visitor])
    response = client.post(reverse(url_name), {field: [HUGE, "-" + HUGE]})
    assert response.status_code in (200, 400)
    assert "is not a valid value" in response.content.decode()


def test_a_key_too_large_for_the_database_is_no_evaluator(world):
    from evaluation.forms import AppointForm

    for key in (HUGE, "-" + HUGE):
        form = AppointForm(
            data={"evaluator": key}, evaluation=world.objects["evaluation"], action="/"
        )
        assert not form.is_valid()
        assert form.errors["evaluator"] == [
            "Select a valid choice. That choice is not one of the available choices."
        ]
