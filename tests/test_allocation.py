"""Formula allocation: the Kreis Mettmann plan of seed 003_dcbc53400bdc01b8.txt.

Source of every figure: "Bereitstellung von Inklusionshelfern in den allgemeinen Schulen im
Kreis Mettmann – Rahmenbedingungen" (Nr. 2.1 Berechnungsgrundlage, Nr. 4 Mittelabruf) and its
Anlage 1 "Anzahl der erforderlichen Inklusionshelfer nach der Hildener Modellrechnung – Kosten
der Inklusionshilfe" (the table and the explanation beneath it: 1,5 % of primary-school pupils,
one helper per five children, "kaufmännisch gerundet", 10.000 € per year and 5.000 € per
half-year and helper).
"""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from inkl.demo import load_demo
from ledger.core.models import Recipient
from ledger.reports.allocation import compute_allocation
from ledger.rules.packs import RULES_DIR, NoRulePack, RulePackError, allocation_plan, load_pack, load_packs

NOW = datetime(2026, 12, 7, 9, 0)

# Anlage 1, row by row as printed: city, key, Grundschüler, 1,5 % der SuS, Inklusionshelfer
# (einer je 5 Kinder), Bedarf je Stadt für ein Schuljahr (€), Mittel für das 2. Schulhalbjahr
# 2013/2014 (€).
ANLAGE_1 = [
    ("Erkrath", "erkrath", 1574, 24, 5, "50000.00", "25000.00"),
    ("Haan", "haan", 1065, 16, 3, "30000.00", "15000.00"),
    ("Heiligenhaus", "heiligenhaus", 967, 15, 3, "30000.00", "15000.00"),
    ("Hilden", "hilden", 1794, 27, 5, "50000.00", "25000.00"),
    ("Langenfeld", "langenfeld", 1979, 30, 6, "60000.00", "30000.00"),
    ("Mettmann", "mettmann", 1421, 21, 4, "40000.00", "20000.00"),
    ("Monheim am Rhein", "monheim-am-rhein", 1468, 22, 4, "40000.00", "20000.00"),
    ("Ratingen", "ratingen", 3314, 50, 10, "100000.00", "50000.00"),
    ("Velbert", "velbert", 2822, 42, 8, "80000.00", "40000.00"),
    ("Wülfrath", "wuelfrath", 678, 10, 2, "20000.00", "10000.00"),
]
# Anlage 1, Summenzeile as printed: 17.082 | 256 | 50 | 500.000 € | 250.000 €.
# By hand: the rows' 1,5 % column adds up to 24+16+15+27+30+21+22+50+42+10 = 257; the table's
# 256 is 17.082 × 1,5 % = 256,23 → 256, computed on the total. The helpers' column adds up to 50
# (5+3+3+5+6+4+4+10+8+2), although the formula on the total would give 256 ÷ 5 = 51,2 → 51.
TABLE_SUMS = {"pupils": 17082, "children": 256, "helpers": 50, "amount_year": "500000.00",
              "amount_period": "250000.00"}
ROW_SUMS = {"pupils": 17082, "children": 257, "helpers": 50, "amount_year": "500000.00",
            "amount_period": "250000.00"}


@pytest.mark.parametrize("name,key,pupils,children,helpers,year,period", ANLAGE_1)
def test_anlage_1_row_by_row(name, key, pupils, children, helpers, year, period):
    """Each cell of the row equals Anlage 1 (seed 003, Anlage 1 zu den Rahmenbedingungen)."""
    row = compute_allocation("mettmann-2014").row(key)
    assert (row.name, row.pupils, row.children, row.helpers) == (name, pupils, children, helpers)
    assert (row.amount_year, row.amount_period) == (Decimal(year), Decimal(period))


def test_anlage_1_order_sums_and_the_tables_own_difference():
    """Rows in the table's order; the sum of the rows; the table's sum row differs only in the
    1,5 % column (256 on the total against 257 as the rows add up), Anlage 1."""
    result = compute_allocation("mettmann-2014")
    assert [row.recipient for row in result.rows] == [entry[1] for entry in ANLAGE_1]
    assert result.as_json()["sums"] == ROW_SUMS
    assert result.as_json()["table_sums"] == TABLE_SUMS
    assert [d.as_json() for d in result.differences] == [
        {"column": "children", "table": 256, "rows": 257, "on_total": 256}]
    assert result.on_total["helpers"] == 51


def test_the_je_mindestens_fuenf_reading_rounds_down():
    """Rahmenbedingungen Nr. 2.1: "für je mindestens fünf Schülerinnen und Schüler" read as
    rounding down: Erkrath 24 children → 4 helpers (not 5), 40.000 € / 20.000 €."""
    pack, _plan = allocation_plan("mettmann-2014")
    assert pack.allocation.helpers_rounding_alternative == "down"
    result = compute_allocation("mettmann-2014", helpers_rounding="down")
    erkrath = result.row("erkrath")
    assert (erkrath.children, erkrath.helpers, erkrath.amount_period) == (24, 4, Decimal("20000.00"))
    # 4+3+3+5+6+4+4+10+8+2 = 49 helpers
    assert result.sums["helpers"] == 49


