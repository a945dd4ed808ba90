"""Allocation plans (Verteilung nach Formel): a plan's table as its formula computes it, the
differences to the source table's own sum row, and each recipient's claims against its ceiling.

Readable by everyone who may read the plan's grantor (the Kreis): its officers and auditors
with access to all recipients. Source: seed 003_dcbc53400bdc01b8.txt (Kreis Mettmann,
Hildener Modellrechnung); the plan and the formula are rule-pack data.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ledger.reports.allocation import COLUMN_TITLES, claims_overview, compute_allocation, paid_claim_ids
from ledger.rules.packs import NoRulePack
from ledger.write.allocation_pdf import render_claims_statement
from webapp.auth import recipient_for
from webapp.clock import today
from webapp.db import get_packs, get_session
from webapp.views import pdf_response

bp = Blueprint("allocation", __name__, url_prefix="/verteilung")


@bp.get("/<plan_key>")
def show(plan_key: str):
    """The plan ``plan_key`` (``mettmann-2014``): rows, sums, differences, claims; 404 for an
    unknown plan or a grantor the user may not read."""
    result, grantor = _plan(plan_key)
    claims = claims_overview(get_session(), plan_key, packs=get_packs())
    return render_template("allocation.html", result=result, rule=result.pack.allocation, grantor=grantor,
                           claims=claims, titles=COLUMN_TITLES)


def _plan(plan_key: str):
    """(computed plan, grantor) if the user may read the grantor; else 404."""
    try:
        result = compute_allocation(plan_key, get_packs())
    except NoRulePack:
        abort(404, "Verteilungsplan nicht gefunden")
    return result, recipient_for(result.plan.grantor_key)


@bp.get("/<plan_key>/abrechnung.pdf")
def statement_pdf(plan_key: str):
    """The statement of the plan's claims as PDF: for all recipients, or with ``?empfaenger=KEY``
    for one (404 if it is not in the plan). Named ``Mittelabrufe_<plan>[_<key>].pdf``."""
    result, grantor = _plan(plan_key)
    key = request.args.get("empfaenger") or None
    try:
        overview = claims_overview(get_session(), plan_key, key, packs=get_packs())
    except KeyError:
        abort(404, "Empfänger nicht im Verteilungsplan")
    paid = paid_claim_ids(get_session(), [claim for entry in overview for claim in entry.claims])
    data = render_claims_statement(result, overview, paid, as_of=today(), grantor_name=grantor.name)
    return pdf_response(data, f"Mittelabrufe_{plan_key}{'_' + key if key else ''}.pdf")
