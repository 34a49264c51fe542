"""Issue 20: the self-identification counts cannot be differenced.

The attack, replayed through the pages: a program admin reads the counts, one supplier saves
their answers, the admin reads again (and presses "measure again now") and, with the audit list
naming who saved, learns that supplier's groups. Now the counts are a frozen, rounded snapshot
per complete quarter, computed on a schedule; the saving leaves no actor in the audit trail; and
neither the answers nor the snapshots are in the Django admin.
"""

import csv
import datetime as dt
import io

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import IntegrityError
from django.urls import reverse
from django.utils import translation

from marketplace.models import AuditEvent, JobRun, Role, User
from reports import diversity, services
from reports.models import DiversitySnapshot, SelfIdentification
from reports.tasks import diversity_snapshots
from tests.factories import StaffFactory, SupplierFactory
from tests.support.diversity import (
    CURRENT_START,
    LAST_END,
    LAST_START,
    LATER,
    NEXT_QUARTER,
    TODAY,
    answered,
    diversity_cells,
    in_quarter,
)

pytestmark = pytest.mark.django_db

Group = SelfIdentification.Group


def women_row(html: str) -> list[str]:
    cells = diversity_cells(html)
    index = cells.index(str(Group.WOMEN.label))
    return cells[index : index + 4]


@pytest.fixture
def six_women():
    """Six suppliers who said, during the last complete quarter, that they are women."""
    return [answered(Group.WOMEN, when=in_quarter(LAST_START)) for _ in range(6)]


# --- The differencing attack ---------------------------------------------------------------------


def test_one_supplier_saving_changes_nothing_anyone_can_read(
    client, program_admin, six_women, django_capture_on_commit_callbacks
):
    assert diversity_snapshots.apply().get() == 1  # the nightly job: the last quarter
    client.force_login(program_admin)
    dashboard = reverse("reports:metrics")
    before = client.get(dashboard).content.decode()
    assert women_row(before) == [str(Group.WOMEN.label), "5", "&lt;5", "&lt;5"]  # 6, rounded
    csv_url = reverse("reports:metrics_csv", args=["diversity"])
    csv_before = client.get(csv_url).content

    # The seventh supplier saves, through the page, the same group.
    target = SupplierFactory()
    client.force_login(target)
    response = client.post(
        reverse("reports:self_identification"), {"groups": [Group.WOMEN], "consent": "on"}
    )
    assert response.status_code == 302
    assert SelfIdentification.objects.filter(user=target).exists()

    # The admin reads again, asks for the measures again, and the job runs again: nothing moves.
    client.force_login(program_admin)
    assert women_row(client.get(dashboard).content.decode()) == women_row(before)
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = client.post(reverse("reports:metrics_refresh"), {"query": ""}, follow=True)
    assert women_row(refreshed.content.decode()) == women_row(before)
    assert client.get(csv_url).content == csv_before
    assert diversity_snapshots.apply().get() == 0  # the current quarter is not over
    assert DiversitySnapshot.objects.count() == 1
    assert women_row(client.get(dashboard).content.decode()) == women_row(before)

    # The audit trail says that someone saved, never who.
    event = AuditEvent.objects.filter(verb="self_identification.saved").latest("id")
    assert event.actor is None and event.target_type is None
    assert event.target_id == "" and event.target_repr == "" and event.data == {}
    assert not AuditEvent.objects.filter(
        verb__startswith="self_identification.", actor__isnull=False
    ).exists()

    # Once the quarter is over and the job has run: 7 is published as 6 was, rounded to 5.
    with django_capture_on_commit_callbacks(execute=True):
        taken = services.diversity_snapshots_take(today=NEXT_QUARTER)
    assert [s.quarter_start for s in taken] == [CURRENT_START]
    after = client.get(dashboard, LATER).content.decode()
    assert women_row(after) == [str(Group.WOMEN.label), "5", "&lt;5", "&lt;5"]
    assert "7" not in diversity_cells(after) and "6" not in diversity_cells(after)


def test_an_answer_changed_later_never_moves_a_published_quarter(client, program_admin, six_women):
    services.diversity_snapshots_take()
    published = DiversitySnapshot.objects.get(quarter_start=LAST_START).figures
    # Two answers change and one is deleted after the quarter's figures were published; one
    # more answer even claims to date from that quarter.
    services.self_identification_save(user=six_women[0], groups=[Group.YOUTH], consent=True)
    services.self_identification_delete(user=six_women[1])
    answered(Group.WOMEN, when=in_quarter(LAST_START, day=20))
    assert services.diversity_snapshots_take() == []
    assert DiversitySnapshot.objects.get(quarter_start=LAST_START).figures == published
    client.force_login(program_admin)
    html = client.get(reverse("reports:metrics")).content.decode()
    assert women_row(html) == [str(Group.WOMEN.label), "5", "&lt;5", "&lt;5"]


