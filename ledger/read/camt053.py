"""Reading bank statements in ISO 20022 camt.053.001.08 (Tagesauszug), as German banks deliver
them since November 2025 (MT940 retired), also several of them in a ZIP archive.

The reading part only: a file's bytes (or path) → ``CamtFile`` with its ``Statement``s and
their ``BankEntry``s, or the file's issues. Matching entries to payouts and repayments and
booking them is the import's work, e.g.::

    result = read_camt053(path)                   # or read_camt053(data, "auszug.zip")
    if not result.ok:                             # book nothing; list every issue
        for name, issue in result.all_issues():
            print(issue.render(name))
    for statement in result.statements:           # the account: ledger.core.bank.account_for_iban
        for entry, identity in statement.identified():   # booked entries only
            ...                                   # entry.signed_cents, entry.remittance, …

**Parser.** lxml, with XPath-like ``find`` on elements of a document validated against the
official XSD (``ledger.core.iso20022``, schema ``camt.053.001.08``). The maintained camt
readers on PyPI were weighed and none chosen: ``pycamt`` (a single class returning dicts of
strings, namespace-agnostic, so it would read a camt.052 or a camt.053.001.02 as readily,
without schema validation, line numbers or streaming); ``camt053`` (young, versions 0.0.x
without a stable API, aimed at generating reversals, its own output validated against
camt.053.001.14); ``okane`` (the Czech banks' dialect of camt.053.001.02). None gives the
line of an entry, which the import's error list and the review queue need, and the few
XPaths a statement needs are less code than adapting any of them.

**Security and memory.** Every document is parsed with entities left unresolved, no
network, no DTD (a document with a DOCTYPE is refused) and libxml2's size limits
(``huge_tree`` off). It is read twice, streaming, with ``lxml.etree.iterparse``: first
validated against the XSD while parsing (elements cleared as they end, so memory stays
flat), then its statements read one ``<Ntry>`` at a time (each cleared once read). Only a
document that fails the schema is parsed whole, to list every error with its line and
element path. Documents are bounded by ``MAX_DOCUMENT_BYTES``; ZIP archives by
``MAX_ARCHIVE_MEMBERS`` members of ``.xml`` files only (no nested archives) and
``MAX_ARCHIVE_BYTES`` decompressed (from the members' headers, which ``zipfile`` enforces
when reading).

**Errors are values** (``ledger.read.csvfile.ImportIssue``, German): the line of the XML
and the element path as the column (``Ntry/Amt``, ``Stmt/Bal/Amt``). A file that is not
XML, another message than camt.053.001.08 (named: camt.052, camt.054, an older camt.053,
…), schema errors (all of them, up to ``MAX_SCHEMA_ERRORS``), an account or amount in
another currency than EUR, an account without a valid IBAN, a booked entry without booking
date, and a statement whose closing balance (CLBD) is not its opening balance (OPBD, or
PRCD, the previous day's closing balance, which the German banks use, DFÜ-Abkommen
Anlage 3) plus its booked entries: each is an issue, and the import must book nothing of a
file with issues (``CamtFile.ok``).

**Status.** Only booked entries (``Sts/Cd`` ``BOOK``) are bookable and count towards the
balance check (``Statement.booked``); pending (``PDNG``), information-only (``INFO``) and
future (``FUTR``) entries are kept apart in ``Statement.not_booked``, to be shown, never
booked.

**Batches** (Sammler, one ``<Ntry>`` with several ``<TxDtls>``): when every transaction
gives its own amount in EUR (``TxDtls/Amt`` or ``TxDtls/AmtDtls/TxAmt/Amt``) and they add up
to the entry's amount, the entry is read as one ``BankEntry`` per transaction (its amount,
counterparty, references and remittance; booking date, status, bank reference and reversal
indicator from the entry); when they do not add up, that is an issue; when an amount is
missing (or the batch is not broken down, only ``Btch/NbOfTxs`` given), the entry is read
whole, with the remittance lines of all its transactions and a counterparty only if they
share one. The DK's rules put a batch's amount, dates and bank reference on the entry and
the Geschäftsvorfallcode on the transactions (Anlage 3, "Sammlerauflösung").

**Counterparty.** The debtor (``RltdPties/Dbtr``, its ``DbtrAcct``) of a credit, the
creditor of a debit, the ultimate debtor or creditor when the party itself is missing. A
reversal (``RvslInd`` true) reports the original transaction's parties, so the side is
swapped: the counterparty of a reversed debit (now a credit) is its creditor.

**Identity** (``BankEntry.identity``): see there.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, TypeVar

from lxml import etree

from ledger.core import iso20022
from ledger.core.bank import normalise_iban
from ledger.core.characters import forbidden_character_message
from ledger.core.errors import LedgerError
from ledger.core.money import AmountError, format_german, from_cents, parse_decimal, to_cents
from ledger.read.csvfile import ImportIssue

MESSAGE = "camt.053.001.08"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{MESSAGE}"
#: The only currency the ledger books.
CURRENCY = "EUR"
#: Largest camt document read, in bytes (the DK recommends at most 20 MB per message).
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
#: Most members of a ZIP archive, and most bytes of all its members decompressed.
MAX_ARCHIVE_MEMBERS = 500
MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
#: Schema errors listed per document; further ones are counted in one last issue.
MAX_SCHEMA_ERRORS = 100

#: Entry statuses (``Sts/Cd``): only ``BOOK`` is bookable.
BOOKED = "BOOK"
#: ``EndToEndId`` of a payment whose payer gave none (SEPA rulebook): read as no id.
NOT_PROVIDED = "NOTPROVIDED"

_NS = {"c": NAMESPACE}
_T = TypeVar("_T")
_ISO_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:([a-z]{4})\.(\d{3})\.(\d{3})\.(\d{2})$")
#: How a ZIP archive starts: a member's local header, or the end record of an empty archive.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar")


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


_NTRY, _STMT, _GRPHDR = _tag("Ntry"), _tag("Stmt"), _tag("GrpHdr")


@dataclass(frozen=True, slots=True)
class TransactionCode:
    """The bank transaction code of an entry: the ISO code (``Domn/Cd``, ``Fmly/Cd``,
    ``SubFmlyCd``, e.g. PMNT / RCDT / ESCT for a received SEPA credit transfer) and the
    proprietary one, which German banks fill with the SWIFT transaction type, the
    Geschäftsvorfallcode and the Primanota joined by ``+`` (``"NTRF+166+931"``, issuer
    ``"DK"``, formerly ``"ZKA"``; DFÜ-Abkommen Anlage 3). Each part None when absent."""

    domain: str | None = None
    family: str | None = None
    sub_family: str | None = None
    proprietary: str | None = None
    issuer: str | None = None

    @property
    def gvc(self) -> str | None:
        """The German Geschäftsvorfallcode (three digits, ``"166"`` for a SEPA credit
        transfer received) from a DK/ZKA proprietary code, else None."""
        if not self.proprietary or (self.issuer or "").upper() not in ("DK", "ZKA"):
            return None
        parts = self.proprietary.split("+")
        return parts[1] if len(parts) > 1 and re.fullmatch(r"\d{3}", parts[1]) else None


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One entry of a statement (``<Ntry>``), or one transaction of a batch entry.

    - ``line``: line of the ``<Ntry>`` element in the XML; ``transaction_line`` the line of
      its ``<TxDtls>`` (None for an entry without one).
    - ``iban``: the statement's account (compact).
    - ``status``: ``Sts/Cd`` (``BOOK``, ``PDNG``, ``INFO``, ``FUTR``) or ``Sts/Prtry``.
    - ``booking_date``: ``BookgDt/Dt`` (or the date of ``BookgDt/DtTm``); None only for an
      entry that is not booked. ``value_date`` likewise from ``ValDt``.
    - ``cents``: the amount in integer cents, positive; ``credit``: ``CdtDbtInd`` is
      ``CRDT`` (money in). ``signed_cents`` is the effect on the account.
    - ``reversal``: ``RvslInd`` true (a Storno of an earlier entry).
    - ``account_servicer_reference``: the bank's reference ``AcctSvcrRef``;
      ``end_to_end_id`` (None for ``NOTPROVIDED``), ``mandate_id``, ``creditor_reference``
      (``RmtInf/Strd/CdtrRefInf/Ref``, where Kassenzeichen and RF references stand).
    - ``remittance_lines``: the ``RmtInf/Ustrd`` lines, then ``Strd/AddtlRmtInf``.
    - ``counterparty_name``, ``counterparty_iban``: see the module's docstring.
    - ``code``: the bank transaction code; ``additional_info``: ``AddtlNtryInf`` (the bank's
      posting text, e.g. ``"SEPA-GUTSCHRIFT"``).
    - ``batch_size``: the transactions of the entry (1 for a single payment);
      ``batch_index``: this transaction's position (0, 1, …) when a batch was split, else None.
    """

    line: int
    transaction_line: int | None
    iban: str
    status: str
    booking_date: date | None
    value_date: date | None
    cents: int
    credit: bool
    reversal: bool
    account_servicer_reference: str | None
    end_to_end_id: str | None
    mandate_id: str | None
    creditor_reference: str | None
    remittance_lines: tuple[str, ...]
    counterparty_name: str | None
    counterparty_iban: str | None
    code: TransactionCode
    additional_info: str | None
    batch_size: int = 1
    batch_index: int | None = None

    @property
    def signed_cents(self) -> int:
        """The entry's effect on the account in cents: positive for a credit, negative for a debit."""
        return self.cents if self.credit else -self.cents

    @property
    def amount(self) -> Decimal:
        """The amount in EUR, positive."""
        return from_cents(self.cents)

    @property
    def indicator(self) -> str:
        """``"CRDT"`` or ``"DBIT"``."""
        return "CRDT" if self.credit else "DBIT"

    @property
    def bookable(self) -> bool:
        """True for a booked entry (``BOOK``), the only kind the ledger may book."""
        return self.status == BOOKED

    @property
    def remittance(self) -> str:
        """The remittance lines joined by one space (``""`` if there are none)."""
        return " ".join(self.remittance_lines)

    def base(self) -> tuple:
        """What makes two entries of one statement the same entry to the identity (their
        occurrence tells them apart)."""
        return (self.iban, self.booking_date, self.signed_cents, self.reversal, self.account_servicer_reference,
                self.end_to_end_id, self.remittance, self.creditor_reference)

    def identity(self, occurrence: int) -> str:
        """SHA-256 (hex) of what makes this entry the same entry when a statement comes again:
        the account's IBAN, the booking date, the signed amount, the reversal indicator, the
        bank's reference ``AcctSvcrRef`` (when present), the end-to-end id, the remittance
        (its lines and the creditor reference), and ``occurrence`` (0, 1, …) among the
        entries of the same statement with the same base (``identities`` counts them).

        Why: banks send a statement again (a duplicate, ``CpyDplctInd``, or after a failed
        download), and statements of overlapping days (a monthly statement after the daily
        ones, a day fetched twice) repeat entries; a re-import must recognise them. The
        bank's reference is its unique key of a booking when present; the other fields keep
        entries apart at banks that send none or a constant (``NONREF``). Nothing that
        depends on the file (line, statement id, file name) is part of it. The occurrence
        keeps two genuinely identical payments of one day apart, as the CSV import does.
        """
        return _sha256(json.dumps(["camt053", *[_plain(v) for v in self.base()], occurrence], ensure_ascii=False))

    def content_hash(self) -> str:
        """SHA-256 (hex) over every field but the line numbers, to spot a known entry whose
        content changed (a corrected statement)."""
        values = [self.iban, self.status, self.booking_date, self.value_date, self.cents, self.credit, self.reversal,
                  self.account_servicer_reference, self.end_to_end_id, self.mandate_id, self.creditor_reference,
                  list(self.remittance_lines), self.counterparty_name, self.counterparty_iban,
                  [self.code.domain, self.code.family, self.code.sub_family, self.code.proprietary, self.code.issuer],
                  self.additional_info, self.batch_size, self.batch_index]
        return _sha256(json.dumps([_plain(v) for v in values], ensure_ascii=False))


