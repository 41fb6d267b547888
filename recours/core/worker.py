"""The worker loop: small jobs that each claim a little due work.

Apps register their jobs in `AppConfig.ready()`, so core imports nobody. A job
returns how many items it handled; when a whole pass finds nothing the loop
sleeps briefly. Jobs must be safe to run twice and from many workers at once.
"""

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connection

log = logging.getLogger("recours.worker")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], int]


JOBS: dict[str, Job] = {}


def register(name: str, run: Callable[[], int]) -> None:
    JOBS[name] = Job(name, run)


def skip_locked() -> bool:
    """Whether to ask select_for_update for SKIP LOCKED (not on SQLite)."""
    return bool(connection.features.has_select_for_update_skip_locked)


class Loop:
    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self.stopping = False

    def stop(self, *_args: object) -> None:
        log.info("worker stopping after the current job")
        self.stopping = True

    def run_pass(self) -> int:
        handled_total = 0
        for job in list(JOBS.values()):
            if self.stopping:
                break
            close_old_connections()
            try:
                handled_total += job.run()
            except Exception:
                # A job pushes its failing row's deadline forward before raising,
                # so logging and moving on cannot crash-loop the worker.
                log.exception("job %s failed", job.name)
        return handled_total

    def forever(self, max_passes: int | None = None) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        passes = 0
        while not self.stopping:
            handled = self.run_pass()
            passes += 1
            if max_passes is not None and passes >= max_passes:
                break
            if handled == 0 and not self.stopping:
                time.sleep(self.idle_seconds)
