"""Rule packs: which spending of the Inklusionspauschale is purpose-conform, as data.

A rule pack is a TOML file in the repository's ``rules/`` folder (read with the stdlib
``tomllib``, validated with marshmallow). It names the school years it judges, the spending
categories and their status (``permitted``, ``capped``, ``excluded``), the overhead cap,
the repayment deadline and the Landeskasse's bank account. Amounts, rates and dates live
in the packs, never in code (DOMAIN.md "Repayment").

Shipped packs (source: seed 002_17056edfca8550ce.txt):

- ``inklfoeg-nrw-gesetz``: the statutory wording of § 2 Abs. 2 InklFöG (quoted in Hinweise
  Teil I), school years 2014/15 to 2020/21, no overhead cap;
- ``inklfoeg-nrw-hinweise``: the Ministry's Hinweise (Anlage to the Vereinbarung), from
  2021/22 on (Vereinbarung § 4 Abs. 1), overhead capped at 15 % of pool personnel costs
  (Hinweise Teil IV).

Every validation error is a :class:`RulePackError` naming the file and the key path
(``"overhead.rate"``, ``"categories[3].status"``; list indexes count from 0).
"""
from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import holidays
import schwifty
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from schwifty.exceptions import SchwiftyException

from ledger.money import round_half_up
from ledger.schoolyear import SchoolYear, SchoolYearError

RULES_DIR: Path = Path(__file__).resolve().parent.parent / "rules"
CATEGORY_STATUSES = ("permitted", "capped", "excluded")
#: German labels of the statuses, as the UI and the statement show them.
STATUS_LABELS = {"permitted": "zulässig", "capped": "gedeckelt", "excluded": "ausgeschlossen"}
#: German label of an expense posting without a category (not purpose-conform until classified).
UNCLASSIFIED_LABEL = "nicht klassifiziert"
REFERENCE_FIELDS = ("school_year", "recipient_name", "recipient_key")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PACK_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_RATE = re.compile(r"^\d+(\.\d+)?$")


class RulePackError(Exception):
    """A rule pack (or a folder of packs) is unreadable, invalid or inconsistent.

    Attributes:
        file: the pack's path (or the folder, for errors between packs).
        key: dotted key path of the first error, e.g. ``"overhead.rate"``,
            ``"categories[3].status"``; ``""`` for errors of the whole file (TOML syntax).
        message: German message of the first error.
        errors: all errors, key path → list of German messages.

    ``str()`` is ``"<file>: <key>: <message>"``.
    """

    def __init__(self, file: str | Path, key: str, message: str, errors: dict | None = None):
        self.file = str(file)
        self.key = key
        self.message = message
        self.errors = errors if errors is not None else {key: [message]}
        super().__init__(str(self))

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.key, self.message) if part)


@dataclass(frozen=True)
class Category:
    """A spending category: ``id`` (e.g. ``"pool_personnel"``), ``status`` (one of
    CATEGORY_STATUSES), German ``label`` and ``source`` (seed file and part it comes from)."""

    id: str
    status: str
    label: str
    source: str


@dataclass(frozen=True)
class OverheadRule:
    """The overhead cap: spending in ``category`` counts as purpose-conform up to
    ``rate`` × the spending in ``base_categories`` (EUR), rounded half up to cents.

    Source: seed 002_17056edfca8550ce.txt, Hinweise Teil IV, 6. Spiegelstrich (15 % of the
    personnel costs spent in the pool model). The rounding is the project's choice.
    """

    category: str
    base_categories: tuple[str, ...]
    rate: Decimal
    rounding: str
    source: str

    def cap(self, base: Decimal) -> Decimal:
        """The cap in EUR for ``base`` EUR of base-category spending: ``base × rate``
        rounded half up to cents, e.g. 10000.10 × 0.15 = 1500.015 → 1500.02.
        ``base`` must be a Decimal (a float raises TypeError)."""
        return round_half_up(base * self.rate)


@dataclass(frozen=True)
class DeadlineRule:
    """When a repayment is due: ``day``.``month``. of the payout's calendar year plus
    ``years_after_payout``; moved by ``shift`` (``"next_working_day"``, § 193 BGB) past
    weekends and public holidays of ``holiday_country``/``holiday_subdivision`` (``"DE"``/``"NW"``).

    Source: seed 002_17056edfca8550ce.txt, Vereinbarung § 4 Abs. 2 and Hinweise Teil II
    (1 April of the budget year following the payout). See ``ledger.deadline``.
    """

    month: int
    day: int
    years_after_payout: int
    holiday_country: str
    holiday_subdivision: str
    shift: str
    source: str


