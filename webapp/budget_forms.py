"""Forms of the provider budget page (``webapp.views.budget``): a quarter's hours report, the
judgement after the renegotiation trigger, a case and a dated record (Hilfeplan meeting, case
report, action plan, end of a case, the provider's report).

The forms check only what the browser sent; ``ledger.workflows.budget`` and
``ledger.workflows.budget_cases`` decide whether a record may be made and say why not. Each
form carries a prefix per agreement (``stunden-3-quarter``), so several agreements' forms can
share one page with unique ids.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ledger.workflows.budget_cases import RECORD_KINDS

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
DATE_MISSING = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."


class HoursForm(FlaskForm):
    """The provider's report of delivered client hours for one quarter."""

    quarter = StringField("Quartal (z. B. 2025-Q1)", validators=[DataRequired("Bitte das Quartal angeben."),
                                                                 Length(max=7)])
    specialist = StringField("Erbrachte Stunden Fachkräfte", validators=[
        DataRequired("Bitte die Stunden der Fachkräfte angeben."), Length(max=20)])
    semi_professional = StringField("Erbrachte Stunden semiprofessionell", validators=[
        DataRequired("Bitte die Stunden der semiprofessionellen Mitarbeitenden angeben (auch 0)."), Length(max=20)])


class JudgementForm(FlaskForm):
    """The officer's judgement whether a shortfall of hours persists."""

    quarter = StringField("Quartal, in dem die Schwelle erreicht wurde", validators=[
        DataRequired("Bitte das Quartal angeben."), Length(max=7)])
    persists = RadioField("Hält die Unterschreitung voraussichtlich an?", choices=[
        SelectChoice("ja", "ja – über eine Anpassung des Budgets verhandeln"), SelectChoice("nein", "nein")],
        validators=[InputRequired("Bitte ja oder nein wählen.")])
    reasoning = TextAreaField("Begründung", validators=[DataRequired("Bitte die Einschätzung begründen."),
                                                        Length(max=1000)])


class CaseForm(FlaskForm):
    """A case by its pseudonymous reference and its start (Hilfebeginn)."""

    reference = StringField("Fallzeichen (pseudonym, keine Namen)", validators=[
        DataRequired("Bitte das Fallzeichen angeben."), Length(max=40)])
    start = DateField("Hilfebeginn", format=DATE_FORMATS, validators=[DataRequired(DATE_MISSING)])


class RecordForm(FlaskForm):
    """A dated record: of a case (meeting, case report, action plan, end) or the provider's report."""

    case = SelectField("Fall", choices=[], validate_choice=False, validators=[Optional()])
    kind = SelectField("Art", choices=[SelectChoice(k, label) for k, label in RECORD_KINDS.items()])
    day = DateField("Datum", format=DATE_FORMATS, validators=[DataRequired(DATE_MISSING)])
