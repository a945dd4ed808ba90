"""Log-in, log-out and password change; who may see and write which recipient.

Every page except the log-in page needs a logged-in user (Flask-Login). Passwords are
checked by ``ledger.core.users.check_password`` (Argon2id). Log-in sessions live in the
database (``ledger.core.sessions``): the signed cookie carries only a random token, and a
session ends at log-out, when the password is set or the account locked, after 30 minutes
without a request and 12 hours after the log-in, so a copied cookie opens nothing afterwards.
Log-in attempts are rate-limited per client address (Flask-Limiter, counted
in each server process's memory).
Every form carries a CSRF token (Flask-WTF, ``CSRFProtect`` in ``create_app``).

Directory log-in (``DIRECTORY`` in the app's configuration, ``ledger.core.directory``): a
user with a local password logs in locally only (the first admin, small installations);
any other name is checked by binding to the directory, whose groups set the role and
recipients at each log-in. A directory account keeps no password. A user whose groups grant no role is refused (and audited); a
directory that cannot be reached gives a German message, not an error page.

The JSON API (``/api/v1``, ``webapp.api``) needs no log-in: it authenticates every request by
its access token (``Authorization: Bearer …``) and answers in JSON.

Access: ``recipient_for(key)`` gives the recipient if the user may read it, else 404
(another Kreis's pages do not even reveal that it exists); ``recipient_for(key,
write=True)`` additionally needs an officer assigned to it (else 403).
"""
from __future__ import annotations

import re

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ledger.core import directory, sessions
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import Recipient, User
from ledger.core.recipients import get_recipient, valid_key
from ledger.core.users import (
    MIN_PASSWORD,
    can_read,
    can_write,
    check_password,
    set_password,
    spend_check_time,
)
from webapp.clock import timestamp
from webapp.db import get_session, write_session
from webapp.problems import is_api_request

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Bitte melden Sie sich an."
login_manager.session_protection = "strong"


def _client_key() -> str:
    """Rate-limit key: the client address, per application instance (tests run many apps)."""
    return f"{id(current_app._get_current_object())}:{get_remote_address()}"


limiter = Limiter(key_func=_client_key, storage_uri="memory://", default_limits=[])

PUBLIC_ENDPOINTS = {"auth.login", "static", "accessibility.statement"}
#: What a user whose password must be changed (an initial password) may reach: nothing else.
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout"}
INITIAL_PASSWORD = ("Ihr Passwort wurde von der Administration vergeben. Bitte ändern Sie es jetzt; erst dann "
                    "sind die übrigen Seiten erreichbar.")
WRONG = "Benutzername oder Passwort ist falsch."
NO_ROLE = ("Ihre Anmeldung im Verzeichnis war erfolgreich, aber keiner Ihrer Gruppen ist hier eine Rolle zugeordnet. "
           "Bitte wenden Sie sich an die Administration.")
UNAVAILABLE = ("Das Verzeichnis für die Anmeldung ist gerade nicht erreichbar. Bitte versuchen Sie es später "
               "erneut oder wenden Sie sich an die Administration.")


class WebUser(UserMixin):
    """The logged-in user for Flask-Login: the ``User`` row of this request and the token of
    its log-in session (``ledger.core.sessions``)."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.username = user.username
        self.role = user.role
        self.token = token

    def get_id(self) -> str:
        """``"<user id>:<session token>"``, kept in the signed session cookie."""
        return f"{self.user.id}:{self.token}"


@login_manager.user_loader
def _load(session_id: str) -> WebUser | None:
    """The user of a live log-in session (not ended, not idle, not too old, account active)."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    found = sessions.find_session(get_session(), int(user_id), token)
    if found is None or not found[0].active:
        return None
    user, row = found
    now = timestamp()
    seen = cookie_session.get(LAST_REQUEST)
    last_request = datetime.fromtimestamp(seen) if isinstance(seen, (int, float)) else row.created_at
    if sessions.expired(row, last_request, now):
        return None                       # stays refused: its times never become younger
    cookie_session[LAST_REQUEST] = now.timestamp()
    return WebUser(user, token)


#: Key of the last request's time (seconds since the epoch) in the signed session cookie.
LAST_REQUEST = "seen"


def _log_in(user: User) -> None:
    """Open a log-in session for ``user`` and put its token into the session cookie."""
    now = timestamp()
    with write_session() as writer:
        token = sessions.start_session(writer, writer.get(User, user.id), now=now).token
    login_user(WebUser(user, token))
    cookie_session[LAST_REQUEST] = now.timestamp()


def recipient_for(key: str, *, write: bool = False, user: User | None = None) -> Recipient:
    """The recipient ``key`` if the user may read it (else 404) and, with ``write``, write it
    (else 403). ``user``: whose rights count; default the logged-in user (the API passes the
    user its access token acts for)."""
    hidden = f"Empfänger {key!r} nicht gefunden"  # unknown and foreign recipients look the same
    if not valid_key(key):  # no look-up for what cannot be a key (e.g. a NUL byte PostgreSQL refuses)
        abort(404, hidden)
    try:
        recipient = get_recipient(get_session(), key)
    except NotFound:
        abort(404, hidden)
    user = current_user.user if user is None else user
    if not can_read(user, recipient):
        abort(404, hidden)
    if write and not can_write(user, recipient):
        abort(403, "Nur die zuständige Sachbearbeitung darf hier buchen oder ändern.")
    return recipient


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Benutzername", validators=[DataRequired("Bitte den Benutzernamen angeben.")])
    password = PasswordField("Passwort", validators=[DataRequired("Bitte das Passwort angeben.")])


