"""The statement of an allocation plan's claims as PDF (German, A4): for one recipient (a city)
or for the grantor (the Kreis, all recipients with a total row).

It shows per recipient the ceiling, claimed, accepted, refused (with each refusal's reason),
paid, and what is left with the grantor (unclaimed money stays there: Rahmenbedingungen Nr. 4.4),
then the commitment (Mittelbindung): committed, consumed by accepted claims, released, still
bound. Figures come from ``ledger.reports.allocation`` (``claims_overview``).

The statement of a Kreis's pass-through plan (:func:`render_pass_through_statement`) uses the same
machinery: shares, claims and refusals (``ledger.reports.pass_through``).
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from ledger.core.models import PassThroughClaim
from ledger.core.money import from_cents
from ledger.reports.allocation import Allocation, RecipientClaims
from ledger.reports.pass_through import ShareClaims
from ledger.rules.pass_through_plan import PassThroughPlan
from ledger.write.pdf import (
    BODY,
    CONTENT_WIDTH,
    HEADING,
    TITLE,
    details,
    eur,
    header_row,
    num_date,
    paragraph,
    render,
    ruled_table,
)

_COLUMNS = ("Empfänger", "Höchstbetrag", "beantragt", "anerkannt", "abgelehnt", "ausgezahlt", "Rest beim Mittelgeber")


def _paid(entry: RecipientClaims, paid_claims: set[int]) -> Decimal:
    """EUR paid of ``entry``'s claims (those whose id is in ``paid_claims``)."""
    return from_cents(sum(claim.accepted_cents for claim in entry.claims if claim.id in paid_claims))


def _commitment_table(overview: list[RecipientClaims], whole: bool) -> list:
    """The story of the commitment section: per recipient committed, consumed (accepted while
    committed), released, still bound; a total row for the grantor's statement."""
    story = [Spacer(1, 5 * mm), paragraph("Mittelbindung", HEADING)]
    if not any(entry.committed for entry in overview):
        return story + [paragraph("Die Mittel des Plans sind nicht gebunden.", BODY)]
    rows = [header_row("Empfänger", "gebunden", "in Anspruch genommen", "freigegeben", "noch gebunden",
                       right=(1, 2, 3, 4))]
    totals = [Decimal(0)] * 4
    for entry in overview:
        values = [entry.committed, entry.accepted, entry.released, entry.committed - entry.accepted - entry.released]
        totals = [a + b for a, b in zip(totals, values)]
        rows.append([paragraph(entry.name), *(eur(v) for v in values)])
    if whole:
        rows.append(["Summe", *(eur(v) for v in totals)])
    width = (CONTENT_WIDTH - 40 * mm) / 4
    return story + [ruled_table(rows, [40 * mm, *[width] * 4], amount_cols=(1, 2, 3, 4),
                                total_rows=1 if whole else 0)]


def render_claims_statement(allocation: Allocation, overview: list[RecipientClaims], paid_claims: set[int],
                            *, as_of: date, grantor_name: str) -> bytes:
    """The statement as PDF bytes.

    Args:
        allocation: the computed plan (``compute_allocation``).
        overview: the recipients to show (``claims_overview``): one for a city's statement,
            all for the grantor's (with a total row).
        paid_claims: ids of the claims whose accepted amount was paid.
        as_of: the statement's date (and the PDF's creation date).
        grantor_name: the grantor as the statement names it.
    Returns:
        The PDF; equal arguments give byte-identical output.
    """
    plan = allocation.plan
    whole = len(overview) > 1
    who = grantor_name if whole else overview[0].name
    title = f"Abrechnung der Mittelabrufe: {plan.title}" + ("" if whole else f", {who}")
    story = [paragraph(title, TITLE), Spacer(1, 4 * mm), details([
        ("Mittelgeber", grantor_name), ("Empfänger", "alle Empfänger des Plans" if whole else who),
        ("Zeitraum", plan.period), ("Regelwerk", f"„{allocation.pack.title}“, Version {allocation.pack.version}"),
        ("Stand", num_date(as_of)),
    ]), Spacer(1, 5 * mm), paragraph("Höchstbeträge und Abrufe", HEADING)]
    rows = [header_row(*_COLUMNS, right=(1, 2, 3, 4, 5, 6))]
    totals = [Decimal(0)] * 6
    for entry in overview:
        claimed = from_cents(sum(c.claimed_cents for c in entry.claims))
        refused = from_cents(sum(c.refused_cents for c in entry.claims))
        values = [entry.ceiling, claimed, entry.accepted, refused, _paid(entry, paid_claims), entry.rest]
        totals = [a + b for a, b in zip(totals, values)]
        rows.append([paragraph(entry.name), *(eur(v) for v in values)])
    if whole:
        rows.append(["Summe", *(eur(v) for v in totals)])
    width = (CONTENT_WIDTH - 40 * mm) / 6
    story.append(ruled_table(rows, [40 * mm, *[width] * 6], amount_cols=(1, 2, 3, 4, 5, 6),
                             total_rows=1 if whole else 0))
    story += _commitment_table(overview, whole)
    refusals = [(entry.name, claim, line) for entry in overview for claim in entry.claims for line in claim.lines
                if line.accepted_cents < line.amount_cents]
    story += [Spacer(1, 5 * mm), paragraph("Abgelehnte Beträge und ihre Gründe", HEADING)]
    if refusals:
        lines = [header_row("Empfänger", "Abruf vom", "Pos.", "abgelehnt", "Grund", right=(2, 3))]
        for name, claim, line in refusals:
            lines.append([paragraph(name), num_date(claim.claim_date), str(line.position),
                          eur(from_cents(line.amount_cents - line.accepted_cents)), paragraph(line.reason or "")])
        story.append(ruled_table(lines, [30 * mm, 20 * mm, 10 * mm, 22 * mm, CONTENT_WIDTH - 82 * mm],
                                 amount_cols=(2, 3), repeat=True))
    else:
        story.append(paragraph("Keine.", BODY))
    story += [Spacer(1, 5 * mm), paragraph(
        "Nicht abgerufene Mittel verbleiben beim Mittelgeber; eine Weitergabe an andere Empfänger ist nicht "
        f"möglich ({allocation.pack.allocation.sources['unclaimed_source']}).", BODY)]
    return render(story, title=title, author=grantor_name, subject=f"Mittelabrufe {plan.period}",
                  footer=(f"{grantor_name} · {plan.title}", f"Stand {num_date(as_of)}"),
                  created_at=datetime.combine(as_of, time()))


