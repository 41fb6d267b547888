import logging
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction

from recours.notifications import outbox
from recours.notifications.models import OutboxMessage, SmsMessage
from recours.testing import NOW
from recours.testing.servers import queue


def reload(message: OutboxMessage) -> OutboxMessage:
    message.refresh_from_db()
    return message


def test_it_refuses_to_queue_outside_a_transaction(transactional_db):
    # when
    with pytest.raises(AssertionError, match="outside a transaction"):
        outbox.enqueue(
            dedupe_key="k",
            channel="email",
            recipient="a@example.org",
            template="case_status.email",
            context={},
            language="fr",
        )

    # then
    assert not OutboxMessage.objects.exists()


def test_it_queues_a_key_once(db):
    # given
    first = queue("case:RC-1:status:resolved:3")

    # when
    second = queue("case:RC-1:status:resolved:3", recipient="other@example.org")

    # then
    assert second.pk == first.pk
    assert OutboxMessage.objects.get().recipient == "client@example.org"


def test_it_renders_in_the_message_language(db):
    # when
    with transaction.atomic():
        message = outbox.enqueue(
            dedupe_key="k",
            channel="email",
            recipient="a@example.org",
            template="case_status.email",
            language="en",
            context={
                "case": {"reference": "RC-1"},
                "status_label": "Resolved",
                "status_url": "https://x/",
            },
        )

    # then
    assert message.subject == "Your case RC-1 was updated"
    assert "Resolved" in message.body


def test_it_delivers_email_through_a_real_smtp_server(db, smtp_server):
    # given
    message = queue("case:RC-7KQ4-M9XP:status:resolved:4")

    # when
    handled = outbox.deliver_due()

    # then
    assert handled == 1
    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["client@example.org"]
    assert received.message["To"] == "client@example.org"
    assert received.message["Subject"] == message.subject
    assert "RC-7KQ4-M9XP" in received.message["Subject"]
    text = received.message.get_body(("plain",)).get_content()
    assert text.replace("\r\n", "\n").strip() == message.body
    assert received.message["Message-ID"] == outbox.message_id(message.dedupe_key)
    message = reload(message)
    assert message.status == OutboxMessage.Status.SENT
    assert (message.attempts, message.lease_token, message.last_error) == (1, "", "")
    assert message.sent_at is not None


def test_it_gives_each_key_its_own_valid_message_id(db, smtp_server):
    # given: keys that differ only after a colon
    queue("case:RC-1:status:resolved:4")
    queue("case:RC-1:status:resolved:5")

    # when
    outbox.deliver_due()

    # then
    ids = smtp_server.handler.message_ids()
    assert len(set(ids)) == 2
    for message_id in ids:
        assert message_id.startswith("<") and message_id.endswith("@recours>")
    assert outbox.message_id("case:RC-1:ack") == outbox.message_id("case:RC-1:ack")


def test_it_does_not_send_twice(db, smtp_server):
    # given
    queue("case:RC-1:ack")
    outbox.deliver_due()

    # when
    handled = outbox.deliver_due()

    # then
    assert handled == 0
    assert len(smtp_server.handler.received) == 1


def test_it_records_an_sms_once(db, settings):
    # given
    settings.SMS_BACKEND = "record"
    message = queue(
        "case:RC-1:status:resolved:2", channel="sms", recipient="+33612345678"
    )

    # when
    outbox.deliver_due()

    # then
    sms = SmsMessage.objects.get()
    assert (sms.to, sms.idempotency_key) == ("+33612345678", message.dedupe_key)
    assert "RC-7KQ4-M9XP" in sms.body
    assert reload(message).status == OutboxMessage.Status.SENT


def test_it_records_a_redelivered_sms_only_once(db, settings):
    # given: a worker sent the SMS, then died before recording it
    settings.SMS_BACKEND = "record"
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue(
            "case:RC-1:status:resolved:2", channel="sms", recipient="+33612345678"
        )
        [claimed] = outbox.claim()
        outbox.send_now(claimed)

        # when: its lease expires and another worker delivers the row again
        traveller.shift(timedelta(seconds=settings.OUTBOX_LEASE_SECONDS))
        handled = outbox.deliver_due()

    # then
    assert handled == 1
    assert SmsMessage.objects.count() == 1
    assert reload(message).status == OutboxMessage.Status.SENT


