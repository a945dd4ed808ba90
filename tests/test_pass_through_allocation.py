"""Pass-through of the Inklusionspauschale by a formula (Weiterleitung nach Verteilungsschlüssel):
the demo plan of Kreis Musterhausen (fictional) and its municipalities' claims.

Sources: Hinweise zur Inklusionspauschale, Teil II (only a Kreis passes money through, to a
municipality that bears GL schools and whose purpose-conform projects it verified); the
municipalities and the verification of Stadt Lindental on 12.09.2023 are the demo's master
data (Gemeinde Auenbach bears no GL schools). Shares by hand (largest remainder,
Hare/Niemeyer): 60.000,00 EUR × 1.234 ÷ 1.801 = 41.110,494… → 41.110,49 EUR (remainder 0,42 ct),
× 567 ÷ 1.801 = 18.889,505… → 18.889,50 EUR (remainder 0,58 ct); the one cent left goes to the
larger remainder: 18.889,51 EUR; together 60.000,00 EUR.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from inkl.demo import DEMO_DIR, _load_master_data
from ledger.core.errors import LedgerError
from ledger.core.models import JournalEntry, PassThroughClaim
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.pass_through import pass_through_shares
from ledger.rules.evaluate import evaluate
from ledger.rules.packs import RulePackError
from ledger.rules.pass_through_plan import PassThroughMunicipality, load_pass_through_plan
from ledger.workflows.pass_through import add_pass_through_claim

NOW = datetime(2026, 12, 7, 9, 0)
PLAN_FILE = DEMO_DIR / "verteilung" / "weiterleitung-2023.toml"


@pytest.fixture
def musterhausen(session):
    """Kreis Musterhausen with the demo's master data (municipalities, cost centre 3631-WEI)."""
    kreis = add_recipient(session, "musterhausen", "Kreis Musterhausen", "kreis", actor="test", now=NOW)
    list(_load_master_data(session, kreis, DEMO_DIR / "stammdaten", user="test", now=NOW))
    session.commit()
    return kreis


def _claim(session, name, day, amount):
    claim = add_pass_through_claim(session, load_pass_through_plan(PLAN_FILE), name, day, Decimal(amount),
                                   "Abruf vom Tag", actor="test", now=NOW)
    session.commit()
    return claim


def test_demo_plan_shares_by_largest_remainder():
    plan = load_pass_through_plan(PLAN_FILE)
    rows = pass_through_shares(plan)
    assert [(r.name, r.share) for r in rows] == [("Stadt Lindental", Decimal("41110.49")),
                                                 ("Gemeinde Auenbach", Decimal("18889.51"))]
    assert sum(r.share for r in rows) == plan.amount


def test_shares_always_add_up_to_the_amount():
    """Three equal municipalities and 100,00 EUR: 33,33 each leaves one cent; the remainders tie,
    so it goes to the first in the plan's order: 33,34 + 33,33 + 33,33."""
    from dataclasses import replace
    plan = replace(load_pass_through_plan(PLAN_FILE), amount=Decimal("100.00"), municipalities=tuple(
        PassThroughMunicipality(name, 10) for name in ("A", "B", "C")))
    assert [r.share for r in pass_through_shares(plan)] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_a_verified_municipality_is_paid_as_pass_through_up_to_its_share(session, musterhausen):
    first = _claim(session, "Stadt Lindental", date(2023, 9, 12), "30000.00")   # the day of the verification
    assert (first.accepted_cents, first.refused_cents, first.reason) == (3000000, 0, None)
    entry = session.get(JournalEntry, first.entry_id)
    assert sorted((p.account.number, p.amount_cents, p.category, p.cost_centre) for p in entry.postings) == [
        ("1810", -3000000, None, None), ("5314", 3000000, "pass_through", "3631-WEI")]
    # the Inklusionspauschale's classification shows it as a verified pass-through (Hinweise Teil II)
    [judged] = evaluate(session, musterhausen, SchoolYear(2023), entry_id=first.entry_id)
    assert (judged.classification.rule, judged.classification.conform) == ("pass_through.verified", Decimal("30000.00"))
    second = _claim(session, "Stadt Lindental", date(2023, 10, 1), "20000.00")
    # 41.110,49 − 30.000,00 = 11.110,49 accepted, 8.889,51 refused
    assert (second.accepted_cents, second.refused_cents) == (1111049, 888951)
    assert "verbleiben beim Kreis und gehen an keine andere Gemeinde" in second.reason


