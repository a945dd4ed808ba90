"""How the columns of an export become a booking: the mapping part of an import profile.

In the spirit of hledger's CSV rules: each booking field (``date``, ``voucher``, ``text``,
``amount``, the accounts, ``cost_centre``, ``category``, ``school_year``) is read from a
column, or given a default, and conditional rules (``if`` a column matches a pattern,
``then`` set fields, or skip the row) refine it. The accounts are either

- ``debit`` and ``credit`` columns (a journal export: Soll- und Habenkonto), or
- ``account`` and ``counter_account`` (an account ledger, DATEV's Konto and Gegenkonto):
  the ``amount``'s sign (``sign = "signed"``) or a Soll/Haben indicator column
  (``sign = "side"``) tells whether ``account`` is debited (Soll) or credited (Haben).

An account number as the export writes it may be translated to the chart's number
(``accounts``: external number → chart number). A record is read through ``value(column)``
(a column name, or a 1-based position for files without header), so the same mapping
serves delimited files and DATEV's Buchungsstapel.

Errors are ``ImportIssue`` values naming line and column; the column is the export's
own column name (or ``"Spalte 7"``), so an officer finds it in the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Callable, Mapping

from ledger.core.money import AmountError, checked_cents, parse_decimal, parse_german_cents
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.read.csvfile import ImportIssue
from ledger.read.rows import ImportRow, base_key, school_year_of

#: The booking fields a mapping fills, with their German names (in messages and documentation).
FIELDS = {
    "date": "Buchungsdatum", "voucher": "Belegnummer", "text": "Buchungstext", "amount": "Betrag",
    "debit": "Sollkonto", "credit": "Habenkonto", "account": "Konto", "counter_account": "Gegenkonto",
    "side": "Soll/Haben-Kennzeichen", "cost_centre": "Kostenstelle", "category": "Kategorie",
    "school_year": "Schuljahr",
}
#: Fields a rule may set.
SETTABLE = ("debit", "credit", "account", "counter_account", "cost_centre", "category", "school_year", "text")
#: Longest text per field, in characters (the database's column widths).
MAX_LENGTH = {"voucher": 60, "text": 500, "cost_centre": 40, "debit": 20, "credit": 20, "category": 40}
#: How the amount's direction is told: always positive (the accounts tell it), signed, or an indicator column.
SIGN_MODES = ("positive", "signed", "side")

Column = str | int


def column_label(column: Column) -> str:
    """A column as an error names it: its name, or ``"Spalte 7"`` for a position."""
    return column if isinstance(column, str) else f"Spalte {column}"


@dataclass(frozen=True)
class Condition:
    """``column`` (name or position) matches ``pattern`` (a regular expression, searched)."""

    column: Column
    pattern: re.Pattern


@dataclass(frozen=True)
class Rule:
    """If every condition holds, set ``values`` (field → text) or, with ``skip``, leave the
    row out of the import (it is counted as skipped, not booked)."""

    conditions: tuple[Condition, ...]
    values: Mapping[str, str] = field(default_factory=dict)
    skip: bool = False


@dataclass(frozen=True)
class RecordMapping:
    """The mapping of one profile (see the module docstring).

    ``columns``: field → column (name or 1-based position); ``optional``: fields whose
    column may be absent from the file; ``defaults``: field → text where the column is
    absent or empty; ``date_format``: ``strptime`` format; ``decimal_point``: ``","``
    (German amounts, ``1.234,56``) or ``"."`` (``1234.56``); ``sign``: one of
    ``SIGN_MODES``; ``debit_marks``/``credit_marks``: the indicator values for Soll and
    Haben; ``accounts``: export account number → chart number; ``rules`` in order, each
    later one overriding the earlier; ``fixed_by_format``: the columns, marks and date
    format are the format's (DATEV), not the profile's, so errors name no profile key.
    """

    columns: Mapping[str, Column]
    optional: frozenset[str] = frozenset()
    defaults: Mapping[str, str] = field(default_factory=dict)
    date_format: str = "%d.%m.%Y"
    decimal_point: str = ","
    sign: str = "positive"
    debit_marks: frozenset[str] = frozenset({"S"})
    credit_marks: frozenset[str] = frozenset({"H"})
    accounts: Mapping[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    fixed_by_format: bool = False

    def at_fault(self, key: str) -> str:
        """``"; Importprofil: date.format"``: the profile key an error stems from, for messages;
        ``""`` where the format fixes it (``fixed_by_format``: DATEV's columns, marks, dates)."""
        return "" if self.fixed_by_format and not key.startswith("rules") else f"; Importprofil: {key}"

    @property
    def paired(self) -> bool:
        """True for Konto/Gegenkonto (``account``, ``counter_account``), False for Soll/Haben columns."""
        return "account" in self.columns or "account" in self.defaults

    def required_fields(self) -> tuple[str, ...]:
        """The fields every row must have (from a column, a default or a rule)."""
        accounts = ("account", "counter_account") if self.paired else ("debit", "credit")
        return ("date", "voucher", "text", "amount") + accounts + (("side",) if self.sign == "side" else ())

    def column_of(self) -> dict[str, str]:
        """The column an error about an ``ImportRow`` field names (``RowSource.column_of``)."""
        def label(name: str) -> str:
            column = self.columns.get(name)
            return column_label(column) if column is not None else FIELDS[name]
        debit, credit = ("account", "counter_account") if self.paired else ("debit", "credit")
        return {"day": label("date"), "debit": label(debit), "credit": label(credit),
                "category": label("category"), "school_year": label("school_year")}


class BoundMapping:
    """A mapping bound to one file's columns: reads records as ``ImportRow``.

    ``index`` maps each column reference of the mapping to the field index in the file's
    records (absent optional columns are missing). Build it with ``bind``.
    """

    def __init__(self, mapping: RecordMapping, index: Mapping[Column, int],
                 parse_day: Callable[[str], date] | None = None) -> None:
        self.mapping = mapping
        self._parse_day = parse_day
        self._index = dict(index)
        self._fields = {name: index[column] for name, column in mapping.columns.items() if column in index}
        self.column_of = mapping.column_of()
        self._labels = {name: column_label(column) for name, column in mapping.columns.items()}
        self._paired = mapping.paired
        self._required = mapping.required_fields()

    def values(self, fields: list[str]) -> tuple[dict[str, str], bool]:
        """The record's field values after defaults and rules, and whether a rule skips it."""
        values = dict(self.mapping.defaults)
        for name, position in self._fields.items():
            text = fields[position]
            if text:
                values[name] = text
        accounts = self.mapping.accounts
        if accounts:
            for name in ("debit", "credit", "account", "counter_account"):
                if name in values:
                    values[name] = accounts.get(values[name], values[name])
        skip = False
        for rule in self.mapping.rules:
            if all(_matches(condition, fields, self._index) for condition in rule.conditions):
                values.update(rule.values)
                skip = rule.skip
        return values, skip

    def parse(self, line: int, fields: list[str]) -> tuple[ImportRow | None, list[ImportIssue]]:
        """The record at physical ``line`` as ``(ImportRow, [])``; ``(None, issues)`` with every
        error of the record; ``(None, [])`` for a row a rule skips."""
        values, skip = self.values(fields)
        if skip:
            return None, []
        issues: list[ImportIssue] = []

        def fail(name: str, message: str) -> None:
            issues.append(ImportIssue(line, self._label(name), message))

        for name in self._required:
            if not values.get(name):
                fail(name, "Pflichtfeld ist leer")
        for name, limit in MAX_LENGTH.items():
            if len(values.get(name, "")) > limit:
                fail(name, f"länger als {limit} Zeichen")
        day = self._day(values.get("date"), fail)
        cents = _cents(values.get("amount"), self.mapping, fail)
        debit, credit, swapped = self._accounts(values, cents, fail)
        if debit and debit == credit:
            fail("credit" if not self._paired else "counter_account", "Soll- und Habenkonto sind gleich")
        school_year = None
        if values.get("school_year"):
            try:
                school_year = SchoolYear.parse(values["school_year"])
            except SchoolYearError as exc:
                fail("school_year", str(exc))
        if issues or day is None or cents is None:
            return None, issues
        return ImportRow(
            line=line, day=day, voucher_number=values["voucher"], text=values["text"], debit=debit, credit=credit,
            cents=abs(cents), cost_centre=values.get("cost_centre") or None, category=values.get("category") or None,
            school_year=school_year or school_year_of(day), school_year_given=school_year is not None,
            swapped=swapped,
        ), []

    def base(self, fields: list[str]) -> tuple | None:
        """The record's ``ImportRow.base()`` if it parses; None if it is skipped or its date or
        amount does not parse. Only the base's fields are read (the import's first pass over
        the file): a record with errors in other fields may still get a base (it only costs
        the import an exact count of its occurrences), a record that parses always gets its own."""
        values, skip = self.values(fields)
        if skip:
            return None
        day = self._day(values.get("date"), _ignore)
        cents = _cents(values.get("amount"), self.mapping, _ignore)
        if day is None or cents is None:
            return None
        debit, credit, _swapped = self._accounts(values, cents, _ignore)
        return base_key(day, values.get("voucher", ""), debit, credit, abs(cents))

    def accounts(self, fields: list[str]) -> tuple[str, str, bool]:
        """The record's debit and credit account numbers (chart numbers) and whether they are
        swapped against the columns (Haben); for a record with other errors."""
        values, _skip = self.values(fields)
        return self._accounts(values, None, lambda name, message: None)

    def _accounts(self, values: dict[str, str], cents: int | None,
                  fail: Callable[[str, str], None]) -> tuple[str, str, bool]:
        if not self._paired:
            debit, credit = values.get("debit", ""), values.get("credit", "")
            swapped = cents is not None and cents < 0
            return (credit, debit, True) if swapped else (debit, credit, False)
        account, counter = values.get("account", ""), values.get("counter_account", "")
        if self.mapping.sign == "side":
            mark = values.get("side", "")
            if mark in self.mapping.debit_marks:
                credited = False
            elif mark in self.mapping.credit_marks:
                credited = True
            else:
                if mark:
                    allowed = ", ".join(sorted(self.mapping.debit_marks | self.mapping.credit_marks))
                    fail("side", f"unbekanntes Soll/Haben-Kennzeichen {mark!r} (erlaubt: {allowed}"
                                 f"{self.mapping.at_fault('amount.debit_marks, amount.credit_marks')})")
                credited = False
        else:
            credited = cents is not None and cents < 0
        return (counter, account, True) if credited else (account, counter, False)

    def _day(self, text: str | None, fail: Callable[[str, str], None]) -> date | None:
        if not text:
            return None
        if self._parse_day is not None:
            try:
                day = self._parse_day(text)
            except ValueError as exc:
                fail("date", str(exc))
                return None
        else:
            try:
                day = _parse_day(text, self.mapping.date_format)
            except ValueError:
                fail("date", f"ungültiges Datum {text!r} (erwartet {date_pattern(self.mapping.date_format)}"
                             f"{self.mapping.at_fault('date.format')})")
                return None
        if not FIRST_DAY <= day <= LAST_DAY:
            fail("date", f"Datum {text!r} liegt nicht zwischen {FIRST_DAY:%d.%m.%Y} und {LAST_DAY:%d.%m.%Y} "
                         "(ein Platzhalter wie 31.12.9999 ist kein Buchungsdatum)")
            return None
        return day

    def _label(self, name: str) -> str:
        return self._labels.get(name) or FIELDS[name]


def _ignore(_name: str, _message: str) -> None:
    """An error callback that drops the error (the record's errors are collected by ``parse``)."""


def date_pattern(date_format: str) -> str:
    """A ``strptime`` format as officers write it: ``"%d.%m.%Y"`` → ``"TT.MM.JJJJ"``."""
    for code, pattern in (("%d", "TT"), ("%m", "MM"), ("%Y", "JJJJ"), ("%y", "JJ"), ("%H", "hh"), ("%M", "mm"),
                          ("%S", "ss")):
        date_format = date_format.replace(code, pattern)
    return date_format


def bind(mapping: RecordMapping, header: Mapping[str, int] | None, width: int | None, line: int,
         parse_day: Callable[[str], date] | None = None) -> tuple[BoundMapping | None, list[ImportIssue]]:
    """``mapping`` bound to a file whose header maps column names to indexes (``header``,
    None for a file without header) and whose records have ``width`` fields (None: unknown).
    ``parse_day``: the format's own date reader (text → date, ValueError with a German
    message), instead of the mapping's ``date_format``.

    Returns ``(bound, [])`` or ``(None, issues)`` naming the header ``line`` and each column
    the mapping needs and the file lacks.
    """
    references = {column: f"columns.{name}" for name, column in mapping.columns.items()}
    for number, rule in enumerate(mapping.rules):
        for position, condition in enumerate(rule.conditions):
            references.setdefault(condition.column, f"rules[{number}].if[{position}].column")
    index: dict[Column, int] = {}
    issues = []
    optional_columns = {mapping.columns[name] for name in mapping.optional if name in mapping.columns}
    for column, key in references.items():
        if isinstance(column, int):
            if width is not None and column > width:
                issues.append(ImportIssue(line, column_label(column), f"die Datei hat nur {width} Spalten"
                                          f"{_bracketed(mapping.at_fault(key))}"))
            else:
                index[column] = column - 1
        elif header is not None and column in header:
            index[column] = header[column]
        elif column not in optional_columns:
            issues.append(ImportIssue(line, column, f"Pflichtspalte fehlt{_bracketed(mapping.at_fault(key))}"))
    if issues:
        return None, sorted(issues, key=lambda i: i.column or "")
    return BoundMapping(mapping, index, parse_day), []


def _bracketed(fault: str) -> str:
    return f" ({fault[2:]})" if fault else ""


def _matches(condition: Condition, fields: list[str], index: Mapping[Column, int]) -> bool:
    position = index.get(condition.column)
    return position is not None and condition.pattern.search(fields[position]) is not None


#: The dates a booking read from a file may have: an export's placeholders (01.01.0001,
#: 31.12.9999) are no booking dates, and the school years of the ledger lie in between.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


@lru_cache(maxsize=8192)
def _parse_day(text: str, date_format: str) -> date:
    """``("31.10.2023", "%d.%m.%Y")`` → ``date(2023, 10, 31)``; raises ValueError."""
    return datetime.strptime(text, date_format).date()


def _cents(text: str | None, mapping: RecordMapping, fail: Callable[[str, str], None]) -> int | None:
    """The amount in cents, signed as written (a trailing minus, ``"1.234,56-"``, as SAP
    writes it, counts as a leading one); positive amounts only unless the sign tells the side."""
    if not text:
        return None
    written = "-" + text[:-1].strip() if text.endswith("-") and len(text) > 1 else text
    try:
        cents = (parse_german_cents(written) if mapping.decimal_point == ","
                 else checked_cents(parse_decimal(written)))
    except AmountError as exc:
        fail("amount", str(exc))
        return None
    if cents <= 0 and mapping.sign != "signed":
        fail("amount", "Betrag muss positiv sein (die Richtung ergibt sich aus Soll und Haben)"
             if mapping.sign == "positive" else "Betrag muss positiv sein (die Richtung gibt das Soll/Haben-Kennzeichen)")
        return None
    if cents == 0:
        fail("amount", "Betrag darf nicht 0 sein")
        return None
    return cents
