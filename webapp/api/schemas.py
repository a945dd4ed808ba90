"""The marshmallow schemas of the API: what it accepts (German validation messages) and the
shapes it answers with, from which flask-smorest writes the OpenAPI document.

The answers reuse the command line's JSON shapes, built in one place by the ledger
(``RepaymentResult.as_json`` and ``YearError.as_json`` for ``inkl repayments --json``,
``Forecast.as_json`` for ``inkl forecast --json``, ``Evaluated.as_json`` for ``inkl review
--json``): the schemas here describe those dicts field by field (a test compares them), so
amounts are strings with two decimals (``"45154.33"``), dates ISO strings, and rule packs,
categories, statuses and rules appear by id.
"""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from ledger.core.schoolyear import SchoolYear, SchoolYearError

#: German messages of every field's common errors.
_COMMON = {"required": "Dieses Feld fehlt.", "null": "Dieses Feld darf nicht leer (null) sein.",
           "validator_failed": "Ungültiger Wert."}
#: Dates the API accepts (no computation runs before or after these).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
#: School years the API accepts, by start year.
FIRST_YEAR, LAST_YEAR = 2000, 2098
MONEY = {"pattern": r"^-?\d+\.\d{2}$", "description": "Betrag in EUR mit zwei Nachkommastellen, z. B. \"45154.33\""}
ISO_DATE = {"format": "date", "description": "Datum JJJJ-MM-TT"}
LOCAL_TIME = {"pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}",
              "description": "Zeitpunkt in Ortszeit (Europe/Berlin) ohne Zeitzone: JJJJ-MM-TTThh:mm:ss"}
SCHOOL_YEAR = {"pattern": r"^\d{4}/\d{2}$", "example": "2023/24", "description": "Schuljahr, z. B. 2023/24"}


class Text(fields.String):
    """A string field with German messages."""

    default_error_messages = {**_COMMON, "invalid": "Kein gültiger Text.", "invalid_utf8": "Kein gültiger UTF-8-Text."}


class Flag(fields.Boolean):
    """A boolean field with German messages (``true``/``false``, ``1``/``0``)."""

    default_error_messages = {**_COMMON, "invalid": "Kein gültiger Wahrheitswert (true oder false)."}


class Day(fields.Date):
    """An ISO date (``JJJJ-MM-TT``) from ``FIRST_DAY`` to ``LAST_DAY``, with German messages; the
    OpenAPI document states the range as a pattern (JSON Schema has no date bounds)."""

    default_error_messages = {**_COMMON, "invalid": "Kein gültiges Datum (erwartet JJJJ-MM-TT).",
                              "format": "Das Datum {input!r} kann nicht formatiert werden."}

    def __init__(self, *, metadata: dict, **kwargs) -> None:
        super().__init__(validate=validate.Range(
            min=FIRST_DAY, max=LAST_DAY,
            error=f"Das Datum muss zwischen {FIRST_DAY:%d.%m.%Y} und {LAST_DAY:%d.%m.%Y} liegen."),
            metadata={"pattern": r"^20\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$", **metadata}, **kwargs)


class SchoolYearField(Text):
    """A school year such as ``2023/24`` (``ledger.core.schoolyear.SchoolYear``), loaded as ``SchoolYear``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(metadata=dict(SCHOOL_YEAR), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> SchoolYear:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            year = SchoolYear.parse(text)
        except SchoolYearError as exc:
            raise ma.ValidationError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from exc
        if not FIRST_YEAR <= year.start_year <= LAST_YEAR:
            raise ma.ValidationError(f"Schuljahre von {SchoolYear(FIRST_YEAR)} bis {SchoolYear(LAST_YEAR)} "
                                     "sind möglich.")
        return year


class ExportFile(Upload):
    """The uploaded file (multipart), with German messages."""

    default_error_messages = {**_COMMON, "invalid": "Keine Datei."}


class Request(ma.Schema):
    """Base of the request schemas: German messages for the schema's own errors."""

    error_messages = {"unknown": "Unbekanntes Feld.", "type": "Ungültige Eingabe."}


# --- requests -------------------------------------------------------------------------------


