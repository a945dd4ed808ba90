"""The repayment kernel where a notice or an agreement decides, and the result's JSON (issue 18).

Mutation testing (docs/mutation-testing.md) found the kernel's single-due-date path
(``_single_due``, ``_notice_term``, ``_agreement_term``), ``payment_reference`` and ``as_json``
reached only by the database tests. These worked examples run on values alone; each figure is
computed by hand from its source:

- a notice of the Land (Rückforderungsbescheid) decides amount, due date, interest start and
  interest points; its due date moves to the next working day (§ 31 Abs. 3 VwVfG NRW), interest
  runs from its interest start (§ 49a Abs. 3 VwVfG NRW), none where it waives interest
  (§ 49a Abs. 3 Satz 2);
- a settlement agreement in force decides the amount and its payment date (Vereinbarung
  §§ 1–3, 9), moved under § 193 BGB; interest at the pack's 3 points above the base rate from
  the day after the moved date.

Base rates (rules/basiszinssatz.toml, § 247 BGB): 3,62 % from 01.01.2024, 3,37 % from 01.07.2024.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from ledger.core.agreements import IN_FORCE, StatusStep
from ledger.core.errors import LedgerError
from ledger.core.schoolyear import SchoolYear
from ledger.reports.settlement import AgreementTerms, CategoryAmount, NoticeTerms, Tranche, settle
from ledger.rules.status import Status
from tests.test_settlement import GESETZ, HINWEISE, SPENDING, SY, _book, _totals

STANDARD = "Rückzahlung Inklusionspauschale 2023/24 Kreis Testland"

# Notice of 03.06.2024: 6.000,00 EUR due on Saturday 03.08.2024 (→ Monday 05.08.2024), interest
# from 06.08.2024 at 5 points above the base rate; it replaced a notice of 02.05.2024.
NOTICE = NoticeTerms(date(2024, 6, 3), "48.01-2023/24", D("6000.00"), date(2024, 8, 3), date(2024, 8, 6), D("5"),
                     False, replaces=("48.01-2023/24-alt", date(2024, 5, 2)))
# Agreement in force since 15.05.2024: 10.000,00 EUR to repay on Saturday 01.06.2024 (→ Monday 03.06.2024).
HISTORY = (StatusStep("signed", None, "sachbearbeitung", datetime(2024, 5, 2, 9, 30)),
           StatusStep(IN_FORCE, date(2024, 5, 15), "sachbearbeitung", datetime(2024, 5, 16, 8, 0)))
AGREEMENT = AgreementTerms(D("110000.00"), False, "Vereinbarung § 1", repayment=D("10000.00"),
                           payment_date=date(2024, 6, 1), payment_reference="Rückzahlung lt. Vereinbarung",
                           status=IN_FORCE, effective_date=date(2024, 5, 15), history=HISTORY)


def _with(book, **changes):
    return replace(book, **changes)


def test_a_notice_decides_amount_due_date_and_interest():
    """1.000,00 paid on the moved due date 05.08.2024 is in time; 2.000,00 paid on 04.09.2024 bears
    30 days (06.08.–04.09.) at 3,37 + 5 = 8,37 %: 2.000 × 8,37 % × 30 / 366 = 13,7213… → 13,72 EUR;
    the 3.000,00 still open on 04.10.2024 bear 60 days (06.08.–04.10.): 3.000 × 8,37 % × 60 / 366 =
    41,1639… → 41,16 EUR. The notice beats the agreement in force and the computed 5.000,00."""
    book = _with(_book("120000.00", confirmed="6000.00", repaid="3000.00",
                       payments=((date(2024, 8, 5), "1000.00"), (date(2024, 9, 4), "2000.00"))),
                 notice=NOTICE, agreement=AGREEMENT)
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 10, 4))
    assert result.decided_by == "notice"
    assert (result.computed_repayment_due, result.repayment_due, result.outstanding) == (
        D("5000.00"), D("6000.00"), D("3000.00"))
    assert result.tranches == (Tranche(None, None, D("6000.00"), D("3000.00"), D("3000.00"), date(2024, 8, 3),
                                       date(2024, 8, 5), "notice"),)
    assert [(i.principal, i.due_date, i.end_date, i.days, i.interest) for i in result.interest] == [
        (D("2000.00"), date(2024, 8, 5), date(2024, 9, 4), 30, D("13.72")),
        (D("3000.00"), date(2024, 8, 5), date(2024, 10, 4), 60, D("41.16"))]
    assert (result.late_interest, result.interest_as_of) == (D("54.88"), date(2024, 10, 4))
    assert result.payment_reference(STANDARD) == f"{STANDARD}, Bescheid Az. 48.01-2023/24"
    assert result.by_category[0] == CategoryAmount("pool_personnel", HINWEISE.category("pool_personnel").label,
                                                   "permitted", D("100000.00"))
    assert result.as_json() == {
        "recipient": "kreis", "school_year": "2023/24",
        "rule_pack": {"id": "inklfoeg-nrw-hinweise", "version": "2021.1"},
        "grant_assessed": "120000.00", "grant_received": "120000.00", "permitted": "115000.00",
        "by_category": [{"category": "pool_personnel", "status": "permitted", "amount": "100000.00"},
                        {"category": "overhead", "status": "capped", "amount": "18000.00"},
                        {"category": "individual_claim_sgb_viii", "status": "excluded", "amount": "7000.00"}],
        "pool_personnel": "100000.00", "overhead_charged": "18000.00", "overhead_cap": "15000.00",
        "overhead_excess": "3000.00", "excluded": "7000.00", "unclassified": "500.00",
        "uncategorised_open": "500.00", "uncategorised_decided": "0.00",
        "total_spending": "125500.00", "unspent_grant": "-5500.00",   # 100.000 + 18.000 + 7.000 + 500
        "computed_repayment_due": "5000.00", "repayment_due": "6000.00", "confirmed_obligation": "6000.00",
        "already_repaid": "3000.00", "outstanding": "3000.00", "late_interest": "54.88",
        "interest_as_of": "2024-10-04",
        "interest": [{"principal": "2000.00", "from": "2024-08-05", "to": "2024-09-04", "days": 30, "amount": "13.72",
                      "rates": ["8.37"]},
                     {"principal": "3000.00", "from": "2024-08-05", "to": "2024-10-04", "days": 60, "amount": "41.16",
                      "rates": ["8.37"]}],
        "nominal_due_date": "2024-08-03", "due_date": "2024-08-05", "decided_by": "notice",
        "due_dates": [{"basis": "notice", "payout_date": None, "payout": None, "due": "6000.00", "paid": "3000.00",
                       "outstanding": "3000.00", "nominal_due_date": "2024-08-03", "due_date": "2024-08-05"}],
        "agreement": {"waived": False, "deemed_conform": "110000.00", "repayment_due": "10000.00",
                      "reference": "Vereinbarung § 1", "agreed_repayment": "10000.00", "payment_date": "2024-06-01",
                      "payment_reference": "Rückzahlung lt. Vereinbarung", "status": "in_force",
                      "effective_date": "2024-05-15",
                      "status_history": [
                          {"status": "signed", "effective_date": None, "recorded_at": "2024-05-02T09:30:00"},
                          {"status": "in_force", "effective_date": "2024-05-15", "recorded_at": "2024-05-16T08:00:00"}]},
        "notice": {"notice_date": "2024-06-03", "reference": "48.01-2023/24", "amount": "6000.00",
                   "due_date": "2024-08-03", "interest_start": "2024-08-06", "interest_points": "5",
                   "interest_waived": False,
                   "replaces": {"reference": "48.01-2023/24-alt", "notice_date": "2024-05-02"}},
    }


def test_a_payment_beyond_the_notices_amount_bears_no_interest():
    """6.000,00 due; 6.500,00 paid late on 04.09.2024: interest on the 6.000,00 owed only
    (30 days at 8,37 %: 6.000 × 8,37 % × 30 / 366 = 41,1639… → 41,16), the rest is an overpayment;
    a second payment finds nothing left to settle."""
    book = _with(_book("120000.00", repaid="6600.00", payments=((date(2024, 9, 4), "6500.00"),
                                                               (date(2024, 9, 5), "100.00"))), notice=NOTICE)
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 10, 4))
    assert [(i.principal, i.days, i.interest) for i in result.interest] == [(D("6000.00"), 30, D("41.16"))]
    assert (result.outstanding, result.interest_as_of) == (D("-600.00"), None)   # nothing open accrues


def test_a_notice_waiving_interest_bears_none():
    """§ 49a Abs. 3 Satz 2 VwVfG NRW: the authority may waive interest; then neither the late
    payment nor the open rest bears any."""
    waived = replace(NOTICE, interest_start=None, interest_points=None, interest_waived=True)
    book = _with(_book("120000.00", repaid="2000.00", payments=((date(2024, 9, 4), "2000.00"),)), notice=waived)
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 10, 4))
    assert (result.interest, result.interest_as_of, result.late_interest) == ((), None, D("0.00"))
    assert result.tranches[0].due_date == date(2024, 8, 5)


def test_a_notice_without_interest_start_or_without_a_rate_table_bears_none():
    """Interest needs the notice's start and the pack's base-rate table: without either, none."""
    book = _with(_book("120000.00", repaid="2000.00", payments=((date(2024, 9, 4), "2000.00"),)),
                 notice=replace(NOTICE, interest_start=None))
    assert settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 10, 4)).interest == ()
    book = replace(book, notice=NOTICE)
    assert settle("kreis", SY, replace(HINWEISE, interest=None), SPENDING, book, as_of=date(2024, 10, 4)).interest == ()


def test_an_agreement_in_force_sets_one_due_date_moved_under_section_193():
    """The agreed 10.000,00 are due on Saturday 01.06.2024, under § 193 BGB on Monday 03.06.2024.
    5.000,00 paid that day are in time; 3.000,00 paid on 03.07.2024 bear 30 days, 27 (04.–30.06.)
    at 3,62 + 3 = 6,62 % and 3 (01.–03.07.) at 3,37 + 3 = 6,37 %: 3.000 × (6,62 % × 27 + 6,37 % × 3)
    / 366 = (5.362,20 + 573,30) / 366 / 100 = 16,2172… → 16,22 EUR; the 2.000,00 still open on
    03.07.2024 bear the same 30 days: 10,8115… → 10,81 EUR."""
    book = _with(_book("120000.00", repaid="8000.00",
                       payments=((date(2024, 6, 3), "5000.00"), (date(2024, 7, 3), "3000.00"))), agreement=AGREEMENT)
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 7, 3))
    assert (result.decided_by, result.repayment_due, result.outstanding) == ("agreement", D("10000.00"),
                                                                             D("2000.00"))
    assert result.tranches == (Tranche(None, None, D("10000.00"), D("8000.00"), D("2000.00"), date(2024, 6, 1),
                                       date(2024, 6, 3), "agreement"),)
    assert (result.nominal_due_date, result.due_date) == (date(2024, 6, 1), date(2024, 6, 3))
    assert [(i.principal, i.due_date, i.days, [p.days for p in i.periods], i.interest) for i in result.interest] == [
        (D("3000.00"), date(2024, 6, 3), 30, [27, 3], D("16.22")),
        (D("2000.00"), date(2024, 6, 3), 30, [27, 3], D("10.81"))]
    assert result.payment_reference(STANDARD) == "Rückzahlung lt. Vereinbarung"
    assert result.as_json()["decided_by"] == "agreement"


def test_an_agreement_without_payment_date_or_reference():
    """Without a payment date the payout's deadline applies to the agreed amount (1 April 2024,
    Easter Monday → 2 April 2024); without an agreed reference the pack's standard one."""
    book = _with(_book("120000.00"), agreement=replace(AGREEMENT, payment_date=None, payment_reference=None))
    result = settle("kreis", SY, HINWEISE, SPENDING, book)
    assert [(t.basis, t.due, t.due_date) for t in result.tranches] == [("payout", D("10000.00"), date(2024, 4, 2))]
    assert (result.decided_by, result.payment_reference(STANDARD)) == ("agreement", STANDARD)


