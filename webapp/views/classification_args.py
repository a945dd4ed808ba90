"""The Einstufung's filters as query arguments, shared by its page and its download.

``q`` (text in voucher number or booking text), ``status`` (a classification status),
``category`` (category id or ``none``), ``kst`` (cost centre code or ``none``),
``betrag_von`` / ``betrag_bis`` (EUR, inclusive). An invalid argument filters nothing and
is reported with a German message under its name.
"""
from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from ledger.core.models import Recipient
from ledger.reports.classification import WITHOUT, ClassificationFilter
from ledger.reports.journal import category_choices
from ledger.rules.evaluate import Evaluated
from ledger.rules.packs import RulePack
from ledger.rules.status import STATUS_LABELS, Status
from ledger.workflows.masterdata import cost_centre_codes
from webapp.views import amount_arg

#: The Einstufung's query arguments that filter.
CLASSIFICATION_FILTERS = ("q", "status", "category", "kst", "betrag_von", "betrag_bis")


def cost_centres(session: Session, recipient: Recipient, items: list[Evaluated]) -> list[str]:
    """The cost centres one may filter by: the master data's and those booked in ``items``."""
    return sorted(set(cost_centre_codes(session, recipient))
                  | {item.cost_centre for item in items if item.cost_centre})


def classification_filter(centres: list[str], packs: tuple[RulePack, ...]
                          ) -> tuple[ClassificationFilter, dict[str, str]]:
    """The filter the request's arguments ask for, and German errors by argument name."""
    errors: dict[str, str] = {}
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in {str(s) for s in STATUS_LABELS}:
        errors["status"] = f"Unbekannte Einstufung „{status[:30]}“."
        status = None
    category = request.args.get("category", "").strip() or None
    if category is not None and category != WITHOUT and category not in {c.id for c in category_choices(packs)}:
        errors["category"] = f"Unbekannte Kategorie „{category[:40]}“."
        category = None
    centre = request.args.get("kst", "").strip() or None
    if centre is not None and centre != WITHOUT and centre not in centres:
        errors["kst"] = f"Kostenstelle „{centre[:40]}“ gibt es weder in den Stammdaten noch in diesem Schuljahr."
        centre = None
    amount_min, amount_max = amount_arg("betrag_von", errors), amount_arg("betrag_bis", errors)
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        errors["betrag_bis"] = "Der Betrag bis liegt unter dem Betrag ab."
        amount_max = None
    search = request.args.get("q", "").strip()[:100] or None
    return ClassificationFilter(status and Status(status), category, centre, amount_min, amount_max, search), errors


def active_filters(errors: dict[str, str]) -> dict[str, str]:
    """The filter arguments of the request that are set and valid (for links that keep them)."""
    return {name: value for name in CLASSIFICATION_FILTERS
            if (value := request.args.get(name, "")) and name not in errors}
