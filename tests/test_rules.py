"""Rule packs: the shipped packs (seed 002_17056edfca8550ce.txt) and validation of broken ones."""
from __future__ import annotations

import re
import shutil
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.core.grants import INKLUSIONSPAUSCHALE
from ledger.core.schoolyear import SchoolYear
from ledger.rules.packs import (
    CATEGORY_STATUSES,
    RULES_DIR,
    RulePackError,
    load_pack,
    load_packs,
    pack_for,
)

HINWEISE = RULES_DIR / "inklfoeg-nrw-hinweise.toml"
GESETZ = RULES_DIR / "inklfoeg-nrw-gesetz.toml"

CATEGORY_IDS = (
    "pool_personnel",
    "training",
    "case_consultation",
    "coordination_formats",
    "collegial_consultation",
    "networking",
    "overhead",
    "brochures",
    "external_experts",
    "supervision",
    "pass_through",
    "individual_claim_sgb_viii",
    "individual_claim_sgb_ix",
    "teaching_staff",
    "general_budget",
)
EXCLUDED = {"individual_claim_sgb_viii", "individual_claim_sgb_ix", "teaching_staff", "general_budget"}


@pytest.fixture(scope="module")
def packs():
    return load_packs()


@pytest.fixture(scope="module")
def hinweise():
    return load_pack(HINWEISE)


@pytest.fixture(scope="module")
def gesetz():
    return load_pack(GESETZ)


def test_shipped_packs_load_sorted_by_validity(packs):
    # the Kreis Mettmann allocation pack (its own programme, 2013/14) sorts first
    assert [p.id for p in packs] == ["kreis-mettmann-inklusionshilfe", "inklfoeg-nrw-gesetz", "inklfoeg-nrw-hinweise",
                                     "traegerbudget-bremerhaven"]
    assert packs[0].programme == "kreis_mettmann_schulbegleitung"
    packs = packs[1:]
    assert packs[0].valid_from == SchoolYear(2014) and packs[0].valid_until == SchoolYear(2020)
    assert packs[1].valid_from == SchoolYear(2021) and packs[1].valid_until is None
    assert packs[2].programme == "traegerbudget" and packs[2].landeskasse is None and packs[2].budget is not None


@pytest.mark.parametrize("path", [HINWEISE, GESETZ])
def test_categories_ids_order_and_sources(path):
    pack = load_pack(path)
    assert tuple(c.id for c in pack.categories) == CATEGORY_IDS
    for category in pack.categories:
        assert category.status in CATEGORY_STATUSES
        assert category.label and "zweckentsprechenden Verwendung der Inklusionspauschale" in category.source
        expected = "excluded" if category.id in EXCLUDED else "permitted"
        if category.id != "overhead":
            assert category.status == expected, category.id
    assert pack.programme == INKLUSIONSPAUSCHALE and pack.programme_title == "Inklusionspauschale"


SEED_FILE = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")


