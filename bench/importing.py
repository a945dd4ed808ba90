"""Import measurements: throughput of the monthly files, peak memory of one big import.

Throughput: every monthly file through ``ledger.read.importer.import_file``, one transaction
per file as ``inkl import`` does; the rule packs are loaded once for the whole run (as the
web application does), so the figure is the importer's, not the TOML parser's.
Peak memory: ``inkl import single.csv`` (the command line, a child process) into a fresh
database; its own peak RSS.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from sqlalchemy import func, select

from bench import data as bench_data
from bench.data import DataSet, MonthFile
from bench.dbs import BenchError
from bench.proc import child_env, inkl, run_measured
from ledger.core import db
from ledger.core.models import Account, Posting
from ledger.core.recipients import get_recipient
from ledger.read.importer import import_file
from ledger.rules.packs import RulePack

#: Seconds between two progress lines on stderr.
PROGRESS_SECONDS = 5.0


def setup_recipients(url: str, recipients, data: DataSet, *, now: datetime) -> None:
    """Create each of ``recipients`` (key, name, prefix) with master data and its grants in ``data``."""
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine, write=True) as session:
            for recipient in recipients:
                bench_data.setup_recipient(session, recipient, bench_data.grants_of(data, recipient[0]),
                                           actor="bench", now=now)
    finally:
        engine.dispose()


def import_monthly(url: str, files: list[MonthFile], *, packs: tuple[RulePack, ...], now: datetime,
                   label: str) -> dict:
    """Import ``files`` in order, one transaction each. Returns rows (read), imported (new
    entries), payouts (receipts recognised), files and seconds (wall time, float).

    Raises BenchError naming the file if an import reports errors or books other counts
    than the file holds.
    """
    engine = db.make_engine(url)
    totals = {"files": 0, "rows": 0, "imported": 0, "payouts": 0}
    started = last = time.perf_counter()
    try:
        for month in files:
            with db.session_scope(engine, write=True) as session:
                summary = import_file(session, get_recipient(session, month.recipient), month.path,
                                      created_by="bench", now=now, packs=packs)
            _check(month, summary)
            for name, value in (("files", 1), ("rows", summary.rows), ("imported", summary.imported),
                                ("payouts", summary.payouts_recognised)):
                totals[name] += value
            if time.perf_counter() - last >= PROGRESS_SECONDS:
                last = time.perf_counter()
                _progress(label, totals, len(files), last - started)
    finally:
        engine.dispose()
    totals["seconds"] = time.perf_counter() - started
    _progress(label, totals, len(files), totals["seconds"])
    return totals


def _check(month: MonthFile, summary) -> None:
    if not summary.ok:
        errors = "; ".join(issue.render(month.path.name) for issue in summary.errors[:5])
        raise BenchError(f"import of {month.path} failed: {errors}")
    if (summary.imported, summary.payouts_recognised) != (month.rows, month.receipts):
        raise BenchError(f"import of {month.path}: {summary.imported} new entries and {summary.payouts_recognised} "
                         f"payouts recognised, expected {month.rows} and {month.receipts}")


def _progress(label: str, totals: dict, files: int, seconds: float) -> None:
    rate = totals["rows"] / seconds if seconds else 0.0
    print(f"  {label}: {totals['files']}/{files} files, {totals['rows']} rows, {seconds:.0f} s, {rate:,.0f} rows/s",
          file=sys.stderr, flush=True)


def peak_import(url: str, data: DataSet, *, now: datetime, label: str) -> dict:
    """``inkl import`` of ``data.single`` into the fresh database at ``url`` (the single
    recipient is set up first). Returns peak_rss_mb (MiB), seconds, rows and the account totals.

    Raises BenchError if the command fails or books another number of rows.
    """
    key = bench_data.SINGLE_RECIPIENT[0]
    setup_recipients(url, [bench_data.SINGLE_RECIPIENT], data, now=now)
    done = run_measured(inkl("import", str(data.single), "--recipient", key, "--json"), env=child_env(url),
                        label=f"{label}: ")
    if done.returncode != 0:
        raise BenchError(f"inkl import {data.single.name} exited with {done.returncode}: {done.stderr_tail}")
    summary = json.loads(done.stdout)
    if summary["imported"] != data.single_rows:
        raise BenchError(f"inkl import {data.single.name} booked {summary['imported']} rows, expected {data.single_rows}")
    return {"peak_rss_mb": done.peak_rss_mb, "seconds": done.seconds, "rows": summary["rows"],
            "totals": account_totals(url, key)}


def account_totals(url: str, key: str) -> dict[str, int]:
    """Balance in cents (debit positive) of every account of recipient ``key`` that has postings."""
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine) as session:
            recipient = get_recipient(session, key)
            rows = session.execute(
                select(Account.number, func.sum(Posting.amount_cents)).join(Posting, Posting.account_id == Account.id)
                .where(Account.recipient_id == recipient.id).group_by(Account.number))
            return {number: int(cents) for number, cents in rows}
    finally:
        engine.dispose()
