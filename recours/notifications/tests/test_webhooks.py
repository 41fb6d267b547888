"""Outbound webhooks, received by a real HTTP server and verified with the
`standardwebhooks` library."""

import itertools
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from standardwebhooks import Webhook, WebhookVerificationError

from recours.accounts.models import Role
from recours.core.audit import Actor
from recours.core.models import AuditEvent
from recours.notifications import actions, outbox, webhooks
from recours.notifications.models import OutboxMessage, WebhookAttempt, WebhookEndpoint
from recours.testing import NOW, make_staff

ACTOR = Actor(label="alpha_admin")
DATA = {"case": {"reference": "RC-7KQ4-M9XP", "status": "awaiting_merchant"}}


def endpoint_for(organization, url: str, events=("case.opened",)) -> WebhookEndpoint:
    return actions.create_endpoint(
        ACTOR, organization.pk, url=url, description="ERP", event_types=list(events)
    )


def emit(organization, event_type="case.opened", key="case:RC-7KQ4-M9XP:opened"):
    with transaction.atomic():
        return webhooks.emit(organization.pk, event_type, DATA, key,
                             about_reference="RC-7KQ4-M9XP")  # fmt: skip


def reload(row):
    row.refresh_from_db()
    return row


def verify(endpoint: WebhookEndpoint, delivery) -> dict:
    return Webhook(endpoint.secret).verify(delivery.body, delivery.headers)


def deliver_until_settled(traveller, message: OutboxMessage) -> list[timedelta]:
    """Run the worker at each next attempt until the message is done; the waits."""
    waits = []
    while reload(message).status == OutboxMessage.Status.PENDING:
        wait = message.next_attempt_at - NOW - sum(waits, timedelta())
        traveller.move_to(message.next_attempt_at)
        waits.append(wait)
        assert outbox.deliver_due() == 1
    return waits[1:]


def test_it_delivers_a_signed_event_that_standardwebhooks_verifies(
    merchant_a, receiver
):
    # given
    endpoint = endpoint_for(merchant_a, receiver.url())
    with time_machine.travel(NOW, tick=False):
        [message] = emit(merchant_a)

        # when
        handled = outbox.deliver_due()

        # then
        assert handled == 1
        [delivery] = receiver.deliveries
        event = verify(endpoint, delivery)
    assert event == {"type": "case.opened", "timestamp": "2026-03-02T09:00:00.000Z",
                     "data": DATA}  # fmt: skip
    assert delivery.path == "/hooks"
    assert delivery.headers["webhook-id"] == webhooks.webhook_id(message)
    assert delivery.headers["webhook-id"].startswith("msg_")
    assert delivery.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert delivery.headers["Content-Type"] == "application/json"
    message = reload(message)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.endpoint, attempt.response_status, attempt.error) == (
        endpoint,
        200,
        "",
    )


def test_it_gives_a_secret_in_the_standard_form(merchant_a, receiver):
    # when
    endpoint = endpoint_for(merchant_a, receiver.url())
    other = endpoint_for(merchant_a, receiver.url("/other"))

    # then
    assert endpoint.secret.startswith("whsec_")
    assert len(Webhook(endpoint.secret)._whsecret) == webhooks.SECRET_BYTES
    assert endpoint.secret != other.secret


@pytest.mark.parametrize("tamper", ["body", "signature", "secret", "id"])
def test_it_makes_a_tampered_delivery_fail_verification(merchant_a, receiver, tamper):
    # given: a genuine delivery
    endpoint = endpoint_for(merchant_a, receiver.url())
    with time_machine.travel(NOW, tick=False):
        emit(merchant_a)
        outbox.deliver_due()
        [delivery] = receiver.deliveries
        body, headers = delivery.body, dict(delivery.headers)
        secret = endpoint.secret
        verify(endpoint, delivery)

        # when
        if tamper == "body":
            body = body.replace(b"RC-7KQ4-M9XP", b"RC-7KQ4-M9XQ")
        elif tamper == "signature":
            version, signature = headers["webhook-signature"].split(",")
            # One character changed, whatever the signature starts with.
            first = "B" if signature[0] == "A" else "A"
            headers["webhook-signature"] = f"{version},{first}{signature[1:]}"
            assert headers["webhook-signature"] != delivery.headers["webhook-signature"]
        elif tamper == "secret":
            secret = webhooks.new_secret()
        else:
            headers["webhook-id"] = "msg_another"

        # then
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)


