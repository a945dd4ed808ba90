"""Rule packs: which spending of the Inklusionspauschale is purpose-conform, as data.

A rule pack is a TOML file in the repository's ``rules/`` folder (read with the stdlib
``tomllib``, validated with marshmallow). It names the school years it judges, the spending
categories and their status (``permitted``, ``capped``, ``excluded``), the overhead cap,
the repayment deadline, the holiday calendar of the place of payment (§ 193 BGB), the interest
on late repayment, the Landeskasse's bank account and the addressee of the notification that
the grant cannot be used in full (``[notification]``).
Amounts, rates and dates live in the packs, never in code (DOMAIN.md "Repayment").

The interest rule (``[interest]``) names a base-rate table, another TOML file in the same
folder (``rules/basiszinssatz.toml``: the Basiszinssatz of § 247 BGB per half-year), read with
:func:`load_base_rates`. :func:`load_packs` skips such tables (files with ``[[rates]]`` and no
``[pack]``); it does not read them, so a pack copied alone into another folder still loads.

Shipped packs (source: seed 002_17056edfca8550ce.txt):

- ``inklfoeg-nrw-gesetz``: the statutory wording of § 2 Abs. 2 InklFöG (quoted in Hinweise
  Teil I), school years 2014/15 to 2020/21, no overhead cap;
- ``inklfoeg-nrw-hinweise``: the Ministry's Hinweise (Anlage to the Vereinbarung), from
  2021/22 on (Vereinbarung § 4 Abs. 1), overhead capped at 15 % of pool personnel costs
  (Hinweise Teil IV).

Each pack belongs to one funding programme (``[pack] programme``, a key such as
``"inklusionspauschale"``, ``ledger.core.grants.INKLUSIONSPAUSCHALE``; its German title in
``programme_title``). Packs of different programmes share one folder; within a programme
their validity periods must not overlap, and :func:`pack_for` picks by programme and year.

A category may name the ``kind`` of rule the engine judges it by (``ledger.rules.classify``):
``pool_personnel`` (pool staff: financing basis, GL schools, mixed split) or
``pass_through`` (forwarding to a member municipality); without one the category's status
decides. The engine dispatches on the kind, never on the category's id.

A pack may instead pass money by a formula (``[allocation]``, :class:`AllocationRule`): the
formula's parameters, the rounding of each step, the claim window and the allocation plans
(``[[allocation.plans]]``: grantor, period, recipients with their pupil counts, the source
table's printed sum row), each with its source. Such a pack needs no ``[landeskasse]``. Shipped:
``kreis-mettmann-inklusionshilfe`` (programme ``kreis_mettmann_schulbegleitung``, seed
003_dcbc53400bdc01b8.txt, Hildener Modellrechnung, plan ``mettmann-2014``); computed by
``ledger.reports.allocation``, claims checked by ``ledger.workflows.allocation``.

Every validation error is a :class:`RulePackError` naming the file and the key path
(``"overhead.rate"``, ``"categories[3].status"``, ``"rates[12].valid_from"``; list indexes
count from 0).
"""
from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import holidays
import schwifty
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from schwifty.exceptions import SchwiftyException

from ledger.core.tomldata import DataFileError, read_toml, validated
from ledger.core.money import round_half_up
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.rules.status import CATEGORY_STATUSES, Status

RULES_DIR: Path = Path(__file__).resolve().parents[2] / "rules"
#: Rule kinds a category may name (``[[categories]] kind``), each judged by its own rule of
#: ``ledger.rules.classify``: pool staff (Hinweise Teil III) and pass-through to member
#: municipalities (Hinweise Teil II), seed 002_17056edfca8550ce.txt.
CATEGORY_KINDS = ("pool_personnel", "pass_through")
#: German label of an expense posting without a category (not purpose-conform until classified).
UNCLASSIFIED_LABEL = "nicht klassifiziert"
REFERENCE_FIELDS = ("school_year", "recipient_name", "recipient_key")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PACK_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_RATE = re.compile(r"^\d+(\.\d+)?$")
_SIGNED_RATE = re.compile(r"^-?\d+(\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.toml$")
#: What the overhead cap's base counts of the base categories' spending (``OverheadRule.base``).
OVERHEAD_BASES = ("conform", "all")
#: Day-count conventions for interest "für das Jahr" (see ledger.rules.interest):
#: "act/act": actual days, each calendar year's days over that year's length (365 or 366);
#: "act/365": actual days over 365, also in leap years.
DAY_COUNTS = ("act/act", "act/365")
#: The largest surcharge a pack may set, in percentage points (a plausibility bound).
MAX_SURCHARGE_POINTS = Decimal(100)


class RulePackError(DataFileError):
    """A rule pack (or a folder of packs) is unreadable, invalid or inconsistent.

    Attributes:
        file: the pack's path (or the folder, for errors between packs).
        key: dotted key path of the first error, e.g. ``"overhead.rate"``,
            ``"categories[3].status"``; ``""`` for errors of the whole file (TOML syntax).
        message: German message of the first error.
        errors: all errors, key path → list of German messages.

    ``str()`` is ``"<file>: <key>: <message>"``.
    """


class NoRulePack(RulePackError):
    """No rule pack of the programme is in force for a school year: the year's spending cannot
    be judged (its figures, classification, forecast and statement cannot be computed).

    ``school_year`` is the year (None: the programme has no packs at all). ``str()`` is the
    German message alone, naming the packs there are by title, never a file."""

    def __init__(self, message: str, school_year: SchoolYear | None = None):
        self.school_year = school_year
        super().__init__("", "", message)


@dataclass(frozen=True)
class Category:
    """A spending category: ``id`` (e.g. ``"pool_personnel"``), ``status`` (a ``Status`` of
    CATEGORY_STATUSES), German ``label``, ``source`` (seed file and part it comes from) and
    ``kind``: the rule of ``ledger.rules.classify`` that judges it (one of CATEGORY_KINDS),
    or None for the plain status rule."""

    id: str
    status: Status
    label: str
    source: str
    kind: str | None = None


