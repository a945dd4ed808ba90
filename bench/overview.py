"""The Land's overview (Landesübersicht) across 53 recipients × 10 school years.

NRW has 53 recipients of the Inklusionspauschale (31 Kreise, 22 kreisfreie Städte). The data
set's postings belong to its four recipients (``bench.data.RECIPIENTS``); the other 49 are
added here with the same master data and a grant paid out in each of the ten school years, so
the overview computes 530 rows over all of the data set's postings. Timed: the core function
(``ledger.reports.overview.overview``, first run and best of 3, each in a new session) and the
web page ``/land/`` as the Land's user sees it (Flask's test client in this process, so page
rendering is included and the HTTP server is not): the first request, which computes, and the
others, which the process's kept overview answers while the books are unchanged.
"""
from __future__ import annotations

import statistics
import time
from datetime import date, datetime

from bench import data as bench_data
from ledger.core import db
from ledger.core.recipients import list_recipients
from ledger.core.users import add_user
from ledger.reports.overview import overview
from ledger.rules.packs import RulePack

#: The number of recipients of the Inklusionspauschale in NRW.
RECIPIENTS = 53
#: The grant of each added recipient per school year (cents): 1.000.000,00 EUR.
GRANT_CENTS = 100_000_000
#: The day the overview is computed for (after the data set's last due date).
AS_OF = date(2025, 6, 30)
PASSWORD = "Bench-Landesuebersicht-2026"


def add_recipients(url: str, *, now: datetime) -> int:
    """Add recipients ``bench-land-05`` … up to RECIPIENTS in all, and the Land's user
    ``bench-land``; returns the number of recipients then."""
    engine = db.make_engine(url)
    try:
        with db.session_scope(engine, write=True) as session:
            have = len(list_recipients(session))
            grants = {year.start_year: GRANT_CENTS for year in bench_data.YEARS}
            for number in range(have + 1, RECIPIENTS + 1):
                bench_data.setup_recipient(session, (f"bench-land-{number:02d}", f"Kreis Nummer {number}", "LD"),
                                           grants, actor="bench", now=now)
            add_user(session, "bench-land", "ministry", actor="bench", now=now, password=PASSWORD, initial_password=False)
            return len(list_recipients(session))
    finally:
        engine.dispose()


def time_overview(url: str, *, packs: tuple[RulePack, ...], runs: int = 3) -> dict:
    """``overview`` over every recipient ``runs`` times, each in a new session: first_s, best_s
    (seconds) and rows (per run)."""
    engine = db.make_engine(url)
    times, rows = [], 0
    try:
        for _ in range(runs):
            with db.session_scope(engine) as session:
                session.connection()
                started = time.perf_counter()
                rows = len(overview(session, list_recipients(session), packs, as_of=AS_OF).rows)
                times.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return {"first_s": times[0], "best_s": min(times), "runs": runs, "rows": rows}


def time_page(url: str, *, requests: int = 20) -> dict:
    """``requests`` GETs of ``/land/`` by the Land's user, one after the other: first_ms (the
    first request computes the overview; the server process then keeps it until the books
    change, ``webapp.views.ministry.land_overview``), and p95_ms and median_ms of the others
    (milliseconds)."""
    from webapp import create_app

    app = create_app({"DATABASE_URL": url, "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    response = client.post("/anmelden", data={"username": "bench-land", "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"log-in of bench-land failed: {response.status_code}")
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/land/")
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/land/ answered {response.status_code}")
    app.extensions["inkl_jobs"].shutdown()
    first, ordered = timings[0], sorted(timings[1:])
    return {"first_ms": first, "p95_ms": ordered[max(int(len(ordered) * 0.95) - 1, 0)],
            "median_ms": statistics.median(ordered), "requests": requests}