def identities(entries: Iterable[BankEntry]) -> list[tuple[BankEntry, str]]:
    """Each entry with its ``identity``, its occurrence counted among the given entries
    with the same base (pass one statement's entries, in document order)."""
    seen: Counter = Counter()
    result = []
    for entry in entries:
        base = entry.base()
        result.append((entry, entry.identity(seen[base])))
        seen[base] += 1
    return result


@dataclass(frozen=True)
class Statement:
    """One account statement (``<Stmt>``) of a camt.053 document.

    - ``member``: the file (or ZIP member) it came from; ``line``: line of ``<Stmt>``.
    - ``message_id``: ``GrpHdr/MsgId``; ``statement_id``: ``Stmt/Id``;
      ``sequence_number``: ``ElctrncSeqNb`` (the electronic statement number);
      ``legal_sequence_number``: ``LglSeqNb``; ``copy_duplicate``: ``CpyDplctInd``
      (``DUPL`` for a statement sent again), each None when absent.
    - ``created``: ``Stmt/CreDtTm``, else ``GrpHdr/CreDtTm`` (with the offset given).
    - ``iban`` (compact), ``currency`` (always ``"EUR"`` for a statement without issues),
      ``owner_name`` (``Acct/Ownr/Nm``).
    - ``opening_cents`` / ``opening_date`` / ``opening_type``: the opening booked balance
      (``OPBD``, else ``PRCD``), signed cents; ``closing_cents`` / ``closing_date``: ``CLBD``.
    - ``from_date`` / ``to_date``: the dates of ``FrToDt`` (None when absent).
    - ``booked``: the bookable entries (``BOOK``), in document order; ``not_booked``: the
      others (pending, information), never to be booked.
    """

    member: str
    line: int
    message_id: str
    statement_id: str
    sequence_number: int | None
    legal_sequence_number: int | None
    copy_duplicate: str | None
    created: datetime | None
    iban: str
    currency: str
    owner_name: str | None
    opening_cents: int
    opening_date: date
    opening_type: str
    closing_cents: int
    closing_date: date
    from_date: date | None
    to_date: date | None
    booked: tuple[BankEntry, ...]
    not_booked: tuple[BankEntry, ...]

    def identified(self) -> list[tuple[BankEntry, str]]:
        """The booked entries with their identities (``identities``)."""
        return identities(self.booked)


