"""Web measurement: ``inkl serve`` (gunicorn, 2 processes × 4 threads) under 8 concurrent clients.

The server runs as a child process on a free loopback port against the loaded database.
An auditor with read access to all recipients is created with ``inkl user add``; the
harness logs in through the form (GET ``/anmelden`` for the CSRF token and the session
cookie, POST the form, keep the new session cookie) and then ``CLIENTS`` threads, each
with its own ``http.client`` connection (the server closes it after every response; the
next request opens a new one), work off a fixed list of requests: dashboards
``/r/<key>/<start_year>/`` and journal pages ``/r/<key>/journal?year=…&page=…`` spread over
all recipients and school years, after one untimed warm-up request of each. Latencies are
wall times from sending the request to having read the whole body (a reconnection
included). Any response other than 200 fails the measurement.
"""
from __future__ import annotations

import http.client
import http.cookies
import math
import queue
import re
import secrets
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench.dbs import BenchError
from bench.proc import REPO, child_env, inkl, run_measured

CLIENTS = 8
SERVER_WORKERS = 2             # processes: the target machine's cores
SERVER_THREADS = 4             # threads per process: 8 requests in service at once
USERNAME = "bench-pruefung"
USER_AGENT = "inkl-bench/1"  # Flask-Login's strong session protection ties the session to it
JOURNAL_PER_PAGE = 50          # webapp.views.journal.PER_PAGE
START_TIMEOUT = 60.0           # seconds for the server to accept connections
REQUEST_TIMEOUT = 300.0        # seconds for one response


@dataclass(frozen=True)
class Request:
    """One request of the load: page kind (``dashboard`` or ``journal``) and path."""

    page: str
    path: str


def plan_requests(years_rows: dict[tuple[str, int], int], per_page: int) -> list[Request]:
    """``per_page`` dashboard and ``per_page`` journal requests, alternating, spread round-robin
    over the (recipient, school year) pairs of ``years_rows`` (expense rows per pair), the
    journal pages walking through each year's pages so that deep pages are asked for too."""
    pairs = sorted(years_rows)
    plan = []
    for index in range(per_page):
        key, year = pairs[index % len(pairs)]
        pages = max(1, math.ceil((years_rows[(key, year)] + 1) / JOURNAL_PER_PAGE))  # + the payout entry
        page = 1 + (index // len(pairs) * 7) % pages
        plan.append(Request("dashboard", f"/r/{key}/{year}/"))
        plan.append(Request("journal", f"/r/{key}/journal?year={year}&page={page}"))
    return plan


def measure_web(url: str, years_rows: dict[tuple[str, int], int], *, per_page: int, work: Path,
                label: str) -> dict:
    """Serve the database at ``url``, log in, run the load; per page kind the median and
    95th percentile latency in ms, requests, and the failures (non-200 responses).

    Raises BenchError if the server does not start, the log-in fails, or a response is not 200.
    """
    password = secrets.token_urlsafe(18)
    # added by the user itself, so that the password is not an initial one to be changed at the first log-in
    added = run_measured(inkl("user", "add", USERNAME, "--role", "auditor", "--all-recipients", "--password-stdin"),
                         env=child_env(url, INKL_USER=USERNAME), stdin_text=password + "\n", label=f"{label}: ")
    if added.returncode != 0:
        raise BenchError(f"inkl user add failed: {added.stderr_tail}")
    port = _free_port()
    log = work / "logs" / f"serve-{label.replace(' ', '-')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as log_file:
        server = subprocess.Popen(
            inkl("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(SERVER_WORKERS),
                 "--threads", str(SERVER_THREADS)),
            cwd=REPO, env=child_env(url, INKL_INSTANCE_DIR=str(work / "instance"),
                                    INKL_SECRET_KEY=secrets.token_hex(32)),
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(server, port, log)
            cookie, secure = _log_in(port, password)
            plan = plan_requests(years_rows, per_page)
            _warm_up(port, cookie, plan[:2])
            result = _load(port, cookie, plan)
        finally:
            _stop(server)
    result["cookie_secure"] = secure
    failures = result["failures"]
    if failures:
        raise BenchError(f"{len(failures)} responses were not 200, e.g. {failures[:3]} (server log: {log})")
    return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"inkl serve exited with {server.returncode}: {log.read_text(encoding='utf-8')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"inkl serve did not accept connections on port {port} within {START_TIMEOUT:.0f} s")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _log_in(port: int, password: str) -> tuple[str, bool]:
    """Log in through the form; the ``Cookie`` header value of the session and whether the
    server marked the cookie Secure (it must not on the loopback)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        status, headers, body = _get(conn, "/anmelden", {})
        if status != 200:
            raise BenchError(f"GET /anmelden answered {status}")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body.decode("utf-8"))
        if token is None:
            raise BenchError("no csrf_token in the log-in form")
        cookies = _cookies(headers)
        form = urllib.parse.urlencode({"csrf_token": token.group(1), "username": USERNAME, "password": password})
        conn.request("POST", "/anmelden", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT,
            "Cookie": _cookie_header(cookies)})
        response = conn.getresponse()
        response.read()
        if response.status != 302:
            raise BenchError(f"log-in as {USERNAME} answered {response.status}, expected 302")
        cookies.update(_cookies(response.headers))
        secure = any(morsel["secure"] for morsel in cookies.values())
        return _cookie_header(cookies), bool(secure)
    finally:
        conn.close()


def _cookies(headers) -> dict[str, http.cookies.Morsel]:
    jar = http.cookies.SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return dict(jar)


def _cookie_header(cookies: dict[str, http.cookies.Morsel]) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items() if morsel.value)  # "" = deleted


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]):
    conn.request("GET", path, headers={"User-Agent": USER_AGENT, **headers})
    response = conn.getresponse()
    return response.status, response.headers, response.read()


def _warm_up(port: int, cookie: str, requests: list[Request]) -> None:
    """One untimed request per page kind (``inkl serve`` loads the rule packs and compiles the
    templates before it forks; this warms the database's cache and the first connections)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        for request in requests:
            status, _headers, _body = _get(conn, request.path, {"Cookie": cookie})
            if status != 200:
                raise BenchError(f"warm-up GET {request.path} answered {status}")
    finally:
        conn.close()


def _load(port: int, cookie: str, plan: list[Request]) -> dict:
    """Run ``plan`` with ``CLIENTS`` threads; latencies in ms per page kind."""
    work: queue.Queue[Request] = queue.Queue()
    for request in plan:
        work.put(request)
    timings: list[tuple[str, float]] = []
    failures: list[tuple[str, int | str]] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            while True:
                try:
                    request = work.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    status, _headers, _body = _get(conn, request.path, {"Cookie": cookie})
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    status = f"{type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    timings.append((request.page, elapsed))
                    if status != 200:
                        failures.append((request.path, status))
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, name=f"bench-client-{n}") for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    result = {"clients": CLIENTS, "seconds": seconds, "failures": failures}
    for page in ("dashboard", "journal"):
        values = sorted(ms for kind, ms in timings if kind == page)
        result[page] = {"requests": len(values), "median_ms": statistics.median(values), "p95_ms": percentile(values, 95),
                        "max_ms": values[-1]}
    return result


def percentile(sorted_values: list[float], p: float) -> float:
    """The ``p``-th percentile of ascending ``sorted_values`` by the nearest-rank method."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]