@dataclass(frozen=True)
class Landeskasse:
    """Where repayments go (seed 002_17056edfca8550ce.txt, Vereinbarung § 3).

    ``iban`` is stored in print format (groups of four), validated with schwifty.
    ``payment_reference`` is a ``str.format`` template using only the fields
    ``{school_year}``, ``{recipient_name}``, ``{recipient_key}``.
    """

    payee: str
    bank: str
    iban: str
    bic: str
    payment_reference: str
    source: str

    def reference_for(self, school_year: str, recipient_name: str, recipient_key: str) -> str:
        """The payment reference (Verwendungszweck) for one repayment, e.g.
        ``"Rückzahlung Inklusionspauschale 2020/21 Rhein-Sieg-Kreis"``.
        ``school_year`` may be a ``SchoolYear`` or its text."""
        return self.payment_reference.format(
            school_year=str(school_year), recipient_name=recipient_name, recipient_key=recipient_key
        )


@dataclass(frozen=True)
class RulePack:
    """One validated rule pack (see the module docstring).

    ``valid_from``/``valid_until`` are the first and last school year it judges
    (``valid_until`` None = open-ended). ``categories`` keep the file's order.
    ``overhead`` is None where the pack has no cap. ``path`` is the TOML file.
    """

    id: str
    version: str
    title: str
    legal_basis: str
    programme: str
    valid_from: SchoolYear
    valid_until: SchoolYear | None
    source: str
    categories: tuple[Category, ...]
    overhead: OverheadRule | None
    deadline: DeadlineRule
    landeskasse: Landeskasse
    path: Path

    def category(self, category_id: str) -> Category:
        """The category with that id. Raises KeyError (German message naming the id)."""
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(f"Kategorie {category_id!r} ist im Regelwerk {self.id} {self.version} nicht definiert")

    def has_category(self, category_id: str) -> bool:
        """Whether the pack defines a category with that id."""
        return any(category.id == category_id for category in self.categories)

    def covers(self, school_year: SchoolYear) -> bool:
        """Whether the pack judges ``school_year`` (valid_from ≤ year ≤ valid_until)."""
        if school_year < self.valid_from:
            return False
        return self.valid_until is None or school_year <= self.valid_until


# --- validation schemas (marshmallow) ------------------------------------------------

_FIELD_MESSAGES = {"required": "Pflichtangabe fehlt.", "null": "Wert darf nicht leer sein."}


def _text(required: bool = True, validate_with=None, **kwargs) -> fields.String:
    messages = {**_FIELD_MESSAGES, "invalid": "Text in Anführungszeichen erwartet."}
    validators = [validate.Length(min=1, error="Darf nicht leer sein.")] if required else []
    if validate_with is not None:
        validators.append(validate_with)
    return fields.String(required=required, validate=validators, error_messages=messages, **kwargs)


def _integer(**kwargs) -> fields.Integer:
    messages = {**_FIELD_MESSAGES, "invalid": "Ganze Zahl erwartet."}
    return fields.Integer(required=True, strict=True, error_messages=messages, **kwargs)


def _check_id(value: str) -> None:
    if not _ID.match(value):
        raise ValidationError(f"ungültige ID {value!r} (erlaubt: a-z, 0-9, _; beginnt mit a-z)")


def _check_pack_id(value: str) -> None:
    if not _PACK_ID.match(value):
        raise ValidationError(f"ungültige Regelwerk-ID {value!r} (erlaubt: a-z, 0-9, _, -; beginnt mit a-z)")


def _check_school_year(value: str) -> None:
    if value == "":
        return
    try:
        SchoolYear.parse(value)
    except SchoolYearError as exc:
        raise ValidationError(str(exc)) from exc


def _check_rate(value: str) -> None:
    if not _RATE.match(value) or not Decimal(0) < Decimal(value) <= Decimal(1):
        raise ValidationError(f"ungültiger Satz {value!r} (Dezimaltext größer 0 und höchstens 1, z. B. \"0.15\")")


def _check_iban(value: str) -> None:
    try:
        schwifty.IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(f"ungültige IBAN {value!r}: {exc}") from exc


def _check_bic(value: str) -> None:
    try:
        schwifty.BIC(value)
    except SchwiftyException as exc:
        raise ValidationError(f"ungültige BIC {value!r}: {exc}") from exc


def _check_template(value: str) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValidationError(f"ungültige Vorlage: {exc}") from exc
    unknown = [name for name in names if name not in REFERENCE_FIELDS]
    if unknown:
        raise ValidationError(f"unbekannte Platzhalter {unknown} (erlaubt: {', '.join(REFERENCE_FIELDS)})")


class _Schema(Schema):
    error_messages = {"unknown": "Unbekannter Schlüssel.", "type": "Tabelle erwartet."}


