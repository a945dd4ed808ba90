"""The journal of one recipient: filtered, paginated list, entry detail, manual entry and reversal."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ledger.core.errors import LedgerError
from ledger.core.models import Recipient
from ledger.core.money import parse_amount
from ledger.core.posting import (
    PostingLine,
    find_reversal,
    get_entry,
    post_entry,
    reverse_entry,
)
from ledger.core.recipients import find_account
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.core.users import can_write
from ledger.reports.journal import (
    UNCLASSIFIED,
    category_choices,
    category_label,
    entry_amount,
    journal_page,
    signed_amount,
)
from ledger.rules.evaluate import evaluate
from ledger.rules.packs import RulePackError
from ledger.rules.status import STATUS_LABELS
from webapp.auth import recipient_for
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, write_session
from webapp.entry_forms import ManualEntryForm, ReversalForm
from webapp.views import amount_arg, default_school_year, recipient_accounts, recipient_cost_centres, recipient_years

bp = Blueprint("journal", __name__, url_prefix="/r/<key>/journal")

PER_PAGE = 50


@bp.get("")
def index(key: str):
    """Journal entries, filtered by ``q`` (text in voucher number or booking text), ``from``/``to``
    (ISO dates), ``year`` (start year of a school year, ``2023``), ``category`` (id or
    ``none``), ``account`` (account number), 50 per ``page``."""
    session = get_session()
    recipient = recipient_for(key)
    packs = get_packs()
    categories = category_choices(packs)
    accounts = recipient_accounts(recipient)
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
    years = recipient_years(recipient)
    year_arg = request.args.get("year", "").strip() or None
    school_year = None
    if year_arg is not None:
        school_year = next((y for y in years if str(y.start_year) == year_arg), None)
        if school_year is None:
            errors["year"] = f"Für das Schuljahr „{year_arg}“ gibt es keine Buchungen."
    centres = recipient_cost_centres(recipient)
    cost_centre = request.args.get("kst", "").strip() or None
    if cost_centre is not None and cost_centre not in centres:
        errors["kst"] = f"Kostenstelle „{cost_centre}“ gibt es in den Stammdaten nicht."
        cost_centre = None
    amount_min, amount_max = amount_arg("betrag_von", errors), amount_arg("betrag_bis", errors)
    state = request.args.get("stand", "").strip() or None
    if state is not None and state not in STATE_LABELS:
        errors["stand"] = "Unbekannter Stand."
        state = None
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)

    search = request.args.get("q", "").strip()[:100] or None
    chosen = {"date_from": date_from, "date_to": date_to, "category": category, "account_number": account,
              "school_year": school_year, "search": search, "cost_centre": cost_centre, "amount_min": amount_min,
              "amount_max": amount_max, "state": state}
    filters = {name: request.args.get(name, "") for name in FILTERS}
    active = {name: value for name, value in filters.items() if value and name not in errors}
    found = journal_page(session, recipient, packs, **chosen, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                         with_sum=bool(active))
    pages = max(1, -(-found.total // PER_PAGE))
    if page > pages:
        abort(404, f"Seite {page} gibt es nicht; das Journal hat {pages} Seite(n).")
    return render_template(
        "journal.html", recipient=recipient, lines=found.lines, total=found.total, page=page, pages=pages,
        per_page=PER_PAGE, filters=filters, active=active, errors=errors, categories=categories,
        accounts=accounts, years=years, unclassified=UNCLASSIFIED, year=default_school_year(recipient, years),
        may_write=can_write(current_user.user, recipient), centres=centres, states=STATE_LABELS,
        total_amount=found.amount,
        page_url=lambda n: url_for("journal.index", key=recipient.key, page=n, **active),
        entry_url=_entry_url(recipient),
    )


def _entry_url(recipient: Recipient):
    """``entry id → URL of its page`` for the rows of a list: the route's URL is built once (50
    rows of ``url_for`` were a sixth of the journal page's time)."""
    zero = url_for("journal.detail", key=recipient.key, entry_id=0)
    prefix = zero[:-1]
    return lambda entry_id: f"{prefix}{int(entry_id)}"


#: The journal's query arguments that filter.
FILTERS = ("q", "from", "to", "year", "category", "account", "kst", "betrag_von", "betrag_bis", "stand")
#: ``stand`` filter values (``ledger.reports.journal.STATES``) → German labels.
STATE_LABELS = {"active": "gebucht (nicht storniert)", "reversed": "storniert", "reversal": "Storno-Buchungen"}


@bp.get("/<int:entry_id>")
def detail(key: str, entry_id: int):
    """One journal entry with its postings; another recipient's entry is not found (404).
    Officers who may write see the reversal form (unless it is a reversal or reversed), its
    date defaulting to a day of the entry's school year (``default_reversal_day``)."""
    session = get_session()
    recipient = recipient_for(key)
    entry = get_entry(session, recipient, entry_id)
    form = None
    reversed_by = find_reversal(session, entry)
    if can_write(current_user.user, recipient) and entry.reverses_id is None and reversed_by is None:
        form = ReversalForm(day=default_reversal_day(entry, today()))
    return _detail_page(recipient, entry, reversed_by, form)


def default_reversal_day(entry, day: date) -> date:
    """The reversal's default booking date: ``day`` (today) while it lies in the school year of
    the entry's postings, else the last day of that school year once it is over, else the
    entry's own date; so that by default the Storno is booked in the year it corrects."""
    year = SchoolYear.parse(entry.postings[0].school_year) if entry.postings else SchoolYear.of(entry.date)
    if year.contains(day):
        return day
    return year.last_day if day > year.last_day else max(entry.date, year.first_day)


