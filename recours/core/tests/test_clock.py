import threading
from datetime import datetime, timedelta

import pytest

from recours.core import clock
from recours.testing import NOW


def test_it_follows_the_frozen_time(frozen):
    # when
    frozen.shift(timedelta(hours=2))

    # then
    assert clock.now() == NOW + timedelta(hours=2)


def test_at_sets_the_time_for_this_thread_only(frozen):
    # given
    moment = NOW - timedelta(days=20)
    seen_elsewhere = []

    # when
    with clock.at(moment):
        inside = clock.now()
        thread = threading.Thread(target=lambda: seen_elsewhere.append(clock.now()))
        thread.start()
        thread.join()

    # then
    assert inside == moment
    assert seen_elsewhere == [NOW]
    assert clock.now() == NOW


def test_at_refuses_a_naive_time():
    # when / then
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"), clock.at(naive):
        pass
