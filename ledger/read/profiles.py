"""Import profiles: how the files officers have become bookings, declared as data.

A profile is a TOML file in the repository's ``profiles/`` folder or in the instance
folder's ``profiles/`` (``INKL_INSTANCE_DIR``, for a Kreis's own exports), read with
``tomllib`` and validated with marshmallow like the rule packs. Its key is the file name
without ``.toml``. It names the file's format:

- ``delimited``: any delimited export (CSV and its kin): ``[file]`` encoding, separator,
  lines before the header, whether unknown columns are refused; ``[columns]`` which column
  (name, or 1-based position) holds which booking field; ``[amount]`` decimal point and
  how the direction is told (positive with Soll and Haben columns, signed, or a Soll/Haben
  indicator); ``[date]`` the date format; ``[defaults]``; ``[accounts]`` export account
  number → chart number; ``[[rules]]`` (``if`` columns match patterns, ``set`` fields or
  ``skip`` the row), in the spirit of hledger's CSV rules (``ledger.read.mapping``);
- ``datev``: DATEV's Buchungsstapel (``ledger.read.datev``), whose columns are fixed by the
  format; the profile adds ``[accounts]``, ``[defaults]`` and ``[[rules]]``;
- ``camt053``: bank statements (``ledger.read.camt053``), with ``[bank]`` settings and rules
  on the statement's fields.

Every error is a :class:`ProfileError` naming the file and the key path
(``"columns.date"``, ``"rules[2].if[0].matches"``).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ledger.core import settings
from ledger.core.tomldata import DataFileError, folder_state, read_toml, validated
from ledger.read.datev import DATEV_MAPPING, DatevSource
from ledger.read.delimited import DelimitedSource, FileLayout
from ledger.read.mapping import FIELDS, SETTABLE, SIGN_MODES, Condition, RecordMapping, Rule
from ledger.read.bank import DEFAULT_TEXT, UNMATCHED, BankContext, BankSettings, BankSource
from ledger.read.bank import FIELDS as BANK_FIELDS
from ledger.read.csvfile import ImportIssue
from ledger.read.rows import ImportRow, RowSource

#: The folder of the shipped profiles.
PROFILES_DIR: Path = settings.REPO_DIR / "profiles"
#: The profile of the ledger's own journal export, the default of every import.
DEFAULT_PROFILE = "inkl-csv"
#: The formats a profile may name, with their German names.
FORMATS = {"delimited": "Textdatei mit Trennzeichen (CSV)", "datev": "DATEV-Format Buchungsstapel",
           "camt053": "Kontoauszug camt.053"}


class ProfileError(DataFileError):
    """An import profile is unreadable, invalid, or unknown; or two profiles share a key.

    ``file``, ``key``, ``message``, ``errors`` as ``ledger.core.tomldata.DataFileError``.
    """


@dataclass(frozen=True)
class Profile:
    """A validated import profile: ``key`` (file name), German ``title``, ``format`` (one of
    ``FORMATS``), ``description`` and ``source`` (what layout it follows), the file
    ``layout`` (delimited files), the ``mapping`` onto bookings, the file's ``path`` and
    SHA-256 ``digest``."""

    key: str
    title: str
    format: str
    description: str
    source: str
    layout: FileLayout
    mapping: RecordMapping
    path: Path
    digest: str
    bank: BankSettings | None = None

    def open(self, open_binary: Callable[[], BinaryIO], context: BankContext | None = None) -> RowSource:
        """The file whose bytes ``open_binary()`` opens, read in this profile's format. A bank
        statement needs the books' ``context`` (``ledger.read.bank.BankContext``); without it
        its entries are read without the books (a profile check), the IBAN standing for the account."""
        if self.format == "delimited":
            return DelimitedSource(open_binary, self.layout, self.mapping)
        if self.format == "datev":
            return DatevSource(open_binary, self.mapping, self.layout.encoding)
        return BankSource(open_binary, self.bank, self.mapping.rules, self.mapping.defaults, context)


def read_rows(profile: Profile, open_binary: Callable[[], BinaryIO], limit: int | None = None
              ) -> tuple[list[ImportRow], list[ImportIssue], int]:
    """The file's rows as ``profile`` reads them, without the books: ``(rows, issues,
    skipped)``, the first ``limit`` records only if given (a preview). Nothing is raised
    for the file's errors; they are returned."""
    source = profile.open(open_binary)
    rows, issues, skipped = [], list(source.issues), 0
    for count, (line, record, issue) in enumerate(source.records()):
        if limit is not None and count >= limit:
            break
        row, row_issues = (None, [issue]) if issue is not None else source.parse(line, record)
        if row is not None:
            rows.append(row)
        elif not row_issues:
            skipped += 1
        issues += row_issues
    return rows, issues, skipped


