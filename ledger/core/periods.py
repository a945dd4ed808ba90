"""Closed school years: which they are, and the check every posting passes.

A closed school year refuses journal entries dated in it or with postings of it (the
database enforces it, migration 0002; ``ensure_open`` gives the German message first).
Closing and re-opening are workflows (``ledger.workflows.closing``) that append events
to ``period_events``; this module only reads them.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.errors import LedgerError
from ledger.core.models import PeriodEvent, Recipient
from ledger.core.schoolyear import SchoolYear


def closed_years(session: Session, recipient: Recipient) -> set[str]:
    """The recipient's closed school years (``"2022/23"``): those whose newest event is ``close``."""
    return closed_years_of(session, [recipient.id]).get(recipient.id, set())


def closed_years_of(session: Session, recipient_ids: list[int]) -> dict[int, set[str]]:
    """``closed_years`` of each recipient of ``recipient_ids`` in one query: recipient id →
    closed school years; recipients without any are missing."""
    newest: dict[tuple[int, str], str] = {}
    for recipient_id, year, action in session.execute(
        select(PeriodEvent.recipient_id, PeriodEvent.school_year, PeriodEvent.action)
        .where(PeriodEvent.recipient_id.in_(recipient_ids)).order_by(PeriodEvent.id)
    ):
        newest[(recipient_id, year)] = action
    closed: dict[int, set[str]] = {}
    for (recipient_id, year), action in newest.items():
        if action == "close":
            closed.setdefault(recipient_id, set()).add(year)
    return closed


def ensure_open(session: Session, recipient: Recipient, day: date, school_years: set[str]) -> None:
    """Raise LedgerError if ``day`` or any of ``school_years`` lies in a closed school year.

    The database enforces the same rule; this gives the German message first.
    """
    closed = closed_years(session, recipient)
    hit = sorted(({str(SchoolYear.of(day))} | school_years) & closed)
    if hit:
        raise LedgerError(f"Schuljahr {', '.join(hit)} ist abgeschlossen; keine Buchungen mehr möglich")
