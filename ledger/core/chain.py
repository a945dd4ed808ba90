"""Tamper evidence: a hash chain over each recipient's journal entries.

Every journal entry carries ``seq`` (1, 2, … per recipient), ``prev_hash`` (the previous
entry's hash, 64 zeros for the first) and ``entry_hash`` = SHA-256 of ``prev_hash``
followed by the entry's canonical content (date, voucher, text, kind, creator, creation
time, the hash of the entry it reverses, and every posting's account number, cents,
school year, category and cost centre). Changing any of it, or removing or reordering
an entry, breaks every later link; ``verify_chain`` finds the first broken one. The
database refuses a ``prev_hash`` that is not the previous entry's hash (migration 0002).
The head (last ``seq`` and hash) printed on a settlement statement lets an auditor
check later that the books behind it are unchanged.

Columns stored but not hashed are checked against what the link covers, so that none can
be changed unnoticed while the link formula stays as it was (a new formula would break every
existing chain and every head already handed out): a posting's ``date`` must equal its
entry's date (the writer copies it, migration 0009), its account must exist and belong to the
entry's recipient (the link hashes the account's number, which is unique only within a
recipient), and an entry that reverses another must point to an earlier entry of the same
journal (the link hashes the reversed entry's hash). ``verify_chain`` reports a violation as
a broken link at that entry. Postings without an entry belong to no link; see
``ledger.core.integrity``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.models import Account, JournalEntry, Posting, Recipient

GENESIS = "0" * 64
#: The canonical JSON of the chains (journal entries, heads files, versions): sorted keys, no spaces, UTF-8 text as is.
CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_encode_text = json.encoder.encode_basestring


@dataclass(frozen=True)
class ChainHead:
    """The newest link of a recipient's chain: ``seq`` (0 for an empty journal) and its hash."""

    seq: int
    entry_hash: str


@dataclass(frozen=True)
class ChainReport:
    """Outcome of ``verify_chain``: entries checked, the head, and the first broken link if any.

    ``broken_seq`` / ``broken_entry_id`` / ``reason`` (German) are None when the chain holds.
    """

    recipient_key: str
    entries: int
    head: ChainHead
    broken_seq: int | None = None
    broken_entry_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken_seq is None


