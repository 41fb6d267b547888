"""Fixtures for console tests: cases of two merchants and logged-in clients."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from conftest import NOW  # noqa: F401 (for the tests)
from recours.cases.actions import Report, create_case
from recours.cases.evidence import check_one
from recours.cases.tests.factories import file_case, png_bytes
from recours.core.audit import Actor


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts, in pages and in lazy labels alike.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


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


def file_case_with_photo(**fields):
    upload = SimpleUploadedFile("ecran.png", png_bytes(), content_type="image/png")
    defaults = {
        "problem": "payment_failed",
        "contact_channel": "email",
        "contact_email": "client@example.org",
        "customer_number": "C-10001",
        "payment_started": "yes",
        "description": "Photo de l'écran jointe.",
    }
    return create_case(
        Actor(label="customer"), Report(**{**defaults, **fields}), [check_one(upload)]
    )
