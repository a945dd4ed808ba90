"""Interest on late repayment (§ 49a Abs. 3 VwVfG NRW: 3 points above the Basiszinssatz of
§ 247 BGB per year), the base-rate table rules/basiszinssatz.toml and the packs' [interest].

Worked examples are computed by hand in the comments. Conventions (ledger/rules/interest.py):
interest days are the days after the due date up to and including the payment day
(§ 187 Abs. 1 BGB), so days = paid - due; act/act divides each calendar year's days by 365
or 366; only the total is rounded half up to cents.
"""
from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.rules.interest import (
    InterestError,
    base_rate_on,
    late_interest,
)
from ledger.rules.packs import (
    RULES_DIR,
    BaseRate,
    RulePackError,
    load_base_rates,
    load_pack,
    load_packs,
)

HINWEISE = RULES_DIR / "inklfoeg-nrw-hinweise.toml"
GESETZ = RULES_DIR / "inklfoeg-nrw-gesetz.toml"
TABLE = RULES_DIR / "basiszinssatz.toml"

RULE = load_pack(HINWEISE).interest
RATES = load_base_rates(TABLE)


def D(text: str) -> Decimal:
    return Decimal(text)


def same(a: Decimal, b: Decimal) -> bool:
    """Equal to 20 decimal places (the module computes with 50 significant digits)."""
    return abs(a - b) < Decimal("1e-20")


# --- the base-rate table -----------------------------------------------------------------


def test_table_values_are_strings_and_dates_strictly_increasing():
    raw = tomllib.loads(TABLE.read_text(encoding="utf-8"))
    assert isinstance(raw["source"], str)
    entries = raw["rates"]
    for entry in entries:
        assert set(entry) == {"valid_from", "rate", "bundesbank_checked"}
        assert isinstance(entry["bundesbank_checked"], bool), entry
        assert isinstance(entry["valid_from"], str), entry  # not a TOML date
        assert isinstance(entry["rate"], str), entry  # not a TOML float
    days = [date.fromisoformat(entry["valid_from"]) for entry in entries]
    assert all(earlier < later for earlier, later in zip(days, days[1:]))


def test_table_has_every_half_year_from_2002():
    days = [rate.valid_from for rate in RATES]
    assert days[0] == date(2002, 1, 1)
    expected, current = [], date(2002, 1, 1)
    while current <= days[-1]:
        expected.append(current)
        current = date(current.year, 7, 1) if current.month == 1 else date(current.year + 1, 1, 1)
    assert days == expected
    assert days[-1] >= date(2026, 1, 1)


@pytest.mark.parametrize(
    ("valid_from", "rate"),
    [
        (date(2002, 1, 1), "2.57"),  # first value after the DÜG (3.62 → 2.57)
        (date(2009, 7, 1), "0.12"),
        (date(2011, 7, 1), "0.37"),
        (date(2013, 1, 1), "-0.13"),  # first negative value
        (date(2016, 7, 1), "-0.88"),
        (date(2019, 1, 1), "-0.88"),
        (date(2022, 7, 1), "-0.88"),
        (date(2023, 1, 1), "1.62"),
        (date(2024, 1, 1), "3.62"),
        (date(2024, 7, 1), "3.37"),
        (date(2025, 1, 1), "2.27"),
        (date(2025, 7, 1), "1.27"),
        (date(2026, 1, 1), "1.27"),
    ],
)
def test_table_anchor_values(valid_from, rate):
    assert BaseRate(valid_from, D(rate)) in RATES


def test_table_source_names_the_bundesbank():
    raw = tomllib.loads(TABLE.read_text(encoding="utf-8"))
    assert "Deutsche Bundesbank" in raw["source"]
    assert "https://www.bundesbank.de/" in raw["source"]


