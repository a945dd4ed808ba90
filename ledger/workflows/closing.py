"""Closing a school year after the final settlement, and re-opening it.

An officer closes a recipient's school year once it is settled; from then on the
database refuses journal entries dated in it or with postings of it (migration 0002,
``ledger.core.periods``). Re-opening needs an admin and a reason. Both are append-only
events (``period_events``) and audit-log entries.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import PeriodEvent, Recipient, User
from ledger.core.money import format_german
from ledger.core.periods import closed_years
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import require_role
from ledger.reports.repayment import compute_repayment
from ledger.rules.evaluation_runs import record_evaluation
from ledger.rules.packs import RulePack


def close_year(session: Session, recipient: Recipient, school_year: SchoolYear, *, user: User, now: datetime,
               reason: str = "", packs: tuple[RulePack, ...] | None = None) -> PeriodEvent:
    """Close ``school_year`` of ``recipient`` after its final settlement.

    Requires an officer or admin, a school year that is over (``now`` after 31 July),
    no unclassified spending, and the repayment confirmed and paid in full. Records the
    year's classification as an evaluation run first: from then on the closed year is
    judged by that run (``ledger.rules.evaluation_runs``).
    Raises LedgerError naming every unmet condition.
    """
    require_role(user, "officer", "admin")
    if str(school_year) in closed_years(session, recipient):
        raise LedgerError(f"Schuljahr {school_year} ist bereits abgeschlossen")
    record_evaluation(session, recipient, school_year, actor=user.username, now=now,
                      reason="Abschluss des Schuljahres", packs=packs)
    problems = closing_problems(session, recipient, school_year, now=now, packs=packs)
    if problems:
        raise LedgerError(f"Schuljahr {school_year} kann nicht abgeschlossen werden: " + "; ".join(problems))
    return _event(session, recipient, school_year, "close", user, reason, now)


def closing_problems(session: Session, recipient: Recipient, school_year: SchoolYear, *, now: datetime,
                     packs: tuple[RulePack, ...] | None = None) -> list[str]:
    """What keeps ``school_year`` of ``recipient`` from being closed at ``now``, as German
    phrases (empty: nothing does): the year is not over yet (``now`` on or before 31 July),
    spending is unclassified (EUR), the repayment due is not confirmed as booked, or an amount
    is still open. Reads only; ``close_year`` refuses with exactly these.
    Raises LedgerError (e.g. RulePackError) when the year's figures cannot be computed.
    """
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
    return problems


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
