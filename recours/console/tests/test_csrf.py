"""Every state-changing form of the console needs its CSRF token."""

import pytest
from django.test import Client
from django.urls import reverse

from recours.notifications.models import OutboxMessage
from recours.testing import PASSWORD


@pytest.fixture
def strict_client(agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    return client


def token_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["csrf_token"]


def test_it_refuses_a_reply_without_a_token(strict_client, case_a):
    # given
    outbox_before = OutboxMessage.objects.count()

    # when
    response = strict_client.post(
        reverse("console:reply", args=[case_a.reference]), {"reply-body": "Bonjour"}
    )

    # then
    assert response.status_code == 403
    assert not case_a.events.filter(type="reply").exists()
    assert OutboxMessage.objects.count() == outbox_before


@pytest.mark.parametrize(
    "name,data",
    [
        ("assign", {"assignee": "me"}),
        ("status", {"status-target": "triaged"}),
        ("note", {"note-body": "Bonjour"}),
    ],
)
def test_it_refuses_every_action_without_a_token(strict_client, case_a, name, data):
    # given
    events_before = case_a.events.count()

    # when
    response = strict_client.post(
        reverse(f"console:{name}", args=[case_a.reference]), data
    )

    # then
    assert response.status_code == 403
    assert case_a.events.count() == events_before


def test_it_accepts_a_reply_with_the_pages_token(strict_client, case_a):
    # given
    url = reverse("console:case", args=[case_a.reference])
    token = token_of(strict_client, url)

    # when
    response = strict_client.post(
        reverse("console:reply", args=[case_a.reference]),
        {"reply-body": "Bonjour", "csrfmiddlewaretoken": token},
    )

    # then
    assert response.status_code == 302
    assert case_a.events.filter(type="reply").exists()


def test_it_refuses_a_login_without_a_token(agent):
    # given
    client = Client(enforce_csrf_checks=True)

    # when
    response = client.post(
        reverse("console:login"), {"username": "agent", "password": PASSWORD}
    )

    # then
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_refuses_a_logout_without_a_token(strict_client):
    # when
    response = strict_client.post(reverse("console:logout"))

    # then
    assert response.status_code == 403
    assert "_auth_user_id" in strict_client.session
