import pytest
from django.core.exceptions import PermissionDenied

from marketplace import services
from marketplace.models import AuditEvent, SupplierProfile
from tests.factories import SupplierFactory, SupplierProfileFactory

pytestmark = pytest.mark.django_db

VALID = {
    "kind": "organization",
    "legal_name": "Maple Leaf Code Works Inc.",
    "trading_name": "MLCW",
    "contact_name": "Aurélie Tremblay",
    "email": "hello@mlcw.example",
    "phone": "613-555-0142",
    "website": "https://mapleleaf-code.example",
    "github_handle": "mlcw-dev",
    "province": "ON",
    "postal_code": "k1p5j2",
    "gst_hst_number": "123456789rt0001",
}


def test_supplier_completes_profile(client, supplier):
    client.force_login(supplier)
    assert "Complete your supplier profile" in client.get("/en/dashboard/").content.decode()
    response = client.post("/en/profile/", VALID)
    assert response.status_code == 302
    profile = SupplierProfile.objects.get(user=supplier)
    assert profile.is_complete
    assert profile.postal_code == "K1P 5J2"
    assert profile.gst_hst_number == "123456789 RT0001"
    assert "Your supplier profile was saved." in client.get("/en/profile/").content.decode()
    assert "you can bid" in client.get("/en/dashboard/").content.decode()


def test_profile_audit_event_names_fields_not_values(client, supplier):
    client.force_login(supplier)
    client.post("/en/profile/", VALID)
    event = AuditEvent.objects.get(verb="supplier_profile.created")
    assert event.actor == supplier
    assert "legal_name" in event.data["fields"]
    assert "Maple Leaf" not in str(event.data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "12345", "Canadian postal code"),
        ("phone", "call me", "10-digit phone number"),
        ("github_handle", "bad handle!", "GitHub user"),
        ("gst_hst_number", "12345", "GST/HST number"),
        ("website", "not a url", "Enter a valid URL"),
        ("province", "ZZ", "Select a valid choice"),
        ("legal_name", "", "This field is required"),
    ],
)
def test_bad_profile_input_gives_clear_error_and_keeps_what_was_typed(
    client, supplier, field, value, message
):
    client.force_login(supplier)
    data = {**VALID, field: value}
    response = client.post("/en/profile/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "There is a problem on this page" in body  # the error summary, linked to the field
    assert f'href="#id_{field}"' in body
    assert "Maple Leaf Code Works Inc." in body or field == "legal_name"
    assert not SupplierProfile.objects.filter(user=supplier).exists()


def test_profile_form_is_prefilled_with_account_email(client, supplier):
    client.force_login(supplier)
    assert f'value="{supplier.email}"' in client.get("/en/profile/").content.decode()


def test_profile_update_only_changes_own_profile(client):
    mine = SupplierProfileFactory()
    other = SupplierProfileFactory(legal_name="Other Co.")
    client.force_login(mine.user)
    client.post("/en/profile/", {**VALID, "legal_name": "Renamed Inc."})
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.legal_name == "Renamed Inc."
    assert other.legal_name == "Other Co."


def test_service_refuses_editing_someone_elses_profile():
    owner, intruder = SupplierFactory(), SupplierFactory()
    with pytest.raises(PermissionDenied):
        services.supplier_profile_save(actor=intruder, user=owner, legal_name="Hijacked")
    assert not SupplierProfile.objects.filter(user=owner).exists()


def test_incomplete_profile_is_not_ready_for_bidding():
    profile = SupplierProfileFactory.build(phone="")
    assert not profile.is_complete


def test_an_organization_gives_its_size_and_an_individual_is_a_business_of_one(client, supplier):
    client.force_login(supplier)
    assert client.post("/en/profile/", {**VALID, "size": "10-49"}).status_code == 302
    assert SupplierProfile.objects.get(user=supplier).size == SupplierProfile.Size.UP_TO_49
    response = client.post("/en/profile/", {**VALID, "size": "a thousand"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert SupplierProfile.objects.get(user=supplier).size == SupplierProfile.Size.UP_TO_49
    client.post("/en/profile/", {**VALID, "kind": "individual", "size": "500+"})
    assert SupplierProfile.objects.get(user=supplier).size == SupplierProfile.Size.ONE