class UploadForm(Request):
    """``POST …/imports`` (multipart/form-data)."""

    file = ExportFile(required=True, metadata={"description": "Die Exportdatei (z. B. der Monatsexport als CSV)."})
    profile = Text(load_default=None, validate=validate.Length(max=40, error="Höchstens 40 Zeichen."), metadata={
        "description": "Schlüssel des Importprofils; leer: das eingebaute Semikolon-Format (inkl-csv)."})
    dry_run = Flag(load_default=True, metadata={
        "description": "true (Vorgabe): nur prüfen und zwischenspeichern, nichts buchen; false: sofort buchen."})


class RepaymentsQuery(Request):
    """``GET …/repayments``."""

    school_year = SchoolYearField(load_default=None)
    as_of = Day(load_default=None, metadata={
        "description": "Verzugszinsen auf offene Beträge bis zu diesem Tag berechnen (JJJJ-MM-TT)."})


class YearQuery(Request):
    """A query naming one school year."""

    school_year = SchoolYearField(required=True)


class ForecastQuery(YearQuery):
    """``GET …/forecast``."""

    as_of = Day(load_default=None, metadata={
        "description": "Stichtag (JJJJ-MM-TT; Vorgabe: heute); ein begonnener Monat gilt als gebucht."})


# --- answers ---------------------------------------------------------------------------------


def _money(**kwargs) -> fields.String:
    return fields.String(metadata=dict(MONEY), **kwargs)


def _day(**kwargs) -> fields.String:
    return fields.String(metadata=dict(ISO_DATE), **kwargs)


class ProblemSchema(ma.Schema):
    """An error (RFC 7807 problem details, ``application/problem+json``), in German."""

    type = fields.String(metadata={"description": "immer about:blank"})
    title = fields.String(metadata={"description": "Art des Fehlers"})
    status = fields.Integer(metadata={"description": "HTTP-Status"})
    detail = fields.String(metadata={"description": "Was nicht stimmt"})
    invalid_params = fields.List(fields.Dict(), metadata={
        "description": "Abgelehnte Angaben der Anfrage: name, in (query, path, body), reason"})
    errors = fields.List(fields.Dict(), metadata={
        "description": "Fehler einer Importdatei: line (Zeile), column (Spalte oder null), message"})
    summary = fields.Dict(metadata={"description": "Zählung des abgelehnten Imports (wie ImportSummary)"})


class RecipientSchema(ma.Schema):
    """A recipient the token may read."""

    key = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "kreis, kreisfreie_stadt, …"})
    may_write = fields.Boolean(required=True, metadata={"description": "ob das Token hier importieren darf"})


class ImportIssueSchema(ma.Schema):
    """One error of an import file."""

    line = fields.Integer(required=True)
    column = fields.String(allow_none=True, required=True)
    message = fields.String(required=True)


class ImportSchema(ma.Schema):
    """The summary of a dry run or a booking (``ImportSummary.as_dict``) with the id to commit."""

    id = fields.String(allow_none=True, required=True, metadata={
        "description": "Kennung des Probelaufs zum Buchen (SHA-256 der Datei); null, wenn nichts zu buchen ist "
                       "oder bereits gebucht wurde."})
    commit = fields.String(allow_none=True, required=True, metadata={
        "description": "Pfad zum Buchen dieses Probelaufs (POST); null wie id."})
    profile = fields.String(required=True, metadata={"description": "Schlüssel des Importprofils"})
    file = fields.String(required=True)
    sha256 = fields.String(required=True)
    rows = fields.Integer(required=True)
    imported = fields.Integer(required=True, metadata={"description": "neu (zu) gebuchte Zeilen"})
    duplicates = fields.Integer(required=True, metadata={"description": "bereits gebuchte Zeilen"})
    payouts_recognised = fields.Integer(required=True, metadata={"description": "als erfasste Auszahlung erkannt"})
    repayments_recognised = fields.Integer(required=True, metadata={
        "description": "Zahlungen an die Landeskasse, der bestätigten Rückzahlung zugeordnet (Kontoauszug)"})
    parked = fields.Integer(required=True, metadata={"description": "Kontoumsätze zur Klärung zurückgestellt"})
    skipped = fields.Integer(required=True, metadata={"description": "nach den Regeln des Importprofils übersprungen"})
    dry_run = fields.Boolean(required=True)
    errors = fields.List(fields.Nested(ImportIssueSchema), required=True)


