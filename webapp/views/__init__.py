"""Blueprints of the web UI: one per area (home, dashboard, journal, statements)."""
from __future__ import annotations

from datetime import date, datetime

from flask import abort, current_app

from ledger.models import Recipient
from ledger.repayment import school_years
from ledger.schoolyear import SchoolYear
from webapp.db import get_session


def today() -> date:
    """The day countdowns count from: config ``TODAY`` or the current date."""
    return current_app.config.get("TODAY") or date.today()


def timestamp() -> datetime:
    """The current local time to the second: what a write from the web UI records as its time."""
    return datetime.now().replace(microsecond=0)


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
