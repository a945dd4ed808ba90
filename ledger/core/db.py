"""Database access: engines, sessions and schema upgrades through Alembic.

The database is chosen by an SQLAlchemy URL (``INKL_DATABASE_URL``); SQLite is the
embedded default, PostgreSQL (``postgresql+psycopg://…``) the production database.
The schema only ever comes from the migrations in ``migrations/``.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


#: How long a SQLite writer waits for another one to finish, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 60_000
#: SQLite page cache per connection in KiB (the default 2 MiB makes every index insert of a
#: large journal go to the operating system).
SQLITE_CACHE_KIB = 32 * 1024
#: Pages of SQLite's write-ahead log after which a commit copies them into the database file
#: (the automatic checkpoint; SQLite's default is 1 000, 4 MiB). A monthly import of about
#: 1 000 rows changes more pages than that (its import keys land all over their index), so
#: with the default every import's commit also checkpointed; at 10 000 pages (40 MiB) one
#: checkpoint serves several imports and writes a page changed by each of them once: the
#: harness's 480 monthly files at 1 000 000 postings spent 7,5–7,6 s committing instead of
#: 11,3–12,1 s. Each commit still syncs the log (``synchronous=FULL``): nothing committed is lost.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000
#: Bytes of the database file SQLite reads through memory mapping in read transactions:
#: pages come straight from the operating system's cache, shared by every connection and
#: process, instead of being copied into each connection's page cache on first use (a
#: journal page on a fresh pooled connection: 21 ms → about 8 at 1 000 000 postings).
#: Write transactions do not map (``_sqlite_begin``).
SQLITE_MMAP_BYTES = 1 << 30


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``.

    On SQLite every connection gets foreign keys, WAL journal mode (readers never block
    the writer) and a busy timeout. Write transactions (``session_scope(write=True)``)
    start with ``BEGIN IMMEDIATE``, so writers queue up instead of failing on a stale
    snapshot; reads start a plain ``BEGIN``. On PostgreSQL writers are serialised per
    recipient by ``ledger.core.posting.lock_recipient``.
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def read_engine(engine: Engine) -> Engine:
    """The engine for sessions that only read (the web pages' request sessions), made from
    ``engine`` (``make_engine``).

    On PostgreSQL a second engine with its own connections: each statement runs in a
    transaction of its own (autocommit), which spares a page the ``BEGIN`` and
    ``ROLLBACK`` round trips (two of its three to seven; under read committed every
    statement sees a snapshot of its own either way), and the server refuses every write
    on them (``default_transaction_read_only``, set on each new connection, whatever
    connection options the URL carries: "cannot execute … in a read-only transaction").
    On SQLite ``engine`` itself: a page's statements share one snapshot in a ``BEGIN``
    that costs no round trip. Dispose of both engines when done.
    """
    if engine.dialect.name != "postgresql":
        return engine
    reading = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    event.listen(reading, "connect", _refuse_writes)
    return reading


def _refuse_writes(dbapi_connection, _record) -> None:
    """Make every transaction of a new PostgreSQL connection read-only (committed, since
    ``SET`` is undone with the transaction it ran in)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    dbapi_connection.commit()


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions take SQLite's write lock at once."""
    return engine.execution_options(inkl_write=True)


def _sqlite_begin(conn) -> None:
    """Reads map the database file (``SQLITE_MMAP_BYTES``); a write transaction unmaps it on
    its connection first, so that an import's resident memory stays its own working set and
    does not grow with the index pages it touches (mapped pages count as resident)."""
    write = conn.get_execution_options().get("inkl_write")
    conn.exec_driver_sql(f"PRAGMA mmap_size={0 if write else SQLITE_MMAP_BYTES}")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` using the repository's ``migrations/`` folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest migration)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``"base"`` removes every table)."""
    command.downgrade(alembic_config(url), revision)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception.

    ``write=True`` for sessions that write: on SQLite they wait for the write lock when
    they begin (see ``make_engine``).
    """
    session = sessionmaker(writer(engine) if write else engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def custom_plans(session: Session) -> Iterator[None]:
    """Plan the statements of the block for their actual values and table sizes (PostgreSQL).

    psycopg prepares a statement on the server after a few executions, and PostgreSQL
    then may reuse one generic plan for the connection's life. A generic plan made while a
    table had no statistics (a new installation, or autovacuum off) can scan the whole
    table where an index look-up was meant, and stays so while the table grows: the
    import's duplicate look-up (``row_key IN (…)``) read every imported row of the
    recipient per chunk. Inside this block ``plan_cache_mode`` is ``force_custom_plan``
    (the transaction's setting is restored after it). No effect on SQLite.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    previous = session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
    session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('plan_cache_mode', :mode, true)"), {"mode": previous})