class RulePackRef(ma.Schema):
    """A rule pack by id and version."""

    id = fields.String(required=True)
    version = fields.String(required=True)


class CategorySum(ma.Schema):
    """Net spending of one category."""

    category = fields.String(required=True)
    status = fields.String(required=True)
    amount = _money(required=True)


class InterestSchema(ma.Schema):
    """Interest on one late amount."""

    principal = _money(required=True)
    from_ = _day(required=True, attribute="from", data_key="from")
    to = _day(required=True)
    days = fields.Integer(required=True)
    amount = _money(required=True)
    rates = fields.List(fields.String(), required=True)


class TrancheSchema(ma.Schema):
    """One part of the repayment with its own deadline."""

    basis = fields.String(required=True)
    payout_date = _day(allow_none=True, required=True)
    payout = _money(allow_none=True, required=True)
    due = _money(required=True)
    paid = _money(required=True)
    outstanding = _money(required=True)
    nominal_due_date = _day(allow_none=True, required=True)
    due_date = _day(allow_none=True, required=True)


class StatusStepSchema(ma.Schema):
    """One status of a settlement agreement."""

    status = fields.String(required=True)
    effective_date = _day(allow_none=True, required=True)
    recorded_at = fields.String(required=True, metadata=dict(LOCAL_TIME))


class AgreementSchema(ma.Schema):
    """The settlement agreement of the year."""

    waived = fields.Boolean(required=True)
    deemed_conform = _money(allow_none=True, required=True)
    repayment_due = _money(required=True)
    reference = fields.String(required=True)
    agreed_repayment = _money(allow_none=True, required=True)
    payment_date = _day(allow_none=True, required=True)
    payment_reference = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    effective_date = _day(allow_none=True, required=True)
    status_history = fields.List(fields.Nested(StatusStepSchema), required=True)


class ReplacedNoticeSchema(ma.Schema):
    """The notice an amending notice replaced."""

    reference = fields.String(required=True)
    notice_date = _day(required=True)


class NoticeSchema(ma.Schema):
    """The Land's notice in force for the year."""

    notice_date = _day(required=True)
    reference = fields.String(required=True)
    amount = _money(required=True)
    due_date = _day(required=True)
    interest_start = _day(allow_none=True, required=True)
    interest_points = fields.String(allow_none=True, required=True)
    interest_waived = fields.Boolean(required=True)
    replaces = fields.Nested(ReplacedNoticeSchema, allow_none=True, required=True)


class RepaymentSchema(ma.Schema):
    """One school year of ``inkl repayments --json``: its figures, or only ``school_year`` and
    ``error`` (German) when they cannot be computed (e.g. no rule pack in force)."""

    school_year = fields.String(required=True, metadata=dict(SCHOOL_YEAR))
    error = fields.String(metadata={"description": "nur bei einem Schuljahr ohne Zahlen: warum"})
    recipient = fields.String()
    rule_pack = fields.Nested(RulePackRef)
    grant_assessed = _money(allow_none=True)
    grant_received = _money()
    permitted = _money()
    by_category = fields.List(fields.Nested(CategorySum))
    pool_personnel = _money()
    overhead_charged = _money()
    overhead_cap = _money(allow_none=True)
    overhead_excess = _money()
    excluded = _money()
    unclassified = _money()
    uncategorised_open = _money()
    uncategorised_decided = _money()
    total_spending = _money()
    unspent_grant = _money()
    computed_repayment_due = _money()
    repayment_due = _money()
    confirmed_obligation = _money()
    already_repaid = _money()
    outstanding = _money()
    late_interest = _money()
    interest_as_of = _day(allow_none=True)
    interest = fields.List(fields.Nested(InterestSchema))
    nominal_due_date = _day(allow_none=True)
    due_date = _day(allow_none=True)
    decided_by = fields.String(metadata={"description": "notice, agreement oder computation"})
    due_dates = fields.List(fields.Nested(TrancheSchema))
    agreement = fields.Nested(AgreementSchema, allow_none=True)
    notice = fields.Nested(NoticeSchema, allow_none=True)


