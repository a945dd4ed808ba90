"""Master data from the web UI: officers add and edit with the import's columns; changes logged."""
from __future__ import annotations

import html
import json
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ledger.core.models import AuditEvent, Pool
from tests.conftest import add_master_data, add_web_user, csrf_token, login


@pytest.fixture
def officer(app, session, kreis):
    add_master_data(session, kreis)
    add_web_user(session, "anna", "officer", recipients=[kreis])
    add_web_user(session, "paul", "auditor", recipients=[kreis])
    client = app.test_client()
    login(client, "anna")
    return client


def test_add_a_school_and_see_it(officer):
    token = csrf_token(officer, "/r/testland/stammdaten/school/neu")
    response = officer.post("/r/testland/stammdaten/school/neu", data={
        "csrf_token": token, "Schulnummer": "100777", "Name": "GGS Am Bach", "Schulträger": "Stadt Beispielheim",
        "Schulform": "Grundschule", "GL-Schule": "ja"})
    assert response.status_code == 302
    page = officer.get("/r/testland/stammdaten").get_data(as_text=True)
    assert "Schule 100777 angelegt." in page and "GGS Am Bach" in page


def test_errors_are_shown_by_column_and_nothing_is_written(officer, session):
    token = csrf_token(officer, "/r/testland/stammdaten/pool/neu")
    response = officer.post("/r/testland/stammdaten/pool/neu", data={
        "csrf_token": token, "Kennung": "P9", "Name": "Pool neun", "Träger": "Unbekannter Träger",
        "Schulen": "100001", "Beginn": "31.07.2024", "Ende": "01.08.2023", "Finanzierungsgrundlage": "mixed",
        "Systemischer Anteil": ""})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nicht gespeichert" in text and "Ende liegt vor dem Beginn" in text
    assert "„Unbekannter Träger“ steht bei Träger nicht zur Auswahl" in html.unescape(text)  # not offered
    assert 'aria-invalid="true"' in text
    session.rollback()
    assert session.scalar(sa.select(Pool).where(Pool.key == "P9")) is None


def test_edit_a_pool_prefilled_and_logged_with_before_and_after(officer, session):
    form = officer.get("/r/testland/stammdaten/pool/POOL-A/bearbeiten").get_data(as_text=True)
    assert 'value="01.08.2014"' in form and 'value="systemic"' in form and "readonly" in form
    token = csrf_token(officer, "/r/testland/stammdaten/pool/POOL-A/bearbeiten")
    response = officer.post("/r/testland/stammdaten/pool/POOL-A/bearbeiten", data={
        "csrf_token": token, "Kennung": "ANDERS", "Name": "Pool POOL-A", "Träger": "Träger A", "Schulen": "100001",
        "Beginn": "01.08.2014", "Ende": "31.07.2030", "Finanzierungsgrundlage": "mixed",
        "Systemischer Anteil": "62,5"})
    assert response.status_code == 302
    assert "geändert (alte und neue Werte protokolliert)" in officer.get("/r/testland/stammdaten").get_data(as_text=True)
    session.rollback()
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "pool_change"))
    details = json.loads(event.details)
    assert (details["before"]["financing_basis"], details["after"]["financing_basis"]) == ("systemic", "mixed")
    assert details["after"]["key"] == "POOL-A" and event.actor == "anna"   # the key cannot be changed


def test_auditors_see_no_forms_and_may_not_post(app, officer):
    auditor = app.test_client()
    login(auditor, "paul")
    assert "anlegen</a>" not in auditor.get("/r/testland/stammdaten").get_data(as_text=True)
    assert auditor.get("/r/testland/stammdaten/school/neu").status_code == 403
    token = csrf_token(auditor, "/r/testland/stammdaten")
    assert auditor.post("/r/testland/stammdaten/provider/neu",
                        data={"csrf_token": token, "Name": "X"}).status_code == 403
    assert officer.get("/r/testland/stammdaten/unbekannt/neu").status_code == 404


