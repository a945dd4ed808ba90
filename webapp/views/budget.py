"""Provider budgets (Trägerbudgets) of one recipient: each agreement with its term, budget,
advances booked, the services it replaces and those outside it, the delivered against the agreed
client hours per quarter, the extra services as a figure, the renegotiation trigger with the
officer's recorded judgement, the pool contracts it finances, its pseudonymous cases and the
open reporting deadlines (``ledger.workflows.budget``, ``ledger.workflows.budget_cases``;
DOMAIN.md "Bremerhaven Trägerbudget").

The recipient's officers record a quarter's hours, the judgement after the trigger, cases and
their dated records with the page's forms (``webapp.budget_forms``); each write is audited by
the workflow. A refused form shows the page again with the reason (status 400), a saved one
redirects back to the page (post/redirect/get). Booking advances stays on the command line.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ledger.core.errors import LedgerError
from ledger.core.models import BudgetAgreement, BudgetCase, Commitment, Recipient
from ledger.core.users import can_write
from ledger.workflows.budget import (
    INDIRECT_READINGS,
    add_hours_report,
    budget_rule,
    budget_status,
    get_budget_agreement,
    record_judgement,
)
from ledger.workflows.budget_cases import RECORD_KINDS, STATES, add_case, add_record, cases_overview, get_case, reminders
from webapp.auth import recipient_for
from webapp.books_cache import kept
from webapp.budget_forms import CaseForm, HoursForm, JudgementForm, RecordForm
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, request_memo, write_session
from webapp.errors import as_sentence
from webapp.views import RECIPIENTS_KEPT, default_school_year

bp = Blueprint("budget", __name__, url_prefix="/r/<key>")
#: The page's forms by the name in their URL: (form class, German name of what is saved).
FORMS = {"stunden": (HoursForm, "Stundenbericht"), "einschaetzung": (JudgementForm, "Einschätzung"),
         "fall": (CaseForm, "Fall"), "eintrag": (RecordForm, "Eintrag")}
#: Reminder states the dashboard shows.
DASHBOARD_STATES = ("overdue", "due")


def _agreements(recipient: Recipient) -> list[BudgetAgreement]:
    """``recipient``'s provider budgets by start and key, read once per request (the navigation
    and the dashboard's reminders both ask)."""
    memo = request_memo()
    if ("budget_agreements", recipient.id) not in memo:
        memo["budget_agreements", recipient.id] = list(get_session().scalars(
            select(BudgetAgreement).where(BudgetAgreement.recipient_id == recipient.id)
            .order_by(BudgetAgreement.start_date, BudgetAgreement.key)))
    return memo["budget_agreements", recipient.id]


@bp.app_template_global("has_budgets")
def has_budgets(recipient: Recipient) -> bool:
    """Whether ``recipient`` has a provider budget (the navigation shows the page only then),
    kept per state of the books in each server process (``webapp.books_cache``)."""
    return kept("has_budgets", RECIPIENTS_KEPT, (recipient.id,), lambda: bool(_agreements(recipient)))


@bp.app_template_filter("date_iso_de")
def date_iso_de(text: str) -> str:
    """``"2026-03-31"`` → ``"31.03.2026"`` (the ISO days of the JSON-ready status)."""
    return f"{date.fromisoformat(text):%d.%m.%Y}"


@bp.app_template_global("budget_reminders")
def budget_reminders(recipient: Recipient) -> list[dict]:
    """The due and overdue deadlines of ``recipient``'s provider budgets today, for its dashboard:
    [{``agreement`` (title), ``reminder`` (``Reminder.as_json``)}], by due day."""
    if not has_budgets(recipient):
        return []
    session, packs, day = get_session(), get_packs(), today()
    found = []
    for agreement in _agreements(recipient):
        for reminder in reminders(session, agreement, budget_rule(agreement, packs), day):
            if reminder.state in DASHBOARD_STATES:
                found.append({"agreement": agreement.title, "reminder": reminder.as_json()})
    return sorted(found, key=lambda r: r["reminder"]["due"])


@bp.get("/traegerbudgets")
def index(key: str):
    """The recipient's provider budgets with their state, for everyone who may read the recipient;
    with the forms for its officers."""
    return _page(recipient_for(key))


