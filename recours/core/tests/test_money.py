import pytest
from hypothesis import given
from hypothesis import strategies as st

from recours.core.money import MINOR_DIGITS, Money, total, totals_by_currency

CURRENCIES = ["EUR", "USD", *MINOR_DIGITS]


def test_it_parses_amounts_exactly_into_minor_units():
    # given / when / then
    assert Money.parse("12.30", "EUR") == Money(1230, "EUR")
    assert Money.parse("12,3", "EUR") == Money(1230, "EUR")
    assert Money.parse(" 7 ", "EUR") == Money(700, "EUR")
    assert Money.parse("0.10", "EUR") == Money(10, "EUR")
    assert Money.parse("-0.05", "EUR") == Money(-5, "EUR")
    assert Money.parse("1500", "JPY") == Money(1500, "JPY")
    assert Money.parse("1.234", "KWD") == Money(1234, "KWD")


def test_it_never_goes_through_floats():
    # given: 0.1 + 0.2 is not 0.3 in binary floating point
    # when
    total = Money.parse("0.1", "EUR") + Money.parse("0.2", "EUR")

    # then
    assert total == Money.parse("0.3", "EUR")
    assert isinstance(total.amount_minor, int)


def test_it_accepts_trailing_zeros_beyond_the_currency_digits():
    assert Money.parse("12.300", "EUR") == Money(1230, "EUR")
    assert Money.parse("100.0", "JPY") == Money(100, "JPY")


@pytest.mark.parametrize(
    ("text", "currency"),
    [("12.345", "EUR"), ("0.001", "EUR"), ("1.5", "JPY"), ("1.2345", "KWD")],
)
def test_it_refuses_too_many_decimals(text, currency):
    with pytest.raises(ValueError, match="too many decimals"):
        Money.parse(text, currency)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1e3",
        "NaN",
        "Infinity",
        "-inf",
        "1_000",
        "1 000",
        "1.2.3",
        "12.",
        ".5",
        "1,000.00",
        "١٢",
        "0x10",
    ],
)
def test_it_refuses_what_is_not_a_plain_amount(text):
    with pytest.raises(ValueError, match="not an amount"):
        Money.parse(text, "EUR")


def test_it_refuses_amounts_too_large_for_the_database():
    with pytest.raises(ValueError, match="too large"):
        Money.parse("10000000000000000", "EUR")


def test_it_refuses_a_tiny_excess_hidden_past_28_digits():
    # Decimal arithmetic rounds to 28 digits, which once let this through as 1.00.
    with pytest.raises(ValueError, match="too many decimals"):
        Money.parse("1." + "0" * 27 + "1", "EUR")


def test_it_formats_from_integers():
    assert str(Money(1230, "EUR")) == "12.30 EUR"
    assert str(Money(5, "EUR")) == "0.05 EUR"
    assert str(Money(-5, "EUR")) == "-0.05 EUR"
    assert str(Money(0, "EUR")) == "0.00 EUR"
    assert str(Money(1500, "JPY")) == "1500 JPY"
    assert str(Money(1234, "KWD")) == "1.234 KWD"


def test_it_refuses_a_float_amount_and_a_bad_currency():
    with pytest.raises(TypeError):
        Money(12.3, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "eur")


def test_it_adds_only_the_same_currency():
    assert Money(1, "EUR") + Money(2, "EUR") == Money(3, "EUR")
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(2, "USD")


@given(
    amount_minor=st.integers(min_value=-(10**17), max_value=10**17),
    currency=st.sampled_from(CURRENCIES),
)
def test_it_round_trips_formatting_and_parsing(amount_minor, currency):
    # given
    money = Money(amount_minor, currency)

    # when
    text, _space, code = str(money).partition(" ")

    # then
    assert code == currency
    assert Money.parse(text, currency) == money
    assert Money.parse(text.replace(".", ","), currency) == money


def test_it_subtracts_negates_and_compares_within_one_currency():
    # given
    ten, three = Money(1000, "EUR"), Money(300, "EUR")

    # then
    assert ten - three == Money(700, "EUR")
    assert three - ten == Money(-700, "EUR")
    assert -three == Money(-300, "EUR")
    assert three < ten and ten > three and three <= three and ten >= ten
    assert Money.zero("EUR").is_zero()
    assert (three - ten).is_negative()


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
    ],
)
def test_it_refuses_to_mix_currencies(operation):
    # when / then
    with pytest.raises(ValueError, match="mixed currencies: EUR and USD"):
        operation(Money(100, "EUR"), Money(100, "USD"))


def test_it_sums_in_one_currency_and_per_currency():
    # given
    amounts = [Money(100, "EUR"), Money(250, "USD"), Money(-30, "EUR")]

    # then
    assert total(amounts[::2], "EUR") == Money(70, "EUR")
    assert total([], "CHF") == Money(0, "CHF")
    assert totals_by_currency(amounts) == {
        "EUR": Money(70, "EUR"),
        "USD": Money(250, "USD"),
    }
    with pytest.raises(ValueError, match="mixed currencies"):
        total(amounts, "EUR")
