"""Claims (Mittelabruf) against a formula allocation plan: checked by the pack's rules, recorded
as evidence and booked in the grantor's books.

Rules (``[allocation]`` of the plan's pack; "Bereitstellung von Inklusionshelfern in den
allgemeinen Schulen im Kreis Mettmann – Rahmenbedingungen"):

- a claim is possible only from ``claims_from`` to ``claims_until`` (Nr. 4.1: from the start of
  the 2014 summer holidays to 15.11.2014, both inclusive); outside, all of it is refused;
- only personnel costs: material costs are refused (Nr. 4.2);
- at most ``amount_per_helper_period`` per deployed helper (Nr. 4.3: 5.000 EUR), the excess of a
  helper's costs is refused;
- at most the recipient's ceiling (its row's ``amount_period`` of Anlage 1, Nr. 2.2: the amounts
  are maxima that never grow), over all its claims; what exceeds it is refused. Unclaimed money
  stays with the grantor (Nr. 4.4): there is no way to move a ceiling to another recipient;
- the recipient's binding declaration (Anlage 2, Nr. 4.2/4.3) is the evidence: its reference is
  required and recorded;
- helpers only at mainstream schools (Nr. 3, 1st indent): a helper line may name the school
  (its NRW school number, one of the recipient's schools in master data); a school whose form
  the pack lists as not mainstream (``not_mainstream_school_forms``, e.g. a Förderschule) makes
  the line refused. A line without a school is judged on the declaration, and the line records
  that (``mainstream_basis`` ``declaration``, else ``master_data``);
- no pupil counted twice against integration aid (Nr. 3, 3rd indent): a helper line may name
  the pseudonymous case references of the pupils it supports (CASE_REF_PATTERN: letters, digits
  and hyphens, at least one digit, at most 40 characters, never a name). A reference counted
  in an accepted line of an earlier claim of the same plan (any recipient), in an earlier
  line of the same claim, or found in the booking text of an individual integration-aid
  booking (categories INTEGRATION_AID_CATEGORIES, § 35a SGB VIII / § 112 SGB IX) in the
  grantor's or the recipient's books makes the whole line refused. Only the references are
  stored (``allocation_claim_cases``), never names.

The accepted amount is booked in the grantor's books (kind ``manual``, the journal's kind for
entries made in the ledger itself): debit the expense account CLAIM_EXPENSE, credit the
liability account CLAIM_LIABILITY (both added to the grantor's chart on first use). If the plan's
ceilings are committed (``ledger.workflows.allocation_commitment``) and not yet released, the
same entry consumes the commitment by the accepted amount; once the rest is released, no claim
is accepted for recording any more (the released amount would no longer match). Its payment to the recipient
(:func:`pay_claim`) debits the liability and credits the grantor's bank account.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ledger.core import audit
from ledger.core.errors import LedgerError, NotFound
from ledger.core.models import (
    Account,
    AllocationClaim,
    AllocationClaimCase,
    AllocationClaimLine,
    AllocationPayment,
    JournalEntry,
    Posting,
    Recipient,
    School,
)
from ledger.core.money import checked_cents, format_german, from_cents
from ledger.core.posting import PostingLine, lock_recipient, post_entry
from ledger.core.recipients import add_account, find_account, get_recipient, role_account
from ledger.core.schoolyear import SchoolYear
from ledger.reports.allocation import accepted_cents, compute_allocation
from ledger.rules.packs import RulePack
from ledger.workflows.allocation_commitment import commitment, consumption_lines

#: The grantor's accounts for accepted claims: (number, German name, type).
CLAIM_EXPENSE = ("5318", "Zuweisungen Inklusionshilfe an kreisangehörige Städte (Mittelabruf)", "expense")
CLAIM_LIABILITY = ("3520", "Verbindlichkeiten aus Mittelabrufen der Inklusionshilfe", "liability")
#: A pseudonymous case reference: letters, digits and hyphens, starting with a letter or digit,
#: at least one digit, at most 40 characters ("2023-017", "HI-2014-03"). A name ("Max Muster",
#: "Mustermann") never matches: it has no digit, or a space.
CASE_REF_PATTERN = re.compile(r"(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9][A-Za-z0-9-]{0,39}")
#: The rule-pack categories of individual integration-aid cases (Eingliederungshilfe im Einzelfall
#: nach § 35a SGB VIII und § 112 SGB IX): a case reference in the booking text of such a posting is
#: counted there already (Rahmenbedingungen Nr. 3: Inklusionshelfer nachrangig zur Integrationshilfe).
INTEGRATION_AID_CATEGORIES = ("individual_claim_sgb_viii", "individual_claim_sgb_ix")


@dataclass(frozen=True)
class HelperLine:
    """One deployed helper of a claim: personnel ``cost`` (EUR > 0), the ``school`` where the
    helper works (a School of the recipient's master data, or None: the declaration covers it),
    and the pseudonymous ``cases`` (case references) of the pupils the helper supports."""

    cost: Decimal
    school: School | None = None
    cases: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseCheck:
    """What a claim's case references are checked against: ``counted`` (references counted in
    accepted lines of earlier claims of the plan) and ``integration_aid`` (references found in
    individual integration-aid bookings). Both sets of strings, compared case-insensitively."""

    counted: frozenset[str] = field(default_factory=frozenset)
    integration_aid: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class LineDecision:
    """The decision on one line of a claim: ``kind`` (``"helper"`` or ``"material"``), the claimed
    ``amount`` and the ``accepted`` part (EUR, Decimal), ``reasons`` (German, with their source)
    why less was accepted (empty if all of it was)."""

    kind: str
    amount: Decimal
    accepted: Decimal
    reasons: tuple[str, ...] = ()

    @property
    def refused(self) -> Decimal:
        """The refused part in EUR."""
        return self.amount - self.accepted


def judge_claim(pack: RulePack, ceiling: Decimal, already_accepted: Decimal, claim_date: date,
                helpers: list[Decimal | HelperLine], material_costs: Decimal | None = None,
                cases: CaseCheck = CaseCheck()) -> list[LineDecision]:
    """Judge a claim by the rules of ``pack.allocation`` (see the module docstring).

    ``ceiling``: the recipient's maximum for the plan's period (EUR); ``already_accepted``: what
    its earlier claims had accepted. ``helpers``: one HelperLine (or bare cost, EUR > 0) per
    deployed helper; ``cases``: the references counted before. Returns one LineDecision per
    helper, in order, then one for the material costs if given. Pure: reads and writes nothing.
    """
    rule = pack.allocation
    source = rule.sources
    lines: list[LineDecision] = []
    in_window = rule.claims_from <= claim_date <= rule.claims_until
    window_reason = (f"Abruf am {claim_date:%d.%m.%Y} außerhalb der Abruffrist vom {rule.claims_from:%d.%m.%Y} "
                     f"bis {rule.claims_until:%d.%m.%Y} ({source['claims_source']})")
    left = max(ceiling - already_accepted, Decimal(0))
    seen: set[str] = set()
    for helper in helpers:
        helper = helper if isinstance(helper, HelperLine) else HelperLine(helper)
        cost = helper.cost
        if not in_window:
            lines.append(LineDecision("helper", cost, Decimal(0), (window_reason,)))
            continue
        refusal = _school_refusal(rule, helper.school) or _case_refusal(rule, helper.cases, cases, seen)
        seen.update(ref.casefold() for ref in helper.cases)
        if refusal:
            lines.append(LineDecision("helper", cost, Decimal(0), (refusal,)))
            continue
        reasons = []
        accepted = cost
        if accepted > rule.amount_per_helper_period:
            accepted = rule.amount_per_helper_period
            reasons.append(f"höchstens {format_german(rule.amount_per_helper_period)} EUR je eingesetztem "
                           f"Inklusionshelfer ({source['per_helper_source']})")
        if accepted > left:
            accepted = left
            reasons.append(f"Höchstbetrag von {format_german(ceiling)} EUR nach Anlage 1 erreicht "
                           f"({source['ceiling_source']})")
        left -= accepted
        lines.append(LineDecision("helper", cost, accepted, tuple(reasons)))
    if material_costs is not None:
        material = pack.category("material_costs") if pack.has_category("material_costs") else None
        why = material.source if material is not None else source["declaration_source"]
        lines.append(LineDecision("material", material_costs, Decimal(0),
                                  (f"Sachkosten werden nicht erstattet ({why})",)))
    return lines


def _school_refusal(rule, school: School | None) -> str | None:
    """Why a helper at ``school`` is refused (not a mainstream school), or None."""
    if school is None or rule.is_mainstream(school.school_form):
        return None
    return (f"Schule {school.school_number} ({school.name}) ist als {school.school_form} keine allgemeine Schule; "
            f"Inklusionshelfer können ausschließlich an allgemeinen Schulen eingesetzt werden "
            f"({rule.sources.get('mainstream_source') or 'Rahmenbedingungen Nr. 3'})")


def _case_refusal(rule, refs: tuple[str, ...], cases: CaseCheck, seen: set[str]) -> str | None:
    """Why a helper supporting the pupils ``refs`` is refused (a pupil counted twice), or None.
    ``seen``: the references of the claim's earlier lines (case-folded)."""
    why = rule.sources.get("double_counting_source") or "Rahmenbedingungen Nr. 3"
    for ref in refs:
        key = ref.casefold()
        if key in seen:
            return f"Fall {ref} ist in diesem Mittelabruf bereits einem anderen Inklusionshelfer zugeordnet ({why})"
        if key in cases.counted:
            return f"Fall {ref} wurde in einem früheren Mittelabruf dieses Plans bereits berücksichtigt ({why})"
        if key in cases.integration_aid:
            return f"Fall {ref} erhält bereits Integrationshilfe im Einzelfall (§ 35a SGB VIII / § 112 SGB IX) ({why})"
    return None


