"""Overrides: an officer's own classification of one expense posting, with a written justification.

The rules engine (``ledger.rules.classify``) decides from category and master data; where an
officer knows better (a document the master data cannot express), she overrides the
result for one posting. An override records who, when and why, is applied on every
later evaluation (so re-running the rules never silently loses it), and is listed on the
settlement statement. Overrides are append-only: withdrawing one is a new record with
its own justification. A reversal posting follows the override of the posting it
reverses, so that the two still cancel.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import Account, JournalEntry, Override, Posting, Recipient, User
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.periods import closed_years
from ledger.core.posting import lock_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import require_role
from ledger.rules.status import OVERRIDE_STATUSES, Status

MIN_JUSTIFICATION = 20
"""Characters a written justification needs at least (stripped)."""



@dataclass(frozen=True)
class OverrideRecord:
    """An override as shown in lists: ids, posting and voucher, EUR amounts, status, the
    justification, who and when; ``withdrawn_*`` set when it was withdrawn (and why)."""

    id: int
    posting_id: int
    voucher_number: str
    day: object
    school_year: str
    amount: Decimal
    status: str
    conform: Decimal
    justification: str
    created_by: str
    created_at: datetime
    withdrawn_by: str | None = None
    withdrawn_at: datetime | None = None
    withdrawal_justification: str | None = None

    @property
    def active(self) -> bool:
        """Whether the override still applies (not withdrawn)."""
        return self.withdrawn_at is None

    def as_dict(self) -> dict:
        """JSON-ready: amounts as strings, timestamps ISO 8601."""
        return {"id": self.id, "posting_id": self.posting_id, "voucher_number": self.voucher_number,
                "date": self.day.isoformat(), "school_year": self.school_year, "amount": str(self.amount),
                "status": self.status, "conform": str(self.conform), "justification": self.justification,
                "created_by": self.created_by, "created_at": self.created_at.isoformat(), "active": self.active,
                "withdrawn_by": self.withdrawn_by,
                "withdrawn_at": self.withdrawn_at.isoformat() if self.withdrawn_at else None,
                "withdrawal_justification": self.withdrawal_justification}


def add_override(session: Session, recipient: Recipient, posting_id: int, *, status: str, user: User,
                 justification: str, now: datetime, conform: Decimal | None = None) -> Override:
    """Override the classification of expense posting ``posting_id`` of ``recipient``.

    ``status``: ``permitted`` (the whole amount is purpose-conform), ``excluded`` (none of
    it) or ``split`` with ``conform`` the conform part in EUR (same sign as the posting,
    strictly between zero and its amount). Requires an officer or admin and a
    justification of at least ``MIN_JUSTIFICATION`` characters. Raises LedgerError if the
    posting is unknown, not an expense of ``recipient``, a reversal (override the posting
    it reverses), in a closed school year, or already overridden (withdraw that first).
    """
    require_role(user, "officer", "admin")
    text = _justification(justification)
    lock_recipient(session, recipient)  # before the "already overridden" check: two officers, one override
    posting, entry = _expense_posting(session, recipient, posting_id)
    if entry.reverses_id is not None:
        raise LedgerError(f"Buchungszeile {posting_id} ist ein Storno; bitte die stornierte Buchung "
                          f"(Beleg {entry.reverses.voucher_number}) abweichend einstufen")
    _ensure_open(session, recipient, posting.school_year)
    existing = active_overrides(session, recipient, SchoolYear.parse(posting.school_year)).get(posting_id)
    if existing is not None:
        raise LedgerError(f"Buchungszeile {posting_id} ist bereits abweichend eingestuft (Nr. {existing.id}); "
                          "zuerst zurücknehmen")
    conform_cents = _conform_cents(status, posting.amount_cents, conform)
    override = Override(recipient_id=recipient.id, posting_id=posting_id, status=status, conform_cents=conform_cents,
                        justification=text, created_by=user.username, created_at=now)
    session.add(override)
    session.flush()
    audit.record(session, actor=user.username, action="override_add", now=now, recipient=recipient,
                 details={"override": override.id, "posting": posting_id, "voucher": entry.voucher_number,
                          "status": status, "conform": str(from_cents(conform_cents)), "justification": text})
    return override


def withdraw_override(session: Session, recipient: Recipient, override_id: int, *, user: User,
                      justification: str, now: datetime) -> Override:
    """Withdraw override ``override_id``: a new record; the rules engine decides again.

    Requires an officer or admin and a justification. Raises LedgerError if the override
    is unknown, not ``recipient``'s, already withdrawn, or in a closed school year.
    """
    require_role(user, "officer", "admin")
    text = _justification(justification)
    lock_recipient(session, recipient)
    original = session.get(Override, override_id)
    if original is None or original.recipient_id != recipient.id or original.status is None:
        raise LedgerError(f"abweichende Einstufung Nr. {override_id} gibt es für {recipient.key} nicht")
    if session.scalar(select(Override.id).where(Override.withdraws_id == override_id)) is not None:
        raise LedgerError(f"abweichende Einstufung Nr. {override_id} ist bereits zurückgenommen")
    _ensure_open(session, recipient, original.posting.school_year)
    withdrawal = Override(recipient_id=recipient.id, posting_id=original.posting_id, justification=text,
                          created_by=user.username, created_at=now, withdraws_id=override_id)
    session.add(withdrawal)
    session.flush()
    audit.record(session, actor=user.username, action="override_withdraw", now=now, recipient=recipient,
                 details={"override": override_id, "posting": original.posting_id, "justification": text})
    return withdrawal


def active_overrides(session: Session, recipient: Recipient, school_year: SchoolYear) -> dict[int, Override]:
    """The overrides in force for ``recipient``'s postings of ``school_year``, by posting id."""
    withdrawn = select(Override.withdraws_id).where(Override.withdraws_id.is_not(None))
    rows = session.scalars(
        select(Override).join(Posting, Override.posting_id == Posting.id)
        .where(Override.recipient_id == recipient.id, Override.status.is_not(None),
               Posting.school_year == str(school_year), Override.id.not_in(withdrawn))
    )
    return {o.posting_id: o for o in rows}