def test_before_the_verification_the_claim_is_refused(session, musterhausen):
    claim = _claim(session, "Stadt Lindental", date(2023, 9, 11), "100.00")
    assert claim.accepted_cents == 0 and claim.entry_id is None
    assert "keine Vergewisserung" in claim.reason and "Teil II" in claim.reason


def test_a_municipality_without_gl_schools_is_refused_and_its_share_stays_with_the_kreis(session, musterhausen):
    claim = _claim(session, "Gemeinde Auenbach", date(2023, 10, 1), "100.00")
    assert claim.accepted_cents == 0 and "nicht Träger von Schulen des Gemeinsamen Lernens" in claim.reason
    # Auenbach's share is not moved to Lindental: Lindental still gets at most its own share
    assert _claim(session, "Stadt Lindental", date(2023, 10, 2), "60000.00").accepted_cents == 4111049


@pytest.mark.parametrize("day,accepted", [(date(2023, 8, 31), 0), (date(2023, 9, 12), 10000),
                                          (date(2024, 7, 31), 10000), (date(2024, 8, 1), 0)])
def test_claim_window_boundaries(session, musterhausen, day, accepted):
    """The plan's window 01.09.2023–31.07.2024 (Lindental verified 12.09.2023)."""
    assert _claim(session, "Stadt Lindental", day, "100.00").accepted_cents == accepted


@pytest.mark.parametrize("name,message", [("Stadt Anderswo", "keine Gemeinde des Verteilungsplans")])
def test_unknown_municipality_is_refused_and_nothing_recorded(session, musterhausen, name, message):
    with pytest.raises(LedgerError, match=message):
        _claim(session, name, date(2023, 10, 1), "100.00")
    session.rollback()
    assert session.scalar(select(PassThroughClaim.id)) is None


@pytest.mark.parametrize("old,new,key", [
    ('amount = "60000.00"', "amount = 60000.0", "plan.amount"),
    ('method = "pro_rata_pupils"', 'method = "helpers"', "plan.method"),
    ('{ name = "Gemeinde Auenbach", pupils = 567 }', '{ name = "Stadt Lindental", pupils = 567 }', "plan.municipalities.1.name"),
])
def test_invalid_plan_files_are_refused_naming_the_key(tmp_path, old, new, key):
    path = tmp_path / "plan.toml"
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_pass_through_plan(path)
    assert caught.value.key.replace("[", ".").replace("]", "") == key


def test_cli_pass_through_shares_and_claim(cli, session, musterhausen):
    shares = json.loads(cli("allocation", "pass-through", "--plan-file", str(PLAN_FILE), "--json").stdout)
    assert [(r["municipality"], r["share"]) for r in shares["rows"]] == [("Stadt Lindental", "41110.49"),
                                                                         ("Gemeinde Auenbach", "18889.51")]
    data = json.loads(cli("claim", "pass-through", "--plan-file", str(PLAN_FILE), "--municipality", "Stadt Lindental",
                          "--date", "2023-09-28", "--amount", "60.000,00", "--reference", "Abruf 28.09.2023",
                          "--json").stdout)
    assert (data["claimed"], data["accepted"], data["refused"]) == ("60000.00", "41110.49", "18889.51")
    after = json.loads(cli("allocation", "pass-through", "--plan-file", str(PLAN_FILE), "--json").stdout)["rows"]
    assert [(r["accepted"], r["refused"], r["rest"]) for r in after] == [("41110.49", "18889.51", "0.00"),
                                                                         ("0.00", "0.00", "18889.51")]
    failed = cli("claim", "pass-through", "--plan-file", str(PLAN_FILE), "--municipality", "Stadt Anderswo",
                 "--date", "2023-09-28", "--amount", "1", "--reference", "X", expect=1)
    assert "keine Gemeinde des Verteilungsplans" in failed.stderr
