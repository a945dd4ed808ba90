"""The fixtures drop the schema of the PostgreSQL database they are given (issue 18): only a
database named as a test database is ever used."""
import pytest

from tests.conftest import is_test_database


@pytest.mark.parametrize("url, ok", [
    ("postgresql+psycopg://postgres@127.0.0.1:5432/test", True),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/inkl_test_ci", True),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/inkl", False),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/kreis_produktion", False),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/", False),
])
def test_only_a_test_database_is_dropped(url, ok):
    assert is_test_database(url) is ok
