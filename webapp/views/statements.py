"""Settlement statements (Abrechnungen): the current PDF, issuing one, and the issued ones with their hash."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user

from ledger.issued import get_issued, issue_statement, list_issued
from ledger.models import Recipient, User
from ledger.statement import build_statement
from ledger.statement_pdf import render_statement
from ledger.users import can_write
from webapp.auth import recipient_for
from webapp.db import get_packs, get_session, write_session
from webapp.views import require_year, timestamp

bp = Blueprint("statements", __name__, url_prefix="/r/<key>")


@bp.get("/<int:start_year>/statement.pdf")
def pdf(key: str, start_year: int):
    """The statement of school year ``start_year``/``start_year + 1`` as of now (not stored), as an
    attachment ``Abrechnung_<key>_<2023-24>.pdf``."""
    session = get_session()
    recipient = recipient_for(key)
    year, _years = require_year(recipient, start_year)
    data = build_statement(session, recipient, year, now=timestamp(), packs=get_packs())
    return _pdf_response(render_statement(data), f"Abrechnung_{recipient.key}_{str(year).replace('/', '-')}.pdf")


@bp.get("/<int:start_year>/abrechnungen")
def index(key: str, start_year: int):
    """The statements issued for the school year (newest first) with SHA-256 and chain head."""
    session = get_session()
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    return render_template("statements.html", recipient=recipient, year=year, years=years,
                           issued=list_issued(session, recipient, year),
                           may_issue=can_write(current_user.user, recipient))


@bp.post("/<int:start_year>/abrechnungen")
def issue(key: str, start_year: int):
    """Issue (render and keep) the statement as of now; officers only."""
    recipient = recipient_for(key, write=True)
    year, _years = require_year(recipient, start_year)
    with write_session() as session:
        issued = issue_statement(session, session.get(Recipient, recipient.id), year,
                                 user=session.get(User, current_user.user.id),
                                 now=timestamp(), packs=get_packs())
        number, digest = issued.id, issued.sha256
    flash(f"Abrechnung Nr. {number} ausgestellt (SHA-256 {digest}).")
    return redirect(url_for("statements.index", key=recipient.key, start_year=start_year))


@bp.get("/abrechnung/<int:statement_id>.pdf")
def issued_pdf(key: str, statement_id: int):
    """An issued statement, byte for byte as stored."""
    recipient = recipient_for(key)
    issued = get_issued(get_session(), recipient, statement_id)
    name = f"Abrechnung_{recipient.key}_{issued.school_year.replace('/', '-')}_Nr{issued.id}.pdf"
    return _pdf_response(issued.pdf, name)


def _pdf_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})

