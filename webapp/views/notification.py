"""The notification to the ministry (Anzeige) as a PDF letter: "Erkennt der Kreis, dass die
Inklusionspauschale im jeweiligen Schuljahr nicht vollständig zweckentsprechend verwandt werden
kann, zeigt er dies dem Ministerium an" (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2; Hinweise zur
zweckentsprechenden Verwendung der Inklusionspauschale, Teil II).

Like the current statement's download, the letter is computed as of today and not stored, so
its download writes nothing and is not in the audit log (only issuing a statement is).
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint
from sqlalchemy.orm import Session

from ledger.core.errors import LedgerError
from ledger.core.models import Recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.forecast import Forecast
from ledger.reports.notification import NotificationData, build_notification
from ledger.reports.settlement import RepaymentResult
from ledger.rules.packs import RulePack
from ledger.write.notification_pdf import render_notification
from webapp.auth import recipient_for
from webapp.clock import today
from webapp.db import get_packs, get_session
from webapp.views import pdf_response, require_year

bp = Blueprint("notification", __name__, url_prefix="/r/<key>")


@bp.get("/<int:start_year>/anzeige.pdf")
def pdf(key: str, start_year: int):
    """The notification of school year ``start_year``/``start_year + 1`` as of today, as an attachment
    ``Anzeige_<key>_<2023-24>.pdf``; where it has no place (nothing to repay, the deadline passed, …)
    the German reason as an error page (a LedgerError)."""
    session = get_session()
    recipient = recipient_for(key)
    year, _years = require_year(recipient, start_year)
    data = build_notification(session, recipient, year, as_of=today(), packs=get_packs())
    return pdf_response(render_notification(data), f"Anzeige_{recipient.key}_{str(year).replace('/', '-')}.pdf")


def due_notification(session: Session, recipient: Recipient, year: SchoolYear, day: date,
                     packs: tuple[RulePack, ...], result: RepaymentResult,
                     projection: Forecast | None) -> NotificationData | None:
    """The notification if it is due on ``day`` (a repayment is projected and its deadline has not
    passed), else None: for the dashboard's link. ``result``: the year's actual figures;
    ``projection``: the forecast while the year is open. After the year the forecast is the actual
    figures, so a year whose actual result leaves nothing open before a deadline still to come
    (and no payout outstanding) is not computed again."""
    if projection is None and not _may_be_due(result, day):
        return None
    try:
        return build_notification(session, recipient, year, as_of=day, packs=packs, projection=projection)
    except LedgerError:
        return None


def _may_be_due(result: RepaymentResult, day: date) -> bool:
    """Whether the actual ``result`` leaves a repayment open whose deadline is ``day`` or later,
    or payouts outstanding (which the forecast counts)."""
    pending = result.grant_assessed is not None and result.grant_assessed > result.grant_received
    return pending or any(t.outstanding > 0 and t.due_date is not None and t.due_date >= day
                          for t in result.tranches)
