"""The account ledger (Kontoblatt) of one account: its postings in a period with the running balance.

Scope as in the trial balance (``ledger.reports.trial_balance``): a school year (only the
postings of that year), a date range (booking dates, inclusive), or both. The opening
balance (Saldovortrag) sums the account's postings in scope dated before the first day;
each line adds its posting (debit positive, credit negative) to the running balance; the
closing balance is the last running balance (the opening balance if there is no line).
Lines in booking order: date, entry, posting. Amounts in integer cents.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.errors import NotFound
from ledger.core.models import Account, JournalEntry, Posting, Recipient
from ledger.core.recipients import find_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.trial_balance import check_range


@dataclass(frozen=True)
class LedgerLine:
    """One posting on the account: booking ``day``, ``entry_id``, voucher number, booking text,
    the other accounts of the entry (``counter_accounts``, numbers joined by ``", "``), its
    school year, category and cost centre, ``amount`` (cents, signed) and the running
    ``balance`` after it (cents, signed)."""

    day: date
    entry_id: int
    voucher_number: str
    text: str
    counter_accounts: str
    school_year: str
    category: str | None
    cost_centre: str | None
    amount: int
    balance: int

    @property
    def debit(self) -> int:
        """The debit amount in cents (0 for a credit)."""
        return max(self.amount, 0)

    @property
    def credit(self) -> int:
        """The credit amount in cents, positive (0 for a debit)."""
        return max(-self.amount, 0)


@dataclass(frozen=True)
class AccountLedger:
    """The Kontoblatt: the ``account``, its scope, ``opening`` balance (cents) and ``lines``."""

    account: Account
    school_year: SchoolYear | None
    date_from: date | None
    date_to: date | None
    opening: int
    lines: tuple[LedgerLine, ...]

    @property
    def closing(self) -> int:
        """Closing balance in cents."""
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def debit(self) -> int:
        """Sum of the debits of the lines, in cents."""
        return sum(line.debit for line in self.lines)

    @property
    def credit(self) -> int:
        """Sum of the credits of the lines, in cents (positive)."""
        return sum(line.credit for line in self.lines)


def account_ledger(session: Session, recipient: Recipient, account_number: str, *,
                   school_year: SchoolYear | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> AccountLedger:
    """The Kontoblatt of ``recipient``'s account ``account_number`` (``"1810"``) for the scope.

    Raises:
        NotFound: the recipient has no account with that number.
        LedgerError: ``date_from`` after ``date_to``.
    """
    check_range(date_from, date_to)
    account = find_account(session, recipient, account_number)
    if account is None:
        raise NotFound(f"Konto {account_number} gibt es im Kontenplan von {recipient.name} nicht.")
    scope = [Posting.account_id == account.id]
    if school_year is not None:
        scope.append(Posting.school_year == str(school_year))
    opening = 0
    if date_from is not None:
        opening = int(session.scalar(select(func.coalesce(func.sum(Posting.amount_cents), 0))
                                     .where(*scope, Posting.date < date_from)))
        scope.append(Posting.date >= date_from)
    if date_to is not None:
        scope.append(Posting.date <= date_to)
    rows = session.execute(
        select(Posting, JournalEntry).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(*scope).order_by(JournalEntry.date, JournalEntry.id, Posting.id)
    ).all()
    counters = _counter_accounts(session, account, scope)
    lines = []
    balance = opening
    for posting, entry in rows:
        balance += posting.amount_cents
        lines.append(LedgerLine(entry.date, entry.id, entry.voucher_number, entry.text,
                                ", ".join(counters.get(entry.id, [])), posting.school_year, posting.category,
                                posting.cost_centre, posting.amount_cents, balance))
    return AccountLedger(account, school_year, date_from, date_to, opening, tuple(lines))


def _counter_accounts(session: Session, account: Account, scope: list) -> dict[int, list[str]]:
    """The numbers of the other accounts of each entry with a posting in scope, in number order."""
    entries = select(Posting.entry_id).where(*scope)
    found: dict[int, list[str]] = {}
    for entry_id, number in session.execute(
            select(Posting.entry_id, Account.number).join(Account, Posting.account_id == Account.id)
            .where(Posting.entry_id.in_(entries), Posting.account_id != account.id)
            .distinct().order_by(Posting.entry_id, Account.number)):
        found.setdefault(entry_id, []).append(number)
    return found