def test_a_published_snapshot_cannot_be_rewritten(six_women):
    (snapshot,) = services.diversity_snapshots_take()
    snapshot.figures = {"rows": {}, "respondents": 0}
    with pytest.raises(TypeError):
        snapshot.save()
    with pytest.raises(IntegrityError):
        DiversitySnapshot.objects.create(
            quarter_start=LAST_START, quarter_end=LAST_END, answers_before=LAST_END, figures={}
        )


def test_a_quarter_with_fewer_than_five_changes_carries_the_counts_forward(six_women):
    (last,) = services.diversity_snapshots_take()
    assert last.answers_before == LAST_END + dt.timedelta(days=1)
    # Four changes this quarter: two new answers, one changed, one deleted.
    answered(Group.WOMEN)
    answered(Group.WOMEN)
    services.self_identification_save(user=six_women[0], groups=[Group.YOUTH], consent=True)
    services.self_identification_delete(user=six_women[1])
    (current,) = services.diversity_snapshots_take(today=NEXT_QUARTER)
    assert current.figures["rows"][Group.WOMEN][0] == 5  # carried: still the six of last quarter
    assert current.figures["rows"][Group.YOUTH][0] == 0
    assert current.figures["respondents"] == last.figures["respondents"]
    assert current.answers_before == last.answers_before
    # Bids and awards are counted among answers saved before that same day: never more
    # bidders than the members the figure counts.
    assert current.figures["rows"][Group.WOMEN][1:] == ["<5", "<5"]  # none, as small


def test_five_changes_or_more_move_the_counts(six_women):
    services.diversity_snapshots_take()
    for _ in range(5):
        answered(Group.YOUTH)
    (current,) = services.diversity_snapshots_take(today=NEXT_QUARTER)
    assert current.answers_before == diversity.next_quarter_start(TODAY)
    assert current.figures["rows"][Group.YOUTH][0] == 5
    assert current.figures["rows"][Group.WOMEN][0] == 5
    assert current.figures["respondents"] == 10  # 11, rounded


@pytest.mark.parametrize("count", [5, 6, 7])
def test_one_more_or_less_in_a_group_of_five_to_seven_publishes_the_same_figure(count):
    for _ in range(count):
        answered(Group.DISABILITY, when=in_quarter(LAST_START))
    (snapshot,) = services.diversity_snapshots_take()
    assert snapshot.figures["rows"][Group.DISABILITY] == [5, "<5", "<5"]
    assert snapshot.figures["respondents"] == 5


def test_small_groups_are_suppressed_and_a_revealing_total_is_withheld(client, program_admin):
    for group in (Group.BLACK, Group.LGBTQ):
        for _ in range(4):
            answered(group, when=in_quarter(LAST_START))
    (snapshot,) = services.diversity_snapshots_take()
    assert snapshot.figures["rows"][Group.BLACK] == ["<5", "<5", "<5"]
    # "10" respondents beside two groups of "<5" would tell that both hold exactly 4.
    assert snapshot.figures["respondents"] is None
    client.force_login(program_admin)
    html = client.get(reverse("reports:metrics")).content.decode()
    assert "The number of respondents is withheld" in html
    for n in range(1, 5):
        assert f">{n}<" not in "".join(diversity_cells(html))
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("reports:metrics_csv", args=["diversity"]))
                .content.decode()
                .lstrip("\ufeff")
            )
        )
    )
    assert rows[-1][1] == "withheld"
    assert not any(cell in {"1", "2", "3", "4", "8"} for row in rows for cell in row)


# --- The schedule --------------------------------------------------------------------------------


def test_the_task_computes_each_complete_quarter_once(django_capture_on_commit_callbacks):
    three_back = LAST_START
    for _ in range(2):
        three_back = diversity.quarter_start(three_back - dt.timedelta(days=1))
    answered(Group.YOUTH, when=in_quarter(three_back))
    answered(Group.WOMEN)  # today: in the current quarter, counted only once it is over
    with django_capture_on_commit_callbacks(execute=True):
        assert diversity_snapshots.apply().get() == 3
    starts = sorted(DiversitySnapshot.objects.values_list("quarter_start", flat=True))
    assert starts[0] == three_back and starts[-1] == LAST_START and len(starts) == 3
    assert all(s.quarter_end == diversity.quarter_end(s.quarter_start)
               for s in DiversitySnapshot.objects.all())  # fmt: skip
    assert JobRun.objects.get(name="reports.tasks.diversity_snapshots").last_result == "3"
    events = AuditEvent.objects.filter(verb="diversity.snapshot_taken")
    assert events.count() == 3 and not events.filter(actor__isnull=False).exists()
    # The same night and the nights after: nothing more until the current quarter is over.
    assert diversity_snapshots.apply().get() == 0
    assert services.diversity_snapshots_take(today=diversity.quarter_end(TODAY)) == []
    (current,) = services.diversity_snapshots_take(today=NEXT_QUARTER)
    assert current.quarter_start == CURRENT_START
    # One answer changed since the youth were counted: their figures are carried forward.
    assert current.figures["rows"][Group.WOMEN] == [0, 0, 0]
    assert current.figures["rows"][Group.YOUTH] == ["<5", "<5", "<5"]
    assert current.answers_before == diversity.next_quarter_start(three_back)
    assert services.diversity_snapshots_take(today=NEXT_QUARTER) == []
    assert DiversitySnapshot.objects.count() == 4


