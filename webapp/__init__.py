"""The web UI of the Inklusionspauschale ledger (Flask application factory).

The views call the same core functions as the ``inkl`` command line
(``ledger.reports.repayment``, ``ledger.reports.statement``, ``ledger.reports.journal`` …) and render German
HTML. Every page needs a log-in (``webapp.auth``); every form carries a CSRF token
(Flask-WTF); responses carry security headers. Configuration:

- ``DATABASE_URL``: SQLAlchemy URL of the books (default ``ledger.core.settings.database_url()``).
- ``SECRET_KEY``: ``INKL_SECRET_KEY`` from the environment, else a random key kept in the
  instance folder's file ``secret_key`` (created on first start, so sessions survive
  restarts). With ``TESTING`` and no key given, a random key is used and nothing is written.
- ``JOB_WORKERS`` (default 2), ``JOB_WAIT_SECONDS`` (default 2): threads for long operations
  (import, statement) in each server process, and how long a request waits for one before
  it shows its progress page instead (``webapp.jobs``).
- ``TODAY`` (optional, ``datetime.date``): the day the deadline countdown counts from;
  default the current date (tests fix it).
- ``SESSION_COOKIE_SECURE``: ``INKL_COOKIE_SECURE`` (``1`` default: the session cookie is
  sent over HTTPS only, as behind a TLS reverse proxy; ``0`` for plain HTTP on
  127.0.0.1, which ``inkl serve`` sets for a loopback address). The cookie is always
  HttpOnly and SameSite=Lax.
- ``DIRECTORY``: the directory log-in (``ledger.core.directory_config.DirectoryConfig``) or
  None for local accounts only; default the ``[directory]`` table of the instance's
  configuration file (``INKL_CONFIG``, else ``instance/inkl.toml``); an invalid table stops
  the start with an error naming the key.
- ``PASS_THROUGH_DIRS``: the folders of the Kreise's pass-through plans (TOML) shown under
  Verteilungspläne; default ``ledger.core.settings.pass_through_dirs()`` (the instance folder's
  ``verteilung/`` and ``INKL_PASS_THROUGH_DIRS``).
- ``ACCESSIBILITY``: the feedback contact of the accessibility statement
  (``ledger.core.accessibility_config.AccessibilityContact``); default the ``[accessibility]``
  table of the instance's configuration file, each key overridable by an ``INKL_A11Y_…``
  environment variable; an invalid value stops the start with an error naming the key.
- ``INKL_TRUSTED_PROXIES`` (default 0): the number of reverse proxies in front of the app;
  their ``X-Forwarded-For``/``-Proto`` headers are then trusted (werkzeug's ProxyFix), so
  the log-in rate limit counts per client, not per proxy.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from ledger.core import settings
from ledger.core.db import make_engine, read_engine

SECRET_KEY_FILE = "secret_key"


def create_app(test_config: dict | None = None) -> Flask:
    """Create the Flask application.

    ``test_config`` overrides the configuration (e.g. ``{"TESTING": True,
    "DATABASE_URL": "sqlite:///…"}``). One SQLAlchemy engine per application; a session
    per request (``webapp.db``).
    """
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    app.config.from_mapping(
        JSON_AS_ASCII=False, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("INKL_COOKIE_SECURE", "1") != "0",
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,  # no request body above 25 MB (imports: IMPORT_MAX_BYTES, 20 MB)
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = settings.database_url()
    if "DIRECTORY" not in app.config:
        from ledger.core.directory_config import load_directory_config

        app.config["DIRECTORY"] = load_directory_config(settings.config_path())
    if "PASS_THROUGH_DIRS" not in app.config:
        app.config["PASS_THROUGH_DIRS"] = settings.pass_through_dirs()
    if "ACCESSIBILITY" not in app.config:
        from ledger.core.accessibility_config import load_accessibility_contact

        app.config["ACCESSIBILITY"] = load_accessibility_contact(settings.config_path())
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)

    app.extensions["inkl_engine"] = make_engine(app.config["DATABASE_URL"])
    app.extensions["inkl_read_engine"] = read_engine(app.extensions["inkl_engine"])
    proxies = int(os.environ.get("INKL_TRUSTED_PROXIES", "0"))
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from flask_wtf.csrf import CSRFProtect

    from ledger.rules.packs import NoRulePack
    from webapp import api, auth, db, errors, form_errors, formatting, jobs, views
    from webapp.views import (
        accessibility,
        accounts,
        allocation,
        admin,
        bank,
        budget,
        dashboard,
        downloads,
        home,
        imports,
        journal,
        masterdata,
        ministry,
        notification,
        review,
        statements,
        tokens,
        year,
    )

    csrf = CSRFProtect(app)
    auth.login_manager.init_app(app)
    auth.limiter.init_app(app)
    app.before_request(auth.require_login)
    app.after_request(auth.security_headers)
    app.register_blueprint(auth.bp)
    db.init_app(app)
    formatting.init_app(app)
    app.jinja_env.globals["form_error_items"] = form_errors.error_items
    errors.init_app(app)
    app.register_error_handler(NoRulePack, views.year_error_page)
    jobs.init_app(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(journal.bp)
    app.register_blueprint(statements.bp)
    app.register_blueprint(notification.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(masterdata.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(budget.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(bank.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(tokens.bp)
    app.register_blueprint(allocation.bp)
    app.register_blueprint(ministry.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(year.bp)
    app.register_blueprint(accessibility.bp)
    api.init_app(app, csrf)
    return app


def warm_up(app: Flask) -> None:
    """Load the rule packs, compile every template, load the German locale data, configure the
    ORM's mappers and compile the SQL of the dashboard and the journal now, so that no
    request pays for them. ``inkl serve`` calls it once before gunicorn forks its worker
    processes (``webapp.server``), which then start warm: each worker's first dashboard took
    about 0,3 s of CPU more than the next ones at 1 000 000 postings.

    The SQL is compiled by computing the figures of the school year of the newest journal
    entry and reading the first page of its journal, through one connection that is closed
    again (nothing is written or kept). If the database cannot be read, the server starts
    without that part, with a warning in its log."""
    from datetime import date

    from babel.dates import format_date
    from sqlalchemy.orm import configure_mappers

    from webapp.db import get_packs
    from webapp.formatting import LOCALE

    with app.app_context():
        get_packs()
    for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
        app.jinja_env.get_template(name)
    format_date(date(2024, 4, 1), "EEEE, d. LLLL yyyy", locale=LOCALE)   # Babel loads a locale's data on first use
    configure_mappers()
    _warm_up_pages(app)


def _warm_up_pages(app: Flask) -> None:
    """Compute the newest entry's school year's dashboard figures and its journal's first page
    once and forget them (``warm_up``); the engines' connections are closed afterwards."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.core.errors import LedgerError
    from ledger.core.models import JournalEntry, Recipient
    from ledger.core.schoolyear import SchoolYear
    from ledger.reports.journal import journal_page
    from ledger.reports.repayment import RepaymentInputs
    from webapp.clock import today
    from webapp.db import close_session, dispose_engines, get_packs, get_session
    from webapp.views.dashboard import YearFigures

    with app.test_request_context():
        try:
            session, packs = get_session(), get_packs()
            newest = session.execute(select(Recipient, JournalEntry.date).join(JournalEntry)
                                     .order_by(JournalEntry.id.desc()).limit(1)).first()
            if newest is not None:
                recipient, year = newest[0], SchoolYear.of(newest[1])
                YearFigures.compute(session, recipient, year, packs, today(), RepaymentInputs.load(session, recipient))
                journal_page(session, recipient, packs, with_sum=True, school_year=year)
        except (SQLAlchemyError, LedgerError) as exc:
            app.logger.warning("Dashboard und Journal nicht vorbereitet: %s", exc)
        finally:
            close_session()
    dispose_engines(app)


def _secret_key(app: Flask) -> str:
    """``INKL_SECRET_KEY``, else the instance folder's ``secret_key`` file (created once, mode 0600)."""
    from_env = os.environ.get("INKL_SECRET_KEY")
    if from_env:
        return from_env
    if app.testing:
        return secrets.token_hex(32)
    path = Path(app.instance_path) / SECRET_KEY_FILE
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it meanwhile: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