def test_an_agreement_not_in_force_changes_nothing():
    """Vereinbarung § 9: only an agreement in force decides; a signed one is shown, the computed
    5.000,00 stay due by the payout's deadline."""
    book = _with(_book("120000.00"), agreement=replace(AGREEMENT, status="signed"))
    result = settle("kreis", SY, HINWEISE, SPENDING, book)
    assert (result.decided_by, result.repayment_due, result.agreement.in_force) == ("computation", D("5000.00"), False)
    assert result.payment_reference(STANDARD) == STANDARD
    assert [(t.basis, t.due_date) for t in result.tranches] == [("payout", date(2024, 4, 2))]


def test_an_agreement_deeming_more_conform_than_received_leaves_nothing():
    """Grant received − deemed conform, not below zero: 120.000,00 − 130.000,00 → 0,00."""
    book = _with(_book("120000.00"), agreement=AgreementTerms(D("130000.00"), False, "Vereinbarung"))
    assert settle("kreis", SY, HINWEISE, SPENDING, book).repayment_due == D("0.00")
    book = _with(_book("120000.00"), agreement=AgreementTerms(D("100000.00"), False, "Vereinbarung"))
    assert settle("kreis", SY, HINWEISE, SPENDING, book).repayment_due == D("20000.00")


def test_before_2021_22_nothing_is_owed_without_an_agreement():
    """Vereinbarung § 4 Abs. 1: the 1 April rule applies "ab dem Schuljahr 2021/2022"; the
    statute's pack (2020/21) sets no deadline, so the computed 850.000,00 are not due."""
    result = settle("kreis", SchoolYear(2020), GESETZ, _totals(), _book("850000.00", payouts=()))
    assert (result.computed_repayment_due, result.repayment_due, result.due_date) == (D("850000.00"), D("0.00"),
                                                                                      None)


