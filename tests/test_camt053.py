"""Reading camt.053.001.08 bank statements (ledger.read.camt053) and the ISO 20022 schemas
(ledger.core.iso20022).

The samples in tests/samples/camt053/ are written by hand after the ISO 20022 schema and the
German banking industry's rules (DFÜ-Abkommen Anlage 3; their README says what each follows),
and every expected value below is read off those files, not computed by the reader.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ledger.core import iso20022
from ledger.core.errors import LedgerError
from ledger.read import camt053
from ledger.read.camt053 import BankEntry, TransactionCode, identities, read_camt053
from ledger.read.csvfile import ImportIssue

SAMPLES = Path(__file__).resolve().parent / "samples" / "camt053"
FIRST = "auszug_2024-11-28_bis_2024-12-02.xml"
SECOND = "auszug_2024-12-02_bis_2024-12-03.xml"
ARCHIVE = "auszuege_2024-12-05_bis_2024-12-06.zip"
MEMBER_49 = "2024-12-05_C53_DE89370502990000123456_EUR_000049.xml"
MEMBER_50 = "2024-12-06_C53_DE89370502990000123456_EUR_000050.xml"

KREIS = "DE89370502990000123456"
LANDESKASSE = "DE59300500000001683515"
CET = timezone(timedelta(hours=1))

RECEIVED_SCT = dict(domain="PMNT", family="RCDT", sub_family="ESCT")
ISSUED_SCT = dict(domain="PMNT", family="ICDT", sub_family="ESCT")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def variant(name: str, *replacements: tuple[str, str]) -> bytes:
    """A sample with each ``old`` text replaced once by ``new`` (each must occur)."""
    text = sample(name).decode("utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def issues_of(result: camt053.CamtFile) -> list[tuple[int, str | None, str]]:
    return [(issue.line, issue.column, issue.message) for _, issue in result.all_issues()]


def entry(**fields) -> BankEntry:
    """An expected entry: the sample's account, booked, no batch, unless given."""
    values = dict(iban=KREIS, status="BOOK", reversal=False, mandate_id=None, creditor_reference=None,
                  end_to_end_id=None, account_servicer_reference=None, counterparty_name=None,
                  counterparty_iban=None, transaction_line=None, value_date=None, remittance_lines=(),
                  batch_size=1, batch_index=None)
    values.update(fields)
    return BankEntry(**values)


# --- the schema -------------------------------------------------------------------------------

def test_the_shipped_schema_is_the_official_one_unchanged():
    """The XSD's SHA-256 is the one its README names (the copy of the ISO 20022 message definition)."""
    xsd = iso20022.SCHEMA_DIR / "camt.053.001.08.xsd"
    digest = hashlib.sha256(xsd.read_bytes()).hexdigest()
    assert digest in (iso20022.SCHEMA_DIR / "README.md").read_text()
    assert b'targetNamespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"' in xsd.read_bytes()


def test_schema_is_loaded_once_and_names_are_checked():
    assert iso20022.schema("camt.053.001.08") is iso20022.schema("camt.053.001.08")
    with pytest.raises(LedgerError, match="kein ISO-20022-Schema"):
        iso20022.schema("../../etc/passwd")
    with pytest.raises(LedgerError, match="kein ISO-20022-Schema"):
        iso20022.schema("camt.099.001.01")


@pytest.mark.parametrize("name", [FIRST, SECOND, f"zip/{MEMBER_49}", f"zip/{MEMBER_50}", "kaputt_schlusssaldo.xml",
                                  "kaputt_usd.xml"])
def test_the_samples_are_valid_against_the_official_schema(name):
    """Checked with lxml directly, not through the reader: the samples are valid camt.053.001.08."""
    assert iso20022.validate("camt.053.001.08", sample(name)) == []


def test_validate_lists_every_schema_error_with_its_line():
    errors = iso20022.validate("camt.053.001.08", sample("kaputt_schema.xml"))
    assert [line for line, _ in errors] == [6, 43, 44, 44, 60, 68, 83]
    assert "Element 'CdtDbtInd': [facet 'enumeration'] The value 'CRED' is not an element of the set {'CRDT', " \
           "'DBIT'}." in [message for _, message in errors]


def test_validate_names_the_line_of_xml_that_is_not_well_formed():
    assert iso20022.validate("camt.053.001.08", sample("kaputt_abgeschnitten.xml"))[0][0] == 96


