"""The integrity check of the books, and the chain heads anchored outside the database.

``verify_books`` recomputes every recipient's journal chain (``ledger.core.chain``), the
audit log's (``ledger.core.audit``) and the versions of master data and decisions
(``ledger.core.history``), compares the kept account totals with the postings
(``ledger.core.running_totals``), looks for postings without an entry, and compares the
heads recorded outside the database with the books as they are now.

Why heads outside: an attacker with owner rights who switches the triggers off can delete
the newest entries, a recipient's whole journal, the last audit events or all books, or
rewrite a chain and recompute every hash: each chain then still verifies on its own. Only a
head kept elsewhere reveals it. Heads are recorded in a heads file an auditor keeps
(``heads_document``, ``inkl heads export``), in every backup's manifest
(``ledger.write.backup``) and in every issued settlement statement (its PDF's keywords and
the ``issued_statements`` row). For each recorded head ``compare_heads`` says:

- ``unchanged``: the link with the recorded ``seq`` still has the recorded hash (the chain
  may have grown since: appending is what books do);
- ``gone``: the chain now ends before the recorded ``seq`` (newest links deleted, a journal
  or the audit log emptied, a recipient removed);
- ``changed``: the link with the recorded ``seq`` has another hash (the chain was rewritten);
- ``unknown``: a chain this version does not know (a heads file of a newer version).

Every chain is named in a heads record: ``journal:<recipient key>`` for a journal,
``audit`` for the audit log, ``history`` for the versions of master data and decisions. The chains are registered in ``CHAIN_SOURCES``; another
chain is one more ``ChainSource`` line there (its current heads by name and the stored hash
of a link), and heads files, backups and ``verify --against`` then cover it.

Heads file format ``inkl-heads``, version 1 (JSON, UTF-8)::

    {"format": "inkl-heads", "format_version": 1, "created_at": "2026-11-22T10:00:00",
     "database": "postgresql",
     "heads": {"audit": {"seq": 40, "hash": "…"}, "journal:musterhausen": {"seq": 82, "hash": "…"}},
     "sha256": "…"}

``sha256`` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the
document without ``sha256``; ``read_heads_document`` refuses a file whose content no longer
matches it (damaged or edited).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.audit import audit_head, verify_audit_log
from ledger.core.chain import CANONICAL_JSON, GENESIS, ChainHead, ChainReport, chain_head, verify_chain
from ledger.core.errors import LedgerError
from ledger.core.history import HistoryReport, history_head, verify_history
from ledger.core.models import Account, AuditEvent, IssuedStatement, JournalEntry, Posting, Recipient, RecordVersion
from ledger.core.recipients import get_recipient, list_recipients
from ledger.core.running_totals import TotalsCheck, verify_totals

HEADS_FORMAT = "inkl-heads"
HEADS_VERSION = 1
#: The name of the audit log's chain in a heads record.
AUDIT = "audit"
#: The name of the chain of versions of master data and decisions (``ledger.core.history``).
HISTORY = "history"
#: A journal's chain is named this prefix and the recipient's key.
JOURNAL_PREFIX = "journal:"
#: At most this many ids of postings without an entry are listed (all are counted).
STRAY_LISTED = 20

#: The states of a recorded head, with their German labels.
STATES = {"unchanged": "unverändert", "gone": "fehlt", "changed": "verändert", "unknown": "unbekannte Kette"}


def journal_name(recipient_key: str) -> str:
    """The name of a recipient's journal chain in a heads record: ``"journal:musterhausen"``."""
    return JOURNAL_PREFIX + recipient_key


@dataclass(frozen=True)
class ChainSource:
    """One kind of hash chain whose heads are recorded and compared.

    ``owns(name)``: whether a head name belongs to it; ``heads(session)``: the current head of
    each of its chains by name (``ChainHead(0, GENESIS)`` for an empty one); ``hash_at(session,
    name, seq)``: the stored hash of link ``seq`` of chain ``name``, None if there is none.
    """

    owns: Callable[[str], bool]
    heads: Callable[[Session], dict[str, ChainHead]]
    hash_at: Callable[[Session, str, int], str | None]


def _journal_heads(session: Session) -> dict[str, ChainHead]:
    return {journal_name(r.key): chain_head(session, r) for r in list_recipients(session)}


def _journal_hash_at(session: Session, name: str, seq: int) -> str | None:
    return session.scalar(select(JournalEntry.entry_hash).join(Recipient, JournalEntry.recipient_id == Recipient.id)
                          .where(Recipient.key == name.removeprefix(JOURNAL_PREFIX), JournalEntry.seq == seq))


def _audit_hash_at(session: Session, _name: str, seq: int) -> str | None:
    return session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.seq == seq))


