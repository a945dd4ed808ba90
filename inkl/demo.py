"""Demo data for ``inkl demo``: two fictional-but-realistic sets of books.

1. **Rhein-Sieg-Kreis** (``rhein-sieg``, Kreis), the settlement of seed
   002_17056edfca8550ce.txt (Vereinbarung Rhein-Sieg-Kreis – Land NRW):

   - grant 2020/21 of 891.931,68 EUR (§ 1 Abs. 1), paid out in full on 15.10.2020.
     The payout date is **not in the seed**; 15.10.2020 is an assumption of the demo;
   - agreement 2020/21: 422.362,00 EUR deemed purpose-conform (§ 1 Abs. 2), so
     469.569,68 EUR are to be repaid (recorded as the agreed repayment: it stands whether or
     not the payouts are booked). The seed leaves the payment date (§ 3 "bis zum XX.XX.2022"),
     the payment reference ("XXX") and the date it took effect (§ 9) blank; the demo records
     **example values**: in force since 01.05.2022, payment by 30.06.2022, reference
     "Rückzahlung Inklusionspauschale 2020/21 Rhein-Sieg-Kreis";
   - agreements 2014/15 to 2019/20: the Land waives its claims (§ 2).

2. **Kreis Musterhausen** (``musterhausen``, Kreis, fictional), school year 2023/24:
   grant of 750.000,00 EUR (Festsetzungsbescheid and payout on 16.10.2023), then the
   twelve monthly exports of its finance system in ``demo/musterhausen/`` (2023-08.csv
   to 2024-07.csv, semicolon CSV, UTF-8, UTF-8 with BOM and Windows-1252) imported in
   name order with ``ledger.read.importer.import_file``. They hold pool personnel invoices of
   two providers for four systemic school-assistant pools at GL schools, workshops,
   case consultations, collegial case consultation, networking, a brochure, external
   experts, supervision, a pass-through to the Stadt Lindental, overhead above the 15 %
   cap, a § 35a SGB VIII individual case mis-charged to the pool account (category
   ``individual_claim_sgb_viii``, excluded; referenced only as "Fall 2023-017"), one
   unclassified invoice, and the Land's bank receipt in October, which the importer
   recognises as the recorded payout. 2024-03.csv repeats the last two rows of
   2024-02.csv; they are counted as already imported. The year ends with a repayment
   due of 112.206,21 EUR (see tests/test_demo_and_worked_examples.py for the hand
   computation), due 02.04.2024 (1 April 2024 is Easter Monday). A fictional plan to pass
   60.000,00 EUR through to its municipalities by pupils lies in
   ``demo/musterhausen/verteilung/weiterleitung-2023.toml`` (``inkl allocation pass-through``);
   the demo loads no claims against it. The year has a short
   Sachbericht (``MUSTERHAUSEN_NARRATIVE``, ANBest-G NRW) written by the demo officer.

3. **Kreis Mettmann** (``kreis-mettmann``, Kreis) and its ten cities (``erkrath``, ``haan``,
   ``heiligenhaus``, ``hilden``, ``langenfeld``, ``mettmann``, ``monheim-am-rhein``,
   ``ratingen``, ``velbert``, ``wuelfrath``; kind ``stadt``; "Wülfrath" keyed without umlaut, as
   recipient keys are a-z, 0-9 and "-"), the recipients of allocation plan ``mettmann-2014``
   (seed 003_dcbc53400bdc01b8.txt, Hildener Modellrechnung). The plan itself (formula,
   pupil counts) is rule-pack data: ``inkl allocation compute --plan mettmann-2014``. The demo
   officer ``demo-mettmann`` may write the Kreis's books: it enters the cities' claims on the
   plan's page. The demo loads one example claim of Erkrath (``METTMANN_DEMO_CLAIM``, fictional),
   so the page shows a decision: a helper cut to 5.000 EUR and refused material costs.
4. **Stadt Bremerhaven** (``bremerhaven``, kreisfreie Stadt) with the fictional provider budget
   ``bremerhaven-2025`` of seed 004_5ecf31517f7fd061.txt (Trägerbudget, rule pack of programme
   ``traegerbudget``): term 01.01.2025–31.12.2029 (seed II.4); the budget of 9.876.543,21 EUR,
   the provider "Jugendhilfe Weserufer gGmbH" and the agreed 8.000 specialist and 2.000
   semi-professional client hours a year are **fictional** (the seed names none). The twelve
   advances of 2025 are booked, one § 39 SGB VIII special need beside the budget, and the four
   quarterly hours reports of 2025 (92 %, 88 %, 86 %, 89,6 % of the agreed hours): the
   renegotiation trigger is reached in 2025-Q4, and the officer judged that the shortfall will
   not persist. The provider's first report came on 30.03.2026; two pseudonymous cases
   (``BUDGET_CASES``, fictional) carry their action plans, case reports and Hilfeplan meetings,
   so the page and the dashboard show open deadlines.

``load_demo`` is idempotent: a recipient that already exists is left untouched.
All bookings go through the ledger core; this module only supplies the data.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.agreements import add_agreement
from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import Recipient, User
from ledger.core.money import format_german, from_cents
from ledger.core.narrative import write_narrative
from ledger.core.recipients import add_recipient, get_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.core.users import add_user
from ledger.read.importer import import_file
from ledger.rules.packs import allocation_plan
from ledger.workflows.budget import (
    add_budget_agreement,
    add_hours_report,
    book_advances,
    book_outside_cost,
    record_judgement,
)
from ledger.workflows.budget_cases import add_case, add_record
from ledger.workflows.allocation import add_claim
from ledger.workflows.masterdata import import_master_data

#: The finance-system exports of Kreis Musterhausen (``demo/musterhausen/*.csv`` in the repository).
DEMO_DIR: Path = Path(__file__).resolve().parent.parent / "demo" / "musterhausen"

RHEIN_SIEG_KEY = "rhein-sieg"
RHEIN_SIEG_GRANT = Decimal("891931.68")           # seed 002, Vereinbarung § 1 Abs. 1
RHEIN_SIEG_DEEMED_CONFORM = Decimal("422362.00")  # seed 002, Vereinbarung § 1 Abs. 2
RHEIN_SIEG_REPAYMENT = Decimal("469569.68")        # seed 002, Vereinbarung § 1 Abs. 2 ("zu mindern auf …")
RHEIN_SIEG_EFFECTIVE = date(2022, 5, 1)            # example value: § 9 names no date
RHEIN_SIEG_PAYMENT_DATE = date(2022, 6, 30)        # example value: § 3 "bis zum XX.XX.2022"
RHEIN_SIEG_PAYMENT_REFERENCE = "Rückzahlung Inklusionspauschale 2020/21 Rhein-Sieg-Kreis"  # example: § 3 "XXX"
RHEIN_SIEG_PAYOUT_DATE = date(2020, 10, 15)        # assumed: the seed names no payout date
RHEIN_SIEG_YEAR = SchoolYear(2020)
RHEIN_SIEG_WAIVED = tuple(SchoolYear(start) for start in range(2014, 2020))  # 2014/15 … 2019/20
AGREEMENT_NAME = "Vereinbarung Rhein-Sieg-Kreis – Land NRW"

MUSTERHAUSEN_KEY = "musterhausen"
MUSTERHAUSEN_GRANT = Decimal("750000.00")
MUSTERHAUSEN_DATE = date(2023, 10, 16)  # Festsetzungsbescheid and payout
MUSTERHAUSEN_YEAR = SchoolYear(2023)
#: The demo's Sachbericht of Kreis Musterhausen 2023/24 (plain facts of the demo data, no names of children).
MUSTERHAUSEN_NARRATIVE = """\
Der Kreis Musterhausen hat die Inklusionspauschale im Schuljahr 2023/24 für die systemische \
Schulassistenz an Schulen des Gemeinsamen Lernens eingesetzt.

