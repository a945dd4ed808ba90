"""Forms for writing the journal in the web UI: a manual entry and a reversal (Storno).

Amounts are typed the German way ("1.234,56") and parsed by ``ledger.core.money.parse_amount``;
the core (``ledger.core.posting``) decides whether an entry may be posted and says why not.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ledger.core.money import AmountError, parse_amount

LINES = 6
"""Posting lines offered on the manual entry form (empty ones are ignored)."""


def _amount(_form, field) -> None:
    if field.data and field.data.strip():
        try:
            value = parse_amount(field.data.strip())
        except AmountError as exc:
            raise ValidationError(f"„{field.data}“: {exc}") from exc
        if value <= 0:
            raise ValidationError("Bitte einen positiven Betrag angeben.")


class LineForm(Form):
    """One posting line: account, debit or credit (EUR, German format), category, cost centre."""

    account = SelectField("Konto", choices=[], validate_choice=False)
    debit = StringField("Soll", validators=[Optional(), _amount])
    credit = StringField("Haben", validators=[Optional(), _amount])
    category = SelectField("Kategorie", choices=[], validate_choice=False)
    cost_centre = StringField("Kostenstelle", validators=[Optional(), Length(max=40)])

    @property
    def used(self) -> bool:
        """Whether anything was typed or chosen on this line."""
        return bool(self.account.data or (self.debit.data or "").strip() or (self.credit.data or "").strip())


class ManualEntryForm(FlaskForm):
    """A manual journal entry: date, voucher number, text, school year (optional), lines."""

    day = DateField("Buchungsdatum", validators=[DataRequired("Bitte ein gültiges Datum angeben (TT.MM.JJJJ).")],
                    format=["%Y-%m-%d", "%d.%m.%Y"])
    voucher_number = StringField("Belegnummer", validators=[DataRequired("Bitte die Belegnummer angeben."),
                                                            Length(max=60)])
    text = StringField("Buchungstext", validators=[DataRequired("Bitte einen Buchungstext angeben."),
                                                   Length(max=500)])
    school_year = StringField("Schuljahr (leer: nach Buchungsdatum)", validators=[Optional(), Length(max=7)])
    lines = FieldList(FormField(LineForm), min_entries=LINES, max_entries=LINES)


class ReversalForm(FlaskForm):
    """Reverse an entry: date and reason (both logged); ``confirmed`` is set by the confirmation
    step, which shows what will be booked before anything is."""

    day = DateField("Storno-Datum", validators=[DataRequired("Bitte ein gültiges Datum angeben (TT.MM.JJJJ).")],
                    format=["%Y-%m-%d", "%d.%m.%Y"])
    reason = TextAreaField("Begründung", validators=[DataRequired("Bitte die Begründung angeben."),
                                                     Length(min=5, max=400)])
    confirmed = HiddenField(default="")
