"""The same rows written into today's model (entries, postings, imported rows), for comparison.

Reads and checks the file with the prototype's ``loader.transfer_rows`` (the importer's own
functions), so that only the writing differs: per CSV row one journal entry, two postings
(debit, then credit, as ``ledger.read.importer._Writer._lines``) and one imported-row key,
into a fresh database migrated to the newest revision (every trigger of migrations 0002 …
0011). SQLite: ``executemany`` per table and chunk, postings first, as ``ledger.core.booking``;
PostgreSQL: ``COPY`` per table and chunk (the triggers fire for COPY too; the balance check
is a deferred constraint trigger, run at commit), so that the two models are compared with
the same bulk method. The import batch row is written last, as the importer does.
"""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import text as sql_text

from bench import data as bench_data
from bench.dbs import fresh_database
from bench.transfers import loader
from bench.transfers.schema import chart_rows
from ledger.core import db


def prepare(backend: str, work: Path, pg_url: str, *, now: datetime) -> tuple[str, int, dict[int, tuple[int, str, str | None]]]:
    """A fresh migrated database with the bench recipient (chart and master data); its URL,
    the recipient's id and per prototype account id today's (id, type, default category)."""
    url = fresh_database(backend, 0, single=True, work=work, pg_url=pg_url)
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine, write=True) as session:
            recipient = bench_data.setup_recipient(session, bench_data.SINGLE_RECIPIENT, {}, actor="bench", now=now)
            session.flush()
            today = {number: (account_id, type_, category) for account_id, number, type_, category in session.execute(
                sql_text("SELECT id, number, type, category FROM accounts WHERE recipient_id = :r"),
                {"r": recipient.id})}
            recipient_id = recipient.id
    finally:
        engine.dispose()
    mapping = {proto_id: today[number] for proto_id, _r, number, *_rest in chart_rows(1)}
    return url, recipient_id, mapping


def _split(rows, mapping, recipient_id: int, next_id: int, batch_id: int):
    """Today's rows of one chunk of transfer tuples: (postings, entries, imported rows)."""
    postings, entries, imported = [], [], []
    for i, (_r, seq, day, voucher, text, kind, debit, credit, cents, year, category, centre, key, content,
            _group, _reverses, created_by, created_at, _prev_seq, prev_hash, entry_hash) in enumerate(rows):
        entry_id = next_id + i
        for proto_account, amount in ((debit, cents), (credit, -cents)):
            account_id, type_, _default = mapping[proto_account]
            postings.append((entry_id, account_id, amount, day, year, category if type_ == "expense" else None,
                             centre))
        entries.append((entry_id, recipient_id, day, voucher, text, kind, created_by, created_at, None, seq,
                        prev_hash, entry_hash))
        imported.append((recipient_id, key, content, batch_id, seq, entry_id))
    return postings, entries, imported


_POSTING = ("entry_id", "account_id", "amount_cents", "date", "school_year", "category", "cost_centre")
_ENTRY = ("id", "recipient_id", "date", "voucher_number", "text", "kind", "created_by", "created_at",
          "reverses_id", "seq", "prev_hash", "entry_hash")
_IMPORTED = ("recipient_id", "row_key", "content_hash", "batch_id", "line", "entry_id")
_BATCH = ("id", "recipient_id", "filename", "sha256", "rows", "imported", "duplicates", "profile", "created_by",
          "created_at")