def test_nothing_is_computed_before_anyone_answers_or_at_page_view(client, program_admin):
    assert diversity_snapshots.apply().get() == 0
    answered(Group.INDIGENOUS, when=in_quarter(LAST_START))
    client.force_login(program_admin)
    html = client.get(reverse("reports:metrics")).content.decode()
    assert "No quarter of this period has published figures yet" in html
    client.post(reverse("reports:metrics_refresh"), {"query": ""})
    assert not DiversitySnapshot.objects.exists()


def test_a_run_that_loses_the_race_keeps_the_other_runs_figures(monkeypatch, six_women):
    (first,) = services.diversity_snapshots_take()
    monkeypatch.setattr(services, "_quarters_due", lambda today: [LAST_START])
    assert services.diversity_snapshots_take() == []
    assert DiversitySnapshot.objects.get().figures == first.figures


def test_the_schedule_runs_the_task_every_night(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["diversity-snapshots"]
    assert entry["task"] == "reports.tasks.diversity_snapshots"
    assert entry["schedule"].hour == {2}


# --- Who may do what -----------------------------------------------------------------------------


def test_suppliers_and_other_staff_cannot_trigger_or_read_the_figures(client, six_women):
    for user in (six_women[0], StaffFactory(roles=[Role.BUYER])):
        client.force_login(user)
        assert client.post(reverse("reports:metrics_refresh")).status_code == 403
        assert client.get(reverse("reports:metrics")).status_code == 403
        assert client.get(reverse("reports:metrics_csv", args=["diversity"])).status_code == 403
    assert not DiversitySnapshot.objects.exists()


@pytest.mark.parametrize("model", [SelfIdentification, DiversitySnapshot])
def test_neither_the_answers_nor_the_snapshots_are_in_the_admin(admin_client, model, six_women):
    services.diversity_snapshots_take()
    assert model not in admin.site._registry
    opts = model._meta
    assert admin_client.get(f"/en/admin/{opts.app_label}/{opts.model_name}/").status_code == 404
    row = model.objects.first()
    url = f"/en/admin/{opts.app_label}/{opts.model_name}/{row.pk}/change/"
    assert admin_client.get(url).status_code == 404


def test_the_admin_audit_list_does_not_name_who_saved(admin_client):
    supplier = answered(Group.WOMEN)
    services.self_identification_delete(user=supplier)
    response = admin_client.get("/en/admin/marketplace/auditevent/", {"q": "self_identification"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "self_identification.saved" in html and "self_identification.deleted" in html
    assert supplier.email not in html


# --- Both languages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "frozen", "rounded"),
    [
        (
            "en",
            "computed once, after it ends, and never change",
            "Other figures are rounded to the nearest 5, totals included.",
        ),
        (
            "fr",
            "calculés une seule fois, après sa fin, et ne changent plus",
            "Les autres chiffres sont arrondis au multiple de 5 le plus proche, totaux compris.",
        ),
    ],
)
def test_the_dashboard_explains_the_figures_in_both_languages(
    client, program_admin, six_women, language, frozen, rounded
):
    services.diversity_snapshots_take()
    client.force_login(program_admin)
    with translation.override(language):
        url = reverse("reports:metrics")
    html = client.get(url).content.decode().replace("\u00a0", " ")
    assert frozen in html and rounded in html


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Counted once a quarter, after it ends, with figures rounded to the nearest 5"),
        ("fr", "Comptées une fois par trimestre, après la fin de celui-ci"),
        ("en", "No quarter of this period has published figures yet"),
        ("fr", "Aucun trimestre de cette période n\u2019a encore de chiffres publiés"),
    ],
)
def test_the_new_texts_in_both_languages(client, program_admin, language, text):
    page = "reports:self_identification" if text.startswith("Co") else "reports:metrics"
    client.force_login(SupplierFactory() if page.endswith("identification") else program_admin)
    with translation.override(language):
        url = reverse(page)
    assert text in client.get(url).content.decode().replace("\u00a0", " ")


# --- The demo ------------------------------------------------------------------------------------


def test_the_demo_publishes_its_past_quarters(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    snapshots = list(DiversitySnapshot.objects.order_by("quarter_start"))
    assert len(snapshots) >= 3 and snapshots[-1].quarter_start == LAST_START
    for snapshot in snapshots:
        cells = [c for cells in snapshot.figures["rows"].values() for c in cells]
        cells.append(snapshot.figures["respondents"])
        assert not any(isinstance(c, int) and c % 5 for c in cells if c is not None)
    assert any(cells[0] != 0 for cells in snapshots[-1].figures["rows"].values())
    client.force_login(SelfIdentification.objects.first().user)  # a supplier: not theirs to see
    assert client.get(reverse("reports:metrics")).status_code == 403
    client.force_login(User.objects.get(email="admin@demo.gc.ca"))
    html = client.get(reverse("reports:metrics")).content.decode()
    assert '<table class="gc-table gc-table-compact" id="diversity-table">' in html