# ------------------------------------------------------------ choices instead of free text
# Master data of tests.conftest.add_master_data: school 100001 Gesamtschule Am Park, provider
# Träger A, pools POOL-A and POOL-B (systemic), municipality Stadt Beispielheim.


def _visible(body: str) -> str:
    """The page's text without tags (option values and other attributes dropped)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def _post(client, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def _count(session, model, *where) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


POOL = {"Kennung": "P9", "Name": "Pool neun", "Träger": "Träger A", "Beginn": "01.08.2024", "Ende": "31.07.2025",
        "Finanzierungsgrundlage": "individual_entitlements", "Systemischer Anteil": ""}
COMMITMENT = {"Referenz": "V-1", "Beschreibung": "Poolvertrag", "Kategorie": "pool_personnel",
              "Monatsbetrag": "1.000,00", "Beginn": "01.08.2024", "Ende": "31.07.2025", "Pool": "POOL-B",
              "Trägerbudget": ""}


def test_pool_form_offers_providers_schools_and_financing_bases(officer):
    body = officer.get("/r/testland/stammdaten/pool/neu").get_data(as_text=True)
    assert re.search(r'<select id="f3" name="Träger" required>\s*<option value="">– bitte wählen –</option>'
                     r'\s*<option value="Träger A">Träger A</option>\s*</select>', body)
    assert re.search(r'<input type="checkbox" id="f4-1" name="Schulen" value="100001">\s*'
                     r'<label for="f4-1">100001 Gesamtschule Am Park</label>', body)
    assert '<legend>Schulen *</legend>' in body
    assert '<option value="" selected>nicht erfasst (Prüfliste)</option>' in body
    for value, label in (("systemic", "systemisch (antragsunabhängig)"),
                         ("individual_entitlements", "gebündelte Einzelansprüche"), ("mixed", "gemischt")):
        assert f'<option value="{value}">{label}</option>' in body
    assert "individual_entitlements" not in _visible(body)


def test_a_pool_with_two_ticked_schools_is_saved_as_the_import_would(officer, session, kreis):
    from ledger.workflows.masterdata import add, as_row
    from tests.conftest import NOW

    add(session, kreis, "school", {"Schulnummer": "100002", "Name": "GGS Am Bach", "Schulträger": "Stadt Beispielheim",
                                   "Schulform": "Grundschule", "GL-Schule": "ja"}, actor="test", now=NOW)
    session.commit()
    response = officer.post("/r/testland/stammdaten/pool/neu", data={
        "csrf_token": csrf_token(officer, "/r/testland/stammdaten/pool/neu"), **POOL, "Schulen": ["100001", "100002"]})
    assert response.status_code == 302
    session.rollback()
    row = as_row(session, kreis, "pool", "P9")
    assert row["Schulen"] == "100001, 100002" and row["Träger"] == "Träger A"
    assert row["Finanzierungsgrundlage"] == "individual_entitlements"
    form = officer.get("/r/testland/stammdaten/pool/P9/bearbeiten").get_data(as_text=True)
    assert 'value="100001" checked' in form and 'value="100002" checked' in form
    assert '<option value="individual_entitlements" selected>gebündelte Einzelansprüche</option>' in form
    assert '<option value="Träger A" selected>Träger A</option>' in form


@pytest.mark.parametrize(("column", "value"), [("Träger", "Träger B"), ("Schulen", "999999"),
                                               ("Finanzierungsgrundlage", "weiss_nicht")])
def test_a_pool_value_not_offered_is_refused_in_german(officer, session, column, value):
    response = _post(officer, "/r/testland/stammdaten/pool/neu", {**POOL, "Schulen": "100001", column: value})
    text = _visible(response.get_data(as_text=True))
    assert response.status_code == 400
    assert f"„{value}“ steht bei {column} nicht zur Auswahl; bitte einen der angebotenen Einträge wählen." in text
    assert _count(session, Pool, Pool.key == "P9") == 0


def test_commitment_form_offers_the_packs_categories_by_label_pools_and_budgets(officer):
    body = officer.get("/r/testland/stammdaten/commitment/neu").get_data(as_text=True)
    text = _visible(body)
    assert re.search(r'<option value="pool_personnel">Personalkosten[^<]*</option>', body)
    assert re.search(r'<option value="overhead">[^<]+</option>', body)
    assert "pool_personnel" not in text and "overhead" not in text          # ids only as option values
    assert '<option value="POOL-A">POOL-A – Pool POOL-A</option>' in body
    assert re.search(r'<select id="f8" name="Trägerbudget">\s*<option value="">– keine Angabe –</option>\s*</select>',
                     body)   # Kreis Testland has no provider budget


def test_a_commitment_with_a_chosen_category_and_budget_is_saved(officer, session, kreis):
    from ledger.core.models import Commitment
    from ledger.workflows.budget import add_budget_agreement
    from tests.conftest import NOW

    add_budget_agreement(session, kreis, "tb-2024", title="Trägerbudget Pool Süd", provider_name="Träger A",
                         start=date(2024, 8, 1), end=date(2029, 7, 31), budget=Decimal("600000"),
                         specialist_hours_year=Decimal("4000"), semi_professional_hours_year=Decimal("0"),
                         reference="§ 3", created_by="test", now=NOW)
    session.commit()
    form = officer.get("/r/testland/stammdaten/commitment/neu").get_data(as_text=True)
    assert '<option value="tb-2024">Trägerbudget Pool Süd</option>' in form
    response = _post(officer, "/r/testland/stammdaten/commitment/neu",
                     {**COMMITMENT, "Kategorie": "training", "Trägerbudget": "tb-2024"})
    assert response.status_code == 302
    session.rollback()
    saved = session.scalar(sa.select(Commitment).where(Commitment.reference == "V-1"))
    assert (saved.category, saved.pool.key, saved.budget_agreement.key) == ("training", "POOL-B", "tb-2024")
    page = _visible(officer.get("/r/testland/stammdaten").get_data(as_text=True))
    assert "Verpflichtung V-1 angelegt." in page and "Trägerbudget Pool Süd" in page


@pytest.mark.parametrize(("column", "value"), [("Kategorie", "erfunden"), ("Pool", "POOL-Z"),
                                               ("Trägerbudget", "fremdes-budget")])
def test_a_commitment_value_not_offered_is_refused(officer, session, column, value):
    from ledger.core.models import Commitment

    response = _post(officer, "/r/testland/stammdaten/commitment/neu", {**COMMITMENT, column: value})
    assert response.status_code == 400
    assert f"„{value}“ steht bei {column} nicht zur Auswahl" in _visible(response.get_data(as_text=True))
    assert _count(session, Commitment) == 0


def test_cost_centre_form_offers_schools_pools_and_municipalities(officer, session):
    from ledger.core.models import CostCentre

    body = officer.get("/r/testland/stammdaten/costcentre/neu").get_data(as_text=True)
    assert '<option value="100001">100001 Gesamtschule Am Park</option>' in body
    assert '<option value="POOL-B">POOL-B – Pool POOL-B</option>' in body
    assert '<option value="Stadt Beispielheim">Stadt Beispielheim</option>' in body
    assert body.count("<option value=\"\">– keine Angabe –</option>") == 3
    response = _post(officer, "/r/testland/stammdaten/costcentre/neu",
                     {"Kostenstelle": "KS-NEU", "Schule": "100001", "Pool": "", "Gemeinde": "", "Projekt": ""})
    assert response.status_code == 302
    session.rollback()
    centre = session.scalar(sa.select(CostCentre).where(CostCentre.code == "KS-NEU"))
    assert centre.school.school_number == "100001" and centre.pool is None
    refused = _post(officer, "/r/testland/stammdaten/costcentre/neu",
                    {"Kostenstelle": "KS-X", "Schule": "", "Pool": "", "Gemeinde": "Stadt Anderswo", "Projekt": ""})
    assert refused.status_code == 400
    assert "„Stadt Anderswo“ steht bei Gemeinde nicht zur Auswahl" in _visible(refused.get_data(as_text=True))
    assert _count(session, CostCentre, CostCentre.code == "KS-X") == 0


def test_yes_no_flags_are_chosen_and_other_spellings_refused(officer, session):
    """The import also takes ``1`` or ``x`` for yes; the form offers ja and nein only, and a
    refused form writes nothing even though the core alone would have accepted the row."""
    from ledger.core.models import School

    body = officer.get("/r/testland/stammdaten/school/neu").get_data(as_text=True)
    assert re.search(r'<select id="f5" name="GL-Schule" required>\s*<option value="">– bitte wählen –</option>\s*'
                     r'<option value="ja">ja</option><option value="nein">nein</option>', body)
    row = {"Schulnummer": "100888", "Name": "GGS Am Weiher", "Schulträger": "Stadt Beispielheim",
           "Schulform": "Grundschule"}
    refused = _post(officer, "/r/testland/stammdaten/school/neu", {**row, "GL-Schule": "1"})
    assert refused.status_code == 400 and "„1“ steht bei GL-Schule nicht zur Auswahl" in _visible(
        refused.get_data(as_text=True))
    assert _count(session, School, School.school_number == "100888") == 0
    assert _post(officer, "/r/testland/stammdaten/school/neu", {**row, "GL-Schule": "nein"}).status_code == 302
    session.rollback()
    assert session.scalar(sa.select(School.gl_school).where(School.school_number == "100888")) is False


def test_master_data_page_lists_providers_and_the_chart_of_accounts(officer):
    body = officer.get("/r/testland/stammdaten").get_data(as_text=True)
    text = _visible(body)
    assert "Träger Name Pools Träger A POOL-A Pool POOL-A, POOL-B Pool POOL-B" in text
    assert 'href="/r/testland/stammdaten/provider/Tr%C3%A4ger%20A/bearbeiten"' in body
    provider = officer.get("/r/testland/stammdaten/provider/Tr%C3%A4ger%20A/bearbeiten")
    assert provider.status_code == 200 and 'value="Träger A" readonly' in provider.get_data(as_text=True)
    assert "Kontenplan Die Konten nach den Kontenklassen" in text
    assert 'href="/r/testland/kontenplan"' in body
    assert re.search(r"<td>5291</td><td>[^<]+</td><td>Aufwand</td>", body)


def test_an_empty_form_names_every_missing_column_in_german(officer):
    response = _post(officer, "/r/testland/stammdaten/commitment/neu", {})
    text = _visible(response.get_data(as_text=True))
    assert response.status_code == 400
    # Referenz … Ende, dates and amount too: each at its field and in the error summary at the top
    assert text.count("Pflichtfeld fehlt oder ist leer") == 2 * 6
    summary = response.get_data(as_text=True).split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert summary.count("Pflichtfeld fehlt oder ist leer") == 6
    assert "Missing" not in text


def test_posting_to_the_edit_address_of_an_unknown_key_creates_nothing(officer, session):
    """Issue 18: the edit address of a key that does not exist answered by creating it."""
    from ledger.core.models import School

    token = csrf_token(officer, "/r/testland/stammdaten/school/neu")
    response = officer.post("/r/testland/stammdaten/school/999999/bearbeiten", data={
        "csrf_token": token, "Name": "GGS Nirgendwo", "Schulträger": "Stadt Beispielheim",
        "Schulform": "Grundschule", "GL-Schule": "ja"})
    assert response.status_code == 404
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(School).where(School.school_number == "999999")) == 0
