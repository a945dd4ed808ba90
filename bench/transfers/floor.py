"""The insert floor: the same transfer rows inserted into schema variants, CPU time only.

The rows of ``single.csv`` are read and hashed once (``loader.transfer_rows``); then each
variant of the SQLite schema gets a fresh file and the rows by ``executemany`` in chunks of
``CHUNK_ROWS``, one transaction, alternating variants over ``rounds`` (the machine is shared:
CPU seconds of this process, ``time.process_time``, are the figure, and the wall time).
Variants drop one enforcement at a time, to show what each costs; only ``full`` is the model;
``staged``: through a temporary table and one ``INSERT … SELECT`` per chunk, else one
INSERT per row (``loader.staged_insert``, ``loader.direct_insert``).
"""
from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from bench.transfers import loader, schema

VARIANTS = {
    "full (chain by key), staged": dict(chain="fk", staged=True),
    "no triggers, staged": dict(chain="fk", no_triggers=True, staged=True),
    "full (chain by key)": dict(chain="fk"),
    "full (chain by trigger)": dict(chain="trigger"),
    "no totals indexes": dict(chain="fk", drop=("ix_transfers_debit_totals", "ix_transfers_credit_totals")),
    "no triggers": dict(chain="fk", no_triggers=True),
    "no foreign keys": dict(chain="fk", foreign_keys=False),
}


def _statements(chain: str, drop=(), no_triggers=False, **_options):
    out = []
    for statement in schema.statements("sqlite", chain):
        if any(name in statement for name in drop) and statement.startswith("CREATE INDEX"):
            continue
        if no_triggers and statement.startswith("CREATE TRIGGER"):
            continue
        out.append(statement)
    return out


def measure(csv: Path, work: Path, *, rounds: int = 3, now: datetime) -> dict[str, list[tuple[float, float]]]:
    """Per variant, (CPU µs per row, wall µs per row) of each round."""
    chunks = [rows for rows, _d in loader.transfer_rows(csv, (0, schema.GENESIS), created_by="bench", now=now,
                                                         lookup=lambda keys: {}, chunk=loader.CHUNK_ROWS)]
    count = sum(len(c) for c in chunks)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for _round in range(rounds):
        for name, options in VARIANTS.items():
            path = work / "floor.sqlite"
            loader.create_sqlite(path, _statements(**options))
            conn = loader.sqlite_connect(path)
            if options.get("foreign_keys") is False:
                conn.execute("PRAGMA foreign_keys=OFF")
            make = loader.staged_insert if options.get("staged") else loader.direct_insert
            insert = make(conn, "transfers", schema.COLUMNS)
            c, t = time.process_time(), time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            next_id = 1
            for rows in chunks:
                insert([(next_id + i, *row) for i, row in enumerate(rows)])
                next_id += len(rows)
            conn.execute("COMMIT")
            results[name].append(((time.process_time() - c) / count * 1e6, (time.perf_counter() - t) / count * 1e6))
            conn.close()
    return results
