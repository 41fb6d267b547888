"""Fixtures for case tests: staff of the deciding roles."""

import pytest

from recours.accounts.models import Role
from recours.testing import make_staff


@pytest.fixture
def admin(platform):
    return make_staff("admin", platform, Role.ADMIN)


@pytest.fixture
def mediator(platform):
    return make_staff("mediator", platform, Role.MEDIATOR)
