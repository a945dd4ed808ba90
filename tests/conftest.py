"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is used when ``INKL_TEST_POSTGRES_URL`` is set (``make test`` sets it to the
local server). In CI (``CI`` set) it must be set and reachable: an unreachable server
fails the run instead of skipping. The schema comes from the Alembic migrations, as
in production; each test starts from an empty database.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from ledger.core import db
from ledger.core.models import Base
from ledger.read.importer import ImportSummary, import_file

POSTGRES_URL = os.environ.get("INKL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL or os.environ.get("CI") else [])
NOW = datetime(2026, 11, 22, 10, 0, 0)


def is_test_database(url: str) -> bool:
    """Whether the PostgreSQL database of ``url`` is named as a test database (its name contains
    ``test``, e.g. ``test`` or ``inkl_test_ci``): the fixtures drop its whole schema."""
    name = sa.engine.make_url(url).database or ""
    return "test" in name.lower()


#: The session-level advisory lock a test run holds on its PostgreSQL database (two keys, so
#: that it never meets a one-key lock of the application's).
_RUN_LOCK = (0x494E4B4C, 1)   # "INKL"
#: The connection holding it, open until the test process ends.
_run_lock_connection = None


def _take_database(url: str) -> None:
    """Hold ``_RUN_LOCK`` on the database of ``url`` for this test run, or fail at once: a
    second run on the same database would drop the schema under the first one's feet."""
    global _run_lock_connection
    if _run_lock_connection is not None:
        return
    try:
        connection = sa.create_engine(url, poolclass=sa.pool.NullPool).connect()
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {url} is unreachable: {exc}")
    taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"),
                               {"a": _RUN_LOCK[0], "b": _RUN_LOCK[1]}).scalar()
    connection.commit()
    if not taken:
        connection.close()
        pytest.fail(f"another test run uses the PostgreSQL database {sa.engine.make_url(url).database!r}; "
                    "wait for it to end or point INKL_TEST_POSTGRES_URL at another test database")
    _run_lock_connection = connection


def _migrated(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('template') / 'template.sqlite'}"
    if not POSTGRES_URL:
        pytest.fail("CI: INKL_TEST_POSTGRES_URL is not set, the PostgreSQL tests cannot run")
    if not is_test_database(POSTGRES_URL):
        pytest.fail(f"INKL_TEST_POSTGRES_URL names the database {sa.engine.make_url(POSTGRES_URL).database!r}: the "
                    "tests drop its whole schema, so only a database whose name contains 'test' is used")
    _take_database(POSTGRES_URL)
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
    finally:
        engine.dispose()
    return POSTGRES_URL


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_url(request, tmp_path_factory) -> str:
    """A database migrated to the newest revision, once per backend and test session
    (for SQLite a template file that each test copies)."""
    url = _migrated(request.param, tmp_path_factory)
    db.upgrade(url)
    return url