def test_the_result_names_the_earliest_open_deadline_else_the_first():
    """Two tranches (150.000,00 due 02.04.2024, 100.000,00 due 01.04.2025): with 149.999,50 paid the
    first still owes 0,50 EUR and stays the result's deadline; once all is paid, the first tranche's
    deadline is shown."""
    payouts = ((date(2023, 10, 16), "600000.00"), (date(2024, 1, 15), "100000.00"))
    used = _totals(("training", Status.PERMITTED, "450000.00", "450000.00", "0.00", "0.00"))
    almost = _book("700000.00", payouts=payouts, repaid="149999.50", payments=((date(2024, 4, 2), "149999.50"),))
    assert settle("kreis", SY, HINWEISE, used, almost).due_date == date(2024, 4, 2)
    paid = _book("700000.00", payouts=payouts, repaid="250000.00",
                 payments=((date(2024, 4, 2), "150000.00"), (date(2025, 4, 1), "100000.00")))
    result = settle("kreis", SY, HINWEISE, used, paid)
    assert (result.outstanding, result.nominal_due_date, result.due_date) == (D("0.00"), date(2024, 4, 1),
                                                                             date(2024, 4, 2))


def test_a_late_payment_beyond_the_rate_table_names_the_school_year():
    """A payment on 02.01.2099 lies beyond the base-rate table: the error names the school year
    (the table must be extended before interest can be stated)."""
    book = _book("120000.00", repaid="5000.00", payments=((date(2099, 1, 2), "5000.00"),))
    with pytest.raises(LedgerError, match="^Verzugszinsen 2023/24: Basiszinssatz"):
        settle("kreis", SY, HINWEISE, SPENDING, book)
    with pytest.raises(LedgerError, match="^Verzugszinsen 2023/24: Basiszinssatz"):
        settle("kreis", SY, HINWEISE, SPENDING, _with(book, notice=NOTICE))


