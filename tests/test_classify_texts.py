"""Every branch of the rules engine, with the whole decision spelled out (issue 18).

Mutation testing (docs/mutation-testing.md) showed that the tests of ``test_classify.py``
check status, amounts and rule ids but not the reason, the review text and the citation a
person reads: a changed text, a swapped citation or a lost review note went unnoticed. Here
each rule of ``ledger.rules.classify`` (its module docstring; Hinweise zur zweckentsprechenden
Verwendung der Inklusionspauschale, Teile I–III; § 2 Abs. 2 InklFöG; § 33 Abs. 1 Nr. 4 KomHVO
NRW) decides one worked example, and the expected ``Classification`` is written out by hand
from the rule's text in the source: status, the three amounts, rule, reason, citation, pack
and review.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from ledger.rules.classify import (
    Classification,
    CostCentreFacts,
    PoolFacts,
    PostingFacts,
    SchoolFacts,
    classify,
    rule_label,
)
from ledger.rules.status import Status
from tests.test_classify import GL, NOT_GL, PACK, SY, pool, town

SOURCES = PACK.rule_sources
NOT_GL_2 = SchoolFacts("123458", "Realschule Am Bach", False)
AMOUNT = D("2000.01")
UNKNOWN = "Kostenstelle KS-9 ist in den Stammdaten unbekannt"


def posting(category, day=date(2023, 10, 31), cost_centre="KS-1", kind="kreis"):
    return PostingFacts(AMOUNT, day, SY, category, cost_centre, kind)


def expect(status, conform, excluded, unclassified, rule, reason, source, review=None):
    return Classification(status, D(conform), D(excluded), D(unclassified), rule, reason, source, PACK.id,
                          PACK.version, review)


def label(category):
    return PACK.category(category).label


def source(category):
    return PACK.category(category).source


CASES = {
    # rule 1: no category, or one the pack does not know → unclassified (review)
    "no category": (
        posting(None), None,
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "category.missing", "Keine Kategorie angegeben.",
               SOURCES["category"], "Kategorie fehlt")),
    "unknown category": (
        posting("catering"), None,
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "category.unknown",
               "Kategorie 'catering' ist im Regelwerk unbekannt.", SOURCES["category"],
               "Kategorie 'catering' unbekannt")),
    # rule 2: an excluded category (§ 2 Abs. 2 InklFöG; Hinweise Teil I), citing the category's source;
    # an unknown cost centre is noted for review, a missing or known one is not
    "excluded category, unknown cost centre": (
        posting("teaching_staff", cost_centre="KS-9"), None,
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "category.teaching_staff",
               f"Kategorie „{label('teaching_staff')}“ ist ausgeschlossen.", source("teaching_staff"), UNKNOWN)),
    "excluded category, no cost centre": (
        posting("teaching_staff", cost_centre=None), None,
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "category.teaching_staff",
               f"Kategorie „{label('teaching_staff')}“ ist ausgeschlossen.", source("teaching_staff"))),
    "excluded category, known cost centre": (
        posting("teaching_staff"), CostCentreFacts("KS-1", school=GL),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "category.teaching_staff",
               f"Kategorie „{label('teaching_staff')}“ ist ausgeschlossen.", source("teaching_staff"))),
    # rule 3: booked before the school year (§ 33 Abs. 1 Nr. 4 KomHVO NRW) → review
    "booked before the year": (
        posting("training", day=date(2023, 7, 31)), CostCentreFacts("KS-1", school=GL),
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "period.outside",
               "Buchungsdatum 31.07.2023 liegt außerhalb des Schuljahres 2023/24, dem die Ausgabe zugeordnet ist.",
               SOURCES["period"], "periodenfremd gebucht am 31.07.2023: Zuordnung zum Schuljahr 2023/24 prüfen")),
    # rule 4: a school that is not a GL school (Hinweise Teile I, III)
    "school not GL": (
        posting("training"), CostCentreFacts("KS-1", school=NOT_GL),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "school.not_gl",
               "Gymnasium Am Markt (123457) ist keine Schule des Gemeinsamen Lernens.", SOURCES["school"])),
    # rule 5: pool personnel (Hinweise Teil III)
    "pool unknown, no cost centre": (
        posting("pool_personnel", cost_centre=None), None,
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pool.unknown", "Der Pool der Buchung ist nicht bekannt.",
               SOURCES["pool"], "Poolpersonal ohne Kostenstelle eines Pools")),
    "pool unknown, unknown cost centre": (
        posting("pool_personnel", cost_centre="KS-9"), None,
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pool.unknown", "Der Pool der Buchung ist nicht bekannt.",
               SOURCES["pool"], UNKNOWN)),
    "pool personnel at a school's cost centre": (
        posting("pool_personnel"), CostCentreFacts("KS-1", school=GL),
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pool.unknown", "Der Pool der Buchung ist nicht bekannt.",
               SOURCES["pool"], "Poolpersonal ohne Kostenstelle eines Pools")),
    "pool without financing basis": (
        posting("pool_personnel"), pool(None),
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pool.basis_missing",
               "Für Pool P01 ist keine Finanzierungsgrundlage erfasst.", SOURCES["pool"],
               "Pool P01 ohne Finanzierungsgrundlage")),
    "pool booked before its term": (
        posting("pool_personnel"), pool("systemic", term=(date(2023, 11, 1), date(2024, 7, 31))),
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pool.outside_term",
               "Buchung vom 31.10.2023 liegt außerhalb der Laufzeit von Pool P01 (01.11.2023 bis 31.07.2024).",
               SOURCES["pool"], "Pool P01: Buchung außerhalb der Laufzeit 01.11.2023 bis 31.07.2024")),
    "pool with two schools that are not GL": (
        posting("pool_personnel"), pool("systemic", schools=(NOT_GL, GL, NOT_GL_2)),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "pool.not_gl",
               "Pool P01 umfasst Schulen, die keine GL-Schulen sind: Gymnasium Am Markt (123457), "
               "Realschule Am Bach (123458).", SOURCES["pool.not_gl"])),
    "pool without schools": (
        posting("pool_personnel"), pool("systemic", schools=()),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "pool.not_gl",
               "Pool P01 umfasst Schulen, die keine GL-Schulen sind: keine Schule zugeordnet.",
               SOURCES["pool.not_gl"])),
    "systemic pool": (
        posting("pool_personnel"), pool("systemic"),
        expect(Status.PERMITTED, AMOUNT, 0, 0, "pool.systemic",
               "Pool P01 ist systemisch (antragsunabhängig) an GL-Schulen eingesetzt.", SOURCES["pool.systemic"])),
    "pool of individual entitlements": (
        posting("pool_personnel"), pool("individual_entitlements"),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "pool.individual",
               "Pool P01 bündelt einzeln bewilligte Ansprüche (Eingliederungshilfe); das sind Individualansprüche.",
               SOURCES["pool.individual"])),
    # 62.5 % of 2.000,01 EUR = 1.250,00625 EUR → 1.250,01 (half up in cents: 200001 · 5/8 = 125000.625);
    # the rest 750,00 EUR are individual claims
    "mixed pool": (
        posting("pool_personnel"), pool("mixed", "62.5"),
        expect(Status.SPLIT, "1250.01", "750.00", 0, "pool.mixed",
               "Pool P01 ist gemischt finanziert: systemischer Anteil 62.5 % (1.250,01 EUR) zulässig, der Rest "
               "(750,00 EUR) Individualansprüche.", SOURCES["pool.mixed"])),
    # rule 6: pass-through (Hinweise Teil II)
    "pass-through by a Stadt": (
        posting("pass_through", kind="stadt"), town(),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "pass_through.not_kreis",
               "Nur Kreise dürfen Mittel an kreisangehörige Gemeinden weiterleiten; eine kreisfreie Stadt oder "
               "Gemeinde hat keine kreisangehörigen Gemeinden.", SOURCES["pass_through"])),
    "pass-through, municipality unknown": (
        posting("pass_through", cost_centre=None), None,
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pass_through.unknown",
               "Die empfangende Gemeinde ist nicht bekannt.", SOURCES["pass_through"],
               "Weiterleitung ohne Kostenstelle einer Gemeinde")),
    "pass-through, unknown cost centre": (
        posting("pass_through", cost_centre="KS-9"), None,
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pass_through.unknown",
               "Die empfangende Gemeinde ist nicht bekannt.", SOURCES["pass_through"], UNKNOWN)),
    "pass-through at a school's cost centre": (
        posting("pass_through"), CostCentreFacts("KS-1", school=GL),
        expect(Status.UNCLASSIFIED, 0, 0, AMOUNT, "pass_through.unknown",
               "Die empfangende Gemeinde ist nicht bekannt.", SOURCES["pass_through"],
               "Weiterleitung ohne Kostenstelle einer Gemeinde")),
    "pass-through to a town without GL schools": (
        posting("pass_through"), town(gl_bearer=False),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "pass_through.not_gl_bearer",
               "Stadt Lindental ist nicht Träger von GL-Schulen.", SOURCES["pass_through"])),
    "pass-through verified only the day after": (
        posting("pass_through"), town(verified=(date(2023, 11, 1),)),
        expect(Status.EXCLUDED, 0, AMOUNT, 0, "pass_through.unverified",
               "Für Stadt Lindental ist bis 31.10.2023 keine Vergewisserung über zweckentsprechende Projekte "
               "dokumentiert.", SOURCES["pass_through"])),
    # verified on 12.09., on the booking day 31.10. and after it (05.11.): the latest on or before counts
    "pass-through verified on the booking day": (
        posting("pass_through"), town(verified=(date(2023, 9, 12), date(2023, 10, 31), date(2023, 11, 5))),
        expect(Status.PERMITTED, AMOUNT, 0, 0, "pass_through.verified",
               "Weiterleitung an Stadt Lindental (Träger von GL-Schulen); Projekte geprüft am 31.10.2023.",
               SOURCES["pass_through"])),
    # a verification dated on the booking day itself is "on or before" it (Hinweise Teil II: verified first, then paid)
    "pass-through verified only on the booking day": (
        posting("pass_through"), town(verified=(date(2023, 10, 31),)),
        expect(Status.PERMITTED, AMOUNT, 0, 0, "pass_through.verified",
               "Weiterleitung an Stadt Lindental (Träger von GL-Schulen); Projekte geprüft am 31.10.2023.",
               SOURCES["pass_through"])),
    # rule 7: overhead, capped at the year level (Hinweise Teil IV, 6. Spiegelstrich)
    "overhead": (
        posting("overhead", cost_centre="KS-9"), None,
        expect(Status.CAPPED, AMOUNT, 0, 0, "category.overhead",
               f"„{label('overhead')}“: zulässig bis zur Obergrenze des Schuljahres.", source("overhead"), UNKNOWN)),
    # rule 8: every other permitted category (Hinweise Teil IV)
    "training at a GL school": (
        posting("training"), CostCentreFacts("KS-1", school=GL),
        expect(Status.PERMITTED, AMOUNT, 0, 0, "category.training", f"„{label('training')}“ ist zulässig.",
               source("training"))),
    "training, unknown cost centre": (
        posting("training", cost_centre="KS-9"), None,
        expect(Status.PERMITTED, AMOUNT, 0, 0, "category.training", f"„{label('training')}“ ist zulässig.",
               source("training"), UNKNOWN)),
}


@pytest.mark.parametrize("name", CASES)
def test_each_rule_decides_with_its_reason_citation_and_review(name):
    facts, centre, expected = CASES[name]
    assert classify(facts, centre, PACK) == expected


def test_a_rule_without_a_citation_of_its_own_or_its_family_cites_the_pack():
    """``[rule_sources]`` names a rule, else its family (``pool`` for ``pool.basis_missing``), else
    the pack's own source applies."""
    bare = replace(PACK, rule_sources={})
    result = classify(posting("pool_personnel"), pool(None), bare)
    assert result.source == PACK.source
    family_only = replace(PACK, rule_sources={"pool": "Teil III"})
    assert classify(posting("pool_personnel"), pool("systemic"), family_only).source == "Teil III"


