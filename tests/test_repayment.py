"""Repayment, worked by hand like an accountant's exercise.

Kreis Testland, school year 2022/23, grant 500.000,00 EUR paid out on 30.11.2022.

    category                         amount        status
    pool_personnel       180.000,00 + 95.432,17 = 275.432,17  permitted
    training                                       4.800,00  permitted (a further 800,00 reversed)
    brochures                                      1.999,99  permitted
    pass_through                                  60.000,00  permitted
    overhead                                      45.000,00  capped
    individual_claim_sgb_ix                       12.345,67  excluded
    teaching_staff                                 8.000,00  excluded
    (no category, account 5299)                    2.500,00  unclassified

    overhead cap   15 % × 275.432,17 = 41.314,8255 → half up 41.314,83
    excess         45.000,00 − 41.314,83 = 3.685,17
    conform        275.432,17 + 4.800,00 + 1.999,99 + 60.000,00 + 41.314,83 = 383.546,99
    excluded       12.345,67 + 8.000,00 = 20.345,67
    repayment due  500.000,00 − 383.546,99 = 116.453,01
    due date       1 April 2023 is a Saturday → Monday 3 April 2023 (§ 193 BGB)
"""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from ledger.core.agreements import add_agreement
from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import JournalEntry
from ledger.core.posting import reverse_entry
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_all, compute_repayment
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from tests.conftest import NOW, add_master_data, import_bytes

SY = SchoolYear(2022)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"
ROWS = """\
30.09.2022;P-1;Pool Träger A 1. Halbjahr;5291;1810;180.000,00;POOL-A;;
31.03.2023;P-2;Pool Träger B;5291;1810;95.432,17;POOL-B;;
12.10.2022;F-1;Workshop Autismus;5292;1810;4.800,00;;;
13.10.2022;F-2;Workshop doppelt gebucht;5292;1810;800,00;;;
01.12.2022;BR-1;Broschüre leichte Sprache;5431;1810;1.999,99;;;
15.01.2023;W-1;Weiterleitung Stadt Beispielheim;5314;1810;60.000,00;WL-BEISPIELHEIM;;
30.06.2023;O-1;Koordinationsstelle;5012;1810;45.000,00;;;
20.02.2023;E-1;Fall 2022-031 Schulbegleitung;5332;1810;12.345,67;;;
21.02.2023;L-1;Vertretungslehrkraft;5299;1810;8.000,00;;teaching_staff;
22.02.2023;S-1;Rechnung ohne Zuordnung;5299;1810;2.500,00;;;
"""


@pytest.fixture
def year(session, kreis):
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("500000.00"), notice_date=date(2022, 10, 20), actor="test", now=NOW)
    add_payout(session, grant, date(2022, 11, 30), D("500000.00"), created_by="t", now=NOW)
    assert import_bytes(session, kreis, (HEADER + ROWS).encode(), "2022-23.csv", created_by="t", now=NOW).ok
    doubled = session.scalar(sa.select(JournalEntry).where(JournalEntry.voucher_number == "F-2"))
    reverse_entry(session, doubled, day=date(2022, 10, 20), reason="doppelt gebucht", created_by="t", now=NOW)
    session.commit()
    return kreis


def test_worked_example_2022_23(session, year):
    r = compute_repayment(session, year, SY)
    assert r.rule_pack_id == "inklfoeg-nrw-hinweise"
    assert {c.category: c.amount for c in r.by_category} == {
        "pool_personnel": D("275432.17"), "training": D("4800.00"), "overhead": D("45000.00"),
        "brochures": D("1999.99"), "pass_through": D("60000.00"),
        "individual_claim_sgb_ix": D("12345.67"), "teaching_staff": D("8000.00")}
    assert (r.grant_assessed, r.grant_received) == (D("500000.00"), D("500000.00"))
    assert (r.pool_personnel, r.overhead_charged, r.overhead_cap, r.overhead_excess) == (
        D("275432.17"), D("45000.00"), D("41314.83"), D("3685.17"))
    assert r.overhead_rate == D("0.15")
    assert (r.permitted, r.excluded, r.unclassified) == (D("383546.99"), D("20345.67"), D("2500.00"))
    assert r.computed_repayment_due == r.repayment_due == D("116453.01")
    assert (r.nominal_due_date, r.due_date) == (date(2023, 4, 1), date(2023, 4, 3))
    assert (r.confirmed_obligation, r.already_repaid, r.outstanding) == (D("0.00"), D("0.00"), D("116453.01"))