def checked_case_refs(refs) -> tuple[str, ...]:
    """The case references ``refs`` (strings), stripped, each checked against CASE_REF_PATTERN.
    Raises LedgerError (German) for one that is not pseudonymous or given twice for one helper."""
    result = []
    for ref in refs:
        ref = ref.strip()
        if not CASE_REF_PATTERN.fullmatch(ref):
            raise LedgerError(f"Fallbezug {ref!r} ist kein pseudonymes Fallzeichen: nur Buchstaben, Ziffern und "
                              "Bindestriche, mindestens eine Ziffer, höchstens 40 Zeichen (keine Namen von Kindern)")
        if ref.casefold() in (r.casefold() for r in result):
            raise LedgerError(f"Fallbezug {ref} ist für denselben Inklusionshelfer doppelt angegeben")
        result.append(ref)
    return tuple(result)


def find_school(session: Session, recipient: Recipient, school_number: str) -> School:
    """The school ``school_number`` of ``recipient``'s master data. Raises LedgerError (German)
    if the recipient has no such school."""
    school = session.scalar(select(School).where(School.recipient_id == recipient.id,
                                                 School.school_number == school_number.strip()))
    if school is None:
        raise LedgerError(f"Schule {school_number.strip()!r} ist in den Stammdaten von {recipient.name} nicht "
                          "verzeichnet; bitte zuerst die Schule anlegen")
    return school


