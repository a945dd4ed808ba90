"""Allocation plans (Verteilung nach Formel): a plan's table as its formula computes it, the
differences to the source table's own sum row, and each recipient's claims against its ceiling.

Readable by everyone who may read the plan's grantor (the Kreis): its officers and auditors
with access to all recipients. Source: seed 003_dcbc53400bdc01b8.txt (Kreis Mettmann,
Hildener Modellrechnung); the plan and the formula are rule-pack data.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from ledger.reports.allocation import COLUMN_TITLES, claims_overview, compute_allocation
from ledger.rules.packs import NoRulePack
from webapp.auth import recipient_for
from webapp.db import get_packs, get_session

bp = Blueprint("allocation", __name__, url_prefix="/verteilung")


@bp.get("/<plan_key>")
def show(plan_key: str):
    """The plan ``plan_key`` (``mettmann-2014``): rows, sums, differences, claims; 404 for an
    unknown plan or a grantor the user may not read."""
    try:
        result = compute_allocation(plan_key, get_packs())
    except NoRulePack:
        abort(404, "Verteilungsplan nicht gefunden")
    grantor = recipient_for(result.plan.grantor_key)
    claims = claims_overview(get_session(), plan_key, packs=get_packs())
    return render_template("allocation.html", result=result, rule=result.pack.allocation, grantor=grantor,
                           claims=claims, titles=COLUMN_TITLES)
