"""One clock for the whole code base.

Code asks `clock.now()` for the current time instead of calling
`timezone.now()` here and there. Tests freeze and move it with time-machine
(the `frozen` fixture), which this follows. The demo writes its month of
simulated history with the real actions, each run `at()` its moment, so that
history rows are inserted with their time and never rewritten afterwards.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_state = threading.local()


def now() -> datetime:
    """The current time, aware, in UTC (or this thread's `at()` moment)."""
    moment: datetime | None = getattr(_state, "moment", None)
    return moment if moment is not None else timezone.now()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the block as if it were `moment`, in this thread only."""
    if timezone.is_naive(moment):
        raise ValueError(f"the clock needs an aware time, not {moment!r}")
    previous = getattr(_state, "moment", None)
    _state.moment = moment
    try:
        yield
    finally:
        _state.moment = previous
