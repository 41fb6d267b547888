"""Killing the worker in the middle of webhook deliveries loses no event: a
real endpoint that answers slowly, a real worker process, SIGKILL, a second
worker. Every event arrives, verified, under one webhook-id each."""

import signal
import subprocess
from collections import Counter

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from recours.core.audit import Actor
from recours.notifications import actions, webhooks
from recours.notifications.models import OutboxMessage
from recours.testing.servers import free_port
from recours.testing.webhooks import receiving
from recours.testing.workers import start_worker, wait_for, worker_env

EVENT_COUNT = 20
RECEIVER_DELAY_SECONDS = 0.3
LEASE_SECONDS = 2


def sent_count() -> int:
    return OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count()


@pytest.mark.slow
def test_it_loses_no_webhook_when_the_worker_is_killed(
    transactional_db, merchant_a, settings, tmp_path
):
    # given: a slow endpoint and twenty committed events
    settings.WEBHOOK_ALLOW_PRIVATE = True
    workers: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"
    with receiving() as receiver:
        receiver.delay_seconds = RECEIVER_DELAY_SECONDS
        endpoint = actions.create_endpoint(
            Actor.system("test"), merchant_a.pk, url=receiver.url(),
            description="", event_types=["case.opened"],
        )  # fmt: skip
        ids = set()
        for number in range(EVENT_COUNT):
            with transaction.atomic():
                [message] = webhooks.emit(merchant_a.pk, "case.opened",
                                          {"number": number}, f"case:RC-{number}:opened")  # fmt: skip
            ids.add(webhooks.webhook_id(message))
        env = worker_env(
            free_port(), tmp_path / "var", OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
            WEBHOOK_ALLOW_PRIVATE="true",
        )  # fmt: skip
        try:
            # when: the worker is killed in the middle of its first batch
            workers.append(start_worker(env, log_path))
            wait_for(lambda: len(receiver.deliveries) >= 3, 60, "3 events", log_path)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            assert sent_count() < EVENT_COUNT

            # when: a new worker starts
            workers.append(start_worker(env, log_path))
            wait_for(lambda: sent_count() == EVENT_COUNT, 90, "every event", log_path)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(timeout=20)

    # then: every event arrived, signed; at most the one in flight twice
    arrived = Counter(d.headers["webhook-id"] for d in receiver.deliveries)
    assert set(arrived) == ids
    assert sum(arrived.values()) <= EVENT_COUNT + 1
    numbers = {
        Webhook(endpoint.secret).verify(d.body, d.headers)["data"]["number"]
        for d in receiver.deliveries
    }
    assert numbers == set(range(EVENT_COUNT))
