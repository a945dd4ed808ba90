"""The chart of accounts of one recipient (Kontenplan): every account with its number, name,
Kontoart, default category and, for bank accounts, the IBAN; officers link an asset account
to its IBAN here (``ledger.core.bank.set_account_iban``, logged), so that a bank statement
finds its account and the repayment's SEPA transfer names the recipient's account."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from ledger.core.bank import format_iban, set_account_iban
from ledger.core.errors import LedgerError
from ledger.core.models import ACCOUNT_TYPES, Account, Recipient
from ledger.core.recipients import find_account
from ledger.core.users import can_write
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_session, write_session
from webapp.errors import as_sentence
from webapp.views import default_school_year

bp = Blueprint("accounts", __name__, url_prefix="/r/<key>")
#: Status of the page shown again with an error (nothing was written), as on the master data forms.
FORM_ERROR_STATUS = 400


class IbanForm(FlaskForm):
    """The IBAN of one asset account: any spacing; empty removes it."""

    iban = StringField("IBAN", validators=[Length(max=42, message="Eine IBAN hat höchstens 34 Zeichen.")],
                       filters=[lambda value: value.strip() if value else value])


def _form(account: Account, form: IbanForm | None = None) -> IbanForm:
    """``form`` (a posted one), else a new form holding ``account``'s IBAN in groups of four;
    its field's id names the account, so that every label on the page is unique."""
    if form is None:
        form = IbanForm(formdata=None, data={"iban": format_iban(account.iban) if account.iban else ""})
    form.iban.id = f"iban-{account.number}"
    return form


@bp.get("/kontenplan")
def index(key: str):
    """The recipient's chart of accounts, read-only for everyone who may read the recipient;
    an IBAN field per asset account for its officers."""
    return _page(recipient_for(key))


def _page(recipient: Recipient, posted: tuple[str, IbanForm] | None = None):
    """The chart page; ``posted``: the account number and form of a refused change, shown with
    its errors next to the field (status ``FORM_ERROR_STATUS``)."""
    may_write = can_write(current_user.user, recipient)
    accounts = list(recipient.accounts)
    forms = {}
    if may_write:
        forms = {a.number: _form(a, posted[1] if posted and posted[0] == a.number else None)
                 for a in accounts if a.type == "asset"}
    status = FORM_ERROR_STATUS if posted else 200
    return render_template("accounts.html", recipient=recipient, year=default_school_year(recipient),
                           accounts=accounts, account_types=ACCOUNT_TYPES, forms=forms, may_write=may_write), status


@bp.post("/kontenplan/<number>/iban")
def set_iban(key: str, number: str):
    """Link the asset account ``number`` to the IBAN typed (empty: unlink it). Officers only;
    a refused IBAN (invalid, not an asset account, linked to another account) is shown next to
    the field and nothing is written."""
    recipient = recipient_for(key, write=True)
    account = find_account(get_session(), recipient, number) or abort(404)
    form = _form(account, IbanForm())
    if form.validate_on_submit():
        try:
            with write_session() as session:
                changed = set_account_iban(session, session.get(Recipient, recipient.id), number,
                                           form.iban.data or None, actor=current_user.username, now=timestamp())
                iban = changed.iban
        except LedgerError as exc:
            form.iban.errors = [as_sentence(exc)]
        else:
            flash(f"Konto {account.label}: IBAN {format_iban(iban)} gespeichert." if iban
                  else f"Konto {account.label}: IBAN entfernt.")
            return redirect(url_for("accounts.index", key=recipient.key))
    return _page(recipient, (number, form))
