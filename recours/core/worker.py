"""The worker loop: small jobs that each claim a little due work.

Apps register their jobs in `AppConfig.ready()`, so core imports nobody. A job
returns how many items it handled; `recours worker` runs each job in its own
thread, which sleeps briefly when its job found nothing. Jobs must be safe to
run twice and from many workers at once.
"""

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connection

log = logging.getLogger("recours.worker")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], int]


JOBS: dict[str, Job] = {}
# Set by SIGTERM in the running `forever` loop; see stop_requested().
_stop_requested = threading.Event()


def register(name: str, run: Callable[[], int]) -> None:
    JOBS[name] = Job(name, run)


def stop_requested() -> bool:
    """For a job working through a batch: stop early, the worker is stopping.

    Items left behind keep their lease, so they come due again when it expires.
    """
    return _stop_requested.is_set()


def skip_locked() -> bool:
    """Whether to ask select_for_update for SKIP LOCKED (not on SQLite)."""
    return bool(connection.features.has_select_for_update_skip_locked)


class Loop:
    """Runs the registered jobs: once each in turn (`run_pass`), or each in its
    own thread until stopped (`forever`).

    One thread per job keeps jobs from waiting on each other: a hung SMS
    gateway holds the outbox thread for its timeout, never the deadlines.
    Django gives each thread its own database connection.
    """

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self.stop_event = threading.Event()
        # Names of the jobs that raised, for `worker --once` to exit non-zero.
        self.failed: list[str] = []

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def stop(self, *_args: object) -> None:
        log.info("worker stopping after the current job")
        self.stop_event.set()

    def run_job(self, job: Job) -> int:
        """Run a job once; a failure is logged, recorded and counts as nothing done."""
        close_old_connections()
        try:
            return job.run()
        except Exception:
            # A job pushes its failing row's deadline forward before raising,
            # so logging and moving on cannot crash-loop the worker.
            log.exception("job %s failed", job.name)
            self.failed.append(job.name)
            return 0
        finally:
            # Give the connection back (to the pool) at the end of every pass,
            # and drop one a database restart broke.
            close_old_connections()

    def run_pass(self) -> int:
        handled_total = 0
        for job in list(JOBS.values()):
            if self.stopping:
                break
            handled_total += self.run_job(job)
        return handled_total

    def run_thread(self, job: Job, max_passes: int | None) -> None:
        """One job's loop: run it, and rest when it found nothing to do."""
        passes = 0
        try:
            while not self.stopping:
                handled = self.run_job(job)
                passes += 1
                if max_passes is not None and passes >= max_passes:
                    break
                if handled == 0:
                    self.stop_event.wait(self.idle_seconds)
        finally:
            connection.close()

    def forever(self, max_passes: int | None = None) -> None:
        """Run every job in its own thread until SIGTERM or SIGINT (or, for
        tests, until each job ran `max_passes` times)."""
        global _stop_requested
        _stop_requested = self.stop_event
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        try:
            self.run_threads(max_passes)
        finally:
            _stop_requested = threading.Event()

    def run_threads(self, max_passes: int | None) -> None:
        threads = [
            threading.Thread(
                target=self.run_thread, args=(job, max_passes), name=f"job-{job.name}"
            )
            for job in list(JOBS.values())
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # A timeout lets the main thread run the signal handlers meanwhile.
            while thread.is_alive():
                thread.join(timeout=0.5)