def _strings(value):
    """Every string value of a parsed TOML document, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", sorted(RULES_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_pack_texts_cite_documents_not_files(path):
    """Users see the packs' texts (sources, labels, legal basis): they cite documents by title and
    section, never a seed file name, DOMAIN.md or "Seed" (comments may name files for developers)."""
    texts = list(_strings(tomllib.loads(path.read_text(encoding="utf-8"))))
    assert texts
    for text in texts:
        assert not SEED_FILE.search(text), text
        assert "DOMAIN.md" not in text and "Seed" not in text, text


def test_overhead_status_differs_between_packs(hinweise, gesetz):
    assert hinweise.category("overhead").status == "capped"
    assert gesetz.category("overhead").status == "permitted"
    assert gesetz.overhead is None
    assert hinweise.overhead.category == "overhead"
    assert hinweise.overhead.base_categories == ("pool_personnel",)
    assert hinweise.overhead.rate == Decimal("0.15")
    assert "Teil IV" in hinweise.overhead.source


@pytest.mark.parametrize(
    ("base", "cap"),
    [
        ("100000.00", "15000.00"),
        ("10000.03", "1500.00"),  # 1500.0045 → 1500.00
        ("10000.10", "1500.02"),  # 1500.015 → 1500.02 (half up, not half even)
        ("0.00", "0.00"),
    ],
)
def test_overhead_cap_rounds_half_up(hinweise, base, cap):
    result = hinweise.overhead.cap(Decimal(base))
    assert result == Decimal(cap)
    assert str(result) == cap


def test_deadline_and_landeskasse(hinweise, gesetz):
    """1 April of the budget year after the payout, from 2021/22 on (Vereinbarung § 4 Abs. 1
    and 2); the statute's years have no automatic deadline (only an agreement or a notice)."""
    d = hinweise.deadline
    assert (d.month, d.day, d.years_after_payout) == (4, 1, 1)
    assert d.shift == "next_working_day"
    for pack in (hinweise, gesetz):  # § 193 BGB: the holidays at the Landeskasse Düsseldorf, also without a deadline
        assert (pack.holidays.country, pack.holidays.subdivision) == ("DE", "NW") and "§ 193 BGB" in pack.holidays.source
    assert d.calendar is hinweise.holidays
    assert gesetz.deadline is None
    for pack in (hinweise, gesetz):
        kasse = pack.landeskasse
        assert kasse.payee == "Landeskasse Düsseldorf"
        assert kasse.iban == "DE59 3005 0000 0001 6835 15"
        assert kasse.bic == "WELADEDD"
    reference = hinweise.landeskasse.reference_for(SchoolYear(2020), "Rhein-Sieg-Kreis", "rsk")
    assert reference == "Rückzahlung Inklusionspauschale 2020/21 Rhein-Sieg-Kreis"


def test_category_lookup(hinweise):
    assert hinweise.has_category("pass_through")
    assert not hinweise.has_category("nope")
    assert hinweise.category("teaching_staff").status == "excluded"
    with pytest.raises(KeyError, match="nope"):
        hinweise.category("nope")


@pytest.mark.parametrize(
    ("year", "pack_id"),
    [
        (SchoolYear(2021), "inklfoeg-nrw-hinweise"),
        (SchoolYear(2030), "inklfoeg-nrw-hinweise"),
        (SchoolYear(2020), "inklfoeg-nrw-gesetz"),
        (SchoolYear(2014), "inklfoeg-nrw-gesetz"),
    ],
)
def test_pack_for(packs, year, pack_id):
    assert pack_for(INKLUSIONSPAUSCHALE, year, packs).id == pack_id
    assert pack_for(INKLUSIONSPAUSCHALE, year).id == pack_id


def test_pack_for_before_the_law_raises(packs):
    with pytest.raises(RulePackError, match="2013/14"):
        pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2013), packs)


# --- broken packs ----------------------------------------------------------------------