def test_it_queues_for_the_organizations_and_the_platforms_subscribed_endpoints(
    merchant_a, merchant_b, platform, receiver
):
    # given
    ours = endpoint_for(merchant_a, receiver.url("/a"))
    endpoint_for(merchant_a, receiver.url("/other"), events=["case.closed"])
    disabled = endpoint_for(merchant_a, receiver.url("/off"))
    actions.disable_endpoint(ACTOR, disabled.pk, organization_id=merchant_a.pk)
    endpoint_for(merchant_b, receiver.url("/b"))
    platforms = endpoint_for(platform, receiver.url("/platform"), webhooks.EVENT_TYPES)

    # when
    messages = emit(merchant_a)

    # then
    assert [m.endpoint for m in messages] == [ours, platforms]
    assert [m.organization_id for m in messages] == [merchant_a.pk, platform.pk]
    assert {m.channel for m in messages} == {"webhook"}
    assert len({webhooks.webhook_id(m) for m in messages}) == 1


def test_it_queues_an_event_once_per_endpoint(merchant_a, receiver):
    # given
    endpoint_for(merchant_a, receiver.url())
    [first] = emit(merchant_a)

    # when
    [second] = emit(merchant_a)

    # then
    assert second.pk == first.pk
    assert OutboxMessage.objects.count() == 1


def test_it_refuses_to_emit_outside_a_transaction(transactional_db, merchant_a):
    # given
    endpoint_for(merchant_a, "https://8.8.8.8/hooks")

    # when
    with pytest.raises(AssertionError, match="outside a transaction"):
        webhooks.emit(merchant_a.pk, "case.opened", DATA, "case:RC-1:opened")

    # then
    assert not OutboxMessage.objects.exists()


def test_it_refuses_an_unknown_event_type(merchant_a):
    with pytest.raises(AssertionError, match=r"case\.exploded"):
        emit(merchant_a, event_type="case.exploded")


def test_it_retries_after_a_500_with_the_same_webhook_id(merchant_a, receiver):
    # given: the endpoint fails once
    endpoint = endpoint_for(merchant_a, receiver.url())
    receiver.statuses = [500]
    with time_machine.travel(NOW, tick=False) as traveller:
        [message] = emit(merchant_a)
        outbox.deliver_due()
        failed = reload(message)
        assert (failed.status, failed.attempts) == ("pending", 1)
        assert failed.last_error.startswith("Refused: HTTP 500")

        # when
        traveller.move_to(failed.next_attempt_at)
        outbox.deliver_due()

        # then
        first, second = receiver.deliveries
        assert verify(endpoint, first) == verify(endpoint, second)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.body == second.body
    assert (reload(message).status, message.attempts) == ("sent", 2)
    codes = WebhookAttempt.objects.order_by("pk").values_list(
        "response_status", flat=True
    )
    assert list(codes) == [500, 200]


