"""Fixtures for money flows: a coin type with coins in stock, a second customer."""

import pytest
from django.utils import translation

from recours.accounts.models import Customer
from recours.testing.commerce import make_coin_type, stock_coins


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts, which the French catalog now translates.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def coin_type(merchant_a):
    return make_coin_type(merchant_a)


@pytest.fixture
def coins(coin_type):
    return stock_coins(coin_type, 3)


@pytest.fixture
def customer_b(merchant_a):
    return Customer.objects.create(
        organization=merchant_a, customer_number="C-10002", name="Louis Petit"
    )
