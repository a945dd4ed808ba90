"""The settlement statement as a PDF for auditors (A4, German).

``render_statement`` lays out a ``StatementData`` with reportlab's platypus, in this order:
title and recipient with the result at a glance; then numbered sections: grant and
payouts, spending by category, overhead cap, spending per pool and school (only with
cost centres of pools or schools), pass-through to member municipalities (only with
pass-through), excluded spending grouped by the rule that excluded it and the postings
not yet classified (both adding up to ``result.excluded`` and ``result.unclassified``),
the officers' overrides (withdrawn ones included), settlement agreement (if any), the
forecast while the school year is still open, result, interest on late repayment (if
any), payment details, the audit note (hash-chain head and the evaluation run behind
the figures) and the chronological voucher list with each posting's classification.
Every page carries a footer with "Seite x von y", the creation time, recipient and
school year.

The sections are built on the report toolkit ``ledger.write.pdf`` (styles, tables, the
footer canvas). The lists that grow with the postings (voucher list, unclassified postings)
are ``LongTable``s laid out a page at a time with plain-text cells, so a school year of
10 000 postings renders in seconds and in bounded memory.

Output is deterministic: reportlab runs in invariant mode, the PDF's creation date is
``data.created_at`` and no section reads the clock, so equal input gives equal bytes.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from ledger.core.agreements import STATUSES
from ledger.core.money import ZERO, format_german
from ledger.reports.forecast import Forecast
from ledger.reports.settlement import RepaymentResult
from ledger.reports.statement import (
    PassThroughLine,
    StatementData,
    TargetLine,
    VoucherLine,
)
from ledger.rules.classify import rule_label
from ledger.rules.evaluation_runs import RunState
from ledger.rules.overrides import OverrideRecord
from ledger.rules.status import CATEGORY_STATUSES, Status
from ledger.write.pdf import (
    BODY,
    CELL,
    CELL_BOLD,
    CELL_SMALL,
    CONTENT_WIDTH,
    HEADING_LONG,
    NOTE,
    TITLE,
    LongTable,
    PagedTable,
    Sections,
    details,
    eur,
    figures,
    header_row,
    iban,
    long_date,
    multiline,
    num_date,
    one_line,
    paragraph,
    percent,
    percent_points,
    render,
    ruled_table,
    timestamp,
)


def render_statement(data: StatementData) -> bytes:
    """Render the settlement statement as PDF bytes (A4, German).

    Args:
        data: the statement's content; amounts in EUR (``Decimal``), dates as ``date``,
            ``data.created_at`` (naive local time) is printed in the footer and used as
            the PDF's creation date.
    Returns:
        The PDF document as bytes. Equal ``data`` gives byte-identical output.
    """
    return render(
        _story(data),
        title=f"Abrechnung der {data.programme} – Schuljahr {data.school_year} – {data.recipient_name}",
        author=data.recipient_name,
        subject=f"Verwendungsnachweis {data.programme}, Schuljahr {data.school_year}, {data.legal_basis}",
        footer=_footer_lines(data),
        created_at=data.created_at,
    )


def _footer_lines(data: StatementData) -> tuple[str, str]:
    """The footer's two left-hand lines: recipient and school year, creation time."""
    created = data.created_at
    return (
        f"{data.recipient_name} ({data.recipient_key}) · Schuljahr {data.school_year}",
        f"Erstellt am {created:%d.%m.%Y} um {created:%H:%M}",
    )


# ---------------------------------------------------------------- sections


def _story(data: StatementData) -> list:
    """All flowables of the statement, in section order."""
    sections = Sections()
    story = _title(data)
    story += _summary(data.result)
    story += _grant(data, sections)
    story += _spending(data.result, sections)
    story += _overhead(data.result, sections)
    story += _targets(data.targets, sections)
    if data.pass_through:
        story += _pass_through(data.pass_through, sections)
    story += _not_conform(data, sections)
    if data.out_of_period:
        story += _out_of_period(data, sections)
    story += _overrides(data.overrides, sections)
    if data.result.agreement is not None:
        story += _agreement(data.result, sections)
    if data.result.notice is not None:
        story += _notice(data.result, sections)
    if data.forecast is not None:
        story += _forecast(data.forecast, data.rule_pack_title, sections)
    story += _result(data.result, sections)
    if data.result.interest:
        story += _interest(data.result, sections)
    story += _payment(data, sections)
    story += _tamper_evidence(data, sections)
    story += _vouchers(data.vouchers, sections)
    return story


def _title(data: StatementData) -> list:
    """Title, recipient, programme, legal basis and rule pack."""
    result = data.result
    rows = [
        ("Zuwendungsempfänger", data.recipient_name),
        ("Art", data.recipient_kind),
        ("Schlüssel", data.recipient_key),
        ("Programm", data.programme),
        ("Rechtsgrundlage", data.legal_basis),
        ("Regelwerk", f"{data.rule_pack_title}, Version {result.rule_pack_version}"),
    ]
    return [paragraph(f"Abrechnung der {data.programme} – Schuljahr {data.school_year}", TITLE),
            details(rows)]


