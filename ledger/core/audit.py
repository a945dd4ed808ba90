"""The audit log: who wrote what to the books, and when; append-only and hash-chained.

Every write the core performs (recipient, account, grant, payout, agreement, import,
reversal, repayment, period close and re-open, user, API token, restore) adds an event with the
actor, an action name and details (JSON). Events form one hash chain like the journal
(``ledger.core.chain``); the database refuses to change or delete them (migration 0002).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ledger.core.chain import GENESIS, ChainHead
from ledger.core.models import AuditEvent, Recipient
from ledger.core.money import format_german

#: German names of the audit actions (``record(action=…)``); the Protokoll shows these, the
#: stored events and exports keep the English names.
ACTION_LABELS = {
    "recipient_add": "Empfänger angelegt",
    "account_add": "Konto angelegt",
    "account_iban": "IBAN des Bankkontos geändert",
    "bank_entry_book": "zurückgestellten Kontoumsatz gebucht",
    "grant_add": "Zuwendung erfasst",
    "payout": "Auszahlung gebucht",
    "agreement_add": "Vereinbarung erfasst",
    "agreement_status": "Stand der Vereinbarung erfasst",
    "notice_add": "Bescheid des Landes erfasst",
    "notice_withdraw": "Bescheid des Landes aufgehoben",
    "import": "Buchungen importiert",
    "reversal": "Buchung storniert",
    "repayment_confirm": "Rückzahlung bestätigt",
    "repayment_pay": "Rückzahlung gezahlt",
    "repayment_sepa": "SEPA-Überweisung der Rückzahlung erzeugt",
    "period_close": "Schuljahr abgeschlossen",
    "period_reopen": "Schuljahr wieder geöffnet",
    "evaluation": "Bewertungslauf aufgezeichnet",
    "override_add": "abweichend eingestuft",
    "override_withdraw": "abweichende Einstufung zurückgenommen",
    "statement_issue": "Verwendungsnachweis ausgestellt",
    "narrative_write": "Sachbericht gespeichert",
    "user_add": "Benutzer angelegt",
    "user_password": "Passwort gesetzt",
    "user_lock": "Benutzer gesperrt",
    "user_unlock": "Benutzer entsperrt",
    "user_assign": "Benutzer einem Empfänger zugeordnet",
    "login_directory": "Anmeldung über das Verzeichnis",
    "login_refused": "Anmeldung abgelehnt",
    "token_create": "Zugangstoken für Importskripte erstellt",
    "token_revoke": "Zugangstoken für Importskripte widerrufen",
    "restore": "Sicherung eingespielt",
    "allocation_claim_add": "Mittelabruf geprüft und erfasst",
    "allocation_claim_pay": "Mittelabruf ausgezahlt",
    "download": "Daten heruntergeladen",
    "allocation_commit": "Mittel eines Verteilungsplans gebunden",
    "allocation_release": "nicht abgerufene Mittel eines Verteilungsplans freigegeben",
    "pass_through_claim_add": "Mittelabruf einer Gemeinde (Weiterleitung) geprüft und erfasst",
    "budget_agreement_add": "Trägerbudget erfasst",
    "budget_advances": "Abschläge des Trägerbudgets gebucht",
    "budget_hours": "Stundenbericht zum Trägerbudget erfasst",
    "budget_judgement": "Einschätzung zur Unterschreitung der Stunden erfasst",
    "budget_case_add": "Fall des Trägerbudgets erfasst",
    "budget_record": "Termin oder Eingang zum Trägerbudget erfasst",
    **{f"{kind}_{verb}": f"{label} {done}" for kind, label in (
        ("school", "Schule"), ("provider", "Träger"), ("pool", "Pool"), ("municipality", "Gemeinde"),
        ("commitment", "Verpflichtung"), ("costcentre", "Kostenstelle"))
       for verb, done in (("add", "angelegt"), ("change", "geändert"))},
}

#: German labels of the detail fields of audit events.
FIELD_LABELS = {
    "school_year": "Schuljahr", "amount": "Betrag", "assessed": "festgesetzter Betrag", "date": "Datum",
    "notice_date": "Bescheid vom", "entry": "Buchung Nr.", "reversal": "Stornobuchung Nr.", "reason": "Begründung",
    "waived": "Verzicht", "reference": "Aktenzeichen", "deemed_conform": "als zweckentsprechend vereinbart",
    "file": "Datei", "sha256": "SHA-256", "rows": "Zeilen", "imported": "importiert", "duplicates": "Dubletten",
    "skipped": "übersprungen", "parked": "zur Klärung zurückgestellt",
    "repayments_recognised": "Rückzahlungen zugeordnet",
    "payouts_recognised": "erkannte Auszahlungen", "batch": "Importlauf Nr.", "run": "Bewertungslauf Nr.",
    "pack": "Regelwerk", "digest": "SHA-256 des Regelwerks", "postings": "Buchungen", "changed": "geändert",
    "override": "abweichende Einstufung Nr.", "posting": "Buchungszeile Nr.", "voucher": "Beleg",
    "status": "Einstufung", "agreement_status": "Stand der Vereinbarung", "conform": "zweckentsprechend",
    "justification": "Begründung", "statement": "Verwendungsnachweis (Datensatz)", "issue_number": "Verwendungsnachweis Nr.",
    "content_sha256": "Prüfsumme des Inhalts", "version": "Fassung Nr.", "characters": "Zeichen",
    "repayment_due": "Rückzahlung fällig", "chain_seq": "Buchungskette bis Nr.",
    "username": "Benutzer", "role": "Rolle", "recipients": "Empfänger", "all_recipients": "Lesezugriff auf alle",
    "password_set": "Passwort gesetzt", "locked": "Konto gesperrt", "recipient": "Empfänger", "key": "Schlüssel", "name": "Name",
    "kind": "Art", "number": "Nummer", "iban": "IBAN", "previous": "bisher",
    "search": "Suche", "filter": "Filter", "sort": "Sortierung", "direction": "Richtung",
    "parked_entry": "zurückgestellter Kontoumsatz Nr.", "profile": "Importprofil", "type": "Kontoart", "category": "Kategorie",
    "backup_created_at": "Sicherung vom", "schema_revision": "Schemastand", "source_dialect": "Quelldatenbank",
    "audit_head": "Protokoll bis", "seq": "Nr.", "hash": "SHA-256", "before": "vorher", "after": "nachher",
    "school_number": "Schulnummer", "bearer": "Schulträger", "school_form": "Schulform", "gl_school": "GL-Schule",
    "provider": "Träger", "schools": "Schulen", "period_start": "Beginn", "period_end": "Ende",
    "financing_basis": "Finanzierungsgrundlage", "systemic_share": "systemischer Anteil (%)",
    "gl_bearer": "Träger von GL-Schulen", "verifications": "Vergewisserungen", "verified_on": "geprüft am",
    "document_reference": "Nachweis", "verified_by": "geprüft von", "description": "Beschreibung",
    "monthly_amount": "Monatsbetrag", "start_date": "Beginn", "end_date": "Ende", "pool": "Pool",
    "code": "Kostenstelle", "school": "Schule", "municipality": "Gemeinde", "project": "Projekt",
    "due_date": "Zahlungsfrist", "interest_start": "Zinsbeginn", "interest_points": "Prozentpunkte über dem Basiszinssatz",
    "interest_waived": "Verzicht auf Zinsen", "replaces": "ersetzt Bescheid", "notice": "Bescheid",
    "withdrawal_date": "aufgehoben am", "repayment": "vereinbarte Rückzahlung", "payment_date": "Zahlungstermin",
    "payment_reference": "Verwendungszweck", "effective_date": "wirksam seit",
    "execution_date": "Ausführungstag", "message_id": "Nachrichtenkennung", "end_to_end_id": "Ende-zu-Ende-Referenz",
    "token": "Zugangstoken Nr.", "prefix": "Anfang des Zugangstokens", "expires_on": "gültig bis",
    "plan": "Verteilungsplan", "claim_id": "Mittelabruf Nr.", "claimed": "beantragt", "accepted": "anerkannt",
    "declaration": "verbindliche Erklärung (Anlage 2)",
    "format": "Format", "date_from": "von", "date_to": "bis", "account": "Konto",
    "budget": "Trägerbudget", "start": "Beginn", "end": "Ende", "quarter": "Quartal",
    "persists": "Unterschreitung hält an", "specialist": "Stunden Fachkräfte",
    "semi_professional": "Stunden semiprofessionell", "case": "Fall", "record": "erfasst", "count": "Anzahl",
    "total": "Summe",
}
#: Detail fields that hold amounts in EUR (stored as plain decimal strings).
AMOUNT_FIELDS = frozenset({"amount", "assessed", "deemed_conform", "conform", "repayment_due", "monthly_amount",
                           "repayment", "claimed", "accepted", "budget", "total"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def record(session: Session, *, actor: str, action: str, now: datetime,
           recipient: Recipient | None = None, details: dict | None = None) -> AuditEvent:
    """Append an event to the audit log and return it (written, not committed).

    ``action``: a short English name (``import``, ``reversal``, ``period_close``, …);
    ``details``: JSON-serialisable facts (amounts as strings, never floats).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
    head = audit_head(session)
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    event = AuditEvent(
        seq=head.seq + 1, actor=actor, action=action, recipient_id=None if recipient is None else recipient.id,
        details=details_json, created_at=now, prev_hash=head.entry_hash,
    )
    event.entry_hash = _event_hash(event, None if recipient is None else recipient.key)
    session.add(event)
    session.flush()
    return event