def test_it_backs_off_exponentially_for_three_days_then_gives_up(
    merchant_a, receiver, settings
):
    # given: an endpoint that always fails
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 100
    endpoint_for(merchant_a, receiver.url())
    receiver.statuses = [500] * 1000
    with time_machine.travel(NOW, tick=False) as traveller:
        [message] = emit(merchant_a)

        # when
        waits = deliver_until_settled(traveller, message)
        attempts_at_end = len(receiver.deliveries)
        traveller.shift(timedelta(days=30))
        handled_later = outbox.deliver_due()

    # then: each wait doubles, up to the cap; the last attempt is at 72 hours
    seconds = [wait.total_seconds() for wait in waits]
    assert seconds[:4] == [30, 60, 120, 240]
    growing = seconds[:-1]
    assert all(b == min(2 * a, webhooks.BACKOFF_SECONDS_MAX)
               for a, b in itertools.pairwise(growing))  # fmt: skip
    message = reload(message)
    assert message.status == OutboxMessage.Status.FAILED
    last = WebhookAttempt.objects.order_by("-attempted_at").first()
    assert last.attempted_at == NOW + timedelta(hours=72)
    assert message.attempts == attempts_at_end == len(waits) + 1
    assert handled_later == 0
    assert len(receiver.deliveries) == attempts_at_end


def test_it_never_follows_a_redirect(merchant_a, receiver):
    # given
    endpoint_for(merchant_a, receiver.url())
    receiver.statuses = [302]
    [message] = emit(merchant_a)

    # when
    outbox.deliver_due()

    # then
    assert [d.path for d in receiver.deliveries] == ["/hooks"]
    message = reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert "redirect to /elsewhere not followed" in message.last_error
    assert WebhookAttempt.objects.get().response_status == 302


