import pytest

from marketplace.models import Role
from opportunities.models import Criterion, Opportunity
from tests.factories import OpportunityFactory, SkillFactory, StaffFactory, SupplierFactory
from tests.support.error_summary import (
    assert_every_link_reaches_a_field,
    assert_said_in_summary_and_at_its_field,
)
from tests.support.forms import MANDATORY, RATED, _criteria, _draft_form

pytestmark = pytest.mark.django_db
Status = Opportunity.Status


def test_buyer_drafts_adds_criteria_and_submits(client, buyer):
    skill = SkillFactory(slug="a11y")
    client.force_login(buyer)
    response = client.post("/en/opportunities/new/", {**_draft_form(), "skills": [skill.pk]})
    assert response.status_code == 302
    opportunity = Opportunity.objects.get(buyer=buyer)
    assert opportunity.value_cents == 450_000
    assert list(opportunity.skills.all()) == [skill]
    assert response["Location"] == f"/en/opportunities/{opportunity.pk}/edit/"

    page = client.get(response["Location"]).content.decode()
    assert "Add at least one mandatory criterion." in page

    response = client.post(
        f"/en/opportunities/{opportunity.pk}/edit/",
        {**_draft_form(), **_criteria([MANDATORY, RATED])},
    )
    assert response.status_code == 302
    assert opportunity.criteria.count() == 2
    assert (
        "Everything needed to publish is there."
        in client.get(response["Location"]).content.decode()
    )

    response = client.post(f"/en/opportunities/{opportunity.pk}/submit/")
    assert response["Location"] == f"/en/opportunities/{opportunity.pk}/"
    opportunity.refresh_from_db()
    assert opportunity.status == Status.IN_REVIEW


