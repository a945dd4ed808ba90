"""Interest on a repayment paid after its due date (§ 49a Abs. 3 VwVfG NRW).

Rule (statute, not the seed): § 49a Abs. 3 Satz 1 VwVfG NRW — the amount to be repaid is
"mit drei Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen". The surcharge, the
day-count convention, the rounding and the base-rate table come from the rule pack's
``[interest]`` table (``ledger.rules.packs.InterestRule``); the Basiszinssatz (§ 247 BGB) per
half-year from ``rules/basiszinssatz.toml`` (``ledger.rules.packs.BaseRate``). Nothing here is a
number of its own.

How a day counts (conventions of this module, see the project report for sources):

- **Interest days** are the days after the due date up to and including the payment day
  (``paid_date``): the due date itself does not count (§ 187 Abs. 1 BGB: the day of the
  event is not counted; the debtor is in delay from the start of the next day), the day
  the money reaches the Landeskasse does (EuGH C-306/06: a transfer counts when it is
  credited). So paid one day late = one interest day; paid on or before the due date =
  no interest. ``days == (paid_date - due_date).days``.
- **Each day bears the rate of that day**: Basiszinssatz in force that day (the newest
  table entry with ``valid_from`` ≤ day) plus the surcharge. The period is split at every
  base-rate change (1 January, 1 July).
- **Day count** (``InterestRule.day_count``): ``"act/act"`` divides the days of each
  calendar year by that year's length (365 or 366; periods are also split at 1 January),
  so that a whole calendar year bears exactly the annual rate ("jährlich", "für das
  Jahr"); ``"act/365"`` divides every day by 365, also in leap years.
- **No floor**: a negative Basiszinssatz lowers the rate below the surcharge (e.g.
  -0.88 + 3 = 2.12 % in 2016-2022); § 247 BGB and § 49a VwVfG NRW set no minimum.
- **Rounding**: the periods' interest stays unrounded (``Decimal``); only the total is
  rounded half up to cents (``ledger.core.money.round_half_up``), as the rule says.
- **Unknown rates are refused**: interest for a day before the first table entry or after
  the half-year of the newest entry raises :class:`InterestError` (add the new value to
  ``rules/basiszinssatz.toml``), never a guessed rate.

Units: amounts in EUR (``Decimal``), rates in percent per year (``Decimal("6.62")``),
durations in days. Floats are refused (TypeError).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from ledger.core.errors import LedgerError
from ledger.core.money import ZERO, round_half_up
from ledger.rules.packs import DAY_COUNTS, BaseRate, InterestRule

_HUNDRED = Decimal(100)
_ONE_DAY = timedelta(days=1)


class InterestError(LedgerError, ValueError):
    """Interest cannot be computed: a base rate is missing for an interest day, the rate
    table is empty or unordered, or the rule names an unknown day count or rounding.
    The message is German and names the dates concerned."""


@dataclass(frozen=True)
class InterestPeriod:
    """Interest days with one rate and one year length.

    ``start`` and ``end`` are the first and last interest day (both included); ``days`` =
    ``(end - start).days + 1``. ``base_rate`` is the Basiszinssatz and ``applied_rate`` the
    interest rate (base + surcharge), both in percent per year; ``base_rate_checked``
    whether that base rate was compared with the Bundesbank's publication. ``year_days`` is the
    divisor of the day count (365 or 366). ``interest`` is
    ``principal × applied_rate / 100 × days / year_days`` in EUR, unrounded.
    """

    start: date
    end: date
    days: int
    base_rate: Decimal
    applied_rate: Decimal
    year_days: int
    interest: Decimal
    base_rate_checked: bool = False


@dataclass(frozen=True)
class InterestResult:
    """Interest on ``principal`` EUR due on ``due_date`` for the days after it up to and
    including ``end_date`` (the payment day, or the reference day of an unpaid amount).

    ``days`` is the number of interest days (0 when ``end_date`` ≤ ``due_date``);
    ``periods`` splits them at every base-rate change (and at 1 January for act/act),
    oldest first. ``interest_unrounded`` is the exact sum of the periods in EUR,
    ``interest`` that sum rounded half up to cents (``Decimal("0.00")`` when not late).
    ``surcharge_percentage_points``, ``day_count`` and ``source`` repeat the rule used,
    for the statement.
    """

    principal: Decimal
    due_date: date
    end_date: date
    days: int
    periods: tuple[InterestPeriod, ...]
    interest_unrounded: Decimal
    interest: Decimal
    surcharge_percentage_points: Decimal
    day_count: str
    source: str


def late_interest(
    principal: Decimal,
    due_date: date,
    paid_date: date,
    rule: InterestRule,
    rates: tuple[BaseRate, ...],
) -> InterestResult:
    """Interest on a repayment of ``principal`` EUR due on ``due_date`` and paid (credited
    to the Landeskasse) on ``paid_date``.

    ``rule`` is the pack's ``InterestRule``; ``rates`` the Basiszinssatz table, oldest
    first (``rule.load_rates()``). Zero interest when ``paid_date`` ≤ ``due_date``.
    Example (rule of the shipped packs: 3 points, act/act): 100000.00 EUR due 2024-04-02,
    paid 2024-08-15 → 89 days at 6.62 % and 46 days at 6.37 % over 366 → 2410.38 EUR.

    Raises TypeError if ``principal`` is not a Decimal, InterestError (a ValueError) if it
    is negative or not finite, if a base rate is missing for an interest day, or if the
    rule's day count or rounding is unknown.
    """
    return _interest(principal, due_date, paid_date, rule, rates)


def base_rate_on(day: date, rates: tuple[BaseRate, ...]) -> Decimal:
    """The Basiszinssatz in percent per year in force on ``day``.

    Raises InterestError if ``day`` lies before the first entry or after the half-year
    of the newest entry (its value is not in the table yet).
    """
    _check_rates(rates)
    if day < rates[0].valid_from:
        raise InterestError(f"Basiszinssatz für den {day:%d.%m.%Y} fehlt (Tabelle beginnt am {rates[0].valid_from:%d.%m.%Y})")
    covered_until = _half_year_end(rates[-1].valid_from)
    if day > covered_until:
        raise InterestError(
            f"Basiszinssatz ab dem {covered_until + _ONE_DAY:%d.%m.%Y} fehlt in der Tabelle "
            f"(letzter Eintrag ab {rates[-1].valid_from:%d.%m.%Y}); bitte rules/basiszinssatz.toml ergänzen"
        )
    return _entry_on(day, rates).rate


def _entry_on(day: date, rates: tuple[BaseRate, ...]) -> BaseRate:
    """The table entry in force on ``day`` (``base_rate_on`` has checked the table covers it)."""
    current = rates[0]
    for entry in rates:
        if entry.valid_from > day:
            break
        current = entry
    return current


def _interest(principal, due_date, end_date, rule, rates) -> InterestResult:
    if not isinstance(principal, Decimal):
        raise TypeError(f"Betrag muss ein Decimal sein, nicht {type(principal).__name__}")
    if not principal.is_finite() or principal < 0:
        raise InterestError(f"ungültiger Betrag {principal} (nicht negativ erwartet)")
    if rule.day_count not in DAY_COUNTS:
        raise InterestError(f"unbekannte Zinstage-Methode {rule.day_count!r}")
    if rule.rounding != "half_up":
        raise InterestError(f"unbekannte Rundung {rule.rounding!r}")
    periods: list[InterestPeriod] = []
    if end_date > due_date:
        first = due_date + _ONE_DAY
        base_rate_on(first, rates)
        base_rate_on(end_date, rates)  # both ends covered → every day between is
        periods = [_period(principal, start, end, rule, rates) for start, end in _segments(first, end_date, rule, rates)]
    with localcontext() as context:
        context.prec = 50
        total = sum((p.interest for p in periods), Decimal(0))
    return InterestResult(
        principal=principal,
        due_date=due_date,
        end_date=end_date,
        days=sum(p.days for p in periods),
        periods=tuple(periods),
        interest_unrounded=total,
        interest=round_half_up(total) if periods else ZERO,
        surcharge_percentage_points=rule.surcharge_percentage_points,
        day_count=rule.day_count,
        source=rule.source,
    )


def _segments(first: date, last: date, rule: InterestRule, rates: tuple[BaseRate, ...]):
    """(start, end) pairs covering first..last, split where a new base rate begins and,
    for act/act, where a new calendar year begins."""
    cuts = {entry.valid_from for entry in rates if first < entry.valid_from <= last}
    if rule.day_count == "act/act":
        cuts |= {date(year, 1, 1) for year in range(first.year + 1, last.year + 1)}
    start = first
    for cut in sorted(cuts):
        yield start, cut - _ONE_DAY
        start = cut
    yield start, last


def _period(principal: Decimal, start: date, end: date, rule: InterestRule, rates) -> InterestPeriod:
    entry = _entry_on(start, rates)
    base = entry.rate
    applied = rule.applied_rate(base)
    days = (end - start).days + 1
    year_days = _year_length(start.year) if rule.day_count == "act/act" else 365
    with localcontext() as context:
        context.prec = 50
        interest = principal * applied * days / (_HUNDRED * year_days)
    return InterestPeriod(start=start, end=end, days=days, base_rate=base, applied_rate=applied,
                          year_days=year_days, interest=interest, base_rate_checked=entry.bundesbank_checked)


def _year_length(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def rates_cover_until(rates: tuple[BaseRate, ...]) -> date:
    """The last day the base-rate table covers: the end of its newest half-year."""
    return _half_year_end(max(rate.valid_from for rate in rates))


def _half_year_end(valid_from: date) -> date:
    """The last day of the half-year that starts at (or contains) ``valid_from``."""
    return date(valid_from.year, 6, 30) if valid_from.month < 7 else date(valid_from.year, 12, 31)


def _check_rates(rates: tuple[BaseRate, ...]) -> None:
    if not rates:
        raise InterestError("keine Basiszinssätze angegeben")
    for earlier, later in zip(rates, rates[1:]):
        if later.valid_from <= earlier.valid_from:
            raise InterestError(
                f"Basiszinssätze nicht aufsteigend geordnet: {later.valid_from:%d.%m.%Y} nach {earlier.valid_from:%d.%m.%Y}"
            )
