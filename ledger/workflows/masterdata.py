"""Master data: schools, providers, pools, member municipalities, commitments, cost centres.

The rules judge spending by it (is the school a GL school? is the pool systemic? was the
pass-through verified?), so every change is logged in the audit log with old and new
values. Each kind is described once: its German columns, a marshmallow schema that
validates a row of them, its natural key, and how a valid row becomes a model. The same
path serves ``inkl KIND add`` (one row) and ``inkl KIND import FILE`` (a semicolon CSV
with those columns, all or nothing, errors by line and column; re-importing unchanged
rows changes nothing, changed rows are updated and logged).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError
from ledger.core.models import (
    FINANCING_BASES,
    Base,
    BudgetAgreement,
    Commitment,
    CostCentre,
    Municipality,
    PassThroughVerification,
    Pool,
    Provider,
    Recipient,
    School,
)
from ledger.core.money import (
    AmountError,
    format_german,
    format_plain,
    from_cents,
    parse_amount,
    to_cents,
)
from ledger.read.csvfile import ImportIssue, read_table
from ledger.rules.packs import load_packs

YES = {"ja", "j", "x", "1", "true", "wahr", "yes"}
NO = {"nein", "n", "0", "false", "falsch", "no"}


class MasterDataError(LedgerError):
    """Invalid master data: ``issues`` name the column (German) of every problem."""

    def __init__(self, issues: list[ImportIssue]):
        self.issues = issues
        super().__init__("; ".join(f"{i.column}: {i.message}" if i.column else i.message for i in issues))


#: marshmallow's message for a missing required value, in German (as the text columns say it).
REQUIRED = {"required": "Pflichtfeld fehlt oder ist leer"}


class GermanDate(fields.Field):
    """A date as ``TT.MM.JJJJ`` or ``JJJJ-MM-TT``."""

    default_error_messages = REQUIRED

    def _deserialize(self, value, attr, data, **kwargs):
        for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(str(value).strip(), pattern).date()
            except ValueError:
                continue
        raise ValidationError(f"ungültiges Datum {value!r} (erwartet TT.MM.JJJJ)")


class Amount(fields.Field):
    """EUR in German (``1.234,56``) or plain (``1234.56``) notation → Decimal; must be positive."""

    default_error_messages = REQUIRED

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            amount = parse_amount(str(value))
        except AmountError as exc:
            raise ValidationError(str(exc)) from exc
        if amount <= 0:
            raise ValidationError("Betrag muss positiv sein")
        return amount


class Percent(fields.Field):
    """A percentage 0–100 with up to two decimals, ``40`` or ``40,5``."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation as exc:
            raise ValidationError(f"ungültiger Prozentsatz {value!r}") from exc
        if not number.is_finite() or not 0 <= number <= 100 or number != number.quantize(Decimal("0.01")):
            raise ValidationError("Prozentsatz zwischen 0 und 100 mit höchstens zwei Nachkommastellen")
        return number.quantize(Decimal("0.01"))


def _text(column: str, limit: int, required: bool = True) -> fields.Field:
    length = validate.Length(min=1 if required else 0, max=limit, error=f"1 bis {limit} Zeichen")
    if required:
        return fields.String(data_key=column, required=True, validate=length,
                             error_messages={"required": "Pflichtfeld fehlt oder ist leer"})
    return fields.String(data_key=column, validate=length, load_default="")


def _flag(column: str) -> fields.Field:
    return fields.Boolean(data_key=column, required=True, truthy=YES, falsy=NO,
                          error_messages={"invalid": "erwartet ja oder nein", "required": "Pflichtfeld fehlt"})


class SchoolSchema(Schema):
    school_number = _text("Schulnummer", 20)
    name = _text("Name", 200)
    bearer = _text("Schulträger", 200)
    school_form = _text("Schulform", 60)
    gl_school = _flag("GL-Schule")


class ProviderSchema(Schema):
    name = _text("Name", 200)


