"""The prototype's invariants tried, and the year totals read on both models.

``selftest`` writes a small valid chain of transfers into a fresh prototype database and then
tries each forbidden write; every one must be refused by the database itself (a raised
integrity error), none by Python. ``year_totals`` runs the reports' main read, a school
year's sums per account, category and cost centre over the recipient's expense accounts
(the query of ``ledger.reports.year_totals._groups``), on the prototype's view
``transfer_postings`` and, for comparison, on today's ``postings``.
"""
from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from bench.transfers import loader, schema

NOW = "2026-01-15 08:00:00"


def _row(seq: int, prev: str, *, debit: int = 5, credit: int = 1, cents: int = 100, day: str = "2023-09-01",
         year: str = "2023/24", recipient: int = 1, key: str | None = None, prev_seq: int | None = None,
         reverses: int | None = None, group: int | None = None, tid: int | None = None) -> dict:
    transfer_hash = f"{seq:064x}"[-64:].replace("0", "a", 1)
    return dict(id=tid if tid is not None else seq, recipient_id=recipient, seq=seq, date=day, voucher_number=f"V{seq}",
                text="t", kind="manual", debit_account_id=debit, credit_account_id=credit, amount_cents=cents,
                school_year=year, category=None, cost_centre=None, import_key=key, content_hash=key,
                group_id=group, reverses_id=reverses, created_by="x", created_at=NOW,
                prev_seq=prev_seq if prev_seq is not None else (None if seq == 1 else seq - 1), prev_hash=prev,
                transfer_hash=transfer_hash)


#: (name, what the database must refuse) — each a function of (execute, the valid chain's rows).
def _attempts(chain: list[dict], second_recipient_account: int):
    last = chain[-1]
    nxt = len(chain) + 1
    return [
        ("Betrag 0 (unausgeglichen nicht darstellbar)", ("insert", _row(nxt, last["transfer_hash"], cents=0))),
        ("negativer Betrag", ("insert", _row(nxt, last["transfer_hash"], cents=-5))),
        ("Soll = Haben", ("insert", _row(nxt, last["transfer_hash"], debit=1, credit=1))),
        ("Konto eines anderen Empfängers", ("insert", _row(nxt, last["transfer_hash"],
                                                            debit=second_recipient_account))),
        ("falscher Vorgänger-Hash", ("insert", _row(nxt, "f" * 64))),
        ("Lücke in der Folge (seq übersprungen)", ("insert", _row(nxt + 1, last["transfer_hash"], prev_seq=nxt))),
        ("Gabelung (seq doppelt)", ("insert", _row(len(chain), chain[-2]["transfer_hash"], tid=99))),
        ("zweites Genesis-Glied", ("insert", _row(1, schema.GENESIS, tid=98))),
        ("Import-Schlüssel doppelt", ("insert", _row(nxt, last["transfer_hash"], key=chain[0]["import_key"]))),
        ("Storno derselben Buchung zweimal", ("insert", _row(nxt, last["transfer_hash"], reverses=chain[1]["reverses_id"]))),
        ("Gruppe verweist auf spätere Buchung", ("insert", _row(nxt, last["transfer_hash"], group=nxt + 5))),
        ("Datum im abgeschlossenen Schuljahr", ("insert", _row(nxt, last["transfer_hash"], day="2022-10-01",
                                                                year="2023/24"))),
        ("Schuljahr abgeschlossen (Datum offen)", ("insert", _row(nxt, last["transfer_hash"], day="2023-09-02",
                                                                   year="2022/23"))),
        ("UPDATE einer Buchung", ("sql", "UPDATE transfers SET amount_cents = 1 WHERE id = 1")),
        ("DELETE einer Buchung", ("sql", "DELETE FROM transfers WHERE id = 2")),
    ]