@dataclass(frozen=True)
class OverheadRule:
    """The overhead cap: spending in ``category`` counts as purpose-conform up to
    ``rate`` × the spending in ``base_categories`` (EUR), rounded half up to cents.

    ``base`` says which of that spending is the cap's base (one of OVERHEAD_BASES):
    ``"conform"``, only its purpose-conform part (a mixed pool's systemic share, not the
    individual entitlements bundled in it), or ``"all"``, all of it, as spent in the pool
    model; ``base_source`` cites why. Source: seed 002_17056edfca8550ce.txt, Hinweise Teil
    IV, 6. Spiegelstrich (15 % of the personnel costs spent in the pool model). The
    rounding is the project's choice.
    """

    category: str
    base_categories: tuple[str, ...]
    rate: Decimal
    rounding: str
    source: str
    base: str = "conform"
    base_source: str = ""

    def cap(self, base: Decimal) -> Decimal:
        """The cap in EUR for ``base`` EUR of base-category spending: ``base × rate``
        rounded half up to cents, e.g. 10000.10 × 0.15 = 1500.015 → 1500.02.
        ``base`` must be a Decimal (a float raises TypeError)."""
        return round_half_up(base * self.rate)


@dataclass(frozen=True)
class HolidayCalendar:
    """Whose public holidays move a day set for a payment to the next working day (§ 193 BGB;
    § 31 Abs. 3 VwVfG NRW for a time limit set by an authority): ``country`` and
    ``subdivision`` as the ``holidays`` library names them (``"DE"``/``"NW"``: North
    Rhine-Westphalia, where the Landeskasse Düsseldorf receives the repayment), ``source``
    citing why. A pack's ``[holidays]`` table; used for the payouts' deadlines and for the
    payment dates of agreements and notices alike (``ledger.rules.deadline``).
    """

    country: str
    subdivision: str
    source: str


@dataclass(frozen=True)
class DeadlineRule:
    """When a repayment is due: ``day``.``month``. of the payout's calendar year plus
    ``years_after_payout``; moved by ``shift`` (``"next_working_day"``, § 193 BGB) past
    weekends and the public holidays of ``calendar`` (the pack's ``[holidays]``).

    Source: seed 002_17056edfca8550ce.txt, Vereinbarung § 4 Abs. 2 and Hinweise Teil II
    (1 April of the budget year following the payout). See ``ledger.rules.deadline``.
    """

    month: int
    day: int
    years_after_payout: int
    shift: str
    source: str
    calendar: HolidayCalendar


@dataclass(frozen=True)
class BaseRate:
    """One value of the Basiszinssatz (§ 247 BGB): ``rate`` percent per year (may be
    negative, e.g. ``Decimal("-0.88")`` from 2016-07-01), in force from ``valid_from``
    (a 1 January or 1 July) until the day before the next value. ``bundesbank_checked``:
    whether the value was compared with the Deutsche Bundesbank's own publication (a
    statement whose interest uses an unchecked value says so)."""

    valid_from: date
    rate: Decimal
    bundesbank_checked: bool = False


@dataclass(frozen=True)
class AccrualRule:
    """How postings booked after their school year are treated (``[accrual]`` of a pack).

    An expense belongs to the school year in which it arose, whatever the day it is booked
    or paid (§ 33 Abs. 1 Nr. 4 KomHVO NRW); a posting names that year in its school-year
    field. One booked up to ``days_after_year_end`` days after 31 July of its year counts
    there without review (a late invoice for July); one booked later, or before its year
    began, goes to the review queue. Either way it is listed as booked out of period
    ("periodenfremd gebucht") for the auditor.
    """

    days_after_year_end: int
    source: str

    def accepts(self, day: date, school_year: SchoolYear) -> bool:
        """Whether a posting of ``school_year`` booked on ``day`` counts without review:
        inside the year, or at most ``days_after_year_end`` days after its last day."""
        return school_year.first_day <= day <= school_year.last_day + timedelta(days=self.days_after_year_end)


@dataclass(frozen=True)
class InterestRule:
    """Interest on a repayment paid after its due date (``[interest]`` of a pack).

    The rate is the Basiszinssatz of each day plus ``surcharge_percentage_points``
    (percentage points per year; ``Decimal("3")`` under § 49a Abs. 3 Satz 1 VwVfG NRW:
    "mit drei Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen"). The base rates
    come from ``base_rate_table`` (a file name in the pack's folder, resolved to
    ``base_rate_path``). ``day_count`` is one of DAY_COUNTS; ``rounding`` is ``"half_up"``
    (the total is rounded to cents once). See ``ledger.rules.interest`` for the computation.
    """

    surcharge_percentage_points: Decimal
    base_rate_table: str
    day_count: str
    rounding: str
    source: str
    base_rate_path: Path

    def applied_rate(self, base_rate: Decimal) -> Decimal:
        """The interest rate in percent per year for ``base_rate`` percent per year:
        base + surcharge, e.g. 3.62 + 3 = 6.62, -0.88 + 3 = 2.12 (no floor)."""
        return base_rate + self.surcharge_percentage_points

    def load_rates(self) -> tuple[BaseRate, ...]:
        """The validated base-rate table this rule names (see :func:`load_base_rates`).
        Raises RulePackError naming the table file and key."""
        return load_base_rates(self.base_rate_path)


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
class NotificationRule:
    """Whom the recipient notifies when it sees that a school year's grant cannot be used in full
    and purpose-conformly, before it repays (seed 002_17056edfca8550ce.txt: Vereinbarung § 4
    Abs. 2 and Hinweise Teil II, "zeigt er dies dem Ministerium an").

    ``addressee``: the address lines of the ministry as a letter shows them (at least two);
    ``basis``: the duty's citation as the letter's subject names it (title and section, German);
    ``source``: where the address and the duty come from.
    """

    addressee: tuple[str, ...]
    basis: str
    source: str


