"""Master data of one recipient (schools, pools, providers, municipalities, cost centres, commitments):
the overview for everyone who may read the recipient, add and edit forms for its officers."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ledger.core.models import (
    ACCOUNT_TYPES,
    Commitment,
    CostCentre,
    Municipality,
    Pool,
    Provider,
    Recipient,
    School,
)
from ledger.core.users import can_write
from ledger.workflows.masterdata import KINDS, MasterDataError, as_row, save
from webapp.auth import recipient_for
from webapp.clock import timestamp
from webapp.db import get_packs, get_session, write_session
from webapp.masterdata_fields import form_fields, read_form
from webapp.views import default_school_year

OUTCOME = {"added": "angelegt", "updated": "geändert (alte und neue Werte protokolliert)",
           "unchanged": "unverändert"}

bp = Blueprint("masterdata", __name__, url_prefix="/r/<key>")


@bp.get("/stammdaten")
def index(key: str):
    """All master data the rules decide from, every kind (schools, providers, pools, municipalities,
    cost centres, commitments), and the chart of accounts; links to the forms for officers."""
    session = get_session()
    recipient = recipient_for(key)

    def of(model, order, *options):
        return session.scalars(select(model).where(model.recipient_id == recipient.id).order_by(order)
                               .options(*options)).all()

    return render_template(
        "masterdata.html", recipient=recipient, year=default_school_year(recipient),
        may_write=can_write(current_user.user, recipient), kinds=KINDS,
        schools=of(School, School.school_number), providers=of(Provider, Provider.name),
        accounts=list(recipient.accounts), account_types=ACCOUNT_TYPES,
        pools=of(Pool, Pool.key, selectinload(Pool.schools), selectinload(Pool.provider)),
        municipalities=of(Municipality, Municipality.name, selectinload(Municipality.verifications)),
        cost_centres=of(CostCentre, CostCentre.code),
        commitments=of(Commitment, Commitment.reference),
    )


@bp.route("/stammdaten/<kind>/neu", methods=["GET", "POST"])
@bp.route("/stammdaten/<kind>/<path:item_key>/bearbeiten", methods=["GET", "POST"])
def edit(key: str, kind: str, item_key: str | None = None):
    """Add an item of ``kind`` (school, provider, pool, municipality, commitment, costcentre) or
    edit the one with ``item_key``; the columns are those of the CSV import, references to
    other master data, categories, financing bases and yes/no flags chosen from lists
    (``webapp.masterdata_fields``). A value not offered is refused with a German message and
    nothing is written; the core checks the row as well, so that every error shows at once.
    Officers only."""
    recipient = recipient_for(key, write=True)
    spec = KINDS.get(kind) or abort(404)
    key_column = spec.schema().fields[spec.key].data_key
    fields = form_fields(get_session(), recipient, spec, get_packs())
    errors: dict[str, str] = {}
    if item_key is not None and as_row(get_session(), recipient, kind, item_key) is None:
        abort(404)           # the edit address of an unknown key never creates it (a new one: …/neu)
    if request.method == "POST":
        row, refused = read_form(fields, request.form)
        if item_key is not None:
            row[key_column] = item_key  # the key identifies the item; it is not edited
        try:
            with write_session() as session:
                outcome, _item = save(session, session.get(Recipient, recipient.id), kind, row,
                                      actor=current_user.username, now=timestamp())
                if refused:
                    raise _Refused  # rolls the write back
        except MasterDataError as exc:
            errors = {issue.column or "": issue.message for issue in exc.issues}
        except _Refused:
            pass
        errors.update(refused)
        if not errors:
            flash(f"{spec.label} {row[key_column]} {OUTCOME[outcome]}.")
            return redirect(url_for("masterdata.index", key=recipient.key))
    elif item_key is not None:
        row = as_row(get_session(), recipient, kind, item_key)
    else:
        row = {column: "" for column in spec.columns}
    return render_template("masterdata_form.html", recipient=recipient, year=default_school_year(recipient),
                           spec=spec, fields=fields, row=row, errors=errors, key_column=key_column,
                           editing=item_key is not None, item_key=item_key, kinds=KINDS), 400 if errors else 200


class _Refused(Exception):
    """A posted value was not among the options: the core's write is rolled back."""
