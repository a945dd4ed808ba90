"""The repayment as a SEPA credit transfer (pain.001.001.09) and the ISO 20022 schemas behind it.

Worked example (seed 002_17056edfca8550ce.txt, Vereinbarung Rhein-Sieg-Kreis – Land NRW):

    § 1 Abs. 1  grant 2020/21 received                  891.931,68 EUR
    § 1 Abs. 2  deemed purpose-conform                − 422.362,00 EUR
                to be repaid                          = 469.569,68 EUR
    § 3         to the Landeskasse Düsseldorf, IBAN DE59 3005 0000 0001 6835 15, BIC WELADEDD
                (the rule pack's [landeskasse]), with the agreed Verwendungszweck
                (the demo's example value "Rückzahlung Inklusionspauschale 2020/21 Rhein-Sieg-Kreis")

    confirmed 469.569,68, paid 69.569,68 → open 469.569,68 − 69.569,68 = 400.000,00 EUR

Every file is validated against the official schema (the copy shipped in
ledger/core/schemas/iso20022/, ISO 20022 message definitions) and read back with lxml.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from lxml import etree

from ledger.core import iso20022
from ledger.core.agreements import add_agreement
from ledger.core.audit import ACTION_LABELS
from ledger.core.bank import set_account_iban
from ledger.core.errors import LedgerError
from ledger.core.grants import add_grant, add_payout
from ledger.core.models import AuditEvent
from ledger.core.notices import add_notice
from ledger.core.recipients import add_recipient
from ledger.core.schoolyear import SchoolYear
from ledger.workflows.repayment import confirm_repayment, pay_repayment, repayment_transfer
from ledger.write.sepa import MESSAGE, Transfer, credit_transfer, sepa_text
from tests.conftest import NOW

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
KASSE_IBAN = "DE59300500000001683515"   # rule pack [landeskasse], Vereinbarung § 3
DEBTOR_IBAN = "DE02120300000000202051"  # an IBAN of a real bank (Deutsche Kreditbank Berlin, BIC BYLADEM1001)
REFERENCE = "Rückzahlung Inklusionspauschale 2020/21 Rhein-Sieg-Kreis"
EXECUTION = date(2026, 11, 30)          # after NOW (22.11.2026)
SEPA_ID = re.compile(r"[A-Za-z0-9-]{1,35}")


def _text(document: etree._Element, path: str) -> str:
    (found,) = document.xpath(path, namespaces=NS)
    return found.text if isinstance(found, etree._Element) else str(found)


def _read(data: bytes) -> etree._Element:
    """The file validated against the shipped schema and parsed."""
    assert iso20022.validate(MESSAGE, data) == []
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return etree.fromstring(data)


def _transfer(**changes) -> Transfer:
    facts = dict(debtor_name="Rhein-Sieg-Kreis", debtor_iban="DE02 1203 0000 0000 2020 51",
                 creditor_name="Landeskasse Düsseldorf", creditor_iban="DE59 3005 0000 0001 6835 15",
                 creditor_bic="WELADEDD", amount=D("469569.68"), execution_date=EXECUTION,
                 end_to_end_id="RZ-2020-21-rhein-sieg", remittance=REFERENCE)
    return Transfer(**{**facts, **changes})


# ---------------------------------------------------------------- the schemas


def test_the_schemas_ship_with_the_package_loaded_once_each():
    pain, camt = iso20022.schema("pain.001.001.09"), iso20022.schema("camt.053.001.08")
    assert pain is iso20022.schema("pain.001.001.09") and camt is not pain
    with pytest.raises(LedgerError, match="kein ISO-20022-Schema"):
        iso20022.schema("pain.001.001.03")


def test_validation_names_the_line_of_each_error():
    wrong = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">\n'
             b"  <CstmrCdtTrfInitn>\n    <GrpHdr><MsgId>X</MsgId></GrpHdr>\n  </CstmrCdtTrfInitn>\n</Document>\n")
    (line3, missing_payment), (line4, missing_time) = iso20022.validate(MESSAGE, wrong)
    assert (line3, line4) == (3, 4)
    assert "CstmrCdtTrfInitn" in missing_payment and "PmtInf" in missing_payment
    assert "GrpHdr" in missing_time and "CreDtTm" in missing_time
    (line, message), = iso20022.validate("camt.053.001.08", b"<Document>\n<unclosed>\n</Document>")
    assert line == 3 and message
    assert iso20022.validate("camt.053.001.08", wrong)[0][0] == 2   # the pain document is no statement


# ---------------------------------------------------------------- the file (pure function)


def test_the_file_is_valid_and_states_amount_accounts_reference_and_date():
    document = _read(credit_transfer(_transfer(), created=datetime(2026, 11, 22, 10, 0, 0)))
    head = "/p:Document/p:CstmrCdtTrfInitn/p:GrpHdr/"
    block = "/p:Document/p:CstmrCdtTrfInitn/p:PmtInf/"
    tx = block + "p:CdtTrfTxInf/"
    # one transaction of 469.569,68 EUR (Vereinbarung § 1 Abs. 2): two decimals, point, no thousands separator
    assert _text(document, head + "p:NbOfTxs") == _text(document, block + "p:NbOfTxs") == "1"
    assert _text(document, head + "p:CtrlSum") == _text(document, block + "p:CtrlSum") == "469569.68"
    assert _text(document, tx + "p:Amt/p:InstdAmt") == "469569.68"
    assert _text(document, tx + "p:Amt/p:InstdAmt/@Ccy") == "EUR"
    assert _text(document, head + "p:CreDtTm") == "2026-11-22T10:00:00"
    assert _text(document, block + "p:ReqdExctnDt/p:Dt") == "2026-11-30"
    assert _text(document, block + "p:PmtTpInf/p:SvcLvl/p:Cd") == "SEPA"
    assert _text(document, block + "p:ChrgBr") == "SLEV"
    # from the recipient's account (no BIC given: NOTPROVIDED) to the Landeskasse (Vereinbarung § 3)
    assert _text(document, block + "p:Dbtr/p:Nm") == "Rhein-Sieg-Kreis"
    assert _text(document, block + "p:DbtrAcct/p:Id/p:IBAN") == DEBTOR_IBAN
    assert _text(document, block + "p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == "NOTPROVIDED"
    assert _text(document, tx + "p:Cdtr/p:Nm") == "Landeskasse Düsseldorf"
    assert _text(document, tx + "p:CdtrAcct/p:Id/p:IBAN") == KASSE_IBAN
    assert _text(document, tx + "p:CdtrAgt/p:FinInstnId/p:BICFI") == "WELADEDD"
    assert _text(document, tx + "p:RmtInf/p:Ustrd") == REFERENCE
    assert _text(document, tx + "p:PmtId/p:EndToEndId") == "RZ-2020-21-rhein-sieg"
    message_id = _text(document, head + "p:MsgId")
    assert message_id == _transfer().message_id and SEPA_ID.fullmatch(message_id)
    assert message_id.startswith("INKL-20261130-") and len(message_id) == 32
    assert _text(document, block + "p:PmtInfId") == f"{message_id}-1"


def test_same_transfer_same_bytes_and_id_another_transfer_another_id():
    created = datetime(2026, 11, 22, 10, 0, 0)
    assert credit_transfer(_transfer(), created=created) == credit_transfer(_transfer(), created=created)
    ids = {_transfer(**change).message_id for change in (
        {}, {"amount": D("469569.69")}, {"execution_date": date(2026, 12, 1)},
        {"end_to_end_id": "RZ-2021-22-rhein-sieg"}, {"debtor_iban": "DE89370400440532013000"})}
    assert len(ids) == 5 and all(SEPA_ID.fullmatch(i) for i in ids)


@pytest.mark.parametrize(("amount", "text"), [(D("0.01"), "0.01"), (D("0.1"), "0.10"), (D("1000"), "1000.00"),
                                              (D("999999999.99"), "999999999.99")])
def test_amounts_are_written_from_decimal_with_two_places(amount, text):
    document = _read(credit_transfer(_transfer(amount=amount), created=NOW))
    assert _text(document, "//p:InstdAmt") == _text(document, "//p:GrpHdr/p:CtrlSum") == text


@pytest.mark.parametrize(("change", "message"), [
    ({"amount": D("0.00")}, "muss positiv sein"),
    ({"amount": D("-5.00")}, "muss positiv sein"),
    ({"amount": D("1.005")}, "Bruchteile eines Cents"),
    ({"amount": D("1000000000.00")}, "übersteigt den Höchstbetrag von 999.999.999,99 EUR"),
    ({"debtor_iban": "DE02 1203 0000 0000 2020 52"}, "ungültige IBAN"),
    ({"creditor_bic": "WELA"}, "ungültige BIC"),
    ({"end_to_end_id": "RZ/2020"}, "Ende-zu-Ende-Referenz"),
    ({"end_to_end_id": "R" * 36}, "Ende-zu-Ende-Referenz"),
    ({"remittance": "x" * 141}, "zu lang"),
    ({"remittance": "  "}, "Verwendungszweck der Überweisung fehlt"),
    ({"debtor_name": "†"}, "Name des Auftraggebers fehlt"),
])
def test_a_transfer_the_bank_would_refuse_is_refused_in_german(change, message):
    with pytest.raises(LedgerError, match=message):
        credit_transfer(_transfer(**change), created=NOW)


def test_texts_are_kept_to_the_character_set_of_german_banks():
    assert sepa_text("Rückzahlung „Pool“ – § 3 & Café") == "Rückzahlung 'Pool' - Par. 3 + Cafe"
    assert sepa_text("  Städte\tregion\nAachen ") == "Städte region Aachen"
    document = _read(credit_transfer(_transfer(remittance="Rückzahlung „2020/21“ – Kreis", debtor_name="Kreis Düren"),
                                     created=NOW))
    assert _text(document, "//p:Ustrd") == "Rückzahlung '2020/21' - Kreis"
    assert _text(document, "//p:Dbtr/p:Nm") == "Kreis Düren"


# ---------------------------------------------------------------- the workflow (both databases)


@pytest.fixture
def rhein_sieg(session):
    """The settlement of Vereinbarung § 1–3 (seed 002) with the repayment confirmed (469.569,68 EUR)."""
    recipient = add_recipient(session, "rhein-sieg", "Rhein-Sieg-Kreis", "kreis", actor="test", now=NOW)
    year = SchoolYear(2020)
    grant = add_grant(session, recipient, year, D("891931.68"), actor="test", now=NOW)
    add_payout(session, grant, date(2020, 10, 15), D("891931.68"), created_by="test", now=NOW)
    add_agreement(session, recipient, year, deemed_conform=D("422362.00"), repayment=D("469569.68"),
                  payment_reference=REFERENCE, reference="Vereinbarung Rhein-Sieg-Kreis – Land NRW, § 1 Abs. 2",
                  created_by="test", now=NOW)
    confirm_repayment(session, recipient, year, day=date(2022, 5, 2), created_by="test", now=NOW)
    session.commit()
    return recipient


def test_the_open_confirmed_repayment_as_a_transfer_to_the_landeskasse(session, rhein_sieg):
    set_account_iban(session, rhein_sieg, "1810", "DE02 1203 0000 0000 2020 51", actor="test", now=NOW)
    sepa = repayment_transfer(session, rhein_sieg, SchoolYear(2020), actor="kasse", now=NOW, execution_date=EXECUTION)
    session.commit()
    document = _read(sepa.xml)
    assert _text(document, "//p:InstdAmt") == _text(document, "//p:GrpHdr/p:CtrlSum") == "469569.68"
    assert _text(document, "//p:DbtrAcct/p:Id/p:IBAN") == DEBTOR_IBAN
    assert _text(document, "//p:DbtrAgt/p:FinInstnId/p:BICFI") == "BYLADEM1001"   # the bank registry's BIC
    assert _text(document, "//p:CdtrAcct/p:Id/p:IBAN") == KASSE_IBAN
    assert _text(document, "//p:CdtrAgt/p:FinInstnId/p:BICFI") == "WELADEDD"
    assert _text(document, "//p:Ustrd") == REFERENCE   # the agreed Verwendungszweck (§ 3), as the statement names it
    assert _text(document, "//p:ReqdExctnDt/p:Dt") == "2026-11-30"
    assert _text(document, "//p:EndToEndId") == "RZ-2020-21-rhein-sieg"
    assert sepa.transfer.amount == D("469569.68") and sepa.school_year == "2020/21"

    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "repayment_sepa"))
    details = json.loads(event.details)
    assert (event.actor, details["amount"], details["execution_date"], details["message_id"]) == (
        "kasse", "469569.68", "2026-11-30", _text(document, "//p:GrpHdr/p:MsgId"))
    assert details["sha256"] == sepa.sha256 and ACTION_LABELS["repayment_sepa"].startswith("SEPA-Überweisung")

    # part paid: 469.569,68 − 69.569,68 = 400.000,00 open; the file says the open amount
    pay_repayment(session, rhein_sieg, SchoolYear(2020), D("69569.68"), day=date(2022, 6, 1), created_by="test",
                  now=NOW)
    rest = _read(repayment_transfer(session, rhein_sieg, SchoolYear(2020), actor="kasse", now=NOW,
                                    execution_date=EXECUTION).xml)
    assert _text(rest, "//p:InstdAmt") == _text(rest, "//p:PmtInf/p:CtrlSum") == "400000.00"
    assert _text(rest, "//p:GrpHdr/p:MsgId") != _text(document, "//p:GrpHdr/p:MsgId")


def test_refused_without_the_iban_of_the_bank_account(session, rhein_sieg):
    with pytest.raises(LedgerError, match=r"Bankkonto 1810 Girokonto \(liquide Mittel\) hat keine IBAN"):
        repayment_transfer(session, rhein_sieg, SchoolYear(2020), actor="kasse", now=NOW, execution_date=EXECUTION)
    session.rollback()
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "repayment_sepa")) is None


def test_refused_when_nothing_is_confirmed_or_open_or_the_day_is_past(session, rhein_sieg):
    set_account_iban(session, rhein_sieg, "1810", DEBTOR_IBAN, actor="test", now=NOW)
    with pytest.raises(LedgerError, match="Ausführungstag 21.11.2026 liegt in der Vergangenheit"):
        repayment_transfer(session, rhein_sieg, SchoolYear(2020), actor="kasse", now=NOW,
                           execution_date=date(2026, 11, 21))
    assert repayment_transfer(session, rhein_sieg, SchoolYear(2020), actor="kasse", now=NOW).transfer \
        .execution_date == NOW.date()   # default: today
    with pytest.raises(LedgerError, match="für 2019/20 ist keine Rückzahlung bestätigt"):
        repayment_transfer(session, rhein_sieg, SchoolYear(2019), actor="kasse", now=NOW)
    pay_repayment(session, rhein_sieg, SchoolYear(2020), D("469569.68"), day=date(2022, 6, 1), created_by="test",
                  now=NOW)
    with pytest.raises(LedgerError, match="469.569,68 EUR ist bereits gezahlt"):
        repayment_transfer(session, rhein_sieg, SchoolYear(2020), actor="kasse", now=NOW)


def test_a_notice_of_the_land_adds_its_aktenzeichen_to_the_reference(session, kreis):
    """Where the Land's notice decides, the Landeskasse matches the payment by the notice's
    Aktenzeichen: the pack's Verwendungszweck names it (rules/inklfoeg-nrw-hinweise.toml [landeskasse])."""
    year = SchoolYear(2022)
    grant = add_grant(session, kreis, year, D("100000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2022, 11, 30), D("100000.00"), created_by="test", now=NOW)
    add_notice(session, kreis, year, notice_date=date(2026, 10, 1), reference="48.01-2022/23-17", amount=D("12345.67"),
               due_date=date(2026, 12, 15), interest_waived=True, created_by="test", now=NOW)
    confirm_repayment(session, kreis, year, day=date(2026, 10, 5), created_by="test", now=NOW)
    set_account_iban(session, kreis, "1810", "DE89 3704 0044 0532 0130 00", actor="test", now=NOW)
    document = _read(repayment_transfer(session, kreis, year, actor="kasse", now=NOW, execution_date=EXECUTION).xml)
    assert _text(document, "//p:InstdAmt") == "12345.67"
    assert _text(document, "//p:Ustrd") == ("Rückzahlung Inklusionspauschale 2022/23 Kreis Testland, "
                                            "Bescheid Az. 48.01-2022/23-17")
    assert _text(document, "//p:DbtrAgt/p:FinInstnId/p:BICFI") == "COBADEFFXXX"


# ---------------------------------------------------------------- the command line


def test_cli_writes_the_file_of_the_demos_open_repayment(session, cli, tmp_path):
    """Demo Kreis Musterhausen 2023/24: repayment due 112.206,21 EUR (tests/test_demo_and_worked_examples.py),
    60.000,00 paid → 112.206,21 − 60.000,00 = 52.206,21 EUR open."""
    from inkl.demo import load_demo

    list(load_demo(session, user="demo", now=NOW))
    session.commit()
    session.close()
    output = tmp_path / "rueckzahlung.xml"
    args = ("repayment", "sepa", "--recipient", "musterhausen", "--school-year", "2023/24", "--output", output)
    cli("repayment", "confirm", "--recipient", "musterhausen", "--school-year", "2023/24", "--date", "2024-03-15")
    cli("repayment", "pay", "--recipient", "musterhausen", "--school-year", "2023/24", "--amount", "60.000,00",
        "--date", "2024-03-20")
    refused = cli(*args, expect=1)
    assert refused.stderr.startswith("Fehler: das Bankkonto 1810 Girokonto (liquide Mittel) hat keine IBAN")
    assert not output.exists()
    cli("account", "set-iban", "--recipient", "musterhausen", "1810", "DE89 3704 0044 0532 0130 00")
    day = date.today() + timedelta(days=3)
    facts = json.loads(cli(*args, "--execution-date", day.isoformat(), "--json").stdout)
    document = _read(output.read_bytes())
    assert (facts["amount"], _text(document, "//p:InstdAmt"), _text(document, "//p:GrpHdr/p:CtrlSum")) == (
        "52206.21", "52206.21", "52206.21")
    assert facts["execution_date"] == _text(document, "//p:ReqdExctnDt/p:Dt") == day.isoformat()
    assert facts["debtor"]["iban"] == _text(document, "//p:DbtrAcct/p:Id/p:IBAN") == "DE89370400440532013000"
    assert facts["creditor"] == {"name": "Landeskasse Düsseldorf", "iban": KASSE_IBAN, "bic": "WELADEDD"}
    assert facts["remittance"] == _text(document, "//p:Ustrd") == \
        "Rückzahlung Inklusionspauschale 2023/24 Kreis Musterhausen"
    assert facts["message_id"] == _text(document, "//p:GrpHdr/p:MsgId")
    text = cli(*args).stdout
    assert "52.206,21 EUR an Landeskasse Düsseldorf, IBAN DE59 3005 0000 0001 6835 15, BIC WELADEDD" in text
    past = cli(*args, "--execution-date", "2020-01-01", expect=1)
    assert "Ausführungstag 01.01.2020 liegt in der Vergangenheit" in past.stderr
    written = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "repayment_sepa"))
    unwritable = cli(*args[:-1], tmp_path / "fehlt" / "datei.xml", expect=1)
    assert unwritable.stderr.startswith("Fehler: die Datei ") and "kann nicht geschrieben werden" in unwritable.stderr
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "repayment_sepa")) == written == 2   # no event without its file


