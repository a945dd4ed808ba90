"""The Einstufung as a list: a school year's classified expense postings, filtered and paged,
with the sums of what the filters keep.

The classification is decided in Python per posting (``ledger.rules.evaluate``; a closed
year's from its recorded run, ``ledger.rules.evaluation_runs.classified``), so filtering
happens after evaluating: one pass over the year's items, keeping only the ones that match
and adding up their amounts; only one page of them is returned. No second evaluation, no
second query. Amounts are Decimal EUR.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from ledger.core.money import ZERO
from ledger.reports.journal import UNCLASSIFIED
from ledger.rules.evaluate import Evaluated
from ledger.rules.status import Status

#: The filters' value for postings without a category or without a cost centre (as the journal's).
WITHOUT = UNCLASSIFIED


@dataclass(frozen=True)
class ClassificationFilter:
    """What to keep: ``status`` (a ``Status`` value of the effective classification),
    ``category`` (id or ``WITHOUT``), ``cost_centre`` (code or ``WITHOUT``), ``amount_min`` /
    ``amount_max`` (EUR, inclusive, on the signed amount), ``search`` (text in voucher
    number or booking text, case-insensitive). None: no filter on that."""

    status: Status | None = None
    category: str | None = None
    cost_centre: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    search: str | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(value is not None for value in (self.status, self.category, self.cost_centre,
                                                    self.amount_min, self.amount_max, self.search))

    def keeps(self, item: Evaluated) -> bool:
        """Whether ``item`` passes every filter that is set."""
        if self.status is not None and item.classification.status != self.status:
            return False
        if self.category is not None and (item.category or WITHOUT) != self.category:
            return False
        if self.cost_centre is not None and (item.cost_centre or WITHOUT) != self.cost_centre:
            return False
        if self.amount_min is not None and item.amount < self.amount_min:
            return False
        if self.amount_max is not None and item.amount > self.amount_max:
            return False
        if self.search is not None:
            needle = self.search.casefold()
            return needle in item.voucher_number.casefold() or needle in item.text.casefold()
        return True


@dataclass(frozen=True)
class ClassificationPage:
    """One page of the kept items (in booking order), how many were kept in all (``total``),
    and the sums over all kept items (not only the page): ``amount`` booked, ``conform``
    (the zweckentsprechende part before the overhead cap), in EUR."""

    items: tuple[Evaluated, ...]
    total: int
    amount: Decimal
    conform: Decimal


def classification_page(items: Iterable[Evaluated], chosen: ClassificationFilter, *, limit: int,
                        offset: int = 0) -> ClassificationPage:
    """The items ``chosen`` keeps, ``limit`` of them from ``offset`` (0-based), with the count
    and the sums of all kept items. One pass; memory for one page only besides ``items``."""
    page: list[Evaluated] = []
    total, amount, conform = 0, ZERO, ZERO
    for item in items:
        if not chosen.keeps(item):
            continue
        if offset <= total < offset + limit:
            page.append(item)
        total += 1
        amount += item.amount
        conform += item.classification.conform
    return ClassificationPage(tuple(page), total, amount, conform)
