"""The ledger's tables as SQLAlchemy 2.x declarative models.

Money is stored as signed integer cents (``BigInteger``): a posting's amount is
positive for a debit (Soll) and negative for a credit (Haben), never zero. A journal
entry balances when its postings sum to zero. Posted entries and their postings are
never updated or deleted (see ``ledger.core.posting``); corrections are reversal entries.

The schema itself comes from the Alembic migrations in ``migrations/``; these models
must match them (``tests/test_migrations.py`` checks it).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy import (
    true as sa_true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from ledger.core.hours import from_centihours

RECIPIENT_KINDS = {
    "kreis": "Kreis",
    "stadt": "kreisfreie Stadt",
    "gemeinde": "Gemeinde mit eigenem Jugendamt",
}
#: Account types (ids as stored) → German labels.
ACCOUNT_TYPES = {
    "asset": "Vermögen",
    "liability": "Verbindlichkeit",
    "revenue": "Ertrag",
    "expense": "Aufwand",
    "equity": "Eigenkapital",
}


class Base(DeclarativeBase):
    """Declarative base of all ledger tables."""


class Recipient(Base):
    """A recipient of the grant: Kreis, kreisfreie Stadt or Gemeinde mit eigenem Jugendamt.

    ``key`` is a short, stable identifier used on the command line (``rhein-sieg``).
    """

    __tablename__ = "recipients"
    __table_args__ = (CheckConstraint("kind IN ('kreis', 'stadt', 'gemeinde')", name="ck_recipient_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    accounts: Mapped[list["Account"]] = relationship(back_populates="recipient", order_by="Account.number")

    @property
    def kind_label(self) -> str:
        """German label of the kind ("Kreis", "kreisfreie Stadt", …)."""
        return RECIPIENT_KINDS[self.kind]


class Account(Base):
    """An account of one recipient's chart (NKF account classes 1–5).

    ``category`` is the default rule-pack category for expense postings on it;
    ``role`` marks the accounts the ledger books itself (bank, grant revenue,
    repayment charge and liability), at most one per role and recipient. ``iban``: the
    IBAN of a bank account (compact, upper case; ``ledger.core.bank``), unique over all
    recipients, so that a bank statement finds its account.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("recipient_id", "number", name="uq_account_number"),
        UniqueConstraint("recipient_id", "role", name="uq_account_role"),
        Index("uq_account_iban", "iban", unique=True),
        CheckConstraint(
            "type IN ('asset', 'liability', 'revenue', 'expense', 'equity')", name="ck_account_type"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(30))
    iban: Mapped[str | None] = mapped_column(String(34))

    recipient: Mapped[Recipient] = relationship(back_populates="accounts")

    @property
    def label(self) -> str:
        """``"5291 Schulassistenz Pool"``: number and name."""
        return f"{self.number} {self.name}"


class JournalEntry(Base):
    """A journal entry (Buchung): date, voucher number, text, two or more postings.

    ``kind`` tells where it came from (import, manual, payout, repayment obligation or
    payment, reversal, a provider budget's advance or a cost outside the budget, migration 0018). ``reverses_id`` points to the entry a reversal cancels; an entry
    can be reversed once. ``seq``, ``prev_hash`` and ``entry_hash`` link the recipient's
    entries into a hash chain (``ledger.core.chain``). Postings are inserted before their
    entry; the database checks balance when the entry row arrives (migration 0002).
    """

    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("ix_journal_entries_recipient_date_id", "recipient_id", "date", "id"),
        UniqueConstraint("recipient_id", "seq", name="uq_entry_seq"),
        CheckConstraint(
            "kind IN ('import', 'manual', 'payout', 'repayment_obligation', 'repayment_payment', 'reversal', "
            "'budget_advance', 'budget_outside')",
            name="ck_entry_kind",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    date: Mapped[date] = mapped_column(Date)
    voucher_number: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(30))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    recipient: Mapped[Recipient] = relationship()
    postings: Mapped[list["Posting"]] = relationship(back_populates="entry", order_by="Posting.id")
    reverses: Mapped["JournalEntry | None"] = relationship(remote_side=[id], foreign_keys=[reverses_id])