def test_it_posts_sms_to_an_http_gateway_with_the_idempotency_key(db, sms_gateway):
    # given
    message = queue(
        "case:RC-1:status:resolved:2", channel="sms", recipient="+33612345678"
    )

    # when
    outbox.deliver_due()

    # then
    [request] = sms_gateway.requests
    assert request.path == "/sms"
    assert request.headers["Idempotency-Key"] == message.dedupe_key
    assert request.headers["Authorization"] == "Bearer gateway-token"
    assert request.headers["Content-Type"] == "application/json"
    assert request.body["to"] == "+33612345678"
    assert request.body["body"] == message.body
    assert reload(message).status == OutboxMessage.Status.SENT


def test_it_backs_off_when_the_gateway_refuses(db, sms_gateway):
    # given
    sms_gateway.status_code = 503
    with time_machine.travel(NOW, tick=False):
        message = queue("case:RC-1:ack", channel="sms", recipient="+33612345678")

        # when
        outbox.deliver_due()

    # then
    message = reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert "503" in message.last_error
    assert message.next_attempt_at == NOW + timedelta(seconds=10)


def test_it_backs_off_when_the_mail_server_is_down(db, smtp_down):
    # given
    with time_machine.travel(NOW, tick=False):
        message = queue("case:RC-1:ack")

        # when
        handled = outbox.deliver_due()

    # then
    assert handled == 1
    message = reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.next_attempt_at == NOW + timedelta(seconds=10)
    assert message.lease_token == ""
    assert message.sent_at is None


def test_it_waits_for_the_backoff_then_fails_for_good(db, smtp_down, settings):
    # given
    settings.OUTBOX_MAX_ATTEMPTS = 3
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue("case:RC-1:ack")
        outbox.deliver_due()
        traveller.shift(timedelta(seconds=9))
        assert outbox.deliver_due() == 0  # still backing off

        # when
        for backoff_seconds in (1, 20):
            traveller.shift(timedelta(seconds=backoff_seconds))
            assert outbox.deliver_due() == 1
        traveller.shift(timedelta(days=1))
        handled_after = outbox.deliver_due()

    # then
    message = reload(message)
    assert message.status == OutboxMessage.Status.FAILED
    assert message.attempts == 3
    assert message.last_error
    assert handled_after == 0


def test_it_recovers_when_the_mail_server_comes_back(db, smtp_down, smtp_server_later):
    # given
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue("case:RC-1:ack")
        outbox.deliver_due()

        # when
        server = smtp_server_later()
        traveller.shift(timedelta(seconds=10))
        outbox.deliver_due()

    # then
    message = reload(message)
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(server.handler.received) == 1


@pytest.fixture
def smtp_server_later(settings):
    from recours.testing.servers import mailer_settings, start_smtp

    controllers = []

    def start():
        controller, server = start_smtp()
        controllers.append(controller)
        settings.MAILERS = mailer_settings(server.port)
        return server

    yield start
    for controller in controllers:
        controller.stop()


def test_it_does_not_claim_a_row_under_a_live_lease(db, settings):
    # given
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue("case:RC-1:ack")
        [claimed] = outbox.claim()

        # when
        traveller.shift(timedelta(seconds=59))
        second = outbox.claim()

    # then
    assert second == []
    message = reload(message)
    assert message.lease_token == claimed.lease_token
    assert message.lease_until == NOW + timedelta(seconds=60)


def test_it_claims_again_a_row_whose_lease_expired(db, settings, smtp_server):
    # given: a worker claimed the row, then died
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue("case:RC-1:ack")
        [dead] = outbox.claim()

        # when
        traveller.shift(timedelta(seconds=60))
        [alive] = outbox.claim()
        outbox.deliver_one(alive)

    # then
    assert alive.pk == dead.pk
    assert alive.lease_token != dead.lease_token
    assert reload(message).status == OutboxMessage.Status.SENT
    assert len(smtp_server.handler.received) == 1