def test_confirm_pay_and_reclassify(session, year):
    confirm_repayment(session, year, SY, day=date(2023, 3, 1), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="bereits"):
        confirm_repayment(session, year, SY, day=date(2023, 3, 1), created_by="t", now=NOW)
    pay_repayment(session, year, SY, D("100000.00"), day=date(2023, 3, 20), created_by="t", now=NOW)
    r = compute_repayment(session, year, SY)
    assert (r.confirmed_obligation, r.already_repaid, r.outstanding) == (D("116453.01"), D("100000.00"), D("16453.01"))
    with pytest.raises(LedgerError, match="übersteigt"):
        pay_repayment(session, year, SY, D("16453.02"), day=date(2023, 3, 21), created_by="t", now=NOW)

    # the unclassified 2.500,00 turn out to be training: reverse and rebook with a category
    unclassified = session.scalar(sa.select(JournalEntry).where(JournalEntry.voucher_number == "S-1"))
    reverse_entry(session, unclassified, day=date(2023, 3, 25), reason="Kategorie fehlte", created_by="t", now=NOW)
    rebook = HEADER + "22.02.2023;S-1a;Rechnung Fortbildung;5299;1810;2.500,00;;training;\n"
    assert import_bytes(session, year, rebook.encode(), "korrektur.csv", created_by="t", now=NOW).ok
    r = compute_repayment(session, year, SY)
    assert (r.unclassified, r.repayment_due, r.outstanding) == (D("0.00"), D("113953.01"), D("13953.01"))
    # confirming again books only the difference (−2.500,00) against the liability
    confirm_repayment(session, year, SY, day=date(2023, 3, 26), created_by="t", now=NOW)
    pay_repayment(session, year, SY, D("13953.01"), day=date(2023, 3, 30), created_by="t", now=NOW)
    r = compute_repayment(session, year, SY)
    assert (r.confirmed_obligation, r.already_repaid, r.outstanding) == (D("113953.01"), D("113953.01"), D("0.00"))


def test_payment_needs_a_confirmed_obligation(session, year):
    with pytest.raises(LedgerError, match="bestätigt"):
        pay_repayment(session, year, SY, D("1.00"), day=date(2023, 3, 20), created_by="t", now=NOW)


