from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recours.core import ratelimit
from recours.core.models import RateCounter

START = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)


@time_machine.travel(START, tick=False)
def test_it_allows_up_to_the_limit_then_refuses(db):
    # given
    for _ in range(3):
        assert ratelimit.hit("report:1.2.3.4", "3/h") is False

    # when
    over = ratelimit.hit("report:1.2.3.4", "3/h")

    # then
    assert over is True
    assert RateCounter.objects.get(key="report:1.2.3.4").count == 4


@time_machine.travel(START, tick=False)
def test_it_counts_each_key_separately(db):
    # given
    ratelimit.hit("report:a", "1/h")

    # when / then
    assert ratelimit.hit("report:b", "1/h") is False
    assert ratelimit.hit("report:a", "1/h") is True


def test_it_starts_a_new_window_when_the_period_rolls_over(db):
    with time_machine.travel(START, tick=False) as traveller:
        # given: the limit is used up
        ratelimit.hit("status:x", "2/m")
        ratelimit.hit("status:x", "2/m")
        assert ratelimit.hit("status:x", "2/m") is True

        # when
        traveller.shift(timedelta(seconds=60))

        # then
        assert ratelimit.hit("status:x", "2/m") is False
        assert RateCounter.objects.filter(key="status:x").count() == 2


def test_it_purges_windows_older_than_a_day(db):
    # given
    with time_machine.travel(START - timedelta(days=2), tick=False):
        ratelimit.hit("old", "5/h")
    with time_machine.travel(START - timedelta(hours=2), tick=False):
        ratelimit.hit("recent", "5/h")

    # when
    with time_machine.travel(START, tick=False):
        deleted = ratelimit.purge_old()

    # then
    assert deleted == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["recent"]


def test_it_parses_rates():
    assert ratelimit.parse_rate("10/h") == (10, 3600)
    assert ratelimit.parse_rate("20/m") == (20, 60)
    assert ratelimit.parse_rate("1/d") == (1, 86400)


@time_machine.travel(START, tick=False)
def test_it_counts_a_request_in_one_statement(db):
    # given: the window's counter exists, as for every request of a busy key
    ratelimit.hit("api-key:1", "100/m")

    # when
    with CaptureQueriesContext(connection) as captured:
        over = ratelimit.hit("api-key:1", "100/m")

    # then: one upsert, no transaction holding the hot row across round trips
    assert over is False
    assert len(captured.captured_queries) == 1
    assert RateCounter.objects.get(key="api-key:1").count == 2
