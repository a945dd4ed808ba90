"""Settlement agreements (Vereinbarungen) between a recipient and the Land.

For the school years an agreement names, its figures override the computed result once it is
in force: an amount deemed purpose-conform (seed 002_17056edfca8550ce.txt § 1 (2): 422.362,00 EUR
for 2020/21) and the agreed repayment ("zu mindern auf insgesamt 469.569,68 EUR"), or a waiver
of the Land's claims (§ 2: 2014/15 to 2019/20). The agreement has its own payment date and
payment reference (§ 3, "bis zum XX.XX.2022": entered by the officer, the seed leaves them
blank) and takes effect only once the finance ministry consented and the Kreis's bodies
resolved (§ 9): a status (``STATUSES``) and, in force, an effective date.

Agreements are evidence and never change (append-only, migration 0015). Their status moves by
new status events (``change_status``: signed → awaiting consent → in force), so the history
stays visible (``status_history``); the current status is the latest event.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import Agreement, AgreementStatusEvent, Recipient
from ledger.core.money import checked_cents
from ledger.core.schoolyear import SchoolYear

#: An agreement's status (Vereinbarung § 9) → German label. Only ``in_force`` changes figures.
STATUSES = {
    "signed": "unterzeichnet",
    "awaiting_consent": "Zustimmung ausstehend",
    "in_force": "wirksam",
}
IN_FORCE = "in_force"
#: The order of the statuses: an agreement's status only moves forward (§ 9).
_ORDER = tuple(STATUSES)


def add_agreement(
    session: Session, recipient: Recipient, school_year: SchoolYear, *,
    deemed_conform: Decimal | None = None, waive: bool = False, reference: str = "",
    repayment: Decimal | None = None, payment_date: date | None = None, payment_reference: str = "",
    status: str = IN_FORCE, effective_date: date | None = None,
    created_by: str, now: datetime,
) -> Agreement:
    """Record an agreement for one school year: ``deemed_conform`` EUR, or ``waive=True``.

    ``repayment`` (EUR, optional): the repayment the agreement fixes (§ 1 Abs. 2); without it
    the repayment is grant received − deemed conform. ``payment_date`` and
    ``payment_reference`` (§ 3): when and under which reference it is paid. ``status``: a key
    of ``STATUSES`` (default ``in_force``, as every agreement recorded before the status
    existed), recorded as the agreement's first status event; ``effective_date`` (§ 9) only
    for an agreement in force.

    Raises LedgerError unless exactly one of deemed-conform amount and waiver is given, if an
    amount is negative, if a waiver carries a repayment or payment date, for an unknown status,
    an effective date of an agreement not in force, or if the year already has an agreement; AmountTooLarge above
    ``ledger.core.money.MAX_AMOUNT``.
    """
    _check_terms(deemed_conform, waive, repayment, payment_date, status, effective_date)
    if find_agreement(session, recipient, school_year) is not None:
        raise LedgerError(f"für {recipient.key} gibt es für {school_year} bereits eine Vereinbarung")
    agreement = Agreement(
        recipient_id=recipient.id, school_year=str(school_year),
        deemed_conform_cents=None if deemed_conform is None else checked_cents(deemed_conform),
        waived=waive, reference=reference.strip() or "Vereinbarung mit dem Land NRW",
        repayment_cents=None if repayment is None else checked_cents(repayment), payment_date=payment_date,
        payment_reference=payment_reference.strip() or None, created_by=created_by, created_at=now,
    )
    session.add(agreement)
    session.flush()
    session.add(AgreementStatusEvent(agreement_id=agreement.id, status=status, effective_date=effective_date,
                                     created_by=created_by, created_at=now))
    session.flush()
    audit.record(session, actor=created_by, action="agreement_add", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "waived": waive, "reference": agreement.reference,
                          "deemed_conform": None if deemed_conform is None else str(deemed_conform),
                          "repayment": None if repayment is None else str(repayment),
                          "payment_date": None if payment_date is None else payment_date.isoformat(),
                          "payment_reference": agreement.payment_reference, "agreement_status": status,
                          "effective_date": None if effective_date is None else effective_date.isoformat()})
    return agreement


def _check_terms(deemed_conform: Decimal | None, waive: bool, repayment: Decimal | None,
                 payment_date: date | None, status: str, effective_date: date | None) -> None:
    """Raise LedgerError (German) for terms ``add_agreement`` refuses."""
    if (deemed_conform is None) == (not waive):
        raise LedgerError("entweder ein als zweckentsprechend geltender Betrag oder ein Verzicht")
    if deemed_conform is not None and deemed_conform < 0:
        raise LedgerError("der als zweckentsprechend geltende Betrag darf nicht negativ sein")
    if repayment is not None and repayment < 0:
        raise LedgerError("der vereinbarte Rückzahlungsbetrag darf nicht negativ sein")
    if waive and (repayment is not None or payment_date is not None):
        raise LedgerError("bei einem Verzicht des Landes gibt es keinen Rückzahlungsbetrag und keinen Zahlungstermin")
    _check_status(status, effective_date)


def _check_status(status: str, effective_date: date | None) -> None:
    """Raise LedgerError (German) for an unknown status or an effective date of an agreement
    not in force."""
    if status not in STATUSES:
        raise LedgerError(f"unbekannter Stand der Vereinbarung {status!r}; erlaubt: {', '.join(STATUSES)}")
    if effective_date is not None and status != IN_FORCE:
        raise LedgerError("ein Datum des Wirksamwerdens gibt es nur für eine wirksame Vereinbarung "
                          "(Zustimmung des Finanzministeriums und Beschluss der Kreisgremien, § 9)")


def find_agreement(session: Session, recipient: Recipient, school_year: SchoolYear) -> Agreement | None:
    """The agreement covering ``school_year`` for ``recipient``, or None."""
    return session.scalar(select(Agreement).where(
        Agreement.recipient_id == recipient.id, Agreement.school_year == str(school_year)))


@dataclass(frozen=True)
class StatusStep:
    """One step of an agreement's status (Vereinbarung § 9): ``status`` (a key of
    ``STATUSES``), ``effective_date`` (in force only), who recorded it and when
    (``recorded_by``, ``recorded_at``)."""

    status: str
    effective_date: date | None
    recorded_by: str
    recorded_at: datetime


def status_history(session: Session, agreement: Agreement) -> tuple[StatusStep, ...]:
    """``agreement``'s status events, oldest first; the last is its current status."""
    return steps_of(session.scalars(select(AgreementStatusEvent).where(
        AgreementStatusEvent.agreement_id == agreement.id).order_by(AgreementStatusEvent.id)))