def write_variant(tmp_path: Path, old: str, new: str, name: str = "broken.toml") -> Path:
    """The Hinweise pack with the first ``old`` replaced by ``new``, written to tmp_path."""
    text = HINWEISE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('programme = "inklusionspauschale"\n', "", "pack.programme"),  # missing key
        ("shift = ", "extra = 1\nshift = ", "deadline.extra"),  # unknown key
        ('status = "permitted"', 'status = "allowed"', "categories[0].status"),
        ('rate = "0.15"', "rate = 0.15", "overhead.rate"),  # a TOML float
        ('rate = "0.15"', 'rate = "1.5"', "overhead.rate"),
        ('rounding = "half_up"', 'rounding = "half_even"', "overhead.rounding"),
        ("DE59 3005", "DE58 3005", "landeskasse.iban"),  # wrong check digits
        ('bic = "WELADEDD"', 'bic = "WELA"', "landeskasse.bic"),
        ('category = "overhead"', 'category = "overheads"', "overhead.category"),
        ('["pool_personnel"]', '["pool_personnel", "nope"]', "overhead.base_categories[1]"),
        ('status = "capped"', 'status = "permitted"', "overhead.category"),
        ('id = "training"', 'id = "pool_personnel"', "categories[1].id"),  # duplicate id
        ('id = "training"', 'id = "Training"', "categories[1].id"),
        ("month = 4\nday = 1\n", "month = 2\nday = 29\n", "deadline.day"),  # not in every year
        ('subdivision = "NW"', 'subdivision = "XX"', "holidays.subdivision"),
        ('[holidays]\n', '[feiertage]\n', "holidays"),
        ('valid_from = "2021/22"', 'valid_from = "2021/23"', "pack.valid_from"),
        ('valid_until = ""', 'valid_until = "2020/21"', "pack.valid_until"),
        ('valid_from = "2021/22"', 'valid_from = ""', "pack.valid_from"),
        ('payee = "Landeskasse Düsseldorf"', 'payee = ""', "landeskasse.payee"),
        ("{recipient_name}", "{name}", "landeskasse.payment_reference"),
        ('programme = "inklusionspauschale"', 'programme = "Inklusionspauschale"', "pack.programme"),  # not an id
        ('programme_title = "Inklusionspauschale"\n', "", "pack.programme_title"),
        ('kind = "pass_through"', 'kind = "weiterleitung"', "categories[10].kind"),
        ('status = "permitted"', 'status = "excluded"', "categories[0].kind"),  # a kind needs "permitted"
        ('addressee = ["Ministerium für Schule und Bildung", "des Landes Nordrhein-Westfalen", '
         '"Völklinger Straße 49", "40221 Düsseldorf"]', 'addressee = ["Ministerium"]', "notification.addressee"),
    ],
)
def test_broken_pack_names_file_and_key(tmp_path, old, new, key):
    path = write_variant(tmp_path, old, new)
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    error = info.value
    assert error.file == str(path)
    assert error.key == key
    assert key in error.errors
    assert str(error).startswith(f"{path}: {key}: ")


def _error_without_table(tmp_path, table: str, following: str) -> RulePackError:
    """The error of the Hinweise pack without its ``table`` (up to the table ``following``)."""
    text = HINWEISE.read_text(encoding="utf-8")
    start, end = text.index(f"[{table}]"), text.index(f"[{following}]")
    path = tmp_path / f"no-{table}.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    return info.value


def test_missing_overhead_table_with_capped_category(tmp_path):
    assert _error_without_table(tmp_path, "overhead", "deadline").key == "overhead"


def test_notification_addressee_and_its_place(hinweise, gesetz, tmp_path):
    """Whom to notify before repaying (Vereinbarung § 4 Abs. 2, Hinweise Teil II): the ministry as
    the Vereinbarung names it; not in the statute's years, and never in a pack without a deadline."""
    assert hinweise.notification.addressee == ("Ministerium für Schule und Bildung", "des Landes Nordrhein-Westfalen",
                                               "Völklinger Straße 49", "40221 Düsseldorf")
    assert hinweise.notification.basis == "Teil II der Hinweise zur zweckentsprechenden Verwendung der Inklusionspauschale"
    assert gesetz.notification is None
    assert _error_without_table(tmp_path, "deadline", "holidays").key == "notification"


