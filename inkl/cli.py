"""``inkl``: the command line over the ledger core.

Every command prints German text for people (labels, never ids), or JSON with ``--json`` for
scripts; errors go to stderr with exit code 1, usage errors with 2 (click's messages in German:
``inkl.german``). The database is ``INKL_DATABASE_URL`` (see
``ledger.core.settings``).
"""
from __future__ import annotations

import getpass
import io
import json
import os
import sys
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
import sqlalchemy.exc

from inkl import german
from ledger.core import db
from ledger.core.agreements import IN_FORCE, STATUSES, add_agreement, change_status, find_agreement, status_history
from ledger.core.audit import record
from ledger.core.bank import format_iban, set_account_iban
from ledger.core.integrity import heads_document, verify_books
from ledger.core.errors import LedgerError
from ledger.core.grants import add_payout, get_grant
from ledger.core.models import ACCOUNT_TYPES, FINANCING_BASES, RECIPIENT_KINDS
from ledger.core.money import (
    AmountError,
    AmountTooLarge,
    format_german,
    format_plain,
    from_cents,
    parse_amount,
)
from ledger.core.narrative import count_versions, narrative_history, write_narrative
from ledger.core.notices import add_notice, find_notice, notice_history, withdraw_notice
from ledger.core.posting import get_entry, reverse_entry
from ledger.core.recipients import (
    add_account,
    add_recipient,
    get_recipient,
    list_recipients,
)
from ledger.core.schoolyear import SchoolYear, SchoolYearError
from ledger.core.tokens import STATE_LABELS, create_token, list_tokens, revoke_token, token_state
from ledger.core.settings import database_url
from ledger.core.users import (
    ROLE_LABELS,
    add_user,
    assign_recipient,
    get_user,
    list_users,
    require_role,
    set_password,
)
from ledger.core.wording import counted
from ledger.read.importer import import_file
from ledger.read.profiles import get_profile, load_profiles, read_rows
from ledger.reports.account_ledger import account_ledger
from ledger.reports.allocation import (
    COLUMN_TITLES,
    claim_json,
    claims_overview,
    compute_allocation,
    paid_claim_ids,
)
from ledger.reports.forecast import forecast as compute_forecast
from ledger.reports.pass_through import pass_through_overview
from ledger.reports.notification import build_notification
from ledger.reports.repayment import YearError, compute_all, compute_repayment
from ledger.reports.overview import overview
from ledger.reports.statement import build_statement
from ledger.reports.trial_balance import trial_balance
from ledger.rules.classify import rule_label
from ledger.rules.evaluate import review_queue
from ledger.rules.evaluation_runs import Run, classified, list_runs, record_evaluation
from ledger.rules.overrides import add_override, list_overrides, withdraw_override
from ledger.rules.packs import category_label, load_packs, pack_name
from ledger.rules.pass_through_plan import load_pass_through_plan
from ledger.rules.status import Status
from ledger.workflows.allocation import add_claim, pay_claim
from ledger.workflows.allocation_commitment import commit_plan, release_plan
from ledger.workflows.pass_through import add_pass_through_claim
from ledger.workflows.budget import (
    INDIRECT_READINGS,
    add_budget_agreement,
    add_hours_report,
    book_advances,
    book_outside_cost,
    budget_status,
    format_advance,
    get_budget_agreement,
    record_judgement,
)
from ledger.workflows.budget import advances as budget_advances_of
from ledger.workflows.budget import budget_rule as budget_rule_of
from ledger.workflows.budget_cases import RECORD_KINDS, add_case, add_record, get_case
from ledger.workflows.budget_cases import reminders as budget_reminders
from ledger.workflows.closing import close_year, reopen_year
from ledger.workflows.grants import record_grant
from ledger.workflows.masterdata import KINDS, Kind, add, import_master_data, list_items, list_rows
from ledger.workflows.parked import book_parked, parked_entries
from ledger.workflows.repayment import confirm_repayment, pay_repayment, repayment_transfer
from ledger.write.backup import backup, restore
from ledger.write.gobd import export_gobd
from ledger.write.hledger import export_hledger

german.install()

# The writers of PDFs and spreadsheets (reportlab, pypdf, xlsxwriter) are imported by the commands
# that write them, not here: every command would otherwise carry their 22 MB, an import's memory too.


class Failure(click.ClickException):
    """A user-facing error: printed to stderr as ``Fehler: …``, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"Fehler: {self.message}", err=True)


class _GermanHelp:
    """German usage metavars for commands and groups (click's own texts come from ``inkl.german``)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", "[OPTIONEN]")
        if isinstance(self, click.Group):
            kwargs.setdefault("subcommand_metavar", "BEFEHL [ARGUMENTE]...")
        super().__init__(*args, **kwargs)
        for param in self.params:
            param.metavar = german.metavar(param) or _METAVARS.get(param.callback) or param.metavar


class Command(_GermanHelp, click.Command):
    """A command with German help."""


class Group(_GermanHelp, click.Group):
    """Turns the core's errors into ``Failure`` so no traceback reaches the user; German help."""

    command_class = Command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LedgerError as exc:
            raise Failure(str(exc)) from exc
        except sqlalchemy.exc.DBAPIError as exc:
            raise Failure(_database_error(exc)) from exc


def _database_error(exc: sqlalchemy.exc.DBAPIError) -> str:
    """German text for an error the database raised (its own message kept, no traceback)."""
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError)) and (
            "no such table" in detail or "does not exist" in detail):
        return f"Datenbank {database_url()} ist nicht eingerichtet ({detail}); bitte zuerst 'inkl db upgrade'"
    return f"die Datenbank hat die Änderung abgelehnt: {detail}"


def _school_year(_ctx, _param, value):
    if value is None:
        return None
    try:
        return SchoolYear.parse(value)
    except SchoolYearError as exc:
        raise click.BadParameter(str(exc)) from exc


def _amount(_ctx, param, value):
    """An amount option: unreadable → usage error (exit 2); readable but above the ledger's
    limit (``MAX_AMOUNT``) → refused like the core's errors (exit 1)."""
    if value is None:
        return None
    try:
        return parse_amount(value)
    except AmountTooLarge as exc:
        raise Failure(f"{param.opts[0]}: {exc}") from exc
    except AmountError as exc:
        raise click.BadParameter(str(exc)) from exc


def _points(_ctx, _param, value):
    """Percentage points as Decimal ("3", "2,5"); None if not given."""
    if value is None:
        return None
    try:
        return Decimal(value.strip().replace(",", "."))
    except InvalidOperation as exc:
        raise click.BadParameter(f"{value!r} ist keine Zahl von Prozentpunkten") from exc


#: The metavar of an option by the callback that reads its value.
_METAVARS = {_school_year: "SCHULJAHR", _amount: "BETRAG", _points: "PROZENTPUNKTE"}


def _day(value):
    """A click.DateTime value as a date (None stays None)."""
    return None if value is None else value.date()


def _user() -> str:
    return os.environ.get("INKL_USER") or getpass.getuser()


def _engine():
    return db.make_engine(database_url())


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _print_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


recipient_option = click.option("--recipient", "recipient_key", required=True, metavar="SCHLÜSSEL",
                                help="Schlüssel des Empfängers")
school_year_option = click.option("--school-year", required=True, callback=_school_year, help="z. B. 2023/24")
json_option = click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON")


@click.group(cls=Group)
def main() -> None:
    """Buchführung der Inklusionspauschale (§ 2 InklFöG NRW)."""


@main.group("db", cls=Group)
def db_group() -> None:
    """Datenbankschema verwalten (Alembic-Migrationen)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Schema auf den neuesten Stand bringen."""
    db.upgrade(database_url(), revision)
    click.echo(f"Datenbankschema aktualisiert ({revision}).", err=True)


@main.group(cls=Group)
def recipient() -> None:
    """Empfänger der Inklusionspauschale."""


@recipient.command("add")
@click.argument("key", metavar="SCHLÜSSEL")
@click.option("--name", required=True, help="Name des Empfängers")
@click.option("--kind", required=True, type=click.Choice(["kreis", "stadt", "gemeinde"]),
              help="Art: Kreis, kreisfreie Stadt oder Gemeinde mit eigenem Jugendamt")
def recipient_add(key: str, name: str, kind: str) -> None:
    """Empfänger SCHLÜSSEL mit Standard-Kontenplan anlegen."""
    with db.session_scope(_engine(), write=True) as session:
        created = add_recipient(session, key, name, kind, actor=_user(), now=_now())
        click.echo(f"Empfänger {created.key} ({created.name}) mit {len(created.accounts)} Konten angelegt.")


@recipient.command("list")
@json_option
def recipient_list(as_json: bool) -> None:
    """Alle Empfänger auflisten."""
    with db.session_scope(_engine()) as session:
        rows = [{"key": r.key, "name": r.name, "kind": r.kind} for r in list_recipients(session)]
    if as_json:
        _print_json(rows)
    else:
        for row in rows:
            click.echo(f"{row['key']:<20} {row['name']} ({RECIPIENT_KINDS[row['kind']]})")


@main.group(cls=Group)
def account() -> None:
    """Konten des Kontenplans."""


@account.command("add")
@recipient_option
@click.argument("number", metavar="NUMMER")
@click.argument("name", metavar="NAME")
@click.option("--type", "type_", required=True,
              type=click.Choice(["asset", "liability", "revenue", "expense", "equity"]),
              help="Kontoart: Vermögen, Verbindlichkeit, Ertrag, Aufwand oder Eigenkapital")
@click.option("--category", default=None, help="Kategorie der Ausgaben auf diesem Konto (Kennung im Regelwerk)")
@click.option("--iban", default=None, metavar="IBAN",
              help="IBAN des Bankkontos (nur Vermögenskonten), z. B. 'DE89 3704 0044 0532 0130 00'")
def account_add(recipient_key: str, number: str, name: str, type_: str, category: str | None,
                iban: str | None) -> None:
    """Konto NUMMER NAME anlegen."""
    known = frozenset(c.id for pack in load_packs() for c in pack.categories)
    with db.session_scope(_engine(), write=True) as session:
        created = add_account(session, get_recipient(session, recipient_key), number, name, type_, category, known,
                              actor=_user(), now=_now(), iban=iban)
        click.echo(f"Konto {created.label} angelegt"
                   + (f", IBAN {format_iban(created.iban)}." if created.iban else "."))


@account.command("set-iban")
@recipient_option
@click.argument("number", metavar="NUMMER")
@click.argument("iban", metavar="IBAN", required=False)
@click.option("--remove", is_flag=True, help="die IBAN des Kontos entfernen")
def account_set_iban(recipient_key: str, number: str, iban: str | None, remove: bool) -> None:
    """Dem Bankkonto NUMMER die IBAN zuordnen (oder sie mit --remove entfernen).

    Ein Kontoauszug findet sein Konto im Kontenplan über diese IBAN; die
    SEPA-Überweisung der Rückzahlung nennt sie als Konto des Auftraggebers.
    """
    if remove == bool(iban):
        raise click.UsageError("entweder eine IBAN angeben oder --remove")
    with db.session_scope(_engine(), write=True) as session:
        changed = set_account_iban(session, get_recipient(session, recipient_key), number, None if remove else iban,
                                   actor=_user(), now=_now())
        click.echo(f"Konto {changed.label}: IBAN {format_iban(changed.iban)}." if changed.iban
                   else f"Konto {changed.label}: keine IBAN mehr.")


@account.command("list")
@recipient_option
@json_option
def account_list(recipient_key: str, as_json: bool) -> None:
    """Kontenplan eines Empfängers (mit der IBAN der Bankkonten)."""
    with db.session_scope(_engine()) as session:
        rows = [{"number": a.number, "name": a.name, "type": a.type, "category": a.category, "role": a.role,
                 "iban": a.iban} for a in get_recipient(session, recipient_key).accounts]
    if as_json:
        _print_json(rows)
    else:
        packs = load_packs()
        for row in rows:
            category = category_label(row["category"], packs) if row["category"] else ""
            iban = f"IBAN {format_iban(row['iban'])}" if row["iban"] else ""
            click.echo(f"{row['number']:<6} {ACCOUNT_TYPES[row['type']]:<15} {row['name']:<50} "
                       f"{category or iban}".rstrip())


@main.group(cls=Group)
def grant() -> None:
    """Inklusionspauschale: Festsetzung und Auszahlungen."""


@grant.command("add")
@recipient_option
@school_year_option
@click.option("--amount", required=True, callback=_amount, help="festgesetzter Betrag, z. B. 750000,00")
@click.option("--notice-date", type=german.DATE, help="Datum des Festsetzungsbescheids")
@click.option("--payout-date", type=german.DATE, help="Auszahlung des ganzen Betrags an diesem Tag")
@click.option("--voucher", default=None, help="Belegnummer der Auszahlung")
def grant_add(recipient_key, school_year, amount, notice_date, payout_date, voucher) -> None:
    """Festgesetzte Pauschale eines Schuljahres erfassen (und optional ihre Auszahlung buchen)."""
    with db.session_scope(_engine(), write=True) as session:
        target = get_recipient(session, recipient_key)
        created = record_grant(session, target, school_year, amount,
                               notice_date=notice_date.date() if notice_date else None, actor=_user(), now=_now())
        click.echo(f"Inklusionspauschale {school_year}: {format_german(amount)} EUR festgesetzt.")
        if payout_date:
            payout = add_payout(session, created, payout_date.date(), amount, voucher_number=voucher,
                                created_by=_user(), now=_now())
            click.echo(f"Auszahlung am {payout.date:%d.%m.%Y} gebucht (Buchung {payout.entry_id}).")


