"""GoBD data access export (Z3, Datenträgerüberlassung) in the GDPdU description standard.

An auditor's software (e.g. IDEA) reads a folder holding ``index.xml``, the DTD it names
(``gdpdu-01-09-2004.dtd``) and flat data files. ``export_gobd`` writes one recipient's
books as such a set:

============================  ==================================================================
``index.xml``                 description of every table (GDPdU Beschreibungsstandard 1.5)
``gdpdu-01-09-2004.dtd``      the DTD ``index.xml`` refers to (see ``GDPDU_DTD``)
``konten.csv``                chart of accounts: number, name, type, default category, role
``buchungen.csv``             journal entries (with ``seq`` and hashes when the chain exists)
``buchungszeilen.csv``        postings: Soll/Haben in EUR, school year, category, cost centre
``belege.csv``                vouchers: number, first booking date, entry ids, total
``kategorien.csv``            categories of every rule pack (``rules/*.toml``)
============================  ==================================================================

Data files: UTF-8 without BOM, declared per table with ``<UTF8/>`` (the DTD's default
code page is ANSI); fields separated by ``;``, records by CR LF; a text is put in ``"``
where it needs it (a ``"`` inside is doubled; a line break inside a booking text stays,
within the quotes). A text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets an apostrophe in front, so that no spreadsheet program runs it as a formula
(``ledger.write.cells``); apart from that the books are exported as they are. Each file starts with one header
row of column names, which ``<Range><From>2</From></Range>`` tells the reader to skip (as
the DSFinV-K index files do). Dates ``DD.MM.YYYY``; amounts with a decimal comma, two
places and no digit grouping (``1234,56``), from integer cents, never float.

Element names and order follow the DTD ``gdpdu-01-09-2004.dtd`` (version 1.5 of
1 September 2004); the copy here was taken from the public repository
https://github.com/opencore/gdpdu-java (``src/main/resources/gdpdu-01-09-2004.dtd``),
its declarations unchanged, its explanatory comments shortened. (libxml2 rejects that
DTD's ``Media`` declaration as non-deterministic; ``tests/test_exports.py`` validates
with an equivalent deterministic form of it.)
"""
from __future__ import annotations

import csv
import io
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from ledger.core.errors import LedgerError
from ledger.core.models import Account, JournalEntry, Posting, Recipient
from ledger.core.money import from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import load_packs
from ledger.write.cells import neutralise

DTD_NAME = "gdpdu-01-09-2004.dtd"
DATE_FORMAT = "DD.MM.YYYY"
#: Whether journal entries carry the tamper-evident hash chain (``ledger.core.chain``).
HAS_CHAIN = all(hasattr(JournalEntry, name) for name in ("seq", "entry_hash", "prev_hash"))

_CRLF = "@@CRLF@@"  # placeholder: ElementTree cannot write character references itself


@dataclass(frozen=True)
class Column:
    """One column of a table: ``kind`` is ``"text"``, ``"int"``, ``"money"`` (2 places) or ``"date"``."""

    name: str
    description: str
    kind: str = "text"
    key: bool = False


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of this table reference the primary key of the table named ``references``;
    ``alias`` maps a column name here to the key's name there when they differ."""

    columns: tuple[str, ...]
    references: str
    alias: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Table:
    """A data file and its description: file name, logical name, description, columns (key
    columns first, as the DTD requires), foreign keys and the rows (lists of strings)."""

    url: str
    name: str
    description: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...]
    rows: list[list[str]]