def test_it_refuses_to_reach_a_private_address_unless_allowed(
    merchant_a, receiver, settings
):
    # given: an endpoint registered while private addresses were allowed
    endpoint_for(merchant_a, receiver.url())
    [message] = emit(merchant_a)
    settings.WEBHOOK_ALLOW_PRIVATE = False

    # when
    outbox.deliver_due()

    # then
    assert receiver.deliveries == []
    message = reload(message)
    assert message.last_error.startswith("AddressNotAllowed")
    assert WebhookAttempt.objects.get().response_status is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.1.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://[::ffff:10.0.0.1]/hooks",
        "ftp://8.8.8.8/hooks",
        "file:///etc/passwd",
        "https://user:secret@8.8.8.8/hooks",
    ],
)
def test_it_refuses_an_endpoint_url_it_must_not_reach(db, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert webhooks.url_problem(url)


def test_it_accepts_a_public_address(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert webhooks.url_problem("https://8.8.8.8/hooks?token=1") == ""


def test_it_times_out_a_hung_endpoint_and_backs_off(merchant_a, receiver, settings):
    # given
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay_seconds = 3
    endpoint_for(merchant_a, receiver.url())
    [message] = emit(merchant_a)

    # when
    started = time.monotonic()
    outbox.deliver_due()
    elapsed_seconds = time.monotonic() - started

    # then
    assert elapsed_seconds < 2.5
    message = reload(message)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "timed out" in message.last_error


def fail_for_good(traveller, messages: list[OutboxMessage]) -> None:
    for message in messages:
        deliver_until_settled(traveller, message)


def test_it_disables_an_endpoint_after_repeated_failures_and_tells_the_organization(
    merchant_a, receiver, settings, smtp_server
):
    # given: two messages in a row fail for good
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    settings.WEBHOOK_RETRY_HOURS = 1
    merchant_a.notification_emails = "ops@alpha.example\nboss@alpha.example\n"
    merchant_a.save()
    endpoint = endpoint_for(merchant_a, receiver.url())
    receiver.statuses = [500] * 1000
    with time_machine.travel(NOW, tick=False) as traveller:
        first = emit(merchant_a, key="case:RC-1:opened")
        fail_for_good(traveller, first)
        assert reload(endpoint).enabled
        assert endpoint.consecutive_failures == 1

        # when
        fail_for_good(traveller, emit(merchant_a, key="case:RC-2:opened"))

        # then: disabled, and told by e-mail through the outbox
        endpoint = reload(endpoint)
        assert not endpoint.enabled
        assert endpoint.disabled_reason == WebhookEndpoint.DisabledReason.FAILING
        assert endpoint.disabled_at is not None
        outbox.deliver_due()
    received = sorted(smtp_server.handler.received, key=lambda r: r.rcpt_tos)
    assert [r.rcpt_tos for r in received] == [["boss@alpha.example"],
                                               ["ops@alpha.example"]]  # fmt: skip
    text = received[0].message.get_body(("plain",)).get_content()
    html = received[0].message.get_body(("html",)).get_content()
    assert receiver.url() in text and receiver.url() in html
    assert f"/console/webhooks/{endpoint.pk}/" in text
    event = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert event.data == {"reason": "failing", "consecutive_failures": 2}


def test_it_tells_the_organizations_admins_when_it_gave_no_address(
    merchant_a, merchant_b, receiver, settings
):
    # given
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1
    settings.WEBHOOK_RETRY_HOURS = 1
    make_staff("alpha_admin", merchant_a, Role.MERCHANT_ADMIN)
    make_staff("alpha_agent", merchant_a, Role.MERCHANT_AGENT)
    make_staff("beta_admin", merchant_b, Role.MERCHANT_ADMIN)
    endpoint_for(merchant_a, receiver.url())
    receiver.statuses = [500] * 1000

    # when
    with time_machine.travel(NOW, tick=False) as traveller:
        fail_for_good(traveller, emit(merchant_a))

    # then
    told = OutboxMessage.objects.filter(channel="email")
    assert [m.recipient for m in told] == ["alpha_admin@example.org"]
    assert told.get().organization_id == merchant_a.pk


def test_it_counts_failures_in_a_row_only(merchant_a, receiver, settings):
    # given: a message failed for good
    settings.WEBHOOK_RETRY_HOURS = 1
    endpoint = endpoint_for(merchant_a, receiver.url())
    receiver.statuses = [500] * 20
    with time_machine.travel(NOW, tick=False) as traveller:
        fail_for_good(traveller, emit(merchant_a, key="case:RC-1:opened"))
        assert reload(endpoint).consecutive_failures == 1
        receiver.statuses = []

        # when: the next one is delivered
        fail_for_good(traveller, emit(merchant_a, key="case:RC-2:opened"))

    # then
    assert reload(endpoint).consecutive_failures == 0


def test_it_fails_a_disabled_endpoints_queued_message_without_sending_it(
    merchant_a, receiver
):
    # given
    endpoint = endpoint_for(merchant_a, receiver.url())
    [message] = emit(merchant_a)
    actions.disable_endpoint(ACTOR, endpoint.pk, organization_id=merchant_a.pk)

    # when
    outbox.deliver_due()

    # then
    assert receiver.deliveries == []
    message = reload(message)
    assert message.status == OutboxMessage.Status.FAILED
    assert message.last_error.startswith("EndpointDisabled")
    assert reload(endpoint).consecutive_failures == 0


def test_it_redelivers_a_message_with_the_same_webhook_id(merchant_a, receiver):
    # given: a delivered message
    endpoint = endpoint_for(merchant_a, receiver.url())
    with time_machine.travel(NOW, tick=False) as traveller:
        [message] = emit(merchant_a)
        outbox.deliver_due()
        traveller.shift(timedelta(hours=1))

        # when
        actions.redeliver(ACTOR, message.pk, organization_id=merchant_a.pk)
        outbox.deliver_due()

        # then
        first, second = receiver.deliveries
        assert verify(endpoint, second)["data"] == DATA
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert (reload(message).status, message.attempts) == ("sent", 2)
    assert AuditEvent.objects.filter(action="webhook.redelivered").count() == 1


def test_it_sends_a_body_that_is_the_stored_json(merchant_a, receiver):
    # given
    endpoint_for(merchant_a, receiver.url())
    [message] = emit(merchant_a)

    # when
    outbox.deliver_due()

    # then
    [delivery] = receiver.deliveries
    assert delivery.body == message.body.encode()
    assert json.loads(delivery.body)["type"] == "case.opened"
