"""The Land's overview across recipients: one row per recipient and school year of the
Inklusionspauschale, for the ministry and the Bezirksregierungen.

Each row repeats the figures of the recipient's own settlement (``compute_many``, the same
computation as ``compute_all``, read for all recipients at once, so both can never
disagree): grant received, purpose-conform spending, repayment due with its due date
(1 April, InklFöG § 2 with the Hinweise, moved under § 193 BGB), paid, outstanding, whether it
is overdue and the interest on late repayment (§ 49a Abs. 3 VwVfG NRW) accrued up to the day
of the overview, the newest statement of use issued and whether the year is closed.

Only school years with a grant, an agreement or a notice of the Inklusionspauschale count;
recipients of other programmes only (a city of a Kreis's formula allocation) have none.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import Agreement, Grant, IssuedStatement, Notice, Recipient
from ledger.core.money import ZERO
from ledger.core.periods import closed_years_of
from ledger.reports.repayment import YearError, compute_many
from ledger.reports.settlement import RepaymentResult
from ledger.rules.packs import RulePack


@dataclass(frozen=True)
class OverviewRow:
    """One recipient's school year. Amounts in EUR (Decimal, two places); ``due_date`` the due
    day of the earliest open tranche (None without payout or deadline); ``overdue``: something
    is outstanding after ``due_date``; ``interest``: interest on late repayment up to the day
    of the overview (EUR); ``statement_number``/``statement_date``: the newest issued statement
    of use (None if none); ``error``: the German reason the year cannot be computed (then
    every amount is None)."""

    recipient_key: str
    recipient_name: str
    school_year: str
    grant_received: Decimal | None
    permitted: Decimal | None
    repayment_due: Decimal | None
    due_date: date | None
    already_repaid: Decimal | None
    outstanding: Decimal | None
    overdue: bool
    interest: Decimal | None
    statement_number: int | None
    statement_date: date | None
    closed: bool
    error: str | None = None

    def as_json(self) -> dict:
        """The row for scripts: amounts as strings with two decimals, dates ISO, None as null."""
        def text(value):
            return None if value is None else str(value) if isinstance(value, Decimal) else value.isoformat()
        return {"recipient": self.recipient_key, "name": self.recipient_name, "school_year": self.school_year,
                "grant_received": text(self.grant_received), "permitted": text(self.permitted),
                "repayment_due": text(self.repayment_due), "due_date": text(self.due_date),
                "already_repaid": text(self.already_repaid), "outstanding": text(self.outstanding),
                "overdue": self.overdue, "interest": text(self.interest),
                "statement_number": self.statement_number, "statement_date": text(self.statement_date),
                "closed": self.closed, "error": self.error}


@dataclass(frozen=True)
class Overview:
    """The rows, ordered by recipient key and school year, and the day they were computed for."""

    as_of: date
    rows: tuple[OverviewRow, ...]

    def upcoming(self, days: int = 120) -> tuple[OverviewRow, ...]:
        """Rows with something outstanding whose due date lies from ``as_of`` up to ``days``
        days later, soonest first."""
        return tuple(sorted((r for r in self.rows if r.due_date is not None and r.outstanding
                             and r.outstanding > 0 and 0 <= (r.due_date - self.as_of).days <= days),
                            key=lambda r: (r.due_date, r.recipient_key)))

    def totals(self) -> dict[str, Decimal]:
        """Sums over the computed rows (EUR): ``grant_received``, ``permitted``, ``repayment_due``,
        ``already_repaid``, ``outstanding``, ``interest``."""
        fields = ("grant_received", "permitted", "repayment_due", "already_repaid", "outstanding", "interest")
        return {name: sum((getattr(r, name) for r in self.rows if r.error is None), ZERO) for name in fields}


def overview(session: Session, recipients: list[Recipient], packs: tuple[RulePack, ...], *, as_of: date) -> Overview:
    """The overview of ``recipients`` (those the user may read) on day ``as_of``.

    Raises nothing for a year that cannot be computed: its row carries the ``error``.
    """
    years = _programme_years(session)
    issued = _newest_statements(session)
    counted = sorted((r for r in recipients if years.get(r.id)), key=lambda r: r.key)
    ids = [recipient.id for recipient in counted]
    closed = closed_years_of(session, ids)
    computed = compute_many(session, counted, packs, as_of=as_of)
    rows: list[OverviewRow] = []
    for recipient in counted:
        for result in computed[recipient.id]:
            if result.school_year in years[recipient.id]:
                rows.append(_row(recipient, result, as_of, closed.get(recipient.id, set()),
                                 issued.get((recipient.id, result.school_year))))
    return Overview(as_of, tuple(rows))


def _row(recipient: Recipient, result: RepaymentResult | YearError, as_of: date, closed: set[str],
         statement: tuple[int, date] | None) -> OverviewRow:
    number, issued_on = statement or (None, None)
    common = {"recipient_key": recipient.key, "recipient_name": recipient.name, "school_year": result.school_year,
              "statement_number": number, "statement_date": issued_on, "closed": result.school_year in closed}
    if isinstance(result, YearError):
        return OverviewRow(grant_received=None, permitted=None, repayment_due=None, due_date=None,
                           already_repaid=None, outstanding=None, overdue=False, interest=None,
                           error=result.message, **common)
    return OverviewRow(
        grant_received=result.grant_received, permitted=result.permitted, repayment_due=result.repayment_due,
        due_date=result.due_date, already_repaid=result.already_repaid, outstanding=result.outstanding,
        overdue=result.due_date is not None and result.outstanding > 0 and as_of > result.due_date,
        interest=result.late_interest, **common)


def _programme_years(session: Session) -> dict[int, set[str]]:
    """Recipient id → its school years with an Inklusionspauschale grant, agreement or notice."""
    years: dict[int, set[str]] = {}
    queries = (select(Grant.recipient_id, Grant.school_year).where(Grant.programme == INKLUSIONSPAUSCHALE),
               select(Agreement.recipient_id, Agreement.school_year),
               select(Notice.recipient_id, Notice.school_year))
    for query in queries:
        for recipient_id, school_year in session.execute(query):
            years.setdefault(recipient_id, set()).add(school_year)
    return years


def _newest_statements(session: Session) -> dict[tuple[int, str], tuple[int, date]]:
    """(recipient id, school year) → (number, day issued) of the newest issued statement."""
    newest = (select(IssuedStatement.recipient_id, IssuedStatement.school_year,
                     func.max(IssuedStatement.number).label("number"))
              .group_by(IssuedStatement.recipient_id, IssuedStatement.school_year).subquery())
    rows = session.execute(
        select(IssuedStatement.recipient_id, IssuedStatement.school_year, IssuedStatement.number,
               IssuedStatement.created_at)
        .join(newest, (newest.c.recipient_id == IssuedStatement.recipient_id)
              & (newest.c.school_year == IssuedStatement.school_year) & (newest.c.number == IssuedStatement.number)))
    return {(r, y): (n, at.date()) for r, y, n, at in rows}
