"""The default chart of accounts created with every recipient.

Follows the account classes of the NKF Kontenrahmen NRW: 1 Finanzmittel, 3
Verbindlichkeiten, 4 Erträge, 5 Aufwendungen. Expense accounts carry a default
rule-pack category (``rules/*.toml``); an import may name another per row.
"""
from __future__ import annotations

from typing import NamedTuple


class ChartAccount(NamedTuple):
    """One account of the default chart: number, German name, type, default category, role."""

    number: str
    name: str
    type: str
    category: str | None = None
    role: str | None = None


DEFAULT_CHART: tuple[ChartAccount, ...] = (
    ChartAccount("1810", "Girokonto (liquide Mittel)", "asset", role="bank"),
    ChartAccount("3790", "Verbindlichkeit Rückzahlung Inklusionspauschale (Land NRW)", "liability",
                 role="repayment_liability"),
    ChartAccount("4141", "Inklusionspauschale (Zuweisung vom Land, § 2 InklFöG)", "revenue",
                 role="grant_revenue"),
    ChartAccount("4149", "Rückforderung Inklusionspauschale (Ertragsminderung)", "revenue",
                 role="repayment_charge"),
    ChartAccount("5012", "Personalaufwand Koordination systemischer Modelle (Overhead)", "expense", "overhead"),
    ChartAccount("5291", "Schulassistenz im Pool-Modell (Leistungen Dritter)", "expense", "pool_personnel"),
    ChartAccount("5292", "Qualifizierung der Schulbegleitungen", "expense", "training"),
    ChartAccount("5293", "Fallberatung und Austauschtreffen", "expense", "case_consultation"),
    ChartAccount("5294", "Planungs- und Koordinationsformate", "expense", "coordination_formats"),
    ChartAccount("5295", "Kollegiale Fallberatung", "expense", "collegial_consultation"),
    ChartAccount("5296", "Vernetzung Lehrkräfte und Schulbegleitung", "expense", "networking"),
    ChartAccount("5297", "Externe Expertise Inklusionskonzepte", "expense", "external_experts"),
    ChartAccount("5298", "Prozessbegleitende Supervision", "expense", "supervision"),
    ChartAccount("5299", "Sonstige Sach- und Dienstleistungen", "expense"),
    ChartAccount("5314", "Weiterleitung an kreisangehörige Gemeinden", "expense", "pass_through"),
    ChartAccount("5331", "Eingliederungshilfe § 35a SGB VIII (Einzelfall)", "expense", "individual_claim_sgb_viii"),
    ChartAccount("5332", "Eingliederungshilfe § 112 SGB IX (Einzelfall)", "expense", "individual_claim_sgb_ix"),
    ChartAccount("5431", "Informationsbroschüren", "expense", "brochures"),
)