class PoolSchema(Schema):
    key = _text("Kennung", 40)
    name = _text("Name", 200)
    provider = _text("Träger", 200)
    schools = _text("Schulen", 2000)
    period_start = GermanDate(data_key="Beginn", required=True)
    period_end = GermanDate(data_key="Ende", required=True)
    financing_basis = fields.String(data_key="Finanzierungsgrundlage", load_default="",
                                    validate=validate.OneOf(("", *FINANCING_BASES),
                                                            error=f"erlaubt: {', '.join(FINANCING_BASES)}"))
    systemic_share = Percent(data_key="Systemischer Anteil", load_default=None)


class MunicipalitySchema(Schema):
    name = _text("Name", 200)
    gl_bearer = _flag("Träger von GL-Schulen")
    verified_on = GermanDate(data_key="Geprüft am", load_default=None)
    document_reference = _text("Nachweis", 200, required=False)
    verified_by = _text("Geprüft von", 120, required=False)


class CommitmentSchema(Schema):
    reference = _text("Referenz", 60)
    description = _text("Beschreibung", 300)
    category = _text("Kategorie", 40)
    monthly_amount = Amount(data_key="Monatsbetrag", required=True)
    start_date = GermanDate(data_key="Beginn", required=True)
    end_date = GermanDate(data_key="Ende", required=True)
    pool = _text("Pool", 40, required=False)
    budget = _text("Trägerbudget", 40, required=False)


class CostCentreSchema(Schema):
    code = _text("Kostenstelle", 40)
    school = _text("Schule", 20, required=False)
    pool = _text("Pool", 40, required=False)
    municipality = _text("Gemeinde", 200, required=False)
    project = _text("Projekt", 200, required=False)


@dataclass(frozen=True)
class Kind:
    """One kind of master data: German label, CSV columns, schema, model and its key field."""

    name: str
    label: str
    schema: type[Schema]
    model: type[Base]
    key: str
    build: Callable[[Session, Recipient, dict], dict]
    describe: Callable[[Any], dict]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.data_key for f in self.schema().fields.values())

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.data_key for f in self.schema().fields.values() if f.required)