def _summary(result: RepaymentResult) -> list:
    """The result at a glance on page 1; the numbered sections give the derivation."""
    rows = [
        ("Erhaltene Zuwendung", eur(result.grant_received)),
        ("Zweckentsprechende Ausgaben", eur(result.permitted)),
        ("Rückzahlung fällig" + _DECIDED_BY[result.decided_by], eur(result.repayment_due)),
        ("Fällig am", _due_date_text(result)),
    ]
    return [Spacer(1, 3 * mm), paragraph("Ergebnis auf einen Blick", HEADING_LONG), figures(rows, total_rows=2)]


def _grant(data: StatementData, sections: Sections) -> list:
    """Assessed amount, payouts and grant received."""
    result = data.result
    notice = (f"Festsetzungsbescheid vom {num_date(data.notice_date)}" if data.notice_date
              else "Festsetzungsbescheid (Datum nicht erfasst)")
    assessed = eur(result.grant_assessed) if result.grant_assessed is not None else "nicht erfasst"
    story = [sections.heading("Zuwendung"),
             figures([(f"Festgesetzter Betrag laut {notice}", assessed)]),
             Spacer(1, 2 * mm)]
    rows = [["Datum", "Beleg-Nr.", "Auszahlung"]]
    rows += [[num_date(p.date), paragraph(p.voucher_number), eur(p.amount)] for p in data.payouts]
    rows.append(["Erhaltene Zuwendung insgesamt", "", eur(result.grant_received)])
    if not data.payouts:
        story.append(paragraph("Keine Auszahlung gebucht.", NOTE))
    table = ruled_table(rows, [30 * mm, CONTENT_WIDTH - 75 * mm, 45 * mm], total_rows=1, label_cols=2)
    return story + [table]


def _spending(result: RepaymentResult, sections: Sections) -> list:
    """Net spending per category with status, the spending without a category, subtotals per
    status and the total spending (the rows add up to it)."""
    rows = [["Kategorie", "Status", "Betrag"]]
    rows += [[paragraph(c.label), Status(c.status).label, eur(c.amount)] for c in result.by_category]
    if result.uncategorised_open:
        rows.append([paragraph("ohne Kategorie"), Status.UNCLASSIFIED.label, eur(result.uncategorised_open)])
    if result.uncategorised_decided:
        rows.append([paragraph("ohne Kategorie"), "abweichend eingestuft", eur(result.uncategorised_decided)])
    totals = []
    for status in CATEGORY_STATUSES:
        amount = sum((c.amount for c in result.by_category if c.status == status), Decimal("0"))
        totals.append([f"Summe {status.label}", "", eur(amount)])
    totals.append(["Ausgaben insgesamt", "", eur(result.total_spending)])
    totals.append([paragraph("Zweckentsprechende Ausgaben (zulässig und gedeckelte Kategorien bis "
                             "zur Obergrenze)", CELL_BOLD), "", eur(result.permitted)])
    table = ruled_table(rows + totals, [112 * mm, 28 * mm, 30 * mm],
                        total_rows=len(totals), repeat=True, label_cols=2)
    note = ("Status: der Status der Kategorie laut Regelwerk. Ob eine Buchung zweckentsprechend ist, entscheidet "
            "ihre Einstufung (Pool und Finanzierungsgrundlage, Schule, Weiterleitung, abweichende Einstufung); auch "
            "Buchungen zulässiger Kategorien können daher ausgeschlossen oder nicht eingestuft sein (Abschnitt "
            "„Ausgeschlossene und nicht eingestufte Ausgaben“). Die letzte Zeile folgt dieser Einstufung.")
    return sections.long_heading("Zweckentsprechende Ausgaben nach Kategorien") + [table, paragraph(note, NOTE)]


def _overhead(result: RepaymentResult, sections: Sections) -> list:
    """Overhead cap: pool personnel costs, cap, overhead charged, excess."""
    story = [sections.heading("Overhead-Obergrenze")]
    if result.overhead_cap is None:
        story.append(paragraph("Keine Overhead-Obergrenze nach dem für dieses Schuljahr geltenden "
                               "Regelwerk.", BODY))
        if result.overhead_charged:
            story.append(figures([("Overhead verbucht", eur(result.overhead_charged))]))
        return story
    story.append(figures([
        ("Personalkosten des Pool-Modells", eur(result.pool_personnel)),
        (f"Obergrenze ({percent(result.overhead_rate)} der Personalkosten des Pool-Modells)",
         eur(result.overhead_cap)),
        ("Overhead verbucht", eur(result.overhead_charged)),
        ("Overhead oberhalb der Obergrenze (nicht zweckentsprechend)",
         eur(result.overhead_excess)),
    ], total_rows=1))
    return [KeepTogether(story)]


