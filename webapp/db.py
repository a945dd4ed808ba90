"""One database session per request, kept in ``flask.g`` and closed when the request ends.

Reading pages use ``get_session``, on the read engine (``ledger.core.db.read_engine``:
on PostgreSQL the server refuses writes on it). Writing pages open ``write_session`` (the
core's ``session_scope(write=True)``: one transaction, committed when the block ends,
rolled back on an error). The rule packs are loaded once per application.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.core.db import session_scope
from ledger.rules.packs import RulePack, load_packs

_MEMO = "inkl_memo"


def get_engine() -> Engine:
    """The application's engine (``create_app``); background jobs open their own sessions on it."""
    return current_app.extensions["inkl_engine"]


def get_read_engine() -> Engine:
    """The application's engine for sessions that only read (``ledger.core.db.read_engine``)."""
    return current_app.extensions["inkl_read_engine"]


def dispose_engines(app: Flask, *, close: bool = True) -> None:
    """Dispose of the application's engines (``close=False`` in a forked process: the
    parent's connections are left to the parent)."""
    for name in ("inkl_engine", "inkl_read_engine"):
        app.extensions[name].dispose(close=close)


def get_session() -> Session:
    """The current request's reading session on the read engine (created on first use);
    what it reads is never committed."""
    if "db_session" not in g:
        g.db_session = Session(get_read_engine(), expire_on_commit=False)
    return g.db_session


@contextmanager
def write_session() -> Iterator[Session]:
    """A separate write transaction on the application's engine, committed at the end of the block
    (what the request read into ``request_memo`` is then read anew)."""
    try:
        with session_scope(get_engine(), write=True) as session:
            yield session
    finally:
        g.pop(_MEMO, None)


def request_memo() -> dict:
    """A dict for what a request reads once and uses in several places (the state of the books,
    the navigation's facts), emptied when a ``write_session`` of the request ends."""
    return g.setdefault(_MEMO, {})


def get_packs() -> tuple[RulePack, ...]:
    """The rule packs (``rules/*.toml``), loaded and validated once per application."""
    packs = current_app.extensions.get("inkl_packs")
    if packs is None:
        packs = current_app.extensions["inkl_packs"] = load_packs()
    return packs


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session, if one was opened (uncommitted work is rolled back)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Register the teardown that closes the request's session."""
    app.teardown_appcontext(close_session)
