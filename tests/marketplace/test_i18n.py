from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "toggle"),
    [
        ("/en/", 'href="/fr/"'),
        ("/fr/", 'href="/en/"'),
        (
            "/en/accounts/login/?next=/en/dashboard/",
            'href="/fr/accounts/login/?next=/en/dashboard/"',
        ),
        ("/en/no-such-page/", 'href="/fr/no-such-page/"'),
    ],
)
def test_language_toggle_keeps_the_current_page(client, path, toggle):
    response = client.get(path)
    assert toggle in response.content.decode()


@pytest.mark.django_db
def test_french_pages_are_in_french(client):
    body = client.get("/fr/").content.decode()
    assert '<html lang="fr">' in body
    assert "Passer au contenu principal" in body
    assert "Skip to main content" not in body


@pytest.mark.django_db
def test_root_redirects_to_a_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.9")
    assert response.status_code == 302
    assert response["Location"] == "/fr/"


def test_every_interface_string_has_a_french_translation():
    catalogue = polib.pofile(str(PO))
    missing = [entry.msgid for entry in catalogue if not entry.translated()]
    assert missing == []
    assert catalogue.fuzzy_entries() == []


def test_compiled_catalogue_matches_the_source():
    source = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(PO)) if e.msgid}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(MO)) if e.msgid}
    assert compiled == source, "run `make messages` to recompile locale/fr"


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("bids.Bid", "status"),
        ("opportunities.Opportunity", "status"),
        ("opportunities.Opportunity", "type"),
        ("payments.Contract", "status"),
        ("payments.Payment", "status"),
        ("evaluation.Evaluation", "status"),
    ],
)
def test_fast_choice_labels_say_what_django_would_in_both_languages(model, field):
    from django.apps import apps
    from django.utils import translation

    model = apps.get_model(model)
    choices = model._meta.get_field(field).flatchoices
    for language in ("en", "fr"):
        with translation.override(language):
            for value, label in [*choices, ("no-such-value", "no-such-value")]:
                instance = model(**{field: value})
                assert getattr(instance, f"get_{field}_display")() == str(label)
    value = choices[0][0]
    with translation.override("en"):
        english = getattr(model(**{field: value}), f"get_{field}_display")()
    with translation.override("fr"):
        assert getattr(model(**{field: value}), f"get_{field}_display")() != english
