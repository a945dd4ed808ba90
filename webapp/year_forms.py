"""Forms of a school year's page (``webapp.views.year``): the assessment notice and payouts,
the repayment's confirmation and payment, the agreement with the Land and its status, the
Land's notices and their withdrawal, closing and re-opening the year.

Dates are typed as TT.MM.JJJJ (or come from a date input as JJJJ-MM-TT), amounts the German
way ("1.234,56", parsed by ``ledger.core.money.parse_amount``). The forms only check the
input's shape; whether the step may be taken the core decides (and says why not).
"""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ledger.core.agreements import STATUSES
from ledger.core.money import AmountError, parse_amount

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
DATE_MESSAGE = "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)."


def _amount(_form, field) -> None:
    """A German amount (``1.234,56``), zero or more; empty is left to the field's other validators."""
    text = (field.data or "").strip()
    if text:
        try:
            value = parse_amount(text)
        except AmountError as exc:
            raise ValidationError(f"„{text}“: {exc}.") from exc
        if value < 0:
            raise ValidationError("Bitte keinen negativen Betrag angeben.")


def amount_of(field) -> Decimal | None:
    """The amount (EUR) typed into ``field`` (validated by ``_amount``), None if empty."""
    text = (field.data or "").strip()
    return parse_amount(text) if text else None


def date_field(label: str, required: bool = True) -> DateField:
    """A date field (TT.MM.JJJJ or JJJJ-MM-TT) with the German message; shared by the form modules."""
    validators = [DataRequired(DATE_MESSAGE)] if required else [Optional()]
    return DateField(label, format=DATE_FORMATS, validators=validators)


def money_field(label: str, required: bool = True, message: str = "Bitte den Betrag angeben.") -> StringField:
    """An amount field (German or plain decimals, checked by ``_amount``); shared by the form modules."""
    validators = [InputRequired(message)] if required else [Optional()]
    return StringField(label, validators=[*validators, _amount])


class GrantForm(FlaskForm):
    """The assessment notice (Festsetzungsbescheid): the assessed grant and the notice's date."""

    assessed = money_field("Festgesetzter Betrag (EUR)", message="Bitte den festgesetzten Betrag angeben.")
    notice_date = date_field("Datum des Festsetzungsbescheids", required=False)


class PayoutForm(FlaskForm):
    """A payout of the grant: day, amount and an optional voucher number."""

    day = date_field("Tag der Auszahlung")
    amount = money_field("Auszahlungsbetrag (EUR)", message="Bitte den Auszahlungsbetrag angeben.")
    voucher = StringField("Belegnummer (leer: automatisch)", validators=[Optional(), Length(max=60)])


class ConfirmForm(FlaskForm):
    """Confirming the repayment: the day its liability is booked."""

    day = date_field("Buchungsdatum")


class PaymentForm(FlaskForm):
    """The repayment paid to the Landeskasse: day and amount."""

    day = date_field("Tag der Zahlung an die Landeskasse")
    amount = money_field("Zahlbetrag (EUR)", message="Bitte den Zahlbetrag angeben.")


class AgreementForm(FlaskForm):
    """An agreement with the Land for the year (Vereinbarung): an amount deemed purpose-conform
    or a waiver, the agreed repayment, payment date and reference, its status."""

    deemed_conform = money_field("Als zweckentsprechend geltender Betrag (EUR)", required=False)
    waive = BooleanField("Das Land verzichtet auf die Rückforderung")
    repayment = money_field("Vereinbarte Rückzahlung (EUR, leer: Pauschale minus zweckentsprechend)", required=False)
    payment_date = date_field("Vereinbarter Zahlungstermin", required=False)
    payment_reference = StringField("Vereinbarter Verwendungszweck", validators=[Optional(), Length(max=140)])
    reference = StringField("Fundstelle (z. B. „Vereinbarung vom 01.03.2024, § 1“)",
                            validators=[Optional(), Length(max=200)])
    status = SelectField("Stand der Vereinbarung", choices=[SelectChoice(k, v) for k, v in STATUSES.items()], default="in_force")
    effective_date = date_field("Wirksam seit (nur wenn wirksam)", required=False)


class AgreementStatusForm(FlaskForm):
    """A new status of the agreement (§ 9) and, once in force, since when."""

    status = SelectField("Neuer Stand", choices=[SelectChoice(k, v) for k, v in list(STATUSES.items())[1:]])
    effective_date = date_field("Wirksam seit (nur wenn wirksam)", required=False)


def _points(_form, field) -> None:
    text = (field.data or "").strip()
    if text:
        try:
            parse_amount(text)
        except AmountError as exc:
            raise ValidationError(f"„{text}“ ist kein Zinssatz (z. B. 3 oder 2,5).") from exc


class NoticeForm(FlaskForm):
    """The Land's notice for the year (Rückforderungs-/Erstattungsbescheid); with a notice in
    force it is an amending notice that replaces it."""

    notice_date = date_field("Datum des Bescheids")
    reference = StringField("Aktenzeichen", validators=[DataRequired("Bitte das Aktenzeichen angeben."),
                                                        Length(max=120)])
    amount = money_field("Zurückzuzahlender Betrag (EUR)", message="Bitte den zurückzuzahlenden Betrag angeben.")
    due_date = date_field("Zahlungsfrist")
    interest_start = date_field("Zinsbeginn", required=False)
    interest_points = StringField("Zinssatz (Prozentpunkte über dem Basiszinssatz, z. B. 3)",
                                  validators=[Optional(), _points])
    no_interest = BooleanField("Der Bescheid verzichtet auf Zinsen (§ 49a Abs. 3 Satz 2 VwVfG NRW)")


class WithdrawalForm(FlaskForm):
    """The Land's withdrawal (Aufhebung) of the notice in force: its date and Aktenzeichen."""

    withdrawal_date = date_field("Datum der Aufhebung")
    withdrawal_reference = StringField("Aktenzeichen der Aufhebung", validators=[
        DataRequired("Bitte das Aktenzeichen der Aufhebung angeben."), Length(max=120)])


class CloseForm(FlaskForm):
    """Closing the year: an optional note (e.g. the final settlement's Aktenzeichen)."""

    note = StringField("Anmerkung (z. B. Aktenzeichen der Schlussabrechnung)", validators=[Optional(), Length(max=200)])


class ReopenForm(FlaskForm):
    """Re-opening a closed year (administration only): the reason, which is logged."""

    reason = TextAreaField("Begründung (wird protokolliert)", validators=[
        DataRequired("Bitte die Begründung angeben."), Length(min=5, max=400)])
