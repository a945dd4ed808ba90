"""Repayment due date: 1 April of the budget year after the payout (seed 002_17056edfca8550ce.txt,
Vereinbarung § 4 Abs. 2, Hinweise Teil II), moved to the next working day in NRW (§ 193 BGB)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.rules.deadline import next_working_day, repayment_due_date, shift_reason
from ledger.rules.packs import RULES_DIR, load_pack

RULE = load_pack(RULES_DIR / "inklfoeg-nrw-hinweise.toml").deadline
NRW = holidays.country_holidays("DE", subdiv="NW")


@pytest.mark.parametrize(
    ("payout", "nominal", "effective"),
    [
        (date(2021, 10, 15), date(2022, 4, 1), date(2022, 4, 1)),  # Friday
        (date(2022, 11, 30), date(2023, 4, 1), date(2023, 4, 3)),  # Saturday → Monday
        (date(2023, 12, 15), date(2024, 4, 1), date(2024, 4, 2)),  # Easter Monday → Tuesday
        (date(2017, 10, 1), date(2018, 4, 1), date(2018, 4, 3)),  # Easter Sunday, Easter Monday
        (date(2019, 11, 1), date(2020, 4, 1), date(2020, 4, 1)),  # Wednesday
        (date(2023, 1, 2), date(2024, 4, 1), date(2024, 4, 2)),  # payout early in the year
    ],
)
def test_repayment_due_date(payout, nominal, effective):
    assert repayment_due_date(payout, RULE) == (nominal, effective)


def test_calendar_facts_used_above():
    assert date(2022, 4, 1).weekday() == 4  # Friday
    assert date(2023, 4, 1).weekday() == 5  # Saturday
    assert date(2020, 4, 1).weekday() == 2  # Wednesday
    assert date(2024, 4, 1) in NRW and date(2018, 4, 2) in NRW  # Ostermontag
    assert date(2018, 4, 1).weekday() == 6  # Ostersonntag is a Sunday


def test_next_working_day():
    assert next_working_day(date(2024, 3, 29), "DE", "NW") == date(2024, 4, 2)  # Karfreitag
    assert next_working_day(date(2024, 5, 30), "DE", "NW") == date(2024, 5, 31)  # Fronleichnam
    assert next_working_day(date(2022, 12, 24), "DE", "NW") == date(2022, 12, 27)  # Sat, Sun, 2. Weihnachtstag
    assert next_working_day(date(2022, 4, 1), "DE", "NW") == date(2022, 4, 1)
    # Fronleichnam is not a holiday in Berlin
    assert next_working_day(date(2024, 5, 30), "DE", "BE") == date(2024, 5, 30)


def test_other_rule_values_are_respected():
    rule = replace(RULE, month=11, day=15, years_after_payout=0)
    assert repayment_due_date(date(2014, 8, 1), rule) == (date(2014, 11, 15), date(2014, 11, 17))


def test_unknown_shift_raises():
    with pytest.raises(ValueError):
        repayment_due_date(date(2021, 10, 15), replace(RULE, shift="previous_working_day"))


def check_effective(nominal: date, effective: date) -> None:
    assert effective >= nominal
    assert effective.weekday() < 5
    assert effective not in NRW
    assert effective - nominal <= timedelta(days=4)  # worst case: Karfreitag → Dienstag nach Ostern
    day = nominal
    while day < effective:  # every day skipped was a weekend day or a holiday
        assert day.weekday() >= 5 or day in NRW
        day += timedelta(days=1)


@given(st.dates(min_value=date(1995, 1, 1), max_value=date(2098, 12, 31)))
def test_effective_date_property(payout):
    nominal, effective = repayment_due_date(payout, RULE)
    assert nominal == date(payout.year + 1, 4, 1)
    check_effective(nominal, effective)


@given(st.dates(min_value=date(1995, 1, 1), max_value=date(2098, 12, 31)), st.dates(min_value=date(2001, 1, 1), max_value=date(2001, 12, 31)))
def test_effective_date_property_any_day_of_year(payout, deadline_day):
    rule = replace(RULE, month=deadline_day.month, day=deadline_day.day)
    nominal, effective = repayment_due_date(payout, rule)
    check_effective(nominal, effective)


def test_four_days_is_reached():
    # Karfreitag 1 April 1994 (Easter 3 April): Friday → Tuesday 5 April, the worst case.
    assert repayment_due_date(date(1993, 9, 1), RULE) == (date(1994, 4, 1), date(1994, 4, 5))


def test_shift_reason_names_the_holiday_or_weekend():
    calendar = load_pack(RULES_DIR / "inklfoeg-nrw-hinweise.toml").holidays
    assert shift_reason(date(2024, 4, 1), calendar) == "Ostermontag, gesetzlicher Feiertag"
    assert shift_reason(date(2023, 4, 1), calendar) == "Samstag"
    assert shift_reason(date(2022, 4, 1), calendar) is None


def test_shift_reason_uses_the_packs_state_and_names_sundays():
    """Fronleichnam (30.05.2024) is a public holiday in NRW but not in every Land: the reason
    comes from the pack's calendar (DE/NW), not the federal one; Sunday 01.04.2018 (Easter
    Sunday is no statutory holiday in NRW) is named as a Sunday."""
    calendar = load_pack(RULES_DIR / "inklfoeg-nrw-hinweise.toml").holidays
    assert shift_reason(date(2024, 5, 30), calendar) == "Fronleichnam, gesetzlicher Feiertag"
    assert shift_reason(date(2018, 4, 1), calendar) == "Sonntag"


def test_unknown_shift_is_named():
    with pytest.raises(ValueError, match="^unbekannte Fristverschiebung 'previous_working_day'$"):
        repayment_due_date(date(2023, 10, 1), replace(RULE, shift="previous_working_day"))
