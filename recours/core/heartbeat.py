"""A worker heartbeat: a job that stamps a row, read by /readyz.

The job writes at most once every BEAT_INTERVAL_SECONDS so a busy loop does
not turn into a stream of updates; it returns 0 so an idle worker still sleeps.
"""

import threading
from datetime import datetime
from time import monotonic

from recours.core import clock
from recours.core.models import WorkerHeartbeat

BEAT_INTERVAL_SECONDS = 10
NAME = "worker"

_lock = threading.Lock()
_last_beat_monotonic: float | None = None


def beat() -> int:
    """Stamp the heartbeat row unless this process did so recently."""
    global _last_beat_monotonic
    with _lock:
        now_monotonic = monotonic()
        if (
            _last_beat_monotonic is not None
            and now_monotonic - _last_beat_monotonic < BEAT_INTERVAL_SECONDS
        ):
            return 0
        WorkerHeartbeat.objects.update_or_create(
            name=NAME, defaults={"seen_at": clock.now()}
        )
        _last_beat_monotonic = now_monotonic
    return 0


def last_seen() -> datetime | None:
    """When any worker last stamped the heartbeat, or None if never."""
    row = WorkerHeartbeat.objects.filter(name=NAME).only("seen_at").first()
    return row.seen_at if row else None
