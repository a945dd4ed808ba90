"""A school year's spending summed by category and status, in cents: what the
repayment kernel (``ledger.reports.settlement``) judges.

``Totals`` come from the database (``ledger.reports.year_totals``, the fast path), from
classified postings (``Totals.of_items``: a statement's, a stored run's), or from both
added up with the classified open commitments (``ledger.reports.forecast``).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from ledger.core.money import from_cents, to_cents
from ledger.rules.classify import Classification
from ledger.rules.evaluate import Evaluated

_FIELDS = ("amount", "conform", "excluded", "unclassified")


@dataclass(frozen=True)
class Totals:
    """Sums of a school year's expense postings in cents, by (category, status).

    ``cells[(category, status)]`` is (amount, conform, excluded, unclassified) in cents;
    ``category`` None for postings without one; ``status`` as in ``ledger.rules.classify``.
    ``postings`` counts the postings summed.
    """

    cells: dict[tuple[str | None, str], tuple[int, int, int, int]]
    postings: int

    @classmethod
    def of_items(cls, items: Iterable[Evaluated]) -> "Totals":
        """The totals of classified postings (``ledger.rules.evaluate`` or a stored run)."""
        builder = TotalsBuilder()
        for item in items:
            builder.add_item(item)
        return builder.totals()

    def __add__(self, other: "Totals") -> "Totals":
        """Both totals' cells added up (e.g. the actuals and the open commitments of a forecast)."""
        cells = dict(self.cells)
        for key, values in other.cells.items():
            known = cells.get(key, (0, 0, 0, 0))
            cells[key] = tuple(a + b for a, b in zip(known, values))
        return Totals(cells, self.postings + other.postings)

    def sum(self, field: str, *, statuses: Iterable[str] | None = None, categories: Iterable[str] | None = None,
            skip_statuses: Iterable[str] = ()) -> Decimal:
        """EUR sum of ``field`` (amount, conform, excluded or unclassified) over the cells of
        ``statuses`` (all if None) and ``categories`` (all if None), minus ``skip_statuses``."""
        index = _FIELDS.index(field)
        statuses = None if statuses is None else set(statuses)
        categories = None if categories is None else set(categories)
        skip = set(skip_statuses)
        return from_cents(sum(values[index] for (category, status), values in self.cells.items()
                              if (statuses is None or status in statuses) and status not in skip
                              and (categories is None or category in categories)))

    def by_category(self) -> dict[str, Decimal]:
        """Net expense (EUR) per category, all statuses; postings without category left out."""
        amounts: dict[str, int] = {}
        for (category, _status), values in self.cells.items():
            if category is not None:
                amounts[category] = amounts.get(category, 0) + values[0]
        return {category: from_cents(cents) for category, cents in amounts.items()}

    def without_categories(self, known: Iterable[str]) -> "Totals":
        """The cells of postings whose category is not one of ``known`` (ids), or None: the
        spending no category row of a pack shows (``postings`` counts all, unchanged)."""
        known = set(known)
        return Totals({key: values for key, values in self.cells.items() if key[0] not in known}, self.postings)


class TotalsBuilder:
    """Adds postings (or groups of postings) up into a ``Totals``, in cents."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str | None, str], list[int]] = {}
        self.postings = 0

    def add(self, category: str | None, status: str, amount: int, conform: int, excluded: int, unclassified: int,
            count: int = 1) -> None:
        cell = self.cells.setdefault((category, status), [0, 0, 0, 0])
        for index, value in enumerate((amount, conform, excluded, unclassified)):
            cell[index] += value
        self.postings += count

    def add_item(self, item: Evaluated) -> None:
        """Add one classified posting."""
        self.add_classification(item.category, to_cents(item.amount), item.classification)

    def add_classification(self, category: str | None, amount_cents: int, c: Classification, count: int = 1) -> None:
        """Add ``amount_cents`` of ``category`` decided as ``c`` (``count`` postings)."""
        self.add(category, c.status, amount_cents, to_cents(c.conform), to_cents(c.excluded),
                 to_cents(c.unclassified), count)

    def totals(self) -> Totals:
        return Totals({key: tuple(values) for key, values in self.cells.items()}, self.postings)
