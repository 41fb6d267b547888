import pytest
from django.db import transaction

from recours.core.append_only import AppendOnlyError
from recours.core.audit import Actor, record
from recours.core.models import AuditEvent, RateCounter
from recours.testing import NOW


def test_it_refuses_to_record_outside_a_transaction(transactional_db):
    # given
    counter = RateCounter.objects.create(key="k", window_start=NOW)

    # when
    with pytest.raises(AssertionError, match="outside a transaction"):
        record(Actor.system(), "counter.touched", counter)

    # then
    assert AuditEvent.objects.count() == 0


def test_it_records_who_did_what_inside_a_transaction(transactional_db):
    # given
    counter = RateCounter.objects.create(key="k", window_start=NOW)

    # when
    with transaction.atomic():
        event = record(
            Actor(label="alice", organization_id=7),
            "counter.touched",
            counter,
            reason="because",
            data={"n": 1},
        )

    # then
    event.refresh_from_db()
    assert event.object_type == "core.ratecounter"
    assert event.object_id == str(counter.pk)
    assert (event.actor_label, event.reason, event.data) == (
        "alice",
        "because",
        {"n": 1},
    )


def test_it_never_updates_an_event(transactional_db):
    # given
    counter = RateCounter.objects.create(key="k", window_start=NOW)
    with transaction.atomic():
        event = record(Actor.system(), "counter.touched", counter)

    # when / then
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    event.refresh_from_db()
    assert event.reason == ""