def test_draft_form_errors_keep_everything_typed(client, buyer):
    client.force_login(buyer)
    response = client.post("/en/opportunities/new/", _draft_form(value_dollars="abc"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter an amount in dollars, such as 2,500.50." in body
    assert "Make the benefits form accessible" in body
    assert not Opportunity.objects.exists()


def test_rated_criterion_without_weight_is_refused(client, draft):
    client.force_login(draft.buyer)
    rows = [{**RATED, "weight": ""}]
    response = client.post(
        f"/en/opportunities/{draft.pk}/edit/", {**_draft_form(), **_criteria(rows)}
    )
    assert response.status_code == 400
    assert "A rated criterion needs this." in response.content.decode()


def test_criteria_can_be_deleted(client, draft):
    client.force_login(draft.buyer)
    existing = list(draft.criteria.all())
    rows = [
        {
            "id": str(c.pk),
            "opportunity": str(draft.pk),
            "kind": c.kind,
            "text_en": c.text_en,
            "text_fr": c.text_fr,
            "weight": c.weight or "",
            "max_score": c.max_score or "",
            "word_limit": c.word_limit,
            **({"DELETE": "on"} if c.kind == "rated" else {}),
        }
        for c in existing
    ]
    response = client.post(
        f"/en/opportunities/{draft.pk}/edit/",
        {**_draft_form(), **_criteria(rows, initial=len(rows))},
    )
    assert response.status_code == 302
    assert [c.kind for c in draft.criteria.all()] == [Criterion.Kind.MANDATORY]


def test_submit_with_problems_explains_them(client, buyer):
    opportunity = OpportunityFactory(buyer=buyer, title_fr="")
    client.force_login(buyer)
    response = client.post(f"/en/opportunities/{opportunity.pk}/submit/")
    # The draft's form again: the problem at its field and in the error summary.
    assert response.status_code == 400
    page = response.content.decode()
    assert_said_in_summary_and_at_its_field(page, "id_title_fr", "Enter the title in French.")
    assert 'href="#id_title_fr"' in page
    assert_every_link_reaches_a_field(page, [("id_title_fr", "Enter the title in French.")])
    opportunity.refresh_from_db()
    assert opportunity.status == Status.DRAFT


def test_other_buyers_and_suppliers_cannot_touch_a_draft(client, draft):
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert client.get(f"/en/opportunities/{draft.pk}/edit/").status_code == 404
    assert client.post(f"/en/opportunities/{draft.pk}/submit/").status_code == 404
    supplier = SupplierFactory()
    client.force_login(supplier)
    assert client.get("/en/opportunities/new/").status_code == 403
    assert client.get(f"/en/opportunities/{draft.pk}/edit/").status_code == 403
    assert client.post(f"/en/opportunities/{draft.pk}/submit/").status_code == 404
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_admin_reviews_and_publishes(client, draft, program_admin):
    draft.status = Status.IN_REVIEW
    draft.save()
    client.force_login(program_admin)
    assert "1 posting is waiting for review." in client.get("/en/dashboard/").content.decode()
    queue = client.get("/en/opportunities/review/").content.decode()
    assert draft.title_en in queue
    assert client.get(f"/en/opportunities/{draft.pk}/review/").status_code == 200
    response = client.post(f"/en/opportunities/{draft.pk}/publish/")
    assert response["Location"] == "/en/opportunities/review/"
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED


def test_admin_requests_changes_and_buyer_sees_the_note(client, draft, program_admin):
    draft.status = Status.IN_REVIEW
    draft.save()
    client.force_login(program_admin)
    response = client.post(f"/en/opportunities/{draft.pk}/request-changes/", {"note": ""})
    assert response["Location"] == f"/en/opportunities/{draft.pk}/review/"
    client.post(f"/en/opportunities/{draft.pk}/request-changes/", {"note": "Add the repo."})
    draft.refresh_from_db()
    assert (draft.status, draft.review_note) == (Status.DRAFT, "Add the repo.")
    client.force_login(draft.buyer)
    assert "Add the repo." in client.get(f"/en/opportunities/{draft.pk}/edit/").content.decode()


def test_split_warning_shown_and_must_be_acknowledged_on_the_page(client, buyer, program_admin):
    skill = SkillFactory(slug="forms")
    OpportunityFactory(buyer=buyer, status=Status.PUBLISHED, value_cents=700_000, skills=[skill])
    later = OpportunityFactory(
        buyer=buyer, status=Status.IN_REVIEW, value_cents=600_000, skills=[skill]
    )
    client.force_login(program_admin)
    assert (
        "Possible split requirement"
        in client.get(f"/en/opportunities/{later.pk}/review/").content.decode()
    )
    response = client.post(f"/en/opportunities/{later.pk}/publish/")
    assert response["Location"] == f"/en/opportunities/{later.pk}/review/"
    later.refresh_from_db()
    assert later.status == Status.IN_REVIEW
    client.post(f"/en/opportunities/{later.pk}/publish/", {"acknowledge_split": "on"})
    later.refresh_from_db()
    assert later.status == Status.PUBLISHED


def test_review_pages_refuse_non_admins(client, draft):
    draft.status = Status.IN_REVIEW
    draft.save()
    client.force_login(draft.buyer)
    assert client.get("/en/opportunities/review/").status_code == 403
    assert client.post(f"/en/opportunities/{draft.pk}/publish/").status_code == 403
    draft.refresh_from_db()
    assert draft.status == Status.IN_REVIEW


def test_buyer_cancels_with_a_reason(client, buyer):
    opportunity = OpportunityFactory(buyer=buyer, status=Status.PUBLISHED)
    client.force_login(buyer)
    response = client.post(f"/en/opportunities/{opportunity.pk}/cancel/", {"reason": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    client.post(f"/en/opportunities/{opportunity.pk}/cancel/", {"reason": "No longer needed."})
    opportunity.refresh_from_db()
    assert opportunity.status == Status.CANCELLED
    body = client.get(f"/en/opportunities/{opportunity.pk}/").content.decode()
    assert "No longer needed." in body


def test_cancel_page_is_404_for_others(client, buyer):
    opportunity = OpportunityFactory(buyer=buyer, status=Status.PUBLISHED)
    client.force_login(SupplierFactory())
    assert client.get(f"/en/opportunities/{opportunity.pk}/cancel/").status_code == 404
    client.force_login(StaffFactory(roles=[Role.BUYER]))
    assert (
        client.post(
            f"/en/opportunities/{opportunity.pk}/cancel/", {"reason": "mine now"}
        ).status_code
        == 404
    )


def test_program_admin_sets_guardrails(client, program_admin):
    """One program admin asks on the page; the change is made when a second approves."""
    from marketplace.models import Approval, AuditEvent, Role
    from opportunities.models import Guardrails
    from tests.factories import StaffFactory

    second = StaffFactory(roles=[Role.PROGRAM_ADMIN])
    client.force_login(program_admin)
    assert client.get("/en/opportunities/guardrails/").status_code == 200
    response = client.post(
        "/en/opportunities/guardrails/",
        {
            "value_cap_dollars": "8000",
            "min_open_business_days": "3",
            "allowed_types": ["bug_fix", "accessibility"],
            "split_window_days": "90",
        },
    )
    approval = Approval.objects.get(kind=Approval.Kind.GUARDRAILS)
    assert response["Location"] == f"/en/program/approvals/{approval.pk}/"
    assert Guardrails.current().value_cap_cents == 1_000_000  # not yet
    client.force_login(second)
    client.post(f"/en/program/approvals/{approval.pk}/approve/")
    guardrails = Guardrails.current()
    assert (guardrails.value_cap_cents, guardrails.min_open_business_days) == (800_000, 3)
    assert guardrails.allowed_types == ["accessibility", "bug_fix"]
    event = AuditEvent.objects.get(verb="guardrails.updated")
    assert event.data["before"]["value_cap_cents"] == 1_000_000
    assert (event.actor, event.data["requested_by"]) == (second, program_admin.pk)


def test_guardrails_bad_input_and_permissions(client, program_admin, buyer):
    from opportunities.models import Guardrails

    client.force_login(program_admin)
    response = client.post(
        "/en/opportunities/guardrails/",
        {"value_cap_dollars": "-1", "min_open_business_days": "x", "split_window_days": "9"},
    )
    assert response.status_code == 200
    assert "Enter an amount of at least $1.00." in response.content.decode()
    assert Guardrails.current().value_cap_cents == 1_000_000
    client.force_login(buyer)
    assert client.get("/en/opportunities/guardrails/").status_code == 403
