import signal

import pytest
from django.db import connection

from recours.core import worker


@pytest.fixture
def jobs(monkeypatch):
    """An empty job registry for the test, and the signal handlers put back after."""
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

    # when
    handled = worker.Loop(idle_seconds=0).run_pass()

    # then
    assert handled == 1
    assert ran == ["after"]
    assert "job broken failed" in caplog.text


def test_it_sleeps_only_when_a_pass_found_nothing(jobs, monkeypatch):
    # given
    results = iter([4, 0, 0])
    worker.register("sometimes", lambda: next(results))
    sleeps: list[float] = []
    monkeypatch.setattr(worker.time, "sleep", sleeps.append)

    # when
    worker.Loop(idle_seconds=0.5).forever(max_passes=3)

    # then
    assert sleeps == [0.5]


def test_it_stops_after_the_current_job_on_sigterm(jobs):
    # given
    ran = []
    loop = worker.Loop(idle_seconds=0)

    def asks_to_stop() -> int:
        ran.append("first")
        signal.raise_signal(signal.SIGTERM)
        return 1

    worker.register("first", asks_to_stop)
    worker.register("second", lambda: ran.append("second") or 1)

    # when
    loop.forever(max_passes=100)

    # then
    assert loop.stopping is True
    assert ran == ["first"]


def test_it_skips_locked_rows_where_the_database_can(db):
    expected = connection.vendor == "postgresql"
    assert worker.skip_locked() is expected


def test_it_registers_the_apps_jobs():
    assert {"outbox", "deadlines", "ratelimit-purge"} <= set(worker.JOBS)
