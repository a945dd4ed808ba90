"""German amounts and dates for the web UI (Flask-Babel over Babel; locale de_DE).

``init_app`` sets up Flask-Babel with the locale ``LOCALE`` and the time zone
``TIMEZONE`` for every request (the UI is German only, so nothing is negotiated) and
registers the filters below with Jinja. Dates and percentages format with Flask-Babel's
functions, so they need an application context. Amounts format with
``ledger.core.money.format_german``, the statement PDF's own formatting: for EUR in de_DE it
is exactly Babel's (``tests/test_web.py`` checks that on random amounts) at a fiftieth of
the cost, which counted on the dashboard and the journal (about sixty amounts a page, 70 µs
each through Babel; see docs/benchmarks.md). Amounts are ``Decimal`` EUR (never float);
``None`` renders as an en dash. Times in the books are local wall-clock times (naive
``datetime``), shown as they are, without a time-zone shift.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask
from flask_babel import Babel, format_date, format_datetime, format_percent

from ledger.core.bank import format_iban
from ledger.core.money import format_german, from_cents
from ledger.core.users import ROLE_LABELS
from ledger.core.wording import counted
from ledger.rules.classify import rule_label
from ledger.rules.packs import category_label, pack_name
from ledger.rules.status import Status
from webapp.db import get_packs

LOCALE = "de_DE"
#: The time zone of the users (Flask-Babel's default time zone).
TIMEZONE = "Europe/Berlin"
DASH = "–"
#: German labels of the journal entry kinds (``JournalEntry.kind``, check constraint ``ck_entry_kind``).
KIND_LABELS = {
    "import": "Import (Finanzsoftware)",
    "manual": "manuelle Buchung",
    "payout": "Auszahlung der Pauschale",
    "repayment_obligation": "Rückzahlungsverpflichtung",
    "repayment_payment": "Rückzahlung an die Landeskasse",
    "reversal": "Storno",
}


def eur(amount: Decimal | None) -> str:
    """``Decimal("1234.56")`` → ``"1.234,56 €"`` (non-breaking space before the sign)."""
    if amount is None:
        return DASH
    if not isinstance(amount, Decimal):
        raise TypeError(f"Betrag muss Decimal sein, nicht {type(amount).__name__}")
    return f"{format_german(amount)}\u00a0€"


def hours(value: Decimal | None) -> str:
    """``Decimal("2300.5")`` → ``"2.300,50"`` (hours to two places, German separators)."""
    if value is None:
        return DASH
    return format_german(value)


def percent(rate: Decimal | None) -> str:
    """``Decimal("0.15")`` → ``"15 %"``, ``Decimal("0.125")`` → ``"12,5 %"``."""
    if rate is None:
        return DASH
    return format_percent(rate, format="#,##0.##\u00a0%")


def date_de(day: date | None) -> str:
    """``date(2024, 4, 1)`` → ``"01.04.2024"``; a recorded time (``datetime``, local wall time
    as written) gives its own day, not shifted to another time zone (as ``datetime_de``).
    Numbers only, the same in every locale: written directly, not through Babel (a journal
    page writes 50 of them)."""
    if day is None:
        return DASH
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def date_long(day: date | None) -> str:
    """``date(2024, 4, 1)`` → ``"1. April 2024"``."""
    if day is None:
        return DASH
    return format_date(day, format="long", rebase=False)


def weekday(day: date | None) -> str:
    """``date(2024, 4, 1)`` → ``"Montag"``."""
    if day is None:
        return DASH
    return format_date(day, "EEEE", rebase=False)


def datetime_de(moment: datetime | None) -> str:
    """``datetime(2026, 1, 2, 10, 5)`` → ``"02.01.2026, 10:05 Uhr"``."""
    if moment is None:
        return DASH
    return format_datetime(moment, "dd.MM.yyyy, HH:mm", rebase=False) + " Uhr"


def cents(value: int) -> Decimal:
    """Integer cents from the database → ``Decimal`` EUR (``123456`` → ``Decimal("1234.56")``)."""
    return from_cents(value)


def status_de(status: str) -> str:
    """Status → its German label (``ledger.rules.status``): ``"capped"`` → ``"zulässig bis zur Obergrenze"``."""
    return Status(status).label


def kind_de(kind: str) -> str:
    """Journal entry kind → German: ``"payout"`` → ``"Auszahlung der Pauschale"``."""
    return KIND_LABELS.get(kind, kind)


def rule_de(rule: str) -> str:
    """Rule id → its German label (``ledger.rules.classify.rule_label``): ``"pool.mixed"`` →
    ``"Gemischt finanzierter Pool: Anteil der Individualansprüche"``."""
    return rule_label(rule)


def pack_de(pack_id: str, version: str) -> str:
    """A rule pack by title and version (``ledger.rules.packs.pack_name``): ``("inklfoeg-nrw-hinweise",
    "2021.1")`` → ``"„Hinweise zur zweckentsprechenden Verwendung …“, Version 2021.1"``."""
    return pack_name(pack_id, version, get_packs())


def category_de(category_id: str | None) -> str:
    """Category id → its German label in the rule packs (``ledger.rules.packs.category_label``);
    ``None`` → ``"keine Kategorie"``, an id no pack knows (as entered) stays as it is."""
    return category_label(category_id, get_packs())


def days_word(days: int) -> str:
    """``1`` → ``"1 Tag"``, ``3`` → ``"3 Tage"``."""
    return counted(days, "Tag", "Tage")


def countdown(due: date | None, today: date) -> str:
    """Days from ``today`` to the deadline ``due`` in German.

    ``"noch 42 Tage"``, ``"noch 1 Tag"``, ``"Frist endet heute"``,
    ``"Frist abgelaufen seit 1 Tag"``, ``"Frist abgelaufen seit 3 Tagen"``;
    ``"keine Frist (keine Auszahlung gebucht)"`` without a deadline.
    """
    if due is None:
        return "keine Frist (keine Auszahlung gebucht)"
    days = (due - today).days
    if days > 0:
        return f"noch {days_word(days)}"
    if days == 0:
        return "Frist endet heute"
    return f"Frist abgelaufen seit {-days} Tag" + ("" if days == -1 else "en")


def init_app(app: Flask) -> None:
    """Set up Flask-Babel (German, ``Europe/Berlin``) and register the filters with Jinja."""
    Babel(app, default_locale=LOCALE, default_timezone=TIMEZONE)
    for name, function in {
        "eur": eur, "hours": hours, "percent": percent, "date_de": date_de, "date_long": date_long,
        "weekday": weekday, "datetime_de": datetime_de, "status_de": status_de, "kind_de": kind_de,
        "cents": cents, "rule_de": rule_de, "pack_de": pack_de, "category_de": category_de, "iban": format_iban,
    }.items():
        app.add_template_filter(function, name)

    @app.context_processor
    def _now():
        return {"now_de": datetime_de(datetime.now().replace(microsecond=0)), "role_labels": ROLE_LABELS}
