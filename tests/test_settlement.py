"""The repayment kernel on its own: worked examples over values, no database.

``ledger.reports.settlement`` judges a school year's classified totals under the rule pack in
force and the year's facts of the books. Each figure below is computed by hand from its
source (seed 002_17056edfca8550ce.txt: the Vereinbarung Rhein-Sieg-Kreis / Land NRW and its
Anlage, the Hinweise zur zweckentsprechenden Verwendung der Inklusionspauschale).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.schoolyear import SchoolYear
from ledger.reports.settlement import AgreementTerms, YearBook, judge_use, settle
from ledger.reports.totals import Totals, TotalsBuilder
from ledger.rules.packs import load_packs, pack_for
from ledger.rules.status import Status

SY = SchoolYear(2023)
HINWEISE = pack_for(INKLUSIONSPAUSCHALE, SY, load_packs())               # 15 % overhead cap
GESETZ = pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2020), load_packs())   # no cap (statute only)


def _totals(*cells: tuple[str | None, Status, str, str, str, str]) -> Totals:
    """Totals from (category, status, amount, conform, excluded, unclassified) in EUR text."""
    builder = TotalsBuilder()
    for category, status, *amounts in cells:
        builder.add(category, status, *(int(D(a) * 100) for a in amounts))
    return builder.totals()


def _book(received: str, *, payouts=None, agreement=None, confirmed="0.00", repaid="0.00", payments=()) -> YearBook:
    """The year's book: one payout of the whole grant on 16.10.2023 unless ``payouts`` (date, EUR text)."""
    payouts = ((date(2023, 10, 16), received),) if payouts is None else payouts
    return YearBook(grant_assessed=D(received), payouts=tuple((day, D(amount)) for day, amount in payouts),
                    received=D(received), agreement=agreement, confirmed=D(confirmed), repaid=D(repaid),
                    payments=tuple((day, D(amount)) for day, amount in payments))


SPENDING = _totals(
    ("pool_personnel", Status.PERMITTED, "100000.00", "100000.00", "0.00", "0.00"),
    ("overhead", Status.CAPPED, "18000.00", "18000.00", "0.00", "0.00"),
    ("individual_claim_sgb_viii", Status.EXCLUDED, "7000.00", "0.00", "7000.00", "0.00"),
    (None, Status.UNCLASSIFIED, "500.00", "0.00", "0.00", "500.00"),
)


def test_overhead_counts_up_to_fifteen_percent_of_pool_personnel():
    """Hinweise Teil IV, 6. Spiegelstrich: overhead "bis zur Höhe von 15 Prozent der im Rahmen
    des Pool-Modells aufgewandten Personalkosten". 15 % of 100.000,00 = 15.000,00; of the
    18.000,00 booked, 3.000,00 lie above the cap. Conform: 100.000,00 + 15.000,00 = 115.000,00."""
    use = judge_use(SPENDING, HINWEISE)
    assert (use.pool_personnel, use.overhead_cap, use.overhead_charged) == (D("100000.00"), D("15000.00"),
                                                                            D("18000.00"))
    assert (use.overhead_excess, use.permitted) == (D("3000.00"), D("115000.00"))
    assert (use.excluded, use.unclassified) == (D("7000.00"), D("500.00"))


def test_the_cap_rounds_half_up_to_cents():
    """15 % of 10.000,10 EUR = 1.500,015 EUR → 1.500,02 EUR (rounding half up: the pack's choice)."""
    totals = _totals(("pool_personnel", Status.PERMITTED, "10000.10", "10000.10", "0.00", "0.00"),
                     ("overhead", Status.CAPPED, "2000.00", "2000.00", "0.00", "0.00"))
    assert judge_use(totals, HINWEISE).overhead_cap == D("1500.02")


def test_individual_shares_of_a_pool_do_not_raise_the_cap():
    """Only the conform (systemic) part of pool personnel is the cap's base (Hinweise Teil III):
    a mixed pool of 40.000,00 with 25.000,00 systemic → cap 3.750,00."""
    totals = _totals(("pool_personnel", Status.SPLIT, "40000.00", "25000.00", "15000.00", "0.00"),
                     ("overhead", Status.CAPPED, "5000.00", "5000.00", "0.00", "0.00"))
    use = judge_use(totals, HINWEISE)
    assert (use.pool_personnel, use.overhead_cap, use.overhead_excess) == (D("25000.00"), D("3750.00"),
                                                                           D("1250.00"))
    assert use.permitted == D("28750.00")