def test_pack_constants_are_the_seeds():
    """Fails if a constant of the formula changes (Anlage 1, explanation; Rahmenbedingungen Nr. 2.1,
    4.1 and 4.3)."""
    pack, plan = allocation_plan("mettmann-2014")
    rule = pack.allocation
    assert (rule.share, rule.children_per_helper) == (Decimal("0.015"), 5)
    assert (rule.amount_per_helper_year, rule.amount_per_helper_period) == (Decimal("10000.00"), Decimal("5000.00"))
    assert (rule.children_rounding, rule.helpers_rounding) == ("half_up", "half_up")
    assert (rule.claims_from, rule.claims_until) == (date(2014, 7, 7), date(2014, 11, 15))
    assert (plan.grantor_key, plan.grantor_name, plan.period) == (
        "kreis-mettmann", "Kreis Mettmann", "2. Schulhalbjahr 2013/2014")
    assert pack.programme == "kreis_mettmann_schulbegleitung"
    assert pack.landeskasse is None
    assert {c.id: c.status.value for c in pack.categories} == {"helper_personnel": "permitted",
                                                                "material_costs": "excluded"}


def test_a_changed_share_changes_the_rows(tmp_path):
    """The formula is data: 2 % instead of 1,5 % gives Erkrath 1.574 × 2 % = 31,48 → 31 children,
    31 ÷ 5 = 6,2 → 6 helpers."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder)
    path = folder / "kreis-mettmann-inklusionshilfe.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('share = "0.015"', 'share = "0.02"'), encoding="utf-8")
    row = compute_allocation("mettmann-2014", load_packs(folder)).row("erkrath")
    assert (row.children, row.helpers) == (31, 6)


@pytest.mark.parametrize("old,new,key", [
    ('helpers_rounding = "half_up"', 'helpers_rounding = "ceiling"', "allocation.helpers_rounding"),
    ('claims_until = "2014-11-15"', 'claims_until = "2014-07-06"', "allocation.claims_until"),
    ('amount_per_helper_period = "5000.00"', 'amount_per_helper_period = 5000.0', "allocation.amount_per_helper_period"),
    ('{ key = "haan", name = "Haan", pupils = 1065 }', '{ key = "erkrath", name = "Haan", pupils = 1065 }',
     "allocation.plans[0].recipients[1].key"),
])
def test_invalid_allocation_tables_are_refused(tmp_path, old, new, key):
    """The [allocation] table is validated with marshmallow, errors name the key path."""
    path = tmp_path / "pack.toml"
    text = (RULES_DIR / "kreis-mettmann-inklusionshilfe.toml").read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_pack(path)
    assert caught.value.key == key


def test_a_pack_without_landeskasse_needs_an_allocation(tmp_path):
    """Only a formula-allocation pack may omit [landeskasse] (nothing is repaid to the Land there)."""
    path = tmp_path / "pack.toml"
    text = (RULES_DIR / "inklfoeg-nrw-hinweise.toml").read_text(encoding="utf-8")
    start = text.index("[landeskasse]")
    end = text.index("\n[", start + 1)
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RulePackError) as caught:
        load_pack(path)
    assert caught.value.key == "landeskasse"


def test_unknown_plan_is_a_german_error():
    with pytest.raises(NoRulePack, match="kein Verteilungsplan 'unbekannt'"):
        compute_allocation("unbekannt")


def test_cli_allocation_compute_json(cli):
    """`inkl allocation compute --plan mettmann-2014 --json`: one object per city, sums with the
    same keys, amounts as strings with two decimals (issue 16, Interfaces)."""
    data = json.loads(cli("allocation", "compute", "--plan", "mettmann-2014", "--json").stdout)
    assert data["rows"] == [
        {"recipient": key, "pupils": pupils, "children": children, "helpers": helpers,
         "amount_year": year, "amount_period": period}
        for _name, key, pupils, children, helpers, year, period in ANLAGE_1]
    assert data["sums"] == ROW_SUMS
    assert data["differences"] == [{"column": "children", "table": 256, "rows": 257, "on_total": 256}]


def test_cli_allocation_compute_plain_is_german(cli):
    out = cli("allocation", "compute", "--plan", "mettmann-2014").stdout
    assert "Monheim am Rhein" in out and "50.000,00" in out
    assert "Summe der Zeilen        17082     257      50     500.000,00     250.000,00" in out
    assert "Tabelle 256, Summe der Zeilen 257, Formel auf die Gesamtzahl 256" in out
    assert ".toml" not in out and "mettmann-2014" not in out


def test_cli_unknown_plan_fails_on_stderr(cli):
    result = cli("allocation", "compute", "--plan", "unbekannt", expect=1)
    assert "kein Verteilungsplan" in result.stderr


def test_demo_loads_the_kreis_and_its_ten_cities(session):
    list(load_demo(session, user="demo", now=NOW))
    session.commit()
    kinds = dict(session.execute(select(Recipient.key, Recipient.kind)).all())
    assert kinds["kreis-mettmann"] == "kreis"
    assert {key: kinds.get(key) for _n, key, *_ in ANLAGE_1} == {key: "stadt" for _n, key, *_ in ANLAGE_1}
    names = dict(session.execute(select(Recipient.key, Recipient.name)).all())
    assert names["monheim-am-rhein"] == "Monheim am Rhein" and names["wuelfrath"] == "Wülfrath"
