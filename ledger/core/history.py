"""Tamper evidence for the tables that decide a figure: every version of every row, hash-chained.

The journal has its own chain (``ledger.core.chain``), but a repayment also rests on master
data (pools and their financing basis, schools, cost centres, …), accounts, grants, the
officer's overrides, the recorded evaluation runs, agreements and the Land's notices. Each
write the application makes to one of those tables (``DECISION_TABLES``) appends a row to
``record_versions``: the table, the row's key (its ``id`` as text), the operation (``insert``,
``update``, ``delete``), the canonical JSON of every column after the change (None for a
delete), the actor and the time. Versions form one hash chain over all tables, by ``seq``
(1, 2, …): ``version_hash`` = SHA-256 of ``prev_hash`` followed by the canonical JSON of
those fields. The database refuses to change or delete a version and a ``prev_hash`` that
is not its predecessor's hash (migration 0025).

Capture is central: a session event notes every decision row a flush writes, whatever
interface made it (web, command line, API, import, demo), and before the transaction
commits one version is appended per changed row, with the final content of the
transaction (a row written twice in one transaction gets one version). The actor and time
are those of the transaction's latest audit event (``ledger.core.audit``), else "System"
and the current time.

Tables written in bulk are chained per group instead of per row (``GROUPED``): the
classifications of an evaluation run are one version keyed by the run's id whose content is
``{"rows": n, "sha256": …}``, the SHA-256 over the run's rows in the order of their postings,
one line each: the JSON array of the row's values in the order of the column names (values as
in the canonical JSON); the schools of a pool likewise, keyed by the pool's id.

``verify_history`` recomputes the chain and compares every decision table's current rows
with the latest version of their key: a row without a version was inserted around the
application, a row that differs from its latest version was changed around it, a key whose
latest version is no delete but has no row was deleted around it. Source of the rule:
issue 18 ("Tamper evidence has gaps"); GoBD Rz. 58–60 (Unveränderbarkeit, Protokollierung
von Änderungen an Stammdaten).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ledger.core.chain import CANONICAL_JSON, GENESIS, ChainHead
from ledger.core.models import AuditEvent, Base, Pool, RecordVersion, StoredClassification

#: The tables whose rows decide a figure, with the German label ``verify_history`` names them by.
DECISION_TABLES: dict[str, str] = {
    "recipients": "Empfänger",
    "accounts": "Konto",
    "grants": "Zuweisung",
    "payouts": "Auszahlung",
    "agreements": "Vereinbarung",
    "agreement_status_events": "Stand einer Vereinbarung",
    "notices": "Bescheid",
    "notice_withdrawals": "Aufhebung eines Bescheids",
    "period_events": "Abschluss eines Schuljahres",
    "schools": "Schule",
    "providers": "Träger",
    "pools": "Förderpool",
    "pool_schools": "Schulen eines Förderpools",
    "municipalities": "Gemeinde",
    "pass_through_verifications": "Vergewisserung zur Weiterleitung",
    "pass_through_claims": "Mittelabruf einer Gemeinde",
    "commitments": "Verpflichtung",
    "cost_centres": "Kostenstelle",
    "classification_overrides": "Einstufungs-Übersteuerung",
    "evaluation_runs": "Bewertungslauf",
    "classifications": "Einstufungen eines Bewertungslaufs",
    "budget_agreements": "Trägerbudget",
    "budget_advances": "Abschlag eines Trägerbudgets",
    "budget_hours_reports": "Stundenbericht zum Trägerbudget",
    "budget_judgements": "Einschätzung zur Unterschreitung der Stunden",
    "budget_cases": "Fall eines Trägerbudgets",
    "budget_records": "Termin oder Eingang zum Trägerbudget",
    "allocation_claims": "Mittelabruf",
    "allocation_claim_lines": "Zeile eines Mittelabrufs",
    "allocation_claim_cases": "Fallnummer eines Mittelabrufs",
    "allocation_commitments": "Mittelbindung eines Verteilungsplans",
    "allocation_payments": "Zahlung eines Mittelabrufs",
}
#: The tables that are no decision table, and why: the journal and the audit log have their own
#: chains, the import's bookkeeping and parked bank entries lead to journal entries, users and
#: their log-ins decide no figure, issued statements and Sachberichte are append-only documents,
#: the kept account and journal day totals are derived from the postings (``ledger.core.running_totals``,
#: checked against them by ``inkl verify``).
OTHER_TABLES = frozenset({
    "journal_entries", "postings", "imported_rows", "import_batches", "parked_bank_entries", "audit_log",
    "users", "user_recipients", "login_sessions", "api_tokens", "issued_statements", "narrative_reports",
    "record_versions", "account_year_totals", "journal_day_totals",
})
#: How a finding names a row of a decision table (``describe``): the parts that say which row
#: it is, as (German pattern, column); a part whose column is empty is left out. A table
#: chained per group (``GROUPED``) is named by its group's row.
NAMED_BY: dict[str, tuple[tuple[str, str], ...]] = {
    "recipients": (("{}", "name"),),
    "accounts": (("Nr. {}", "number"), ("„{}“", "name")),
    "grants": (("Schuljahr {}", "school_year"),),
    "payouts": (("vom {}", "date"),),
    "agreements": (("Schuljahr {}", "school_year"), ("Az. {}", "reference")),
    "agreement_status_events": (("wirksam ab {}", "effective_date"), ("erfasst am {}", "created_at")),
    "notices": (("vom {}", "notice_date"), ("Az. {}", "reference")),
    "notice_withdrawals": (("vom {}", "withdrawal_date"), ("Az. {}", "reference")),
    "period_events": (("Schuljahr {}", "school_year"), ("erfasst am {}", "created_at")),
    "schools": (("{}", "name"), ("Schulnummer {}", "school_number")),
    "providers": (("{}", "name"),),
    "pools": (("„{}“", "name"),),
    "municipalities": (("{}", "name"),),
    "pass_through_verifications": (("vom {}", "verified_on"), ("{}", "document_reference")),
    "pass_through_claims": (("vom {}", "claim_date"), ("Az. {}", "reference")),
    "commitments": (("Az. {}", "reference"), ("„{}“", "description")),
    "cost_centres": (("{}", "code"),),
    "classification_overrides": (("erfasst am {}", "created_at"), ("von {}", "created_by")),
    "evaluation_runs": (("Schuljahr {}", "school_year"), ("vom {}", "created_at")),
    "budget_agreements": (("„{}“", "title"), ("Az. {}", "reference")),
    "budget_advances": (("fällig am {}", "due_date"),),
    "budget_hours_reports": (("Quartal {}", "quarter"),),
    "budget_judgements": (("Quartal {}", "quarter"),),
    "budget_cases": (("Az. {}", "reference"),),
    "budget_records": (("vom {}", "record_date"),),
    "allocation_claims": (("vom {}", "claim_date"),),
    "allocation_claim_lines": (("Position {}", "position"),),
    "allocation_claim_cases": (("Fall {}", "case_ref"),),
    "allocation_commitments": (("vom {}", "date"),),
    "allocation_payments": (("vom {}", "date"),),
}
#: Tables chained per group instead of per row: table → (the column whose value is the key, the
#: column that orders a group's rows; with the key, a unique index of the table).
GROUPED: dict[str, tuple[str, str]] = {"classifications": ("run_id", "posting_id"),
                                       "pool_schools": ("pool_id", "school_id")}
OPERATIONS = ("insert", "update", "delete")
#: Who and when, when a transaction wrote no audit event.
SYSTEM_ACTOR = "System"

_ARRAY = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SIMPLE = (int, str, bool, type(None))
_CHUNK = 500
_TOUCHED = "inkl_history_touched"   # session.info: {table name: {row key, …}}
_ACTOR = "inkl_history_actor"       # session.info: (actor, time) of the latest audit event
_MISSING = object()


@dataclass(frozen=True)
class HistoryReport:
    """Outcome of ``verify_history``: versions checked, the chain's head, the first broken link
    (``broken_seq`` and German ``reason``, None when the chain holds) and the German findings of
    rows changed around the application (``findings``, empty when every row has its version)."""

    versions: int
    head: ChainHead
    broken_seq: int | None = None
    reason: str | None = None
    findings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and not self.findings


def history_head(session: Session) -> ChainHead:
    """The newest version's ``seq`` and hash; ``ChainHead(0, GENESIS)`` while there is none."""
    return _head(session.connection())


