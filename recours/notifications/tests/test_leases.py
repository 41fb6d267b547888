"""recours.core.leases, on the outbox's rows (core has no leased model of its own)."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.db.utils import OperationalError

from recours.notifications import outbox
from recours.notifications.models import OutboxMessage
from recours.notifications.outbox import LEASING
from recours.testing import NOW
from recours.testing.servers import queue


def reload(message: OutboxMessage) -> OutboxMessage:
    message.refresh_from_db()
    return message


def test_it_settles_nothing_once_another_worker_took_the_row(db, settings):
    # given: our lease expired and another worker claimed the row
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        queue("case:RC-1:ack")
        [ours] = LEASING.claim(10)
        traveller.shift(timedelta(seconds=60))
        [theirs] = LEASING.claim(10)

        # when
        settled = LEASING.settle(ours, status=OutboxMessage.Status.SENT)

    # then
    assert settled is False
    row = reload(theirs)
    assert (row.status, row.lease_token) == ("pending", theirs.lease_token)


def test_it_ends_the_lease_when_it_settles(db, frozen):
    # given
    queue("case:RC-1:ack")
    [claimed] = LEASING.claim(10)

    # when
    settled = LEASING.settle(claimed, status=OutboxMessage.Status.SENT)

    # then
    row = reload(claimed)
    assert settled is True
    assert (row.status, row.lease_token, row.lease_until) == ("sent", "", None)


def test_it_does_not_renew_a_row_that_is_no_longer_live(db, frozen):
    # given: the row was sent meanwhile (e.g. by staff marking it)
    message = queue("case:RC-1:ack")
    [claimed] = LEASING.claim(10)
    OutboxMessage.objects.filter(pk=message.pk).update(status="sent")

    # when
    renewed = LEASING.renew(claimed)

    # then
    assert renewed is False


def test_it_renews_by_pushing_the_lease_and_the_due_time(db, settings):
    # given
    settings.OUTBOX_LEASE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        queue("case:RC-1:ack")
        [claimed] = LEASING.claim(10)
        traveller.shift(timedelta(seconds=50))

        # when
        renewed = LEASING.renew(claimed)

    # then
    row = reload(claimed)
    assert renewed is True
    assert row.lease_until == row.next_attempt_at == NOW + timedelta(seconds=110)
    assert claimed.lease_until == row.lease_until


def test_it_claims_only_among_the_rows_it_is_given(db, frozen):
    # given
    queue("case:RC-1:ack")
    sms = queue("case:RC-2:ack", channel="sms", recipient="+33612345678")

    # when
    claimed = LEASING.claim(10, among=OutboxMessage.objects.filter(channel="sms"))

    # then
    assert [message.pk for message in claimed] == [sms.pk]


def test_it_holds_no_transaction_or_row_lock_during_the_outbound_call(
    transactional_db, monkeypatch
):
    # given: a transport that looks, while it sends, at the row from elsewhere
    message = queue("case:RC-1:ack")
    seen: dict[str, object] = {}

    def lock_from_another_connection() -> None:
        try:
            with transaction.atomic():
                # NOWAIT fails at once on a row some transaction holds locked.
                locked = OutboxMessage.objects.select_for_update(nowait=True)
                seen["locked"] = locked.filter(pk=message.pk).exists()
        except OperationalError as error:
            seen["locked"] = error
        finally:
            connection.close()

    class Probe(outbox.Transport):
        def send(self, message: OutboxMessage) -> None:
            seen["in_transaction"] = transaction.get_connection().in_atomic_block
            if connection.features.has_select_for_update_nowait:
                thread = threading.Thread(target=lock_from_another_connection)
                thread.start()
                thread.join(timeout=10)

    monkeypatch.setitem(outbox.TRANSPORTS, "email", Probe())

    # when
    outbox.deliver_due()

    # then
    assert seen["in_transaction"] is False
    if connection.features.has_select_for_update_nowait:
        assert seen["locked"] is True
    assert reload(message).status == OutboxMessage.Status.SENT


@pytest.mark.parametrize("batch_size", [0, -1])
def test_it_refuses_an_empty_batch(db, batch_size):
    with pytest.raises(AssertionError):
        LEASING.claim(batch_size)
