"""The accessibility statement (Erklärung zur Barrierefreiheit, § 10b BGG NRW, BITV NRW):
public like the log-in page, linked from every page's footer. The feedback contact comes
from the app's ``ACCESSIBILITY`` configuration (``ledger.core.accessibility_config``)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template

from ledger.core.accessibility_config import AccessibilityContact

bp = Blueprint("accessibility", __name__)

#: The date this statement's text was prepared (self-assessment with axe-core, issue 17);
#: an installation that reviews it sets ``[accessibility] prepared_on`` instead.
PREPARED_ON = date(2026, 12, 7)
#: The Land's enforcement body (§§ 10d, 10e BGG NRW, §§ 9 ff. BITV NRW).
OMBUDSSTELLE_EMAIL = "ombudsstelle-barrierefreie-it@mags.nrw.de"
OMBUDSSTELLE_WEB = "https://www.lbbp.nrw.de/ombudsstelle"


@bp.get("/barrierefreiheit")
def statement():
    """The statement with the configured feedback contact (or a note that none is configured)."""
    contact: AccessibilityContact = current_app.config.get("ACCESSIBILITY") or AccessibilityContact()
    return render_template("accessibility.html", contact=contact, prepared_on=contact.prepared_on or PREPARED_ON,
                           ombudsstelle_email=OMBUDSSTELLE_EMAIL, ombudsstelle_web=OMBUDSSTELLE_WEB,
                           nav="accessibility")