def verify_history(session: Session) -> HistoryReport:
    """Recompute the chain of ``record_versions`` and compare every decision table with it.

    Streams the versions in ``seq`` order; the first whose ``seq`` skips, whose ``prev_hash``
    is not its predecessor's hash or whose content no longer gives its hash breaks the chain
    (``broken_seq``). With the chain intact, each decision table's rows are compared with the
    latest version of their key (``findings``, German, naming each row by ``describe``).
    """
    conn = session.connection()
    prev, expected, count = GENESIS, 1, 0
    latest: dict[tuple[str, str], str | None] = {}
    versions = conn.execute(select(RecordVersion.__table__).order_by(RecordVersion.seq)
                            .execution_options(yield_per=2000))
    for version in versions:
        count += 1
        if version.seq != expected or version.prev_hash != prev:
            return HistoryReport(count, _head(conn), version.seq,
                                 "Lücke oder falscher Vorgänger in der Versionskette (Version entfernt oder eingefügt?)")
        if _version_hash(prev, version.seq, version.table_name, version.row_key, version.operation,
                         version.content, version.actor, version.created_at) != version.version_hash:
            return HistoryReport(count, _head(conn), version.seq, f"Version Nr. {version.seq} wurde verändert")
        latest[(version.table_name, version.row_key)] = version.content
        prev, expected = version.version_hash, expected + 1
    findings = []
    for name in DECISION_TABLES:
        seen = set()
        for key, content in _contents(conn, Base.metadata.tables[name]):
            seen.add(key)
            known = latest.get((name, key), _MISSING)
            if known is _MISSING or known is None:
                findings.append(f"{describe(name, _named_row(name, key, content), latest)}: ohne Version, "
                                "außerhalb der Anwendung eingefügt")
            elif known != content:
                findings.append(f"{describe(name, _named_row(name, key, known), latest)}: weicht von der letzten "
                                "Version ab, außerhalb der Anwendung geändert")
        for (table_name, key), content in latest.items():
            if table_name == name and content is not None and key not in seen:
                findings.append(f"{describe(name, _named_row(name, key, content), latest)}: fehlt, außerhalb der "
                                "Anwendung gelöscht")
    return HistoryReport(count, ChainHead(expected - 1, prev), findings=tuple(findings))