def export_gobd(
    session: Session,
    recipient: Recipient,
    directory: Path,
    *,
    school_year: SchoolYear | None = None,
    now: datetime,
    location: str = "Nordrhein-Westfalen",
) -> list[Path]:
    """Write ``recipient``'s books as a GDPdU data set into ``directory`` (created if missing).

    Each table's ``Validity`` in ``index.xml`` is the school year (1 August – 31 July), or
    without one the first and last booking date of the exported entries (none if there are
    no entries). Nothing is written if a file of the set already exists.

    Args:
        school_year: only journal entries with a posting of that school year (with all their
            postings, so each entry still balances) and the vouchers of those entries;
            None = the whole journal. Accounts and rule-pack categories are always complete.
        now: the export time, named in ``index.xml``.
        location: ``DataSupplier/Location`` in ``index.xml`` (the ledger stores no address).
    Returns:
        The written files: ``index.xml``, the DTD, then the five CSV files.
    Raises:
        LedgerError: one of the files already exists in ``directory`` (an export is
            never overwritten; choose an empty folder).
    """
    directory = Path(directory)
    tables, booked = _tables(session, recipient, school_year)
    names = ["index.xml", DTD_NAME] + [table.url for table in tables]
    taken = [name for name in names if (directory / name).exists()]
    if taken:
        verb = "existiert" if len(taken) == 1 else "existieren"
        raise LedgerError(f"{directory}: {', '.join(taken)} {verb} bereits; bitte ein leeres Verzeichnis angeben")
    directory.mkdir(parents=True, exist_ok=True)

    validity = (school_year.first_day, school_year.last_day) if school_year is not None else booked

    paths = [directory / "index.xml", directory / DTD_NAME]
    paths[0].write_text(_index_xml(recipient, tables, school_year, validity, now, location), encoding="utf-8")
    paths[1].write_text(GDPDU_DTD, encoding="utf-8")
    for table in tables:
        path = directory / table.url
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", quotechar='"', lineterminator="\r\n")
            writer.writerow([column.name for column in table.columns])
            writer.writerows(_safe_row(row, table.columns) for row in table.rows)
        paths.append(path)
    return paths


