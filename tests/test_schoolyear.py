"""School years run 1 August to 31 July (DOMAIN.md, "The grant")."""
from datetime import date

import pytest

from ledger.core.schoolyear import SchoolYear, SchoolYearError


@pytest.mark.parametrize("day, expected", [
    (date(2023, 8, 1), "2023/24"), (date(2024, 7, 31), "2023/24"), (date(2023, 7, 31), "2022/23"),
    (date(2023, 12, 31), "2023/24"), (date(2024, 1, 1), "2023/24"), (date(1999, 9, 1), "1999/00"),
])
def test_school_year_of_date(day, expected):
    assert str(SchoolYear.of(day)) == expected


def test_parse_short_and_long_form():
    assert SchoolYear.parse("2020/21") == SchoolYear.parse("2020/2021") == SchoolYear(2020)
    year = SchoolYear.parse("2023/24")
    assert (year.first_day, year.last_day) == (date(2023, 8, 1), date(2024, 7, 31))
    assert year.contains(date(2024, 7, 31)) and not year.contains(date(2024, 8, 1))


@pytest.mark.parametrize("text", ["2023/25", "2023-24", "23/24", "2023/2025", "", "2023/"])
def test_parse_rejects(text):
    with pytest.raises(SchoolYearError):
        SchoolYear.parse(text)