def test_all_errors_are_kept(tmp_path):
    path = write_variant(tmp_path, 'rate = "0.15"', "rate = 0.15")
    path.write_text(path.read_text(encoding="utf-8").replace("DE59 3005", "DE58 3005"), encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert {"overhead.rate", "landeskasse.iban"} <= set(info.value.errors)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write_variant(tmp_path, "month = 4", "month = ")
    line = path.read_text(encoding="utf-8").splitlines().index("month = ") + 1
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert info.value.file == str(path)
    assert f"Zeile {line}" in str(info.value)
    assert str(info.value).startswith(str(path))


def test_overlapping_packs_in_directory(tmp_path):
    shutil.copy(HINWEISE, tmp_path / HINWEISE.name)
    text = GESETZ.read_text(encoding="utf-8").replace('valid_until = "2020/21"', 'valid_until = "2021/22"')
    (tmp_path / GESETZ.name).write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_packs(tmp_path)
    assert info.value.file == str(tmp_path / HINWEISE.name)
    assert info.value.key == "pack.valid_from"
    assert GESETZ.name in info.value.message


def test_repeated_pack_id_in_directory(tmp_path):
    shutil.copy(HINWEISE, tmp_path / HINWEISE.name)
    text = GESETZ.read_text(encoding="utf-8").replace('id = "inklfoeg-nrw-gesetz"', 'id = "inklfoeg-nrw-hinweise"')
    (tmp_path / GESETZ.name).write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_packs(tmp_path)
    assert info.value.key == "pack.id"


def test_pack_for_with_a_gap(tmp_path):
    shutil.copy(GESETZ, tmp_path / GESETZ.name)
    packs = load_packs(tmp_path)
    assert pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2017), packs).id == "inklfoeg-nrw-gesetz"
    with pytest.raises(RulePackError, match="2021/22"):
        pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2021), packs)


# --- programmes: packs of several funding programmes side by side ------------------------

OTHER = "kreis_zuweisung"


def other_programme(folder: Path, valid_from: str = "2021/22", pack_id: str | None = None) -> Path:
    """A pack of the programme OTHER in ``folder``: the Hinweise pack re-keyed, from ``valid_from`` on."""
    pack_id = pack_id or f"kreis-zuweisung-{valid_from[:4]}"
    text = HINWEISE.read_text(encoding="utf-8")
    for old, new in (('id = "inklfoeg-nrw-hinweise"', f'id = "{pack_id}"'),
                     ('programme = "inklusionspauschale"', f'programme = "{OTHER}"'),
                     ('programme_title = "Inklusionspauschale"', 'programme_title = "Zuweisung des Kreises"'),
                     ('valid_from = "2021/22"', f'valid_from = "{valid_from}"')):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / f"kreis-zuweisung-{valid_from[:4]}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def shipped_packs_in(folder: Path) -> Path:
    for path in (HINWEISE, GESETZ):
        shutil.copy(path, folder / path.name)
    return folder


def test_programme_key_and_title(hinweise, gesetz):
    for pack in (hinweise, gesetz):
        assert (pack.programme, pack.programme_title) == (INKLUSIONSPAUSCHALE, "Inklusionspauschale")
        assert pack.kind_of("pool_personnel") == "pool_personnel"
        assert pack.kind_of("pass_through") == "pass_through"
        assert pack.kind_of("training") is None and pack.kind_of(None) is None and pack.kind_of("nope") is None


def test_two_programmes_load_side_by_side(tmp_path):
    """Packs of two programmes may cover the same school years; pack_for picks by programme."""
    other = other_programme(shipped_packs_in(tmp_path))
    packs = load_packs(tmp_path)
    assert sorted(p.id for p in packs) == ["inklfoeg-nrw-gesetz", "inklfoeg-nrw-hinweise", "kreis-zuweisung-2021"]
    assert pack_for(INKLUSIONSPAUSCHALE, SchoolYear(2023), packs).id == "inklfoeg-nrw-hinweise"
    mine = pack_for(OTHER, SchoolYear(2023), packs)
    assert (mine.id, mine.path, mine.programme_title) == ("kreis-zuweisung-2021", other, "Zuweisung des Kreises")
    with pytest.raises(RulePackError, match="2020/21"):
        pack_for(OTHER, SchoolYear(2020), packs)


