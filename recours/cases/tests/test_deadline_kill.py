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

DUE_COUNT = 600
KILL_COUNT = 6
# After a worker has applied its first deadlines, it dies within this long.
KILL_AFTER_SECONDS_MAX = 0.3
PROGRESS_TIMEOUT_SECONDS = 60
SWEEP_TIMEOUT_SECONDS = 180
COPY_PREFIX = "KILL-"
CONTROL_PREFIX = "CTRL-"


def still_due() -> int:
    return Case.objects.filter(
        reference__startswith=COPY_PREFIX, due_at__lte=clock.now()
    ).count()


def kill_one(
    workers: list[subprocess.Popen], rng: random.Random, log_path: Path
) -> None:
    """SIGKILL one running worker at a random moment after the sweep moved on."""
    left_before = still_due()
    wait_for(lambda: still_due() < left_before, PROGRESS_TIMEOUT_SECONDS,
             "the sweep to go on", log_path)  # fmt: skip
    time.sleep(rng.uniform(0, KILL_AFTER_SECONDS_MAX))
    victim = rng.choice([worker for worker in workers if worker.poll() is None])
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)


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
    log_path = tmp_path / "worker.log"
    env = worker_env(server.port, tmp_path / "var")
    workers: list[subprocess.Popen] = []
    try:
        # when: workers are killed at random moments of the sweep, and replaced
        kills_mid_sweep = 0
        for _kill in range(KILL_COUNT):
            while len([w for w in workers if w.poll() is None]) < workers_at_once:
                workers.append(start_worker(env, log_path))
            if still_due() == 0:
                break
            kill_one(workers, rng, log_path)
            kills_mid_sweep += still_due() > 0
        assert kills_mid_sweep >= 1, "every kill came after the sweep had ended"
        workers.append(start_worker(env, log_path))
        wait_for(lambda: still_due() == 0, SWEEP_TIMEOUT_SECONDS, "no case due",
                 log_path)  # fmt: skip

        # then: every case had its deadline applied exactly once
        now = clock.now()
        for number, copy in enumerate(copies):
            result = outcome(copy)
            assert copy.due_at is None or copy.due_at > now, copy.reference
            assert result == expected[number % len(expected)], copy.reference
        keys = list(OutboxMessage.objects.values_list("dedupe_key", flat=True))
        assert [key for key, count in Counter(keys).items() if count > 1] == []

        # when: the surviving workers are asked to stop
        running = [worker for worker in workers if worker.poll() is None]
        for worker in running:
            worker.send_signal(signal.SIGTERM)

        # then: they finish cleanly
        assert [worker.wait(timeout=30) for worker in running] == [0] * len(running)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        controller.stop()
