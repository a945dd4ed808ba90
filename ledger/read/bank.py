"""Bank statements (camt.053) as import rows: each entry has one side, the statement's bank
account; the profile's rules, or the Landeskasse as counterparty, supply the other.

An entry (``ledger.read.camt053.BankEntry``) becomes an ``ImportRow`` between the bank
account of the chart that carries the statement's IBAN (``ledger.core.bank``) and a counter
account found, in this order, by

1. the profile's ``[[rules]]`` on the entry's fields (``FIELDS``: ``Name``, ``IBAN``,
   ``Verwendungszweck``, ``Buchungstext``, …) setting ``counter_account`` (and category,
   cost centre, school year, text);
2. the Landeskasse as counterparty (its IBAN in a rule pack's ``[landeskasse]``): a credit
   is the Land's payout (the grant revenue account, matched by the import to the recorded
   payout), a debit is a repayment (the repayment liability, matched to the confirmed
   obligation by amount and reference: ``match_repayment``);
3. the profile's ``[defaults] counter_account``.

An entry no rule places is parked for the officer (``[bank] unmatched = "park"``) or an error
(``"refuse"``). Its identity is the bank entry's, so a statement imported twice, or two
statements that overlap, book each entry once, whatever the rules said at the time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import BinaryIO, Callable, Iterator, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.bank import format_iban
from ledger.core.grants import PAYOUT_MATCH_DAYS
from ledger.core.models import Account, Agreement, ImportedRow, JournalEntry, Notice, Posting, Recipient
from ledger.core.money import format_german, from_cents
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.read.camt053 import BankEntry, Statement, read_camt053
from ledger.read.csvfile import ImportIssue
from ledger.read.mapping import MAX_LENGTH, Rule
from ledger.read.rows import BankDetails, ImportRow
from ledger.rules.packs import RulePack

#: The fields of a bank entry that rules may test, with how each is read.
FIELDS: dict[str, Callable[[BankEntry], str]] = {
    "Name": lambda e: e.counterparty_name or "",
    "IBAN": lambda e: e.counterparty_iban or "",
    "Verwendungszweck": lambda e: e.remittance,
    "Buchungstext": lambda e: e.additional_info or "",
    "GVC": lambda e: e.code.gvc or "",
    "Referenz": lambda e: e.end_to_end_id or "",
    "Gläubigerreferenz": lambda e: e.creditor_reference or "",
    "Mandatsreferenz": lambda e: e.mandate_id or "",
    "Richtung": lambda e: "Gutschrift" if e.signed_cents > 0 else "Lastschrift",
    "Betrag": lambda e: format_german(e.amount),
}
#: What ``[bank] text`` may name: every field, written ``{Name}``.
DEFAULT_TEXT = "{Name}: {Verwendungszweck}"
UNMATCHED = ("park", "refuse")


@dataclass(frozen=True)
class BankSettings:
    """A bank-statement profile's ``[bank]``: what happens to an entry no rule places
    (``unmatched``: ``park`` or ``refuse``) and the journal text's template (``text``)."""

    unmatched: str = "park"
    text: str = DEFAULT_TEXT


@dataclass(frozen=True)
class BankContext:
    """What reading a statement needs of the books: the recipient's name, the chart's bank
    accounts by IBAN (compact → account number), the grant revenue and repayment liability
    account numbers, and the Landeskasse's IBANs (compact) of the rule packs."""

    recipient_name: str
    accounts_by_iban: Mapping[str, str]
    grant_revenue: str | None
    repayment_liability: str | None
    landeskasse_ibans: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, recipient: Recipient, accounts: Mapping[str, Account], packs: tuple[RulePack, ...]) -> "BankContext":
        """From the recipient's chart (number → account) and the rule packs."""
        roles = {account.role: number for number, account in accounts.items() if account.role}
        return cls(
            recipient_name=recipient.name,
            accounts_by_iban={a.iban: n for n, a in accounts.items() if a.iban},
            grant_revenue=roles.get("grant_revenue"), repayment_liability=roles.get("repayment_liability"),
            landeskasse_ibans=frozenset(p.landeskasse.iban.replace(" ", "") for p in packs if p.landeskasse))


