"""The fields of the master-data forms: which column is typed in and which is chosen from a list.

A column that refers to other master data (a pool's provider and schools, a cost centre's
school, pool or municipality, a commitment's pool and provider budget), to a rule pack's
categories (a commitment's category), to the financing bases or that is a yes/no flag is
offered as a choice: the option values are exactly the texts the CSV import takes (school
number, pool key, provider name, category id, ``ja``/``nein``), the labels are German
(ids are never shown as text). The posted values go through ``ledger.workflows.masterdata.save``
unchanged, which checks everything again; a value that is not among the options is refused
here with a German message (``read_form``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.models import FINANCING_BASES, BudgetAgreement, Municipality, Pool, Provider, Recipient, School
from ledger.reports.journal import category_choices
from ledger.rules.packs import RulePack
from ledger.workflows.masterdata import Kind

#: Widgets: ``text`` (typed), ``select`` (one of ``options``), ``checkboxes`` (any of ``options``).
TEXT, SELECT, CHECKBOXES = "text", "select", "checkboxes"
YES_NO = (("ja", "ja"), ("nein", "nein"))


@dataclass(frozen=True)
class FormField:
    """One column of a master-data form: its German ``column`` (as in the CSV import), the
    ``widget``, the ``options`` ((value, German label), in order) of a choice, and for a
    reference the kind of master data it names (``refers``, to link to its form when empty)."""

    column: str
    widget: str = TEXT
    options: tuple[tuple[str, str], ...] = ()
    refers: str | None = None

    @property
    def values(self) -> set[str]:
        """The values that may be chosen."""
        return {value for value, _label in self.options}


def form_fields(session: Session, recipient: Recipient, spec: Kind, packs: tuple[RulePack, ...]) -> list[FormField]:
    """The fields of ``spec``'s form for ``recipient``, in the order of its columns, with the
    options drawn from the recipient's master data and ``packs``."""
    def of(model, order, option):
        rows = session.scalars(select(model).where(model.recipient_id == recipient.id).order_by(order))
        return tuple(option(row) for row in rows)

    def schools():
        return of(School, School.school_number, lambda s: (s.school_number, f"{s.school_number} {s.name}"))

    def pools():
        return of(Pool, Pool.key, lambda p: (p.key, f"{p.key} – {p.name}"))

    choices = {
        ("school", "GL-Schule"): lambda: FormField("GL-Schule", SELECT, YES_NO),
        ("municipality", "Träger von GL-Schulen"): lambda: FormField("Träger von GL-Schulen", SELECT, YES_NO),
        ("pool", "Träger"): lambda: FormField("Träger", SELECT, of(Provider, Provider.name, lambda p: (p.name, p.name)),
                                              "provider"),
        ("pool", "Schulen"): lambda: FormField("Schulen", CHECKBOXES, schools(), "school"),
        ("pool", "Finanzierungsgrundlage"): lambda: FormField(
            "Finanzierungsgrundlage", SELECT, (("", "nicht erfasst (Prüfliste)"), *FINANCING_BASES.items())),
        ("commitment", "Kategorie"): lambda: FormField(
            "Kategorie", SELECT, tuple((c.id, c.label) for c in category_choices(packs))),
        ("commitment", "Pool"): lambda: FormField("Pool", SELECT, pools(), "pool"),
        ("commitment", "Trägerbudget"): lambda: FormField(
            "Trägerbudget", SELECT, of(BudgetAgreement, BudgetAgreement.key, lambda b: (b.key, b.title))),
        ("costcentre", "Schule"): lambda: FormField("Schule", SELECT, schools(), "school"),
        ("costcentre", "Pool"): lambda: FormField("Pool", SELECT, pools(), "pool"),
        ("costcentre", "Gemeinde"): lambda: FormField(
            "Gemeinde", SELECT, of(Municipality, Municipality.name, lambda m: (m.name, m.name)), "municipality"),
    }
    return [choices.get((spec.name, column), lambda c=column: FormField(c))() for column in spec.columns]


def read_form(fields: list[FormField], form) -> tuple[dict[str, str], dict[str, str]]:
    """The posted ``form`` (a werkzeug MultiDict) as a row {column: text} in the import's format
    (the schools of a pool joined by ``", "``) and German errors by column for values that
    are not among a field's options (an empty value is left to the core's check of required
    columns)."""
    row: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in fields:
        if field.widget == CHECKBOXES:
            chosen = [value.strip() for value in form.getlist(field.column) if value.strip()]
            row[field.column] = ", ".join(dict.fromkeys(chosen))
            wrong = [value for value in chosen if value not in field.values]
        else:
            row[field.column] = form.get(field.column, "").strip()
            wrong = [row[field.column]] if field.widget == SELECT and row[field.column] else []
            wrong = [value for value in wrong if value not in field.values]
        if wrong:
            errors[field.column] = (f"„{wrong[0][:60]}“ steht bei {field.column} nicht zur Auswahl; "
                                    "bitte einen der angebotenen Einträge wählen.")
    return row, errors
