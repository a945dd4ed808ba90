"""``python -m bench.transfers``: the transfer model's prototype measured (issue 18).

Subcommands (default ``run``):

- ``run``: for each size (postings of the bench data set: 200 000 = 100 000 CSV rows,
  1 000 000 = 500 000 rows) and database, loads ``single.csv`` into fresh databases of today's
  model and of the prototype (chain variants, serial and with the parser in a second
  process), each in a child process (``load``); then the invariants (``selftest``) and the
  year totals (``totals``, on the largest size; today's database from the harness, see
  below). Prints a line per load, writes JSON (``--json``).
- ``floor``: the inserts alone into schema variants (what each enforcement costs).
- ``load``: one load into a fresh database; prints its figures as JSON (rows/s, the insert
  statements' share, commit, peak RSS of the writer and of the parsing child).
- ``selftest``: tries every forbidden write on a small prototype database of each kind and
  prints which the database refused; exit 1 if one got through.
- ``totals``: a school year's totals (the reports' main read: sums per account, category and
  cost centre of the expense accounts) on the prototype's view and on today's postings of
  the same data (the harness's ``--measure peak`` databases), best of ``--repeat``.

The data sets come from ``python -m bench.data --sizes 200000,1000000``; today's databases from
``python -m bench --sizes 1000000 --db sqlite,postgresql --measure peak --pg-url …``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.transfers import loader, schema

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "bench" / "work"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/inkl_bench_h_proto"
SCHEMA = "transfers_proto"  # + "_<size>": one schema per data set
BOOKED_AT = datetime(2026, 1, 15, 8, 0, 0)


def _csv(size: int) -> Path:
    return WORK / "data" / str(size) / "single.csv"


def _load(args) -> dict:
    statements = schema.statements(args.db, args.chain)
    csv = _csv(args.size)
    if args.model == "today":
        from bench.transfers import today

        pg_url = args.pg.replace("postgresql://", "postgresql+psycopg://") + "_today"
        url, recipient_id, mapping = today.prepare(args.db, WORK, pg_url, now=BOOKED_AT)
        write = today.load_sqlite if args.db == "sqlite" else today.load_postgres
        options = {"staged": not args.direct} if args.db == "sqlite" else {"copy": not args.direct}
        timings = write(url, recipient_id, mapping, csv, now=BOOKED_AT, **options)
    elif args.db == "sqlite":
        path = WORK / "db" / f"transfers-{args.size}-{args.chain}.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        loader.create_sqlite(path, statements)
        timings = loader.load_sqlite(path, csv, now=BOOKED_AT, pipeline=args.pipeline, staged=not args.direct)
    else:
        loader.create_postgres(args.pg, f"{SCHEMA}_{args.size}", statements)
        timings = loader.load_postgres(args.pg, f"{SCHEMA}_{args.size}", csv, now=BOOKED_AT, pipeline=args.pipeline)
    rows = timings.rows
    return {"model": args.model, "db": args.db, "size": args.size, "chain": args.chain,
            "writing": ("direct" if args.direct else "staged") if args.db == "sqlite" else (
                "executemany" if args.direct else "copy"), "pipeline": args.pipeline, "rows": rows,
            "duplicates": timings.duplicates, "seconds": round(timings.total, 3),
            "rows_per_s": round(rows / timings.total), "insert_s": round(timings.insert, 3),
            "insert_us_per_row": round(timings.insert / rows * 1e6, 1),
            "python_s": round(timings.python, 3), "commit_s": round(timings.commit, 3),
            "insert_cpu_us_per_row": round(timings.insert_cpu / rows * 1e6, 1),
            "cpu_s": round(timings.cpu, 2), "child_cpu_s": round(timings.child_cpu, 2),
            "server_cpu_s": round(timings.server_cpu, 2),
            "cpu_us_per_row": round((timings.cpu + timings.child_cpu + timings.server_cpu) / rows * 1e6, 1),
            "writer_peak_mb": round(loader.high_water_kib() / 1024, 1),
            "parser_peak_mb": round(timings.parser_peak_kib / 1024, 1)}


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _plan(args) -> list[list[str]]:
    """The ``load`` arguments of a ``run``: per size and database today's model (one INSERT per
    row as the product, and staged or COPY), then the transfers (per chain variant serial and
    with the parser in a second process, and on SQLite one INSERT per row for the chain by key)."""
    loads = []
    for size in args.sizes:
        for db in args.dbs:
            common = ["--db", db, "--size", str(size), "--pg", args.pg]
            if "today" in args.models:
                loads += [common + ["--model", "today", "--direct"], common + ["--model", "today"]]
            if "transfers" in args.models:
                for chain in args.chains:
                    loads += [common + ["--chain", chain] + (["--pipeline"] if pipeline else [])
                              for pipeline in args.modes]
                if db == "sqlite" and "fk" in args.chains:
                    loads.append(common + ["--chain", "fk", "--direct"])
    return loads


def _run(args) -> int:
    results = {"machine": {"cores": os.cpu_count(), "started": datetime.utcnow().isoformat(timespec="seconds")},
               "loads": [], "selftest": None, "totals": None}
    for load in _plan(args):
        load_before = _loadavg()
        done = subprocess.run([sys.executable, "-m", "bench.transfers", "load", *load], cwd=REPO,
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        figures = json.loads(done.stdout) | {"loadavg_before": load_before}
        results["loads"].append(figures)
        print(f"{figures['model']:9} {figures['db']:10} {figures['rows']:>7} rows {figures['writing']:11} "
              f"chain={figures['chain']:7} pipeline={figures['pipeline']!s:5} {figures['rows_per_s']:>7} rows/s  "
              f"inserts {figures['insert_cpu_us_per_row']:>5} µs CPU/row  total {figures['cpu_us_per_row']:>6} µs "
              f"CPU/row  writer {figures['writer_peak_mb']} MB parser {figures['parser_peak_mb']} MB  "
              f"load {load_before}", flush=True)
    results["selftest"] = _selftest(args)
    args.sizes = [max(args.sizes)]
    results["totals"] = _totals(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


def _selftest(args) -> dict:
    from bench.transfers import checks

    outcomes = {}
    for db in args.dbs:
        for chain in args.chains:
            found = checks.selftest(db, chain, sqlite_path=WORK / "db" / "transfers-selftest.sqlite", pg=args.pg)
            outcomes[f"{db}/{chain}"] = found
            for name, refused, message in found:
                print(f"{db:10} chain={chain:7} {'abgewiesen' if refused else 'ANGENOMMEN':10} {name}: {message}",
                      flush=True)
    return outcomes


def _totals(args) -> dict:
    """The year totals on the prototype (view and the two sides) and on today's postings."""
    import sqlite3

    from bench.transfers import checks

    key = loader.RECIPIENT[1]
    size = max(args.sizes)
    out = {}
    for db in args.dbs:
        if db == "sqlite":
            targets = [("today", WORK / "db" / f"sqlite-{size}-single.sqlite", checks.TOTALS_TODAY),
                       ("transfers view", WORK / "db" / f"transfers-{size}-fk.sqlite", checks.TOTALS_VIEW),
                       ("transfers sides", WORK / "db" / f"transfers-{size}-fk.sqlite", checks.TOTALS_SIDES)]
            for name, path, query in targets:
                if not path.exists():
                    print(f"sqlite/{name}: {path} is missing (see the module docstring)", file=sys.stderr)
                    continue
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                sql = query.format(m="?")
                best, median, rows = checks.year_totals(lambda q, p: conn.execute(q, p).fetchall(), sql, key,
                                                        repeat=args.repeat)
                plan = " | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, (key, "2020/21") * (
                    query.count("{m}") // 2)))
                conn.close()
                out[f"sqlite/{name}"] = {"best_ms": round(best, 2), "median_ms": round(median, 2), "rows": rows,
                                         "plan": plan}
        else:
            import psycopg

            today_url = args.pg + "_single"
            try:
                for url in (today_url, args.pg):
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("VACUUM (ANALYZE)")
            except psycopg.OperationalError as exc:
                print(f"postgresql: {exc}".strip(), file=sys.stderr)
                continue
            targets = [("today", today_url, "public", checks.TOTALS_TODAY),
                       ("transfers view", args.pg, f"{SCHEMA}_{size}", checks.TOTALS_VIEW),
                       ("transfers sides", args.pg, f"{SCHEMA}_{size}", checks.TOTALS_SIDES)]
            for name, url, search_path, query in targets:
                with psycopg.connect(url) as conn:
                    conn.execute(f"SET search_path = {search_path}")
                    sql = query.format(m="%s")
                    best, median, rows = checks.year_totals(lambda q, p: conn.execute(q, p).fetchall(), sql, key,
                                                            repeat=args.repeat)
                    plan = [r[0] for r in conn.execute("EXPLAIN " + sql, (key, "2020/21") * (query.count("{m}") // 2))]
                out[f"postgresql/{name}"] = {"best_ms": round(best, 2), "median_ms": round(median, 2),
                                             "rows": rows, "plan": plan}
    for name, figures in out.items():
        today = out.get(name.split("/")[0] + "/today")
        same = today is not None and figures["rows"] == today["rows"]
        print(f"{name:28} best {figures['best_ms']:7.2f} ms  median {figures['median_ms']:7.2f} ms per school year  "
              f"sums {'equal to today' if same else 'DIFFER' if today else 'not compared'} ({len(figures['rows'])} groups)", flush=True)
        figures["equal_to_today"] = same
    return out


def _floor(args) -> int:
    from bench.transfers import floor, pgfloor

    (WORK / "db").mkdir(parents=True, exist_ok=True)
    for name, runs in floor.measure(_csv(args.size), WORK / "db", rounds=args.rounds, now=BOOKED_AT).items():
        print(f"sqlite      {name:32} CPU " + " / ".join(f"{cpu:.1f}" for cpu, _wall in runs) + " µs a row, wall "
              + " / ".join(f"{wall:.1f}" for _cpu, wall in runs) + f" µs  (load {_loadavg()})", flush=True)
    if args.pg:
        for name, runs in pgfloor.measure(args.pg, _csv(args.size), rows=args.rows, now=BOOKED_AT,
                                          rounds=args.rounds).items():
            print(f"postgresql  {name:32} server CPU " + " / ".join(f"{cpu:.1f}" for cpu in runs) + " µs a row", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.transfers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="measure the loads (default)")
    run.add_argument("--sizes", default="200000,1000000")
    run.add_argument("--db", default="sqlite,postgresql")
    run.add_argument("--chain", default="fk,trigger")
    run.add_argument("--mode", default="serial,pipeline")
    run.add_argument("--model", default="today,transfers")
    run.add_argument("--repeat", type=int, default=5, help="rounds of the totals")
    run.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL database (libpq URL); schema %s_<size> is replaced" % SCHEMA)
    run.add_argument("--json", type=Path, default=WORK / "transfers.json")
    load = sub.add_parser("load", help="one load into a fresh prototype database, figures as JSON")
    load.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    load.add_argument("--size", type=int, required=True)
    load.add_argument("--chain", choices=schema.CHAIN_VARIANTS, default="fk")
    load.add_argument("--pipeline", action="store_true")
    load.add_argument("--direct", action="store_true", help="one INSERT per row (executemany): SQLite not staged; PostgreSQL (today's model) not COPY")
    load.add_argument("--model", choices=("transfers", "today"), default="transfers",
                      help="today: the same rows into entries, postings and imported rows")
    load.add_argument("--pg", default=DEFAULT_PG)
    for name, helptext in (("selftest", "the forbidden writes, each refused by the database?"),
                           ("totals", "a school year's totals on both models")):
        extra = sub.add_parser(name, help=helptext)
        extra.add_argument("--sizes", default="1000000")
        extra.add_argument("--db", default="sqlite,postgresql")
        extra.add_argument("--chain", default="fk,trigger")
        extra.add_argument("--repeat", type=int, default=5)
        extra.add_argument("--pg", default=DEFAULT_PG)
    floor = sub.add_parser("floor", help="the inserts alone into schema variants (SQLite, and PostgreSQL with --pg)")
    floor.add_argument("--size", type=int, default=200000)
    floor.add_argument("--rounds", type=int, default=2)
    floor.add_argument("--rows", type=int, default=100000, help="PostgreSQL: rows per variant")
    floor.add_argument("--pg", default=None)
    args = parser.parse_args(argv)
    if args.command == "floor":
        return _floor(args)
    if args.command == "load":
        print(json.dumps(_load(args)))
        return 0
    if args.command is None:
        args = run.parse_args([])
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.dbs = args.db.split(",")
    args.chains = args.chain.split(",")
    if args.command == "selftest":
        found = _selftest(args)
        return 0 if all(refused for outcomes in found.values() for _n, refused, _m in outcomes) else 1
    if args.command == "totals":
        _totals(args)
        return 0
    args.modes = [m == "pipeline" for m in args.mode.split(",")]
    args.models = args.model.split(",")
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
