"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is used when ``INKL_TEST_POSTGRES_URL`` is set (``make test`` sets it to the
local server). In CI (``CI`` set) it must be set and reachable: an unreachable server
fails the run instead of skipping. The schema comes from the Alembic migrations, as
in production; each test starts from empty tables.
"""
from __future__ import annotations

import os
from datetime import datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ledger import db
from ledger.models import Base

POSTGRES_URL = os.environ.get("INKL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL or os.environ.get("CI") else [])
NOW = datetime(2026, 11, 22, 10, 0, 0)


def _fresh_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    if not POSTGRES_URL:
        pytest.fail("CI: INKL_TEST_POSTGRES_URL is not set, the PostgreSQL tests cannot run")
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    """The URL of a migrated database, one per backend and test session."""
    url = _fresh_url(request.param, tmp_path_factory)
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def _engines():
    engines: dict[str, sa.Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def engine(database_url, _engines) -> sa.Engine:
    """An engine on empty, migrated tables."""
    engine = _engines.get(database_url) or _engines.setdefault(database_url, db.make_engine(database_url))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))
    return engine


@pytest.fixture
def session(engine) -> Session:
    """A session on empty tables; the test commits what it wants to keep."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def cli(database_url, engine, monkeypatch):
    """Run ``inkl`` commands against the test database: ``cli("recipient", "list", "--json")``."""
    from inkl.cli import main

    monkeypatch.setenv("INKL_DATABASE_URL", database_url)
    monkeypatch.setenv("INKL_USER", "test-officer")
    runner = CliRunner()

    def run(*args: str, expect: int = 0):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}"
        return result

    return run


@pytest.fixture
def app(database_url, engine):
    """The Flask application on the test database."""
    from webapp import create_app

    return create_app({"TESTING": True, "DATABASE_URL": database_url})


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


@pytest.fixture
def kreis(session):
    """A committed recipient "Kreis Testland" (key ``testland``) with the default chart."""
    from ledger.recipients import add_recipient

    recipient = add_recipient(session, "testland", "Kreis Testland", "kreis", now=NOW)
    session.commit()
    return recipient