class BankSource:
    """A camt.053 file (or ZIP of them) read for one recipient: a ``ledger.read.rows.RowSource``
    whose records are ``(statement, entry, identity)``."""

    column_of = {"day": "Ntry/BookgDt", "debit": "Gegenkonto", "credit": "Gegenkonto", "category": "Kategorie",
                 "school_year": "Schuljahr"}

    def __init__(self, open_binary: Callable[[], BinaryIO], settings: BankSettings, rules: tuple[Rule, ...],
                 defaults: Mapping[str, str], context: BankContext | None, name: str = "Kontoauszug") -> None:
        """``context`` None: read without the books (a profile check), the statement's IBAN
        standing for its bank account."""
        with open_binary() as stream:
            data = stream.read()
        self.size = len(data)
        self.settings, self.rules, self.defaults = settings, rules, defaults
        self.context = context or BankContext("", {}, None, None)
        self.file = read_camt053(data, name)
        self.issues: list[ImportIssue] = [_in_member(member, issue, name) for member, issue in self.file.all_issues()]
        if not self.issues and context is not None:
            self.issues = [issue for statement in self.file.statements for issue in self._account_issues(statement)]

    def records(self) -> Iterator[tuple[int, tuple[Statement, BankEntry, str], None]]:
        """Every booked entry of every statement, with its identity; pending entries are not records."""
        if self.issues:
            return
        for statement in self.file.statements:
            for entry, identity in statement.identified():
                yield entry.transaction_line or entry.line, (statement, entry, identity), None

    def parse(self, line: int, record: tuple[Statement, BankEntry, str]) -> tuple[ImportRow | None, list[ImportIssue]]:
        """The entry as a row between the bank account and its counter account, a row to park
        (``BankDetails.park_reason``), or the error that no rule places it."""
        statement, entry, identity = record
        values = dict(self.defaults)
        fields = {name: read(entry) for name, read in FIELDS.items()}
        ruled = False   # a rule set the counter account: it overrides the Landeskasse
        for rule in self.rules:
            if all(c.pattern.search(fields.get(str(c.column), "")) for c in rule.conditions):
                values.update(rule.values)
                ruled = ruled or "counter_account" in rule.values
        landeskasse = (entry.counterparty_iban or "") in self.context.landeskasse_ibans
        counter = values.get("counter_account")
        if landeskasse and not ruled:
            counter = self.context.grant_revenue if entry.signed_cents > 0 else self.context.repayment_liability
        issues = []
        school_year = None
        if values.get("school_year"):
            try:
                school_year = SchoolYear.parse(values["school_year"])
            except SchoolYearError as exc:
                issues.append(ImportIssue(line, "Schuljahr", f"{exc} (Importprofil: rules)"))
        park_reason = None
        if not counter:
            reason = "keine Regel des Importprofils ordnet die Buchung einem Gegenkonto zu"
            if self.settings.unmatched == "refuse":
                issues.append(ImportIssue(line, "Gegenkonto", f"{reason} (Importprofil: bank.unmatched)"))
            park_reason = reason
        if issues:
            return None, issues
        bank_account = self.context.accounts_by_iban.get(statement.iban, statement.iban)
        debit, credit = (bank_account, counter or "") if entry.signed_cents > 0 else (counter or "", bank_account)
        text = values.get("text") or _text(self.settings.text, fields)
        day = entry.booking_date
        return ImportRow(
            line=line, day=day, voucher_number=_voucher(statement, entry), text=text[:MAX_LENGTH["text"]],
            debit=debit, credit=credit, cents=entry.cents, cost_centre=values.get("cost_centre") or None,
            category=values.get("category") or None, school_year=school_year or SchoolYear.of(day),
            school_year_given=school_year is not None,
            bank=BankDetails(key=identity, content=entry.content_hash(), account=bank_account,
                             counterparty=entry.counterparty_name, counterparty_iban=entry.counterparty_iban,
                             remittance=entry.remittance, reference=entry.end_to_end_id or entry.creditor_reference,
                             landeskasse=landeskasse, park_reason=park_reason),
        ), []

    def base(self, record: tuple[Statement, BankEntry, str]) -> tuple:
        """The entry's identity (unique among a file's rows)."""
        return (record[2],)

    def accounts(self, record: tuple[Statement, BankEntry, str]) -> tuple[str, str, bool]:
        """No account to check for an entry that did not parse."""
        return "", "", False

    def _account_issues(self, statement: Statement) -> list[ImportIssue]:
        if statement.iban in self.context.accounts_by_iban:
            return []
        return [ImportIssue(statement.line, "Stmt/Acct/Id/IBAN", f"das Konto {format_iban(statement.iban)} ist keinem "
                            f"Bankkonto im Kontenplan von {self.context.recipient_name} zugeordnet (IBAN beim Konto "
                            "hinterlegen)")]


def _in_member(member: str, issue: ImportIssue, name: str) -> ImportIssue:
    """An issue of a ZIP member names the member before the element."""
    if member == name:
        return issue
    return ImportIssue(issue.line, f"{member}: {issue.column}" if issue.column else member, issue.message)


