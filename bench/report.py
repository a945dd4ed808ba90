"""Results: one row per database × size × measurement, judged against the targets, printed
as a table and written as JSON together with the machine's facts."""
from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from bench import hledger
from bench.dbs import SQLITE
from bench.proc import REPO

MILLION = 1_000_000


@dataclass(frozen=True)
class Target:
    """A target: its text for the table, the test of a value on a database (``met(value, db)``),
    and where it applies (db, size)."""

    text: str
    met: Callable[[float, str], bool]
    applies: Callable[[str, int], bool]


def _at_million(_db: str, size: int) -> bool:
    return size == MILLION


#: Targets by measurement name (issue 18's where it set one); measurements without one are informational.
TARGETS = {
    "import": Target(">= 50000 rows/s (SQLite), >= 20000 (PostgreSQL)",
                     lambda v, db: v >= (50_000 if db == SQLITE else 20_000), lambda db, size: True),
    "import peak RSS": Target("< 150 MB at 1000000", lambda v, _db: v < 150, _at_million),
    "repayments, best of 3": Target("< 0.5 s at 1000000", lambda v, _db: v < 0.5, _at_million),
    "dashboard p95": Target("< 150 ms at 1000000", lambda v, _db: v < 150, _at_million),
    "journal p95": Target("< 150 ms at 1000000", lambda v, _db: v < 150, _at_million),
    "statement": Target("< 5 s (>= 10000 lines)", lambda v, _db: v < 5, lambda db, size: True),
    "overview, best of 3": Target("< 0.3 s at 1000000", lambda v, _db: v < 0.3, _at_million),
}
PASS, FAIL, NONE, ERROR = "PASS", "FAIL", "-", "ERROR"


@dataclass
class Result:
    """One measured value. ``value`` is None when the measurement failed (``details["error"]``).
    ``db`` is ``sqlite``, ``postgresql`` or ``hledger``; ``size`` the data set's postings."""

    db: str
    size: int
    measurement: str
    value: float | None
    unit: str
    details: dict = field(default_factory=dict)

    @property
    def target(self) -> str:
        target = TARGETS.get(self.measurement)
        return target.text if target else ""

    @property
    def status(self) -> str:
        """PASS or FAIL against an applicable target, ERROR without a value, else ``-``."""
        if self.value is None:
            return ERROR
        target = TARGETS.get(self.measurement)
        if target is None or not target.applies(self.db, self.size):
            return NONE
        return PASS if target.met(self.value, self.db) else FAIL

    def as_dict(self) -> dict:
        return {**asdict(self), "target": self.target, "status": self.status}


def format_value(result: Result) -> str:
    """The value for the table: counts and rates without decimals, seconds with three
    significant places, ms and MB with one decimal; ``error`` for a failed measurement."""
    value = result.value
    if value is None:
        return "error"
    if result.unit in ("rows/s", "rows", "pages", "lines", "requests") or result.unit.startswith("accounts"):
        return f"{value:,.0f}".replace(",", " ")
    if result.unit == "s":
        return f"{value:.3g}" if value < 100 else f"{value:.0f}"
    return f"{value:.1f}"


def table(results: list[Result]) -> str:
    """A fixed-width text table of ``results``, with the errors listed below it."""
    header = ("db", "size", "measurement", "value", "unit", "target", "result")
    rows = [header] + [(r.db, f"{r.size:,}".replace(",", " "), r.measurement, format_value(r), r.unit, r.target,
                        r.status) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 3}
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    errors = [f"{r.db} {r.size} {r.measurement}: {r.details.get('error')}" for r in results if r.value is None]
    if errors:
        lines += ["", "Errors:"] + [f"  {line}" for line in errors]
    return "\n".join(lines)


def exit_code(results: list[Result]) -> int:
    """1 if a measurement failed, else 3 if a target was missed, else 0."""
    statuses = {r.status for r in results}
    return 1 if ERROR in statuses else 3 if FAIL in statuses else 0


def machine_facts(postgres: dict[str, str] | None) -> dict:
    """CPU model, cores, RAM (GiB), OS, Python, SQLite, PostgreSQL (version, autovacuum) and
    hledger versions, git commit."""
    postgres = postgres or {}
    return {
        "cpu_model": _cpu_model(), "cores": os.cpu_count(), "ram_gib": _ram_gib(),
        "os": platform.platform(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres.get("version"), "postgresql_autovacuum": postgres.get("autovacuum"),
        "hledger": hledger.version(), **_git(),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git() -> dict:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {"git_commit": git("rev-parse", "HEAD") or None, "git_branch": git("rev-parse", "--abbrev-ref", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def write_json(path: Path, results: list[Result], facts: dict, arguments: dict, started_at: datetime) -> None:
    """Write the results with the machine facts and the run's arguments to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"started_at": started_at.isoformat(timespec="seconds"), "arguments": arguments, "machine": facts,
                "targets": {name: t.text for name, t in TARGETS.items()},
                "results": [r.as_dict() for r in results], "exit_code": exit_code(results)}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
