"""Fixtures for API tests: one key per organization and clients that carry them."""

import pytest
from django.test import Client

from recours.accounts.actions import create_api_key
from recours.core.audit import Actor


def new_secret(organization, name: str = "ERP") -> str:
    _key, secret = create_api_key(Actor.system("test"), organization, name)
    return secret


def client_with(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


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


def report(**fields) -> dict:
    """A valid report body, naming merchant A's customer by default."""
    return {
        "problem": "payment_failed",
        "contact_channel": "email",
        "contact_email": "client@example.org",
        "customer_number": "C-10001",
        "payment_started": "yes",
        "description": "La borne a refusé ma carte.",
        **fields,
    }
