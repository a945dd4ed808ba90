"""The notification to the ministry that a school year's grant cannot be used in full (Anzeige).

Rule (seed 002_17056edfca8550ce.txt): "Erkennt der Kreis, dass die Inklusionspauschale im
jeweiligen Schuljahr nicht vollständig zweckentsprechend verwandt werden kann, zeigt er dies
dem Ministerium an und zahlt den entsprechenden Betrag spätestens bis zum 1. April des auf die
Auszahlung folgenden Haushaltsjahres an die Landeskasse zurück. Einer gesonderten Aufforderung
durch das Land bedarf es hierzu nicht." (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2; the same
duty for every recipient in the Hinweise zur zweckentsprechenden Verwendung der
Inklusionspauschale, Teil II, 3. Absatz). The notification comes first, the repayment by the
deadline after it.

``build_notification`` takes its figures from the forecast (``ledger.reports.forecast``: the
actuals booked up to ``as_of`` plus the open commitments until 31 July) and splits the
projected repayment by payout with the repayment kernel (``ledger.reports.settlement.settle``
on the projected totals): spending uses the payouts in payout order, so the unspent rest
belongs to the latest payouts, each with its own deadline (1 April of the budget year after
it, moved under § 193 BGB). Where payouts are still outstanding (the forecast counts the
assessed amount, ``grant_basis_source == "assessed"``), the part of the repayment beyond what
the booked payouts leave belongs to the payouts still to come (they are the latest): one
tranche without a payout date, whose deadline follows from the day it will be paid.

After the school year has ended no commitment is open, so the forecast is the actual figures
of the entries booked up to ``as_of`` (``NotificationData.year_ended``); the letter says so
instead of calling them a projection.

Refused (LedgerError, German) where the notification has no place: no grant recorded for the
year; a rule pack without the duty (the statute's years before 2021/22, Vereinbarung § 4
Abs. 1); a notice of the Land or a settlement agreement in force decides the year's repayment;
nothing is projected to be repaid, or it has been repaid already; or the deadline of the
earliest tranche still to repay has passed (the notification is due before the repayment).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from ledger.core.errors import LedgerError
from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.models import Recipient
from ledger.core.money import ZERO, format_german, format_plain
from ledger.core.schoolyear import SchoolYear
from ledger.reports.forecast import Forecast, forecast
from ledger.reports.repayment import year_book
from ledger.reports.settlement import settle
from ledger.rules.deadline import shift_reason
from ledger.rules.packs import Landeskasse, RulePack, load_packs, pack_for


@dataclass(frozen=True)
class NotificationTranche:
    """One payout's part of the projected repayment (EUR).

    ``payout_date`` and ``payout``: the payout (both None for the payouts still outstanding);
    ``repayment``: the part of it projected to be repaid; ``repaid``: what of the repayments
    already paid settled it; ``outstanding`` = repayment − repaid. ``nominal_due_date``: 1 April
    of the budget year after the payout; ``due_date``: moved to the next working day (§ 193 BGB),
    ``shift_reason`` why (German, e.g. "Ostermontag, gesetzlicher Feiertag"), None if not moved;
    all three None for the payouts still outstanding.
    """

    payout_date: date | None
    payout: Decimal | None
    repayment: Decimal
    repaid: Decimal
    outstanding: Decimal
    nominal_due_date: date | None
    due_date: date | None
    shift_reason: str | None


@dataclass(frozen=True)
class NotificationData:
    """The content of the notification (Anzeige) of ``recipient_name``'s ``school_year`` as of
    ``as_of``. EUR throughout (``Decimal``, two places); dates as ``date``.

    - ``addressee``, ``basis``: the ministry's address lines and the duty's citation, from the
      rule pack (``NotificationRule``); ``rule_pack_title``/``rule_pack_version``: the rules the
      spending is judged by.
    - ``grant_assessed`` (Festsetzungsbescheid), ``grant_received`` (payouts booked up to
      ``as_of``), ``payouts``: (date, EUR) of the grant, oldest first.
    - ``permitted_booked``: purpose-conform spending booked up to ``as_of``;
      ``committed``: what the open commitments still cost until 31 July (gross),
      ``open_commitments``: their references; ``projected_permitted``: purpose-conform spending
      projected for the whole school year; ``projected_excluded``, ``overhead_excess``,
      ``unclassified``: the projected spending that does not count.
    - ``grant_basis`` and ``grant_basis_source`` (``"received"`` or ``"assessed"``, as the
      forecast); ``projected_repayment`` = max(grant basis − projected permitted, 0) =
      the sum of the tranches' ``repayment``; ``outstanding``: the sum still to pay.
    - ``tranches``: ``NotificationTranche`` per payout with a part to repay, oldest first,
      then the payouts still outstanding; ``due_date``: the deadline of the earliest tranche
      still to pay (None where only outstanding payouts are to repay).
    - ``year_ended``: ``as_of`` lies after 31 July: the figures are the actual ones.
    - ``landeskasse`` and ``payment_reference``: where and under which reference to repay.
    - ``warnings``: the forecast's ``(code, German text)`` pairs and ``payouts_outstanding``.
    """

    recipient_key: str
    recipient_name: str
    recipient_kind: str
    school_year: str
    school_year_end: date
    as_of: date
    programme_title: str
    rule_pack_title: str
    rule_pack_version: str
    addressee: tuple[str, ...]
    basis: str
    grant_assessed: Decimal
    grant_received: Decimal
    payouts: tuple[tuple[date, Decimal], ...]
    permitted_booked: Decimal
    committed: Decimal
    open_commitments: tuple[str, ...]
    projected_permitted: Decimal
    projected_excluded: Decimal
    overhead_excess: Decimal
    unclassified: Decimal
    grant_basis: Decimal
    grant_basis_source: str
    projected_repayment: Decimal
    outstanding: Decimal
    tranches: tuple[NotificationTranche, ...]
    due_date: date | None
    year_ended: bool
    landeskasse: Landeskasse
    payment_reference: str
    warnings: tuple[tuple[str, str], ...]

    def as_json(self) -> dict:
        """A JSON-ready dict: amounts as strings with two decimals (``"18465.43"``), dates ISO."""
        def day(value: date | None) -> str | None:
            return None if value is None else value.isoformat()

        def money(value: Decimal | None) -> str | None:
            return None if value is None else format_plain(value)

        return {
            "recipient": self.recipient_key, "school_year": self.school_year, "as_of": self.as_of.isoformat(),
            "year_ended": self.year_ended,
            "addressee": list(self.addressee),
            "grant": {"assessed": money(self.grant_assessed), "received": money(self.grant_received),
                      "basis": money(self.grant_basis), "basis_source": self.grant_basis_source,
                      "payouts": [{"date": d.isoformat(), "amount": money(a)} for d, a in self.payouts]},
            "permitted_booked": money(self.permitted_booked),
            "committed": money(self.committed),
            "open_commitments": list(self.open_commitments),
            "projected": {"permitted": money(self.projected_permitted), "excluded": money(self.projected_excluded),
                          "overhead_excess": money(self.overhead_excess), "unclassified": money(self.unclassified),
                          "repayment": money(self.projected_repayment)},
            "outstanding": money(self.outstanding),
            "tranches": [{"payout_date": day(t.payout_date), "payout": money(t.payout),
                          "repayment": money(t.repayment), "repaid": money(t.repaid),
                          "outstanding": money(t.outstanding), "nominal_due_date": day(t.nominal_due_date),
                          "due_date": day(t.due_date)} for t in self.tranches],
            "due_date": day(self.due_date),
            "landeskasse": {"payee": self.landeskasse.payee, "bank": self.landeskasse.bank,
                            "iban": self.landeskasse.iban, "bic": self.landeskasse.bic,
                            "payment_reference": self.payment_reference},
            "warnings": [{"code": code, "text": text} for code, text in self.warnings],
        }


def build_notification(session: Session, recipient: Recipient, school_year: SchoolYear, *, as_of: date,
                       packs: tuple[RulePack, ...] | None = None,
                       projection: Forecast | None = None) -> NotificationData:
    """The notification of ``recipient``'s ``school_year`` as of ``as_of`` (see the module docstring).

    ``projection``: the forecast of the same year and day if the caller has it (the dashboard),
    so that it is not computed twice. Raises LedgerError (German) where the notification has no
    place (module docstring), RulePackError if no rule pack covers the year.
    """
    packs = packs or load_packs()
    pack = pack_for(INKLUSIONSPAUSCHALE, school_year, packs)
    if pack.deadline is None or pack.notification is None:
        raise LedgerError(f"Für das Schuljahr {school_year} gilt keine Anzeigepflicht: die Anzeige und die "
                          "Rückzahlung bis zum 1. April des auf die Auszahlung folgenden Haushaltsjahres gelten ab "
                          "dem Schuljahr 2021/2022 (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 1 und 2).")
    f = projection if projection is not None else forecast(session, recipient, school_year, as_of=as_of, packs=packs)
    actuals = f.actuals
    if actuals.grant_assessed is None:
        raise LedgerError(f"Für das Schuljahr {school_year} ist keine Inklusionspauschale erfasst; es gibt nichts "
                          "anzuzeigen.")
    if actuals.notice is not None:
        raise LedgerError(f"Das Land hat die Rückzahlung für das Schuljahr {school_year} mit Bescheid vom "
                          f"{actuals.notice.notice_date:%d.%m.%Y} festgesetzt; eine Anzeige ist nicht mehr nötig.")
    if actuals.agreement is not None and actuals.agreement.in_force:
        raise LedgerError(f"Für das Schuljahr {school_year} gilt eine Vereinbarung mit dem Land "
                          f"({actuals.agreement.reference}); sie regelt die Rückzahlung, eine Anzeige ist nicht nötig.")
    if f.projected_repayment <= 0:
        raise LedgerError(f"Nach der Prognose zum {as_of:%d.%m.%Y} wird die Inklusionspauschale {school_year} "
                          "vollständig zweckentsprechend verwendet (voraussichtliche Rückzahlung 0,00 EUR); "
                          "eine Anzeige ist nicht nötig.")

    tranches = _tranches(session, recipient, school_year, pack, f, as_of)
    outstanding = sum((t.outstanding for t in tranches), ZERO)
    if outstanding <= 0:
        raise LedgerError(f"Die voraussichtliche Rückzahlung von {format_german(f.projected_repayment)} EUR für das "
                          f"Schuljahr {school_year} ist bereits gezahlt; die Anzeige geht der Rückzahlung voraus "
                          "(Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2).")
    first = next((t for t in tranches if t.outstanding > 0 and t.due_date is not None), None)
    if first is not None and as_of > first.due_date:
        raise LedgerError(f"Die Rückzahlungsfrist für die Auszahlung vom {first.payout_date:%d.%m.%Y} ist am "
                          f"{first.due_date:%d.%m.%Y} abgelaufen; die Anzeige ist vor der Rückzahlung fällig "
                          "(Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2). Der Betrag ist jetzt mit Verzugszinsen "
                          "zurückzuzahlen (§ 49a Abs. 3 VwVfG NRW).")

    warnings = list(f.warnings)
    pending = next((t for t in tranches if t.payout_date is None), None)
    if pending is not None:
        warnings.append(("payouts_outstanding",
                         f"Auszahlungen von {format_german(f.grant_basis - f.grant_received)} EUR stehen noch aus; "
                         f"{format_german(pending.repayment)} EUR der voraussichtlichen Rückzahlung entfallen auf "
                         "sie und sind bis zum 1. April des auf ihre Auszahlung folgenden Haushaltsjahres "
                         "zurückzuzahlen."))
    kasse = pack.landeskasse
    return NotificationData(
        recipient_key=recipient.key, recipient_name=recipient.name, recipient_kind=recipient.kind_label,
        school_year=str(school_year), school_year_end=school_year.last_day, as_of=as_of,
        programme_title=pack.programme_title, rule_pack_title=pack.title, rule_pack_version=pack.version,
        addressee=pack.notification.addressee, basis=pack.notification.basis,
        grant_assessed=actuals.grant_assessed, grant_received=actuals.grant_received,
        payouts=tuple((t.payout_date, t.payout) for t in actuals.tranches if t.payout_date is not None),
        permitted_booked=actuals.permitted, committed=f.committed,
        open_commitments=tuple(c.reference for c in f.open_commitments),
        projected_permitted=f.projected_permitted, projected_excluded=f.projected_excluded,
        overhead_excess=f.projected_overhead_excess, unclassified=f.unclassified,
        grant_basis=f.grant_basis, grant_basis_source=f.grant_basis_source,
        projected_repayment=f.projected_repayment, outstanding=outstanding, tranches=tranches,
        due_date=None if first is None else first.due_date, year_ended=as_of > school_year.last_day,
        landeskasse=kasse, payment_reference=kasse.reference_for(school_year, recipient.name, recipient.key),
        warnings=tuple(warnings),
    )


def _tranches(session: Session, recipient: Recipient, school_year: SchoolYear, pack: RulePack, f: Forecast,
              as_of: date) -> tuple[NotificationTranche, ...]:
    """The projected repayment by payout: the kernel settles the projected totals against the
    payouts booked up to ``as_of``; what the forecast projects beyond that (its grant basis is
    the assessed amount while payouts are outstanding) belongs to the payouts still to come."""
    projected = settle(recipient.key, school_year, pack, f.projected_totals,
                       year_book(session, recipient, school_year, booked_until=as_of))
    if projected.permitted != f.projected_permitted:  # one kernel, one figure: a guard, never expected
        raise LedgerError(f"Prognose {school_year}: zweckentsprechende Ausgaben weichen ab "
                          f"({projected.permitted} ≠ {f.projected_permitted})")
    tranches = [NotificationTranche(t.payout_date, t.payout, t.due, t.paid, t.outstanding, t.nominal_due_date,
                                    t.due_date, _shift(t.nominal_due_date, t.due_date, pack))
                for t in projected.tranches if t.due > 0 or t.paid > 0]
    pending = f.projected_repayment - projected.repayment_due
    if pending > 0:
        tranches.append(NotificationTranche(None, None, pending, ZERO, pending, None, None, None))
    return tuple(tranches)


def _shift(nominal: date | None, due: date | None, pack: RulePack) -> str | None:
    """Why ``nominal`` moved to ``due`` (German), None if it did not."""
    if nominal is None or nominal == due:
        return None
    return shift_reason(nominal, pack.holidays)

