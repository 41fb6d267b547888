from django.utils import translation

from recours.core.money import Money
from recours.core.templatetags.money import money


def test_it_writes_amounts_the_french_way_in_french():
    with translation.override("fr"):
        assert money(Money(123456, "EUR")) == "1\u00a0234,56\u00a0€"


def test_it_writes_amounts_the_english_way_in_english():
    with translation.override("en"):
        assert money(Money(3500, "EUR")) == "35.00\u00a0€"


def test_it_knows_currencies_without_cents():
    with translation.override("en"):
        assert money(Money(1500, "JPY")) == "1,500\u00a0JPY"
