"""The status page: reference, one-time code or e-mailed link, then the case."""

import re

import pytest
from django.urls import reverse

from recours.cases import conversation
from recours.cases.access import staff_actor
from recours.cases.models import CaseEvent
from recours.notifications.models import OutboxMessage
from recours.testing import file_case

pytestmark = pytest.mark.django_db


def sent_code(case) -> str:
    message = OutboxMessage.objects.filter(dedupe_key__contains=":code:").latest("pk")
    assert message.recipient == case.contact_address
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def sent_link(case) -> str:
    message = OutboxMessage.objects.filter(dedupe_key__contains=":code:").latest("pk")
    return re.search(r"https?://\S+/status/open/\S+/", message.body).group(0)


def ask_code(client, reference: str):
    return client.post(reverse("portal:status"), {"reference": reference}, follow=True)


@pytest.fixture
def case(kiosk):
    return file_case(terminal_code=kiosk.code, contact_email="camille@example.org")


def test_a_code_opens_the_case_and_shows_the_reply(client, case, agent):
    membership = agent.membership
    conversation.reply(
        membership, staff_actor(membership), case, "We refunded you this morning."
    )
    response = ask_code(client, case.reference.lower().replace("-", " "))
    assert response.redirect_chain[-1][0] == reverse("portal:status_code")
    response = client.post(
        reverse("portal:status_code"), {"code": sent_code(case)}, follow=True
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse(
        "portal:case", args=[case.reference]
    )
    assert "We refunded you this morning." in page
    assert "Support team" in page


def test_internal_notes_never_reach_the_customer(client, case, agent):
    membership = agent.membership
    conversation.add_note(
        membership, staff_actor(membership), case, "Customer seems confused"
    )
    ask_code(client, case.reference)
    response = client.post(
        reverse("portal:status_code"), {"code": sent_code(case)}, follow=True
    )
    assert "Customer seems confused" not in response.content.decode()


def test_an_unknown_reference_reads_the_same_and_sends_nothing(client, case):
    response = ask_code(client, "RC-ZZZZ-ZZZZ")
    assert response.status_code == 200
    assert "If the reference RC-ZZZZ-ZZZZ exists" in response.content.decode()
    assert not OutboxMessage.objects.filter(dedupe_key__contains=":code:").exists()


def test_a_wrong_code_is_refused(client, case):
    ask_code(client, case.reference)
    response = client.post(reverse("portal:status_code"), {"code": "000000"})
    assert response.status_code == 422
    assert "This code is not valid or has expired." in response.content.decode()
    assert client.get(reverse("portal:case", args=[case.reference])).status_code == 302


def test_the_case_page_needs_a_code(client, case):
    response = client.get(reverse("portal:case", args=[case.reference]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:status"))


def test_a_code_for_one_case_does_not_open_another(client, case, kiosk):
    other = file_case(terminal_code=kiosk.code, contact_email="someone@example.org")
    ask_code(client, case.reference)
    client.post(reverse("portal:status_code"), {"code": sent_code(case)})
    assert client.get(reverse("portal:case", args=[case.reference])).status_code == 200
    assert client.get(reverse("portal:case", args=[other.reference])).status_code == 302


def test_the_emailed_link_opens_the_case_once_and_only_on_a_button_press(client, case):
    ask_code(client, case.reference)
    link = sent_link(case).split("://", 1)[1].split("/", 1)[1]
    path = "/" + link
    assert client.get(path).status_code == 200  # a mail scanner's GET uses nothing
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:case", args=[case.reference])
    again = client.__class__().post(path)
    assert again.status_code == 422


def test_the_customer_can_write_a_message(client, case):
    ask_code(client, case.reference)
    client.post(reverse("portal:status_code"), {"code": sent_code(case)})
    url = reverse("portal:case", args=[case.reference])
    response = client.post(
        url, {"body": "I still have not been refunded."}, follow=True
    )
    assert "Your message was sent." in response.content.decode()
    event = case.events.get(type=CaseEvent.Type.CUSTOMER_MESSAGE)
    assert event.body == "I still have not been refunded."
    assert event.is_public
    assert client.post(url, {"body": ""}).status_code == 422


def test_code_requests_are_rate_limited(frozen, client, case, settings):
    settings.STATUS_RATE_LIMIT = "3/h"
    for _ in range(3):
        assert ask_code(client, case.reference).status_code == 200
    response = client.post(reverse("portal:status"), {"reference": case.reference})
    assert response.status_code == 429