# --- the statement spanning the month end --------------------------------------------------------

def test_first_statement_header_and_balances():
    result = read_camt053(SAMPLES / FIRST)
    assert result.ok and result.issues == ()
    [statement] = result.statements
    assert (statement.member, statement.line) == (FIRST, 12)
    assert statement.message_id == "C53202412030612310000047"
    assert statement.statement_id == "C53-2024-0047"
    assert (statement.sequence_number, statement.legal_sequence_number, statement.copy_duplicate) == (231, 47, None)
    assert statement.created == datetime(2024, 12, 3, 6, 12, 31, tzinfo=CET)
    assert (statement.iban, statement.currency, statement.owner_name) == (KREIS, "EUR", "Kreis Testland")
    assert (statement.opening_type, statement.opening_cents, statement.opening_date) == ("PRCD", 10523017,
                                                                                         date(2024, 11, 27))
    assert (statement.closing_cents, statement.closing_date) == (47170247, date(2024, 12, 2))
    assert (statement.from_date, statement.to_date) == (date(2024, 11, 28), date(2024, 12, 2))
    # the bank's own sum, across the month end: 105.230,17 + 412.350,00 − 38.415,20 − 7.450,00 − 12,50
    assert statement.opening_cents + sum(e.signed_cents for e in statement.booked) == statement.closing_cents


def test_first_statement_entries_field_by_field():
    [statement] = read_camt053(sample(FIRST), FIRST).statements
    payout, invoice, *batch, charges = statement.booked
    assert payout == entry(
        line=60, transaction_line=83, booking_date=date(2024, 11, 28), value_date=date(2024, 11, 28),
        cents=41235000, credit=True, account_servicer_reference="2024112804711001",
        end_to_end_id="LK-NRW-2024-0081523", remittance_lines=("Inklusionspauschale 2024/25 1. Rate",),
        counterparty_name="Landeskasse Düsseldorf", counterparty_iban=LANDESKASSE,
        code=TransactionCode(**RECEIVED_SCT, proprietary="NTRF+166+931", issuer="DK"),
        additional_info="GUTSCHR. UEBERWEISUNG")
    assert payout.signed_cents == 41235000 and payout.indicator == "CRDT" and payout.code.gvc == "166"
    assert str(payout.amount) == "412350.00"
    assert invoice == entry(
        line=143, transaction_line=166, booking_date=date(2024, 11, 29), value_date=date(2024, 11, 29),
        cents=3841520, credit=False, account_servicer_reference="2024112904711002", end_to_end_id="KT-RE-2024-1187",
        remittance_lines=("RE 2024-1187 Poolkräfte Schulbegleitung Oktober 2024",),
        counterparty_name="Inklusionsdienste Rhein-Sieg gGmbH", counterparty_iban="DE66370501980009876543",
        code=TransactionCode(**ISSUED_SCT, proprietary="NTRF+116+931", issuer="DK"), additional_info="UEBERWEISUNG")
    assert invoice.signed_cents == -3841520 and invoice.indicator == "DBIT"
    batch_part = dict(line=216, booking_date=date(2024, 11, 29), value_date=date(2024, 11, 29), credit=False,
                      account_servicer_reference="2024112904711003", batch_size=3,
                      code=TransactionCode(**ISSUED_SCT, proprietary="NTRF+116+931", issuer="DK"),
                      additional_info="SAMMLER-UEBERWEISUNG")
    assert batch == [
        entry(**batch_part, transaction_line=245, batch_index=0, cents=250000, end_to_end_id="KT-RE-2024-0415",
              remittance_lines=("Rechnung 2024-0415 Poolkraft GS Siegburg November",),
              counterparty_name="Schulbegleitung Siebengebirge gGmbH", counterparty_iban="DE65380601861234567800"),
        entry(**batch_part, transaction_line=274, batch_index=1, cents=315000, end_to_end_id="KT-RE-2024-C-77",
              creditor_reference="RF18539007547034", counterparty_name="Caritasverband Testland e.V.",
              counterparty_iban="DE27370601930002345678"),
        entry(**batch_part, transaction_line=313, batch_index=2, cents=180000, end_to_end_id="KT-RE-2024-F-12",
              remittance_lines=("Abschlag Dezember 2024 Schulassistenz",),
              counterparty_name="Förderverein Inklusion Testland e.V.", counterparty_iban="DE15370501980001234567"),
    ]
    assert charges == entry(
        line=348, booking_date=date(2024, 12, 2), value_date=date(2024, 11, 30), cents=1250, credit=False,
        account_servicer_reference="2024120204711004",
        code=TransactionCode(domain="ACMT", family="MDOP", sub_family="CHRG", proprietary="NCHG+805+0", issuer="DK"),
        additional_info="ABSCHLUSS ENTGELTE 11/2024")
    assert charges.remittance == "" and charges.code.gvc == "805"


