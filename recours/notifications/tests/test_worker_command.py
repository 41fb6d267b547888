from django.core.management import call_command

from recours.notifications.models import OutboxMessage
from recours.testing.servers import queue


def test_it_runs_one_pass_from_the_command_line(transactional_db, capsys):
    # The loop closes stale connections between jobs, so it needs real commits.
    # given
    queue("case:RC-1:ack")

    # when
    call_command("worker", "--once")

    # then
    assert "handled 1 item(s)" in capsys.readouterr().out
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
