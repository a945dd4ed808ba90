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

The PDF's keywords (metadata) carry the journal head the statement rests on in machine-readable
form (``ledger.core.integrity.heads_keywords``), so ``inkl verify --against STATEMENT.pdf`` can
check that the books behind it are still there and unchanged.
"""
from __future__ import annotations

from decimal import Decimal
from functools import partial

from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table

from ledger.core.agreements import STATUSES
from ledger.core.integrity import heads_keywords, journal_name
from ledger.core.money import ZERO, format_german, round_half_up
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
    CELL_PADDING,
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
    exact_eur,
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
    unbroken,
    whole_words,
    widest_word_width,
)


def render_statement(data: StatementData) -> bytes:
    """Render the settlement statement as PDF bytes (A4, German).

    Args:
        data: the statement's content; amounts in EUR (``Decimal``), dates as ``date``,
            ``data.created_at`` (naive local time) is printed in the footer and used as
            the PDF's creation date. ``data.issue_number`` None makes a draft: "ENTWURF"
            across every page (``ledger.write.pdf.draw_watermark``); an issued statement
            carries its number in the title and the footer ("Verwendungsnachweis Nr. 3 …", "Nr. 3").
    Returns:
        The PDF document as bytes. Equal ``data`` gives byte-identical output.
    """
    return render(
        _story(data),
        title=f"{_name(data)} über die {data.programme} – Schuljahr {data.school_year} – {data.recipient_name}",
        author=data.recipient_name,
        subject=f"Verwendungsnachweis {data.programme}, Schuljahr {data.school_year}, {data.legal_basis}",
        footer=_footer_lines(data),
        created_at=data.created_at,
        watermark=DRAFT if data.issue_number is None else None,
        keywords=heads_keywords({journal_name(data.recipient_key): data.chain_head}),
    )


#: The watermark of a statement not (yet) issued.
DRAFT = "ENTWURF"


def _name(data: StatementData) -> str:
    """"Verwendungsnachweis Nr. 3" for an issued statement, "Verwendungsnachweis" for a draft (its watermark says ENTWURF)."""
    return "Verwendungsnachweis" if data.issue_number is None else f"Verwendungsnachweis Nr. {data.issue_number}"


def _footer_lines(data: StatementData) -> tuple[str, str]:
    """The footer's two left-hand lines: recipient and school year, the number (or "Entwurf") and
    creation time."""
    created = data.created_at
    state = "Entwurf" if data.issue_number is None else f"Nr. {data.issue_number}"
    return (
        f"{data.recipient_name} ({data.recipient_key}) · Schuljahr {data.school_year}",
        f"{state} · Erstellt am {created:%d.%m.%Y} um {created:%H:%M}",
    )


# ---------------------------------------------------------------- sections


def _story(data: StatementData) -> list:
    """All flowables of the statement, in section order."""
    sections = Sections()
    story = _title(data)
    story += _summary(data.result)
    story += _narrative(data, sections)
    story += _financial(data, sections)
    story += _spending(data.result, sections)
    story += _overhead(data, sections)
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
    story += _vouchers(data.vouchers, data.result, sections)
    story += _confirmation(data, sections)
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
    return [multiline(_name(data), f"über die {data.programme} – Schuljahr {data.school_year}", style=TITLE),
            details(rows)]


def _summary(result: RepaymentResult) -> list:
    """The result at a glance on page 1; the numbered sections give the derivation."""
    rows = [
        ("Erhaltene Zuwendung", eur(result.grant_received)),
        ("Zweckentsprechende Ausgaben", eur(result.permitted)),
        *_agreed_conform(result),
        ("Rückzahlung fällig" + _DECIDED_BY[result.decided_by], eur(result.repayment_due)),
        ("Fällig am", _due_date_text(result)),
    ]
    return [Spacer(1, 3 * mm), paragraph("Ergebnis auf einen Blick", HEADING_LONG), figures(rows, total_rows=2)]


def _agreed_conform(result: RepaymentResult) -> list[tuple[str, str]]:
    """The amount an agreement in force deems purpose-conform, as a row (none without one)."""
    agreement = result.agreement
    if result.decided_by != "agreement" or agreement.deemed_conform is None:
        return []
    return [("Als zweckentsprechend vereinbart (laut Vereinbarung)", eur(agreement.deemed_conform))]


_NARRATIVE = ParagraphStyle("Sachbericht", parent=BODY, spaceAfter=1.5 * mm)


def _narrative(data: StatementData, sections: Sections) -> list:
    """I. Sachbericht: the officer's text for the year (ANBest-G NRW: what was done with the
    grant, in words), a paragraph per line of the text, with who wrote it when."""
    story = sections.long_heading("Sachbericht")
    report = data.narrative
    if report is None:
        return story + [paragraph("Für dieses Schuljahr ist noch kein Sachbericht erfasst. Er ist vor der "
                                  "Ausstellung des Verwendungsnachweises zu ergänzen.", CELL_BOLD)]
    story += [paragraph(line, _NARRATIVE) for line in report.text.replace("\r\n", "\n").split("\n") if line.strip()]
    story.append(paragraph(f"Verfasst von {report.written_by} am {timestamp(report.written_at)}.", NOTE))
    return story


def _financial(data: StatementData, sections: Sections) -> list:
    """II. Zahlenmäßiger Nachweis: income and spending "lt. Bescheid" against "lt. Abrechnung"
    (the structure of the ANBest-G NRW statement of use), then the payouts. The "lt. Abrechnung"
    column adds up: grant received − conform spending (+ own funds) = repayment by computation,
    and total spending = conform + not conform."""
    result = data.result
    assessed = result.grant_assessed
    not_conform = result.total_spending - result.permitted
    own_funds = max(result.permitted - result.grant_received, ZERO)

    def planned(amount: Decimal | None) -> str:
        return "nicht erfasst" if amount is None else format_german(amount)

    def deviation(planned_amount: Decimal | None, actual: Decimal) -> str:
        return "" if planned_amount is None else format_german(actual - planned_amount)

    rows = [header_row("", "lt. Bescheid\n(EUR)", "lt. Abrechnung\n(EUR)", "Abweichung\n(EUR)", right=(1, 2, 3)),
            [paragraph("1. Einnahmen", CELL_BOLD), "", "", ""],
            [paragraph(f"Zuwendung des Landes ({data.programme})"), planned(assessed),
             format_german(result.grant_received), deviation(assessed, result.grant_received)],
            [paragraph("2. Ausgaben", CELL_BOLD), "", "", ""],
            [paragraph("Ausgaben insgesamt"), "", format_german(result.total_spending), ""],
            [paragraph("davon nicht zweckentsprechend (ausgeschlossen, nicht eingestuft, Overhead oberhalb der "
                       "Obergrenze)"), "", format_german(not_conform), ""],
            [paragraph("Zweckentsprechende Ausgaben", CELL_BOLD), planned(assessed),
             format_german(result.permitted), deviation(assessed, result.permitted)],
            [paragraph("3. Ergebnis", CELL_BOLD), "", "", ""]]
    if own_funds:
        rows.append([paragraph("Zweckentsprechende Ausgaben über der Zuwendung (eigene Mittel)"), "",
                     format_german(own_funds), ""])
    rows.append([paragraph("Nicht zweckentsprechend verwendete Zuwendung (Rückzahlung nach Berechnung)", CELL_BOLD),
                 "0,00", format_german(result.computed_repayment_due), format_german(result.computed_repayment_due)])
    if result.decided_by != "computation":
        rows.append([paragraph("Rückzahlung" + _DECIDED_BY[result.decided_by], CELL_BOLD), "0,00",
                     format_german(result.repayment_due), format_german(result.repayment_due)])
    table = ruled_table(rows, [CONTENT_WIDTH - 90 * mm, 30 * mm, 30 * mm, 30 * mm], amount_cols=(1, 2, 3),
                        total_rows=1 if result.decided_by == "computation" else 2)
    note = (f"Die {data.programme} wird als Pauschale ohne Finanzierungsplan nach Ausgabearten festgesetzt; "
            "lt. Bescheid ist daher der festgesetzte Betrag als zweckentsprechend zu verwendender Gesamtbetrag "
            "ausgewiesen. Die Ausgaben lt. Abrechnung sind im folgenden Abschnitt nach Kategorien gegliedert.")
    if result.decided_by != "computation":
        note += f" Der zurückzuzahlende Betrag ergibt sich für dieses Schuljahr aus {_DECIDER[result.decided_by][1]}."
    return [KeepTogether([sections.heading("Zahlenmäßiger Nachweis"), _assessment_line(data), Spacer(1, 2 * mm),
                          table, paragraph(note, NOTE)]),
            Spacer(1, 3 * mm)] + _payouts(data)


def _assessment_line(data: StatementData) -> Paragraph:
    """"Durch Festsetzungsbescheid vom … wurden … EUR festgesetzt; ausgezahlt insgesamt … EUR." """
    result = data.result
    notice = (f"Festsetzungsbescheid vom {num_date(data.notice_date)}" if data.notice_date
              else "Festsetzungsbescheid (Datum nicht erfasst)")
    assessed = eur(result.grant_assessed) if result.grant_assessed is not None else "(Betrag nicht erfasst)"
    return paragraph(f"Durch {notice} wurden für das Schuljahr {data.school_year} {assessed} festgesetzt; "
                     f"ausgezahlt wurden insgesamt {eur(result.grant_received)}.", BODY)


def _payouts(data: StatementData) -> list:
    """The payouts of the grant with their vouchers; the total is the grant received."""
    width = 45 * mm
    voucher_style = whole_words([p.voucher_number for p in data.payouts], width, CELL)
    rows = [["Auszahlung vom", "Beleg-Nr.", "Betrag"]]
    rows += [[num_date(p.date), paragraph(p.voucher_number, voucher_style), eur(p.amount)] for p in data.payouts]
    rows.append(["Erhaltene Zuwendung insgesamt", "", eur(data.result.grant_received)])
    story = [] if data.payouts else [paragraph("Keine Auszahlung gebucht.", NOTE)]
    return story + [ruled_table(rows, [30 * mm, CONTENT_WIDTH - 75 * mm, width], total_rows=1, label_cols=2)]


def _spending(result: RepaymentResult, sections: Sections) -> list:
    """Net spending per category with status, the spending without a category, subtotals per
    status and the total spending (the rows add up to it)."""
    rows = [["Kategorie", "Status", "Betrag"]]
    rows += [[paragraph(c.label), paragraph(Status(c.status).label), eur(c.amount)] for c in result.by_category]
    if result.uncategorised_open:
        rows.append([paragraph("ohne Kategorie"), paragraph(Status.UNCLASSIFIED.label), eur(result.uncategorised_open)])
    if result.uncategorised_decided:
        rows.append([paragraph("ohne Kategorie"), paragraph("abweichend eingestuft"),
                     eur(result.uncategorised_decided)])
    totals = []
    for status in CATEGORY_STATUSES:
        amount = sum((c.amount for c in result.by_category if c.status == status), Decimal("0"))
        totals.append([f"Summe Kategorien „{status.label}“", "", eur(amount)])
    if result.uncategorised:
        totals.append(["Summe ohne Kategorie", "", eur(result.uncategorised)])
    totals.append(["Ausgaben insgesamt", "", eur(result.total_spending)])
    totals.append([paragraph("Zweckentsprechende Ausgaben (zulässig und gedeckelte Kategorien bis "
                             "zur Obergrenze)", CELL_BOLD), "", eur(result.permitted)])
    table = ruled_table(rows + totals, [108 * mm, 32 * mm, 30 * mm],
                        total_rows=len(totals), repeat=True, label_cols=2)
    note = ("Status: der Status der Kategorie laut Regelwerk. Ob eine Buchung zweckentsprechend ist, entscheidet "
            "ihre Einstufung (Pool und Finanzierungsgrundlage, Schule, Weiterleitung, abweichende Einstufung); auch "
            "Buchungen zulässiger Kategorien können daher ausgeschlossen oder nicht eingestuft sein (Abschnitt "
            "„Ausgeschlossene und nicht eingestufte Ausgaben“). Die letzte Zeile folgt dieser Einstufung.")
    return sections.long_heading(_CATEGORIES_HEADING) + [table, paragraph(note, NOTE)]


_CATEGORIES_HEADING = "Zweckentsprechende Ausgaben nach Kategorien"


def _overhead(data: StatementData, sections: Sections) -> list:
    """Overhead cap: its base, the computation rate × base = cap (rounded as the pack says), the
    overhead charged and the excess, with the rule's sources (Hinweise Teil IV)."""
    result, rule = data.result, data.overhead_rule
    story = [sections.heading("Overhead-Obergrenze")]
    if result.overhead_cap is None:
        story.append(paragraph("Keine Overhead-Obergrenze nach dem für dieses Schuljahr geltenden "
                               "Regelwerk.", BODY))
        if result.overhead_charged:
            story.append(figures([("Overhead verbucht", eur(result.overhead_charged))]))
        return story
    base_label = ("Personalkosten der Pool-Modelle (Bemessungsgrundlage)" if rule is not None and rule.base == "all"
                  else "Zweckentsprechende Personalkosten der Pool-Modelle (Bemessungsgrundlage)")
    exact = result.pool_personnel * result.overhead_rate
    computation = f"{percent(result.overhead_rate)} × {eur(result.pool_personnel)} = {exact_eur(exact)}"
    if exact != result.overhead_cap:
        computation += f", kaufmännisch gerundet {eur(result.overhead_cap)}"
    story += [figures([
        (base_label, eur(result.pool_personnel)),
        (f"Obergrenze: {computation}", eur(result.overhead_cap)),
        ("Overhead verbucht", eur(result.overhead_charged)),
        ("davon zweckentsprechend (bis zur Obergrenze)", eur(min(result.overhead_charged, result.overhead_cap))),
        ("Overhead oberhalb der Obergrenze (nicht zweckentsprechend)", eur(result.overhead_excess)),
    ], total_rows=1)]
    if rule is not None:
        story.append(paragraph(f"Obergrenze: {rule.source}", NOTE))
        if rule.base_source:
            story.append(paragraph(f"Bemessungsgrundlage: {rule.base_source}", NOTE))
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
    voucher_width = _voucher_column_width(unclassified)
    table = LongTable(header_row("Datum", "Beleg-Nr.", "Buchungstext", "Grund", "Betrag", right=(4,)), unclassified,
                      _unclassified_row, tail, [18 * mm, voucher_width, 80 * mm - voucher_width, 46 * mm, 26 * mm],
                      {1: whole_words([v.voucher_number for v in unclassified], voucher_width, CELL), 2: CELL,
                       3: CELL_SMALL}, amount_cols=(4,), label_cols=4)
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
    rows += [[num_date(v.date), unbroken(v.voucher_number, width=24 * mm), paragraph(one_line(v.text)),
              paragraph(Status(v.status).label), eur(v.amount)] for v in data.out_of_period]
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
            str(o.id), unbroken(o.voucher_number, num_date(o.day), width=24 * mm), eur(o.amount),
            multiline(label, f"davon zulässig: {eur(o.conform)}" if o.status == Status.SPLIT else ""),
            paragraph(o.justification, CELL_SMALL), unbroken(o.created_by, timestamp(o.created_at), width=22 * mm),
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
    story.append(paragraph("Die Prognose ersetzt nicht den Verwendungsnachweis nach dem Ende des Schuljahres.", NOTE))
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
            *_agreed_conform(result),
            (due_label, eur(result.repayment_due)),
            ("Bestätigte Rückzahlungsverpflichtung (gebucht)",
             eur(result.confirmed_obligation)),
            ("Bereits zurückgezahlt", eur(result.already_repaid)),
            (outstanding_label, eur(result.outstanding)),
            ("Fällig am", _due_date_text(result)),
        ], total_rows=2),
    ])] + _tranche_table(result)