@dataclass(frozen=True)
class CamtDocument:
    """One camt document: the file itself, or one member of a ZIP archive (``member`` its
    name). ``statements`` as far as they could be read; ``issues`` of the document. A
    document with issues must not be booked, not even in part."""

    member: str
    statements: tuple[Statement, ...] = ()
    issues: tuple[ImportIssue, ...] = ()


@dataclass(frozen=True)
class CamtFile:
    """What ``read_camt053`` read of a file: its documents (one for an XML file, one per
    member of a ZIP archive) and the issues of the archive as a whole.

    ``ok`` only if neither the archive nor any document has an issue; only then may the
    import book its statements."""

    name: str
    documents: tuple[CamtDocument, ...] = ()
    issues: tuple[ImportIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues and all(not document.issues for document in self.documents)

    @property
    def statements(self) -> list[Statement]:
        """Every statement of every document, in file order."""
        return [statement for document in self.documents for statement in document.statements]

    def all_issues(self) -> list[tuple[str, ImportIssue]]:
        """Every issue with the name it belongs to: the file's for the archive's own, the
        member's for a document's (the file's name for a plain XML file)."""
        return ([(self.name, issue) for issue in self.issues]
                + [(document.member, issue) for document in self.documents for issue in document.issues])


# --- reading files -------------------------------------------------------------------------

def read_camt053(source: bytes | Path, name: str | None = None) -> CamtFile:
    """Read a camt.053.001.08 file, or a ZIP archive of them, from its bytes or its path.

    ``name`` is the file's name as the user gave it (default: the path's name, or
    ``"camt053.xml"``). A ZIP archive is recognised by its content, not its name. Never
    raises for the file's content: every problem is an issue of the result (see the
    module's docstring); raises OSError only when the path cannot be read.
    """
    if isinstance(source, Path):
        name = name or source.name
        with source.open("rb") as stream:
            magic = stream.read(4)
        if magic in _ZIP_MAGIC:
            return _read_archive(name, lambda: source.open("rb"))
        return CamtFile(name, (_read_document(name, lambda: source.open("rb"), source.stat().st_size),))
    name = name or "camt053.xml"
    data = bytes(source)
    if data[:4] in _ZIP_MAGIC:
        return _read_archive(name, lambda: io.BytesIO(data))
    return CamtFile(name, (_read_document(name, lambda: io.BytesIO(data), len(data)),))


def _read_archive(name: str, open_binary: Callable[[], BinaryIO]) -> CamtFile:
    """The documents of a ZIP archive, each ``.xml`` member read in turn; members that are
    not ``.xml`` files, nested archives, too many or too large members are issues."""
    def refuse(message: str) -> CamtFile:
        return CamtFile(name, (), (ImportIssue(1, None, message),))

    with open_binary() as stream:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError) as exc:
            return refuse(f"beschädigtes ZIP-Archiv ({exc})")
        with archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > MAX_ARCHIVE_MEMBERS:
                return refuse(f"ZIP-Archiv mit {len(members)} Dateien; höchstens {MAX_ARCHIVE_MEMBERS} werden gelesen")
            total = sum(info.file_size for info in members)
            if total > MAX_ARCHIVE_BYTES:
                return refuse(f"ZIP-Archiv entpackt {total} Bytes groß; höchstens {MAX_ARCHIVE_BYTES} Bytes "
                              f"werden gelesen")
            if not members:
                return refuse("ZIP-Archiv ohne Dateien")
            documents = []
            for info in members:
                problem = _member_problem(info)
                if problem:
                    documents.append(CamtDocument(info.filename, (), (ImportIssue(1, None, problem),)))
                    continue
                try:
                    documents.append(_read_document(info.filename, lambda info=info: archive.open(info),
                                                    info.file_size))
                except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC or stream error in the member
                    documents.append(CamtDocument(info.filename, (),
                                                  (ImportIssue(1, None, f"Datei im ZIP-Archiv beschädigt ({exc})"),)))
    return CamtFile(name, tuple(documents))


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a ZIP member is not read, or None."""
    lower = info.filename.lower()
    if lower.endswith(_ARCHIVE_SUFFIXES):
        return "verschachteltes Archiv im ZIP-Archiv; nur XML-Kontoauszüge werden gelesen"
    if not lower.endswith(".xml"):
        return "keine XML-Datei (.xml); ein ZIP-Archiv darf nur camt.053-Kontoauszüge enthalten"
    if info.flag_bits & 0x1:
        return "verschlüsselte Datei im ZIP-Archiv"
    if info.file_size > MAX_DOCUMENT_BYTES:
        return f"Datei {info.file_size} Bytes groß; höchstens {MAX_DOCUMENT_BYTES} Bytes je Kontoauszug"
    return None


def _read_document(member: str, open_binary: Callable[[], BinaryIO], size: int) -> CamtDocument:
    """One camt document: validated streaming, then read streaming (see the module)."""
    if size > MAX_DOCUMENT_BYTES:
        return CamtDocument(member, (), (ImportIssue(
            1, None, f"Datei {size} Bytes groß; höchstens {MAX_DOCUMENT_BYTES} Bytes je Kontoauszug"),))
    if size == 0:
        return CamtDocument(member, (), (ImportIssue(1, None, "Datei ist leer"),))
    issues = _check(open_binary)
    if issues:
        return CamtDocument(member, (), tuple(issues))
    reader = _StatementReader(member)
    try:
        with open_binary() as stream:
            statements = reader.read(stream)
    except etree.XMLSyntaxError:
        # lxml's iterparse with a schema and entities unresolved (as in ``_check``) recovers
        # from some well-formedness errors, e.g. closes the tags of a truncated file, and
        # raises nothing; the reading pass, without a schema, does raise.
        return CamtDocument(member, (), tuple(_diagnose(open_binary)))
    return CamtDocument(member, tuple(statements), tuple(sorted(reader.issues, key=lambda issue: issue.line)))


def _iterparse(stream: BinaryIO, **options) -> Iterator[tuple[str, etree._Element]]:
    return etree.iterparse(stream, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True, remove_pis=True, **options)


def _check(open_binary: Callable[[], BinaryIO]) -> list[ImportIssue]:
    """Validate a document against the camt.053.001.08 schema while streaming it; [] if it
    is valid, else the issues (``_diagnose``)."""
    try:
        with open_binary() as stream:
            first = True
            for event, element in _iterparse(stream, events=("start", "end"), schema=iso20022.schema(MESSAGE)):
                if first:
                    first = False
                    if element.getroottree().docinfo.doctype:
                        return [_doctype_issue()]
                if event == "end":
                    element.clear(keep_tail=False)
                    while element.getprevious() is not None:
                        del element.getparent()[0]
    except etree.XMLSyntaxError:
        return _diagnose(open_binary)
    return []


def _doctype_issue() -> ImportIssue:
    return ImportIssue(1, None, "Dokumenttypdeklaration (DOCTYPE) ist in einem Kontoauszug nicht erlaubt")


def _diagnose(open_binary: Callable[[], BinaryIO]) -> list[ImportIssue]:
    """Why a document is not a valid camt.053.001.08: not XML, another message, or its
    schema errors (each with line and element path). Parses the whole document (it is
    bounded by ``MAX_DOCUMENT_BYTES``)."""
    with open_binary() as stream:
        data = stream.read()
    try:
        root = etree.fromstring(data, iso20022.secure_parser(remove_comments=True, remove_pis=True))
    except etree.XMLSyntaxError as exc:
        return [_not_xml(data, exc)]
    tree = root.getroottree()
    if tree.docinfo.doctype:
        return [_doctype_issue()]
    wrong = _wrong_message(root)
    if wrong:
        return [ImportIssue(source_line(root), None, wrong)]
    checker = iso20022.schema(MESSAGE)
    if checker.validate(tree):  # valid as a whole though the stream failed: should not happen
        return [ImportIssue(1, None, "Kontoauszug konnte nicht gelesen werden")]
    errors = list(checker.error_log)
    issues = [ImportIssue(error.line or 1, _error_path(tree, error.path), _german_schema_error(error.message))
              for error in errors[:MAX_SCHEMA_ERRORS]]
    if len(errors) > MAX_SCHEMA_ERRORS:
        issues.append(ImportIssue(errors[MAX_SCHEMA_ERRORS].line or 1, None,
                                  f"… und {len(errors) - MAX_SCHEMA_ERRORS} weitere Schemafehler"))
    return issues


def _not_xml(data: bytes, exc: etree.XMLSyntaxError) -> ImportIssue:
    line = exc.lineno or 1
    if re.search(rb"<!DOCTYPE", data[:4096].replace(b"\x00", b"")):   # e.g. an entity bomb, stopped by libxml2
        return _doctype_issue()
    text = data[:200].lstrip()
    if text.startswith((b":20:", b"{1:", b":940:")) or b"\n:20:" in text:
        return ImportIssue(1, None, "keine XML-Datei: das sieht nach einem MT940-Auszug aus; eingelesen wird der "
                                    "Kontoauszug im Format camt.053.001.08")
    if not text:
        return ImportIssue(1, None, "Datei ist leer")
    message = re.sub(r", line \d+, column \d+$", "", exc.msg or "")
    if message.startswith("Start tag expected") or message.startswith("Document is empty"):
        return ImportIssue(line, None, "keine XML-Datei; erwartet ein Kontoauszug im Format camt.053.001.08")
    if match := re.match(r"Premature end of data in tag (\S+)", message):
        return ImportIssue(line, None, f"XML-Datei endet vorzeitig, Element {match.group(1)} ist nicht geschlossen "
                                       f"(unvollständig übertragen?)")
    if match := re.match(r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)", message):
        return ImportIssue(line, None, f"kein gültiges XML: Element {match.group(1)} aus Zeile {match.group(2)} "
                                       f"wird mit {match.group(3)} geschlossen")
    return ImportIssue(line, None, f"kein gültiges XML: {message}")


#: What the other ISO 20022 messages a bank might send are, for the issue naming them.
_OTHER_MESSAGES = {
    "camt.052": "Kontoumsatzreport (camt.052, untertägige Umsätze), kein Tagesauszug",
    "camt.054": "Buchungsavis (camt.054, Einzel- oder Sammelbuchungsdatei), kein Tagesauszug",
    "pain.001": "Überweisungsauftrag (pain.001), kein Kontoauszug",
    "pain.002": "Statusmeldung zu einem Zahlungsauftrag (pain.002), kein Kontoauszug",
    "pain.008": "Lastschriftauftrag (pain.008), kein Kontoauszug",
}


def _wrong_message(root: etree._Element) -> str | None:
    """German words for a root element that is not camt.053.001.08's ``Document``, or None."""
    qname = etree.QName(root)
    if qname.namespace == NAMESPACE:
        return None if qname.localname == "Document" else (
            f"Wurzelelement {qname.localname} statt Document; kein camt.053.001.08-Kontoauszug")
    match = _ISO_NAMESPACE.match(qname.namespace or "")
    if not match:
        where = f"Namensraum {qname.namespace}" if qname.namespace else "ohne Namensraum"
        return f"kein ISO-20022-Kontoauszug (Wurzelelement {qname.localname}, {where}); erwartet camt.053.001.08"
    message = ".".join(match.groups())
    family = ".".join(match.groups()[:2])
    if family == "camt.053":
        age = "älteren" if int(match.group(4)) < 8 else "neueren"
        return (f"Kontoauszug in der {age} Version {message}; eingelesen wird {MESSAGE}, das Format, das die Banken "
                f"seit November 2025 liefern (bei der Bank anfordern)")
    what = _OTHER_MESSAGES.get(family, f"eine andere ISO-20022-Nachricht ({family})")
    return f"Nachricht {message}: {what}; erwartet {MESSAGE} (Tagesauszug)"


