"""Shared fixtures: a platform, two merchants, staff of each role, kiosks."""

import pytest
import time_machine

from recours.accounts.models import Customer, Organization, Role
from recours.commerce.models import Terminal
from recours.testing import FAST_PASSWORD_HASHERS, NOW, make_staff
from recours.testing.servers import mailer_settings, start_smtp


@pytest.fixture
def frozen():
    """Time stands still at NOW; shift it with `frozen.shift(timedelta(...))`.

    Tests of fixed-window rate limits freeze time so a window cannot end mid-test.
    """
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2 on every staff fixture made the suite several times slower.
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Tests do not run collectstatic; serve static files straight from the apps.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture
def platform(db):
    return Organization.objects.create(
        name="Recours Platform", slug="platform", kind="platform"
    )


@pytest.fixture
def merchant_a(db):
    return Organization.objects.create(
        name="Kiosques Alpha", slug="alpha", kind="merchant"
    )


@pytest.fixture
def merchant_b(db):
    return Organization.objects.create(
        name="Boutique Beta", slug="beta", kind="merchant"
    )


@pytest.fixture
def agent(platform):
    return make_staff("agent", platform, Role.AGENT)


@pytest.fixture
def technician(platform):
    return make_staff("tech", platform, Role.TECHNICIAN)


@pytest.fixture
def mediator(platform):
    return make_staff("mediator", platform, Role.MEDIATOR)


@pytest.fixture
def admin(platform):
    return make_staff("admin", platform, Role.ADMIN)


@pytest.fixture
def merchant_a_agent(merchant_a):
    return make_staff("alpha_agent", merchant_a, Role.MERCHANT_AGENT)


@pytest.fixture
def merchant_b_agent(merchant_b):
    return make_staff("beta_agent", merchant_b, Role.MERCHANT_AGENT)


@pytest.fixture
def kiosk(merchant_a):
    return Terminal.objects.create(
        organization=merchant_a,
        code="ALPHA-GARE-01",
        name="Gare du Nord",
        location="Paris",
    )


@pytest.fixture
def kiosk_b(merchant_b):
    return Terminal.objects.create(
        organization=merchant_b, code="BETA-MAIRIE-01", name="Mairie", location="Lyon"
    )


@pytest.fixture
def customer_a(merchant_a):
    return Customer.objects.create(
        organization=merchant_a,
        customer_number="C-10001",
        name="Camille Martin",
        email="camille@example.org",
        phone="+33612345678",
    )


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that Django's mailer uses."""
    controller, server = start_smtp()
    settings.MAILERS = mailer_settings(server.port)
    yield server
    controller.stop()