@dataclass(frozen=True)
class MasterImportSummary:
    """Outcome of a master-data import: rows, added, updated, unchanged, errors (then nothing written)."""

    file: str
    kind: str
    rows: int
    added: int
    updated: int
    unchanged: int
    dry_run: bool
    errors: tuple[ImportIssue, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = [asdict(issue) for issue in self.errors]
        return data


def add(session: Session, recipient: Recipient, kind: str, row: dict[str, str], *, actor: str, now: datetime):
    """Add one item of ``kind`` from ``row`` ({German column: text}); logged.

    Raises MasterDataError (by column) for invalid values or unknown references, and
    if an item with the same key exists.
    """
    _outcome, item = _upsert(session, recipient, KINDS[kind], row, actor=actor, now=now, update=False)
    return item


def save(session: Session, recipient: Recipient, kind: str, row: dict[str, str], *, actor: str,
         now: datetime) -> tuple[str, Any]:
    """Add or update one item of ``kind`` from ``row`` ({German column: text}), like one row of
    an import: returns (``"added"``, ``"updated"`` or ``"unchanged"``, item); changes are
    logged with old and new values. Raises MasterDataError (by column)."""
    return _upsert(session, recipient, KINDS[kind], row, actor=actor, now=now, update=True)


def as_row(session: Session, recipient: Recipient, kind: str, key: str) -> dict[str, str] | None:
    """The item of ``kind`` with ``key`` as German column texts (the import's format), for
    editing; None if there is none. A municipality's verification columns stay empty:
    evidence is only ever added."""
    spec = KINDS[kind]
    model = spec.model
    item = session.scalar(select(model).where(model.recipient_id == recipient.id, getattr(model, spec.key) == key))
    return None if item is None else _row(spec, item)


def list_rows(session: Session, recipient: Recipient, kind: str) -> list[dict[str, str]]:
    """All items of ``kind`` for ``recipient`` as German column texts (as ``as_row``), by key."""
    spec = KINDS[kind]
    return [_row(spec, item) for item in _items(session, recipient, spec)]


def cost_centre_codes(session: Session, recipient: Recipient) -> list[str]:
    """The codes of ``recipient``'s cost centres (Kostenstellen), sorted: what the journal's
    and the classification's filters offer, read without the master data each points to."""
    return list(session.scalars(select(CostCentre.code).where(CostCentre.recipient_id == recipient.id)
                                .order_by(CostCentre.code)))


def _items(session: Session, recipient: Recipient, spec: Kind):
    """The items of ``spec`` of ``recipient``, by key."""
    model = spec.model
    return session.scalars(select(model).where(model.recipient_id == recipient.id).order_by(getattr(model, spec.key)))


def _row(spec: Kind, item) -> dict[str, str]:
    """``item`` of ``spec`` as {German column: text} in the import's format."""
    described = spec.describe(item)
    row = {}
    for name, schema_field in spec.schema().fields.items():
        value = described.get(name)
        if value is None or name in ("verified_on", "document_reference", "verified_by"):
            text = ""
        elif isinstance(value, bool):
            text = "ja" if value else "nein"
        elif isinstance(value, list):
            text = ", ".join(value)
        elif isinstance(schema_field, GermanDate):
            text = date.fromisoformat(value).strftime("%d.%m.%Y")
        elif isinstance(schema_field, Amount):
            text = format_german(Decimal(value))
        elif isinstance(schema_field, Percent):
            text = str(Decimal(value).normalize()).replace(".", ",")
        else:
            text = str(value)
        row[schema_field.data_key] = text
    return row


def import_master_data(session: Session, recipient: Recipient, kind: str, data: bytes, filename: str, *,
                       actor: str, now: datetime, dry_run: bool = False) -> MasterImportSummary:
    """Import a semicolon CSV of ``kind`` (columns as in ``KINDS[kind].columns``), all or nothing.

    New keys are added, rows equal to what is recorded are unchanged, differing rows
    update the item (logged with old and new values). On any error nothing is written
    (the caller rolls back) and ``summary.ok`` is False. The caller commits.
    """
    spec = KINDS[kind]
    records, issues = read_table(data, spec.required, tuple(c for c in spec.columns if c not in spec.required))
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with session.begin_nested() as savepoint:
        for line, row in records:
            try:
                outcome, _item = _upsert(session, recipient, spec, row, actor=actor, now=now, update=True)
                counts[outcome] += 1
            except MasterDataError as exc:
                issues += [ImportIssue(line, i.column, i.message) for i in exc.issues]
        if issues or dry_run:
            savepoint.rollback()
    if not records and not issues:
        issues.append(ImportIssue(1, None, "die Datei enthält keine Zeilen"))
    return MasterImportSummary(filename, kind, len(records), **counts, dry_run=dry_run,
                               errors=tuple(sorted(issues, key=lambda i: i.line)))


def list_items(session: Session, recipient: Recipient, kind: str) -> list[dict]:
    """All items of ``kind`` for ``recipient`` as JSON-ready dicts (English keys), by key."""
    spec = KINDS[kind]
    return [spec.describe(item) for item in _items(session, recipient, spec)]


def _upsert(session: Session, recipient: Recipient, spec: Kind, row: dict[str, str], *, actor: str,
            now: datetime, update: bool) -> tuple[str, Any]:
    try:
        data = spec.schema().load({k: v for k, v in row.items() if v not in ("", None)})
    except ValidationError as exc:
        raise MasterDataError([ImportIssue(0, column, " ".join(messages))
                               for column, messages in exc.messages.items()]) from exc
    values = spec.build(session, recipient, data)
    model = spec.model
    item = session.scalar(select(model).where(model.recipient_id == recipient.id,
                                              getattr(model, spec.key) == values[spec.key]))
    if item is None:
        item = model(recipient_id=recipient.id, **{k: v for k, v in values.items() if not k.startswith("_")})
        session.add(item)
        session.flush()
        _after(session, item, values)
        audit.record(session, actor=actor, action=f"{spec.name}_add", now=now, recipient=recipient,
                     details=spec.describe(item))
        return "added", item
    if not update:
        raise MasterDataError([ImportIssue(0, spec.schema().fields[spec.key].data_key,
                                           f"{spec.label} {values[spec.key]!r} existiert bereits")])
    before = spec.describe(item)
    for name, value in values.items():
        if not name.startswith("_"):
            setattr(item, name, value)
    session.flush()
    _after(session, item, values)
    after = spec.describe(item)
    if after == before:
        return "unchanged", item
    audit.record(session, actor=actor, action=f"{spec.name}_change", now=now, recipient=recipient,
                 details={"before": before, "after": after})
    return "updated", item


def _after(session: Session, item, values: dict) -> None:
    """Relations set after the row exists: a pool's schools, a municipality's verification."""
    if "_schools" in values:
        item.schools = values["_schools"]
    if values.get("_verification") and not any(
            (v.verified_on, v.document_reference, v.verified_by) == values["_verification"]
            for v in item.verifications):
        verified_on, reference, verified_by = values["_verification"]
        session.add(PassThroughVerification(municipality_id=item.id, verified_on=verified_on,
                                            document_reference=reference, verified_by=verified_by))
    session.flush()
    session.refresh(item)


def _one(session: Session, model, recipient: Recipient, column: str, label: str, **where):
    found = session.scalar(select(model).filter_by(recipient_id=recipient.id, **where))
    if found is None:
        raise MasterDataError([ImportIssue(0, column, f"unbekannte(r) {label} {next(iter(where.values()))!r}")])
    return found


def _school(session, recipient, data):
    return {"school_number": data["school_number"], "name": data["name"], "bearer": data["bearer"],
            "school_form": data["school_form"], "gl_school": data["gl_school"]}


def _provider(session, recipient, data):
    return {"name": data["name"]}


def _pool(session, recipient, data):
    problems = []
    basis = data["financing_basis"] or None
    share = data["systemic_share"]
    if (basis == "mixed") != (share is not None):
        problems.append(ImportIssue(0, "Systemischer Anteil", "nur und immer bei Finanzierungsgrundlage mixed"))
    if data["period_end"] < data["period_start"]:
        problems.append(ImportIssue(0, "Ende", "Ende liegt vor dem Beginn"))
    schools = []
    for number in filter(None, (n.strip() for n in data["schools"].split(","))):
        try:
            schools.append(_one(session, School, recipient, "Schulen", "Schule", school_number=number))
        except MasterDataError as exc:
            problems += exc.issues
    try:
        provider = _one(session, Provider, recipient, "Träger", "Träger", name=data["provider"])
    except MasterDataError as exc:
        problems += exc.issues
    if problems:
        raise MasterDataError(problems)
    return {"key": data["key"], "name": data["name"], "provider_id": provider.id,
            "period_start": data["period_start"], "period_end": data["period_end"],
            "financing_basis": basis, "systemic_share": share, "_schools": schools}


def _municipality(session, recipient, data):
    evidence = (data["verified_on"], data["document_reference"], data["verified_by"])
    given = [value for value in evidence if value]
    if given and len(given) != 3:
        raise MasterDataError([ImportIssue(0, "Geprüft am", "Nachweis der Prüfung braucht Datum, Nachweis und Prüfer")])
    return {"name": data["name"], "gl_bearer": data["gl_bearer"], "_verification": evidence if given else None}


def _commitment(session, recipient, data):
    problems = []
    if data["category"] not in {c.id for pack in load_packs() for c in pack.categories}:
        problems.append(ImportIssue(0, "Kategorie", f"unbekannte Kategorie {data['category']!r}"))
    if data["end_date"] < data["start_date"]:
        problems.append(ImportIssue(0, "Ende", "Ende liegt vor dem Beginn"))
    pool = None
    if data["pool"]:
        try:
            pool = _one(session, Pool, recipient, "Pool", "Pool", key=data["pool"])
        except MasterDataError as exc:
            problems += exc.issues
    budget = None
    if data["budget"]:  # a pool contract financed by a provider budget of the same recipient
        try:
            budget = _one(session, BudgetAgreement, recipient, "Trägerbudget", "Trägerbudget", key=data["budget"])
        except MasterDataError as exc:
            problems += exc.issues
    if problems:
        raise MasterDataError(problems)
    return {"reference": data["reference"], "description": data["description"], "category": data["category"],
            "monthly_cents": to_cents(data["monthly_amount"]), "start_date": data["start_date"],
            "end_date": data["end_date"], "pool_id": None if pool is None else pool.id,
            "budget_agreement_id": None if budget is None else budget.id}


def _cost_centre(session, recipient, data):
    targets = [name for name in ("school", "pool", "municipality", "project") if data[name]]
    if len(targets) != 1:
        raise MasterDataError([ImportIssue(0, "Kostenstelle",
                                           "genau eines von Schule, Pool, Gemeinde oder Projekt angeben")])
    school = _one(session, School, recipient, "Schule", "Schule", school_number=data["school"]) if data["school"] else None
    pool = _one(session, Pool, recipient, "Pool", "Pool", key=data["pool"]) if data["pool"] else None
    municipality = (_one(session, Municipality, recipient, "Gemeinde", "Gemeinde", name=data["municipality"])
                    if data["municipality"] else None)
    return {"code": data["code"], "school_id": school and school.id, "pool_id": pool and pool.id,
            "municipality_id": municipality and municipality.id, "project": data["project"] or None}


def _describe_pool(pool: Pool) -> dict:
    return {"key": pool.key, "name": pool.name, "provider": pool.provider.name,
            "schools": [s.school_number for s in pool.schools],
            "period_start": pool.period_start.isoformat(), "period_end": pool.period_end.isoformat(),
            "financing_basis": pool.financing_basis,
            "systemic_share": None if pool.systemic_share is None else f"{pool.systemic_share:.2f}"}


def _describe_municipality(m: Municipality) -> dict:
    return {"name": m.name, "gl_bearer": m.gl_bearer,
            "verifications": [{"verified_on": v.verified_on.isoformat(), "document_reference": v.document_reference,
                               "verified_by": v.verified_by} for v in m.verifications]}


def _describe_commitment(c: Commitment) -> dict:
    return {"reference": c.reference, "description": c.description, "category": c.category,
            "monthly_amount": format_plain(from_cents(c.monthly_cents)), "start_date": c.start_date.isoformat(),
            "end_date": c.end_date.isoformat(), "pool": c.pool.key if c.pool else None,
            "budget": c.budget_agreement.key if c.budget_agreement else None}


def _describe_cost_centre(c: CostCentre) -> dict:
    return {"code": c.code, "school": c.school.school_number if c.school else None,
            "pool": c.pool.key if c.pool else None, "municipality": c.municipality.name if c.municipality else None,
            "project": c.project}


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("school", "Schule", SchoolSchema, School, "school_number", _school,
         lambda s: {"school_number": s.school_number, "name": s.name, "bearer": s.bearer,
                    "school_form": s.school_form, "gl_school": s.gl_school}),
    Kind("provider", "Träger", ProviderSchema, Provider, "name", _provider, lambda p: {"name": p.name}),
    Kind("pool", "Pool", PoolSchema, Pool, "key", _pool, _describe_pool),
    Kind("municipality", "Gemeinde", MunicipalitySchema, Municipality, "name", _municipality, _describe_municipality),
    Kind("commitment", "Verpflichtung", CommitmentSchema, Commitment, "reference", _commitment, _describe_commitment),
    Kind("costcentre", "Kostenstelle", CostCentreSchema, CostCentre, "code", _cost_centre, _describe_cost_centre),
)}
