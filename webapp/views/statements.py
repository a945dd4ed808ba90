"""Download of the settlement statement (Abrechnung) as PDF."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response

from webapp.auth import recipient_for
from ledger.statement import build_statement
from ledger.statement_pdf import render_statement
from webapp.db import get_packs, get_session
from webapp.views import require_year

bp = Blueprint("statements", __name__, url_prefix="/r/<key>")


@bp.get("/<int:start_year>/statement.pdf")
def pdf(key: str, start_year: int):
    """The statement of school year ``start_year``/``start_year + 1`` as an attachment
    ``Abrechnung_<key>_<2023-24>.pdf``."""
    session = get_session()
    recipient = recipient_for(key)
    year, _years = require_year(recipient, start_year)
    data = build_statement(session, recipient, year, now=datetime.now().replace(microsecond=0), packs=get_packs())
    filename = f"Abrechnung_{recipient.key}_{str(year).replace('/', '-')}.pdf"
    return Response(
        render_statement(data), mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
