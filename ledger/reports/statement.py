"""The statement of use (Verwendungsnachweis) of one recipient and school year.

This module holds the statement's content as immutable values; ``build_statement``
assembles it from the books, and ``ledger.write.statement_pdf.render_statement`` writes it
as a PDF for auditors.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.chain import ChainHead, chain_head
from ledger.core.grants import INKLUSIONSPAUSCHALE, find_grant
from ledger.core.models import CostCentre, Recipient
from ledger.core.narrative import NarrativeReport, current_narrative
from ledger.core.money import format_german, from_cents
from ledger.core.schoolyear import SchoolYear
from ledger.reports.forecast import Forecast, forecast
from ledger.reports.repayment import compute_repayment
from ledger.reports.settlement import RepaymentResult
from ledger.rules.evaluation_runs import classified
from ledger.rules.overrides import OverrideRecord, list_overrides
from ledger.rules.packs import UNCLASSIFIED_LABEL, OverheadRule, RulePack, load_packs, pack_for


@dataclass(frozen=True)
class PayoutLine:
    """One payout (Auszahlung) of the grant: value date, amount in EUR, voucher number."""

    date: date
    amount: Decimal
    voucher_number: str


@dataclass(frozen=True)
class VoucherLine:
    """One expense posting in the chronological voucher list.

    ``amount`` is EUR, positive for an expense, negative for a reversal or credit.
    ``category`` is the rule-pack category id or None (unclassified);
    ``category_label`` its German label ("nicht klassifiziert" when None).
    ``status``, ``conform`` (EUR), ``rule`` and ``reason``: the posting's classification
    (``ledger.rules.classify``); ``override_id`` the officer's override applied, if any;
    ``cost_centre`` the Kostenstelle or None.
    """

    date: date
    voucher_number: str
    text: str
    account: str
    category: str | None
    category_label: str
    amount: Decimal
    status: str = "unclassified"
    conform: Decimal = Decimal("0.00")
    rule: str = ""
    reason: str = ""
    override_id: int | None = None
    cost_centre: str | None = None


@dataclass(frozen=True)
class TargetLine:
    """Spending on one pool or school (by cost centre), EUR: ``total`` = ``conform`` + ``excluded``
    + ``unclassified``. ``kind`` is "Pool" or "Schule"; ``basis`` the pool's German financing
    basis ("systemisch", "Einzelansprüche gebündelt", "gemischt (62,5 % systemisch)") or the
    school's GL status; ``schools`` the pool's schools ("190101 GGS Am Lindenhof, …")."""

    kind: str
    key: str
    name: str
    basis: str
    schools: str
    total: Decimal
    conform: Decimal
    excluded: Decimal
    unclassified: Decimal


@dataclass(frozen=True)
class Verification:
    """The Kreis's verification of a municipality's projects: date, document, who."""

    verified_on: date
    document_reference: str
    verified_by: str


@dataclass(frozen=True)
class PassThroughLine:
    """Pass-through to one member municipality in the school year (EUR) and its evidence."""

    municipality: str
    gl_bearer: bool
    amount: Decimal
    conform: Decimal
    verifications: tuple[Verification, ...]


@dataclass(frozen=True)
class BankAccount:
    """Where repayments go: the Landeskasse's account (from the rule pack)."""

    payee: str
    bank: str
    iban: str
    bic: str