#: How a step of an allocation formula rounds to whole numbers: "half_up" (kaufmännisch,
#: ROUND_HALF_UP) or "down" (abrunden, ROUND_DOWN; counts are never negative).
ALLOCATION_ROUNDINGS = ("half_up", "down")


@dataclass(frozen=True)
class PlanRecipient:
    """One recipient of an allocation plan: its ``key`` (the ledger's recipient key, e.g.
    ``"monheim-am-rhein"``), German ``name`` and the ``pupils`` (a whole number) the formula
    starts from."""

    key: str
    name: str
    pupils: int


@dataclass(frozen=True)
class AllocationPlan:
    """An allocation plan of a pack's ``[[allocation.plans]]``: ``key`` (``"mettmann-2014"``),
    German ``title``, the grantor (``grantor_key``/``grantor_name``, e.g. the Kreis), the
    ``period`` as users see it (``"2. Schulhalbjahr 2013/2014"``), its ``school_year``, the
    ``recipients`` in the table's order, ``source`` (where the pupil counts come from), and
    ``table_sums``: the source table's own sum row as printed (keys ``pupils``,
    ``children``, ``helpers`` as int and ``amount_year``, ``amount_period`` as Decimal EUR),
    kept as evidence to compare with the sum of the rows (``ledger.reports.allocation``)."""

    key: str
    title: str
    grantor_key: str
    grantor_name: str
    period: str
    school_year: SchoolYear
    recipients: tuple[PlanRecipient, ...]
    source: str
    table_sums: dict = field(default_factory=dict)

    def recipient(self, key: str) -> PlanRecipient:
        """The plan's recipient with ``key``. Raises KeyError if it is not in the plan."""
        for recipient in self.recipients:
            if recipient.key == key:
                return recipient
        raise KeyError(key)


@dataclass(frozen=True)
class AllocationRule:
    """A formula allocation (``[allocation]`` of a pack), computed by ``ledger.reports.allocation``:

    children = pupils × ``share`` rounded by ``children_rounding`` to a whole number;
    helpers = children ÷ ``children_per_helper`` rounded by ``helpers_rounding``;
    amount for a year = helpers × ``amount_per_helper_year`` EUR, for the plan's period =
    helpers × ``amount_per_helper_period`` EUR (whole amounts, no rounding).
    ``helpers_rounding_alternative`` records another reading of the source (applied only when
    asked for). Roundings are ALLOCATION_ROUNDINGS.

    Claims (Mittelabruf): from ``claims_from`` to ``claims_until`` (both inclusive), at most
    ``amount_per_helper_period`` per deployed helper, only personnel costs; helpers only at
    mainstream schools: a school whose form contains one of ``not_mainstream_school_forms``
    (compared case-insensitively, e.g. ``"Förderschule"`` matches "Förderschule Lernen") is not
    one (``mainstream_source``); no pupil counted twice (``double_counting_source``).
    Each ``*_source`` cites the document and section (Rahmenbedingungen of the Kreis Mettmann).
    """

    share: Decimal
    children_per_helper: int
    amount_per_helper_year: Decimal
    amount_per_helper_period: Decimal
    children_rounding: str
    helpers_rounding: str
    helpers_rounding_alternative: str
    claims_from: date
    claims_until: date
    plans: tuple[AllocationPlan, ...]
    sources: dict[str, str] = field(default_factory=dict)
    not_mainstream_school_forms: tuple[str, ...] = ()

    def is_mainstream(self, school_form: str) -> bool:
        """Whether a school of form ``school_form`` ("Grundschule", "Förderschule Lernen") is a
        mainstream school (allgemeine Schule): its form contains none of
        ``not_mainstream_school_forms`` (case-insensitive)."""
        form = school_form.casefold()
        return not any(term.casefold() in form for term in self.not_mainstream_school_forms)

    def plan(self, key: str) -> AllocationPlan:
        """The plan with ``key``. Raises KeyError if the pack has none of that key."""
        for plan in self.plans:
            if plan.key == key:
                return plan
        raise KeyError(key)


@dataclass(frozen=True)
class BudgetRule:
    """The rules of a provider budget (Trägerbudget, programme ``traegerbudget``; seed 004,
    DOMAIN.md "Bremerhaven Trägerbudget"), the pack's ``[budget]`` table.

    ``advance_day``: day of the month an advance is paid (1: "monatlich im Voraus").
    ``trigger_share``: share of the agreed hours below which a quarter falls short (0.90; exactly
    0.90 is not short); ``consecutive_quarters``: how many short quarters in a row trigger the
    renegotiation (3). ``direct_share``/``indirect_share``: 0.80 and 0.20 of the seed's hours
    wording. ``expected_extra_share``: the up to 15 % more services expected for the same budget.
    ``first_report``: the provider's first report; ``case_report_months``: case reports every
    so many months; ``report_weeks_before_meeting``: at least so many weeks before a Hilfeplan
    meeting; ``action_plan_weeks``: action plan within so many weeks of a case's start; each of
    the three deadlines cites its own source (``first_report_source``, ``case_reports_source``,
    ``action_plan_source``). ``reminder_lead_days``: a reminder counts as due so many days before
    its deadline (a choice of this bookkeeping, ``reminder_source``).
    ``budget_category``/``outside_category``: the pack's categories of the advances and of the
    costs outside the budget (§ 39 SGB VIII). Each ``*_source`` cites title and section.
    """

    advance_day: int
    advance_source: str
    trigger_share: Decimal
    consecutive_quarters: int
    trigger_source: str
    direct_share: Decimal
    indirect_share: Decimal
    hours_source: str
    expected_extra_share: Decimal
    extra_source: str
    first_report: date
    case_report_months: int
    report_weeks_before_meeting: int
    action_plan_weeks: int
    reports_source: str
    first_report_source: str
    case_reports_source: str
    action_plan_source: str
    reminder_lead_days: int
    reminder_source: str
    budget_category: str
    outside_category: str
    outside_source: str