def test_repayment_is_the_grant_received_less_the_conform_use():
    """Vereinbarung § 4 Abs. 2, Hinweise Teil II: what cannot be used purpose-conformly is repaid
    by 1 April of the budget year after the payout. 120.000,00 − 115.000,00 = 5.000,00. Paid
    out on 16.10.2023, due 1 April 2024; that day is Easter Monday, a public holiday in NRW, so
    § 193 BGB moves the deadline to Tuesday, 2 April 2024."""
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00"))
    assert (result.computed_repayment_due, result.repayment_due, result.outstanding) == (
        D("5000.00"), D("5000.00"), D("5000.00"))
    assert (result.nominal_due_date, result.due_date) == (date(2024, 4, 1), date(2024, 4, 2))
    assert result.totals == SPENDING


def test_spending_above_the_grant_leaves_nothing_to_repay():
    assert settle("kreis", SY, HINWEISE, SPENDING, _book("100000.00")).repayment_due == D("0.00")


def test_the_settlement_agreement_fixes_the_repayment():
    """Vereinbarung § 1: the Rhein-Sieg-Kreis repays the 891.931,68 EUR received for 2020/21,
    reduced by 422.362,00 EUR agreed as purpose-conform: 469.569,68 EUR, whatever the rules compute."""
    agreed = AgreementTerms(D("422362.00"), False, "Vereinbarung Rhein-Sieg-Kreis, § 1")
    result = settle("rhein-sieg", SchoolYear(2020), GESETZ, _totals(), _book("891931.68", agreement=agreed))
    assert result.computed_repayment_due == D("891931.68")
    assert result.repayment_due == D("469569.68")


def test_a_waiver_leaves_nothing_to_repay():
    """Vereinbarung § 2: the Land waives its claims for 2014/15 to 2019/20."""
    waived = AgreementTerms(None, True, "Vereinbarung Rhein-Sieg-Kreis, § 2")
    result = settle("rhein-sieg", SchoolYear(2019), GESETZ, _totals(), _book("850000.00", agreement=waived))
    assert (result.computed_repayment_due, result.repayment_due) == (D("850000.00"), D("0.00"))


def test_what_was_paid_reduces_what_is_outstanding():
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00", confirmed="5000.00", repaid="3000.00"))
    assert (result.confirmed_obligation, result.already_repaid, result.outstanding) == (
        D("5000.00"), D("3000.00"), D("2000.00"))


def test_without_a_payout_there_is_no_deadline():
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("0.00", payouts=()))
    assert (result.nominal_due_date, result.due_date, result.repayment_due) == (None, None, D("0.00"))


def test_capped_spending_without_a_cap_is_refused():
    """The statute's pack has no overhead cap and no capped category; capped totals under it
    cannot be judged (a pack that caps must say by how much)."""
    totals = _totals(("overhead", Status.CAPPED, "10.00", "10.00", "0.00", "0.00"))
    with pytest.raises(LedgerError, match="keine Obergrenze"):
        judge_use(totals, GESETZ)


def test_totals_add_up_cell_by_cell():
    more = _totals(("overhead", Status.CAPPED, "2000.00", "2000.00", "0.00", "0.00"),
                   ("training", Status.PERMITTED, "300.00", "300.00", "0.00", "0.00"))
    both = SPENDING + more
    assert both.sum("amount") == D("127800.00")
    assert both.cells[("overhead", Status.CAPPED)] == (2000000, 2000000, 0, 0)
    assert both.postings == SPENDING.postings + more.postings


# --- each payout has its own deadline (Vereinbarung § 4 Abs. 2: "bis zum 1. April des auf die
# Auszahlung folgenden Haushaltsjahres") -----------------------------------------------------------

TWO_PAYOUTS = ((date(2023, 10, 16), "600000.00"), (date(2024, 1, 15), "100000.00"))
HALF_USED = _totals(("training", Status.PERMITTED, "450000.00", "450000.00", "0.00", "0.00"))


