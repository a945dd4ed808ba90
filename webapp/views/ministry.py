"""The Land's overview across recipients (Landesübersicht): one row per recipient and school
year with grant, purpose-conform spending, repayment due, due date, paid, overdue with interest,
statement of use issued and year closed (``ledger.reports.overview``); sortable and filterable,
with the upcoming due dates (1 April, InklFöG § 2).

For users who read every recipient (``reads_all``): the Land's role (Ministerium,
Bezirksregierung), the administration and auditors with access to all recipients.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from ledger.core.audit import record
from ledger.core.users import readable_recipients, reads_all
from ledger.reports.overview import Overview, OverviewRow, overview
from ledger.write.downloads import overview_sheet
from ledger.write.tabular import CONTENT_TYPES, render
from webapp.books_cache import kept
from webapp.clock import timestamp, today
from webapp.db import get_packs, get_session, write_session

bp = Blueprint("ministry", __name__, url_prefix="/land")

#: Sortable columns: query value → (German heading, key of a row).
COLUMNS = {
    "empfaenger": ("Empfänger", lambda r: r.recipient_name.casefold()),
    "schuljahr": ("Schuljahr", lambda r: r.school_year),
    "zuweisung": ("Zuweisung erhalten", lambda r: r.grant_received),
    "zweckgerecht": ("zweckgerecht verwendet", lambda r: r.permitted),
    "rueckzahlung": ("Rückzahlung", lambda r: r.repayment_due),
    "faellig": ("fällig am", lambda r: r.due_date),
    "gezahlt": ("gezahlt", lambda r: r.already_repaid),
    "offen": ("offen", lambda r: r.outstanding),
    "zinsen": ("Zinsen bis heute", lambda r: r.interest),
    "nachweis": ("Verwendungsnachweis", lambda r: r.statement_date),
    "abgeschlossen": ("Schuljahr abgeschlossen", lambda r: r.closed),
}
#: Status filters: query value → (German label, test of a row).
STATUS_FILTERS = {
    "offen": ("Rückzahlung offen", lambda r: (r.outstanding or 0) > 0),
    "ueberfaellig": ("überfällig", lambda r: r.overdue),
    "ohne-nachweis": ("ohne erteilten Verwendungsnachweis", lambda r: r.statement_number is None),
    "nicht-abgeschlossen": ("Schuljahr nicht abgeschlossen", lambda r: not r.closed),
    "fehler": ("nicht berechenbar", lambda r: r.error is not None),
}


#: The filters' names in the audit log's details (``ledger.core.audit.FIELD_LABELS``).
AUDIT_KEYS = {"q": "search", "schuljahr": "school_year", "status": "filter", "sortierung": "sort",
              "richtung": "direction"}


def land_overview() -> Overview:
    """The overview of every recipient on today's date; 403 unless the user reads every recipient.

    Computing it repeats every recipient's settlement for every school year (about a quarter of
    a second for 53 recipients × 10 years at 1 000 000 postings, ``compute_many``), so each
    server process keeps the last one and computes anew only when the books may have changed
    (``webapp.books_cache``)."""
    user = current_user.user
    if not reads_all(user):
        abort(403, "Die Landesübersicht steht dem Land (Ministerium, Bezirksregierung), der Administration "
                   "und der Prüfung mit Zugriff auf alle Empfänger offen.")
    session, packs, day = get_session(), get_packs(), today()
    return kept("land_overview", 1, (day, id(packs)),
                lambda: overview(session, readable_recipients(session, user), packs, as_of=day))


def filtered(rows: tuple[OverviewRow, ...], args) -> tuple[list[OverviewRow], dict[str, str]]:
    """The rows the query ``args`` select and order (``q``: part of the recipient's name or key,
    ``schuljahr``: e.g. ``2023/24``, ``status``: a key of STATUS_FILTERS, ``sortierung``: a key of
    COLUMNS, ``richtung``: ``auf``/``ab``), and the filters as understood (unknown values ignored)."""
    query = (args.get("q") or "").strip()[:100]
    year = args.get("schuljahr") or ""
    status = args.get("status") if args.get("status") in STATUS_FILTERS else ""
    sort = args.get("sortierung") if args.get("sortierung") in COLUMNS else "empfaenger"
    direction = "ab" if args.get("richtung") == "ab" else "auf"
    chosen = [r for r in rows
              if (not query or query.casefold() in r.recipient_name.casefold() or query.casefold() in r.recipient_key)
              and (not year or r.school_year == year)
              and (not status or STATUS_FILTERS[status][1](r))]
    key = COLUMNS[sort][1]
    present = [r for r in chosen if key(r) is not None]
    missing = [r for r in chosen if key(r) is None]          # not computable: always last
    present.sort(key=lambda r: (key(r), r.recipient_key, r.school_year), reverse=direction == "ab")
    return present + missing, {"q": query, "schuljahr": year, "status": status, "sortierung": sort,
                               "richtung": direction}


@bp.get("/")
def index():
    """The table of all recipients and school years with the upcoming due dates."""
    result = land_overview()
    rows, filters = filtered(result.rows, request.args)
    years = sorted({r.school_year for r in result.rows}, reverse=True)
    return render_template("ministry.html", overview=result, rows=rows, filters=filters, columns=COLUMNS,
                           status_filters=STATUS_FILTERS, years=years, upcoming=result.upcoming(),
                           totals=_totals(rows))


@bp.get("/uebersicht.<fmt>")
def download(fmt: str):
    """The table as shown (same filters and order) as ``csv`` or ``xlsx``, named
    ``Landesuebersicht_<YYYY-MM-DD>.<fmt>``; audited (action ``download``, kind
    ``landesuebersicht``); 404 for another format."""
    if fmt not in CONTENT_TYPES:
        abort(404)
    result = land_overview()
    rows, filters = filtered(result.rows, request.args)
    data = render(overview_sheet(rows, result.as_of), fmt, now=timestamp())
    with write_session() as session:
        record(session, actor=current_user.username, action="download", now=timestamp(),
               details={"kind": "landesuebersicht", "format": fmt, "rows": len(rows),
                        **{AUDIT_KEYS[name]: value for name, value in filters.items() if value}})
    name = f"Landesuebersicht_{result.as_of.isoformat()}.{fmt}"
    return Response(data, content_type=CONTENT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _totals(rows: list[OverviewRow]) -> dict:
    """Sums (EUR) of the shown rows that could be computed."""
    return Overview(today(), tuple(rows)).totals()


@bp.app_template_global("reads_all_recipients")
def reads_all_recipients() -> bool:
    """Whether the logged-in user may open the Landesübersicht (navigation)."""
    return current_user.is_authenticated and reads_all(current_user.user)