@dataclass(frozen=True)
class RulePack:
    """One validated rule pack (see the module docstring).

    ``programme`` is the funding programme's key (e.g. ``"inklusionspauschale"``, as
    ``grants.programme`` stores it), ``programme_title`` its German name as the statement
    shows it (``"Inklusionspauschale"``).
    ``valid_from``/``valid_until`` are the first and last school year it judges
    (``valid_until`` None = open-ended). ``categories`` keep the file's order.
    ``overhead`` is None where the pack has no cap. ``deadline`` is None where nothing is
    repaid automatically (years before 2021/22: only an agreement or a notice makes a
    repayment due). ``holidays``: the calendar that moves any payment date of its years
    (§ 193 BGB). ``path`` is the TOML file.
    ``interest`` is None where the pack sets no interest on late repayment.
    ``landeskasse`` is None only in a pack with ``budget`` (a provider budget pays no Land).
    ``budget``: the rules of a provider budget (:class:`BudgetRule`), None in other packs.
    ``notification`` is None where the pack sets no duty to notify the ministry (the
    statute's years before 2021/22, which have no deadline either).
    ``allocation`` is the formula allocation of a programme that passes money by a formula
    (``[allocation]``), else None; ``landeskasse`` is None only in such a pack (nothing is
    repaid to the Land there).
    ``digest`` is the SHA-256 (hex) of the pack file: an evaluation run records it, so a
    changed file shows even where its version was not raised.
    ``rule_sources`` maps the rules engine's rule ids (``pool.systemic``, ``pass_through``,
    …; ``ledger.rules.classify``) to their source citations; a rule without its own entry
    uses its family's (``pool``), else the pack's ``source``.
    """

    id: str
    version: str
    title: str
    legal_basis: str
    programme: str
    programme_title: str
    valid_from: SchoolYear
    valid_until: SchoolYear | None
    source: str
    categories: tuple[Category, ...]
    overhead: OverheadRule | None
    deadline: DeadlineRule | None
    landeskasse: Landeskasse | None
    path: Path
    holidays: HolidayCalendar
    interest: InterestRule | None = None
    accrual: AccrualRule | None = None
    notification: NotificationRule | None = None
    rule_sources: dict[str, str] = field(default_factory=dict)
    digest: str = ""
    allocation: AllocationRule | None = None
    budget: BudgetRule | None = None

    def category(self, category_id: str) -> Category:
        """The category with that id. Raises KeyError (German message naming the id)."""
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(f"Kategorie {category_id!r} ist im Regelwerk {self.id} {self.version} nicht definiert")

    def has_category(self, category_id: str) -> bool:
        """Whether the pack defines a category with that id."""
        return any(category.id == category_id for category in self.categories)

    def kind_of(self, category_id: str | None) -> str | None:
        """The rule kind of the category ``category_id`` (one of CATEGORY_KINDS), or None for
        a category without one, an unknown category or None."""
        for category in self.categories:
            if category.id == category_id:
                return category.kind
        return None

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


def _check_surcharge(value: str) -> None:
    if not _RATE.match(value) or Decimal(value) > MAX_SURCHARGE_POINTS:
        raise ValidationError(
            f"ungültige Prozentpunkte {value!r} (Dezimaltext von 0 bis {MAX_SURCHARGE_POINTS}, z. B. \"3\")"
        )


def _check_table_name(value: str) -> None:
    if not _TABLE_NAME.match(value):
        raise ValidationError(
            f"ungültiger Dateiname {value!r} (eine .toml-Datei im Ordner des Regelwerks, ohne Pfad, z. B. \"basiszinssatz.toml\")"
        )


def _check_signed_rate(value: str) -> None:
    if not _SIGNED_RATE.match(value):
        raise ValidationError(f"ungültiger Zinssatz {value!r} (Dezimaltext in Prozent, z. B. \"3.62\" oder \"-0.88\")")


def _check_half_year_start(value: str) -> None:
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"ungültiges Datum {value!r} (erwartet JJJJ-MM-TT, z. B. \"2024-07-01\")") from None
    if (day.month, day.day) not in ((1, 1), (7, 1)):
        raise ValidationError(
            f"{value} ist kein 1. Januar oder 1. Juli (der Basiszinssatz ändert sich nur zu diesen Tagen, § 247 Abs. 1 Satz 2 BGB)"
        )


def _next_half_year(day: date) -> date:
    """The 1 January or 1 July after ``day``."""
    return date(day.year, 7, 1) if day.month < 7 else date(day.year + 1, 1, 1)


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
    programme = _text(validate_with=_check_id)
    programme_title = _text()
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
    base = _text(validate_with=validate.OneOf(OVERHEAD_BASES, error="Grundlage muss eine von {choices} sein."))
    base_source = _text()


class _DeadlineSchema(_Schema):
    month = _integer(validate=validate.Range(min=1, max=12, error="Monat 1–12 erwartet."))
    day = _integer(validate=validate.Range(min=1, max=31, error="Tag 1–31 erwartet."))
    years_after_payout = _integer(validate=validate.Range(min=0, error="Nicht negativ."))
    shift = _text(validate_with=validate.OneOf(["next_working_day"], error="Nur \"next_working_day\" ist erlaubt."))
    source = _text()

    @validates_schema
    def _valid_date(self, data, **kwargs):
        try:
            date(2001, data["month"], data["day"])  # a common year: 29 February is rejected
        except ValueError:
            raise ValidationError({"day": [f"{data['day']}.{data['month']}. ist kein Datum in jedem Jahr"]})


class _HolidaysSchema(_Schema):
    country = _text()
    subdivision = _text()
    source = _text()

    @validates_schema
    def _known_calendar(self, data, **kwargs):
        try:
            holidays.country_holidays(data["country"], subdiv=data["subdivision"])
        except NotImplementedError as exc:
            raise ValidationError({"subdivision": [f"unbekannter Feiertagskalender: {exc}"]})


