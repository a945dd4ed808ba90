"""Pools have terms: pool personnel booked outside a pool's recorded term goes to the review
queue, not silently to conform spending (issue 14; the pool's term is its master data,
"Beginn" and "Ende"). The year totals summed by the database agree with the per-posting
classification on both sides of the term's end."""
from __future__ import annotations

from decimal import Decimal as D

from ledger.core.schoolyear import SchoolYear
from ledger.reports.totals import Totals
from ledger.reports.year_totals import year_totals
from ledger.rules.evaluate import evaluate, review_queue
from ledger.workflows.masterdata import add
from tests.conftest import NOW, add_master_data, import_bytes

SY = SchoolYear(2023)
HEADER = "Buchungsdatum;Belegnummer;Buchungstext;Sollkonto;Habenkonto;Betrag;Kostenstelle;Kategorie;Schuljahr\n"


def test_pool_personnel_after_the_pools_end_waits_for_an_officer(session, kreis):
    """Pool POOL-KURZ ran 01.08.2023–31.12.2023. Personnel of 3.000,00 booked on 30.11.2023
    is conform; 2.000,00 booked on 31.01.2024 is not decided (review), whatever the totals' path."""
    add_master_data(session, kreis, pools=())
    add(session, kreis, "pool", {"Kennung": "POOL-KURZ", "Name": "Pool bis Dezember", "Träger": "Träger A",
                                 "Schulen": "100001", "Beginn": "01.08.2023", "Ende": "31.12.2023",
                                 "Finanzierungsgrundlage": "systemic", "Systemischer Anteil": ""}, actor="t", now=NOW)
    add(session, kreis, "costcentre", {"Kostenstelle": "POOL-KURZ", "Schule": "", "Pool": "POOL-KURZ",
                                       "Gemeinde": "", "Projekt": ""}, actor="t", now=NOW)
    rows = ("30.11.2023;P-1;Pool November;5291;1810;3.000,00;POOL-KURZ;;\n"
            "31.01.2024;P-2;Pool Januar;5291;1810;2.000,00;POOL-KURZ;;\n")
    assert import_bytes(session, kreis, (HEADER + rows).encode(), "pool.csv", created_by="t", now=NOW).ok
    session.commit()
    totals, _state = year_totals(session, kreis, SY)
    assert totals == Totals.of_items(evaluate(session, kreis, SY))
    assert (totals.sum("conform"), totals.sum("unclassified")) == (D("3000.00"), D("2000.00"))
    [waiting] = review_queue(session, kreis, SY)
    assert waiting.voucher_number == "P-2"
    assert "außerhalb der Laufzeit 01.08.2023 bis 31.12.2023" in waiting.classification.review
