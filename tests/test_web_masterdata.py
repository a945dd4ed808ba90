"""Master data from the web UI: officers add and edit with the import's columns; changes logged."""
from __future__ import annotations

import html
import json

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
