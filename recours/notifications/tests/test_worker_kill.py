"""The issue's promise: killing the worker during delivery and starting it again
loses no message.

A real SMTP server that answers slowly, a real worker process, SIGKILL in the
middle of a batch, a second worker, and at the end a clean SIGTERM stop.
"""

import signal
import subprocess
from collections import Counter

import pytest

from recours.notifications.models import OutboxMessage
from recours.notifications.outbox import message_id
from recours.testing.servers import queue, start_smtp
from recours.testing.workers import start_worker, wait_for, worker_env

MESSAGE_COUNT = 20
SMTP_DELAY_SECONDS = 0.3
LEASE_SECONDS = 2


def sent_count() -> int:
    return OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count()


@pytest.mark.slow
def test_it_loses_no_message_when_the_worker_is_killed(transactional_db, tmp_path):
    # given: a slow mail server and twenty committed messages
    controller, server = start_smtp(delay_seconds=SMTP_DELAY_SECONDS)
    workers: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"
    try:
        keys = [f"case:RC-KILL-{number:04d}:ack" for number in range(MESSAGE_COUNT)]
        for key in keys:
            queue(key, recipient=f"{key.split(':')[1].lower()}@example.org")
        env = worker_env(
            server.port, tmp_path / "var", OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS)
        )

        # when: the worker is killed in the middle of its first batch
        workers.append(start_worker(env, log_path))
        wait_for(lambda: len(server.handler.received) >= 3, 60, "3 messages", log_path)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at_count = len(server.handler.received)

        # then: part of the work is left behind, some of it under the dead lease
        assert sent_count() < MESSAGE_COUNT
        left = OutboxMessage.objects.exclude(status=OutboxMessage.Status.SENT)
        assert (
            left.filter(status=OutboxMessage.Status.PENDING)
            .exclude(lease_token="")
            .exists()
        )
        assert not OutboxMessage.objects.filter(
            status=OutboxMessage.Status.FAILED
        ).exists()

        # when: a new worker starts
        workers.append(start_worker(env, log_path))
        wait_for(lambda: sent_count() == MESSAGE_COUNT, 90, "every row sent", log_path)

        # then: every message arrived, at least once; only one was in flight at the kill
        arrived = Counter(server.handler.message_ids())
        assert set(arrived) >= {message_id(key) for key in keys}
        assert len(arrived) == MESSAGE_COUNT
        duplicates = [mid for mid, count in arrived.items() if count > 1]
        assert len(duplicates) <= 1, duplicates
        assert sum(arrived.values()) <= MESSAGE_COUNT + 1
        assert killed_at_count < MESSAGE_COUNT
        for received in server.handler.received:
            assert received.rcpt_tos[0].startswith("rc-kill-")

        # when: the worker is asked to stop
        workers[1].send_signal(signal.SIGTERM)

        # then: it finishes cleanly and promptly
        assert workers[1].wait(timeout=20) == 0
        assert "worker stopping" in log_path.read_text()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        controller.stop()