def test_a_pending_entry_is_kept_apart_and_not_bookable():
    [statement] = read_camt053(sample(FIRST)).statements
    assert statement.not_booked == (entry(
        line=376, transaction_line=395, status="PDNG", booking_date=None, value_date=date(2024, 12, 3), cents=15000,
        credit=True, remittance_lines=("Erstattung Fahrtkosten Fortbildung Inklusion",),
        counterparty_name="Stadt Testhausen", counterparty_iban="DE20382501100001122334",
        code=TransactionCode(**RECEIVED_SCT, proprietary="NTRF+166", issuer="DK"),
        additional_info="GUTSCHR. UEBERWEISUNG VORMERKPOSTEN"),)
    assert not statement.not_booked[0].bookable and all(e.bookable for e in statement.booked)


# --- the overlapping statement: repayment, reversal ------------------------------------------------

def test_second_statement_repayment_with_kassenzeichen_and_reversal():
    result = read_camt053(SAMPLES / SECOND)
    assert result.ok
    [statement] = result.statements
    assert (statement.statement_id, statement.sequence_number, statement.legal_sequence_number) == \
        ("C53-2024-0048", 232, 48)
    assert (statement.opening_cents, statement.opening_date, statement.closing_cents, statement.closing_date) == \
        (47171497, date(2024, 12, 1), 45019569, date(2024, 12, 3))
    charges, booked_now, repayment, reversal = statement.booked
    assert statement.not_booked == ()
    assert charges.line == 60 and charges.cents == 1250
    assert booked_now == entry(
        line=88, transaction_line=111, booking_date=date(2024, 12, 3), value_date=date(2024, 12, 3), cents=15000,
        credit=True, account_servicer_reference="2024120304711005",
        remittance_lines=("Erstattung Fahrtkosten Fortbildung Inklusion",), counterparty_name="Stadt Testhausen",
        counterparty_iban="DE20382501100001122334",
        code=TransactionCode(**RECEIVED_SCT, proprietary="NTRF+166+931", issuer="DK"),
        additional_info="GUTSCHR. UEBERWEISUNG")
    assert repayment == entry(
        line=142, transaction_line=165, booking_date=date(2024, 12, 3), value_date=date(2024, 12, 3), cents=2345678,
        credit=False, account_servicer_reference="2024120304711006", end_to_end_id="KT-RUECK-2023-24",
        remittance_lines=("Kassenzeichen 3400241187652 Rückzahlung Inklusionspauschale 2023/24 Kreis Testland",),
        counterparty_name="Landeskasse Düsseldorf", counterparty_iban=LANDESKASSE,
        code=TransactionCode(**ISSUED_SCT, proprietary="NTRF+116+931", issuer="DK"), additional_info="UEBERWEISUNG")
    # a reversal reports the original (debit) transaction's parties: the counterparty is its creditor
    assert reversal == entry(
        line=215, transaction_line=239, booking_date=date(2024, 12, 3), value_date=date(2024, 11, 29), cents=180000,
        credit=True, reversal=True, account_servicer_reference="2024120304711007", end_to_end_id="KT-RE-2024-F-12",
        remittance_lines=("Abschlag Dezember 2024 Schulassistenz",),
        counterparty_name="Förderverein Inklusion Testland e.V.", counterparty_iban="DE15370501980001234567",
        code=TransactionCode(**ISSUED_SCT, proprietary="NTRF+116+931", issuer="DK"),
        additional_info="STORNO UEBERWEISUNG")
    assert reversal.signed_cents == 180000


# --- identity ---------------------------------------------------------------------------------------

