"""The tables auditors and officers download: journal, classification (Einstufung), trial
balance (Summen- und Saldenliste) and account ledger (Kontoblatt), and the Land's overview
across recipients (Landesübersicht), each as a ``Sheet`` (``ledger.write.tabular``) for CSV
or XLSX.

German column headings; dates as dates, amounts as EUR ``Decimal`` from integer cents (numbers
in the file, never text); category and status by their German labels. Debit and credit
(Soll, Haben) are separate columns of positive amounts; balances (Saldo) are signed:
positive = debit balance, negative = credit balance.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from ledger.core.models import ACCOUNT_TYPES, JournalEntry, Posting, Recipient
from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.reports.account_ledger import AccountLedger
from ledger.reports.classification import ClassificationFilter
from ledger.reports.journal import category_label
from ledger.reports.overview import OverviewRow
from ledger.reports.trial_balance import TrialBalance
from ledger.rules.classify import rule_label
from ledger.rules.evaluate import Evaluated
from ledger.rules.packs import RulePack, pack_name
from ledger.rules.status import STATUS_LABELS
from ledger.write.tabular import Sheet

JOURNAL_HEADINGS = ("Buchung Nr.", "Buchungsdatum", "Belegnummer", "Buchungstext", "Konto", "Kontobezeichnung",
                    "Soll", "Haben", "Schuljahr", "Kategorie", "Kostenstelle", "Storno von Buchung Nr.",
                    "Erfasst von", "Erfasst am")
CLASSIFICATION_HEADINGS = ("Buchungszeile Nr.", "Buchung Nr.", "Buchungsdatum", "Belegnummer", "Buchungstext",
                           "Konto", "Kostenstelle", "Kategorie", "Betrag", "zweckentsprechend", "ausgeschlossen",
                           "nicht eingestuft", "Einstufung", "Regel", "Begründung", "Quelle", "Regelwerk",
                           "abweichende Einstufung Nr.")
TRIAL_BALANCE_HEADINGS = ("Konto", "Kontobezeichnung", "Kontoart", "Saldovortrag", "Soll", "Haben", "Saldo")
ACCOUNT_LEDGER_HEADINGS = ("Buchungsdatum", "Buchung Nr.", "Belegnummer", "Buchungstext", "Gegenkonto",
                           "Schuljahr", "Kategorie", "Kostenstelle", "Soll", "Haben", "Saldo")


def scope_text(school_year: SchoolYear | None, date_from: date | None, date_to: date | None) -> str:
    """The scope in German: ``"Schuljahr 2023/24, 01.08.2023 bis 31.12.2023"``, ``"alle Buchungen"``."""
    parts = [f"Schuljahr {school_year}"] if school_year is not None else []
    if date_from is not None or date_to is not None:
        start = f"{date_from:%d.%m.%Y}" if date_from else "Beginn"
        end = f"{date_to:%d.%m.%Y}" if date_to else "heute"
        parts.append(f"{start} bis {end}")
    return ", ".join(parts) or "alle Buchungen"


def journal_sheet(session: Session, recipient: Recipient, packs: tuple[RulePack, ...], *,
                  school_year: SchoolYear | None = None, date_from: date | None = None,
                  date_to: date | None = None) -> Sheet:
    """The journal, one row per posting, entries in booking order (date, id): the entries with a
    posting of ``school_year`` (None: any; with all their postings, so each entry balances)
    dated ``date_from``..``date_to`` (inclusive; None = open). One query (a consistent list even
    while someone books); postings are loaded in batches."""
    query = select(JournalEntry).where(JournalEntry.recipient_id == recipient.id)
    if school_year is not None:
        query = query.where(exists(select(Posting.id).where(
            Posting.entry_id == JournalEntry.id, Posting.school_year == str(school_year))))
    if date_from is not None:
        query = query.where(JournalEntry.date >= date_from)
    if date_to is not None:
        query = query.where(JournalEntry.date <= date_to)
    entries = session.scalars(query.order_by(JournalEntry.date, JournalEntry.id).options(
        selectinload(JournalEntry.postings).selectinload(Posting.account)))
    rows = []
    for entry in entries:
        for p in entry.postings:
            category = category_label(p.category, p.school_year, packs) if p.account.type == "expense" else None
            rows.append([entry.id, entry.date, entry.voucher_number, entry.text, p.account.number, p.account.name,
                         _debit(p.amount_cents), _credit(p.amount_cents), p.school_year, category,
                         p.cost_centre, entry.reverses_id, entry.created_by, entry.created_at.date()])
    return Sheet(f"Journal {scope_text(school_year, date_from, date_to)}", JOURNAL_HEADINGS, rows)


def classification_sheet(items: Sequence[Evaluated], school_year: SchoolYear, packs: tuple[RulePack, ...],
                         keep: ClassificationFilter | None = None) -> Sheet:
    """Expense postings of ``school_year`` with the classification their figures rest on.

    ``items``: the year's classified postings (``ledger.rules.evaluation_runs.classified``:
    today's, or a closed year's recorded run). ``keep``: only the postings an active filter
    keeps, and the sheet's title says that it is a selection (the Einstufung page's filters).
    """
    selected = keep is not None and keep.active
    rows = []
    for item in items:
        if selected and not keep.keeps(item):
            continue
        c = item.classification
        rows.append([item.posting_id, item.entry_id, item.day, item.voucher_number, item.text, item.account,
                     item.cost_centre, category_label(item.category, str(school_year), packs), item.amount,
                     c.conform, c.excluded, c.unclassified, STATUS_LABELS.get(c.status, c.status), rule_label(c.rule),
                     c.reason, c.source, pack_name(c.pack_id, c.pack_version, packs), item.override_id])
    title = f"Einstufung {school_year}" + (", Auswahl" if selected else "")
    return Sheet(title, CLASSIFICATION_HEADINGS, rows)


def trial_balance_sheet(balance: TrialBalance) -> Sheet:
    """The Summen- und Saldenliste, one row per account and a last row ``Summe``."""
    rows = [[row.number, row.name, ACCOUNT_TYPES.get(row.type, row.type), from_cents(row.opening),
             from_cents(row.debit), from_cents(row.credit), from_cents(row.closing)] for row in balance.rows]
    rows.append(["Summe", None, None, from_cents(balance.opening), from_cents(balance.debit),
                 from_cents(balance.credit), from_cents(balance.closing)])
    title = f"Summen- und Saldenliste {scope_text(balance.school_year, balance.date_from, balance.date_to)}"
    return Sheet(title, TRIAL_BALANCE_HEADINGS, rows, frozenset({len(rows) - 1}))


def account_ledger_sheet(ledger: AccountLedger, packs: tuple[RulePack, ...]) -> Sheet:
    """The Kontoblatt: a first row ``Saldovortrag``, one row per posting with the running
    balance, a last row ``Summe`` with the debit and credit sums and the closing balance."""
    expense = ledger.account.type == "expense"
    rows = [[ledger.date_from, None, None, "Saldovortrag", None, None, None, None, None, None,
             from_cents(ledger.opening)]]
    for line in ledger.lines:
        category = category_label(line.category, line.school_year, packs) if expense else None
        rows.append([line.day, line.entry_id, line.voucher_number, line.text, line.counter_accounts,
                     line.school_year, category, line.cost_centre, _debit(line.amount), _credit(line.amount),
                     from_cents(line.balance)])
    rows.append([ledger.date_to, None, None, "Summe", None, None, None, None, from_cents(ledger.debit),
                 from_cents(ledger.credit), from_cents(ledger.closing)])
    account = ledger.account
    title = f"Kontoblatt {account.number} {scope_text(ledger.school_year, ledger.date_from, ledger.date_to)}"
    return Sheet(title, ACCOUNT_LEDGER_HEADINGS, rows, frozenset({0, len(rows) - 1}))


def _debit(cents: int):
    return from_cents(cents) if cents > 0 else None


def _credit(cents: int):
    return from_cents(-cents) if cents < 0 else None


OVERVIEW_HEADINGS = ("Schlüssel", "Empfänger", "Schuljahr", "Zuweisung erhalten", "zweckgerecht verwendet",
                     "Rückzahlung", "fällig am", "gezahlt", "offen", "überfällig", "Zinsen bis Stichtag",
                     "Verwendungsnachweis Nr.", "Verwendungsnachweis vom", "Schuljahr abgeschlossen",
                     "nicht berechenbar")


def overview_sheet(rows: list[OverviewRow], as_of: date) -> Sheet:
    """The Landesübersicht: one row per recipient and school year (as ``rows`` are given,
    filtered and sorted), and a last row ``Summe`` over the computed rows."""
    table = [[r.recipient_key, r.recipient_name, r.school_year, r.grant_received, r.permitted, r.repayment_due,
              r.due_date, r.already_repaid, r.outstanding, "ja" if r.overdue else "nein", r.interest,
              r.statement_number, r.statement_date, "ja" if r.closed else "nein", r.error] for r in rows]
    computed = [r for r in rows if r.error is None]

    def total(name: str):
        return sum((getattr(r, name) for r in computed), from_cents(0))

    table.append(["Summe", None, None, total("grant_received"), total("permitted"), total("repayment_due"), None,
                  total("already_repaid"), total("outstanding"), None, total("interest"), None, None, None, None])
    return Sheet(f"Landesübersicht {as_of:%d.%m.%Y}", OVERVIEW_HEADINGS, table, frozenset({len(table) - 1}))