class Posting(Base):
    """A posting (Buchungszeile): signed cents on one account; debit > 0, credit < 0.

    ``school_year`` is "2023/24" (by booking date unless the source names one);
    ``category`` the rule-pack category of an expense posting (None: unclassified);
    ``cost_centre`` the Kostenstelle, optional; ``date`` the entry's booking date.
    """

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="ck_posting_nonzero"),
        Index("ix_postings_year_totals", "account_id", "school_year", "category", "cost_centre", "date",
              "amount_cents", "entry_id"),
        Index("ix_postings_entry", "entry_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entries.id", deferrable=True, initially="DEFERRED"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    school_year: Mapped[str] = mapped_column(String(7))
    category: Mapped[str | None] = mapped_column(String(40))
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    #: The entry's booking date, copied so a year's totals need not join the entries
    #: (migration 0009; the database refuses a posting whose date differs from its entry's).
    date: Mapped[date | None] = mapped_column(Date)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()


class AccountYearTotal(Base):
    """Running totals of the postings (migration 0027), kept in the same transaction as the
    postings by the journal writer (``ledger.core.running_totals``), as a ledger keeps
    account balances: one row per account, school year, category, cost centre, booking
    month and whether the postings belong to reversal entries (Stornobuchungen).

    ``category`` and ``cost_centre`` are ``""`` for postings without one (so the key is
    unique on both databases); ``month`` is the first day of the booking month;
    ``amount_cents`` the signed sum in cents, ``postings`` their number, ``first_day`` and
    ``last_day`` the earliest and latest booking date. Derived data: ``inkl verify`` compares
    it with a recomputation from the postings, a restore rebuilds it.
    """

    __tablename__ = "account_year_totals"
    __table_args__ = (
        Index("ix_account_year_totals_recipient", "recipient_id", "school_year"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(7), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    cost_centre: Mapped[str] = mapped_column(String(40), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    reversal: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    postings: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class JournalDayTotal(Base):
    """Running totals of the journal (migration 0028), kept in the same transaction as the
    entries by the journal writer (``ledger.core.running_totals``): one row per recipient,
    school year and booking day.

    ``entries`` is the number of the recipient's journal entries dated ``day`` with at least
    one posting of ``school_year`` (an entry with postings of two school years counts in
    both); ``signed_cents`` the sum of their signed amounts in cents (an entry's debits,
    negative for a reversal: ``ledger.reports.journal.signed_amount``). What the journal's
    school-year filter counts, sums and pages by. Derived data: ``inkl verify`` compares it
    with a recomputation, a restore rebuilds it.
    """

    __tablename__ = "journal_day_totals"

    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), primary_key=True)
    school_year: Mapped[str] = mapped_column(String(7), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    entries: Mapped[int] = mapped_column(Integer)
    signed_cents: Mapped[int] = mapped_column(BigInteger)


class Grant(Base):
    """The grant of one recipient, funding programme and school year as assessed
    (Festsetzungsbescheid), in cents. ``programme`` is the programme's key, as its rule
    packs name it (``ledger.core.grants.INKLUSIONSPAUSCHALE``; migration 0012)."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("recipient_id", "programme", "school_year", name="uq_grant_programme_year"),
        CheckConstraint("assessed_cents > 0", name="ck_grant_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    programme: Mapped[str] = mapped_column(String(40))
    school_year: Mapped[str] = mapped_column(String(7))
    assessed_cents: Mapped[int] = mapped_column(BigInteger)
    notice_date: Mapped[date | None] = mapped_column(Date)

    recipient: Mapped[Recipient] = relationship()
    payouts: Mapped[list["Payout"]] = relationship(back_populates="grant", order_by="Payout.date")


class Payout(Base):
    """A payout (Auszahlung) of a grant, booked once as the journal entry ``entry_id``."""

    __tablename__ = "payouts"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="ck_payout_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    grant: Mapped[Grant] = relationship(back_populates="payouts")
    entry: Mapped[JournalEntry] = relationship()


class Agreement(Base):
    """A settlement agreement (Vereinbarung) for one school year: deemed-conform amount or waiver,
    and the agreement's own terms. Append-only (migration 0015): its status lives in
    ``AgreementStatusEvent`` rows, the latest of which is the current status.

    Source: seed 002_17056edfca8550ce.txt § 1 (deemed conform; the repayment "zu mindern auf
    insgesamt 469.569,68 EUR": ``repayment_cents``), § 2 (waiver), § 3 (payment date and
    payment reference, blank in the seed). Rows from before migration 0013 have no agreed
    repayment (the deemed-conform rule applies).
    """

    __tablename__ = "agreements"
    __table_args__ = (
        UniqueConstraint("recipient_id", "school_year", name="uq_agreement_year"),
        CheckConstraint(
            "(waived AND deemed_conform_cents IS NULL) OR "
            "(NOT waived AND deemed_conform_cents IS NOT NULL AND deemed_conform_cents >= 0)",
            name="ck_agreement_kind",
        ),
        CheckConstraint("repayment_cents IS NULL OR (NOT waived AND repayment_cents >= 0)",
                        name="ck_agreement_repayment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_year: Mapped[str] = mapped_column(String(7))
    deemed_conform_cents: Mapped[int | None] = mapped_column(BigInteger)
    waived: Mapped[bool] = mapped_column(Boolean)
    reference: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    repayment_cents: Mapped[int | None] = mapped_column(BigInteger)
    payment_date: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(140))


class AgreementStatusEvent(Base):
    """One step of an agreement's status (Vereinbarung § 9: effective only once the finance
    ministry consented and the Kreis's bodies resolved): ``status`` (``signed``,
    ``awaiting_consent``, ``in_force``) and, in force, the ``effective_date``. Append-only
    (migration 0015); the agreement's current status is its latest event (highest ``id``).
    """

    __tablename__ = "agreement_status_events"
    __table_args__ = (
        CheckConstraint("status IN ('signed', 'awaiting_consent', 'in_force')", name="ck_agreement_event_status"),
        CheckConstraint("effective_date IS NULL OR status = 'in_force'", name="ck_agreement_event_effective"),
        Index("ix_agreement_status_events_agreement", "agreement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"))
    status: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Notice(Base):
    """A revocation or repayment notice of the Land (Rückforderungs-/Erstattungsbescheid) for one
    recipient's school year: it decides the repayment, its due date and the interest.

    ``amount_cents`` to repay by ``due_date``; interest from ``interest_start`` (the first
    interest day) at ``interest_rate_bp`` hundredths of a percentage point above the base rate
    (300 = 3 points, § 49a Abs. 3 Satz 1 VwVfG NRW), or ``interest_waived`` (Abs. 3 Satz 2).
    Append-only (migration 0015): an amending notice (Änderungsbescheid) is a new row whose
    ``replaces_id`` names the notice it replaces (each notice is replaced at most once); a
    withdrawal is a ``NoticeWithdrawal``. The notice in force of a year is the one neither
    replaced nor withdrawn. Source: DOMAIN.md "Repayment" (a notice decides); § 49a VwVfG NRW.
    """

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="ck_notice_amount"),
        CheckConstraint(
            "(interest_waived AND interest_start IS NULL AND interest_rate_bp IS NULL) OR "
            "(NOT interest_waived AND interest_start IS NOT NULL AND interest_rate_bp IS NOT NULL "
            "AND interest_rate_bp >= 0)",
            name="ck_notice_interest",
        ),
        UniqueConstraint("replaces_id", name="uq_notice_replaces"),
        Index("ix_notices_year", "recipient_id", "school_year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_year: Mapped[str] = mapped_column(String(7))
    notice_date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(300))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(Date)
    interest_start: Mapped[date | None] = mapped_column(Date)
    interest_rate_bp: Mapped[int | None] = mapped_column(Integer)
    interest_waived: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))


class NoticeWithdrawal(Base):
    """The Land's withdrawal (Aufhebung) of a notice without a replacement: from then the year
    has no notice in force and falls back to an agreement in force or the computation.
    ``withdrawal_date`` and ``reference`` (Aktenzeichen) of the withdrawing decision; one per
    notice. Append-only (migration 0015). Source: §§ 48, 49 VwVfG NRW (revocation of an
    administrative act), § 49a VwVfG NRW."""

    __tablename__ = "notice_withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), unique=True)
    withdrawal_date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ImportBatch(Base):
    """One applied import of a finance-system export or bank statement: file name, SHA-256,
    the import profile's key (``profile``; None before profiles existed), counts, who and when."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    profile: Mapped[str | None] = mapped_column(String(40))


class ImportedRow(Base):
    """The identity of an imported row, so a re-import recognises it.

    ``row_key`` (SHA-256 of date, voucher, accounts, amount and occurrence) is unique per
    recipient; ``content_hash`` covers every column, so the same row with changed
    content is reported, not silently skipped. ``entry_id`` is the journal entry the row
    became, or the payout entry it was recognised as.
    """

    __tablename__ = "imported_rows"
    __table_args__ = (
        UniqueConstraint("recipient_id", "row_key", name="uq_imported_row"),
        Index("ix_imported_rows_entry", "entry_id"),
        Index("ix_imported_rows_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    row_key: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", deferrable=True, initially="DEFERRED"))
    line: Mapped[int] = mapped_column(Integer)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))


