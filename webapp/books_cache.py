"""Figures computed from the books, kept per server process until the books may have changed.

Every write of the ledger either appends to the audit log or books a journal entry, so the
audit log's head and the newest journal entry (``books_state``), with the day (interest and
due dates move with it) and the rule packs loaded, tell whether figures computed earlier
still hold: the Land's overview (``webapp.views.ministry``) and a school year's repayment on
the dashboard (``webapp.views.dashboard``). Each gunicorn process keeps its own
(``webapp.server``); a process that has not seen a page yet computes it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.chain import GENESIS
from ledger.core.models import AuditEvent, JournalEntry
from webapp.db import get_session, request_memo

T = TypeVar("T")
_creating = threading.Lock()  # two threads asking for a new cache get the same one
_STATE = "books_state"


def books_state(session: Session) -> tuple:
    """What changes with every write of the ledger: (audit log head's seq, its hash, the
    newest journal entry's id or None), read in one statement once per request
    (``webapp.db.request_memo``: a write of the request makes it read anew)."""
    memo = request_memo()
    if _STATE not in memo:
        newest_entry = select(func.max(JournalEntry.id)).scalar_subquery()
        row = session.execute(select(AuditEvent.seq, AuditEvent.entry_hash, newest_entry)
                              .order_by(AuditEvent.seq.desc()).limit(1)).first()
        memo[_STATE] = (0, GENESIS, session.scalar(select(newest_entry))) if row is None else tuple(row)
    return memo[_STATE]


class FiguresCache:
    """At most ``size`` computed values by key, the least recently used dropped first; safe
    for the threads of one process (two threads missing the same key both compute it)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept for ``key``, or ``compute()``'s, kept (an exception is not kept)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value


def figures_cache(name: str, size: int) -> FiguresCache:
    """The application's cache ``name`` (created with ``size`` on first use)."""
    caches = current_app.extensions.setdefault("inkl_figures", {})
    with _creating:
        return caches.setdefault(name, FiguresCache(size))


def kept(name: str, size: int, key: tuple, compute: Callable[[], T]) -> T:
    """``compute()``'s value kept in the cache ``name`` (at most ``size`` values) under the
    request's ``books_state`` and ``key``: computed anew once the books have changed."""
    return figures_cache(name, size).get((books_state(get_session()), *key), compute)