class PasswordForm(FlaskForm):
    """Current password, new password twice."""

    current = PasswordField("Bisheriges Passwort", validators=[DataRequired("Bitte das bisherige Passwort angeben.")])
    new = PasswordField("Neues Passwort", validators=[
        DataRequired("Bitte ein neues Passwort angeben."),
        Length(min=MIN_PASSWORD, message=f"Das Passwort braucht mindestens {MIN_PASSWORD} Zeichen.")])
    repeat = PasswordField("Neues Passwort wiederholen", validators=[
        EqualTo("new", message="Die beiden neuen Passwörter stimmen nicht überein.")])


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], error_message="Zu viele Anmeldeversuche; bitte eine Minute warten.")
def login():
    """The log-in form; on success back to the page asked for (same site only)."""
    form = LoginForm()
    status = 401 if request.method == "POST" else 200
    if form.validate_on_submit():
        name = form.username.data.strip()
        user = get_session().scalar(select(User).where(User.username == name))
        config = current_app.config.get("DIRECTORY")
        message = WRONG
        if user is not None and user.password_hash:      # a local account: its own password only
            if not check_password(user, form.password.data):
                user = None
        elif config is not None:
            user, message, status = _directory_log_in(config, name, form.password.data)
        else:
            spend_check_time(form.password.data)         # an unknown name takes as long as a wrong password
            user = None
        if user is not None:
            _log_in(user)
            current_app.logger.info("Anmeldung %s", user.username)
            return redirect(_safe_next(request.args.get("next")))
        current_app.logger.warning("fehlgeschlagene Anmeldung für %r von %s", form.username.data,
                                   request.remote_addr)
        form.password.errors.append(message)
    return render_template("login.html", form=form), status


def _directory_log_in(config, name: str, password: str) -> tuple[User | None, str, int]:
    """Log ``name`` in at the directory: ``(user, message, status)``, the user None if refused
    (with the German message and HTTP status to show)."""
    refused = user = None
    try:
        with write_session() as writer:   # its objects stay loaded after the block (expire_on_commit off)
            try:
                user = directory.log_in(writer, config, name, password, now=timestamp())
            except directory.NoRole:
                refused = NO_ROLE              # the refusal's audit event is committed with the block
    except directory.DirectoryUnavailable:
        return None, UNAVAILABLE, 503
    except LedgerError as exc:                 # wrong password, unknown, a local or locked account
        current_app.logger.info("Verzeichnis-Anmeldung %r abgelehnt: %s", name, exc)
        return None, WRONG, 401
    if refused:
        current_app.logger.warning("Verzeichnis-Anmeldung %r: keine Rolle", name)
        return None, refused, 403
    return user, WRONG, 401


@bp.post("/abmelden")
@login_required
def logout():
    """End the session, in the database too, so that a copy of the cookie opens nothing (POST
    with CSRF token, so no other site can log a user out)."""
    with write_session() as writer:
        sessions.end_session(writer, current_user.user.id, current_user.token, now=timestamp())
    logout_user()
    flash("Sie sind abgemeldet.")
    return redirect(url_for("auth.login"))


@bp.route("/passwort", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions of the user end with it."""
    form = PasswordForm()
    if not current_user.user.password_hash:           # a directory account: the directory keeps the password
        return render_template("password.html", form=None)
    if form.validate_on_submit():
        if not check_password(current_user.user, form.current.data):
            form.current.errors.append("Das bisherige Passwort ist falsch.")
        else:
            with write_session() as session:
                user = session.get(User, current_user.user.id)
                try:
                    set_password(session, user, form.new.data, actor=user.username, now=timestamp())
                except LedgerError as exc:
                    form.new.errors.append(str(exc))
                    session.rollback()
                else:
                    session.flush()
            if not form.new.errors:
                _log_in(current_user.user)        # set_password ended every session of the user
                flash("Das Passwort ist geändert.")
                return redirect(url_for("home.index"))
    return render_template("password.html", form=form)


def require_login() -> None:
    """``before_request``: every page but the log-in page and static files needs a user, and a
    user with an initial password (``User.password_change_required``) reaches only the password
    page and log-out until it is changed. The JSON API (``webapp.api``) authenticates each
    request by its access token instead, and never by the session cookie."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None or is_api_request():
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.user.password_change_required and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        flash(INITIAL_PASSWORD)
        return redirect(url_for("auth.change_password"))
    return None


def security_headers(response):
    """``after_request``: CSP without inline code, no framing, no sniffing, no caching of the books."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the start page. Only printable ASCII
    without backslash, starting with one ``/`` followed by something other than ``/``: a
    browser drops tabs and line breaks from a URL (``/\t/evil.example`` would become
    ``//evil.example``, another site) and a line break in a header is refused by the server."""
    if target and _SAME_SITE_PATH.fullmatch(target):
        return target
    return url_for("home.index")


#: A same-site path: "/" alone or "/" and a character other than "/" and "\", then printable ASCII.
_SAME_SITE_PATH = re.compile(r"/(?:[!-.0-\[\]-~][!-\[\]-~]*)?")

