"""Undelivered messages: the list of every case's failed messages, and re-sending."""

import pytest
from django.urls import reverse

from recours.console.views import UNDELIVERED_PAGE_SIZE
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import NOW
from recours.testing.servers import queue

SECRET_CODE = "482913"


def fail(case) -> OutboxMessage:
    """The case's acknowledgement ran out of attempts; its body holds a code."""
    message = OutboxMessage.objects.get(about=f"cases.case:{case.pk}")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.FAILED,
        attempts=12,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        body=f"Votre code : {SECRET_CODE}",
    )
    message.refresh_from_db()
    return message


def listed(response) -> list[str]:
    assert response.status_code == 200
    return [row["message"].about_reference for row in response.context["rows"]]


def page(client, **params):
    return client.get(reverse("console:undelivered"), params)


def state(message: OutboxMessage) -> tuple:
    message.refresh_from_db()
    return (message.status, message.attempts, message.next_attempt_at)


def test_it_shows_platform_staff_every_cases_failed_messages(
    agent_client, case_a, case_b
):
    # given
    fail(case_a), fail(case_b)

    # when
    response = page(agent_client)

    # then: bodies stay out of the page, the cases are linked
    assert sorted(listed(response)) == sorted([case_a.reference, case_b.reference])
    html = response.content.decode()
    assert SECRET_CODE not in html
    assert reverse("console:case", args=[case_a.reference]) in html
    assert "Send them all again" in html


def test_it_shows_merchant_staff_only_their_organizations_messages(
    alpha_client, case_a, case_b
):
    # given
    fail(case_a), fail(case_b)

    # when
    response = page(alpha_client)

    # then
    assert listed(response) == [case_a.reference]
    assert case_b.reference not in response.content.decode()


def test_it_lists_only_failed_messages(agent_client, case_a, case_b):
    # given: case B's acknowledgement is still pending
    fail(case_a)

    # when
    response = page(agent_client)

    # then
    assert listed(response) == [case_a.reference]


def test_it_pages_the_failed_messages(agent_client, frozen, db):
    # given
    for number in range(UNDELIVERED_PAGE_SIZE + 2):
        queue(f"case:RC-{number}:ack")
    OutboxMessage.objects.update(status=OutboxMessage.Status.FAILED)

    # when
    first, second = page(agent_client), page(agent_client, page=2)

    # then
    assert len(listed(first)) == UNDELIVERED_PAGE_SIZE
    assert len(listed(second)) == 2


def test_it_resends_one_message(alpha_client, case_a, frozen):
    # given
    message = fail(case_a)

    # when
    response = alpha_client.post(reverse("console:resend", args=[message.pk]))

    # then
    assert response.status_code == 302
    assert response.url == reverse("console:undelivered")
    assert state(message) == ("pending", 0, NOW)
    event = AuditEvent.objects.get(action="outbox.resent")
    assert event.actor_label == "alpha_agent"
    assert event.organization_id == case_a.organization_id


def test_it_refuses_another_merchants_message_as_if_it_did_not_exist(
    beta_client, case_a
):
    # given
    message = fail(case_a)
    before, audit_before = state(message), AuditEvent.objects.count()

    # when
    one = beta_client.post(reverse("console:resend", args=[message.pk]))
    every = beta_client.post(reverse("console:resend_all"))
    listing = page(beta_client)

    # then
    assert one.status_code == 404
    assert every.status_code == 302
    assert listed(listing) == []
    assert state(message) == before
    assert AuditEvent.objects.count() == audit_before


def test_it_refuses_to_resend_a_message_that_did_not_fail(alpha_client, case_a):
    # given: the acknowledgement is still pending
    message = OutboxMessage.objects.get(about=f"cases.case:{case_a.pk}")
    before, audit_before = state(message), AuditEvent.objects.count()

    # when
    response = alpha_client.post(
        reverse("console:resend", args=[message.pk]), follow=True
    )

    # then
    assert "Only an undelivered message can be sent again" in response.content.decode()
    assert state(message) == before
    assert AuditEvent.objects.count() == audit_before


def test_it_resends_all_of_the_organizations_failed_messages(
    alpha_client, case_a, case_b
):
    # given
    ours, theirs = fail(case_a), fail(case_b)

    # when
    response = alpha_client.post(reverse("console:resend_all"), follow=True)

    # then
    assert "1 message is queued again." in response.content.decode()
    assert (state(ours)[0], state(theirs)[0]) == ("pending", "failed")


@pytest.mark.parametrize("name", ["resend_all", "resend"])
def test_it_resends_only_on_post(agent_client, case_a, name):
    # given
    message = fail(case_a)
    args = [message.pk] if name == "resend" else []

    # when
    response = agent_client.get(reverse(f"console:{name}", args=args))

    # then
    assert response.status_code == 405
    assert state(message)[0] == "failed"


def test_it_sends_strangers_to_the_login_page(client, case_a):
    # given
    message = fail(case_a)

    # when
    response = client.post(reverse("console:resend", args=[message.pk]))

    # then
    assert response.status_code == 302
    assert reverse("console:login") in response.url
    assert state(message)[0] == "failed"
