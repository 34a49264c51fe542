"""Form payloads the tests post: a bid that can be submitted, an opportunity draft that passes the
publication gate (shared by the bid, opportunity and double-submit tests)."""

import datetime as dt

from django.utils import timezone

from bids.models import Bid
from marketplace.calendar import add_business_days


def _form_data(bid: Bid, **overrides) -> dict:
    data = {
        f"answer_{c.pk}": "We fixed the same keyboard trap last year."
        for c in bid.opportunity.criteria.all()
    }
    data.update(
        proposed_start_date=(timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        attest_can_work_in_canada="on",
        attest_can_be_paid_by_card="on",
        attest_no_conflict="on",
        accept_terms="on",
    )
    data.update(overrides)
    return data


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _draft_form(**overrides) -> dict:
    closes = add_business_days(timezone.now(), 8)
    data = {
        "title_en": "Make the benefits form accessible",
        "title_fr": "Rendre le formulaire de prestations accessible",
        "summary_en": "Fix WCAG issues.",
        "summary_fr": "Corriger les problèmes WCAG.",
        "description_en": "The form fails WCAG 2.1 AA.",
        "description_fr": "Le formulaire échoue aux WCAG 2.1 AA.",
        "deliverables_en": "A pull request.",
        "deliverables_fr": "Une demande de tirage.",
        "acceptance_criteria_en": "axe reports nothing.",
        "acceptance_criteria_fr": "axe ne signale rien.",
        "type": "accessibility",
        "value_dollars": "4500.00",
        "licence": "MIT",
        "repository_url": "https://example.org/repo",
        "question_deadline": _local(closes - dt.timedelta(days=2)),
        "closes_at": _local(closes),
        "expected_delivery_date": (closes + dt.timedelta(days=20)).date().isoformat(),
        "remote_unclassified_only": "on",
        "selection_method": "highest_score",
        "draw_margin_points": "",
        "evaluator_count": "2",
        "attest_standalone": "on",
        "attest_no_internal_capacity": "on",
        "attest_not_split": "on",
    }
    data.update(overrides)
    return data


def _criteria(rows: list[dict], initial: int = 0) -> dict:
    data = {
        "criteria-TOTAL_FORMS": str(len(rows)),
        "criteria-INITIAL_FORMS": str(initial),
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"criteria-{index}-{key}"] = value
    return data


MANDATORY = {
    "kind": "mandatory",
    "text_en": "Knows WCAG.",
    "text_fr": "Connaît les WCAG.",
    "weight": "",
    "max_score": "",
    "word_limit": "200",
}
RATED = {
    "kind": "rated",
    "text_en": "Past work.",
    "text_fr": "Travaux passés.",
    "weight": "2",
    "max_score": "10",
    "word_limit": "300",
}
