"""Zugangstoken für Importskripte: the logged-in user's personal access tokens of the JSON API.

``GET /zugangstoken``: the user's tokens (name, first characters, created, valid until, last
used, state) and the form to create one. ``POST /zugangstoken``: create a token; the answer
shows its secret once (never stored, never in a redirect or a flash message; the page is
not cached). ``POST /zugangstoken/<id>/widerrufen``: revoke one of one's own tokens (another
user's answers 404). Every form carries a CSRF token; creating and revoking are audited
(``ledger.core.tokens``). A token acts with the user's own role and recipients, so every role
may have tokens.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ledger.core.errors import LedgerError
from ledger.core.models import User
from ledger.core.tokens import MAX_NAME, STATE_LABELS, create_token, list_tokens, revoke_token, token_state
from webapp.clock import timestamp, today
from webapp.db import get_session, write_session
from webapp.problems import API_PREFIX

bp = Blueprint("tokens", __name__)
#: Status of the page shown again with a form error (nothing was written).
FORM_ERROR_STATUS = 422


class TokenForm(FlaskForm):
    """A new token: its name (what the script does) and an optional last valid day."""

    name = StringField("Name (wofür das Skript das Token nutzt)", validators=[
        DataRequired("Bitte dem Zugangstoken einen Namen geben."),
        Length(max=MAX_NAME, message=f"Höchstens {MAX_NAME} Zeichen.")])
    expires_on = DateField("Gültig bis einschließlich (leer: bis zum Widerruf)", validators=[Optional()],
                           format=["%Y-%m-%d", "%d.%m.%Y"])


@bp.get("/zugangstoken")
def index():
    """The user's tokens and the form to create one."""
    return _page(TokenForm())


@bp.post("/zugangstoken")
def create():
    """Create a token; its secret is shown once, on this answer only."""
    form = TokenForm()
    if not form.validate_on_submit():
        if form.expires_on.raw_data and form.expires_on.raw_data[0] and form.expires_on.data is None:
            form.expires_on.errors = ["Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."]
        return _page(form), FORM_ERROR_STATUS
    try:
        with write_session() as session:
            user = session.get(User, current_user.user.id)
            new = create_token(session, user, form.name.data, actor=user.username, now=timestamp(),
                               expires_on=form.expires_on.data)
            token_id, secret = new.token.id, new.secret
    except LedgerError as exc:
        form.name.errors.append(str(exc))
        return _page(form), FORM_ERROR_STATUS
    return _page(TokenForm(formdata=None), secret=secret, created=token_id)


@bp.post("/zugangstoken/<int:token_id>/widerrufen")
def revoke(token_id: int):
    """Revoke one of the user's own tokens (404 for anyone else's)."""
    with write_session() as session:
        user = session.get(User, current_user.user.id)
        token = revoke_token(session, user, token_id, actor=user.username, now=timestamp())
        flash(f"Zugangstoken „{token.name}“ ({token.prefix}…) ist widerrufen; Skripte, die es nutzen, "
              "werden ab sofort abgewiesen.")
    return redirect(url_for("tokens.index"))


def _page(form: TokenForm, *, secret: str | None = None, created: int | None = None) -> str:
    day = today()
    rows = [(token, STATE_LABELS[token_state(token, day)]) for token in list_tokens(get_session(), current_user.user)]
    return render_template("tokens.html", form=form, rows=rows, secret=secret, created=created,
                           openapi=f"{API_PREFIX}/openapi.json", nav="tokens")
