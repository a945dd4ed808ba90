"""Grants (Festsetzungsbescheid) and their payouts (Auszahlungen).

Each payout is booked exactly once as a journal entry: debit bank, credit grant
revenue. A bank receipt for the same payout found in a finance-system import is
recognised as that payout (``find_payout_for_receipt``), never counted twice.
Source: seed 002_17056edfca8550ce.txt § 1 (1) (grant fixed by Festsetzungsbescheid).

A grant belongs to a funding programme (``Grant.programme``, the key its rule packs carry
in ``[pack] programme``); a recipient has at most one grant per programme and school year.
Today there is one programme, the Inklusionspauschale (``INKLUSIONSPAUSCHALE``), the default.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import Grant, ImportedRow, JournalEntry, Payout, Recipient
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import role_account
from ledger.core.schoolyear import SchoolYear

#: The key of the Inklusionspauschale (§ 2 Abs. 2 InklFöG NRW) as a funding programme: the
#: ``[pack] programme`` of its rule packs (``rules/inklfoeg-nrw-*.toml``) and ``grants.programme``.
INKLUSIONSPAUSCHALE = "inklusionspauschale"
#: An imported bank receipt is recognised as a payout of the same amount booked within this many days.
PAYOUT_MATCH_DAYS = 14


def add_grant(
    session: Session, recipient: Recipient, school_year: SchoolYear, assessed: Decimal,
    *, notice_date: date | None = None, actor: str, now: datetime, programme: str = INKLUSIONSPAUSCHALE,
) -> Grant:
    """Record the assessed grant (EUR) of ``recipient`` for ``school_year`` in ``programme``
    (a programme key, default the Inklusionspauschale).

    Raises LedgerError if the amount is not positive or a grant of that programme for that
    year exists, AmountTooLarge above ``ledger.core.money.MAX_AMOUNT``.
    """
    if assessed <= 0:
        raise LedgerError("der festgesetzte Betrag muss positiv sein")
    assessed_cents = checked_cents(assessed)
    if find_grant(session, recipient, school_year, programme=programme) is not None:
        raise LedgerError(f"für {recipient.key} ist für {school_year} bereits eine Pauschale erfasst")
    grant = Grant(recipient_id=recipient.id, programme=programme, school_year=str(school_year),
                  assessed_cents=assessed_cents, notice_date=notice_date)
    session.add(grant)
    session.flush()
    audit.record(session, actor=actor, action="grant_add", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "assessed": str(assessed),
                          "notice_date": None if notice_date is None else notice_date.isoformat()})
    return grant


def find_grant(session: Session, recipient: Recipient, school_year: SchoolYear, *,
               programme: str = INKLUSIONSPAUSCHALE) -> Grant | None:
    """The grant of ``recipient`` for ``school_year`` in ``programme`` (a programme key,
    default the Inklusionspauschale), or None."""
    return session.scalar(select(Grant).where(
        Grant.recipient_id == recipient.id, Grant.programme == programme, Grant.school_year == str(school_year)))


@dataclass(frozen=True)
class PayoutVoucher:
    """A payout as a list shows it: booking ``date``, its journal entry (``entry_id`` and
    ``voucher_number``) and the ``amount`` (EUR)."""

    date: date
    entry_id: int
    voucher_number: str
    amount: Decimal


@dataclass(frozen=True)
class GrantSummary:
    """A grant as a list shows it: the assessment notice's date (``notice_date``, None if not
    recorded) and the ``payouts`` (``PayoutVoucher``) by date."""

    notice_date: date | None
    payouts: tuple[PayoutVoucher, ...]


def grant_summary(session: Session, recipient: Recipient, school_year: SchoolYear, *,
                  programme: str = INKLUSIONSPAUSCHALE) -> GrantSummary | None:
    """The grant of ``recipient`` for ``school_year`` in ``programme`` with its payouts and
    their voucher numbers (one query), or None without a grant."""
    rows = session.execute(
        select(Grant.notice_date, Payout.date, Payout.entry_id, JournalEntry.voucher_number, Payout.amount_cents)
        .select_from(Grant)
        .outerjoin(Payout, Payout.grant_id == Grant.id)
        .outerjoin(JournalEntry, Payout.entry_id == JournalEntry.id)
        .where(Grant.recipient_id == recipient.id, Grant.programme == programme,
               Grant.school_year == str(school_year))
        .order_by(Payout.date, Payout.id)).all()
    if not rows:
        return None
    return GrantSummary(rows[0].notice_date, tuple(
        PayoutVoucher(row.date, row.entry_id, row.voucher_number, from_cents(row.amount_cents))
        for row in rows if row.entry_id is not None))


def get_grant(session: Session, recipient: Recipient, school_year: SchoolYear, *,
              programme: str = INKLUSIONSPAUSCHALE) -> Grant:
    """The grant of ``recipient`` for ``school_year`` in ``programme`` (default the
    Inklusionspauschale). Raises NotFound."""
    grant = find_grant(session, recipient, school_year, programme=programme)
    if grant is None:
        raise NotFound(f"keine Inklusionspauschale für {recipient.key} im Schuljahr {school_year}")
    return grant


def add_payout(
    session: Session, grant: Grant, day: date, amount: Decimal, *,
    voucher_number: str | None = None, created_by: str, now: datetime,
) -> Payout:
    """Record a payout of ``amount`` EUR on ``day`` and book it: debit bank, credit grant revenue.

    The finance system's receipt of it, when imported later, is recognised as this
    payout (``find_payout_for_receipt``). Raises LedgerError if the amount is not
    positive or the payouts would exceed the assessed amount, AmountTooLarge above
    ``ledger.core.money.MAX_AMOUNT``.
    """
    if amount <= 0:
        raise LedgerError("der Auszahlungsbetrag muss positiv sein")
    cents = checked_cents(amount)
    paid = sum(p.amount_cents for p in grant.payouts)
    if paid + cents > grant.assessed_cents:
        raise LedgerError(
            f"Auszahlungen ({format_german(from_cents(paid) + amount)} EUR) übersteigen den "
            f"festgesetzten Betrag ({format_german(from_cents(grant.assessed_cents))} EUR)")
    recipient = grant.recipient
    year = SchoolYear.parse(grant.school_year)
    entry = post_entry(
        session, recipient, day=day,
        voucher_number=voucher_number or f"AUSZ-{grant.school_year}-{len(grant.payouts) + 1}",
        text=f"Auszahlung Inklusionspauschale {grant.school_year}",
        lines=[PostingLine(role_account(session, recipient, "bank"), amount, year),
               PostingLine(role_account(session, recipient, "grant_revenue"), -amount, year)],
        kind="payout", created_by=created_by, now=now,
    )
    payout = Payout(grant=grant, date=day, amount_cents=cents, entry_id=entry.id)
    session.add(payout)
    session.flush()
    audit.record(session, actor=created_by, action="payout", now=now, recipient=recipient,
                 details={"school_year": grant.school_year, "date": day.isoformat(), "amount": str(amount),
                          "entry": entry.id})
    return payout


def find_payout_for_receipt(
    session: Session, recipient: Recipient, day: date, amount_cents: int, taken: set[int] = frozenset(),
) -> Payout | None:
    """The payout an imported grant receipt of ``amount_cents`` on ``day`` stands for, or None.

    A payout matches when the amount is equal, the dates are at most ``PAYOUT_MATCH_DAYS``
    apart and no imported row was recognised as it yet; ``taken`` holds payout ids
    already matched in the same import.
    """
    candidates = session.scalars(
        select(Payout).join(Grant).where(
            Grant.recipient_id == recipient.id,
            Payout.amount_cents == amount_cents,
            Payout.date.between(day - timedelta(days=PAYOUT_MATCH_DAYS), day + timedelta(days=PAYOUT_MATCH_DAYS)),
            ~Payout.entry_id.in_(select(ImportedRow.entry_id)),
        ).order_by(Payout.date)
    )
    for payout in candidates:
        if payout.id not in taken:
            return payout
    return None