def link_hash(
    prev_hash: str, *, recipient_key: str, seq: int, day: date, voucher_number: str, text: str, kind: str,
    created_by: str, created_at: datetime, reverses_hash: str | None,
    postings: Iterable[tuple[str, int, str, str | None, str | None]],
) -> str:
    """SHA-256 (hex) of ``prev_hash`` and the entry's canonical JSON.

    ``postings``: (account number, amount in cents, school year, category, cost centre)
    in posting order. The JSON is that of ``json`` with sorted keys, no spaces and UTF-8
    text as is (``CANONICAL_JSON``), written out field by field (the encoder's own string
    escaping, ``encode_basestring``): the same bytes for about two thirds of the cost.
    """
    canonical = "".join((
        '{"created_at":', _text(created_at.isoformat()), ',"created_by":', _json(created_by),
        ',"date":', _text(day.isoformat()), ',"kind":', _json(kind),
        ',"postings":[', ",".join(["[" + ",".join([_json(value) for value in posting]) + "]" for posting in postings]),
        '],"recipient":', _json(recipient_key), ',"reverses":', _json(reverses_hash),
        ',"seq":', _json(seq), ',"text":', _json(text), ',"voucher":', _json(voucher_number), "}"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _text(value: str) -> str:
    return '"' + value + '"'     # ISO dates and times: nothing to escape


def _json(value) -> str:
    """``value`` as ``CANONICAL_JSON`` writes it (text, whole numbers and None directly, anything else through it)."""
    kind = type(value)
    if kind is str:
        return _encode_text(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return CANONICAL_JSON.encode(value)


def chain_head(session: Session, recipient: Recipient) -> ChainHead:
    """The recipient's newest link; ``ChainHead(0, GENESIS)`` for an empty journal."""
    row = session.execute(
        select(JournalEntry.seq, JournalEntry.entry_hash)
        .where(JournalEntry.recipient_id == recipient.id).order_by(JournalEntry.seq.desc()).limit(1)
    ).first()
    return ChainHead(0, GENESIS) if row is None else ChainHead(row.seq, row.entry_hash)


def verify_chain(session: Session, recipient: Recipient) -> ChainReport:
    """Recompute every link of ``recipient``'s chain, in ``seq`` order, streaming.

    Reports the first entry whose ``seq`` skips, whose ``prev_hash`` is not the previous
    hash, or whose content no longer matches its ``entry_hash``.
    """
    prev = GENESIS
    expected_seq = 1
    entries = session.execute(
        select(JournalEntry).where(JournalEntry.recipient_id == recipient.id)
        .order_by(JournalEntry.seq).execution_options(yield_per=1000)
    ).scalars()
    postings = _ChainPostings(session, recipient)
    count = 0
    for entry in entries:
        count += 1
        problem = None
        lines = postings.of(entry.id)
        if entry.seq != expected_seq:
            problem = f"Lücke in der Kette: erwartet Nr. {expected_seq}, gefunden Nr. {entry.seq}"
        elif entry.prev_hash != prev:
            problem = "Verweis auf den Vorgänger stimmt nicht (Buchung entfernt oder eingefügt?)"
        else:
            problem = _unhashed_columns(session, recipient, entry, lines)
        if problem is None:
            recomputed = link_hash(
                prev, recipient_key=recipient.key, seq=entry.seq, day=entry.date,
                voucher_number=entry.voucher_number, text=entry.text, kind=entry.kind,
                created_by=entry.created_by, created_at=entry.created_at,
                reverses_hash=reversed_hash(session, entry.reverses_id),
                postings=[line.hashed for line in lines],
            )
            if recomputed != entry.entry_hash:
                problem = "Inhalt der Buchung oder ihrer Buchungszeilen wurde verändert"
        if problem:
            return ChainReport(recipient.key, count, chain_head(session, recipient), entry.seq, entry.id, problem)
        prev = entry.entry_hash
        expected_seq += 1
    return ChainReport(recipient.key, count, ChainHead(expected_seq - 1, prev))


def _unhashed_columns(session: Session, recipient: Recipient, entry: JournalEntry,
                      lines: list["_Line"]) -> str | None:
    """Why a column the link does not hash disagrees with what it covers (German), or None.

    Checked: every posting's date equals the entry's, its account exists and is the
    recipient's own, and a reversal points to an earlier entry of the same journal.
    """
    for line in lines:
        if line.number is None:
            return "Buchungszeile verweist auf ein Konto, das es nicht gibt"
        if line.account_recipient_id != recipient.id:
            return "Buchungszeile steht auf dem Konto eines anderen Empfängers"
        if line.date != entry.date:
            return "Datum einer Buchungszeile weicht vom Datum der Buchung ab"
    if entry.reverses_id is not None:
        target = session.execute(select(JournalEntry.recipient_id, JournalEntry.seq)
                                 .where(JournalEntry.id == entry.reverses_id)).first()
        if target is None or target.recipient_id != recipient.id or target.seq >= entry.seq:
            return "Stornobuchung verweist nicht auf eine frühere Buchung desselben Journals"
    return None


def reversed_hash(session: Session, reverses_id: int | None) -> str | None:
    """The stored hash of the entry a reversal cancels (earlier in the chain), or None."""
    if reverses_id is None:
        return None
    return session.scalar(select(JournalEntry.entry_hash).where(JournalEntry.id == reverses_id))


@dataclass(frozen=True)
class _Line:
    """A posting as the chain reads it: what the link hashes, and the columns checked against it."""

    hashed: tuple[str | None, int, str, str | None, str | None]
    number: str | None
    account_recipient_id: int | None
    date: date | None


class _ChainPostings:
    """All of a recipient's postings in one streamed query, in chain order (entry seq, posting id).

    ``of(entry_id)`` returns the postings of the next entry; entries must be asked for in
    ``seq`` order. One query instead of one per entry. A posting whose account is missing
    has ``number`` None (an outer join, so that it is reported, not silently left out).
    """

    def __init__(self, session: Session, recipient: Recipient) -> None:
        self._rows = iter(session.execute(
            select(Posting.entry_id, Account.number, Posting.amount_cents, Posting.school_year, Posting.category,
                   Posting.cost_centre, Account.recipient_id, Posting.date)
            .outerjoin(Account, Posting.account_id == Account.id)
            .join(JournalEntry, Posting.entry_id == JournalEntry.id)
            .where(JournalEntry.recipient_id == recipient.id)
            .order_by(JournalEntry.seq, Posting.id).execution_options(yield_per=5000)
        ))
        self._pending = next(self._rows, None)

    def of(self, entry_id: int) -> list[_Line]:
        found = []
        while self._pending is not None and self._pending[0] == entry_id:
            row = self._pending
            found.append(_Line(hashed=tuple(row[1:6]), number=row[1], account_recipient_id=row[6], date=row[7]))
            self._pending = next(self._rows, None)
        return found
