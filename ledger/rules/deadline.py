"""The repayment due date of the Inklusionspauschale.

Rule (seed 002_17056edfca8550ce.txt, Vereinbarung § 4 Abs. 2 and Hinweise Teil II): a
recipient that cannot use the grant of a school year fully and purpose-conformly repays
the amount "spätestens bis zum 1. April des auf die Auszahlung folgenden Haushaltsjahres".
The date itself comes from the rule pack's ``[deadline]`` table (``ledger.rules.packs.DeadlineRule``).
A deadline on a Saturday, Sunday or public holiday moves to the next working day
(§ 193 BGB; DOMAIN.md "Repayment" — the seed itself does not mention the shift); whose
holidays count is the pack's ``[holidays]`` table (``ledger.rules.packs.HolidayCalendar``:
North Rhine-Westphalia's for the shipped packs).
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from ledger.rules.packs import DeadlineRule, HolidayCalendar


@lru_cache(maxsize=256)
def next_working_day(day: date, country: str, subdivision: str) -> date:
    """``day`` itself if it is a working day, otherwise the next one.

    A working day is Monday to Friday and not a public holiday of ``country``/``subdivision``
    in the ``holidays`` library (e.g. ``"DE"``/``"NW"``: Karfreitag, Ostermontag,
    Fronleichnam, Allerheiligen, …). Raises NotImplementedError for an unknown calendar.
    Cached: building the holiday calendar costs about 0.5 ms, and ``compute_all`` asks
    for the same few deadlines year after year.
    """
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=day.year)
    while day.weekday() >= 5 or day in calendar:  # the calendar adds later years as needed
        day += timedelta(days=1)
    return day


def repayment_due_date(payout_date: date, rule: DeadlineRule) -> tuple[date, date]:
    """The repayment deadline for a grant paid out on ``payout_date``.

    Returns ``(nominal, effective)``: ``nominal`` is ``rule.day``.``rule.month``. of the
    year ``payout_date.year + rule.years_after_payout`` (1 April of the following budget
    year for the shipped packs, e.g. payout 2021-10-15 → 2022-04-01); ``effective`` is
    ``nominal`` moved to the next working day of the rule's holiday calendar (§ 193 BGB),
    e.g. 2024-04-01 (Ostermontag) → 2024-04-02. Raises ValueError for an unknown ``shift``.
    """
    if rule.shift != "next_working_day":
        raise ValueError(f"unbekannte Fristverschiebung {rule.shift!r}")
    nominal = date(payout_date.year + rule.years_after_payout, rule.month, rule.day)
    return nominal, next_working_day(nominal, rule.calendar.country, rule.calendar.subdivision)


def shift_reason(nominal: date, calendar: HolidayCalendar) -> str | None:
    """Why a nominal due date is no working day under ``calendar`` (a pack's ``[holidays]``),
    in German, or None if it is one.

    ``"Ostermontag, gesetzlicher Feiertag"`` for a holiday of the calendar (names from the
    ``holidays`` library in German), ``"Samstag"`` or ``"Sonntag"`` for a weekend.
    """
    calendar = holidays.country_holidays(calendar.country, subdiv=calendar.subdivision,
                                         years=nominal.year, language="de")
    name = calendar.get(nominal)
    if name:
        return f"{name}, gesetzlicher Feiertag"
    return ("Samstag", "Sonntag")[nominal.weekday() - 5] if nominal.weekday() >= 5 else None
