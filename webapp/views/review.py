"""Classification of one recipient and school year: the review queue, every posting's
decision, and what an officer may change about it.

Reading (everyone who may see the recipient): the review queue (``/pruefliste``) and the
classification page (``/einstufung``) with overrides and recorded evaluation runs.

Writing (only the officer assigned to the recipient, ``recipient_for(key, write=True)``;
everyone else gets 403, another Kreis 404): override one posting with a written
justification (``/einstufung/<posting_id>``), several postings of the review queue at
once (``/pruefliste/abweichend``: each gets its own override, all in one transaction),
withdraw an override (``/abweichung/<id>/zuruecknehmen``) and record an evaluation run
(``/bewertungslauf``). The core (``ledger.rules.overrides``, ``ledger.rules.evaluation_runs``) checks
everything again; its errors are shown on the form and nothing is written. Successful
posts redirect (post/redirect/get) with a flash message.
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ledger.core.errors import LedgerError
from ledger.core.models import Recipient, User
from ledger.core.money import AmountError, AmountTooLarge, parse_amount
from ledger.core.periods import closed_years
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import can_write
from ledger.reports.classification import WITHOUT, classification_page
from ledger.reports.journal import category_choices
from ledger.rules.evaluate import Evaluated, evaluate, review_queue
from ledger.rules.evaluation_runs import Run, classified, list_runs, record_evaluation
from ledger.rules.overrides import (
    MIN_JUSTIFICATION,
    add_override,
    list_overrides,
    withdraw_override,
)
from ledger.rules.packs import RulePackError
from ledger.rules.status import OVERRIDE_STATUSES, STATUS_LABELS
from ledger.rules.status import labels as status_labels
from webapp.auth import recipient_for
from webapp.views.classification_args import CLASSIFICATION_FILTERS, active_filters, classification_filter, cost_centres
from webapp.clock import timestamp
from webapp.db import get_packs, get_session, write_session
from webapp.formatting import pack_de
from webapp.views import require_year

bp = Blueprint("review", __name__, url_prefix="/r/<key>")
#: The statuses an officer may choose, with their German labels.
OVERRIDE_LABELS = status_labels(OVERRIDE_STATUSES)

FORM_ERROR_STATUS = 422
"""Status of a form page shown again with errors (nothing was written)."""

JUSTIFICATION_HINT = (f"Mindestens {MIN_JUSTIFICATION} Zeichen: warum die Entscheidung des Regelwerks hier nicht "
                      "passt, mit Beleg oder Aktenzeichen. Wird mit Name und Datum gespeichert und in der "
                      "Verwendungsnachweis aufgeführt.")


def _justification_length(_form, field) -> None:
    """At least ``MIN_JUSTIFICATION`` characters, counted as the core counts (whitespace collapsed)."""
    length = len(" ".join((field.data or "").split()))
    if length and length < MIN_JUSTIFICATION:
        raise ValidationError(f"Die Begründung braucht mindestens {MIN_JUSTIFICATION} Zeichen "
                              f"(bisher {length}).")


def _justification_field(label: str = "Begründung") -> TextAreaField:
    """A required justification of ``MIN_JUSTIFICATION`` to 2000 characters (the column's size)."""
    too_long = "Die Begründung ist zu lang (höchstens 2000 Zeichen)."
    return TextAreaField(label, validators=[DataRequired("Bitte eine Begründung angeben."), _justification_length,
                                            Length(max=2000, message=too_long)],
                         render_kw={"rows": 4, "minlength": MIN_JUSTIFICATION})


class OverrideForm(FlaskForm):
    """One posting: status, for ``split`` the conform amount, and the justification."""

    status = RadioField("Einstufung", choices=[SelectChoice(k, v) for k, v in OVERRIDE_LABELS.items()],
                        validators=[InputRequired("Bitte eine Einstufung wählen.")])
    conform = StringField("Zulässiger Betrag in Euro", render_kw={"inputmode": "decimal", "autocomplete": "off"})
    justification = _justification_field()

    amount: Decimal | None = None

    def validate_conform(self, field) -> None:
        """Required and a valid amount for ``split``; ignored otherwise."""
        self.amount = None
        if self.status.data != "split":
            return
        text = (field.data or "").strip()
        if not text:
            raise ValidationError("Bei „teilweise zulässig“ bitte den zulässigen Betrag angeben.")
        try:
            self.amount = parse_amount(text)
        except AmountTooLarge as exc:
            raise ValidationError(str(exc)) from None
        except AmountError:
            raise ValidationError(f"„{text}“ ist kein gültiger Betrag (z. B. 1.234,56).") from None


class BulkOverrideForm(FlaskForm):
    """Several postings of the review queue: one status (whole amounts only) and one justification."""

    status = RadioField("Einstufung", choices=[SelectChoice(k, v) for k, v in OVERRIDE_LABELS.items() if k != "split"],
                        validators=[InputRequired("Bitte eine Einstufung wählen.")])
    justification = _justification_field()


class WithdrawForm(FlaskForm):
    """Withdraw an override: why the rules engine shall decide again."""

    justification = _justification_field("Begründung der Rücknahme")


class EvaluationForm(FlaskForm):
    """Record an evaluation run: the reason."""

    reason = StringField("Anlass", validators=[
        DataRequired("Bitte den Anlass des Bewertungslaufs angeben."),
        Length(max=500, message="Der Anlass ist zu lang (höchstens 500 Zeichen).")], render_kw={"autocomplete": "off"})


@bp.get("/<int:start_year>/pruefliste")
def show(key: str, start_year: int):
    """Postings with what an officer must still supply, the engine's reason and its source;
    for the assigned officer with a form to override several of them at once."""
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    return _review_page(recipient, year, years, BulkOverrideForm())


@bp.post("/<int:start_year>/pruefliste/abweichend")
def bulk_override(key: str, start_year: int):
    """Override every selected posting with the same status and justification, each with
    its own record, all in one transaction: if one fails, none is written."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    form = BulkOverrideForm()
    selected, error = _selected_postings()
    if form.validate_on_submit() and error is None:
        items = {item.posting_id: item for item in evaluate(get_session(), recipient, year, get_packs())}
        missing = [pid for pid in selected if pid not in items]
        if missing:
            error = f"Buchungszeile {missing[0]} gibt es im Schuljahr {year} nicht; nichts wurde gespeichert."
        else:
            try:
                ids = _write_overrides(recipient, [items[pid] for pid in selected], form.status.data,
                                       form.justification.data)
            except _BulkFailure as failure:
                error = (f"Beleg {failure.item.voucher_number} (Zeile {failure.item.posting_id}): {failure.message}. "
                         "Keine der ausgewählten Buchungen wurde abweichend eingestuft.")
            else:
                numbers = ", ".join(str(i) for i in ids)
                flash(f"{len(ids)} Buchung{'' if len(ids) == 1 else 'en'} als „{OVERRIDE_LABELS[form.status.data]}“ "
                      f"abweichend eingestuft (Nr. {numbers}).")
                return redirect(url_for("review.show", key=recipient.key, start_year=year.start_year))
    return _review_page(recipient, year, years, form, selected=selected, error=error), FORM_ERROR_STATUS


@bp.get("/<int:start_year>/einstufung")
def classification(key: str, start_year: int):
    """Every expense posting with its classification (rule, reason, source, override), the
    recorded evaluation runs and the overrides with their justifications."""
    recipient = recipient_for(key)
    year, years = require_year(recipient, start_year)
    return _classification_page(recipient, year, years, EvaluationForm())


@bp.post("/<int:start_year>/bewertungslauf")
def record_run(key: str, start_year: int):
    """Record today's classification of the year as an evaluation run (unless nothing changed)."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    form = EvaluationForm()
    error = None
    if form.validate_on_submit():
        try:
            with write_session() as session:
                mine = session.get(Recipient, recipient.id)
                run, created = record_evaluation(session, mine, year, actor=current_user.username, now=timestamp(),
                                                 reason=form.reason.data, packs=get_packs())
                value = Run.of(run)
        except (LedgerError, RulePackError) as exc:
            error = f"Der Bewertungslauf wurde nicht aufgezeichnet: {_message(exc)}"
        else:
            if created:
                flash(f"Bewertungslauf Nr. {value.id} aufgezeichnet: {value.postings} Buchungen, davon {value.changed} "
                      f"gegenüber dem vorigen Lauf geändert (Regelwerk {pack_de(value.pack_id, value.pack_version)}).")
            else:
                flash(f"Unverändert gegenüber Bewertungslauf Nr. {value.id}; nichts aufgezeichnet.")
            return redirect(url_for("review.classification", key=recipient.key, start_year=year.start_year)
                            + "#bewertungslaeufe")
    return _classification_page(recipient, year, years, form, run_error=error), FORM_ERROR_STATUS


@bp.route("/<int:start_year>/einstufung/<int:posting_id>", methods=["GET", "POST"])
def override(key: str, start_year: int, posting_id: int):
    """Override one posting's classification: the posting, the engine's decision and the form."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    session = get_session()
    item = next(iter(evaluate(session, recipient, year, get_packs(), posting_ids=[posting_id])), None)
    if item is None:
        abort(404, f"Buchungszeile {posting_id} ist keine Ausgabe von {recipient.name} im Schuljahr {year}.")
    active = next((o for o in list_overrides(session, recipient, year) if o.id == item.override_id), None)
    closed = str(year) in closed_years(session, recipient)
    form = OverrideForm()
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with write_session() as write:
                    mine = write.get(Recipient, recipient.id)
                    created = add_override(write, mine, posting_id, status=form.status.data, user=_user(write),
                                           justification=form.justification.data, now=timestamp(),
                                           conform=form.amount if form.status.data == "split" else None)
                    number = created.id
            except LedgerError as exc:
                error = _message(exc)
            else:
                flash(f"Beleg {item.voucher_number} (Zeile {posting_id}) ist abweichend als "
                      f"„{OVERRIDE_LABELS[form.status.data]}“ eingestuft (Nr. {number}).")
                return redirect(_back(recipient, year))
    status = FORM_ERROR_STATUS if request.method == "POST" else 200
    return render_template("override_form.html", recipient=recipient, year=year, years=years, item=item,
                           engine=item.engine or item.classification, active=active, closed=closed, form=form,
                           error=error, labels=STATUS_LABELS, override_labels=OVERRIDE_LABELS,
                           hint=JUSTIFICATION_HINT, back=_back(recipient, year)), status


@bp.route("/<int:start_year>/abweichung/<int:override_id>/zuruecknehmen", methods=["GET", "POST"])
def withdraw(key: str, start_year: int, override_id: int):
    """Withdraw an override (with a justification): the rules engine decides again."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    session = get_session()
    record = next((o for o in list_overrides(session, recipient, year) if o.id == override_id), None)
    if record is None:
        abort(404, f"Eine abweichende Einstufung Nr. {override_id} gibt es für {recipient.name} im Schuljahr "
                   f"{year} nicht.")
    closed = str(year) in closed_years(session, recipient)
    form = WithdrawForm()
    error = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with write_session() as write:
                    mine = write.get(Recipient, recipient.id)
                    withdraw_override(write, mine, override_id, user=_user(write),
                                      justification=form.justification.data, now=timestamp())
            except LedgerError as exc:
                error = _message(exc)
            else:
                flash(f"Abweichende Einstufung Nr. {override_id} (Beleg {record.voucher_number}) ist zurückgenommen; "
                      "es gilt wieder die Entscheidung des Regelwerks.")
                return redirect(url_for("review.classification", key=recipient.key, start_year=year.start_year)
                                + "#abweichungen")
    status = FORM_ERROR_STATUS if request.method == "POST" else 200
    return render_template("override_withdraw.html", recipient=recipient, year=year, years=years, record=record,
                           closed=closed, form=form, error=error, override_labels=OVERRIDE_LABELS,
                           hint=f"Mindestens {MIN_JUSTIFICATION} Zeichen: warum die abweichende Einstufung nicht "
                                "mehr gilt. Wird mit Name und Datum gespeichert."), status


class _BulkFailure(Exception):
    """One posting of a bulk override failed: the whole transaction is rolled back."""

    def __init__(self, item: Evaluated, message: str):
        super().__init__(message)
        self.item = item
        self.message = message


def _write_overrides(recipient: Recipient, items: list[Evaluated], status: str, justification: str) -> list[int]:
    """One override per item in one write transaction; raises ``_BulkFailure`` (nothing written)."""
    now = timestamp()
    with write_session() as session:
        mine = session.get(Recipient, recipient.id)
        user = _user(session)
        ids = []
        for item in items:
            try:
                ids.append(add_override(session, mine, item.posting_id, status=status, user=user,
                                        justification=justification, now=now).id)
            except LedgerError as exc:
                raise _BulkFailure(item, _message(exc)) from exc
    return ids


def _selected_postings() -> tuple[list[int], str | None]:
    """The posting ids ticked on the review queue (unique, in order) and an error if none or invalid."""
    selected: list[int] = []
    for value in request.form.getlist("posting"):
        if not value.isdigit():
            return selected, f"„{value}“ ist keine Buchungszeile."
        if int(value) not in selected:
            selected.append(int(value))
    if not selected:
        return selected, "Bitte mindestens eine Buchung auswählen."
    return selected, None


def _review_page(recipient: Recipient, year: SchoolYear, years: list[SchoolYear], form: BulkOverrideForm, *,
                 selected: list[int] = (), error: str | None = None):
    session = get_session()
    editable = _may_write(recipient) and str(year) not in closed_years(session, recipient)
    return render_template("review.html", recipient=recipient, year=year, years=years,
                           items=review_queue(session, recipient, year, get_packs()), editable=editable, form=form,
                           selected=set(selected), error=error, hint=JUSTIFICATION_HINT)


def _classification_page(recipient: Recipient, year: SchoolYear, years: list[SchoolYear], form: EvaluationForm, *,
                         run_error: str | None = None):
    session = get_session()
    basis = classified(session, recipient, year, get_packs())
    may_write = _may_write(recipient)
    categories = category_choices(get_packs())
    centres = cost_centres(session, recipient, basis.items)
    chosen, errors = classification_filter(centres, get_packs())
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    kept = classification_page(basis.items, chosen, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, -(-kept.total // PER_PAGE))
    if page > pages:
        abort(404, f"Seite {page} gibt es nicht; die Einstufung hat {pages} Seite(n).")
    filters = {name: request.args.get(name, "") for name in CLASSIFICATION_FILTERS}
    active = active_filters(errors)
    return render_template("classification.html", recipient=recipient, year=year, years=years,
                           items=kept.items, kept=kept, count=len(basis.items), page=page, pages=pages,
                           filters=filters, active=active, errors=errors,
                           category_options=[(WITHOUT, "ohne Kategorie"), *((c.id, c.label) for c in categories)],
                           centre_options=[(WITHOUT, "ohne Kostenstelle"), *((code, code) for code in centres)],
                           page_url=lambda n: url_for("review.classification", key=recipient.key,
                                                                       start_year=year.start_year, page=n, **active),
                           state=basis.state, runs=list_runs(session, recipient, year),
                           overrides=list_overrides(session, recipient, year), labels=STATUS_LABELS,
                           override_labels=OVERRIDE_LABELS, may_write=may_write,
                           editable=may_write and not basis.state.frozen, run_form=form, run_error=run_error)


#: Postings per page of the Einstufung (as the journal).
PER_PAGE = 50


def _may_write(recipient: Recipient) -> bool:
    return can_write(current_user.user, recipient)


def _user(session) -> User:
    return session.get(User, current_user.user.id)


def _back(recipient: Recipient, year: SchoolYear) -> str:
    """Where a form page returns to: the review queue if it came from there, else the classification page."""
    endpoint = "review.show" if request.values.get("von") == "pruefliste" else "review.classification"
    return url_for(endpoint, key=recipient.key, start_year=year.start_year)


def _message(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text[:1].upper() + text[1:]