def test_cli_links_unlinks_and_lists_the_iban_of_bank_accounts(cli):
    cli("recipient", "add", "testland", "--name", "Kreis Testland", "--kind", "kreis")
    added = cli("account", "add", "--recipient", "testland", "1811", "Tagesgeldkonto", "--type", "asset",
                "--iban", "de02 1203 0000 0000 2020 51")
    assert "Konto 1811 Tagesgeldkonto angelegt, IBAN DE02 1203 0000 0000 2020 51." in added.stdout
    refused = cli("account", "add", "--recipient", "testland", "3791", "Sonstige Verbindlichkeit", "--type",
                  "liability", "--iban", "DE89370400440532013000", expect=1)
    assert "Konto 3791 Sonstige Verbindlichkeit ist kein Vermögenskonto" in refused.stderr
    wrong = cli("account", "add", "--recipient", "testland", "1812", "Konto", "--type", "asset",
                "--iban", "DE89370400440532013001", expect=1)
    assert "ungültige IBAN 'DE89370400440532013001' (Prüfziffern stimmen nicht)" in wrong.stderr
    taken = cli("account", "set-iban", "--recipient", "testland", "1810", "DE02120300000000202051", expect=1)
    assert "gehört bereits zu Konto 1811 Tagesgeldkonto (Kreis Testland)" in taken.stderr
    cli("account", "set-iban", "--recipient", "testland", "1810", "DE89 3704 0044 0532 0130 00")
    rows = {r["number"]: r for r in json.loads(cli("account", "list", "--recipient", "testland", "--json").stdout)}
    assert (rows["1810"]["iban"], rows["1811"]["iban"], rows["5291"]["iban"]) == (
        "DE89370400440532013000", "DE02120300000000202051", None)
    listing = cli("account", "list", "--recipient", "testland").stdout
    assert "Girokonto (liquide Mittel)" in listing and "IBAN DE89 3704 0044 0532 0130 00" in listing
    assert "Konto 1811 Tagesgeldkonto: keine IBAN mehr." in cli(
        "account", "set-iban", "--recipient", "testland", "1811", "--remove").stdout
    assert cli("account", "set-iban", "--recipient", "testland", "1811", expect=2).exit_code == 2
    rows = {r["number"]: r for r in json.loads(cli("account", "list", "--recipient", "testland", "--json").stdout)}
    assert rows["1811"]["iban"] is None