def describe(table_name: str, row: dict, latest: dict[tuple[str, str], str | None]) -> str:
    """A German name of a row of a decision table for a finding, as an auditor would look it up:
    the table's label, then what ``NAMED_BY`` says of ``row`` (its columns, as in its canonical
    JSON; dates as dd.mm.yyyy) and the recipient's name; never a database id. A row of a table
    chained per group is named by its group's row (``row``: that group's key, ``{"key": …}``).
    ``latest``: the latest content per (table, key) of ``verify_history``, for the group's and
    the recipient's row. Rows that differ only in columns not named read alike."""
    parts = _parts(table_name, row, latest)
    return f"{DECISION_TABLES[table_name]} ({', '.join(parts)})" if parts else DECISION_TABLES[table_name]


def _parts(table_name: str, row: dict, latest: dict[tuple[str, str], str | None]) -> list[str]:
    if table_name in GROUPED:
        group_column = Base.metadata.tables[table_name].c[GROUPED[table_name][0]]
        parent = next(iter(group_column.foreign_keys)).column.table.name   # the group's own table
        content = latest.get((parent, str(row.get("key"))))
        return _parts(parent, json.loads(content), latest) if content else []
    parts = [_part(pattern, _readable(row[column])) for pattern, column in NAMED_BY.get(table_name, ())
             if row.get(column) not in (None, "")]
    recipient = latest.get(("recipients", str(row.get("recipient_id"))))
    if recipient and table_name != "recipients":
        parts.append(json.loads(recipient)["name"])
    return parts


def _part(pattern: str, value: str) -> str:
    """``value`` in ``pattern``; a reference that already says "Az." keeps its own prefix."""
    return value if pattern.startswith("Az. ") and value.startswith("Az") else pattern.format(value)