def test_spending_above_the_grant_means_nothing_to_repay(session, kreis):
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, SY, D("100000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2022, 11, 30), D("100000.00"), created_by="t", now=NOW)
    import_bytes(session, kreis, (HEADER + "30.09.2022;P;Pool;5291;1810;150.000,00;POOL-A;;\n").encode(), "x.csv",
                 created_by="t", now=NOW)
    r = compute_repayment(session, kreis, SY)
    assert (r.permitted, r.repayment_due) == (D("150000.00"), D("0.00"))
    with pytest.raises(LedgerError, match="keine Rückzahlung fällig"):
        confirm_repayment(session, kreis, SY, day=date(2023, 3, 1), created_by="t", now=NOW)


def test_statutory_years_have_no_overhead_cap(session, kreis):
    """2020/21 is judged by § 2 Abs. 2 InklFöG (rules/inklfoeg-nrw-gesetz.toml): same exclusions, no cap,
    and no repayment without an agreement or a notice."""
    year = SchoolYear(2020)
    add_master_data(session, kreis)
    grant = add_grant(session, kreis, year, D("200000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2020, 10, 15), D("200000.00"), created_by="t", now=NOW)
    rows = ("30.09.2020;P;Pool;5291;1810;100.000,00;POOL-A;;\n01.10.2020;O;Koordination;5012;1810;40.000,00;;;\n"
            "02.10.2020;E;Fall 2020-004;5331;1810;10.000,00;;;\n")
    assert import_bytes(session, kreis, (HEADER + rows).encode(), "2020.csv", created_by="t", now=NOW).ok
    r = compute_repayment(session, kreis, year)
    assert r.rule_pack_id == "inklfoeg-nrw-gesetz"
    assert (r.overhead_cap, r.overhead_excess, r.permitted, r.excluded) == (None, D("0.00"), D("140000.00"), D("10000.00"))
    assert r.computed_repayment_due == D("60000.00")
    # Before 2021/22 nothing is owed automatically (Vereinbarung § 4 Abs. 1: the 1 April rule
    # applies "ab dem Schuljahr 2021/2022"): no repayment, deadline or interest without an
    # agreement or a notice of the Land.
    assert (r.repayment_due, r.due_date, r.late_interest) == (D("0.00"), None, D("0.00"))
    assert compute_repayment(session, kreis, year, as_of=date(2026, 12, 1)).interest == ()


def test_agreement_overrides_the_computed_result(session, kreis):
    """Seed 002_17056edfca8550ce.txt § 1: 891.931,68 received, 422.362,00 deemed conform → 469.569,68."""
    year = SchoolYear(2020)
    grant = add_grant(session, kreis, year, D("891931.68"), actor="test", now=NOW)
    add_payout(session, grant, date(2020, 10, 15), D("891931.68"), created_by="t", now=NOW)
    add_agreement(session, kreis, year, deemed_conform=D("422362.00"), reference="§ 1", created_by="t", now=NOW)
    add_agreement(session, kreis, SchoolYear(2019), waive=True, reference="§ 2", created_by="t", now=NOW)
    r = compute_repayment(session, kreis, year)
    assert (r.computed_repayment_due, r.repayment_due) == (D("891931.68"), D("469569.68"))
    assert (r.agreement.deemed_conform, r.agreement.waived) == (D("422362.00"), False)
    waived = compute_repayment(session, kreis, SchoolYear(2019))
    assert (waived.repayment_due, waived.agreement.waived) == (D("0.00"), True)
    assert [r.school_year for r in compute_all(session, kreis)] == ["2019/20", "2020/21"]
    with pytest.raises(LedgerError, match="bereits"):
        add_agreement(session, kreis, year, waive=True, created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="entweder"):
        add_agreement(session, kreis, SchoolYear(2018), created_by="t", now=NOW)


def test_payouts_cannot_exceed_the_assessed_grant(session, kreis):
    grant = add_grant(session, kreis, SY, D("1000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2022, 11, 1), D("600.00"), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="übersteigen"):
        add_payout(session, grant, date(2022, 12, 1), D("400.01"), created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="bereits"):
        add_grant(session, kreis, SY, D("1.00"), actor="test", now=NOW)


def test_late_repayment_bears_interest_three_points_above_the_base_rate(session, year):
    """§ 49a Abs. 3 VwVfG NRW, rules/basiszinssatz.toml; due Monday 3 April 2023.

    Paid 50.000,00 on 3 May 2023: 30 days (4 April … 3 May) at 1,62 % + 3 = 4,62 %, 2023 has 365 days:
        50.000,00 × 4,62 % × 30 / 365 = 189,8630… → 189,86
    Still open 66.453,01 on 3 July 2023: 88 days (4 April … 30 June) at 4,62 %,
    then 3 days (1 … 3 July) at 3,12 % + 3 = 6,12 %:
        66.453,01 × (4,62 % × 88 + 6,12 % × 3) / 365 = 773,6222… → 773,62
    """
    confirm_repayment(session, year, SY, day=date(2023, 3, 1), created_by="t", now=NOW)
    pay_repayment(session, year, SY, D("50000.00"), day=date(2023, 5, 3), created_by="t", now=NOW)
    r = compute_repayment(session, year, SY)
    assert ([(i.principal, i.days, i.interest) for i in r.interest], r.late_interest) == (
        [(D("50000.00"), 30, D("189.86"))], D("189.86"))
    r = compute_repayment(session, year, SY, as_of=date(2023, 7, 3))
    assert [(i.principal, i.days, i.interest) for i in r.interest] == [
        (D("50000.00"), 30, D("189.86")), (D("66453.01"), 91, D("773.62"))]
    assert (r.late_interest, r.interest_as_of) == (D("963.48"), date(2023, 7, 3))
    assert [p.applied_rate for p in r.interest[1].periods] == [D("4.62"), D("6.12")]


def test_no_interest_when_paid_on_time_and_accrual_stops_where_the_table_ends(session, year):
    confirm_repayment(session, year, SY, day=date(2023, 3, 1), created_by="t", now=NOW)
    pay_repayment(session, year, SY, D("100000.00"), day=date(2023, 4, 3), created_by="t", now=NOW)
    assert compute_repayment(session, year, SY).interest == ()
    far = compute_repayment(session, year, SY, as_of=date(2031, 1, 1))
    assert far.interest_as_of < date(2031, 1, 1) and far.late_interest > 0  # capped, not failed
