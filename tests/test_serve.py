"""``inkl serve`` end to end: gunicorn with two worker processes on the test database,
a log-in and pages through real HTTP, and a clean stop on SIGTERM."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from http.client import HTTPConnection

import pytest

from tests.conftest import PASSWORD, add_web_user
from tests.test_repayment import year  # noqa: F401  (the worked example's books)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("inkl serve did not listen within 60 s")


def _request(port: int, method: str, path: str, *, body: str | None = None, cookie: str = ""):
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8")
    conn.close()
    return response, text


def _cookie(response, jar: dict[str, str]) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        name, value = header.split(";", 1)[0].split("=", 1)
        jar[name] = value
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def test_serve_runs_two_worker_processes_and_stops_cleanly(database_url, session, kreis, tmp_path):
    add_web_user(session, "olga", "officer", recipients=[kreis])
    port = _free_port()
    env = {**os.environ, "INKL_DATABASE_URL": database_url, "INKL_INSTANCE_DIR": str(tmp_path / "instance")}
    server = subprocess.Popen(
        [sys.executable, "-m", "inkl", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
         "--threads", "2"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        _wait_listening(server, port)
        response, page = _request(port, "GET", "/anmelden")
        assert response.status == 200 and "Anmelden" in page
        jar: dict[str, str] = {}
        cookie = _cookie(response, jar)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": "olga", "password": PASSWORD})
        response, _ = _request(port, "POST", "/anmelden", body=form, cookie=cookie)
        assert response.status == 302
        cookie = _cookie(response, jar)
        for _ in range(6):   # fresh connections: both processes answer, each with its own connections
            response, page = _request(port, "GET", "/r/testland/journal", cookie=cookie)
            assert response.status == 200 and "Kreis Testland" in page
    finally:
        server.send_signal(signal.SIGTERM)
        _out, log = server.communicate(timeout=60)
    assert server.returncode == 0, log
    assert len(re.findall(r"Booting worker with pid", log)) == 2, log
    assert "2 Prozesse mit je 2 Threads" in log


def test_a_taken_port_is_named_before_anything_starts(cli, tmp_path, monkeypatch):
    """``make demo`` on a port in use (issue 18): a German error naming the port, exit 1, and no
    demo data loaded (the check comes first)."""
    import socket

    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = cli("demo", "--port", str(port), expect=1)
        serve = cli("serve", "--port", str(port), expect=1)
    assert f"Port {port} auf 127.0.0.1 ist belegt" in demo.stderr and "Demodaten" not in demo.stderr
    assert f"Port {port} auf 127.0.0.1 ist belegt" in serve.stderr


@pytest.mark.parametrize(("host", "preset", "secure"), [
    ("127.0.0.1", None, "0"),         # plain HTTP on the loopback: the cookie must travel without HTTPS
    ("localhost", None, "0"),
    ("::1", None, "0"),
    ("0.0.0.0", None, None),          # any other address: left alone, so the app's default (secure) holds
    ("192.0.2.10", None, None),
    ("127.0.0.1", "1", "1"),          # an operator's own setting always wins
])
def test_serve_turns_the_secure_cookie_off_only_on_a_loopback_address(monkeypatch, host, preset, secure):
    """``inkl serve`` sets ``INKL_COOKIE_SECURE=0`` for 127.0.0.1, localhost and ::1 unless it is set
    already (the server itself is not started: its start is replaced)."""
    import webapp
    import webapp.server
    from inkl import cli

    started = {}
    monkeypatch.setattr(cli, "_check_port", lambda host, port: None)
    monkeypatch.setattr(webapp, "create_app", lambda: "app")
    monkeypatch.setattr(webapp, "warm_up", lambda app: None)
    monkeypatch.setattr(webapp.server, "run", lambda app, **options: started.update(options, app=app))
    monkeypatch.delenv("INKL_COOKIE_SECURE", raising=False)
    if preset is not None:
        monkeypatch.setenv("INKL_COOKIE_SECURE", preset)
    cli._serve(host, 8000, workers=1, threads=1)
    assert started == {"app": "app", "host": host, "port": 8000, "workers": 1, "threads": 1}
    assert os.environ.get("INKL_COOKIE_SECURE") == secure


@pytest.mark.parametrize(("value", "secure"), [(None, True), ("1", True), ("0", False)])
def test_the_app_sends_its_session_cookie_over_https_only_unless_told_otherwise(monkeypatch, database_url, value,
                                                                                secure):
    """``webapp.create_app`` reads ``INKL_COOKIE_SECURE``: secure by default, plain HTTP only with ``0``."""
    from webapp import create_app

    monkeypatch.delenv("INKL_COOKIE_SECURE", raising=False)
    if value is not None:
        monkeypatch.setenv("INKL_COOKIE_SECURE", value)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] is secure


def test_serve_freezes_the_warmed_up_application_before_the_workers_fork(monkeypatch):
    """The objects of the built application are frozen out of the garbage collector's walks
    (``gc.freeze``) before gunicorn forks: a full collection over them paused a worker for a
    tenth of a second in the middle of requests."""
    import gc

    from webapp import server

    frozen: list[int] = []
    monkeypatch.setattr(server._Server, "run", lambda self: frozen.append(gc.get_freeze_count()))
    gc.unfreeze()
    try:
        server.run(object(), host="127.0.0.1", port=_free_port(), workers=2, threads=1)
    finally:
        gc.unfreeze()
    assert frozen and frozen[0] > 0


def test_warm_up_compiles_the_dashboards_and_journals_sql_and_keeps_nothing(app, session, year, caplog):  # noqa: F811
    """After ``warm_up`` (before gunicorn forks) the figures of the newest entry's school year
    and its journal page run on statements compiled already: of about sixty, one misses the
    read engine's statement cache (the year's expense postings' condition is built once per
    recipient and school year and gains the ORM's compile options on its first use, which
    changes its cache key once; driver commands such as ``BEGIN`` have no key). No connection
    stays open and no figures are kept."""
    from datetime import date

    from sqlalchemy import event, select

    from ledger.core.models import JournalEntry
    from ledger.core.schoolyear import SchoolYear
    from ledger.reports.journal import journal_page
    from ledger.reports.repayment import RepaymentInputs
    from webapp import warm_up
    from webapp.db import close_session, get_packs, get_session
    from webapp.views.dashboard import YearFigures

    app.config["TODAY"] = date(2023, 3, 1)
    newest = SchoolYear.of(session.scalar(select(JournalEntry.date).order_by(JournalEntry.id.desc()).limit(1)))
    warm_up(app)
    assert "nicht vorbereitet" not in caplog.text
    engine = app.extensions["inkl_read_engine"]
    assert engine.pool.checkedout() == 0 and not app.extensions.get("inkl_figures")
    compiled: list = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: compiled.append(context.cache_hit))
    with app.test_request_context():
        reading, packs = get_session(), get_packs()
        YearFigures.compute(reading, year, newest, packs, date(2023, 3, 1), RepaymentInputs.load(reading, year))
        journal_page(reading, year, packs, with_sum=True, school_year=newest)
        close_session()
    assert compiled.count(engine.dialect.CACHE_HIT) >= 50 and compiled.count(engine.dialect.CACHE_MISS) <= 1