def _tranche_table(result: RepaymentResult) -> list:
    """The repayment by payout, each with its own deadline ("bis zum 1. April des auf die
    Auszahlung folgenden Haushaltsjahres"), or the one amount a notice or an agreement sets."""
    if not result.tranches:
        return []
    rows = [header_row("Auszahlung vom", "Betrag", "davon zurückzuzahlen", "gezahlt", "offen", "Fällig am",
                       right=(1, 2, 3, 4))]
    for t in result.tranches:
        origin = num_date(t.payout_date) if t.payout_date else _TRANCHE_BASIS[t.basis]
        rows.append([paragraph(origin), eur(t.payout) if t.payout is not None else "",
                     eur(t.due), eur(t.paid), eur(t.outstanding), num_date(t.due_date) if t.due_date else "–"])
    rows.append(["Insgesamt", "", eur(sum((t.due for t in result.tranches), ZERO)),
                 eur(sum((t.paid for t in result.tranches), ZERO)),
                 eur(sum((t.outstanding for t in result.tranches), ZERO)), ""])
    if any(t.basis == "payout" for t in result.tranches):
        note = ("Jede Auszahlung hat ihre eigene Frist: bis zum 1. April des auf die Auszahlung folgenden "
                "Haushaltsjahres (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2; Hinweise zur zweckentsprechenden "
                "Verwendung der Inklusionspauschale, Teil II), verschoben nach § 193 BGB. Die Ausgaben verbrauchen "
                "die Auszahlungen in ihrer Reihenfolge; der ungenutzte Rest gehört zu den letzten.")
    else:
        note = f"Betrag und Frist setzt {_DECIDER[result.tranches[0].basis][0]}."
    return [Spacer(1, 2 * mm), ruled_table(rows, [30 * mm, 28 * mm, 32 * mm, 28 * mm, 28 * mm, 24 * mm],
                                           amount_cols=(1, 2, 3, 4), total_rows=1),
            paragraph(note, NOTE)]


