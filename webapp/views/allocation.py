"""Allocation plans (Verteilung nach Formel): a plan's table as its formula computes it, the
differences to the source table's own sum row, and each recipient's claims against its ceiling;
and the Kreise's pass-through plans (Weiterleitung an kreisangehörige Gemeinden) with their
municipalities' shares and claims.

Readable by everyone who may read the plan's grantor (the Kreis): its officers and auditors
with access to all recipients. The grantor's officers enter claims (Mittelabruf: one row per
deployed helper, ``ledger.workflows.allocation.add_claim``; for a pass-through plan
``ledger.workflows.pass_through.add_pass_through_claim``), pay accepted claims, book the
commitment of the plan's ceilings (Mittelbindung) and, after the claim window, release the rest
(it stays with the grantor, Rahmenbedingungen Nr. 4.4). Each form calls the same core function
as the command line, which checks and audits it; a refusal shows the page again (status 422)
with the German reason at the form and an error summary, a success redirects (post/redirect/get)
to the page, which then shows the decision on each line with its reasons.

Formula plans are rule-pack data (Kreis Mettmann, Hildener Modellrechnung); pass-through plans
are TOML files in the folders of ``PASS_THROUGH_DIRS`` (the instance folder's ``verteilung/``).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from ledger.core.errors import LedgerError
from ledger.core.models import AllocationClaim, AllocationPayment, Recipient, School
from ledger.core.money import format_german, from_cents
from ledger.core.users import can_write, reads_recipient
from ledger.reports.allocation import (
    COLUMN_TITLES,
    claims_overview,
    compute_allocation,
    paid_claim_ids,
    plan_commitments,
)
from ledger.reports.pass_through import pass_through_overview, plan_claims
from ledger.rules.packs import NoRulePack, RulePackError
from ledger.rules.pass_through_plan import PassThroughPlan, load_pass_through_plans
from ledger.workflows.allocation import add_claim, pay_claim
from ledger.workflows.allocation_commitment import commit_plan, release_plan
from ledger.workflows.pass_through import add_pass_through_claim
from ledger.write.allocation_pdf import render_claims_statement, render_pass_through_statement
from webapp.allocation_forms import HELPER_ROWS, MAX_HELPER_ROWS, CommitmentForm, PassThroughClaimForm, PayForm, claim_form
from webapp.auth import recipient_for
from webapp.books_cache import kept
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, write_session
from webapp.errors import as_sentence
from webapp.views import pdf_response

bp = Blueprint("allocation", __name__, url_prefix="/verteilung")
#: The status of a page that shows a refused form again (nothing was written).
FORM_ERROR_STATUS = 422


def pass_through_plans() -> dict[str, PassThroughPlan]:
    """The pass-through plans of the folders ``PASS_THROUGH_DIRS``, by key. Raises RulePackError
    for an invalid plan file."""
    return {key: plan for key, (plan, _path) in load_pass_through_plans(
        tuple(current_app.config.get("PASS_THROUGH_DIRS") or ())).items()}


@bp.app_template_global("allocation_plans")
def allocation_plans() -> list[dict]:
    """The allocation plans of the rule packs and the pass-through plans whose grantor the
    logged-in user may read, as ``{"key", "title", "grantor", "url", "kind"}`` (``kind``
    ``"formula"`` or ``"pass_through"``), formula plans first (the navigation shows its entry
    only if there is one). An invalid pass-through plan file is left out (and logged)."""
    if not current_user.is_authenticated:
        return []
    plans = [("formula", plan) for pack in get_packs() if pack.allocation for plan in pack.allocation.plans]
    try:
        plans += [("pass_through", plan) for plan in pass_through_plans().values()]
    except RulePackError as exc:
        current_app.logger.warning("Verteilungsplan nicht lesbar: %s", exc)
    grantors = _grantors(frozenset(plan.grantor_key for _kind, plan in plans))
    return [{"key": plan.key, "title": plan.title, "grantor": grantors[plan.grantor_key][1], "kind": kind,
             "url": url_for("allocation.show" if kind == "formula" else "allocation.pass_through", plan_key=plan.key)}
            for kind, plan in plans
            if plan.grantor_key in grantors and reads_recipient(current_user.user, grantors[plan.grantor_key][0])]


def _grantors(keys: frozenset[str]) -> dict[str, tuple[int, str]]:
    """Recipient key → (id, name) of those of ``keys`` that exist, kept per state of the books in
    each server process (``webapp.books_cache``): the navigation asks on every page."""
    if not keys:
        return {}
    return kept("grantors", 16, (keys,), lambda: {
        key: (recipient_id, name) for recipient_id, key, name in get_session().execute(
            select(Recipient.id, Recipient.key, Recipient.name).where(Recipient.key.in_(keys)))})


@bp.get("/")
def index():
    """The allocation plans the user may read (their grantors), each linked to its page."""
    error = None
    try:
        pass_through_plans()
    except RulePackError as exc:
        error = f"Ein Verteilungsplan für die Weiterleitung ist fehlerhaft ({exc.key or 'Datei'}: {exc.message})"
    return render_template("allocation_index.html", plans=allocation_plans(), error=error)


# --- formula plans ------------------------------------------------------------------------


@bp.get("/<plan_key>")
def show(plan_key: str):
    """The plan ``plan_key`` (``mettmann-2014``): rows, sums, differences, claims (with the
    decision on the claim ``?abruf=ID``), commitment; for the grantor's officers the forms.
    404 for an unknown plan or a grantor the user may not read."""
    return _page(plan_key)


def _rows() -> int:
    """The number of helper rows of the claim form (``zeilen`` of the query or the form)."""
    try:
        return max(1, min(int(request.values.get("zeilen") or request.values.get("abruf-rows") or HELPER_ROWS),
                          MAX_HELPER_ROWS))
    except ValueError:
        return HELPER_ROWS


def _claim_form(result, **kwargs):
    """The claim form of the plan: its recipients and their schools from master data."""
    session = get_session()
    keys = [row.recipient for row in result.rows]
    names = {row.recipient: row.name for row in result.rows}
    recipients = {r.id: r.key for r in session.scalars(select(Recipient).where(Recipient.key.in_(keys)))}
    schools: dict[str, list[tuple[str, str]]] = {key: [] for key in keys}
    if recipients:
        for school in session.scalars(select(School).where(School.recipient_id.in_(recipients))
                                      .order_by(School.school_number)):
            schools[recipients[school.recipient_id]].append((school.school_number, school.name))
    return claim_form(_rows(), [(row.recipient, row.name) for row in result.rows if row.recipient in recipients.values()],
                      schools, names, prefix="abruf", **kwargs)


def _page(plan_key: str, *, posted: tuple[str, FlaskForm] | None = None):
    """The plan's page; ``posted``: the name (``"abruf"``, ``"bindung"``, ``"zahlung-ID"``) and
    the form of a refused POST, shown with its errors."""
    result, grantor = _plan(plan_key)
    session = get_session()
    claims = claims_overview(session, plan_key, packs=get_packs())
    refusals = [(entry.name, claim, line, from_cents(line.amount_cents - line.accepted_cents))
                for entry in claims for claim in entry.claims for line in claim.lines
                if line.accepted_cents < line.amount_cents]
    commitments = {kind: {"date": row.date, "amount": from_cents(row.amount_cents)}
                   for kind, row in plan_commitments(session, plan_key).items()}
    all_claims = sorted(((entry.name, claim) for entry in claims for claim in entry.claims), key=lambda c: c[1].id)
    payments = {p.claim_id: p for p in session.scalars(select(AllocationPayment).where(
        AllocationPayment.claim_id.in_([claim.id for _name, claim in all_claims])))} if all_claims else {}
    forms = {"abruf": _claim_form(result), "bindung": CommitmentForm(day=today())}
    forms.update({f"zahlung-{claim.id}": PayForm(prefix=f"zahlung-{claim.id}", day=today())
                  for _name, claim in all_claims if claim.accepted_cents and claim.id not in payments})
    if posted is not None:
        forms[posted[0]] = posted[1]
    return render_template("allocation.html", result=result, rule=result.pack.allocation, grantor=grantor,
                           claims=claims, titles=COLUMN_TITLES, refusals=refusals, commitments=commitments,
                           all_claims=all_claims, payments=payments, decision=_decision(plan_key),
                           forms=forms, posted=None if posted is None else posted[0],
                           form=forms["bindung"], may_write=can_write(current_user.user, grantor),
                           more_rows=min(forms["abruf"].row_count + 2, MAX_HELPER_ROWS))


def _decision(plan_key: str) -> AllocationClaim | None:
    """The claim ``?abruf=ID`` of the plan, whose decision the page shows (None if absent)."""
    try:
        claim_id = int(request.args.get("abruf", ""))
    except ValueError:
        return None
    claim = get_session().get(AllocationClaim, claim_id)
    return claim if claim is not None and claim.plan_key == plan_key else None


def _submit(plan_key: str, name: str, form: FlaskForm, perform: Callable[..., tuple[str, dict]], error_field: str):
    """Handle a POST of the plan's form ``name``: officers of the grantor only (403); validate,
    run ``perform(session, form)`` in a write transaction (it returns the German success
    message and the redirect's query arguments), redirect; else show the page with the errors."""
    if form.validate_on_submit():
        try:
            with write_session() as session:
                message, args = perform(session, form)
        except LedgerError as exc:
            getattr(form, error_field).errors.append(as_sentence(exc))
        else:
            flash(message)
            return redirect(url_for("allocation.show", plan_key=plan_key, **args))
    return _page(plan_key, posted=(name, form)), FORM_ERROR_STATUS


def _writer(plan_key: str):
    """(computed plan, grantor) if the user may write the grantor's books; else 404/403."""
    result, grantor = _plan(plan_key)
    recipient_for(grantor.key, write=True)
    return result, grantor


@bp.post("/<plan_key>/abruf")
def claim(plan_key: str):
    """Enter a claim (``ledger.workflows.allocation.add_claim``, audited ``allocation_claim_add``);
    the redirect shows its decision."""
    result, _grantor = _writer(plan_key)

    def perform(session, form):
        added = add_claim(session, plan_key, form.recipient.data, actor=current_user.username, now=timestamp(),
                          packs=get_packs(), **form.claim_arguments())
        name = dict(form.recipient.choices)[form.recipient.data]
        return (f"Mittelabruf {name} vom {added.claim_date:%d.%m.%Y} erfasst: beantragt "
                f"{format_german(from_cents(added.claimed_cents))} EUR, anerkannt "
                f"{format_german(from_cents(added.accepted_cents))} EUR, abgelehnt "
                f"{format_german(from_cents(added.refused_cents))} EUR.",
                {"abruf": added.id, "_anchor": "entscheidung"})
    return _submit(plan_key, "abruf", _claim_form(result), perform, "recipient")


@bp.post("/<plan_key>/abruf/<int:claim_id>/auszahlung")
def pay(plan_key: str, claim_id: int):
    """Pay an accepted claim (``ledger.workflows.allocation.pay_claim``, audited
    ``allocation_claim_pay``); 404 for a claim of another plan."""
    _writer(plan_key)
    found = get_session().get(AllocationClaim, claim_id)
    if found is None or found.plan_key != plan_key:
        abort(404, "Mittelabruf nicht gefunden")

    def perform(session, form):
        payment = pay_claim(session, claim_id, form.day.data, actor=current_user.username, now=timestamp())
        return (f"Mittelabruf Nr. {claim_id} am {payment.date:%d.%m.%Y} ausgezahlt (Buchung {payment.entry_id}).",
                {"_anchor": "einzeln"})
    return _submit(plan_key, f"zahlung-{claim_id}", PayForm(prefix=f"zahlung-{claim_id}"), perform, "day")


@bp.post("/<plan_key>/mittelbindung")
def commit(plan_key: str):
    """Book the commitment of the plan's ceilings; officers of the grantor only (else 403)."""
    return _book(plan_key, commit_plan, "Die Höchstbeträge des Plans sind gebunden.")


@bp.post("/<plan_key>/freigabe")
def release(plan_key: str):
    """Release the rest after the claim window; officers of the grantor only (else 403)."""
    return _book(plan_key, release_plan, "Die nicht abgerufenen Mittel sind freigegeben; sie verbleiben beim Mittelgeber.")


def _book(plan_key: str, action, done: str):
    _writer(plan_key)

    def perform(session, form):
        action(session, plan_key, form.day.data, actor=current_user.username, now=timestamp(), packs=get_packs())
        return done, {"_anchor": "bindung"}
    return _submit(plan_key, "bindung", CommitmentForm(), perform, "day")


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


# --- pass-through plans -------------------------------------------------------------------


def _pass_through_plan(plan_key: str, *, write: bool = False):
    """(plan, Kreis) if the user may read (with ``write``: write) the Kreis; else 404/403."""
    try:
        plan = pass_through_plans().get(plan_key)
    except RulePackError:
        plan = None
    if plan is None:
        abort(404, "Verteilungsplan nicht gefunden")
    return plan, recipient_for(plan.grantor_key, write=write)


def _pass_through_form(plan: PassThroughPlan, **kwargs) -> PassThroughClaimForm:
    form = PassThroughClaimForm(prefix="weiterleitung", **kwargs)
    form.municipality.choices = [("", "bitte wählen"), *((m.name, m.name) for m in plan.municipalities)]
    return form


@bp.get("/weiterleitung/<plan_key>")
def pass_through(plan_key: str, form: PassThroughClaimForm | None = None):
    """The pass-through plan ``plan_key``: the formula, each municipality's share with its
    claims' sums, every claim with its decision, and for the Kreis's officers the claim form."""
    plan, kreis = _pass_through_plan(plan_key)
    session = get_session()
    rows = pass_through_overview(session, plan)
    claims = plan_claims(session, plan)
    try:
        shown = int(request.args.get("abruf", ""))
    except ValueError:
        shown = None
    return render_template(
        "allocation_pass_through.html", plan=plan, kreis=kreis, rows=rows, claims=claims,
        decision=next((c for c in claims if c.id == shown), None),
        sums={key: sum((getattr(r, key) for r in rows), from_cents(0)) for key in ("claimed", "accepted", "refused", "rest")},
        share_sum=sum((r.row.share for r in rows), from_cents(0)), pupils=sum(r.row.pupils for r in rows),
        form=form or _pass_through_form(plan, claim_date=today()), may_write=can_write(current_user.user, kreis))


@bp.post("/weiterleitung/<plan_key>/abruf")
def pass_through_claim(plan_key: str):
    """Enter a municipality's claim (``add_pass_through_claim``, audited
    ``pass_through_claim_add``); officers of the Kreis only (403)."""
    plan, kreis = _pass_through_plan(plan_key, write=True)
    form = _pass_through_form(plan)
    if form.validate_on_submit():
        try:
            with write_session() as session:
                added = add_pass_through_claim(session, plan, form.municipality.data, form.claim_date.data,
                                               form.amount_value(), form.reference.data,
                                               actor=current_user.username, now=timestamp())
                claim_id, accepted, refused = added.id, added.accepted_cents, added.refused_cents
        except LedgerError as exc:
            form.municipality.errors.append(as_sentence(exc))
        else:
            flash(f"Mittelabruf {form.municipality.data} erfasst: als Weiterleitung gebucht "
                  f"{format_german(from_cents(accepted))} EUR, abgelehnt {format_german(from_cents(refused))} EUR.")
            return redirect(url_for("allocation.pass_through", plan_key=plan_key, abruf=claim_id,
                                    _anchor="entscheidung"))
    return pass_through(plan_key, form=form), FORM_ERROR_STATUS


@bp.get("/weiterleitung/<plan_key>/abrechnung.pdf")
def pass_through_pdf(plan_key: str):
    """The pass-through plan's statement as PDF (``Weiterleitung_<plan>.pdf``)."""
    plan, kreis = _pass_through_plan(plan_key)
    session = get_session()
    data = render_pass_through_statement(plan, pass_through_overview(session, plan), plan_claims(session, plan),
                                         as_of=today(), grantor_name=kreis.name)
    return pdf_response(data, f"Weiterleitung_{plan_key}.pdf")
