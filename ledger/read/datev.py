"""DATEV-Format "Buchungsstapel" (EXTF, header version 700, format category 21).

The interchange format most German finance systems write (DATEV, Developer Portal,
"DATEV-Format": Header and Buchungsstapel). A file is Windows-1252 text with CRLF line
ends and ``;`` as separator, texts in double quotes:

- line 1, the format header: ``"EXTF";700;21;"Buchungsstapel";13;<erzeugt am>;;<Herkunft>;
  <exportiert von>;<importiert von>;<Beraternummer>;<Mandantennummer>;<WJ-Beginn>;
  <Sachkontenlänge>;<Datum vom>;<Datum bis>;<Bezeichnung>;<Diktatkürzel>;<Buchungstyp>;
  <Rechnungslegungszweck>;<Festschreibung>;<WKZ>;…`` (``HEADER_FIELDS``);
- line 2, the column headings (``COLUMNS``, 125 in format version 13; files may carry
  fewer trailing columns);
- from line 3, one booking per line: ``Umsatz`` always positive with a decimal comma,
  the ``Soll/Haben-Kennzeichen`` ``S`` (``Konto`` is debited, ``Gegenkonto`` credited)
  or ``H`` (the reverse), ``Belegdatum`` as ``TTMM`` whose year is the one that puts the
  day into the batch's period (``Datum vom`` – ``Datum bis``, so a batch across a year
  end reads ``3112`` and ``0101`` in different years), ``Belegfeld 1`` the voucher,
  ``Buchungstext``, ``KOST1`` the cost centre (``KOST2`` is available to the profile's
  rules).

The columns are read by their position in the format, as DATEV does; the headings of
the columns the ledger reads are checked, so a file with another column order is refused.
Refused as well, with line and column: a ``BU-Schlüssel`` (tax keys split a booking
into net and tax, which has no place in a grant's books), a currency other than EUR,
a ``Generalumkehr`` is read as the reversal it is (Soll and Haben exchanged).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, Callable, Iterator

from dateutil.relativedelta import relativedelta

from ledger.read.csvfile import CsvTable, ImportIssue
from ledger.read.mapping import BoundMapping, RecordMapping, bind
from ledger.read.rows import ImportRow

#: The format header's fields this reader uses: 1-based position → German name.
HEADER_FIELDS = {1: "Kennzeichen", 2: "Versionsnummer", 3: "Formatkategorie", 4: "Formatname", 5: "Formatversion",
                 6: "erzeugt am", 11: "Beraternummer", 12: "Mandantennummer", 13: "WJ-Beginn",
                 14: "Sachkontenlänge", 15: "Datum vom", 16: "Datum bis", 17: "Bezeichnung", 22: "WKZ"}
#: The header version and the format category of a Buchungsstapel this reader takes.
VERSION, CATEGORY, FORMAT_NAME = "700", "21", "Buchungsstapel"

#: The columns of a Buchungsstapel, format version 13, in their order (position = index + 1).
COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs", "Basis-Umsatz",
    "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum", "Belegfeld 1",
    "Belegfeld 2", "Skonto", "Buchungstext", "Postensperre", "Diverse Adressnummer", "Geschäftspartnerbank",
    "Sachverhalt", "Zinssperre", "Beleglink",
    *(f"Beleginfo - {kind} {n}" for n in range(1, 9) for kind in ("Art", "Inhalt")),
    "KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge", "EU-Land u. UStID (Bestimmung)",
    "EU-Steuersatz (Bestimmung)", "Abw. Versteuerungsart", "Sachverhalt L+L", "Funktionsergänzung L+L",
    "BU 49 Hauptfunktionstyp", "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung",
    *(f"Zusatzinformation - {kind} {n}" for n in range(1, 21) for kind in ("Art", "Inhalt")),
    "Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr", "Zugeordnete Fälligkeit", "Skontotyp",
    "Auftragsnummer", "Buchungstyp", "USt-Schlüssel (Anzahlungen)", "EU-Mitgliedstaat (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)", "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)", "Herkunft-Kz",
    "Leerfeld", "KOST-Datum", "SEPA-Mandatsreferenz", "Skontosperre", "Gesellschaftername", "Beteiligtennummer",
    "Identifikationsnummer", "Zeichnernummer", "Postensperre bis", "Bezeichnung SoBil-Sachverhalt",
    "Kennzeichen SoBil-Buchung", "Festschreibung", "Leistungsdatum", "Datum Zuord. Steuerperiode", "Fälligkeit",
    "Generalumkehr (GU)", "Steuersatz", "Land", "Abrechnungsreferenz", "BVV-Position",
    "EU-Mitgliedstaat u. UStID (Ursprung)", "EU-Steuersatz (Ursprung)", "Abw. Skontokonto",
)
_POSITION = {name: index + 1 for index, name in enumerate(COLUMNS)}
AMOUNT, SIDE, CURRENCY, ACCOUNT, COUNTER, TAX_KEY, DAY, VOUCHER = (
    _POSITION[n] for n in ("Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Konto",
                           "Gegenkonto (ohne BU-Schlüssel)", "BU-Schlüssel", "Belegdatum", "Belegfeld 1"))
TEXT, KOST1, KOST2, REVERSAL = (_POSITION[n] for n in ("Buchungstext", "KOST1 - Kostenstelle", "KOST2 - Kostenstelle",
                                                        "Generalumkehr (GU)"))
#: The fewest columns a Buchungsstapel must have (up to ``Buchungstext``).
MIN_COLUMNS = TEXT
#: The columns whose headings are checked, with the start the heading must have (compared
#: without spaces, punctuation and case; umlauts may be written ae, oe, ue).
_CHECKED_HEADINGS = {AMOUNT: "umsatz", SIDE: "sollhaben", ACCOUNT: "konto", COUNTER: "gegenkonto", DAY: "belegdatum",
                     VOUCHER: "belegfeld1", TEXT: "buchungstext", KOST1: "kost1", KOST2: "kost2"}

#: The mapping of the format's columns onto a booking; a profile adds its own rules and account numbers.
DATEV_MAPPING = RecordMapping(
    columns={field: COLUMNS[position - 1] for field, position in (
        ("amount", AMOUNT), ("side", SIDE), ("account", ACCOUNT), ("counter_account", COUNTER), ("date", DAY),
        ("voucher", VOUCHER), ("text", TEXT), ("cost_centre", KOST1))},
    optional=frozenset({"cost_centre"}), sign="side", debit_marks=frozenset({"S"}), credit_marks=frozenset({"H"}),
    fixed_by_format=True,
)


@dataclass(frozen=True)
class BatchHeader:
    """The format header of a Buchungsstapel: format version, consultant and client number,
    fiscal year start, the batch's period (``first_day`` – ``last_day``), its name, currency."""

    format_version: int
    consultant: str
    client: str
    fiscal_year_start: date
    first_day: date
    last_day: date
    name: str
    currency: str

    def day(self, text: str) -> date:
        """``Belegdatum`` ``TTMM`` (or ``TMM``) → the date in the batch's period.

        Raises ValueError with a German message if it is no such day or no such day lies in
        the period.
        """
        day, month = (int(text[:-2]), int(text[-2:])) if re.fullmatch(r"[0-9]{3,4}", text) else (0, 0)
        try:
            date(2000, month, day)  # a leap year: 2902 is a day, 3111 is none
        except ValueError:
            raise ValueError(f"ungültiges Belegdatum {text!r} (erwartet TTMM, z. B. 3110)") from None
        for year in range(self.first_day.year, self.last_day.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if self.first_day <= candidate <= self.last_day:
                return candidate
        raise ValueError(f"Belegdatum {text} liegt nicht im Zeitraum des Stapels "
                         f"({self.first_day:%d.%m.%Y} bis {self.last_day:%d.%m.%Y})")


def read_header(fields: list[str] | None) -> tuple[BatchHeader | None, list[ImportIssue]]:
    """The format header (line 1, split into fields) or the issues naming its fields."""
    issues: list[ImportIssue] = []

    def fail(position: int, message: str) -> None:
        issues.append(ImportIssue(1, f"Kopfzeile Feld {position} ({HEADER_FIELDS[position]})", message))

    if not fields or fields[0] not in ("EXTF", "DTVF"):
        return None, [ImportIssue(1, None, "keine Datei im DATEV-Format (die erste Zeile muss mit \"EXTF\" beginnen)")]
    fields = fields + [""] * (31 - len(fields))
    if fields[1] != VERSION:
        fail(2, f"Versionsnummer {fields[1]!r} wird nicht unterstützt (erwartet {VERSION})")
    if fields[2] != CATEGORY or fields[3] != FORMAT_NAME:
        fail(3, f"Formatkategorie {fields[2]} ({fields[3]}) ist kein Buchungsstapel (erwartet {CATEGORY})")
    if not fields[4].isdigit():
        fail(5, f"ungültige Formatversion {fields[4]!r}")
    dates = {}
    for position in (13, 15, 16):
        try:
            dates[position] = datetime.strptime(fields[position - 1], "%Y%m%d").date()
        except ValueError:
            fail(position, f"ungültiges Datum {fields[position - 1]!r} (erwartet JJJJMMTT)")
    if 15 in dates and 16 in dates and dates[15] > dates[16]:
        fail(16, "Datum bis liegt vor Datum vom")
    elif len(dates) == 3 and not dates[13] <= dates[15] <= dates[16] < dates[13] + relativedelta(years=1):
        fail(15, f"der Zeitraum {dates[15]:%d.%m.%Y} bis {dates[16]:%d.%m.%Y} liegt nicht in einem Wirtschaftsjahr "
                 f"ab {dates[13]:%d.%m.%Y}")
    currency = fields[21] or "EUR"
    if currency != "EUR":
        fail(22, f"Währung {currency} wird nicht unterstützt (nur EUR)")
    if issues:
        return None, issues
    return BatchHeader(int(fields[4]), fields[10], fields[11], dates[13], dates[15], dates[16], fields[16],
                       currency), []


class DatevSource:
    """A Buchungsstapel opened with a profile's mapping (``DATEV_MAPPING`` plus the profile's
    rules and account numbers): a ``ledger.read.rows.RowSource``."""

    def __init__(self, open_binary: Callable[[], BinaryIO], mapping: RecordMapping, encoding: str = "cp1252") -> None:
        self.table = CsvTable(open_binary, (), delimiter=";", encoding=encoding, skip_lines=1, extra_columns="ignore")
        self.size = self.table.size
        self.column_of = mapping.column_of()
        self.header: BatchHeader | None = None
        self.bound: BoundMapping | None = None
        self.issues: list[ImportIssue] = list(self.table.issues)
        if self.table.encoding is not None:
            self.header, header_issues = read_header(next(iter(self.table.preamble()), None))
            self.issues = header_issues or self.issues
        if not self.issues:
            self.issues = self._check_headings()
        if not self.issues:
            positions = {name: index for index, name in enumerate(COLUMNS[:self.table.width])}
            self.bound, self.issues = bind(mapping, positions, self.table.width, 2, parse_day=self.header.day)

    def records(self) -> Iterator[tuple[int, list[str] | None, ImportIssue | None]]:
        """The bookings (line 3 on); a ``Generalumkehr`` row with Soll and Haben exchanged (the
        format knows ``0``/empty and ``1`` only: another value is an error of the row)."""
        if self.issues:
            return
        for line, fields, issue in self.table.records():
            if fields is not None and len(fields) >= REVERSAL and fields[REVERSAL - 1] not in ("", "0", "1"):
                yield line, None, ImportIssue(line, COLUMNS[REVERSAL - 1], f"ungültige Generalumkehr "
                                              f"{fields[REVERSAL - 1][:20]!r} (erlaubt: 0 oder leer, 1)")
                continue
            if fields is not None and len(fields) >= REVERSAL and fields[REVERSAL - 1] == "1":
                fields[SIDE - 1] = {"S": "H", "H": "S"}.get(fields[SIDE - 1], fields[SIDE - 1])
            yield line, fields, issue

    def parse(self, line: int, record: list[str]) -> tuple[ImportRow | None, list[ImportIssue]]:
        """The booking, or its errors (the mapping's and the format's own: tax key, currency)."""
        row, issues = self.bound.parse(line, record)
        own = []
        if record[TAX_KEY - 1]:
            own.append(ImportIssue(line, COLUMNS[TAX_KEY - 1], "Buchungen mit Steuerschlüssel werden nicht "
                                   "übernommen (Umsatzsteuer gehört nicht in die Bücher der Zuweisung)"))
        if record[CURRENCY - 1] not in ("", "EUR"):
            own.append(ImportIssue(line, COLUMNS[CURRENCY - 1], f"Währung {record[CURRENCY - 1]} wird nicht "
                                   "unterstützt (nur EUR)"))
        if own and (row is not None or issues):   # a row a rule skips is not judged
            return None, issues + own
        return row, issues

    def base(self, record: list[str]) -> tuple | None:
        """See ``ledger.read.mapping.BoundMapping.base``."""
        return self.bound.base(record)

    def accounts(self, record: list[str]) -> tuple[str, str, bool]:
        """See ``ledger.read.mapping.BoundMapping.accounts``."""
        return self.bound.accounts(record)

    def _check_headings(self) -> list[ImportIssue]:
        header = self.table.header
        if len(header) < MIN_COLUMNS:
            return [ImportIssue(2, None, f"zu wenige Spalten für einen Buchungsstapel ({len(header)}, "
                                f"mindestens {MIN_COLUMNS} bis Buchungstext)")]
        issues = []
        for position, start in _CHECKED_HEADINGS.items():
            if position <= len(header) and not _normalised(header[position - 1]).startswith(start):
                issues.append(ImportIssue(2, f"Spalte {position}", f"Überschrift {header[position - 1]!r} statt "
                                          f"{COLUMNS[position - 1]!r}: die Spalten stehen nicht in der Reihenfolge "
                                          "des DATEV-Formats"))
        return issues


def _normalised(heading: str) -> str:
    text = heading.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return re.sub(r"[^a-z0-9]", "", text)