def _error_path(tree: etree._ElementTree, xpath: str | None) -> str | None:
    """The element path (``Ntry/Amt``) of a schema error's node."""
    if not xpath:
        return None
    try:
        found = tree.xpath(xpath)
    except etree.XPathError:
        return None
    return element_path(found[0]) if found and isinstance(found[0], etree._Element) else None


def source_line(element: etree._Element) -> int:
    """The line of ``element``'s start tag.

    libxml2 keeps a node's line in 16 bits; beyond line 65535 it takes an element's line from
    its first text child, dated where that text ends, so lxml's ``sourceline`` is too high by
    the line breaks of the text before the first child element (the indentation of a
    pretty-printed file). They are subtracted; up to 65535 ``sourceline`` is exact.
    """
    line = element.sourceline or 1
    if line > 65535 and element.text:
        line -= element.text.count("\n")
    return line


def element_path(element: etree._Element) -> str:
    """The path of local names naming ``element`` for a reader: from the enclosing
    ``Ntry`` (``Ntry/NtryDtls/TxDtls/Amt``), else from ``Stmt`` (``Stmt/Bal/Amt``), else
    from below ``BkToCstmrStmt`` (``GrpHdr/MsgId``)."""
    names = []
    node = element
    while node is not None:
        name = etree.QName(node).localname
        if name in ("BkToCstmrStmt", "Document"):
            break
        names.append(name)
        if name in ("Ntry", "Stmt"):
            break
        node = node.getparent()
    return "/".join(reversed(names)) or etree.QName(element).localname


