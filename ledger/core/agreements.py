"""Settlement agreements (Vereinbarungen) between a recipient and the Land.

For the school years an agreement names, its figures override the computed result:
an amount deemed purpose-conform (seed 002_17056edfca8550ce.txt § 1 (2): 422.362,00 EUR
for 2020/21) or a waiver of the Land's claims (§ 2: 2014/15 to 2019/20).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import Agreement, Recipient
from ledger.core.money import checked_cents
from ledger.core.schoolyear import SchoolYear


def add_agreement(
    session: Session, recipient: Recipient, school_year: SchoolYear, *,
    deemed_conform: Decimal | None = None, waive: bool = False, reference: str = "",
    created_by: str, now: datetime,
) -> Agreement:
    """Record an agreement for one school year: ``deemed_conform`` EUR, or ``waive=True``.

    Raises LedgerError unless exactly one of the two is given, if the amount is
    negative, or if the year already has an agreement; AmountTooLarge above
    ``ledger.core.money.MAX_AMOUNT``.
    """
    if (deemed_conform is None) == (not waive):
        raise LedgerError("entweder ein als zweckentsprechend geltender Betrag oder ein Verzicht")
    if deemed_conform is not None and deemed_conform < 0:
        raise LedgerError("der als zweckentsprechend geltende Betrag darf nicht negativ sein")
    if find_agreement(session, recipient, school_year) is not None:
        raise LedgerError(f"für {recipient.key} gibt es für {school_year} bereits eine Vereinbarung")
    agreement = Agreement(
        recipient_id=recipient.id, school_year=str(school_year),
        deemed_conform_cents=None if deemed_conform is None else checked_cents(deemed_conform),
        waived=waive, reference=reference.strip() or "Vereinbarung mit dem Land NRW",
        created_by=created_by, created_at=now,
    )
    session.add(agreement)
    session.flush()
    audit.record(session, actor=created_by, action="agreement_add", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "waived": waive, "reference": agreement.reference,
                          "deemed_conform": None if deemed_conform is None else str(deemed_conform)})
    return agreement


def find_agreement(session: Session, recipient: Recipient, school_year: SchoolYear) -> Agreement | None:
    """The agreement covering ``school_year`` for ``recipient``, or None."""
    return session.scalar(select(Agreement).where(
        Agreement.recipient_id == recipient.id, Agreement.school_year == str(school_year)))