@grant.command("payout")
@recipient_option
@school_year_option
@click.option("--amount", required=True, callback=_amount)
@click.option("--date", "day", required=True, type=german.DATE, help="Tag der Auszahlung")
@click.option("--voucher", default=None, help="Belegnummer der Auszahlung")
def grant_payout(recipient_key, school_year, amount, day, voucher) -> None:
    """Eine (Teil-)Auszahlung der Pauschale buchen."""
    with db.session_scope(_engine(), write=True) as session:
        target = get_grant(session, get_recipient(session, recipient_key), school_year)
        payout = add_payout(session, target, day.date(), amount, voucher_number=voucher,
                            created_by=_user(), now=_now())
        click.echo(f"Auszahlung {format_german(amount)} EUR am {payout.date:%d.%m.%Y} gebucht.")


@main.group(cls=Group)
def agreement() -> None:
    """Vereinbarungen mit dem Land (Vergleich über Rückforderungen)."""


@agreement.command("add")
@recipient_option
@school_year_option
@click.option("--deemed-conform", callback=_amount, help="als zweckentsprechend geltender Betrag")
@click.option("--waive", is_flag=True, help="Land verzichtet auf Rückforderung")
@click.option("--reference", default="", help="Fundstelle, z. B. 'Vereinbarung vom …, § 1'")
@click.option("--repayment", callback=_amount, help="vereinbarter Rückzahlungsbetrag (z. B. 469569,68)")
@click.option("--payment-date", type=german.DATE, default=None,
              help="vereinbarter Zahlungstermin (JJJJ-MM-TT)")
@click.option("--payment-reference", default="", help="vereinbarter Verwendungszweck der Zahlung")
@click.option("--status", type=click.Choice(list(STATUSES)), default=IN_FORCE, show_default=True,
              help="Stand: unterzeichnet, Zustimmung ausstehend oder wirksam")
@click.option("--effective-date", type=german.DATE, default=None,
              help="wirksam seit (JJJJ-MM-TT), nur mit --status in_force")
def agreement_add(recipient_key, school_year, deemed_conform, waive, reference, repayment, payment_date,
                  payment_reference, status, effective_date) -> None:
    """Vereinbarung für ein Schuljahr erfassen: --deemed-conform BETRAG oder --waive."""
    with db.session_scope(_engine(), write=True) as session:
        add_agreement(session, get_recipient(session, recipient_key), school_year,
                      deemed_conform=deemed_conform, waive=waive, reference=reference, repayment=repayment,
                      payment_date=_day(payment_date), payment_reference=payment_reference, status=status,
                      effective_date=_day(effective_date), created_by=_user(), now=_now())
    click.echo(f"Vereinbarung für {school_year} erfasst.")


def _the_agreement(session, recipient_key: str, school_year: SchoolYear):
    """The recipient's agreement for the year; Failure (German) without one."""
    found = find_agreement(session, get_recipient(session, recipient_key), school_year)
    if found is None:
        raise Failure(f"für {recipient_key} gibt es für {school_year} keine Vereinbarung")
    return found


@agreement.command("status")
@recipient_option
@school_year_option
@click.option("--status", required=True, type=click.Choice(list(STATUSES)),
              help="neuer Stand: Zustimmung ausstehend (awaiting_consent) oder wirksam (in_force)")
@click.option("--effective-date", type=german.DATE, default=None,
              help="wirksam seit (JJJJ-MM-TT), Pflicht mit --status in_force (§ 9 Abs. 2)")
def agreement_status(recipient_key, school_year, status, effective_date) -> None:
    """Neuen Stand der Vereinbarung erfassen (§ 9); frühere Stände bleiben erhalten."""
    with db.session_scope(_engine(), write=True) as session:
        change_status(session, _the_agreement(session, recipient_key, school_year), status,
                      effective_date=_day(effective_date), created_by=_user(), now=_now())
    click.echo(f"Vereinbarung für {school_year}: Stand „{STATUSES[status]}“ erfasst.")


@agreement.command("history")
@recipient_option
@school_year_option
def agreement_history(recipient_key, school_year) -> None:
    """Die Stände der Vereinbarung eines Schuljahres, ältester zuerst."""
    with db.session_scope(_engine()) as session:
        steps = status_history(session, _the_agreement(session, recipient_key, school_year))
    for step in steps:
        since = "" if step.effective_date is None else f", wirksam seit {step.effective_date:%d.%m.%Y}"
        click.echo(f"{step.recorded_at:%d.%m.%Y %H:%M} {STATUSES[step.status]}{since} (erfasst von {step.recorded_by})")


@main.group(cls=Group)
def notice() -> None:
    """Rückforderungs- und Erstattungsbescheide des Landes."""


@notice.command("add")
@recipient_option
@school_year_option
@click.option("--date", "notice_date", required=True, type=german.DATE, help="Datum des Bescheids")
@click.option("--reference", required=True, help="Aktenzeichen des Bescheids")
@click.option("--amount", required=True, callback=_amount, help="zurückzuzahlender Betrag")
@click.option("--due-date", required=True, type=german.DATE, help="Zahlungsfrist")
@click.option("--interest-start", type=german.DATE, default=None, help="erster Zinstag")
@click.option("--interest-rate", callback=_points, default=None,
              help="Zinssatz in Prozentpunkten über dem Basiszinssatz (z. B. 3)")
@click.option("--no-interest", is_flag=True, help="der Bescheid verzichtet auf Zinsen (§ 49a Abs. 3 Satz 2 VwVfG NRW)")
@click.option("--replaces", type=int, default=None,
              help="Nr. des geltenden Bescheids, den dieser Änderungsbescheid ersetzt (siehe 'notice list')")
def notice_add(recipient_key, school_year, notice_date, reference, amount, due_date, interest_start,
               interest_rate, no_interest, replaces) -> None:
    """Bescheid des Landes für ein Schuljahr erfassen; er entscheidet über Betrag, Frist und Zinsen.

    Gilt für das Schuljahr schon ein Bescheid, ist der neue ein Änderungsbescheid: --replaces NR."""
    with db.session_scope(_engine(), write=True) as session:
        notice = add_notice(session, get_recipient(session, recipient_key), school_year,
                            notice_date=notice_date.date(), reference=reference, amount=amount,
                            due_date=due_date.date(), interest_start=_day(interest_start),
                            interest_points=interest_rate, interest_waived=no_interest, replaces=replaces,
                            created_by=_user(), now=_now())
        number = notice.id
    click.echo(f"Bescheid Nr. {number} für {school_year} erfasst.")


@notice.command("withdraw")
@recipient_option
@school_year_option
@click.option("--date", "withdrawal_date", required=True, type=german.DATE,
              help="Datum der Aufhebung")
@click.option("--reference", required=True, help="Aktenzeichen der Aufhebung")
def notice_withdraw(recipient_key, school_year, withdrawal_date, reference) -> None:
    """Aufhebung des geltenden Bescheids ohne neuen Bescheid erfassen; dann gilt wieder die
    Vereinbarung oder die Berechnung."""
    with db.session_scope(_engine(), write=True) as session:
        in_force = find_notice(session, get_recipient(session, recipient_key), school_year)
        if in_force is None:
            raise Failure(f"für {recipient_key} gilt für {school_year} kein Bescheid")
        withdraw_notice(session, in_force, withdrawal_date=withdrawal_date.date(), reference=reference,
                        created_by=_user(), now=_now())
    click.echo(f"Aufhebung des Bescheids für {school_year} erfasst.")


@notice.command("list")
@recipient_option
@school_year_option
def notice_list(recipient_key, school_year) -> None:
    """Die Bescheide eines Schuljahres mit Nr. und Stand (gilt, geändert, aufgehoben)."""
    with db.session_scope(_engine()) as session:
        steps = notice_history(session, get_recipient(session, recipient_key), school_year)
        for step in steps:
            n = step.notice
            if step.replaced_by is not None:
                state = f"geändert durch Nr. {step.replaced_by.id}"
            elif step.withdrawal is not None:
                state = f"aufgehoben am {step.withdrawal.withdrawal_date:%d.%m.%Y} ({step.withdrawal.reference})"
            else:
                state = "gilt"
            click.echo(f"Nr. {n.id}: Bescheid vom {n.notice_date:%d.%m.%Y}, {n.reference}, "
                       f"{format_german(from_cents(n.amount_cents))} EUR bis {n.due_date:%d.%m.%Y}: {state}")