def _history_hash_at(session: Session, _name: str, seq: int) -> str | None:
    return session.scalar(select(RecordVersion.version_hash).where(RecordVersion.seq == seq))


#: Every chain whose heads are recorded (heads file, backup manifest) and compared.
CHAIN_SOURCES: tuple[ChainSource, ...] = (
    ChainSource(lambda name: name.startswith(JOURNAL_PREFIX), _journal_heads, _journal_hash_at),
    ChainSource(lambda name: name == AUDIT, lambda session: {AUDIT: audit_head(session)}, _audit_hash_at),
    ChainSource(lambda name: name == HISTORY, lambda session: {HISTORY: history_head(session)}, _history_hash_at),
)


def current_heads(session: Session) -> dict[str, ChainHead]:
    """The current head of every registered chain by name (``CHAIN_SOURCES``), names sorted."""
    heads: dict[str, ChainHead] = {}
    for source in CHAIN_SOURCES:
        heads.update(source.heads(session))
    return dict(sorted(heads.items()))


@dataclass(frozen=True)
class Heads:
    """Chain heads recorded outside the database, by chain name.

    ``kind``: where they were recorded (German: ``Kopfdatei``, ``Sicherung``,
    ``Verwendungsnachweis``); ``created_at``: when (None if unknown); ``database``: the
    database kind they were taken from (``sqlite``/``postgresql``, None if unknown).
    """

    heads: dict[str, ChainHead]
    kind: str
    created_at: datetime | None = None
    database: str | None = None


def heads_document(session: Session, *, now: datetime) -> dict[str, Any]:
    """A heads file's content (format ``inkl-heads`` 1, see the module docstring): the current
    head of every chain, ``now`` as its time, the database kind and its own SHA-256."""
    document = {
        "format": HEADS_FORMAT, "format_version": HEADS_VERSION, "created_at": now.isoformat(),
        "database": session.get_bind().dialect.name,
        "heads": {name: head_json(head) for name, head in current_heads(session).items()},
    }
    return {**document, "sha256": _document_sha256(document)}


def read_heads_document(data: Any) -> Heads:
    """Read a heads file's parsed JSON. Raises LedgerError (German) for another format or
    version, a damaged document, or content that no longer matches its SHA-256."""
    if not isinstance(data, dict) or data.get("format") != HEADS_FORMAT:
        raise LedgerError(f"keine Kopfdatei: Formatkennung {HEADS_FORMAT!r} fehlt")
    if type(data.get("format_version")) is not int or data["format_version"] != HEADS_VERSION:
        raise LedgerError(f"Kopfdatei Version {data.get('format_version')!r} wird nicht unterstützt "
                          f"(diese Version liest Version {HEADS_VERSION})")
    content = {key: value for key, value in data.items() if key != "sha256"}
    if data.get("sha256") != _document_sha256(content):
        raise LedgerError("Kopfdatei beschädigt oder verändert: ihr Inhalt passt nicht zu ihrer Prüfsumme (SHA-256)")
    try:
        if not isinstance(data["heads"], dict):
            raise ValueError("heads")
        return Heads(heads={str(name): head_from_json(head) for name, head in data["heads"].items()},
                     kind="Kopfdatei", created_at=datetime.fromisoformat(data["created_at"]),
                     database=str(data.get("database") or "") or None)
    except (KeyError, TypeError, ValueError) as exc:
        raise LedgerError(f"Kopfdatei beschädigt: {exc}") from exc


def head_json(head: ChainHead) -> dict[str, Any]:
    """A head as stored in heads files and backups: ``{"seq": 82, "hash": "…"}``."""
    return {"seq": head.seq, "hash": head.entry_hash}


def head_from_json(value: Any) -> ChainHead:
    """Read ``{"seq": …, "hash": …}``; ValueError if it is not one (seq a non-negative int, hash 64 hex digits)."""
    if (not isinstance(value, dict) or type(value.get("seq")) is not int or value["seq"] < 0
            or not isinstance(value.get("hash"), str) or len(value["hash"]) != 64):
        raise ValueError(f"Kettenkopf {value!r}")
    return ChainHead(value["seq"], value["hash"])


#: One head in a PDF's keywords: ``inkl-Kettenkopf journal:musterhausen Nr. 82 SHA-256 <64 hex>``.
KEYWORD_HEAD = re.compile(r"inkl-Kettenkopf (\S+) Nr\. (\d+) SHA-256 ([0-9a-f]{64})")


def heads_keywords(heads: dict[str, ChainHead]) -> str:
    """Chain heads as a PDF's keywords (``KEYWORD_HEAD``, joined by ``"; "``), read back by
    ``heads_from_keywords``; an issued statement records its journal head so."""
    return "; ".join(f"inkl-Kettenkopf {name} Nr. {head.seq} SHA-256 {head.entry_hash}"
                     for name, head in sorted(heads.items()))