#: What sets a tranche without a payout (``Tranche.basis``).
_TRANCHE_BASIS = {"notice": "Bescheid des Landes", "agreement": "Vereinbarung", "payout": "Auszahlung"}
#: What decides a year's repayment besides the computation, as subject and after "aus" (dative).
_DECIDER = {"notice": ("der Bescheid des Landes", "dem Bescheid des Landes"),
            "agreement": ("die Vereinbarung", "der Vereinbarung")}


def _interest(result: RepaymentResult, sections: Sections) -> list:
    """Interest on late repayment, one row per period of one rate: amount, period, days, base
    rate, rate, days of the year, interest. Each amount's interest is rounded once, over its
    periods (``ledger.rules.interest``); a row "Rundung" shows the difference to the rows'
    rounded sum, so the table adds up to the total."""
    rows = [header_row("Betrag", "Zeitraum", "Tage", "Basis-\nzinssatz", "Zinssatz\np. a.", "Tage\ndes Jahres",
                       "Zinsen", right=(0, 2, 3, 4, 5, 6))]
    shown = ZERO
    for item in result.interest:
        for period in item.periods:
            amount = round_half_up(period.interest)
            shown += amount
            base = percent_points(period.base_rate) + ("" if period.base_rate_checked else " *")
            rows.append([eur(item.principal), f"{num_date(period.start)} – {num_date(period.end)}", str(period.days),
                         base, percent_points(period.applied_rate), str(period.year_days), eur(amount)])
    spans = ()
    if shown != result.late_interest:
        rows.append(["Rundung (die Zinsen eines Betrags werden einmal, über alle Zeiträume, auf volle Cent gerundet)",
                     "", "", "", "", "", eur(result.late_interest - shown)])
        spans = (("SPAN", (0, -2), (5, -2)), ("ALIGN", (0, -2), (0, -2), "LEFT"))
    rows.append(["Verzugszinsen insgesamt", "", "", "", "", "", eur(result.late_interest)])
    table = ruled_table(rows, [28 * mm, 40 * mm, 12 * mm, 20 * mm, 20 * mm, 20 * mm, 30 * mm],
                        amount_cols=(0, 2, 3, 4, 5, 6), total_rows=1, label_cols=6, repeat=True, commands=spans)
    note = ("Zinsen nach § 49a Abs. 3 VwVfG NRW (Basiszinssatz nach § 247 BGB zuzüglich des Aufschlags "
            "laut Regelwerk), tagegenau ab dem Tag nach der Fälligkeit bis zum Zahlungstag: Betrag × Zinssatz × "
            "Tage ÷ Tage des Jahres.")
    if result.interest_as_of:
        note += f" Offene Beträge verzinst bis {num_date(result.interest_as_of)}."
    unchecked = sorted({p.start for i in result.interest for p in i.periods if not p.base_rate_checked})
    if unchecked:
        note += (" * Der verwendete Basiszinssatz ist noch nicht mit der Veröffentlichung der Deutschen Bundesbank "
                 f"abgeglichen (Zeiträume ab {', '.join(num_date(day) for day in unchecked)}); die Zinsen sind "
                 "vor der Zahlung zu prüfen.")
    return sections.long_heading("Verzugszinsen") + [table, paragraph(note, NOTE)]


