"""Journal entries balance to the cent, are never edited, and are corrected by reversal."""
import sqlite3
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.errors import ImmutableEntry, LedgerError, UnbalancedEntry
from ledger.core.models import JournalEntry, Posting
from ledger.core.money import MAX_CENTS
from ledger.core.posting import (
    PostingLine,
    account_balance,
    get_entry,
    post_entry,
    reverse_entry,
)
from ledger.core.recipients import add_recipient, find_account
from ledger.core.schoolyear import SchoolYear
from tests.conftest import NOW

SY = SchoolYear(2023)


def _post(session, recipient, lines, **kwargs):
    return post_entry(session, recipient, day=date(2023, 10, 31), voucher_number="B-1", text="Pool Oktober",
                      lines=lines, kind="manual", created_by="test", now=NOW, **kwargs)


def _acc(session, recipient, number):
    return find_account(session, recipient, number)


def test_balanced_entry_is_posted(session, kreis):
    pool, bank = _acc(session, kreis, "5291"), _acc(session, kreis, "1810")
    entry = _post(session, kreis, [PostingLine(pool, Decimal("40000.00"), SY, "pool_personnel", "KS-1"),
                                   PostingLine(bank, Decimal("-40000.00"), SY)])
    session.commit()
    assert [p.amount_cents for p in entry.postings] == [4000000, -4000000]
    assert account_balance(session, pool, SY) == Decimal("40000.00")
    assert account_balance(session, bank) == Decimal("-40000.00")


@pytest.mark.parametrize("amounts, message", [
    (["100.00", "-99.99"], "weichen um 0,01 EUR"),
    (["100.00"], "mindestens zwei"),
    (["0.00", "0.00"], "0,00 EUR"),
])
def test_unbalanced_or_degenerate_entries_are_refused(session, kreis, amounts, message):
    accounts = [_acc(session, kreis, "5291"), _acc(session, kreis, "1810")]
    lines = [PostingLine(a, Decimal(x), SY) for a, x in zip(accounts, amounts)]
    with pytest.raises(UnbalancedEntry, match=message):
        _post(session, kreis, lines)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 0


def test_category_only_on_expense_accounts(session, kreis):
    with pytest.raises(LedgerError, match="Aufwandskonten"):
        _post(session, kreis, [PostingLine(_acc(session, kreis, "1810"), Decimal("1"), SY, "training"),
                               PostingLine(_acc(session, kreis, "5292"), Decimal("-1"), SY)])


def test_accounts_of_another_recipient_are_refused(session, kreis):
    other = add_recipient(session, "anderer-kreis", "Anderer Kreis", "kreis", actor="test", now=NOW)
    with pytest.raises(LedgerError, match="gehört nicht zu"):
        _post(session, kreis, [PostingLine(_acc(session, other, "5291"), Decimal("1"), SY),
                               PostingLine(_acc(session, kreis, "1810"), Decimal("-1"), SY)])


def test_posted_entries_cannot_be_changed_or_deleted(session, kreis):
    entry = _post(session, kreis, [PostingLine(_acc(session, kreis, "5291"), Decimal("10"), SY),
                                   PostingLine(_acc(session, kreis, "1810"), Decimal("-10"), SY)])
    session.commit()
    entry.text = "geändert"
    with pytest.raises(ImmutableEntry):
        session.flush()
    session.rollback()
    entry.postings[0].amount_cents = 5
    with pytest.raises(ImmutableEntry):
        session.flush()
    session.rollback()
    session.delete(entry.postings[0])
    with pytest.raises(ImmutableEntry):
        session.flush()
    session.rollback()
    assert session.get(JournalEntry, entry.id).text == "Pool Oktober"


def test_reversal_cancels_the_entry_in_every_report(session, kreis):
    pool, bank = _acc(session, kreis, "5291"), _acc(session, kreis, "1810")
    entry = _post(session, kreis, [PostingLine(pool, Decimal("1234.56"), SY, "pool_personnel", "KS-1"),
                                   PostingLine(bank, Decimal("-1234.56"), SY)])
    reversal = reverse_entry(session, entry, day=date(2023, 11, 2), reason="falsches Konto",
                             created_by="test", now=NOW)
    session.commit()
    assert reversal.reverses_id == entry.id and reversal.kind == "reversal"
    assert [(p.amount_cents, p.category, p.cost_centre, p.school_year) for p in reversal.postings] == [
        (-123456, "pool_personnel", "KS-1", "2023/24"), (123456, None, None, "2023/24")]
    assert account_balance(session, pool) == account_balance(session, bank) == Decimal("0.00")
    assert "falsches Konto" in reversal.text
    with pytest.raises(LedgerError, match="bereits storniert"):
        reverse_entry(session, entry, day=date(2023, 11, 3), reason="nochmal", created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="selbst ein Storno"):
        reverse_entry(session, reversal, day=date(2023, 11, 3), reason="x", created_by="t", now=NOW)
    with pytest.raises(LedgerError, match="Begründung"):
        reverse_entry(session, entry, day=date(2023, 11, 3), reason=" ", created_by="t", now=NOW)


