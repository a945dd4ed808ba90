"""The rules engine: from category and master data to a classification with provenance.

Pure functions over value types (Beancount style): the facts of one expense posting and
of the master data its cost centre points to go in; a ``Classification`` comes out with
the amounts it counts as purpose-conform, excluded or unclassified, the rule that
decided, a German reason a person can read, the source citation, the rule pack's id and
version, and what an officer must still supply (the review queue) where the facts do
not suffice. Rules, in order (seed 002_17056edfca8550ce.txt unless noted):

1. no category, or one the pack does not know → unclassified (review);
2. a category the pack excludes (individual claims § 35a SGB VIII / § 54 SGB XII,
   teaching staff, general budget) → excluded (Hinweise Teil I);
3. accrual (§ 33 Abs. 1 Nr. 4 KomHVO NRW): a posting counts in the school year it names,
   whatever its booking date; booked before that year or later after its end than the
   pack's ``[accrual]`` accepts → review (an officer confirms the year); otherwise on;
4. a cost centre of a school that is not a GL school → excluded (Hinweise Teil I, III);
5. a category of the kind ``pool_personnel``: booked outside the pool's recorded term →
   review (the officer decides); otherwise (``[[categories]] kind`` in the pack, see
   ``ledger.rules.packs``): only for a pool with a recorded financing basis: ``systemic`` at GL
   schools → permitted; ``individual_entitlements`` → excluded (seeds 000_…, 001_…);
   ``mixed`` → the systemic share permitted (rounded half up to cents), the rest
   excluded; a pool with a non-GL school → excluded (Hinweise Teil III);
6. a category of the kind ``pass_through``: only by a Kreis ("können die Kreise Mittel …
   an kreisangehörige Gemeinden weiterleiten", Hinweise Teil II; else excluded), only to a member municipality that bears GL
   schools and whose projects the Kreis verified on or before the booking date (Hinweise Teil II);
7. overhead → capped (the cap applies to the school year's total:
   ``ledger.reports.settlement.judge_use``);
8. every other permitted category → permitted.

Rules 5 and 6 are chosen by the category's kind, not its id, so a programme's pack may
name its categories freely.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, case

from ledger.core.money import ZERO, format_german, from_cents, to_cents
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import RulePack
from ledger.rules.status import Status

#: German labels of the rules, by rule id (``classify`` names the rule of each decision; ids stay
#: in JSON and exports, users see these labels), and of the rule families the packs' ``[rule_sources]``
#: cite (``pool``, …). A ``category.<id>`` rule is labelled by its family; the reason names the category.
RULE_LABELS = {
    "category": "Einstufung nach der Kategorie",
    "category.missing": "Keine Kategorie angegeben",
    "category.unknown": "Kategorie im Regelwerk unbekannt",
    "period": "Verwendung im Schuljahr",
    "period.outside": "Buchungsdatum außerhalb des Schuljahres",
    "school": "Schulen des Gemeinsamen Lernens",
    "school.not_gl": "Schule ist keine Schule des Gemeinsamen Lernens",
    "pool": "Pool-Modelle",
    "pool.unknown": "Pool der Buchung unbekannt",
    "pool.basis_missing": "Pool ohne erfasste Finanzierungsgrundlage",
    "pool.systemic": "Systemischer Pool an Schulen des Gemeinsamen Lernens",
    "pool.not_gl": "Pool mit Schulen, die keine Schulen des Gemeinsamen Lernens sind",
    "pool.individual": "Pool bündelt einzeln bewilligte Ansprüche (Individualansprüche)",
    "pool.mixed": "Gemischt finanzierter Pool: Anteil der Individualansprüche",
    "pass_through": "Weiterleitung an Gemeinden",
    "pass_through.unknown": "Empfangende Gemeinde unbekannt",
    "pass_through.verified": "Weiterleitung an eine Gemeinde mit dokumentierter Vergewisserung",
    "pass_through.not_gl_bearer": "Weiterleitung an eine Gemeinde, die nicht Träger von GL-Schulen ist",
    "pass_through.unverified": "Weiterleitung ohne dokumentierte Vergewisserung",
    "pass_through.not_kreis": "Weiterleitung durch einen Empfänger, der kein Kreis ist",
    "override": "Abweichende Einstufung der Sachbearbeitung",
}


def rule_label(rule: str) -> str:
    """The German label of a rule id or rule family (``"pool.systemic"`` → ``"Systemischer Pool an
    Schulen des Gemeinsamen Lernens"``, ``"category.training"`` → its family's label); a rule no
    table names gets the label of its family, else ``"Regel des Regelwerks"``."""
    return RULE_LABELS.get(rule) or RULE_LABELS.get(rule.split(".")[0], "Regel des Regelwerks")


@dataclass(frozen=True)
class SchoolFacts:
    """A school as the rules see it: NRW school number, name, GL status."""

    school_number: str
    name: str
    gl_school: bool


@dataclass(frozen=True)
class PoolFacts:
    """A pool: key, financing basis (None while not recorded), systemic share in percent,
    schools, and its recorded term: first and last day (None: not recorded, no limit)."""

    key: str
    financing_basis: str | None
    systemic_share: Decimal | None
    schools: tuple[SchoolFacts, ...]
    period_start: date | None = None
    period_end: date | None = None

    def runs_on(self, day: date) -> bool:
        """Whether ``day`` lies within the pool's recorded term."""
        return ((self.period_start is None or self.period_start <= day)
                and (self.period_end is None or day <= self.period_end))


@dataclass(frozen=True)
class MunicipalityFacts:
    """A member municipality: name, whether it bears GL schools, dates the Kreis verified its projects."""

    name: str
    gl_bearer: bool
    verified_on: tuple[date, ...]


@dataclass(frozen=True)
class CostCentreFacts:
    """What a cost centre stands for: exactly one of school, pool, municipality or project."""

    code: str
    school: SchoolFacts | None = None
    pool: PoolFacts | None = None
    municipality: MunicipalityFacts | None = None
    project: str | None = None


@dataclass(frozen=True)
class PostingFacts:
    """One expense posting: signed EUR amount (debit > 0), booking date, school year,
    category id (None: unclassified), cost centre code (None: none given) and the kind of
    the recipient whose books hold it (``kreis``, ``stadt``, ``gemeinde``: ``models.RECIPIENT_KINDS``)."""

    amount: Decimal
    day: date
    school_year: SchoolYear
    category: str | None
    cost_centre: str | None
    recipient_kind: str


@dataclass(frozen=True)
class Classification:
    """The decision on one posting. Amounts EUR, summing to the posting's amount.

    ``status``: a ``Status`` (``ledger.rules.status``): permitted, capped, excluded, unclassified
    or split (mixed pool).
    ``review``: German text of what is missing for a decision, or None.
    """

    status: Status
    conform: Decimal
    excluded: Decimal
    unclassified: Decimal
    rule: str
    reason: str
    source: str
    pack_id: str
    pack_version: str
    review: str | None = None


def classify(posting: PostingFacts, centre: CostCentreFacts | None, pack: RulePack) -> Classification:
    """Classify ``posting`` under ``pack``; ``centre`` is its cost centre's master data, or None
    when the posting has none or the code is unknown (then ``review`` says so where it matters)."""
    decide = _Decider(posting, pack)
    category = posting.category
    if category is None:
        return decide.unclassified("category.missing", "Keine Kategorie angegeben.", review="Kategorie fehlt")
    if not pack.has_category(category):
        return decide.unclassified("category.unknown", f"Kategorie {category!r} ist im Regelwerk unbekannt.",
                                   review=f"Kategorie {category!r} unbekannt")
    rule = pack.category(category)
    unknown_centre = (f"Kostenstelle {posting.cost_centre} ist in den Stammdaten unbekannt"
                      if posting.cost_centre and centre is None else None)
    if rule.status == Status.EXCLUDED:
        return decide.excluded(f"category.{category}", f"Kategorie „{rule.label}“ ist ausgeschlossen.",
                               rule.source, review=unknown_centre)
    if not posting.school_year.contains(posting.day) and (
            pack.accrual is None or not pack.accrual.accepts(posting.day, posting.school_year)):
        return decide.unclassified("period.outside", f"Buchungsdatum {posting.day:%d.%m.%Y} liegt außerhalb des "
                                   f"Schuljahres {posting.school_year}, dem die Ausgabe zugeordnet ist.",
                                   review=f"periodenfremd gebucht am {posting.day:%d.%m.%Y}: Zuordnung zum "
                                   f"Schuljahr {posting.school_year} prüfen")
    if centre is not None and centre.school is not None and not centre.school.gl_school:
        return decide.excluded("school.not_gl", f"{centre.school.name} ({centre.school.school_number}) ist keine "
                               "Schule des Gemeinsamen Lernens.")
    if rule.kind == "pool_personnel":
        return _pool_personnel(decide, centre, unknown_centre)
    if rule.kind == "pass_through":
        return _pass_through(decide, posting, centre, unknown_centre)
    if rule.status == Status.CAPPED:
        return decide.result(Status.CAPPED, posting.amount, ZERO, ZERO, f"category.{category}",
                             f"„{rule.label}“: zulässig bis zur Obergrenze des Schuljahres.", rule.source,
                             review=unknown_centre)
    return decide.result(Status.PERMITTED, posting.amount, ZERO, ZERO, f"category.{category}",
                         f"„{rule.label}“ ist zulässig.", rule.source, review=unknown_centre)


def _pool_personnel(decide: "_Decider", centre: CostCentreFacts | None, unknown_centre: str | None) -> Classification:
    if centre is None or centre.pool is None:
        review = unknown_centre or "Poolpersonal ohne Kostenstelle eines Pools"
        return decide.unclassified("pool.unknown", "Der Pool der Buchung ist nicht bekannt.", review=review)
    pool = centre.pool
    if pool.financing_basis is None:
        return decide.unclassified("pool.basis_missing", f"Für Pool {pool.key} ist keine Finanzierungsgrundlage "
                                   "erfasst.", review=f"Pool {pool.key} ohne Finanzierungsgrundlage")
    if not pool.runs_on(decide.day):
        term = f"{pool.period_start:%d.%m.%Y} bis {pool.period_end:%d.%m.%Y}"
        return decide.unclassified("pool.outside_term", f"Buchung vom {decide.day:%d.%m.%Y} liegt außerhalb der "
                                   f"Laufzeit von Pool {pool.key} ({term}).",
                                   review=f"Pool {pool.key}: Buchung außerhalb der Laufzeit {term}")
    not_gl = [s for s in pool.schools if not s.gl_school]
    if not_gl or not pool.schools:
        names = ", ".join(f"{s.name} ({s.school_number})" for s in not_gl) or "keine Schule zugeordnet"
        return decide.excluded("pool.not_gl", f"Pool {pool.key} umfasst Schulen, die keine GL-Schulen sind: {names}.")
    if pool.financing_basis == "systemic":
        return decide.result(Status.PERMITTED, decide.amount, ZERO, ZERO, "pool.systemic",
                             f"Pool {pool.key} ist systemisch (antragsunabhängig) an GL-Schulen eingesetzt.")
    if pool.financing_basis == "individual_entitlements":
        return decide.excluded("pool.individual", f"Pool {pool.key} bündelt einzeln bewilligte Ansprüche "
                               "(Eingliederungshilfe); das sind Individualansprüche.")
    conform = from_cents(systemic_cents(to_cents(decide.amount), pool.systemic_share))
    return decide.result(Status.SPLIT, conform, decide.amount - conform, ZERO, "pool.mixed",
                         f"Pool {pool.key} ist gemischt finanziert: systemischer Anteil {pool.systemic_share} % "
                         f"({format_german(conform)} EUR) zulässig, der Rest ({format_german(decide.amount - conform)} "
                         "EUR) Individualansprüche.")


def _pass_through(decide: "_Decider", posting: PostingFacts, centre: CostCentreFacts | None,
                  unknown_centre: str | None) -> Classification:
    if posting.recipient_kind != "kreis":
        return decide.excluded("pass_through.not_kreis", "Nur Kreise dürfen Mittel an kreisangehörige Gemeinden "
                               "weiterleiten; eine kreisfreie Stadt oder Gemeinde hat keine kreisangehörigen "
                               "Gemeinden.")
    if centre is None or centre.municipality is None:
        review = unknown_centre or "Weiterleitung ohne Kostenstelle einer Gemeinde"
        return decide.unclassified("pass_through.unknown", "Die empfangende Gemeinde ist nicht bekannt.", review=review)
    town = centre.municipality
    if not town.gl_bearer:
        return decide.excluded("pass_through.not_gl_bearer", f"{town.name} ist nicht Träger von GL-Schulen.")
    if not any(day <= posting.day for day in town.verified_on):
        return decide.excluded("pass_through.unverified", f"Für {town.name} ist bis {posting.day:%d.%m.%Y} keine "
                               "Vergewisserung über zweckentsprechende Projekte dokumentiert.")
    verified = max(day for day in town.verified_on if day <= posting.day)
    return decide.result(Status.PERMITTED, posting.amount, ZERO, ZERO, "pass_through.verified",
                         f"Weiterleitung an {town.name} (Träger von GL-Schulen); Projekte geprüft am {verified:%d.%m.%Y}.")


def systemic_cents(cents: int, share: Decimal) -> int:
    """The systemic part of ``cents`` in a mixed pool with ``share`` percent systemic, in
    whole cents rounded half away from zero (``Decimal("62.5")``: 1001 → 626, -1001 → -626).

    The split's one rounding rule; ``systemic_cents_sql`` is the same rule for the database.
    Source: DOMAIN.md "Excluded uses" (split by the recorded share); the rounding is the
    project's choice, as for the overhead cap.
    """
    p, q = (share / 100).as_integer_ratio()
    if cents >= 0:
        return (2 * cents * p + q) // (2 * q)
    return -((-2 * cents * p + q) // (2 * q))


def systemic_cents_sql(cents: ColumnElement[int], share: Decimal) -> ColumnElement[int]:
    """``systemic_cents`` as an SQL expression over the integer column ``cents`` (the same
    integers on SQLite and PostgreSQL: only integer arithmetic and floor division of
    non-negative numbers)."""
    p, q = (share / 100).as_integer_ratio()
    return case((cents >= 0, (2 * cents * p + q) // (2 * q)), else_=-((-2 * cents * p + q) // (2 * q)))


class _Decider:
    """Builds Classifications for one posting under one pack, with the pack's citations."""

    def __init__(self, posting: PostingFacts, pack: RulePack) -> None:
        self.amount = posting.amount
        self.day = posting.day
        self.pack = pack

    def source(self, rule: str) -> str:
        return self.pack.rule_sources.get(rule) or self.pack.rule_sources.get(rule.split(".")[0], self.pack.source)

    def result(self, status: Status, conform: Decimal, excluded: Decimal, unclassified: Decimal, rule: str,
               reason: str, source: str | None = None, review: str | None = None) -> Classification:
        return Classification(status, conform, excluded, unclassified, rule, reason, source or self.source(rule),
                              self.pack.id, self.pack.version, review)

    def excluded(self, rule: str, reason: str, source: str | None = None, review: str | None = None) -> Classification:
        return self.result(Status.EXCLUDED, ZERO, self.amount, ZERO, rule, reason, source, review)

    def unclassified(self, rule: str, reason: str, review: str) -> Classification:
        return self.result(Status.UNCLASSIFIED, ZERO, ZERO, self.amount, rule, reason, None, review)