_FACET = re.compile(r"^Element '([^']+)'(?:, attribute '([^']+)')?: \[facet '(\w+)'\] (.*)$")
_NOT_EXPECTED = re.compile(r"^Element '([^']+)': This element is not expected\.(?: Expected is (?:one of )?\( (.*) \)\.)?$")
_MISSING = re.compile(r"^Element '([^']+)': Missing child element\(s\)\. Expected is (?:one of )?\( (.*) \)\.$")
_TYPE = re.compile(r"^Element '([^']+)'(?:, attribute '([^']+)')?: '(.*)' is not a valid value of the "
                   r"(?:atomic|list|union) type '([^']+)'\.$")
_TEXT_NOT_ALLOWED = re.compile(r"^Element '([^']+)': Character content other than whitespace is not allowed")
_ATTRIBUTE_MISSING = re.compile(r"^Element '([^']+)': The attribute '([^']+)' is required but missing\.$")
#: What a value of a schema type looks like, for the issue naming a wrong one.
_TYPE_WORDS = {"ISODate": "ein Datum (JJJJ-MM-TT)", "ISODateTime": "ein Zeitpunkt (JJJJ-MM-TTThh:mm:ss)",
               "TrueFalseIndicator": "true oder false", "YesNoIndicator": "true oder false",
               "Number": "eine ganze Zahl", "DecimalNumber": "eine Zahl",
               "ActiveOrHistoricCurrencyAndAmount_SimpleType": "ein Betrag mit Dezimalpunkt (z. B. 1234.56)"}