def _readable(value) -> str:
    """A canonical JSON value as a finding shows it: ISO dates and times in German notation."""
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.strftime("%d.%m.%Y %H:%M" if len(value) > 10 else "%d.%m.%Y")
    return str(value)


def _named_row(table_name: str, key: str, content: str) -> dict:
    """The row of ``key`` with ``content`` (canonical JSON) as ``describe`` takes it: its
    columns' values, or a grouped table's ``{"key": key}``."""
    return {"key": key} if table_name in GROUPED else json.loads(content)


def catch_up(conn: Connection, *, actor: str, now: datetime, reflect: bool = False,
             tables: Iterable[str] | None = None) -> int:
    """Append a version for every row of the decision tables ``tables`` (default: all of
    ``DECISION_TABLES``) that differs from its latest version (a new row: ``insert``; a
    changed one: ``update``; a vanished one: ``delete``) and return how many were appended.

    For a migration that creates or changes decision tables (0025 records the rows that exist
    before it, naming the tables of its own revision); ``reflect=True`` reads the columns from
    the database instead of the models, so that it works at the migration's own revision.
    """
    metadata = sa.MetaData()
    tables = [sa.Table(name, metadata, autoload_with=conn) if reflect else Base.metadata.tables[name]
              for name in (DECISION_TABLES if tables is None else tables)]
    return _append(conn, {table: None for table in tables}, actor=actor, now=now)


def content_of(table: sa.Table, row) -> str:
    """The canonical JSON of a row (a mapping of every column of ``table``): keys sorted, no
    spaces; dates and times ISO 8601, decimals as plain text without trailing zeros."""
    return CANONICAL_JSON.encode({column.name: _plain(row[column.name]) for column in table.columns})


