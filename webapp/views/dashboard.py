"""Dashboard of one recipient and school year: grant, spending, overhead cap, repayment, deadline,
the cumulative spending chart, the forecast while the school year is open, the link to the
notification to the ministry while it is due, and, for the recipient's officers while a confirmed
repayment is open, its SEPA credit transfer (pain.001) for the municipality's payment run."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_babel import format_date
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DateField
from wtforms.validators import DataRequired, ValidationError

from ledger.core.agreements import STATUSES
from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE, GrantSummary, grant_summary
from ledger.core.models import Recipient
from ledger.core.money import from_cents
from ledger.core.notices import NoticeStep, notice_history
from ledger.core.recipients import role_account
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import can_write
from ledger.reports.forecast import Forecast, forecast
from ledger.reports.journal import UNCLASSIFIED
from ledger.reports.notification import NotificationData
from ledger.reports.repayment import RepaymentInputs, YearError, compute_repayment
from ledger.reports.settlement import RepaymentResult
from ledger.reports.spending import MonthPoint, cumulative_spending
from ledger.rules.deadline import shift_reason
from ledger.rules.packs import RulePack, pack_for
from ledger.workflows.repayment import repayment_transfer
from webapp.auth import recipient_for
from webapp.books_cache import kept
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, write_session
from webapp.errors import as_sentence
from webapp.formatting import countdown, eur
from webapp.views import RECIPIENTS_KEPT, default_school_year, known_year, require_year
from webapp.views.notification import due_notification

bp = Blueprint("dashboard", __name__, url_prefix="/r/<key>")
#: Status of the dashboard shown again with the SEPA form's error (nothing was written).
FORM_ERROR_STATUS = 422


def _not_past(_form, field) -> None:
    if field.data is not None and field.data < today():
        raise ValidationError("Der Ausführungstag darf nicht in der Vergangenheit liegen.")


class SepaForm(FlaskForm):
    """The requested execution date of the repayment's SEPA credit transfer (default today)."""

    execution_date = DateField("Ausführungstag", format=["%Y-%m-%d", "%d.%m.%Y"], default=today, validators=[
        DataRequired("Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."), _not_past])


@bp.get("/")
def latest(key: str):
    """Redirect to the dashboard of the recipient's latest school year."""
    recipient = recipient_for(key)
    year = default_school_year(recipient)
    return redirect(url_for("dashboard.show", key=recipient.key, start_year=year.start_year))


@bp.get("/<int:start_year>/")
def show(key: str, start_year: int):
    """The dashboard of school year ``start_year``/``start_year + 1`` (``/r/musterhausen/2023/``).

    A year whose figures cannot be computed (a LedgerError, e.g. no rule pack in force for
    it) shows its error in the page, with the links to the other years. A year without data
    (``known_year``) shows how to start it: the assessment notice, then payouts and imports.
    """
    recipient = recipient_for(key)
    year, years, has_data = known_year(recipient, start_year)
    if not has_data:
        return render_template("year_empty.html", recipient=recipient, year=year, years=years,
                               may_write=can_write(current_user.user, recipient))
    return _page(recipient, year, years)


