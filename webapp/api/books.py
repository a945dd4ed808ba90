"""Reading the books through the API: the token's recipients, the repayments, the forecast and
the review queue (Prüfliste) of a school year.

The answers are the command line's JSON (``inkl repayments``, ``inkl forecast``, ``inkl review``
with ``--json``), computed by the same core functions. A school year no rule pack covers
answers 409 for the forecast and the review queue; in the repayments it appears as
``{"school_year": …, "error": …}`` beside the other years, as on the command line.
"""
from __future__ import annotations

from ledger.core.users import can_write, readable_recipients
from ledger.reports.forecast import forecast
from ledger.reports.repayment import compute_all, compute_repayment
from ledger.rules.evaluate import review_queue
from webapp.api.access import api_user, recipient
from webapp.api.base import ApiBlueprint
from webapp.api.schemas import (
    ForecastQuery,
    ForecastSchema,
    RecipientSchema,
    RepaymentSchema,
    RepaymentsQuery,
    ReviewItemSchema,
    YearQuery,
)
from webapp.clock import today
from webapp.db import get_packs, get_session
from webapp.problems import API_PREFIX

bp = ApiBlueprint("api_books", __name__, url_prefix=f"{API_PREFIX}/recipients",
                  description="Empfänger, Rückzahlungen, Prognose und Prüfliste lesen.")


@bp.route("", methods=["GET"])
@bp.response(200, RecipientSchema(many=True))
def recipients():
    """Die Empfänger, die das Zugangstoken lesen darf (may_write: ob es dort importieren darf)."""
    user = api_user()
    return [{"key": r.key, "name": r.name, "kind": r.kind, "may_write": can_write(user, r)}
            for r in readable_recipients(get_session(), user)]


@bp.route("/<key>/repayments", methods=["GET"])
@bp.arguments(RepaymentsQuery, location="query")
@bp.response(200, RepaymentSchema(many=True))
def repayments(query: dict, key: str):
    """Rückzahlung je Schuljahr (wie inkl repayments --json); ohne school_year jedes Schuljahr.

    Ein Schuljahr, dessen Zahlen nicht berechenbar sind, steht mit school_year und error (deutsch) in der Liste.
    """
    target = recipient(key)
    year, as_of = query["school_year"], query["as_of"]
    if year is not None:
        return [compute_repayment(get_session(), target, year, get_packs(), as_of=as_of).as_json()]
    return [result.as_json() for result in compute_all(get_session(), target, get_packs(), as_of=as_of)]


@bp.route("/<key>/forecast", methods=["GET"])
@bp.arguments(ForecastQuery, location="query")
@bp.response(200, ForecastSchema)
@bp.alt_response(409, description="Für das Schuljahr ist kein Regelwerk in Kraft.")
def forecast_view(query: dict, key: str):
    """Prognose der Rückzahlung aus Ist-Buchungen und offenen Verpflichtungen (wie inkl forecast --json)."""
    target = recipient(key)
    return forecast(get_session(), target, query["school_year"], as_of=query["as_of"] or today(),
                    packs=get_packs()).as_json()


@bp.route("/<key>/review", methods=["GET"])
@bp.arguments(YearQuery, location="query")
@bp.response(200, ReviewItemSchema(many=True))
@bp.alt_response(409, description="Für das Schuljahr ist kein Regelwerk in Kraft.")
def review(query: dict, key: str):
    """Prüfliste: Buchungen des Schuljahres, die noch nicht beurteilt werden können (wie inkl review --json)."""
    target = recipient(key)
    return [item.as_json() for item in review_queue(get_session(), target, query["school_year"], get_packs())]
