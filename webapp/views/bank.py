"""Bank entries a statement import parked (no rule of its import profile placed them), and the
officer's booking of each against a counter account (``ledger.workflows.parked``).

``GET /r/<key>/kontoauszug/zurueckgestellt``: the open parked entries (``?alle=1``: also the
booked ones) for everyone who may read the recipient; officers who may write get a form per
entry. ``POST …/<id>/buchen`` books one; errors are shown at the entry's form.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ledger.core.errors import LedgerError
from ledger.core.models import Account, Recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import can_write
from ledger.workflows.parked import book_parked, parked_entries
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_packs, get_session, write_session
from webapp.views import default_school_year

bp = Blueprint("bank", __name__, url_prefix="/r/<key>/kontoauszug")

#: Roles whose accounts are not offered as counter account (they have their own workflow).
_NOT_OFFERED = ("bank", "grant_revenue", "repayment_liability", "repayment_charge")


class BookForm(FlaskForm):
    """The counter account of one parked entry, with category, cost centre and school year."""

    account = SelectField("Gegenkonto", validators=[DataRequired("Bitte ein Gegenkonto wählen.")])
    category = SelectField("Kategorie", validators=[Optional()])
    cost_centre = StringField("Kostenstelle", validators=[Optional(), Length(max=40)])
    school_year = StringField("Schuljahr", validators=[Optional(), Regexp(
        r"^\d{4}/\d{2}$", message="Schuljahr wie 2024/25 angeben.")])


def _form(recipient: Recipient, parked_id: int | None = None, formdata=None) -> BookForm:
    form = BookForm(formdata=formdata, prefix=f"p{parked_id}" if parked_id else "")
    accounts = [a for a in recipient.accounts if a.role not in _NOT_OFFERED and a.type != "asset"]
    form.account.choices = [("", "– bitte wählen –")] + [(a.number, a.label) for a in accounts]
    packs = get_packs()
    categories = {c.id: c.label for pack in packs for c in pack.categories}
    form.category.choices = [("", "Kategorie des Kontos")] + sorted(categories.items(), key=lambda item: item[1])
    return form


@bp.get("/zurueckgestellt")
def index(key: str):
    """The parked entries; a booking form for each open one (officers)."""
    recipient = recipient_for(key)
    show_all = request.args.get("alle") == "1"
    return _page(recipient, show_all)


@bp.post("/zurueckgestellt/<int:parked_id>/buchen")
def book(key: str, parked_id: int):
    """Book the parked entry ``parked_id`` against the chosen counter account."""
    recipient = recipient_for(key, write=True)
    form = _form(recipient, parked_id, request.form)
    if form.validate_on_submit():
        try:
            with write_session() as session:
                entry = book_parked(
                    session, session.get(Recipient, recipient.id), parked_id, counter_account=form.account.data,
                    category=form.category.data or None, cost_centre=form.cost_centre.data.strip() or None,
                    school_year=SchoolYear.parse(form.school_year.data) if form.school_year.data else None,
                    user=current_user.username, now=timestamp(), packs=get_packs())
                entry_id = entry.id
        except LedgerError as exc:
            form.account.errors = [*form.account.errors, exc.message if hasattr(exc, "message") else str(exc)]
        else:
            flash(f"Kontoumsatz gebucht (Buchung Nr. {entry_id}).")
            return redirect(url_for("bank.index", key=recipient.key))
    return _page(recipient, False, failed=(parked_id, form)), 400


def _page(recipient: Recipient, show_all: bool, failed: tuple[int, BookForm] | None = None) -> str:
    session = get_session()
    items = parked_entries(session, recipient, open_only=not show_all)
    may_write = can_write(current_user.user, recipient)
    forms = {}
    if may_write:
        forms = {item.parked.id: _form(recipient, item.parked.id) for item in items if item.open}
        if failed is not None:
            forms[failed[0]] = failed[1]
    return render_template("bank_parked.html", recipient=recipient, year=default_school_year(recipient),
                           items=items, forms=forms, show_all=show_all, nav="import",
                           accounts={a.id: a for a in session.query(Account).filter_by(recipient_id=recipient.id)})
