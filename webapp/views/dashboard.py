"""Dashboard of one recipient and school year: grant, spending, overhead cap, repayment, deadline,
and the forecast while the school year is open."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, redirect, render_template, url_for

from ledger.deadline import shift_reason
from ledger.forecast import forecast
from ledger.grants import find_grant
from ledger.journal import UNCLASSIFIED
from webapp.auth import recipient_for
from ledger.repayment import RepaymentResult, compute_repayment
from ledger.money import from_cents
from ledger.rules import pack_for
from webapp.db import get_packs, get_session
from webapp.formatting import countdown
from webapp.views import default_school_year, require_year, today

bp = Blueprint("dashboard", __name__, url_prefix="/r/<key>")


@bp.get("/")
def latest(key: str):
    """Redirect to the dashboard of the recipient's latest school year."""
    recipient = recipient_for(key)
    year = default_school_year(recipient)
    return redirect(url_for("dashboard.show", key=recipient.key, start_year=year.start_year))


@bp.get("/<int:start_year>/")
def show(key: str, start_year: int):
    """The dashboard of school year ``start_year``/``start_year + 1`` (``/r/musterhausen/2023/``)."""
    session = get_session()
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    packs = get_packs()
    pack = pack_for(year, packs)
    day = today()
    result = compute_repayment(session, recipient, year, packs, as_of=day)
    grant = find_grant(session, recipient, year)
    projection = forecast(session, recipient, year, as_of=day, packs=packs) if day <= year.last_day else None
    return render_template(
        "dashboard.html",
        recipient=recipient,
        year=year,
        years=years,
        result=result,
        projection=projection,
        pack=pack,
        grant=grant,
        payouts=[(p, from_cents(p.amount_cents)) for p in grant.payouts] if grant is not None else [],
        shift_reason=(shift_reason(result.nominal_due_date, pack.deadline)
                      if result.nominal_due_date and result.nominal_due_date != result.due_date else None),
        gauge=overhead_gauge(result),
        unclassified=UNCLASSIFIED,
        today=day,
        countdown=countdown(result.due_date, day),
        days_left=None if result.due_date is None else (result.due_date - day).days,
    )


def overhead_gauge(result: RepaymentResult) -> dict | None:
    """Geometry of the overhead bar (percent of the bar's width), or None without a cap.

    The bar spans max(cap, charged); ``within`` is the part of the charge up to the cap,
    ``excess`` the part above it, ``cap_at`` where the cap line sits, ``used`` the charge
    as a share of the cap (None for a cap of 0).
    """
    cap, charged = result.overhead_cap, result.overhead_charged
    if cap is None:
        return None
    scale = max(cap, charged, Decimal("0.01"))

    def pct(value: Decimal) -> Decimal:
        return (max(value, Decimal(0)) * 100 / scale).quantize(Decimal("0.1"))

    within = min(charged, cap)
    return {
        "within": pct(within),
        "excess": pct(charged - within),
        "cap_at": pct(cap),
        "used": None if cap <= 0 else (charged / cap).quantize(Decimal("0.001")),
        "over": result.overhead_excess > 0,
    }