def _german_schema_error(message: str) -> str:
    """libxml2's schema error (English) in German; an error of another kind keeps libxml2's words."""
    text = iso20022.strip_namespaces(message).strip()
    if match := _NOT_EXPECTED.match(text):
        expected = f" (erwartet: {match.group(2)})" if match.group(2) else ""
        return f"Element {match.group(1)} ist an dieser Stelle nicht erlaubt{expected}"
    if match := _MISSING.match(text):
        return f"in Element {match.group(1)} fehlt ein Pflichtelement (erwartet: {match.group(2)})"
    if match := _TYPE.match(text):
        element, attribute, value, kind = match.groups()
        where = f"Attribut {attribute} von {element}" if attribute else f"Element {element}"
        return f"{where}: Wert {value!r} ungültig, erwartet {_TYPE_WORDS.get(kind, f'Typ {kind}')}"
    if match := _FACET.match(text):
        element, attribute, facet, detail = match.groups()
        where = f"Attribut {attribute} von {element}" if attribute else f"Element {element}"
        quoted = re.findall(r"'([^']*)'", detail)
        if facet == "enumeration" and quoted:
            allowed = ", ".join(quoted[1:])
            return f"{where}: Wert {quoted[0]!r} ist kein zulässiger Code (erlaubt: {allowed})"
        words = {"pattern": "hat nicht das vorgeschriebene Format (Muster {1})",
                 "minInclusive": "ist kleiner als der Mindestwert {1}", "maxInclusive": "ist größer als der Höchstwert {1}",
                 "fractionDigits": "hat mehr als {1} Nachkommastellen", "totalDigits": "hat mehr als {1} Stellen"}
        if facet in words and len(quoted) >= 2:
            return f"{where}: Wert {quoted[0]!r} " + words[facet].format(*quoted)
        if facet in ("maxLength", "minLength") and len(quoted) >= 2:
            longer = "länger als" if facet == "maxLength" else "kürzer als"
            return f"{where}: Wert mit {quoted[0]} Zeichen ist {longer} erlaubt ({quoted[1]})"
    if match := _TEXT_NOT_ALLOWED.match(text):
        return f"Element {match.group(1)} darf keinen Text enthalten, nur Unterelemente"
    if match := _ATTRIBUTE_MISSING.match(text):
        return f"Element {match.group(1)}: Pflichtattribut {match.group(2)} fehlt"
    return f"verstößt gegen das Schema {MESSAGE}: {text}"


# --- reading a valid document ----------------------------------------------------------------