# Systemic vs individual financing (DOMAIN.md; seeds 000_56511fda85b4e153.txt Region Hannover and
# 001_ba74bdce3eae9029.txt Düsseldorf: pools that keep individual approval; seed 002_17056edfca8550ce.txt,
# Hinweise Teil III: infrastructure model, e.g. StädteRegion Aachen KOBSI).
_TARGETS_NOTE = (
    "Zweckentsprechend sind Personalkosten nur, soweit die Schulassistenz systemisch eingesetzt ist: der Schule des "
    "Gemeinsamen Lernens antragsunabhängig und fallübergreifend zur Verfügung gestellt (Infrastrukturmodell, z. B. "
    "das Modell der StädteRegion Aachen). Bündelt ein Pool dagegen einzeln bewilligte Ansprüche, bei denen jedes "
    "Kind weiterhin Antrag und Bescheid braucht (wie in den Pool-Modellen der Region Hannover und der Stadt "
    "Düsseldorf), handelt es sich um Individualansprüche nach § 35a SGB VIII bzw. § 112 SGB IX; sie sind "
    "ausgeschlossen. Bei gemischter Finanzierung ist nur der erfasste systemische Anteil zweckentsprechend. "
    "Aufgeführt sind Buchungen mit der Kostenstelle eines Pools oder einer Schule; übrige Buchungen (z. B. "
    "Overhead, Weiterleitungen) sind hier nicht enthalten.")


def _targets(targets: tuple[TargetLine, ...], sections: Sections) -> list:
    """Spending per pool and per school with the conform, excluded and unclassified parts."""
    story = sections.long_heading("Ausgaben nach Pools und Schulen")
    if not targets:
        return story + [paragraph("Keine Buchungen mit der Kostenstelle eines Pools oder einer Schule.", NOTE)]
    rows = [header_row("Art", "Kennung / Name", "Finanzierungs-\ngrundlage", "Schulen", "Summe\n(EUR)",
                       "zweckent-\nsprechend\n(systemisch)", "ausge-\nschlossen\n(Individual-\nansprüche\netc.)",
                       "nicht\neingestuft", right=(4, 5, 6, 7))]
    rows += [[paragraph(t.kind), multiline(t.key, t.name),
              paragraph(t.basis.removeprefix("Finanzierungsgrundlage "), CELL_SMALL), paragraph(t.schools, CELL_SMALL),
              *(format_german(amount) for amount in (t.total, t.conform, t.excluded, t.unclassified))]
             for t in targets]

    def total(field: str) -> str:
        return format_german(sum((getattr(t, field) for t in targets), ZERO))

    rows.append(["Summe Pools und Schulen", "", "", "", total("total"), total("conform"), total("excluded"),
                 total("unclassified")])
    table = ruled_table(rows, [12 * mm, 30 * mm, 24 * mm, 28 * mm, 19 * mm, 19 * mm, 19 * mm, 19 * mm],
                        amount_cols=(4, 5, 6, 7), total_rows=1, repeat=True, label_cols=4)
    return story + [table, paragraph(_TARGETS_NOTE, NOTE)]


def _verification_text(line: PassThroughLine) -> Paragraph:
    if not line.verifications:
        return paragraph("keine Vergewisserung dokumentiert", CELL_BOLD)
    return multiline(*(f"am {num_date(v.verified_on)}, Aktenzeichen {v.document_reference}, durch {v.verified_by}"
                       for v in line.verifications))


def _pass_through(lines: tuple[PassThroughLine, ...], sections: Sections) -> list:
    """Pass-through per member municipality: GL bearer, amount, conform part, verification."""
    rows = [header_row("Gemeinde", "Träger von\nGL-Schulen", "Betrag", "davon zweck-\nentsprechend",
                       "Vergewisserung (Datum, Aktenzeichen, durch)", right=(2, 3))]
    rows += [[paragraph(line.municipality), "ja" if line.gl_bearer else "nein", eur(line.amount), eur(line.conform),
              _verification_text(line)] for line in lines]
    rows.append(["Weiterleitungen insgesamt", "", eur(sum((line.amount for line in lines), ZERO)),
                 eur(sum((line.conform for line in lines), ZERO)), ""])
    table = ruled_table(rows, [36 * mm, 18 * mm, 26 * mm, 26 * mm, 64 * mm], amount_cols=(2, 3), total_rows=1,
                        repeat=True, label_cols=2)
    note = ("Eine Weiterleitung ist nur zweckentsprechend, wenn die Gemeinde Träger von Schulen des Gemeinsamen "
            "Lernens ist und der Kreis sich vor der Zahlung vergewissert hat, dass zweckentsprechende Projekte "
            "vorhanden oder konkret geplant sind (Hinweise Teil II); die Vergewisserung muss dokumentiert sein.")
    return sections.long_heading("Weiterleitungen an kreisangehörige Gemeinden") + [table, paragraph(note, NOTE)]