class _PackSchema(_Schema):
    id = _text(validate_with=_check_pack_id)
    version = _text()
    title = _text()
    legal_basis = _text()
    programme = _text()
    valid_from = _text(validate_with=_check_school_year)
    valid_until = _text(required=False, load_default="", validate_with=_check_school_year)
    source = _text()

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["valid_until"] and SchoolYear.parse(data["valid_until"]) < SchoolYear.parse(data["valid_from"]):
            raise ValidationError({"valid_until": [f"{data['valid_until']} liegt vor valid_from {data['valid_from']}"]})


class _OverheadSchema(_Schema):
    category = _text(validate_with=_check_id)
    base_categories = fields.List(
        _text(validate_with=_check_id),
        required=True,
        validate=validate.Length(min=1, error="Mindestens eine Kategorie angeben."),
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste erwartet."},
    )
    rate = _text(validate_with=_check_rate)
    rounding = _text(validate_with=validate.OneOf(["half_up"], error="Nur \"half_up\" ist erlaubt."))
    source = _text()


class _DeadlineSchema(_Schema):
    month = _integer(validate=validate.Range(min=1, max=12, error="Monat 1–12 erwartet."))
    day = _integer(validate=validate.Range(min=1, max=31, error="Tag 1–31 erwartet."))
    years_after_payout = _integer(validate=validate.Range(min=0, error="Nicht negativ."))
    holiday_country = _text()
    holiday_subdivision = _text()
    shift = _text(validate_with=validate.OneOf(["next_working_day"], error="Nur \"next_working_day\" ist erlaubt."))
    source = _text()

    @validates_schema
    def _valid_date_and_calendar(self, data, **kwargs):
        try:
            date(2001, data["month"], data["day"])  # a common year: 29 February is rejected
        except ValueError:
            raise ValidationError({"day": [f"{data['day']}.{data['month']}. ist kein Datum in jedem Jahr"]})
        try:
            holidays.country_holidays(data["holiday_country"], subdiv=data["holiday_subdivision"])
        except NotImplementedError as exc:
            raise ValidationError({"holiday_subdivision": [f"unbekannter Feiertagskalender: {exc}"]})


class _LandeskasseSchema(_Schema):
    payee = _text()
    bank = _text()
    iban = _text(validate_with=_check_iban)
    bic = _text(validate_with=_check_bic)
    payment_reference = _text(validate_with=_check_template)
    source = _text()


class _CategorySchema(_Schema):
    id = _text(validate_with=_check_id)
    status = _text(validate_with=validate.OneOf(CATEGORY_STATUSES, error="Status muss einer von {choices} sein."))
    label = _text()
    source = _text()


def _nested(schema: type[Schema], **kwargs) -> fields.Nested:
    return fields.Nested(schema, error_messages=_FIELD_MESSAGES, **kwargs)


