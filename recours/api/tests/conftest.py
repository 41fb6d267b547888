"""Fixtures for API tests: one key per organization and clients that carry them."""

import pytest
from django.utils import translation

from recours.testing import client_with, new_secret


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts, which the French catalog now translates.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def secret_a(merchant_a):
    return new_secret(merchant_a)


@pytest.fixture
def api_a(secret_a):
    """A client holding merchant A's key."""
    return client_with(secret_a)


@pytest.fixture
def api_b(merchant_b):
    return client_with(new_secret(merchant_b))


@pytest.fixture
def api_platform(platform):
    return client_with(new_secret(platform))