_OVERRIDES_HEADING = "Abweichende Einstufungen"



def _excluded_part(v: VoucherLine) -> Decimal:
    """The excluded part of a posting: what is neither conform nor unclassified."""
    return ZERO if v.status == Status.UNCLASSIFIED else v.amount - v.conform


def _rule_label(rule: str, sample: VoucherLine) -> str:
    if rule.startswith("category."):
        return f"Ausgeschlossene Kategorie „{sample.category_label}“"
    if rule == "override":
        return f"Abweichende Einstufung (Begründung im Abschnitt „{_OVERRIDES_HEADING}“)"
    return rule_label(rule)


def _not_conform(data: StatementData, sections: Sections) -> list:
    """Excluded spending grouped by the rule that excluded it, and the unclassified postings;
    each table adds up to ``result.excluded`` and ``result.unclassified``."""
    result = data.result
    groups: dict[str, list[VoucherLine]] = {}
    for v in data.vouchers:
        if _excluded_part(v):
            groups.setdefault(v.rule, []).append(v)
    rows = [header_row("Ausschlussgrund", "Buchungen", "Betrag", right=(1, 2))]
    listed = ZERO
    for rule in sorted(groups):
        lines = groups[rule]
        amount = sum((_excluded_part(v) for v in lines), ZERO)
        listed += amount
        rows.append([paragraph(_rule_label(rule, lines[0])), str(len(lines)), eur(amount)])
    if listed != result.excluded:
        rows.append([paragraph("Nicht einzelnen Buchungen zugeordnet"), "", eur(result.excluded - listed)])
    rows.append(["Ausgeschlossene Ausgaben insgesamt", "", eur(result.excluded)])
    story = sections.long_heading("Ausgeschlossene und nicht eingestufte Ausgaben")
    story += [ruled_table(rows, [122 * mm, 20 * mm, 28 * mm], amount_cols=(1, 2), total_rows=1, repeat=True),
              paragraph("Bei teilweise zulässigen Buchungen zählt nur der ausgeschlossene Teil. Overhead oberhalb "
                        "der Obergrenze ist im Abschnitt „Overhead-Obergrenze“ ausgewiesen und hier nicht "
                        "enthalten.", NOTE),
              Spacer(1, 3 * mm)]

    unclassified = [v for v in data.vouchers if v.status == Status.UNCLASSIFIED]
    listed = sum((v.amount for v in unclassified), ZERO)
    tail = []
    if listed != result.unclassified:
        tail.append(["", "", paragraph("Nicht einzelnen Buchungen zugeordnet"), "", eur(result.unclassified - listed)])
    tail.append(["Nicht eingestufte Ausgaben insgesamt", "", "", "", eur(result.unclassified)])
    table = LongTable(header_row("Datum", "Beleg-Nr.", "Buchungstext", "Grund", "Betrag", right=(4,)), unclassified,
                      _unclassified_row, tail, [18 * mm, 24 * mm, 56 * mm, 46 * mm, 26 * mm],
                      {1: CELL, 2: CELL, 3: CELL_SMALL}, amount_cols=(4,), label_cols=4)
    story += [PagedTable(table),
              paragraph("Nicht eingestufte Ausgaben gelten als nicht zweckentsprechend, bis die fehlenden Angaben "
                        "(z. B. Kategorie, Kostenstelle, Finanzierungsgrundlage des Pools) ergänzt sind.", NOTE)]
    return story


def _unclassified_row(v: VoucherLine) -> list[str]:
    """A row of the unclassified postings: date, voucher, text, reason, amount."""
    return [num_date(v.date), one_line(v.voucher_number), one_line(v.text), one_line(v.reason or v.category_label),
            eur(v.amount)]


def _out_of_period(data: StatementData, sections: Sections) -> list:
    """The postings booked outside the school year they belong to, with their classification."""
    story = sections.long_heading("Periodenfremd gebuchte Ausgaben")
    rows = [header_row("Datum", "Beleg-Nr.", "Buchungstext", "Einstufung", "Betrag", right=(4,))]
    rows += [[num_date(v.date), one_line(v.voucher_number), one_line(v.text), Status(v.status).label, eur(v.amount)]
             for v in data.out_of_period]
    rows.append(["Periodenfremd gebucht insgesamt", "", "", "", eur(sum((v.amount for v in data.out_of_period), ZERO))])
    story += [ruled_table(rows, [18 * mm, 24 * mm, 66 * mm, 36 * mm, 26 * mm], amount_cols=(4,), total_rows=1,
                          repeat=True, label_cols=4),
              paragraph(f"Diese Ausgaben sind außerhalb des Schuljahres {data.school_year} gebucht und zählen nach dem "
                        "Grundsatz der periodengerechten Zuordnung (§ 33 Abs. 1 Nr. 4 KomHVO NRW) in dem Schuljahr, "
                        "dem sie zugeordnet sind; sie sind in den Summen oben enthalten.", NOTE)]
    return story


