"""Fresh, migrated benchmark databases: a SQLite file under the work directory, or the
PostgreSQL database ``inkl_bench`` (dropped and created anew each time).

Only databases whose name starts with ``inkl_bench`` are ever dropped: the harness must
not touch the test suite's ``test`` or the developers' ``inkl_dev``.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ledger.core import db

SQLITE, POSTGRES = "sqlite", "postgresql"
BACKENDS = (SQLITE, POSTGRES)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/inkl_bench"
_OWN_PREFIX = "inkl_bench"


class BenchError(Exception):
    """A failure of the harness or its environment, reported on stderr with exit code 1."""


def _admin_url(pg_url: str) -> sa.URL:
    """The maintenance database ``postgres`` on the same server as ``pg_url``."""
    return make_url(pg_url).set(database="postgres")


def check_postgres(pg_url: str) -> dict[str, str]:
    """Facts of the PostgreSQL server at ``pg_url``: ``version`` (``SHOW server_version``)
    and ``autovacuum`` (``on``/``off``).

    Raises BenchError if the server is unreachable or the database name is not the harness's own.
    """
    name = make_url(pg_url).database or ""
    if not name.startswith(_OWN_PREFIX):
        raise BenchError(f"refusing to use PostgreSQL database {name!r}: its name must start with {_OWN_PREFIX!r}")
    engine = sa.create_engine(_admin_url(pg_url))
    try:
        with engine.connect() as conn:
            return {"version": conn.execute(sa.text("SHOW server_version")).scalar_one(),
                    "autovacuum": conn.execute(sa.text("SHOW autovacuum")).scalar_one()}
    except sa.exc.OperationalError as exc:
        raise BenchError(f"PostgreSQL at {_admin_url(pg_url).render_as_string(hide_password=True)} is unreachable "
                         f"({str(exc.orig).strip().splitlines()[0]}); use --db sqlite to skip it") from exc
    finally:
        engine.dispose()


def fresh_database(backend: str, size: int, *, single: bool = False, work: Path, pg_url: str) -> str:
    """Create an empty database migrated to the newest revision and return its URL.

    SQLite: ``work/db/sqlite-<size>.sqlite`` (``…-single.sqlite`` with ``single``); an old
    file and its WAL are removed first. PostgreSQL: the database of ``pg_url``
    (``inkl_bench``, or ``inkl_bench_single`` with ``single``), dropped if it exists (its
    connections closed by force) and created anew.
    """
    if backend == SQLITE:
        path = work / "db" / f"sqlite-{size}{'-single' if single else ''}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path.resolve()}"
    else:
        url = _recreate_postgres(pg_url, "single" if single else "")
    db.upgrade(url)
    return url


def _recreate_postgres(pg_url: str, suffix: str) -> str:
    """Drop and create the database of ``pg_url`` (with ``_<suffix>`` appended); its URL."""
    base = make_url(pg_url)
    name = f"{base.database}_{suffix}" if suffix else base.database
    if not name.startswith(_OWN_PREFIX) or not name.replace("_", "").isalnum():
        raise BenchError(f"refusing to drop PostgreSQL database {name!r}")
    engine = sa.create_engine(_admin_url(pg_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def analyze(url: str) -> bool:
    """Do after a bulk load what PostgreSQL's autovacuum would (``VACUUM (ANALYZE)``); True if done.

    Autovacuum does it in production (since PostgreSQL 13 also for tables that only grow by
    inserts, like the journal). On a server with autovacuum off (as on the development
    machines) the planner otherwise sees empty tables and picks nested-loop plans that are
    quadratic in the journal's size, and without the visibility map that VACUUM sets it
    cannot answer the year totals and the journal pages from the covering index alone (an
    index-only scan) and reads the whole postings table instead. SQLite: nothing (the
    application never runs ``ANALYZE`` there either).
    """
    if make_url(url).get_backend_name() != POSTGRES:
        return False
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()
    return True