def test_the_unspent_rest_belongs_to_the_latest_payout():
    """700.000,00 paid in two tranches (16.10.2023: 600.000,00; 15.01.2024: 100.000,00), 450.000,00
    used: spending takes the tranches in payout order, so the 250.000,00 to repay are the whole
    second tranche (due 1 April 2025, budget year 2024 + 1) and 150.000,00 of the first (due
    1 April 2024, Easter Monday, so 2 April 2024 under § 193 BGB). The earliest open one is the
    result's deadline."""
    result = settle("kreis", SY, HINWEISE, HALF_USED, _book("700000.00", payouts=TWO_PAYOUTS))
    first, second = result.tranches
    assert (first.due, first.nominal_due_date, first.due_date) == (D("150000.00"), date(2024, 4, 1), date(2024, 4, 2))
    assert (second.due, second.nominal_due_date, second.due_date) == (D("100000.00"), date(2025, 4, 1),
                                                                       date(2025, 4, 1))
    assert first.due + second.due == result.repayment_due == D("250000.00")
    assert result.due_date == date(2024, 4, 2)


def test_a_deadline_never_lies_before_its_money_arrived():
    """Only 100.000,00 unused: all of it is the January 2024 tranche's, due 1 April 2025; the
    October tranche, fully used, owes nothing by 2 April 2024."""
    used = _totals(("training", Status.PERMITTED, "600000.00", "600000.00", "0.00", "0.00"))
    result = settle("kreis", SY, HINWEISE, used, _book("700000.00", payouts=TWO_PAYOUTS))
    assert [t.due for t in result.tranches] == [D("0.00"), D("100000.00")]
    assert result.due_date == date(2025, 4, 1)


def test_interest_runs_per_tranche_from_its_own_deadline():
    """150.000,00 paid on 02.04.2024 settles the first tranche in time; 100.000,00 paid on
    01.05.2025 is 30 days late for the second (2.4.–1.5.2025), at 2,27 % base rate + 3 points:
    100.000 × 5,27 % × 30 / 365 = 433,150… → 433,15 EUR (§ 49a Abs. 3 VwVfG NRW, act/act)."""
    payments = ((date(2024, 4, 2), "150000.00"), (date(2025, 5, 1), "100000.00"))
    result = settle("kreis", SY, HINWEISE, HALF_USED, _book("700000.00", payouts=TWO_PAYOUTS, confirmed="250000.00",
                                                            repaid="250000.00", payments=payments),
                    as_of=date(2025, 6, 1))
    assert [t.paid for t in result.tranches] == [D("150000.00"), D("100000.00")]
    assert [(i.principal, i.due_date, i.end_date, i.days) for i in result.interest] == [
        (D("100000.00"), date(2025, 4, 1), date(2025, 5, 1), 30)]
    assert result.late_interest == D("433.15")
    assert result.outstanding == D("0.00")


def test_the_outstanding_part_of_each_tranche_accrues_from_its_own_deadline():
    """Nothing paid by 01.05.2024: only the first tranche (150.000,00) is overdue, 29 days
    (3.4.–1.5.2024) at 3,62 % + 3 points over 366 days: 150.000 × 6,62 % × 29 / 366 = 786,80…"""
    result = settle("kreis", SY, HINWEISE, HALF_USED, _book("700000.00", payouts=TWO_PAYOUTS),
                    as_of=date(2024, 5, 1))
    assert [(i.principal, i.due_date, i.days) for i in result.interest] == [(D("150000.00"), date(2024, 4, 2), 29)]
    assert result.late_interest == D("786.80")


def test_the_caps_base_is_a_pack_parameter():
    """The Hinweise pack counts only the conform part of pool personnel ("conform", its default
    with the reason in the pack); a pack may count all pool personnel ("all"): the mixed pool of
    40.000,00 (25.000,00 systemic) then gives a cap of 15 % × 40.000,00 = 6.000,00."""
    from dataclasses import replace
    assert (HINWEISE.overhead.base, bool(HINWEISE.overhead.base_source)) == ("conform", True)
    all_of_it = replace(HINWEISE, overhead=replace(HINWEISE.overhead, base="all"))
    totals = _totals(("pool_personnel", Status.SPLIT, "40000.00", "25000.00", "15000.00", "0.00"),
                     ("overhead", Status.CAPPED, "5000.00", "5000.00", "0.00", "0.00"))
    use = judge_use(totals, all_of_it)
    assert (use.pool_personnel, use.overhead_cap, use.overhead_excess) == (D("40000.00"), D("6000.00"), D("0.00"))
