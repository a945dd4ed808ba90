"""Backup and restore of the whole database as one portable file (``inkl backup`` / ``inkl restore``).

File format ``inkl-backup``, version 1
--------------------------------------

A gzip-compressed text file of JSON lines (UTF-8, one JSON object per line, ``\\n``):

- **Line 1, the manifest**::

      {"format": "inkl-backup", "format_version": 1, "created_at": "2026-11-22T10:00:00",
       "schema_revision": "0002", "source_dialect": "postgresql",
       "tables": {"recipients": 2, "users": 1, …},          # rows per table, in file order
       "chains": {"musterhausen": {"seq": 151, "hash": "…"}, …},  # each recipient's chain head
       "audit_log": {"seq": 40, "hash": "…"},                 # the audit log's head
       "heads": {"audit": {"seq": 40, "hash": "…"}, "journal:musterhausen": {…}, …}}
                                                  # every chain's head by name (ledger.core.integrity)

  ``heads`` names the head of every registered chain (``ledger.core.integrity.CHAIN_SOURCES``),
  so ``inkl verify --against BACKUP`` can tell whether the books still contain what the backup
  held; a manifest written before it was added has none, its heads are then read from
  ``chains`` and ``audit_log``.

- **Then one line per row**: ``{"t": "postings", "r": {"id": 7, "entry_id": 3, "amount_cents": -4000000, …}}``
  with every column of the table. Values are JSON strings, integers, booleans or
  ``null``, never floats: money stays **integer cents** (``amount_cents``,
  ``assessed_cents``, …), dates are ISO ``YYYY-MM-DD``, date-times ISO
  ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (naive, as stored), binary columns (the PDF of an
  issued statement) base64 text.

The rows come table by table (every table of ``ledger.core.models.Base.metadata`` but the
web UI's log-in sessions and the postings' running totals, ``NOT_BACKED_UP``: a restore must
never open a session again, and recomputes the totals from the postings it restored; see
``table_order``) in an order a restore can insert as it reads: parents before children;
``postings`` before ``journal_entries`` (the database checks an entry's balance when the
entry arrives, so its postings must be there already; their foreign key to the entry is
deferred); journal entries in ``id`` order (within a recipient ids grow with ``seq``, so
every entry follows its predecessor in the chain and a reversal follows the entry it
reverses); ``period_events`` after the journal (so no entry meets a closed school year)
and ``audit_log`` last, in ``seq`` order. Every other table is in primary-key order.

Backup streams the rows (``yield_per``) and never holds the database in memory; on
PostgreSQL it reads one REPEATABLE READ snapshot, on SQLite the read transaction is one.

Restore reads the file in one pass and inserts into an **empty** database migrated to
the **same schema revision**, with the ids of the file, 1000 rows per ``executemany``.
The integrity triggers of migration 0002 stay active: they check every link, balance
and closed period as the rows arrive. PostgreSQL defers the balance and closed-year
check of an entry (and the postings' foreign key) to COMMIT; the restore runs them
(``SET CONSTRAINTS … IMMEDIATE``) before the period events arrive, since an entry in a
year closed later would otherwise be refused, and runs SQLite's deferred foreign keys
(``PRAGMA foreign_key_check``) at the end. On PostgreSQL each table is ANALYZEd as it
grows (2000, 4000, 8000, … rows): the triggers' cached plans would otherwise scan the
fresh tables and the restore would take quadratic time. Then every recipient's journal
(``ledger.core.chain.verify_chain``) and the audit log (``ledger.core.audit.verify_audit_log``) are
recomputed and compared with the manifest, the history of the decision tables
(``ledger.core.history.verify_history``) is recomputed and compared with their rows, and
finally PostgreSQL's serial sequences are set to ``MAX(id)`` so that new bookings get fresh ids.

Errors: everything a restore refuses raises ``LedgerError`` with a German message (not
a backup file, another format version or schema revision, a non-empty target, a damaged
or truncated file, a row the database refuses, a broken chain, a head or row count that
differs from the manifest). The caller must then roll back its transaction, so nothing
of the backup stays; ``restore`` itself never commits.
"""
from __future__ import annotations

