"""Schuljahr verwalten: one page per recipient and school year with every step of the year that
is not an import or a classification: the assessment notice (Festsetzungsbescheid) and the
payouts, the repayment's confirmation and payment, the agreement with the Land and its status,
the Land's notices and their withdrawal, closing the year and (administration) re-opening it.

Each form calls the same core function as the command line, which checks and audits it; a
refusal shows the page again (status 422) with the German reason at the form and in an error
summary at its top, a success redirects with a flash message (post/redirect/get). The
recipient's officers see the forms, everyone else who may read the recipient sees the year.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from ledger.core.agreements import IN_FORCE, STATUSES, add_agreement, change_status, find_agreement, status_history
from ledger.core.errors import LedgerError
from ledger.core.grants import add_payout, find_grant, get_grant
from ledger.core.models import PeriodEvent, Recipient
from ledger.core.money import format_german, from_cents
from ledger.core.notices import add_notice, find_notice, in_force_of, notice_history, withdraw_notice
from ledger.core.periods import closed_years
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import can_write, get_user
from ledger.reports.repayment import compute_repayment
from ledger.workflows.closing import close_year, closing_problems, reopen_year
from ledger.workflows.grants import record_grant
from ledger.workflows.repayment import confirm_repayment, pay_repayment
from webapp.auth import recipient_for
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, write_session
from webapp.errors import as_sentence
from webapp.views import known_year
from webapp.year_forms import (
    AgreementForm,
    AgreementStatusForm,
    CloseForm,
    ConfirmForm,
    GrantForm,
    NoticeForm,
    PaymentForm,
    PayoutForm,
    ReopenForm,
    WithdrawalForm,
    amount_of,
)

bp = Blueprint("year", __name__, url_prefix="/r/<key>/<int:start_year>/schuljahr")
#: Status of the page shown again with a form's errors (nothing was written).
FORM_ERROR_STATUS = 422

#: Each form of the page by its name (also its prefix, its URL and its section's anchor), and
#: the field a refusal of the core is shown at.
FORMS: dict[str, tuple[type[FlaskForm], str]] = {
    "festsetzung": (GrantForm, "assessed"),
    "auszahlung": (PayoutForm, "amount"),
    "bestaetigung": (ConfirmForm, "day"),
    "zahlung": (PaymentForm, "amount"),
    "vereinbarung": (AgreementForm, "deemed_conform"),
    "stand": (AgreementStatusForm, "status"),
    "bescheid": (NoticeForm, "reference"),
    "aufhebung": (WithdrawalForm, "withdrawal_reference"),
    "abschluss": (CloseForm, "note"),
    "wiedereroeffnung": (ReopenForm, "reason"),
}
#: The section (anchor) each form belongs to.
SECTION = {"festsetzung": "festsetzung", "auszahlung": "festsetzung", "bestaetigung": "rueckzahlung",
           "zahlung": "rueckzahlung", "vereinbarung": "vereinbarung", "stand": "vereinbarung",
           "bescheid": "bescheid", "aufhebung": "bescheid", "abschluss": "abschluss",
           "wiedereroeffnung": "abschluss"}


@bp.get("")
def show(key: str, start_year: int):
    """The school year ``start_year``/``start_year + 1`` of the recipient: what is recorded, and
    for its officers the forms (``/r/musterhausen/2023/schuljahr``). A year without data is
    shown too (that is where its grant is recorded); a year far outside any rule pack's and
    today's range is not found (404)."""
    recipient = recipient_for(key)
    year, years, _has_data = known_year(recipient, start_year)
    return _page(recipient, year, years)


def _form(name: str, **defaults) -> FlaskForm:
    """A fresh form ``name`` (prefixed with its name, so the page's field ids stay unique)."""
    return FORMS[name][0](prefix=name, **defaults)


def _submit(key: str, start_year: int, name: str, perform: Callable[..., str], *, admin: bool = False):
    """Handle the POST of form ``name``: validate it, run ``perform(session, recipient, year,
    form)`` in a write transaction (it returns the German success message) and redirect to the
    form's section; on invalid input or a LedgerError show the page again with the errors.
    Officers of the recipient only (403), or with ``admin`` the administration only."""
    if admin:
        recipient = recipient_for(key)
        if current_user.role != "admin":
            abort(403, "Nur die Administration darf ein abgeschlossenes Schuljahr wieder öffnen.")
    else:
        recipient = recipient_for(key, write=True)
    year, years, _has_data = known_year(recipient, start_year)
    form = _form(name)
    if form.validate_on_submit():
        try:
            with write_session() as session:
                message = perform(session, session.get(Recipient, recipient.id), year, form)
        except LedgerError as exc:
            getattr(form, FORMS[name][1]).errors.append(as_sentence(exc))
        else:
            flash(message)
            return redirect(url_for("year.show", key=recipient.key, start_year=year.start_year,
                                    _anchor=SECTION[name]))
    return _page(recipient, year, years, posted=(name, form)), FORM_ERROR_STATUS


