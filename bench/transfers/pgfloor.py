"""The COPY floor on PostgreSQL: the same transfer rows into schema variants, server CPU per row.

Like ``floor`` for SQLite: the rows are read and hashed once, then each variant gets a fresh
schema and the rows by ``COPY``; the figure is the backend's CPU (``/proc/<pid>/stat``), which
the other processes on a shared machine disturb less than the wall time.
"""
from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

from bench.transfers import loader, schema

VARIANTS = ("full (chain by key)", "full (chain by trigger)", "no trigger (chain by key)", "no foreign keys",
            "no totals indexes", "hash columns COLLATE \"C\"")


def _statements(variant: str) -> list[str]:
    chain = "trigger" if "trigger)" in variant else "fk"
    out = []
    for statement in schema.statements("postgresql", chain):
        if variant == "no trigger (chain by key)" and "inkl_transfer_before_insert" in statement:
            continue
        if variant == "no totals indexes" and statement.startswith("CREATE INDEX"):
            continue
        if variant == "no foreign keys" and statement.startswith("CREATE TABLE transfers"):
            statement = "\n".join(line for line in statement.splitlines() if "FOREIGN KEY" not in line)
            statement = statement.replace(" REFERENCES transfers (id)", "").replace(" REFERENCES recipients (id)", "")
        if variant.startswith("hash columns") and statement.startswith("CREATE TABLE transfers"):
            for column in ("import_key", "content_hash", "prev_hash", "transfer_hash"):
                statement = statement.replace(f"    {column} VARCHAR(64)", f"    {column} VARCHAR(64) COLLATE \"C\"")
        out.append(statement)
    return out


def measure(conninfo: str, csv: Path, *, rows: int, now: datetime, rounds: int = 1, lock: bool = False
            ) -> dict[str, list[float]]:
    """Per variant, the backend's CPU µs per row of each round (``rows`` rows of ``csv``);
    ``lock``: the recipient's row locked FOR UPDATE first, as the import does."""
    import psycopg

    chunks = list(itertools.islice(loader.transfer_rows(csv, (0, schema.GENESIS), created_by="bench", now=now,
                                                        lookup=lambda keys: {}, chunk=2000), rows // 2000))
    count = sum(len(c) for c, _d in chunks)
    results: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _round in range(rounds):
        for variant in VARIANTS:
            loader.create_postgres(conninfo, "transfers_floor", _statements(variant))
            with psycopg.connect(conninfo) as conn:
                conn.execute("SET search_path = transfers_floor")
                backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
                started = loader._cpu_of(backend)
                if lock:
                    conn.execute("SELECT 1 FROM recipients WHERE id = 1 FOR UPDATE")
                with conn.cursor() as cursor:
                    for chunk, _d in chunks:
                        with cursor.copy(f"COPY transfers ({', '.join(schema.COLUMNS[1:])}) FROM STDIN") as copy:
                            for row in chunk:
                                copy.write_row(row)
                conn.commit()
                results[variant].append((loader._cpu_of(backend) - started) / count * 1e6)
    return results