def load_sqlite(url: str, recipient_id: int, mapping, csv: Path, *, now: datetime, staged: bool = True
                ) -> loader.Timings:
    """Write ``csv``'s rows into today's model in the SQLite database ``url``, one transaction;
    ``staged``: each table through a temporary table (``loader.staged_insert``), else
    ``executemany`` of one INSERT per row as the product does."""
    path = Path(url.removeprefix("sqlite:///"))
    timings = loader.Timings()
    created_at = now.isoformat(sep=" ") + ".000000"
    with loader.sqlite_transaction(path, timings) as conn:
        head = conn.execute("SELECT seq, entry_hash FROM journal_entries WHERE recipient_id = ? ORDER BY seq DESC "
                            "LIMIT 1", (recipient_id,)).fetchone() or (0, loader.GENESIS)
        next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM journal_entries").fetchone()[0]
        batch_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM import_batches").fetchone()[0]
        lookup = loader.key_lookup(conn, "?", table="imported_rows", key="row_key", recipient_id=recipient_id)
        make = loader.staged_insert if staged else loader.direct_insert
        inserts = [make(conn, table, cols) for table, cols in (("postings", _POSTING), ("journal_entries", _ENTRY),
                                                               ("imported_rows", _IMPORTED))]
        for rows, duplicates in loader._chunks(csv, head, created_by="bench", now=now, chunk=loader.CHUNK_ROWS,
                                               lookup=lookup, lookups=None, pipeline=False, timings=timings):
            rows = [row[:17] + (created_at,) + row[18:] for row in rows]
            started = loader.clocks()
            for insert, values in zip(inserts, _split(rows, mapping, recipient_id, next_id, batch_id)):
                insert(values)
            timings.add_chunk(started, len(rows), duplicates)
            next_id += len(rows)
        conn.execute(f"INSERT INTO import_batches ({', '.join(_BATCH)}) VALUES ({', '.join('?' * len(_BATCH))})",
                     (batch_id, recipient_id, csv.name, "0" * 64, timings.rows, timings.rows, 0, "inkl-csv", "bench",
                      created_at))
    return timings


def load_postgres(url: str, recipient_id: int, mapping, csv: Path, *, now: datetime, copy: bool = True
                  ) -> loader.Timings:
    """Write ``csv``'s rows into today's model in the PostgreSQL database ``url`` (SQLAlchemy
    URL), one transaction; ``copy``: COPY per table and chunk, else ``executemany`` of one
    INSERT per row (as ``ledger.core.booking.insert_many``)."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    timings = loader.Timings()
    started = time.perf_counter()
    cpu_self, cpu_children = loader._cpu_now()
    with psycopg.connect(conninfo) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        server_started = loader._cpu_of(backend)
        conn.execute("SELECT 1 FROM recipients WHERE id = %s FOR UPDATE", (recipient_id,))
        head = conn.execute("SELECT seq, entry_hash FROM journal_entries WHERE recipient_id = %s ORDER BY seq DESC "
                            "LIMIT 1", (recipient_id,)).fetchone() or (0, loader.GENESIS)
        batch_id = conn.execute("SELECT nextval(pg_get_serial_sequence('import_batches', 'id'))").fetchone()[0]
        lookup = loader.key_lookup(conn, "%s", table="imported_rows", key="row_key", recipient_id=recipient_id)
        with conn.cursor() as cursor:
            for rows, duplicates in loader._chunks(csv, head, created_by="bench", now=now, chunk=loader.PG_CHUNK,
                                                   lookup=lookup, lookups=None, pipeline=False, timings=timings):
                started_chunk = loader.clocks()
                ids = [i for (i,) in conn.execute(
                    "SELECT nextval(pg_get_serial_sequence('journal_entries', 'id')) FROM generate_series(1, %s)",
                    (len(rows),))]
                postings, entries, imported = _split(rows, mapping, recipient_id, 0, batch_id)
                postings = [(ids[p[0]],) + p[1:] for p in postings]
                entries = [(ids[e[0]],) + e[1:] for e in entries]
                imported = [i[:5] + (ids[i[5]],) for i in imported]
                for table, cols, values in (("postings", _POSTING, postings), ("journal_entries", _ENTRY, entries),
                                            ("imported_rows", _IMPORTED, imported)):
                    if not copy:
                        cursor.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                                           f"VALUES ({', '.join(['%s'] * len(cols))})", values)
                        continue
                    with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as stream:
                        for value in values:
                            stream.write_row(value)
                timings.add_chunk(started_chunk, len(rows), duplicates)
        conn.execute(f"INSERT INTO import_batches ({', '.join(_BATCH)}) VALUES ({', '.join(['%s'] * len(_BATCH))})",
                     (batch_id, recipient_id, csv.name, "0" * 64, timings.rows, timings.rows, 0, "inkl-csv", "bench",
                      now))
        t = time.perf_counter()
        conn.commit()
        timings.commit = time.perf_counter() - t
        timings.server_cpu = loader._cpu_of(backend) - server_started
    timings.total = time.perf_counter() - started
    loader._own_cpu(timings, cpu_self, cpu_children)
    return timings