@bp.post("/<int:start_year>/rueckzahlung/sepa")
def sepa(key: str, start_year: int):
    """The open confirmed repayment of the school year as a SEPA credit transfer file
    (pain.001.001.09, ``ledger.workflows.repayment.repayment_transfer``, audited), as an attachment
    ``Rueckzahlung_<key>_<2023-24>_pain001.xml``. Officers only; a refusal (no IBAN of the bank
    account, nothing open, a day in the past) shows the dashboard again with the reason at the form."""
    recipient = recipient_for(key, write=True)
    year, years = require_year(recipient, start_year)
    form = SepaForm()
    error = None
    if form.validate_on_submit():
        try:
            with write_session() as session:
                transfer = repayment_transfer(session, session.get(Recipient, recipient.id), year,
                                              actor=current_user.username, now=timestamp(),
                                              execution_date=form.execution_date.data, packs=get_packs())
        except LedgerError as exc:
            error = as_sentence(exc)
        else:
            name = f"Rueckzahlung_{recipient.key}_{str(year).replace('/', '-')}_pain001.xml"
            return Response(transfer.xml, mimetype="application/xml", headers={
                "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
    return _page(recipient, year, years, sepa_form=form, sepa_error=error), FORM_ERROR_STATUS


#: School years' figures each server process keeps (``webapp.books_cache``): every recipient's
#: ten recent years and more, a few kB each.
YEARS_KEPT = 1024


@dataclass(frozen=True)
class YearFigures:
    """What the dashboard shows of a school year, as computed from the books on ``day``:
    the ``result`` (``compute_repayment``), the forecast (``projection``, while the year is
    open) and the ``notification`` to the ministry if it is due, the ``grant`` with its payouts
    (None without one), the notices no longer in force (``earlier_notices``: ``NoticeStep`` with the amount, EUR) and
    the cumulative spending by month (``spending``)."""

    result: RepaymentResult
    projection: Forecast | None
    notification: NotificationData | None
    grant: GrantSummary | None
    earlier_notices: tuple[tuple[NoticeStep, Decimal], ...]
    spending: tuple[MonthPoint, ...]

    @classmethod
    def compute(cls, session: Session, recipient: Recipient, year: SchoolYear, packs: tuple[RulePack, ...],
                day: date, inputs: RepaymentInputs | None = None) -> "YearFigures":
        """The figures of ``recipient``'s ``year`` on ``day``; ``inputs``: the recipient's
        ``RepaymentInputs`` if read already. Raises LedgerError where the repayment cannot be
        computed (``compute_repayment``)."""
        result = compute_repayment(session, recipient, year, packs, as_of=day, inputs=inputs)
        projection = forecast(session, recipient, year, as_of=day, packs=packs) if day <= year.last_day else None
        return cls(
            result=result, projection=projection,
            notification=due_notification(session, recipient, year, day, packs, result, projection),
            grant=grant_summary(session, recipient, year),
            earlier_notices=tuple((step, from_cents(step.notice.amount_cents))
                                  for step in notice_history(session, recipient, year) if not step.in_force),
            spending=tuple(cumulative_spending(session, recipient, year, until=day)),
        )


def _page(recipient: Recipient, year: SchoolYear, years: list[SchoolYear], *, sepa_form: SepaForm | None = None,
          sepa_error: str | None = None):
    """The dashboard of ``year``; ``sepa_form`` and ``sepa_error``: the SEPA form as posted and the
    reason it was refused. The year's figures (``YearFigures``) are computed once per state of
    the books, day and rule packs in each server process (``webapp.books_cache``), from the
    recipient's ``RepaymentInputs``, read once per state of the books for all its years."""
    session = get_session()
    packs = get_packs()
    day = today()

    def compute() -> YearFigures:
        inputs = kept("repayment_inputs", RECIPIENTS_KEPT, (recipient.id,),
                      lambda: RepaymentInputs.load(session, recipient))
        return YearFigures.compute(session, recipient, year, packs, day, inputs)

    try:
        pack = pack_for(INKLUSIONSPAUSCHALE, year, packs)
        figures = kept("dashboard", YEARS_KEPT, (recipient.id, str(year), day, id(packs)), compute)
    except LedgerError as exc:
        error = YearError.of(year, exc)
        current_app.logger.warning("Schuljahr %s von %s nicht berechenbar: %s", year, recipient.key, error.message)
        return render_template("dashboard_year_error.html", recipient=recipient, year=year, years=years,
                               year_error=error.message)
    result = figures.result
    return render_template(
        "dashboard.html",
        recipient=recipient,
        year=year,
        years=years,
        result=result,
        projection=figures.projection,
        notification=figures.notification,
        pack=pack,
        grant=figures.grant,
        payouts=figures.grant.payouts if figures.grant is not None else (),
        shift_reason=(shift_reason(result.nominal_due_date, pack.holidays)
                      if result.nominal_due_date and result.nominal_due_date != result.due_date else None),
        agreement_statuses=STATUSES,
        earlier_notices=figures.earlier_notices,
        gauge=overhead_gauge(result),
        spending=[(p, format_date(p.month, "LLLL yyyy")) for p in figures.spending],
        chart=spending_chart(list(figures.spending), year),
        unclassified=UNCLASSIFIED,
        today=day,
        countdown=countdown(result.due_date, day),
        days_left=None if result.due_date is None else (result.due_date - day).days,
        sepa=_sepa(recipient, result, sepa_form, sepa_error),
    )


def _sepa(recipient: Recipient, result: RepaymentResult, form: SepaForm | None, error: str | None) -> dict | None:
    """The SEPA download's part of the dashboard for an officer of ``recipient`` while a confirmed
    repayment is open: ``open`` (EUR), the ``bank`` account (its ``iban`` may be missing), the
    ``form`` and the ``error`` of a refused request; else None."""
    open_amount = result.confirmed_obligation - result.already_repaid
    if not can_write(current_user.user, recipient) or (open_amount <= 0 and error is None):
        return None
    return {"open": open_amount, "bank": role_account(get_session(), recipient, "bank"),
            "form": form or SepaForm(), "error": error}


def overhead_gauge(result: RepaymentResult) -> dict | None:
    """Geometry of the overhead bar (percent of the bar's width), or None without a cap.

    The bar spans max(cap, charged); ``within`` is the part of the charge up to the cap,
    ``excess`` the part above it, ``cap_at`` where the cap line sits, ``used`` the charge
    as a share of the cap (None for a cap of 0).
    """
    cap, charged = result.overhead_cap, result.overhead_charged
    if cap is None:
        return None
    scale = max(cap, charged, Decimal("0.01"))

    def pct(value: Decimal) -> Decimal:
        return (max(value, Decimal(0)) * 100 / scale).quantize(Decimal("0.1"))

    within = min(charged, cap)
    return {
        "within": pct(within),
        "excess": pct(charged - within),
        "cap_at": pct(cap),
        "used": None if cap <= 0 else (charged / cap).quantize(Decimal("0.001")),
        "over": result.overhead_excess > 0,
    }


#: The spending chart's viewBox (SVG user units) and its plot area inside it.
CHART_SIZE = (720, 280)
CHART_PLOT = (124, 12, 708, 244)                # left, top, right, bottom
_NICE = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


def spending_chart(points: list[MonthPoint], year: SchoolYear) -> dict | None:
    """Geometry of the cumulative-spending chart in SVG user units (``CHART_SIZE``), or None
    when ``points`` hold nothing but zeros.

    x: twelve equal bands for August … July of ``year`` (also when ``points`` stop earlier);
    ``months`` = [(band centre, German month abbreviation)]. y: EUR, linear, from the lowest
    to the highest tick; ``ticks`` = [(y, EUR amount)] in steps of 1, 2, 2,5 or 5 × 10^k
    (at least one cent) covering 0 and every value. ``spent`` (SVG ``points`` text) and
    ``markers`` [(x, y)]: cumulative spending at the band centres; ``grant``: step line of
    the grant received, level across each month's band; ``zero``: y of 0 EUR.
    ``short_ticks``: the tick amounts as short German text for narrow screens, one per tick
    (``"500 T€"`` when every tick is a whole thousand, else ``"2,50 €"``), where the full
    ``eur`` labels would be too small to read.
    """
    values = [v for p in points for v in (p.spent, p.grant_received)]
    if not any(values):
        return None
    left, top, right, bottom = CHART_PLOT
    low, high = min(min(values), Decimal(0)), max(max(values), Decimal(0))
    raw = (high - low) / 5
    base = Decimal(1).scaleb(raw.adjusted())
    step = max(next(base * m for m in _NICE if base * m >= raw), Decimal("0.01"))
    first = (low / step).to_integral_value(ROUND_FLOOR)
    last = (high / step).to_integral_value(ROUND_CEILING)
    low, high = first * step, last * step
    band = Decimal(right - left) / 12

    def y(value: Decimal) -> Decimal:
        return (bottom - (value - low) * (bottom - top) / (high - low)).quantize(Decimal("0.1"))

    def x(index: int, at: Decimal = Decimal("0.5")) -> Decimal:
        return (left + band * (index + at)).quantize(Decimal("0.1"))

    months = [(x(i), format_date(date(year.start_year + (7 + i) // 12, (7 + i) % 12 + 1, 1), "LLL"))
              for i in range(12)]
    markers = [(x(i), y(p.spent)) for i, p in enumerate(points)]
    grant = [(x(i, at), y(p.grant_received)) for i, p in enumerate(points) for at in (Decimal(0), Decimal(1))]
    ticks = [(y(k * step), (k * step).quantize(Decimal("0.01"))) for k in range(int(first), int(last) + 1)]
    return {
        "size": CHART_SIZE, "plot": CHART_PLOT, "months": months, "zero": y(Decimal(0)),
        "ticks": ticks, "short_ticks": _short_ticks([amount for _, amount in ticks]),
        "markers": markers, "spent": _points(markers), "grant": _points(grant),
    }


def _short_ticks(amounts: list[Decimal]) -> list[str]:
    """Tick amounts (EUR) as short labels: thousands with ``T€`` if all are whole thousands
    (``Decimal(500000)`` → ``"500 T€"``, ``Decimal(1250000)`` → ``"1.250 T€"``), else ``eur``."""
    if all(amount % 1000 == 0 for amount in amounts):
        return [f"{int(amount / 1000):,}".replace(",", ".") + "\u00a0T€" for amount in amounts]
    return [eur(amount) for amount in amounts]


def _points(pairs: list[tuple[Decimal, Decimal]]) -> str:
    """[(x, y)] → SVG ``points`` text ``"x1,y1 x2,y2"``."""
    return " ".join(f"{px},{py}" for px, py in pairs)
