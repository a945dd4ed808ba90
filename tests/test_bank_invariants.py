"""Bank statements imported in any order, overlapping, again and again: every entry is booked
exactly once, and the bank account moves by exactly the sum of the distinct entries
(hypothesis, on SQLite and PostgreSQL). The statements are built from the hand-written sample
statement 49 (tests/samples/camt053/zip/), one entry block per generated entry."""
import re
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.core.bank import set_account_iban
from ledger.core.models import Account, JournalEntry, Posting
from ledger.core.recipients import add_recipient
from ledger.read.importer import ImportSummary
from ledger.read.profiles import load_profile
from tests.conftest import NOW, import_bytes

TEMPLATE = (Path(__file__).parent / "samples" / "camt053" / "zip"
            / "2024-12-05_C53_DE89370502990000123456_EUR_000049.xml").read_text(encoding="utf-8")
_START, _END = TEMPLATE.index("      <Ntry>"), TEMPLATE.index("    </Stmt>")
HEAD, ENTRY, TAIL = TEMPLATE[:_START], TEMPLATE[_START:_END], TEMPLATE[_END:]
OPENING = 45_019_569   # PRCD of the sample, cents

entries = st.lists(st.tuples(st.integers(0, 6), st.integers(1, 5_000_000), st.booleans()),
                   min_size=1, max_size=12)


def _amount(cents: int) -> str:
    return f"{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _entry(number: int, day_offset: int, cents: int, credit: bool) -> str:
    day = (date(2024, 12, 2) + timedelta(days=day_offset)).isoformat()
    block = ENTRY.replace("5000.00", _amount(cents)).replace("2024-12-04", day)
    block = block.replace("2024120404711008", f"INV{number:013d}").replace("TH-2024-SB-118", f"E2E-{number}")
    if not credit:
        block = block.replace("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>DBIT</CdtDbtInd>")
    return block


def statement(generated: list[tuple[int, int, int, bool]], number: int) -> bytes:
    """A statement of the ``generated`` entries (their number, day, cents, credit) with matching balances."""
    closing = OPENING + sum(c if credit else -c for _n, _d, c, credit in generated)
    head = HEAD.replace("C53-2024-0049", f"C53-2024-{number:04d}")
    tail = TAIL
    body = "".join(_entry(n, d, c, credit) for n, d, c, credit in generated)
    text = head + body + tail
    text = re.sub(r"(<Cd>CLBD</Cd>\s*</CdOrPrtry>\s*</Tp>\s*<Amt Ccy=\"EUR\">)[0-9.]+(</Amt>\s*<CdtDbtInd>)CRDT",
                  lambda m: m.group(1) + _amount(closing) + m.group(2) + ("CRDT" if closing >= 0 else "DBIT"), text)
    return text.encode("utf-8")


PROFILE = '[profile]\ntitle = "Alles auf 5299"\nformat = "camt053"\n[defaults]\ncounter_account = "5299"\n'


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=entries, cut=st.integers(0, 12), overlap=st.integers(0, 12), order=st.permutations(range(4)))
def test_every_entry_is_booked_once_whatever_the_order_and_overlap(session, tmp_path_factory, generated, cut,
                                                                      overlap, order):
    key = f"k{abs(hash((tuple(generated), cut, overlap, tuple(order)))) % 10**12}"
    kreis = add_recipient(session, key, "Kreis Testland", "kreis", actor="t", now=NOW)
    session.execute(sa.update(Account).where(Account.iban == "DE89370502990000123456").values(iban=None))
    set_account_iban(session, kreis, "1810", "DE89370502990000123456", actor="t", now=NOW)
    session.commit()
    folder = tmp_path_factory.mktemp("profile")
    (folder / "alles.toml").write_text(PROFILE, encoding="utf-8")
    profile = load_profile(folder / "alles.toml")
    numbered = [(n, d, c, credit) for n, (d, c, credit) in enumerate(generated)]
    cut = min(cut, len(numbered))
    first = numbered[:cut] or numbered[:1]
    second = numbered[max(cut - overlap, 0):] or numbered[-1:]
    files = [statement(first, 1), statement(second, 2)]
    for step in order:   # each statement twice, in a random order
        summary: ImportSummary = import_bytes(session, kreis, files[step % 2], "auszug.xml", created_by="t", now=NOW,
                                              profile=profile)
        assert summary.ok, summary.errors
        session.commit()
    distinct = {n: (c if credit else -c) for n, _d, c, credit in first + second}
    booked = session.scalars(sa.select(JournalEntry).where(JournalEntry.recipient_id == kreis.id,
                                                           JournalEntry.kind == "import")).all()
    assert len(booked) == len(distinct)
    bank = session.scalar(sa.select(sa.func.sum(Posting.amount_cents)).join(Account).where(
        Account.recipient_id == kreis.id, Account.number == "1810"))
    assert bank == sum(distinct.values())