def list_events(session: Session, *, recipient_ids: set[int] | None, include_global: bool, offset: int = 0,
                limit: int = 50, action: str | None = None, actor: str | None = None,
                since: date | None = None,
                until: date | None = None) -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """Audit events, newest first, with their recipient's key: ``(page, total)``.

    ``recipient_ids``: only events of these recipients (None: of every recipient);
    ``include_global``: also events without a recipient (users, restores). ``offset`` and
    ``limit`` page through the result. Filters: ``action`` (an English action name),
    ``actor`` (user name), ``since``/``until`` (days, both inclusive, of ``created_at``).
    """
    query = select(AuditEvent, Recipient.key).outerjoin(Recipient, AuditEvent.recipient_id == Recipient.id)
    where = _scope(recipient_ids, include_global)
    if where is None:
        return [], 0
    if action:
        where = where & (AuditEvent.action == action)
    if actor:
        where = where & (AuditEvent.actor == actor)
    if since is not None:
        where = where & (AuditEvent.created_at >= datetime.combine(since, datetime.min.time()))
    if until is not None:
        where = where & (AuditEvent.created_at < datetime.combine(until + timedelta(days=1), datetime.min.time()))
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(where))
    rows = session.execute(query.where(where).order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)).all()
    return [(event, key) for event, key in rows], total