def _voucher(statement: Statement, entry: BankEntry) -> str:
    """The bank's reference where it is one, else the statement and the entry's line."""
    reference = entry.account_servicer_reference
    if reference and reference.upper() != "NONREF":
        return reference[:60]
    return f"Auszug {statement.statement_id} Zeile {entry.transaction_line or entry.line}"[:60]


def _text(template: str, fields: Mapping[str, str]) -> str:
    text = template.format(**fields)
    return re.sub(r"\s+", " ", text).strip(" :") or fields["Buchungstext"] or "Kontoauszug"


# --- matching a repayment to the confirmed obligation -------------------------------------


@dataclass(frozen=True)
class RepaymentMatch:
    """A debit to the Landeskasse placed: the school year it repays and, if the payment was
    recorded by hand already, that journal entry (then nothing new is booked)."""

    school_year: str
    recorded_entry_id: int | None = None


def match_repayment(session: Session, recipient: Recipient, row: ImportRow, packs: tuple[RulePack, ...],
                    taken: set[int]) -> RepaymentMatch | str:
    """The school year whose confirmed, unpaid repayment ``row`` (a bank debit of ``cents`` to
    the Landeskasse) pays, or a German reason why none.

    A year matches when the remittance names its Kassenzeichen or payment reference (the
    Land's notice's reference, the agreement's payment reference, or the rule pack's
    payment reference for the year) and the amount does not exceed what is confirmed and not
    yet paid (a payment in parts is allowed). A repayment recorded by hand (``inkl repayment
    pay``) of the same amount within ``PAYOUT_MATCH_DAYS`` days, not yet matched, is
    recognised instead of booked again; ``taken`` holds the entries matched in this import.
    """
    recorded = _recorded_payment(session, recipient, row, taken)
    if recorded is not None:
        return RepaymentMatch(recorded[1], recorded[0])
    remittance = _normalised(row.bank.remittance if row.bank else row.text)
    open_cents = _open_obligations(session, recipient)
    candidates = [year for year, cents in sorted(open_cents.items()) if cents > 0
                  and any(ref and _normalised(ref) in remittance
                          for ref in _references(session, recipient, year, packs))]
    if not candidates:
        return ("Zahlung an die Landeskasse ohne bestätigte Rückzahlung, deren Kassenzeichen oder Verwendungszweck "
                "im Verwendungszweck steht")
    year = candidates[0]
    if row.cents > open_cents[year]:
        return (f"Zahlung {format_german(row.amount)} EUR übersteigt die offene Rückzahlung {year} von "
                f"{format_german(from_cents(open_cents[year]))} EUR")
    return RepaymentMatch(year)


def _open_obligations(session: Session, recipient: Recipient) -> dict[str, int]:
    """School year → confirmed repayment not yet paid, in cents (the repayment liability's credit balance)."""
    rows = session.execute(
        select(Posting.school_year, func.sum(Posting.amount_cents)).join(Account, Posting.account_id == Account.id)
        .where(Account.recipient_id == recipient.id, Account.role == "repayment_liability")
        .group_by(Posting.school_year))
    return {year: -int(total) for year, total in rows}


def _references(session: Session, recipient: Recipient, year: str, packs: tuple[RulePack, ...]) -> list[str]:
    """The texts that identify a repayment of ``year``: the notices' references, the agreement's
    payment reference and the packs' payment reference."""
    notices = session.scalars(select(Notice.reference).where(Notice.recipient_id == recipient.id,
                                                             Notice.school_year == year))
    agreements = session.scalars(select(Agreement.payment_reference).where(Agreement.recipient_id == recipient.id,
                                                                           Agreement.school_year == year))
    templates = [p.landeskasse.reference_for(year, recipient.name, recipient.key) for p in packs if p.landeskasse]
    return [*notices, *agreements, *templates]


def _recorded_payment(session: Session, recipient: Recipient, row: ImportRow, taken: set[int]
                      ) -> tuple[int, str] | None:
    """(entry id, school year) of a hand-recorded repayment of the row's amount within
    ``PAYOUT_MATCH_DAYS`` days, not matched by an import yet."""
    window = timedelta(days=PAYOUT_MATCH_DAYS)
    candidates = session.execute(
        select(JournalEntry.id, Posting.school_year).join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Posting.account_id == Account.id)
        .where(JournalEntry.recipient_id == recipient.id, JournalEntry.kind == "repayment_payment",
               Account.role == "repayment_liability", Posting.amount_cents == row.cents,
               JournalEntry.date.between(row.day - window, row.day + window),
               ~JournalEntry.id.in_(select(ImportedRow.entry_id).where(ImportedRow.recipient_id == recipient.id)))
        .order_by(JournalEntry.date, JournalEntry.id))
    for entry_id, year in candidates:
        if entry_id not in taken:
            return entry_id, year
    return None


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()
