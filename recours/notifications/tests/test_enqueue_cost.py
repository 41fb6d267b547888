from django.db import connection
from django.test.utils import CaptureQueriesContext

from recours.notifications import outbox
from recours.notifications.models import OutboxMessage


def enqueue(dedupe_key: str) -> OutboxMessage:
    # The test's own transaction stands for the action's.
    return outbox.enqueue(
        dedupe_key=dedupe_key,
        channel="email",
        recipient="a@example.org",
        template="case_status.email",
        context={"case": {"reference": "RC-1"}, "status_label": "Résolu"},
        language="fr",
    )


def test_it_queues_a_new_message_in_one_statement(db):
    # given
    enqueue("warm-up")

    # when
    with CaptureQueriesContext(connection) as captured:
        message = enqueue("case:RC-2:ack")

    # then: an INSERT that skips an existing key and returns the new id
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == 1, statements
    assert not any("SAVEPOINT" in sql for sql in statements)
    stored = OutboxMessage.objects.get(dedupe_key="case:RC-2:ack")
    assert stored.pk == message.pk
    assert (stored.subject, stored.body) == (message.subject, message.body)
    assert not message._state.adding


def test_it_returns_the_first_row_for_a_key_already_queued(db):
    # given
    first = enqueue("case:RC-3:ack")

    # when
    with CaptureQueriesContext(connection) as captured:
        second = enqueue("case:RC-3:ack")

    # then
    assert second.pk == first.pk
    assert OutboxMessage.objects.filter(dedupe_key="case:RC-3:ack").count() == 1
    assert len(captured.captured_queries) == 2