@bp.post("/<int:entry_id>/storno")
def reverse(key: str, entry_id: int):
    """Reverse the entry (Storno) with date and reason in two steps: the first shows what will be
    booked (with a warning when the date lies outside the entry's school year), the second
    (``confirmed``) books it and shows the reversal."""
    recipient = recipient_for(key, write=True)
    entry = get_entry(get_session(), recipient, entry_id)
    form = ReversalForm()
    if form.validate_on_submit():
        if form.confirmed.data != "ja":
            return _confirm_page(recipient, entry, form)
        try:
            with write_session() as session:
                reversal = reverse_entry(session, session.get(type(entry), entry.id), day=form.day.data,
                                         reason=form.reason.data, created_by=current_user.username, now=timestamp())
                reversal_id = reversal.id
        except LedgerError as exc:
            form.reason.errors.append(str(exc))
        except IntegrityError:
            # another request reversed it between our check and our commit (journal_entries.reverses_id is unique)
            form.reason.errors.append(f"Buchung {entry.id} wurde bereits storniert")
        else:
            flash(f"Buchung {entry.id} ist storniert (Storno-Buchung {reversal_id}).")
            return redirect(url_for("journal.detail", key=recipient.key, entry_id=reversal_id))
    return _detail_page(recipient, entry, find_reversal(get_session(), entry), form), 400


def _confirm_page(recipient, entry, form: ReversalForm):
    """The confirmation step of a reversal: the lines with opposite signs, date, reason."""
    years = sorted({p.school_year for p in entry.postings})
    outside = [y for y in years if not SchoolYear.parse(y).contains(form.day.data)]
    form.confirmed.data = "ja"
    return render_template("entry_reverse_confirm.html", recipient=recipient, entry=entry, form=form,
                           amount=entry_amount(entry), years=years, outside=outside,
                           year=default_school_year(recipient))


@bp.route("/neu", methods=["GET", "POST"])
def new(key: str):
    """Manual journal entry: up to six lines; unbalanced input is refused with the difference."""
    recipient = recipient_for(key, write=True)
    packs = get_packs()
    form = ManualEntryForm()
    accounts = [SelectChoice("", "– Konto wählen –")] + [SelectChoice(a.number, a.label) for a in recipient.accounts]
    categories = [SelectChoice("", "– keine / nach Konto –")] + [SelectChoice(c.id, c.label)
                                                                 for c in category_choices(packs)]
    for line in form.lines:
        line.account.choices, line.category.choices = accounts, categories
    problem = None
    if form.validate_on_submit():
        try:
            lines = _lines(form, recipient)
            with write_session() as session:
                entry = post_entry(session, session.merge(recipient), day=form.day.data,
                                   voucher_number=form.voucher_number.data, text=form.text.data,
                                   lines=[PostingLine(session.merge(l.account), l.amount, l.school_year, l.category,
                                                      l.cost_centre) for l in lines],
                                   kind="manual", created_by=current_user.username, now=timestamp())
                entry_id = entry.id
        except (LedgerError, SchoolYearError) as exc:
            problem = str(exc)
        else:
            flash(f"Buchung {entry_id} ({form.voucher_number.data}) ist gebucht.")
            return redirect(url_for("journal.detail", key=recipient.key, entry_id=entry_id))
    status = 400 if request.method == "POST" else 200
    return render_template("entry_new.html", recipient=recipient, form=form, problem=problem,
                           year=default_school_year(recipient)), status


def _lines(form: ManualEntryForm, recipient) -> list[PostingLine]:
    """The form's used lines as ``PostingLine``s. Raises LedgerError naming the line at fault."""
    year = SchoolYear.parse(form.school_year.data.strip()) if form.school_year.data else SchoolYear.of(form.day.data)
    lines = []
    for number, row in enumerate(form.lines, start=1):
        line = row.form
        if not line.used:
            continue
        debit, credit = (line.debit.data or "").strip(), (line.credit.data or "").strip()
        if not line.account.data:
            raise LedgerError(f"Zeile {number}: bitte ein Konto wählen")
        if bool(debit) == bool(credit):
            raise LedgerError(f"Zeile {number}: bitte entweder Soll oder Haben angeben")
        account = find_account(get_session(), recipient, line.account.data)
        amount = parse_amount(debit) if debit else -parse_amount(credit)
        category = line.category.data or (account.category if account.type == "expense" else None)
        lines.append(PostingLine(account, amount, year, category, (line.cost_centre.data or "").strip() or None))
    return lines


def _detail_page(recipient, entry, reversed_by, form):
    packs = get_packs()
    postings = [(p, category_label(p.category, p.school_year, packs) if p.account.type == "expense" else None)
                for p in entry.postings]
    decisions = {}
    for year in sorted({p.school_year for p in entry.postings if p.account.type == "expense"}):
        try:
            items = evaluate(get_session(), recipient, SchoolYear.parse(year), packs, entry_id=entry.id)
        except RulePackError:
            continue  # no pack judges that year: the entry page still shows the postings
        decisions.update({item.posting_id: item for item in items})
    return render_template(
        "entry.html", recipient=recipient, entry=entry, postings=postings, amount=signed_amount(entry),
        reversed_by=reversed_by, year=default_school_year(recipient), form=form, decisions=decisions,
        labels=STATUS_LABELS,
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