def test_the_same_entry_in_two_overlapping_statements_has_the_same_identity():
    [first] = read_camt053(sample(FIRST)).statements
    [second] = read_camt053(sample(SECOND)).statements
    charges_first, charges_second = first.booked[-1], second.booked[0]
    assert (charges_first.line, charges_second.line) == (348, 60)  # other lines, other statements
    assert dict(first.identified())[charges_first] == dict(second.identified())[charges_second]
    assert charges_first.content_hash() == charges_second.content_hash()
    # nothing else of the second statement was in the first: the pending credit, now booked, is new
    first_ids = {identity for _, identity in first.identified()}
    assert [identity in first_ids for _, identity in second.identified()] == [True, False, False, False]


def test_identities_are_stable_across_reads_and_distinct_within_a_statement():
    once = [identity for _, identity in read_camt053(sample(FIRST)).statements[0].identified()]
    again = [identity for _, identity in read_camt053(SAMPLES / FIRST).statements[0].identified()]
    assert once == again and len(set(once)) == len(once) == 6
    assert all(len(identity) == 64 for identity in once)


def test_identical_entries_of_one_statement_differ_by_their_occurrence():
    [statement] = read_camt053(sample(FIRST)).statements
    charges = statement.booked[-1]
    twice = identities([charges, charges])
    assert twice[0][1] == charges.identity(0) != twice[1][1] == charges.identity(1)


def test_identity_depends_on_amount_reference_and_remittance_but_not_on_the_line():
    [statement] = read_camt053(sample(FIRST)).statements
    payout = statement.booked[0]
    base = payout.identity(0)
    assert payout.__class__(**{**_fields(payout), "line": 1, "transaction_line": 2}).identity(0) == base
    for change in ({"cents": 41235001}, {"credit": False}, {"account_servicer_reference": "X"},
                   {"end_to_end_id": None}, {"remittance_lines": ("Inklusionspauschale 2024/25 2. Rate",)},
                   {"booking_date": date(2024, 11, 29)}, {"iban": LANDESKASSE}, {"reversal": True}):
        assert payout.__class__(**{**_fields(payout), **change}).identity(0) != base, change
    changed_text = payout.__class__(**{**_fields(payout), "additional_info": "GUTSCHRIFT"})
    assert changed_text.identity(0) == base and changed_text.content_hash() != payout.content_hash()


def _fields(value: BankEntry) -> dict:
    return {name: getattr(value, name) for name in BankEntry.__dataclass_fields__}


# --- the ZIP archive ------------------------------------------------------------------------------

