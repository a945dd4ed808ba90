"""The journal of one recipient: filtered, paginated list and entry detail."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request, url_for

from ledger.journal import (UNCLASSIFIED, category_choices, category_label, entry_amount,
                            entry_categories, list_entries)
from ledger.posting import find_reversal, get_entry
from webapp.auth import recipient_for
from ledger.repayment import school_years
from webapp.db import get_packs, get_session
from webapp.views import default_school_year

bp = Blueprint("journal", __name__, url_prefix="/r/<key>/journal")

PER_PAGE = 50


@bp.get("")
def index(key: str):
    """Journal entries, filtered by ``from``/``to`` (ISO dates), ``year`` (start year of a
    school year, ``2023``), ``category`` (id or ``none``), ``account`` (account number),
    50 per ``page``."""
    session = get_session()
    recipient = recipient_for(key)
    packs = get_packs()
    categories = category_choices(packs)
    accounts = recipient.accounts
    errors: dict[str, str] = {}

    date_from = _date_arg("from", errors)
    date_to = _date_arg("to", errors)
    if date_from and date_to and date_from > date_to:
        errors["to"] = "Das Bis-Datum liegt vor dem Von-Datum."
        date_to = None
    category = request.args.get("category", "").strip() or None
    if category is not None and category != UNCLASSIFIED and category not in {c.id for c in categories}:
        errors["category"] = f"Unbekannte Kategorie „{category}“."
        category = None
    account = request.args.get("account", "").strip() or None
    if account is not None and account not in {a.number for a in accounts}:
        errors["account"] = f"Konto {account} gibt es im Kontenplan nicht."
        account = None
    years = school_years(session, recipient)
    year_arg = request.args.get("year", "").strip() or None
    school_year = None
    if year_arg is not None:
        school_year = next((y for y in years if str(y.start_year) == year_arg), None)
        if school_year is None:
            errors["year"] = f"Für das Schuljahr „{year_arg}“ gibt es keine Buchungen."
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)

    entries, total = list_entries(
        session, recipient, date_from=date_from, date_to=date_to, category=category,
        account_number=account, school_year=school_year, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if page > pages:
        abort(404, f"Seite {page} gibt es nicht; das Journal hat {pages} Seite(n).")
    rows = [(entry, entry_amount(entry), entry_categories(entry, packs)) for entry in entries]
    filters = {name: request.args.get(name, "") for name in ("from", "to", "year", "category", "account")}
    active = {name: value for name, value in filters.items() if value and name not in errors}
    return render_template(
        "journal.html", recipient=recipient, rows=rows, total=total, page=page, pages=pages,
        per_page=PER_PAGE, filters=filters, active=active, errors=errors, categories=categories,
        accounts=accounts, years=years, unclassified=UNCLASSIFIED, year=default_school_year(recipient),
        page_url=lambda n: url_for("journal.index", key=recipient.key, page=n, **active),
    )


@bp.get("/<int:entry_id>")
def detail(key: str, entry_id: int):
    """One journal entry with its postings; another recipient's entry is not found (404)."""
    session = get_session()
    recipient = recipient_for(key)
    entry = get_entry(session, recipient, entry_id)
    packs = get_packs()
    postings = [(p, category_label(p.category, p.school_year, packs) if p.account.type == "expense" else None)
                for p in entry.postings]
    return render_template(
        "entry.html", recipient=recipient, entry=entry, postings=postings, amount=entry_amount(entry),
        reversed_by=find_reversal(session, entry), year=default_school_year(recipient),
    )


def _date_arg(name: str, errors: dict[str, str]) -> date | None:
    """The query argument ``name`` as an ISO date (``2024-04-01``); an error note if invalid."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"„{text}“ ist kein gültiges Datum (erwartet JJJJ-MM-TT)."
        return None
