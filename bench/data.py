"""Deterministic benchmark data: monthly finance-system exports and the master data behind them.

A data set of ``size`` postings holds ``size // 2`` expense rows (each row becomes one
journal entry with two postings: debit an expense account, credit the bank account 1810),
spread evenly over ``RECIPIENTS`` × the school years 2014/15 … 2023/24 × 12 months, one
semicolon CSV per recipient and month in the importer's format. Each recipient's October
file also holds the Land's bank receipt of that year's grant (debit 1810, credit 4141),
which the importer recognises as the payout booked by ``setup_recipient`` (so it adds no
posting). Besides the monthly files, ``single.csv`` holds every expense row of the size
in one file (for the peak-memory import into a single recipient; no receipts, so its
balances can be compared with hledger's), and where no recipient and school year reaches
``STATEMENT_LINES`` expense rows (sizes ≥ 100 000), ``statement/`` holds a dedicated
recipient with that many rows in 2023/24.

Every random choice comes from ``random.Random`` seeded with the seed, size, recipient and
month, so the same arguments always give byte-identical files, whatever the clock says.
Files are written row by row; at most one month of one recipient is held in memory.

Run alone: ``python -m bench.data --sizes 10000 [--work bench/work]``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from ledger.core.grants import INKLUSIONSPAUSCHALE, add_grant, add_payout
from ledger.core.models import Recipient
from ledger.core.money import from_cents
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import load_packs, pack_for
from ledger.workflows.masterdata import add

SEED = 20140801
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr"
BANK, GRANT_REVENUE = "1810", "4141"
YEARS = tuple(SchoolYear(start) for start in range(2014, 2024))  # 2014/15 … 2023/24
#: (key, name, voucher prefix) of the recipients of every data set (all Kreise).
RECIPIENTS = (
    ("bench-nordheide", "Kreis Nordheide", "NH"),
    ("bench-suedland", "Kreis Südland", "SL"),
    ("bench-ostmark", "Kreis Ostmark", "OM"),
    ("bench-westerwald", "Kreis Westerwald-Lippe", "WL"),
)
#: The recipient that receives ``single.csv`` in the peak-memory measurement.
SINGLE_RECIPIENT = ("bench-gesamt", "Kreis Gesamtheim (alle Zeilen)", "GS")
#: The dedicated recipient for the statement measurement, and its school year.
STATEMENT_RECIPIENT = ("bench-belege", "Kreis Belegstadt", "BS")
STATEMENT_YEAR = SchoolYear(2023)
STATEMENT_LINES = 10_000
#: The statement measurement runs only from this size on.
STATEMENT_MIN_SIZE = 100_000

# --- master data (the same for every recipient) ------------------------------------

#: (school number, name, bearer, form, GL school)
SCHOOLS = (
    ("170101", "GGS Am Mühlenbach", "Stadt Lindenau", "Grundschule", True),
    ("170102", "GGS Sonnenhügel", "Stadt Lindenau", "Grundschule", True),
    ("170103", "Gesamtschule Lindenau", "Stadt Lindenau", "Gesamtschule", True),
    ("170104", "Sekundarschule Am Wall", "Kreis", "Sekundarschule", True),
    ("170105", "GGS Birkenweg", "Gemeinde Auental", "Grundschule", True),
    ("170106", "Realschule Auental", "Gemeinde Auental", "Realschule", True),
    ("170107", "KGS St. Martin", "Gemeinde Auental", "Grundschule", True),
    ("170108", "Hauptschule Kirchdorf", "Kreis", "Hauptschule", True),
    ("170109", "Gymnasium Am Schlosspark", "Kreis", "Gymnasium", False),
    ("170110", "Förderschule Am Hang", "Kreis", "Förderschule", False),
)
PROVIDERS = ("Sozialwerk Lindenau e.V.", "Schulbegleitung Auental gGmbH")
#: (key, name, provider index, school numbers, financing basis, systemic share %)
POOLS = (
    ("P01", "Pool Grundschulen Lindenau", 0, ("170101", "170102"), "systemic", ""),
    ("P02", "Pool Gesamtschule Lindenau", 0, ("170103",), "systemic", ""),
    ("P03", "Pool Sekundarschule Am Wall", 1, ("170104",), "systemic", ""),
    ("P04", "Pool Auental", 1, ("170105", "170106", "170107"), "systemic", ""),
    ("P05", "Pool Einzelbewilligungen Kirchdorf", 1, ("170108",), "individual_entitlements", ""),
    ("P06", "Pool gemischt Lindenau", 0, ("170101", "170103"), "mixed", "62,5"),
)
#: (name, bears GL schools, verified on, document, verified by)
MUNICIPALITIES = (
    ("Stadt Lindenau", True, "01.08.2014", "Az. 40.3/2014-07", "Schulamt des Kreises"),
    ("Gemeinde Auental", False, "", "", ""),
)
PROJECT_CENTRE = ("KST-KOORD", "Koordinierungsstelle Inklusion")
POOL_CENTRES = tuple(f"KST-{key}" for key, *_ in POOLS)
GL_SCHOOL_CENTRES = tuple(f"KST-S{number}" for number, *_rest, gl in SCHOOLS if gl)
SCHOOL_CENTRES = tuple(f"KST-S{number}" for number, *_ in SCHOOLS)
TOWN_CENTRES = ("KST-WL-LINDENAU", "KST-WL-AUENTAL")
#: What a cost centre stands for, as booking texts name it.
CENTRE_NAMES = {
    **{f"KST-{key}": name for key, name, *_ in POOLS},
    **{f"KST-S{number}": name for number, name, *_ in SCHOOLS},
    **{centre: town[0] for centre, town in zip(TOWN_CENTRES, MUNICIPALITIES)},
    PROJECT_CENTRE[0]: PROJECT_CENTRE[1],
}


@dataclass(frozen=True)
class RowKind:
    """One kind of expense booking: expense account, category (None: unclassified), share
    of rows in per mille, amount range in cents, cost centres to pick from (empty: none),
    whether the Kategorie column names the category even though the account has it as
    default, and the booking text (``{centre}``, ``{month}`` and ``{n}`` are filled in)."""

    account: str
    category: str | None
    per_mille: int
    low_cents: int
    high_cents: int
    centres: tuple[str, ...]
    explicit: bool
    text: str


ROW_KINDS = (
    RowKind("5291", "pool_personnel", 400, 200_000, 1_500_000, POOL_CENTRES, False,
            "Pool-Schulassistenz {centre}, Monatsrechnung {month} (Rechnung {n})"),
    RowKind("5292", "training", 100, 15_000, 350_000, SCHOOL_CENTRES, True,
            "Workshop Qualifizierung Schulbegleitungen {month} (Honorar {n})"),
    RowKind("5293", "case_consultation", 50, 10_000, 120_000, GL_SCHOOL_CENTRES, True,
            "Fallberatung und Austauschtreffen {month} ({n})"),
    RowKind("5294", "coordination_formats", 40, 20_000, 250_000, (PROJECT_CENTRE[0],), True,
            "Planungs- und Koordinationsformat {month} ({n})"),
    RowKind("5295", "collegial_consultation", 30, 10_000, 90_000, GL_SCHOOL_CENTRES, True,
            "Kollegiale Fallberatung, fachliche Begleitung {month} ({n})"),
    RowKind("5296", "networking", 50, 5_000, 60_000, GL_SCHOOL_CENTRES, True,
            "Jour fixe Lehrkräfte und Schulbegleitung {month} ({n})"),
    RowKind("5297", "external_experts", 20, 100_000, 900_000, (PROJECT_CENTRE[0],), True,
            "Externe Expertise Inklusionskonzept {month} ({n})"),
    RowKind("5298", "supervision", 30, 20_000, 180_000, (), True,
            "Prozessbegleitende Supervision {month} ({n})"),
    RowKind("5431", "brochures", 20, 30_000, 450_000, (), True,
            "Informationsbroschüre in leichter Sprache, Druck {month} ({n})"),
    RowKind("5012", "overhead", 100, 50_000, 600_000, (PROJECT_CENTRE[0],), True,
            "Personalaufwand Koordination systemischer Modelle {month} ({n})"),
    RowKind("5314", "pass_through", 30, 500_000, 4_000_000, TOWN_CENTRES, True,
            "Weiterleitung Inklusionspauschale an {centre} {month} ({n})"),
    RowKind("5331", "individual_claim_sgb_viii", 50, 80_000, 400_000, GL_SCHOOL_CENTRES, False,
            "Schulbegleitung Fall {n} (§ 35a SGB VIII) {month}"),
    RowKind("5332", "individual_claim_sgb_ix", 20, 80_000, 400_000, GL_SCHOOL_CENTRES, False,
            "Schulbegleitung Fall {n} (§ 112 SGB IX) {month}"),
    RowKind("5299", None, 60, 5_000, 250_000, SCHOOL_CENTRES, False,
            "Sonstige Sach- und Dienstleistungen {month} (Rechnung {n})"),
)
_WEIGHTS = [kind.per_mille for kind in ROW_KINDS]
_CUM_WEIGHTS = list(itertools.accumulate(_WEIGHTS))
#: Mean amount of an expense row in cents (for grants of a realistic size).
MEAN_ROW_CENTS = sum(k.per_mille * (k.low_cents + k.high_cents) // 2 for k in ROW_KINDS) // sum(_WEIGHTS)


@dataclass(frozen=True)
class MonthFile:
    """One monthly export: recipient key, path, expense rows, grant receipts (0 or 1)."""

    recipient: str
    path: Path
    rows: int
    receipts: int


@dataclass
class DataSet:
    """The files of one size and what they hold.

    ``grants``: assessed grant in cents per (recipient key, school year start) — each is
    paid out in full on 15 October (``PAYOUT_DAY``) and received by the bank on 16 October.
    ``rows_per_year``: expense rows per (recipient key, school year start).
    """

    size: int
    directory: Path
    monthly: list[MonthFile] = field(default_factory=list)
    single: Path | None = None
    single_rows: int = 0
    statement: list[MonthFile] = field(default_factory=list)
    grants: dict[tuple[str, int], int] = field(default_factory=dict)
    rows_per_year: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def expense_rows(self) -> int:
        """Expense rows in the monthly files (= size // 2)."""
        return sum(f.rows for f in self.monthly)

    @property
    def monthly_rows(self) -> int:
        """All rows of the monthly files: expense rows and grant receipts."""
        return sum(f.rows + f.receipts for f in self.monthly)

    def largest_year(self) -> tuple[str, int, int]:
        """(recipient key, school year start, expense rows) of the recipient-year with the most rows,
        the dedicated statement recipient included."""
        return max(((key, year, rows) for (key, year), rows in self.rows_per_year.items()), key=lambda t: t[2])

    def manifest(self) -> dict:
        """A JSON-ready summary: counts, the single file's name, grants and rows per recipient-year."""
        return {
            "size_postings": self.size, "expense_rows": self.expense_rows, "monthly_files": len(self.monthly),
            "monthly_rows": self.monthly_rows, "single_file": self.single.name if self.single else None,
            "single_rows": self.single_rows, "statement_files": len(self.statement),
            "grants_cents": {f"{k}:{y}": c for (k, y), c in sorted(self.grants.items())},
            "rows_per_year": {f"{k}:{y}": n for (k, y), n in sorted(self.rows_per_year.items())},
        }


PAYOUT_DAY = (10, 15)  # month, day of the start year
RECEIPT_DAY = (10, 16)


def months(year: SchoolYear) -> list[tuple[int, int]]:
    """(calendar year, month) of the school year's twelve months, August first."""
    return [(year.start_year + (m < 8), m) for m in (8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7)]


def german_amount(cents: int) -> str:
    """Cents as a German amount: 123456 → ``1.234,56``."""
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"


def _split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as possible, the remainder to the first ones."""
    base, rest = divmod(total, parts)
    return [base + (index < rest) for index in range(parts)]


def _grant_cents(rng: random.Random, rows: int) -> int:
    """A grant of roughly the year's expected spending (80–110 %), in whole euros, at least 10 000 EUR."""
    return max(rows * MEAN_ROW_CENTS * rng.randint(80, 110) // 100 // 100 * 100, 1_000_000)


def _row(rng: random.Random, day: date, voucher: str, year: SchoolYear) -> str:
    """One expense row as a CSV line (no newline)."""
    kind = rng.choices(ROW_KINDS, cum_weights=_CUM_WEIGHTS)[0]
    cents = rng.randint(kind.low_cents, kind.high_cents)
    centre = rng.choice(kind.centres) if kind.centres else ""
    text = kind.text.format(centre=CENTRE_NAMES.get(centre, "ohne Kostenstelle"), month=f"{day:%m/%Y}", n=voucher[-8:])
    category = kind.category if kind.category and (kind.explicit or rng.random() < 0.5) else ""
    school_year = str(year) if rng.random() < 0.8 else ""
    return ";".join((f"{day:%d.%m.%Y}", voucher, text, kind.account, BANK, german_amount(cents), centre, category,
                     school_year))


def _receipt(year: SchoolYear, prefix: str, cents: int) -> tuple[date, str]:
    day = date(year.start_year, *RECEIPT_DAY)
    line = ";".join((f"{day:%d.%m.%Y}", f"KE-{prefix}-{year.start_year}-AUSZ",
                     f"Zahlungseingang Inklusionspauschale {year} (Land NRW, Landeskasse)", BANK, GRANT_REVENUE,
                     german_amount(cents), "", "", str(year)))
    return day, line


def _write_month(out: TextIO, single: TextIO | None, rng: random.Random, prefix: str, year: SchoolYear,
                 calendar_month: tuple[int, int], rows: int, receipt: tuple[date, str] | None) -> None:
    """Write one month's rows in date order to ``out`` (and the expense rows to ``single``)."""
    y, m = calendar_month
    days = sorted(rng.randint(1, 28) for _ in range(rows))
    out.write(HEADER + "\n")
    pending = receipt
    for index, day_number in enumerate(days, start=1):
        day = date(y, m, day_number)
        if pending is not None and pending[0] < day:
            out.write(pending[1] + "\n")
            pending = None
        line = _row(rng, day, f"ER-{prefix}-{y}{m:02d}-{index:05d}", year)
        out.write(line + "\n")
        if single is not None:
            single.write(line + "\n")
    if pending is not None:
        out.write(pending[1] + "\n")


def _write_recipient(data: DataSet, base: Path, recipient: tuple[str, str, str], counts: dict[int, list[int]],
                     seed: int, single: TextIO | None) -> list[MonthFile]:
    """The monthly files of one recipient: ``counts`` maps a school year start to 12 row counts."""
    key, _name, prefix = recipient
    folder = base / key
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for start, per_month in counts.items():
        year = SchoolYear(start)
        grant_rng = random.Random(f"{seed}:{data.size}:{key}:{start}:grant")
        grant = data.grants[(key, start)] = _grant_cents(grant_rng, sum(per_month))
        data.rows_per_year[(key, start)] = sum(per_month)
        for calendar_month, rows in zip(months(year), per_month):
            rng = random.Random(f"{seed}:{data.size}:{key}:{calendar_month[0]}-{calendar_month[1]:02d}")
            receipt = _receipt(year, prefix, grant) if calendar_month[1] == RECEIPT_DAY[0] else None
            path = folder / f"{calendar_month[0]}-{calendar_month[1]:02d}.csv"
            with path.open("w", encoding="utf-8", newline="") as out:
                _write_month(out, single, rng, prefix, year, calendar_month, rows, receipt)
            files.append(MonthFile(key, path, rows, int(receipt is not None)))
    return files


def check_size(size: int) -> None:
    """Raise ValueError unless ``size`` (postings) is even and gives every monthly file a row."""
    smallest = 2 * len(RECIPIENTS) * len(YEARS) * 12
    if size % 2 or size < smallest:
        raise ValueError(f"{size} postings: must be even and at least {smallest}")


def check_categories() -> None:
    """Raise ValueError if a category of ``ROW_KINDS`` is missing from the rule pack in force
    for one of ``YEARS`` (``rules/*.toml``): the importer would reject every such row."""
    packs = load_packs()
    for year in YEARS:
        pack = pack_for(INKLUSIONSPAUSCHALE, year, packs)
        missing = sorted({k.category for k in ROW_KINDS if k.category and not pack.has_category(k.category)})
        if missing:
            raise ValueError(f"rule pack {pack.id} for {year} lacks the categories {', '.join(missing)}")


def generate(size: int, work: Path, seed: int = SEED) -> DataSet:
    """Write the data set of ``size`` postings under ``work/data/<size>/`` and return it.

    Existing files of that size are overwritten. Raises ValueError for an odd or too small size.
    """
    check_size(size)
    check_categories()
    data = DataSet(size, work / "data" / str(size))
    data.directory.mkdir(parents=True, exist_ok=True)
    per_file = _split(size // 2, len(RECIPIENTS) * len(YEARS) * 12)
    data.single = data.directory / "single.csv"
    data.single_rows = size // 2
    with data.single.open("w", encoding="utf-8", newline="") as single:
        single.write(HEADER + "\n")
        for index, recipient in enumerate(RECIPIENTS):
            chunk = per_file[index * len(YEARS) * 12:(index + 1) * len(YEARS) * 12]
            counts = {year.start_year: chunk[i * 12:(i + 1) * 12] for i, year in enumerate(YEARS)}
            data.monthly += _write_recipient(data, data.directory / "monthly", recipient, counts, seed, single)
    if size >= STATEMENT_MIN_SIZE and data.largest_year()[2] < STATEMENT_LINES:
        counts = {STATEMENT_YEAR.start_year: _split(STATEMENT_LINES, 12)}
        data.statement = _write_recipient(data, data.directory / "statement", STATEMENT_RECIPIENT, counts, seed, None)
    (data.directory / "manifest.json").write_text(json.dumps(data.manifest(), indent=2) + "\n", encoding="utf-8")
    return data


# --- master data and grants through the ledger core ---------------------------------

def setup_recipient(session: Session, recipient: tuple[str, str, str], grants: dict[int, int], *,
                    actor: str, now: datetime) -> Recipient:
    """Create ``recipient`` (key, name, prefix) with the default chart, the master data every
    data set refers to, and per school year start in ``grants`` the grant (cents) paid out in
    full on 15 October. The caller commits."""
    key, name, _prefix = recipient
    created = add_recipient(session, key, name, "kreis", actor=actor, now=now)
    add_master_data(session, created, actor=actor, now=now)
    for start, cents in sorted(grants.items()):
        year = SchoolYear(start)
        grant = add_grant(session, created, year, from_cents(cents), notice_date=date(start, 9, 30),
                          actor=actor, now=now)
        add_payout(session, grant, date(start, *PAYOUT_DAY), from_cents(cents), created_by=actor, now=now)
    return created


def add_master_data(session: Session, recipient: Recipient, *, actor: str, now: datetime) -> None:
    """Schools, providers, pools, municipalities and cost centres (``SCHOOLS`` … ``TOWN_CENTRES``)."""
    def put(kind: str, row: dict[str, str]) -> None:
        add(session, recipient, kind, row, actor=actor, now=now)

    for number, name, bearer, form, gl in SCHOOLS:
        put("school", {"Schulnummer": number, "Name": name, "Schulträger": bearer, "Schulform": form,
                       "GL-Schule": "ja" if gl else "nein"})
        put("costcentre", {"Kostenstelle": f"KST-S{number}", "Schule": number})
    for provider in PROVIDERS:
        put("provider", {"Name": provider})
    for key, name, provider, schools, basis, share in POOLS:
        put("pool", {"Kennung": key, "Name": name, "Träger": PROVIDERS[provider], "Schulen": ", ".join(schools),
                     "Beginn": "01.08.2014", "Ende": "31.07.2024", "Finanzierungsgrundlage": basis,
                     "Systemischer Anteil": share})
        put("costcentre", {"Kostenstelle": f"KST-{key}", "Pool": key})
    for (name, gl_bearer, verified_on, document, verified_by), centre in zip(MUNICIPALITIES, TOWN_CENTRES):
        put("municipality", {"Name": name, "Träger von GL-Schulen": "ja" if gl_bearer else "nein",
                             "Geprüft am": verified_on, "Nachweis": document, "Geprüft von": verified_by})
        put("costcentre", {"Kostenstelle": centre, "Gemeinde": name})
    put("costcentre", {"Kostenstelle": PROJECT_CENTRE[0], "Projekt": PROJECT_CENTRE[1]})


def grants_of(data: DataSet, key: str) -> dict[int, int]:
    """The grants (cents) per school year start of recipient ``key`` in ``data``."""
    return {year: cents for (k, year), cents in data.grants.items() if k == key}


def parse_sizes(text: str) -> list[int]:
    """``"10000,100000"`` → [10000, 100000]; ``1e6`` style and ``_`` separators are accepted."""
    return [int(float(part.replace("_", ""))) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    """Generate the data sets only (``python -m bench.data``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.data", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="postings per data set, comma-separated")
    parser.add_argument("--work", type=Path, default=Path("bench/work"), help="work directory")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for size in parse_sizes(args.sizes):
        data = generate(size, args.work, args.seed)
        print(f"{size} postings: {len(data.monthly)} monthly files, {data.monthly_rows} rows; "
              f"{data.single} ({data.single_rows} rows); statement files: {len(data.statement)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
