"""Repayment measurement: ``ledger.reports.repayment.compute_all`` for every recipient, every school year."""
from __future__ import annotations

import time

from ledger.core import db
from ledger.core.recipients import get_recipient
from ledger.reports.repayment import compute_all
from ledger.rules.packs import RulePack


def time_repayments(url: str, keys: list[str], *, packs: tuple[RulePack, ...], runs: int = 3) -> dict:
    """Time ``compute_all`` over all ``keys`` ``runs`` times, each run in a new session.

    Returns first_s and best_s (seconds, float), runs, and results (school years computed
    per run). The rule packs are loaded beforehand, as the web application holds them.
    """
    engine = db.make_engine(url)
    times = []
    results = 0
    try:
        for _ in range(runs):
            with db.session_scope(engine) as session:
                session.connection()  # connecting is not part of the computation
                started = time.perf_counter()
                results = sum(len(compute_all(session, get_recipient(session, key), packs)) for key in keys)
                times.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return {"first_s": times[0], "best_s": min(times), "runs": runs, "results": results}