def _override_state(o: OverrideRecord) -> str:
    if o.active:
        return "gilt"
    return (f"zurückgenommen am {timestamp(o.withdrawn_at)} von {o.withdrawn_by}: "
            f"{o.withdrawal_justification or ''}").rstrip(": ")


def _overrides(overrides: tuple[OverrideRecord, ...], sections: Sections) -> list:
    """The officers' overrides of the year with justification, author and state (withdrawn ones included)."""
    story = sections.long_heading(_OVERRIDES_HEADING)
    if not overrides:
        return story + [paragraph("Keine abweichenden Einstufungen.", NOTE)]
    rows = [header_row("Nr.", "Beleg", "Betrag", "Einstufung", "Begründung", "von / am", "Stand", right=(2,))]
    for o in overrides:
        label = Status(o.status).label
        rows.append([
            str(o.id), multiline(o.voucher_number, num_date(o.day)), eur(o.amount),
            multiline(label, f"davon zulässig: {eur(o.conform)}" if o.status == Status.SPLIT else ""),
            paragraph(o.justification, CELL_SMALL), multiline(o.created_by, timestamp(o.created_at)),
            paragraph(_override_state(o), CELL if o.active else CELL_SMALL),
        ])
    table = ruled_table(rows, [8 * mm, 24 * mm, 24 * mm, 26 * mm, 40 * mm, 22 * mm, 26 * mm], amount_cols=(2,),
                        repeat=True)
    note = ("Eine abweichende Einstufung ersetzt für die genannte Buchung (und ihre Stornobuchung) die Einstufung "
            "nach den Regeln. Zurückgenommene Einstufungen gelten nicht mehr; sie sind zur Nachvollziehbarkeit "
            "aufgeführt.")
    return story + [table, paragraph(note, NOTE)]


def _days_text(days: int | None) -> str:
    if days is None:
        return ""
    if days > 0:
        return f" (in {days} {'Tag' if days == 1 else 'Tagen'})"
    if days == 0:
        return " (heute)"
    return f" (seit {-days} {'Tag' if days == -1 else 'Tagen'} abgelaufen)"


def _forecast(f: Forecast, pack_title: str, sections: Sections) -> list:
    """The projection while the school year is open: basis, projected figures, deadline, warnings;
    ``pack_title`` is the title of the year's rule pack (the forecast's)."""
    basis_label = ("Zuwendung (festgesetzt; Auszahlungen stehen noch aus)" if f.grant_basis_source == "assessed"
                   else "Zuwendung (erhalten)")
    if f.projected_overhead_cap is None:
        overhead = f"{eur(f.projected_overhead)} (keine Obergrenze)"
    else:
        overhead = f"{eur(f.projected_overhead)} von {eur(f.projected_overhead_cap)}"
    due = ("keine (keine Auszahlung gebucht)" if f.due_date is None
           else long_date(f.due_date) + _days_text(f.days_until_due))
    story = [sections.heading("Prognose (Schuljahr noch nicht abgeschlossen)"),
             paragraph(f"Stand {num_date(f.as_of)}: gebuchte Ausgaben bis zu diesem Tag und offene Verpflichtungen "
                       f"(Verträge) bis zum Ende des Schuljahres, eingestuft nach dem Regelwerk „{pack_title}“, "
                       f"Version {f.rule_pack_version}.", BODY),
             Spacer(1, 2 * mm),
             figures([
                 (basis_label, eur(f.grant_basis)),
                 ("Zweckentsprechend gebucht bis zum Stichtag", eur(f.actuals.permitted)),
                 ("Offene Verpflichtungen bis zum Ende des Schuljahres", eur(f.committed)),
                 ("Voraussichtlich zweckentsprechende Ausgaben", eur(f.projected_permitted)),
                 ("Voraussichtlich ausgeschlossen", eur(f.projected_excluded)),
                 ("Nicht eingestuft (gebucht oder verpflichtet)", eur(f.unclassified)),
                 ("Overhead voraussichtlich / Obergrenze", overhead),
                 ("Voraussichtliche Rückzahlung", eur(f.projected_repayment)),
                 ("Rückzahlungsfrist", due),
             ], total_rows=2)]
    if f.warnings:
        story += [Spacer(1, 2 * mm), paragraph("Warnungen:", CELL_BOLD)]
        story += [paragraph(f"• {text}", NOTE) for _code, text in f.warnings]
    else:
        story.append(paragraph("Keine Warnungen.", NOTE))
    if f.agreement_reference:
        story.append(paragraph(f"Für das Schuljahr gilt eine Vereinbarung ({f.agreement_reference}); die "
                               "Prognose rechnet nach den Regeln und wendet sie nicht an.", NOTE))
    story.append(paragraph("Die Prognose ersetzt nicht die Abrechnung nach dem Ende des Schuljahres.", NOTE))
    return [KeepTogether(story)]