def event_actors(session: Session, *, recipient_ids: set[int] | None, include_global: bool) -> list[str]:
    """The user names in the events ``list_events`` would show with the same scope, sorted (the
    Protokoll's person filter)."""
    where = _scope(recipient_ids, include_global)
    if where is None:
        return []
    return list(session.scalars(select(AuditEvent.actor).where(where).distinct().order_by(AuditEvent.actor)))


def _scope(recipient_ids: set[int] | None, include_global: bool):
    """The condition of ``list_events``' scope, or None when nothing is in it."""
    conditions = []
    if recipient_ids is None:
        conditions.append(AuditEvent.recipient_id.is_not(None))
    elif recipient_ids:
        conditions.append(AuditEvent.recipient_id.in_(recipient_ids))
    if include_global:
        conditions.append(AuditEvent.recipient_id.is_(None))
    return or_(*conditions) if conditions else None


def action_label(action: str) -> str:
    """The German name of an audit action (``"override_add"`` → ``"abweichend eingestuft"``); an
    action without one keeps its name."""
    return ACTION_LABELS.get(action, action)


def readable_details(details_json: str, value_labels: dict[str, dict[str, str]] | None = None) -> list[tuple[str, str]]:
    """An event's details (JSON) as German ``(label, value)`` pairs in the order stored: dates as
    TT.MM.JJJJ, times as TT.MM.JJJJ, HH:MM Uhr, amounts (EUR) and numbers in German format, yes/no
    as ja/nein, lists comma-separated, nested objects as ``label: value`` joined by ``; ``.
    ``value_labels`` maps a field to German labels of its values (e.g. ``status``, ``role``)."""
    labels = value_labels or {}
    return [(FIELD_LABELS.get(key, key), _value(key, value, labels)) for key, value in json.loads(details_json).items()]


def _value(key: str, value, labels: dict[str, dict[str, str]]) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, list):
        return ", ".join(_value(key, item, labels) for item in value) or "–"
    if isinstance(value, dict):
        return "; ".join(f"{FIELD_LABELS.get(k, k)}: {_value(k, v, labels)}" for k, v in value.items())
    text = str(value)
    if key in labels and text in labels[key]:
        return labels[key][text]
    if key in AMOUNT_FIELDS:
        try:
            return f"{format_german(Decimal(text))} €"
        except InvalidOperation:
            return text
    if _ISO_DATE.match(text):
        return date.fromisoformat(text).strftime("%d.%m.%Y")
    if _ISO_MOMENT.match(text):
        return datetime.fromisoformat(text).strftime("%d.%m.%Y, %H:%M Uhr")
    return text


def audit_head(session: Session) -> ChainHead:
    """The newest event's ``seq`` and hash; ``ChainHead(0, GENESIS)`` for an empty log."""
    row = session.execute(select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return ChainHead(0, GENESIS) if row is None else ChainHead(row.seq, row.entry_hash)


def verify_audit_log(session: Session) -> tuple[int, ChainHead, int | None, str | None]:
    """Recompute the audit log's chain: (events checked, head, first broken seq or None, German reason).

    Every stored column is hashed (the recipient by its key) except ``id``; an event whose
    ``recipient_id`` names no recipient is a broken link too (it would hash as "no recipient").
    """
    prev, expected, count = GENESIS, 1, 0
    keys = dict(session.execute(select(Recipient.id, Recipient.key)).all())
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)).scalars():
        count += 1
        if event.seq != expected or event.prev_hash != prev:
            return count, audit_head(session), event.seq, "Lücke oder falscher Vorgänger in der Protokollkette"
        if event.recipient_id is not None and event.recipient_id not in keys:
            # The link hashes the recipient's key; an id that resolves to none would hash as "no recipient".
            return count, audit_head(session), event.seq, "Protokolleintrag verweist auf einen Empfänger, den es nicht gibt"
        if _event_hash(event, keys.get(event.recipient_id)) != event.entry_hash:
            return count, audit_head(session), event.seq, "Protokolleintrag wurde verändert"
        prev, expected = event.entry_hash, expected + 1
    return count, ChainHead(expected - 1, prev), None, None


def _event_hash(event: AuditEvent, recipient_key: str | None) -> str:
    content = {"seq": event.seq, "actor": event.actor, "action": event.action, "recipient": recipient_key,
               "details": json.loads(event.details), "created_at": event.created_at.isoformat()}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((event.prev_hash + canonical).encode("utf-8")).hexdigest()
