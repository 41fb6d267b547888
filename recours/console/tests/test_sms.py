"""The demo SMS backend's messages, for platform staff only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recours.console.views import SMS_PAGE_SIZE
from recours.notifications.models import SmsMessage


def record_sms(to: str, body: str, minutes_ago: int) -> SmsMessage:
    return SmsMessage.objects.create(
        to=to,
        sender="Recours",
        body=body,
        idempotency_key=f"{to}:{body}:{minutes_ago}",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def sms_page(client, **params):
    return client.get(reverse("console:sms"), params)


def bodies(response) -> list[str]:
    assert response.status_code == 200
    return [text.body for text in response.context["page"]]


def test_it_shows_platform_staff_the_sms_newest_first(agent_client, frozen):
    # given
    record_sms("+33611223344", "Votre code : 482913", minutes_ago=5)
    record_sms("+33611223344", "Nous avons bien reçu votre signalement.", 10)

    # when
    response = sms_page(agent_client)

    # then
    assert bodies(response) == [
        "Votre code : 482913",
        "Nous avons bien reçu votre signalement.",
    ]
    assert "482913" in response.content.decode()
    assert "06 11 22 33 44" in response.content.decode()  # national format


@pytest.mark.parametrize("client_name", ["alpha_client", "beta_client"])
def test_it_hides_the_sms_from_merchant_staff(request, db, client_name, frozen):
    # given
    record_sms("+33611223344", "Votre code : 482913", minutes_ago=5)
    client = request.getfixturevalue(client_name)

    # when
    response = sms_page(client)

    # then
    assert response.status_code == 404
    assert "482913" not in response.content.decode()


def test_it_pages_the_sms(agent_client, frozen):
    # given
    for minute in range(SMS_PAGE_SIZE + 3):
        record_sms("+33611223344", f"message {minute}", minutes_ago=minute)

    # when
    first = sms_page(agent_client)
    second = sms_page(agent_client, page=2)

    # then
    assert len(bodies(first)) == SMS_PAGE_SIZE
    assert bodies(second) == [
        f"message {m}" for m in range(SMS_PAGE_SIZE, SMS_PAGE_SIZE + 3)
    ]


def test_it_finds_the_sms_sent_to_a_number_as_typed(agent_client, frozen):
    # given
    record_sms("+33611223344", "pour Camille", minutes_ago=1)
    record_sms("+33799887766", "pour Dominique", minutes_ago=2)

    # when
    response = sms_page(agent_client, to="06 11 22 33 44")

    # then
    assert bodies(response) == ["pour Camille"]
