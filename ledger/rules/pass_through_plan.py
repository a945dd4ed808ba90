"""A Kreis's plan to pass part of its Inklusionspauschale through to its member municipalities
by a formula (Weiterleitung nach Verteilungsschlüssel): an instance plan file (TOML), validated
like the rule packs (marshmallow; errors as RulePackError naming the key path, in German).

Pass-through itself is allowed by the Hinweise zur Inklusionspauschale, Teil II („… können die
Kreise Mittel … an kreisangehörige Gemeinden weiterleiten“, if the municipality bears schools of
Gemeinsames Lernen and the Kreis has verified its purpose-conform projects). How much each
municipality may claim is the Kreis's own decision; the plan records it as data:

    [plan]
    key = "musterhausen-weiterleitung-2023"       # a-z, 0-9, "-"
    title = "…"                                   # German, as users see it
    grantor_key = "musterhausen"                  # the Kreis (a ledger recipient of kind kreis)
    school_year = "2023/24"
    amount = "60000.00"                           # EUR to pass through, quoted
    method = "pro_rata_pupils"                    # the only formula: shares by pupils
    claims_from = "2023-09-01"                    # claims possible from/until (inclusive)
    claims_until = "2024-07-31"
    source = "…"                                  # where the pupil counts and the amount come from
    municipalities = [ { name = "Stadt Lindental", pupils = 1200 }, … ]   # names as in master data

The formula (``ledger.reports.pass_through``): each municipality's share is amount × its
pupils ÷ all pupils, in cents, the remaining cents going to the largest remainders
(Hare/Niemeyer), so that the shares add up to the amount exactly. The pupil-based key follows
the reasoning of the Hildener Modellrechnung („Orientierung an den Schülerzahlen ermöglicht eine
gerechte Zuweisung der Mittel“, Kreis Mettmann).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ledger.core.schoolyear import SchoolYear
from ledger.core.tomldata import folder_state, read_toml, validated
from ledger.rules.packs import RulePackError

#: The formulas a pass-through plan may use.
PASS_THROUGH_METHODS = ("pro_rata_pupils",)


@dataclass(frozen=True)
class PassThroughMunicipality:
    """A municipality of a pass-through plan: its ``name`` (as in the Kreis's master data) and
    ``pupils`` (whole number ≥ 0)."""

    name: str
    pupils: int


@dataclass(frozen=True)
class PassThroughPlan:
    """A validated pass-through plan (see the module docstring); ``amount`` in EUR (Decimal)."""

    key: str
    title: str
    grantor_key: str
    school_year: SchoolYear
    amount: Decimal
    method: str
    claims_from: date
    claims_until: date
    source: str
    municipalities: tuple[PassThroughMunicipality, ...]


_MESSAGES = {"required": "Pflichtangabe fehlt.", "null": "Pflichtangabe fehlt."}


def _text(**kwargs) -> fields.String:
    return fields.String(required=True, validate=kwargs.pop("validate", validate.Length(min=1, error="Darf nicht leer sein.")),
                         error_messages={**_MESSAGES, "invalid": "Text in Anführungszeichen erwartet."}, **kwargs)


def _check_amount(value: str) -> None:
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise ValidationError("Betrag wie \"60000.00\" erwartet.") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError("Positiver Betrag mit höchstens zwei Nachkommastellen erwartet.")


def _check_date(value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Datum wie \"2024-07-31\" erwartet.") from None


def _check_year(value: str) -> None:
    try:
        SchoolYear.parse(value)
    except ValueError:
        raise ValidationError("Schuljahr wie \"2023/24\" erwartet.") from None


class _MunicipalitySchema(Schema):
    error_messages = {"unknown": "Unbekannter Schlüssel.", "type": "Tabelle erwartet."}
    name = _text()
    pupils = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, error="Nicht negativ."),
                            error_messages={**_MESSAGES, "invalid": "Ganze Zahl erwartet."})


class _PlanSchema(Schema):
    error_messages = {"unknown": "Unbekannter Schlüssel.", "type": "Tabelle erwartet."}
    key = _text(validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,59}$", error="Kennung aus a-z, 0-9 und -"))
    title = _text()
    grantor_key = _text(validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$", error="Schlüssel aus a-z, 0-9 und -"))
    school_year = _text(validate=_check_year)
    amount = _text(validate=_check_amount)
    method = _text(validate=validate.OneOf(PASS_THROUGH_METHODS, error="Verfahren muss eines von {choices} sein."))
    claims_from = _text(validate=_check_date)
    claims_until = _text(validate=_check_date)
    source = _text()
    municipalities = fields.List(fields.Nested(_MunicipalitySchema), required=True,
                                 validate=validate.Length(min=1, error="Mindestens eine Gemeinde angeben."),
                                 error_messages={**_MESSAGES, "invalid": "Liste von Gemeinden erwartet."})

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data["claims_until"] < data["claims_from"]:
            raise ValidationError({"claims_until": ["liegt vor claims_from"]})
        names = [m["name"] for m in data["municipalities"]]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValidationError({"municipalities": {index: {"name": [f"Gemeinde {name!r} ist doppelt"]}}})
        if not sum(m["pupils"] for m in data["municipalities"]):
            raise ValidationError({"municipalities": ["Die Schülerzahlen ergeben zusammen 0."]})


class _FileSchema(Schema):
    error_messages = {"unknown": "Unbekannter Schlüssel.", "type": "Tabelle erwartet."}
    plan = fields.Nested(_PlanSchema, required=True, error_messages=_MESSAGES)


def load_pass_through_plan(path: Path) -> PassThroughPlan:
    """Read and validate a pass-through plan file (TOML, see the module docstring).

    Raises RulePackError (German, naming the file and the key path, e.g. ``plan.amount``) on
    unreadable files, TOML syntax errors, missing or unknown keys, wrong types (amounts must be
    quoted), an unknown method, an empty or doubled municipality, pupils adding up to 0.
    """
    path = Path(path)
    plan = validated(path, read_toml(path, RulePackError), _FileSchema(), RulePackError)["plan"]
    return PassThroughPlan(
        key=plan["key"], title=plan["title"], grantor_key=plan["grantor_key"],
        school_year=SchoolYear.parse(plan["school_year"]), amount=Decimal(plan["amount"]), method=plan["method"],
        claims_from=date.fromisoformat(plan["claims_from"]), claims_until=date.fromisoformat(plan["claims_until"]),
        source=plan["source"],
        municipalities=tuple(PassThroughMunicipality(m["name"], m["pupils"]) for m in plan["municipalities"]))


def load_pass_through_plans(directories: tuple[Path, ...]) -> dict[str, tuple[PassThroughPlan, Path]]:
    """Every pass-through plan (``*.toml``) of ``directories`` (folders that do not exist are
    skipped), by plan key in the folders' and the file names' order, each with its file.
    Files are validated again only when one was added, removed or changed (the web app's
    navigation asks on every page).

    Where the plans lie is the caller's choice: the command line takes a file (``--plan-file``),
    the web app the instance folder's ``verteilung/`` and, for the demo, the demo's folder.
    Raises RulePackError (German, naming the file) for an invalid plan or a key found twice.
    """
    return dict(_plans_of(tuple(folder_state(Path(directory)) for directory in directories)))


@lru_cache(maxsize=16)
def _plans_of(states: tuple[tuple[Path, tuple], ...]) -> dict[str, tuple[PassThroughPlan, Path]]:
    plans: dict[str, tuple[PassThroughPlan, Path]] = {}
    for directory, files in states:
        for name, _mtime, _size in files:
            path = directory / name
            plan = load_pass_through_plan(path)
            if plan.key in plans:
                raise RulePackError(path, "plan.key", f"Verteilungsplan {plan.key!r} gibt es bereits "
                                    f"({plans[plan.key][1].name})")
            plans[plan.key] = (plan, path)
    return plans