def case_check(session: Session, plan_key: str, recipients: list[Recipient], refs) -> CaseCheck:
    """The CaseCheck for the references ``refs``: those counted in accepted helper lines of
    claims of ``plan_key`` (any recipient), and those in the booking text of a posting of
    INTEGRATION_AID_CATEGORIES (its category or its account's) in the books of ``recipients``."""
    refs = {ref.casefold(): ref for ref in refs}
    if not refs:
        return CaseCheck()
    counted = {ref.casefold() for ref in session.scalars(
        select(AllocationClaimCase.case_ref).join(AllocationClaimLine, AllocationClaimLine.id == AllocationClaimCase.line_id)
        .where(AllocationClaimCase.plan_key == plan_key, AllocationClaimLine.accepted_cents > 0))}
    texts = session.scalars(
        select(JournalEntry.text).join(Posting, Posting.entry_id == JournalEntry.id)
        .join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.recipient_id.in_([r.id for r in recipients]),
               or_(Posting.category.in_(INTEGRATION_AID_CATEGORIES),
                   (Posting.category.is_(None)) & Account.category.in_(INTEGRATION_AID_CATEGORIES)),
               or_(*(func.lower(JournalEntry.text).contains(ref.lower()) for ref in refs.values())))).all()
    in_aid = {key for key in refs for text in texts
              if re.search(rf"(?<![A-Za-z0-9-]){re.escape(key)}(?![A-Za-z0-9-])", text.casefold())}
    return CaseCheck(counted=frozenset(counted & set(refs)), integration_aid=frozenset(in_aid))


