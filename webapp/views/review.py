"""Classification of one recipient and school year: the review queue and every posting's decision."""
from __future__ import annotations

from flask import Blueprint, render_template

from ledger.classify import STATUS_LABELS
from ledger.evaluate import review_queue
from ledger.evaluation_runs import classified, list_runs
from ledger.overrides import STATUS_LABELS as OVERRIDE_LABELS, list_overrides
from webapp.auth import recipient_for
from webapp.db import get_packs, get_session
from webapp.views import require_year

bp = Blueprint("review", __name__, url_prefix="/r/<key>")


@bp.get("/<int:start_year>/pruefliste")
def show(key: str, start_year: int):
    """Postings with what an officer must still supply, the engine's reason and its source."""
    session = get_session()
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    return render_template("review.html", recipient=recipient, year=year, years=years,
                           items=review_queue(session, recipient, year, get_packs()))


@bp.get("/<int:start_year>/einstufung")
def classification(key: str, start_year: int):
    """Every expense posting with its classification (rule, reason, source, override), the
    recorded evaluation runs and the overrides with their justifications."""
    session = get_session()
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    basis = classified(session, recipient, year, get_packs())
    return render_template("classification.html", recipient=recipient, year=year, years=years,
                           items=basis.items, state=basis.state, runs=list_runs(session, recipient, year),
                           overrides=list_overrides(session, recipient, year), labels=STATUS_LABELS,
                           override_labels=OVERRIDE_LABELS)