@dataclass(frozen=True)
class StatementData:
    """Everything a settlement statement shows.

    - ``recipient_*``: key, name and German kind label ("Kreis", "kreisfreie Stadt", …).
    - ``programme`` / ``legal_basis``: German text, e.g. "Inklusionspauschale" and
      "§ 2 Abs. 2 InklFöG NRW; Hinweise des MSB zur zweckentsprechenden Verwendung".
    - ``rule_pack_title``: the pack's German title; id and version are in ``result``.
    - ``notice_date``: date of the Festsetzungsbescheid, if recorded.
    - ``payouts``: the grant's payouts, by date.
    - ``result``: the repayment computation (grant, spending by category, overhead cap,
      excluded, unclassified, agreement, repayment due, due date).
    - ``vouchers``: chronological expense postings of the school year.
    - ``bank`` and ``payment_reference``: where and under which reference to repay.
    - ``created_at``: when the statement was produced (local time, naive).
    - ``chain_head``: the recipient's hash-chain head when the statement was produced
      (``ledger.core.chain``): an auditor can later check with ``inkl verify`` that the
      books behind the statement are unchanged.
    - ``targets``: spending per pool and per school (``TargetLine``), pools first.
    - ``pass_through``: pass-through per member municipality with the verifications.
    - ``overrides``: the officers' overrides of the year, withdrawn ones included.
    - ``forecast``: the projection as of the statement's day while the school year is
      still open (``ledger.reports.forecast``), else None.
    - ``out_of_period``: the vouchers booked outside the school year they belong to
      ("periodenfremd gebucht", § 33 Abs. 1 Nr. 4 KomHVO NRW), in date order.
    - ``overhead_rule``: the pack's overhead cap (rate, base, sources), None without one.
    - ``narrative``: the year's Sachbericht, its latest version (``ledger.core.narrative``), None while none
      is written.
    - ``issue_number``: the statement's number among the issued statements of the recipient's
      school year (1, 2, …), None for a draft (the PDF then says ENTWURF on every page).
    - The evaluation run behind the figures is ``result.evaluation``.
    """

    recipient_key: str
    recipient_name: str
    recipient_kind: str
    school_year: str
    programme: str
    legal_basis: str
    rule_pack_title: str
    notice_date: date | None
    payouts: tuple[PayoutLine, ...]
    result: RepaymentResult
    vouchers: tuple[VoucherLine, ...]
    bank: BankAccount
    payment_reference: str
    created_at: datetime
    chain_head: ChainHead
    targets: tuple[TargetLine, ...] = ()
    pass_through: tuple[PassThroughLine, ...] = ()
    overrides: tuple[OverrideRecord, ...] = ()
    forecast: Forecast | None = None
    out_of_period: tuple[VoucherLine, ...] = ()
    overhead_rule: OverheadRule | None = None
    narrative: NarrativeReport | None = None
    issue_number: int | None = None


def build_statement(
    session: Session, recipient: Recipient, school_year: SchoolYear, *, now: datetime,
    packs: tuple[RulePack, ...] | None = None,
) -> StatementData:
    """Assemble the settlement statement of ``recipient`` for ``school_year`` from the books.

    Raises RulePackError if no rule pack covers the year.
    """
    packs = packs or load_packs()
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    basis = classified(session, recipient, school_year, packs)
    result = compute_repayment(session, recipient, school_year, packs, as_of=now.date(), basis=basis)
    items = basis.items
    grant = find_grant(session, recipient, school_year)
    payouts = tuple(
        PayoutLine(p.date, from_cents(p.amount_cents), p.entry.voucher_number) for p in grant.payouts
    ) if grant is not None else ()
    bank = pack.landeskasse
    open_year = now.date() <= school_year.last_day
    vouchers = tuple(_voucher_lines(items, pack))
    return StatementData(
        recipient_key=recipient.key, recipient_name=recipient.name, recipient_kind=recipient.kind_label,
        school_year=str(school_year), programme=pack.programme_title, legal_basis=pack.legal_basis,
        rule_pack_title=pack.title, notice_date=None if grant is None else grant.notice_date,
        payouts=payouts, result=result, vouchers=vouchers,
        bank=BankAccount(bank.payee, bank.bank, bank.iban, bank.bic),
        payment_reference=bank.reference_for(str(school_year), recipient.name, recipient.key),
        created_at=now, chain_head=chain_head(session, recipient),
        targets=_targets(session, recipient, items), pass_through=_pass_through(session, recipient, items),
        overrides=tuple(list_overrides(session, recipient, school_year)),
        out_of_period=booked_out_of_period(vouchers, school_year), overhead_rule=pack.overhead,
        forecast=forecast(session, recipient, school_year, as_of=now.date(), packs=packs,
                          basis=basis) if open_year else None,
        narrative=current_narrative(session, recipient, school_year),
    )