@bp.post("/festsetzung")
def grant(key: str, start_year: int):
    """Record the assessment notice (``ledger.workflows.grants.record_grant``, audited ``grant_add``)."""
    def perform(session, recipient, year, form):
        assessed = amount_of(form.assessed)
        record_grant(session, recipient, year, assessed, notice_date=form.notice_date.data,
                     actor=current_user.username, now=timestamp(), packs=get_packs())
        return f"Inklusionspauschale {year}: {format_german(assessed)} EUR festgesetzt."
    return _submit(key, start_year, "festsetzung", perform)


@bp.post("/auszahlung")
def payout(key: str, start_year: int):
    """Book a payout of the grant (``ledger.core.grants.add_payout``, audited ``payout``)."""
    def perform(session, recipient, year, form):
        amount = amount_of(form.amount)
        done = add_payout(session, get_grant(session, recipient, year), form.day.data, amount,
                          voucher_number=(form.voucher.data or "").strip() or None,
                          created_by=current_user.username, now=timestamp())
        return f"Auszahlung {format_german(amount)} EUR am {done.date:%d.%m.%Y} gebucht (Buchung {done.entry_id})."
    return _submit(key, start_year, "auszahlung", perform)


@bp.post("/rueckzahlung/bestaetigen")
def confirm(key: str, start_year: int):
    """Book the repayment obligation (``ledger.workflows.repayment.confirm_repayment``,
    audited ``repayment_confirm``)."""
    def perform(session, recipient, year, form):
        entry = confirm_repayment(session, recipient, year, day=form.day.data, created_by=current_user.username,
                                  now=timestamp(), packs=get_packs())
        return f"Rückzahlungsverpflichtung gebucht (Buchung {entry.id}, Beleg {entry.voucher_number})."
    return _submit(key, start_year, "bestaetigung", perform)


@bp.post("/rueckzahlung/zahlung")
def pay(key: str, start_year: int):
    """Book the payment to the Landeskasse (``ledger.workflows.repayment.pay_repayment``,
    audited ``repayment_pay``)."""
    def perform(session, recipient, year, form):
        amount = amount_of(form.amount)
        entry = pay_repayment(session, recipient, year, amount, day=form.day.data,
                              created_by=current_user.username, now=timestamp(), packs=get_packs())
        return f"Rückzahlung {format_german(amount)} EUR gebucht (Buchung {entry.id})."
    return _submit(key, start_year, "zahlung", perform)


@bp.post("/vereinbarung")
def agreement(key: str, start_year: int):
    """Record the agreement with the Land (``ledger.core.agreements.add_agreement``, audited
    ``agreement_add``)."""
    def perform(session, recipient, year, form):
        add_agreement(session, recipient, year, deemed_conform=amount_of(form.deemed_conform),
                      waive=form.waive.data, reference=form.reference.data or "",
                      repayment=amount_of(form.repayment), payment_date=form.payment_date.data,
                      payment_reference=form.payment_reference.data or "", status=form.status.data,
                      effective_date=form.effective_date.data, created_by=current_user.username, now=timestamp())
        return f"Vereinbarung für {year} erfasst (Stand „{STATUSES[form.status.data]}“)."
    return _submit(key, start_year, "vereinbarung", perform)


@bp.post("/vereinbarung/stand")
def agreement_status(key: str, start_year: int):
    """Record the agreement's next status (``ledger.core.agreements.change_status``, audited
    ``agreement_status``)."""
    def perform(session, recipient, year, form):
        found = find_agreement(session, recipient, year)
        if found is None:
            raise LedgerError(f"für {year} gibt es keine Vereinbarung")
        change_status(session, found, form.status.data, effective_date=form.effective_date.data,
                      created_by=current_user.username, now=timestamp())
        return f"Vereinbarung für {year}: Stand „{STATUSES[form.status.data]}“ erfasst."
    return _submit(key, start_year, "stand", perform)


@bp.post("/bescheid")
def notice(key: str, start_year: int):
    """Record the Land's notice (``ledger.core.notices.add_notice``, audited ``notice_add``); with
    a notice in force it is the amending notice that replaces it."""
    def perform(session, recipient, year, form):
        in_force = find_notice(session, recipient, year)
        points = amount_of(form.interest_points)
        added = add_notice(session, recipient, year, notice_date=form.notice_date.data,
                           reference=form.reference.data, amount=amount_of(form.amount),
                           due_date=form.due_date.data, interest_start=form.interest_start.data,
                           interest_points=points, interest_waived=form.no_interest.data,
                           replaces=None if in_force is None else in_force.id,
                           created_by=current_user.username, now=timestamp())
        kind = "Änderungsbescheid" if in_force is not None else "Bescheid"
        return f"{kind} {added.reference} für {year} erfasst."
    return _submit(key, start_year, "bescheid", perform)