def test_zip_of_two_statements():
    result = read_camt053(SAMPLES / ARCHIVE)
    assert result.ok and result.name == ARCHIVE
    assert [document.member for document in result.documents] == [MEMBER_49, MEMBER_50]
    forty_nine, fifty = result.statements
    assert (forty_nine.member, forty_nine.statement_id, forty_nine.opening_cents, forty_nine.closing_cents) == \
        (MEMBER_49, "C53-2024-0049", 45019569, 45519569)
    assert forty_nine.booked == (entry(
        line=59, transaction_line=82, booking_date=date(2024, 12, 4), value_date=date(2024, 12, 4), cents=500000,
        credit=True, account_servicer_reference="2024120404711008", end_to_end_id="TH-2024-SB-118",
        remittance_lines=("Kostenbeteiligung Schulbegleitung 2024/25",), counterparty_name="Stadt Testhausen",
        counterparty_iban="DE20382501100001122334",
        code=TransactionCode(**RECEIVED_SCT, proprietary="NTRF+166+931", issuer="DK"),
        additional_info="GUTSCHR. UEBERWEISUNG"),)
    # statement 50: OPBD, no Stmt/CreDtTm (the group header's), no period, no owner
    assert (fifty.member, fifty.line, fifty.statement_id, fifty.sequence_number, fifty.legal_sequence_number) == \
        (MEMBER_50, 8, "C53-2024-0050", 234, None)
    assert fifty.created == datetime(2024, 12, 6, 6, 4, 10, tzinfo=CET)
    assert (fifty.from_date, fifty.to_date, fifty.owner_name) == (None, None, None)
    assert (fifty.opening_type, fifty.opening_cents, fifty.opening_date, fifty.closing_cents, fifty.closing_date) \
        == ("OPBD", 45519569, date(2024, 12, 5), 45260644, date(2024, 12, 5))
    transfer, direct_debit = fifty.booked
    assert transfer == entry(  # booking date given as BookgDt/DtTm
        line=41, transaction_line=64, booking_date=date(2024, 12, 5), value_date=date(2024, 12, 5), cents=250000,
        credit=False, account_servicer_reference="2024120504711009", end_to_end_id="KT-RE-2024-0433",
        remittance_lines=("Rechnung 2024-0433 Poolkraft GS Siegburg Dezember",),
        counterparty_name="Schulbegleitung Siebengebirge gGmbH", counterparty_iban="DE65380601861234567800",
        code=TransactionCode(**ISSUED_SCT, proprietary="NTRF+116+931", issuer="DK"), additional_info="UEBERWEISUNG")
    assert direct_debit == entry(  # the creditor has no name: the ultimate creditor's
        line=95, transaction_line=118, booking_date=date(2024, 12, 5), value_date=date(2024, 12, 5), cents=8925,
        credit=False, account_servicer_reference="2024120504711010", end_to_end_id="RTR-2024-12-0042",
        mandate_id="MAND-KT-2023-0042", remittance_lines=("Miete Hilfsmittel Dezember 2024", "Vertrag 4711"),
        counterparty_name="Reha-Technik Rheinland GmbH", counterparty_iban="DE60370502990000999888",
        code=TransactionCode(domain="PMNT", family="IDDT", sub_family="ESDD", proprietary="NDDT+105+931",
                             issuer="DK"),
        additional_info="BASISLASTSCHRIFT")
    assert direct_debit.remittance == "Miete Hilfsmittel Dezember 2024 Vertrag 4711"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_members_that_are_not_xml_or_nested_archives_are_refused():
    good = sample(f"zip/{MEMBER_49}")
    result = read_camt053(_zip({"a.xml": good, "liesmich.txt": b"hallo", "innen.zip": _zip({"b.xml": good}),
                                "ordner/": b""}), "auszuege.zip")
    assert not result.ok
    assert [(name, issue.message) for name, issue in result.all_issues()] == [
        ("liesmich.txt", "keine XML-Datei (.xml); ein ZIP-Archiv darf nur camt.053-Kontoauszüge enthalten"),
        ("innen.zip", "verschachteltes Archiv im ZIP-Archiv; nur XML-Kontoauszüge werden gelesen"),
    ]
    assert [statement.statement_id for statement in result.statements] == ["C53-2024-0049"]


def test_zip_limits_members_and_decompressed_size(monkeypatch):
    good = sample(f"zip/{MEMBER_49}")
    monkeypatch.setattr(camt053, "MAX_ARCHIVE_MEMBERS", 2)
    assert issues_of(read_camt053(_zip({f"{n}.xml": good for n in range(3)}))) == [
        (1, None, "ZIP-Archiv mit 3 Dateien; höchstens 2 werden gelesen")]
    monkeypatch.setattr(camt053, "MAX_ARCHIVE_BYTES", 2 * len(good) - 1)
    assert issues_of(read_camt053(_zip({"1.xml": good, "2.xml": good}))) == [
        (1, None, f"ZIP-Archiv entpackt {2 * len(good)} Bytes groß; höchstens {2 * len(good) - 1} Bytes werden gelesen")]
    monkeypatch.setattr(camt053, "MAX_DOCUMENT_BYTES", len(good) - 1)
    result = read_camt053(_zip({"1.xml": good}))
    assert [(name, issue.message) for name, issue in result.all_issues()] == [
        ("1.xml", f"Datei {len(good)} Bytes groß; höchstens {len(good) - 1} Bytes je Kontoauszug")]


def test_a_broken_or_empty_zip_is_an_issue():
    [(line, column, message)] = issues_of(read_camt053(sample(ARCHIVE)[:200]))
    assert (line, column) == (1, None) and message.startswith("beschädigtes ZIP-Archiv")
    assert issues_of(read_camt053(_zip({}))) == [(1, None, "ZIP-Archiv ohne Dateien")]


def test_a_plain_file_larger_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(camt053, "MAX_DOCUMENT_BYTES", 1000)
    assert issues_of(read_camt053(sample(FIRST))) == [
        (1, None, f"Datei {len(sample(FIRST))} Bytes groß; höchstens 1000 Bytes je Kontoauszug")]


