"""Fixtures for console tests: cases of two merchants and logged-in clients."""

import pytest
from django.utils import translation

from recours.testing import client_for, file_case


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts, in pages and in lazy labels alike.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def agent_client(agent):
    return client_for(agent)


@pytest.fixture
def alpha_client(merchant_a_agent):
    return client_for(merchant_a_agent)


@pytest.fixture
def beta_client(merchant_b_agent):
    return client_for(merchant_b_agent)


@pytest.fixture
def case_a(frozen, platform, kiosk, customer_a):
    """A payment incident at merchant A's kiosk, by e-mail."""
    return file_case(terminal_code=kiosk.code)


@pytest.fixture
def case_b(frozen, platform, kiosk_b):
    """A payment incident at merchant B's kiosk, by SMS."""
    return file_case(
        terminal_code=kiosk_b.code,
        customer_number="B-20001",
        contact_channel="sms",
        contact_phone="06 11 22 33 44",
        contact_email="",
    )
