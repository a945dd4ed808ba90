"""Settling a school year's repayment: the obligation confirmed, the payment recorded.

Both are journal entries (``ledger.core.posting``) on the recipient's role accounts; the
figures come from ``ledger.reports.repayment.compute_repayment``. Source: seed
002_17056edfca8550ce.txt, Vereinbarung § 3 and § 4 Abs. 2 (repayment to the Landeskasse).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import JournalEntry, Recipient
from ledger.core.money import format_german
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import role_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment
from ledger.rules.evaluation_runs import record_evaluation
from ledger.rules.packs import RulePack


def confirm_repayment(
    session: Session, recipient: Recipient, school_year: SchoolYear, *, day: date, created_by: str,
    now: datetime, packs: tuple[RulePack, ...] | None = None,
) -> JournalEntry:
    """Book the repayment obligation to the Land as a liability (debit 4149, credit 3790).

    Books the difference between the repayment due now and what was confirmed before,
    so re-confirming after a reclassification adjusts the liability. The classification it
    rests on is recorded first as an evaluation run (``ledger.rules.evaluation_runs``). Raises
    LedgerError when nothing changed (already confirmed, or nothing due).
    """
    record_evaluation(session, recipient, school_year, actor=created_by, now=now,
                      reason="Bestätigung der Rückzahlung", packs=packs)
    result = compute_repayment(session, recipient, school_year, packs)
    delta = result.repayment_due - result.confirmed_obligation
    if delta == 0:
        raise LedgerError(
            f"Rückzahlung {school_year} ist bereits mit {format_german(result.confirmed_obligation)} EUR bestätigt"
            if result.confirmed_obligation else f"für {school_year} ist keine Rückzahlung fällig")
    entry = post_entry(
        session, recipient, day=day, voucher_number=f"RZV-{school_year}-{day:%Y%m%d}",
        text=f"Rückzahlungsverpflichtung Inklusionspauschale {school_year} gegenüber dem Land NRW",
        lines=[PostingLine(role_account(session, recipient, "repayment_charge"), delta, school_year),
               PostingLine(role_account(session, recipient, "repayment_liability"), -delta, school_year)],
        kind="repayment_obligation", created_by=created_by, now=now,
    )
    audit.record(session, actor=created_by, action="repayment_confirm", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "amount": str(delta), "entry": entry.id})
    return entry


def pay_repayment(
    session: Session, recipient: Recipient, school_year: SchoolYear, amount: Decimal, *, day: date,
    created_by: str, now: datetime, packs: tuple[RulePack, ...] | None = None,
) -> JournalEntry:
    """Record a repayment of ``amount`` EUR to the Landeskasse (debit 3790, credit bank).

    Raises LedgerError if the amount is not positive, nothing was confirmed, or the
    amount exceeds the confirmed obligation not yet paid.
    """
    if amount <= 0:
        raise LedgerError("der Zahlbetrag muss positiv sein")
    result = compute_repayment(session, recipient, school_year, packs)
    open_liability = result.confirmed_obligation - result.already_repaid
    if result.confirmed_obligation <= 0:
        raise LedgerError(f"für {school_year} ist keine Rückzahlung bestätigt (die Rückzahlung zuerst bestätigen)")
    if amount > open_liability:
        raise LedgerError(f"Zahlung {format_german(amount)} EUR übersteigt die offene Verbindlichkeit "
                          f"von {format_german(open_liability)} EUR")
    entry = post_entry(
        session, recipient, day=day, voucher_number=f"RZ-{school_year}-{day:%Y%m%d}",
        text=f"Rückzahlung Inklusionspauschale {school_year} an die Landeskasse",
        lines=[PostingLine(role_account(session, recipient, "repayment_liability"), amount, school_year),
               PostingLine(role_account(session, recipient, "bank"), -amount, school_year)],
        kind="repayment_payment", created_by=created_by, now=now,
    )
    audit.record(session, actor=created_by, action="repayment_pay", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "amount": str(amount), "date": day.isoformat(),
                          "entry": entry.id})
    return entry