def test_the_result_carries_its_evaluation_and_identity():
    """The run state the totals rest on is passed through unchanged (``evaluation``)."""
    state = object()
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00"), evaluation=state)
    assert result.evaluation is state
    assert (result.recipient_key, result.school_year, result.rule_pack_id) == ("kreis", "2023/24", HINWEISE.id)


# --- the payouts' tranches: who owes what by when, and which payment settled which (Vereinbarung
# § 4 Abs. 2: each payout repaid "bis zum 1. April des auf die Auszahlung folgenden Haushaltsjahres") -------

THREE_PAYOUTS = ((date(2023, 10, 16), "300000.00"), (date(2024, 1, 15), "200000.00"), (date(2024, 6, 14), "100000.00"))


def test_three_tranches_an_agreed_rest_beyond_the_payouts_and_payments_in_order():
    """An agreement in force without a payment date fixes 600.000,50 EUR, 0,50 more than the three
    payouts (600.000,00): taken from the latest payout backwards, the rest beyond all payouts
    stays with the latest, 100.000,50. Deadlines: 1 April 2024 (Easter Monday → 2 April 2024) for
    the 2023 payout, 1 April 2025 (a Tuesday) for both 2024 payouts. Payments settle the earliest
    deadline first: 0,50 and 499.999,50 on 02.04.2024 settle the first tranche (300.000,00) and the
    second (200.000,00) in time; 100.000,50 on 01.05.2025 settle the third 30 days late: 100.000,50
    × (2,27 + 3) % × 30 / 365 = 433,1528… → 433,15 EUR (base rate from 01.01.2025); 1,00 paid on
    02.05.2025 is an overpayment, booked to the last tranche without interest."""
    agreement = AgreementTerms(None, False, "Vereinbarung", repayment=D("600000.50"))
    payments = ((date(2024, 4, 2), "0.50"), (date(2024, 4, 2), "499999.50"), (date(2025, 5, 1), "100000.50"),
                (date(2025, 5, 2), "1.00"))
    book = _book("600000.00", payouts=THREE_PAYOUTS, agreement=agreement, repaid="600001.50", payments=payments)
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2025, 6, 1))
    assert result.tranches == (
        Tranche(date(2023, 10, 16), D("300000.00"), D("300000.00"), D("300000.00"), D("0.00"), date(2024, 4, 1),
                date(2024, 4, 2)),
        Tranche(date(2024, 1, 15), D("200000.00"), D("200000.00"), D("200000.00"), D("0.00"), date(2025, 4, 1),
                date(2025, 4, 1)),
        Tranche(date(2024, 6, 14), D("100000.00"), D("100000.50"), D("100001.50"), D("-1.00"), date(2025, 4, 1),
                date(2025, 4, 1)))
    assert [(i.principal, i.due_date, i.end_date, i.days, i.interest) for i in result.interest] == [
        (D("100000.50"), date(2025, 4, 1), date(2025, 5, 1), 30, D("433.15"))]
    assert (result.outstanding, result.due_date, result.interest_as_of) == (D("-1.00"), date(2024, 4, 2), None)


