"""Exact money: ``decimal.Decimal`` euros in Python, integer cents in the database.

Amounts are never floats. German notation (``1.234,56``) is what users type and
what the finance system exports; ``Decimal`` with two places is what the core
computes with; integer cents is what the database stores, so sums are exact on
SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.core.errors import LedgerError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

_GERMAN_AMOUNT = re.compile(r"^-?(\d{1,3}(\.\d{3})*|\d+)(,\d{1,2})?$")


class AmountError(LedgerError, ValueError):
    """Raised when a text is not a valid amount; the message is German and names the text."""


def parse_german(text: str) -> Decimal:
    """Parse a German-format amount such as ``"1.234,56"`` or ``"750000,00"`` into EUR.

    Args:
        text: the amount as written, thousands separated by ``.`` (optional),
            decimals by ``,`` (at most two places). A leading ``-`` is allowed.
    Returns:
        ``Decimal`` EUR quantised to cents.
    Raises:
        AmountError: on anything else, e.g. ``"1,234.56"``, ``"12,345"`` or ``""``.
    """
    cleaned = text.strip()
    if not _GERMAN_AMOUNT.match(cleaned):
        raise AmountError(f"ungültiger Betrag {text!r} (erwartet z. B. 1.234,56)")
    return Decimal(cleaned.replace(".", "").replace(",", ".")).quantize(CENT)


def parse_german_cents(text: str) -> int:
    """Like ``parse_german`` but integer cents: ``"1.234,5"`` → ``123450``.

    For the import's hot path (no Decimal per row). Raises AmountError like ``parse_german``.
    """
    match = _GERMAN_AMOUNT.match(text.strip())
    if not match:
        raise AmountError(f"ungültiger Betrag {text!r} (erwartet z. B. 1.234,56)")
    whole, _thousands, fraction = match.groups()
    cents = int(whole.replace(".", "")) * 100 + int(((fraction or ",")[1:] + "00")[:2])
    return -cents if text.strip().startswith("-") else cents


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal amount (``"1234.56"``) into EUR quantised to cents.

    Used for machine-written values (JSON, rule packs). Raises AmountError on
    anything that is not a finite number with at most two decimal places.
    """
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise AmountError(f"ungültiger Betrag {text!r}") from exc
    if not value.is_finite() or value != value.quantize(CENT):
        raise AmountError(f"ungültiger Betrag {text!r} (höchstens zwei Nachkommastellen)")
    return value.quantize(CENT)


def parse_amount(text: str) -> Decimal:
    """Parse an amount typed on the command line: German (``1.234,56``) or plain (``1234.56``).

    A comma makes it German; otherwise it is read as a plain decimal.
    Raises AmountError on invalid input.
    """
    return parse_german(text) if "," in text else parse_decimal(text)


def to_cents(amount: Decimal) -> int:
    """Convert EUR to integer cents. Raises AmountError if ``amount`` has fractions of a cent."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise AmountError(f"Betrag {amount} hat Bruchteile eines Cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Convert integer cents to EUR as a ``Decimal`` with two places."""
    return (Decimal(int(cents)) / 100).quantize(CENT)


def round_half_up(amount: Decimal) -> Decimal:
    """Round EUR to cents, half up (kaufmännische Rundung).

    Only for rules that say so, e.g. the overhead cap of 15 % (rule pack
    ``overhead.rounding = "half_up"``).
    """
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_plain(amount: Decimal) -> str:
    """Format EUR for machines: ``"45154.33"`` (two decimals, no separators)."""
    return f"{amount.quantize(CENT):f}"


def format_german(amount: Decimal) -> str:
    """Format EUR the German way without currency sign: ``"1.234,56"``, ``"-0,50"``."""
    text = f"{abs(amount.quantize(CENT)):,.2f}"
    text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return f"-{text}" if amount < 0 else text
