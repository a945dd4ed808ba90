"""School years (Schuljahr, 1 August – 31 July) and budget years (Haushaltsjahr, calendar year).

Source: DOMAIN.md "The grant"; seed 002_17056edfca8550ce.txt § 4 (use is judged per
school year, the repayment deadline follows the budget year of the payout).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ledger.core.errors import LedgerError

_PATTERN = re.compile(r"^(\d{4})/(\d{2}|\d{4})$")


class SchoolYearError(LedgerError, ValueError):
    """Raised for a text that is not a school year such as ``"2023/24"``."""


@dataclass(frozen=True, order=True)
class SchoolYear:
    """A school year, identified by the calendar year in which it starts.

    ``SchoolYear(2023)`` is "2023/24": 1 August 2023 to 31 July 2024.
    """

    start_year: int

    @classmethod
    def parse(cls, text: str) -> "SchoolYear":
        """Parse ``"2023/24"`` or ``"2023/2024"``. Raises SchoolYearError otherwise."""
        match = _PATTERN.match(text.strip())
        if not match:
            raise SchoolYearError(f"ungültiges Schuljahr {text!r} (erwartet z. B. 2023/24)")
        start = int(match.group(1))
        end = match.group(2)
        expected = f"{(start + 1) % 100:02d}" if len(end) == 2 else str(start + 1)
        if end != expected:
            raise SchoolYearError(f"ungültiges Schuljahr {text!r}: auf {start} folgt {expected}")
        return cls(start)

    @classmethod
    def of(cls, day: date) -> "SchoolYear":
        """The school year a date belongs to: August–December to the one starting that year."""
        return cls(day.year if day.month >= 8 else day.year - 1)

    @property
    def first_day(self) -> date:
        """1 August of the start year."""
        return date(self.start_year, 8, 1)

    @property
    def last_day(self) -> date:
        """31 July of the following year."""
        return date(self.start_year + 1, 7, 31)

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies within this school year."""
        return self.first_day <= day <= self.last_day

    def __str__(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"