def render_pass_through_statement(plan: PassThroughPlan, rows: list[ShareClaims], claims: list[PassThroughClaim],
                                  *, as_of: date, grantor_name: str) -> bytes:
    """The statement of a Kreis's pass-through plan as PDF bytes (German, A4): the plan's
    details, each municipality's pupils, share, claimed, passed through, refused and rest with a
    sum row, then every claim with the reason of any refusal (Hinweise zur Inklusionspauschale,
    Teil II). ``rows``: ``ledger.reports.pass_through.pass_through_overview``; ``claims``:
    ``plan_claims``; ``as_of``: the statement's date. Equal arguments give byte-identical output."""
    title = f"Abrechnung der Weiterleitung: {plan.title}"
    story = [paragraph(title, TITLE), Spacer(1, 4 * mm), details([
        ("Kreis", grantor_name), ("Schuljahr", str(plan.school_year)),
        ("Betrag der Weiterleitung", eur(plan.amount)),
        ("Verteilungsschlüssel", "Anteile nach Schülerzahlen, Restcents nach größten Resten"),
        ("Abruffrist", f"{num_date(plan.claims_from)} bis {num_date(plan.claims_until)}"),
        ("Grundlage", plan.source), ("Stand", num_date(as_of)),
    ]), Spacer(1, 5 * mm), paragraph("Anteile und Abrufe", HEADING)]
    table = [header_row("Gemeinde", "Schüler", "Anteil", "beantragt", "weitergeleitet", "abgelehnt", "Rest beim Kreis",
                        right=(1, 2, 3, 4, 5, 6))]
    totals = [Decimal(0)] * 5
    for item in rows:
        values = [item.row.share, item.claimed, item.accepted, item.refused, item.rest]
        totals = [a + b for a, b in zip(totals, values)]
        table.append([paragraph(item.row.name), f"{item.row.pupils:,}".replace(",", "."), *(eur(v) for v in values)])
    table.append(["Summe", f"{sum(item.row.pupils for item in rows):,}".replace(",", "."), *(eur(v) for v in totals)])
    width = (CONTENT_WIDTH - 40 * mm - 18 * mm) / 5
    story.append(ruled_table(table, [40 * mm, 18 * mm, *[width] * 5], amount_cols=(1, 2, 3, 4, 5, 6), total_rows=1))
    story += [Spacer(1, 5 * mm), paragraph("Mittelabrufe", HEADING)]
    if claims:
        lines = [header_row("Gemeinde", "Abruf vom", "beantragt", "weitergeleitet", "Grund einer Ablehnung",
                            right=(2, 3))]
        for claim in claims:
            lines.append([paragraph(claim.municipality.name), num_date(claim.claim_date),
                          eur(from_cents(claim.claimed_cents)), eur(from_cents(claim.accepted_cents)),
                          paragraph(claim.reason or "–")])
        story.append(ruled_table(lines, [32 * mm, 20 * mm, 24 * mm, 24 * mm, CONTENT_WIDTH - 100 * mm],
                                 amount_cols=(2, 3), repeat=True))
    else:
        story.append(paragraph("Keine.", BODY))
    story += [Spacer(1, 5 * mm), paragraph(
        "Nicht abgerufene Anteile verbleiben beim Kreis und gehen an keine andere Gemeinde; weitergeleitet wird nur an "
        "Gemeinden, die Schulen des Gemeinsamen Lernens tragen und deren zweckentsprechende Projekte der Kreis "
        "geprüft hat (Hinweise zur Inklusionspauschale, Teil II).", BODY)]
    return render(story, title=title, author=grantor_name, subject=f"Weiterleitung {plan.school_year}",
                  footer=(f"{grantor_name} · {plan.title}", f"Stand {num_date(as_of)}"),
                  created_at=datetime.combine(as_of, time()))