Vier Pools der Schulassistenz arbeiteten vom 01.08.2023 bis zum 31.07.2024 an der GGS Am Lindenhof, \
der Gesamtschule Musterhausen-Nord, der GGS Kastanienweg und der Sekundarschule Talblick. Träger \
waren das Sozialwerk Musterhausen e.V. und die Lernbrücke Schulassistenz gGmbH. Die Kräfte der Pools \
unterstützten die Klassen und Lerngruppen; sie waren keinem einzelnen Kind zugeordnet.

Die Koordinierungsstelle des Kreises plante die Einsätze und stimmte sie mit den Schulen ab. Die \
Schulbegleitungen nahmen an Fortbildungen teil; Fallberatungen, kollegiale Fallberatung, \
Netzwerktreffen, externe Fachberatung und Supervision ergänzten die Arbeit. Eine Broschüre stellte \
das Angebot vor.

Die Stadt Lindental erhielt eine Weiterleitung für ihre Schulen des Gemeinsamen Lernens; der Kreis \
hat sich vorher vergewissert, dass die Mittel zweckentsprechend eingesetzt werden.

Eine Rechnung über einen Einzelfall nach § 35a SGB VIII wurde irrtümlich dem Pool-Konto belastet; sie \
ist nicht zweckentsprechend und im Verwendungsnachweis als ausgeschlossen ausgewiesen. Die Kosten der \
Koordinierung liegen über der Obergrenze für Overhead; der übersteigende Teil zählt nicht als \
zweckentsprechend. Eine Rechnung ohne Kategorie wird noch geklärt."""

BREMERHAVEN_KEY = "bremerhaven"
BUDGET_KEY = "bremerhaven-2025"
BUDGET_AMOUNT = Decimal("9876543.21")  # fictional: the seed names no amount
BUDGET_START, BUDGET_END = date(2025, 1, 1), date(2029, 12, 31)  # seed 004, II.4
#: Fictional quarterly reports of 2025: (quarter, specialist hours, semi-professional hours).
BUDGET_HOURS = (("2025-Q1", "1840", "460"), ("2025-Q2", "1760", "440"), ("2025-Q3", "1720", "430"),
                ("2025-Q4", "1792", "448"))
#: Fictional pseudonymous cases: (reference, start, [(record kind, day)]).
BUDGET_CASES = (
    ("2025-B07", date(2025, 9, 1), (("action_plan", date(2025, 10, 10)), ("case_report", date(2026, 2, 27)),
                                    ("case_report", date(2026, 8, 20)), ("meeting", date(2027, 1, 18)))),
    ("2026-B02", date(2026, 10, 5), (("meeting", date(2027, 4, 12)),)),
)

#: Demo log-ins for the web UI, one per role; printed by ``inkl demo``. Only for the demo.
DEMO_PASSWORD = "Inklusion-Demo-2026"
DEMO_USERS = (
    ("demo-sachbearbeitung", "officer", (MUSTERHAUSEN_KEY,), False, "Sachbearbeitung, Kreis Musterhausen"),
    ("demo-mettmann", "officer", ("kreis-mettmann",), False,
     "Sachbearbeitung, Kreis Mettmann, Mittelabrufe des Verteilungsplans"),
    ("demo-pruefung", "auditor", (), True, "Prüfung, alle Empfänger, nur lesend"),
    ("demo-land", "ministry", (), False, "Land (Ministerium, Bezirksregierung), Landesübersicht, nur lesend"),
    ("demo-admin", "admin", (), False, "Administration"),
)


def load_demo(session: Session, *, user: str, now: datetime, directory: Path | None = None) -> Iterator[str]:
    """Load the demo recipients into ``session`` and yield German progress lines.

    Each recipient that already exists is skipped (so loading twice changes nothing).
    The caller commits the session. ``directory`` overrides ``DEMO_DIR`` (the CSV exports).

    Raises:
        LedgerError: an export of the demo data cannot be imported (the message lists
            every error); the demo data must always be valid.
    """
    existing = {key for key in (RHEIN_SIEG_KEY, MUSTERHAUSEN_KEY, BREMERHAVEN_KEY) if _exists(session, key)}
    if len(existing) == 3:
        yield "Demodaten sind bereits geladen (Rhein-Sieg-Kreis, Kreis Musterhausen, Stadt Bremerhaven); nichts geändert."
    for key, load in ((RHEIN_SIEG_KEY, lambda: _load_rhein_sieg(session, user=user, now=now)),
                      (MUSTERHAUSEN_KEY, lambda: _load_musterhausen(session, user=user, now=now,
                                                                    directory=directory or DEMO_DIR)),
                      (BREMERHAVEN_KEY, lambda: _load_bremerhaven(session, user=user, now=now))):
        if key not in existing:
            yield from load()
        elif len(existing) < 3:
            yield f"Empfänger {key} ist bereits vorhanden; übersprungen."
    yield from _load_mettmann(session, user=user, now=now)
    yield from _demo_users(session, user=user, now=now)
    if MUSTERHAUSEN_KEY not in existing:
        officer = session.scalar(select(User).where(User.username == DEMO_USERS[0][0]))
        write_narrative(session, get_recipient(session, MUSTERHAUSEN_KEY), MUSTERHAUSEN_YEAR, MUSTERHAUSEN_NARRATIVE,
                        user=officer, now=now)
        yield f"Sachbericht {MUSTERHAUSEN_YEAR} für musterhausen geschrieben."


def _demo_users(session: Session, *, user: str, now: datetime) -> Iterator[str]:
    """One log-in per role (``DEMO_USERS``, password ``DEMO_PASSWORD``); existing ones are kept."""
    for username, role, keys, everything, description in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            recipients = tuple(get_recipient(session, key) for key in keys)
            add_user(session, username, role, actor=user, now=now, password=DEMO_PASSWORD, recipients=recipients,
                     all_recipients=everything, initial_password=False)
        yield f"Anmeldung: {username} / {DEMO_PASSWORD}  ({description})"


def _exists(session: Session, key: str) -> bool:
    return session.scalar(select(Recipient.id).where(Recipient.key == key)) is not None


def _load_rhein_sieg(session: Session, *, user: str, now: datetime) -> Iterator[str]:
    recipient = add_recipient(session, RHEIN_SIEG_KEY, "Rhein-Sieg-Kreis", "kreis", actor=user, now=now)
    yield "Empfänger rhein-sieg (Rhein-Sieg-Kreis) angelegt."
    grant = add_grant(session, recipient, RHEIN_SIEG_YEAR, RHEIN_SIEG_GRANT, actor=user, now=now)
    add_payout(session, grant, RHEIN_SIEG_PAYOUT_DATE, RHEIN_SIEG_GRANT, created_by=user, now=now)
    yield (f"Inklusionspauschale {RHEIN_SIEG_YEAR}: {format_german(RHEIN_SIEG_GRANT)} EUR, Auszahlung am "
           f"{RHEIN_SIEG_PAYOUT_DATE:%d.%m.%Y} gebucht (Datum angenommen, in der Vereinbarung nicht genannt).")
    add_agreement(session, recipient, RHEIN_SIEG_YEAR, deemed_conform=RHEIN_SIEG_DEEMED_CONFORM,
                  reference=f"{AGREEMENT_NAME}, § 1 Abs. 2", repayment=RHEIN_SIEG_REPAYMENT,
                  payment_date=RHEIN_SIEG_PAYMENT_DATE, payment_reference=RHEIN_SIEG_PAYMENT_REFERENCE,
                  status="in_force", effective_date=RHEIN_SIEG_EFFECTIVE, created_by=user, now=now)
    yield (f"Vereinbarung {RHEIN_SIEG_YEAR}: {format_german(RHEIN_SIEG_DEEMED_CONFORM)} EUR gelten als "
           f"zweckentsprechend (Rückzahlung {format_german(RHEIN_SIEG_REPAYMENT)} EUR).")
    yield (f"Beispielwerte (in der Vereinbarung nicht ausgefüllt): wirksam seit {RHEIN_SIEG_EFFECTIVE:%d.%m.%Y}, zahlbar bis "
           f"{RHEIN_SIEG_PAYMENT_DATE:%d.%m.%Y}, Verwendungszweck „{RHEIN_SIEG_PAYMENT_REFERENCE}“.")
    for year in RHEIN_SIEG_WAIVED:
        add_agreement(session, recipient, year, waive=True, reference=f"{AGREEMENT_NAME}, § 2",
                      created_by=user, now=now)
    yield f"Verzicht des Landes für {RHEIN_SIEG_WAIVED[0]} bis {RHEIN_SIEG_WAIVED[-1]} erfasst."


#: The allocation plan of the Kreis Mettmann (seed 003_dcbc53400bdc01b8.txt, Anlage 1 zu den
#: Rahmenbedingungen „Bereitstellung von Inklusionshelfern in den allgemeinen Schulen im Kreis
#: Mettmann“); its formula, grantor and recipients with their pupil counts are rule-pack data.
METTMANN_PLAN = "mettmann-2014"
#: The demo's example claim (fictional): Erkrath on 15.09.2014, two helpers of 5.000,00 and
#: 5.300,00 EUR and 250,00 EUR material costs. Rahmenbedingungen Nr. 4.3 cuts the second helper
#: to 5.000,00 EUR, Nr. 4.2 refuses the material costs: 10.000,00 EUR accepted, 550,00 refused.
METTMANN_DEMO_CLAIM = ("erkrath", date(2014, 9, 15), (Decimal("5000.00"), Decimal("5300.00")), Decimal("250.00"),
                       "Erklärung nach Anlage 2 vom 15.09.2014 (Beispiel)")


def _load_mettmann(session: Session, *, user: str, now: datetime) -> Iterator[str]:
    """The grantor (Kreis Mettmann, kind ``kreis``) and the ten cities of plan ``mettmann-2014``
    (kind ``stadt``, keyed as the plan names them) as recipients; existing ones are kept."""
    _pack, plan = allocation_plan(METTMANN_PLAN)
    new_grantor = not _exists(session, plan.grantor_key)
    added = []
    for key, name, kind in ((plan.grantor_key, plan.grantor_name, "kreis"),
                            *((r.key, r.name, "stadt") for r in plan.recipients)):
        if not _exists(session, key):
            add_recipient(session, key, name, kind, actor=user, now=now)
            added.append(name)
    if added:
        yield (f"Verteilungsplan {plan.title}: {len(added)} Empfänger angelegt "
               f"({', '.join(added)}).")
    if new_grantor:
        city, day, costs, material, declaration = METTMANN_DEMO_CLAIM
        claim = add_claim(session, METTMANN_PLAN, city, day, list(costs), declaration, material_costs=material,
                          actor=user, now=now)
        yield (f"Beispiel-Mittelabruf Erkrath vom {day:%d.%m.%Y}: anerkannt {format_german(from_cents(claim.accepted_cents))} "
               f"EUR, abgelehnt {format_german(from_cents(claim.refused_cents))} EUR.")


#: The master-data files in ``demo/musterhausen/stammdaten/``, in the order they depend on each other.
MASTER_DATA_FILES = (("school", "1-schulen.csv"), ("provider", "2-traeger.csv"), ("pool", "3-pools.csv"),
                     ("municipality", "4-gemeinden.csv"), ("costcentre", "5-kostenstellen.csv"),
                     ("commitment", "6-verpflichtungen.csv"))


def _load_master_data(session: Session, recipient, directory: Path, *, user: str, now: datetime) -> Iterator[str]:
    """Schools, providers, pools, municipalities, cost centres and commitments of Kreis Musterhausen."""
    for kind, name in MASTER_DATA_FILES:
        path = directory / name
        if not path.exists():
            continue
        summary = import_master_data(session, recipient, kind, path.read_bytes(), name, actor=user, now=now)
        if not summary.ok:
            details = "; ".join(issue.render(name) for issue in summary.errors)
            raise LedgerError(f"Demodatei {name} ist fehlerhaft: {details}")
        yield f"Stammdaten {name}: {summary.added} angelegt"


def _load_musterhausen(session: Session, *, user: str, now: datetime, directory: Path) -> Iterator[str]:
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise LedgerError(f"keine Demodateien (*.csv) in {directory}")
    recipient = add_recipient(session, MUSTERHAUSEN_KEY, "Kreis Musterhausen", "kreis", actor=user, now=now)
    yield "Empfänger musterhausen (Kreis Musterhausen) angelegt."
    grant = add_grant(session, recipient, MUSTERHAUSEN_YEAR, MUSTERHAUSEN_GRANT, notice_date=MUSTERHAUSEN_DATE,
                      actor=user, now=now)
    add_payout(session, grant, MUSTERHAUSEN_DATE, MUSTERHAUSEN_GRANT, created_by=user, now=now)
    yield (f"Inklusionspauschale {MUSTERHAUSEN_YEAR}: {format_german(MUSTERHAUSEN_GRANT)} EUR, Bescheid und "
           f"Auszahlung am {MUSTERHAUSEN_DATE:%d.%m.%Y} gebucht.")
    yield from _load_master_data(session, recipient, directory / "stammdaten", user=user, now=now)
    for path in files:
        summary = import_file(session, recipient, path, created_by=user, now=now)
        if not summary.ok:
            details = "; ".join(issue.render(path.name) for issue in summary.errors)
            raise LedgerError(f"Demodatei {path.name} ist fehlerhaft: {details}")
        line = f"Importiere {path.name}: {summary.rows} Zeilen, {summary.imported} neu"
        if summary.duplicates:
            line += f", {summary.duplicates} bereits vorhanden"
        if summary.payouts_recognised:
            line += f", {summary.payouts_recognised} als Auszahlung erkannt"
        yield line


def _load_bremerhaven(session: Session, *, user: str, now: datetime) -> Iterator[str]:
    """Stadt Bremerhaven and its fictional provider budget ``bremerhaven-2025`` (see the module docstring)."""
    city = add_recipient(session, BREMERHAVEN_KEY, "Stadt Bremerhaven", "stadt", actor=user, now=now)
    yield "Empfänger bremerhaven (Stadt Bremerhaven) angelegt."
    agreement = add_budget_agreement(
        session, city, BUDGET_KEY, title="Trägerbudgetvereinbarung ambulante Hilfen zur Erziehung 2025–2029",
        provider_name="Jugendhilfe Weserufer gGmbH", start=BUDGET_START, end=BUDGET_END, budget=BUDGET_AMOUNT,
        specialist_hours_year=Decimal("8000"), semi_professional_hours_year=Decimal("2000"),
        reference="Trägerbudgetvereinbarung (Beispiel)", created_by=user, now=now)
    booked = book_advances(session, agreement, until=date(2025, 12, 31), created_by=user, now=now)
    yield (f"Trägerbudget {BUDGET_KEY}: {format_german(BUDGET_AMOUNT)} EUR für {BUDGET_START:%d.%m.%Y} bis "
           f"{BUDGET_END:%d.%m.%Y} (Betrag und Träger erfunden), {len(booked)} Abschläge des Jahres 2025 gebucht.")
    book_outside_cost(session, agreement, day=date(2025, 9, 15), amount=Decimal("2480.00"), voucher_number="SB-2025-01",
                      text="Sonderbedarf § 39 SGB VIII, Fall 2025-B07 (außerhalb des Trägerbudgets)",
                      created_by=user, now=now)
    for quarter, specialist, semi in BUDGET_HOURS:
        add_hours_report(session, agreement, quarter, specialist=Decimal(specialist), semi_professional=Decimal(semi),
                         created_by=user, now=now)
    record_judgement(session, agreement, "2025-Q4", persists=False,
                     reasoning="Zwei Fachkraftstellen sind zum 01.02.2026 wieder besetzt; die Unterschreitung "
                               "wird sich voraussichtlich nicht fortsetzen.", created_by=user, now=now)
    yield "Stundenberichte 2025 und Einschätzung zur Unterschreitung erfasst."
    add_record(session, agreement, "provider_report", date(2026, 3, 30), created_by=user, now=now)
    for reference, start, records in BUDGET_CASES:
        case = add_case(session, agreement, reference, start=start, created_by=user, now=now)
        for kind, day in records:
            add_record(session, agreement, kind, day, case=case, created_by=user, now=now)
    yield f"Bericht des Trägers und {len(BUDGET_CASES)} Fälle (pseudonym) mit Terminen erfasst."