def add_claim(session: Session, plan_key: str, recipient_key: str, claim_date: date, helper_costs: list[Decimal],
              declaration: str, *, material_costs: Decimal | None = None, schools: list[str | None] | None = None,
              cases: list[list[str]] | None = None, actor: str, now: datetime,
              packs: tuple[RulePack, ...] | None = None) -> AllocationClaim:
    """Check, record and book a claim of ``recipient_key`` against plan ``plan_key``.

    ``helper_costs``: the personnel costs of each deployed helper (EUR, each > 0, at least one
    or a material amount); ``material_costs``: claimed material costs (refused); ``declaration``:
    the reference of the binding declaration (Anlage 2). ``schools``: per helper, by position,
    the school number where the helper is deployed (None or missing: the declaration covers
    it); ``cases``: per helper, by position, the pseudonymous case references of the pupils it
    supports. Records an AllocationClaim with its lines, their schools and case references
    (append-only) and, if anything is accepted, a journal entry in the grantor's books.
    The caller commits.

    Raises:
        NoRulePack: no pack has the plan.
        NotFound: the recipient or the grantor is not in the ledger.
        LedgerError: the recipient is not in the plan, the plan's rest is released already, no
            declaration, no or non-positive amounts, more schools or case lists than helpers, a school not in the recipient's master
            data, a case reference that is not pseudonymous (CASE_REF_PATTERN).
    """
    allocation = compute_allocation(plan_key, packs)
    pack, plan = allocation.pack, allocation.plan
    try:
        ceiling = allocation.row(recipient_key).amount_period
    except KeyError:
        raise LedgerError(f"{recipient_key!r} ist kein Empfänger des Verteilungsplans „{plan.title}“") from None
    declaration = declaration.strip()
    if not declaration:
        raise LedgerError("die verbindliche Erklärung des Schulträgers (Anlage 2) ist anzugeben")
    if not helper_costs and material_costs is None:
        raise LedgerError("mindestens die Personalkosten eines eingesetzten Inklusionshelfers angeben")
    for amount in [*helper_costs, *([] if material_costs is None else [material_costs])]:
        checked_cents(amount)
        if amount <= 0:
            raise LedgerError(f"Betrag {format_german(amount)} EUR: nur Beträge größer 0 sind zulässig")
    schools, cases = list(schools or []), list(cases or [])
    if len(schools) > len(helper_costs) or len(cases) > len(helper_costs):
        raise LedgerError("Schulen und Fallbezüge werden den Personalkosten der Inklusionshelfer der Reihe nach "
                          "zugeordnet: mehr Angaben als Inklusionshelfer")
    recipient = get_recipient(session, recipient_key)
    grantor = get_recipient(session, plan.grantor_key)
    lock_recipient(session, grantor)  # claims of one plan are judged one after the other
    if commitment(session, plan_key, "release") is not None:
        raise LedgerError(f"Die nicht abgerufenen Mittel des Verteilungsplans „{plan.title}“ sind bereits "
                          f"freigegeben; ein Mittelabruf ist nicht mehr möglich ({pack.allocation.sources['unclaimed_source']})")
    helpers = []
    for index, cost in enumerate(helper_costs):
        school_number = schools[index] if index < len(schools) else None
        school = find_school(session, recipient, school_number) if school_number and school_number.strip() else None
        helpers.append(HelperLine(cost, school, checked_case_refs(cases[index] if index < len(cases) else ())))
    check = case_check(session, plan_key, [grantor, recipient], [ref for h in helpers for ref in h.cases])
    already = from_cents(accepted_cents(session, plan_key, recipient.id))
    decisions = judge_claim(pack, ceiling, already, claim_date, helpers, material_costs, check)
    accepted = sum((d.accepted for d in decisions), Decimal(0))
    claimed = sum((d.amount for d in decisions), Decimal(0))
    entry = None
    number = 1 + session.scalar(select(func.count()).select_from(AllocationClaim).where(
        AllocationClaim.plan_key == plan_key, AllocationClaim.recipient_id == recipient.id))
    if accepted > 0:
        expense = _account(session, grantor, CLAIM_EXPENSE, actor=actor, now=now)
        liability = _account(session, grantor, CLAIM_LIABILITY, actor=actor, now=now)
        entry = post_entry(
            session, grantor, day=claim_date, voucher_number=f"MA-{plan_key}-{recipient.key}-{number}"[:60],
            text=f"Mittelabruf {recipient.name}, {plan.period}: {len(helper_costs)} Inklusionshelfer "
                 f"(Erklärung {declaration})"[:500],
            lines=[PostingLine(expense, accepted, plan.school_year), PostingLine(liability, -accepted, plan.school_year),
                   *consumption_lines(session, plan_key, grantor, accepted, plan.school_year, actor=actor, now=now)],
            kind="manual", created_by=actor, now=now)
    claim = AllocationClaim(
        plan_key=plan_key, pack_id=pack.id, pack_version=pack.version, recipient_id=recipient.id,
        claim_date=claim_date, declaration=declaration, claimed_cents=checked_cents(claimed),
        accepted_cents=checked_cents(accepted), refused_cents=checked_cents(claimed - accepted),
        entry_id=None if entry is None else entry.id, created_by=actor, created_at=now)
    claim.lines = [AllocationClaimLine(position=index, kind=d.kind, amount_cents=checked_cents(d.amount),
                                       accepted_cents=checked_cents(d.accepted),
                                       reason="; ".join(d.reasons)[:500] or None,
                                       school_id=None if helper is None or helper.school is None else helper.school.id,
                                       mainstream_basis=None if helper is None else
                                       ("declaration" if helper.school is None else "master_data"))
                   for index, (d, helper) in enumerate(zip(decisions, [*helpers, None]), start=1)]
    session.add(claim)
    session.flush()
    session.add_all([AllocationClaimCase(line_id=line.id, plan_key=plan_key, case_ref=ref)
                     for line, helper in zip(claim.lines, helpers) for ref in helper.cases])
    session.flush()
    audit.record(session, actor=actor, action="allocation_claim_add", now=now, recipient=recipient,
                 details={"plan": plan.title, "claim_id": claim.id, "date": claim_date.isoformat(),
                          "claimed": str(claimed), "accepted": str(accepted), "declaration": declaration})
    return claim