def load_profiles(directories: tuple[Path, ...] | None = None) -> dict[str, Profile]:
    """Every profile (``*.toml``) of ``directories`` (default: the shipped folder and the
    instance folder's ``profiles/`` if it exists), by key, sorted by key.

    Raises ProfileError for an invalid profile or a key found twice.
    """
    if directories is None:
        directories = (PROFILES_DIR, settings.INSTANCE_DIR / "profiles")
    return dict(_profiles_of(tuple(folder_state(directory) for directory in directories)))


@lru_cache(maxsize=16)
def _profiles_of(states: tuple[tuple[Path, tuple], ...]) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for directory, files in states:
        for name, _mtime, _size in files:
            path = directory / name
            profile = load_profile(path)
            if profile.key in profiles:
                raise ProfileError(path, "", f"Importprofil {profile.key!r} gibt es bereits "
                                   f"({profiles[profile.key].path})")
            profiles[profile.key] = profile
    return dict(sorted(profiles.items()))


def get_profile(key: str | None, directories: tuple[Path, ...] | None = None) -> Profile:
    """The profile ``key`` (None: ``DEFAULT_PROFILE``). Raises ProfileError if it is unknown."""
    key = key or DEFAULT_PROFILE
    profiles = load_profiles(directories)
    if key not in profiles:
        known = ", ".join(profiles) or "keine"
        raise ProfileError("", "", f"unbekanntes Importprofil „{key[:40]}“ (vorhanden: {known})")
    return profiles[key]


def load_profile(path: Path) -> Profile:
    """Read and validate one profile. Raises ProfileError naming the file and the key path."""
    data = validated(path, read_toml(path, ProfileError), _FileSchema(), ProfileError)
    head, layout, amount = data["profile"], data["file"], data["amount"]
    rules = tuple(Rule(tuple(Condition(c["column"], re.compile(c["matches"])) for c in rule["if"]),
                       dict(rule["set"]), rule["skip"]) for rule in data["rules"])
    accounts = {str(k): v for k, v in data["accounts"].items()}
    if head["format"] == "datev":
        mapping = replace(DATEV_MAPPING, defaults=data["defaults"], accounts=accounts, rules=rules)
    elif head["format"] == "camt053":
        mapping = RecordMapping(columns={}, defaults=data["defaults"], rules=rules)
    else:
        columns = dict(data["columns"])
        optional = frozenset(columns.pop("optional", ()))
        mapping = RecordMapping(
            columns=columns, optional=optional, defaults=data["defaults"], date_format=data["date"]["format"],
            decimal_point=amount["decimal_point"], sign=amount["sign"], debit_marks=frozenset(amount["debit_marks"]),
            credit_marks=frozenset(amount["credit_marks"]), accounts=accounts, rules=rules)
    return Profile(
        key=path.stem, title=head["title"], format=head["format"], description=head["description"],
        source=head["source"], layout=FileLayout(**layout), mapping=mapping, path=path,
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        bank=BankSettings(**data["bank"]) if head["format"] == "camt053" else None)


# --- validation schemas (marshmallow) ------------------------------------------------

