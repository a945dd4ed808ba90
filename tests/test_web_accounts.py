"""The chart of accounts (Kontenplan) in the web UI with the IBAN of bank accounts, and the
repayment's SEPA credit transfer (pain.001) downloaded from the dashboard."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from lxml import etree

from ledger.core import iso20022
from ledger.core.agreements import add_agreement
from ledger.core.bank import set_account_iban
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import Account, AuditEvent, Recipient
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.workflows.repayment import confirm_repayment
from tests.conftest import NOW, csrf_token, login

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def _iban_of(session, number: str) -> str | None:
    """The stored IBAN of Kreis Testland's account ``number`` (compact)."""
    session.rollback()
    return session.scalar(sa.select(Account.iban).join(Account.recipient).where(
        Account.number == number, Recipient.key == "testland"))


def _post_iban(client, number: str, iban: str):
    token = csrf_token(client, "/r/testland/kontenplan")
    return client.post(f"/r/testland/kontenplan/{number}/iban", data={"csrf_token": token, "iban": iban})


def test_the_chart_lists_every_account_in_german_and_is_reached_from_the_navigation(app, anna, session, kreis):
    set_account_iban(session, kreis, "1810", "DE89370400440532013000", actor="test", now=NOW)
    session.commit()
    auditor = app.test_client()
    login(auditor, "paul")
    assert 'href="/r/testland/kontenplan"' in auditor.get("/r/testland/stammdaten").get_data(as_text=True)
    page = auditor.get("/r/testland/kontenplan").get_data(as_text=True)
    assert "<h1>Kontenplan</h1>" in page and "18 Konten" in page
    row = re.search(r"<th scope=\"row\">5291</th>(.*?)</tr>", page, re.S).group(1)
    assert "Schulassistenz im Pool-Modell (Leistungen Dritter)" in row and "<td>Aufwand</td>" in row
    assert "Personalkosten systemischer Pool-Modelle (Schulassistenz im Infrastrukturmodell" in row  # category label
    assert "pool_personnel" not in page                                         # never the category's id
    bank = re.search(r"<th scope=\"row\">1810</th>(.*?)</tr>", page, re.S).group(1)
    assert "<td>Vermögen</td>" in bank and "DE89 3704 0044 0532 0130 00" in bank
    assert "/kontenplan/1810/iban" not in page and "<input" not in bank  # auditors read only
    assert _post_iban(auditor, "1810", "").status_code == 403
    assert _iban_of(session, "1810") == "DE89370400440532013000"


def test_an_officer_links_and_removes_the_iban_of_a_bank_account(anna, session):
    page = anna.get("/r/testland/kontenplan").get_data(as_text=True)
    assert page.count("<form method=\"post\" action=\"/r/testland/kontenplan/") == 1   # one asset account: 1810
    assert '<label for="iban-1810"' in page
    response = _post_iban(anna, "1810", "de89 3704 0044 0532 0130 00")
    assert response.status_code == 302
    page = anna.get("/r/testland/kontenplan").get_data(as_text=True)
    assert "Konto 1810 Girokonto (liquide Mittel): IBAN DE89 3704 0044 0532 0130 00 gespeichert." in page
    assert 'value="DE89 3704 0044 0532 0130 00"' in page
    assert _iban_of(session, "1810") == "DE89370400440532013000"
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account_iban"))
    assert (event.actor, json.loads(event.details)["iban"]) == ("anna", "DE89370400440532013000")

    assert _post_iban(anna, "1810", "").status_code == 302
    assert "Konto 1810 Girokonto (liquide Mittel): IBAN entfernt." in anna.get("/r/testland/kontenplan").get_data(
        as_text=True)
    assert _iban_of(session, "1810") is None