# --- broken files ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("kaputt_mt940_statt_camt.txt", [(1, None, "keine XML-Datei: das sieht nach einem MT940-Auszug aus; eingelesen "
                                                "wird der Kontoauszug im Format camt.053.001.08")]),
    ("kaputt_csv_statt_xml.xml", [(1, None, "keine XML-Datei; erwartet ein Kontoauszug im Format camt.053.001.08")]),
    ("kaputt_abgeschnitten.xml", [(96, None, "XML-Datei endet vorzeitig, Element Domn ist nicht geschlossen "
                                             "(unvollständig übertragen?)")]),
    ("kaputt_camt052.xml", [(2, None, "Nachricht camt.052.001.08: Kontoumsatzreport (camt.052, untertägige Umsätze), "
                                      "kein Tagesauszug; erwartet camt.053.001.08 (Tagesauszug)")]),
    ("kaputt_camt053_001_02.xml", [(2, None, "Kontoauszug in der älteren Version camt.053.001.02; eingelesen wird "
                                             "camt.053.001.08, das Format, das die Banken seit November 2025 liefern "
                                             "(bei der Bank anfordern)")]),
    ("kaputt_usd.xml", [(25, "Stmt/Acct/Ccy", "Kontowährung USD; eingelesen werden nur Konten in EUR")]),
    ("kaputt_schlusssaldo.xml", [(53, "Stmt/Bal/Amt", "Schlusssaldo 455.295,69 EUR stimmt nicht: Anfangssaldo "
                                                      "450.195,69 EUR + gebuchte Umsätze 5.000,00 EUR = 455.195,69 EUR "
                                                      "(Differenz 100,00 EUR)")]),
])
def test_broken_files_give_clear_issues(name, expected):
    result = read_camt053(SAMPLES / name)
    assert not result.ok
    assert issues_of(result) == expected


def test_schema_errors_are_listed_all_with_line_and_element_path():
    result = read_camt053(SAMPLES / "kaputt_schema.xml")
    assert result.statements == []
    assert issues_of(result) == [
        (6, "GrpHdr/CreDtTm", "Element CreDtTm: Wert '2024-12-05 06:03:44' ungültig, erwartet ein Zeitpunkt "
                              "(JJJJ-MM-TTThh:mm:ss)"),
        (43, "Ntry/CdtDbtInd", "Element CdtDbtInd: Wert 'CRED' ist kein zulässiger Code (erlaubt: CRDT, DBIT)"),
        (44, "Ntry/Sts", "Element Sts darf keinen Text enthalten, nur Unterelemente"),
        (44, "Ntry/Sts", "in Element Sts fehlt ein Pflichtelement (erwartet: Cd, Prtry)"),
        (60, "Ntry/Amt", "Element Amt: Wert '12,50' ungültig, erwartet ein Betrag mit Dezimalpunkt (z. B. 1234.56)"),
        (68, "Ntry/AddtlNtryInf", "Element AddtlNtryInf ist an dieser Stelle nicht erlaubt (erwartet: ValDt, "
                                  "AcctSvcrRef, Avlbty, BkTxCd)"),
        (83, "Ntry/NtryDtls/TxDtls/RmtInf/Ustrd", "Element Ustrd: Wert mit 143 Zeichen ist länger als erlaubt (140)"),
    ]


def test_schema_errors_beyond_the_limit_are_counted(monkeypatch):
    monkeypatch.setattr(camt053, "MAX_SCHEMA_ERRORS", 2)
    assert [issue[0] for issue in issues_of(read_camt053(SAMPLES / "kaputt_schema.xml"))] == [6, 43, 44]
    assert issues_of(read_camt053(SAMPLES / "kaputt_schema.xml"))[-1][2] == "… und 5 weitere Schemafehler"


def test_a_document_type_declaration_is_refused_and_entities_never_expanded():
    text = sample(f"zip/{MEMBER_49}").decode()
    for doctype, reference in [('<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
                               ('<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>', "&b;")]:
        hostile = text.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                               f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n').replace(
            "<Ustrd>Kostenbeteiligung Schulbegleitung 2024/25</Ustrd>", f"<Ustrd>{reference}</Ustrd>")
        result = read_camt053(hostile.encode())
        assert issues_of(result) == [(1, None, "Dokumenttypdeklaration (DOCTYPE) ist in einem Kontoauszug nicht "
                                               "erlaubt")]
        assert result.statements == []


