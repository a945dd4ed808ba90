"""Provider budgets (Trägerbudgets) of one recipient, read-only: each agreement with its term,
budget, advances booked, the services it replaces and those outside it, the delivered against
the agreed client hours per quarter, the renegotiation trigger with the officer's recorded
judgement, and the reporting deadlines as reminders (``ledger.workflows.budget``; seed 004,
DOMAIN.md "Bremerhaven Trägerbudget"). Booking and recording happen on the command line
(``inkl budget``)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, render_template
from sqlalchemy import select

from ledger.core.models import BudgetAgreement, Recipient
from ledger.rules.packs import load_packs
from ledger.workflows.budget import INDIRECT_READINGS, budget_rule, budget_status
from webapp.auth import recipient_for
from webapp.clock import today
from webapp.db import get_session
from webapp.views import default_school_year

bp = Blueprint("budget", __name__, url_prefix="/r/<key>")


def _agreements(recipient: Recipient) -> list[BudgetAgreement]:
    return list(get_session().scalars(select(BudgetAgreement).where(BudgetAgreement.recipient_id == recipient.id)
                                      .order_by(BudgetAgreement.start_date, BudgetAgreement.key)))


@bp.app_template_global("has_budgets")
def has_budgets(recipient: Recipient) -> bool:
    """Whether ``recipient`` has a provider budget (the navigation shows the page only then)."""
    return get_session().scalar(select(BudgetAgreement.id).where(BudgetAgreement.recipient_id == recipient.id)
                                .limit(1)) is not None


@bp.get("/traegerbudgets")
def index(key: str):
    """The recipient's provider budgets with their state, for everyone who may read the recipient."""
    recipient = recipient_for(key)
    session, packs = get_session(), load_packs()
    budgets = []
    for agreement in _agreements(recipient):
        status = budget_status(session, agreement, packs, as_of=today())
        budgets.append({"agreement": agreement, "status": status, "rule": budget_rule(agreement, packs),
                        "reading": INDIRECT_READINGS[agreement.indirect_reading],
                        "replaces": agreement.replaces.splitlines(), "outside": agreement.outside.splitlines(),
                        "judged_on": None if status["trigger"]["judgement"] is None
                        else date.fromisoformat(status["trigger"]["judgement"]["at"][:10])})
    return render_template("budget.html", recipient=recipient, year=default_school_year(recipient), budgets=budgets,
                           D=Decimal)