def active_overrides_of(session: Session, recipient_ids: list[int]) -> dict[int, dict[str, dict[int, Override]]]:
    """``active_overrides`` of every school year of each recipient of ``recipient_ids`` in one
    query: recipient id → school year (``"2023/24"``) → posting id → override; recipients
    without any are missing."""
    withdrawn = select(Override.withdraws_id).where(Override.withdraws_id.is_not(None))
    found: dict[int, dict[str, dict[int, Override]]] = {}
    for override, year in session.execute(
            select(Override, Posting.school_year).join(Posting, Override.posting_id == Posting.id)
            .where(Override.recipient_id.in_(recipient_ids), Override.status.is_not(None),
                   Override.id.not_in(withdrawn))):
        found.setdefault(override.recipient_id, {}).setdefault(year, {})[override.posting_id] = override
    return found


def list_overrides(session: Session, recipient: Recipient, school_year: SchoolYear | None = None) -> list[OverrideRecord]:
    """Every override of ``recipient`` (of ``school_year`` if given), withdrawn ones included, oldest first."""
    query = (
        select(Override, Posting, JournalEntry)
        .join(Posting, Override.posting_id == Posting.id).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .where(Override.recipient_id == recipient.id).order_by(Override.id)
    )
    if school_year is not None:
        query = query.where(Posting.school_year == str(school_year))
    rows = session.execute(query).all()
    withdrawals = {o.withdraws_id: o for o, _, _ in rows if o.withdraws_id is not None}
    records = []
    for override, posting, entry in rows:
        if override.status is None:
            continue
        undo = withdrawals.get(override.id)
        records.append(OverrideRecord(
            override.id, posting.id, entry.voucher_number, entry.date, posting.school_year,
            from_cents(posting.amount_cents), override.status, from_cents(override.conform_cents),
            override.justification, override.created_by, override.created_at,
            undo.created_by if undo else None, undo.created_at if undo else None, undo.justification if undo else None))
    return records


def _justification(text: str) -> str:
    text = " ".join((text or "").split())
    if len(text) < MIN_JUSTIFICATION:
        raise LedgerError(f"eine abweichende Einstufung braucht eine schriftliche Begründung "
                          f"(mindestens {MIN_JUSTIFICATION} Zeichen)")
    return text


def _expense_posting(session: Session, recipient: Recipient, posting_id: int) -> tuple[Posting, JournalEntry]:
    row = session.execute(
        select(Posting, JournalEntry, Account.type).join(JournalEntry, Posting.entry_id == JournalEntry.id)
        .join(Account, Posting.account_id == Account.id).where(Posting.id == posting_id)
    ).first()
    if row is None or row[1].recipient_id != recipient.id:
        raise LedgerError(f"Buchungszeile {posting_id} gibt es für {recipient.key} nicht")
    if row[2] != "expense":
        raise LedgerError(f"Buchungszeile {posting_id} ist keine Aufwandsbuchung; nur Ausgaben werden eingestuft")
    return row[0], row[1]


def _ensure_open(session: Session, recipient: Recipient, school_year: str) -> None:
    if school_year in closed_years(session, recipient):
        raise LedgerError(f"Schuljahr {school_year} ist abgeschlossen; Einstufungen sind nicht mehr änderbar")


def _conform_cents(status: str, amount_cents: int, conform: Decimal | None) -> int:
    if status == Status.PERMITTED:
        return amount_cents
    if status == Status.EXCLUDED:
        return 0
    if status != Status.SPLIT:
        raise LedgerError(f"unbekannte Einstufung {status!r}: erlaubt sind {', '.join(OVERRIDE_STATUSES)}")
    if conform is None:
        raise LedgerError("eine teilweise zulässige Einstufung braucht den zulässigen Betrag")
    cents = checked_cents(conform)
    if not (0 < abs(cents) < abs(amount_cents)) or (cents > 0) != (amount_cents > 0):
        raise LedgerError(f"der zulässige Betrag {format_german(conform)} EUR muss zwischen 0 und "
                          f"{format_german(from_cents(amount_cents))} EUR liegen")
    return cents