def test_another_namespace_or_root_is_named():
    text = sample(f"zip/{MEMBER_49}")
    assert issues_of(read_camt053(text.replace(b"camt.053.001.08", b"camt.054.001.08"))) == [
        (2, None, "Nachricht camt.054.001.08: Buchungsavis (camt.054, Einzel- oder Sammelbuchungsdatei), kein "
                  "Tagesauszug; erwartet camt.053.001.08 (Tagesauszug)")]
    assert issues_of(read_camt053(text.replace(b"camt.053.001.08", b"camt.053.001.13"))) == [
        (2, None, "Kontoauszug in der neueren Version camt.053.001.13; eingelesen wird camt.053.001.08, das Format, "
                  "das die Banken seit November 2025 liefern (bei der Bank anfordern)")]
    assert issues_of(read_camt053(b'<?xml version="1.0"?>\n<Kontoauszug/>')) == [
        (2, None, "kein ISO-20022-Kontoauszug (Wurzelelement Kontoauszug, ohne Namensraum); erwartet camt.053.001.08")]
    assert issues_of(read_camt053(b"")) == [(1, None, "Datei ist leer")]


# --- what the schema cannot check -------------------------------------------------------------------

def _read_valid(data: bytes) -> camt053.CamtFile:
    assert iso20022.validate("camt.053.001.08", data) == []  # the variant is still schema-valid
    return read_camt053(data)


def test_batch_amounts_that_do_not_add_up_are_an_issue():
    data = variant(FIRST, ('<Amt Ccy="EUR">3150.00</Amt>', '<Amt Ccy="EUR">3160.00</Amt>'))
    assert issues_of(_read_valid(data)) == [
        (217, "Ntry/Amt", "Summe der Einzelbeträge des Sammlers (-7.460,00 EUR) weicht vom Betrag der Buchung "
                          "(-7.450,00 EUR) ab"),
    ]  # no second issue about the closing balance, which cannot be checked without the entry


def test_a_batch_without_every_amount_is_read_as_one_entry():
    start = "            <AmtDtls>\n              <TxAmt>\n                <Amt Ccy=\"EUR\">1800.00</Amt>\n" \
            "              </TxAmt>\n            </AmtDtls>\n"
    result = _read_valid(variant(FIRST, (start, "")))
    assert result.ok
    whole = result.statements[0].booked[2]
    assert whole == entry(
        line=216, booking_date=date(2024, 11, 29), value_date=date(2024, 11, 29), cents=745000, credit=False,
        account_servicer_reference="2024112904711003", batch_size=3,
        remittance_lines=("Rechnung 2024-0415 Poolkraft GS Siegburg November",
                          "Abschlag Dezember 2024 Schulassistenz"),
        code=TransactionCode(**ISSUED_SCT), additional_info="SAMMLER-UEBERWEISUNG")


def test_amounts_with_fractions_of_a_cent_or_in_another_currency_are_issues():
    data = variant(FIRST, ('<Amt Ccy="EUR">12.50</Amt>', '<Amt Ccy="EUR">12.505</Amt>'),
                   ('<Amt Ccy="EUR">412350.00</Amt>', '<Amt Ccy="CHF">412350.00</Amt>'))
    assert issues_of(_read_valid(data)) == [
        (61, "Ntry/Amt", "Betrag in CHF; eingelesen werden nur Beträge in EUR"),
        (349, "Ntry/Amt", "ungültiger Betrag '12.505' (höchstens zwei Nachkommastellen)"),
    ]


def test_an_account_iban_with_wrong_check_digits_is_an_issue():
    data = variant(f"zip/{MEMBER_49}", ("<IBAN>DE89370502990000123456</IBAN>", "<IBAN>DE88370502990000123456</IBAN>"))
    [(line, column, message)] = issues_of(_read_valid(data))
    assert (line, column) == (23, "Stmt/Acct/Id/IBAN")
    assert message.startswith("Konto-IBAN ungültig: ungültige IBAN 'DE88370502990000123456'")


def test_a_booked_entry_without_booking_date_is_an_issue():
    data = variant(f"zip/{MEMBER_49}", ("        <BookgDt>\n          <Dt>2024-12-04</Dt>\n        </BookgDt>\n", ""))
    assert issues_of(_read_valid(data)) == [(59, "Ntry", "gebuchter Umsatz ohne Buchungstag (BookgDt)")]


