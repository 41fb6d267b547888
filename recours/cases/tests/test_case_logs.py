"""Log lines and outbox rows that name the case (issue 11, JSON logs)."""

import logging
from datetime import timedelta

from recours.cases.access import staff_actor
from recours.cases.deadlines import expire_due
from recours.cases.engine import change_status
from recours.notifications.models import OutboxMessage
from recours.testing import file_case, membership


def deadline_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("deadline of case")]


def test_it_logs_one_line_per_applied_deadline_naming_the_case(
    frozen, platform, customer_a, caplog
):
    # given: a case past its first-response deadline
    caplog.set_level(logging.INFO, logger="recours.cases")
    case = file_case()
    frozen.shift(timedelta(hours=8, seconds=1))

    # when
    expire_due()

    # then
    [line] = deadline_lines(caplog)
    assert line.levelno == logging.INFO
    assert case.reference in line.getMessage()
    assert (line.case, line.action, line.state, line.priority) == (
        case.reference,
        "escalate",
        "received",
        "urgent",
    )


def test_it_logs_no_deadline_line_before_the_deadline(
    frozen, platform, customer_a, caplog
):
    # given
    caplog.set_level(logging.INFO, logger="recours.cases")
    file_case()

    # when
    expire_due()

    # then
    assert deadline_lines(caplog) == []


def test_it_names_the_case_on_its_messages(frozen, platform, customer_a):
    # when
    case = file_case()

    # then: logs and the console can name the case without importing cases
    message = OutboxMessage.objects.get(about=f"cases.case:{case.pk}")
    assert message.about_reference == case.reference


def test_it_logs_the_new_state_of_a_case_resolved_by_silence(
    frozen, platform, customer_a, agent, caplog
):
    # given: waiting for the customer, who stays silent for 14 days
    caplog.set_level(logging.INFO, logger="recours.cases")
    case = file_case()
    staff = membership(agent)
    for target in ("in_progress", "waiting_customer"):
        change_status(staff, staff_actor(staff), case, target)
    frozen.shift(timedelta(days=14, seconds=1))

    # when
    expire_due()

    # then
    [line] = deadline_lines(caplog)
    assert (line.case, line.action, line.state) == (
        case.reference,
        "resolve_for_silence",
        "resolved",
    )
