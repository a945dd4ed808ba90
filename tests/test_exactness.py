"""A million postings of 0,01 EUR sum to exactly 10.000,00 EUR on every database.

The rows are generated inside the database (generate_series on PostgreSQL, a recursive
CTE on SQLite); the sum is the ledger's own SQL aggregate over integer cents.
"""
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ledger.core.chain import GENESIS
from ledger.core.posting import account_balance
from ledger.core.recipients import find_account
from ledger.core.running_totals import rebuild
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment
from tests.conftest import NOW, add_master_data

N = 1_000_000


def test_a_million_cent_postings_sum_exactly(session, kreis):
    add_master_data(session, kreis)
    pool, bank = find_account(session, kreis, "5291"), find_account(session, kreis, "1810")
    # postings first, then their entry: the database checks the balance when the entry arrives
    entry_id = 1
    series = ("SELECT generate_series(1, :n) AS i" if session.bind.dialect.name == "postgresql" else
              "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i FROM s")
    session.execute(sa.text(
        "INSERT INTO postings (entry_id, account_id, amount_cents, school_year, category, cost_centre, date) "
        f"SELECT :e, :a, 1, '2023/24', 'pool_personnel', 'POOL-A', :d FROM ({series}) AS gen"),
        {"e": entry_id, "a": pool.id, "n": N, "d": date(2023, 9, 1)})
    session.execute(sa.text(
        "INSERT INTO postings (entry_id, account_id, amount_cents, school_year, date) VALUES (:e, :a, :c, '2023/24', :d)"),
        {"e": entry_id, "a": bank.id, "c": -N, "d": date(2023, 9, 1)})
    session.execute(sa.text(
        "INSERT INTO journal_entries (id, recipient_id, date, voucher_number, text, kind, created_by, created_at, "
        "seq, prev_hash, entry_hash) VALUES (:e, :r, :d, 'CENT-1', 'eine Million Cent-Buchungen', 'manual', "
        "'test', :now, 1, :genesis, :hash)"),
        {"e": entry_id, "r": kreis.id, "d": date(2023, 9, 1), "now": NOW, "genesis": GENESIS, "hash": "f" * 64})
    rebuild(session)  # written around the journal writer: its running totals recomputed, as a restore does
    session.commit()

    assert session.scalar(sa.text("SELECT COUNT(*) FROM postings WHERE account_id = :a"), {"a": pool.id}) == N
    assert account_balance(session, pool) == Decimal("10000.00")
    assert account_balance(session, bank) == Decimal("-10000.00")
    result = compute_repayment(session, kreis, SchoolYear(2023))
    assert result.pool_personnel == result.permitted == Decimal("10000.00")
    # the same sum in binary floating point is not exact: this is what the ledger avoids
    assert sum([0.01] * N) != 10000.0