class ParkedBankEntry(Base):
    """An entry of a bank statement that no rule of its import profile could book, kept for
    the officer's decision (append-only, migration 0016).

    ``amount_cents`` is the bank account's side in cents: positive money in (debit of the
    bank account), negative money out. ``row_key`` is the entry's identity
    (``ledger.read.camt053``); the entry is resolved once an ``ImportedRow`` of the same
    key exists (the journal entry the officer booked for it). ``reference``: the voucher
    number its booking carries (the bank's reference ``AcctSvcrRef``, or the statement and
    line). ``reason``: why no rule applied, in German.
    """

    __tablename__ = "parked_bank_entries"
    __table_args__ = (
        UniqueConstraint("recipient_id", "row_key", name="uq_parked_row"),
        CheckConstraint("amount_cents <> 0", name="ck_parked_amount"),
        Index("ix_parked_bank_entries_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    row_key: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("import_batches.id", deferrable=True, initially="DEFERRED"))
    line: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    counterparty: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(140))
    reason: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    account: Mapped[Account] = relationship()


#: Kinds of the lines of an allocation claim (Mittelabruf): one ``helper`` line per deployed
#: helper (personnel costs) and at most one ``material`` line (material costs, always refused).
CLAIM_LINE_KINDS = {"helper": "Personalkosten eines eingesetzten Inklusionshelfers", "material": "Sachkosten"}


class AllocationClaim(Base):
    """A claim (Mittelabruf) of a recipient against an allocation plan, as checked and booked
    (append-only evidence, migration 0017; ``ledger.workflows.allocation``).

    ``plan_key`` names the plan in the rule pack (``"mettmann-2014"``); ``pack_id`` and
    ``pack_version`` the pack whose rules judged it. ``declaration``: the reference of the
    recipient's binding declaration (Anlage 2 of seed 003's Rahmenbedingungen, Nr. 4.2/4.3).
    Amounts in cents: ``claimed_cents`` = ``accepted_cents`` + ``refused_cents``.
    ``entry_id``: the journal entry booking the accepted amount (None if nothing was accepted).
    """

    __tablename__ = "allocation_claims"
    __table_args__ = (
        CheckConstraint("accepted_cents >= 0 AND refused_cents >= 0", name="ck_claim_amounts"),
        CheckConstraint("claimed_cents = accepted_cents + refused_cents", name="ck_claim_balance"),
        Index("ix_allocation_claims_plan_recipient", "plan_key", "recipient_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_key: Mapped[str] = mapped_column(String(60))
    pack_id: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(20))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    claim_date: Mapped[date] = mapped_column(Date)
    declaration: Mapped[str] = mapped_column(String(200))
    claimed_cents: Mapped[int] = mapped_column(BigInteger)
    accepted_cents: Mapped[int] = mapped_column(BigInteger)
    refused_cents: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    recipient: Mapped[Recipient] = relationship()
    lines: Mapped[list["AllocationClaimLine"]] = relationship(back_populates="claim",
                                                              order_by="AllocationClaimLine.position")


class AllocationClaimLine(Base):
    """One line of an AllocationClaim (append-only, migration 0017): its ``position`` (1, 2, …),
    ``kind`` (CLAIM_LINE_KINDS), the claimed ``amount_cents``, the ``accepted_cents`` and, where
    less was accepted, the German ``reason`` citing the rule's source."""

    __tablename__ = "allocation_claim_lines"
    __table_args__ = (
        UniqueConstraint("claim_id", "position", name="uq_claim_line_position"),
        CheckConstraint("kind IN ('helper', 'material')", name="ck_claim_line_kind"),
        CheckConstraint("amount_cents > 0 AND accepted_cents >= 0 AND accepted_cents <= amount_cents",
                        name="ck_claim_line_amounts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("allocation_claims.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    accepted_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    #: The school where the helper is deployed (a school of the recipient's master data), or None
    #: if the claim names none (migration 0022).
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    #: How the line's school was found to be a mainstream school (Rahmenbedingungen Nr. 3):
    #: ``master_data`` (its school form checked), ``declaration`` (no school named: the binding
    #: declaration covers it), None on material lines and lines recorded before migration 0022.
    mainstream_basis: Mapped[str | None] = mapped_column(String(20))

    claim: Mapped[AllocationClaim] = relationship(back_populates="lines")
    school: Mapped["School | None"] = relationship()
    cases: Mapped[list["AllocationClaimCase"]] = relationship(order_by="AllocationClaimCase.case_ref")


class AllocationClaimCase(Base):
    """A pseudonymous case reference (``case_ref``, e.g. ``"2023-017"``; never a name) of a pupil
    supported by the helper of claim line ``line_id`` (append-only, migration 0022). ``plan_key``
    repeats the claim's plan, so that a reference counted in one recipient's claim is found when
    another recipient claims it (Rahmenbedingungen Nr. 3: no pupil counted twice)."""

    __tablename__ = "allocation_claim_cases"
    __table_args__ = (
        UniqueConstraint("line_id", "case_ref", name="uq_claim_case_line"),
        Index("ix_allocation_claim_cases_plan_ref", "plan_key", "case_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("allocation_claim_lines.id"))
    plan_key: Mapped[str] = mapped_column(String(60))
    case_ref: Mapped[str] = mapped_column(String(40))


#: Kinds of a plan's commitment events: the booking of its ceilings and the release of the rest.
COMMITMENT_KINDS = {"commit": "Mittelbindung", "release": "Freigabe des Restes"}


class AllocationCommitment(Base):
    """The commitment (Mittelbindung) of an allocation plan's ceilings in the grantor's books
    (``kind`` ``commit``) and the release of what was not claimed at the end of the claim window
    (``release``; Rahmenbedingungen Nr. 4.4: it stays with the Kreis). At most one of each kind
    per plan (append-only, migration 0022); ``amount_cents`` the amount committed or released,
    ``entry_id`` its journal entry (None if the amount is 0)."""

    __tablename__ = "allocation_commitments"
    __table_args__ = (
        UniqueConstraint("plan_key", "kind", name="uq_allocation_commitment_plan_kind"),
        CheckConstraint("kind IN ('commit', 'release')", name="ck_allocation_commitment_kind"),
        CheckConstraint("amount_cents >= 0", name="ck_allocation_commitment_amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))
    date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AllocationPayment(Base):
    """The payment of a claim's accepted amount to its recipient (append-only, migration 0017):
    at most one per claim, booked on ``date`` as journal entry ``entry_id`` in the grantor's books."""

    __tablename__ = "allocation_payments"
    __table_args__ = (UniqueConstraint("claim_id", name="uq_allocation_payment_claim"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("allocation_claims.id"))
    date: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


user_recipients = Table(
    "user_recipients", Base.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("recipient_id", ForeignKey("recipients.id"), primary_key=True),
)


class User(Base):
    """A person using the ledger, with a role: ``officer``, ``auditor``, ``ministry`` or ``admin``.

    ``password_hash``: Argon2id hash (``ledger.core.users``), None until a password is set (then
    the user cannot log in to the web UI). ``recipients``: the recipients the user works
    on; ``all_recipients``: an auditor who may read every recipient. ``active``: False
    locks the account without deleting it (the audit log keeps naming it). ``directory_dn``:
    the distinguished name of a directory account (LDAP / Active Directory log-in,
    ``ledger.core.directory``), which keeps no password hash; None for a local account.
    ``password_change_required``: the password was set by someone else (an initial password or
    a reset by the administration); the web UI lets the user do nothing but change it.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('officer', 'auditor', 'ministry', 'admin')", name="ck_user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    all_recipients: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    directory_dn: Mapped[str | None] = mapped_column(String(1000))
    password_change_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    recipients: Mapped[list[Recipient]] = relationship(secondary=user_recipients, order_by="Recipient.key")


class LoginSession(Base):
    """A log-in session of the web UI (``ledger.core.sessions``): the SHA-256 of its random
    token (the token itself lives only in the browser's signed cookie), when it began
    (``last_seen_at``: the log-in; later requests are counted in the cookie, not written), and
    when and why it ended (``logout``, ``password``, ``locked``)."""

    __tablename__ = "login_sessions"
    __table_args__ = (UniqueConstraint("token_sha256", name="uq_login_session_token"),
                      Index("ix_login_sessions_user", "user_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))


class ApiToken(Base):
    """A personal access token of the API (``/api/v1``), acting for ``user`` with the user's
    role and recipients. Only ``token_hash`` (SHA-256 hex of the secret) is stored; ``prefix``
    (the secret's first characters) tells tokens apart in lists. ``expires_on`` (a date,
    inclusive) or None; ``revoked_at`` set once when the user revokes it (never deleted).
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_on: Mapped[date | None] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class PeriodEvent(Base):
    """Closing or re-opening a recipient's school year; append-only.

    A school year is closed while its newest event is ``close``. The database refuses
    journal entries dated in a closed school year or with postings of one.
    """

    __tablename__ = "period_events"
    __table_args__ = (
        CheckConstraint("action IN ('close', 'reopen')", name="ck_period_action"),
        Index("ix_period_events_recipient", "recipient_id", "school_year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_year: Mapped[str] = mapped_column(String(7))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEvent(Base):
    """One write to the books (who, when, what), append-only and hash-chained (``ledger.core.audit``)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"))
    details: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


#: A pool's financing basis (ids as stored and imported) → German labels.
FINANCING_BASES = {
    "systemic": "systemisch (antragsunabhängig)",
    "individual_entitlements": "gebündelte Einzelansprüche",
    "mixed": "gemischt",
}


class School(Base):
    """A school of the recipient's area: NRW school number, bearer (Schulträger), form, GL status.

    Only schools of Gemeinsames Lernen (``gl_school``) may benefit from the grant
    (seed 002_17056edfca8550ce.txt, Hinweise Teil I and III).
    """

    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("recipient_id", "school_number", name="uq_school_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    bearer: Mapped[str] = mapped_column(String(200))
    school_form: Mapped[str] = mapped_column(String(60))
    gl_school: Mapped[bool] = mapped_column(Boolean)


class Provider(Base):
    """A provider (Träger / Leistungserbringer) of school assistants."""

    __tablename__ = "providers"
    __table_args__ = (UniqueConstraint("recipient_id", "name", name="uq_provider_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    name: Mapped[str] = mapped_column(String(200))


pool_schools = Table(
    "pool_schools", Base.metadata,
    Column("pool_id", ForeignKey("pools.id"), primary_key=True),
    Column("school_id", ForeignKey("schools.id"), primary_key=True),
)


class Pool(Base):
    """A pool of school assistants at one or more schools, run by a provider for a period.

    ``financing_basis``: ``systemic`` (placed independent of applications: permitted),
    ``individual_entitlements`` (bundled individually approved cases, as in the Hannover
    and Düsseldorf models, seeds 000_… and 001_…: excluded), ``mixed`` (split by
    ``systemic_share``, percent), or None while not yet recorded.
    """

    __tablename__ = "pools"
    __table_args__ = (
        UniqueConstraint("recipient_id", "key", name="uq_pool_key"),
        CheckConstraint("financing_basis IS NULL OR financing_basis IN ('systemic', 'individual_entitlements', 'mixed')",
                        name="ck_pool_basis"),
        CheckConstraint("(financing_basis = 'mixed') = (systemic_share IS NOT NULL) OR financing_basis IS NULL",
                        name="ck_pool_share"),
        CheckConstraint("systemic_share IS NULL OR (systemic_share >= 0 AND systemic_share <= 100)",
                        name="ck_pool_share_range"),
        CheckConstraint("period_end >= period_start", name="ck_pool_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    financing_basis: Mapped[str | None] = mapped_column(String(30))
    systemic_share: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    provider: Mapped[Provider] = relationship()
    schools: Mapped[list[School]] = relationship(secondary=pool_schools, order_by="School.school_number")


class Municipality(Base):
    """A member municipality of a Kreis that may receive pass-through (Weiterleitung).

    Pass-through is conform only if the municipality bears GL schools (``gl_bearer``) and
    the Kreis verified its purpose-conform projects (``verifications``): seed
    002_17056edfca8550ce.txt, Hinweise Teil II.
    """

    __tablename__ = "municipalities"
    __table_args__ = (UniqueConstraint("recipient_id", "name", name="uq_municipality_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    name: Mapped[str] = mapped_column(String(200))
    gl_bearer: Mapped[bool] = mapped_column(Boolean)

    verifications: Mapped[list["PassThroughVerification"]] = relationship(order_by="PassThroughVerification.verified_on")


class PassThroughVerification(Base):
    """Evidence that the Kreis verified a municipality's purpose-conform projects: date, document, who."""

    __tablename__ = "pass_through_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    verified_on: Mapped[date] = mapped_column(Date)
    document_reference: Mapped[str] = mapped_column(String(200))
    verified_by: Mapped[str] = mapped_column(String(120))


class PassThroughClaim(Base):
    """A member municipality's claim against a Kreis's pass-through plan (Weiterleitung nach
    Verteilungsschlüssel, ``ledger.workflows.pass_through``; append-only, migration 0022).

    ``recipient_id``: the Kreis; ``plan_key`` its plan; ``reference`` the municipality's
    claim document. Cents: ``claimed_cents`` = ``accepted_cents`` + ``refused_cents``;
    ``reason`` why anything was refused (German, citing the source); ``entry_id`` the
    pass-through booking of the accepted amount in the Kreis's books (None if nothing was accepted).
    """

    __tablename__ = "pass_through_claims"
    __table_args__ = (
        CheckConstraint("claimed_cents > 0 AND accepted_cents >= 0 AND refused_cents >= 0",
                        name="ck_pass_through_claim_amounts"),
        CheckConstraint("claimed_cents = accepted_cents + refused_cents", name="ck_pass_through_claim_balance"),
        Index("ix_pass_through_claims_plan_municipality", "plan_key", "municipality_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_key: Mapped[str] = mapped_column(String(60))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    claim_date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(200))
    claimed_cents: Mapped[int] = mapped_column(BigInteger)
    accepted_cents: Mapped[int] = mapped_column(BigInteger)
    refused_cents: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    municipality: Mapped[Municipality] = relationship()


class Commitment(Base):
    """An obligation (pool contract, other contract) with a monthly amount in cents over a term.

    ``budget_agreement``: the provider budget (Trägerbudget) of the same recipient that finances
    the contract, or None (migration 0023)."""

    __tablename__ = "commitments"
    __table_args__ = (
        UniqueConstraint("recipient_id", "reference", name="uq_commitment_reference"),
        CheckConstraint("monthly_cents > 0", name="ck_commitment_positive"),
        CheckConstraint("end_date >= start_date", name="ck_commitment_term"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    reference: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(40))
    monthly_cents: Mapped[int] = mapped_column(BigInteger)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"))
    budget_agreement_id: Mapped[int | None] = mapped_column(ForeignKey("budget_agreements.id",
                                                                       name="fk_commitment_budget"))

    pool: Mapped[Pool | None] = relationship()
    budget_agreement: Mapped["BudgetAgreement | None"] = relationship()


class CostCentre(Base):
    """A cost centre (Kostenstelle) and what it stands for: a school, a pool, a member
    municipality (pass-through) or a project; exactly one."""

    __tablename__ = "cost_centres"
    __table_args__ = (
        UniqueConstraint("recipient_id", "code", name="uq_cost_centre_code"),
        CheckConstraint("(CASE WHEN school_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN pool_id IS NULL THEN 0 ELSE 1 END)"
                        " + (CASE WHEN municipality_id IS NULL THEN 0 ELSE 1 END)"
                        " + (CASE WHEN project IS NULL THEN 0 ELSE 1 END) = 1", name="ck_cost_centre_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    code: Mapped[str] = mapped_column(String(40))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("pools.id"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    project: Mapped[str | None] = mapped_column(String(200))

    school: Mapped[School | None] = relationship()
    pool: Mapped[Pool | None] = relationship()
    municipality: Mapped[Municipality | None] = relationship()


class Override(Base):
    """An officer's override of one expense posting's classification, with a written justification.

    Append-only evidence (migration 0005): ``status`` ``permitted``, ``excluded`` or ``split``
    with ``conform_cents`` the purpose-conform part (same sign as the posting, at most its
    amount). A withdrawal is a further row with ``withdraws_id`` set and no status; its
    justification says why. Overrides survive every re-evaluation (``ledger.rules.overrides``).
    """

    __tablename__ = "classification_overrides"
    __table_args__ = (
        CheckConstraint("(withdraws_id IS NULL) = (status IS NOT NULL)", name="ck_override_kind"),
        CheckConstraint("status IS NULL OR status IN ('permitted', 'excluded', 'split')", name="ck_override_status"),
        CheckConstraint("(status IS NULL) = (conform_cents IS NULL)", name="ck_override_amount"),
        Index("ix_overrides_posting", "posting_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"))
    status: Mapped[str | None] = mapped_column(String(20))
    conform_cents: Mapped[int | None] = mapped_column(BigInteger)
    justification: Mapped[str] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    withdraws_id: Mapped[int | None] = mapped_column(ForeignKey("classification_overrides.id"), unique=True)

    posting: Mapped[Posting] = relationship()


class EvaluationRun(Base):
    """A recorded run of the rules engine over one recipient's school year (append-only).

    Records the rule pack (id, version, SHA-256 of its file), who ran it, when and why,
    the run before it, how many postings it classified and how many of them changed
    against that run, and the sums in cents (before the overhead cap). Its per-posting
    results are ``StoredClassification`` rows (``ledger.rules.evaluation_runs``).
    """

    __tablename__ = "evaluation_runs"
    __table_args__ = (Index("ix_evaluation_runs_year", "recipient_id", "school_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_year: Mapped[str] = mapped_column(String(7))
    pack_id: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(20))
    pack_digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(500))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_runs.id"))
    postings: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    conform_cents: Mapped[int] = mapped_column(BigInteger)
    excluded_cents: Mapped[int] = mapped_column(BigInteger)
    unclassified_cents: Mapped[int] = mapped_column(BigInteger)


class StoredClassification(Base):
    """One posting's effective classification in an evaluation run: status, the split of its
    amount in cents (conform + excluded + unclassified = the posting's amount), the rule, the
    German reason, the source citation, what review still needs, and the override applied."""

    __tablename__ = "classifications"
    __table_args__ = (
        UniqueConstraint("run_id", "posting_id", name="uq_classification_posting"),
        Index("ix_classifications_posting", "posting_id"),
        CheckConstraint("status IN ('permitted', 'capped', 'excluded', 'unclassified', 'split')",
                        name="ck_classification_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("evaluation_runs.id"))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"))
    status: Mapped[str] = mapped_column(String(20))
    conform_cents: Mapped[int] = mapped_column(BigInteger)
    excluded_cents: Mapped[int] = mapped_column(BigInteger)
    unclassified_cents: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(2500))
    source: Mapped[str] = mapped_column(String(500))
    review: Mapped[str | None] = mapped_column(String(300))
    override_id: Mapped[int | None] = mapped_column(ForeignKey("classification_overrides.id"))


class IssuedStatement(Base):
    """A settlement statement as issued: the exact PDF, its SHA-256, who issued it and when,
    and the recipient's hash-chain head it was made from. Append-only (migration 0007).

    ``number`` counts the issued statements of the recipient's school year (1, 2, …; unique,
    migration 0014); ``content_sha256`` is the fingerprint of the statement's content without
    its creation time and number (``ledger.reports.statement_fingerprint``), NULL for the
    statements issued before migration 0014 (their content was not fingerprinted)."""

    __tablename__ = "issued_statements"
    __table_args__ = (Index("ux_issued_statements_number", "recipient_id", "school_year", "number", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_year: Mapped[str] = mapped_column(String(7))
    number: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    chain_seq: Mapped[int] = mapped_column(Integer)
    chain_hash: Mapped[str] = mapped_column(String(64))
    repayment_due_cents: Mapped[int] = mapped_column(BigInteger)


class NarrativeVersion(Base):
    """One saved version of a school year's Sachbericht (ANBest-G NRW, Nachweis der Verwendung): the text as
    written, who and when (naive local time). Append-only (migration 0014): every save is a
    new row, the latest counts, the earlier ones stay for the auditor."""

    __tablename__ = "narrative_reports"
    __table_args__ = (Index("ix_narrative_reports_year", "recipient_id", "school_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    school_year: Mapped[str] = mapped_column(String(7))
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(80))
    written_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetAgreement(Base):
    """A provider budget (Trägerbudget, seed 004, DOMAIN.md "Bremerhaven Trägerbudget"): the public
    body ``recipient`` pays ``provider_name`` a fixed ``budget_cents`` for the term
    ``start_date``–``end_date`` in equal monthly advances (``ledger.workflows.budget``).

    ``replaces``/``outside``: the services the budget replaces and those outside it, one per line.
    ``specialist_centihours_year``/``semi_professional_centihours_year``: agreed client hours per
    year in hundredths of an hour (integers, as money is cents; a quarter's are a fourth). ``indirect_reading``: ``client_hours`` (indirect
    time = 20 % of the client hours) or ``working_time`` (client hours = 80 % of the working
    time). ``pack_id``: the rule pack of programme ``traegerbudget`` it follows.
    Append-only (migration 0018).
    """

    __tablename__ = "budget_agreements"
    __table_args__ = (
        UniqueConstraint("key", name="uq_budget_key"),
        CheckConstraint("budget_cents > 0", name="ck_budget_positive"),
        CheckConstraint("end_date > start_date", name="ck_budget_term"),
        CheckConstraint("specialist_centihours_year >= 0 AND semi_professional_centihours_year >= 0",
                        name="ck_budget_hours"),
        CheckConstraint("indirect_reading IN ('client_hours', 'working_time')", name="ck_budget_reading"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    provider_name: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    replaces: Mapped[str] = mapped_column(Text)
    outside: Mapped[str] = mapped_column(Text)
    specialist_centihours_year: Mapped[int] = mapped_column(BigInteger)
    semi_professional_centihours_year: Mapped[int] = mapped_column(BigInteger)
    indirect_reading: Mapped[str] = mapped_column(String(20))
    pack_id: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    recipient: Mapped[Recipient] = relationship()

    @property
    def specialist_hours_year(self) -> Decimal:
        """Agreed client hours per year of specialist staff (Decimal hours)."""
        return from_centihours(self.specialist_centihours_year)

    @property
    def semi_professional_hours_year(self) -> Decimal:
        """Agreed client hours per year of semi-professional staff (Decimal hours)."""
        return from_centihours(self.semi_professional_centihours_year)


class BudgetAdvance(Base):
    """A booked monthly advance of a provider budget: due day, cents, its journal entry."""

    __tablename__ = "budget_advances"
    __table_args__ = (
        UniqueConstraint("agreement_id", "due_date", name="uq_budget_advance_day"),
        UniqueConstraint("entry_id", name="uq_budget_advance_entry"),
        CheckConstraint("amount_cents > 0", name="ck_budget_advance_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("budget_agreements.id"))
    due_date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetHoursReport(Base):
    """A provider's report of delivered client hours for one quarter (``"2025-Q1"``), in hundredths
    of an hour of specialist and semi-professional staff; a correction is a new row (latest counts)."""

    __tablename__ = "budget_hours_reports"
    __table_args__ = (
        Index("ix_budget_hours_reports_quarter", "agreement_id", "quarter"),
        CheckConstraint("specialist_centihours >= 0 AND semi_professional_centihours >= 0",
                        name="ck_budget_report_hours"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("budget_agreements.id"))
    quarter: Mapped[str] = mapped_column(String(7))
    specialist_centihours: Mapped[int] = mapped_column(BigInteger)
    semi_professional_centihours: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    @property
    def specialist_hours(self) -> Decimal:
        """Delivered client hours of specialist staff (Decimal hours)."""
        return from_centihours(self.specialist_centihours)

    @property
    def semi_professional_hours(self) -> Decimal:
        """Delivered client hours of semi-professional staff (Decimal hours)."""
        return from_centihours(self.semi_professional_centihours)


class BudgetJudgement(Base):
    """The officer's recorded judgement, for the quarter a shortfall trigger was reached, whether
    the shortfall will persist (``persists``: then the parties renegotiate, seed 004 II.5)."""

    __tablename__ = "budget_judgements"
    __table_args__ = (Index("ix_budget_judgements_agreement", "agreement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("budget_agreements.id"))
    quarter: Mapped[str] = mapped_column(String(7))
    persists: Mapped[bool] = mapped_column(Boolean)
    reasoning: Mapped[str] = mapped_column(String(1000))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetCase(Base):
    """A case of a provider budget by its pseudonymous ``reference`` only (no personal data), with
    its start day (Hilfebeginn); its dated records are ``BudgetRecord`` rows (migration 0023)."""

    __tablename__ = "budget_cases"
    __table_args__ = (UniqueConstraint("agreement_id", "reference", name="uq_budget_case_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("budget_agreements.id"))
    reference: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class BudgetRecord(Base):
    """A dated record of a provider budget the reporting deadlines need (migration 0023):
    ``provider_report`` (the provider's report on the budget, no case) or, of a case,
    ``meeting`` (a scheduled Hilfeplan meeting), ``case_report`` (a case report received),
    ``action_plan`` (the action plan received), ``case_end`` (the case ended)."""

    __tablename__ = "budget_records"
    __table_args__ = (
        CheckConstraint("kind IN ('provider_report', 'meeting', 'case_report', 'action_plan', 'case_end')",
                        name="ck_budget_record_kind"),
        CheckConstraint("(kind = 'provider_report') = (case_id IS NULL)", name="ck_budget_record_case"),
        Index("ix_budget_records_agreement", "agreement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("budget_agreements.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("budget_cases.id"))
    kind: Mapped[str] = mapped_column(String(20))
    record_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RecordVersion(Base):
    """One version of a row of a table that decides a figure (``ledger.core.history``): the
    row's table and key, the operation, the canonical JSON of every column after it (None for
    a delete), who and when, hash-chained over all tables by ``seq`` (migration 0025).
    Append-only: the database refuses to change or delete a version."""

    __tablename__ = "record_versions"
    __table_args__ = (
        UniqueConstraint("seq", name="uq_record_version_seq"),
        CheckConstraint("operation IN ('insert', 'update', 'delete')", name="ck_record_version_operation"),
        Index("ix_record_versions_row", "table_name", "row_key", "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(40))
    row_key: Mapped[str] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(10))
    content: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    version_hash: Mapped[str] = mapped_column(String(64))


APPEND_ONLY = (JournalEntry, Posting, AuditEvent, PeriodEvent, PassThroughVerification, Override, EvaluationRun,
               StoredClassification, IssuedStatement, Agreement, AgreementStatusEvent, Notice, NoticeWithdrawal,
               NarrativeVersion, BudgetAgreement, BudgetAdvance, BudgetHoursReport, BudgetJudgement,
               BudgetCase, BudgetRecord, RecordVersion)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_posted_entries(session: Session, _context, _instances) -> None:
    """Posted journal entries and postings are never updated or deleted: corrections are reversals."""
    from ledger.core.errors import ImmutableEntry

    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY):
            raise ImmutableEntry("gebuchte Buchungen dürfen nicht gelöscht werden; bitte stornieren")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise ImmutableEntry("gebuchte Buchungen dürfen nicht geändert werden; bitte stornieren")