def test_the_german_transaction_code():
    assert TransactionCode(proprietary="NTRF+166+931", issuer="DK").gvc == "166"
    assert TransactionCode(proprietary="NDDT+105", issuer="ZKA").gvc == "105"
    assert TransactionCode(proprietary="NTRF+166+931", issuer="SWIFT").gvc is None
    assert TransactionCode(proprietary="NTRF", issuer="DK").gvc is None
    assert TransactionCode().gvc is None


def test_a_long_statement_is_read_whole_and_its_balance_checked():
    """5.000 entries (the reader streams them, one Ntry at a time): all read, the sum checked."""
    text = sample(f"zip/{MEMBER_49}").decode()
    start, end = text.index("      <Ntry>"), text.index("    </Stmt>")
    many = text[:start] + text[start:end] * 5000 + text[end:]
    many = many.replace('<Amt Ccy="EUR">455195.69</Amt>', '<Amt Ccy="EUR">25450195.69</Amt>')
    result = read_camt053(many.encode())
    assert result.ok, result.all_issues()[:3]
    [statement] = result.statements
    per_entry = text[start:end].count("\n")
    # the lines beyond 65535 too (libxml2 keeps those only approximately; see source_line)
    assert [e.line for e in statement.booked] == [59 + n * per_entry for n in range(5000)]
    assert [e.transaction_line for e in statement.booked] == [82 + n * per_entry for n in range(5000)]
    assert len({identity for _, identity in statement.identified()}) == 5000


def test_issue_values_render_with_the_member_name():
    result = read_camt053(SAMPLES / "kaputt_schlusssaldo.xml")
    [(name, issue)] = result.all_issues()
    assert isinstance(issue, ImportIssue)
    assert issue.render(name).startswith("kaputt_schlusssaldo.xml:53: Stmt/Bal/Amt: Schlusssaldo 455.295,69 EUR")


def test_a_schema_valid_date_python_cannot_hold_is_an_issue():
    data = variant(f"zip/{MEMBER_49}", ("<BookgDt>\n          <Dt>2024-12-04</Dt>",
                                        "<BookgDt>\n          <DtTm>2024-12-04T24:00:00+01:00</DtTm>"))
    assert issues_of(_read_valid(data)) == [(59, "Ntry", "Datum '2024-12-04T24:00:00+01:00' nicht lesbar")]


def test_the_reversal_indicator_is_a_schema_boolean():
    data = variant(SECOND, ("<RvslInd>true</RvslInd>", "<RvslInd>1</RvslInd>"))
    assert _read_valid(data).statements[0].booked[-1].reversal is True
    data = variant(SECOND, ("<RvslInd>true</RvslInd>", "<RvslInd>0</RvslInd>"))
    reversal_read_as_credit = _read_valid(data).statements[0].booked[-1]
    # without the reversal indicator a credit's counterparty is its debtor: here the Kreis itself
    assert (reversal_read_as_credit.reversal, reversal_read_as_credit.counterparty_name) == (False, "Kreis Testland")


def test_the_creditor_reference_is_part_of_the_identity():
    [statement] = read_camt053(sample(FIRST)).statements
    caritas = statement.booked[3]
    assert caritas.remittance == "" and caritas.creditor_reference == "RF18539007547034"
    other = caritas.__class__(**{**_fields(caritas), "creditor_reference": "RF71218000000000000000000000"})
    assert other.identity(0) != caritas.identity(0)


def test_a_zip_member_whose_header_understates_its_size_is_not_read_beyond_it():
    """The reader trusts no more bytes than the member's header declares (zipfile stops
    there); the mismatch shows as a damaged member, never as a longer read."""
    good = sample(f"zip/{MEMBER_49}")
    archive = bytearray(_zip({"1.xml": good}))
    central = archive.index(b"PK\x01\x02")
    archive[central + 24:central + 28] = (1000).to_bytes(4, "little")  # uncompressed size in the central directory
    result = read_camt053(bytes(archive))
    [(name, issue)] = result.all_issues()
    assert name == "1.xml" and issue.message.startswith("Datei im ZIP-Archiv beschädigt (Bad CRC-32")
    assert result.statements == []