class _FileSchema(_Schema):
    pack = _nested(_PackSchema, required=True)
    overhead = _nested(_OverheadSchema, required=False, load_default=None)
    deadline = _nested(_DeadlineSchema, required=True)
    landeskasse = _nested(_LandeskasseSchema, required=True)
    categories = fields.List(
        _nested(_CategorySchema),
        required=True,
        validate=validate.Length(min=1, error="Mindestens eine Kategorie angeben."),
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste von Tabellen [[categories]] erwartet."},
    )

    @validates_schema
    def _consistent(self, data, **kwargs):
        errors: dict = {}
        status = {}
        for index, category in enumerate(data["categories"]):
            if category["id"] in status:
                errors.setdefault("categories", {})[index] = {"id": [f"Kategorie {category['id']!r} ist doppelt"]}
            status.setdefault(category["id"], category["status"])
        overhead = data.get("overhead")
        capped = [cid for cid, st in status.items() if st == "capped"]
        if overhead is None:
            if capped:
                errors["overhead"] = [f"fehlt, aber Kategorie {capped[0]!r} ist \"capped\""]
        else:
            found: dict = {}
            if overhead["category"] not in status:
                found["category"] = [f"Kategorie {overhead['category']!r} ist nicht definiert"]
            elif status[overhead["category"]] != "capped":
                found["category"] = [f"Kategorie {overhead['category']!r} muss Status \"capped\" haben"]
            for index, base in enumerate(overhead["base_categories"]):
                if base not in status:
                    found.setdefault("base_categories", {})[index] = [f"Kategorie {base!r} ist nicht definiert"]
            others = [cid for cid in capped if cid != overhead["category"]]
            if others:
                found.setdefault("category", []).append(f"Kategorie {others[0]!r} ist \"capped\" ohne Obergrenze")
            if found:
                errors["overhead"] = found
        if errors:
            raise ValidationError(errors)


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages → {"overhead.rate": [...], "categories[3].status": [...]}."""
    if not isinstance(messages, dict):
        return {prefix: list(messages) if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key == "_schema":
            path = prefix
        elif isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        for sub_key, sub_messages in _flatten(value, path).items():
            flat.setdefault(sub_key, []).extend(sub_messages)
    return flat


# --- loading -------------------------------------------------------------------------


def load_pack(path: Path) -> RulePack:
    """Read and validate one rule pack (TOML).

    Raises RulePackError naming the file and the key path: on unreadable files, TOML
    syntax errors (with line and column), missing or unknown keys, wrong types (rates and
    texts must be quoted strings, never TOML floats), unknown statuses, duplicate or
    malformed ids, an overhead rule naming unknown or non-capped categories, a rate
    outside (0, 1], invalid day/month, unknown holiday calendar, unordered validity,
    an invalid IBAN or BIC (checked with schwifty), or an unknown template placeholder.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+), column (\d+)", str(exc))
        where = f" in Zeile {found.group(1)}, Spalte {found.group(2)}" if found else ""
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise RulePackError(path, "", f"TOML-Syntaxfehler{where}: {detail}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError(path, "", f"Datei nicht lesbar: {exc}") from exc
    try:
        data = _FileSchema().load(raw)
    except ValidationError as exc:
        errors = _flatten(exc.messages)
        key, messages = next(iter(errors.items()))
        raise RulePackError(path, key, messages[0], errors) from exc

    pack, overhead, deadline, kasse = data["pack"], data["overhead"], data["deadline"], data["landeskasse"]
    return RulePack(
        id=pack["id"],
        version=pack["version"],
        title=pack["title"],
        legal_basis=pack["legal_basis"],
        programme=pack["programme"],
        valid_from=SchoolYear.parse(pack["valid_from"]),
        valid_until=SchoolYear.parse(pack["valid_until"]) if pack["valid_until"] else None,
        source=pack["source"],
        categories=tuple(Category(**category) for category in data["categories"]),
        overhead=None if overhead is None else OverheadRule(
            category=overhead["category"],
            base_categories=tuple(overhead["base_categories"]),
            rate=Decimal(overhead["rate"]),
            rounding=overhead["rounding"],
            source=overhead["source"],
        ),
        deadline=DeadlineRule(**deadline),
        landeskasse=Landeskasse(**{**kasse, "iban": schwifty.IBAN(kasse["iban"]).formatted}),
        path=path,
    )


def load_packs(directory: Path = RULES_DIR) -> tuple[RulePack, ...]:
    """Load every ``*.toml`` in ``directory``, sorted by ``valid_from``.

    Raises RulePackError if the folder is missing, any pack is invalid, two packs share
    an id, or their validity periods overlap (an open-ended pack overlaps every later one).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise RulePackError(directory, "", "Verzeichnis der Regelwerke nicht gefunden")
    packs = sorted((load_pack(path) for path in sorted(directory.glob("*.toml"))), key=lambda p: p.valid_from)
    seen: dict[str, Path] = {}
    for pack in packs:
        if pack.id in seen:
            raise RulePackError(pack.path, "pack.id", f"Regelwerk-ID {pack.id!r} ist bereits in {seen[pack.id].name} vergeben")
        seen[pack.id] = pack.path
    for earlier, later in zip(packs, packs[1:]):
        if earlier.valid_until is None or earlier.valid_until >= later.valid_from:
            until = earlier.valid_until or "offen"
            raise RulePackError(
                later.path,
                "pack.valid_from",
                f"Geltung ab {later.valid_from} überschneidet sich mit {earlier.path.name} "
                f"({earlier.valid_from} bis {until})",
            )
    return tuple(packs)


def pack_for(school_year: SchoolYear, packs: tuple[RulePack, ...] | None = None) -> RulePack:
    """The rule pack in force for ``school_year`` (a SchoolYear or text like ``"2021/22"``).

    ``packs`` defaults to ``load_packs()`` (the repository's ``rules/`` folder).
    Raises RulePackError (German message) if no pack covers the year.
    """
    if isinstance(school_year, str):
        school_year = SchoolYear.parse(school_year)
    if packs is None:
        packs = load_packs()
    for pack in packs:
        if pack.covers(school_year):
            return pack
    known = ", ".join(f"{p.id} {p.valid_from} bis {p.valid_until or 'offen'}" for p in packs) or "keine"
    folder = packs[0].path.parent if packs else RULES_DIR
    raise RulePackError(folder, "", f"kein Regelwerk gilt für das Schuljahr {school_year} (vorhanden: {known})")
