"""Concurrency and crash safety with real processes, on SQLite (WAL) and PostgreSQL.

- Two imports of the same file at once apply it exactly once.
- Manual entries written while an import runs are neither lost nor duplicated.
- An import killed mid-way (SIGKILL) leaves the books as before; re-running it applies
  it exactly once.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from ledger.core.chain import verify_chain
from ledger.core.recipients import get_recipient

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"

# A stand-in for the web form: posts COUNT manual entries, one transaction each.
MANUAL_ENTRIES = """
import sys
from datetime import date, datetime
from decimal import Decimal
from ledger.core import db
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import find_account, get_recipient
from ledger.core.schoolyear import SchoolYear

engine = db.make_engine(sys.argv[1])
for i in range(int(sys.argv[2])):
    with db.session_scope(engine, write=True) as session:
        kreis = get_recipient(session, "testland")
        lines = [PostingLine(find_account(session, kreis, "5292"), Decimal("1.00"), SchoolYear(2023)),
                 PostingLine(find_account(session, kreis, "1810"), Decimal("-1.00"), SchoolYear(2023))]
        post_entry(session, kreis, day=date(2023, 11, 1), voucher_number=f"M-{i}", text="Fortbildung",
                   lines=lines, kind="manual", created_by="officer", now=datetime(2026, 11, 22, 10, 0))
print("done")
"""


def export(path: Path, rows: int) -> Path:
    """A monthly export with ``rows`` distinct pool invoices of 1,00 to 9,99 EUR."""
    lines = [f"31.10.2023;P-{i:06d};Pool Rechnung {i};5291;1810;{1 + i % 9},{i % 100:02d};;;\n" for i in range(rows)]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def expected_total_cents(rows: int) -> int:
    return sum((1 + i % 9) * 100 + i % 100 for i in range(rows))


def inkl(database_url: str, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "INKL_DATABASE_URL": database_url, "INKL_USER": "cron"}
    return subprocess.Popen([sys.executable, "-m", "inkl", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                     for t in ("journal_entries", "postings", "import_batches"))


def pool_cents(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT COALESCE(SUM(p.amount_cents), 0) FROM postings p JOIN accounts a ON a.id = p.account_id "
            "WHERE a.number = '5291'")).scalar_one()


def chain_ok(session) -> bool:
    session.rollback()
    report = verify_chain(session, get_recipient(session, "testland"))
    return report.ok


def test_two_imports_of_the_same_file_at_once_apply_it_once(database_url, engine, session, kreis, tmp_path):
    path = export(tmp_path / "2023-10.csv", 400)
    first, second = (inkl(database_url, "import", str(path), "--recipient", "testland", "--json") for _ in range(2))
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    summaries = sorted((json.loads(out) for out, _ in outputs), key=lambda s: s["imported"])
    assert [(s["imported"], s["duplicates"]) for s in summaries] == [(0, 400), (400, 0)]
    assert counts(engine) == (400, 800, 1)
    assert pool_cents(engine) == expected_total_cents(400)
    assert chain_ok(session)


def test_manual_entries_during_an_import_are_neither_lost_nor_duplicated(database_url, engine, session, kreis,
                                                                         tmp_path):
    path = export(tmp_path / "2023-10.csv", 600)
    importer = inkl(database_url, "import", str(path), "--recipient", "testland", "--json")
    env = {**os.environ, "INKL_DATABASE_URL": database_url}
    writers = [subprocess.Popen([sys.executable, "-c", MANUAL_ENTRIES, database_url, "25"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in [importer, *writers]]
    assert [p.returncode for p in [importer, *writers]] == [0, 0, 0], results
    assert json.loads(results[0][0])["imported"] == 600
    assert counts(engine) == (650, 1300, 1)
    with engine.connect() as conn:
        vouchers = conn.execute(sa.text("SELECT voucher_number FROM journal_entries WHERE kind = 'manual'")).scalars().all()
    assert sorted(vouchers) == sorted(f"M-{i}" for i in range(25) for _ in range(2))
    assert chain_ok(session)


def test_import_killed_midway_leaves_nothing_and_rerun_applies_once(database_url, engine, session, kreis, tmp_path):
    path = export(tmp_path / "2023-10.csv", 20_000)
    victim = inkl(database_url, "import", str(path), "--recipient", "testland")
    line = victim.stderr.readline()  # the first progress line: the import has written its first chunks
    assert "10000 von 20000 Zeilen verarbeitet" in line, line
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    time.sleep(0.5)  # PostgreSQL notices the dropped connection and rolls back
    assert counts(engine) == (0, 0, 0)

    rerun = inkl(database_url, "import", str(path), "--recipient", "testland", "--json")
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert json.loads(out)["imported"] == 20_000
    again = inkl(database_url, "import", str(path), "--recipient", "testland", "--json")
    assert json.loads(again.communicate(timeout=300)[0])["duplicates"] == 20_000
    assert counts(engine) == (20_000, 40_000, 1)
    assert pool_cents(engine) == expected_total_cents(20_000)
    assert chain_ok(session)


def test_sqlite_checkpoints_its_log_only_after_many_pages(tmp_path):
    """A commit of about 2 000 changed pages (8 MiB) stays in the write-ahead log: with
    SQLite's default of 1 000 pages it would have been copied into the database file at once
    (``ledger.core.db.SQLITE_WAL_AUTOCHECKPOINT_PAGES``: one checkpoint serves several imports)."""
    from ledger.core import db

    path = tmp_path / "books.sqlite"
    engine = db.make_engine(f"sqlite:///{path}")
    with db.session_scope(engine, write=True) as session:
        session.execute(sa.text("CREATE TABLE pages (content BLOB NOT NULL)"))
        session.execute(sa.text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
                                "INSERT INTO pages SELECT randomblob(4000) FROM n"))
    log = path.with_name(path.name + "-wal")
    assert log.stat().st_size > 2000 * 4096
    assert path.stat().st_size < 1 << 20
    engine.dispose()


def test_sqlite_maps_the_file_for_reads_only(tmp_path):
    """Read transactions read SQLite's file through mmap (shared pages, no per-connection
    copy); a write transaction on the same pooled connection unmaps it, so an import's
    resident memory does not grow with the pages it touches (``ledger.core.db._sqlite_begin``)."""
    from ledger.core import db

    engine = db.make_engine(f"sqlite:///{tmp_path / 'books.sqlite'}")
    mapped = sa.text("PRAGMA mmap_size")
    with db.session_scope(engine) as session:
        assert session.scalar(mapped) == db.SQLITE_MMAP_BYTES
    with db.session_scope(engine, write=True) as session:
        assert session.scalar(mapped) == 0
    with db.session_scope(engine) as session:
        assert session.scalar(mapped) == db.SQLITE_MMAP_BYTES
    engine.dispose()