class _LandeskasseSchema(_Schema):
    payee = _text()
    bank = _text()
    iban = _text(validate_with=_check_iban)
    bic = _text(validate_with=_check_bic)
    payment_reference = _text(validate_with=_check_template)
    source = _text()


class _NotificationSchema(_Schema):
    addressee = fields.List(
        _text(), required=True,
        validate=validate.Length(min=2, max=6, error="Zwei bis sechs Anschriftzeilen angeben."),
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste von Texten erwartet."},
    )
    basis = _text()
    source = _text()


class _AccrualSchema(_Schema):
    days_after_year_end = _integer(validate=validate.Range(min=0, max=366, error="0 bis 366 Tage erwartet."))
    source = _text()


class _InterestSchema(_Schema):
    surcharge_percentage_points = _text(validate_with=_check_surcharge)
    base_rate_table = _text(validate_with=_check_table_name)
    day_count = _text(validate_with=validate.OneOf(DAY_COUNTS, error="Zinstage-Methode muss eine von {choices} sein."))
    rounding = _text(validate_with=validate.OneOf(["half_up"], error="Nur \"half_up\" ist erlaubt."))
    source = _text()


class _BaseRateSchema(_Schema):
    valid_from = _text(validate_with=_check_half_year_start)
    rate = _text(validate_with=_check_signed_rate)
    bundesbank_checked = fields.Boolean(required=True, truthy={True}, falsy={False},
                                        error_messages={**_FIELD_MESSAGES, "invalid": "true oder false erwartet."})


class _BaseRateFileSchema(_Schema):
    source = _text()
    rates = fields.List(
        fields.Nested(_BaseRateSchema, error_messages=_FIELD_MESSAGES),
        required=True,
        validate=validate.Length(min=1, error="Mindestens einen Basiszinssatz angeben."),
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste von Tabellen [[rates]] erwartet."},
    )

    @validates_schema
    def _consecutive(self, data, **kwargs):
        """Every half-year once, in order, without gaps (the first entry starts the table)."""
        errors: dict = {}
        days = [date.fromisoformat(entry["valid_from"]) for entry in data["rates"]]
        for index in range(1, len(days)):
            previous, day = days[index - 1], days[index]
            expected = _next_half_year(previous)
            if day == previous:
                message = f"{day} ist doppelt"
            elif day < previous:
                message = f"{day} liegt vor {previous} (Einträge aufsteigend nach Datum ordnen)"
            elif day != expected:
                message = f"Lücke: nach {previous} fehlt {expected}"
            else:
                continue
            errors.setdefault("rates", {})[index] = {"valid_from": [message]}
            break
        if errors:
            raise ValidationError(errors)


def _share(value: str) -> None:
    if not _RATE.match(value) or not Decimal(0) < Decimal(value) <= Decimal(1):
        raise ValidationError("Anteil wie \"0.90\" erwartet (größer 0, höchstens 1).")


def _iso_date(value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Datum wie \"2026-03-31\" erwartet.")


class _BudgetSchema(_Schema):
    advance_day = _integer(validate=validate.Range(min=1, max=28, error="Tag 1–28 erwartet."))
    advance_source = _text()
    trigger_share = _text(validate_with=_share)
    consecutive_quarters = _integer(validate=validate.Range(min=1, max=20, error="1 bis 20 Quartale erwartet."))
    trigger_source = _text()
    direct_share = _text(validate_with=_share)
    indirect_share = _text(validate_with=_share)
    hours_source = _text()
    expected_extra_share = _text(validate_with=_share)
    extra_source = _text()
    first_report = _text(validate_with=_iso_date)
    case_report_months = _integer(validate=validate.Range(min=1, max=24, error="1 bis 24 Monate erwartet."))
    report_weeks_before_meeting = _integer(validate=validate.Range(min=0, max=52, error="0 bis 52 Wochen erwartet."))
    action_plan_weeks = _integer(validate=validate.Range(min=1, max=52, error="1 bis 52 Wochen erwartet."))
    reports_source = _text()
    first_report_source = _text()
    case_reports_source = _text()
    action_plan_source = _text()
    reminder_lead_days = _integer(validate=validate.Range(min=0, max=90, error="0 bis 90 Tage erwartet."))
    reminder_source = _text()
    budget_category = _text(validate_with=_check_id)
    outside_category = _text(validate_with=_check_id)
    outside_source = _text()

    @validates_schema
    def _whole(self, data, **kwargs):
        if Decimal(data["direct_share"]) + Decimal(data["indirect_share"]) != 1:
            raise ValidationError({"indirect_share": ["direkter und indirekter Anteil müssen zusammen 1 ergeben"]})


class _CategorySchema(_Schema):
    id = _text(validate_with=_check_id)
    status = _text(validate_with=validate.OneOf(CATEGORY_STATUSES, error="Status muss einer von {choices} sein."))
    label = _text()
    source = _text()
    kind = _text(required=False, load_default=None,
                 validate_with=validate.OneOf(CATEGORY_KINDS, error="Regelart muss eine von {choices} sein."))

    @validates_schema
    def _kind_permitted(self, data, **kwargs):
        if data.get("kind") and data.get("status") != "permitted":
            raise ValidationError({"kind": [f"Regelart {data['kind']!r} nur für Kategorien mit Status \"permitted\""]})


def _nested(schema: type[Schema], **kwargs) -> fields.Nested:
    return fields.Nested(schema, error_messages=_FIELD_MESSAGES, **kwargs)


def _check_iso_date(value: str) -> None:
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"ungültiges Datum {value!r} (erwartet JJJJ-MM-TT)") from None


def _check_amount(value: str) -> None:
    if not re.fullmatch(r"\d+(\.\d{1,2})?", value) or Decimal(value) <= 0:
        raise ValidationError(f"ungültiger Betrag {value!r} (Dezimaltext in EUR größer 0, z. B. \"5000.00\")")


def _count(**kwargs) -> fields.Integer:
    return _integer(validate=validate.Range(min=0, error="Nicht negativ."), **kwargs)