class ForecastActualSchema(ma.Schema):
    """The actual figures of a forecast."""

    permitted = _money(required=True)
    pool_personnel = _money(required=True)
    overhead = _money(required=True)
    overhead_cap = _money(allow_none=True, required=True)
    excluded = _money(required=True)
    unclassified = _money(required=True)
    repayment_due = _money(required=True)


class OpenCommitmentSchema(ma.Schema):
    """A commitment with open months."""

    reference = fields.String(required=True)
    category = fields.String(required=True)
    months = fields.Integer(required=True)
    monthly_amount = _money(required=True)
    amount = _money(required=True)
    status = fields.String(required=True)
    conform = _money(required=True)
    reason = fields.String(required=True)


class ForecastCategorySchema(ma.Schema):
    """Actual, committed and projected spending of one category."""

    category = fields.String(required=True)
    label = fields.String(required=True)
    status = fields.String(required=True)
    actual = _money(required=True)
    committed = _money(required=True)
    projected = _money(required=True)


class ProjectedSchema(ma.Schema):
    """The projected figures of a forecast."""

    pool_personnel = _money(required=True)
    overhead = _money(required=True)
    overhead_cap = _money(allow_none=True, required=True)
    overhead_excess = _money(required=True)
    permitted = _money(required=True)
    excluded = _money(required=True)
    unclassified = _money(required=True)
    repayment = _money(required=True)


class ForecastGrantSchema(ma.Schema):
    """The grant a forecast counts with."""

    assessed = _money(allow_none=True, required=True)
    received = _money(required=True)
    basis = _money(required=True)
    basis_source = fields.String(required=True, metadata={"description": "received oder assessed"})


class WarningSchema(ma.Schema):
    """A warning of the forecast: its code and German text."""

    code = fields.String(required=True)
    text = fields.String(required=True)


class ForecastSchema(ma.Schema):
    """``inkl forecast --json``."""

    recipient = fields.String(required=True)
    school_year = fields.String(required=True, metadata=dict(SCHOOL_YEAR))
    as_of = _day(required=True)
    rule_pack = fields.Nested(RulePackRef, required=True)
    actual = fields.Nested(ForecastActualSchema, required=True)
    open_commitments = fields.List(fields.Nested(OpenCommitmentSchema), required=True)
    committed = _money(required=True)
    by_category = fields.List(fields.Nested(ForecastCategorySchema), required=True)
    projected = fields.Nested(ProjectedSchema, required=True)
    grant = fields.Nested(ForecastGrantSchema, required=True)
    agreement_reference = fields.String(allow_none=True, required=True)
    due_date = _day(allow_none=True, required=True)
    days_until_due = fields.Integer(allow_none=True, required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)


class ReviewItemSchema(ma.Schema):
    """A posting of the review queue (``inkl review --json``)."""

    posting_id = fields.Integer(required=True)
    entry_id = fields.Integer(required=True)
    date = _day(required=True)
    voucher_number = fields.String(required=True)
    text = fields.String(required=True)
    account = fields.String(required=True)
    amount = _money(required=True)
    category = fields.String(allow_none=True, required=True)
    cost_centre = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    conform = _money(required=True)
    excluded = _money(required=True)
    unclassified = _money(required=True)
    rule = fields.String(required=True)
    reason = fields.String(required=True)
    source = fields.String(required=True)
    rule_pack = fields.Nested(RulePackRef, required=True)
    review = fields.String(allow_none=True, required=True, metadata={"description": "was noch fehlt (deutsch)"})
    override = fields.Integer(allow_none=True, required=True)


class IssuedSchema(ma.Schema):
    """An issued statement of use (Verwendungsnachweis), without its bytes."""

    id = fields.Integer(required=True)
    number = fields.Integer(required=True, metadata={"description": "Nr. im Schuljahr"})
    school_year = fields.String(required=True, metadata=dict(SCHOOL_YEAR))
    sha256 = fields.String(required=True, metadata={"description": "SHA-256 der PDF-Datei"})
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata=dict(LOCAL_TIME))
    chain_seq = fields.Integer(required=True)
    chain_hash = fields.String(required=True)
    repayment_due = _money(required=True)
    size = fields.Integer(required=True, metadata={"description": "Bytes"})
    pdf = fields.String(required=True, metadata={"description": "Pfad zum Herunterladen (GET)"})