def test_entries_of_another_recipient_are_not_found(session, kreis):
    other = add_recipient(session, "anderer-kreis", "Anderer Kreis", "kreis", actor="test", now=NOW)
    entry = _post(session, kreis, [PostingLine(_acc(session, kreis, "5291"), Decimal("1"), SY),
                                   PostingLine(_acc(session, kreis, "1810"), Decimal("-1"), SY)])
    assert get_entry(session, kreis, entry.id) is entry
    with pytest.raises(LedgerError, match="nicht gefunden"):
        get_entry(session, other, entry.id)


# Up to six debits on one credit line: each at most a sixth of the limit of one amount (MAX_AMOUNT).
amounts = st.lists(st.integers(min_value=1, max_value=MAX_CENTS // 6), min_size=1, max_size=6)
_examples = iter(range(10**6))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(debits=amounts, credits_split=st.integers(min_value=1, max_value=4))
def test_property_every_entry_balances_and_sums_are_exact(session, debits, credits_split):
    """Random balanced entries: the trial balance is exactly zero, each account exact to the cent."""
    recipient = add_recipient(session, f"p{next(_examples)}", "Kreis Property", "kreis", actor="test", now=NOW)
    expense, bank, revenue = (_acc(session, recipient, n) for n in ("5291", "1810", "4141"))
    total = sum(debits)
    parts = [total // credits_split] * (credits_split - 1)
    parts.append(total - sum(parts))
    lines = [PostingLine(expense, Decimal(c) / 100, SY) for c in debits]
    lines += [PostingLine(bank if i % 2 else revenue, -Decimal(c) / 100, SY) for i, c in enumerate(parts) if c]
    entry = _post(session, recipient, lines)
    session.commit()
    assert sum(p.amount_cents for p in entry.postings) == 0
    trial = session.scalar(sa.select(sa.func.sum(Posting.amount_cents)).join(JournalEntry)
                           .where(JournalEntry.recipient_id == recipient.id))
    assert trial == 0
    assert account_balance(session, expense) == Decimal(total) / 100


@pytest.mark.parametrize("parameters, rows_per_statement, statements", [
    (20, 500, [2, 2, 2, 2, 2, 2, 2]),     # the limit of bound parameters: 20 // 7 columns of a posting
    (None, 3, [3, 3, 3, 3, 2]),           # SQLITE_ROWS_PER_STATEMENT
])
def test_a_batch_of_entries_is_split_into_statements(session, kreis, monkeypatch, parameters, rows_per_statement,
                                                     statements):
    """``ledger.core.booking.insert_many`` on SQLite writes multi-row ``INSERT … VALUES``
    statements of ``SQLITE_ROWS_PER_STATEMENT`` rows, fewer where the connection's limit of
    bound parameters demands it; every row arrives, in order, and the chain verifies.
    PostgreSQL writes by COPY."""
    from ledger.core import booking
    from ledger.core.booking import JournalWriter, Line, NewEntry
    from ledger.core.chain import verify_chain

    monkeypatch.setattr(booking, "SQLITE_ROWS_PER_STATEMENT", rows_per_statement)

    pool, bank = _acc(session, kreis, "5291"), _acc(session, kreis, "1810")
    inserts: list[int] = []
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite and parameters is not None:
        connection.connection.driver_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, parameters)
    sa.event.listen(connection, "before_cursor_execute",
                    lambda _c, _cur, statement, *_a: inserts.append(statement.count("(?")) if
                    statement.startswith("INSERT INTO postings") else None)
    lines: list[list[Line]] = [[(pool, 100 * n, "2023/24", "pool_personnel", None), (bank, -100 * n, "2023/24", None, None)]
                               for n in range(1, 8)]
    writer = JournalWriter(session, kreis, created_by="test", now=NOW)
    ids = writer.book([NewEntry(date(2023, 10, n), f"B-{n}", "Pool", "manual", entry_lines)
                       for n, entry_lines in enumerate(lines, start=1)])
    session.commit()
    if sqlite:
        assert inserts == statements
    assert [entry.voucher_number for entry in session.scalars(
        sa.select(JournalEntry).where(JournalEntry.id.in_(ids)).order_by(JournalEntry.seq))] == [
        f"B-{n}" for n in range(1, 8)]
    assert session.scalar(sa.select(sa.func.sum(Posting.amount_cents)).where(Posting.amount_cents > 0)) == 2800
    assert verify_chain(session, kreis).ok
