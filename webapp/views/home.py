"""Start page: the recipients of the grant the logged-in user may see."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ledger.core.users import readable_recipients
from webapp.db import get_session
from webapp.views import default_school_year

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """The recipients the user may see, with a link to the dashboard of their latest school year."""
    rows = [(recipient, default_school_year(recipient))
            for recipient in readable_recipients(get_session(), current_user.user)]
    return render_template("home.html", rows=rows)
