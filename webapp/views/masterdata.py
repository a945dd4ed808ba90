"""Master data of one recipient (schools, pools, providers, municipalities, cost centres, commitments)."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ledger.models import Commitment, CostCentre, Municipality, Pool, School
from webapp.auth import recipient_for
from webapp.db import get_session
from webapp.views import default_school_year

bp = Blueprint("masterdata", __name__, url_prefix="/r/<key>")


@bp.get("/stammdaten")
def index(key: str):
    """All master data the rules decide from, read-only (changes: ``inkl KIND add|import``, logged)."""
    session = get_session()
    recipient = recipient_for(key)

    def of(model, order, *options):
        return session.scalars(select(model).where(model.recipient_id == recipient.id).order_by(order)
                               .options(*options)).all()

    return render_template(
        "masterdata.html", recipient=recipient, year=default_school_year(recipient),
        schools=of(School, School.school_number),
        pools=of(Pool, Pool.key, selectinload(Pool.schools), selectinload(Pool.provider)),
        municipalities=of(Municipality, Municipality.name, selectinload(Municipality.verifications)),
        cost_centres=of(CostCentre, CostCentre.code),
        commitments=of(Commitment, Commitment.reference),
    )