def gobd_zip(session: Session, recipient: Recipient, *, school_year: SchoolYear | None = None,
             now: datetime, location: str = "Nordrhein-Westfalen") -> bytes:
    """The data set of ``export_gobd`` as one ZIP file (bytes, deflated): ``index.xml``, the DTD
    and the CSV files at its top level, as an auditor's software reads them once unpacked.
    Arguments as for ``export_gobd``."""
    with tempfile.TemporaryDirectory(prefix="inkl-gobd-") as folder:
        paths = export_gobd(session, recipient, Path(folder), school_year=school_year, now=now, location=location)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                info = zipfile.ZipInfo(path.name, date_time=now.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return out.getvalue()


def _safe_row(row: list[str], columns: tuple[Column, ...]) -> list[str]:
    """The row with every text column neutralised against formula injection."""
    return [neutralise(value) if column.kind == "text" else value for value, column in zip(row, columns)]


def german_amount(cents: int) -> str:
    """Integer cents as GDPdU text: ``123456`` → ``"1234,56"`` (decimal comma, no grouping)."""
    return f"{from_cents(cents):f}".replace(".", ",")


def _day(value: date) -> str:
    return f"{value:%d.%m.%Y}"


def _text(value) -> str:
    return "" if value is None else str(value)


def _tables(session: Session, recipient: Recipient,
            school_year: SchoolYear | None) -> tuple[list[Table], tuple[date, date] | None]:
    """The five tables and the first and last booking date of their entries (None: no entries).

    Entries are read before accounts, so every account a posting names is in the chart
    even if someone books meanwhile (entries and postings are never changed once written).
    """
    query = select(JournalEntry).where(JournalEntry.recipient_id == recipient.id)
    if school_year is not None:
        query = query.where(exists(select(Posting.id).where(
            Posting.entry_id == JournalEntry.id, Posting.school_year == str(school_year))))
    entries = session.scalars(
        query.order_by(JournalEntry.id).options(selectinload(JournalEntry.postings).selectinload(Posting.account))
    ).all()
    accounts = session.scalars(
        select(Account).where(Account.recipient_id == recipient.id).order_by(Account.number)).all()
    booked = (min(e.date for e in entries), max(e.date for e in entries)) if entries else None

    konten = Table("konten.csv", "Konten", "Kontenplan des Empfängers (NKF-Kontenrahmen NRW)", (
        Column("Kontonummer", "Kontonummer", key=True),
        Column("Kontobezeichnung", "Bezeichnung des Kontos"),
        Column("Kontoart", "asset = Aktiva, liability = Passiva, revenue = Ertrag, expense = Aufwand, "
                           "equity = Eigenkapital"),
        Column("Standardkategorie", "Kategorie des Regelwerks für Aufwandsbuchungen (leer: keine)"),
        Column("Rolle", "vom Programm gebuchtes Konto: bank, grant_revenue, repayment_charge, "
                        "repayment_liability (leer: keine)"),
    ), (), [[a.number, a.name, a.type, _text(a.category), _text(a.role)] for a in accounts])

    chain_columns = (
        Column("Laufnummer", "Position in der Hash-Kette des Empfängers (1, 2, …)", "int"),
        Column("Hashwert", "SHA-256 (hex) über Vorgängerhash und Inhalt der Buchung"),
        Column("Vorgaengerhash", "Hashwert der vorigen Buchung (64 Nullen für die erste)"),
    ) if HAS_CHAIN else ()
    buchungen = Table("buchungen.csv", "Buchungen", "Buchungen (Journal); Korrekturen nur als Storno", (
        Column("BuchungsID", "laufende Nummer der Buchung in der Datenbank", "int", key=True),
        Column("Buchungsdatum", "Buchungsdatum", "date"),
        Column("Belegnummer", "Belegnummer"),
        Column("Buchungstext", "Buchungstext"),
        Column("Buchungsart", "Herkunft: import, manual, payout, repayment_obligation, "
                              "repayment_payment, reversal"),
        Column("ErfasstVon", "Benutzer oder Importlauf, der die Buchung erfasst hat"),
        Column("ErfasstAm", "Datum der Erfassung", "date"),
        Column("ErfasstUm", "Uhrzeit der Erfassung (hh:mm:ss)"),
        Column("StornoVonBuchungsID", "bei einem Storno: BuchungsID der stornierten Buchung", "int"),
    ) + chain_columns, (
        ForeignKey(("StornoVonBuchungsID",), "Buchungen", (("StornoVonBuchungsID", "BuchungsID"),)),
    ), [
        [str(e.id), _day(e.date), e.voucher_number, e.text, e.kind, e.created_by, _day(e.created_at.date()),
         f"{e.created_at:%H:%M:%S}", _text(e.reverses_id)]
        + ([str(e.seq), e.entry_hash, e.prev_hash] if HAS_CHAIN else [])
        for e in entries
    ])

    buchungszeilen = Table("buchungszeilen.csv", "Buchungszeilen", "Buchungszeilen (Soll und Haben je Konto)", (
        Column("ZeilenID", "laufende Nummer der Buchungszeile", "int", key=True),
        Column("BuchungsID", "Buchung, zu der die Zeile gehört", "int"),
        Column("Kontonummer", "Konto"),
        Column("Soll", "Sollbetrag in EUR", "money"),
        Column("Haben", "Habenbetrag in EUR", "money"),
        Column("Schuljahr", "Schuljahr (1. August bis 31. Juli), z. B. 2023/24"),
        Column("Kategorie", "Kategorie des Regelwerks (nur Aufwand; leer: nicht klassifiziert)"),
        Column("Kostenstelle", "Kostenstelle (leer: keine)"),
    ), (
        ForeignKey(("BuchungsID",), "Buchungen"),
        ForeignKey(("Kontonummer",), "Konten"),
    ), [
        [str(p.id), str(e.id), p.account.number, german_amount(max(p.amount_cents, 0)),
         german_amount(max(-p.amount_cents, 0)), p.school_year, _text(p.category), _text(p.cost_centre)]
        for e in entries for p in e.postings
    ])

    vouchers: dict[str, list[JournalEntry]] = {}
    for entry in entries:
        vouchers.setdefault(entry.voucher_number, []).append(entry)
    belege = Table("belege.csv", "Belege", "Belege mit den zugehörigen Buchungen", (
        Column("Belegnummer", "Belegnummer", key=True),
        Column("Belegdatum", "erstes Buchungsdatum unter dieser Belegnummer", "date"),
        Column("BuchungsIDs", "BuchungsIDs der Buchungen zu diesem Beleg, durch Komma getrennt"),
        Column("Betrag", "Summe der Sollbeträge dieser Buchungen in EUR", "money"),
    ), (), [
        [number, _day(min(e.date for e in group)), ", ".join(str(e.id) for e in group),
         german_amount(sum(p.amount_cents for e in group for p in e.postings if p.amount_cents > 0))]
        for number, group in vouchers.items()
    ])

    kategorien = Table("kategorien.csv", "Kategorien", "Kategorien der Regelwerke (rules/*.toml)", (
        Column("RegelwerkID", "Kennung des Regelwerks", key=True),
        Column("Version", "Version des Regelwerks", key=True),
        Column("KategorieID", "Kennung der Kategorie (Spalte Kategorie der Buchungszeilen)", key=True),
        Column("Status", "permitted = zulässig, capped = zulässig bis zur Obergrenze, excluded = ausgeschlossen"),
        Column("Bezeichnung", "deutsche Bezeichnung"),
        Column("Quelle", "Fundstelle in den Quelldokumenten"),
        Column("GueltigAbSchuljahr", "erstes Schuljahr, für das das Regelwerk gilt"),
        Column("GueltigBisSchuljahr", "letztes Schuljahr (leer: offen)"),
    ), (), [
        [pack.id, pack.version, c.id, c.status, c.label, c.source, str(pack.valid_from),
         _text(pack.valid_until)]
        for pack in load_packs() for c in pack.categories
    ])
    return [konten, buchungen, buchungszeilen, belege, kategorien], booked


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _index_xml(recipient: Recipient, tables: list[Table], school_year: SchoolYear | None,
               validity: tuple[date, date] | None, now: datetime, location: str) -> str:
    scope = f"Schuljahr {school_year}" if school_year else "alle Schuljahre"
    root = ET.Element("DataSet")
    _add(root, "Version", "1.0")
    supplier = _add(root, "DataSupplier")
    _add(supplier, "Name", recipient.name)
    _add(supplier, "Location", location)
    _add(supplier, "Comment", f"Inklusionspauschale (§ 2 InklFöG NRW), Bücher von {recipient.name} "
                              f"({recipient.key}), {scope}; erstellt am {now:%d.%m.%Y %H:%M} mit inkl-ledger")
    media = _add(root, "Media")
    _add(media, "Name", "Datenträger 1")
    for table in tables:
        element = _add(media, "Table")
        _add(element, "URL", table.url)
        _add(element, "Name", table.name)
        _add(element, "Description", table.description)
        if validity is not None:
            valid = _add(element, "Validity")
            period = _add(valid, "Range")
            _add(period, "From", _day(validity[0]))
            _add(period, "To", _day(validity[1]))
            _add(valid, "Format", DATE_FORMAT)
        _add(element, "UTF8")
        _add(element, "DecimalSymbol", ",")
        _add(element, "DigitGroupingSymbol", ".")
        records = _add(element, "Range")  # record 1 is the header row
        _add(records, "From", "2")
        layout = _add(element, "VariableLength")
        _add(layout, "ColumnDelimiter", ";")
        _add(layout, "RecordDelimiter", _CRLF)
        _add(layout, "TextEncapsulator", '"')
        for column in table.columns:
            described = _add(layout, "VariablePrimaryKey" if column.key else "VariableColumn")
            _add(described, "Name", column.name)
            _add(described, "Description", column.description)
            if column.kind == "text":
                _add(described, "AlphaNumeric")
            elif column.kind == "date":
                _add(_add(described, "Date"), "Format", DATE_FORMAT)
            else:
                numeric = _add(described, "Numeric")
                if column.kind == "money":
                    _add(numeric, "Accuracy", "2")
        for key in table.foreign_keys:
            reference = _add(layout, "ForeignKey")
            for name in key.columns:
                _add(reference, "Name", name)
            _add(reference, "References", key.references)
            for source, target in key.alias:
                alias = _add(reference, "Alias")
                _add(alias, "From", source)
                _add(alias, "To", target)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode").replace(_CRLF, "&#13;&#10;")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE DataSet SYSTEM "{DTD_NAME}">\n{body}\n'


#: The GDPdU DTD, version 1.5 of 1 September 2004 (Audicon GmbH for the German tax
#: administration). Declarations as in https://github.com/opencore/gdpdu-java,
#: src/main/resources/gdpdu-01-09-2004.dtd (commit 093a6b4); comments shortened.
GDPDU_DTD = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- GDPdU Beschreibungsstandard, DTD version 1.5 (September-01-2004).
     1.2 added Alias, 1.3 Extension, 1.4 AcceptNoTables (Table optional),
     1.5 several Alias elements per ForeignKey (composite keys). -->

<!-- Simple types -->
<!ELEMENT Version (#PCDATA)>
<!ELEMENT Location (#PCDATA)>
<!ELEMENT Comment (#PCDATA)>
<!ELEMENT Length (#PCDATA)>
<!ELEMENT References (#PCDATA)>
<!ELEMENT From (#PCDATA)>
<!ELEMENT To (#PCDATA)>
<!ELEMENT AcceptNoTables (#PCDATA)>
<!ELEMENT Alias (From, To)>
<!ELEMENT MaxLength (#PCDATA)>
<!-- default: double quote -->
<!ELEMENT TextEncapsulator (#PCDATA)>
<!-- digits right of the decimal symbol; default 0 -->
<!ELEMENT Accuracy (#PCDATA)>
<!ELEMENT ImpliedAccuracy (#PCDATA)>
<!-- default DD.MM.YYYY -->
<!ELEMENT Format (#PCDATA)>
<!-- default comma -->
<!ELEMENT DecimalSymbol (#PCDATA)>
<!-- default dot -->
<!ELEMENT DigitGroupingSymbol (#PCDATA)>
<!ELEMENT Command (#PCDATA)>
<!-- relative file URL only -->
<!ELEMENT URL (#PCDATA)>
<!ELEMENT Description (#PCDATA)>
<!ELEMENT Name (#PCDATA)>
<!ELEMENT Epoch (#PCDATA)>
<!-- defaults: semicolon, CRLF -->
<!ELEMENT ColumnDelimiter (#PCDATA)>
<!ELEMENT RecordDelimiter (#PCDATA)>
<!ELEMENT SkipNumBytes (#PCDATA)>

<!-- Complex types -->
<!ELEMENT Extension (Name, URL)>
<!ELEMENT Range (From, (To | Length)?)>
<!ELEMENT FixedRange (From, (To | Length))>

<!-- The document element -->
<!ELEMENT DataSet (Extension*, Version, DataSupplier?, Command*, Media+, Command*)>

<!-- Data types -->
<!ELEMENT AlphaNumeric EMPTY>
<!ELEMENT Date (Format?)>
<!ELEMENT Numeric ((ImpliedAccuracy | Accuracy)?)>

<!-- Code pages; ANSI is the default when none is given -->
<!ELEMENT ANSI EMPTY>
<!ELEMENT Macintosh EMPTY>
<!ELEMENT OEM EMPTY>
<!ELEMENT UTF16 EMPTY>
<!ELEMENT UTF7 EMPTY>
<!ELEMENT UTF8 EMPTY>

<!-- File formats -->
<!ELEMENT FixedLength ((Length | RecordDelimiter)?, ((FixedPrimaryKey+, FixedColumn*) | (FixedColumn+)), ForeignKey*)>
<!ELEMENT FixedColumn (Name, Description?, (Numeric | AlphaNumeric | Date), Map*, FixedRange)>
<!ELEMENT FixedPrimaryKey (Name, Description?, (Numeric | AlphaNumeric | Date), Map*, FixedRange)>
<!ELEMENT VariableLength (ColumnDelimiter?, RecordDelimiter?, TextEncapsulator?, ((VariablePrimaryKey+, VariableColumn*) | (VariableColumn+)), ForeignKey*)>
<!ELEMENT VariableColumn (Name, Description?, (Numeric | (AlphaNumeric, MaxLength?) | Date), Map*)>
<!ELEMENT VariablePrimaryKey (Name, Description?, (Numeric | (AlphaNumeric, MaxLength?) | Date), Map*)>

<!ELEMENT DataSupplier (Name, Location, Comment)>
<!ELEMENT Media (Name, Command*, Table*, Command*, AcceptNoTables?)>
<!ELEMENT Table (URL, Name?, Description?, Validity?, (ANSI | Macintosh | OEM | UTF16 | UTF7 | UTF8)?, (DecimalSymbol, DigitGroupingSymbol)?, SkipNumBytes?, Range?, Epoch?, (VariableLength | FixedLength))>
<!ELEMENT ForeignKey (Name+, References, Alias*)>
<!ELEMENT Map (Description?, From, To)>
<!ELEMENT Validity (Range, Format?)>
"""