_MESSAGES = {"required": "Pflichtangabe fehlt.", "null": "Wert darf nicht leer sein.",
             "invalid": "Text in Anführungszeichen erwartet."}


def _text(required: bool = True, **kwargs) -> fields.String:
    validators = [validate.Length(min=1, error="Darf nicht leer sein.")] if required else []
    return fields.String(required=required, validate=validators, error_messages=_MESSAGES, **kwargs)


def _choice(options, default: str) -> fields.String:
    return fields.String(load_default=default, error_messages=_MESSAGES, validate=validate.OneOf(
        list(options), error=f"erlaubt: {', '.join(options)}"))


class _ColumnField(fields.Field):
    """A column: its name (text) or its 1-based position (a whole number)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("Spaltenname in Anführungszeichen oder Spaltennummer erwartet.")
        if isinstance(value, int) and value < 1:
            raise ValidationError("Spaltennummern zählen ab 1.")
        if isinstance(value, str) and not value.strip():
            raise ValidationError("Darf nicht leer sein.")
        return value


class _Schema(Schema):
    error_messages = {"unknown": "Unbekannter Schlüssel.", "type": "Tabelle erwartet."}


class _HeadSchema(_Schema):
    title = _text()
    format = _choice(FORMATS, "delimited")
    description = _text(required=False, load_default="")
    source = _text(required=False, load_default="")


class _FileLayoutSchema(_Schema):
    encoding = _choice(("auto", "utf-8", "cp1252"), "auto")
    delimiter = _choice((";", ",", "\t", "|"), ";")
    skip_lines = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 100, error="erlaubt: 0 bis 100"))
    extra_columns = _choice(("ignore", "refuse"), "ignore")
    header = fields.Boolean(load_default=True, truthy={True}, falsy={False})


class _ColumnsSchema(_Schema):
    date = _ColumnField()
    voucher = _ColumnField()
    text = _ColumnField()
    amount = _ColumnField()
    debit = _ColumnField()
    credit = _ColumnField()
    account = _ColumnField()
    counter_account = _ColumnField()
    side = _ColumnField()
    cost_centre = _ColumnField()
    category = _ColumnField()
    school_year = _ColumnField()
    optional = fields.List(fields.String(validate=validate.OneOf(list(FIELDS), error="unbekanntes Feld.")),
                           load_default=list)

    @validates_schema
    def _paired_or_journal(self, data, **kwargs):
        if "account" in data and ("debit" in data or "credit" in data):
            raise ValidationError("entweder Soll- und Habenkonto (debit, credit) oder Konto und Gegenkonto "
                                  "(account, counter_account)")


class _AmountSchema(_Schema):
    decimal_point = _choice((",", "."), ",")
    sign = _choice(SIGN_MODES, "positive")
    debit_marks = fields.List(fields.String(validate=validate.Length(min=1)), load_default=lambda: ["S"])
    credit_marks = fields.List(fields.String(validate=validate.Length(min=1)), load_default=lambda: ["H"])


class _DateSchema(_Schema):
    format = fields.String(load_default="%d.%m.%Y")

    @validates_schema
    def _a_date(self, data, **kwargs):
        text = data["format"]
        probe = datetime(2024, 10, 31).strftime(text)
        try:
            complete = datetime.strptime(probe, text).date() == datetime(2024, 10, 31).date()
        except ValueError:
            complete = False
        if not complete:
            raise ValidationError("kein Datumsformat mit Tag, Monat und Jahr (z. B. %d.%m.%Y)", "format")


class _ConditionSchema(_Schema):
    column = _ColumnField(required=True)
    matches = _text()

    @validates_schema
    def _a_pattern(self, data, **kwargs):
        try:
            re.compile(data["matches"])
        except re.error as exc:
            raise ValidationError(f"ungültiger regulärer Ausdruck: {exc}", "matches") from None


class _RuleSchema(_Schema):
    if_ = fields.List(fields.Nested(_ConditionSchema), data_key="if", required=True,
                      validate=validate.Length(min=1, error="mindestens eine Bedingung"), error_messages=_MESSAGES)
    set = fields.Dict(keys=fields.String(validate=validate.OneOf(SETTABLE, error=f"erlaubt: {', '.join(SETTABLE)}")),
                      values=fields.String(), load_default=dict)
    skip = fields.Boolean(load_default=False, truthy={True}, falsy={False})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data["set"] and not data["skip"]:
            raise ValidationError("eine Regel setzt Felder (set) oder überspringt die Zeile (skip = true)")

    @post_load
    def _named(self, data, **kwargs):
        return {"if": data["if_"], "set": data["set"], "skip": data["skip"]}


class _BankSchema(_Schema):
    unmatched = _choice(UNMATCHED, "park")
    text = fields.String(load_default=DEFAULT_TEXT)

    @validates_schema
    def _a_template(self, data, **kwargs):
        try:
            data["text"].format(**{name: "" for name in BANK_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValidationError(f"unbekannter Platzhalter {exc} (erlaubt: {', '.join(BANK_FIELDS)})",
                                  "text") from None


class _FileSchema(_Schema):
    profile = fields.Nested(_HeadSchema, required=True, error_messages=_MESSAGES)
    bank = fields.Nested(_BankSchema, load_default=lambda: _BankSchema().load({}))
    file = fields.Nested(_FileLayoutSchema, load_default=lambda: _FileLayoutSchema().load({}))
    columns = fields.Nested(_ColumnsSchema, load_default=dict)
    amount = fields.Nested(_AmountSchema, load_default=lambda: _AmountSchema().load({}))
    date = fields.Nested(_DateSchema, load_default=lambda: _DateSchema().load({}))
    defaults = fields.Dict(keys=fields.String(validate=validate.OneOf(SETTABLE, error=f"erlaubt: {', '.join(SETTABLE)}")),
                           values=fields.String(), load_default=dict)
    accounts = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Regexp(
        r"^\d{1,20}$", error="Kontonummer des Kontenplans (nur Ziffern)")), load_default=dict)
    rules = fields.List(fields.Nested(_RuleSchema), load_default=list)

    @validates_schema
    def _complete(self, data, **kwargs):
        if data["profile"]["format"] == "camt053":
            fields_named = {str(c["column"]) for rule in data["rules"] for c in rule["if"]}
            unknown = sorted(fields_named - set(BANK_FIELDS))
            if unknown:
                raise ValidationError(f"unbekannte Felder eines Kontoauszugs: {', '.join(unknown)} "
                                      f"(erlaubt: {', '.join(BANK_FIELDS)})", "rules")
        if data["profile"]["format"] != "delimited":
            if data["columns"]:
                raise ValidationError("die Spalten legt das Format fest", "columns")
            return
        columns = data["columns"]
        paired = "account" in columns or "account" in data["defaults"]
        needed = ["date", "voucher", "text", "amount"] + (["account"] if paired else ["debit", "credit"])
        if data["amount"]["sign"] == "side":
            needed.append("side")
        missing = [n for n in needed if n not in columns]
        if paired and "counter_account" not in columns and "counter_account" not in data["defaults"]:
            missing.append("counter_account")
        if missing:
            raise ValidationError(f"Spalte fehlt für: {', '.join(missing)}", "columns")
        if not data["file"]["header"]:
            named = sorted(name for name, column in columns.items() if isinstance(column, str) and name != "optional")
            named += sorted({str(c["column"]) for rule in data["rules"] for c in rule["if"]
                             if isinstance(c["column"], str)})
            if named:
                raise ValidationError(f"ohne Kopfzeile nur Spaltennummern: {', '.join(named)}", "columns")
        if not paired and data["amount"]["sign"] == "side":
            raise ValidationError("ein Soll/Haben-Kennzeichen gehört zu Konto und Gegenkonto", "amount.sign")
