"""Revocation and repayment notices of the Land (Rückforderungs-/Erstattungsbescheide).

Where the authority issues its own notice for a recipient's school year, with an amount, a due
date, an interest start and rate, that notice decides, not the computation (DOMAIN.md
"Repayment"; § 49a VwVfG NRW): it overrides the computed repayment and also a settlement
agreement. Interest is charged at a rate in percentage points above the base rate (§ 49a
Abs. 3 Satz 1 VwVfG NRW: three points) from the notice's interest start, unless the notice
waives it (Abs. 3 Satz 2). For school years before 2021/22 such a notice (or an agreement) is
the only way a repayment becomes due.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import Notice, Recipient
from ledger.core.money import checked_cents
from ledger.core.schoolyear import SchoolYear


def add_notice(
    session: Session, recipient: Recipient, school_year: SchoolYear, *,
    notice_date: date, reference: str, amount: Decimal, due_date: date,
    interest_start: date | None = None, interest_points: Decimal | None = None, interest_waived: bool = False,
    created_by: str, now: datetime,
) -> Notice:
    """Record the Land's notice for one school year (audited as ``notice_add``).

    ``notice_date``: the notice's date; ``reference``: its Aktenzeichen; ``amount``: EUR to
    repay; ``due_date``: the payment date it sets. ``interest_start`` (the first interest day)
    and ``interest_points`` (percentage points above the base rate, e.g. ``Decimal("3")``,
    at most two decimals) are both required unless ``interest_waived``, and absent with it.

    Raises LedgerError (German) for an empty reference, a negative amount, a due date before
    the notice's date, incomplete or contradictory interest terms, or if the year already has
    a notice.
    """
    _check_terms(notice_date, reference, amount, due_date, interest_start, interest_points, interest_waived)
    if find_notice(session, recipient, school_year) is not None:
        raise LedgerError(f"für {recipient.key} gibt es für {school_year} bereits einen Bescheid")
    notice = Notice(
        recipient_id=recipient.id, school_year=str(school_year), notice_date=notice_date,
        reference=reference.strip(), amount_cents=checked_cents(amount), due_date=due_date,
        interest_start=interest_start,
        interest_rate_bp=None if interest_points is None else int(interest_points * 100),
        interest_waived=interest_waived, created_by=created_by, created_at=now,
    )
    session.add(notice)
    session.flush()
    audit.record(session, actor=created_by, action="notice_add", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "notice_date": notice_date.isoformat(),
                          "reference": notice.reference, "amount": str(amount), "due_date": due_date.isoformat(),
                          "interest_start": None if interest_start is None else interest_start.isoformat(),
                          "interest_points": None if interest_points is None else str(interest_points),
                          "interest_waived": interest_waived})
    return notice


def _check_terms(notice_date: date, reference: str, amount: Decimal, due_date: date,
                 interest_start: date | None, interest_points: Decimal | None, interest_waived: bool) -> None:
    """Raise LedgerError (German) for terms ``add_notice`` refuses."""
    if not reference.strip():
        raise LedgerError("das Aktenzeichen des Bescheids fehlt")
    if amount < 0:
        raise LedgerError("der Rückforderungsbetrag des Bescheids darf nicht negativ sein")
    if due_date < notice_date:
        raise LedgerError("die Zahlungsfrist des Bescheids liegt vor seinem Datum")
    if interest_waived:
        if interest_start is not None or interest_points is not None:
            raise LedgerError("bei Verzicht auf Zinsen (§ 49a Abs. 3 Satz 2 VwVfG NRW) kein Zinsbeginn und kein Zinssatz")
        return
    if interest_start is None or interest_points is None:
        raise LedgerError("Zinsbeginn und Zinssatz (Prozentpunkte über dem Basiszinssatz) angeben "
                          "oder den Verzicht auf Zinsen erfassen")
    if interest_points < 0 or interest_points * 100 != (interest_points * 100).to_integral_value():
        raise LedgerError("der Zinssatz muss eine nicht negative Zahl von Prozentpunkten mit höchstens "
                          "zwei Nachkommastellen sein")


def find_notice(session: Session, recipient: Recipient, school_year: SchoolYear) -> Notice | None:
    """The notice for ``recipient``'s ``school_year``, or None."""
    return session.scalar(select(Notice).where(
        Notice.recipient_id == recipient.id, Notice.school_year == str(school_year)))
