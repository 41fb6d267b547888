"""A claim's life reaches the merchant's webhook endpoint: each event once,
signed as Standard Webhooks says, to that merchant's endpoints only."""

import json

import pytest
from standardwebhooks import Webhook

from recours.cases import protection
from recours.cases.access import staff_actor
from recours.core.audit import Actor
from recours.notifications import actions as notification_actions
from recours.notifications.models import OutboxMessage
from recours.notifications.outbox import deliver_due
from recours.testing import file_claim, membership, protected_order
from recours.testing.webhooks import receiving

EVENTS = ["case.opened", "case.merchant_answered", "case.forwarded_to_review",
          "case.decided", "case.closed"]  # fmt: skip


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as server:
        yield server


def endpoint(organization, url: str):
    return notification_actions.create_endpoint(
        Actor(label="shop"), organization.pk, url=url, description="ERP",
        event_types=EVENTS,
    )  # fmt: skip


def test_a_claims_events_reach_its_merchants_endpoint_signed(
    frozen, platform, merchant_a, merchant_b, customer_a, merchant_a_agent,
    mediator, receiver,
):  # fmt: skip
    # given: an endpoint at each merchant
    mine = endpoint(merchant_a, receiver.url("/alpha"))
    endpoint(merchant_b, receiver.url("/beta"))

    # when: a claim is opened, refused, disputed and decided
    case = file_claim(protected_order(customer_a))
    shop, judge = membership(merchant_a_agent), membership(mediator)
    protection.merchant_answer(shop, staff_actor(shop), case, answer="no_refund",
                               amount_minor=None, message="Livré.", files=[])  # fmt: skip
    protection.customer_respond(case, "disagree", "Rien reçu.")
    protection.decide(judge, staff_actor(judge), case, outcome="no_refund",
                      amount_minor=None, destination="", reason="Preuve de dépôt.")  # fmt: skip
    while OutboxMessage.objects.filter(status="pending", channel="webhook").exists():
        deliver_due()

    # then: merchant A heard each step once, in order, verifiably signed
    events = [
        Webhook(mine.secret).verify(delivery.body, delivery.headers)
        for delivery in receiver.deliveries
    ]
    assert [delivery.path for delivery in receiver.deliveries] == ["/alpha"] * 5
    assert [event["type"] for event in events] == [
        "case.opened", "case.merchant_answered", "case.forwarded_to_review",
        "case.decided", "case.closed",
    ]  # fmt: skip
    assert {event["data"]["case"] for event in events} == {case.reference}
    ids = [delivery.headers["webhook-id"] for delivery in receiver.deliveries]
    assert len(set(ids)) == 5
    assert json.loads(receiver.deliveries[-1].body)["data"]["status"] == "closed"
