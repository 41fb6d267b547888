"""Sending again the messages that ran out of attempts (actions and command)."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from recours.core.audit import Actor
from recours.core.errors import Conflict, NotFound
from recours.core.models import AuditEvent
from recours.notifications import actions
from recours.notifications.models import OutboxMessage
from recours.testing import NOW
from recours.testing.servers import queue

ACTOR = Actor(label="agent", user_id=None)


@pytest.fixture(autouse=True)
def _english(settings):
    # The command's messages are read in English.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def failed(key: str, organization_id: int | None = None) -> OutboxMessage:
    """A message that ran out of attempts (written directly: test setup)."""
    message = queue(key)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.FAILED,
        attempts=12,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        organization_id=organization_id,
    )
    message.refresh_from_db()
    return message


def state(message: OutboxMessage) -> tuple:
    message.refresh_from_db()
    return (message.status, message.attempts, message.next_attempt_at)


def test_it_queues_a_failed_message_again(db, frozen):
    # given
    message = failed("case:RC-1:ack")

    # when
    actions.resend(ACTOR, message.pk)

    # then
    assert state(message) == ("pending", 0, NOW)
    assert message.lease_token == ""
    assert message.last_error.startswith("ConnectionRefusedError")
    event = AuditEvent.objects.get(action="outbox.resent")
    assert (event.object_type, event.object_id) == (
        "notifications.outboxmessage",
        str(message.pk),
    )
    assert event.data == {"about": "RC-7KQ4-M9XP", "failed_attempts": 12}


@pytest.mark.parametrize("status", ["pending", "sent"])
def test_it_refuses_to_resend_a_message_that_did_not_fail(db, frozen, status):
    # given
    message = queue("case:RC-1:ack")
    OutboxMessage.objects.filter(pk=message.pk).update(status=status, attempts=1)
    before = state(message)

    # when
    with pytest.raises(Conflict):
        actions.resend(ACTOR, message.pk)

    # then
    assert state(message) == before
    assert not AuditEvent.objects.exists()


def test_it_does_not_resend_another_organizations_message(
    db, frozen, merchant_a, merchant_b
):
    # given
    message = failed("case:RC-1:ack", organization_id=merchant_a.pk)
    before = state(message)

    # when
    with pytest.raises(NotFound):
        actions.resend(ACTOR, message.pk, organization_id=merchant_b.pk)

    # then
    assert state(message) == before
    assert not AuditEvent.objects.exists()


def test_it_resends_every_failed_message_of_one_organization(
    db, frozen, merchant_a, merchant_b
):
    # given
    ours = [failed(f"case:RC-{n}:ack", merchant_a.pk) for n in range(3)]
    theirs = failed("case:RC-9:ack", merchant_b.pk)
    sent = queue("case:RC-8:ack")
    OutboxMessage.objects.filter(pk=sent.pk).update(
        status="sent", organization_id=merchant_a.pk
    )

    # when
    queued = actions.resend_all(ACTOR, organization_id=merchant_a.pk)

    # then
    assert sorted(m.pk for m in queued) == [m.pk for m in ours]
    assert all(state(m)[0] == "pending" for m in ours)
    assert state(theirs)[0] == "failed"
    assert state(sent)[0] == "sent"
    assert AuditEvent.objects.filter(action="outbox.resent").count() == 3


def test_it_lists_failed_messages_from_the_command_line(db, capsys):
    # given
    message = failed("case:RC-1:ack")
    queue("case:RC-2:ack")

    # when
    call_command("outbox", "failed")

    # then
    out, err = capsys.readouterr()
    [line] = out.splitlines()
    assert line.startswith(f"{message.pk}\tRC-7KQ4-M9XP\temail\tclient@example.org")
    assert message.body not in out
    assert "1 undelivered message(s)" in err


def test_it_resends_by_id_from_the_command_line(db, capsys):
    # given
    first, second = failed("case:RC-1:ack"), failed("case:RC-2:ack")

    # when
    call_command("outbox", "resend", str(first.pk))

    # then
    assert f"queued again: {first.pk}\t" in capsys.readouterr().out
    assert (state(first)[0], state(second)[0]) == ("pending", "failed")


def test_it_resends_all_from_the_command_line(db, capsys):
    # given
    messages = [failed(f"case:RC-{n}:ack") for n in range(2)]

    # when
    call_command("outbox", "resend", "--all")

    # then
    assert "2 message(s) queued again." in capsys.readouterr().out
    assert [state(m)[0] for m in messages] == ["pending", "pending"]


def test_it_exits_non_zero_on_an_unknown_id_and_still_resends_the_others(db, capsys):
    # given
    message = failed("case:RC-1:ack")

    # when
    with pytest.raises(CommandError, match="1 message\\(s\\) not queued: 999999"):
        call_command("outbox", "resend", "999999", str(message.pk))

    # then
    assert "999999: There is no such message." in capsys.readouterr().err
    assert state(message)[0] == "pending"