def selftest(db: str, chain_variant: str, *, sqlite_path: Path | None = None, pg: str | None = None,
             pg_schema: str = "transfers_selftest") -> list[tuple[str, bool, str]]:
    """(attempt, refused, the database's message) for every forbidden write; each in its own
    transaction, rolled back. The valid chain (three transfers, the third a reversal of the
    first) is written first and must be accepted."""
    statements = schema.statements(db, chain_variant)
    marker = "?" if db == "sqlite" else "%s"
    if db == "sqlite":
        loader.create_sqlite(sqlite_path, statements)
        conn = loader.sqlite_connect(sqlite_path)
        errors: tuple = (sqlite3.IntegrityError,)
    else:
        import psycopg

        loader.create_postgres(pg, pg_schema, statements)
        conn = psycopg.connect(pg, autocommit=True)
        conn.execute(f"SET search_path = {pg_schema}")
        errors = (psycopg.errors.IntegrityError, psycopg.errors.RaiseException)
    columns = schema.COLUMNS

    def insert(row: dict) -> None:
        conn.execute(f"INSERT INTO transfers ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})",
                     tuple(row[c] for c in columns))

    try:
        conn.execute(f"INSERT INTO recipients VALUES (2, 'other', 'Anderer') ")
        conn.execute(f"INSERT INTO accounts VALUES (100, 2, '1810', 'Bank', 'asset', NULL, 'bank')")
        conn.execute("INSERT INTO period_events (recipient_id, school_year, action, first_day, last_day) "
                     "VALUES (1, '2022/23', 'close', '2022-08-01', '2023-07-31')")
        first = _row(1, schema.GENESIS, key="k1")
        second = _row(2, first["transfer_hash"], debit=1, credit=5, reverses=1)
        third = _row(3, second["transfer_hash"], group=3)
        for row in (first, second, third):
            insert(row)
        outcomes = []
        for name, (kind, what) in _attempts([first, second, third], 100):
            try:
                if db == "sqlite":
                    conn.execute("SAVEPOINT attempt")
                insert(what) if kind == "insert" else conn.execute(what)
                outcomes.append((name, False, "angenommen"))
            except errors as exc:
                outcomes.append((name, True, str(exc).splitlines()[0][:90]))
            finally:
                if db == "sqlite":
                    conn.execute("ROLLBACK TO attempt")
                    conn.execute("RELEASE attempt")
        return outcomes
    finally:
        conn.close()


TOTALS_TODAY = """SELECT p.category, p.cost_centre, SUM(p.amount_cents), COUNT(*), MIN(p.date), MAX(p.date)
FROM postings p WHERE p.account_id IN (SELECT a.id FROM accounts a JOIN recipients r ON r.id = a.recipient_id
  WHERE r.key = {m} AND a.type = 'expense') AND p.school_year = {m}
GROUP BY p.account_id, p.category, p.cost_centre"""
TOTALS_VIEW = TOTALS_TODAY.replace("FROM postings p", "FROM transfer_postings p")
#: The same sums from the two side indexes directly, without the view.
TOTALS_SIDES = """SELECT category, cost_centre, SUM(cents), SUM(n), MIN(first_day), MAX(last_day) FROM (
  SELECT debit_account_id AS account_id, category, cost_centre, SUM(amount_cents) AS cents, COUNT(*) AS n,
         MIN(date) AS first_day, MAX(date) AS last_day
  FROM transfers WHERE debit_account_id IN (SELECT a.id FROM accounts a JOIN recipients r ON r.id = a.recipient_id
    WHERE r.key = {m} AND a.type = 'expense') AND school_year = {m} GROUP BY debit_account_id, category, cost_centre
  UNION ALL
  SELECT credit_account_id, category, cost_centre, -SUM(amount_cents), COUNT(*), MIN(date), MAX(date)
  FROM transfers WHERE credit_account_id IN (SELECT a.id FROM accounts a JOIN recipients r ON r.id = a.recipient_id
    WHERE r.key = {m} AND a.type = 'expense') AND school_year = {m} GROUP BY credit_account_id, category, cost_centre
) sides GROUP BY account_id, category, cost_centre"""

YEARS = tuple(f"{y}/{(y + 1) % 100:02d}" for y in range(2014, 2024))


def year_totals(execute, query: str, key: str, *, repeat: int) -> tuple[float, float, list]:
    """(best, median) milliseconds of the ten school years' totals read one after another, and
    the rows of the last year (to compare the two models' sums). ``execute(sql, params)``
    returns the rows."""
    runs = []
    rows: list = []
    pairs = max(query.count("?"), query.count("%s")) // 2  # (key, school year) per branch
    for _ in range(repeat):
        started = time.perf_counter()
        for year in YEARS:
            rows = execute(query, (key, year) * pairs)
        runs.append((time.perf_counter() - started) * 1000 / len(YEARS))
    return min(runs), statistics.median(runs), sorted(tuple(str(v) for v in r) for r in rows)
