"""The status of spending under a rule pack, and its one German label.

A pack gives each category a status (``CATEGORY_STATUSES``); the rules engine decides each
posting's status (``ledger.rules.classify``; every member); an officer's override sets one
of ``OVERRIDE_STATUSES``. The values are the texts stored in the database, written in rule
packs and exported in JSON; the labels are what pages and statements show.
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A status of spending; ``str(status)`` is its stored value (``"capped"``)."""

    PERMITTED = "permitted"
    CAPPED = "capped"
    EXCLUDED = "excluded"
    UNCLASSIFIED = "unclassified"
    SPLIT = "split"

    @property
    def label(self) -> str:
        """The German label, e.g. ``Status.CAPPED.label == "zulässig bis zur Obergrenze"``."""
        return STATUS_LABELS[self]


#: German labels of every status: the one table pages, statements and forms use.
STATUS_LABELS: dict[Status, str] = {
    Status.PERMITTED: "zulässig",
    Status.CAPPED: "zulässig bis zur Obergrenze",
    Status.EXCLUDED: "ausgeschlossen",
    Status.UNCLASSIFIED: "nicht eingestuft",
    Status.SPLIT: "teilweise zulässig",
}
#: The statuses a rule pack may give a category (Hinweise Teil IV: permitted uses, the capped
#: overhead; Teil I: excluded uses).
CATEGORY_STATUSES: tuple[Status, ...] = (Status.PERMITTED, Status.CAPPED, Status.EXCLUDED)
#: The statuses an officer's override may set (a split states the conform amount).
OVERRIDE_STATUSES: tuple[Status, ...] = (Status.PERMITTED, Status.EXCLUDED, Status.SPLIT)


def labels(statuses: tuple[Status, ...]) -> dict[str, str]:
    """``{value: label}`` of ``statuses`` in their order, for choices in forms."""
    return {str(status): status.label for status in statuses}