import base64
import gzip
import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.schema import sort_tables

from ledger.core import audit
from ledger.core.audit import verify_audit_log
from ledger.core.chain import ChainHead, chain_head, verify_chain
from ledger.core.errors import LedgerError
from ledger.core.history import verify_history
from ledger.core.integrity import AUDIT, Heads, compare_heads, current_heads, head_from_json, head_json, journal_name
from ledger.core.models import Base, Recipient
from ledger.core.running_totals import rebuild as rebuild_totals

FORMAT_NAME = "inkl-backup"
FORMAT_VERSION = 1
#: Rows per ``executemany`` on restore, and per ``yield_per`` batch on backup.
BATCH_SIZE = 1000
#: A progress line every this many rows of a table (besides one per table).
PROGRESS_EVERY = 50_000
#: PostgreSQL: ANALYZE a table being restored when its rows reach this number, then twice as many, …
ANALYZE_FROM = 2000
#: Tables that come last, in this order, whatever their foreign keys allow.
_LAST = ("period_events", "audit_log")

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class BackupManifest:
    """Line 1 of a backup: what it holds and what a restore must reproduce.

    ``tables``: rows per table in file order; ``chains``: each recipient's chain head by
    recipient key (``ChainHead(0, GENESIS)`` for an empty journal); ``audit_head``: the
    audit log's head; ``schema_revision``: the Alembic revision(s) of the source,
    comma-separated if several; ``source_dialect``: ``sqlite`` or ``postgresql``; ``heads``:
    every chain's head by name (``ledger.core.integrity``; from ``chains`` and ``audit_head``
    when the manifest has no ``heads``).
    """

    created_at: datetime
    schema_revision: str
    source_dialect: str
    tables: dict[str, int]
    chains: dict[str, ChainHead]
    audit_head: ChainHead
    heads: dict[str, ChainHead] | None = None
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def recorded_heads(self) -> Heads:
        """The chain heads this backup recorded, for ``ledger.core.integrity.verify_books(against=…)``."""
        heads = self.heads
        if heads is None:
            heads = {**{journal_name(key): head for key, head in self.chains.items()}, AUDIT: self.audit_head}
        return Heads(heads=dict(heads), kind="Sicherung", created_at=self.created_at, database=self.source_dialect)

    @property
    def total_rows(self) -> int:
        """Rows in the backup over all tables."""
        return sum(self.tables.values())

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to line 1 (JSON-serialisable, no floats)."""
        return {
            "format": self.format, "format_version": self.format_version,
            "created_at": self.created_at.isoformat(), "schema_revision": self.schema_revision,
            "source_dialect": self.source_dialect, "tables": dict(self.tables),
            "chains": {key: head_json(head) for key, head in self.chains.items()},
            "audit_log": head_json(self.audit_head),
            **({} if self.heads is None else {"heads": {name: head_json(h) for name, h in self.heads.items()}}),
        }

    @classmethod
    def from_json(cls, data: Any) -> "BackupManifest":
        """Read line 1 of a backup. Raises LedgerError for another format or version or a damaged manifest."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            found = data.get("format") if isinstance(data, dict) else None
            raise LedgerError(f"keine inkl-Sicherung: Formatkennung {found!r} statt {FORMAT_NAME!r} in Zeile 1")
        version = data.get("format_version")
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise LedgerError(f"Sicherungsformat Version {version!r} wird nicht unterstützt "
                              f"(diese Version liest Version {FORMAT_VERSION})")
        try:
            tables = data["tables"]
            chains = data["chains"]
            if not isinstance(tables, dict) or not all(_is_int(n) and n >= 0 for n in tables.values()):
                raise ValueError("tables")
            if not isinstance(chains, dict) or not isinstance(data["schema_revision"], str):
                raise ValueError("chains")
            heads = data.get("heads")
            if heads is not None and not isinstance(heads, dict):
                raise ValueError("heads")
            return cls(
                created_at=datetime.fromisoformat(data["created_at"]),
                schema_revision=data["schema_revision"], source_dialect=str(data.get("source_dialect", "")),
                tables=dict(tables), chains={str(key): head_from_json(head) for key, head in chains.items()},
                audit_head=head_from_json(data["audit_log"]),
                heads=None if heads is None else {str(name): head_from_json(h) for name, h in heads.items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerError(
                f"Sicherung beschädigt: Kopfzeile (Manifest) unvollständig oder fehlerhaft ({exc})") from exc


@dataclass(frozen=True)
class RestoreReport:
    """Outcome of ``restore``: the backup's manifest, rows inserted per table, verified heads.

    ``chains`` / ``audit_head`` are the heads recomputed from the restored books (equal to
    the manifest's, or ``restore`` would have raised). ``audit_event_seq`` is the ``seq``
    of the ``restore`` event appended to the audit log when an actor was given, else None.
    """

    manifest: BackupManifest
    rows: dict[str, int]
    chains: dict[str, ChainHead]
    audit_head: ChainHead
    audit_event_seq: int | None = None

    @property
    def total_rows(self) -> int:
        """Rows inserted over all tables."""
        return sum(self.rows.values())

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable summary (for ``inkl restore --json``)."""
        return {
            "backup_created_at": self.manifest.created_at.isoformat(),
            "schema_revision": self.manifest.schema_revision,
            "source_dialect": self.manifest.source_dialect,
            "rows": dict(self.rows), "total_rows": self.total_rows,
            "chains": {key: head_json(head) for key, head in self.chains.items()},
            "audit_log": head_json(self.audit_head), "audit_event_seq": self.audit_event_seq,
        }


#: Tables a backup leaves out: log-in sessions (``ledger.core.sessions``) end with the database
#: they were opened on; a restored database starts without any.
NOT_BACKED_UP = frozenset({"login_sessions", "account_year_totals", "journal_day_totals"})


def table_order() -> list[sa.Table]:
    """Every table of ``Base.metadata`` but ``NOT_BACKED_UP`` in the order a backup writes and a
    restore inserts.

    Foreign keys decide (parents first), except that an initially deferred foreign key
    (``postings.entry_id``) is reversed: the referring rows come first. ``period_events``
    and ``audit_log`` come last.
    """
    tables = [t for t in Base.metadata.sorted_tables if t.name not in NOT_BACKED_UP]
    deferred = [fk for table in tables for fk in table.foreign_key_constraints
                if fk.initially and fk.initially.upper() == "DEFERRED"]
    ordered = sort_tables(
        tables, skip_fn=lambda fk: fk.constraint in deferred,
        extra_dependencies=[(fk.table, fk.referred_table) for fk in deferred if fk.table is not fk.referred_table],
    )
    last = [t for name in _LAST for t in ordered if t.name == name]
    ordered = [t for t in ordered if t not in last] + last
    position = {t.name: i for i, t in enumerate(ordered)}
    for table in ordered:
        for fk in table.foreign_key_constraints:
            if fk not in deferred and fk.referred_table is not table:
                assert position[fk.referred_table.name] < position[table.name], (table.name, fk.referred_table.name)
    return ordered


def backup(session: Session, out: BinaryIO, *, now: datetime, progress: Progress = None) -> BackupManifest:
    """Write the whole database to ``out`` (a binary file) in the ``inkl-backup`` format.

    ``now`` becomes the manifest's ``created_at``. ``progress`` receives German progress
    lines (one per table, more for big tables). Reads only; call it on a session that has
    not started a transaction yet, so that on PostgreSQL it can read one REPEATABLE READ
    snapshot. Returns the manifest (line 1).

    Raises:
        LedgerError: the database has no schema (``inkl db upgrade``), the session is
            already inside a READ COMMITTED transaction on PostgreSQL, a value that is
            not an integer, string, boolean, date or date-time (never a float), or rows
            that changed while being written.
    """
    _begin_snapshot(session)
    dialect = session.get_bind().dialect.name
    revision = schema_revision(session)
    tables = table_order()
    counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in tables}
    recipients = session.scalars(select(Recipient).order_by(Recipient.key)).all()
    manifest = BackupManifest(
        created_at=now, schema_revision=revision, source_dialect=dialect, tables=counts,
        chains={r.key: chain_head(session, r) for r in recipients}, audit_head=audit.audit_head(session),
        heads=current_heads(session),
    )
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(_dumps(manifest.to_json()))
        for table in tables:
            written = _write_table(session, gz, table, progress)
            if written != counts[table.name]:
                raise LedgerError(f"Tabelle {table.name} hat sich während der Sicherung geändert "
                                  f"({counts[table.name]} gezählt, {written} geschrieben); bitte wiederholen")
    _say(progress, f"Sicherung fertig: {_n(manifest.total_rows)} Zeilen, Schema {revision}.")
    return manifest


def read_manifest(source: BinaryIO) -> BackupManifest:
    """Line 1 of the backup read from ``source`` (only that line is read).

    Raises LedgerError (German) for a file that is no ``inkl-backup``, an empty or damaged one.
    """
    first = next(_read_lines(source), None)
    if first is None:
        raise LedgerError("keine inkl-Sicherung: die Datei ist leer")
    return BackupManifest.from_json(first[1])


def restore(session: Session, source: BinaryIO, *, progress: Progress = None,
            actor: str | None = None, now: datetime | None = None) -> RestoreReport:
    """Insert the backup read from ``source`` into the empty database of ``session``.

    The target must be migrated to the backup's schema revision and hold no rows. Rows
    keep their ids. Nothing is committed: the caller commits on success and must roll
    back on any error (``ledger.core.db.session_scope`` does both). With ``actor`` and ``now``
    a ``restore`` event is appended to the audit log after every check has passed.
    On PostgreSQL every table is locked against other writers (``EXCLUSIVE``) until the
    caller's transaction ends. ``progress`` receives German progress lines.

    Raises:
        LedgerError (German message): not an ``inkl-backup`` file or another format
            version; another schema revision or no schema; a target that is not empty;
            a damaged, truncated or reordered file; a row the database refuses (its
            integrity triggers run during the restore); a broken hash chain, or a row
            count or chain head that differs from the manifest.
    """
    if (actor is None) != (now is None):
        raise ValueError("actor und now nur zusammen angeben")
    lines = _read_lines(source)
    first = next(lines, None)
    if first is None:
        raise LedgerError("keine inkl-Sicherung: die Datei ist leer")
    manifest = BackupManifest.from_json(first[1])
    revision = schema_revision(session)
    if revision != manifest.schema_revision:
        raise LedgerError(f"Schemastand passt nicht: Sicherung {manifest.schema_revision}, Zieldatenbank {revision} "
                          "(das Schema der Zieldatenbank zuerst auf den Stand der Sicherung bringen)")
    tables = table_order()
    by_name = {t.name: t for t in tables}
    unknown = sorted(set(manifest.tables) - set(by_name))
    if unknown:
        raise LedgerError(f"Sicherung beschädigt: unbekannte Tabellen {', '.join(unknown)}")
    _lock_and_ensure_empty(session, tables)
    _say(progress, f"Stelle Sicherung vom {manifest.created_at:%d.%m.%Y %H:%M} wieder her "
                   f"({_n(manifest.total_rows)} Zeilen, Schema {revision}).")

    rows = _insert_rows(session, lines, tables, progress)
    for name in by_name:
        if rows.get(name, 0) != manifest.tables.get(name, 0):
            raise LedgerError(f"Sicherung unvollständig oder beschädigt: Tabelle {name} hat "
                              f"{rows.get(name, 0)} Zeilen, laut Kopfzeile {manifest.tables.get(name, 0)}")
    _run_deferred_checks(session)
    rebuild_totals(session)  # derived from the postings: recomputed, never taken from the file
    chains, head = _verify(session, manifest, progress)
    # Only now: setval is not undone by a rollback, so a refused restore leaves the sequences alone.
    _reset_sequences(session, tables)
    event_seq = None
    if actor is not None:
        event = audit.record(session, actor=actor, action="restore", now=now, details={
            "backup_created_at": manifest.created_at.isoformat(), "schema_revision": manifest.schema_revision,
            "source_dialect": manifest.source_dialect, "rows": sum(rows.values()),
            "audit_head": head_json(head)})
        event_seq = event.seq
    _say(progress, f"Wiederherstellung geprüft: {_n(sum(rows.values()))} Zeilen, {len(chains)} Journale, "
                   f"Protokoll bis Nr. {head.seq}.")
    return RestoreReport(manifest=manifest, rows=rows, chains=chains, audit_head=head, audit_event_seq=event_seq)


def schema_revision(session: Session) -> str:
    """The Alembic revision of the session's database (several heads comma-separated).

    Raises LedgerError if the database has no schema (no ``alembic_version`` table or row).
    """
    if not sa.inspect(session.connection()).has_table("alembic_version"):
        raise LedgerError("die Datenbank hat kein Schema; zuerst das Datenbankschema einrichten")
    versions = sorted(session.scalars(sql_text("SELECT version_num FROM alembic_version")))
    if not versions:
        raise LedgerError("die Datenbank hat keinen Schemastand; zuerst das Datenbankschema einrichten")
    return ",".join(versions)


# --- backup helpers -----------------------------------------------------------------


def _begin_snapshot(session: Session) -> None:
    """On PostgreSQL, make the backup read one snapshot (REPEATABLE READ)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    level = session.scalar(sql_text("SHOW transaction_isolation"))
    if level not in ("repeatable read", "serializable"):
        raise LedgerError("die Sicherung braucht einen einheitlichen Datenstand: bitte in einer neuen Sitzung "
                          f"starten (Transaktion läuft bereits mit Isolationsstufe {level!r})")


def _write_table(session: Session, gz: gzip.GzipFile, table: sa.Table, progress: Progress) -> int:
    columns = [(c.name, _encoder(c)) for c in table.columns]
    order = [table.c.seq] if table.name == "audit_log" else list(table.primary_key.columns)
    result = session.execute(select(table).order_by(*order).execution_options(yield_per=BATCH_SIZE))
    count = 0
    buffer: list[bytes] = []
    for row in result:
        values = row._mapping
        try:
            record = {name: encode(values[name]) for name, encode in columns}
        except _BadValue as exc:
            key = ", ".join(f"{c.name}={values[c.name]}" for c in table.primary_key.columns)
            raise LedgerError(f"Tabelle {table.name} ({key}), Spalte {exc.column}: {exc.message}") from None
        buffer.append(_dumps({"t": table.name, "r": record}))
        count += 1
        if len(buffer) >= BATCH_SIZE:
            gz.write(b"".join(buffer))
            buffer.clear()
        if count % PROGRESS_EVERY == 0:
            _say(progress, f"  {table.name}: {_n(count)} Zeilen …")
    gz.write(b"".join(buffer))
    _say(progress, f"Gesichert: {table.name}, {_n(count)} Zeilen.")
    return count


class _BadValue(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


def _encoder(column: sa.Column) -> Callable[[Any], Any]:
    kind = _kind(column)
    name = column.name

    def encode(value: Any) -> Any:
        if value is None:
            return None
        if kind == "int" and type(value) is int:
            return value
        if kind == "bool" and type(value) is bool:
            return value
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "datetime" and isinstance(value, datetime):
            return value.isoformat()
        if kind == "date" and isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if kind == "decimal" and isinstance(value, Decimal):
            return f"{value:f}"
        if kind == "bytes" and isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        raise _BadValue(name, f"Wert {value!r} ({type(value).__name__}) passt nicht zum Spaltentyp {kind}")

    return encode


def _kind(column: sa.Column) -> str:
    """The JSON representation of a column: int, bool, str, date, datetime, decimal (as a string;
    never float) or bytes (base64 text, e.g. an issued statement's PDF)."""
    column_type = column.type
    if isinstance(column_type, sa.LargeBinary):
        return "bytes"
    if isinstance(column_type, sa.Boolean):
        return "bool"
    if isinstance(column_type, sa.Integer):
        return "int"
    if isinstance(column_type, sa.String):
        return "str"
    if isinstance(column_type, sa.DateTime):
        return "datetime"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
        return "decimal"
    raise NotImplementedError(f"Sicherung: Spaltentyp {column_type!r} von {column.table.name}.{column.name} "
                              "wird nicht unterstützt (ledger/write/backup.py ergänzen)")


# --- restore helpers ----------------------------------------------------------------


def _read_lines(source: BinaryIO) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each line of the gzip-compressed file; LedgerError if damaged."""
    number = 0
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as gz:
            for raw in gz:
                number += 1
                try:
                    value = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise LedgerError(f"Sicherung beschädigt: Zeile {number} ist kein gültiges JSON") from exc
                yield number, value
    except gzip.BadGzipFile as exc:
        raise LedgerError("keine inkl-Sicherung: die Datei ist nicht gzip-komprimiert") from exc
    except (EOFError, zlib.error, OSError) as exc:
        raise LedgerError(f"Sicherung beschädigt oder unvollständig (nach Zeile {number}): {exc}") from exc


def _lock_and_ensure_empty(session: Session, tables: list[sa.Table]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # No other writer may add rows while the restore runs (readers still can).
        names = ", ".join(_quote(session, t.name) for t in tables)
        session.execute(sql_text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    for table in tables:
        if session.execute(select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
            raise LedgerError(f"Zieldatenbank ist nicht leer (Tabelle {table.name} enthält Daten); "
                              "wiederherstellen nur in eine leere, frisch migrierte Datenbank")


def _insert_rows(session: Session, lines: Iterator[tuple[int, Any]], tables: list[sa.Table],
                 progress: Progress) -> dict[str, int]:
    position = {t.name: i for i, t in enumerate(tables)}
    by_name = {t.name: t for t in tables}
    decoders = {t.name: [(c.name, _decoder(c)) for c in t.columns] for t in tables}
    rows: dict[str, int] = {}
    current: sa.Table | None = None
    batch: list[dict[str, Any]] = []
    batch_start = 0
    deferred_checked = False
    postgresql = session.get_bind().dialect.name == "postgresql"
    analyze_at = ANALYZE_FROM

    def flush() -> None:
        nonlocal analyze_at
        if batch:
            _insert_batch(session, current, batch, batch_start)
            batch.clear()
            if postgresql and rows[current.name] >= analyze_at:
                # Fresh statistics as the table grows, so the triggers' cached plans use the indexes.
                session.execute(sql_text(f"ANALYZE {_quote(session, current.name)}"))
                analyze_at *= 2

    for number, value in lines:
        if not isinstance(value, dict) or set(value) != {"t", "r"} or not isinstance(value["r"], dict):
            raise LedgerError(f"Sicherung beschädigt: Zeile {number} ist keine Datenzeile {{\"t\": …, \"r\": …}}")
        table = by_name.get(value["t"]) if isinstance(value["t"], str) else None
        if table is None:
            raise LedgerError(f"Sicherung beschädigt: Zeile {number} nennt die unbekannte Tabelle {value['t']!r}")
        if table is not current:
            flush()
            if current is not None:
                _say(progress, f"Eingespielt: {current.name}, {_n(rows[current.name])} Zeilen.")
            if table.name in rows or current is not None and position[table.name] <= position[current.name]:
                raise LedgerError(f"Sicherung beschädigt: Tabelle {table.name} steht in Zeile {number} "
                                  "an unerwarteter Stelle")
            if not deferred_checked and table.name in _LAST:
                # PostgreSQL checks an entry's balance and closed years at COMMIT: run that check
                # before the period events arrive, while no school year is closed yet.
                _run_deferred_checks(session)
                deferred_checked = True
            current = table
            rows[table.name] = 0
            analyze_at = ANALYZE_FROM
        if not batch:
            batch_start = number
        batch.append(_decode_row(table, decoders[table.name], value["r"], number))
        rows[table.name] += 1
        if len(batch) >= BATCH_SIZE:
            flush()
        if rows[table.name] % PROGRESS_EVERY == 0:
            _say(progress, f"  {table.name}: {_n(rows[table.name])} Zeilen …")
    flush()
    if current is not None:
        _say(progress, f"Eingespielt: {current.name}, {_n(rows[current.name])} Zeilen.")
    return {t.name: rows.get(t.name, 0) for t in tables}


def _insert_batch(session: Session, table: sa.Table, batch: list[dict[str, Any]], first_line: int) -> None:
    try:
        session.execute(insert(table), batch)
    except DBAPIError as exc:
        last_line = first_line + len(batch) - 1
        raise LedgerError(f"Zieldatenbank lehnt Zeilen {first_line}–{last_line} der Sicherung ab "
                          f"(Tabelle {table.name}): {_db_message(exc)}") from exc


def _decoder(column: sa.Column) -> Callable[[Any], Any]:
    kind = _kind(column)
    nullable = column.nullable

    def decode(value: Any) -> Any:
        if value is None:
            if not nullable:
                raise ValueError("darf nicht leer sein")
            return None
        if kind == "int":
            if type(value) is not int:
                raise ValueError(f"ganze Zahl erwartet, gefunden {value!r}")
            return value
        if kind == "bool":
            if type(value) is not bool:
                raise ValueError(f"true/false erwartet, gefunden {value!r}")
            return value
        if not isinstance(value, str):
            raise ValueError(f"Text erwartet, gefunden {value!r}")
        if kind == "datetime":
            return datetime.fromisoformat(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "decimal":
            return Decimal(value)
        if kind == "bytes":
            return base64.b64decode(value, validate=True)
        return value

    return decode


def _decode_row(table: sa.Table, decoders: list[tuple[str, Callable[[Any], Any]]], record: dict[str, Any],
                number: int) -> dict[str, Any]:
    if len(record) != len(decoders) or any(name not in record for name, _ in decoders):
        expected = {name for name, _ in decoders}
        missing, extra = sorted(expected - set(record)), sorted(set(record) - expected)
        raise LedgerError(f"Sicherung beschädigt: Zeile {number} (Tabelle {table.name}): Spalten passen nicht "
                          f"(fehlend: {', '.join(missing) or '–'}; unbekannt: {', '.join(extra) or '–'})")
    row = {}
    for name, decode in decoders:
        try:
            row[name] = decode(record[name])
        except ValueError as exc:
            raise LedgerError(f"Sicherung beschädigt: Zeile {number} (Tabelle {table.name}), "
                              f"Spalte {name}: {exc}") from None
    return row


def _run_deferred_checks(session: Session) -> None:
    """Run the checks the database would defer to COMMIT now, so they fail as LedgerError here."""
    try:
        if session.get_bind().dialect.name == "postgresql":
            names = session.scalars(sql_text(
                "SELECT DISTINCT conname FROM pg_constraint WHERE condeferrable AND condeferred "
                "AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())")).all()
            if names:
                quoted = ", ".join(_quote(session, name) for name in names)
                session.execute(sql_text(f"SET CONSTRAINTS {quoted} IMMEDIATE"))
                session.execute(sql_text(f"SET CONSTRAINTS {quoted} DEFERRED"))
        else:
            broken = session.execute(sql_text("PRAGMA foreign_key_check")).first()
            if broken is not None:
                raise LedgerError(f"Sicherung beschädigt: Tabelle {broken[0]} (Zeile {broken[1]}) verweist auf "
                                  f"einen fehlenden Eintrag in {broken[2]}")
    except DBAPIError as exc:
        raise LedgerError(f"Zieldatenbank lehnt die Sicherung ab: {_db_message(exc)}") from exc


def _reset_sequences(session: Session, tables: list[sa.Table]) -> None:
    """PostgreSQL: set each serial sequence to MAX(id), so the next id follows the restored rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, sa.Integer):
            continue
        column, name = _quote(session, key[0].name), _quote(session, table.name)
        session.execute(sql_text(
            f"SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX({column}), 1), "
            f"MAX({column}) IS NOT NULL) FROM {name}"), {"table": name, "column": key[0].name})


def _verify(session: Session, manifest: BackupManifest,
            progress: Progress) -> tuple[dict[str, ChainHead], ChainHead]:
    recipients = session.scalars(select(Recipient).order_by(Recipient.key)).all()
    keys = {r.key for r in recipients}
    if keys != set(manifest.chains):
        raise LedgerError(f"Empfänger passen nicht zur Kopfzeile der Sicherung: wiederhergestellt {sorted(keys)}, "
                          f"erwartet {sorted(manifest.chains)}")
    chains = {}
    for recipient in recipients:
        report = verify_chain(session, recipient)
        if not report.ok:
            raise LedgerError(f"Hash-Kette von {recipient.key} nach der Wiederherstellung gebrochen bei "
                              f"Nr. {report.broken_seq} (Buchung {report.broken_entry_id}): {report.reason}")
        expected = manifest.chains[recipient.key]
        if report.head != expected:
            raise LedgerError(f"Kettenkopf von {recipient.key} weicht von der Sicherung ab: Nr. {report.head.seq} "
                              f"{report.head.entry_hash}, erwartet Nr. {expected.seq} {expected.entry_hash}")
        chains[recipient.key] = report.head
        _say(progress, f"Kette {recipient.key}: {report.entries} Buchungen in Ordnung, "
                       f"Kopf Nr. {report.head.seq} {report.head.entry_hash[:16]}…")
    count, head, broken, reason = verify_audit_log(session)
    if broken is not None:
        raise LedgerError(f"Protokollkette nach der Wiederherstellung gebrochen bei Nr. {broken}: {reason}")
    if head != manifest.audit_head:
        raise LedgerError(f"Protokollkopf weicht von der Sicherung ab: Nr. {head.seq} {head.entry_hash}, "
                          f"erwartet Nr. {manifest.audit_head.seq} {manifest.audit_head.entry_hash}")
    _say(progress, f"Protokoll: {count} Einträge in Ordnung.")
    history = verify_history(session)
    if not history.ok:
        raise LedgerError("Versionskette der Stammdaten und Entscheidungen nach der Wiederherstellung gebrochen: "
                          + (history.reason or history.findings[0]))
    _say(progress, f"Stammdaten und Entscheidungen: {history.versions} Versionen in Ordnung.")
    recorded = manifest.recorded_heads()
    for finding in compare_heads(session, recorded.heads, source=recorded.kind):
        if not finding.ok or finding.current != finding.recorded:
            raise LedgerError(f"Kettenkopf weicht von der Sicherung ab: {finding.message}")
    return chains, head


# --- small helpers --------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _is_int(value: Any) -> bool:
    return type(value) is int


def _quote(session: Session, name: str) -> str:
    return session.get_bind().dialect.identifier_preparer.quote(name)


def _db_message(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def _n(count: int) -> str:
    return f"{count:,}".replace(",", ".")


def _say(progress: Progress, line: str) -> None:
    if progress is not None:
        progress(line)
