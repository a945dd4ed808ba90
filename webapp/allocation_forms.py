"""Forms of the allocation pages (``webapp.views.allocation``): a claim (Mittelabruf) against a
formula plan with one row per deployed helper, the payment of an accepted claim, the day of a
commitment or release, and a municipality's claim against a Kreis's pass-through plan.

Dates are typed as TT.MM.JJJJ (or come from a date input), amounts the German way ("1.234,56").
The forms check the input's shape (and that case references are pseudonymous, that a school
belongs to the chosen city); whether the claim is accepted the core decides
(``ledger.workflows.allocation.add_claim``, ``ledger.workflows.pass_through``).
"""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ledger.core.errors import LedgerError
from ledger.workflows.allocation import checked_case_refs
from webapp.year_forms import amount_of, date_field, money_field

#: Helper rows of a new claim form, and the most a form may have (``?zeilen=N`` adds rows).
HELPER_ROWS = 3
MAX_HELPER_ROWS = 20
#: The school choice of a helper whose school the declaration covers (Anlage 2).
BY_DECLARATION = ("", "laut Erklärung (Anlage 2)")


class CommitmentForm(FlaskForm):
    """The day of a commitment or of the release of the rest."""

    day = date_field("Buchungsdatum")


class PayForm(FlaskForm):
    """The payment of a claim's accepted amount to its recipient: the day."""

    day = date_field("Tag der Auszahlung")


class _ClaimBase(FlaskForm):
    """The fields of a claim besides its helper rows (see :func:`claim_form`)."""

    recipient = SelectField("Stadt (Empfänger)", validators=[InputRequired("Bitte die Stadt wählen.")])
    claim_date = date_field("Tag des Mittelabrufs")
    declaration = StringField("Fundstelle der verbindlichen Erklärung des Schulträgers (Anlage 2)", validators=[
        DataRequired("Bitte die Fundstelle der Erklärung angeben."), Length(max=200)])
    material_costs = money_field("Abgerechnete Sachkosten (EUR, optional)", required=False)
    rows = HiddenField()

    def helper_rows(self) -> list[tuple]:
        """The (cost, school, cases) fields of each helper row, in order."""
        return [(self[f"cost_{i}"], self[f"school_{i}"], self[f"cases_{i}"]) for i in range(1, self.row_count + 1)]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        filled = False
        for cost, school, cases in self.helper_rows():
            if (cost.data or "").strip():
                filled = True
            elif (school.data or (cases.data or "").strip()) and not cost.errors:
                cost.errors = [*cost.errors, "Bitte die Personalkosten dieses Inklusionshelfers angeben."]
                ok = False
            try:
                checked_case_refs(self.case_refs(cases))
            except LedgerError as exc:
                cases.errors = [*cases.errors, f"{str(exc)[:1].upper()}{str(exc)[1:]}."]
                ok = False
            if school.data and school.data not in self.schools_of.get(self.recipient.data, {}):
                school.errors = [*school.errors, "Die Schule gehört nicht zur gewählten Stadt."]
                ok = False
        if not filled and not (self.material_costs.data or "").strip():
            first = self["cost_1"]
            first.errors = [*first.errors, "Bitte die Personalkosten mindestens eines Inklusionshelfers angeben."]
            ok = False
        return ok

    @staticmethod
    def case_refs(field) -> list[str]:
        """The case references typed into ``field`` (comma-separated, blanks dropped)."""
        return [ref.strip() for ref in (field.data or "").split(",") if ref.strip()]

    def claim_arguments(self) -> dict:
        """The arguments of ``add_claim`` from the valid form: ``helper_costs``, ``schools``,
        ``cases`` (per filled row), ``material_costs``, ``declaration``, ``claim_date``."""
        rows = [(amount_of(cost), school.data or None, self.case_refs(cases))
                for cost, school, cases in self.helper_rows() if (cost.data or "").strip()]
        return {"helper_costs": [cost for cost, _s, _c in rows], "schools": [school for _c, school, _r in rows],
                "cases": [refs for _c, _s, refs in rows], "material_costs": amount_of(self.material_costs),
                "declaration": self.declaration.data, "claim_date": self.claim_date.data}


def claim_form(rows: int, recipients: list[tuple[str, str]], schools: dict[str, list[tuple[str, str]]],
               names: dict[str, str], **kwargs) -> _ClaimBase:
    """A claim form with ``rows`` helper rows (1 to MAX_HELPER_ROWS): per row the personnel
    costs (EUR), the school (``schools``: recipient key → [(school number, name)], labelled
    with the city's name from ``names``; or "laut Erklärung") and the pseudonymous case references.
    ``recipients``: the plan's (key, name) pairs. ``kwargs`` go to the form (``prefix``, data)."""
    rows = max(1, min(rows, MAX_HELPER_ROWS))
    fields = {}
    for i in range(1, rows + 1):
        fields[f"cost_{i}"] = money_field(f"Personalkosten Inklusionshelfer {i} (EUR)", required=False)
        fields[f"school_{i}"] = SelectField(f"Schule von Inklusionshelfer {i}", default="")
        fields[f"cases_{i}"] = StringField(f"Fallzeichen zu Inklusionshelfer {i} (z. B. HI-2014-03; mehrere mit Komma)",
                                           validators=[Length(max=400)])
    form_class = type("ClaimForm", (_ClaimBase,), fields)
    form = form_class(**kwargs)
    form.row_count = rows
    form.rows.data = str(rows)
    form.schools_of = {key: dict(items) for key, items in schools.items()}
    form.recipient.choices = [("", "bitte wählen"), *recipients]
    listed = [(number, f"{names[key]}: {name} ({number})") for key, items in schools.items() for number, name in items]
    for _cost, school, _cases in form.helper_rows():
        school.choices = [BY_DECLARATION, *listed]
    return form


class PassThroughClaimForm(FlaskForm):
    """A municipality's claim against a pass-through plan: municipality, day, amount, reference."""

    municipality = SelectField("Gemeinde", validators=[InputRequired("Bitte die Gemeinde wählen.")])
    claim_date = date_field("Tag des Mittelabrufs")
    amount = money_field("Abgerufener Betrag (EUR)", message="Bitte den abgerufenen Betrag angeben.")
    reference = StringField("Fundstelle des Mittelabrufs der Gemeinde", validators=[
        DataRequired("Bitte die Fundstelle des Mittelabrufs angeben."), Length(max=200)])

    def amount_value(self) -> Decimal:
        """The amount typed (EUR)."""
        return amount_of(self.amount)
