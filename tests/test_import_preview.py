"""The dry run an officer reads before booking: each row's outcome and classification, and the
repayment of the touched school year before and after, computed by the booking's own code."""
from datetime import date
from decimal import Decimal

from ledger.core.grants import add_grant, add_payout
from ledger.core.models import ImportBatch, JournalEntry
from ledger.core.schoolyear import SchoolYear
from ledger.workflows.import_preview import preview_import
from tests.conftest import NOW

HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"


def _preview(session, recipient, tmp_path, text: str):
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return preview_import(session, recipient, path, created_by="test", now=NOW)


def test_preview_shows_outcomes_classification_and_the_repayment_after(session, kreis, tmp_path):
    # Grant 2023/24: 100.000,00 EUR assessed and paid out; nothing spent yet, so all of it is due back.
    grant = add_grant(session, kreis, SchoolYear(2023), Decimal("100000.00"), actor="test", now=NOW)
    add_payout(session, grant, date(2023, 9, 1), Decimal("100000.00"), created_by="test", now=NOW)
    session.commit()
    text = (HEADER
            + "05.09.2023;KA-1;Eingang Inklusionspauschale;1810;4141;100.000,00;;;\n"
            + "02.11.2023;B-2;Workshop Autismus;5292;1810;1.250,00;;;\n"
            + "15.11.2023;B-3;Fall 2023-017 Schulbegleitung;5331;1810;5.000,00;;;\n")
    preview = _preview(session, kreis, tmp_path, text)
    assert preview.summary.ok and preview.summary.dry_run
    assert (preview.summary.imported, preview.summary.payouts_recognised, preview.rows_total) == (2, 1, 3)
    got = [(r.line, r.outcome, r.status, r.rule) for r in preview.rows]
    assert got == [
        (2, "payout", None, None),
        (3, "new", "permitted", "category.training"),                     # Hinweise Teil III: Qualifizierung
        (4, "new", "excluded", "category.individual_claim_sgb_viii"),     # § 35a SGB VIII: Einzelfall
    ]
    # Before: 100.000,00 unspent. After: only the permitted 1.250,00 counts as used,
    # the excluded 5.000,00 does not: 100.000,00 − 1.250,00 = 98.750,00 due back.
    (effect,) = preview.effects
    assert (effect.school_year, effect.repayment_before, effect.repayment_after, effect.error) == (
        "2023/24", Decimal("100000.00"), Decimal("98750.00"), None)
    # nothing was written
    session.rollback()
    assert session.query(JournalEntry).filter(JournalEntry.kind == "import").count() == 0
    assert session.query(ImportBatch).count() == 0


def test_preview_of_a_file_with_errors_has_only_its_summary(session, kreis, tmp_path):
    preview = _preview(session, kreis, tmp_path, HEADER + "31.13.2023;B-1;x;5292;1810;1,00;;;\n")
    assert not preview.summary.ok and preview.rows == () and preview.effects == ()


def test_duplicates_are_listed_as_such(session, kreis, tmp_path):
    text = HEADER + "02.11.2023;B-2;Workshop Autismus;5292;1810;1.250,00;;;\n"
    path = tmp_path / "first.csv"
    path.write_text(text, encoding="utf-8")
    from ledger.read.importer import import_file
    import_file(session, kreis, path, created_by="test", now=NOW)
    session.commit()
    preview = _preview(session, kreis, tmp_path, text + "03.11.2023;B-4;Supervision;5298;1810;300,00;;;\n")
    assert [(r.line, r.outcome) for r in preview.rows] == [(2, "duplicate"), (3, "new")]