def test_a_tranche_with_nothing_to_repay_takes_no_payment():
    """600.000,00 of 700.000,00 used: the first tranche owes 0,00, the second 100.000,00 by
    01.04.2025. Paid on 01.05.2025: only the second tranche's 30 days bear interest (433,15 EUR,
    as above at 5,27 % over 365 days), none is charged on the empty first tranche."""
    used = _totals(("training", Status.PERMITTED, "600000.00", "600000.00", "0.00", "0.00"))
    book = _book("700000.00", payouts=THREE_PAYOUTS[:1] + ((date(2024, 1, 15), "400000.00"),), repaid="100000.00",
                 payments=((date(2025, 5, 1), "100000.00"),))
    result = settle("kreis", SY, HINWEISE, used, book)
    assert [(t.due, t.paid) for t in result.tranches] == [(D("0.00"), D("0.00")), (D("100000.00"), D("100000.00"))]
    assert [(i.principal, i.days, i.interest) for i in result.interest] == [(D("100000.00"), 30, D("433.15"))]


def test_repayments_without_dated_payments_count_on_the_last_tranche():
    """3.000,00 repaid, but no payment attributable by date: counted as paid on the (only) tranche."""
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00", repaid="3000.00"))
    assert [(t.due, t.paid, t.outstanding) for t in result.tranches] == [(D("5000.00"), D("3000.00"), D("2000.00"))]


