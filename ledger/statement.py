"""The settlement statement (Verwendungsnachweis / Abrechnung) of one recipient and school year.

This module holds the statement's content as immutable values; ``build_statement``
assembles it from the books, and ``ledger.statement_pdf.render_statement`` writes it
as a PDF for auditors.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.chain import ChainHead, chain_head
from ledger.grants import find_grant
from ledger.models import Account, JournalEntry, Posting, Recipient
from ledger.money import from_cents
from ledger.repayment import RepaymentResult, compute_repayment
from ledger.rules import UNCLASSIFIED_LABEL, RulePack, load_packs, pack_for
from ledger.schoolyear import SchoolYear


@dataclass(frozen=True)
class PayoutLine:
    """One payout (Auszahlung) of the grant: value date, amount in EUR, voucher number."""

    date: date
    amount: Decimal
    voucher_number: str


@dataclass(frozen=True)
class VoucherLine:
    """One expense posting in the chronological voucher list.

    ``amount`` is EUR, positive for an expense, negative for a reversal or credit.
    ``category`` is the rule-pack category id or None (unclassified);
    ``category_label`` its German label ("nicht klassifiziert" when None).
    """

    date: date
    voucher_number: str
    text: str
    account: str
    category: str | None
    category_label: str
    amount: Decimal


@dataclass(frozen=True)
class BankAccount:
    """Where repayments go: the Landeskasse's account (from the rule pack)."""

    payee: str
    bank: str
    iban: str
    bic: str


@dataclass(frozen=True)
class StatementData:
    """Everything a settlement statement shows.

    - ``recipient_*``: key, name and German kind label ("Kreis", "kreisfreie Stadt", …).
    - ``programme`` / ``legal_basis``: German text, e.g. "Inklusionspauschale" and
      "§ 2 Abs. 2 InklFöG NRW; Hinweise des MSB zur zweckentsprechenden Verwendung".
    - ``rule_pack_title``: the pack's German title; id and version are in ``result``.
    - ``notice_date``: date of the Festsetzungsbescheid, if recorded.
    - ``payouts``: the grant's payouts, by date.
    - ``result``: the repayment computation (grant, spending by category, overhead cap,
      excluded, unclassified, agreement, repayment due, due date).
    - ``vouchers``: chronological expense postings of the school year.
    - ``bank`` and ``payment_reference``: where and under which reference to repay.
    - ``created_at``: when the statement was produced (local time, naive).
    - ``chain_head``: the recipient's hash-chain head when the statement was produced
      (``ledger.chain``): an auditor can later check with ``inkl verify`` that the
      books behind the statement are unchanged.
    """

    recipient_key: str
    recipient_name: str
    recipient_kind: str
    school_year: str
    programme: str
    legal_basis: str
    rule_pack_title: str
    notice_date: date | None
    payouts: tuple[PayoutLine, ...]
    result: RepaymentResult
    vouchers: tuple[VoucherLine, ...]
    bank: BankAccount
    payment_reference: str
    created_at: datetime
    chain_head: ChainHead


def build_statement(
    session: Session, recipient: Recipient, school_year: SchoolYear, *, now: datetime,
    packs: tuple[RulePack, ...] | None = None,
) -> StatementData:
    """Assemble the settlement statement of ``recipient`` for ``school_year`` from the books.

    Raises RulePackError if no rule pack covers the year.
    """
    packs = packs or load_packs()
    pack = pack_for(school_year, packs)
    result = compute_repayment(session, recipient, school_year, packs, as_of=now.date())
    grant = find_grant(session, recipient, school_year)
    payouts = tuple(
        PayoutLine(p.date, from_cents(p.amount_cents), p.entry.voucher_number) for p in grant.payouts
    ) if grant is not None else ()
    bank = pack.landeskasse
    return StatementData(
        recipient_key=recipient.key, recipient_name=recipient.name, recipient_kind=recipient.kind_label,
        school_year=str(school_year), programme=pack.programme, legal_basis=pack.legal_basis,
        rule_pack_title=pack.title, notice_date=None if grant is None else grant.notice_date,
        payouts=payouts, result=result, vouchers=tuple(_voucher_lines(session, recipient, school_year, pack)),
        bank=BankAccount(bank.payee, bank.bank, bank.iban, bank.bic),
        payment_reference=bank.reference_for(str(school_year), recipient.name, recipient.key),
        created_at=now, chain_head=chain_head(session, recipient),
    )


def _voucher_lines(session: Session, recipient: Recipient, school_year: SchoolYear, pack: RulePack):
    rows = session.execute(
        select(JournalEntry.date, JournalEntry.voucher_number, JournalEntry.text, Account.number,
               Posting.category, Posting.amount_cents)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.recipient_id == recipient.id, Posting.school_year == str(school_year),
               Account.type == "expense")
        .order_by(JournalEntry.date, JournalEntry.id, Posting.id)
    )
    for day, voucher, text, number, category, cents in rows:
        label = pack.category(category).label if category and pack.has_category(category) else UNCLASSIFIED_LABEL
        yield VoucherLine(day, voucher, text, number, category, label, from_cents(cents))
