from django.utils import translation

from recours.core.money import Money
from recours.core.templatetags.money import money, money_in


def test_it_writes_amounts_the_french_way_in_french():
    with translation.override("fr"):
        assert money(Money(123456, "EUR")) == "1\u00a0234,56\u00a0€"


def test_it_writes_amounts_the_english_way_in_english():
    with translation.override("en"):
        assert money(Money(3500, "EUR")) == "35.00\u00a0€"


def test_it_knows_currencies_without_cents():
    with translation.override("en"):
        assert money(Money(1500, "JPY")) == "1,500\u00a0JPY"


def test_it_writes_an_amount_stored_as_minor_units_and_currency():
    with translation.override("fr"):
        assert money_in(12990, "EUR") == "129,90\u00a0€"


def test_it_writes_nothing_for_a_missing_amount():
    assert money_in(None, "EUR") == ""
    assert money_in(500, "") == ""