class _StatementReader:
    """Reads the statements of a schema-valid document, streaming one ``<Ntry>`` at a time.
    ``issues`` collects what the schema cannot check (currency, IBAN, amounts in cents,
    booking dates, the closing balance)."""

    def __init__(self, member: str) -> None:
        self.member = member
        self.issues: list[ImportIssue] = []
        self._message_id = ""
        self._message_created: datetime | None = None

    def read(self, stream: BinaryIO) -> list[Statement]:
        statements: list[Statement] = []
        current: _Pending | None = None
        for _event, element in _iterparse(stream, events=("end",), tag=(_GRPHDR, _NTRY, _STMT)):
            if element.tag == _GRPHDR:
                self._message_id = _text(element, "c:MsgId") or ""
                self._message_created = self._dated(element, lambda: _datetime(_text(element, "c:CreDtTm")))
                continue
            if current is None:  # the statement's first entry, or its end: its account is read
                current = _Pending(self._account(element.getparent() if element.tag == _NTRY else element))
            if element.tag == _NTRY:
                self._take_entry(element, current)
                element.clear(keep_tail=False)
                while (previous := element.getprevious()) is not None and previous.tag == _NTRY:
                    element.getparent().remove(previous)
                continue
            statement = self._dated(element, lambda: self._statement(element, current))
            if statement is not None:
                statements.append(statement)
            current = None
            element.clear(keep_tail=False)
        return statements

    def _take_entry(self, ntry: etree._Element, current: _Pending) -> None:
        """Read one ``<Ntry>`` into the statement being read (a text with a control or bidi
        character, ``ledger.core.characters.FORBIDDEN_CHARACTERS``, is an issue at its element)."""
        issues_before = len(self.issues)
        for node in ntry.iter(tag=etree.Element):
            message = node.text and forbidden_character_message(node.text)
            if message:
                self._issue(node, message)
        entries, entry_cents = self._dated(ntry, lambda: self._entries(ntry, current.account)) or ([], None)
        for entry in entries:
            (current.booked if entry.bookable else current.not_booked).append(entry)
        if len(self.issues) > issues_before:
            current.booked_sum = None  # an entry could not be read: the balance cannot be checked
        elif entry_cents is not None and current.booked_sum is not None:
            current.booked_sum += entry_cents

    def _dated(self, element: etree._Element, read: Callable[[], _T]) -> _T | None:
        """``read()``, or None with an issue at ``element`` if a date in it cannot be represented."""
        try:
            return read()
        except _DateError as exc:
            self._issue(element, f"Datum {exc.args[0]!r} nicht lesbar")
            return None

    def _issue(self, element: etree._Element, message: str) -> None:
        self.issues.append(ImportIssue(source_line(element), element_path(element), message))

    # --- the account and the statement

    def _account(self, stmt: etree._Element) -> _Account:
        acct = stmt.find("c:Acct", _NS)
        iban_element = acct.find("c:Id/c:IBAN", _NS)
        iban = None
        if iban_element is None:
            self._issue(acct.find("c:Id", _NS), "Konto ohne IBAN; eingelesen werden nur Konten mit IBAN")
        else:
            try:
                iban = normalise_iban(iban_element.text or "")
            except LedgerError as exc:
                self._issue(iban_element, f"Konto-IBAN ungültig: {exc}")
        currency_element = acct.find("c:Ccy", _NS)
        currency_ok = True
        if currency_element is not None and (currency_element.text or "").strip() != CURRENCY:
            currency_ok = False
            self._issue(currency_element, f"Kontowährung {currency_element.text.strip()}; eingelesen werden nur "
                                          f"Konten in {CURRENCY}")
        return _Account(iban or "", currency_ok and iban is not None)

    def _statement(self, stmt: etree._Element, current: _Pending) -> Statement | None:
        """The statement of ``stmt`` and its entries read so far, its balances checked; None
        (with issues) if its account or balances cannot be read."""
        account, booked_sum = current.account, current.booked_sum
        if not account.usable:
            return None
        balances = {}
        for bal in stmt.findall("c:Bal", _NS):
            code = _text(bal, "c:Tp/c:CdOrPrtry/c:Cd")
            if code in ("OPBD", "PRCD", "CLBD") and code not in balances:
                balances[code] = bal
        opening_type = "OPBD" if "OPBD" in balances else "PRCD"
        opening = self._balance(balances.get(opening_type), stmt, "Anfangssaldo (OPBD oder PRCD)")
        closing = self._balance(balances.get("CLBD"), stmt, "Schlusssaldo (CLBD)")
        if opening is None or closing is None:
            return None
        (opening_cents, opening_date), (closing_cents, closing_date) = opening, closing
        if booked_sum is not None and opening_cents + booked_sum != closing_cents:
            expected = opening_cents + booked_sum
            self._issue(balances["CLBD"].find("c:Amt", _NS),
                        f"Schlusssaldo {_eur(closing_cents)} EUR stimmt nicht: Anfangssaldo {_eur(opening_cents)} EUR "
                        f"+ gebuchte Umsätze {_eur(booked_sum)} EUR = {_eur(expected)} EUR "
                        f"(Differenz {_eur(closing_cents - expected)} EUR)")
        period = stmt.find("c:FrToDt", _NS)
        return Statement(
            member=self.member, line=source_line(stmt), message_id=self._message_id,
            statement_id=_text(stmt, "c:Id") or "",
            sequence_number=_int(_text(stmt, "c:ElctrncSeqNb")),
            legal_sequence_number=_int(_text(stmt, "c:LglSeqNb")),
            copy_duplicate=_text(stmt, "c:CpyDplctInd"),
            created=_datetime(_text(stmt, "c:CreDtTm")) or self._message_created,
            iban=account.iban, currency=CURRENCY, owner_name=_text(stmt, "c:Acct/c:Ownr/c:Nm"),
            opening_cents=opening_cents, opening_date=opening_date, opening_type=opening_type,
            closing_cents=closing_cents, closing_date=closing_date,
            from_date=_day(_text(period, "c:FrDtTm")) if period is not None else None,
            to_date=_day(_text(period, "c:ToDtTm")) if period is not None else None,
            booked=tuple(current.booked), not_booked=tuple(current.not_booked),
        )

    def _balance(self, bal: etree._Element | None, stmt: etree._Element, what: str) -> tuple[int, date] | None:
        """A balance as (signed cents, date), or None with an issue."""
        if bal is None:
            self._issue(stmt, f"{what} fehlt")
            return None
        cents = self._cents(bal.find("c:Amt", _NS))
        if cents is None:
            return None
        credit = _text(bal, "c:CdtDbtInd") == "CRDT"
        return (cents if credit else -cents), _date_choice(bal.find("c:Dt", _NS))

    def _cents(self, amt: etree._Element) -> int | None:
        """An ``Amt`` element's amount in cents (positive), or None with an issue (another
        currency, fractions of a cent, too large)."""
        currency = amt.get("Ccy")
        if currency != CURRENCY:
            self._issue(amt, f"Betrag in {currency}; eingelesen werden nur Beträge in {CURRENCY}")
            return None
        try:
            return to_cents(parse_decimal(amt.text or ""))
        except AmountError as exc:
            self._issue(amt, str(exc))
            return None

    # --- entries

    def _entries(self, ntry: etree._Element, account: _Account) -> tuple[list[BankEntry], int | None]:
        """The entries of one ``<Ntry>`` (several for a split batch) and its signed cents
        when it counts towards the balance (booked and readable), else None."""
        if not account.usable:
            return [], None
        cents = self._cents(ntry.find("c:Amt", _NS))
        if cents is None:
            return [], None
        status = _text(ntry, "c:Sts/c:Cd") or _text(ntry, "c:Sts/c:Prtry") or ""
        credit = _text(ntry, "c:CdtDbtInd") == "CRDT"
        booking_date = _date_choice(ntry.find("c:BookgDt", _NS))
        if status == BOOKED and booking_date is None:
            self._issue(ntry, "gebuchter Umsatz ohne Buchungstag (BookgDt)")
            return [], None
        head = _EntryHead(
            line=source_line(ntry), iban=account.iban, status=status, booking_date=booking_date,
            value_date=_date_choice(ntry.find("c:ValDt", _NS)), reversal=_text(ntry, "c:RvslInd") in ("true", "1"),
            reference=_text(ntry, "c:AcctSvcrRef"), code=ntry.find("c:BkTxCd", _NS),
            additional_info=_text(ntry, "c:AddtlNtryInf"))
        transactions = ntry.findall("c:NtryDtls/c:TxDtls", _NS)
        signed = cents if credit else -cents
        if len(transactions) > 1:
            parts = self._split(transactions, credit)
            if parts is not None:
                if sum(part_signed for _, part_signed in parts) != signed:
                    self._issue(ntry.find("c:Amt", _NS),
                                f"Summe der Einzelbeträge des Sammlers ({_eur(sum(p for _, p in parts))} EUR) weicht "
                                f"vom Betrag der Buchung ({_eur(signed)} EUR) ab")
                    return [], None
                entries = [_entry(head, [tx], abs(part_signed), part_signed > 0, len(transactions), index)
                           for index, (tx, part_signed) in enumerate(parts)]
                return entries, signed if status == BOOKED else None
        batch_size = len(transactions) or _int(_text(ntry, "c:NtryDtls/c:Btch/c:NbOfTxs")) or 1
        entry = _entry(head, transactions, cents, credit, batch_size, None)
        return [entry], signed if status == BOOKED else None

    def _split(self, transactions: list[etree._Element], credit: bool) -> list[tuple[etree._Element, int]] | None:
        """Each transaction with its signed cents, if every one gives an amount in EUR; else None."""
        parts = []
        for tx in transactions:
            amt = tx.find("c:Amt", _NS)
            if amt is None:
                amt = tx.find("c:AmtDtls/c:TxAmt/c:Amt", _NS)
            if amt is None or amt.get("Ccy") != CURRENCY:
                return None
            cents = self._cents(amt)
            if cents is None:
                return None
            indicator = _text(tx, "c:CdtDbtInd")
            tx_credit = credit if indicator is None else indicator == "CRDT"
            parts.append((tx, cents if tx_credit else -cents))
        return parts


