"""Fixtures for ledger tests."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts, which the French catalog now translates.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
