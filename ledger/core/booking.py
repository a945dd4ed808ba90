"""Writing journal entries: the one place that does, for one entry or thousands.

Each new entry gets an id (PostgreSQL: the table's sequence; SQLite: the largest id + 1,
safe because SQLite's write transactions are serialised), is linked into its recipient's
hash chain (``ledger.core.chain.link_hash`` after the chain head), and is inserted after
its postings: the database checks an entry's balance, chain link and open period when
the entry row arrives (its triggers). Many entries are written with one statement per
table (PostgreSQL: ``COPY``; SQLite: multi-row ``INSERT … VALUES``), of plain tuples in
the driver's own values, without ORM work per row:
``ledger.core.posting.post_entry`` books one entry this way, the import thousands per
chunk (``ledger.read.importer``). The checks of an entry's content are the caller's. Each
call also adds its postings to the running totals (``ledger.core.running_totals``), in the
same transaction.
"""
from __future__ import annotations

import sqlite3
from datetime import date, datetime
from itertools import chain
from typing import NamedTuple, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ledger.core.chain import chain_head, link_hash
from ledger.core.models import Account, JournalEntry, Posting, Recipient
from ledger.core.running_totals import add_postings

#: One posting of a new entry: (account, amount in cents — positive debit (Soll), negative
#: credit (Haben) — school year as ``"2023/24"``, category, cost centre).
Line = tuple[Account, int, str, str | None, str | None]

#: Rows per SQLite ``INSERT`` statement (``_insert_values``): a compiled statement grows with
#: its rows (at 4 680 rows the import's peak memory rose by 6 MB); 500 keep nearly all the gain.
SQLITE_ROWS_PER_STATEMENT = 500

_POSTING_COLUMNS = ("entry_id", "account_id", "amount_cents", "date", "school_year", "category", "cost_centre")
_ENTRY_COLUMNS = ("id", "recipient_id", "date", "voucher_number", "text", "kind", "created_by", "created_at",
                  "reverses_id", "seq", "prev_hash", "entry_hash")


class NewEntry(NamedTuple):
    """A journal entry to be booked: booking date, voucher number, text, kind (``import``,
    ``manual``, ``reversal``, …), its ``lines`` in posting order (they must balance), and
    the entry it reverses (a Storno) or None."""

    day: date
    voucher_number: str
    text: str
    kind: str
    lines: Sequence[Line]
    reverses: JournalEntry | None = None


class JournalWriter:
    """Books new journal entries of one recipient, created by one user at one moment.

    The caller serialises the recipient's writers first (``ledger.core.posting.lock_recipient``)
    and keeps them serialised until it commits: the writer reads the chain head (and on
    SQLite the next entry id) once, at its first ``book``, and links on from there.
    """

    def __init__(self, session: Session, recipient: Recipient, *, created_by: str, now: datetime) -> None:
        self.session = session
        self.recipient = recipient
        self.created_by = created_by
        self.now = now
        self._postgresql = session.get_bind().dialect.name == "postgresql"
        self._head: tuple[int, str] | None = None
        self._next_id = 0

    def book(self, entries: Sequence[NewEntry]) -> list[int]:
        """Write ``entries`` in order, each linked to the one before; return their ids.

        Raises the database's IntegrityError if an entry does not balance, breaks the
        chain or falls into a closed school year (the caller's checks should prevent it).
        """
        if not entries:
            return []
        if self._head is None:
            self._start()
        ids = self._entry_ids(len(entries))
        seq, prev = self._head
        recipient_id, recipient_key, created_by, now = self.recipient.id, self.recipient.key, self.created_by, self.now
        to_date, created_at = self._date, self._created_at
        postings, rows = [], []
        for (day, voucher_number, text, kind, lines, reverses), entry_id in zip(entries, ids):
            seq += 1
            entry_hash = link_hash(
                prev, recipient_key=recipient_key, seq=seq, day=day, voucher_number=voucher_number, text=text,
                kind=kind, created_by=created_by, created_at=now,
                reverses_hash=None if reverses is None else reverses.entry_hash,
                postings=[(account.number, cents, year, category, cost_centre)
                          for account, cents, year, category, cost_centre in lines])
            stored_day = to_date(day)
            postings += [(entry_id, account.id, cents, stored_day, year, category, cost_centre)
                         for account, cents, year, category, cost_centre in lines]
            rows.append((entry_id, recipient_id, stored_day, voucher_number, text, kind, created_by, created_at,
                         None if reverses is None else reverses.id, seq, prev, entry_hash))
            prev = entry_hash
        # Postings first, the entries last: the database checks each entry's balance when it arrives.
        insert_many(self.session, Posting, _POSTING_COLUMNS, postings)
        insert_many(self.session, JournalEntry, _ENTRY_COLUMNS, rows)
        self._head = (seq, prev)
        add_postings(self.session, recipient_id, entries)  # the running totals, in the same transaction
        return ids

    def _start(self) -> None:
        session = self.session
        head = chain_head(session, self.recipient)
        self._head = (head.seq, head.entry_hash)
        if not self._postgresql:
            self._next_id = session.scalar(select(func.coalesce(func.max(JournalEntry.id), 0) + 1))
        # The driver-level values of dates and times (ISO text on SQLite, as SQLAlchemy stores them).
        dialect = session.get_bind().dialect
        columns = JournalEntry.__table__.c
        self._date = columns.date.type.bind_processor(dialect) or _unchanged
        self._created_at = (columns.created_at.type.bind_processor(dialect) or _unchanged)(self.now)

    def _entry_ids(self, count: int) -> list[int]:
        if self._postgresql:
            return list(self.session.scalars(sql_text(
                "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) FROM generate_series(1, :n)"),
                {"n": count}))
        ids = list(range(self._next_id, self._next_id + count))
        self._next_id += count
        return ids


def insert_many(session: Session, model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order, values as the driver takes them) into
    ``model``'s table in as few statements as it can, in the session's transaction, with no per-row work in
    SQLAlchemy: on PostgreSQL ``COPY … FROM STDIN`` (psycopg's ``cursor.copy``), so that the
    table's statement triggers (migration 0026) check all rows at once; on SQLite
    multi-row ``INSERT … VALUES`` statements (``_insert_values``; its row triggers check
    each row)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        statement = f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN"
        try:
            with connection.connection.driver_connection.cursor() as cursor:
                with cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
        except dialect.loaded_dbapi.Error as exc:   # as SQLAlchemy raises it for its own statements
            raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
        return
    _insert_values(connection, model.__tablename__, columns, rows)


def _insert_values(connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """SQLite: insert ``rows`` as multi-row ``INSERT … VALUES (…), (…)`` statements of
    ``SQLITE_ROWS_PER_STATEMENT`` rows, or fewer where the connection's limit of bound
    parameters demands it. One statement per batch rather than one per row: a statement
    that may abort (the tables' triggers) keeps a journal of the pages it changes, and
    inside the import's savepoint that journal is written to a temporary file, page by
    page, for every statement; the row triggers fire all the same."""
    limit = connection.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, limit // len(columns)))
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    values = f"({', '.join(['?'] * len(columns))})"
    for start in range(0, len(rows), per_statement):
        batch = rows[start:start + per_statement]
        connection.exec_driver_sql(head + ", ".join([values] * len(batch)), tuple(chain.from_iterable(batch)))


def _unchanged(value):
    return value