def test_base_rate_on():
    assert base_rate_on(date(2024, 6, 30), RATES) == D("3.62")
    assert base_rate_on(date(2024, 7, 1), RATES) == D("3.37")
    assert base_rate_on(date(2019, 5, 1), RATES) == D("-0.88")
    with pytest.raises(InterestError, match="2001"):
        base_rate_on(date(2001, 12, 31), RATES)


def write_table(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = TABLE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "basiszinssatz.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('rate = "2.57"', "rate = 2.57", "rates[0].rate"),  # a TOML float
        ('rate = "2.57"', 'rate = "2,57"', "rates[0].rate"),
        ('valid_from = "2002-07-01"', "valid_from = 2002-07-01", "rates[1].valid_from"),  # a TOML date
        ('valid_from = "2002-07-01"', 'valid_from = "2002-07-02"', "rates[1].valid_from"),  # not 1 Jan / 1 Jul
        ('valid_from = "2002-07-01"', 'valid_from = "01.07.2002"', "rates[1].valid_from"),
        ('valid_from = "2002-07-01"', 'valid_from = "2002-01-01"', "rates[1].valid_from"),  # duplicate
        ('valid_from = "2003-01-01"', 'valid_from = "2001-07-01"', "rates[2].valid_from"),  # unordered
        ('valid_from = "2002-07-01"', 'valid_from = "2003-07-01"', "rates[1].valid_from"),  # gap
        ('rate = "2.57"', 'rate = "2.57"\nnote = "x"', "rates[0].note"),  # unknown key
        ("source = ", "quelle = ", "quelle"),
    ],
)
def test_broken_table_names_file_and_key(tmp_path, old, new, key):
    path = write_table(tmp_path, old, new)
    with pytest.raises(RulePackError) as info:
        load_base_rates(path)
    assert info.value.file == str(path)
    assert key in info.value.errors
    assert str(info.value).startswith(f"{path}: ")


def test_duplicate_and_gap_messages(tmp_path):
    path = write_table(tmp_path, 'valid_from = "2002-07-01"', 'valid_from = "2002-01-01"')
    with pytest.raises(RulePackError, match="doppelt"):
        load_base_rates(path)
    path = write_table(tmp_path, 'valid_from = "2002-07-01"', 'valid_from = "2003-07-01"')
    with pytest.raises(RulePackError, match="fehlt 2002-07-01"):
        load_base_rates(path)


def test_load_packs_skips_the_table():
    assert TABLE in set(RULES_DIR.glob("*.toml"))
    # the base-rate table is no pack; the Kreis Mettmann allocation pack (2013/14) sorts first
    assert [pack.id for pack in load_packs()] == ["kreis-mettmann-inklusionshilfe", "inklfoeg-nrw-gesetz",
                                                  "inklfoeg-nrw-hinweise", "traegerbudget-bremerhaven"]


# --- the rule packs' [interest] ----------------------------------------------------------


@pytest.mark.parametrize("path", [HINWEISE, GESETZ])
def test_packs_carry_the_interest_rule(path):
    rule = load_pack(path).interest
    assert rule.surcharge_percentage_points == D("3")
    assert rule.base_rate_table == "basiszinssatz.toml"
    assert rule.base_rate_path == TABLE
    assert rule.day_count == "act/act"
    assert rule.rounding == "half_up"
    assert "§ 49a Abs. 3" in rule.source and "VwVfG NRW" in rule.source
    assert rule.load_rates() == RATES
    assert rule.applied_rate(D("-0.88")) == D("2.12")


