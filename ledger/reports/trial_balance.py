"""The trial balance (Summen- und Saldenliste) of one recipient: per account the opening
balance, the debit and credit sums of a period and the closing balance.

Scope: a school year (only the postings of that year, ``Posting.school_year``, as everywhere
in the ledger, e.g. ``account_balance``), a date range (booking dates, both ends inclusive),
or both. The opening balance (Saldovortrag) sums the postings in scope dated before the first
day of the range (0 without a first day); the debit and credit sums (Soll, Haben) those dated
within the range; closing = opening + debit − credit. Balances are signed: positive = debit
balance, negative = credit balance. Summed in SQL over integer cents, one row per account.

Without a school year every entry balances, so the debit total equals the credit total. With
a school year it does too as long as every entry balances within each school year; an entry
split across two years (a posting of the next year) shows up as ``TrialBalance.balanced``
False, and the list says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from ledger.core.errors import LedgerError
from ledger.core.models import Account, Posting, Recipient
from ledger.core.schoolyear import SchoolYear


@dataclass(frozen=True)
class TrialBalanceRow:
    """One account: number, name, type (``asset`` …) and, in cents, ``opening`` (signed),
    ``debit`` and ``credit`` (≥ 0) and ``closing`` (signed)."""

    number: str
    name: str
    type: str
    opening: int
    debit: int
    credit: int

    @property
    def closing(self) -> int:
        """Closing balance in cents: opening + debit − credit."""
        return self.opening + self.debit - self.credit


@dataclass(frozen=True)
class TrialBalance:
    """The list: its scope (school year, first and last day; None = open) and the rows of every
    account with a posting in scope, by account number."""

    school_year: SchoolYear | None
    date_from: date | None
    date_to: date | None
    rows: tuple[TrialBalanceRow, ...]

    @property
    def opening(self) -> int:
        """Sum of the opening balances in cents (0 when the books balance before the period)."""
        return sum(row.opening for row in self.rows)

    @property
    def debit(self) -> int:
        """Total of the debit sums in cents."""
        return sum(row.debit for row in self.rows)

    @property
    def credit(self) -> int:
        """Total of the credit sums in cents."""
        return sum(row.credit for row in self.rows)

    @property
    def closing(self) -> int:
        """Sum of the closing balances in cents."""
        return sum(row.closing for row in self.rows)

    @property
    def balanced(self) -> bool:
        """Whether debit total equals credit total and the opening balances sum to 0."""
        return self.debit == self.credit and self.opening == 0


def check_range(date_from: date | None, date_to: date | None) -> None:
    """Raise LedgerError (German) if ``date_from`` lies after ``date_to``."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise LedgerError(f"Das Bis-Datum {date_to:%d.%m.%Y} liegt vor dem Von-Datum {date_from:%d.%m.%Y}.")


def trial_balance(session: Session, recipient: Recipient, *, school_year: SchoolYear | None = None,
                  date_from: date | None = None, date_to: date | None = None) -> TrialBalance:
    """The trial balance of ``recipient`` for ``school_year`` and/or ``date_from``..``date_to``
    (see module docstring); all None = every posting, opening balances 0.

    Raises:
        LedgerError: ``date_from`` after ``date_to``.
    """
    check_range(date_from, date_to)
    scope = [Account.recipient_id == recipient.id]
    if school_year is not None:
        scope.append(Posting.school_year == str(school_year))
    if date_to is not None:
        scope.append(Posting.date <= date_to)
    amount = Posting.amount_cents
    if date_from is None:
        opening = literal(0)
        debit = _summed(amount > 0, amount)
        credit = _summed(amount < 0, -amount)
    else:
        opening = _summed(Posting.date < date_from, amount)
        debit = _summed((Posting.date >= date_from) & (amount > 0), amount)
        credit = _summed((Posting.date >= date_from) & (amount < 0), -amount)
    rows = session.execute(
        select(Account.number, Account.name, Account.type, opening, debit, credit)
        .join(Posting, Posting.account_id == Account.id)
        .where(*scope)
        .group_by(Account.id, Account.number, Account.name, Account.type)
        .order_by(Account.number)
    ).all()
    return TrialBalance(school_year, date_from, date_to, tuple(
        TrialBalanceRow(number, name, type_, int(o), int(d), int(c)) for number, name, type_, o, d, c in rows))


def _summed(condition, value):
    """SQL: the sum of ``value`` over the rows meeting ``condition`` (0 if none)."""
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)
