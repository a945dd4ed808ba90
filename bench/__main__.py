"""``python -m bench``: the benchmark harness of the ledger (``make bench``).

For each size (postings) it generates the data set (``bench.data``), then for each
database (SQLite file under the work directory, PostgreSQL ``inkl_bench``):

- peak:      ``inkl import`` of the single big file into a fresh database: peak RSS (MB = MiB),
             and its balances against hledger's;
- import:    every monthly file through ``import_file``, one transaction each: rows/s
             (then ``VACUUM (ANALYZE)`` on PostgreSQL, as its autovacuum would, unless ``--no-analyze``);
- repayment: ``compute_all`` for every recipient: seconds, first run and best of 3;
- web:       ``inkl serve --workers 2 --threads 4`` under 8 clients: dashboard and journal latency (ms);
- statement: ``build_statement`` + ``render_statement`` of a year with >= 10 000 voucher
             lines (sizes >= 100 000): seconds, pages, peak RSS;
- overview:  the Land's overview over 53 recipients × 10 school years (``bench.overview``):
             the core function (best of 3) and the page ``/land/`` (p95 of 20 requests);

and once per size ``hledger balance`` over the same CSV (hledger). It prints a table on
stdout and writes JSON (``--json``). Progress and errors go to stderr.

Exit status: 0 all measured and every applicable target met; 1 a measurement failed
(or PostgreSQL is unreachable without ``--db sqlite``); 3 a target was missed.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Callable

from bench import data as bench_data
from bench import hledger
from bench import overview as bench_overview
from bench.data import DataSet
from bench.dbs import (
    BACKENDS,
    DEFAULT_PG_URL,
    POSTGRES,
    BenchError,
    analyze,
    check_postgres,
    fresh_database,
)
from bench.importing import import_monthly, peak_import, setup_recipients
from bench.proc import REPO
from bench.repayments import time_repayments
from bench.report import (
    Result,
    exit_code,
    format_value,
    machine_facts,
    table,
    write_json,
)
from bench.statement import measure_statement
from bench.web import measure_web
from ledger.rules.packs import load_packs

#: The creation time recorded on everything the harness books (fixed: no clock in the books).
BOOKED_AT = datetime(2026, 1, 15, 8, 0, 0)
MEASUREMENTS = ("peak", "import", "repayment", "web", "statement", "overview", "hledger")
NEEDS_IMPORT = {"repayment", "web", "statement", "overview"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     epilog="Exit status: 0 targets met, 1 a measurement failed, 3 a target missed.")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="postings per data set (default: %(default)s)")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (default: %(default)s)")
    parser.add_argument("--measure", default=",".join(MEASUREMENTS),
                        help="which measurements (default: %(default)s); repayment, web and statement import first")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL database of the harness, dropped and "
                        "recreated (name must start with inkl_bench; default: %(default)s)")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "work", help="work directory (git-ignored)")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "latest.json",
                        help="where to write the results as JSON (default: bench/results/latest.json)")
    parser.add_argument("--web-requests", type=int, default=200, help="requests per page kind (default: %(default)s)")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="skip VACUUM (ANALYZE) on PostgreSQL after loading (autovacuum may be off, see the machine facts)")
    parser.add_argument("--seed", type=int, default=bench_data.SEED, help="seed of the data sets")
    args = parser.parse_args(argv)
    try:
        args.sizes = bench_data.parse_sizes(args.sizes)
        for size in args.sizes:
            bench_data.check_size(size)
    except ValueError as exc:
        parser.error(f"--sizes: {exc}")
    args.db = _choices(parser, args.db, BACKENDS, "--db")
    args.measure = set(_choices(parser, args.measure, MEASUREMENTS, "--measure"))
    return args


def _choices(parser: argparse.ArgumentParser, text: str, allowed: tuple[str, ...], option: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if not chosen or any(c not in allowed for c in chosen):
        parser.error(f"{option}: choose from {', '.join(allowed)} (got {text!r})")
    return chosen


def note(text: str) -> None:
    """A progress line on stderr."""
    print(text, file=sys.stderr, flush=True)


class Run:
    """The results of one harness run, and the measurement steps that add to them."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: list[Result] = []
        self.packs = load_packs()

    def add(self, db: str, size: int, measurement: str, value: float | None, unit: str, **details) -> None:
        result = Result(db, size, measurement, value, unit, details)
        self.results.append(result)
        note(f"   {db} {size} {measurement}: {format_value(result)} {unit} {result.status}")

    def guarded(self, db: str, size: int, names: list[tuple[str, str]], step: Callable[[], None]) -> None:
        """Run ``step``; if it raises, record every (measurement, unit) of ``names`` as failed
        with the error and print the traceback of unexpected errors (the run goes on)."""
        try:
            step()
        except Exception as exc:  # a failing core function must not end the whole run
            if not isinstance(exc, BenchError):
                traceback.print_exc()
            message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, BenchError) else str(exc)
            note(f"  FAILED: {message}")
            for name, unit in names:
                self.add(db, size, name, None, unit, error=message[:2000])

    def size(self, size: int) -> None:
        """Every measurement of one data set."""
        note(f"== {size} postings: generating data under {self.args.work}")
        started = time.perf_counter()
        data = bench_data.generate(size, self.args.work, self.args.seed)
        note(f"   {len(data.monthly)} monthly files ({data.monthly_rows} rows), single.csv ({data.single_rows} rows), "
             f"{len(data.statement)} statement files, {time.perf_counter() - started:.1f} s")
        hledger_totals: dict[str, int] | None = None
        if "hledger" in self.args.measure:
            hledger_totals = self.hledger(data)
        for backend in self.args.db:
            self.backend(backend, data, hledger_totals)

    def hledger(self, data: DataSet) -> dict[str, int] | None:
        note(f"== hledger {data.size}: balance over {data.single.name} ({data.single_rows} rows)")
        outcome = {}

        def step() -> None:
            outcome.update(hledger.balance(data.single, data.single_rows))
            self.add("hledger", data.size, "hledger balance", outcome["seconds"], "s")
            self.add("hledger", data.size, "hledger balance rate", outcome["rows_per_s"], "rows/s")

        self.guarded("hledger", data.size, [("hledger balance", "s")], step)
        return outcome.get("totals")

    def backend(self, backend: str, data: DataSet, hledger_totals: dict[str, int] | None) -> None:
        """The measurements of one data set on one database."""
        measure = self.args.measure
        if "peak" in measure:
            self.peak(backend, data, hledger_totals)
        if not (measure & ({"import"} | NEEDS_IMPORT)):
            return
        url = self.monthly_import(backend, data)
        if url is None:
            return
        if "repayment" in measure:
            self.repayment(backend, data, url)
        if "web" in measure:
            self.web(backend, data, url)
        if "statement" in measure:
            self.statement(backend, data, url)
        if "overview" in measure:
            self.overview(backend, data, url)

    def peak(self, backend: str, data: DataSet, hledger_totals: dict[str, int] | None) -> None:
        label = f"{backend} {data.size} peak"
        note(f"== {label}: inkl import {data.single.name} ({data.single_rows} rows) into a fresh database")

        def step() -> None:
            url = fresh_database(backend, data.size, single=True, work=self.args.work, pg_url=self.args.pg_url)
            outcome = peak_import(url, data, now=BOOKED_AT, label=label)
            self.add(backend, data.size, "import peak RSS", outcome["peak_rss_mb"], "MB", rows=outcome["rows"])
            self.add(backend, data.size, "import single file (CLI)", outcome["rows"] / outcome["seconds"], "rows/s",
                     rows=outcome["rows"], seconds=outcome["seconds"])
            if hledger_totals is not None:
                check = hledger.compare(hledger_totals, outcome["totals"])
                value = check["equal"] if not check["differing"] else None
                self.add(backend, data.size, "balances equal hledger's", value, f"accounts of {check['accounts']}",
                         **check, **({"error": f"differing accounts {check['differing']}"} if value is None else {}))

        self.guarded(backend, data.size, [("import peak RSS", "MB")], step)

    def monthly_import(self, backend: str, data: DataSet) -> str | None:
        """Import the monthly files into a fresh database; its URL, or None if that failed."""
        label = f"{backend} {data.size} import"
        note(f"== {label}: {len(data.monthly)} monthly files ({data.monthly_rows} rows), one transaction each")
        url = None

        def step() -> None:
            nonlocal url
            fresh = fresh_database(backend, data.size, work=self.args.work, pg_url=self.args.pg_url)
            setup_recipients(fresh, bench_data.RECIPIENTS, data, now=BOOKED_AT)
            outcome = import_monthly(fresh, data.monthly, packs=self.packs, now=BOOKED_AT, label=label)
            analyzed = self.args.analyze and analyze(fresh)
            self.add(backend, data.size, "import", outcome["rows"] / outcome["seconds"], "rows/s", **outcome,
                     analyzed=analyzed)
            url = fresh

        self.guarded(backend, data.size, [("import", "rows/s")], step)
        return url

    def repayment(self, backend: str, data: DataSet, url: str) -> None:
        keys = [key for key, _name, _prefix in bench_data.RECIPIENTS]
        note(f"== {backend} {data.size} repayment: compute_all for {len(keys)} recipients, 3 runs")

        def step() -> None:
            outcome = time_repayments(url, keys, packs=self.packs)
            self.add(backend, data.size, "repayments, best of 3", outcome["best_s"], "s", **outcome)
            self.add(backend, data.size, "repayments, first run", outcome["first_s"], "s", results=outcome["results"])

        self.guarded(backend, data.size, [("repayments, best of 3", "s")], step)

    def web(self, backend: str, data: DataSet, url: str) -> None:
        label = f"{backend} {data.size}"
        keys = {key for key, _name, _prefix in bench_data.RECIPIENTS}
        years_rows = {pair: rows for pair, rows in data.rows_per_year.items() if pair[0] in keys}
        note(f"== {label} web: inkl serve, {self.args.web_requests} dashboard + {self.args.web_requests} journal "
             f"requests, 8 clients")

        def step() -> None:
            outcome = measure_web(url, years_rows, per_page=self.args.web_requests, work=self.args.work, label=label)
            common = {"clients": outcome["clients"], "cookie_secure": outcome["cookie_secure"],
                      "seconds": outcome["seconds"]}
            for page in ("dashboard", "journal"):
                figures = outcome[page]
                self.add(backend, data.size, f"{page} p95", figures["p95_ms"], "ms", **figures, **common)
                self.add(backend, data.size, f"{page} median", figures["median_ms"], "ms", **figures, **common)

        self.guarded(backend, data.size, [("dashboard p95", "ms"), ("journal p95", "ms")], step)

    def statement(self, backend: str, data: DataSet, url: str) -> None:
        if data.size < bench_data.STATEMENT_MIN_SIZE:
            return
        label = f"{backend} {data.size} statement"

        def step() -> None:
            if data.statement:
                note(f"== {label}: importing the dedicated recipient ({len(data.statement)} files)")
                setup_recipients(url, [bench_data.STATEMENT_RECIPIENT], data, now=BOOKED_AT)
                import_monthly(url, data.statement, packs=self.packs, now=BOOKED_AT, label=f"{label} import")
                if self.args.analyze:
                    analyze(url)
            key, year, lines = data.largest_year()
            note(f"== {label}: {key} {year}/{(year + 1) % 100:02d} ({lines} voucher lines)")
            pdf = self.args.work / "statements" / f"{backend}-{data.size}-{key}-{year}.pdf"
            pdf.parent.mkdir(parents=True, exist_ok=True)
            outcome = measure_statement(url, key, year, pdf, label=label)
            self.add(backend, data.size, "statement", outcome["seconds"], "s", recipient=key, school_year=year,
                     **outcome)
            self.add(backend, data.size, "statement pages", outcome["pages"], "pages", vouchers=outcome["vouchers"])
            self.add(backend, data.size, "statement peak RSS", outcome["peak_rss_mb"], "MB")

        self.guarded(backend, data.size, [("statement", "s")], step)

    def overview(self, backend: str, data: DataSet, url: str) -> None:
        label = f"{backend} {data.size} overview"
        note(f"== {label}: {bench_overview.RECIPIENTS} recipients × {len(bench_data.YEARS)} school years")

        def step() -> None:
            recipients = bench_overview.add_recipients(url, now=BOOKED_AT)
            if self.args.analyze:
                analyze(url)
            core = bench_overview.time_overview(url, packs=self.packs)
            self.add(backend, data.size, "overview, best of 3", core["best_s"], "s", recipients=recipients, **core)
            page = bench_overview.time_page(url)
            self.add(backend, data.size, "overview page first", page["first_ms"], "ms", recipients=recipients)
            self.add(backend, data.size, "overview page p95", page["p95_ms"], "ms", recipients=recipients, **page)

        self.guarded(backend, data.size, [("overview, best of 3", "s"), ("overview page p95", "ms")], step)