#: The label's suffix for what decides the repayment (``RepaymentResult.decided_by``).
_DECIDED_BY = {"notice": " (laut Bescheid)", "agreement": " (laut Vereinbarung)", "computation": ""}


def _agreement(result: RepaymentResult, sections: Sections) -> list:
    """The settlement agreement: reference, agreed figures, computed and agreed repayment, its
    status and effective date with its earlier statuses (Vereinbarung § 9), payment date and
    reference (§ 3)."""
    agreement = result.agreement
    if agreement.waived:
        terms = ("Vereinbarte Regelung", "Verzicht des Landes auf Rückforderung")
    else:
        terms = ("Als zweckentsprechend vereinbart", eur(agreement.deemed_conform))
    status = STATUSES.get(agreement.status, agreement.status)
    if agreement.effective_date is not None:
        status += f" seit {long_date(agreement.effective_date)}"
    rows = [terms, ("Rückzahlung nach Berechnung", eur(result.computed_repayment_due)),
            ("Rückzahlung nach Vereinbarung", eur(agreement.repayment_due)), ("Stand", status)]
    earlier = [f"{STATUSES.get(step.status, step.status)} (erfasst am {long_date(step.recorded_at.date())})"
               for step in agreement.history[:-1]]
    if earlier:
        rows.append(("Frühere Stände (§ 9)", "; ".join(earlier)))
    if agreement.payment_date is not None:
        rows.append(("Zahlungstermin", long_date(agreement.payment_date)))
    if agreement.payment_reference:
        rows.append(("Verwendungszweck", agreement.payment_reference))
    note = ("Die Vereinbarung ersetzt für dieses Schuljahr das berechnete Ergebnis." if agreement.in_force else
            "Die Vereinbarung ist noch nicht wirksam; es gilt das berechnete Ergebnis.")
    if result.notice is not None:
        note = "Für dieses Schuljahr entscheidet der Bescheid des Landes, nicht die Vereinbarung."
    return [KeepTogether([
        sections.heading("Vereinbarung"),
        paragraph(agreement.reference, BODY),
        Spacer(1, 2 * mm),
        figures(rows),
        paragraph(note, NOTE),
    ])]


def _notice(result: RepaymentResult, sections: Sections) -> list:
    """The Land's notice in force (Rückforderungs-/Erstattungsbescheid): it decides amount, due
    date and interest; an amending notice names the notice it replaced."""
    notice = result.notice
    interest = ("keine Zinsen (Verzicht nach § 49a Abs. 3 Satz 2 VwVfG NRW)" if notice.interest_waived else
                f"ab {long_date(notice.interest_start)}, {str(notice.interest_points).replace('.', ',')} "
                "Prozentpunkte über dem Basiszinssatz")
    return [KeepTogether([
        sections.heading("Bescheid des Landes"),
        figures([("Bescheid vom", long_date(notice.notice_date)), ("Aktenzeichen", notice.reference),
                 *([] if notice.replaces is None else [
                     ("Ändert den Bescheid", f"vom {long_date(notice.replaces[1])}, Aktenzeichen {notice.replaces[0]}")]),
                 ("Rückzahlung nach Berechnung", eur(result.computed_repayment_due)),
                 ("Rückzahlung laut Bescheid", eur(notice.amount)), ("Zahlungsfrist", long_date(notice.due_date)),
                 ("Zinsen", interest)]),
        paragraph("Der Bescheid ersetzt für dieses Schuljahr das berechnete Ergebnis.", NOTE),
    ])]


def _due_date_text(result: RepaymentResult) -> str:
    """``"1. April 2024 → 2. April 2024 (§ 193 BGB)"`` when shifted, else the due date."""
    if result.due_date is None:
        if not result.tranches:
            return "keine (keine Auszahlung gebucht)"
        return "keine Frist nach dem Regelwerk (Rückzahlung nur aufgrund einer Vereinbarung oder eines Bescheids)"
    if result.nominal_due_date and result.nominal_due_date != result.due_date:
        law = "§ 31 Abs. 3 VwVfG NRW" if result.decided_by == "notice" else "§ 193 BGB"
        return f"{long_date(result.nominal_due_date)} → {long_date(result.due_date)} ({law})"
    return long_date(result.due_date)