@bp.post("/traegerbudgets/<agreement_key>/<form_name>")
def save(key: str, agreement_key: str, form_name: str):
    """Save one of the page's forms (``FORMS``) for the agreement; officers of the recipient only."""
    recipient = recipient_for(key, write=True)
    agreement = _own_agreement(recipient, agreement_key)
    if form_name not in FORMS:
        return _page(recipient), 404
    form_class, label = FORMS[form_name]
    form = form_class(prefix=f"{form_name}-{agreement.id}")
    if form_name == "eintrag":
        form.case.choices = _case_choices(agreement)
    problem = None
    if form.validate_on_submit():
        try:
            with write_session() as session:
                _write(session, session.get(BudgetAgreement, agreement.id), form_name, form)
        except LedgerError as exc:
            problem = as_sentence(exc)
        else:
            flash(f"{label} gespeichert.")
            return redirect(url_for("budget.index", key=recipient.key) + f"#budget-{agreement.key}")
    else:
        problem = "bitte die markierten Angaben prüfen."
    return _page(recipient, bound=(agreement.id, form_name, form, problem)), 400


def _own_agreement(recipient: Recipient, agreement_key: str) -> BudgetAgreement:
    """The agreement ``agreement_key`` of ``recipient``; else 404 (another recipient's looks unknown)."""
    try:
        agreement = get_budget_agreement(get_session(), agreement_key)
    except LedgerError:
        abort(404, f"Trägerbudget {agreement_key!r} nicht gefunden")
    if agreement.recipient_id != recipient.id:
        abort(404, f"Trägerbudget {agreement_key!r} nicht gefunden")
    return agreement


def _write(session, agreement: BudgetAgreement, form_name: str, form) -> None:
    """Record what ``form`` holds through the workflow (which audits it). Raises LedgerError."""
    user, now = current_user.username, timestamp()
    if form_name == "stunden":
        add_hours_report(session, agreement, form.quarter.data, specialist=form.specialist.data,
                         semi_professional=form.semi_professional.data, created_by=user, now=now)
    elif form_name == "einschaetzung":
        record_judgement(session, agreement, form.quarter.data, persists=form.persists.data == "ja",
                         reasoning=form.reasoning.data, created_by=user, now=now)
    elif form_name == "fall":
        add_case(session, agreement, form.reference.data, start=form.start.data, created_by=user, now=now)
    else:
        case = get_case(session, agreement, form.case.data) if form.case.data else None
        add_record(session, agreement, form.kind.data, form.day.data, case=case, created_by=user, now=now)


def _case_choices(agreement: BudgetAgreement) -> list[SelectChoice]:
    cases = get_session().scalars(select(BudgetCase.reference).where(BudgetCase.agreement_id == agreement.id)
                                  .order_by(BudgetCase.reference))
    return [SelectChoice("", "– kein Fall (Bericht des Trägers) –")] + [SelectChoice(c, c) for c in cases]


def _forms(agreement: BudgetAgreement, status: dict, bound) -> dict:
    """The page's four forms of ``agreement``: the one posted (``bound``) as sent, the others new."""
    forms = {}
    for name, (form_class, _label) in FORMS.items():
        if bound is not None and bound[0] == agreement.id and bound[1] == name:
            forms[name] = bound[2]
            continue
        defaults = {}
        if name == "einschaetzung" and status["trigger"]["quarters"]:
            defaults["quarter"] = status["trigger"]["quarters"][-1]
        if name == "eintrag":
            defaults["day"] = today()
        forms[name] = form_class(formdata=None, prefix=f"{name}-{agreement.id}", **defaults)
    forms["eintrag"].case.choices = _case_choices(agreement)
    return forms


def _page(recipient: Recipient, *, bound: tuple | None = None):
    """The page; ``bound``: (agreement id, form name, the posted form, the reason it was refused)."""
    session, packs, day = get_session(), get_packs(), today()
    writer = can_write(current_user.user, recipient)
    budgets = []
    for agreement in _agreements(recipient):
        status = budget_status(session, agreement, packs, as_of=day)
        budgets.append({
            "agreement": agreement, "status": status, "rule": budget_rule(agreement, packs),
            "reading": INDIRECT_READINGS[agreement.indirect_reading],
            "replaces": agreement.replaces.splitlines(), "outside": agreement.outside.splitlines(),
            "judged_on": None if status["trigger"]["judgement"] is None
            else date.fromisoformat(status["trigger"]["judgement"]["at"][:10]),
            "cases": cases_overview(session, agreement),
            "pools": _financed(session, agreement),
            "forms": _forms(agreement, status, bound) if writer else None,
            "problem": {bound[1]: bound[3]} if bound is not None and bound[0] == agreement.id else {},
        })
    return render_template("budget.html", recipient=recipient, year=default_school_year(recipient), budgets=budgets,
                           D=Decimal, states=STATES, record_kinds=RECORD_KINDS)


def _financed(session, agreement: BudgetAgreement) -> list[Commitment]:
    """The pool contracts (commitments) the agreement finances, by reference."""
    return list(session.scalars(select(Commitment).where(Commitment.budget_agreement_id == agreement.id)
                                .order_by(Commitment.reference)))
