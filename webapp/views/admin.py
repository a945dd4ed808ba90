"""Administration: users (create, lock/unlock, new password) and the audit log for auditors.

User management needs the admin role. The audit log (Protokoll) shows who wrote what
and when: admins and auditors for all recipients see everything, other users the
events of the recipients they may read.
"""
from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ledger.core.agreements import STATUSES as AGREEMENT_STATUSES
from ledger.core.audit import (
    ACTION_LABELS,
    action_label,
    event_actors,
    list_events,
    readable_details,
)
from ledger.core.errors import LedgerError
from ledger.core.models import Recipient, User
from ledger.core.users import (
    MIN_PASSWORD,
    ROLE_LABELS,
    add_user,
    list_users,
    readable_recipients,
    reads_all,
    set_active,
    set_password,
)
from ledger.rules.status import STATUS_LABELS
from webapp.clock import timestamp
from webapp.db import get_packs, get_session, write_session

bp = Blueprint("admin", __name__)
PER_PAGE = 50


class NewUserForm(FlaskForm):
    """A new user: name, role, initial password, recipients, read access to all (auditors)."""

    username = StringField("Benutzername", validators=[DataRequired("Bitte einen Benutzernamen angeben."),
                                                       Length(max=80)])
    role = SelectField("Rolle", choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()])
    password = PasswordField("Erstes Passwort", validators=[
        DataRequired("Bitte ein Passwort angeben."),
        Length(min=MIN_PASSWORD, message=f"Das Passwort braucht mindestens {MIN_PASSWORD} Zeichen.")])
    recipients = SelectMultipleField("Empfänger", choices=[], validate_choice=False)
    all_recipients = BooleanField("Prüfung: Lesezugriff auf alle Empfänger")


class PasswordResetForm(FlaskForm):
    """A new password set by the admin."""

    password = PasswordField("Neues Passwort", validators=[
        Optional(), Length(min=MIN_PASSWORD, message=f"Das Passwort braucht mindestens {MIN_PASSWORD} Zeichen.")])


def _require_admin() -> None:
    if current_user.role != "admin":
        abort(403, "Nur die Administration verwaltet Benutzer.")


@bp.route("/admin/benutzer", methods=["GET", "POST"])
def users():
    """All users with role, scope and state; the form for a new user (admins only)."""
    _require_admin()
    session = get_session()
    form = NewUserForm()
    form.recipients.choices = [SelectChoice(r.key, f"{r.name} ({r.key})") for r in
                               session.scalars(select(Recipient).order_by(Recipient.key))]
    if form.validate_on_submit():
        try:
            with write_session() as writer:
                chosen = tuple(writer.scalars(select(Recipient).where(Recipient.key.in_(form.recipients.data or []))))
                add_user(writer, form.username.data.strip(), form.role.data, actor=current_user.username,
                         now=timestamp(), password=form.password.data, recipients=chosen,
                         all_recipients=form.all_recipients.data)
        except LedgerError as exc:
            form.username.errors.append(str(exc))
        else:
            flash(f"Benutzer {form.username.data.strip()} angelegt.")
            return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin_users.html", users=list_users(session), form=form, reset=PasswordResetForm(),
                           role_labels=ROLE_LABELS), status


@bp.post("/admin/benutzer/<username>/sperren")
def lock(username: str):
    """Lock or unlock (``active=0|1``) a user."""
    _require_admin()  # the CSRF token is checked for every POST by CSRFProtect
    active = request.form.get("active") == "1"
    with write_session() as writer:
        user = _user(writer, username)
        set_active(writer, user, active, actor=current_user.username, now=timestamp())
    flash(f"Benutzer {username} {'entsperrt' if active else 'gesperrt'}.")
    return redirect(url_for("admin.users"))


@bp.post("/admin/benutzer/<username>/passwort")
def reset_password(username: str):
    """Set a new password for a user (their sessions end)."""
    _require_admin()
    form = PasswordResetForm()
    if not form.validate_on_submit() or not form.password.data:
        message = " ".join(form.password.errors) or "Bitte ein neues Passwort angeben."
        abort(400, message)
    with write_session() as writer:
        set_password(writer, _user(writer, username), form.password.data, actor=current_user.username, now=timestamp())
    flash(f"Neues Passwort für {username} gesetzt.")
    return redirect(url_for("admin.users"))


@bp.get("/regelwerke")
def rule_packs():
    """The rule packs in force (read-only for everyone): validity, version, SHA-256 of the file,
    categories with status and source, rule sources. Packs are changed as files in ``rules/``
    by the administration, reviewed like code; a change shows as a new evaluation run."""
    return render_template("rule_packs.html", packs=sorted(get_packs(), key=lambda p: p.valid_from, reverse=True),
                           status_labels=STATUS_LABELS)


@bp.get("/protokoll")
def audit_log():
    """The audit log, newest first, 50 per ``page``, limited to what the user may read; filtered by
    the query parameters ``aktion`` (action name), ``person``, ``empfaenger`` (recipient key) and
    ``von``/``bis`` (days, TT.MM.JJJJ or JJJJ-MM-TT, inclusive). Actions and details in German."""
    session = get_session()
    user = current_user.user
    everything = reads_all(user)
    readable = sorted(session.scalars(select(Recipient)) if everything else readable_recipients(session, user),
                      key=lambda r: r.key)
    args, errors = request.args, {}
    since, until = _day(args.get("von"), "von", errors), _day(args.get("bis"), "bis", errors)
    key = args.get("empfaenger") or None
    chosen = [r for r in readable if r.key == key] if key else readable
    if key and not chosen:
        errors["empfaenger"] = f"Empfänger {key!r} ist nicht bekannt oder nicht lesbar."
    recipient_ids = {r.id for r in chosen} if (key or not everything) else None
    page = max(args.get("page", 1, type=int), 1)
    events, total = list_events(session, recipient_ids=recipient_ids, include_global=everything and not key,
                                offset=(page - 1) * PER_PAGE, limit=PER_PAGE, action=args.get("aktion") or None,
                                actor=args.get("person") or None, since=since, until=until)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    # "status" of agreements recorded before their own key "agreement_status" existed: German too
    value_labels = {"status": {**AGREEMENT_STATUSES, **STATUS_LABELS}, "agreement_status": AGREEMENT_STATUSES,
                    "role": ROLE_LABELS}
    rows = [(event, recipient_key, action_label(event.action), readable_details(event.details, value_labels))
            for event, recipient_key in events]
    filters = {name: args.get(name, "") for name in ("aktion", "person", "empfaenger", "von", "bis")}
    actors = event_actors(session, recipient_ids=None if everything else {r.id for r in readable},
                          include_global=everything)
    return render_template("audit_log.html", rows=rows, total=total, page=page, pages=pages, filters=filters,
                           errors=errors, actions=ACTION_LABELS, actors=[(name, name) for name in actors],
                           recipients=[(r.key, r.name) for r in readable],
                           active=any(filters.values())), 400 if errors else 200


def _day(text: str | None, name: str, errors: dict[str, str]) -> date | None:
    """A filter day from TT.MM.JJJJ or JJJJ-MM-TT (the date field's format); None if empty or wrong
    (then ``errors[name]`` says so in German)."""
    if not text:
        return None
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    errors[name] = f"„{text}“ ist kein Datum (TT.MM.JJJJ)."
    return None


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        abort(404, f"Benutzer {username!r} nicht gefunden")
    return user

