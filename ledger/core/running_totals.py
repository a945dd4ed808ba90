"""Running totals of the postings, kept with the postings (table ``account_year_totals``).

As a ledger keeps account balances next to its transfers, the journal writer
(``ledger.core.booking.JournalWriter.book``) adds every call's postings to their totals in
the same transaction (``add_postings``): aggregated here over the call's lines, then one
``INSERT … ON CONFLICT DO UPDATE`` (an upsert, SQLite ≥ 3.24 and PostgreSQL) for all keys
the call touched. The key is (account, school year, category, cost centre, booking month,
reversal entry or not): what the year's totals (``ledger.reports.year_totals``), the
spending chart (``ledger.reports.spending``) and the ministry's overview need instead of
the postings themselves. Postings are never updated or deleted (the database refuses it),
so sums, counts and the first and last booking day only ever grow by new postings.

The journal's day totals (table ``journal_day_totals``, migration 0028) are kept by the same
call: per school year and booking day, the number of entries with a posting of that year and
the sum of their signed amounts (an entry's debits, negative for a reversal), what the
journal's school-year filter counts, sums and pages by (``ledger.reports.journal``).

The totals are derived data: ``verify_totals`` compares them with a recomputation from the
postings (``inkl verify``), ``rebuild`` recomputes them (a restore; migrations 0027 and 0028
filled them for the books that existed).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, Sequence

from sqlalchemy import Date, case, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from ledger.core.models import Account, AccountYearTotal, JournalDayTotal, JournalEntry, Posting, Recipient
from ledger.core.money import format_german, from_cents

#: The key columns, in table order, then the summed ones.
_KEY = ("account_id", "school_year", "category", "cost_centre", "month", "reversal")
_COLUMNS = (*_KEY, "recipient_id", "amount_cents", "postings", "first_day", "last_day")
_TABLE = AccountYearTotal.__tablename__

#: The upsert of one key: sums and counts added, first and last day widened.
_UPSERT = (
    f"INSERT INTO {_TABLE} ({', '.join(_COLUMNS)}) VALUES ({{markers}}) "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    f"amount_cents = {_TABLE}.amount_cents + excluded.amount_cents, "
    f"postings = {_TABLE}.postings + excluded.postings, "
    f"first_day = CASE WHEN excluded.first_day < {_TABLE}.first_day THEN excluded.first_day "
    f"ELSE {_TABLE}.first_day END, "
    f"last_day = CASE WHEN excluded.last_day > {_TABLE}.last_day THEN excluded.last_day "
    f"ELSE {_TABLE}.last_day END"
)

#: (account id, school year, category or "", cost centre or "", first day of the month, reversal).
Key = tuple[int, str, str, str, date, bool]

_DAYS = JournalDayTotal.__tablename__
#: The upsert of one journal day: entries and signed sums added.
_UPSERT_DAY = (
    f"INSERT INTO {_DAYS} (recipient_id, school_year, day, entries, signed_cents) VALUES ({{markers}}) "
    f"ON CONFLICT (recipient_id, school_year, day) DO UPDATE SET "
    f"entries = {_DAYS}.entries + excluded.entries, signed_cents = {_DAYS}.signed_cents + excluded.signed_cents"
)


def add_postings(session: Session, recipient_id: int, entries: Sequence) -> None:
    """Add the postings of ``entries`` (``ledger.core.booking.NewEntry``: booking day, lines
    of (account, cents, school year, category, cost centre), the entry reversed or None),
    just written by ``JournalWriter.book`` for the recipient ``recipient_id`` in the same
    transaction, to their running totals and the entries to the journal's day totals
    (``_add_days``): one upsert statement for all keys they touch in each table."""
    sums: dict[Key, list] = {}
    for entry in entries:
        day, reversal = entry.day, entry.reverses is not None
        month = day.replace(day=1)
        for account, cents, year, category, cost_centre in entry.lines:
            key = (account.id, year, category or "", cost_centre or "", month, reversal)
            known = sums.get(key)
            if known is None:
                sums[key] = [cents, 1, day, day]
            else:
                known[0] += cents
                known[1] += 1
                if day < known[2]:
                    known[2] = day
                elif day > known[3]:
                    known[3] = day
    if not sums:
        return
    dialect = session.get_bind().dialect
    columns = AccountYearTotal.__table__.c
    to_date = columns.month.type.bind_processor(dialect) or _unchanged
    to_bool = columns.reversal.type.bind_processor(dialect) or _unchanged
    rows = [(account_id, year, category, centre, to_date(month), to_bool(reversal), recipient_id,
             cents, count, to_date(first), to_date(last))
            for (account_id, year, category, centre, month, reversal), (cents, count, first, last) in sums.items()]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    session.connection().exec_driver_sql(_UPSERT.format(markers=", ".join([marker] * len(_COLUMNS))), rows)
    _add_days(session, recipient_id, entries, to_date, marker)


def _add_days(session: Session, recipient_id: int, entries: Sequence, to_date, marker: str) -> None:
    """Add ``entries`` to the journal's day totals: each counts once in every school year of
    its lines, with its debits (negated for a reversal)."""
    days: dict[tuple[str, date], list[int]] = {}
    for entry in entries:
        debits = sum(cents for _account, cents, *_rest in entry.lines if cents > 0)
        signed = -debits if entry.reverses is not None else debits
        for year in {line[2] for line in entry.lines}:
            known = days.get((year, entry.day))
            if known is None:
                days[(year, entry.day)] = [1, signed]
            else:
                known[0] += 1
                known[1] += signed
    rows = [(recipient_id, year, to_date(day), count, cents) for (year, day), (count, cents) in days.items()]
    session.connection().exec_driver_sql(_UPSERT_DAY.format(markers=", ".join([marker] * 5)), rows)


def recomputed(session: Session, recipient_ids: Iterable[int] | None = None):
    """The totals as a full recomputation from the postings gives them: a SELECT of the
    columns of ``account_year_totals`` (in ``_COLUMNS`` order), grouped by its key, for the
    accounts of ``recipient_ids`` (every account if None)."""
    if session.get_bind().dialect.name == "postgresql":
        month = cast(func.date_trunc("month", Posting.date), Date)
    else:
        month = func.date(Posting.date, "start of month")
    reversal = JournalEntry.reverses_id.is_not(None)
    category, centre = func.coalesce(Posting.category, literal("")), func.coalesce(Posting.cost_centre, literal(""))
    query = (select(Posting.account_id, Posting.school_year, category, centre, month.label("month"),
                    reversal.label("reversal"), Account.recipient_id, func.sum(Posting.amount_cents),
                    func.count(), func.min(Posting.date), func.max(Posting.date))
             .join(JournalEntry, JournalEntry.id == Posting.entry_id)
             .join(Account, Account.id == Posting.account_id)
             .group_by(Posting.account_id, Posting.school_year, category, centre, month, reversal,
                       Account.recipient_id))
    if recipient_ids is not None:
        query = query.where(Account.recipient_id.in_(list(recipient_ids)))
    return query


def recomputed_days(session: Session):
    """The journal's day totals as a full recomputation from the entries and postings gives
    them: a SELECT of (recipient id, school year, day, entries, signed cents), grouped by
    recipient, school year and day. Each entry's debits are read by ``ix_postings_entry``
    once per school year of its postings (as migration 0028 fills the table)."""
    years = select(Posting.entry_id, Posting.school_year).distinct().subquery()
    debits = (select(func.coalesce(func.sum(Posting.amount_cents), 0))   # 0 for an entry stripped of its debits
              .where(Posting.entry_id == JournalEntry.id, Posting.amount_cents > 0).scalar_subquery())
    sign = case((JournalEntry.reverses_id.is_(None), 1), else_=-1)
    return (select(JournalEntry.recipient_id, years.c.school_year, JournalEntry.date, func.count(),
                   func.sum(sign * debits))
            .join(years, years.c.entry_id == JournalEntry.id)
            .group_by(JournalEntry.recipient_id, years.c.school_year, JournalEntry.date))


def rebuild(session: Session) -> int:
    """Recompute every running total, the accounts' and the journal's days, from the postings
    (after a restore, whose rows arrive without the journal writer); returns the number of
    rows written to both tables."""
    session.execute(delete(AccountYearTotal))
    session.execute(insert(AccountYearTotal).from_select(list(_COLUMNS), recomputed(session)))
    session.execute(delete(JournalDayTotal))
    session.execute(insert(JournalDayTotal).from_select(
        ["recipient_id", "school_year", "day", "entries", "signed_cents"], recomputed_days(session)))
    return (session.scalar(select(func.count()).select_from(AccountYearTotal))
            + session.scalar(select(func.count()).select_from(JournalDayTotal)))


@dataclass(frozen=True)
class TotalsCheck:
    """The outcome of ``verify_totals``: account total ``rows`` kept, ``postings`` counted in
    them, the journal's kept ``days`` (rows), and the German ``findings`` (empty when every
    kept total equals the recomputation)."""

    rows: int
    postings: int
    findings: tuple[str, ...]
    days: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict:
        """``{"ok": …, "rows": …, "postings": …, "findings": [...]}``."""
        return {"ok": self.ok, "rows": self.rows, "postings": self.postings, "days": self.days,
                "findings": list(self.findings)}


def verify_totals(session: Session, *, limit: int = 20,
                  category_label: Callable[[str], str] | None = None) -> TotalsCheck:
    """Compare the kept totals with a full recomputation from the postings, key by key.

    Returns the check with one German finding per differing key (at most ``limit``, then
    a count of the rest): a total kept without postings, postings without a kept total,
    or a differing sum (EUR), count, first or last day. ``category_label(category id)``
    names a category in the findings (the rule pack's German label;
    without it the id). Raises nothing for differences; database errors pass through.
    """
    kept = {_key(row): tuple(row[7:]) for row in session.execute(
        select(*(AccountYearTotal.__table__.c[name] for name in _COLUMNS)))}
    fresh = {_key(row): tuple(row[7:]) for row in session.execute(recomputed(session))}
    numbers = {account_id: number for account_id, number in session.execute(select(Account.id, Account.number))}
    findings = []
    for key in sorted(kept.keys() | fresh.keys(), key=lambda k: (k[0], k[1], k[2], k[3], k[4], k[5])):
        have, want = kept.get(key), fresh.get(key)
        if have is not None and want is not None and _normalised(have) == _normalised(want):
            continue
        account_id, year, category, centre, month, reversal = key
        category = (category_label(category) if category_label else category) if category else "–"
        where = (f"Konto {numbers.get(account_id, '?')}, Schuljahr {year}, Kategorie {category}, "
                 f"Kostenstelle {centre or '–'}, Monat {_month(month)}{', Storno' if reversal else ''}")
        findings.append(_finding(where, have, want, _describe))
    days, day_findings = _verify_days(session)
    findings += day_findings
    shown = findings[:limit]
    if len(findings) > limit:
        shown.append(f"… und {len(findings) - limit} weitere Abweichungen")
    return TotalsCheck(len(kept), sum(int(v[1]) for v in kept.values()), tuple(shown), days)


def _verify_days(session: Session) -> tuple[int, list[str]]:
    """The number of the journal's kept day totals and a German finding per day whose kept
    entries or signed sum differ from the recomputation (``recomputed_days``)."""
    columns = JournalDayTotal.__table__.c
    kept = {(r, y, _day(d)): (int(n), int(c)) for r, y, d, n, c in session.execute(
        select(columns.recipient_id, columns.school_year, columns.day, columns.entries, columns.signed_cents))}
    fresh = {(r, y, _day(d)): (int(n), int(c)) for r, y, d, n, c in session.execute(recomputed_days(session))}
    names = dict(session.execute(select(Recipient.id, Recipient.name)).all())
    findings = []
    for key in sorted(kept.keys() | fresh.keys()):
        have, want = kept.get(key), fresh.get(key)
        if have == want:
            continue
        recipient_id, year, day = key
        where = f"Journal {names.get(recipient_id, '?')}, Schuljahr {year}, Buchungstag {day:%d.%m.%Y}"
        findings.append(_finding(where, have, want, _entries))
    return len(kept), findings


def _finding(where: str, have, want, describe: Callable) -> str:
    """The German finding of one key ``where`` whose kept values ``have`` differ from the
    recomputed ``want`` (either None when missing), each shown by ``describe``."""
    if want is None:
        return f"{where}: Summe gespeichert, aber keine Buchungen dazu"
    if have is None:
        return f"{where}: Buchungen ohne gespeicherte Summe"
    return f"{where}: gespeichert {describe(have)}, nachgerechnet {describe(want)}"


def _entries(values: tuple[int, int]) -> str:
    count, cents = values
    return f"{count} {'Buchung' if count == 1 else 'Buchungen'} über {format_german(from_cents(cents))} EUR"


def _key(row) -> Key:
    account_id, year, category, centre, month, reversal = row[:6]
    return account_id, year, category, centre, _day(month), bool(reversal)


def _normalised(values: tuple) -> tuple:
    cents, count, first, last = values
    return int(cents), int(count), _day(first), _day(last)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _month(value) -> str:
    day = _day(value)
    return f"{day:%m/%Y}"


def _describe(values: tuple) -> str:
    cents, count, first, last = _normalised(values)
    lines = "Buchungszeile" if count == 1 else "Buchungszeilen"
    return f"{format_german(from_cents(cents))} EUR in {count} {lines} ({first:%d.%m.%Y}–{last:%d.%m.%Y})"


def _unchanged(value):
    return value
