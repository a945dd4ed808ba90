"""The notification to the ministry (Anzeige) as a German A4 letter, on the report toolkit.

``render_notification`` lays out a ``ledger.reports.notification.NotificationData`` as a letter
of one or two pages: sender (the recipient) and date, the ministry's address (from the rule
pack), the subject naming the duty (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2; Hinweise zur
zweckentsprechenden Verwendung der Inklusionspauschale, Teil II), the body with the projected
figures and the basis of the projection, the repayment per payout with its own deadline
(1 April of the budget year after the payout, § 193 BGB), the undertaking to repay to the
Landeskasse by the deadline with its bank details, and the lines for place, date, name,
function and signature.

Output is deterministic: the letter's date is ``data.as_of`` (also the PDF's creation date),
nothing reads the clock, so equal data gives equal bytes.
"""
from __future__ import annotations

from datetime import datetime, time

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

from ledger.core.money import ZERO
from ledger.reports.notification import NotificationData, NotificationTranche
from ledger.write.pdf import (
    BODY,
    CELL,
    CONTENT_WIDTH,
    NOTE,
    details,
    eur,
    figures,
    header_row,
    iban,
    long_date,
    multiline,
    num_date,
    paragraph,
    render,
    ruled_table,
)
SUBJECT = ParagraphStyle("Betreff", parent=BODY, fontName="Helvetica-Bold", fontSize=10, leading=13)
SENDER = ParagraphStyle("Absender", parent=BODY, fontSize=8.5, leading=11)
#: reportlab's frame padding (points): a table over the content width sets its cells this far in,
#: so that their text lines up with the paragraphs.
_FRAME_PADDING = 6


def subject(data: NotificationData) -> str:
    """The letter's subject: ``"Anzeige nach Teil II der Hinweise …: Inklusionspauschale,
    Schuljahr 2023/24 – voraussichtlich nicht vollständig zweckentsprechend verwendete Mittel"``
    (after the school year: "nicht vollständig zweckentsprechend verwendete Mittel")."""
    projected = "" if data.year_ended else "voraussichtlich "
    return (f"Anzeige nach {data.basis}: {data.programme_title}, Schuljahr {data.school_year} – "
            f"{projected}nicht vollständig zweckentsprechend verwendete Mittel")


def render_notification(data: NotificationData) -> bytes:
    """Render the notification as PDF bytes (A4, German).

    Args:
        data: the notification's content (EUR as ``Decimal``, dates as ``date``); ``data.as_of``
            is the letter's date and the PDF's creation date.
    Returns:
        The PDF document. Equal ``data`` gives byte-identical output.
    """
    return render(
        _story(data),
        title=subject(data),
        author=data.recipient_name,
        subject=f"Anzeige an das Ministerium, {data.programme_title}, Schuljahr {data.school_year}",
        footer=(f"{data.recipient_name} · {data.programme_title}, Schuljahr {data.school_year}",
                f"Anzeige vom {num_date(data.as_of)}"),
        created_at=datetime.combine(data.as_of, time()),
    )


def _story(data: NotificationData) -> list:
    """Head, subject, body, figures, tranches, repayment, closing and signature lines."""
    return [*_head(data), Spacer(1, 8 * mm), paragraph(subject(data), SUBJECT), Spacer(1, 5 * mm),
            *_body(data), *_tranches(data), *_repayment(data), *_closing(data)]


def _head(data: NotificationData) -> list:
    """Sender (the recipient) and date on one line, the addressee below."""
    sender = multiline(data.recipient_name, data.recipient_kind, style=SENDER)
    dated = paragraph(f"Datum: {long_date(data.as_of)}", SENDER)
    top = Table([[sender, dated]], colWidths=[CONTENT_WIDTH - 55 * mm, 55 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), _FRAME_PADDING),
                             ("RIGHTPADDING", (0, 0), (-1, -1), _FRAME_PADDING), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return [top, Spacer(1, 8 * mm), multiline(*data.addressee, style=BODY)]