def _machine_line(facts: dict) -> str:
    postgres = (f"PostgreSQL {facts['postgresql']} (autovacuum {facts['postgresql_autovacuum']})"
                if facts["postgresql"] else "PostgreSQL -")
    return (f"{facts['cpu_model']}, {facts['cores']} cores, {facts['ram_gib']} GiB RAM; Python {facts['python']}, "
            f"SQLite {facts['sqlite']}, {postgres}, {facts['hledger'] or 'no hledger'}; commit "
            f"{(facts['git_commit'] or '?')[:12]}{' (dirty)' if facts['git_dirty'] else ''}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now()
    try:
        facts = machine_facts(check_postgres(args.pg_url) if POSTGRES in args.db else None)
        note(f"bench: {_machine_line(facts)}")
        run = Run(args)
        for size in args.sizes:
            run.size(size)
    except BenchError as exc:
        note(f"bench: error: {exc}")
        return 1
    print(f"Machine: {_machine_line(facts)}")
    print(table(run.results))
    arguments = {"sizes": args.sizes, "db": args.db, "measure": sorted(args.measure),
                 "web_requests": args.web_requests, "seed": args.seed, "analyze": args.analyze}
    write_json(args.json, run.results, facts, arguments, started_at)
    note(f"bench: results written to {args.json}")
    return exit_code(run.results)


if __name__ == "__main__":
    sys.exit(main())