def test_it_lets_a_late_worker_send_nothing_once_its_row_was_taken(
    db, settings, smtp_server
):
    # given: a slow worker's lease expired and another worker took the row
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue("case:RC-1:ack")
        [slow] = outbox.claim()
        traveller.shift(timedelta(seconds=61))
        [fast] = outbox.claim()

        # when
        outbox.deliver_one(slow)

    # then: nothing was sent and the row still belongs to the second worker
    assert smtp_server.handler.received == []
    message = reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.lease_token == fast.lease_token


def test_it_keeps_its_lease_while_working_through_a_long_batch(
    db, settings, smtp_server
):
    # given
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        first = queue("case:RC-1:ack")
        second = queue("case:RC-2:ack")
        batch = outbox.claim()
        outbox.deliver_one(batch[0])

        # when: the first send took 59 s; a second worker looks just after the claim lease
        traveller.shift(timedelta(seconds=59))
        outbox.renew_lease(batch[1])
        traveller.shift(timedelta(seconds=2))
        stolen = outbox.claim()
        outbox.deliver_one(batch[1])

    # then
    assert stolen == []
    assert reload(first).status == reload(second).status == OutboxMessage.Status.SENT
    assert len(smtp_server.handler.received) == 2


def test_it_claims_in_small_batches_in_due_order(db):
    # given
    with time_machine.travel(NOW, tick=False) as traveller:
        for number in range(12):
            queue(f"case:RC-{number}:ack")
            traveller.shift(timedelta(seconds=1))

        # when
        first = outbox.claim()
        second = outbox.claim()

    # then
    assert [m.dedupe_key for m in first] == [f"case:RC-{n}:ack" for n in range(10)]
    assert [m.dedupe_key for m in second] == ["case:RC-10:ack", "case:RC-11:ack"]
    assert len({m.lease_token for m in first}) == 1


def test_it_logs_each_delivery_naming_the_case(db, smtp_server, caplog):
    # given
    caplog.set_level(logging.INFO, logger="recours.outbox")
    message = queue("case:RC-7KQ4-M9XP:ack")

    # when
    outbox.deliver_due()

    # then
    [line] = [r for r in caplog.records if r.name == "recours.outbox"]
    assert line.levelno == logging.INFO
    assert "sent" in line.getMessage()
    assert "RC-7KQ4-M9XP" in line.getMessage()
    assert (line.case, line.channel, line.message_id, line.attempt) == (
        "RC-7KQ4-M9XP",
        "email",
        message.pk,
        1,
    )


def test_it_logs_an_error_naming_the_case_when_a_message_fails_for_good(
    db, smtp_down, settings, caplog
):
    # given: one attempt left
    settings.OUTBOX_MAX_ATTEMPTS = 2
    with time_machine.travel(NOW, tick=False) as traveller:
        message = queue("case:RC-7KQ4-M9XP:ack")
        outbox.deliver_due()
        errors_before = [r for r in caplog.records if r.levelno >= logging.ERROR]
        traveller.shift(timedelta(seconds=10))

        # when
        outbox.deliver_due()

    # then: the retry was a warning, the last failure one error naming the case
    assert errors_before == []
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.name == "recours.outbox"
    assert "RC-7KQ4-M9XP" in error.getMessage()
    assert "2 attempts" in error.getMessage()
    assert (error.case, error.message_id, error.attempt) == (
        "RC-7KQ4-M9XP",
        message.pk,
        2,
    )
    assert reload(message).status == OutboxMessage.Status.FAILED


def test_it_times_out_a_hung_sms_gateway_and_backs_off(db, sms_gateway, settings):
    # given: a gateway that answers after the client's timeout
    settings.SMS_HTTP_TIMEOUT_SECONDS = 1
    sms_gateway.delay_seconds = 3
    message = queue("case:RC-1:ack", channel="sms", recipient="+33612345678")

    # when
    started = time.monotonic()
    outbox.deliver_due()
    elapsed_seconds = time.monotonic() - started

    # then
    assert elapsed_seconds < 2.5
    message = reload(message)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert "timed out" in message.last_error
