"""The repayment as a SEPA credit transfer: an ISO 20022 ``pain.001.001.09`` file for the
municipality's payment run (Customer Credit Transfer Initiation V09).

The document is built by ``sepaxml`` (its ``SepaTransfer`` with schema ``pain.001.001.09``);
this module fixes the three identifiers sepaxml makes random or takes from the clock (message
id, payment information id, creation time) so that the same transfer always gives the same
bytes, and validates the result against the official schema shipped with the package
(``ledger.core.iso20022``) before returning it. One payment information block with one
transaction, service level SEPA, charges shared (``SLEV``), amounts as text with two decimals
from integer cents, never float.

Texts (names, remittance) are kept to the character set German banks accept in SEPA files
(the Latin set of the EPC implementation guidelines plus Ä Ö Ü ä ö ü ß, DK-Spezifikation
Anlage 3): typographic quotes and dashes become ``'`` and ``-``, accented letters lose their
accents, anything else is dropped. Identifiers (message id, end-to-end id) use only
``A–Z a–z 0–9 -``.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import schwifty
from lxml import etree
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer

from ledger.core import iso20022
from ledger.core.bank import normalise_iban
from ledger.core.errors import LedgerError
from ledger.core.money import checked_cents, format_german

#: The ISO 20022 message this module writes.
MESSAGE = "pain.001.001.09"
#: Longest remittance text (``RmtInf/Ustrd``, Max140Text) and name (EPC: 70 characters).
MAX_REMITTANCE = 140
MAX_NAME = 70
#: Longest identifier (message id, payment information id, end-to-end id: Max35Text).
MAX_ID = 35

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,34}")
_TEXT_ALLOWED = re.compile(r"[A-Za-z0-9/?:().,'+ \-ÄÖÜäöüß]")
_TEXT_REPLACED = {"„": "'", "“": "'", "”": "'", "‚": "'", "‘": "'", "’": "'", "«": "'", "»": "'", '"': "'",
                  "–": "-", "—": "-", "‑": "-", "&": "+", "§": "Par.", "\u00a0": " ", "\t": " ", "\n": " "}


@dataclass(frozen=True)
class Transfer:
    """One credit transfer from the recipient's bank account to the Landeskasse.

    - ``debtor_name``: the recipient (``"Rhein-Sieg-Kreis"``); ``debtor_iban``: its bank
      account's IBAN (any spacing); ``debtor_bic``: its bank's BIC, None if unknown (the
      file then says ``NOTPROVIDED``, as SEPA allows IBAN-only transfers).
    - ``creditor_name``, ``creditor_iban``, ``creditor_bic``: the Landeskasse as the rule
      pack names it (``[landeskasse]`` payee, iban, bic).
    - ``amount``: EUR, Decimal with at most two places, above zero and at most ``ledger.core.money.MAX_AMOUNT``.
    - ``execution_date``: the requested execution date (``ReqdExctnDt``).
    - ``end_to_end_id``: 1–35 characters of ``A–Z a–z 0–9 -``, handed on to the creditor.
    - ``remittance``: the unstructured remittance information (Verwendungszweck), at most
      140 characters after the character set is applied.
    """

    debtor_name: str
    debtor_iban: str
    creditor_name: str
    creditor_iban: str
    creditor_bic: str
    amount: Decimal
    execution_date: date
    end_to_end_id: str
    remittance: str
    debtor_bic: str | None = None

    @property
    def message_id(self) -> str:
        """The message id (``GrpHdr/MsgId``): ``INKL-`` + execution date + 18 hex digits of the
        SHA-256 of the debtor's and creditor's IBAN, the amount in cents, the end-to-end id (it
        names the recipient and school year) and the remittance, e.g.
        ``"INKL-20250331-3F1A…"`` (32 characters): the same transfer always has the same id,
        so a bank that refuses a file it has seen refuses a second file for the same payment;
        another recipient, year, amount or date gives another id."""
        facts = "|".join((normalise_iban(self.debtor_iban), normalise_iban(self.creditor_iban),
                          str(checked_cents(self.amount)), self.execution_date.isoformat(), self.end_to_end_id,
                          self.remittance))
        return f"INKL-{self.execution_date:%Y%m%d}-{hashlib.sha256(facts.encode()).hexdigest()[:18].upper()}"


def credit_transfer(transfer: Transfer, *, created: datetime) -> bytes:
    """``transfer`` as a pain.001.001.09 document: UTF-8 XML bytes, valid against the schema.

    ``created`` (local time, seconds) is the creation time the file states (``CreDtTm``);
    with it the bytes depend on the input alone. The message id is
    ``transfer.message_id``, the payment information id the same with ``-1``; the control
    sums (group header and payment information) equal the amount.

    Raises LedgerError (German) for an amount not above zero, above ``MAX_AMOUNT`` (money) or with
    fractions of a cent, an invalid IBAN or BIC, an end-to-end id outside the allowed
    characters or longer than 35, a remittance longer than 140 characters, an empty name, or
    (never expected) a document the schema refuses, with its lines and errors.
    """
    cents = _cents(transfer.amount)
    end_to_end = transfer.end_to_end_id
    if not _ID.fullmatch(end_to_end):
        raise LedgerError(f"ungültige Ende-zu-Ende-Referenz {end_to_end!r}: 1 bis {MAX_ID} Zeichen aus "
                          "A–Z, a–z, 0–9 und '-'")
    remittance = sepa_text(transfer.remittance)
    if not remittance:
        raise LedgerError("der Verwendungszweck der Überweisung fehlt")
    if len(remittance) > MAX_REMITTANCE:
        raise LedgerError(f"der Verwendungszweck ist mit {len(remittance)} Zeichen zu lang für eine "
                          f"SEPA-Überweisung (höchstens {MAX_REMITTANCE}): „{remittance}“")
    config = {"name": _name(transfer.debtor_name, "Auftraggebers"), "IBAN": normalise_iban(transfer.debtor_iban),
              "batch": False, "currency": "EUR"}
    if transfer.debtor_bic:
        config["BIC"] = _bic(transfer.debtor_bic)
    document = SepaTransfer(config, schema=MESSAGE, clean=False)
    document.add_payment({
        "name": _name(transfer.creditor_name, "Empfängers"), "IBAN": normalise_iban(transfer.creditor_iban),
        "BIC": _bic(transfer.creditor_bic), "amount": cents, "execution_date": transfer.execution_date,
        "description": remittance, "endtoend_id": end_to_end,
    })
    data = _fixed(document.export(validate=False), transfer.message_id, created)
    errors = iso20022.validate(MESSAGE, data)
    if errors:
        raise LedgerError(f"die SEPA-Datei entspricht nicht dem Schema {MESSAGE}: "
                          + "; ".join(f"Zeile {line}: {message}" for line, message in errors))
    return data


def sepa_text(text: str) -> str:
    """``text`` in the SEPA character set of German banks (see the module's description), runs of
    spaces collapsed: ``"Rückzahlung „Pool“ – § 3"`` → ``"Rückzahlung 'Pool' - Par. 3"``."""
    out = []
    for char in text:
        if char in _TEXT_REPLACED:
            out.append(_TEXT_REPLACED[char])
        elif _TEXT_ALLOWED.fullmatch(char):
            out.append(char)
        else:   # "é" → "e" (base letter of the decomposition), "ł" → dropped
            out.append("".join(c for c in unicodedata.normalize("NFKD", char) if _TEXT_ALLOWED.fullmatch(c)))
    return " ".join("".join(out).split())


def _fixed(data: bytes, message_id: str, created: datetime) -> bytes:
    """sepaxml's document with the message id, the payment information id and the creation
    time set (sepaxml draws the ids at random and takes the time from the clock), the debtor
    agent ``NOTPROVIDED`` where no BIC was given, unused namespace declarations removed;
    pretty-printed UTF-8 with an XML declaration."""
    root = etree.fromstring(data)
    ns = {"p": iso20022.namespace(MESSAGE)}
    root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", ns).text = message_id
    root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", ns).text = created.replace(microsecond=0).isoformat()
    root.find("p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId", ns).text = f"{message_id}-1"
    agent = root.find("p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAgt/p:FinInstnId", ns)
    if len(agent) == 0:
        other = etree.SubElement(agent, f"{{{ns['p']}}}Othr")
        etree.SubElement(other, f"{{{ns['p']}}}Id").text = "NOTPROVIDED"
    etree.cleanup_namespaces(root)
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8") + b"\n"


def _cents(amount: Decimal) -> int:
    """``amount`` EUR as integer cents for sepaxml (which writes them as text with two decimals);
    ``ledger.core.money.checked_cents`` refuses more than ``MAX_AMOUNT`` and fractions of a cent."""
    if not amount > 0:
        raise LedgerError(f"der Betrag einer Überweisung muss positiv sein, nicht {format_german(amount)} EUR")
    return checked_cents(amount)


def _bic(bic: str) -> str:
    """A BIC checked with schwifty, compact and upper case. Raises LedgerError (German)."""
    try:
        return schwifty.BIC(bic.strip()).compact
    except SchwiftyException:
        raise LedgerError(f"ungültige BIC {bic.strip()!r}") from None


def _name(name: str, whose: str) -> str:
    """A party's name in the SEPA character set, cut to ``MAX_NAME`` characters."""
    text = sepa_text(name)[:MAX_NAME].strip()
    if not text:
        raise LedgerError(f"der Name des {whose} fehlt")
    return text