def pack_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The Hinweise pack (with ``old`` replaced by ``new``) and the rate table in tmp_path."""
    text = HINWEISE.read_text(encoding="utf-8")
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / HINWEISE.name
    path.write_text(text, encoding="utf-8")
    shutil.copy(TABLE, tmp_path / TABLE.name)
    return path


# --- worked examples ---------------------------------------------------------------------


def test_spanning_a_base_rate_change():
    # 100.000,00 EUR due Tuesday 2 April 2024 (1 April was Easter Monday), paid 15 August 2024.
    # Interest days 3 April .. 15 August = 135 days (= 15.8. - 2.4.), 2024 is a leap year (366).
    #   3.4.-30.6.2024: 28 + 31 + 30 = 89 days, base 3.62 % + 3 = 6.62 %
    #       100000 × 6.62 / 100 × 89 / 366 = 6620 × 89 / 366 = 589180 / 366 = 1609.78142...
    #   1.7.-15.8.2024: 31 + 15 = 46 days, base 3.37 % + 3 = 6.37 %
    #       100000 × 6.37 / 100 × 46 / 366 = 6370 × 46 / 366 = 293020 / 366 = 800.60109...
    #   total 2410.38251... → 2410.38
    result = late_interest(D("100000.00"), date(2024, 4, 2), date(2024, 8, 15), RULE, RATES)
    assert result.days == 135
    assert [(p.start, p.end, p.days, p.base_rate, p.applied_rate, p.year_days) for p in result.periods] == [
        (date(2024, 4, 3), date(2024, 6, 30), 89, D("3.62"), D("6.62"), 366),
        (date(2024, 7, 1), date(2024, 8, 15), 46, D("3.37"), D("6.37"), 366),
    ]
    assert same(result.periods[0].interest, D(589180) / D(366))
    assert same(result.periods[1].interest, D(293020) / D(366))
    assert round(result.interest_unrounded, 5) == D("2410.38251")
    assert result.interest == D("2410.38")
    assert str(result.interest) == "2410.38"
    assert result.periods[0].start == date(2024, 4, 3)  # the first interest day
    assert result.days > 0


def test_demo_amount_musterhausen():
    # The demo's 112.206,21 EUR due 2.4.2024, paid 15.8.2024 (same periods as above):
    #   112206.21 × 6.62 = 742805.1102; × 89 = 66109654.8078; / 36600 = 1806.27472...
    #   112206.21 × 6.37 = 714753.5577; × 46 = 32878663.6542; / 36600 =  898.32414...
    #   total 2704.59886... → 2704.60
    result = late_interest(D("112206.21"), date(2024, 4, 2), date(2024, 8, 15), RULE, RATES)
    assert result.interest == D("2704.60")


def test_negative_base_rate_era_2019():
    # 50.000,00 EUR due Monday 1 April 2019, paid 31 May 2019.
    # Interest days 2.4.-31.5.2019: 29 + 31 = 60; base -0.88 % + 3 = 2.12 % (below 3 %: no floor);
    # 2019 has 365 days:  50000 × 2.12 / 100 × 60 / 365 = 1060 × 60 / 365 = 63600 / 365
    #   = 174.24657... → 174.25
    result = late_interest(D("50000.00"), date(2019, 4, 1), date(2019, 5, 31), RULE, RATES)
    assert [(p.days, p.base_rate, p.applied_rate, p.year_days) for p in result.periods] == [
        (60, D("-0.88"), D("2.12"), 365)
    ]
    assert result.interest == D("174.25")


@pytest.mark.parametrize("paid", [date(2024, 4, 2), date(2024, 3, 20)])
def test_paid_on_or_before_the_due_date_bears_no_interest(paid):
    result = late_interest(D("100000.00"), date(2024, 4, 2), paid, RULE, RATES)
    assert result.days == 0
    assert result.periods == ()
    assert result.interest == D("0.00") and str(result.interest) == "0.00"
    assert result.interest_unrounded == 0
    assert result.periods == ()
    assert result.days == 0


def test_paid_one_day_late():
    # Due 2.4.2024, paid 3.4.2024: one interest day (3 April) at 6.62 % over 366:
    #   100000 × 6.62 / 100 / 366 = 6620 / 366 = 18.08743... → 18.09
    result = late_interest(D("100000.00"), date(2024, 4, 2), date(2024, 4, 3), RULE, RATES)
    assert result.days == 1
    assert result.periods[0].start == result.periods[0].end == date(2024, 4, 3)
    assert result.interest == D("18.09")


def test_act_act_splits_at_the_new_year():
    # 10.000,00 EUR due 15.12.2023, paid 15.1.2024:
    #   16.12.-31.12.2023: 16 days, base 3.12 % + 3 = 6.12 %, 2023 has 365 days:
    #       10000 × 6.12 / 100 × 16 / 365 = 612 × 16 / 365 = 9792 / 365 = 26.82740...
    #   1.1.-15.1.2024: 15 days, base 3.62 % + 3 = 6.62 %, 2024 has 366 days:
    #       10000 × 6.62 / 100 × 15 / 366 = 662 × 15 / 366 = 9930 / 366 = 27.13115...
    #   total 53.95854... → 53.96
    result = late_interest(D("10000.00"), date(2023, 12, 15), date(2024, 1, 15), RULE, RATES)
    assert [(p.start, p.days, p.applied_rate, p.year_days) for p in result.periods] == [
        (date(2023, 12, 16), 16, D("6.12"), 365),
        (date(2024, 1, 1), 15, D("6.62"), 366),
    ]
    assert result.interest == D("53.96")


def test_act_act_splits_at_the_new_year_without_a_rate_change():
    # -0.88 % all through 2019/2020: 1000,00 EUR due 30.11.2019, paid 31.1.2020:
    #   1.12.-31.12.2019: 31 days: 1000 × 2.12 / 100 × 31 / 365 = 21.2 × 31 / 365 = 1.80054...
    #   1.1.-31.1.2020:   31 days: 21.2 × 31 / 366 = 1.79562...       total 3.59617... → 3.60
    result = late_interest(D("1000.00"), date(2019, 11, 30), date(2020, 1, 31), RULE, RATES)
    assert [(p.days, p.year_days) for p in result.periods] == [(31, 365), (31, 366)]
    assert result.interest == D("3.60")


def test_a_whole_year_bears_the_annual_rate():
    # 2020 (leap year) at 2.12 % all year: 1000 × 2.12 % = 21.20 exactly under act/act.
    result = late_interest(D("1000.00"), date(2019, 12, 31), date(2020, 12, 31), RULE, RATES)
    assert result.days == 366
    assert result.interest_unrounded == D("21.2")
    # act/365 gives 366/365 of it: 21.2 × 366 / 365 = 21.25808... → 21.26
    act365 = replace(RULE, day_count="act/365")
    assert late_interest(D("1000.00"), date(2019, 12, 31), date(2020, 12, 31), act365, RATES).interest == D("21.26")


def test_interest_on_an_unpaid_amount_until_today():
    # 10.000,00 EUR due Wednesday 1 April 2026, unpaid on 22 November 2026 (today):
    #   2.4.-30.6.2026: 29 + 31 + 30 = 90 days, base 1.27 % + 3 = 4.27 %, 2026 has 365 days:
    #       10000 × 4.27 / 100 × 90 / 365 = 427 × 90 / 365 = 38430 / 365 = 105.28767...
    #   1.7.-22.11.2026: 31 + 31 + 30 + 31 + 22 = 145 days, base 1.52 % + 3 = 4.52 %:
    #       452 × 145 / 365 = 65540 / 365 = 179.56164...
    #   total 284.84931... → 284.85 (235 days = 22.11. - 1.4.)
    result = late_interest(D("10000.00"), date(2026, 4, 1), date(2026, 11, 22), RULE, RATES)
    assert result.days == 235
    assert [p.applied_rate for p in result.periods] == [D("4.27"), D("4.52")]
    assert result.interest == D("284.85")
    assert result.end_date == date(2026, 11, 22)


def test_interest_is_additive_over_days():
    # Splitting the payment day does not change the sum of unrounded interest.
    whole = late_interest(D("5000.00"), date(2024, 4, 2), date(2024, 10, 1), RULE, RATES)
    first = late_interest(D("5000.00"), date(2024, 4, 2), date(2024, 6, 1), RULE, RATES)
    rest = late_interest(D("5000.00"), date(2024, 6, 1), date(2024, 10, 1), RULE, RATES)
    assert whole.days == first.days + rest.days
    assert same(whole.interest_unrounded, first.interest_unrounded + rest.interest_unrounded)


# --- the rule pack's parameters are used ---------------------------------------------------


def test_surcharge_from_the_pack_changes_the_result(tmp_path):
    # Same case as test_spanning_a_base_rate_change with 5 points (the federal VwVfG's rate):
    #   100000 × 8.62 / 100 × 89 / 366 = 767180 / 366 = 2096.12021...
    #   100000 × 8.37 / 100 × 46 / 366 = 385020 / 366 = 1051.96721...   total 3148.08743 → 3148.09
    path = pack_copy(tmp_path, 'surcharge_percentage_points = "3"', 'surcharge_percentage_points = "5"')
    rule = load_pack(path).interest
    assert rule.surcharge_percentage_points == D("5")
    assert rule.base_rate_path == tmp_path / "basiszinssatz.toml"
    result = late_interest(D("100000.00"), date(2024, 4, 2), date(2024, 8, 15), rule, rule.load_rates())
    assert [p.applied_rate for p in result.periods] == [D("8.62"), D("8.37")]
    assert result.interest == D("3148.09")
    assert result.surcharge_percentage_points == D("5")


def test_day_count_from_the_pack_changes_the_result(tmp_path):
    # act/365: 589180 / 365 + 293020 / 365 = 1614.19178... + 802.79452... = 2416.98630... → 2416.99
    path = pack_copy(tmp_path, 'day_count = "act/act"', 'day_count = "act/365"')
    rule = load_pack(path).interest
    result = late_interest(D("100000.00"), date(2024, 4, 2), date(2024, 8, 15), rule, rule.load_rates())
    assert [p.year_days for p in result.periods] == [365, 365]
    assert result.interest == D("2416.99")
    assert result.day_count == "act/365"


def test_base_rate_table_from_the_pack_is_used(tmp_path):
    # A table (in the pack's folder) ending on 1.1.2024 cannot give the rate from 1.7.2024.
    path = pack_copy(tmp_path)
    text = (tmp_path / "basiszinssatz.toml").read_text(encoding="utf-8")
    (tmp_path / "basiszinssatz.toml").write_text(text[: text.index('[[rates]]\nvalid_from = "2024-07-01"')],
                                                 encoding="utf-8")
    rule = load_pack(path).interest
    rates = rule.load_rates()
    assert rates[-1].valid_from == date(2024, 1, 1)
    assert late_interest(D("100.00"), date(2024, 4, 2), date(2024, 6, 30), rule, rates).days == 89
    with pytest.raises(InterestError, match="01.07.2024"):
        late_interest(D("100.00"), date(2024, 4, 2), date(2024, 7, 1), rule, rates)


def test_missing_table_file_is_a_rule_pack_error(tmp_path):
    path = tmp_path / HINWEISE.name
    shutil.copy(HINWEISE, path)
    rule = load_pack(path).interest  # the pack loads without its table
    with pytest.raises(RulePackError) as info:
        rule.load_rates()
    assert info.value.file == str(tmp_path / "basiszinssatz.toml")


# --- refusals ------------------------------------------------------------------------------


def test_days_after_the_newest_half_year_are_refused():
    # The newest entry (1.7.2026) covers 31.12.2026; 1.1.2027 is not known yet.
    assert late_interest(D("100.00"), date(2026, 12, 1), date(2026, 12, 31), RULE, RATES).days == 30
    with pytest.raises(InterestError, match=r"01\.01\.2027"):
        late_interest(D("100.00"), date(2026, 12, 1), date(2027, 1, 1), RULE, RATES)


def test_days_before_the_table_are_refused():
    with pytest.raises(InterestError, match="2001"):
        late_interest(D("100.00"), date(2001, 11, 30), date(2002, 2, 1), RULE, RATES)


def test_no_base_rate_needed_when_not_late():
    assert late_interest(D("100.00"), date(2030, 4, 1), date(2030, 3, 1), RULE, RATES).interest == D("0.00")


def test_bad_arguments():
    with pytest.raises(TypeError):
        late_interest(100.0, date(2024, 4, 2), date(2024, 4, 3), RULE, RATES)
    with pytest.raises(InterestError):
        late_interest(D("-1.00"), date(2024, 4, 2), date(2024, 4, 3), RULE, RATES)
    with pytest.raises(InterestError, match="keine"):
        late_interest(D("1.00"), date(2024, 4, 2), date(2024, 4, 3), RULE, ())
    with pytest.raises(InterestError, match="aufsteigend"):
        late_interest(D("1.00"), date(2024, 4, 2), date(2024, 4, 3), RULE, tuple(reversed(RATES)))
    with pytest.raises(InterestError, match="30/360"):
        late_interest(D("1.00"), date(2024, 4, 2), date(2024, 4, 3), replace(RULE, day_count="30/360"), RATES)
    with pytest.raises(InterestError, match="half_even"):
        late_interest(D("1.00"), date(2024, 4, 2), date(2024, 4, 3), replace(RULE, rounding="half_even"), RATES)


def test_rounding_is_half_up_on_the_total_only():
    # An exact half cent needs a synthetic table (one half-year from 1.1.2030 at 2 %):
    # base 2 % + 3 = 5 %, act/365, 73.00 EUR for 1 day: 73 × 5 / 36500 = 0.01 exactly;
    # 36.50 EUR: 36.5 × 5 / 36500 = 0.005 → 0.01 (half up; half even would give 0.00).
    rates = (BaseRate(date(2030, 1, 1), D("2")),)
    rule = replace(RULE, day_count="act/365")
    assert late_interest(D("73.00"), date(2030, 1, 1), date(2030, 1, 2), rule, rates).interest == D("0.01")
    half = late_interest(D("36.50"), date(2030, 1, 1), date(2030, 1, 2), rule, rates)
    assert half.interest_unrounded == D("0.005")
    assert half.interest == D("0.01")


# --- found by mutation testing (docs/mutation-testing.md) -------------------------------------------


def test_bad_arguments_are_named():
    """The errors name what was given (German, for the statement's author)."""
    with pytest.raises(TypeError, match="^Betrag muss ein Decimal sein, nicht float$"):
        late_interest(100.0, date(2024, 4, 2), date(2024, 4, 3), RULE, RATES)
    with pytest.raises(InterestError, match=r"^ungültiger Betrag -1\.00 \(nicht negativ erwartet\)$"):
        late_interest(D("-1.00"), date(2024, 4, 2), date(2024, 4, 3), RULE, RATES)


@pytest.mark.parametrize("principal, interest", [("0.00", "0.00"), ("0.50", "0.00"), ("100.00", "0.02")])
def test_small_and_zero_principals_bear_interest_without_error(principal, interest):
    # 1 day (3.4.2024) at 3.62 % + 3 = 6.62 % over 366: 100 × 6.62 / 36600 = 0.01808… → 0.02;
    # 0.50 EUR: 0.0000904… → 0.00; nothing on nothing. Only a negative amount is refused.
    result = late_interest(D(principal), date(2024, 4, 2), date(2024, 4, 3), RULE, RATES)
    assert (result.days, result.interest) == (1, D(interest))


def test_the_result_repeats_the_rule_and_stays_decimal_when_not_late():
    result = late_interest(D("100.00"), date(2024, 4, 2), date(2024, 4, 2), RULE, RATES)
    assert (result.days, result.periods, result.interest) == (0, (), D("0.00"))
    assert isinstance(result.interest_unrounded, Decimal) and result.interest_unrounded == 0
    assert (result.source, result.day_count, result.surcharge_percentage_points) == (
        RULE.source, RULE.day_count, RULE.surcharge_percentage_points)


def test_a_rate_change_on_the_first_or_the_last_interest_day():
    # Base rate 3.62 % until 30.6.2024, 3.37 % from 1.7.2024 (+ 3 points):
    #   due 30.6., paid 2.7.: interest days 1.7. and 2.7., both at 6.37 %: one period;
    #   due 28.6., paid 1.7.: 29.6. and 30.6. at 6.62 %, 1.7. at 6.37 %: two periods.
    first = late_interest(D("1000.00"), date(2024, 6, 30), date(2024, 7, 2), RULE, RATES)
    assert [(p.start, p.days, p.applied_rate) for p in first.periods] == [(date(2024, 7, 1), 2, D("6.37"))]
    last = late_interest(D("1000.00"), date(2024, 6, 28), date(2024, 7, 1), RULE, RATES)
    assert [(p.start, p.days, p.applied_rate) for p in last.periods] == [(date(2024, 6, 29), 2, D("6.62")),
                                                                         (date(2024, 7, 1), 1, D("6.37"))]


def test_act_act_splits_at_the_new_year_even_where_no_rate_begins():
    """The shipped table has a value on every 1 January, so the year split is also a rate split;
    a synthetic table (values from 1.12.2027 and 15.1.2028, both 2 %) shows the year split on its
    own: 1000,00 EUR due 20.12.2027, paid 20.1.2028 → 21.–31.12.2027 (11 days / 365),
    1.–14.1.2028 (14 days / 366), 15.–20.1.2028 (6 days / 366); each period says whether its
    value was checked against the Bundesbank (here only the first). act/365 splits only at the rate."""
    rates = (BaseRate(date(2027, 12, 1), D("2"), True), BaseRate(date(2028, 1, 15), D("2")))
    result = late_interest(D("1000.00"), date(2027, 12, 20), date(2028, 1, 20), RULE, rates)
    assert [(p.start, p.days, p.year_days, p.base_rate_checked) for p in result.periods] == [
        (date(2027, 12, 21), 11, 365, True), (date(2028, 1, 1), 14, 366, True), (date(2028, 1, 15), 6, 366, False)]
    act365 = late_interest(D("1000.00"), date(2027, 12, 20), date(2028, 1, 20), replace(RULE, day_count="act/365"),
                           rates)
    assert [(p.days, p.year_days) for p in act365.periods] == [(25, 365), (6, 365)]


def test_the_tables_ends_and_its_order_are_checked_exactly():
    """The first entry's own day is covered; the day before it and the day after the newest
    half-year are refused with the dates concerned; two entries out of order or on the same day
    are refused (the check compares neighbours)."""
    assert base_rate_on(RATES[0].valid_from, RATES) == RATES[0].rate
    before = r"^Basiszinssatz für den 31\.12\.2001 fehlt \(Tabelle beginnt am 01\.01\.2002\)$"
    with pytest.raises(InterestError, match=before):
        base_rate_on(date(2001, 12, 31), RATES)
    last = RATES[-1].valid_from
    with pytest.raises(InterestError, match=rf"\(letzter Eintrag ab {last:%d\.%m\.%Y}\); bitte rules/basiszinssatz"):
        base_rate_on(date(2099, 1, 1), RATES)
    with pytest.raises(InterestError, match="^keine Basiszinssätze angegeben$"):
        base_rate_on(date(2024, 1, 1), ())
    swapped = (BaseRate(date(2024, 7, 1), D("3.37")), BaseRate(date(2024, 1, 1), D("3.62")))
    with pytest.raises(InterestError, match="^Basiszinssätze nicht aufsteigend geordnet: 01.01.2024 nach 01.07.2024$"):
        base_rate_on(date(2024, 8, 1), swapped)
    twice = (BaseRate(date(2024, 1, 1), D("3.62")), BaseRate(date(2024, 1, 1), D("3.37")))
    with pytest.raises(InterestError, match="aufsteigend"):
        base_rate_on(date(2024, 2, 1), twice)