@main.command("import")
@click.argument("file", metavar="DATEI", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@recipient_option
@click.option("--profile", "profile_key", default=None, metavar="PROFIL",
              help="Importprofil (Voreinstellung: Journalexport dieser Buchführung); siehe »profile list«")
@click.option("--dry-run", is_flag=True, help="nur prüfen, nichts buchen")
@json_option
def import_command(file: Path, recipient_key: str, profile_key: str | None, dry_run: bool, as_json: bool) -> None:
    """Export DATEI mit dem Importprofil einlesen: alles oder nichts."""
    profile = get_profile(profile_key)
    with db.session_scope(_engine(), write=True) as session:
        summary = import_file(
            session, get_recipient(session, recipient_key), file, created_by=_user(), now=_now(), dry_run=dry_run,
            profile=profile,
            progress=lambda done, total: click.echo(f"{file.name}: {done} von {total} Zeilen verarbeitet …", err=True))
    if as_json:
        _print_json(summary.as_dict())
    if not summary.ok:
        for issue in summary.errors:
            click.echo(issue.render(str(file)), err=True)
        raise Failure(f"{file}: {len(summary.errors)} Fehler (Importprofil {profile.title}), nichts gebucht")
    if not as_json:
        mode = "Probelauf: " if dry_run else ""
        extra = "".join(text for count, text in (
            (summary.repayments_recognised, f", {summary.repayments_recognised} der bestätigten Rückzahlung zugeordnet"),
            (summary.parked, f", {summary.parked} zur Klärung zurückgestellt"),
            (summary.skipped, f", {summary.skipped} nach dem Importprofil übersprungen")) if count)
        click.echo(f"{mode}{file.name}: {counted(summary.rows, 'Zeile', 'Zeilen')}, {summary.imported} neu gebucht, "
                   f"{summary.duplicates} bereits vorhanden, {summary.payouts_recognised} als Auszahlung erkannt"
                   f"{extra}.")


@main.group(cls=Group)
def profile() -> None:
    """Importprofile: wie Exporte und Kontoauszüge zu Buchungen werden."""


@profile.command("list")
@json_option
def profile_list(as_json: bool) -> None:
    """Die Importprofile mit Format und Beschreibung."""
    profiles = load_profiles()
    if as_json:
        _print_json([{"key": p.key, "title": p.title, "format": p.format, "description": p.description,
                      "source": p.source, "sha256": p.digest} for p in profiles.values()])
        return
    for p in profiles.values():
        click.echo(f"{p.key:<20} {p.title}")


@profile.command("check")
@click.argument("file", metavar="DATEI", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--profile", "profile_key", default=None, metavar="PROFIL", help="Importprofil, siehe »profile list«")
@click.option("--rows", "limit", default=10, show_default=True, type=click.IntRange(1, 10_000),
              help="so viele Zeilen zeigen")
@json_option
def profile_check(file: Path, profile_key: str | None, limit: int, as_json: bool) -> None:
    """Die ersten Zeilen von DATEI so zeigen, wie das Importprofil sie bucht (ohne Buchführung, nichts wird gebucht)."""
    chosen = get_profile(profile_key)
    rows, issues, skipped = read_rows(chosen, lambda: file.open("rb"), limit)
    if as_json:
        _print_json({"profile": chosen.key, "skipped": skipped, "errors": [asdict(issue) for issue in issues],
                     "rows": [{"line": r.line, "date": r.day.isoformat(), "voucher": r.voucher_number, "text": r.text,
                               "debit": r.debit, "credit": r.credit, "amount": format_plain(r.amount),
                               "cost_centre": r.cost_centre, "category": r.category,
                               "school_year": str(r.school_year),
                               "parked": bool(r.bank and r.bank.park_reason)} for r in rows]})
    else:
        packs = load_packs()
        click.echo(f"Importprofil: {chosen.title}")
        for r in rows:
            category = f"  [{category_label(r.category, packs)}]" if r.category else ""
            cost_centre = f"  KSt {r.cost_centre}" if r.cost_centre else ""
            cost_centre += "  [zur Klärung zurückgestellt]" if r.bank and r.bank.park_reason else ""
            click.echo(f"Zeile {r.line:>5}  {r.day:%d.%m.%Y}  {r.voucher_number:<14} {r.debit:>6} an {r.credit:<6} "
                       f"{format_german(r.amount):>14} EUR  {r.school_year}  {r.text}{cost_centre}{category}")
        if skipped:
            click.echo(f"{counted(skipped, 'Zeile', 'Zeilen')} nach den Regeln des Profils übersprungen.")
    for issue in issues:
        click.echo(issue.render(str(file)), err=True)
    if issues:
        raise Failure(f"{file}: {len(issues)} Fehler in den ersten {limit} Zeilen (Importprofil {chosen.title})")


@main.command("repayments")
@recipient_option
@click.option("--school-year", callback=_school_year, default=None, help="nur dieses Schuljahr, z. B. 2023/24")
@click.option("--as-of", type=german.DATE, default=None,
              help="Verzugszinsen auf offene Beträge bis zu diesem Tag berechnen")
@json_option
def repayments(recipient_key: str, school_year: SchoolYear | None, as_of, as_json: bool) -> None:
    """Rückzahlungen je Schuljahr berechnen (mit Verzugszinsen nach § 49a Abs. 3 VwVfG NRW).

    Ein Schuljahr, dessen Zahlen nicht berechenbar sind, wird mit seinem Fehler gemeldet
    (JSON: "error"); die übrigen Schuljahre werden trotzdem ausgegeben, der Exit-Code ist dann 1.
    """
    day = as_of.date() if as_of else None
    with db.session_scope(_engine()) as session:
        target = get_recipient(session, recipient_key)
        results = ([compute_repayment(session, target, school_year, as_of=day)] if school_year
                   else compute_all(session, target, as_of=day))
    errors = [r for r in results if isinstance(r, YearError)]
    if as_json:
        _print_json([r.as_json() for r in results])
    else:
        _print_results([r for r in results if not isinstance(r, YearError)])
    for error in errors:
        click.echo(f"Fehler: Schuljahr {error.school_year}: {error.message}", err=True)
    if errors:
        click.get_current_context().exit(1)


def _print_results(results) -> None:
    for r in results:
        due = f"{r.due_date:%d.%m.%Y}" if r.due_date else "–"
        click.echo(f"{r.school_year}: erhalten {format_german(r.grant_received)}, zweckentsprechend "
                   f"{format_german(r.permitted)}, Rückzahlung {format_german(r.repayment_due)}, "
                   f"offen {format_german(r.outstanding)} EUR, fällig {due}{_DECIDED_BY[r.decided_by]}")


#: What decides a result's repayment, as ``inkl repayments`` says it.
_DECIDED_BY = {"notice": " (laut Bescheid)", "agreement": " (laut Vereinbarung)", "computation": ""}


@main.command("overview")
@click.option("--as-of", "as_of", type=german.DATE, default=None, help="Stichtag der Zinsen und Fälligkeiten (heute)")
@json_option
def overview_command(as_of, as_json: bool) -> None:
    """Landesübersicht: alle Empfänger und Schuljahre der Inklusionspauschale mit Zuweisung,
    zweckgerechter Verwendung, Rückzahlung, Fälligkeit, Zahlung, Zinsen, Nachweis und Abschluss."""
    day = as_of.date() if as_of else date.today()
    with db.session_scope(_engine()) as session:
        result = overview(session, list_recipients(session), load_packs(), as_of=day)
    if as_json:
        _print_json({"as_of": day.isoformat(), "rows": [r.as_json() for r in result.rows],
                     "totals": {k: str(v) for k, v in result.totals().items()},
                     "upcoming": [{"recipient": r.recipient_key, "school_year": r.school_year,
                                   "due_date": r.due_date.isoformat(), "outstanding": str(r.outstanding)}
                                  for r in result.upcoming()]})
        return
    for r in result.rows:
        if r.error:
            click.echo(f"{r.recipient_name}, {r.school_year}: nicht berechenbar: {r.error}")
            continue
        due = f"{r.due_date:%d.%m.%Y}" if r.due_date else "–"
        click.echo(f"{r.recipient_name}, {r.school_year}: erhalten {format_german(r.grant_received)}, zweckgerecht "
                   f"{format_german(r.permitted)}, Rückzahlung {format_german(r.repayment_due)}, fällig {due}, offen "
                   f"{format_german(r.outstanding)} EUR" + (" (überfällig)" if r.overdue else ""))


@main.command("forecast")
@recipient_option
@school_year_option
@click.option("--as-of", "as_of", type=german.DATE, default=None,
              help="Stichtag (heute); ein begonnener Monat gilt als gebucht")
@json_option
def forecast_command(recipient_key: str, school_year: SchoolYear, as_of, as_json: bool) -> None:
    """Rückzahlung aus Ist-Buchungen und offenen Verpflichtungen prognostizieren."""
    day = as_of.date() if as_of else date.today()
    with db.session_scope(_engine()) as session:
        result = compute_forecast(session, get_recipient(session, recipient_key), school_year, as_of=day)
    if as_json:
        _print_json(result.as_json())
        return
    actual = result.actuals
    packs = load_packs()
    click.echo(f"Prognose {result.school_year} für {result.recipient_key}, Stichtag {day:%d.%m.%Y} "
               f"(Regelwerk {pack_name(result.rule_pack_id, result.rule_pack_version, packs)})")
    for c in result.open_commitments:
        click.echo(f"  offen {c.reference} ({category_label(c.category, packs)}): {c.months} × "
                   f"{format_german(c.monthly_amount)} = {format_german(c.amount)} EUR")
    cap = "–" if result.projected_overhead_cap is None else format_german(result.projected_overhead_cap)
    basis = "festgesetzt" if result.grant_basis_source == "assessed" else "erhalten"
    click.echo(f"Pool-Personal {format_german(result.projected_pool_personnel)}, Overhead "
               f"{format_german(result.projected_overhead)} (Obergrenze {cap}), zweckentsprechend "
               f"{format_german(result.projected_permitted)} (Ist {format_german(actual.permitted)}), ausgeschlossen "
               f"{format_german(result.projected_excluded)} EUR")
    due = (f"{result.due_date:%d.%m.%Y} (in {counted(result.days_until_due, 'Tag', 'Tagen')})" if result.due_date
           else "–")
    click.echo(f"Pauschale ({basis}) {format_german(result.grant_basis)} EUR, voraussichtliche Rückzahlung "
               f"{format_german(result.projected_repayment)} EUR, fällig {due}")
    for _code, text in result.warnings:
        click.echo(f"Warnung: {text}")


@main.command("notification")
@recipient_option
@click.option("--school-year", "--year", "school_year", required=True, callback=_school_year, help="z. B. 2023/24")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Datei für die Anzeige (PDF)")
@click.option("--as-of", "as_of", type=german.DATE, default=None,
              help="Stichtag und Datum der Anzeige (heute)")
@json_option
def notification_command(recipient_key: str, school_year: SchoolYear, output: Path, as_of, as_json: bool) -> None:
    """Anzeige an das Ministerium (Mittel voraussichtlich nicht vollständig verwendbar) als PDF schreiben."""
    from ledger.write.notification_pdf import render_notification
    day = as_of.date() if as_of else date.today()
    with db.session_scope(_engine()) as session:
        data = build_notification(session, get_recipient(session, recipient_key), school_year, as_of=day)
    output.write_bytes(render_notification(data))
    if as_json:
        _print_json(data.as_json())
        return
    due = f"{data.due_date:%d.%m.%Y}" if data.due_date else "1. April nach der ausstehenden Auszahlung"
    click.echo(f"Anzeige {data.school_year} für {data.recipient_name} vom {day:%d.%m.%Y} geschrieben: {output}")
    click.echo(f"Voraussichtlich zurückzuzahlen {format_german(data.projected_repayment)} EUR, erste Frist {due}")
    for t in data.tranches:
        payout = f"Auszahlung vom {t.payout_date:%d.%m.%Y}" if t.payout_date else "ausstehende Auszahlung"
        until = f"bis {t.due_date:%d.%m.%Y}" if t.due_date else "bis 1. April nach der Auszahlung"
        click.echo(f"  {payout}: {format_german(t.repayment)} EUR, {until}")


@main.command("review")
@recipient_option
@school_year_option
@json_option
def review_command(recipient_key: str, school_year: SchoolYear, as_json: bool) -> None:
    """Prüfliste: Buchungen, die noch nicht beurteilt werden können (Kategorie, Kostenstelle, Pool …)."""
    with db.session_scope(_engine()) as session:
        items = review_queue(session, get_recipient(session, recipient_key), school_year)
    if as_json:
        _print_json([i.as_json() for i in items])
        return
    for i in items:
        click.echo(f"{i.day:%d.%m.%Y} {i.voucher_number:<14} {format_german(i.amount):>14} EUR  {i.classification.review}")
    click.echo(f"{counted(len(items), 'Buchung', 'Buchungen')} zu prüfen.", err=True)


@main.command("classification")
@recipient_option
@school_year_option
@json_option
def classification_command(recipient_key: str, school_year: SchoolYear, as_json: bool) -> None:
    """Einstufung jeder Ausgabe mit Regel, Begründung und Quelle (abgeschlossene Jahre: letzter Bewertungslauf)."""
    with db.session_scope(_engine()) as session:
        basis = classified(session, get_recipient(session, recipient_key), school_year)
    state = basis.state
    if as_json:
        _print_json({"school_year": str(school_year), "run": state.run.as_dict() if state.run else None,
                     "frozen": state.frozen, "current": state.current, "changed": state.changed,
                     "postings": [i.as_json() for i in basis.items]})
        return
    for i in basis.items:
        c = i.classification
        click.echo(f"{i.posting_id:>7} {i.day:%d.%m.%Y} {i.voucher_number:<14} {format_german(i.amount):>14} EUR  "
                   f"{Status(c.status).label:<22} {c.reason} (Regel: {rule_label(c.rule)})")
    click.echo(_run_state_text(state), err=True)


def _run_state_text(state) -> str:
    if state.run is None:
        return "Noch kein Bewertungslauf aufgezeichnet."
    run = state.run
    text = (f"Letzter Bewertungslauf Nr. {run.id} vom {run.created_at:%d.%m.%Y %H:%M} ({run.created_by}, "
            f"Regelwerk {pack_name(run.pack_id, run.pack_version, load_packs())}): ")
    if state.current:
        return text + "entspricht der heutigen Einstufung."
    return text + f"heute abweichend bei {counted(state.changed, 'Buchung', 'Buchungen')}" + (
        " (abgeschlossenes Jahr: es gilt der Lauf)." if state.frozen else ".")


@main.command("evaluate")
@recipient_option
@school_year_option
@click.option("--reason", required=True, help="Anlass, z. B. 'Neubewertung nach Änderung des Regelwerks'")
@json_option
def evaluate_command(recipient_key: str, school_year: SchoolYear, reason: str, as_json: bool) -> None:
    """Einstufung des Schuljahres als Bewertungslauf aufzeichnen (auch für ältere Jahre unter ihrem Regelwerk)."""
    with db.session_scope(_engine(), write=True) as session:
        run, created = record_evaluation(session, get_recipient(session, recipient_key), school_year,
                                         actor=_user(), now=_now(), reason=reason)
        value = Run.of(run)
    if as_json:
        _print_json({"created": created, "run": value.as_dict()})
        return
    if created:
        click.echo(f"Bewertungslauf Nr. {value.id} aufgezeichnet: {counted(value.postings, 'Buchung', 'Buchungen')}, davon {value.changed} "
                   f"gegenüber dem vorigen Lauf geändert (Regelwerk "
                   f"{pack_name(value.pack_id, value.pack_version, load_packs())}).")
    else:
        click.echo(f"Unverändert gegenüber Bewertungslauf Nr. {value.id}; nichts aufgezeichnet.")


@main.command("evaluations")
@recipient_option
@school_year_option
@json_option
def evaluations_command(recipient_key: str, school_year: SchoolYear, as_json: bool) -> None:
    """Aufgezeichnete Bewertungsläufe eines Schuljahres (Regelwerk, Anlass, Änderungen)."""
    with db.session_scope(_engine()) as session:
        runs = list_runs(session, get_recipient(session, recipient_key), school_year)
    if as_json:
        _print_json([run.as_dict() for run in runs])
        return
    packs = load_packs()
    for run in runs:
        click.echo(f"Nr. {run.id:<4} {run.created_at:%d.%m.%Y %H:%M} {run.created_by:<12} "
                   f"{pack_name(run.pack_id, run.pack_version, packs)}  {counted(run.postings, 'Buchung', 'Buchungen')}, "
                   f"{run.changed} geändert  {run.reason}")


@main.group(cls=Group)
def override() -> None:
    """Abweichende Einstufung einzelner Ausgaben mit schriftlicher Begründung."""


@override.command("add")
@recipient_option
@click.option("--posting", "posting_id", type=int, required=True, metavar="NR", help="Nummer der Buchungszeile (inkl classification)")
@click.option("--status", type=click.Choice(["permitted", "excluded", "split"]), required=True,
              help="zulässig (permitted), ausgeschlossen (excluded) oder teilweise zulässig (split)")
@click.option("--conform", default=None, metavar="BETRAG", help="zulässiger Betrag bei 'split', z. B. 1.234,56")
@click.option("--justification", required=True, help="schriftliche Begründung (mind. 20 Zeichen)")
@json_option
def override_add(recipient_key, posting_id, status, conform, justification, as_json) -> None:
    """Einstufung einer Ausgabe abweichend festlegen (nur Sachbearbeitung oder Administration; protokolliert)."""
    amount = None
    if conform is not None:
        try:
            amount = parse_amount(conform)
        except AmountError as exc:
            raise Failure(f"--conform: {exc}") from exc
    with db.session_scope(_engine(), write=True) as session:
        made = add_override(session, get_recipient(session, recipient_key), posting_id, status=status,
                            user=get_user(session, _user()), justification=justification, now=_now(), conform=amount)
        override_id = made.id
    if as_json:
        _print_json({"id": override_id})
    else:
        click.echo(f"Abweichende Einstufung Nr. {override_id} gespeichert.")


@override.command("withdraw")
@recipient_option
@click.argument("override_id", metavar="NR", type=int)
@click.option("--justification", required=True, help="schriftliche Begründung (mind. 20 Zeichen)")
def override_withdraw(recipient_key, override_id, justification) -> None:
    """Abweichende Einstufung zurücknehmen (neuer Datensatz; die Regeln entscheiden wieder)."""
    with db.session_scope(_engine(), write=True) as session:
        withdraw_override(session, get_recipient(session, recipient_key), override_id,
                          user=get_user(session, _user()), justification=justification, now=_now())
    click.echo(f"Abweichende Einstufung Nr. {override_id} zurückgenommen.")


@override.command("list")
@recipient_option
@click.option("--school-year", callback=_school_year, default=None, help="nur dieses Schuljahr, z. B. 2023/24")
@json_option
def override_list(recipient_key, school_year, as_json) -> None:
    """Abweichende Einstufungen mit Begründung, wer und wann (auch zurückgenommene)."""
    with db.session_scope(_engine()) as session:
        records = list_overrides(session, get_recipient(session, recipient_key), school_year)
    if as_json:
        _print_json([r.as_dict() for r in records])
        return
    for r in records:
        state = "gilt" if r.active else f"zurückgenommen {r.withdrawn_at:%d.%m.%Y} ({r.withdrawn_by})"
        click.echo(f"Nr. {r.id:<4} Beleg {r.voucher_number:<14} {Status(r.status).label:<20} "
                   f"{r.created_by} {r.created_at:%d.%m.%Y}  {state}: {r.justification}")


@main.group(cls=Group)
def repayment() -> None:
    """Rückzahlung bestätigen, als SEPA-Überweisung ausgeben und Zahlung buchen."""


@repayment.command("confirm")
@recipient_option
@school_year_option
@click.option("--date", "day", type=german.DATE, default=None, help="Buchungsdatum (heute)")
def repayment_confirm(recipient_key, school_year, day) -> None:
    """Rückzahlungsverpflichtung als Verbindlichkeit gegenüber dem Land buchen."""
    with db.session_scope(_engine(), write=True) as session:
        entry = confirm_repayment(session, get_recipient(session, recipient_key), school_year,
                                  day=day.date() if day else date.today(), created_by=_user(), now=_now())
        click.echo(f"Rückzahlungsverpflichtung gebucht (Buchung {entry.id}, Beleg {entry.voucher_number}).")


@repayment.command("pay")
@recipient_option
@school_year_option
@click.option("--amount", required=True, callback=_amount)
@click.option("--date", "day", required=True, type=german.DATE, help="Tag der Zahlung an die Landeskasse")
def repayment_pay(recipient_key, school_year, amount, day) -> None:
    """Zahlung an die Landeskasse buchen."""
    with db.session_scope(_engine(), write=True) as session:
        entry = pay_repayment(session, get_recipient(session, recipient_key), school_year, amount,
                              day=day.date(), created_by=_user(), now=_now())
        click.echo(f"Rückzahlung {format_german(amount)} EUR gebucht (Buchung {entry.id}).")


@repayment.command("sepa")
@recipient_option
@school_year_option
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="DATEI",
              help="Datei für die SEPA-Überweisung (XML, pain.001.001.09)")
@click.option("--execution-date", type=german.DATE, default=None,
              help="gewünschter Ausführungstag der Überweisung (heute)")
@json_option
def repayment_sepa(recipient_key, school_year, output: Path, execution_date, as_json: bool) -> None:
    """Offene bestätigte Rückzahlung als SEPA-Überweisung (pain.001) für den Zahllauf schreiben.

    Auftraggeber ist das Bankkonto des Empfängers (mit seiner IBAN im Kontenplan), Empfänger
    die Landeskasse laut Regelwerk; der Verwendungszweck ist der des Verwendungsnachweises.
    Gebucht wird nichts: die Zahlung wird nach ihrer Ausführung als Rückzahlung gebucht.
    """
    with db.session_scope(_engine(), write=True) as session:
        sepa = repayment_transfer(session, get_recipient(session, recipient_key), school_year, actor=_user(),
                                  now=_now(), execution_date=_day(execution_date))
        try:   # before the audit event is committed: no event without its file
            output.write_bytes(sepa.xml)
        except OSError as exc:
            raise Failure(f"die Datei {output} kann nicht geschrieben werden ({exc.strerror})") from exc
    if as_json:
        _print_json({**sepa.as_json(), "output": str(output)})
        return
    t = sepa.transfer
    click.echo(f"SEPA-Überweisung der Rückzahlung {sepa.school_year} geschrieben: {output}")
    click.echo(f"{format_german(t.amount)} EUR an {t.creditor_name}, IBAN {format_iban(t.creditor_iban)}, "
               f"BIC {t.creditor_bic}; ausführen am {t.execution_date:%d.%m.%Y}")
    click.echo(f"Verwendungszweck: {t.remittance}")


@main.group(cls=Group)
def bank() -> None:
    """Kontoumsätze, die ein Kontoauszug zur Klärung zurückgestellt hat."""


@bank.command("parked")
@recipient_option
@click.option("--all", "show_all", is_flag=True, help="auch die bereits gebuchten")
@json_option
def bank_parked(recipient_key: str, show_all: bool, as_json: bool) -> None:
    """Die zurückgestellten Kontoumsätze (offen, mit --all auch gebuchte)."""
    with db.session_scope(_engine()) as session:
        items = parked_entries(session, get_recipient(session, recipient_key), open_only=not show_all)
        rows = [{"id": i.parked.id, "date": i.parked.date.isoformat(), "amount": format_plain(
                     from_cents(i.parked.amount_cents)), "account": i.parked.account.number,
                 "counterparty": i.parked.counterparty, "counterparty_iban": i.parked.counterparty_iban,
                 "remittance": i.parked.remittance, "reference": i.parked.reference, "reason": i.parked.reason,
                 "entry": i.entry_id} for i in items]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        state = f"gebucht (Buchung Nr. {row['entry']})" if row["entry"] else "offen"
        click.echo(f"Nr. {row['id']:<5} {date.fromisoformat(row['date']):%d.%m.%Y} "
                   f"{format_german(Decimal(row['amount'])):>14} EUR  {row['counterparty'] or ''}: "
                   f"{row['remittance'] or ''}  [{state}]")


@bank.command("book")
@recipient_option
@click.argument("parked_id", metavar="NR", type=int)
@click.option("--account", "counter_account", required=True, metavar="KONTO", help="Gegenkonto (Nummer im Kontenplan)")
@click.option("--category", default=None, help="Kategorie (Kennung im Regelwerk), nur bei Aufwandskonten")
@click.option("--cost-centre", default=None, help="Kostenstelle")
@click.option("--school-year", default=None, callback=_school_year, help="Schuljahr (Voreinstellung: des Buchungsdatums)")
@json_option
def bank_book(recipient_key: str, parked_id: int, counter_account: str, category: str | None,
              cost_centre: str | None, school_year: SchoolYear | None, as_json: bool) -> None:
    """Den zurückgestellten Kontoumsatz NR gegen KONTO buchen."""
    with db.session_scope(_engine(), write=True) as session:
        entry = book_parked(session, get_recipient(session, recipient_key), parked_id, counter_account=counter_account,
                            category=category, cost_centre=cost_centre, school_year=school_year, user=_user(),
                            now=_now())
        entry_id = entry.id
    if as_json:
        _print_json({"parked": parked_id, "entry": entry_id})
    else:
        click.echo(f"Kontoumsatz Nr. {parked_id} gebucht (Buchung Nr. {entry_id}).")


@main.command("reverse")
@click.argument("entry_id", metavar="NR", type=int)
@recipient_option
@click.option("--reason", required=True, help="Begründung des Stornos")
@click.option("--date", "day", type=german.DATE, default=None, help="Buchungsdatum (heute)")
def reverse(entry_id: int, recipient_key: str, reason: str, day) -> None:
    """Buchung NR stornieren (Gegenbuchung; die Buchung selbst bleibt unverändert)."""
    with db.session_scope(_engine(), write=True) as session:
        target = get_recipient(session, recipient_key)
        entry = reverse_entry(session, get_entry(session, target, entry_id), day=day.date() if day else date.today(),
                              reason=reason, created_by=_user(), now=_now())
        click.echo(f"Buchung {entry_id} storniert durch Buchung {entry.id}.")


@main.command("statement")
@recipient_option
@school_year_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF-Datei des Verwendungsnachweises")
def statement(recipient_key: str, school_year: SchoolYear, output: Path) -> None:
    """Verwendungsnachweis (PDF) eines Schuljahres als Entwurf erzeugen (nicht aufbewahrt, ENTWURF auf jeder Seite)."""
    from ledger.write.statement_pdf import render_statement
    with db.session_scope(_engine()) as session:
        data = build_statement(session, get_recipient(session, recipient_key), school_year, now=_now())
    output.write_bytes(render_statement(data))
    click.echo(f"Verwendungsnachweis {school_year} als Entwurf geschrieben: {output} ({len(data.vouchers)} Belegzeilen).")


@main.command("statement-issue")
@recipient_option
@click.option("--school-year", "--year", "school_year", required=True, callback=_school_year, help="z. B. 2023/24")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="DATEI",
              help="den ausgestellten Verwendungsnachweis (PDF) auch in diese Datei schreiben")
