import signal
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from recours.core import worker


@pytest.fixture
def jobs(monkeypatch, transactional_db):
    """An empty job registry for the test, and the signal handlers put back after.

    The loop closes stale connections around each job, which needs a database
    in autocommit mode (never a test's transaction).
    """
    registry: dict[str, worker.Job] = {}
    monkeypatch.setattr(worker, "JOBS", registry)
    saved = {
        number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)
    }
    yield registry
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_it_runs_every_job_and_adds_up_what_they_handled(jobs):
    # given
    worker.register("a", lambda: 2)
    worker.register("b", lambda: 3)

    # when
    handled = worker.Loop(idle_seconds=0).run_pass()

    # then
    assert handled == 5


def test_it_carries_on_after_a_failing_job(jobs, caplog):
    # given
    ran = []

    def broken() -> int:
        raise RuntimeError("boom")

    worker.register("broken", broken)
    worker.register("after", lambda: ran.append("after") or 1)
    loop = worker.Loop(idle_seconds=0)

    # when
    handled = loop.run_pass()

    # then
    assert handled == 1
    assert ran == ["after"]
    assert "job broken failed" in caplog.text
    assert loop.failed == ["broken"]


def test_it_exits_non_zero_when_a_job_failed_in_a_single_pass(jobs, capsys):
    # given
    def broken() -> int:
        raise RuntimeError("boom")

    worker.register("fine", lambda: 2)
    worker.register("broken", broken)

    # when
    with pytest.raises(CommandError, match="job\\(s\\) failed: broken"):
        call_command("worker", "--once")

    # then: the other job's work is still reported
    assert "handled 2 item(s)" in capsys.readouterr().out


def test_it_exits_zero_when_every_job_succeeded_in_a_single_pass(jobs, capsys):
    # given
    worker.register("fine", lambda: 0)

    # when
    call_command("worker", "--once")

    # then
    assert "handled 0 item(s)" in capsys.readouterr().out


def test_it_sleeps_only_when_its_job_found_nothing(jobs, monkeypatch):
    # given
    results = iter([4, 0, 0])
    worker.register("sometimes", lambda: next(results))
    loop = worker.Loop(idle_seconds=0.5)
    sleeps: list[float] = []
    monkeypatch.setattr(loop.stop_event, "wait", sleeps.append)

    # when
    loop.forever(max_passes=3)

    # then
    assert sleeps == [0.5]


def test_it_does_not_hold_a_job_while_another_is_slow(jobs):
    # given: a job stuck (like a hung gateway) until the other job ran three times
    fast_runs: list[int] = []
    others_ran = threading.Event()
    seen: list[bool] = []

    def fast() -> int:
        fast_runs.append(1)
        if len(fast_runs) == 3:
            others_ran.set()
        return 1

    def slow() -> int:
        seen.append(others_ran.wait(timeout=5))
        return 1

    worker.register("slow", slow)
    worker.register("fast", fast)

    # when
    worker.Loop(idle_seconds=0).forever(max_passes=3)

    # then: the fast job did not wait for the slow one
    assert seen[0] is True
    assert len(fast_runs) == 3


def test_it_stops_every_job_after_its_current_item_on_sigterm(jobs):
    # given
    ran = []
    loop = worker.Loop(idle_seconds=0.01)

    def asks_to_stop() -> int:
        ran.append("first")
        signal.raise_signal(signal.SIGTERM)
        # Still busy with its item when the signal arrives.
        assert loop.stop_event.wait(timeout=5)
        return 1

    worker.register("first", asks_to_stop)
    worker.register("idle", lambda: 0)

    # when
    loop.forever(max_passes=100)

    # then: forever returned, and the first job did not start a second item
    assert loop.stopping is True
    assert ran == ["first"]


def test_it_skips_locked_rows_where_the_database_can(db):
    expected = connection.vendor == "postgresql"
    assert worker.skip_locked() is expected


def test_it_registers_the_apps_jobs():
    assert {"outbox", "deadlines", "ratelimit-purge"} <= set(worker.JOBS)
