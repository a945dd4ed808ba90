"""Posting journal entries: balanced, exact, never edited; corrections are reversals."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.booking import JournalWriter, NewEntry
from ledger.core.characters import forbidden_character_message
from ledger.core.errors import LedgerError, NotFound, UnbalancedEntry
from ledger.core.models import Account, JournalEntry, Posting, Recipient
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.periods import ensure_open
from ledger.core.schoolyear import SchoolYear


@dataclass(frozen=True)
class PostingLine:
    """One line of an entry to be posted.

    ``amount`` is EUR, positive for a debit (Soll), negative for a credit (Haben).
    ``category`` only on expense accounts; ``school_year`` the year the amount belongs to.
    """

    account: Account
    amount: Decimal
    school_year: SchoolYear
    category: str | None = None
    cost_centre: str | None = None


def post_entry(
    session: Session,
    recipient: Recipient,
    *,
    day: date,
    voucher_number: str,
    text: str,
    lines: list[PostingLine],
    kind: str,
    created_by: str,
    now: datetime,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Post a journal entry for ``recipient`` and return it (written, not committed).

    The entry is written by ``ledger.core.booking`` (linked into the recipient's hash chain,
    ``ledger.core.chain``); writers of the same recipient are serialised (``lock_recipient``)
    until the caller commits.

    Raises:
        UnbalancedEntry: fewer than two lines, a zero line, or lines not summing to 0,00 EUR.
        AmountTooLarge: a line above ``ledger.core.money.MAX_AMOUNT`` (either sign).
        LedgerError: an account of another recipient, a category on a non-expense
            account, an empty voucher number or text, or a closed school year.
    """
    if len(lines) < 2:
        raise UnbalancedEntry("eine Buchung braucht mindestens zwei Buchungszeilen")
    cents = [checked_cents(line.amount) for line in lines]
    if any(c == 0 for c in cents):
        raise UnbalancedEntry("Buchungszeilen mit 0,00 EUR sind nicht zulässig")
    if sum(cents) != 0:
        raise UnbalancedEntry(f"Soll und Haben weichen um {format_german(abs(from_cents(sum(cents))))} EUR voneinander ab")
    voucher_number, text = voucher_number.strip(), text.strip()
    if not voucher_number or not text:
        raise LedgerError("Belegnummer und Buchungstext sind Pflichtangaben")
    if len(voucher_number) > 60 or len(text) > 500:
        raise LedgerError("Belegnummer höchstens 60, Buchungstext höchstens 500 Zeichen")
    for label, value in (("Belegnummer", voucher_number), ("Buchungstext", text),
                         *(("Kostenstelle", line.cost_centre or "") for line in lines)):
        if message := forbidden_character_message(value):
            raise LedgerError(f"{label} {message}")
    for line in lines:
        if line.account.recipient_id != recipient.id:
            raise LedgerError(f"Konto {line.account.number} gehört nicht zu {recipient.key}")
        if line.category is not None and line.account.type != "expense":
            raise LedgerError(f"Kategorie nur auf Aufwandskonten zulässig (Konto {line.account.number})")
    lock_recipient(session, recipient)
    ensure_open(session, recipient, day, {str(line.school_year) for line in lines})
    writer = JournalWriter(session, recipient, created_by=created_by, now=now)
    [entry_id] = writer.book([NewEntry(
        day, voucher_number, text, kind, reverses=reverses,
        lines=[(line.account, c, str(line.school_year), line.category, line.cost_centre)
               for line, c in zip(lines, cents)])])
    return session.get(JournalEntry, entry_id)


def lock_recipient(session: Session, recipient: Recipient) -> None:
    """Serialise writers of one recipient's books until the transaction ends.

    PostgreSQL: a row lock on the recipient (``SELECT … FOR UPDATE``). SQLite: nothing to
    do, its write transactions start with ``BEGIN IMMEDIATE`` (``ledger.core.db.make_engine``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Recipient.id).where(Recipient.id == recipient.id).with_for_update())


def reverse_entry(
    session: Session, entry: JournalEntry, *, day: date, reason: str, created_by: str, now: datetime
) -> JournalEntry:
    """Post the reversal (Storno) of ``entry``: the same postings with opposite signs.

    Category, school year and cost centre are kept, so the reversal cancels the entry
    in every report. Raises LedgerError if ``entry`` is itself a reversal or was
    reversed already, or if ``reason`` is empty.
    """
    if not reason.strip():
        raise LedgerError("ein Storno braucht eine Begründung")
    if entry.reverses_id is not None:
        raise LedgerError(f"Buchung {entry.id} ist selbst ein Storno")
    if find_reversal(session, entry) is not None:
        raise LedgerError(f"Buchung {entry.id} wurde bereits storniert")
    lines = [
        PostingLine(p.account, -from_cents(p.amount_cents), SchoolYear.parse(p.school_year),
                    p.category, p.cost_centre)
        for p in entry.postings
    ]
    reversal = post_entry(
        session, entry.recipient, day=day, voucher_number=f"ST-{entry.voucher_number}"[:60],
        text=f"Storno: {entry.text} ({reason.strip()})"[:500], lines=lines, kind="reversal",
        created_by=created_by, now=now, reverses=entry,
    )
    audit.record(session, actor=created_by, action="reversal", now=now, recipient=entry.recipient,
                 details={"entry": entry.id, "reversal": reversal.id, "reason": reason.strip()})
    return reversal


def find_reversal(session: Session, entry: JournalEntry) -> JournalEntry | None:
    """The entry that reverses ``entry`` (its Storno), or None if it was not reversed."""
    return session.scalar(select(JournalEntry).where(JournalEntry.reverses_id == entry.id))


def get_entry(session: Session, recipient: Recipient, entry_id: int) -> JournalEntry:
    """The recipient's journal entry ``entry_id``. Raises NotFound (also for another recipient's entry)."""
    entry = session.get(JournalEntry, entry_id)
    if entry is None or entry.recipient_id != recipient.id:
        raise NotFound(f"Buchung {entry_id} nicht gefunden")
    return entry


def account_balance(session: Session, account: Account, school_year: SchoolYear | None = None) -> Decimal:
    """Balance of ``account`` in EUR (debits minus credits), optionally for one school year.

    Summed in SQL over integer cents, so exact on every database.
    """
    query = select(func.coalesce(func.sum(Posting.amount_cents), 0)).where(Posting.account_id == account.id)
    if school_year is not None:
        query = query.where(Posting.school_year == str(school_year))
    return from_cents(session.scalar(query))