def _plain(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _version_hash(prev_hash: str, seq: int, table_name: str, row_key: str, operation: str, content: str | None,
                  actor: str, created_at: datetime) -> str:
    canonical = CANONICAL_JSON.encode({"seq": seq, "table": table_name, "row_key": row_key, "operation": operation,
                                   "content": content, "actor": actor, "created_at": created_at.isoformat()})
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _head(conn: Connection) -> ChainHead:
    versions = RecordVersion.__table__
    row = conn.execute(select(versions.c.seq, versions.c.version_hash).order_by(versions.c.seq.desc()).limit(1)).first()
    return ChainHead(0, GENESIS) if row is None else ChainHead(row.seq, row.version_hash)


def _contents(conn: Connection, table: sa.Table, keys: Iterable[str] | None = None) -> Iterator[tuple[str, str]]:
    """(row key, content) of ``table``'s rows, or of its groups (``GROUPED``), in key order; all
    of them, or only those of ``keys``."""
    group, order = GROUPED.get(table.name, (None, "id"))
    column = table.c[group] if group else table.c.id
    names = sorted(c.name for c in table.columns)
    query = select(*(table.c[name] for name in names)).order_by(column, table.c[order])
    position = names.index(group) if group else None
    chunks: Iterable[list[int] | None] = [None]
    if keys is not None:
        ordered = sorted(int(key) for key in keys)
        chunks = [ordered[i:i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]
    for chunk in chunks:
        rows = conn.execute((query if chunk is None else query.where(column.in_(chunk)))
                            .execution_options(yield_per=2000))
        if group is None:
            for row in rows:
                yield str(row.id), content_of(table, row._mapping)
            continue
        current, digest, count = None, None, 0
        for row in rows:
            value = row[position]
            if value != current:
                if current is not None:
                    yield str(current), CANONICAL_JSON.encode({"rows": count, "sha256": digest.hexdigest()})
                current, digest, count = value, hashlib.sha256(), 0
            digest.update((_ARRAY.encode([v if type(v) in _SIMPLE else _plain(v) for v in row]) + "\n")
                          .encode("utf-8"))
            count += 1
        if current is not None:
            yield str(current), CANONICAL_JSON.encode({"rows": count, "sha256": digest.hexdigest()})


def _latest(conn: Connection, table_name: str, keys: Iterable[str] | None) -> dict[str, str | None]:
    """The latest version's content of each key of ``table_name`` (None: deleted)."""
    versions = RecordVersion.__table__
    query = (select(versions.c.row_key, versions.c.content).where(versions.c.table_name == table_name)
             .order_by(versions.c.seq))
    chunks: Iterable[list[str] | None] = [None]
    if keys is not None:
        ordered = sorted(keys)
        chunks = [ordered[i:i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]
    latest: dict[str, str | None] = {}
    for chunk in chunks:
        for key, content in conn.execute(query if chunk is None else query.where(versions.c.row_key.in_(chunk))):
            latest[key] = content
    return latest


def _append(conn: Connection, touched: dict[sa.Table, set[str] | None], *, actor: str, now: datetime) -> int:
    """Append one version per touched key (all keys of a table for None) whose row differs from
    its latest version; returns how many."""
    if not any(keys is None or keys for keys in touched.values()):
        return 0
    if conn.dialect.name == "postgresql":
        # One writer of the chain at a time; the audit log first, in the order ledger.core.audit takes it.
        conn.execute(sa.text("LOCK TABLE audit_log, record_versions IN SHARE ROW EXCLUSIVE MODE"))
    changes = []
    for table in sorted(touched, key=lambda t: list(DECISION_TABLES).index(t.name)):
        keys = touched[table]
        latest = _latest(conn, table.name, keys)
        current = dict(_contents(conn, table, keys))
        for key in sorted(set(current) | {k for k, c in latest.items() if c is not None}, key=int):
            before, after = latest.get(key, _MISSING), current.get(key)
            if after is None:
                if before is not _MISSING and before is not None:
                    changes.append((table.name, key, "delete", None))
            elif before is _MISSING or before is None:
                changes.append((table.name, key, "insert", after))
            elif before != after:
                changes.append((table.name, key, "update", after))
    if not changes:
        return 0
    head = _head(conn)
    prev, seq, rows = head.entry_hash, head.seq, []
    created_at = now.replace(tzinfo=None)
    for table_name, key, operation, content in changes:
        seq += 1
        version_hash = _version_hash(prev, seq, table_name, key, operation, content, actor, created_at)
        rows.append({"seq": seq, "table_name": table_name, "row_key": key, "operation": operation, "content": content,
                     "actor": actor, "created_at": created_at, "prev_hash": prev, "version_hash": version_hash})
        prev = version_hash
    conn.execute(sa.insert(RecordVersion.__table__), rows)
    return len(rows)


# --- capture: the session events ---------------------------------------------------------------

def _keys_of(obj) -> Iterator[tuple[str, str]]:
    """The (table, key) pairs a flushed object writes in decision tables."""
    if isinstance(obj, StoredClassification):
        yield "classifications", str(obj.run_id)
        return
    name = sa.inspect(obj).mapper.local_table.name
    if name in DECISION_TABLES:
        yield name, str(obj.id)
    if isinstance(obj, Pool):
        yield "pool_schools", str(obj.id)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context) -> None:
    """Note the decision rows this flush wrote (and the actor of an audit event it wrote)."""
    touched = session.info.setdefault(_TOUCHED, {})
    for objects in (session.new, session.dirty, session.deleted):
        for obj in objects:
            if isinstance(obj, AuditEvent):
                session.info[_ACTOR] = (obj.actor, obj.created_at)
                continue
            for table, key in _keys_of(obj):
                touched.setdefault(table, set()).add(key)


@event.listens_for(Session, "before_commit")
def _record_versions(session: Session) -> None:
    """Append the versions of the rows the transaction wrote, just before it commits."""
    if not session.info.get(_TOUCHED):
        return
    session.flush()
    touched = session.info.pop(_TOUCHED, {})
    actor, moment = session.info.pop(_ACTOR, (SYSTEM_ACTOR, None))
    tables = {Base.metadata.tables[name]: keys for name, keys in touched.items()}
    _append(session.connection(), tables, actor=actor, now=moment or datetime.now())


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    """A transaction's notes end with it (rolled back or committed)."""
    if transaction.parent is None:
        session.info.pop(_TOUCHED, None)
        session.info.pop(_ACTOR, None)
