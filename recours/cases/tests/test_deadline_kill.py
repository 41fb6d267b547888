"""The issue's promise: killing the worker during a deadline sweep and starting
it again loses no deadline, and applies none twice.

Real `recours worker` processes on the test database, SIGKILLed at random
moments of a sweep of many due cases, then restarted. The assertions read only
what anyone can observe (each case's row, timeline, audit events and queued
messages), and compare every case with a control copy of the same template
swept once in this process: the test follows the workflows as they change.
"""

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from recours.cases.models import Case
from recours.core import clock
from recours.notifications.models import OutboxMessage
from recours.testing.deadlines import (
    due_copies,
    expiry_templates,
    outcome,
    sweep_deadlines,
)
from recours.testing.servers import start_smtp
from recours.testing.workers import start_worker, wait_for, worker_env

DUE_COUNT = 800
KILL_COUNT = 10
# After a worker has applied its first deadlines, it dies within this long.
KILL_AFTER_SECONDS_MAX = 0.3
# "worker started" is logged just before the worker handles SIGTERM.
WORKER_SETTLE_SECONDS = 0.5
PROGRESS_TIMEOUT_SECONDS = 60
SWEEP_TIMEOUT_SECONDS = 180
COPY_PREFIX = "KILL-"
CONTROL_PREFIX = "CTRL-"


def still_due() -> int:
    return Case.objects.filter(
        reference__startswith=COPY_PREFIX, due_at__lte=clock.now()
    ).count()


class Workers:
    """`recours worker` processes, each with its own log file."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.logs: dict[subprocess.Popen, Path] = {}

    def running(self) -> list[subprocess.Popen]:
        return [worker for worker in self.logs if worker.poll() is None]

    def start(self) -> subprocess.Popen:
        log_path = self.log_dir / f"worker-{len(self.logs)}.log"
        worker = start_worker(self.env, log_path)
        self.logs[worker] = log_path
        return worker

    def kill_one(self, rng: random.Random) -> None:
        """SIGKILL a running worker at a random moment after the sweep moved on."""
        left_before, newest = still_due(), list(self.logs.values())[-1]
        wait_for(lambda: still_due() < left_before, PROGRESS_TIMEOUT_SECONDS,
                 "the sweep to go on", newest)  # fmt: skip
        time.sleep(rng.uniform(0, KILL_AFTER_SECONDS_MAX))
        victim = rng.choice(self.running())
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)

    def wait_until_up(self, worker: subprocess.Popen) -> None:
        # A worker still starting would die of SIGTERM instead of stopping.
        log_path = self.logs[worker]
        wait_for(lambda: "worker started" in log_path.read_text(),
                 PROGRESS_TIMEOUT_SECONDS, "the worker to start", log_path)  # fmt: skip
        time.sleep(WORKER_SETTLE_SECONDS)

    def stop_all(self) -> None:
        for worker in self.logs:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("workers_at_once", [1, 2])
def test_it_applies_each_deadline_once_when_workers_are_killed(
    transactional_db, tmp_path, platform, customer_a, merchant_a_agent, agent, admin,
    workers_at_once,
):  # fmt: skip
    if workers_at_once > 1 and connection.vendor != "postgresql":
        pytest.skip("workers share a sweep with FOR UPDATE SKIP LOCKED: PostgreSQL")
    seed = int(os.environ.get("KILL_TEST_SEED", time.time_ns()))
    print(f"KILL_TEST_SEED={seed}")  # shown with a failure, to replay it
    rng = random.Random(seed)

    # given: one control copy per way a deadline expires, swept here, once
    # (the admin is the team lead told of a breach, the merchant's agent the
    # merchant's address)
    templates = expiry_templates(agent, customer_a)
    controls = due_copies(list(templates.values()), len(templates), CONTROL_PREFIX,
                          clock.now())  # fmt: skip
    assert sweep_deadlines() == len(controls)
    expected = [outcome(control) for control in controls]
    assert all(control.due_at is None or control.due_at > clock.now()
               for control in controls)  # fmt: skip

    # given: many due copies of the same templates, and a mail server
    copies = due_copies(list(templates.values()), DUE_COUNT, COPY_PREFIX, clock.now())
    controller, server = start_smtp()
    workers = Workers(worker_env(server.port, tmp_path / "var"), tmp_path)
    try:
        # when: workers are killed at random moments of the sweep, and replaced
        kills_mid_sweep = 0
        for _kill in range(KILL_COUNT):
            while len(workers.running()) < workers_at_once:
                workers.start()
            if still_due() == 0:
                break
            workers.kill_one(rng)
            kills_mid_sweep += still_due() > 0
        assert kills_mid_sweep >= 1, "every kill came after the sweep had ended"
        last = workers.start()
        wait_for(lambda: still_due() == 0, SWEEP_TIMEOUT_SECONDS, "no case due",
                 workers.logs[last])  # fmt: skip

        # then: every case had its deadline applied exactly once
        now = clock.now()
        for number, copy in enumerate(copies):
            result = outcome(copy)
            assert copy.due_at is None or copy.due_at > now, copy.reference
            assert result == expected[number % len(expected)], copy.reference
        keys = list(OutboxMessage.objects.values_list("dedupe_key", flat=True))
        assert [key for key, count in Counter(keys).items() if count > 1] == []

        # when: the surviving workers are asked to stop
        running = workers.running()
        for worker in running:
            workers.wait_until_up(worker)
            worker.send_signal(signal.SIGTERM)

        # then: they finish cleanly
        assert [worker.wait(timeout=30) for worker in running] == [0] * len(running)
    finally:
        workers.stop_all()
        controller.stop()
