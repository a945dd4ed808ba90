"""The fixtures drop the schema of the PostgreSQL database they are given (issue 18): only a
database named as a test database is ever used, and only by one test run at a time."""
import os

import pytest
import sqlalchemy as sa

from tests import conftest
from tests.conftest import POSTGRES_URL, is_test_database


@pytest.mark.parametrize("url, ok", [
    ("postgresql+psycopg://postgres@127.0.0.1:5432/test", True),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/inkl_test_ci", True),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/inkl", False),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/kreis_produktion", False),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/", False),
])
def test_only_a_test_database_is_dropped(url, ok):
    assert is_test_database(url) is ok


def test_a_second_test_run_on_the_same_postgresql_database_is_refused():
    """This run holds its database's run lock for as long as it lasts; another run (here
    another connection) cannot take it, so its fixtures fail before they drop anything."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI: INKL_TEST_POSTGRES_URL is not set, the PostgreSQL tests cannot run")
        pytest.skip("no PostgreSQL test database configured")
    conftest._take_database(POSTGRES_URL)
    engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as other:
            taken = other.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"),
                                  {"a": conftest._RUN_LOCK[0], "b": conftest._RUN_LOCK[1]}).scalar()
    finally:
        engine.dispose()
    assert taken is False
