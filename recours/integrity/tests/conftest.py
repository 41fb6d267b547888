import pytest
from django.utils import translation

from recours.accounts.models import Customer, Role
from recours.integrity.tests import world
from recours.testing import make_staff


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read the English texts, which the French catalog now translates.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def customer_b(merchant_a):
    return Customer.objects.create(
        organization=merchant_a, customer_number="C-10002", name="Louis Petit",
        phone="+33698765432",
    )  # fmt: skip


@pytest.fixture
def coins(merchant_a):
    return world.coin_type(merchant_a)


@pytest.fixture
def finance(platform):
    return make_staff("finance", platform, Role.FINANCE)


@pytest.fixture
def finance_2(platform):
    return make_staff("finance2", platform, Role.FINANCE)


@pytest.fixture
def admin_user(platform):
    return make_staff("admin", platform, Role.ADMIN)