def test_without_an_accrual_rule_a_posting_after_the_year_goes_to_review():
    """A pack without ``[accrual]`` accepts no posting booked after the school year's last day
    (31.07.2024): 01.08.2024 goes to review; with the Hinweise pack's 92 days it counts."""
    late = posting("training", day=date(2024, 8, 1))
    centre = CostCentreFacts("KS-1", school=GL)
    assert classify(late, centre, replace(PACK, accrual=None)).rule == "period.outside"
    assert classify(late, centre, PACK).rule == "category.training"
    inside = posting("training", day=date(2024, 7, 31))
    assert classify(inside, centre, replace(PACK, accrual=None)).rule == "category.training"


@pytest.mark.parametrize("day, runs", [
    (date(2023, 10, 31), False), (date(2023, 11, 1), True), (date(2024, 7, 31), True), (date(2024, 8, 1), False),
])
def test_a_pools_term_includes_its_first_and_last_day(day, runs):
    """``PoolFacts.runs_on``: the recorded term 01.11.2023–31.07.2024 includes both ends."""
    facts = PoolFacts("P01", "systemic", None, (GL,), date(2023, 11, 1), date(2024, 7, 31))
    assert facts.runs_on(day) is runs
    assert PoolFacts("P01", "systemic", None, (GL,), None, date(2024, 7, 31)).runs_on(date(2000, 1, 1))
    assert PoolFacts("P01", "systemic", None, (GL,), date(2023, 11, 1), None).runs_on(date(2099, 1, 1))


@pytest.mark.parametrize("rule, expected", [
    ("pool.systemic", "Systemischer Pool an Schulen des Gemeinsamen Lernens"),
    ("pool.outside_term", "Pool-Modelle"),                # not in the table: its family's label
    ("category.training", "Einstufung nach der Kategorie"),
    ("override", "Abweichende Einstufung der Sachbearbeitung"),
    ("budget.cap", "Regel des Regelwerks"),               # neither rule nor family known
    ("budget", "Regel des Regelwerks"),
])
def test_rule_labels(rule, expected):
    assert rule_label(rule) == expected