@click.option("--yes", is_flag=True, help="ohne Rückfrage ausstellen")
@json_option
def statement_issue(recipient_key: str, school_year: SchoolYear, output: Path | None, yes: bool,
                    as_json: bool) -> None:
    """Verwendungsnachweis eines Schuljahres verbindlich ausstellen: nummeriert und unveränderlich aufbewahrt.

    Zeigt vorher, was ausgestellt wird (Nummer, Rückzahlung, Stand der Buchungskette, Sachbericht),
    und fragt nach, außer mit --yes. Ein Verwendungsnachweis mit demselben Inhalt wie der zuletzt
    ausgestellte wird nicht ein zweites Mal ausgestellt.
    """
    from ledger.workflows.issued import issue_statement, preview_issue
    now = _now()
    with db.session_scope(_engine()) as session:
        require_role(get_user(session, _user()), "officer", "admin")  # before asking, not after
        preview = preview_issue(session, get_recipient(session, recipient_key), school_year, now=now)
    if preview.refusal:
        raise Failure(preview.refusal)
    facts = [f"Verwendungsnachweis {preview.school_year} für {recipient_key}: wird Nr. {preview.number}",
             f"Rückzahlung fällig: {format_german(preview.repayment_due)} EUR",
             f"Buchungskette: {counted(preview.chain_head.seq, 'Buchung', 'Buchungen')}, "
             f"zuletzt {preview.chain_head.entry_hash}",
             "Sachbericht: geschrieben" if preview.has_narrative else
             "Sachbericht: fehlt (zum Verwendungsnachweis gehört ein Sachbericht, ANBest-G NRW)"]
    for line in facts:
        click.echo(line, err=True)
    if not yes:
        answer = click.prompt("Jetzt verbindlich ausstellen? [j/N]", default="n", show_default=False, err=True)
        if answer.strip().lower() not in ("j", "ja", "y", "yes"):
            raise Failure("abgebrochen; es wurde nichts ausgestellt")
    with db.session_scope(_engine(), write=True) as session:
        issued = issue_statement(session, get_recipient(session, recipient_key), school_year,
                                 user=get_user(session, _user()), now=now, expected_content=preview.content_sha256)
        info = {"number": issued.number, "id": issued.id, "school_year": issued.school_year,
                "sha256": issued.sha256, "content_sha256": issued.content_sha256,
                "repayment_due": str(preview.repayment_due), "chain_seq": issued.chain_seq,
                "chain_hash": issued.chain_hash, "created_by": issued.created_by,
                "created_at": issued.created_at.isoformat(), "has_narrative": preview.has_narrative}
        pdf = issued.pdf
    if output is not None:
        output.write_bytes(pdf)
    if as_json:
        _print_json({**info, "output": None if output is None else str(output)})
    else:
        click.echo(f"Verwendungsnachweis {school_year} Nr. {info['number']} ausgestellt (SHA-256 {info['sha256']})"
                   + (f", geschrieben: {output}." if output is not None else "."))


@main.group(cls=Group)
def narrative() -> None:
    """Sachbericht eines Schuljahres (ANBest-G NRW): schreiben und ansehen."""


@narrative.command("set")
@recipient_option
@click.option("--school-year", "--year", "school_year", required=True, callback=_school_year, help="z. B. 2023/24")
@click.option("--file", "source", type=click.File("r", encoding="utf-8"), metavar="DATEI",
              help="Text aus dieser Datei (UTF-8; - für die Standardeingabe)")
@click.option("--text", help="Text des Sachberichts")
def narrative_set(recipient_key: str, school_year: SchoolYear, source, text: str | None) -> None:
    """Sachbericht als neue Fassung speichern (frühere Fassungen bleiben erhalten)."""
    if (source is None) == (text is None):
        raise click.UsageError("bitte genau eine der Optionen --file oder --text angeben")
    body = source.read() if source is not None else text
    with db.session_scope(_engine(), write=True) as session:
        target = get_recipient(session, recipient_key)
        saved = write_narrative(session, target, school_year, body, user=get_user(session, _user()), now=_now())
        versions = count_versions(session, target, school_year)
    if saved is None:
        click.echo(f"Sachbericht {school_year} unverändert; nichts gespeichert (Fassung {versions}).")
    else:
        click.echo(f"Sachbericht {school_year} gespeichert: Fassung {versions}, {len(saved.text)} Zeichen.")


@narrative.command("show")
@recipient_option
@click.option("--school-year", "--year", "school_year", required=True, callback=_school_year, help="z. B. 2023/24")
@click.option("--history", is_flag=True, help="alle Fassungen, die neueste zuerst")
@json_option
def narrative_show(recipient_key: str, school_year: SchoolYear, history: bool, as_json: bool) -> None:
    """Sachbericht eines Schuljahres zeigen (die geltende Fassung, mit --history alle)."""
    with db.session_scope(_engine()) as session:
        versions = narrative_history(session, get_recipient(session, recipient_key), school_year)
    shown = versions if history else versions[:1]
    if as_json:
        rows = [{"version": len(versions) - i, "text": v.text, "written_by": v.written_by,
                 "written_at": v.written_at.isoformat()} for i, v in enumerate(shown)]
        _print_json({"school_year": str(school_year), "versions": len(versions),
                     "current": rows[0] if rows else None, **({"history": rows} if history else {})})
        return
    if not versions:
        raise Failure(f"für {school_year} ist noch kein Sachbericht geschrieben")
    for i, v in enumerate(shown):
        click.echo(f"Fassung {len(versions) - i} von {v.written_by}, {v.written_at:%d.%m.%Y %H:%M}:")
        click.echo(v.text)
        if i + 1 < len(shown):
            click.echo()


@main.group(cls=Group)
def user() -> None:
    """Benutzer und Rollen (Sachbearbeitung, Prüfung, Administration)."""


