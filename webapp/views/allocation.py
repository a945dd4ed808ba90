"""Allocation plans (Verteilung nach Formel): a plan's table as its formula computes it, the
differences to the source table's own sum row, and each recipient's claims against its ceiling.

Readable by everyone who may read the plan's grantor (the Kreis): its officers and auditors
with access to all recipients. The grantor's officers may book the commitment of the plan's
ceilings (Mittelbindung) and, after the claim window, release the rest (it stays with the
grantor, Rahmenbedingungen Nr. 4.4). Source: Kreis Mettmann, Hildener Modellrechnung; the plan
and the formula are rule-pack data.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import DataRequired

from ledger.core.errors import LedgerError
from ledger.core.money import from_cents
from ledger.core.models import Recipient
from ledger.core.users import can_read, can_write
from ledger.reports.allocation import (
    COLUMN_TITLES,
    claims_overview,
    compute_allocation,
    paid_claim_ids,
    plan_commitments,
)
from ledger.rules.packs import NoRulePack
from ledger.workflows.allocation_commitment import commit_plan, release_plan
from ledger.write.allocation_pdf import render_claims_statement
from webapp.auth import recipient_for
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, write_session
from webapp.errors import as_sentence
from webapp.views import pdf_response

bp = Blueprint("allocation", __name__, url_prefix="/verteilung")
#: The status of a page that shows a refused form again.
FORM_ERROR_STATUS = 422


class CommitmentForm(FlaskForm):
    """The day of a commitment or of the release of the rest."""

    day = DateField("Buchungsdatum", validators=[DataRequired("Bitte ein gültiges Datum angeben (TT.MM.JJJJ).")],
                    format=["%Y-%m-%d", "%d.%m.%Y"])


@bp.app_template_global("allocation_plans")
def allocation_plans() -> list[dict]:
    """The allocation plans of the rule packs whose grantor the logged-in user may read, as
    ``{"key", "title", "grantor"}`` in the packs' order (the navigation shows its entry only
    if there is one)."""
    if not current_user.is_authenticated:
        return []
    plans = [plan for pack in get_packs() if pack.allocation for plan in pack.allocation.plans]
    keys = {plan.grantor_key for plan in plans}
    grantors = {r.key: r for r in get_session().scalars(select(Recipient).where(Recipient.key.in_(keys)))} if keys else {}
    return [{"key": plan.key, "title": plan.title, "grantor": grantors[plan.grantor_key].name} for plan in plans
            if plan.grantor_key in grantors and can_read(current_user.user, grantors[plan.grantor_key])]


@bp.get("/")
def index():
    """The allocation plans the user may read (their grantors), each linked to its page."""
    return render_template("allocation_index.html", plans=allocation_plans())


@bp.get("/<plan_key>")
def show(plan_key: str):
    """The plan ``plan_key`` (``mettmann-2014``): rows, sums, differences, claims, commitment;
    404 for an unknown plan or a grantor the user may not read."""
    return _page(plan_key, CommitmentForm(day=today()))


def _page(plan_key: str, form: CommitmentForm, error: str | None = None):
    result, grantor = _plan(plan_key)
    session = get_session()
    claims = claims_overview(session, plan_key, packs=get_packs())
    refusals = [(entry.name, claim, line, from_cents(line.amount_cents - line.accepted_cents))
                for entry in claims for claim in entry.claims for line in claim.lines
                if line.accepted_cents < line.amount_cents]
    commitments = {kind: {"date": row.date, "amount": from_cents(row.amount_cents)}
                   for kind, row in plan_commitments(session, plan_key).items()}
    return render_template("allocation.html", result=result, rule=result.pack.allocation, grantor=grantor,
                           claims=claims, titles=COLUMN_TITLES, refusals=refusals, commitments=commitments,
                           form=form, error=error, may_write=can_write(current_user.user, grantor))


@bp.post("/<plan_key>/mittelbindung")
def commit(plan_key: str):
    """Book the commitment of the plan's ceilings; officers of the grantor only (else 403)."""
    return _book(plan_key, commit_plan, "Die Höchstbeträge des Plans sind gebunden.")


@bp.post("/<plan_key>/freigabe")
def release(plan_key: str):
    """Release the rest after the claim window; officers of the grantor only (else 403)."""
    return _book(plan_key, release_plan, "Die nicht abgerufenen Mittel sind freigegeben; sie verbleiben beim Mittelgeber.")


def _book(plan_key: str, action, done: str):
    result, grantor = _plan(plan_key)
    recipient_for(grantor.key, write=True)
    form = CommitmentForm()
    if form.validate_on_submit():
        try:
            with write_session() as session:
                action(session, plan_key, form.day.data, actor=current_user.username, now=timestamp(),
                       packs=get_packs())
        except LedgerError as exc:
            return _page(plan_key, form, as_sentence(exc)), FORM_ERROR_STATUS
        flash(done)
        return redirect(url_for("allocation.show", plan_key=plan_key) + "#bindung")
    return _page(plan_key, form), FORM_ERROR_STATUS


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