def test_overlap_within_one_programme_is_still_refused(tmp_path):
    other_programme(shipped_packs_in(tmp_path))
    later = other_programme(tmp_path, valid_from="2023/24")
    with pytest.raises(RulePackError) as info:
        load_packs(tmp_path)
    assert (info.value.file, info.value.key) == (str(later), "pack.valid_from")
    assert "kreis-zuweisung-2021.toml" in info.value.message


def test_pack_ids_are_unique_across_programmes(tmp_path):
    other_programme(shipped_packs_in(tmp_path), pack_id="inklfoeg-nrw-hinweise")
    with pytest.raises(RulePackError) as info:
        load_packs(tmp_path)
    assert info.value.key == "pack.id"


def test_pack_for_an_unknown_programme_names_it(packs):
    with pytest.raises(RulePackError, match="Förderprogramm 'kita_foerderung'.*vorhanden: inklusionspauschale"):
        pack_for("kita_foerderung", SchoolYear(2023), packs)


# --- interest on late repayment ([interest], § 49a Abs. 3 VwVfG NRW) --------------------


@pytest.mark.parametrize("path", [HINWEISE, GESETZ])
def test_interest_rule(path):
    rule = load_pack(path).interest
    assert rule.surcharge_percentage_points == Decimal("3")
    assert rule.base_rate_table == "basiszinssatz.toml"
    assert rule.base_rate_path == RULES_DIR / "basiszinssatz.toml"
    assert (rule.day_count, rule.rounding) == ("act/act", "half_up")
    assert "§ 49a Abs. 3" in rule.source


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('surcharge_percentage_points = "3"', "surcharge_percentage_points = 3", "interest.surcharge_percentage_points"),
        ('surcharge_percentage_points = "3"', 'surcharge_percentage_points = "drei"', "interest.surcharge_percentage_points"),
        ('surcharge_percentage_points = "3"', 'surcharge_percentage_points = "-3"', "interest.surcharge_percentage_points"),
        ('surcharge_percentage_points = "3"', 'surcharge_percentage_points = "300"', "interest.surcharge_percentage_points"),
        ('base_rate_table = "basiszinssatz.toml"', 'base_rate_table = "../basiszinssatz.toml"', "interest.base_rate_table"),
        ('base_rate_table = "basiszinssatz.toml"', 'base_rate_table = "basiszinssatz.csv"', "interest.base_rate_table"),
        ('day_count = "act/act"', 'day_count = "30/360"', "interest.day_count"),
        ('day_count = "act/act"', 'day_count = "act/act"\nfloor = "0"', "interest.floor"),
        ('rounding = "half_up"\nsource = "§ 49a', 'rounding = "half_even"\nsource = "§ 49a', "interest.rounding"),
        ('day_count = "act/act"\n', "", "interest.day_count"),  # missing key
    ],
)
def test_broken_interest_names_file_and_key(tmp_path, old, new, key):
    path = write_variant(tmp_path, old, new)
    with pytest.raises(RulePackError) as info:
        load_pack(path)
    assert info.value.file == str(path)
    assert info.value.key == key
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_interest_table_is_optional(tmp_path):
    text = HINWEISE.read_text(encoding="utf-8")
    start, end = text.index("[interest]"), text.index("# --- zulässige Verwendungen")
    path = tmp_path / "no-interest.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    assert load_pack(path).interest is None


def test_base_rate_table_in_the_folder_is_not_a_pack(tmp_path):
    shutil.copy(HINWEISE, tmp_path / HINWEISE.name)
    shutil.copy(RULES_DIR / "basiszinssatz.toml", tmp_path / "basiszinssatz.toml")
    assert [pack.id for pack in load_packs(tmp_path)] == ["inklfoeg-nrw-hinweise"]
    (tmp_path / "broken.toml").write_text('source = "x"\n', encoding="utf-8")  # neither: reported as a pack
    with pytest.raises(RulePackError) as info:
        load_packs(tmp_path)
    assert info.value.file == str(tmp_path / "broken.toml")
