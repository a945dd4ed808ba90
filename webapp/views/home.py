"""Start page: the recipients of the grant."""
from __future__ import annotations

from flask import Blueprint, render_template

from ledger.recipients import list_recipients
from webapp.db import get_session
from webapp.views import default_school_year

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """All recipients with a link to the dashboard of their latest school year."""
    rows = [(recipient, default_school_year(recipient)) for recipient in list_recipients(get_session())]
    return render_template("home.html", rows=rows)
