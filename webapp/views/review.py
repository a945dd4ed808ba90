"""The review queue of one recipient and school year: postings the rules cannot decide yet."""
from __future__ import annotations

from flask import Blueprint, render_template

from ledger.evaluate import review_queue
from ledger.recipients import get_recipient
from webapp.db import get_packs, get_session
from webapp.views import require_year

bp = Blueprint("review", __name__, url_prefix="/r/<key>")


@bp.get("/<int:start_year>/pruefliste")
def show(key: str, start_year: int):
    """Postings with what an officer must still supply, the engine's reason and its source."""
    session = get_session()
    recipient = get_recipient(session, key)
    year, years = require_year(recipient, start_year)
    return render_template("review.html", recipient=recipient, year=year, years=years,
                           items=review_queue(session, recipient, year, get_packs()))
