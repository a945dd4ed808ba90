"""Hours as exact integers: hundredths of an hour (centihours), as money is integer cents.

Provider budgets (``ledger.workflows.budget``) agree and report client hours to two decimal
places; the database stores them as ``BigInteger`` hundredths (2.249,95 h = 224995), Python
works with Decimal hours. Never float.
"""
from __future__ import annotations

from decimal import Decimal

HUNDREDTH = Decimal("0.01")


def to_centihours(hours: Decimal) -> int:
    """Decimal hours with at most two decimal places → integer hundredths (``Decimal("2249.95")`` →
    ``224995``). Raises ValueError for more than two decimal places or a non-finite value."""
    if not hours.is_finite() or hours != hours.quantize(HUNDREDTH):
        raise ValueError(f"{hours} hat mehr als zwei Nachkommastellen")
    return int(hours * 100)


def from_centihours(centihours: int) -> Decimal:
    """Integer hundredths of an hour → Decimal hours with two places (``224995`` → ``Decimal("2249.95")``)."""
    return (Decimal(centihours) / 100).quantize(HUNDREDTH)
