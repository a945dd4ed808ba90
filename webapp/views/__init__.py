"""Blueprints of the web UI: one per area (home, dashboard, journal, statements, notification)."""
from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from flask import Response, abort, render_template, request

from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.money import parse_amount, to_cents
from ledger.core.models import Recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import school_years
from ledger.rules.packs import NoRulePack
from ledger.workflows.masterdata import cost_centre_codes
from webapp.auth import recipient_for
from webapp.books_cache import kept
from webapp.clock import today
from webapp.db import get_packs, get_session
from webapp.errors import error_page


#: Recipients whose school years each server process keeps (``recipient_years``).
RECIPIENTS_KEPT = 256


def recipient_years(recipient: Recipient) -> list[SchoolYear]:
    """``ledger.reports.repayment.school_years`` of ``recipient`` (oldest first), kept per
    state of the books in each server process (``webapp.books_cache``): every page of a
    recipient asks."""
    return list(kept("school_years", RECIPIENTS_KEPT, (recipient.id,),
                     lambda: tuple(school_years(get_session(), recipient))))


def recipient_cost_centres(recipient: Recipient) -> list[str]:
    """``ledger.workflows.masterdata.cost_centre_codes`` of ``recipient`` (sorted), kept per state
    of the books in each server process (``webapp.books_cache``): the journal's filter offers them."""
    return list(kept("cost_centres", RECIPIENTS_KEPT, (recipient.id,),
                     lambda: tuple(cost_centre_codes(get_session(), recipient))))


class AccountChoice(NamedTuple):
    """An account as a filter offers it: its ``number`` and ``label`` (number and name)."""

    number: str
    label: str


def recipient_accounts(recipient: Recipient) -> list[AccountChoice]:
    """``recipient``'s accounts (by number) as ``AccountChoice``, kept per state of the books in
    each server process (``webapp.books_cache``): the journal's filter offers them."""
    return list(kept("accounts", RECIPIENTS_KEPT, (recipient.id,),
                     lambda: tuple(AccountChoice(account.number, account.label) for account in recipient.accounts)))


def default_school_year(recipient: Recipient, years: list[SchoolYear] | None = None) -> SchoolYear:
    """The recipient's latest school year with data, else the current school year;
    ``years``: the recipient's ``school_years`` if the caller has them already."""
    years = recipient_years(recipient) if years is None else years
    return years[-1] if years else SchoolYear.of(today())


def require_year(recipient: Recipient, start_year: int) -> tuple[SchoolYear, list[SchoolYear]]:
    """School year ``start_year``/``start_year + 1`` and the recipient's school years.

    Aborts with 404 unless the recipient has data in that year or it is the current
    school year (so a new recipient still gets a dashboard).
    """
    year = SchoolYear(start_year)
    years = recipient_years(recipient)
    if year not in years and year != SchoolYear.of(today()):
        abort(404, f"Für {recipient.name} gibt es im Schuljahr {year} keine Daten.")
    return year, sorted({*years, year})


def known_year(recipient: Recipient, start_year: int) -> tuple[SchoolYear, list[SchoolYear], bool]:
    """School year ``start_year``/``start_year + 1``, the recipient's school years (with it) and
    whether the recipient has data in it (a grant, an agreement, a notice or postings).

    A year without data is known from the first school year a rule pack of the
    Inklusionspauschale judges up to the school year after the current one: its page says how
    to start it. Aborts with 404 for a year without data outside that range.
    """
    year = SchoolYear(start_year)
    years = recipient_years(recipient)
    if year in years:
        return year, years, True
    starts = [p.valid_from for p in get_packs() if p.programme == INKLUSIONSPAUSCHALE]
    first = min([*starts, SchoolYear.of(today())])
    if not first <= year <= SchoolYear(SchoolYear.of(today()).start_year + 1):
        abort(404, f"Für {recipient.name} gibt es im Schuljahr {year} keine Daten.")
    return year, sorted({*years, year}), False


def pdf_response(data: bytes, filename: str) -> Response:
    """``data`` (PDF bytes) as a download named ``filename``, not cached."""
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def issued_pdf_response(recipient: Recipient, issued) -> Response:
    """An issued statement (``IssuedStatement``) byte for byte as a download named
    ``Verwendungsnachweis_<key>_<2023-24>_Nr<number>.pdf`` (the web page's and the API's)."""
    name = f"Verwendungsnachweis_{recipient.key}_{issued.school_year.replace('/', '-')}_Nr{issued.number}.pdf"
    return pdf_response(issued.pdf, name)


#: The navigation entry of a year's page by its view (``year_error_page``), else the dashboard.
_NAV = {"review.show": "review", "review.classification": "classification", "review.override": "classification",
        "review.withdraw": "classification", "review.record_run": "classification"}


def year_error_page(exc: NoRulePack):
    """A page of one recipient's school year (``/r/<key>/<year>/…``) that needs the year's rule
    pack when none is in force: the year's head, the German reason and the links to the other
    years, status 409 (the request is fine, the year's state forbids the answer). Elsewhere the
    plain error page with 409."""
    args = request.view_args or {}
    if "key" not in args or "start_year" not in args:
        return error_page(409, f"Die Zahlen können nicht berechnet werden: {exc.message}.")
    recipient = recipient_for(args["key"])
    year, years = require_year(recipient, args["start_year"])
    nav = "statements" if request.blueprint == "statements" else _NAV.get(request.endpoint, "dashboard")
    return render_template("dashboard_year_error.html", recipient=recipient, year=year, years=years,
                           year_error=exc.message, nav=nav), 409


def amount_arg(name: str, errors: dict[str, str]) -> Decimal | None:
    """The query argument ``name`` as an amount in EUR (``1.234,56`` or ``1234.56``); an error note if invalid."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        amount = parse_amount(text)
        to_cents(amount)
        return amount
    except LedgerError:
        errors[name] = f"„{text[:30]}“ ist kein gültiger Betrag (z. B. 1.234,56)."
        return None