def _basis_text(data: NotificationData) -> str:
    """What the figures rest on: booked until ``as_of`` plus open commitments, or the actuals."""
    rules = f"beurteilt nach den „{data.rule_pack_title}“ (Fassung {data.rule_pack_version})"
    if data.year_ended:
        return (f"Das Schuljahr endete am {num_date(data.school_year_end)}. Grundlage sind die bis zum "
                f"{num_date(data.as_of)} gebuchten Einnahmen und Ausgaben des Schuljahres, {rules}; offene "
                "Verpflichtungen bestehen nicht mehr.")
    commitments = (f"die offenen Verpflichtungen aus {len(data.open_commitments)} laufenden "
                   f"{'Vertrag' if len(data.open_commitments) == 1 else 'Verträgen'} bis zum Ende des Schuljahres "
                   f"am {num_date(data.school_year_end)}" if data.open_commitments
                   else f"keine offenen Verpflichtungen bis zum Ende des Schuljahres am {num_date(data.school_year_end)}")
    return (f"Grundlage der Prognose sind die bis zum {num_date(data.as_of)} gebuchten Einnahmen und Ausgaben und "
            f"{commitments}, {rules}.")


def _body(data: NotificationData) -> list:
    """Salutation, the notification itself, its basis and the figures."""
    if data.year_ended:
        used, amount = "nicht vollständig zweckentsprechend verwendet wurde", "Nicht zweckentsprechend verwendet wurden"
    else:
        used = "voraussichtlich nicht vollständig zweckentsprechend verwendet werden kann"
        amount = "Voraussichtlich nicht zweckentsprechend verwendet werden"
    opening = (f"hiermit zeigen wir an, dass die {data.programme_title} für das Schuljahr {data.school_year} "
               f"{used}. {amount} {eur(data.projected_repayment)}.")
    basis_label = ("Zuwendung (festgesetzt; Auszahlungen stehen noch aus)" if data.grant_basis_source == "assessed"
                   else "Erhaltene Zuwendung")
    payouts = ", ".join(f"{num_date(day)}: {eur(amount)}" for day, amount in data.payouts) or "keine"
    rows = [
        ("Festgesetzte Zuwendung", eur(data.grant_assessed)),
        (f"Auszahlungen ({payouts})", eur(data.grant_received)),
        (f"Zweckentsprechende Ausgaben, gebucht bis {num_date(data.as_of)}", eur(data.permitted_booked)),
    ]
    if not data.year_ended:
        rows.append((f"Offene Verpflichtungen bis {num_date(data.school_year_end)}", eur(data.committed)))
    rows.append((f"{'Zweckentsprechende' if data.year_ended else 'Voraussichtlich zweckentsprechende'} "
                 "Ausgaben im Schuljahr", eur(data.projected_permitted)))
    for label, amount in (("Nicht zweckentsprechend: ausgeschlossene Zwecke", data.projected_excluded),
                          ("Nicht zweckentsprechend: Overhead über der Obergrenze", data.overhead_excess),
                          ("Noch nicht eingestufte Ausgaben (bis zur Einstufung nicht zweckentsprechend)",
                           data.unclassified)):
        if amount:
            rows.append((label, eur(amount)))
    rows += [(basis_label, eur(data.grant_basis)),
             (f"{'Z' if data.year_ended else 'Voraussichtlich z'}urückzuzahlen", eur(data.projected_repayment))]
    return [paragraph("Sehr geehrte Damen und Herren,", BODY), Spacer(1, 3 * mm),
            paragraph(opening, BODY), Spacer(1, 2 * mm), paragraph(_basis_text(data), BODY), Spacer(1, 3 * mm),
            figures(rows, total_rows=1)]


def _due_text(t: NotificationTranche) -> str:
    """``"02.04.2024 (1. April: Ostermontag, gesetzlicher Feiertag; § 193 BGB)"``, or the rule for
    payouts still outstanding."""
    if t.due_date is None:
        return "1. April des auf die Auszahlung folgenden Haushaltsjahres"
    if t.shift_reason:
        return f"{num_date(t.due_date)} ({num_date(t.nominal_due_date)}: {t.shift_reason}; § 193 BGB)"
    return num_date(t.due_date)


