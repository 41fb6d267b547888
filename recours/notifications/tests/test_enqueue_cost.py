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


def test_it_queues_a_new_message_in_two_statements_without_a_savepoint(db):
    # given
    enqueue("warm-up")

    # when
    with CaptureQueriesContext(connection) as captured:
        message = enqueue("case:RC-2:ack")

    # then: an INSERT that skips an existing key, then the key's row
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == 2, statements
    assert not any("SAVEPOINT" in sql for sql in statements)
    assert OutboxMessage.objects.get(dedupe_key="case:RC-2:ack").pk == message.pk


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
