"""Schuljahr verwalten in the web UI: the assessment notice and payouts, the repayment's
confirmation and payment, agreements, the Land's notices, closing and re-opening the year;
each through the same core function as the command line, audited as there, refused with the
core's German reason at the form; and the page of a school year without data.

Kreis Testland, school year 2023/24 (judged by the Hinweise' rule pack, which makes the
unspent grant repayable); officer "anna", auditor "paul", admin "olga".
"""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from ledger.core.models import AuditEvent, Grant, JournalEntry
from tests.conftest import add_web_user, csrf_token, internal_terms, logged_in

PAGE = "/r/testland/2023/schuljahr"


def _post(client, path: str, prefix: str, **fields) -> object:
    """POST the form ``prefix`` of the year's page to ``PAGE + path`` with ``fields``."""
    data = {"csrf_token": csrf_token(client, PAGE)}
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return client.post(PAGE + path, data=data)


def _audit(session, action: str) -> list[tuple[str, dict]]:
    session.rollback()  # see what the web requests committed
    return [(e.actor, json.loads(e.details)) for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _grant(client, assessed: str = "100.000,00", notice_date: str = "15.09.2023"):
    return _post(client, "/festsetzung", "festsetzung", assessed=assessed, notice_date=notice_date)


def _payout(client, amount: str = "100.000,00", day: str = "2023-10-02"):
    return _post(client, "/auszahlung", "auszahlung", day=day, amount=amount, voucher="")


@pytest.fixture
def paul(app, anna):
    return logged_in(app, "paul")


@pytest.fixture
def olga(app, session, anna):
    add_web_user(session, "olga", "admin")
    return logged_in(app, "olga")


# ----------------------------------------------------------------- empty year

def test_a_year_without_data_says_how_to_start(anna, paul):
    response = anna.get("/r/testland/2023/")
    assert response.status_code == 200
    text = _text(response)
    assert "Noch keine Daten für das Schuljahr 2023/24" in text
    assert "Festsetzungsbescheid erfassen" in text and "Buchungen importieren" in text
    assert f'href="{PAGE}#festsetzung"' in response.get_data(as_text=True)
    reader = _text(paul.get("/r/testland/2023/"))
    assert "Noch keine Daten" in reader and "Erfassen kann nur die zuständige Sachbearbeitung" in reader
    assert "Festsetzungsbescheid erfassen" not in reader


def test_a_nonsense_year_is_still_404(anna):
    assert anna.get("/r/testland/1990/").status_code == 404
    assert anna.get("/r/testland/2090/schuljahr").status_code == 404


def test_the_page_is_linked_from_the_navigation(anna):
    _grant(anna)
    page = anna.get("/r/testland/2023/").get_data(as_text=True)
    assert f'href="{PAGE}"' in page and "Schuljahr verwalten" in page


# ----------------------------------------------------------------- grant and payouts

def test_the_assessment_notice_is_recorded_and_audited(anna, session):
    response = _grant(anna)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{PAGE}#festsetzung")
    page = _text(anna.get(response.headers["Location"]))
    assert "Inklusionspauschale 2023/24: 100.000,00 EUR festgesetzt." in page
    assert "Festsetzungsbescheid vom 15.09.2023" in page
    grant = session.scalar(sa.select(Grant))
    assert (grant.school_year, grant.assessed_cents, grant.notice_date.isoformat()) == ("2023/24", 10_000_000,
                                                                                      "2023-09-15")
    assert _audit(session, "grant_add") == [("anna", {"school_year": "2023/24", "assessed": "100000.00",
                                                      "notice_date": "2023-09-15"})]


def test_a_second_assessment_is_refused_with_the_reason_in_a_summary(anna, session):
    _grant(anna)
    response = _grant(anna, "5,00")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary" role="alert" tabindex="-1"' in page
    assert 'href="#festsetzung-assessed"' in page
    assert "Für testland ist für 2023/24 bereits eine Pauschale erfasst." in _text(response)
    assert "error-summary.js" in page
    assert len(_audit(session, "grant_add")) == 1


@pytest.mark.parametrize("assessed, message", [
    ("", "Bitte den festgesetzten Betrag angeben."),
    ("zwölf", "„zwölf“"),
    ("-5,00", "Bitte keinen negativen Betrag angeben."),
    ("0,00", "Der festgesetzte Betrag muss positiv sein."),
])
def test_bad_assessments_are_named(anna, session, assessed, message):
    response = _grant(anna, assessed)
    assert response.status_code == 422 and message in _text(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(Grant)) == 0


def test_payouts_are_booked_up_to_the_assessed_grant(anna, session):
    _grant(anna)
    response = _payout(anna, "60.000,00")
    assert response.status_code == 302
    assert "Auszahlung 60.000,00 EUR am 02.10.2023 gebucht" in _text(anna.get(response.headers["Location"]))
    refused = _payout(anna, "40.000,01")
    assert refused.status_code == 422
    assert ("Auszahlungen (100.000,01 EUR) übersteigen den festgesetzten Betrag (100.000,00 EUR)."
            in _text(refused))       # ledger.core.grants.add_payout: not above the assessed grant
    assert 'href="#auszahlung-amount"' in refused.get_data(as_text=True)
    assert _payout(anna, "40.000,00").status_code == 302   # the boundary: exactly the assessed grant
    session.rollback()
    assert [e.voucher_number for e in session.scalars(
        sa.select(JournalEntry).where(JournalEntry.kind == "payout").order_by(JournalEntry.id))] == [
        "AUSZ-2023/24-1", "AUSZ-2023/24-2"]
    assert [(actor, d["amount"]) for actor, d in _audit(session, "payout")] == [("anna", "60000.00"),
                                                                               ("anna", "40000.00")]


def test_a_payout_needs_a_valid_day(anna):
    _grant(anna)
    response = _payout(anna, day="31.02.2024")
    assert response.status_code == 422 and "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)." in _text(response)


# ----------------------------------------------------------------- readers

def test_a_reader_sees_the_year_but_no_forms_and_may_not_post(anna, paul, session):
    _grant(anna)
    page = paul.get(PAGE)
    assert page.status_code == 200
    text = _text(page)
    assert "Festgesetzte Pauschale 100.000,00 €" in text and "Auszahlung buchen" not in text
    assert internal_terms(text) == [] and internal_terms(_text(anna.get(PAGE))) == []
    token = csrf_token(paul, PAGE)
    for path in ("/festsetzung", "/auszahlung", "/rueckzahlung/bestaetigen", "/rueckzahlung/zahlung",
                 "/vereinbarung", "/vereinbarung/stand", "/bescheid", "/bescheid/aufhebung", "/abschluss",
                 "/wiedereroeffnung"):
        assert paul.post(PAGE + path, data={"csrf_token": token}).status_code == 403, path
    assert len(_audit(session, "grant_add")) == 1


# ----------------------------------------------------------------- repayment and closing

def _settle(anna):
    """Grant and payout of 100.000,00 EUR, nothing spent: 100.000,00 EUR to repay (the Hinweise'
    pack: the unspent grant is repaid)."""
    assert _grant(anna).status_code == 302
    assert _payout(anna).status_code == 302


def test_confirm_pay_close_and_reopen(anna, olga, session):
    _settle(anna)
    closing = _text(anna.get(PAGE))
    assert "Rückzahlung 100.000,00 EUR ist nicht bestätigt (bestätigt: 0,00 EUR)." in closing
    refused = _post(anna, "/abschluss", "abschluss", note="")
    assert refused.status_code == 422
    assert "Schuljahr 2023/24 kann nicht abgeschlossen werden: Rückzahlung 100.000,00 EUR ist nicht bestätigt" \
        in _text(refused)

    done = _post(anna, "/rueckzahlung/bestaetigen", "bestaetigung", day="2024-09-30")
    assert done.status_code == 302
    assert "Rückzahlungsverpflichtung gebucht" in _text(anna.get(done.headers["Location"]))
    again = _post(anna, "/rueckzahlung/bestaetigen", "bestaetigung", day="2024-09-30")
    assert again.status_code == 422
    assert "Rückzahlung 2023/24 ist bereits mit 100.000,00 EUR bestätigt." in _text(again)
    assert [(a, d["amount"]) for a, d in _audit(session, "repayment_confirm")] == [("anna", "100000.00")]

    too_much = _post(anna, "/rueckzahlung/zahlung", "zahlung", day="2024-10-15", amount="100.000,01")
    assert too_much.status_code == 422
    assert ("Zahlung 100.000,01 EUR übersteigt die offene Verbindlichkeit von 100.000,00 EUR."
            in _text(too_much))
    assert _post(anna, "/rueckzahlung/zahlung", "zahlung", day="2024-10-15", amount="100.000,00").status_code == 302
    assert [(a, d["amount"], d["date"]) for a, d in _audit(session, "repayment_pay")] == [
        ("anna", "100000.00", "2024-10-15")]

    assert "kann abgeschlossen werden" in _text(anna.get(PAGE))
    closed = _post(anna, "/abschluss", "abschluss", note="Schlussabrechnung Az. 40/2024")
    assert closed.status_code == 302
    page = _text(anna.get(closed.headers["Location"]))
    assert "Schuljahr 2023/24 abgeschlossen." in page and "Zahlung buchen" not in page
    assert _audit(session, "period_close") == [("anna", {"school_year": "2023/24",
                                                         "reason": "Schlussabrechnung Az. 40/2024"})]
    assert _payout(anna, "1,00").status_code == 422          # the core refuses postings of a closed year

    assert _post(anna, "/wiedereroeffnung", "wiedereroeffnung", reason="Nachbuchung").status_code == 403
    no_reason = _post(olga, "/wiedereroeffnung", "wiedereroeffnung", reason="")
    assert no_reason.status_code == 422 and "Bitte die Begründung angeben." in _text(no_reason)
    reopened = _post(olga, "/wiedereroeffnung", "wiedereroeffnung", reason="Nachbuchung einer Rechnung")
    assert reopened.status_code == 302
    assert "Schuljahr 2023/24 wieder geöffnet." in _text(olga.get(reopened.headers["Location"]))
    assert _audit(session, "period_reopen") == [("olga", {"school_year": "2023/24",
                                                          "reason": "Nachbuchung einer Rechnung"})]
    assert _post(olga, "/abschluss", "abschluss", note="").status_code == 403   # closing is the officer's


def test_nothing_to_confirm_is_refused(anna):
    _grant(anna)   # assessed, not paid out: nothing received, nothing to repay
    response = _post(anna, "/rueckzahlung/bestaetigen", "bestaetigung", day="2024-09-30")
    assert response.status_code == 422 and "Für 2023/24 ist keine Rückzahlung fällig." in _text(response)
    response = _post(anna, "/rueckzahlung/zahlung", "zahlung", day="2024-09-30", amount="1,00")
    assert response.status_code == 422
    assert "Für 2023/24 ist keine Rückzahlung bestätigt (die Rückzahlung zuerst bestätigen)." in _text(response)


# ----------------------------------------------------------------- agreements and notices

def test_an_agreement_and_its_status(anna, session):
    _settle(anna)
    both = _post(anna, "/vereinbarung", "vereinbarung", deemed_conform="46.000,00", waive="y", status="signed")
    assert both.status_code == 422
    assert "Entweder ein als zweckentsprechend geltender Betrag oder ein Verzicht." in _text(both)
    done = _post(anna, "/vereinbarung", "vereinbarung", deemed_conform="46.000,00", status="signed",
                 reference="Vereinbarung vom 01.03.2024, § 1", repayment="", payment_date="", effective_date="")
    assert done.status_code == 302
    page = _text(anna.get(done.headers["Location"]))
    assert "Vereinbarung für 2023/24 erfasst (Stand „unterzeichnet“)." in page
    assert "als zweckentsprechend gilt 46.000,00 €" in page
    assert [(a, d["deemed_conform"], d["agreement_status"]) for a, d in _audit(session, "agreement_add")] == [
        ("anna", "46000.00", "signed")]

    missing = _post(anna, "/vereinbarung/stand", "stand", status="in_force", effective_date="")
    assert missing.status_code == 422 and "Das Datum des Wirksamwerdens fehlt" in _text(missing)
    assert _post(anna, "/vereinbarung/stand", "stand", status="in_force",
                 effective_date="2024-04-02").status_code == 302
    assert [(a, d["before"], d["after"]) for a, d in _audit(session, "agreement_status")] == [
        ("anna", "unterzeichnet", "wirksam")]
    assert "Rückzahlung fällig (laut Vereinbarung) 54.000,00 €" in _text(anna.get(PAGE))  # 100.000 − 46.000


def test_a_notice_its_amendment_and_its_withdrawal(anna, session):
    _settle(anna)
    early = _post(anna, "/bescheid", "bescheid", notice_date="2024-10-01", reference="Az. 1", amount="10.000,00",
                  due_date="2024-09-30", interest_start="", interest_points="", no_interest="y")
    assert early.status_code == 422
    assert "Die Zahlungsfrist des Bescheids liegt vor seinem Datum." in _text(early)
    assert _post(anna, "/bescheid", "bescheid", notice_date="2024-10-01", reference="Az. 1", amount="10.000,00",
                 due_date="2024-11-30", interest_start="2024-12-01", interest_points="3").status_code == 302
    page = _text(anna.get(PAGE))
    assert "Änderungsbescheid erfassen (ersetzt den Bescheid Az. 1)" in page
    assert "Rückzahlung fällig (laut Bescheid) 10.000,00 €" in page
    assert _post(anna, "/bescheid", "bescheid", notice_date="2024-10-20", reference="Az. 2", amount="8.000,00",
                 due_date="2024-11-30", no_interest="y").status_code == 302
    assert [d["reference"] for _a, d in _audit(session, "notice_add")] == ["Az. 1", "Az. 2"]
    assert _audit(session, "notice_add")[1][1]["replaces"] == "Az. 1"
    withdrawn = _post(anna, "/bescheid/aufhebung", "aufhebung", withdrawal_date="2024-11-02",
                      withdrawal_reference="Az. 3")
    assert withdrawn.status_code == 302
    page = anna.get(withdrawn.headers["Location"]).get_data(as_text=True)
    assert "Aufhebung des Bescheids Az. 2 erfasst." in page and "Aufhebung erfassen</button>" not in page
    assert "aufgehoben am 02.11.2024 (Aktenzeichen Az. 3)" in _text(anna.get(PAGE))
    assert [(a, d["notice"]) for a, d in _audit(session, "notice_withdraw")] == [("anna", "Az. 2")]