def _tranches(data: NotificationData) -> list:
    """The repayment by payout, each with its own deadline."""
    repaid = any(t.repaid for t in data.tranches)
    head = ["Auszahlung", "Betrag", "davon\nzurückzuzahlen", *(["bereits\ngezahlt", "offen"] if repaid else []),
            "zurückzuzahlen bis"]
    amounts = (1, 2, 3, 4) if repaid else (1, 2)
    rows = [header_row(*head, right=amounts)]
    for t in data.tranches:
        rows.append([
            "noch ausstehend" if t.payout_date is None else f"vom {num_date(t.payout_date)}",
            "–" if t.payout is None else eur(t.payout), eur(t.repayment),
            *([eur(t.repaid), eur(t.outstanding)] if repaid else []),
            paragraph(_due_text(t), CELL)])
    widths = ([28 * mm, 27 * mm, 27 * mm, 24 * mm, 24 * mm] if repaid else [32 * mm, 32 * mm, 32 * mm])
    widths.append(CONTENT_WIDTH - sum(widths))
    return [Spacer(1, 4 * mm), KeepTogether([
        paragraph("Rückzahlung nach Auszahlungen", SUBJECT), Spacer(1, 1.5 * mm),
        ruled_table(rows, widths, amount_cols=amounts),
        paragraph("Jede Auszahlung hat ihre eigene Frist: bis zum 1. April des auf die Auszahlung folgenden "
                  "Haushaltsjahres (Vereinbarung Rhein-Sieg-Kreis, § 4 Abs. 2; Hinweise zur zweckentsprechenden "
                  "Verwendung der Inklusionspauschale, Teil II), auf den nächsten Werktag verschoben nach § 193 BGB. "
                  "Die Ausgaben verbrauchen die Auszahlungen in ihrer Reihenfolge; der nicht verwendete Rest gehört "
                  "zu den letzten.", NOTE)])]


def _repayment(data: NotificationData) -> list:
    """The undertaking to repay by the deadline to the Landeskasse, with its bank details."""
    kasse = data.landeskasse
    dated = [t for t in data.tranches if t.outstanding > 0 and t.due_date is not None]
    if len(dated) == 1 and dated[0].outstanding == data.outstanding:
        when = f"spätestens bis zum {long_date(dated[0].due_date)}"
    else:
        when = "jeweils spätestens bis zu der oben genannten Frist der Auszahlung"
    repaid = sum((t.repaid for t in data.tranches), ZERO)
    already = f" ({eur(repaid)} sind bereits gezahlt)" if repaid else ""
    text = (f"Wir werden den Betrag von {eur(data.outstanding)}{already} {when} ohne gesonderte Aufforderung an "
            f"die {kasse.payee} zurückzahlen:")
    return [Spacer(1, 4 * mm), KeepTogether([
        paragraph(text, BODY), Spacer(1, 2 * mm),
        details([("Zahlungsempfänger", kasse.payee), ("Kreditinstitut", kasse.bank), ("IBAN", iban(kasse.iban)),
                 ("BIC", kasse.bic), ("Verwendungszweck", data.payment_reference)])])]


def _closing(data: NotificationData) -> list:
    """The proviso of the projection, the greeting and the signature lines."""
    proviso = ("Der Verwendungsnachweis folgt; ergibt sie einen anderen Betrag, teilen wir "
               "dies mit." if data.year_ended else
               "Die Angaben beruhen auf einer Prognose. Der Verwendungsnachweis folgt nach "
               "dem Ende des Schuljahres; ergibt sie einen anderen Betrag, teilen wir dies mit.")
    lines = Table([["", "", ""], ["Ort, Datum", "", "Unterschrift"], ["", "", ""], ["Name", "", "Funktion"]],
                  colWidths=[75 * mm, CONTENT_WIDTH - 150 * mm, 75 * mm], rowHeights=[14 * mm, None, 12 * mm, None])
    lines.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("LINEBELOW", (0, 0), (0, 0), 0.5, "black"), ("LINEBELOW", (2, 0), (2, 0), 0.5, "black"),
        ("LINEBELOW", (0, 2), (0, 2), 0.5, "black"), ("LINEBELOW", (2, 2), (2, 2), 0.5, "black"),
        ("LEFTPADDING", (0, 0), (-1, -1), _FRAME_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), _FRAME_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
    ]))
    return [Spacer(1, 4 * mm), KeepTogether([
        paragraph(proviso, BODY), Spacer(1, 4 * mm), paragraph("Mit freundlichen Grüßen", BODY),
        paragraph(data.recipient_name, BODY), lines])]