def steps_of(events) -> tuple[StatusStep, ...]:
    """Status events (``AgreementStatusEvent``, oldest first) as ``StatusStep``s."""
    return tuple(StatusStep(e.status, e.effective_date, e.created_by, e.created_at) for e in events)


def change_status(session: Session, agreement: Agreement, status: str, *, effective_date: date | None = None,
                  created_by: str, now: datetime) -> StatusStep:
    """Record that ``agreement`` reached ``status`` (a key of ``STATUSES``; audited as
    ``agreement_status``), as a new status event: the agreement row never changes.
    ``effective_date`` (§ 9: the day both the finance ministry's consent and the Kreis's
    resolution were given) is required for ``in_force`` and absent otherwise.

    The status only moves forward, signed → awaiting consent → in force (a step may be
    skipped). Raises LedgerError (German) for an unknown status, a missing or superfluous
    effective date, or a status that is not after the current one.
    """
    _check_status(status, effective_date)
    if status == IN_FORCE and effective_date is None:
        raise LedgerError("das Datum des Wirksamwerdens fehlt (Zustimmung des Finanzministeriums und Beschluss "
                          "der Kreisgremien, § 9)")
    current = status_history(session, agreement)[-1]
    if _ORDER.index(status) <= _ORDER.index(current.status):
        raise LedgerError(f"die Vereinbarung ist bereits „{STATUSES[current.status]}“; ihr Stand kann nur "
                          f"fortschreiten (unterzeichnet → Zustimmung ausstehend → wirksam)")
    session.add(AgreementStatusEvent(agreement_id=agreement.id, status=status, effective_date=effective_date,
                                     created_by=created_by, created_at=now))
    session.flush()
    audit.record(session, actor=created_by, action="agreement_status", now=now,
                 recipient=session.get(Recipient, agreement.recipient_id),
                 details={"school_year": agreement.school_year, "reference": agreement.reference,
                          "before": STATUSES[current.status], "after": STATUSES[status],
                          "effective_date": None if effective_date is None else effective_date.isoformat()})
    return StatusStep(status, effective_date, created_by, now)