def _result(result: RepaymentResult, sections: Sections) -> list:
    """Grant, purpose-conform spending, repayment due, repaid, outstanding, due date."""
    due_label = "Rückzahlung fällig" + _DECIDED_BY[result.decided_by]
    outstanding_label = ("Noch zu zahlen" if result.outstanding >= 0
                         else "Überzahlung (zu viel zurückgezahlt)")
    return [KeepTogether([
        sections.heading("Ergebnis"),
        figures([
            ("Erhaltene Zuwendung", eur(result.grant_received)),
            ("Zweckentsprechende Ausgaben", eur(result.permitted)),
            (due_label, eur(result.repayment_due)),
            ("Bestätigte Rückzahlungsverpflichtung (gebucht)",
             eur(result.confirmed_obligation)),
            ("Bereits zurückgezahlt", eur(result.already_repaid)),
            (outstanding_label, eur(result.outstanding)),
            ("Fällig am", _due_date_text(result)),
        ], total_rows=2),
    ])] + _tranche_table(result)


def _tranche_table(result: RepaymentResult) -> list:
    """With more than one payout: the repayment by payout, each with its own deadline
    ("bis zum 1. April des auf die Auszahlung folgenden Haushaltsjahres")."""
    if len(result.tranches) < 2:
        return []
    rows = [header_row("Auszahlung vom", "Betrag", "davon zurückzuzahlen", "gezahlt", "offen", "Fällig am",
                       right=(1, 2, 3, 4))]
    rows += [[num_date(t.payout_date), eur(t.payout), eur(t.due), eur(t.paid), eur(t.outstanding),
              num_date(t.due_date) if t.due_date else "–"] for t in result.tranches]
    return [Spacer(1, 2 * mm), ruled_table(rows, [26 * mm, 30 * mm, 32 * mm, 28 * mm, 28 * mm, 26 * mm],
                                           amount_cols=(1, 2, 3, 4)),
            paragraph("Jede Auszahlung hat ihre eigene Frist: bis zum 1. April des auf die Auszahlung folgenden "
                      "Haushaltsjahres (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2), verschoben nach § 193 BGB. Die Ausgaben "
                      "verbrauchen die Auszahlungen in ihrer Reihenfolge; der ungenutzte Rest gehört zu den "
                      "letzten.", NOTE)]


def _interest(result: RepaymentResult, sections: Sections) -> list:
    """Interest on late repayment: one row per late payment or open amount, with rates."""
    rows = [["Betrag", "Zinstage", "Zeitraum", "Zinssatz p. a.", "Zinsen"]]
    for item in result.interest:
        first = item.due_date + timedelta(days=1)
        rates = " / ".join(percent_points(p.applied_rate) for p in item.periods)
        rows.append([eur(item.principal), str(item.days), f"{num_date(first)} – {num_date(item.end_date)}",
                     paragraph(rates), eur(item.interest)])
    rows.append(["Verzugszinsen insgesamt", "", "", "", eur(result.late_interest)])
    table = ruled_table(rows, [32 * mm, 18 * mm, 50 * mm, 40 * mm, 30 * mm], total_rows=1, label_cols=4)
    note = ("Zinsen nach § 49a Abs. 3 VwVfG NRW (Basiszinssatz nach § 247 BGB zuzüglich des Aufschlags "
            "laut Regelwerk), tagegenau ab dem Tag nach der Fälligkeit bis zum Zahlungstag.")
    if result.interest_as_of:
        note += f" Offene Beträge verzinst bis {num_date(result.interest_as_of)}."
    unchecked = sorted({p.start for i in result.interest for p in i.periods if not p.base_rate_checked})
    if unchecked:
        note += (" Der verwendete Basiszinssatz ist noch nicht mit der Veröffentlichung der Deutschen Bundesbank "
                 f"abgeglichen (Zeiträume ab {', '.join(num_date(day) for day in unchecked)}); die Zinsen sind "
                 "vor der Zahlung zu prüfen.")
    return [KeepTogether([sections.heading("Verzugszinsen"), table, paragraph(note, NOTE)])]


def _payment(data: StatementData, sections: Sections) -> list:
    """Where and under which reference to repay."""
    bank = data.bank
    return [KeepTogether([
        sections.heading("Zahlungsangaben"),
        details([
            ("Zahlungsempfänger", bank.payee),
            ("Kreditinstitut", bank.bank),
            ("IBAN", iban(bank.iban)),
            ("BIC", bank.bic),
            ("Verwendungszweck", data.payment_reference),
        ]),
    ])]


