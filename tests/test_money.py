"""Exact money: German notation in, Decimal in Python, integer cents in the database."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.money import (
    MAX_CENTS,
    AmountError,
    format_german,
    format_plain,
    from_cents,
    parse_amount,
    parse_german,
    round_half_up,
    to_cents,
)

cents = st.integers(min_value=-10**13, max_value=10**13)
accepted_cents = st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS)  # what a parser accepts (MAX_AMOUNT)


@pytest.mark.parametrize("text, expected", [
    ("1.234,56", "1234.56"), ("750000,00", "750000.00"), ("891.931,68", "891931.68"),
    ("0,01", "0.01"), ("5", "5.00"), ("5,5", "5.50"), ("-0,50", "-0.50"), (" 12,00 ", "12.00"),
])
def test_parse_german(text, expected):
    assert parse_german(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["1,234.56", "12,345", "1.23,45", "", "abc", "1 234,56", "1e3", "12.34"])
def test_parse_german_rejects(text):
    with pytest.raises(AmountError):
        parse_german(text)


def test_parse_amount_accepts_both_notations():
    assert parse_amount("422362,00") == parse_amount("422362.00") == Decimal("422362.00")
    with pytest.raises(AmountError):
        parse_amount("0.001")


def test_to_cents_refuses_fractions_of_a_cent():
    with pytest.raises(AmountError):
        to_cents(Decimal("0.005"))


def test_round_half_up_only_rounds_half_up():
    assert round_half_up(Decimal("1500.015")) == Decimal("1500.02")
    assert round_half_up(Decimal("1500.0149")) == Decimal("1500.01")
    assert round_half_up(Decimal("-0.005")) == Decimal("-0.01")


@given(cents)
def test_cents_round_trip(value):
    assert to_cents(from_cents(value)) == value


@given(accepted_cents)
def test_german_format_round_trip(value):
    amount = from_cents(value)
    assert parse_german(format_german(amount)) == amount
    assert Decimal(format_plain(amount)) == amount


def test_formats():
    assert format_german(Decimal("1234567.8")) == "1.234.567,80"
    assert format_german(Decimal("-0.5")) == "-0,50"
    assert format_plain(Decimal("45154.3")) == "45154.30"


# --- found by mutation testing (docs/mutation-testing.md): messages, limits, the cents parser ---------

from ledger.core.money import MAX_AMOUNT, AmountTooLarge, checked_cents, parse_decimal, parse_german_cents  # noqa: E402


@pytest.mark.parametrize("call, text, message", [
    (parse_german, "1,234.56", "ungültiger Betrag '1,234.56' (erwartet z. B. 1.234,56)"),
    (parse_german_cents, "12,345", "ungültiger Betrag '12,345' (erwartet z. B. 1.234,56)"),
    (parse_decimal, "١٢٣", "ungültiger Betrag '١٢٣' (nur die Ziffern 0–9)"),
    (parse_decimal, "zwoelf", "ungültiger Betrag 'zwoelf'"),
    (parse_decimal, "NaN", "ungültiger Betrag 'NaN'"),
    (parse_decimal, "1.005", "ungültiger Betrag '1.005' (höchstens zwei Nachkommastellen)"),
    (to_cents, Decimal("1.005"), "Betrag 1.005 hat Bruchteile eines Cents"),
    (checked_cents, Decimal("Infinity"), "ungültiger Betrag Infinity"),
])
def test_errors_name_the_text_as_given(call, text, message):
    with pytest.raises(AmountError) as error:
        call(text)
    assert str(error.value) == message


@pytest.mark.parametrize("call, text, shown", [
    (parse_german, " 1.000.000.000,00 ", "'1.000.000.000,00'"),
    (parse_german_cents, "1.000.000.000", "'1.000.000.000'"),
    (parse_german_cents, "-1000000000,00", "'-1000000000,00'"),
    (parse_decimal, " 1000000000 ", "'1000000000'"),
    (checked_cents, Decimal("-1000000000.00"), "'-1.000.000.000,00'"),
    (checked_cents, Decimal("1E+25"), "'1E+25'"),
    (checked_cents, Decimal("1E+20"), "'1E+20'"),   # 21 digits: no longer written out
    (checked_cents, Decimal("1E+19"), "'10.000.000.000.000.000.000,00'"),
    # 41 characters are shortened to 37 and an ellipsis; 40 are shown whole
    (parse_decimal, "1" * 41, "'" + "1" * 37 + "…'"),
    (parse_decimal, "1" * 40, "'" + "1" * 40 + "'"),
])
def test_too_large_names_the_amount_shortened_and_the_limit(call, text, shown):
    with pytest.raises(AmountTooLarge) as error:
        call(text)
    assert str(error.value) == f"Betrag {shown} übersteigt den Höchstbetrag von 999.999.999,99 EUR je Betrag"


@pytest.mark.parametrize("text, expected", [
    ("1.234,5", 123450), ("0,01", 1), ("-0,5", -50), ("007", 700), ("0", 0), ("0000000000001", 100), (",5", None), ("5,", None),
    ("10,00", 1000), ("1.000", 100000), ("999.999.999,99", 99999999999), ("-999999999,99", -99999999999),
])
def test_parse_german_cents(text, expected):
    """The import's cents parser: thousands dots dropped, leading zeros ignored, one decimal
    means tenths; the largest amount either sign is accepted."""
    if expected is None:
        with pytest.raises(AmountError):
            parse_german_cents(text)
    else:
        assert parse_german_cents(text) == expected


def test_the_largest_amount_is_accepted_by_every_parser():
    assert parse_decimal("999999999.99") == parse_german("999.999.999,99") == MAX_AMOUNT
    assert checked_cents(-MAX_AMOUNT) == -MAX_CENTS
    assert checked_cents(Decimal("12.30")) == 1230


@pytest.mark.parametrize("amount, text", [("0", "0,00"), ("0.50", "0,50"), ("-0.01", "-0,01"), ("1", "1,00")])
def test_small_amounts_are_formatted_with_their_sign(amount, text):
    assert format_german(Decimal(amount)) == text