def _password(password_stdin: bool) -> str:
    """The password from one line of stdin, or asked twice without echo."""
    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise Failure("--password-stdin: keine Zeile auf der Standardeingabe")
        return line
    return click.prompt("Passwort (mind. 12 Zeichen)", hide_input=True, confirmation_prompt="Passwort wiederholen",
                        err=True)


@user.command("add")
@click.argument("username", metavar="NAME")
@click.option("--role", required=True, type=click.Choice(["officer", "auditor", "ministry", "admin"]),
              help="Sachbearbeitung (officer), Prüfung (auditor), Land: Ministerium oder Bezirksregierung "
                   "(ministry, liest alle Empfänger) oder Administration (admin)")
@click.option("--recipient", "recipient_keys", multiple=True, metavar="SCHLÜSSEL", help="Empfänger, für den der Benutzer arbeitet (mehrfach)")
@click.option("--all-recipients", is_flag=True, help="Prüfung: Lesezugriff auf alle Empfänger")
@click.option("--password-stdin", is_flag=True, help="Passwort aus einer Zeile der Standardeingabe lesen")
@click.option("--no-password", is_flag=True, help="ohne Passwort: nur Kommandozeile, keine Web-Anmeldung")
def user_add(username: str, role: str, recipient_keys: tuple[str, ...], all_recipients: bool,
             password_stdin: bool, no_password: bool) -> None:
    """Benutzer NAME mit Rolle anlegen (auch die erste Administration); Passwort per Eingabeaufforderung."""
    password = None if no_password else _password(password_stdin)
    with db.session_scope(_engine(), write=True) as session:
        recipients = tuple(get_recipient(session, key) for key in recipient_keys)
        add_user(session, username, role, actor=_user(), now=_now(), password=password, recipients=recipients,
                 all_recipients=all_recipients)
    click.echo(f"Benutzer {username} ({ROLE_LABELS[role]}) angelegt" + ("" if password else ", ohne Passwort (keine Web-Anmeldung)")
               + ".")


@user.command("password")
@click.argument("username", metavar="NAME")
@click.option("--password-stdin", is_flag=True, help="Passwort aus einer Zeile der Standardeingabe lesen")
def user_password(username: str, password_stdin: bool) -> None:
    """Passwort von NAME neu setzen (laufende Web-Sitzungen enden)."""
    password = _password(password_stdin)
    with db.session_scope(_engine(), write=True) as session:
        set_password(session, get_user(session, username), password, actor=_user(), now=_now())
    click.echo(f"Passwort von {username} gesetzt.")


@user.command("assign")
@click.argument("username", metavar="NAME")
@click.option("--recipient", "recipient_key", required=True, metavar="SCHLÜSSEL", help="Schlüssel des Empfängers")
def user_assign(username: str, recipient_key: str) -> None:
    """NAME für einen Empfänger freischalten (Sachbearbeitung schreibt, Prüfung liest)."""
    with db.session_scope(_engine(), write=True) as session:
        assign_recipient(session, get_user(session, username), get_recipient(session, recipient_key),
                         actor=_user(), now=_now())
    click.echo(f"{username} arbeitet für {recipient_key}.")


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    """Alle Benutzer auflisten."""
    with db.session_scope(_engine()) as session:
        rows = [{"username": u.username, "role": u.role, "active": u.active, "password_set": bool(u.password_hash),
                 "all_recipients": u.all_recipients, "recipients": [r.key for r in u.recipients]}
                for u in list_users(session)]
    if as_json:
        _print_json(rows)
    else:
        for row in rows:
            scope = ("alle Empfänger" if row["all_recipients"] or row["role"] in ("ministry", "admin")
                     else ", ".join(row["recipients"]) or "–")
            click.echo(f"{row['username']:<30} {ROLE_LABELS[row['role']]:<16} {scope}")


@main.group(cls=Group)
def token() -> None:
    """Zugangstoken für Importskripte (Schnittstelle /api/v1): erstellen, auflisten, widerrufen."""


def _token_json(item, today: date) -> dict:
    return {"id": item.id, "name": item.name, "prefix": item.prefix, "created_at": item.created_at.isoformat(),
            "expires_on": None if item.expires_on is None else item.expires_on.isoformat(),
            "last_used_at": None if item.last_used_at is None else item.last_used_at.isoformat(),
            "revoked_at": None if item.revoked_at is None else item.revoked_at.isoformat(),
            "state": token_state(item, today)}


@token.command("create")
@click.option("--user", "username", required=True, metavar="NAME", help="Benutzer, für den das Token handelt")
@click.option("--name", required=True, metavar="TEXT", help="wofür das Skript das Token nutzt")
@click.option("--expires", type=german.GERMAN_DATE, default=None,
              help="gültig bis einschließlich (leer: bis zum Widerruf)")
@json_option
def token_create(username: str, name: str, expires, as_json: bool) -> None:
    """Zugangstoken für NAME erstellen; es wird nur dieses eine Mal angezeigt."""
    now = _now()
    with db.session_scope(_engine(), write=True) as session:
        new = create_token(session, get_user(session, username), name, actor=_user(), now=now,
                           expires_on=_day(expires))
        data = {**_token_json(new.token, now.date()), "token": new.secret}
    if as_json:
        _print_json(data)
        return
    until = f"gültig bis {new.token.expires_on:%d.%m.%Y}" if new.token.expires_on else "gültig bis zum Widerruf"
    click.echo(f"Zugangstoken Nr. {data['id']} „{data['name']}“ für {username} erstellt ({until}).", err=True)
    click.echo("Es wird nur dieses eine Mal angezeigt; bitte jetzt sicher hinterlegen:", err=True)
    click.echo(new.secret)


@token.command("list")
@click.option("--user", "username", required=True, metavar="NAME", help="Benutzer")
@json_option
def token_list(username: str, as_json: bool) -> None:
    """Zugangstoken von NAME auflisten (ohne die Token selbst)."""
    today = date.today()
    with db.session_scope(_engine()) as session:
        rows = [_token_json(item, today) for item in list_tokens(session, get_user(session, username))]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        used = _moment(row["last_used_at"]) or "nie genutzt"
        until = f"bis {date.fromisoformat(row['expires_on']):%d.%m.%Y}" if row["expires_on"] else "bis zum Widerruf"
        click.echo(f"{row['id']:>5}  {row['prefix']}…  {row['name']:<40} {STATE_LABELS[row['state']]:<11} "
                   f"{until:<22} zuletzt: {used}")
    if not rows:
        click.echo(f"{username} hat kein Zugangstoken.", err=True)


def _moment(iso: str | None) -> str | None:
    return None if iso is None else f"{datetime.fromisoformat(iso):%d.%m.%Y %H:%M}"


@token.command("revoke")
@click.option("--user", "username", required=True, metavar="NAME", help="Benutzer, dem das Token gehört")
@click.argument("token_id", metavar="NR", type=int)
def token_revoke(username: str, token_id: int) -> None:
    """Zugangstoken Nr. NR von NAME widerrufen: Skripte, die es nutzen, werden ab sofort abgewiesen."""
    with db.session_scope(_engine(), write=True) as session:
        revoked = revoke_token(session, get_user(session, username), token_id, actor=_user(), now=_now())
        name = revoked.name
    click.echo(f"Zugangstoken Nr. {token_id} „{name}“ von {username} widerrufen.")


@main.group(cls=Group)
def period() -> None:
    """Schuljahre nach der Schlussabrechnung abschließen (und durch die Administration wieder öffnen)."""


@period.command("close")
@recipient_option
@school_year_option
@click.option("--reason", default="", help="Anmerkung, z. B. Aktenzeichen der Schlussabrechnung")
def period_close(recipient_key: str, school_year: SchoolYear, reason: str) -> None:
    """Schuljahr abschließen: danach nimmt es keine Buchungen mehr an."""
    with db.session_scope(_engine(), write=True) as session:
        close_year(session, get_recipient(session, recipient_key), school_year,
                   user=get_user(session, _user()), now=_now(), reason=reason)
    click.echo(f"Schuljahr {school_year} abgeschlossen.")


@period.command("reopen")
@recipient_option
@school_year_option
@click.option("--reason", required=True, help="Begründung (wird protokolliert)")
def period_reopen(recipient_key: str, school_year: SchoolYear, reason: str) -> None:
    """Abgeschlossenes Schuljahr wieder öffnen (nur Administration; protokolliert)."""
    with db.session_scope(_engine(), write=True) as session:
        reopen_year(session, get_recipient(session, recipient_key), school_year,
                    user=get_user(session, _user()), reason=reason, now=_now())
    click.echo(f"Schuljahr {school_year} wieder geöffnet.")


@main.command("verify")
@click.option("--recipient", "recipient_key", default=None, metavar="SCHLÜSSEL", help="nur diesen Empfänger prüfen")
@click.option("--against", "against", default=None, metavar="DATEI",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="auch gegen die Kettenköpfe in DATEI prüfen (Kopfdatei, Sicherung oder Verwendungsnachweis als PDF)")
@json_option
def verify(recipient_key: str | None, against: Path | None, as_json: bool) -> None:
    """Integritätsprüfung: Buchungsketten, Protokoll, Stammdaten-Versionen und gespeicherte Summen nachrechnen.

    Mit --against DATEI zusätzlich: ist jeder dort aufgezeichnete Kettenkopf noch da und unverändert?
    So fallen auch gelöschte neueste Buchungen, gelöschte Journale und neu berechnete Ketten auf.
    """
    from ledger.workflows.anchors import read_recorded_heads
    recorded = read_recorded_heads(against) if against is not None else None
    with db.session_scope(_engine()) as session:
        packs = load_packs()
        report = verify_books(session, recipient_key=recipient_key, against=recorded,
                              category_label=lambda category: category_label(category, packs))
    if as_json:
        _print_json(report.to_json())
    else:
        _print_integrity(report)
    problems = []
    if not report.chains_ok:
        problems.append("Hash-Kette gebrochen: die Bücher wurden außerhalb der Anwendung verändert")
    if not report.totals.ok:
        problems.append("gespeicherte Summen weichen von den Buchungen ab: die Bücher wurden außerhalb der "
                        "Anwendung verändert")
    if not all(f.ok for f in report.statements + report.findings):
        problems.append("aufgezeichnete Kettenköpfe fehlen oder wurden verändert: Buchungen oder Protokolleinträge "
                        "wurden außerhalb der Anwendung gelöscht oder neu geschrieben")
    if problems:
        raise Failure("; ".join(problems))


def _print_integrity(report) -> None:
    """``inkl verify`` as German text: one line per journal, the audit log, stray postings, recorded heads."""
    for r in report.journals:
        if r.ok:
            state = "in Ordnung"
        else:
            state = f"GEBROCHEN bei Nr. {r.broken_seq} (Buchung {r.broken_entry_id}): {r.reason}"
        click.echo(f"{r.recipient_key}: {counted(r.entries, 'Buchung', 'Buchungen')}, Kette {state}; "
                   f"Kopf Nr. {r.head.seq} {r.head.entry_hash}")
    state = "in Ordnung" if report.audit_broken is None else f"GEBROCHEN bei Nr. {report.audit_broken}: {report.audit_reason}"
    click.echo(f"Protokoll: {counted(report.audit_events, 'Eintrag', 'Einträge')}, Kette {state}")
    history = report.history
    if history.ok:
        state = "in Ordnung"
    elif history.broken_seq is not None:
        state = f"GEBROCHEN bei Nr. {history.broken_seq}: {history.reason}"
    else:
        state = "GEBROCHEN: " + "; ".join(history.findings)
    click.echo(f"Stammdaten und Entscheidungen: {counted(history.versions, 'Version', 'Versionen')}, Kette {state}")
    totals = report.totals
    state = "in Ordnung" if totals.ok else counted(len(totals.findings), "Abweichung", "Abweichungen")
    click.echo(f"Kontensummen: {counted(totals.rows, 'Zeile', 'Zeilen')} über "
               f"{counted(totals.postings, 'Buchungszeile', 'Buchungszeilen')}, Tagessummen des Journals: "
               f"{counted(totals.days, 'Zeile', 'Zeilen')}, nachgerechnet {state}")
    for finding in totals.findings:
        click.echo(f"  {finding}")
    if report.stray_postings:
        click.echo(f"{counted(report.stray_postings, 'Buchungszeile', 'Buchungszeilen')} ohne Buchung "
                   f"(Nr. {', '.join(map(str, report.stray_posting_ids))})")
    for finding in report.statements:
        if not finding.ok:
            click.echo(f"{finding.source}: {finding.message}")
    if report.against is not None:
        recorded = report.against
        when = "" if recorded.created_at is None else f" vom {recorded.created_at:%d.%m.%Y %H:%M}"
        click.echo(f"Aufgezeichnete Kettenköpfe ({recorded.kind}{when}):")
        for finding in report.findings:
            click.echo(f"  {finding.message}")


@main.group("heads", cls=Group)
def heads_group() -> None:
    """Kettenköpfe außerhalb der Datenbank aufbewahren (für 'inkl verify --against')."""


@heads_group.command("export")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="DATEI",
              help="Kopfdatei, die geschrieben wird (JSON)")
@json_option
def heads_export(output: Path, as_json: bool) -> None:
    """Die Köpfe aller Buchungsketten, der Protokollkette und der Versionskette der Stammdaten mit
    Zeitpunkt, Datenbankart und eigener SHA-256-Prüfsumme in DATEI schreiben.

    Die Datei gehört zur Prüferin oder zum Prüfer, nicht auf den Datenbankserver: 'inkl verify
    --against DATEI' meldet später jeden Kopf, der fehlt oder sich geändert hat.
    """
    with db.session_scope(_engine()) as session:
        document = heads_document(session, now=_now())
    partial = output.with_name(output.name + ".part")
    try:
        partial.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    if as_json:
        _print_json({"file": str(output), **document})
    else:
        click.echo(f"Kopfdatei geschrieben: {output} ({counted(len(document['heads']), 'Kette', 'Ketten')}, "
                   f"SHA-256 {document['sha256']}).")


