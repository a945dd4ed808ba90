"""Blueprints of the web UI: one per area (home, dashboard, journal, statements, notification)."""
from __future__ import annotations

from flask import Response, abort

from ledger.core.models import Recipient
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import school_years
from webapp.clock import today
from webapp.db import get_session


def default_school_year(recipient: Recipient, years: list[SchoolYear] | None = None) -> SchoolYear:
    """The recipient's latest school year with data, else the current school year;
    ``years``: the recipient's ``school_years`` if the caller has them already."""
    years = school_years(get_session(), recipient) if years is None else years
    return years[-1] if years else SchoolYear.of(today())


def require_year(recipient: Recipient, start_year: int) -> tuple[SchoolYear, list[SchoolYear]]:
    """School year ``start_year``/``start_year + 1`` and the recipient's school years.

    Aborts with 404 unless the recipient has data in that year or it is the current
    school year (so a new recipient still gets a dashboard).
    """
    year = SchoolYear(start_year)
    years = school_years(get_session(), recipient)
    if year not in years and year != SchoolYear.of(today()):
        abort(404, f"Für {recipient.name} gibt es im Schuljahr {year} keine Daten.")
    return year, sorted({*years, year})


def pdf_response(data: bytes, filename: str) -> Response:
    """``data`` (PDF bytes) as a download named ``filename``, not cached."""
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