def booked_out_of_period(vouchers: tuple[VoucherLine, ...], school_year: SchoolYear) -> tuple[VoucherLine, ...]:
    """The vouchers of ``school_year`` booked on a day outside it ("periodenfremd gebucht"):
    they count in the year they name (accrual, § 33 Abs. 1 Nr. 4 KomHVO NRW), and an auditor
    wants them listed."""
    return tuple(v for v in vouchers if not school_year.contains(v.date))


def _voucher_lines(items, pack: RulePack):
    for i in items:
        category = i.category
        label = pack.category(category).label if category and pack.has_category(category) else UNCLASSIFIED_LABEL
        c = i.classification
        yield VoucherLine(i.day, i.voucher_number, i.text, i.account, category, label, i.amount, c.status,
                          c.conform, c.rule, c.reason, i.override_id, i.cost_centre)


_BASIS = {"systemic": "systemisch", "individual_entitlements": "Einzelansprüche gebündelt", "mixed": "gemischt",
          None: "Finanzierungsgrundlage nicht erfasst"}


def _targets(session: Session, recipient: Recipient, items) -> tuple[TargetLine, ...]:
    """Sum the classified items per pool and per school their cost centre points to."""
    centres = {c.code: c for c in session.scalars(select(CostCentre).where(CostCentre.recipient_id == recipient.id))}
    targets: dict[str | None, tuple[tuple[str, str], tuple[str, str, str]] | None] = {}
    sums: dict[tuple[str, str], list[Decimal]] = {}
    described: dict[tuple[str, str], tuple[str, str, str]] = {}
    for item in items:
        if item.cost_centre not in targets:
            targets[item.cost_centre] = _target(centres.get(item.cost_centre) if item.cost_centre else None)
        target = targets[item.cost_centre]
        if target is None:
            continue
        key, description = target
        described[key] = description
        c = item.classification
        total = sums.setdefault(key, [Decimal("0.00")] * 4)
        for index, value in enumerate((item.amount, c.conform, c.excluded, c.unclassified)):
            total[index] += value
    order = sorted(sums, key=lambda k: (k[0] != "Pool", k[1]))
    return tuple(TargetLine(kind, key, *described[(kind, key)], *sums[(kind, key)]) for kind, key in order)


def _target(centre: CostCentre | None) -> tuple[tuple[str, str], tuple[str, str, str]] | None:
    """The pool (or else the school) a cost centre points to, as (kind, key) and (name, basis, schools);
    None if it points to neither."""
    if centre is not None and centre.pool is not None:
        pool = centre.pool
        basis = _BASIS[pool.financing_basis]
        if pool.financing_basis == "mixed":
            basis += f" ({format_german(pool.systemic_share).removesuffix(',00')} % systemisch)"
        return ("Pool", pool.key), (pool.name, basis, ", ".join(f"{s.school_number} {s.name}" for s in pool.schools))
    if centre is not None and centre.school is not None:
        school = centre.school
        return ("Schule", school.school_number), (school.name, "GL-Schule" if school.gl_school else "keine GL-Schule",
                                                  f"{school.school_number} {school.name}")
    return None


def _pass_through(session: Session, recipient: Recipient, items) -> tuple[PassThroughLine, ...]:
    """Pass-through per municipality (cost centres of municipalities) with the verifications on record."""
    centres = {c.code: c for c in session.scalars(
        select(CostCentre).where(CostCentre.recipient_id == recipient.id, CostCentre.municipality_id.is_not(None)))}
    amounts: dict[str, list[Decimal]] = {}
    towns = {}
    for item in items:
        centre = centres.get(item.cost_centre) if item.cost_centre else None
        if centre is None:
            continue
        town = centre.municipality
        towns[town.name] = town
        total = amounts.setdefault(town.name, [Decimal("0.00"), Decimal("0.00")])
        total[0] += item.amount
        total[1] += item.classification.conform
    return tuple(PassThroughLine(
        name, towns[name].gl_bearer, *amounts[name],
        tuple(Verification(v.verified_on, v.document_reference, v.verified_by) for v in towns[name].verifications),
    ) for name in sorted(amounts))
