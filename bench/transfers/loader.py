"""Load a journal export into the transfer model: one row per CSV row (a prototype).

The rows are read, parsed and checked exactly as ``ledger.read.importer`` does (its own
functions: the profile's ``RowSource``, the first pass that finds repeated rows, the
identity key and the checks against the chart, closed years and rule packs), then each new
row becomes one transfer: its import key and content hash as today's ``imported_rows``,
its chain link ``ledger.core.chain.link_hash`` over the previous transfer's hash (with the
transfer's two sides as the two posting lines of today's entry). Rows already imported
(their key in ``transfers``) are counted as duplicates, as today.

Writing: SQLite ``executemany`` per chunk; PostgreSQL ``COPY`` of a chunk straight into
``transfers`` in ``seq`` order (COPY fires the row triggers and checks the keys as INSERT
does, so no staging table and ``INSERT … SELECT`` is needed).
With ``pipeline`` the reading, checking and hashing run in a second process that sends
finished chunks of tuples to the writer.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import sqlite3
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

from ledger.core.chain import link_hash
from ledger.read.importer import CHUNK_ROWS, _Books, _Issues, _keyed_rows, _repeated_bases
from ledger.read.profiles import get_profile
from ledger.rules.packs import load_packs
from bench.transfers.schema import COLUMNS, GENESIS, chart_rows

RECIPIENT = (1, "bench-gesamt", "Kreis Gesamtheim (alle Zeilen)")
#: Rows per COPY on PostgreSQL.
PG_CHUNK = 10_000


class LoadError(Exception):
    """The file had errors (as the importer would report them), or rows the prototype does not book."""


@dataclass
class Timings:
    """Seconds spent: ``python`` reading, checking and hashing (in the writer's process, or
    waiting for the parser's chunks with ``pipeline``), ``insert`` in the database's
    statements, ``commit``; ``total`` wall time; ``rows`` booked, ``duplicates``;
    ``parser_peak_kib`` the parsing child's VmHWM (``pipeline`` only)."""

    python: float = 0.0
    insert: float = 0.0
    commit: float = 0.0
    total: float = 0.0
    rows: int = 0
    duplicates: int = 0
    parser_peak_kib: int = 0
    insert_cpu: float = 0.0
    cpu: float = 0.0
    child_cpu: float = 0.0
    server_cpu: float = 0.0

    def add_chunk(self, started: tuple[float, float], rows: int, duplicates: int) -> None:
        """Count a written chunk of ``rows`` new rows (and ``duplicates``) whose insert began at
        ``started`` = (``time.perf_counter()``, ``time.process_time()``)."""
        self.insert += time.perf_counter() - started[0]
        self.insert_cpu += time.process_time() - started[1]
        self.rows += rows
        self.duplicates += duplicates


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu(timings: "Timings", started_self: float, started_children: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    timings.cpu = usage.ru_utime + usage.ru_stime - started_self
    timings.child_cpu = children.ru_utime + children.ru_stime - started_children


def _cpu_now() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, children.ru_utime + children.ru_stime


def clocks() -> tuple[float, float]:
    """(wall, CPU) now, for ``Timings.add_chunk``."""
    return time.perf_counter(), time.process_time()


@contextmanager
def sqlite_transaction(path: Path, timings: Timings) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` in a write transaction (``BEGIN IMMEDIATE``: the recipient's lock,
    as ``ledger.core.posting.lock_recipient``), committed at the end (its time and the whole
    run's in ``timings``) or rolled back on any error."""
    started = time.perf_counter()
    cpu_self, cpu_children = _cpu_now()
    conn = sqlite_connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        t = time.perf_counter()
        conn.execute("COMMIT")
        timings.commit = time.perf_counter() - t
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    timings.total = time.perf_counter() - started
    _own_cpu(timings, cpu_self, cpu_children)


def high_water_kib() -> int:
    """This process's peak resident memory (``VmHWM``) in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _books(packs):
    """The importer's own ``_Books`` (what ``ledger.read.importer._check_row`` reads of the books
    and its per-import maps) over the chart by number (as plain objects), no closed years, the packs."""
    accounts = {number: SimpleNamespace(id=i, number=number, type=type_, category=category, role=role)
                for i, _r, number, _name, type_, category, role in chart_rows(RECIPIENT[0])}
    return _Books(recipient=SimpleNamespace(id=RECIPIENT[0], key=RECIPIENT[1], name=RECIPIENT[2]),
                  accounts=accounts, closed=frozenset(), packs=packs)


def transfer_rows(path: Path, head: tuple[int, str], *, created_by: str, now: datetime,
                  lookup: Callable[[list[str]], dict[str, str]], chunk: int = CHUNK_ROWS
                  ) -> Iterator[tuple[list[tuple], int]]:
    """The file's new rows as ``transfers`` tuples (``schema.COLUMNS`` without ``id``), chunk
    by chunk, linked on from ``head`` (seq, hash); each chunk with its number of duplicates.
    ``lookup(keys)`` gives the content hash of those keys already booked (as the importer's
    ``_known_rows``, by the unique index; the writer holds the write lock, so the committed
    state is the books'). Raises LoadError at the end if any row had an error (nothing of
    such a file may be committed), a known key with other content, or a grant receipt (not
    booked by the prototype)."""
    packs = load_packs()
    books = _books(packs)
    source = get_profile(None).open(lambda: path.open("rb"))
    issues = _Issues(source.issues)
    repeated, _total = _repeated_bases(source)
    counts: Counter[str] = Counter()
    accounts = books.accounts
    recipient_id, recipient_key = RECIPIENT[0], RECIPIENT[1]
    created_at = now.isoformat(sep=" ")
    seq, prev = head
    keyed = _keyed_rows(source, books, issues, repeated, counts)
    while True:
        batch = list(itertools.islice(keyed, chunk))
        if not batch:
            break
        known = lookup([key for _row, key in batch])
        rows: list[tuple] = []
        duplicates = 0
        for row, key in batch:
            content = row.content_hash()
            if key in known:
                if known[key] != content:
                    raise LoadError(f"Zeile {row.line}: bereits mit anderem Inhalt importiert")
                duplicates += 1
                continue
            debit, credit = accounts[row.debit], accounts[row.credit]
            if credit.role == "grant_revenue":
                raise LoadError(f"Zeile {row.line}: Eingang der Zuweisung (vom Prototyp nicht gebucht)")
            year = str(row.school_year)
            category = row.category or next((a.category for a in (debit, credit) if a.type == "expense"), None)
            if debit.type != "expense" and credit.type != "expense":
                category = None
            seq += 1
            transfer_hash = link_hash(
                prev, recipient_key=recipient_key, seq=seq, day=row.day, voucher_number=row.voucher_number,
                text=row.text, kind="import", created_by=created_by, created_at=now, reverses_hash=None,
                postings=[(debit.number, row.cents, year, category, row.cost_centre),
                          (credit.number, -row.cents, year, category, row.cost_centre)])
            rows.append((recipient_id, seq, row.day.isoformat(), row.voucher_number, row.text, "import", debit.id,
                         credit.id, row.cents, year, category, row.cost_centre, key, content, None, None,
                         created_by, created_at, None if seq == 1 else seq - 1, prev, transfer_hash))
            prev = transfer_hash
        if issues:  # a file with errors books nothing: only check the rest
            continue
        yield rows, duplicates
    if issues:
        raise LoadError("; ".join(f"Zeile {i.line}: {i.message}" for i in issues.sorted()[:5]))


def _produce(queue, path: Path, head, created_by: str, now: datetime, lookups, chunk: int) -> None:
    try:
        for item in transfer_rows(path, head, created_by=created_by, now=now, lookup=lookups(), chunk=chunk):
            queue.put(item)
        queue.put(("end", high_water_kib()))
    except Exception as exc:  # reported to the writer, which rolls back
        queue.put(exc)


def _chunks(path: Path, head, *, created_by: str, now: datetime, lookup, lookups, chunk: int, pipeline: bool,
            timings: Timings):
    """The chunks of ``transfer_rows``, timed as Python work (or, with ``pipeline``, produced
    by a child process and timed as waiting). ``lookup``: the duplicate look-up on the
    writer's connection; ``lookups()``: one on a connection of its own (for the child)."""
    if not pipeline:
        source = transfer_rows(path, head, created_by=created_by, now=now, lookup=lookup, chunk=chunk)
        while True:
            started = time.perf_counter()
            item = next(source, None)
            timings.python += time.perf_counter() - started
            if item is None:
                return
            yield item
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=8)
    child = context.Process(target=_produce, args=(queue, path, head, created_by, now, lookups, chunk))
    child.start()
    try:
        while True:
            started = time.perf_counter()
            item = queue.get()
            timings.python += time.perf_counter() - started
            if isinstance(item, tuple) and item[0] == "end":
                timings.parser_peak_kib = item[1]
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()


def key_lookup(conn, marker: str, *, schema: str | None = None, table: str = "transfers",
               key: str = "import_key", recipient_id: int = RECIPIENT[0]) -> Callable[[list[str]], dict[str, str]]:
    """``lookup(keys)``: the content hash of each of ``keys`` already in ``table`` (its ``key``
    column, of ``recipient_id``) as ``conn`` sees them, 500 keys a query (as the importer's
    ``_known_rows``); ``marker`` the driver's parameter marker; ``schema`` the search path
    (PostgreSQL)."""
    if schema is not None:
        conn.execute(f"SET search_path = {schema}")

    def lookup(keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            found.update(conn.execute(
                f"SELECT {key}, content_hash FROM {table} WHERE recipient_id = {marker} "
                f"AND {key} IN ({', '.join([marker] * len(part))})", (recipient_id, *part)).fetchall())
        return found
    return lookup


def create_sqlite(path: Path, statements: list[str]) -> None:
    """A fresh SQLite file at ``path`` with ``statements`` and the bench recipient's chart."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO recipients VALUES (?, ?, ?)", RECIPIENT)
        conn.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?)", chart_rows(RECIPIENT[0]))
        conn.commit()
    finally:
        conn.close()


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A connection set up as ``ledger.core.db`` sets up the product's (foreign keys, WAL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


def staged_insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]):
    """An ``insert(rows)`` into ``table`` of SQLite: ``executemany`` into a temporary table
    without keys or triggers, then one ``INSERT … SELECT`` in the rows' order, so that the
    triggers and keys check every row inside one statement per chunk instead of one per row
    (SQLite's cost of a row trigger is mostly per statement: measured 18–20 µs a row with
    ``executemany`` against 3–4 µs inside one statement)."""
    names = ", ".join(columns)
    stage = f"stage_{table}"
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {names} FROM main.{table} WHERE 0")
    fill = f"INSERT INTO {stage} VALUES ({', '.join('?' * len(columns))})"
    move = f"INSERT INTO main.{table} ({names}) SELECT {names} FROM {stage} ORDER BY rowid"

    def insert(rows: list[tuple]) -> None:
        conn.executemany(fill, rows)
        conn.execute(move)
        conn.execute(f"DELETE FROM {stage}")
    return insert


def direct_insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]):
    """An ``insert(rows)`` into ``table``: ``executemany`` of one INSERT per row, as ``ledger.core.booking``."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    return lambda rows: conn.executemany(sql, rows)


def load_sqlite(db: Path, csv: Path, *, now: datetime, pipeline: bool = False, staged: bool = True) -> Timings:
    """Import ``csv`` into the prototype's SQLite file ``db`` in one transaction; ``staged``:
    through a temporary table (``staged_insert``), else one INSERT per row."""
    timings = Timings()
    with sqlite_transaction(db, timings) as conn:
        head = conn.execute("SELECT seq, transfer_hash FROM transfers WHERE recipient_id = ? ORDER BY seq DESC LIMIT 1",
                            (RECIPIENT[0],)).fetchone() or (0, GENESIS)
        next_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM transfers").fetchone()[0]
        insert = (staged_insert if staged else direct_insert)(conn, "transfers", COLUMNS)
        for rows, duplicates in _chunks(csv, head, created_by="bench", now=now, chunk=CHUNK_ROWS,
                                        lookup=key_lookup(conn, "?"), lookups=lambda: key_lookup(sqlite3.connect(db), "?"),
                                        pipeline=pipeline, timings=timings):
            started = clocks()
            insert([(next_id + i, *row) for i, row in enumerate(rows)])
            timings.add_chunk(started, len(rows), duplicates)
            next_id += len(rows)
    return timings


def create_postgres(conninfo: str, schema: str, statements: list[str]) -> None:
    """The prototype's tables in ``schema`` (dropped first) of the database ``conninfo``."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path = {schema}")
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO recipients VALUES (%s, %s, %s)", RECIPIENT)
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO accounts VALUES (%s, %s, %s, %s, %s, %s, %s)", chart_rows(RECIPIENT[0]))


def load_postgres(conninfo: str, schema: str, csv: Path, *, now: datetime, pipeline: bool = False) -> Timings:
    """Import ``csv`` into the prototype's tables in ``schema`` in one transaction, COPY per chunk."""
    import psycopg

    timings = Timings()
    started = time.perf_counter()
    cpu_self, cpu_children = _cpu_now()
    columns = COLUMNS[1:]
    with psycopg.connect(conninfo) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        server_started = _cpu_of(backend)
        conn.execute(f"SET search_path = {schema}")
        conn.execute("LOCK TABLE recipients IN ROW EXCLUSIVE MODE")
        conn.execute("SELECT 1 FROM recipients WHERE id = %s FOR UPDATE", (RECIPIENT[0],))
        head = conn.execute("SELECT seq, transfer_hash FROM transfers WHERE recipient_id = %s ORDER BY seq DESC "
                            "LIMIT 1", (RECIPIENT[0],)).fetchone() or (0, GENESIS)
        copy_sql = f"COPY transfers ({', '.join(columns)}) FROM STDIN"
        with conn.cursor() as cursor:
            for rows, duplicates in _chunks(csv, head, created_by="bench", now=now, chunk=PG_CHUNK,
                                            lookup=key_lookup(conn, "%s", schema=schema),
                                            lookups=lambda: key_lookup(psycopg.connect(conninfo), "%s", schema=schema),
                                            pipeline=pipeline, timings=timings):
                started_chunk = clocks()
                with cursor.copy(copy_sql) as copy:  # row triggers and keys check every row, as for INSERT
                    for row in rows:
                        copy.write_row(row)
                timings.add_chunk(started_chunk, len(rows), duplicates)
        t = time.perf_counter()
        conn.commit()
        timings.commit = time.perf_counter() - t
        timings.server_cpu = _cpu_of(backend) - server_started
    timings.total = time.perf_counter() - started
    _own_cpu(timings, cpu_self, cpu_children)
    return timings
