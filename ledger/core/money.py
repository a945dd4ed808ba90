"""Exact money: ``decimal.Decimal`` euros in Python, integer cents in the database.

Amounts are never floats. German notation (``1.234,56``) is what users type and
what the finance system exports; ``Decimal`` with two places is what the core
computes with; integer cents is what the database stores, so sums are exact on
SQLite and PostgreSQL alike.

No single amount may exceed ``MAX_AMOUNT`` (either sign): every parser here refuses a
larger one, and the core checks each amount it writes (``checked_cents``), so that no
sum the ledger computes over integer cents can overflow (see ``MAX_AMOUNT``).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.core.errors import LedgerError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

MAX_AMOUNT = Decimal("999999999.99")
"""The largest single amount in EUR (one billion EUR minus a cent), either sign.

Sums run over integer cents in 64-bit integers (SQLite's INTEGER, PostgreSQL's BIGINT
columns, ``SUM`` of them): 2^63 − 1 cents = 92.233.720.368.547.758,07 EUR ≈ 9,2e16 EUR.
At most 99.999.999.999 cents per amount, a sum overflows only after
(2^63 − 1) / (10^11 − 1) ≈ 92 million amounts of the maximum size, all of one sign: ten
times more postings than any recipient's books could plausibly hold (10 million: 30
school years of over 300.000 postings each; a Kreis books a few thousand a year). The
limit itself lies far above any Inklusionspauschale (the largest recipient receives a
few million EUR a year) and any single invoice or payment of a recipient.
"""
MAX_CENTS = int(MAX_AMOUNT * 100)
"""``MAX_AMOUNT`` in cents (99.999.999.999)."""
_MAX_WHOLE_DIGITS = len(str(MAX_CENTS // 100))

#: ASCII digits only: ``\d`` would also take Arabic-Indic or full-width digits (``١٢٣``, ``１２３``).
_GERMAN_AMOUNT = re.compile(r"^-?([0-9]{1,3}(\.[0-9]{3})*|[0-9]+)(,[0-9]{1,2})?$")


class AmountError(LedgerError, ValueError):
    """Raised when a text is not a valid amount; the message is German and names the text."""


class AmountTooLarge(AmountError):
    """Raised when an amount is readable but exceeds ``MAX_AMOUNT`` (either sign); the
    German message names the amount as given and the limit."""


def _too_large(text: str) -> AmountTooLarge:
    """The error for an amount above ``MAX_AMOUNT``, ``text`` the amount as given (a long
    one shortened)."""
    shown = text if len(text) <= 40 else f"{text[:37]}…"
    return AmountTooLarge(f"Betrag {shown!r} übersteigt den Höchstbetrag von {format_german(MAX_AMOUNT)} EUR "
                          f"je Betrag")


def parse_german(text: str) -> Decimal:
    """Parse a German-format amount such as ``"1.234,56"`` or ``"750000,00"`` into EUR.

    Args:
        text: the amount as written, thousands separated by ``.`` (optional),
            decimals by ``,`` (at most two places). A leading ``-`` is allowed.
    Returns:
        ``Decimal`` EUR quantised to cents.
    Raises:
        AmountTooLarge: above ``MAX_AMOUNT`` (either sign).
        AmountError: on anything else, e.g. ``"1,234.56"``, ``"12,345"`` or ``""``.
    """
    cleaned = text.strip()
    if not _GERMAN_AMOUNT.match(cleaned):
        raise AmountError(f"ungültiger Betrag {text!r} (erwartet z. B. 1.234,56)")
    value = Decimal(cleaned.replace(".", "").replace(",", "."))
    if value.copy_abs() > MAX_AMOUNT:
        raise _too_large(cleaned)
    return value.quantize(CENT)


def parse_german_cents(text: str) -> int:
    """Like ``parse_german`` but integer cents: ``"1.234,5"`` → ``123450``.

    For the import's hot path (no Decimal per row). Raises AmountError (AmountTooLarge
    above ``MAX_AMOUNT``) like ``parse_german``.
    """
    cleaned = text.strip()
    match = _GERMAN_AMOUNT.match(cleaned)
    if not match:
        raise AmountError(f"ungültiger Betrag {text!r} (erwartet z. B. 1.234,56)")
    whole, _thousands, fraction = match.groups()
    digits = whole.replace(".", "").lstrip("0")
    if len(digits) > _MAX_WHOLE_DIGITS:  # before int(), which refuses very long numbers
        raise _too_large(cleaned)
    cents = int(digits or "0") * 100 + int(((fraction or ",")[1:] + "00")[:2])
    if cents > MAX_CENTS:
        raise _too_large(cleaned)
    return -cents if cleaned.startswith("-") else cents


def parse_decimal(text: str) -> Decimal:
    """Parse a plain decimal amount (``"1234.56"``) into EUR quantised to cents.

    Used for machine-written values (JSON, rule packs). Raises AmountTooLarge above
    ``MAX_AMOUNT`` (either sign), AmountError on anything that is not a finite number
    with at most two decimal places.
    """
    if not str(text).isascii():   # Decimal() would read Arabic-Indic or full-width digits
        raise AmountError(f"ungültiger Betrag {text!r} (nur die Ziffern 0–9)")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise AmountError(f"ungültiger Betrag {text!r}") from exc
    if not value.is_finite():
        raise AmountError(f"ungültiger Betrag {text!r}")
    if value.copy_abs() > MAX_AMOUNT:  # copy_abs: exact, no context (1E1000000)
        raise _too_large(str(text).strip())
    if value != value.quantize(CENT):
        raise AmountError(f"ungültiger Betrag {text!r} (höchstens zwei Nachkommastellen)")
    return value.quantize(CENT)


def parse_amount(text: str) -> Decimal:
    """Parse an amount typed on the command line: German (``1.234,56``) or plain (``1234.56``).

    A comma makes it German; otherwise it is read as a plain decimal.
    Raises AmountTooLarge above ``MAX_AMOUNT``, AmountError on invalid input.
    """
    return parse_german(text) if "," in text else parse_decimal(text)


def to_cents(amount: Decimal) -> int:
    """Convert EUR to integer cents. Raises AmountError if ``amount`` has fractions of a cent."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise AmountError(f"Betrag {amount} hat Bruchteile eines Cents")
    return int(cents)


def checked_cents(amount: Decimal) -> int:
    """One amount the core writes to the books or master data (a posting line, a grant, a
    payout, an agreed or overridden amount), EUR → integer cents.

    The core's check behind the parsers: a caller passing ``Decimal`` directly gets the
    same limit. Raises AmountTooLarge above ``MAX_AMOUNT`` (either sign), AmountError if
    ``amount`` is not finite or has fractions of a cent.
    """
    if not amount.is_finite():
        raise AmountError(f"ungültiger Betrag {amount}")
    if amount.copy_abs() > MAX_AMOUNT:
        raise _too_large(format_german(amount) if amount.adjusted() < 20 else str(amount))
    return to_cents(amount)


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