def _account(session: Session, recipient, spec: tuple[str, str, str], *, actor: str, now: datetime):
    """The recipient's account of ``spec`` (number, name, type), added on first use."""
    number, name, type_ = spec
    return find_account(session, recipient, number) or add_account(session, recipient, number, name, type_,
                                                                   actor=actor, now=now)


def pay_claim(session: Session, claim_id: int, day: date, *, actor: str, now: datetime) -> AllocationPayment:
    """Book the payment of claim ``claim_id``'s accepted amount to its recipient on ``day``, in
    the grantor's books (debit CLAIM_LIABILITY, credit the bank account), and record it.
    The caller commits.

    Raises:
        NotFound: no such claim.
        LedgerError: nothing was accepted, the claim is paid already, or ``day`` is before the claim.
    """
    claim = session.get(AllocationClaim, claim_id)
    if claim is None:
        raise NotFound(f"Mittelabruf Nr. {claim_id} nicht gefunden")
    if claim.accepted_cents == 0:
        raise LedgerError(f"Mittelabruf Nr. {claim_id}: nichts anerkannt, nichts auszuzahlen")
    if session.scalar(select(AllocationPayment.id).where(AllocationPayment.claim_id == claim_id)) is not None:
        raise LedgerError(f"Mittelabruf Nr. {claim_id} ist bereits ausgezahlt")
    if day < claim.claim_date:
        raise LedgerError(f"Auszahlung am {day:%d.%m.%Y} liegt vor dem Mittelabruf vom {claim.claim_date:%d.%m.%Y}")
    entry = session.get(JournalEntry, claim.entry_id)
    grantor = entry.recipient
    amount = from_cents(claim.accepted_cents)
    year = SchoolYear.parse(entry.postings[0].school_year)
    liability = _account(session, grantor, CLAIM_LIABILITY, actor=actor, now=now)
    payment_entry = post_entry(
        session, grantor, day=day, voucher_number=f"AZ-{entry.voucher_number}"[:60],
        text=f"Auszahlung Mittelabruf Nr. {claim.id} an {claim.recipient.name}",
        lines=[PostingLine(liability, amount, year), PostingLine(role_account(session, grantor, "bank"), -amount, year)],
        kind="manual", created_by=actor, now=now)
    payment = AllocationPayment(claim_id=claim.id, date=day, entry_id=payment_entry.id, created_by=actor,
                                created_at=now)
    session.add(payment)
    session.flush()
    audit.record(session, actor=actor, action="allocation_claim_pay", now=now, recipient=claim.recipient,
                 details={"claim_id": claim.id, "date": day.isoformat(), "amount": str(amount),
                          "entry": payment_entry.id})
    return payment
