"""Settlement agreements fix their own figures, and the Land's notices decide (issue 14), on
both databases.

Sources: seed 002_17056edfca8550ce.txt, the Vereinbarung Rhein-Sieg-Kreis – Land NRW: § 1
(891.931,68 EUR received, 422.362,00 EUR deemed purpose-conform, the repayment "zu mindern auf
insgesamt 469.569,68 EUR"), § 3 (payment "bis zum XX.XX.2022" under a payment reference,
both blank in the seed: the tests enter example values), § 9 (effective only once the finance
ministry consented and the Kreis's bodies resolved); § 49a Abs. 3 VwVfG NRW (interest three
points above the base rate, Satz 2: the authority may waive it); § 193 BGB (a day set for a
payment that falls on a weekend or holiday moves to the next working day, also where a
contract sets it); the base rates from rules/basiszinssatz.toml (Bundesbank: −0,88 % in
2022, 1,62 % from 1 January 2023).
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest

from ledger.core.agreements import add_agreement
from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.notices import add_notice
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_all, compute_repayment
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW

RS_YEAR = SchoolYear(2020)                   # 2020/21, the year of § 1
RECEIVED = D("891931.68")                    # § 1 Abs. 1
DEEMED = D("422362.00")                      # § 1 Abs. 2
AGREED = D("469569.68")                      # § 1 Abs. 2: 891.931,68 − 422.362,00
PAYMENT_DATE = date(2022, 6, 30)             # example value for § 3 "bis zum XX.XX.2022" (a Thursday)
REFERENCE = "Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 1 Abs. 2"


def _agreement(session, recipient, **terms):
    terms = {"deemed_conform": DEEMED, "reference": REFERENCE, "repayment": AGREED, "payment_date": PAYMENT_DATE,
             "payment_reference": "Rückzahlung Inklusionspauschale 2020/21", "status": "in_force",
             "effective_date": date(2022, 5, 1), **terms}
    agreement = add_agreement(session, recipient, RS_YEAR, created_by="test", now=NOW, **terms)
    session.commit()
    return agreement


def _grant(session, recipient, year: SchoolYear, amount: D, payout_day: date) -> None:
    grant = add_grant(session, recipient, year, amount, actor="test", now=NOW)
    add_payout(session, grant, payout_day, amount, created_by="test", now=NOW)
    session.commit()


def test_the_agreed_repayment_stands_with_no_payout_booked(session, kreis):
    """§ 1 Abs. 2: "zu mindern auf insgesamt 469.569,68 EUR" — the agreement fixes the amount,
    whatever the books hold: with no grant booked the computation has nothing to reclaim."""
    _agreement(session, kreis)
    result = compute_repayment(session, kreis, RS_YEAR)
    assert result.grant_received == D("0.00")
    assert result.computed_repayment_due == D("0.00")
    assert result.repayment_due == result.outstanding == AGREED
    assert result.decided_by == "agreement"
    # § 3: the agreement's own payment date is the one due date, for the whole amount
    assert result.due_date == result.nominal_due_date == PAYMENT_DATE
    assert [(t.basis, t.payout_date, t.due, t.due_date) for t in result.tranches] == [
        ("agreement", None, AGREED, PAYMENT_DATE)]
    assert (result.agreement.status, result.agreement.effective_date) == ("in_force", date(2022, 5, 1))


def test_an_agreement_not_in_force_is_shown_but_the_computed_figures_apply(session, kreis):
    """§ 9: the agreement takes effect only with the finance ministry's consent and the Kreis's
    resolution. Until then 2020/21, a year before the Hinweise (Vereinbarung § 4 Abs. 1), owes
    nothing automatically: computed 891.931,68 EUR unspent, but no repayment due, no deadline."""
    _grant(session, kreis, RS_YEAR, RECEIVED, date(2020, 10, 15))
    _agreement(session, kreis, status="awaiting_consent", effective_date=None)
    result = compute_repayment(session, kreis, RS_YEAR)
    assert result.computed_repayment_due == RECEIVED
    assert result.repayment_due == D("0.00")
    assert result.due_date is None
    assert result.decided_by == "computation"
    assert result.agreement.status == "awaiting_consent"
    assert result.agreement.repayment_due == AGREED  # shown, not applied


def test_interest_runs_from_the_day_after_the_agreed_payment_date(session, kreis):
    """Paid on 10.07.2022, ten days after the agreed 30.06.2022: interest for the ten days
    01.07.–10.07.2022 at −0,88 + 3 = 2,12 % (§ 49a Abs. 3 VwVfG NRW):
    469.569,68 × 2,12 % × 10 / 365 = 272,736… → 272,74 EUR; not from a computed 1 April."""
    _grant(session, kreis, RS_YEAR, RECEIVED, date(2020, 10, 15))
    _agreement(session, kreis)
    confirm_repayment(session, kreis, RS_YEAR, day=date(2022, 6, 1), created_by="test", now=NOW)
    pay_repayment(session, kreis, RS_YEAR, AGREED, day=date(2022, 7, 10), created_by="test", now=NOW)
    session.commit()
    result = compute_repayment(session, kreis, RS_YEAR, as_of=date(2022, 12, 31))
    assert result.outstanding == D("0.00")
    [interest] = result.interest
    assert (interest.principal, interest.due_date, interest.end_date, interest.days) == (
        AGREED, PAYMENT_DATE, date(2022, 7, 10), 10)
    assert result.late_interest == D("272.74")


def test_an_agreed_payment_date_on_a_saturday_moves_to_monday(session, kreis):
    """§ 193 BGB covers a day for a payment set by a contract too: 02.07.2022 was a Saturday."""
    _agreement(session, kreis, payment_date=date(2022, 7, 2))
    result = compute_repayment(session, kreis, RS_YEAR)
    assert (result.nominal_due_date, result.due_date) == (date(2022, 7, 2), date(2022, 7, 4))


def test_a_notice_decides_repayment_deadline_and_interest_of_a_statute_year(session, kreis):
    """DOMAIN.md, Repayment: where the authority issues its own notice with an amount, due date,
    interest start or rate, "that notice decides, not the computation". 2019/20 (a statute year)
    owes nothing without it; with it 100.000,00 EUR by 31.03.2023, interest from 01.03.2023 at
    3 points above the base rate: 01.–10.03.2023, 10 days at 1,62 + 3 = 4,62 %:
    100.000,00 × 4,62 % × 10 / 365 = 126,575… → 126,58 EUR. The notice also beats an agreement."""
    year = SchoolYear(2019)
    _grant(session, kreis, year, D("500000.00"), date(2019, 10, 15))
    assert compute_repayment(session, kreis, year).repayment_due == D("0.00")
    add_agreement(session, kreis, year, waive=True, reference="Vereinbarung, § 2", created_by="test", now=NOW)
    add_notice(session, kreis, year, notice_date=date(2023, 2, 15), reference="48.01-12/2023",
               amount=D("100000.00"), due_date=date(2023, 3, 31), interest_start=date(2023, 3, 1),
               interest_points=D("3"), created_by="test", now=NOW)
    session.commit()
    result = compute_repayment(session, kreis, year, as_of=date(2023, 3, 10))
    assert result.decided_by == "notice"
    assert result.repayment_due == result.outstanding == D("100000.00")
    assert result.due_date == date(2023, 3, 31)
    assert [t.basis for t in result.tranches] == ["notice"]
    [interest] = result.interest
    assert (interest.days, interest.periods[0].applied_rate) == (10, D("4.62"))
    assert result.late_interest == D("126.58")


def test_a_notice_that_waives_interest_charges_none(session, kreis):
    """§ 49a Abs. 3 Satz 2 VwVfG NRW: the authority may waive interest; paid a year late, none."""
    year = SchoolYear(2019)
    _grant(session, kreis, year, D("500000.00"), date(2019, 10, 15))
    add_notice(session, kreis, year, notice_date=date(2022, 2, 15), reference="48.01-7/2022",
               amount=D("1000.00"), due_date=date(2022, 3, 31), interest_waived=True, created_by="test", now=NOW)
    session.commit()
    confirm_repayment(session, kreis, year, day=date(2022, 3, 1), created_by="test", now=NOW)
    pay_repayment(session, kreis, year, D("400.00"), day=date(2023, 3, 31), created_by="test", now=NOW)
    session.commit()
    result = compute_repayment(session, kreis, year, as_of=date(2024, 3, 31))
    assert (result.repayment_due, result.outstanding) == (D("1000.00"), D("600.00"))
    assert result.interest == () and result.late_interest == D("0.00")


def test_the_demo_records_the_rhein_sieg_agreement_in_force(session):
    """inkl/demo.py: the agreed repayment of § 1 Abs. 2 and example values for § 3 and § 9."""
    from inkl.demo import load_demo
    from ledger.core.recipients import get_recipient

    list(load_demo(session, user="demo", now=NOW))
    result = compute_repayment(session, get_recipient(session, "rhein-sieg"), RS_YEAR)
    assert (result.repayment_due, result.decided_by, result.due_date) == (AGREED, "agreement", PAYMENT_DATE)
    assert (result.agreement.agreed_repayment, result.agreement.status, result.agreement.effective_date) == (
        AGREED, "in_force", date(2022, 5, 1))


def test_compute_all_lists_a_year_with_only_a_notice(session, kreis):
    add_notice(session, kreis, SchoolYear(2018), notice_date=date(2022, 2, 15), reference="Az. 1",
               amount=D("10.00"), due_date=date(2022, 3, 31), interest_waived=True, created_by="test", now=NOW)
    session.commit()
    assert [(r.school_year, r.repayment_due) for r in compute_all(session, kreis)] == [("2018/19", D("10.00"))]


@pytest.mark.parametrize(("terms", "message"), [
    ({"status": "signed", "effective_date": date(2022, 5, 1)}, "nur für eine wirksame Vereinbarung"),
    ({"status": "genehmigt"}, "unbekannter Stand"),
    ({"repayment": D("-1.00")}, "darf nicht negativ"),
])
def test_add_agreement_refuses_contradictory_terms(session, kreis, terms, message):
    with pytest.raises(LedgerError, match=message):
        _agreement(session, kreis, **terms)


def test_add_notice_refuses_incomplete_interest_terms(session, kreis):
    with pytest.raises(LedgerError, match="Zinsbeginn und Zinssatz"):
        add_notice(session, kreis, SchoolYear(2019), notice_date=date(2022, 2, 15), reference="Az. 1",
                   amount=D("10.00"), due_date=date(2022, 3, 31), created_by="test", now=NOW)


def test_agreement_and_notice_through_the_cli(cli, session, kreis):
    cli("agreement", "add", "--recipient", "testland", "--school-year", "2020/21", "--deemed-conform", "422362,00",
        "--repayment", "469569,68", "--payment-date", "2022-06-30", "--payment-reference", "RS-2020/21",
        "--status", "in_force", "--effective-date", "2022-05-01", "--reference", REFERENCE)
    cli("notice", "add", "--recipient", "testland", "--school-year", "2019/20", "--date", "2023-02-15",
        "--reference", "48.01-12/2023", "--amount", "100000,00", "--due-date", "2023-03-31",
        "--interest-start", "2023-03-01", "--interest-rate", "3")
    results = {r["school_year"]: r for r in json.loads(
        cli("repayments", "--recipient", "testland", "--as-of", "2023-03-10", "--json").stdout)}
    agreed = results["2020/21"]
    assert agreed["repayment_due"] == "469569.68" and agreed["decided_by"] == "agreement"
    assert {k: agreed["agreement"][k] for k in ("agreed_repayment", "payment_date", "payment_reference", "status",
                                                "effective_date")} == {
        "agreed_repayment": "469569.68", "payment_date": "2022-06-30", "payment_reference": "RS-2020/21",
        "status": "in_force", "effective_date": "2022-05-01"}
    assert agreed["due_dates"] == [{"basis": "agreement", "payout_date": None, "payout": None, "due": "469569.68",
                                    "paid": "0.00", "outstanding": "469569.68", "nominal_due_date": "2022-06-30",
                                    "due_date": "2022-06-30"}]
    assert agreed["notice"] is None
    noticed = results["2019/20"]
    assert noticed["notice"] == {"notice_date": "2023-02-15", "reference": "48.01-12/2023", "amount": "100000.00",
                                 "due_date": "2023-03-31", "interest_start": "2023-03-01", "interest_points": "3",
                                 "interest_waived": False, "replaces": None}
    assert (noticed["repayment_due"], noticed["late_interest"], noticed["due_date"]) == (
        "100000.00", "126.58", "2023-03-31")
    assert "(laut Bescheid)" in cli("repayments", "--recipient", "testland", "--school-year", "2019/20").stdout


def test_the_statement_shows_the_agreements_terms_and_the_notice(session, kreis):
    """The statement shows computed and agreed figures, the agreement's status and effective
    date (§ 9), payment date and reference (§ 3), and the Land's notice where one exists."""
    import io

    from pypdf import PdfReader

    from ledger.reports.statement import build_statement
    from ledger.write.statement_pdf import render_statement

    def text(year):
        pdf = render_statement(build_statement(session, kreis, year, now=NOW))
        return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)

    _grant(session, kreis, RS_YEAR, RECEIVED, date(2020, 10, 15))
    _agreement(session, kreis)
    agreed = text(RS_YEAR)
    for line in ("Rückzahlung nach Berechnung 891.931,68 EUR", "Rückzahlung nach Vereinbarung 469.569,68 EUR",
                 "Stand wirksam seit 1. Mai 2022", "Zahlungstermin 30. Juni 2022",
                 "Verwendungszweck Rückzahlung Inklusionspauschale 2020/21",
                 "Rückzahlung fällig (laut Vereinbarung) 469.569,68 EUR"):
        assert line in agreed, line

    add_notice(session, kreis, SchoolYear(2019), notice_date=date(2023, 2, 15), reference="48.01-12/2023",
               amount=D("100000.00"), due_date=date(2023, 3, 31), interest_start=date(2023, 3, 1),
               interest_points=D("3"), created_by="test", now=NOW)
    session.commit()
    noticed = text(SchoolYear(2019))
    for line in ("Bescheid des Landes", "Aktenzeichen 48.01-12/2023", "Rückzahlung laut Bescheid 100.000,00 EUR",
                 "Zahlungsfrist 31. März 2023", "ab 1. März 2023, 3 Prozentpunkte über dem Basiszinssatz",
                 "Rückzahlung fällig (laut Bescheid) 100.000,00 EUR"):
        assert line in noticed, line