def _evaluation_rows(state: RunState | None, data: StatementData) -> list[tuple[str, str]]:
    """The evaluation run behind the figures and whether today's classification agrees with it."""
    run = state.run if state is not None else None
    if run is None:
        return [("Bewertungslauf", "Noch kein Bewertungslauf aufgezeichnet; die Zahlen beruhen auf der heutigen "
                                   "Einstufung.")]
    if state.current:
        agreement = "entspricht der heutigen Einstufung"
    elif state.frozen:
        agreement = f"heute abweichend bei {state.changed} Buchungen; abgeschlossenes Jahr: es gilt der Lauf"
    else:
        agreement = (f"heute abweichend bei {state.changed} Buchungen; Schuljahr nicht abgeschlossen: die Zahlen "
                     "beruhen auf der heutigen Einstufung")
    reason = f", Anlass: {run.reason}" if run.reason else ""
    return [
        ("Bewertungslauf", f"Nr. {run.id} vom {timestamp(run.created_at)} ({run.created_by}){reason}; "
                           f"{run.postings} Buchungen eingestuft"),
        ("Regelwerk des Laufs", _run_pack(run.pack_id, run.pack_version, data)),
        ("SHA-256 des Regelwerks", run.pack_digest),
        ("Abgleich", agreement),
    ]


def _run_pack(pack_id: str, version: str, data: StatementData) -> str:
    """The rule pack of an evaluation run by title and version (the statement's pack is the year's;
    a run under another pack, from before a change of the pack files, is named by its version only)."""
    if pack_id == data.result.rule_pack_id:
        return f"{data.rule_pack_title}, Version {version}"
    return f"Regelwerk in der Version {version}"


def _tamper_evidence(data: StatementData, sections: Sections) -> list:
    """The hash-chain head of the books and the evaluation run behind this statement, for a later check."""
    head = data.chain_head
    return [KeepTogether([
        sections.heading("Prüfvermerk zur Unveränderbarkeit"),
        details([
            ("Buchungskette", f"{head.seq} Buchungen bis zur Erstellung dieser Abrechnung"),
            ("SHA-256 der letzten Buchung", head.entry_hash),
            *_evaluation_rows(data.result.evaluation, data),
        ]),
        paragraph("Jede Buchung enthält die Prüfsumme ihrer Vorgängerin. Stimmt die Prüfsumme der Buchung "
                  f"Nr. {head.seq} später noch mit dem obigen Wert überein und bestätigt die Prüfung der Buchungskette "
                  "(Integritätsprüfung) eine intakte Kette, sind die Bücher hinter dieser Abrechnung unverändert. Ein Bewertungslauf hält die "
                  "Einstufung jeder Buchung mit dem Regelwerk fest, nach dem sie erfolgte; ein abgeschlossenes "
                  "Schuljahr wird nach seinem letzten Lauf abgerechnet, nicht nach einem später geänderten "
                  "Regelwerk.", NOTE),
    ])]


def _classification_lines(v: VoucherLine) -> tuple[str, ...]:
    """The posting's classification under its category: status, conform part, override number."""
    label = Status(v.status).label
    partial = v.status != Status.UNCLASSIFIED and v.conform not in (ZERO, v.amount)
    status = f"{label}: {format_german(v.conform)}" if partial else label
    return (status, f"Abw. Nr. {v.override_id}" if v.override_id is not None else "")


def _voucher_row(v: VoucherLine) -> list[str]:
    """A row of the voucher list: date, voucher, text, account, category with classification, amount."""
    category = [one_line(line) for line in (v.category_label, *_classification_lines(v)) if line]
    return [num_date(v.date), one_line(v.voucher_number), one_line(v.text), one_line(v.account),
            "\n".join(category), eur(v.amount)]


def _vouchers(vouchers: tuple[VoucherLine, ...], sections: Sections) -> list:
    """Chronological voucher list with each posting's classification; header repeats on every page, total at the end."""
    total = sum((v.amount for v in vouchers), Decimal("0"))
    table = LongTable(["Datum", "Beleg-Nr.", "Buchungstext", "Konto", "Kategorie", "Betrag"], vouchers,
                      _voucher_row, [[f"Summe ({len(vouchers)} Buchungen)", "", "", "", "", eur(total)]],
                      [18 * mm, 24 * mm, 56 * mm, 11 * mm, 36 * mm, 25 * mm],
                      {1: CELL, 2: CELL, 3: CELL, 4: CELL_SMALL}, label_cols=5)
    overrides = sections.numbers.get(_OVERRIDES_HEADING)
    legend = paragraph("Konto: Nummer im Kontenplan; Kategorie: Bezeichnung wie in Abschnitt 2, darunter die Einstufung "
                       "der Buchung (bei teilweise zulässigen Buchungen mit dem zweckentsprechenden Betrag in EUR; "
                       f"„Abw. Nr.“: abweichende Einstufung, siehe Abschnitt {overrides}).", NOTE)
    return sections.long_heading("Belegliste (chronologisch)") + [legend, PagedTable(table)]