def test_a_refused_iban_is_shown_in_german_next_to_its_field_and_nothing_is_written(anna, session):
    response = _post_iban(anna, "1810", "DE89 3704 0044 0532 0130 01")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(r'<input[^>]*id="iban-1810"[^>]*>.*?<p class="field-error" id="iban-1810-fehler">([^<]*)</p>',
                      page, re.S)
    assert error.group(1) == "Ungültige IBAN &#39;DE89 3704 0044 0532 0130 01&#39; (Prüfziffern stimmen nicht)."
    assert 'aria-invalid="true"' in page and 'aria-describedby="iban-1810-fehler"' in page
    assert 'value="DE89 3704 0044 0532 0130 01"' in page                 # what was typed stays in the field
    assert _iban_of(session, "1810") is None

    neighbour = add_recipient(session, "nachbar", "Stadt Nachbar", "stadt", actor="test", now=NOW)
    set_account_iban(session, neighbour, "1810", "DE02120300000000202051", actor="test", now=NOW)
    session.commit()
    taken = _post_iban(anna, "1810", "DE02 1203 0000 0000 2020 51").get_data(as_text=True)
    assert "Die IBAN DE02 1203 0000 0000 2020 51 gehört bereits zu Konto 1810 Girokonto (liquide Mittel) " \
           "(Stadt Nachbar)." in taken
    assert _iban_of(session, "1810") is None
    assert anna.post("/r/testland/kontenplan/9999/iban", data={
        "csrf_token": csrf_token(anna, "/r/testland/kontenplan"), "iban": ""}).status_code == 404


# ---------------------------------------------------------------- the SEPA download on the dashboard


@pytest.fixture
def confirmed(session, kreis):
    """2020/21 under an agreement (Vereinbarung Rhein-Sieg-Kreis § 1 Abs. 2, seed 002): 891.931,68 received,
    422.362,00 deemed conform → 469.569,68 to repay, confirmed."""
    year = SchoolYear(2020)
    grant = add_grant(session, kreis, year, D("891931.68"), actor="test", now=NOW)
    add_payout(session, grant, date(2020, 10, 15), D("891931.68"), created_by="test", now=NOW)
    add_agreement(session, kreis, year, deemed_conform=D("422362.00"), reference="§ 1 Abs. 2", created_by="test",
                  now=NOW)
    confirm_repayment(session, kreis, year, day=date(2022, 5, 2), created_by="test", now=NOW)
    session.commit()
    return year


def _sepa_post(client, execution_date: str):
    token = csrf_token(client, "/r/testland/2020/")
    return client.post("/r/testland/2020/rueckzahlung/sepa", data={"csrf_token": token,
                                                                   "execution_date": execution_date})


def test_officers_download_the_open_repayment_as_a_sepa_file(app, anna, session, kreis, confirmed):
    page = anna.get("/r/testland/2020/").get_data(as_text=True)
    assert "fehlt die IBAN des Bankkontos" in page and 'href="/r/testland/kontenplan"' in page
    assert "SEPA-Überweisung (pain.001) herunterladen" not in page
    set_account_iban(session, kreis, "1810", "DE89 3704 0044 0532 0130 00", actor="test", now=NOW)
    session.commit()
    page = anna.get("/r/testland/2020/").get_data(as_text=True)
    assert "SEPA-Überweisung (pain.001) herunterladen" in page and "469.569,68" in page
    day = date.today() + timedelta(days=5)
    response = _sepa_post(anna, day.isoformat())
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="Rueckzahlung_testland_2020-21_pain001.xml"'
    assert iso20022.validate("pain.001.001.09", response.data) == []
    document = etree.fromstring(response.data)
    # 891.931,68 − 422.362,00 = 469.569,68, to the Landeskasse (rule pack [landeskasse], Vereinbarung § 3)
    assert document.findtext(".//p:InstdAmt", namespaces=NS) == "469569.68"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "469569.68"
    assert document.findtext(".//p:ReqdExctnDt/p:Dt", namespaces=NS) == day.isoformat()
    assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE89370400440532013000"
    assert document.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "DE59300500000001683515"
    assert document.findtext(".//p:CdtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "WELADEDD"
    assert document.findtext(".//p:Ustrd", namespaces=NS) == "Rückzahlung Inklusionspauschale 2020/21 Kreis Testland"
    session.rollback()
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "repayment_sepa"))
    assert event.actor == "anna" and json.loads(event.details)["amount"] == "469569.68"

    auditor = app.test_client()
    login(auditor, "paul")
    assert "SEPA-Überweisung" not in auditor.get("/r/testland/2020/").get_data(as_text=True)
    assert _sepa_post(auditor, day.isoformat()).status_code == 403


def test_a_day_in_the_past_is_refused_next_to_the_field(anna, session, kreis, confirmed):
    set_account_iban(session, kreis, "1810", "DE89370400440532013000", actor="test", now=NOW)
    session.commit()
    response = _sepa_post(anna, "2020-01-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert 'id="execution_date-fehler">Der Ausführungstag darf nicht in der Vergangenheit liegen.</p>' in page
    session.rollback()
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "repayment_sepa")) is None
