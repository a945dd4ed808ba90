"""Closing a school year after the final settlement, and re-opening it.

An officer closes a recipient's school year once it is settled; from then on the
database refuses journal entries dated in it or with postings of it (migration 0002).
Re-opening needs an admin and a reason. Both are append-only events (``period_events``)
and audit-log entries.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger import audit
from ledger.errors import LedgerError
from ledger.models import PeriodEvent, Recipient, User
from ledger.money import format_german
from ledger.rules import RulePack
from ledger.schoolyear import SchoolYear
from ledger.users import require_role


def closed_years(session: Session, recipient: Recipient) -> set[str]:
    """The recipient's closed school years (``"2022/23"``): those whose newest event is ``close``."""
    newest: dict[str, str] = {}
    for year, action in session.execute(
        select(PeriodEvent.school_year, PeriodEvent.action)
        .where(PeriodEvent.recipient_id == recipient.id).order_by(PeriodEvent.id)
    ):
        newest[year] = action
    return {year for year, action in newest.items() if action == "close"}


def ensure_open(session: Session, recipient: Recipient, day: date, school_years: set[str]) -> None:
    """Raise LedgerError if ``day`` or any of ``school_years`` lies in a closed school year.

    The database enforces the same rule; this gives the German message first.
    """
    closed = closed_years(session, recipient)
    hit = sorted(({str(SchoolYear.of(day))} | school_years) & closed)
    if hit:
        raise LedgerError(f"Schuljahr {', '.join(hit)} ist abgeschlossen; keine Buchungen mehr möglich")


def close_year(session: Session, recipient: Recipient, school_year: SchoolYear, *, user: User, now: datetime,
               reason: str = "", packs: tuple[RulePack, ...] | None = None) -> PeriodEvent:
    """Close ``school_year`` of ``recipient`` after its final settlement.

    Requires an officer or admin, a school year that is over (``now`` after 31 July),
    no unclassified spending, and the repayment confirmed and paid in full. Records the
    year's classification as an evaluation run first: from then on the closed year is
    judged by that run (``ledger.evaluation_runs``).
    Raises LedgerError naming every unmet condition.
    """
    from ledger.evaluation_runs import record_evaluation  # here: both import this module
    from ledger.repayment import compute_repayment

    require_role(user, "officer", "admin")
    if str(school_year) in closed_years(session, recipient):
        raise LedgerError(f"Schuljahr {school_year} ist bereits abgeschlossen")
    record_evaluation(session, recipient, school_year, actor=user.username, now=now,
                      reason="Abschluss des Schuljahres", packs=packs)
    result = compute_repayment(session, recipient, school_year, packs)
    problems = []
    if now.date() <= school_year.last_day:
        problems.append(f"das Schuljahr endet erst am {school_year.last_day:%d.%m.%Y}")
    if result.unclassified:
        problems.append(f"{format_german(result.unclassified)} EUR sind nicht klassifiziert")
    if result.confirmed_obligation != result.repayment_due:
        problems.append(f"Rückzahlung {format_german(result.repayment_due)} EUR ist nicht bestätigt "
                        f"(bestätigt: {format_german(result.confirmed_obligation)} EUR)")
    if result.outstanding:
        problems.append(f"{format_german(result.outstanding)} EUR sind noch offen")
    if problems:
        raise LedgerError(f"Schuljahr {school_year} kann nicht abgeschlossen werden: " + "; ".join(problems))
    return _event(session, recipient, school_year, "close", user, reason, now)


def reopen_year(session: Session, recipient: Recipient, school_year: SchoolYear, *, user: User, reason: str,
                now: datetime) -> PeriodEvent:
    """Re-open a closed school year. Requires an admin and a reason; logged."""
    require_role(user, "admin")
    if not reason.strip():
        raise LedgerError("das Wiedereröffnen braucht eine Begründung")
    if str(school_year) not in closed_years(session, recipient):
        raise LedgerError(f"Schuljahr {school_year} ist nicht abgeschlossen")
    return _event(session, recipient, school_year, "reopen", user, reason, now)


def _event(session: Session, recipient: Recipient, school_year: SchoolYear, action: str, user: User,
           reason: str, now: datetime) -> PeriodEvent:
    event = PeriodEvent(recipient_id=recipient.id, school_year=str(school_year), first_day=school_year.first_day,
                        last_day=school_year.last_day, action=action, actor=user.username,
                        reason=reason.strip(), created_at=now)
    session.add(event)
    session.flush()
    audit.record(session, actor=user.username, action=f"period_{action}", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "reason": reason.strip()})
    return event
