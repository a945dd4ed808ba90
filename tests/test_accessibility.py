"""The accessibility statement (Erklärung zur Barrierefreiheit, § 10b BGG NRW, BITV NRW), its
feedback contact from the configuration, and the error summary of refused forms (WCAG 3.3.1)."""
from __future__ import annotations

import re
from datetime import date

import pytest

from ledger.core.accessibility_config import (
    AccessibilityConfigError,
    AccessibilityContact,
    load_accessibility_contact,
)
from ledger.core.directory_config import load_directory_config
from tests.conftest import add_web_user, login

CONFIG = """
[accessibility]
contact_name = "Schulamt Musterhausen, Team Inklusion"
contact_email = "barrierefrei@musterhausen.example"
contact_phone = "+49 2151 123-456"
prepared_on = 2026-11-30
"""


def test_the_contact_comes_from_the_accessibility_table(tmp_path):
    path = tmp_path / "inkl.toml"
    path.write_text(CONFIG, encoding="utf-8")
    contact = load_accessibility_contact(path, environ={})
    assert contact == AccessibilityContact("Schulamt Musterhausen, Team Inklusion", "barrierefrei@musterhausen.example",
                                           "+49 2151 123-456", date(2026, 11, 30))
    assert contact.configured
    assert load_directory_config(path) is None            # the table is no unknown key of the directory log-in


def test_environment_variables_override_the_file_and_a_missing_file_means_no_contact(tmp_path):
    path = tmp_path / "inkl.toml"
    path.write_text(CONFIG, encoding="utf-8")
    contact = load_accessibility_contact(path, environ={"INKL_A11Y_CONTACT_EMAIL": "it@kreis.example"})
    assert contact.email == "it@kreis.example" and contact.name == "Schulamt Musterhausen, Team Inklusion"
    nothing = load_accessibility_contact(tmp_path / "fehlt.toml", environ={})
    assert nothing == AccessibilityContact() and not nothing.configured
    only_name = load_accessibility_contact(tmp_path / "fehlt.toml", environ={"INKL_A11Y_CONTACT_NAME": "IT"})
    assert not only_name.configured                      # a name alone cannot be reached


@pytest.mark.parametrize(("line", "key", "message"), [
    ('contact_email = "keine-adresse"', "accessibility.contact_email", "Keine gültige E-Mail-Adresse."),
    ('contact_phone = "ruf mich an"', "accessibility.contact_phone", "Keine gültige Telefonnummer"),
    ('prepared_on = "30.11.2026"', "accessibility.prepared_on", "Kein Datum (JJJJ-MM-TT)."),
    ('kontakt = "x"', "accessibility.kontakt", ""),
])
def test_an_invalid_value_names_its_key(tmp_path, line, key, message):
    path = tmp_path / "inkl.toml"
    path.write_text(f"[accessibility]\n{line}\n", encoding="utf-8")
    with pytest.raises(AccessibilityConfigError) as caught:
        load_accessibility_contact(path, environ={})
    assert caught.value.key == key and message in caught.value.message


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_statement_is_public_and_linked_from_every_page(app):
    client = app.test_client()
    response = client.get("/barrierefreiheit")
    assert response.status_code == 200                   # no log-in needed
    text = _text(response)
    for part in ("Erklärung zur Barrierefreiheit", "§ 10b des Behindertengleichstellungsgesetzes Nordrhein-Westfalen",
                 "BITV NRW", "teilweise vereinbar", "keine getaggten, barrierefreien PDF-Dokumente",
                 "Selbstbewertung", "axe-core", "390 Pixel", "Durchsetzungsverfahren",
                 "Ombudsstelle für barrierefreie Informationstechnik des Landes Nordrhein-Westfalen",
                 "Landesbeauftragten für Menschen mit Behinderung", "ombudsstelle-barrierefreie-it@mags.nrw.de",
                 "Diese Erklärung wurde am 7. Dezember 2026 erstellt."):
        assert part in text, part
    assert "noch keine Kontaktstelle" in text             # the test app has no [accessibility] table
    login_page = client.get("/anmelden").get_data(as_text=True)
    assert '<a href="/barrierefreiheit">Erklärung zur Barrierefreiheit</a>' in login_page


def test_the_statement_shows_the_configured_contact(app):
    app.config["ACCESSIBILITY"] = AccessibilityContact("Team Inklusion", "barrierefrei@kreis.example",
                                                       "02151 123-456", date(2026, 11, 30))
    page = app.test_client().get("/barrierefreiheit").get_data(as_text=True)
    assert '<a href="mailto:barrierefrei@kreis.example">barrierefrei@kreis.example</a>' in page
    assert '<a href="tel:02151123-456">02151 123-456</a>' in page and "Team Inklusion" in page
    assert "am 30. November 2026 erstellt" in page and "noch keine Kontaktstelle" not in page


def test_a_refused_log_in_opens_with_an_error_summary_linking_to_the_field(app, session):
    add_web_user(session, "anna", "officer")
    client = app.test_client()
    response = login(client, "anna", "falsch-falsch-falsch")
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary" role="alert" tabindex="-1".*?</div>', page, re.S).group(0)
    assert '<h2 id="fehler-titel">Nicht angemeldet: bitte die markierten Angaben prüfen</h2>' in summary
    assert '<a href="#password">Passwort: Benutzername oder Passwort ist falsch.</a>' in summary
    assert 'id="password"' in page and 'aria-describedby="password-fehler"' in page
    assert '<script src="/static/error-summary.js" defer></script>' in page
    assert "error-summary" not in client.get("/anmelden").get_data(as_text=True)   # no summary before a refusal


def test_error_items_name_the_lines_of_a_manual_entry(app):
    from webapp.entry_forms import ManualEntryForm
    from webapp.form_errors import SESSION_EXPIRED, error_items

    with app.test_request_context(method="POST", data={"day": "", "voucher_number": "B-1", "text": "x",
                                                       "lines-1-debit": "zwölf"}):
        form = ManualEntryForm()
        assert not form.validate()
        items = error_items(form)
    assert items[0] == ("day", "Buchungsdatum: Bitte ein gültiges Datum angeben (TT.MM.JJJJ).")
    assert ("lines-1-debit", next(text for target, text in items if target == "lines-1-debit")) in items
    assert next(text for target, text in items if target == "lines-1-debit").startswith("Soll, Zeile 2: ")
    assert (None, SESSION_EXPIRED) in items                # no CSRF token was sent
    assert error_items(None) == []
