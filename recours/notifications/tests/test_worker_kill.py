"""The issue's promise: killing the worker during delivery and starting it again
loses no message.

A real SMTP server that answers slowly, a real worker process, SIGKILL in the
middle of a batch, a second worker, and at the end a clean SIGTERM stop.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from recours.notifications.models import OutboxMessage
from recours.notifications.outbox import message_id
from recours.notifications.tests.conftest import SMTP_BACKEND, queue, start_smtp

MESSAGE_COUNT = 20
SMTP_DELAY_SECONDS = 0.3
LEASE_SECONDS = 2


def database_url() -> str:
    """The URL of the test database this process is using right now."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "localhost"
    port = database.get("PORT") or 5432
    return f"postgres://{database['USER']}{password}@{host}:{port}/{database['NAME']}"


def worker_env(smtp_port: int, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.endswith("_FILE"):
            del env[name]  # Only the values below, never a secret read from elsewhere.
    env.update(
        DJANGO_SETTINGS_MODULE="recours.settings",
        DATABASE_URL=database_url(),
        RECOURS_VAR_DIR=str(var_dir),
        SECRET_KEY="kill-test-" + "x" * 40,
        EMAIL_BACKEND=SMTP_BACKEND,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT_SECONDS="5",
        SMS_BACKEND="record",
        OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "recours.cli", "worker", "--idle-seconds", "0.1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    condition: Callable[[], bool], timeout_seconds: float, what: str, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(
        f"timed out after {timeout_seconds} s waiting for {what}\n"
        f"worker log:\n{log_path.read_text()[-4000:]}"
    )


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
        env = worker_env(server.port, tmp_path / "var")

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
