"""Cumulative spending against the grant over a school year, month by month (the dashboard chart).

Source: issue 5 ("a chart of cumulative spending against the grant over the school year").
The sums are computed in the database over integer cents, grouped by the booking month,
so the number of rows Python sees is bounded by the number of months, not of postings.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger.core.models import Account, AccountYearTotal, Posting, Recipient
from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear


@dataclass(frozen=True)
class MonthPoint:
    """One month of the school year.

    - ``month``: the first day of the month (``date(2023, 8, 1)`` for August 2023).
    - ``as_of``: the last day counted: the month's last day, or ``until`` in the month that
      contains it.
    - ``spent``: cumulative expense in EUR (``Decimal``, two places): the net sum of all
      postings on expense accounts (``Account.type == "expense"``) that belong to the school
      year and are dated up to ``as_of``; reversals reduce it in the month they are dated.
      Postings of the year dated after 31 July count into July, so that the last point of a
      whole year is the year's total spending (``RepaymentResult.total_spending``).
    - ``grant_received``: cumulative grant received in EUR: the credit balance of the
      account with role ``grant_revenue`` for the school year, dated up to ``as_of``.
    """

    month: date
    as_of: date
    spent: Decimal
    grant_received: Decimal

    @property
    def whole_month(self) -> bool:
        """Whether ``as_of`` is the month's last day (False for the month ``until`` cuts short)."""
        return (self.as_of + timedelta(days=1)).month != self.month.month


def cumulative_spending(session: Session, recipient: Recipient, school_year: SchoolYear, *,
                        until: date | None = None) -> list[MonthPoint]:
    """Cumulative spending and grant received per month of ``school_year`` (August … July).

    Returns one ``MonthPoint`` per month, oldest first: 12 points, or with ``until`` only the
    months that have begun by that day (``[]`` if ``until`` lies before 1 August), the last
    one counting up to ``until``. Only postings of the school year (``Posting.school_year``)
    count, by the date of their journal entry: postings dated before 1 August count into
    August, those dated after 31 July into July (a reversal or a late invoice booked in a
    later school year still belongs to this one); those dated after ``until`` are in no point.

    The sums per booking month come from the running totals kept with the postings
    (``ledger.core.running_totals``), summing integer cents, and are accumulated exactly as
    ``Decimal`` EUR. Only when ``until`` falls inside a month with postings on both sides of
    it are the postings summed instead: one query over the index ``ix_postings_year_totals``
    (postings carry their entry's date), grouped by account type and booking day, folded
    into the months here.
    """
    end = school_year.last_day if until is None else min(until, school_year.last_day)
    if end < school_year.first_day:
        return []
    rows = _kept_months(session, recipient, school_year, until)
    if rows is None:
        scope = [Account.recipient_id == recipient.id, Posting.school_year == str(school_year),
                 or_(Account.type == "expense", Account.role == "grant_revenue")]
        if until is not None:
            scope.append(Posting.date <= until)
        rows = session.execute(
            select(Account.type, Posting.date, func.sum(Posting.amount_cents))
            .join(Account, Posting.account_id == Account.id)
            .where(*scope)
            .group_by(Account.type, Posting.date)
        )
    months = (end.year - school_year.start_year) * 12 + end.month - 8 + 1
    spent = [0] * months
    grant = [0] * months
    for account_type, day, cents in rows:
        index = min(max((day.year - school_year.start_year) * 12 + day.month - 8, 0), months - 1)
        if account_type == "expense":
            spent[index] += int(cents)
        else:                                   # grant revenue: credits are negative
            grant[index] -= int(cents)
    points = []
    spent_total = grant_total = 0
    for index in range(months):
        first = date(school_year.start_year + (7 + index) // 12, (7 + index) % 12 + 1, 1)
        last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        spent_total += spent[index]
        grant_total += grant[index]
        points.append(MonthPoint(first, min(last, end), from_cents(spent_total), from_cents(grant_total)))
    return points


def _kept_months(session: Session, recipient: Recipient, school_year: SchoolYear,
                 until: date | None) -> list[tuple[str, date, int]] | None:
    """(account type, first day of the booking month, cents) of the year's expense and grant
    revenue postings dated up to ``until`` (all if None), from the running totals
    (``ledger.core.running_totals``, one row per account and booking month); None if a
    month's postings lie on both sides of ``until`` (then the caller sums the postings)."""
    rows = []
    for account_type, month, cents, first_day, last_day in session.execute(
            select(Account.type, AccountYearTotal.month, func.sum(AccountYearTotal.amount_cents),
                   func.min(AccountYearTotal.first_day), func.max(AccountYearTotal.last_day))
            .join(Account, AccountYearTotal.account_id == Account.id)
            .where(AccountYearTotal.recipient_id == recipient.id, AccountYearTotal.school_year == str(school_year),
                   or_(Account.type == "expense", Account.role == "grant_revenue"))
            .group_by(Account.type, AccountYearTotal.month)):
        if until is not None:
            if str(first_day) > str(until):
                continue
            if str(last_day) > str(until):
                return None
        rows.append((account_type, month, cents))
    return rows