def test_an_agreed_amount_without_payouts_has_no_tranche():
    """An agreement in force fixes 10.000,00 for a year whose payouts are not booked: nothing to
    split by payout, no deadline, the amount is still due."""
    book = _book("0.00", payouts=(), agreement=AgreementTerms(None, False, "Vereinbarung", repayment=D("10000.00")))
    result = settle("kreis", SY, HINWEISE, SPENDING, book)
    assert (result.tranches, result.repayment_due, result.due_date) == ((), D("10000.00"), None)


def test_even_fifty_cents_still_open_accrue_interest():
    """4.999,50 of 5.000,00 paid in time: the 0,50 EUR left accrue from 02.04.2024 to 02.05.2024,
    30 days at 6,62 % over 366: 0,0027… → 0,00 EUR, stated nonetheless."""
    book = _book("120000.00", repaid="4999.50", payments=((date(2024, 4, 2), "4999.50"),))
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 5, 2))
    assert [(i.principal, i.days, i.interest) for i in result.interest] == [(D("0.50"), 30, D("0.00"))]
    assert result.interest_as_of == date(2024, 5, 2)


def test_on_the_due_date_itself_nothing_accrues():
    """§ 187 Abs. 1 BGB: the due date (02.04.2024) is no interest day; asked on that day, no interest."""
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00"), as_of=date(2024, 4, 2))
    assert (result.interest, result.interest_as_of) == ((), None)
    later = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00"), as_of=date(2024, 4, 3))
    assert [(i.principal, i.days) for i in later.interest] == [(D("5000.00"), 1)]


@pytest.mark.parametrize("same", ["size", "mtime"])
def test_an_edited_base_rate_table_is_read_again(tmp_path, same, monkeypatch):
    """The table is cached by modification time and size: an edit that keeps one of them (a
    corrected digit keeps the size; a touch-less copy may keep the time) is still read again.
    3.000,00 open after 02.04.2024, asked on 02.05.2024: 30 days (03.04.–02.05.) at 3,62 + 3 = 6,62 %:
    3.000 × 6,62 % × 30 / 366 = 16,2786… → 16,28; with the 2024 rate edited to 4,62 %:
    3.000 × 7,62 % × 30 / 366 = 18,7377… → 18,74."""
    import os
    table = tmp_path / "basiszinssatz.toml"
    original = (HINWEISE.interest.base_rate_path).read_text(encoding="utf-8")
    table.write_text(original, encoding="utf-8")
    pack = replace(HINWEISE, interest=replace(HINWEISE.interest, base_rate_path=table))
    book = _book("120000.00", repaid="2000.00")
    first = settle("kreis", SY, pack, SPENDING, book, as_of=date(2024, 5, 2))
    assert first.late_interest == D("16.28")
    before = table.stat()
    edited = original.replace('valid_from = "2024-01-01"\nrate = "3.62"', 'valid_from = "2024-01-01"\nrate = "4.62"')
    if same == "mtime":
        edited += "\n# corrected\n"
    assert edited != original
    table.write_text(edited, encoding="utf-8")
    if same == "mtime":
        os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert settle("kreis", SY, pack, SPENDING, book, as_of=date(2024, 5, 2)).late_interest == D("18.74")


