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
