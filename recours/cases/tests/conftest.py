"""Fixtures for case tests: staff of the deciding roles and counters of side effects."""

import pytest

from conftest import NOW, make_staff  # noqa: F401 (NOW: for the tests)
from recours.accounts.models import Membership, Role
from recours.cases.models import Case, CaseEvent
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage


@pytest.fixture
def admin(platform):
    return make_staff("admin", platform, Role.ADMIN)


@pytest.fixture
def mediator(platform):
    return make_staff("mediator", platform, Role.MEDIATOR)


def membership(user) -> Membership:
    return Membership.objects.select_related("organization", "user").get(user=user)


def snapshot(case: Case) -> dict:
    """Everything an action could change, to assert a refused action changed nothing."""
    case.refresh_from_db()
    return {
        "row": {
            f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields
        },
        "events": CaseEvent.objects.filter(case=case).count(),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }
