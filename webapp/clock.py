"""The web UI's clock: the day countdowns count from, and the time a write records."""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app


def today() -> date:
    """The day countdowns count from: config ``TODAY`` or the current date."""
    return current_app.config.get("TODAY") or date.today()


def timestamp() -> datetime:
    """The current local time to the second: what a write from the web UI records as its time."""
    return datetime.now().replace(microsecond=0)