@main.group("export", cls=Group)
def export_group() -> None:
    """Bücher exportieren: GoBD-Datenträgerüberlassung, hledger-Journal, Tabellen als CSV oder XLSX."""


@export_group.command("gobd")
@recipient_option
@click.option("--school-year", callback=_school_year, default=None, help="nur dieses Schuljahr, z. B. 2023/24")
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="neues oder leeres Verzeichnis")
def export_gobd_command(recipient_key: str, school_year: SchoolYear | None, directory: Path) -> None:
    """GoBD-Datenträgerüberlassung: index.xml, DTD und CSV-Dateien (GDPdU) in ein Verzeichnis schreiben."""
    with db.session_scope(_engine(), write=True) as session:
        recipient = get_recipient(session, recipient_key)
        paths = export_gobd(session, recipient, directory, school_year=school_year, now=_now())
        record(session, actor=_user(), action="download", now=_now(), recipient=recipient,
               details={"kind": "gobd", "format": "gdpdu",
                        **({"school_year": str(school_year)} if school_year else {})})
    click.echo(f"GoBD-Export geschrieben: {directory} ({counted(len(paths), 'Datei', 'Dateien')}).")


@export_group.command("hledger")
@recipient_option
@click.option("--school-year", callback=_school_year, default=None, help="nur dieses Schuljahr, z. B. 2023/24")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Journaldatei; '-' schreibt auf die Standardausgabe")
def export_hledger_command(recipient_key: str, school_year: SchoolYear | None, output: Path) -> None:
    """hledger-Journal schreiben: eine Transaktion je Buchung, Beträge in EUR."""
    journal = io.StringIO()
    with db.session_scope(_engine(), write=True) as session:
        recipient = get_recipient(session, recipient_key)
        count = export_hledger(session, recipient, journal, school_year=school_year)
        record(session, actor=_user(), action="download", now=_now(), recipient=recipient,
               details={"kind": "hledger", "format": "journal",
                        **({"school_year": str(school_year)} if school_year else {})})
    if str(output) == "-":
        click.echo(journal.getvalue(), nl=False)
    else:
        output.write_text(journal.getvalue(), encoding="utf-8")
        click.echo(f"hledger-Journal geschrieben: {output} ({counted(count, 'Buchung', 'Buchungen')}).")


def _export_table(kind: str, recipient_key: str, fmt: str, output: Path, as_json: bool, build) -> None:
    """Write the table ``build(session, recipient, packs)`` gives (a ``Sheet`` and the audit details)
    to ``output`` in ``fmt`` and record the download in the audit log (action ``download``, as on
    the web page). ``--json``: ``{"file", "format", "rows"}`` (rows without the heading row)."""
    from ledger.write.tabular import render as render_table
    with db.session_scope(_engine(), write=True) as session:
        recipient = get_recipient(session, recipient_key)
        sheet, details = build(session, recipient, load_packs())
        data = render_table(sheet, fmt, now=_now())
        record(session, actor=_user(), action="download", now=_now(), recipient=recipient,
               details={"kind": kind, "format": fmt, **{k: v for k, v in details.items() if v is not None}})
        output.write_bytes(data)
    if as_json:
        _print_json({"file": str(output), "format": fmt, "rows": len(sheet.rows)})
    else:
        click.echo(f"{sheet.title} geschrieben: {output} ({counted(len(sheet.rows), 'Zeile', 'Zeilen')}).")


def _scope(school_year, date_from, date_to) -> dict:
    return {"school_year": None if school_year is None else str(school_year),
            "date_from": None if date_from is None else _day(date_from).isoformat(),
            "date_to": None if date_to is None else _day(date_to).isoformat()}


def _table_options(command):
    """The options every table export shares: recipient, format, output file."""
    for option in reversed((
            recipient_option,
            click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="xlsx", show_default=True,
                         help="CSV (UTF-8 mit BOM, Semikolon) oder XLSX"),
            click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                         help="Zieldatei"),
            json_option)):
        command = option(command)
    return command


def _range_options(command):
    """Optional school year and date range."""
    for option in reversed((
            click.option("--school-year", callback=_school_year, default=None, help="nur dieses Schuljahr, z. B. 2023/24"),
            click.option("--from", "date_from", type=german.DATE, default=None, help="Buchungsdatum von"),
            click.option("--to", "date_to", type=german.DATE, default=None, help="Buchungsdatum bis"))):
        command = option(command)
    return command


@export_group.command("journal")
@_table_options
@_range_options
def export_journal_command(recipient_key, fmt, output, as_json, school_year, date_from, date_to) -> None:
    """Journal als CSV oder XLSX: eine Zeile je Buchungszeile."""
    from ledger.write.downloads import journal_sheet
    _export_table("journal", recipient_key, fmt, output, as_json, lambda session, recipient, packs: (
        journal_sheet(session, recipient, packs, school_year=school_year, date_from=_day(date_from),
                      date_to=_day(date_to)), _scope(school_year, date_from, date_to)))


@export_group.command("classification")
@_table_options
@click.option("--school-year", callback=_school_year, required=True, help="Schuljahr, z. B. 2023/24")
def export_classification_command(recipient_key, fmt, output, as_json, school_year) -> None:
    """Einstufung eines Schuljahres als CSV oder XLSX: jede Ausgabe mit Regel, Begründung und Quelle."""
    from ledger.write.downloads import classification_sheet
    _export_table("einstufung", recipient_key, fmt, output, as_json, lambda session, recipient, packs: (
        classification_sheet(classified(session, recipient, school_year, packs).items, school_year, packs),
        _scope(school_year, None, None)))


@export_group.command("trial-balance")
@_table_options
@_range_options
def export_trial_balance_command(recipient_key, fmt, output, as_json, school_year, date_from, date_to) -> None:
    """Summen- und Saldenliste als CSV oder XLSX: je Konto Saldovortrag, Soll, Haben, Saldo."""
    from ledger.write.downloads import trial_balance_sheet
    _export_table("summen-und-salden", recipient_key, fmt, output, as_json, lambda session, recipient, _packs: (
        trial_balance_sheet(trial_balance(session, recipient, school_year=school_year, date_from=_day(date_from),
                                          date_to=_day(date_to))), _scope(school_year, date_from, date_to)))


@export_group.command("account-ledger")
@_table_options
@click.option("--account", "account_number", required=True, metavar="KONTONUMMER", help="Konto, z. B. 1810")
@_range_options
def export_account_ledger_command(recipient_key, fmt, output, as_json, account_number, school_year, date_from,
                                  date_to) -> None:
    """Kontoblatt als CSV oder XLSX: die Buchungen eines Kontos mit laufendem Saldo."""
    from ledger.write.downloads import account_ledger_sheet
    _export_table("kontoblatt", recipient_key, fmt, output, as_json, lambda session, recipient, packs: (
        account_ledger_sheet(account_ledger(session, recipient, account_number, school_year=school_year,
                                            date_from=_day(date_from), date_to=_day(date_to)), packs),
        {**_scope(school_year, date_from, date_to), "account": account_number}))