@bp.post("/bescheid/aufhebung")
def withdrawal(key: str, start_year: int):
    """Record the withdrawal of the notice in force (``ledger.core.notices.withdraw_notice``,
    audited ``notice_withdraw``)."""
    def perform(session, recipient, year, form):
        in_force = find_notice(session, recipient, year)
        if in_force is None:
            raise LedgerError(f"für {year} gilt kein Bescheid des Landes")
        withdraw_notice(session, in_force, withdrawal_date=form.withdrawal_date.data,
                        reference=form.withdrawal_reference.data, created_by=current_user.username, now=timestamp())
        return f"Aufhebung des Bescheids {in_force.reference} erfasst."
    return _submit(key, start_year, "aufhebung", perform)


@bp.post("/abschluss")
def close(key: str, start_year: int):
    """Close the school year (``ledger.workflows.closing.close_year``, audited ``period_close``)."""
    def perform(session, recipient, year, form):
        close_year(session, recipient, year, user=get_user(session, current_user.username), now=timestamp(),
                   reason=form.note.data or "", packs=get_packs())
        return f"Schuljahr {year} abgeschlossen."
    return _submit(key, start_year, "abschluss", perform)


@bp.post("/wiedereroeffnung")
def reopen(key: str, start_year: int):
    """Re-open the closed school year (``ledger.workflows.closing.reopen_year``, audited
    ``period_reopen``); administration only."""
    def perform(session, recipient, year, form):
        reopen_year(session, recipient, year, user=get_user(session, current_user.username),
                    reason=form.reason.data, now=timestamp())
        return f"Schuljahr {year} wieder geöffnet."
    return _submit(key, start_year, "wiedereroeffnung", perform, admin=True)


def _page(recipient: Recipient, year: SchoolYear, years: list[SchoolYear], *,
          posted: tuple[str, FlaskForm] | None = None):
    """The year's page; ``posted``: the name and the form of a refused POST, shown with its errors."""
    session = get_session()
    packs = get_packs()
    grant_row = find_grant(session, recipient, year)
    agreement_row = find_agreement(session, recipient, year)
    notices = notice_history(session, recipient, year)
    closed = str(year) in closed_years(session, recipient)
    result = problems = year_error = None
    try:
        result = compute_repayment(session, recipient, year, packs, as_of=today())
        if not closed:
            problems = closing_problems(session, recipient, year, now=timestamp(), packs=packs)
    except LedgerError as exc:
        year_error = as_sentence(exc)
        current_app.logger.warning("Schuljahr %s von %s nicht berechenbar: %s", year, recipient.key, exc)
    forms = {name: _form(name) for name in FORMS}
    forms["bestaetigung"] = _form("bestaetigung", day=today())
    if posted is not None:
        forms[posted[0]] = posted[1]
    return render_template(
        "year.html", recipient=recipient, year=year, years=years, nav="year",
        may_write=can_write(current_user.user, recipient), is_admin=current_user.role == "admin",
        grant=grant_row, payouts=[(p, from_cents(p.amount_cents)) for p in grant_row.payouts] if grant_row else [],
        assessed=from_cents(grant_row.assessed_cents) if grant_row else None,
        paid_out=from_cents(sum(p.amount_cents for p in grant_row.payouts)) if grant_row else None,
        result=result, year_error=year_error, problems=problems, closed=closed,
        events=list(session.scalars(select(PeriodEvent).where(
            PeriodEvent.recipient_id == recipient.id, PeriodEvent.school_year == str(year)).order_by(PeriodEvent.id))),
        agreement=agreement_row, agreement_amounts=_amounts(agreement_row), agreement_history=status_history(session, agreement_row) if agreement_row else (),
        agreement_statuses=STATUSES, in_force_status=IN_FORCE,
        notices=[(step, from_cents(step.notice.amount_cents)) for step in notices],
        notice_in_force=in_force_of(notices), forms=forms, posted=None if posted is None else posted[0],
    )


def _amounts(agreement) -> dict:
    """An agreement's amounts in EUR: ``deemed_conform`` and ``repayment`` (None where absent)."""
    if agreement is None:
        return {}
    return {name: None if cents is None else from_cents(cents)
            for name, cents in (("deemed_conform", agreement.deemed_conform_cents),
                                ("repayment", agreement.repayment_cents))}
