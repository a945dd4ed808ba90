"""Downloads of one recipient's books for auditors and officers (Datenüberlassung).

Everyone who may read the recipient (``recipient_for(key)``: its officers, auditors, admins)
gets the page ``/r/<key>/downloads`` and the files it offers:

=========================  ==========================================  ====================
download (``kind``)        parameters                                  formats
=========================  ==========================================  ====================
``journal``                ``year`` (optional), ``from``, ``to``       CSV, XLSX
``einstufung``             ``year`` (required), the page's filters     CSV, XLSX
``summen-und-salden``      ``year`` (optional), ``from``, ``to``       CSV, XLSX
``kontoblatt``             ``account`` (required), ``year``, …         CSV, XLSX
``gobd``                   ``year`` (optional)                         ZIP (GDPdU data set)
=========================  ==========================================  ====================

The Einstufung's filters are those of its page (``webapp.views.classification_args``); with one
set, the file holds the selection and its title says so.
``year`` is the start year of a school year (``2023``), ``from``/``to`` are ISO dates.
Every download is recorded in the audit log (action ``download`` with the kind, format and
parameters) before the file is handed out; a wrong parameter gives the German error page
(400) and records nothing.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from ledger.core.audit import record
from ledger.core.models import Recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.account_ledger import account_ledger
from ledger.reports.trial_balance import trial_balance
from ledger.rules.evaluation_runs import classified
from ledger.write.downloads import (
    account_ledger_sheet,
    classification_sheet,
    journal_sheet,
    trial_balance_sheet,
)
from ledger.write.gobd import gobd_zip
from ledger.write.tabular import CONTENT_TYPES, render
from webapp.auth import recipient_for
from webapp.views.classification_args import active_filters, classification_filter, cost_centres
from webapp.clock import timestamp
from webapp.db import get_packs, get_session, write_session
from webapp.views import default_school_year, recipient_years

bp = Blueprint("downloads", __name__, url_prefix="/r/<key>/downloads")

#: The downloads in CSV or XLSX, by the name in their address, and the file name's first part.
SHEETS = {"journal": "Journal", "einstufung": "Einstufung", "summen-und-salden": "Summen-und-Saldenliste",
          "kontoblatt": "Kontoblatt"}
ZIP_TYPE = "application/zip"


@bp.get("")
def index(key: str):
    """The page: one form per download with its parameters and the GoBD data set."""
    recipient = recipient_for(key)
    years = recipient_years(recipient)
    return render_template("downloads.html", recipient=recipient, years=years, accounts=recipient.accounts,
                           year=default_school_year(recipient, years))


@bp.get("/<kind>")
def sheet(key: str, kind: str):
    """One table as ``format`` ``csv`` or ``xlsx``, audited; 404 for an unknown ``kind``."""
    if kind not in SHEETS:
        abort(404)
    recipient = recipient_for(key)
    fmt = request.args.get("format", "").strip()
    if fmt not in CONTENT_TYPES:
        abort(400, "Bitte das Format CSV oder XLSX wählen.")
    session, packs = get_session(), get_packs()
    school_year = _year(recipient, required=kind == "einstufung")
    date_from, date_to = _date("from"), _date("to")
    if date_from and date_to and date_from > date_to:
        abort(400, "Das Bis-Datum liegt vor dem Von-Datum.")
    details = {"kind": kind, "format": fmt, "school_year": str(school_year) if school_year else None,
               "date_from": date_from.isoformat() if date_from else None,
               "date_to": date_to.isoformat() if date_to else None}
    scope = {"school_year": school_year, "date_from": date_from, "date_to": date_to}
    suffix = []
    if kind == "journal":
        table = journal_sheet(session, recipient, packs, **scope)
    elif kind == "einstufung":
        items = classified(session, recipient, school_year, packs).items
        keep, errors = classification_filter(cost_centres(session, recipient, items), packs)
        if errors:
            abort(400, " ".join(errors.values()))
        details["filters"] = active_filters(errors) or None
        table = classification_sheet(items, school_year, packs, keep)
    elif kind == "summen-und-salden":
        table = trial_balance_sheet(trial_balance(session, recipient, **scope))
    else:
        number = request.args.get("account", "").strip()
        if not number:
            abort(400, "Bitte ein Konto wählen.")
        table = account_ledger_sheet(account_ledger(session, recipient, number, **scope), packs)
        details["account"] = number
        suffix.append(number)
    name = _file_name(SHEETS[kind], recipient, suffix, school_year, date_from, date_to, fmt)
    data = render(table, fmt, now=timestamp())
    _audit(recipient, details)
    return _attachment(data, CONTENT_TYPES[fmt], name)


@bp.get("/gobd.zip")
def gobd(key: str):
    """The GoBD data set (GDPdU: index.xml, DTD, CSV files) as a ZIP, of one school year or all; audited."""
    recipient = recipient_for(key)
    school_year = _year(recipient)
    data = gobd_zip(get_session(), recipient, school_year=school_year, now=timestamp())
    _audit(recipient, {"kind": "gobd", "format": "zip", "school_year": str(school_year) if school_year else None})
    return _attachment(data, ZIP_TYPE, _file_name("GoBD-Datenueberlassung", recipient, [], school_year, None, None,
                                                  "zip"))


def _year(recipient: Recipient, *, required: bool = False) -> SchoolYear | None:
    """The query argument ``year`` (start year) as one of the recipient's school years; 400 if
    unknown or, when ``required``, missing."""
    text = request.args.get("year", "").strip()
    if not text:
        if required:
            abort(400, "Bitte ein Schuljahr wählen.")
        return None
    year = next((y for y in recipient_years(recipient) if str(y.start_year) == text), None)
    if year is None:
        abort(400, f"Für das Schuljahr „{text}“ gibt es keine Buchungen.")
    return year


def _date(name: str) -> date | None:
    """The query argument ``name`` as an ISO date; 400 if it is none."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400, f"„{text}“ ist kein gültiges Datum (erwartet JJJJ-MM-TT).")


def _audit(recipient: Recipient, details: dict) -> None:
    """Record the download (action ``download``) with its parameters (empty ones left out)."""
    with write_session() as session:
        record(session, actor=current_user.username, action="download", now=timestamp(),
               recipient=session.get(Recipient, recipient.id),
               details={name: value for name, value in details.items() if value is not None})


def _file_name(title: str, recipient: Recipient, parts: list[str], school_year: SchoolYear | None,
               date_from: date | None, date_to: date | None, fmt: str) -> str:
    """``Journal_musterhausen_2023-24_2023-08-01_bis_2023-12-31.xlsx`` (only the parts given)."""
    pieces = [title, recipient.key, *parts]
    if school_year is not None:
        pieces.append(str(school_year).replace("/", "-"))
    if date_from or date_to:
        pieces.append(f"{date_from.isoformat() if date_from else 'Beginn'}_bis_{date_to.isoformat() if date_to else 'heute'}")
    return "_".join(pieces) + "." + fmt


def _attachment(data: bytes, mimetype: str, name: str) -> Response:
    return Response(data, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
