"""Bank entries parked by a statement import, and the officer's decision on each.

A camt.053 import parks the entries no rule of its profile could place
(``ledger.read.importer``; ``ParkedBankEntry``, append-only). The officer books one against
a counter account (``book_parked``): a journal entry between the statement's bank account
and that account, linked to the entry's identity as an imported row, so that importing the
statement again finds it booked. An entry can also be resolved by importing its statement
again once a rule places it (a new rule in the profile) or once what it pays is recorded
(the grant's payout, the confirmed repayment): the import books it then.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import ImportedRow, JournalEntry, ParkedBankEntry, Recipient
from ledger.core.money import from_cents
from ledger.core.posting import PostingLine, lock_recipient, post_entry
from ledger.core.recipients import find_account
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import RulePack, load_packs, pack_for

#: Roles whose bookings have their own workflow: payouts (recorded with the grant) and repayments.
_OWN_WORKFLOW = {"grant_revenue": "Auszahlungen des Landes bitte bei der Zuwendung erfassen und den Auszug erneut "
                                  "importieren",
                 "repayment_liability": "Rückzahlungen bitte bestätigen und den Auszug erneut importieren",
                 "repayment_charge": "dieses Konto bebucht nur die Rückzahlung"}


@dataclass(frozen=True)
class ParkedItem:
    """A parked entry and, once booked, the journal entry it became (``entry_id``)."""

    parked: ParkedBankEntry
    entry_id: int | None

    @property
    def open(self) -> bool:
        """True while no journal entry was booked for it."""
        return self.entry_id is None


def parked_entries(session: Session, recipient: Recipient, *, open_only: bool = True) -> list[ParkedItem]:
    """The recipient's parked bank entries by date, each with the entry booked for it; only the
    open ones unless ``open_only`` is False."""
    rows = session.execute(
        select(ParkedBankEntry, ImportedRow.entry_id)
        .outerjoin(ImportedRow, (ImportedRow.recipient_id == ParkedBankEntry.recipient_id)
                   & (ImportedRow.row_key == ParkedBankEntry.row_key))
        .where(ParkedBankEntry.recipient_id == recipient.id)
        .order_by(ParkedBankEntry.date, ParkedBankEntry.id))
    items = [ParkedItem(parked, entry_id) for parked, entry_id in rows]
    return [item for item in items if item.open] if open_only else items


def get_parked(session: Session, recipient: Recipient, parked_id: int) -> ParkedItem:
    """The recipient's parked entry ``parked_id``. Raises NotFound."""
    for item in parked_entries(session, recipient, open_only=False):
        if item.parked.id == parked_id:
            return item
    raise NotFound(f"zurückgestellter Kontoumsatz Nr. {parked_id} von {recipient.name} nicht gefunden")


def book_parked(session: Session, recipient: Recipient, parked_id: int, *, counter_account: str,
                category: str | None = None, cost_centre: str | None = None, school_year: SchoolYear | None = None,
                text: str | None = None, user: str, now: datetime, packs: tuple[RulePack, ...] | None = None
                ) -> JournalEntry:
    """Book the parked entry ``parked_id`` against ``counter_account`` (a number of the chart):
    money in debits the bank account and credits the counter account, money out the reverse.
    ``school_year`` defaults to that of the booking date; ``category`` (a category id of the
    pack in force) only on an expense account; ``text`` defaults to counterparty and remittance.
    Audited as ``bank_entry_book``.

    Raises NotFound (unknown entry or account), LedgerError (already booked, the bank account
    itself, an account with its own workflow, an unknown category, a closed year).
    """
    lock_recipient(session, recipient)
    item = get_parked(session, recipient, parked_id)
    if not item.open:
        raise LedgerError(f"der Kontoumsatz Nr. {parked_id} ist bereits gebucht (Buchung Nr. {item.entry_id})")
    parked = item.parked
    account = find_account(session, recipient, counter_account)
    if account is None:
        raise NotFound(f"Konto {counter_account} gibt es im Kontenplan von {recipient.name} nicht")
    if account.id == parked.account_id:
        raise LedgerError("das Gegenkonto ist das Bankkonto des Auszugs selbst")
    if account.role in _OWN_WORKFLOW:
        raise LedgerError(_OWN_WORKFLOW[account.role])
    year = school_year or SchoolYear.of(parked.date)
    if category is not None:
        if account.type != "expense":
            raise LedgerError("eine Kategorie ist nur bei Buchungen auf Aufwandskonten zulässig")
        if not pack_for(INKLUSIONSPAUSCHALE, year, packs or load_packs()).has_category(category):
            raise LedgerError(f"unbekannte Kategorie {category!r}")
    amount = from_cents(parked.amount_cents)
    counter_category = (category or account.category) if account.type == "expense" else None
    entry = post_entry(
        session, recipient, day=parked.date, voucher_number=_voucher(parked), text=text or _text(parked),
        lines=[PostingLine(parked.account, amount, year),
               PostingLine(account, -amount, year, counter_category, cost_centre)],
        kind="import", created_by=user, now=now)
    session.add(ImportedRow(recipient_id=recipient.id, row_key=parked.row_key, content_hash=parked.content_hash,
                            batch_id=parked.batch_id, line=parked.line, entry_id=entry.id))
    session.flush()
    audit.record(session, actor=user, action="bank_entry_book", now=now, recipient=recipient,
                 details={"parked_entry": parked.id, "entry": entry.id, "number": counter_account,
                          "amount": str(amount), "school_year": str(year), "category": category})
    return entry


def _voucher(parked: ParkedBankEntry) -> str:
    return (parked.reference or f"Kontoumsatz {parked.id}")[:60]


def _text(parked: ParkedBankEntry) -> str:
    text = ": ".join(part for part in (parked.counterparty, parked.remittance) if part)
    return (text or "Kontoumsatz")[:500]
