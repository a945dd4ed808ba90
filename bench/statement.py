"""Statement measurement: ``build_statement`` + ``render_statement`` of one recipient and
school year, in a child process so that its peak RSS is the statement's alone.

The child (``python -m bench.statement URL KEY START_YEAR OUT.pdf``) prints one JSON
line: build_s, render_s (seconds), vouchers, pages, bytes. The statement's date is fixed
(``STATEMENT_NOW``), so the PDF does not depend on the clock.
"""
from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.dbs import BenchError
from bench.proc import child_env, run_measured

STATEMENT_NOW = datetime(2026, 1, 15, 9, 0, 0)
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def measure_statement(url: str, key: str, start_year: int, out: Path, *, label: str) -> dict:
    """Run the child for ``key``/``start_year`` on ``url``, writing the PDF to ``out``.

    Returns build_s, render_s, seconds (their sum), vouchers, pages, bytes, peak_rss_mb (MiB)
    and wall_s (the child's whole life, interpreter start included). Raises BenchError if it fails.
    """
    done = run_measured([sys.executable, "-m", "bench.statement", url, key, str(start_year), str(out)],
                        env=child_env(url), label=f"{label}: ")
    if done.returncode != 0:
        raise BenchError(f"statement {key} {start_year} failed (exit {done.returncode}): {done.stderr_tail}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "seconds": figures["build_s"] + figures["render_s"], "peak_rss_mb": done.peak_rss_mb,
            "wall_s": done.seconds}


def count_pages(pdf: bytes) -> int:
    """Pages of a PDF (its ``/Type /Page`` objects; reportlab writes them uncompressed)."""
    return len(_PAGE.findall(pdf))


def _child(url: str, key: str, start_year: int, out: Path) -> dict:
    from ledger.core import db
    from ledger.core.recipients import get_recipient
    from ledger.core.schoolyear import SchoolYear
    from ledger.reports.statement import build_statement
    from ledger.rules.packs import load_packs
    from ledger.write.statement_pdf import render_statement

    packs = load_packs()
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        recipient = get_recipient(session, key)
        started = time.perf_counter()
        data = build_statement(session, recipient, SchoolYear(start_year), now=STATEMENT_NOW, packs=packs)
        built = time.perf_counter()
        pdf = render_statement(data)
        rendered = time.perf_counter()
    engine.dispose()
    out.write_bytes(pdf)
    return {"build_s": built - started, "render_s": rendered - built, "vouchers": len(data.vouchers),
            "pages": count_pages(pdf), "bytes": len(pdf)}


if __name__ == "__main__":
    url_, key_, year_, out_ = sys.argv[1:5]
    print(json.dumps(_child(url_, key_, int(year_), Path(out_))))
