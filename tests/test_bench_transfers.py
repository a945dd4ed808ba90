"""The transfer-model prototype of the benchmarks (``bench.transfers``, issue 18): the database
refuses every forbidden write, and a load books each CSV row once, balanced, chained."""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime

import pytest

from bench import data as bench_data
from bench.transfers import checks, loader, schema
from tests.conftest import POSTGRES_URL, is_test_database

NOW = datetime(2026, 1, 15, 8, 0, 0)


@pytest.mark.parametrize("chain", schema.CHAIN_VARIANTS)
def test_every_forbidden_write_is_refused_by_sqlite(tmp_path, chain):
    outcomes = checks.selftest("sqlite", chain, sqlite_path=tmp_path / "selftest.sqlite")
    assert len(outcomes) == 15
    assert [name for name, refused, _message in outcomes if not refused] == []
    messages = dict((name, message) for name, _refused, message in outcomes)
    assert "abgeschlossen" in messages["Datum im abgeschlossenen Schuljahr"]
    assert "nie geändert" in messages["DELETE einer Buchung"]


@pytest.mark.skipif(not POSTGRES_URL and not os.environ.get("CI"), reason="PostgreSQL test database not set")
@pytest.mark.parametrize("chain", schema.CHAIN_VARIANTS)
def test_every_forbidden_write_is_refused_by_postgresql(chain):
    if not POSTGRES_URL or not is_test_database(POSTGRES_URL):    # in CI a missing database fails, never skips
        pytest.fail("INKL_TEST_POSTGRES_URL must name a PostgreSQL test database")
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    outcomes = checks.selftest("postgresql", chain, pg=url, pg_schema="transfers_selftest_test")
    assert [name for name, refused, _message in outcomes if not refused] == []


def test_a_load_books_each_row_once_and_the_view_balances(tmp_path):
    data = bench_data.generate(1000, tmp_path)
    path = tmp_path / "transfers.sqlite"
    loader.create_sqlite(path, schema.statements("sqlite", "fk"))
    first = loader.load_sqlite(path, data.single, now=NOW)
    again = loader.load_sqlite(path, data.single, now=NOW)
    assert (first.rows, first.duplicates) == (500, 0)
    assert (again.rows, again.duplicates) == (0, 500)
    conn = sqlite3.connect(path)
    try:
        total, bank = conn.execute(
            "SELECT SUM(amount_cents), SUM(CASE WHEN account_id = 1 THEN amount_cents END) FROM transfer_postings"
        ).fetchone()
        expected = sum(int(line.split(";")[5].replace(".", "").replace(",", ""))
                       for line in data.single.read_text(encoding="utf-8").splitlines()[1:])
        assert total == 0
        assert bank == -expected
        links = conn.execute("SELECT seq, prev_hash, transfer_hash FROM transfers ORDER BY seq").fetchall()
        assert [seq for seq, _p, _h in links] == list(range(1, 501))
        assert all(links[i][1] == links[i - 1][2] for i in range(1, 500))
    finally:
        conn.close()
