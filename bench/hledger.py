"""hledger side by side: ``hledger balance`` reading the same CSV directly (``bench/hledger.rules``).

hledger turns each row into a transaction (Sollkonto +Betrag, Habenkonto −Betrag), so its
balance per account must equal ours after importing the same file; ``compare`` checks that.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

from bench.dbs import BenchError

RULES = Path(__file__).resolve().with_name("hledger.rules")
_NUMBER = re.compile(r"^\S+:(\d+) ")


def version() -> str | None:
    """``hledger --version`` (first line), or None if hledger is not installed."""
    binary = shutil.which("hledger")
    if binary is None:
        return None
    return subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def balance(csv_path: Path, rows: int) -> dict:
    """Time ``hledger -f CSV --rules-file bench/hledger.rules balance -O csv``.

    Returns seconds (wall, float), rows, rows_per_s and totals (cents per account number).
    Raises BenchError if hledger is missing or fails.
    """
    binary = shutil.which("hledger")
    if binary is None:
        raise BenchError("hledger is not installed (Debian: apt-get install hledger)")
    started = time.perf_counter()
    done = subprocess.run([binary, "-f", str(csv_path), "--rules-file", str(RULES), "balance", "-O", "csv"],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"hledger failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds, "totals": parse_balance(done.stdout)}


def parse_balance(text: str) -> dict[str, int]:
    """Cents per account number from ``balance -O csv`` (``"aufwand:5291 …","EUR1234,56"``)."""
    totals = {}
    for account, amount in list(csv.reader(io.StringIO(text)))[1:]:
        match = _NUMBER.match(account)
        if match is None:  # the "total" line
            continue
        plain = amount.replace("EUR", "").replace(".", "").replace(",", ".").strip()
        totals[match.group(1)] = int(Decimal(plain or "0") * 100)
    return totals


def compare(hledger_totals: dict[str, int], ours: dict[str, int]) -> dict:
    """Accounts compared, how many agree to the cent, and the differing ones (number: [hledger, ours])."""
    numbers = sorted(set(hledger_totals) | set(ours))
    differing = {n: [hledger_totals.get(n, 0), ours.get(n, 0)] for n in numbers
                 if hledger_totals.get(n, 0) != ours.get(n, 0)}
    return {"accounts": len(numbers), "equal": len(numbers) - len(differing), "differing": differing}