@pytest.fixture
def database_url(migrated_url, tmp_path) -> str:
    """The URL of an empty, migrated database for this test.

    SQLite: a fresh copy of the template file. PostgreSQL: the tables are emptied with
    triggers switched off (``session_replication_role = replica``, a superuser's right
    in the test database): the application itself can never delete books.
    """
    if migrated_url.startswith("sqlite"):
        copy = tmp_path / "test.sqlite"
        shutil.copyfile(migrated_url.removeprefix("sqlite:///"), copy)
        return f"sqlite:///{copy}"
    engine = sa.create_engine(migrated_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return migrated_url


@pytest.fixture
def engine(database_url) -> sa.Engine:
    """An engine (as the application configures it) on the test's empty database."""
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Session:
    """A session on empty tables; the test commits what it wants to keep."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def cli(database_url, engine, monkeypatch):
    """Run ``inkl`` commands against the test database: ``cli("recipient", "list", "--json")``."""
    from inkl.cli import main

    monkeypatch.setenv("INKL_DATABASE_URL", database_url)
    monkeypatch.setenv("INKL_USER", "test-officer")
    runner = CliRunner()

    def run(*args: str, expect: int = 0, input: str | None = None):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False, input=input)
        assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}"
        return result

    return run


@pytest.fixture(autouse=True)
def _apps_let_go_of_their_connections(monkeypatch):
    """Every Flask application a test creates (``webapp.create_app``, also a second "server
    process" or ``inkl serve`` with its server replaced) has its background jobs ended and its
    engines' connections closed when the test ends; otherwise each app keeps its pool open and
    PostgreSQL runs out of connections (max_connections) in a long run."""
    import webapp
    from webapp.db import dispose_engines

    created = []
    original = webapp.create_app

    def tracking(*args, **kwargs):
        created.append(original(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(webapp, "create_app", tracking)
    yield
    for made in created:
        jobs = made.extensions.get("inkl_jobs")
        if jobs is not None:
            jobs.shutdown()
        dispose_engines(made)


@pytest.fixture
def app(database_url, engine):
    """The Flask application on the test database (CSRF on, session cookie over plain HTTP); its
    background jobs have ended when the test ends. A view waits up to 60 s for its job, so that a
    loaded CI machine does not turn a result page into the progress page (tests of the progress
    page set ``JOB_WAIT_SECONDS`` to 0)."""
    from webapp import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SESSION_COOKIE_SECURE": False,
                      "JOB_WAIT_SECONDS": 60})
    yield app
    app.extensions["inkl_jobs"].shutdown()   # no job of this test may write while the next one empties the tables


PASSWORD = "Sicheres-Passwort-2026"


def add_web_user(session, username: str, role: str, recipients=(), all_recipients: bool = False):
    """A committed user with password ``PASSWORD`` working on ``recipients`` (a password of their
    own, not an initial one: no change is required at log-in)."""
    from ledger.core.users import add_user

    user = add_user(session, username, role, actor="test", now=NOW, password=PASSWORD, recipients=tuple(recipients),
                    all_recipients=all_recipients, initial_password=False)
    session.commit()
    return user


def csrf_token(client, path: str = "/anmelden") -> str:
    """The CSRF token of the form on ``path``."""
    import re

    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log ``client`` in through the log-in form (with its CSRF token); returns the response."""
    return client.post("/anmelden", data={"csrf_token": csrf_token(client), "username": username,
                                          "password": password})


def logged_in(app, username: str, password: str = PASSWORD):
    """A new test client of ``app``, logged in as ``username``."""
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory):
    """Debian's slapd on 127.0.0.1 (``tests.slapd.Directory``: ``ldap://`` with StartTLS,
    ``ldaps://``, the test CA), once per test session, with the people and groups of
    ``tests.slapd`` (skipped without slapd locally, failing in CI)."""
    from tests import slapd

    slapd.require_slapd()
    with slapd.running_slapd(tmp_path_factory.mktemp("slapd")) as directory:
        yield directory


@pytest.fixture(scope="session")
def slapd_uri(slapd_server) -> str:
    """The ``ldap://127.0.0.1:PORT`` of ``slapd_server``."""
    return slapd_server.uri


@pytest.fixture
def client(app):
    """A Flask test client."""
    return app.test_client()


@pytest.fixture
def anna(app, session, kreis):
    """A test client logged in as ``anna``, officer of Kreis Testland (``kreis``); ``paul`` is its
    auditor (password ``PASSWORD``)."""
    add_web_user(session, "anna", "officer", recipients=[kreis])
    add_web_user(session, "paul", "auditor", recipients=[kreis])
    client = app.test_client()
    login(client, "anna")
    return client


@pytest.fixture
def kreis(session):
    """A committed recipient "Kreis Testland" (key ``testland``) with the default chart."""
    from ledger.core.recipients import add_recipient

    recipient = add_recipient(session, "testland", "Kreis Testland", "kreis", actor="test", now=NOW)
    session.commit()
    return recipient


def add_master_data(session, recipient, *, pools: tuple[str, ...] = ("POOL-A", "POOL-B"),
                    basis: str = "systemic") -> None:
    """Master data behind the tests' worked examples: a GL school, a provider, ``pools``
    (each also a cost centre of that code) with financing ``basis`` from 2014 to 2030, and
    the member municipality Stadt Beispielheim (bears GL schools, verified 01.08.2014)
    with cost centre ``WL-BEISPIELHEIM``."""
    from ledger.workflows.masterdata import add

    def put(kind, row):
        add(session, recipient, kind, row, actor="test", now=NOW)

    put("school", {"Schulnummer": "100001", "Name": "Gesamtschule Am Park", "Schulträger": "Stadt Beispielheim",
                   "Schulform": "Gesamtschule", "GL-Schule": "ja"})
    put("provider", {"Name": "Träger A"})
    for key in pools:
        put("pool", {"Kennung": key, "Name": f"Pool {key}", "Träger": "Träger A", "Schulen": "100001",
                     "Beginn": "01.08.2014", "Ende": "31.07.2030", "Finanzierungsgrundlage": basis,
                     "Systemischer Anteil": ""})
        put("costcentre", {"Kostenstelle": key, "Schule": "", "Pool": key, "Gemeinde": "", "Projekt": ""})
    put("municipality", {"Name": "Stadt Beispielheim", "Träger von GL-Schulen": "ja", "Geprüft am": "01.08.2014",
                         "Nachweis": "Az. 40/2014-1", "Geprüft von": "Schulamt"})
    put("costcentre", {"Kostenstelle": "WL-BEISPIELHEIM", "Schule": "", "Pool": "", "Gemeinde": "Stadt Beispielheim",
                       "Projekt": ""})
    session.commit()


def import_bytes(session: Session, recipient, data: bytes, filename: str, **options) -> ImportSummary:
    """Import ``data`` as the file ``filename`` through ``import_file``, the product's one path
    (the command line's file, the web's staged upload); ``options`` as ``import_file`` takes them."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        return import_file(session, recipient, path, filename=filename, **options)


def internal_terms(text: str) -> list[str]:
    """What must not reach a user in ``text`` (a page's or PDF's visible text): seed file names,
    ``DOMAIN.md``/``Seed``, rule ids, the packs' category and pack ids, ``inkl …`` command lines."""
    import re

    from ledger.rules.classify import RULE_LABELS
    from ledger.rules.packs import load_packs

    packs = load_packs()
    ids = {rule for rule in RULE_LABELS if "." in rule} | {p.id for p in packs}
    ids |= {c.id for p in packs for c in p.categories if "_" in c.id}   # one-word ids are ordinary words
    found = re.findall(r"\d{3}_[0-9a-f]{16}\.txt|DOMAIN\.md|\bSeed\b|\bcategory\.\w+|\binkl [a-z]+", text)
    return found + sorted(i for i in ids if re.search(rf"(?<![\w.-]){re.escape(i)}(?![\w-])", text))


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` served by waitress on 127.0.0.1 and a free port, in a thread; yields its base URL
    (``http://127.0.0.1:PORT``) and stops the server after the block."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    stopping = threading.Event()

    def serve() -> None:
        try:
            server.run()
        except OSError:             # the socket closed under the loop's select() at shutdown
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        server.close()
        thread.join(timeout=5)
