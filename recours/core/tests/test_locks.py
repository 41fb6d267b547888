"""Row locks in primary-key order, and the race helpers that test them."""

import pytest
from django.db import connection, transaction
from django.db.models import F

from recours.core.locks import lock_row, lock_rows
from recours.core.models import RateCounter
from recours.testing import NOW
from recours.testing.race import before, concurrently, in_other_transaction

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def counters(*keys: str) -> list[RateCounter]:
    return [RateCounter.objects.create(key=key, window_start=NOW) for key in keys]


def test_it_locks_rows_lowest_primary_key_first(db, django_assert_num_queries):
    # given
    first, second, third = counters("a", "b", "c")

    # when
    with transaction.atomic(), django_assert_num_queries(1) as queries:
        locked = lock_rows(RateCounter.objects.filter(key__in=["c", "a", "b"]))

    # then
    assert locked == [first, second, third]
    sql = queries.captured_queries[0]["sql"]
    assert "ORDER BY" in sql
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in sql


@postgres_only
def test_another_transaction_waits_for_the_lock(transactional_db):
    # given
    (counter,) = counters("a")

    # when / then: the other transaction cannot take the row meanwhile
    with transaction.atomic():
        lock_row(RateCounter, counter.pk)
        with pytest.raises(TimeoutError):
            in_other_transaction(
                lambda: lock_rows(RateCounter.objects.filter(pk=counter.pk)),
                timeout=1,
            )


@postgres_only
def test_concurrent_increments_under_the_lock_lose_nothing(transactional_db):
    # given
    (counter,) = counters("a")

    def increment() -> int:
        row = lock_row(RateCounter, counter.pk)
        row.count += 1
        row.save(update_fields=["count"])
        return row.count

    # when
    outcomes = concurrently([increment] * 12)

    # then
    assert sorted(outcomes) == list(range(1, 13))
    counter.refresh_from_db()
    assert counter.count == 12


@postgres_only
def test_before_runs_the_rival_between_read_and_lock(transactional_db):
    # given
    (counter,) = counters("a")

    def rival() -> None:
        RateCounter.objects.filter(pk=counter.pk).update(count=F("count") + 10)

    # when: we read, the rival commits, then we lock and see its write
    with before("recours.core.tests.test_locks.lock_row", rival) as results:
        seen = RateCounter.objects.get(pk=counter.pk).count
        with transaction.atomic():
            locked = lock_row(RateCounter, counter.pk)

    # then
    assert results == [None]
    assert (seen, locked.count) == (0, 10)