@dataclass(frozen=True, slots=True)
class _Account:
    iban: str
    usable: bool  # a valid IBAN and no other currency than EUR


@dataclass
class _Pending:
    """A statement being read: its account, its entries so far, the sum of its booked
    entries in cents (None once an entry could not be read)."""

    account: _Account
    booked: list[BankEntry] = field(default_factory=list)
    not_booked: list[BankEntry] = field(default_factory=list)
    booked_sum: int | None = 0


@dataclass(frozen=True, slots=True)
class _EntryHead:
    """What an entry's transactions share: from the ``<Ntry>`` itself."""

    line: int
    iban: str
    status: str
    booking_date: date | None
    value_date: date | None
    reversal: bool
    reference: str | None
    code: etree._Element | None
    additional_info: str | None


def _entry(head: _EntryHead, transactions: list[etree._Element], cents: int, credit: bool, batch_size: int,
           batch_index: int | None) -> BankEntry:
    """A ``BankEntry`` of ``head`` and its transactions (one for a single payment or a split
    batch's part; all of an unsplit batch, whose shared values are kept)."""
    side = "Dbtr" if credit != head.reversal else "Cdtr"

    def shared(path: str) -> str | None:
        values = {_text(tx, path) for tx in transactions}
        return values.pop() if len(values) == 1 else None

    def party_name(tx: etree._Element) -> str | None:
        return (_text(tx, f"c:RltdPties/c:{side}/c:Pty/c:Nm") or _text(tx, f"c:RltdPties/c:{side}/c:Agt/c:FinInstnId/c:Nm")
                or _text(tx, f"c:RltdPties/c:Ultmt{side}/c:Pty/c:Nm"))

    names = {party_name(tx) for tx in transactions}
    end_to_end = shared("c:Refs/c:EndToEndId")
    remittance = tuple(text for tx in transactions
                       for text in [*_texts(tx, "c:RmtInf/c:Ustrd"), *_texts(tx, "c:RmtInf/c:Strd/c:AddtlRmtInf")])
    tx_code = transactions[0].find("c:BkTxCd", _NS) if len(transactions) == 1 else None
    return BankEntry(
        line=head.line, transaction_line=(source_line(transactions[0]) if len(transactions) == 1 else None),
        iban=head.iban, status=head.status, booking_date=head.booking_date, value_date=head.value_date,
        cents=cents, credit=credit, reversal=head.reversal,
        account_servicer_reference=head.reference or shared("c:Refs/c:AcctSvcrRef"),
        end_to_end_id=None if end_to_end == NOT_PROVIDED else end_to_end,
        mandate_id=shared("c:Refs/c:MndtId"),
        creditor_reference=shared("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref"),
        remittance_lines=remittance,
        counterparty_name=names.pop() if len(names) == 1 else None,
        counterparty_iban=_compact(shared(f"c:RltdPties/c:{side}Acct/c:Id/c:IBAN")),
        code=_transaction_code(head.code, tx_code), additional_info=head.additional_info,
        batch_size=batch_size, batch_index=batch_index,
    )


def _transaction_code(entry_code: etree._Element | None, tx_code: etree._Element | None) -> TransactionCode:
    """The transaction's code where it gives one (the DK puts the Geschäftsvorfallcode
    there), else the entry's, part by part."""
    def pick(path: str) -> str | None:
        for code in (tx_code, entry_code):
            if code is not None and (value := _text(code, path)):
                return value
        return None

    proprietary_source = tx_code if tx_code is not None and tx_code.find("c:Prtry", _NS) is not None else entry_code
    return TransactionCode(
        domain=pick("c:Domn/c:Cd"), family=pick("c:Domn/c:Fmly/c:Cd"), sub_family=pick("c:Domn/c:Fmly/c:SubFmlyCd"),
        proprietary=_text(proprietary_source, "c:Prtry/c:Cd") if proprietary_source is not None else None,
        issuer=_text(proprietary_source, "c:Prtry/c:Issr") if proprietary_source is not None else None,
    )


# --- small helpers ---------------------------------------------------------------------------

def _text(element: etree._Element | None, path: str) -> str | None:
    """The stripped text at ``path`` (``c:`` prefixed) below ``element``, None if absent or empty."""
    if element is None:
        return None
    found = element.find(path, _NS)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _texts(element: etree._Element, path: str) -> list[str]:
    return [found.text.strip() for found in element.findall(path, _NS) if found.text and found.text.strip()]


def _compact(iban: str | None) -> str | None:
    return iban.replace(" ", "").upper() if iban else None


def _int(text: str | None) -> int | None:
    return int(Decimal(text)) if text else None


class _DateError(ValueError):
    """A schema-valid date or date-time Python cannot represent (``24:00:00``, a year
    beyond 9999); its argument is the text."""


def _day(text: str | None) -> date | None:
    """The date of an ISODate or ISODateTime text (its own offset kept). Raises _DateError."""
    if not text:
        return None
    if "T" in text:
        return _datetime(text).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _DateError(text) from None


def _datetime(text: str | None) -> datetime | None:
    """An ISODateTime text; fractions beyond microseconds dropped. Raises _DateError."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text))
    except ValueError:
        raise _DateError(text) from None


def _date_choice(element: etree._Element | None) -> date | None:
    """The date of a ``DateAndDateTime2Choice`` (``Dt`` or ``DtTm``)."""
    if element is None:
        return None
    return _day(_text(element, "c:Dt") or _text(element, "c:DtTm"))


def _eur(cents: int) -> str:
    return format_german(from_cents(cents))


def _plain(value: object) -> object:
    """A JSON-ready value: dates as ISO text."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