def _payment(data: StatementData, sections: Sections) -> list:
    """Where, how much and under which reference to repay; the Kassenzeichen is a field to fill in
    (the Landeskasse assigns it in its payment request or the Land's notice)."""
    bank, result = data.bank, data.result
    rows = [("Zahlungsempfänger", bank.payee), ("Kreditinstitut", bank.bank), ("IBAN", iban(bank.iban)),
            ("BIC", bank.bic), ("Verwendungszweck", result.payment_reference(data.payment_reference)),
            ("Kassenzeichen", "________________________ (aus der Zahlungsaufforderung der Landeskasse oder dem "
                              "Bescheid des Landes)")]
    amounts = [("Noch zu zahlen (Rückzahlung)", eur(max(result.outstanding, ZERO)))]
    if result.late_interest:
        amounts.append(("Verzugszinsen (Abschnitt „Verzugszinsen“)", eur(result.late_interest)))
        amounts.append(("Zu überweisen insgesamt", eur(max(result.outstanding, ZERO) + result.late_interest)))
    return [KeepTogether([sections.heading("Zahlungsangaben"), details(rows), Spacer(1, 2 * mm),
                          figures(amounts, total_rows=1 if result.late_interest else 0)])]


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
            ("Buchungskette", f"{head.seq} Buchungen bis zur Erstellung dieses Verwendungsnachweises"),
            ("SHA-256 der letzten Buchung", head.entry_hash),
            *_evaluation_rows(data.result.evaluation, data),
        ]),
        paragraph("Jede Buchung enthält die Prüfsumme ihrer Vorgängerin. Stimmt die Prüfsumme der Buchung "
                  f"Nr. {head.seq} später noch mit dem obigen Wert überein und bestätigt die Prüfung der Buchungskette "
                  "(Integritätsprüfung) eine intakte Kette, sind die Bücher hinter diesem Verwendungsnachweis unverändert. Ein Bewertungslauf hält die "
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


def _category_numbers(vouchers: tuple[VoucherLine, ...], result: RepaymentResult) -> dict[str, str]:
    """The voucher list's short name of each category among ``vouchers`` ("Kat. 1", "Kat. 2", …):
    numbered in the order of the category table (``result.by_category``, the rule pack's order),
    categories not in it after them as they first appear; postings without a category have none."""
    order = {c.category: i for i, c in enumerate(result.by_category)}
    first: dict[str, tuple[int, int]] = {}
    for i, v in enumerate(vouchers):
        if v.category is not None and v.category not in first:
            first[v.category] = (order.get(v.category, len(order)), i)
    return {category: f"Kat. {number}" for number, category in enumerate(sorted(first, key=first.__getitem__), 1)}


def _voucher_row(numbers: dict[str, str], v: VoucherLine) -> list[str]:
    """A row of the voucher list: date, voucher, text, account, category (its short name from
    ``numbers``, ``_category_numbers``; the label where it has none) with classification, amount."""
    category = [one_line(line) for line in (numbers.get(v.category) or v.category_label, *_classification_lines(v))
                if line]
    return [num_date(v.date), one_line(v.voucher_number), one_line(v.text), one_line(v.account),
            "\n".join(category), eur(v.amount)]


def _voucher_column_width(vouchers: tuple[VoucherLine, ...] | list[VoucherLine]) -> float:
    """The voucher-number column's width in points: 24 mm, wider (up to 40 mm) where the longest
    voucher number needs it; beyond that its font shrinks (``whole_words``), a voucher number is
    never broken inside."""
    needed = widest_word_width([v.voucher_number for v in vouchers], CELL) + 2 * CELL_PADDING + 1
    return min(max(24 * mm, needed), 40 * mm)


def _category_key(vouchers: tuple[VoucherLine, ...], numbers: dict[str, str]) -> Table:
    """The key to the voucher list's category numbers (``_category_numbers``): number and label of
    each category, in number order."""
    labels = {}
    for v in vouchers:
        labels.setdefault(v.category, v.category_label)
    rows = [["Kat.", "Kategorie"]]
    rows += [[short, paragraph(labels[category])] for category, short in numbers.items()]
    return ruled_table(rows, [16 * mm, CONTENT_WIDTH - 16 * mm], amount_cols=(), repeat=True)


def _vouchers(vouchers: tuple[VoucherLine, ...], result: RepaymentResult, sections: Sections) -> list:
    """Chronological voucher list with each posting's classification; header repeats on every page, total at the end.

    A row names its category by number ("Kat. 3", ``_category_numbers``), the labels stand once in
    a key before the list: the rule packs' labels run to 150 characters, which in the row took five
    to eight lines and doubled the list's pages."""
    total = sum((v.amount for v in vouchers), Decimal("0"))
    voucher_width = _voucher_column_width(vouchers)
    numbers = _category_numbers(vouchers, result)
    table = LongTable(["Datum", "Beleg-Nr.", "Buchungstext", "Konto", "Kategorie", "Betrag"], vouchers,
                      partial(_voucher_row, numbers),
                      [[f"Summe ({len(vouchers)} Buchungen)", "", "", "", "", eur(total)]],
                      [18 * mm, voucher_width, 90 * mm - voucher_width, 11 * mm, 26 * mm, 25 * mm],
                      {1: whole_words([v.voucher_number for v in vouchers], voucher_width, CELL), 2: CELL,
                       3: whole_words([v.account for v in vouchers], 11 * mm, CELL), 4: CELL_SMALL}, label_cols=5)
    overrides = sections.numbers.get(_OVERRIDES_HEADING)
    categories = sections.numbers.get(_CATEGORIES_HEADING)
    legend = paragraph("Konto: Nummer im Kontenplan; Kategorie: Nummer der Kategorie (Bezeichnung in der folgenden "
                       f"Übersicht, Status in Abschnitt {categories}), darunter die Einstufung der Buchung (bei "
                       "teilweise zulässigen Buchungen mit dem zweckentsprechenden Betrag in EUR; „Abw. Nr.“: "
                       f"abweichende Einstufung, siehe Abschnitt {overrides}).", NOTE)
    page_break, heading = sections.long_heading("Belegliste (chronologisch)")
    key = [Spacer(1, 2 * mm), _category_key(vouchers, numbers)] if numbers else []
    return [page_break, KeepTogether([heading, legend, *key]), Spacer(1, 3 * mm), PagedTable(table)]


_BULLET = ParagraphStyle("Aufzählung", parent=BODY, leftIndent=5 * mm, bulletIndent=1 * mm)

#: The confirmation of the statement of use (after the model of ANBest-G NRW).
CONFIRMATION = (
    "die Inklusionspauschale nach § 2 Abs. 2 InklFöG NRW und den Hinweisen zur zweckentsprechenden Verwendung "
    "der Inklusionspauschale verwendet wurde, soweit sie oben als zweckentsprechend ausgewiesen ist,",
    "die Ausgaben notwendig waren und wirtschaftlich und sparsam verfahren worden ist,",
    "die Angaben in diesem Verwendungsnachweis mit den Büchern und Belegen übereinstimmen.",
)


def _confirmation(data: StatementData, sections: Sections) -> list:
    """The confirmation "Es wird bestätigt, dass …" and the lines for place, date, name, function
    and signature, kept together on the last page."""
    lines = [paragraph("Es wird bestätigt, dass", BODY)]
    lines += [Paragraph(escape(text), _BULLET, bulletText="–") for text in CONFIRMATION]
    blank = "_" * 38
    signature = ruled_table([
        [blank, blank],
        ["Ort, Datum", "Unterschrift"],
        ["", ""],
        [blank, blank],
        ["Name (in Druckschrift)", "Funktion / Dienststelle"],
    ], [CONTENT_WIDTH / 2, CONTENT_WIDTH / 2], amount_cols=(), header=False,
        commands=(("LINEBELOW", (0, 0), (-1, -1), 0, colors.white),
                  ("FONT", (0, 1), (-1, 1), "Helvetica", 7.5), ("FONT", (0, 4), (-1, 4), "Helvetica", 7.5),
                  ("TOPPADDING", (0, 0), (-1, 0), 10 * mm)))
    return [KeepTogether([sections.heading("Bestätigung"), *lines, Spacer(1, 2 * mm),
                          paragraph(f"Zuwendungsempfänger: {data.recipient_name}", BODY),
                          signature])]
