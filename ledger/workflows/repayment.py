"""Settling a school year's repayment: the obligation confirmed, the payment recorded.

Both are journal entries (``ledger.core.posting``) on the recipient's role accounts; the
figures come from ``ledger.reports.repayment.compute_repayment``. Source: seed
002_17056edfca8550ce.txt, Vereinbarung § 3 and § 4 Abs. 2 (repayment to the Landeskasse).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import schwifty
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.bank import normalise_iban
from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import JournalEntry, Recipient
from ledger.core.money import format_german
from ledger.core.posting import PostingLine, post_entry
from ledger.core.recipients import role_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.repayment import compute_repayment
from ledger.rules.evaluation_runs import record_evaluation
from ledger.rules.packs import Landeskasse, RulePack, load_packs, pack_for
from ledger.write.sepa import MAX_ID, Transfer, credit_transfer, sepa_text


def confirm_repayment(
    session: Session, recipient: Recipient, school_year: SchoolYear, *, day: date, created_by: str,
    now: datetime, packs: tuple[RulePack, ...] | None = None,
) -> JournalEntry:
    """Book the repayment obligation to the Land as a liability (debit 4149, credit 3790).

    Books the difference between the repayment due now and what was confirmed before,
    so re-confirming after a reclassification adjusts the liability. The classification it
    rests on is recorded first as an evaluation run (``ledger.rules.evaluation_runs``). Raises
    LedgerError when nothing changed (already confirmed, or nothing due).
    """
    record_evaluation(session, recipient, school_year, actor=created_by, now=now,
                      reason="Bestätigung der Rückzahlung", packs=packs)
    result = compute_repayment(session, recipient, school_year, packs)
    delta = result.repayment_due - result.confirmed_obligation
    if delta == 0:
        raise LedgerError(
            f"Rückzahlung {school_year} ist bereits mit {format_german(result.confirmed_obligation)} EUR bestätigt"
            if result.confirmed_obligation else f"für {school_year} ist keine Rückzahlung fällig")
    entry = post_entry(
        session, recipient, day=day, voucher_number=f"RZV-{school_year}-{day:%Y%m%d}",
        text=f"Rückzahlungsverpflichtung Inklusionspauschale {school_year} gegenüber dem Land NRW",
        lines=[PostingLine(role_account(session, recipient, "repayment_charge"), delta, school_year),
               PostingLine(role_account(session, recipient, "repayment_liability"), -delta, school_year)],
        kind="repayment_obligation", created_by=created_by, now=now,
    )
    audit.record(session, actor=created_by, action="repayment_confirm", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "amount": str(delta), "entry": entry.id})
    return entry


def pay_repayment(
    session: Session, recipient: Recipient, school_year: SchoolYear, amount: Decimal, *, day: date,
    created_by: str, now: datetime, packs: tuple[RulePack, ...] | None = None,
) -> JournalEntry:
    """Record a repayment of ``amount`` EUR to the Landeskasse (debit 3790, credit bank).

    Raises LedgerError if the amount is not positive, nothing was confirmed, or the
    amount exceeds the confirmed obligation not yet paid.
    """
    if amount <= 0:
        raise LedgerError("der Zahlbetrag muss positiv sein")
    result = compute_repayment(session, recipient, school_year, packs)
    open_liability = result.confirmed_obligation - result.already_repaid
    if result.confirmed_obligation <= 0:
        raise LedgerError(f"für {school_year} ist keine Rückzahlung bestätigt (die Rückzahlung zuerst bestätigen)")
    if amount > open_liability:
        raise LedgerError(f"Zahlung {format_german(amount)} EUR übersteigt die offene Verbindlichkeit "
                          f"von {format_german(open_liability)} EUR")
    entry = post_entry(
        session, recipient, day=day, voucher_number=f"RZ-{school_year}-{day:%Y%m%d}",
        text=f"Rückzahlung Inklusionspauschale {school_year} an die Landeskasse",
        lines=[PostingLine(role_account(session, recipient, "repayment_liability"), amount, school_year),
               PostingLine(role_account(session, recipient, "bank"), -amount, school_year)],
        kind="repayment_payment", created_by=created_by, now=now,
    )
    audit.record(session, actor=created_by, action="repayment_pay", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "amount": str(amount), "date": day.isoformat(),
                          "entry": entry.id})
    return entry


@dataclass(frozen=True)
class RepaymentTransfer:
    """The open repayment of a school year as a SEPA credit transfer file and what it says.

    ``xml``: the pain.001.001.09 document (UTF-8 bytes, valid against the schema);
    ``transfer``: its content (``ledger.write.sepa.Transfer``: amount in EUR, IBANs, the
    Landeskasse's BIC, execution date, end-to-end id, Verwendungszweck), its ``message_id``
    the file's; ``school_year``: ``"2023/24"``; ``landeskasse``: the creditor as the rule pack
    names it; ``sha256``: hex digest of ``xml``.
    """

    school_year: str
    transfer: Transfer
    landeskasse: Landeskasse
    xml: bytes

    @property
    def sha256(self) -> str:
        """SHA-256 of the file (hex)."""
        return hashlib.sha256(self.xml).hexdigest()

    def as_json(self) -> dict:
        """The transfer for ``--json``: amounts as plain decimal text, dates ISO, IBANs compact."""
        t = self.transfer
        return {"school_year": self.school_year, "amount": f"{t.amount:f}", "currency": "EUR",
                "execution_date": t.execution_date.isoformat(), "message_id": t.message_id,
                "end_to_end_id": t.end_to_end_id, "remittance": t.remittance,
                "debtor": {"name": t.debtor_name, "iban": t.debtor_iban, "bic": t.debtor_bic},
                "creditor": {"name": t.creditor_name, "iban": t.creditor_iban, "bic": t.creditor_bic},
                "sha256": self.sha256}


def repayment_transfer(
    session: Session, recipient: Recipient, school_year: SchoolYear, *, actor: str, now: datetime,
    execution_date: date | None = None, packs: tuple[RulePack, ...] | None = None,
) -> RepaymentTransfer:
    """The open repayment of ``recipient``'s ``school_year`` as a SEPA credit transfer
    (pain.001.001.09) from its bank account to the Landeskasse, for the municipality's
    payment run; audited as ``repayment_sepa`` (nothing is booked: the payment is recorded
    with ``pay_repayment`` once made).

    The amount is the confirmed obligation not yet paid (``compute_repayment``:
    confirmed_obligation − already_repaid, EUR). The debtor is the recipient with the IBAN of
    its account with role ``bank`` and the BIC the bank registry gives for it (schwifty; none
    if unknown); the creditor is the rule pack's ``[landeskasse]`` (payee, IBAN, BIC) for the
    year (Vereinbarung § 3, seed 002_17056edfca8550ce.txt). The Verwendungszweck is the
    statement's (``RepaymentResult.payment_reference``: the pack's template, the agreed one
    or the notice's Aktenzeichen). The end-to-end id is ``RZ-<2023-24>-<recipient key>``
    (cut to 35 characters). ``execution_date``: the requested execution date, default the
    day of ``now``.

    Raises LedgerError (German) when nothing is confirmed or nothing confirmed is open, the
    bank account has no IBAN, the execution date lies before the day of ``now``, or
    ``ledger.write.sepa.credit_transfer`` refuses the transfer; RulePackError without a pack
    for the year.
    """
    packs = packs or load_packs()
    day = execution_date or now.date()
    if day < now.date():
        raise LedgerError(f"der Ausführungstag {day:%d.%m.%Y} liegt in der Vergangenheit")
    result = compute_repayment(session, recipient, school_year, packs)
    if result.confirmed_obligation <= 0:
        raise LedgerError(f"für {school_year} ist keine Rückzahlung bestätigt (die Rückzahlung zuerst bestätigen)")
    open_amount = result.confirmed_obligation - result.already_repaid
    if open_amount <= 0:
        raise LedgerError(f"die bestätigte Rückzahlung {school_year} von {format_german(result.confirmed_obligation)} "
                          "EUR ist bereits gezahlt")
    bank = role_account(session, recipient, "bank")
    if not bank.iban:
        raise LedgerError(f"das Bankkonto {bank.label} hat keine IBAN; bitte die IBAN im Kontenplan "
                          f"von {recipient.name} erfassen")
    kasse = pack_for(INKLUSIONSPAUSCHALE, school_year, packs).landeskasse
    debtor_bic = schwifty.IBAN(bank.iban).bic
    reference = result.payment_reference(kasse.reference_for(str(school_year), recipient.name, recipient.key))
    transfer = Transfer(
        debtor_name=recipient.name, debtor_iban=bank.iban, debtor_bic=None if debtor_bic is None else str(debtor_bic),
        creditor_name=kasse.payee, creditor_iban=normalise_iban(kasse.iban), creditor_bic=kasse.bic,
        amount=open_amount, execution_date=day,
        end_to_end_id=f"RZ-{str(school_year).replace('/', '-')}-{recipient.key}"[:MAX_ID].rstrip("-"),
        remittance=sepa_text(reference),
    )
    sepa = RepaymentTransfer(str(school_year), transfer, kasse, credit_transfer(transfer, created=now))
    audit.record(session, actor=actor, action="repayment_sepa", now=now, recipient=recipient,
                 details={"school_year": str(school_year), "amount": str(open_amount),
                          "execution_date": day.isoformat(), "iban": bank.iban, "message_id": transfer.message_id,
                          "end_to_end_id": transfer.end_to_end_id, "payment_reference": transfer.remittance,
                          "sha256": sepa.sha256})
    return sepa