@main.command("backup")
@click.argument("file", metavar="DATEI", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@json_option
def backup_command(file: Path, as_json: bool) -> None:
    """Ganze Datenbank in DATEI sichern (gzip-komprimierte JSON-Zeilen, Format inkl-backup 1).

    Fortschritt auf stderr. Die Datei entsteht erst vollständig (über DATEI.part), eine
    abgebrochene Sicherung hinterlässt keine halbe Datei.
    """
    partial = file.with_name(file.name + ".part")
    try:
        with db.session_scope(_engine()) as session, partial.open("wb") as out:
            manifest = backup(session, out, now=_now(), progress=_progress)
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    if as_json:
        _print_json({"file": str(file), "bytes": file.stat().st_size, "total_rows": manifest.total_rows,
                     **manifest.to_json()})
    else:
        click.echo(f"Sicherung geschrieben: {file} ({counted(manifest.total_rows, 'Zeile', 'Zeilen')}, Schemastand {manifest.schema_revision}).")


@main.command("restore")
@click.argument("file", metavar="DATEI", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def restore_command(file: Path, as_json: bool) -> None:
    """Sicherung DATEI in die leere, mit 'inkl db upgrade' angelegte Datenbank einspielen.

    Prüft danach jede Buchungskette und das Protokoll gegen die Sicherung; bei jedem Fehler bleibt die
    Datenbank leer. Fortschritt auf stderr; im Protokoll vermerkt.
    """
    with db.session_scope(_engine(), write=True) as session, file.open("rb") as source:
        report = restore(session, source, progress=_progress, actor=_user(), now=_now())
    if as_json:
        _print_json({"file": str(file), **report.to_json()})
    else:
        click.echo(f"Sicherung {file} wiederhergestellt: {counted(report.total_rows, 'Zeile', 'Zeilen')}, "
                   f"{counted(len(report.chains), 'Journal', 'Journale')} geprüft, Protokoll bis Nr. {report.audit_head.seq}.")


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _master_data_group(kind: Kind) -> click.Group:
    """``inkl KIND add|list|import`` for one kind of master data, options from its schema."""
    group = Group(kind.name, help=f"Stammdaten: {kind.label} (anlegen, auflisten, CSV-Import).")
    fields_ = kind.schema().fields

    def add_command(recipient_key: str, **options) -> None:
        row = {fields_[name].data_key: value for name, value in options.items() if value is not None}
        with db.session_scope(_engine(), write=True) as session:
            item = add(session, get_recipient(session, recipient_key), kind.name, row, actor=_user(), now=_now())
            click.echo(f"{kind.label} {getattr(item, kind.key)} angelegt.")

    def list_command(recipient_key: str, as_json: bool) -> None:
        with db.session_scope(_engine()) as session:
            target = get_recipient(session, recipient_key)
            items = list_items(session, target, kind.name) if as_json else list_rows(session, target, kind.name)
        if as_json:
            _print_json(items)
        else:   # the import's columns and formats, categories and financing bases by their labels
            packs = load_packs()
            for row in items:
                click.echo("; ".join(f"{column}: {_cell(column, text, packs)}" for column, text in row.items() if text))

    def import_command_(file: Path, recipient_key: str, dry_run: bool, as_json: bool) -> None:
        with db.session_scope(_engine(), write=True) as session:
            summary = import_master_data(session, get_recipient(session, recipient_key), kind.name,
                                         file.read_bytes(), file.name, actor=_user(), now=_now(), dry_run=dry_run)
        if as_json:
            _print_json(summary.as_dict())
        if not summary.ok:
            for issue in summary.errors:
                click.echo(issue.render(str(file)), err=True)
            raise Failure(f"{file}: {len(summary.errors)} Fehler, nichts geändert")
        if not as_json:
            click.echo(f"{'Probelauf: ' if dry_run else ''}{file.name}: {counted(summary.rows, 'Zeile', 'Zeilen')}, {summary.added} neu, "
                       f"{summary.updated} geändert, {summary.unchanged} unverändert.")

    options = [click.Option([f"--{name.replace('_', '-')}"], required=field.required,
                            help=f"Spalte „{field.data_key}“" + (" (ja/nein)" if name in ("gl_school", "gl_bearer") else ""))
               for name, field in fields_.items()]
    group.add_command(recipient_option(Command("add", callback=add_command, params=options,
                                                     help=f"{kind.label} anlegen (Änderungen protokolliert).")))
    group.add_command(json_option(recipient_option(Command("list", callback=list_command,
                                                                 help=f"{kind.label}: alle auflisten."))))
    dry_run = click.option("--dry-run", is_flag=True, help="nur prüfen, nichts schreiben")
    group.add_command(json_option(recipient_option(dry_run(Command(
        "import", callback=import_command_,
        params=[click.Argument(["file"], metavar="DATEI", type=click.Path(exists=True, dir_okay=False, path_type=Path))],
        help=f"{kind.label}: CSV mit den Spalten {'; '.join(kind.columns)} einlesen (alles oder nichts).")))))
    return group


def _cell(column: str, text: str, packs) -> str:
    """A master-data cell as people read it: a category or financing basis by its German label."""
    if column == "Kategorie":
        return category_label(text, packs)
    return FINANCING_BASES.get(text, text) if column == "Finanzierungsgrundlage" else text


for _kind in KINDS.values():
    main.add_command(_master_data_group(_kind))


@main.group(cls=Group)
def budget() -> None:
    """Trägerbudgets: Abschläge, Stundenberichte und Stand (Modellprojekt ambulante Hilfen zur Erziehung)."""


agreement_option = click.option("--agreement", "agreement_key", required=True, metavar="SCHLÜSSEL",
                                help="Schlüssel des Trägerbudgets, z. B. bremerhaven-2025")


@budget.command("add")
@recipient_option
@click.option("--key", "key", required=True, metavar="SCHLÜSSEL", help="Schlüssel des Trägerbudgets, z. B. bremerhaven-2025")
@click.option("--title", required=True, metavar="TEXT", help="Bezeichnung der Vereinbarung")
@click.option("--provider", "provider_name", required=True, metavar="NAME", help="freier Träger")
@click.option("--start", required=True, type=german.DATE, help="Beginn der Laufzeit (Monatserster)")
@click.option("--end", required=True, type=german.DATE, help="Ende der Laufzeit (Monatsletzter)")
@click.option("--amount", required=True, callback=_amount, help="Trägerbudget für die ganze Laufzeit")
@click.option("--specialist-hours", required=True, metavar="STUNDEN", help="vereinbarte Stunden am Klient je Jahr, Fachkräfte")
@click.option("--semi-professional-hours", required=True, metavar="STUNDEN",
              help="vereinbarte Stunden am Klient je Jahr, semiprofessionelle Mitarbeitende")
@click.option("--indirect-reading", type=click.Choice(list(INDIRECT_READINGS)), default="client_hours",
              help="Lesart der indirekten Zeiten: client_hours (20 % der Stunden am Klient) oder working_time "
                   "(Stunden am Klient = 80 % der Arbeitszeit)")
@click.option("--reference", required=True, metavar="TEXT", help="Fundstelle der Vereinbarung")
@json_option
def budget_add(recipient_key, key, title, provider_name, start, end, amount, specialist_hours,
               semi_professional_hours, indirect_reading, reference, as_json) -> None:
    """Trägerbudget eines öffentlichen Trägers mit einem freien Träger erfassen."""
    with db.session_scope(_engine(), write=True) as session:
        created = add_budget_agreement(
            session, get_recipient(session, recipient_key), key, title=title, provider_name=provider_name,
            start=start.date(), end=end.date(), budget=amount, specialist_hours_year=specialist_hours,
            semi_professional_hours_year=semi_professional_hours, indirect_reading=indirect_reading,
            reference=reference, created_by=_user(), now=_now())
        data = {"agreement": created.key, "budget": format_plain(from_cents(created.budget_cents)),
                "start": created.start_date.isoformat(), "end": created.end_date.isoformat()}
    if as_json:
        _print_json(data)
    else:
        click.echo(f"Trägerbudget {data['agreement']} über {format_german(amount)} EUR erfasst.")


@budget.command("advances")
@agreement_option
@click.option("--book-until", "until", type=german.DATE, default=None,
              help="alle bis zu diesem Tag fälligen Abschläge buchen (sonst nur anzeigen)")
@json_option
def budget_advances(agreement_key: str, until, as_json: bool) -> None:
    """Monatliche Abschläge des Trägerbudgets anzeigen und fällige buchen."""
    with db.session_scope(_engine(), write=until is not None) as session:
        agreement = get_budget_agreement(session, agreement_key)
        new = [] if until is None else book_advances(session, agreement, until=until.date(), created_by=_user(),
                                                     now=_now())
        schedule = budget_advances_of(session, agreement)
        total = agreement.budget_cents
    rows = [{"number": a.number, "due": a.due.isoformat(), "amount": format_plain(from_cents(a.cents)),
             "entry": a.entry_id} for a in schedule]
    if as_json:
        _print_json({"agreement": agreement_key, "budget": format_plain(from_cents(total)),
                     "sum": format_plain(from_cents(sum(a.cents for a in schedule))), "booked_now": len(new),
                     "advances": rows})
        return
    if until is not None:
        click.echo(f"{len(new)} Abschläge gebucht.")
    for advance in schedule:
        click.echo(format_advance(advance))
    click.echo(f"Summe {format_german(from_cents(sum(a.cents for a in schedule)))} EUR "
               f"(Trägerbudget {format_german(from_cents(total))} EUR)")


@budget.group("hours", cls=Group)
def budget_hours() -> None:
    """Stundenberichte des Trägers je Quartal."""


@budget_hours.command("add")
@agreement_option
@click.option("--quarter", required=True, metavar="QUARTAL", help="z. B. 2025-Q1")
@click.option("--specialist", required=True, metavar="STUNDEN", help="erbrachte Stunden am Klient, Fachkräfte")
@click.option("--semi-professional", "semi", required=True, metavar="STUNDEN",
              help="erbrachte Stunden am Klient, semiprofessionelle Mitarbeitende")
@json_option
def budget_hours_add(agreement_key: str, quarter: str, specialist: str, semi: str, as_json: bool) -> None:
    """Erbrachte Stunden eines Quartals erfassen (ein neuer Bericht ersetzt den früheren des Quartals)."""
    with db.session_scope(_engine(), write=True) as session:
        report = add_hours_report(session, get_budget_agreement(session, agreement_key), quarter,
                                  specialist=specialist, semi_professional=semi, created_by=_user(), now=_now())
        data = {"agreement": agreement_key, "quarter": report.quarter,
                "specialist": format_plain(report.specialist_hours),
                "semi_professional": format_plain(report.semi_professional_hours)}
    if as_json:
        _print_json(data)
    else:
        click.echo(f"Stundenbericht {data['quarter']} erfasst: {format_german(report.specialist_hours)} Stunden "
                   f"Fachkräfte, {format_german(report.semi_professional_hours)} Stunden semiprofessionell.")


@budget.command("judgement")
@agreement_option
@click.option("--quarter", required=True, metavar="QUARTAL", help="Quartal, in dem die Schwelle erreicht wurde")
@click.option("--persists/--not-persists", required=True,
              help="ob die Unterschreitung voraussichtlich anhält (dann Verhandlung über eine Anpassung)")
@click.option("--reasoning", required=True, metavar="TEXT", help="Begründung der Einschätzung")
def budget_judgement(agreement_key: str, quarter: str, persists: bool, reasoning: str) -> None:
    """Einschätzung festhalten, ob die Unterschreitung der Stunden anhalten wird."""
    with db.session_scope(_engine(), write=True) as session:
        record_judgement(session, get_budget_agreement(session, agreement_key), quarter, persists=persists,
                         reasoning=reasoning, created_by=_user(), now=_now())
    click.echo("Einschätzung gespeichert.")


@budget.command("outside")
@agreement_option
@click.option("--date", "day", required=True, type=german.DATE, help="Buchungsdatum")
@click.option("--amount", required=True, callback=_amount)
@click.option("--voucher", required=True, metavar="BELEG", help="Belegnummer")
@click.option("--text", required=True, metavar="TEXT", help="Buchungstext (nur pseudonyme Fallbezeichnung)")
def budget_outside(agreement_key: str, day, amount: Decimal, voucher: str, text: str) -> None:
    """Sonderbedarf nach § 39 SGB VIII außerhalb des Trägerbudgets buchen."""
    with db.session_scope(_engine(), write=True) as session:
        entry = book_outside_cost(session, get_budget_agreement(session, agreement_key), day=day.date(),
                                  amount=amount, voucher_number=voucher, text=text, created_by=_user(), now=_now())
        click.echo(f"Sonderbedarf {format_german(amount)} EUR außerhalb des Trägerbudgets gebucht (Buchung {entry.id}).")


@budget.command("status")
@agreement_option
@json_option
def budget_status_command(agreement_key: str, as_json: bool) -> None:
    """Erbrachte gegenüber vereinbarten Stunden je Quartal, Stand der Schwelle, Abschläge, Fristen."""
    with db.session_scope(_engine()) as session:
        data = budget_status(session, get_budget_agreement(session, agreement_key), as_of=_now().date())
    if as_json:
        _print_json(data)
        return
    click.echo(f"Trägerbudget {data['agreement']} ({data['provider']}): {format_german(Decimal(data['budget']))} EUR, "
               f"{data['advances']['booked']} Abschläge über {format_german(Decimal(data['advances']['booked_total']))} "
               "EUR gebucht.")
    for quarter in data["quarters"]:
        share = Decimal(quarter["share"]) * 100
        click.echo(f"{quarter['quarter']}: {format_german(Decimal(quarter['delivered']['total']))} von "
                   f"{format_german(Decimal(quarter['agreed']['total']))} Stunden "
                   f"({format_german(share)} %)" + (", unter der Schwelle" if quarter["short"] else ""))
    trigger = data["trigger"]
    if trigger["reached"]:
        click.echo(f"Schwelle erreicht: {', '.join(trigger['quarters'])} jeweils unter "
                   f"{format_german(Decimal(trigger['share']) * 100)} % der vereinbarten Stunden.")
        judgement = trigger["judgement"]
        if judgement is None:
            click.echo("Einschätzung, ob die Unterschreitung anhält, steht aus.")
        else:
            click.echo("Verhandlung über eine Anpassung: " + ("ja" if trigger["renegotiate"] else "nein")
                       + f" (Einschätzung: {judgement['reasoning']})")
    else:
        click.echo("Schwelle nicht erreicht.")
    extra = data["extra"]["cumulative"]
    if extra["extra_share"] is not None:
        click.echo(f"Mehrleistung: {format_german(Decimal(extra['delivered']))} von "
                   f"{format_german(Decimal(extra['agreed']))} vereinbarten Stunden, "
                   f"{format_german(Decimal(extra['extra_share']) * 100)} % (erwartet bis zu "
                   f"{format_german(Decimal(data['extra']['expected_share']) * 100)} %).")
    for reminder in data["reminders"]:
        click.echo(f"Frist ({reminder['state_label']}): {reminder['text']}")


@budget.group("case", cls=Group)
def budget_case() -> None:
    """Fälle des Trägerbudgets (nur pseudonymes Fallzeichen) mit Hilfeplangesprächen, Berichten und Handlungsplänen."""


case_option = click.option("--case", "reference", required=True, metavar="FALLZEICHEN",
                           help="pseudonymes Fallzeichen, z. B. 2025-B07 (keine Namen)")
date_option = click.option("--date", "day", required=True, type=german.DATE, help="Datum")


@budget_case.command("add")
@agreement_option
@case_option
@click.option("--start", required=True, type=german.DATE, help="Hilfebeginn")
@json_option
def budget_case_add(agreement_key: str, reference: str, start, as_json: bool) -> None:
    """Fall mit Hilfebeginn erfassen."""
    with db.session_scope(_engine(), write=True) as session:
        case = add_case(session, get_budget_agreement(session, agreement_key), reference, start=start.date(),
                        created_by=_user(), now=_now())
        data = {"agreement": agreement_key, "case": case.reference, "start": case.start_date.isoformat()}
    if as_json:
        _print_json(data)
    else:
        click.echo(f"Fall {data['case']} mit Hilfebeginn {start:%d.%m.%Y} erfasst.")


def _case_record_command(name: str, kind: str, summary: str) -> None:
    @budget_case.command(name, help=summary)
    @agreement_option
    @case_option
    @date_option
    @json_option
    def command(agreement_key: str, reference: str, day, as_json: bool) -> None:
        with db.session_scope(_engine(), write=True) as session:
            agreement = get_budget_agreement(session, agreement_key)
            add_record(session, agreement, kind, day.date(), case=get_case(session, agreement, reference),
                       created_by=_user(), now=_now())
        if as_json:
            _print_json({"agreement": agreement_key, "case": reference, "kind": kind, "date": day.date().isoformat()})
        else:
            click.echo(f"Fall {reference}: {RECORD_KINDS[kind]} am {day:%d.%m.%Y} erfasst.")


for _name, _kind, _summary in (("meeting", "meeting", "Anberaumtes Hilfeplangespräch eines Falls erfassen."),
                               ("report", "case_report", "Eingegangenen Fallbericht erfassen."),
                               ("plan", "action_plan", "Eingegangenen Handlungsplan erfassen."),
                               ("end", "case_end", "Ende der Hilfe erfassen.")):
    _case_record_command(_name, _kind, _summary)


@budget.command("report")
@agreement_option
@date_option
def budget_provider_report(agreement_key: str, day) -> None:
    """Eingang des Berichts des Trägers zum Trägerbudget erfassen."""
    with db.session_scope(_engine(), write=True) as session:
        add_record(session, get_budget_agreement(session, agreement_key), "provider_report", day.date(),
                   created_by=_user(), now=_now())
    click.echo(f"Bericht des Trägers vom {day:%d.%m.%Y} erfasst.")


@budget.command("reminders")
@agreement_option
@click.option("--date", "day", type=german.DATE, default=None, help="Stichtag (sonst heute)")
@json_option
def budget_reminders_command(agreement_key: str, day, as_json: bool) -> None:
    """Offene Fristen des Trägerbudgets: erster Bericht, Handlungspläne, Fallberichte."""
    as_of = day.date() if day is not None else _now().date()
    with db.session_scope(_engine()) as session:
        agreement = get_budget_agreement(session, agreement_key)
        found = budget_reminders(session, agreement, budget_rule_of(agreement), as_of)
    if as_json:
        _print_json({"agreement": agreement_key, "as_of": as_of.isoformat(), "reminders": [r.as_json() for r in found]})
        return
    if not found:
        click.echo("Keine offenen Fristen.")
    for reminder in found:
        click.echo(f"{reminder.due:%d.%m.%Y} ({reminder.as_json()['state_label']}): {reminder.text}")


@main.command("demo")
@click.option("--no-serve", is_flag=True, help="nur Demodaten laden, keinen Webserver starten")
@click.option("--host", default="127.0.0.1", help="Adresse des Webservers")
@click.option("--port", default=5000, type=int, help="Port des Webservers")
def demo(no_serve: bool, host: str, port: int) -> None:
    """Demodaten laden (Rhein-Sieg-Kreis, Kreis Musterhausen) und die Weboberfläche starten."""
    from inkl.demo import load_demo

    if not no_serve:
        _check_port(host, port)     # before loading: a taken port is known at once
    url = database_url()
    db.upgrade(url)
    with db.session_scope(db.make_engine(url), write=True) as session:
        for line in load_demo(session, user=_user(), now=_now()):
            click.echo(line, err=True)
    if not no_serve:
        from inkl.demo import DEMO_DIR

        # the web app lists the demo Kreis's pass-through plan too (webapp: PASS_THROUGH_DIRS)
        os.environ.setdefault("INKL_PASS_THROUGH_DIRS", str(DEMO_DIR / "verteilung"))
        _serve(host, port)


@main.group(cls=Group)
def allocation() -> None:
    """Mittelverteilung nach Formel (Verteilungspläne eines Regelwerks)."""


@allocation.command("compute")
@click.option("--plan", "plan_key", required=True, metavar="PLAN", help="Kennung des Verteilungsplans, z. B. mettmann-2014")
@click.option("--helpers-rounding", type=click.Choice(["half_up", "down"]), default=None,
              help="Rundung der Helferzahl abweichend vom Regelwerk (half_up: kaufmännisch, down: abrunden)")
@json_option
def allocation_compute(plan_key: str, helpers_rounding: str | None, as_json: bool) -> None:
    """Höchstbeträge je Empfänger eines Verteilungsplans berechnen (Zeilen, Summen, Abweichungen)."""
    result = compute_allocation(plan_key, helpers_rounding=helpers_rounding)
    if as_json:
        _print_json(result.as_json())
        return
    plan = result.plan
    click.echo(f"{plan.title} – Mittelgeber: {plan.grantor_name}; Zeitraum: {plan.period}")
    click.echo(f"Regelwerk: „{result.pack.title}“, Version {result.pack.version}")
    click.echo(f"{'Empfänger':<20} {'Schüler':>8} {'Kinder':>7} {'Helfer':>7} {'je Schuljahr':>14} {'Zeitraum':>14}")
    for row in result.rows:
        click.echo(f"{row.name:<20} {row.pupils:>8} {row.children:>7} {row.helpers:>7} "
                   f"{format_german(row.amount_year):>14} {format_german(row.amount_period):>14}")
    sums = result.sums
    click.echo(f"{'Summe der Zeilen':<20} {sums['pupils']:>8} {sums['children']:>7} {sums['helpers']:>7} "
               f"{format_german(sums['amount_year']):>14} {format_german(sums['amount_period']):>14}")
    for difference in result.differences:
        def shown(value):
            return format_german(value) if isinstance(value, Decimal) else str(value)
        click.echo(f"Abweichung in der Summenzeile der Quelle, Spalte „{COLUMN_TITLES[difference.column]}“: "
                   f"Tabelle {shown(difference.table)}, Summe der Zeilen {shown(difference.rows)}, "
                   f"Formel auf die Gesamtzahl {shown(difference.on_total)}.")


def _amounts(ctx, param, values):
    """A repeatable amount option: each value read like ``_amount``."""
    return [_amount(ctx, param, value) for value in values]


plan_option = click.option("--plan", "plan_key", required=True, metavar="PLAN",
                           help="Kennung des Verteilungsplans, z. B. mettmann-2014")


@allocation.command("commit")
@plan_option
@click.option("--date", "day", required=True, type=german.DATE, help="Tag der Mittelbindung")
@json_option
def allocation_commit(plan_key: str, day, as_json: bool) -> None:
    """Die Höchstbeträge eines Verteilungsplans in den Büchern des Mittelgebers binden (Mittelbindung)."""
    _commitment(commit_plan, plan_key, day, as_json, "Mittel gebunden am {date}: {amount} EUR.")


@allocation.command("release")
@plan_option
@click.option("--date", "day", required=True, type=german.DATE, help="Tag der Freigabe (nach Ende der Abruffrist)")
@json_option
def allocation_release(plan_key: str, day, as_json: bool) -> None:
    """Nicht abgerufene Mittel eines Verteilungsplans nach Ende der Abruffrist freigeben (verbleiben beim Mittelgeber)."""
    _commitment(release_plan, plan_key, day, as_json,
                "Nicht abgerufene Mittel freigegeben am {date}: {amount} EUR verbleiben beim Mittelgeber.")


def _commitment(action, plan_key: str, day, as_json: bool, done: str) -> None:
    """Run ``commit_plan`` or ``release_plan`` and print its record (JSON: ``{"plan", "kind",
    "date", "amount", "entry_id"}``) or the German sentence ``done``."""
    with db.session_scope(_engine()) as session:
        record = action(session, plan_key, _day(day), actor=_user(), now=_now())
        data = {"plan": plan_key, "kind": record.kind, "date": record.date.isoformat(),
                "amount": format_plain(from_cents(record.amount_cents)), "entry_id": record.entry_id}
    if as_json:
        _print_json(data)
        return
    click.echo(done.format(date=f"{record.date:%d.%m.%Y}", amount=format_german(from_cents(record.amount_cents))))


plan_file_option = click.option("--plan-file", "plan_file", required=True,
                                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                                help="Verteilungsplan eines Kreises für die Weiterleitung an Gemeinden (TOML)")


@allocation.command("pass-through")
@plan_file_option
@json_option
def allocation_pass_through(plan_file: Path, as_json: bool) -> None:
    """Anteile der Gemeinden an der Weiterleitung eines Kreises nach Schülerzahlen, mit ihren Mittelabrufen."""
    plan = load_pass_through_plan(plan_file)
    with db.session_scope(_engine()) as session:
        rows = pass_through_overview(session, plan)
    if as_json:
        _print_json({"plan": plan.key, "grantor": plan.grantor_key, "amount": format_plain(plan.amount),
                     "rows": [row.as_json() for row in rows]})
        return
    click.echo(f"{plan.title}: {format_german(plan.amount)} EUR")
    for item in rows:
        click.echo(f"  {item.row.name:<30} {item.row.pupils:>7} Schüler  Anteil {format_german(item.row.share):>12} EUR  "
                   f"weitergeleitet {format_german(item.accepted):>12} EUR  Rest {format_german(item.rest):>12} EUR")


@main.group(cls=Group)
def claim() -> None:
    """Mittelabrufe gegen einen Verteilungsplan."""


@claim.command("add")
@plan_option
@recipient_option
@click.option("--date", "day", required=True, type=german.DATE, help="Tag des Mittelabrufs")
@click.option("--helper-cost", "helper_costs", multiple=True, callback=_amounts, metavar="BETRAG",
              help="Personalkosten eines eingesetzten Inklusionshelfers (je Helfer einmal angeben)")
@click.option("--material-costs", callback=_amount, default=None, help="abgerechnete Sachkosten (werden nicht erstattet)")
@click.option("--declaration", required=True, help="Fundstelle der verbindlichen Erklärung des Schulträgers (Anlage 2)")
@click.option("--school", "schools", multiple=True, metavar="SCHULNUMMER",
              help="Schulnummer der Schule, an der der Inklusionshelfer eingesetzt ist (der Reihe nach zu "
                   "--helper-cost; leer lassen: die Erklärung deckt es ab)")
@click.option("--case", "cases", multiple=True, metavar="FALLZEICHEN",
              help="pseudonyme Fallzeichen der unterstützten Schülerinnen und Schüler, mehrere durch Komma "
                   "getrennt (der Reihe nach zu --helper-cost); keine Namen")
@json_option
def claim_add(plan_key, recipient_key, day, helper_costs, material_costs, declaration, schools, cases,
              as_json) -> None:
    """Einen Mittelabruf prüfen, erfassen und buchen."""
    with db.session_scope(_engine()) as session:
        added = add_claim(session, plan_key, recipient_key, _day(day), list(helper_costs), declaration,
                          material_costs=material_costs, schools=[school or None for school in schools],
                          cases=[[ref for ref in refs.split(",") if ref.strip()] for refs in cases],
                          actor=_user(), now=_now())
        data = claim_json(added)
    if as_json:
        _print_json(data)
        return
    click.echo(f"Mittelabruf erfasst: beantragt {format_german(Decimal(data['claimed']))} EUR, anerkannt "
               f"{format_german(Decimal(data['accepted']))} EUR, abgelehnt {format_german(Decimal(data['refused']))} EUR.")
    for refusal in data["refusals"]:
        click.echo(f"  Position {refusal['line']}: {format_german(Decimal(refusal['refused']))} EUR abgelehnt – "
                   f"{refusal['reason']}")


@claim.command("pay")
@click.argument("claim_id", metavar="NUMMER", type=int)
@click.option("--date", "day", required=True, type=german.DATE, help="Tag der Auszahlung an den Empfänger")
def claim_pay(claim_id: int, day) -> None:
    """Den anerkannten Betrag eines Mittelabrufs an den Empfänger auszahlen (buchen)."""
    with db.session_scope(_engine()) as session:
        payment = pay_claim(session, claim_id, _day(day), actor=_user(), now=_now())
        click.echo(f"Mittelabruf Nr. {claim_id} am {payment.date:%d.%m.%Y} ausgezahlt (Buchung Nr. {payment.entry_id}).")


@claim.command("pass-through")
@plan_file_option
@click.option("--municipality", required=True, metavar="NAME", help="Gemeinde, wie in den Stammdaten des Kreises benannt")
@click.option("--date", "day", required=True, type=german.DATE, help="Tag des Mittelabrufs")
@click.option("--amount", required=True, callback=_amount, help="abgerufener Betrag")
@click.option("--reference", required=True, help="Fundstelle des Mittelabrufs der Gemeinde")
@json_option
def claim_pass_through(plan_file: Path, municipality: str, day, amount, reference: str, as_json: bool) -> None:
    """Einen Mittelabruf einer Gemeinde gegen den Verteilungsplan des Kreises prüfen und als Weiterleitung buchen."""
    plan = load_pass_through_plan(plan_file)
    with db.session_scope(_engine()) as session:
        added = add_pass_through_claim(session, plan, municipality, _day(day), amount, reference,
                                       actor=_user(), now=_now())
        data = {"id": added.id, "plan": plan.key, "municipality": municipality, "date": added.claim_date.isoformat(),
                "claimed": format_plain(from_cents(added.claimed_cents)),
                "accepted": format_plain(from_cents(added.accepted_cents)),
                "refused": format_plain(from_cents(added.refused_cents)), "reason": added.reason,
                "entry_id": added.entry_id}
    if as_json:
        _print_json(data)
        return
    click.echo(f"Mittelabruf {municipality}: beantragt {format_german(Decimal(data['claimed']))} EUR, als Weiterleitung "
               f"gebucht {format_german(Decimal(data['accepted']))} EUR, abgelehnt {format_german(Decimal(data['refused']))} EUR.")
    if data["reason"]:
        click.echo(f"  Grund: {data['reason']}")


@main.command("claims", cls=Command)
@plan_option
@click.option("--recipient", "recipient_key", default=None, metavar="SCHLÜSSEL", help="nur dieser Empfänger")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="die Abrechnung (Empfänger oder alle) als PDF in diese Datei schreiben")
@json_option
def claims_list(plan_key, recipient_key, pdf_path, as_json) -> None:
    """Mittelabrufe eines Verteilungsplans mit Höchstbetrag, anerkannter Summe und Rest je Empfänger."""
    from ledger.write.allocation_pdf import render_claims_statement
    with db.session_scope(_engine()) as session:
        try:
            overview = claims_overview(session, plan_key, recipient_key)
        except KeyError:
            raise Failure(f"{recipient_key!r} ist kein Empfänger dieses Verteilungsplans") from None
        data = [entry.as_json() for entry in overview]
        names = {entry.recipient: entry.name for entry in overview}
        if pdf_path is not None:
            allocation = compute_allocation(plan_key)
            paid = paid_claim_ids(session, [claim for entry in overview for claim in entry.claims])
            pdf_path.write_bytes(render_claims_statement(allocation, overview, paid, as_of=_now().date(),
                                                         grantor_name=allocation.plan.grantor_name))
            click.echo(f"Abrechnung gespeichert: {pdf_path}", err=True)
    if as_json:
        _print_json(data)
        return
    for entry in data:
        click.echo(f"{names[entry['recipient']]}: Höchstbetrag {format_german(Decimal(entry['ceiling']))} EUR, "
                   f"anerkannt {format_german(Decimal(entry['accepted']))} EUR, Rest {format_german(Decimal(entry['rest']))} EUR "
                   f"(verbleibt beim Mittelgeber, wenn nicht abgerufen); gebunden {format_german(Decimal(entry['committed']))} "
                   f"EUR, freigegeben {format_german(Decimal(entry['released']))} EUR")
        for item in entry["claims"]:
            click.echo(f"  Abruf vom {date.fromisoformat(item['date']):%d.%m.%Y} (Erklärung {item['declaration']}): "
                       f"beantragt {format_german(Decimal(item['claimed']))} EUR, anerkannt "
                       f"{format_german(Decimal(item['accepted']))} EUR")


@main.command("serve")
@click.option("--host", default="127.0.0.1", help="Adresse des Webservers")
@click.option("--port", default=5000, type=int, help="Port des Webservers")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Anzahl der Serverprozesse (Standard: Anzahl der Prozessorkerne, höchstens 4)")
@click.option("--threads", default=4, type=click.IntRange(1, 64), help="Threads je Serverprozess")
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Weboberfläche mit dem WSGI-Server gunicorn starten (mehrere Prozesse mit Threads)."""
    _serve(host, port, workers=workers, threads=threads)


def _check_port(host: str, port: int) -> None:
    """Raise a German ClickException if the web server could not listen on ``host``:``port``
    (taken by another program, e.g. a running web UI, or not allowed)."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise click.ClickException(f"Adresse {host!r} ist unbekannt ({exc.strerror})") from None
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"Port {port} auf {host} ist belegt (läuft die Weboberfläche schon?); mit --port einen freien "
                    f"Port wählen, bei make demo mit PORT=…") from None
            raise click.ClickException(f"Port {port} auf {host} ist nicht nutzbar: {exc.strerror}") from None


def _serve(host: str, port: int, *, workers: int | None = None, threads: int = 4) -> None:
    from webapp import create_app, warm_up
    from webapp.server import run

    _check_port(host, port)
    if host in ("127.0.0.1", "localhost", "::1") and "INKL_COOKIE_SECURE" not in os.environ:
        os.environ["INKL_COOKIE_SECURE"] = "0"  # plain HTTP on the loopback: no HTTPS-only cookie
    workers = workers or min(len(os.sched_getaffinity(0)), 4)
    app = create_app()
    warm_up(app)
    click.echo(f"Weboberfläche: http://{host}:{port}/  ({workers} Prozesse mit je {threads} Threads; "
               f"Beenden mit Strg+C)", err=True)
    run(app, host=host, port=port, workers=workers, threads=threads)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