def test_the_dashboard_shows_the_agreement_with_no_payout_and_the_notice(app, session, kreis):
    """The dashboard of a year with an agreement but no payout booked (§ 1: the agreed amount
    stands), and of a year decided by a notice of the Land."""
    from tests.conftest import add_web_user, logged_in

    add_web_user(session, "olga", "officer", recipients=(kreis,))
    _agreement(session, kreis, payment_date=date(2022, 7, 2))  # a Saturday: § 193 BGB → Monday 04.07.2022
    add_notice(session, kreis, SchoolYear(2019), notice_date=date(2023, 2, 15), reference="48.01-12/2023",
               amount=D("100000.00"), due_date=date(2023, 3, 31), interest_waived=True, created_by="test", now=NOW)
    add_notice(session, kreis, SchoolYear(2018), notice_date=date(2023, 2, 15), reference="48.01-13/2023",
               amount=D("100.00"), due_date=date(2023, 4, 1), interest_waived=True, created_by="test", now=NOW)
    session.commit()
    client = logged_in(app, "olga")
    page = " ".join(client.get("/r/testland/2020/").get_data(as_text=True).split())
    assert "Rückzahlung fällig (laut Vereinbarung)" in page
    assert "Wirksam seit 01.05.2022" in page and "Zahlungstermin 02.07.2022" in page
    assert "verschoben auf den nächsten Werktag nach § 193 BGB" in page
    page = " ".join(client.get("/r/testland/2018/").get_data(as_text=True).split())
    # a notice's payment date on a Saturday moves under § 31 Abs. 3 VwVfG NRW (a time limit set by an authority)
    assert "verschoben auf den nächsten Werktag nach § 31 Abs. 3 VwVfG NRW" in page
    page = " ".join(client.get("/r/testland/2019/").get_data(as_text=True).split())
    assert "Bescheid des Landes" in page and "Aktenzeichen 48.01-12/2023" in page
    assert "Rückzahlung fällig (laut Bescheid)" in page and "Zahlungsfrist laut Bescheid." in page
    assert "keine Zinsen (Verzicht nach § 49a Abs. 3 Satz 2 VwVfG NRW)" in page