def test_a_waived_notice_in_json_and_a_due_date_on_an_nrw_holiday():
    """A notice without interest and without a predecessor, due on Fronleichnam (Thursday
    30.05.2024, a public holiday in NRW, not in every Land): due on Friday 31.05.2024 under the
    pack's calendar (§ 31 Abs. 3 VwVfG NRW); 0,50 EUR paid late bear no interest (waived)."""
    notice = NoticeTerms(date(2024, 4, 2), "48.01-2023/24", D("6000.00"), date(2024, 5, 30), None, None, True)
    book = _with(_book("120000.00", repaid="0.50", payments=((date(2024, 6, 3), "0.50"),)), notice=notice)
    result = settle("kreis", SY, HINWEISE, SPENDING, book, as_of=date(2024, 7, 1))
    assert (result.nominal_due_date, result.due_date, result.interest) == (date(2024, 5, 30), date(2024, 5, 31), ())
    data = result.as_json()
    assert data["notice"] == {"notice_date": "2024-04-02", "reference": "48.01-2023/24", "amount": "6000.00",
                              "due_date": "2024-05-30", "interest_start": None, "interest_points": None,
                              "interest_waived": True, "replaces": None}
    assert (data["agreement"], data["decided_by"], data["interest"]) == (None, "notice", [])


def test_fifty_cents_paid_late_on_a_notice_bear_interest():
    """0,50 EUR paid on 04.09.2024 against the notice (interest from 06.08.2024 at 8,37 %):
    30 days, 0,50 × 8,37 % × 30 / 366 = 0,0034… → 0,00 EUR, but stated as a late part."""
    book = _with(_book("120000.00", repaid="0.50", payments=((date(2024, 9, 4), "0.50"),)), notice=NOTICE)
    result = settle("kreis", SY, HINWEISE, SPENDING, book)
    assert [(i.principal, i.days, i.interest) for i in result.interest] == [(D("0.50"), 30, D("0.00"))]


def test_payout_tranches_in_json():
    """The due dates of the JSON name each payout (date and amount) with its tranche."""
    result = settle("kreis", SY, HINWEISE, SPENDING, _book("120000.00"))
    assert result.as_json()["due_dates"] == [
        {"basis": "payout", "payout_date": "2023-10-16", "payout": "120000.00", "due": "5000.00", "paid": "0.00",
         "outstanding": "5000.00", "nominal_due_date": "2024-04-01", "due_date": "2024-04-02"}]


def test_the_use_names_the_cap_rate_and_the_decided_spending_without_a_category():
    """The Hinweise pack caps overhead at 15 % (rate 0.15), the statute's pack has no cap (None).
    Postings without a pack category that an officer decided (200,00 conform, 300,00 excluded)
    count as decided, 500,00; the 100,00 still open stay open."""
    from ledger.reports.settlement import judge_use
    totals = _totals((None, Status.PERMITTED, "200.00", "200.00", "0.00", "0.00"),
                     (None, Status.EXCLUDED, "300.00", "0.00", "300.00", "0.00"),
                     (None, Status.UNCLASSIFIED, "100.00", "0.00", "0.00", "100.00"))
    use = judge_use(totals, HINWEISE)
    assert (use.uncategorised_decided, use.uncategorised_open, use.overhead_rate) == (D("500.00"), D("100.00"),
                                                                                      D("0.15"))
    assert judge_use(totals, GESETZ).overhead_rate is None