def _rounding() -> fields.String:
    return _text(validate_with=validate.OneOf(ALLOCATION_ROUNDINGS, error="Rundung muss eine von {choices} sein."))


class _PlanRecipientSchema(_Schema):
    key = _text(validate_with=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$", error="Schlüssel aus a-z, 0-9 und -"))
    name = _text()
    pupils = _count()


class _TableSumsSchema(_Schema):
    pupils = _count()
    children = _count()
    helpers = _count()
    amount_year = _text(validate_with=_check_amount)
    amount_period = _text(validate_with=_check_amount)


class _PlanSchema(_Schema):
    key = _text(validate_with=_check_pack_id)
    title = _text()
    grantor_key = _text(validate_with=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$", error="Schlüssel aus a-z, 0-9 und -"))
    grantor_name = _text()
    period = _text()
    school_year = _text(validate_with=_check_school_year)
    source = _text()
    table_sums = _nested(_TableSumsSchema, required=False, load_default=None)
    recipients = fields.List(
        _nested(_PlanRecipientSchema), required=True,
        validate=validate.Length(min=1, error="Mindestens einen Empfänger angeben."),
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste von Empfängern erwartet."},
    )

    @validates_schema
    def _unique(self, data, **kwargs):
        keys = [recipient["key"] for recipient in data["recipients"]]
        for index, key in enumerate(keys):
            if key in keys[:index] or key == data["grantor_key"]:
                raise ValidationError({"recipients": {index: {"key": [f"Empfänger {key!r} ist doppelt"]}}})


class _AllocationSchema(_Schema):
    share = _text(validate_with=_check_rate)
    share_source = _text()
    children_per_helper = _integer(validate=validate.Range(min=1, error="Mindestens 1."))
    children_per_helper_source = _text()
    amount_per_helper_year = _text(validate_with=_check_amount)
    amount_per_helper_period = _text(validate_with=_check_amount)
    amount_source = _text()
    children_rounding = _rounding()
    helpers_rounding = _rounding()
    rounding_source = _text()
    helpers_rounding_alternative = _rounding()
    helpers_rounding_alternative_source = _text()
    claims_from = _text(validate_with=_check_iso_date)
    claims_until = _text(validate_with=_check_iso_date)
    claims_source = _text()
    per_helper_source = _text()
    ceiling_source = _text()
    declaration_source = _text()
    unclaimed_source = _text()
    not_mainstream_school_forms = fields.List(
        _text(), required=False, load_default=list,
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste von Schulformen erwartet."},
    )
    mainstream_source = _text(required=False, load_default="")
    double_counting_source = _text(required=False, load_default="")
    plans = fields.List(
        _nested(_PlanSchema), required=True,
        validate=validate.Length(min=1, error="Mindestens einen Plan angeben."),
        error_messages={**_FIELD_MESSAGES, "invalid": "Liste von Tabellen [[allocation.plans]] erwartet."},
    )

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data["claims_until"] < data["claims_from"]:
            raise ValidationError({"claims_until": [f"{data['claims_until']} liegt vor claims_from {data['claims_from']}"]})
        if data["not_mainstream_school_forms"] and not data["mainstream_source"]:
            raise ValidationError({"mainstream_source": ["Quelle der Schulformen angeben, die keine allgemeinen Schulen sind."]})
        keys = [plan["key"] for plan in data["plans"]]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                raise ValidationError({"plans": {index: {"key": [f"Plan {key!r} ist doppelt"]}}})



class _FileSchema(_Schema):
    pack = _nested(_PackSchema, required=True)
    overhead = _nested(_OverheadSchema, required=False, load_default=None)
    deadline = _nested(_DeadlineSchema, required=False, load_default=None)
    holidays = _nested(_HolidaysSchema, required=True)
    landeskasse = _nested(_LandeskasseSchema, required=False, load_default=None)
    allocation = _nested(_AllocationSchema, required=False, load_default=None)
    budget = _nested(_BudgetSchema, required=False, load_default=None)
    interest = _nested(_InterestSchema, required=False, load_default=None)
    accrual = _nested(_AccrualSchema, required=False, load_default=None)
    notification = _nested(_NotificationSchema, required=False, load_default=None)
    rule_sources = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[a-z_]+(\.[a-z_]+)?$", error="Regel-Kennung wie pool.systemic")),
        values=fields.String(validate=validate.Length(min=1, error="Quelle darf nicht leer sein")),
        load_default=dict,
        error_messages=_FIELD_MESSAGES,
    )
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
        if data.get("landeskasse") is None and data.get("allocation") is None and data.get("budget") is None:
            errors["landeskasse"] = ["Pflichtangabe fehlt."]
        budget = data.get("budget")
        if budget is not None:
            for key in ("budget_category", "outside_category"):
                if budget[key] not in status:
                    errors.setdefault("budget", {})[key] = [f"Kategorie {budget[key]!r} ist nicht definiert"]
        if data.get("notification") is not None and data.get("deadline") is None:
            errors["notification"] = ["nur mit [deadline]: die Anzeige geht der Rückzahlung bis zur Frist voraus"]
        if errors:
            raise ValidationError(errors)


# --- loading -------------------------------------------------------------------------


def load_pack(path: Path) -> RulePack:
    """Read and validate one rule pack (TOML).

    Raises RulePackError naming the file and the key path: on unreadable files, TOML
    syntax errors (with line and column), missing or unknown keys, wrong types (rates and
    texts must be quoted strings, never TOML floats), unknown statuses, duplicate or
    malformed ids, an overhead rule naming unknown or non-capped categories, a rate
    outside (0, 1], invalid day/month, a missing ``[holidays]`` table or an unknown holiday
    calendar, unordered validity,
    an invalid IBAN or BIC (checked with schwifty), an unknown template placeholder, or an
    ``[interest]`` table with a bad surcharge, table file name, day count or rounding.
    The base-rate table itself is not read here (see :func:`load_base_rates`).
    """
    path = Path(path)
    data = _validated(path, _read_toml(path), _FileSchema())
    pack, overhead, deadline, kasse = data["pack"], data["overhead"], data["deadline"], data["landeskasse"]
    interest = data["interest"]
    calendar = HolidayCalendar(**data["holidays"])
    return RulePack(
        id=pack["id"],
        version=pack["version"],
        title=pack["title"],
        legal_basis=pack["legal_basis"],
        programme=pack["programme"],
        programme_title=pack["programme_title"],
        valid_from=SchoolYear.parse(pack["valid_from"]),
        valid_until=SchoolYear.parse(pack["valid_until"]) if pack["valid_until"] else None,
        source=pack["source"],
        categories=tuple(Category(**{**category, "status": Status(category["status"])}) for category in data["categories"]),
        overhead=None if overhead is None else OverheadRule(
            category=overhead["category"],
            base_categories=tuple(overhead["base_categories"]),
            rate=Decimal(overhead["rate"]),
            rounding=overhead["rounding"],
            source=overhead["source"],
            base=overhead["base"],
            base_source=overhead["base_source"],
        ),
        deadline=None if deadline is None else DeadlineRule(**deadline, calendar=calendar),
        landeskasse=None if kasse is None else Landeskasse(**{**kasse, "iban": schwifty.IBAN(kasse["iban"]).formatted}),
        budget=None if data["budget"] is None else _budget_rule(data["budget"]),
        path=path,
        holidays=calendar,
        accrual=None if data["accrual"] is None else AccrualRule(**data["accrual"]),
        notification=None if data["notification"] is None else NotificationRule(
            addressee=tuple(data["notification"]["addressee"]), basis=data["notification"]["basis"],
            source=data["notification"]["source"]),
        interest=None if interest is None else InterestRule(
            surcharge_percentage_points=Decimal(interest["surcharge_percentage_points"]),
            base_rate_table=interest["base_rate_table"],
            day_count=interest["day_count"],
            rounding=interest["rounding"],
            source=interest["source"],
            base_rate_path=path.parent / interest["base_rate_table"],
        ),
        rule_sources=dict(data["rule_sources"]),
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
        allocation=None if data["allocation"] is None else _allocation_rule(data["allocation"]),
    )


def _allocation_rule(data: dict) -> AllocationRule:
    """The validated ``[allocation]`` table as an AllocationRule."""
    plans = []
    for plan in data["plans"]:
        sums = plan["table_sums"]
        if sums is not None:
            sums = {**sums, "amount_year": Decimal(sums["amount_year"]), "amount_period": Decimal(sums["amount_period"])}
        plans.append(AllocationPlan(
            key=plan["key"], title=plan["title"], grantor_key=plan["grantor_key"], grantor_name=plan["grantor_name"],
            period=plan["period"], school_year=SchoolYear.parse(plan["school_year"]), source=plan["source"],
            recipients=tuple(PlanRecipient(**recipient) for recipient in plan["recipients"]),
            table_sums=sums or {},
        ))
    return AllocationRule(
        share=Decimal(data["share"]),
        children_per_helper=data["children_per_helper"],
        amount_per_helper_year=Decimal(data["amount_per_helper_year"]),
        amount_per_helper_period=Decimal(data["amount_per_helper_period"]),
        children_rounding=data["children_rounding"],
        helpers_rounding=data["helpers_rounding"],
        helpers_rounding_alternative=data["helpers_rounding_alternative"],
        claims_from=date.fromisoformat(data["claims_from"]),
        claims_until=date.fromisoformat(data["claims_until"]),
        plans=tuple(plans),
        sources={key: value for key, value in data.items() if key.endswith("_source")},
        not_mainstream_school_forms=tuple(data["not_mainstream_school_forms"]),
    )


def allocation_plan(plan_key: str, packs: tuple[RulePack, ...] | None = None) -> tuple[RulePack, AllocationPlan]:
    """The pack whose ``[allocation]`` holds the plan ``plan_key`` (``"mettmann-2014"``), and the plan.

    ``packs`` defaults to ``load_packs()``. Raises NoRulePack (German message naming the
    plans there are) if no pack has such a plan.
    """
    if packs is None:
        packs = load_packs()
    for pack in packs:
        if pack.allocation is not None:
            for plan in pack.allocation.plans:
                if plan.key == plan_key:
                    return pack, plan
    known = ", ".join(plan.key for pack in packs if pack.allocation for plan in pack.allocation.plans) or "keine"
    raise NoRulePack(f"kein Verteilungsplan {plan_key!r} (vorhanden: {known})")
def _budget_rule(budget: dict) -> BudgetRule:
    """The validated ``[budget]`` table as a BudgetRule (shares as Decimal, the date parsed)."""
    shares = ("trigger_share", "direct_share", "indirect_share", "expected_extra_share")
    return BudgetRule(**{**budget, **{key: Decimal(budget[key]) for key in shares},
                         "first_report": date.fromisoformat(budget["first_report"])})


def load_base_rates(path: Path) -> tuple[BaseRate, ...]:
    """Read and validate a base-rate table (``rules/basiszinssatz.toml``).

    The file has a top-level ``source`` and one ``[[rates]]`` table per half-year with
    ``valid_from = "YYYY-MM-DD"`` (a 1 January or 1 July) and ``rate = "-0.88"`` (percent
    per year, a quoted decimal string). Returns the rates oldest first.

    Raises RulePackError naming the file and the key path (``"rates[3].rate"``): on
    unreadable files, TOML syntax errors, missing or unknown keys, TOML floats or dates
    instead of quoted strings, malformed rates or dates, dates other than 1 January or
    1 July, and duplicate, unordered or missing half-years.
    """
    path = Path(path)
    data = _validated(path, _read_toml(path), _BaseRateFileSchema())
    return tuple(
        BaseRate(valid_from=date.fromisoformat(entry["valid_from"]), rate=Decimal(entry["rate"]),
                 bundesbank_checked=entry["bundesbank_checked"])
        for entry in data["rates"]
    )


def _read_toml(path: Path) -> dict:
    """The TOML file as a dict; RulePackError on syntax errors (with line and column)."""
    return read_toml(path, RulePackError)


def _validated(path: Path, raw: dict, schema: Schema) -> dict:
    """``raw`` loaded with ``schema``; RulePackError naming the first key on errors."""
    return validated(path, raw, schema, RulePackError)


def _is_base_rate_table(path: Path) -> bool:
    """Whether ``path`` is a base-rate table (``[[rates]]``, no ``[pack]``), not a pack.
    Unreadable files count as packs, so that load_pack reports their error."""
    try:
        raw = _read_toml(path)
    except RulePackError:
        return False
    return "pack" not in raw and "rates" in raw


def load_packs(directory: Path = RULES_DIR) -> tuple[RulePack, ...]:
    """Load every rule pack (``*.toml``) in ``directory``, sorted by ``valid_from``.

    Base-rate tables in the folder (files with ``[[rates]]`` and no ``[pack]``, such as
    ``basiszinssatz.toml``) are not packs and are skipped; read them with
    :func:`load_base_rates` or ``InterestRule.load_rates``.

    The packs are validated once per content of the folder: a later call returns the same
    packs as long as no ``*.toml`` file was added, removed or changed (by name and SHA-256),
    so callers may call it wherever they need the packs.

    Raises RulePackError if the folder is missing, any pack is invalid, two packs share
    an id (across all programmes), or the validity periods of two packs of the same
    programme overlap (an open-ended pack overlaps every later one of its programme).
    Packs of different programmes may cover the same school years.
    """
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise RulePackError(directory, "", "Verzeichnis der Regelwerke nicht gefunden")
    return _packs_of_folder(directory, _folder_state(directory))


def _folder_state(directory: Path) -> tuple[tuple[str, str], ...]:
    """(name, SHA-256 of the content) of every ``*.toml`` file in ``directory``: reading a few
    small files costs microseconds, validating them milliseconds."""
    state = []
    for path in sorted(directory.glob("*.toml")):
        try:
            state.append((path.name, hashlib.sha256(path.read_bytes()).hexdigest()))
        except OSError:
            state.append((path.name, ""))  # unreadable: load_pack reports it
    return tuple(state)


@lru_cache(maxsize=16)
def _packs_of_folder(directory: Path, _state: tuple) -> tuple[RulePack, ...]:
    """The validated packs of ``directory`` in the given state (``load_packs``)."""
    paths = [path for path in sorted(directory.glob("*.toml")) if not _is_base_rate_table(path)]
    packs = sorted((load_pack(path) for path in paths), key=lambda p: p.valid_from)
    seen: dict[str, Path] = {}
    for pack in packs:
        if pack.id in seen:
            raise RulePackError(pack.path, "pack.id", f"Regelwerk-ID {pack.id!r} ist bereits in {seen[pack.id].name} vergeben")
        seen[pack.id] = pack.path
    for programme in dict.fromkeys(pack.programme for pack in packs):
        _check_no_overlap([pack for pack in packs if pack.programme == programme])
    return tuple(packs)


def _check_no_overlap(packs: list[RulePack]) -> None:
    """RulePackError if two of ``packs`` (one programme's, sorted by ``valid_from``) overlap."""
    for earlier, later in zip(packs, packs[1:]):
        if earlier.valid_until is None or earlier.valid_until >= later.valid_from:
            until = earlier.valid_until or "offen"
            raise RulePackError(
                later.path,
                "pack.valid_from",
                f"Geltung ab {later.valid_from} überschneidet sich mit {earlier.path.name} "
                f"({earlier.valid_from} bis {until})",
            )


def pack_for(programme: str, school_year: SchoolYear, packs: tuple[RulePack, ...] | None = None) -> RulePack:
    """The rule pack of ``programme`` (a key such as ``ledger.core.grants.INKLUSIONSPAUSCHALE``)
    in force for ``school_year`` (a SchoolYear or text like ``"2021/22"``).

    ``packs`` defaults to ``load_packs()`` (the repository's ``rules/`` folder).
    Raises NoRulePack (a RulePackError, German message naming the packs by title) if the
    packs belong to other programmes only, or if none of the programme's packs (or none at
    all) covers the year.
    """
    if isinstance(school_year, str):
        school_year = SchoolYear.parse(school_year)
    if packs is None:
        packs = load_packs()
    own = [pack for pack in packs if pack.programme == programme]
    if packs and not own:
        known = ", ".join(sorted({p.programme for p in packs}))
        raise NoRulePack(f"kein Regelwerk für das Förderprogramm {programme!r} (vorhanden: {known})")
    for pack in own:
        if pack.covers(school_year):
            return pack
    known = "; ".join(f"„{p.title}“ für {p.valid_from} bis {p.valid_until or 'offen'}" for p in own) or "keine"
    raise NoRulePack(f"kein Regelwerk gilt für das Schuljahr {school_year} (vorhanden: {known})", school_year)


def pack_name(pack_id: str, version: str, packs: tuple[RulePack, ...]) -> str:
    """A rule pack as users see it, by title and version: ``("inklfoeg-nrw-hinweise", "2021.1")``
    → ``"„Hinweise zur zweckentsprechenden Verwendung …“, Version 2021.1"``; a pack no longer
    among ``packs`` by its version alone."""
    title = next((p.title for p in packs if p.id == pack_id), None)
    return f"Regelwerk in der Version {version}" if title is None else f"„{title}“, Version {version}"


def category_label(category_id: str | None, packs: tuple[RulePack, ...]) -> str:
    """Category id → its German label in ``packs`` (the newest pack that has it); ``None`` →
    ``"keine Kategorie"``; an id no pack knows (as entered) stays as it is."""
    if not category_id:
        return "keine Kategorie"
    for pack in sorted(packs, key=lambda p: p.valid_from, reverse=True):
        if pack.has_category(category_id):
            return pack.category(category_id).label
    return category_id