def heads_from_keywords(keywords: str) -> dict[str, ChainHead]:
    """The chain heads in a PDF's keywords written by ``heads_keywords`` (empty if none)."""
    return {name: ChainHead(int(seq), digest) for name, seq, digest in KEYWORD_HEAD.findall(keywords)}


def _document_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(CANONICAL_JSON.encode(document).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class HeadFinding:
    """A recorded head compared with the books: its chain ``name``, the ``recorded`` head, the
    ``current`` head of that chain (None for an unknown chain), the ``state`` (``STATES``) and
    where it was recorded (``source``, German)."""

    name: str
    recorded: ChainHead
    current: ChainHead | None
    state: str
    source: str

    @property
    def ok(self) -> bool:
        """True when the recorded head is still part of the chain."""
        return self.state == "unchanged"

    @property
    def message(self) -> str:
        """A German sentence on this head (``Kette …: …``)."""
        chain = _chain_label(self.name)
        recorded = f"Nr. {self.recorded.seq} {self.recorded.entry_hash}"
        if self.state == "gone":
            return (f"{chain}: aufgezeichneter Kopf {recorded} fehlt, die Kette endet jetzt bei Nr. "
                    f"{self.current.seq} (Einträge gelöscht)")
        if self.state == "changed":
            return f"{chain}: Eintrag Nr. {self.recorded.seq} hat nicht mehr den aufgezeichneten SHA-256 (Kette neu geschrieben)"
        if self.state == "unknown":
            return f"{chain}: diese Kette kennt diese Version nicht, der Kopf {recorded} ist nicht prüfbar"
        return f"{chain}: Kopf {recorded} unverändert"

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable: name, source, state, recorded and current head."""
        return {"name": self.name, "source": self.source, "state": self.state, "ok": self.ok,
                "recorded": head_json(self.recorded),
                "current": None if self.current is None else head_json(self.current)}


def _chain_label(name: str) -> str:
    if name.startswith(JOURNAL_PREFIX):
        return f"Buchungskette {name.removeprefix(JOURNAL_PREFIX)}"
    if name == HISTORY:
        return "Versionskette der Stammdaten und Entscheidungen"
    return "Protokollkette" if name == AUDIT else f"Kette {name}"


def compare_heads(session: Session, recorded: dict[str, ChainHead], *, source: str,
                  current: dict[str, ChainHead] | None = None) -> list[HeadFinding]:
    """Compare each recorded head with the books (see the module docstring), in name order.

    A journal of a recipient that no longer exists counts as empty (``gone`` if anything was
    recorded). ``source``: where the heads were recorded (German, copied into each finding);
    ``current``: ``current_heads(session)`` if already at hand.
    """
    findings = []
    current = current_heads(session) if current is None else current
    for name, head in sorted(recorded.items()):
        chain = next((s for s in CHAIN_SOURCES if s.owns(name)), None)
        if chain is None:
            findings.append(HeadFinding(name, head, None, "unknown", source))
            continue
        now = current.get(name, ChainHead(0, GENESIS))
        if head.seq == 0:
            state = "unchanged"
        elif now.seq < head.seq:
            state = "gone"
        elif chain.hash_at(session, name, head.seq) != head.entry_hash:
            state = "changed"
        else:
            state = "unchanged"
        findings.append(HeadFinding(name, head, now, state, source))
    return findings


@dataclass(frozen=True)
class IntegrityReport:
    """Outcome of ``verify_books``.

    ``journals``: one ``ChainReport`` per recipient checked; ``audit_events``, ``audit_head``,
    ``audit_broken`` (first broken seq or None), ``audit_reason`` (German or None): the audit
    log; ``history``: the versions of master data and decisions (``ledger.core.history``);
    ``totals``: the kept account totals against a recomputation from the postings
    (``ledger.core.running_totals``); ``stray_postings``: how many postings have no entry and the ids of the first
    ``STRAY_LISTED``; ``statements``: the heads recorded by issued statements compared with the
    journals; ``against``: the heads given to compare with (None if none) and ``findings``,
    each of them compared.
    """

    journals: list[ChainReport]
    audit_events: int
    audit_head: ChainHead
    audit_broken: int | None
    audit_reason: str | None
    history: HistoryReport
    totals: TotalsCheck
    stray_postings: int
    stray_posting_ids: list[int]
    statements: list[HeadFinding]
    against: Heads | None = None
    findings: list[HeadFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every chain holds, the kept totals equal the postings, no posting lacks its entry
        and every recorded head is unchanged."""
        return (self.chains_ok and self.totals.ok and all(f.ok for f in self.statements)
                and all(f.ok for f in self.findings))

    @property
    def chains_ok(self) -> bool:
        """True when every chain holds on its own (whatever the recorded heads say)."""
        return (all(r.ok for r in self.journals) and self.audit_broken is None and self.history.ok
                and self.stray_postings == 0)

    def to_json(self) -> dict[str, Any]:
        """The report as ``inkl verify --json`` prints it (no floats)."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "journals": [{"recipient": r.recipient_key, "entries": r.entries, "ok": r.ok, "head": head_json(r.head),
                          "broken": None if r.ok else {"seq": r.broken_seq, "entry_id": r.broken_entry_id,
                                                       "reason": r.reason}} for r in self.journals],
            "audit_log": {"events": self.audit_events, "ok": self.audit_broken is None,
                          "head": head_json(self.audit_head),
                          "broken": None if self.audit_broken is None else {"seq": self.audit_broken,
                                                                            "reason": self.audit_reason}},
            "history": {"versions": self.history.versions, "ok": self.history.ok,
                        "head": head_json(self.history.head),
                        "broken": None if self.history.ok else {
                            "seq": self.history.broken_seq,
                            "reason": self.history.reason or self.history.findings[0],
                            "findings": list(self.history.findings)}},
            "totals": self.totals.as_json(),
            "postings_without_entry": {"count": self.stray_postings, "ids": self.stray_posting_ids},
            "issued_statements": [f.to_json() for f in self.statements],
            "against": None,
        }
        if self.against is not None:
            data["against"] = {
                "kind": self.against.kind, "database": self.against.database,
                "created_at": None if self.against.created_at is None else self.against.created_at.isoformat(),
                "ok": all(f.ok for f in self.findings), "heads": [f.to_json() for f in self.findings],
            }
        return data


def verify_books(session: Session, *, recipient_key: str | None = None, against: Heads | None = None,
                 category_label: Callable[[str], str] | None = None) -> IntegrityReport:
    """Check the books' integrity: every journal chain (or only ``recipient_key``'s), the audit log's
    chain, postings without an entry, the heads issued statements recorded and, with ``against``,
    every head recorded there (only the journal of ``recipient_key`` and the chains that are no
    journal when a recipient is given). ``category_label(category id)`` names
    categories in the totals' findings (``ledger.core.running_totals.verify_totals``).

    Reads only. Raises NotFound for an unknown ``recipient_key``.
    """
    targets = [get_recipient(session, recipient_key)] if recipient_key else list_recipients(session)
    journals = [verify_chain(session, target) for target in targets]
    events, head, broken, reason = verify_audit_log(session)
    history = verify_history(session)
    totals = verify_totals(session, category_label=category_label)
    stray = select(Posting.id).outerjoin(JournalEntry, Posting.entry_id == JournalEntry.id).where(JournalEntry.id.is_(None))
    if recipient_key:
        stray = stray.join(Account, Posting.account_id == Account.id).where(Account.recipient_id == targets[0].id)
    stray_count = session.scalar(select(func.count()).select_from(stray.subquery()))
    stray_ids = list(session.scalars(stray.order_by(Posting.id).limit(STRAY_LISTED)))
    current = current_heads(session)
    statements = _statement_heads(session, [t.id for t in targets], current)
    findings: list[HeadFinding] = []
    if against is not None:
        wanted = against.heads
        if recipient_key:
            wanted = {name: h for name, h in wanted.items()
                      if not name.startswith(JOURNAL_PREFIX) or name == journal_name(recipient_key)}
        findings = compare_heads(session, wanted, source=against.kind, current=current)
    return IntegrityReport(journals, events, head, broken, reason, history, totals, stray_count, stray_ids, statements, against,
                           findings)


def _statement_heads(session: Session, recipient_ids: list[int], current: dict[str, ChainHead]) -> list[HeadFinding]:
    """The journal head each issued statement of these recipients recorded, compared with the journal."""
    rows = session.execute(
        select(Recipient.key, IssuedStatement.school_year, IssuedStatement.number, IssuedStatement.chain_seq,
               IssuedStatement.chain_hash)
        .join(Recipient, IssuedStatement.recipient_id == Recipient.id)
        .where(IssuedStatement.recipient_id.in_(recipient_ids))
        .order_by(Recipient.key, IssuedStatement.school_year, IssuedStatement.number)).all()
    findings = []
    for key, year, number, seq, digest in rows:
        findings += compare_heads(session, {journal_name(key): ChainHead(seq, digest)},
                                  source=f"Verwendungsnachweis Nr. {number} {year}", current=current)
    return findings
