"""Incident service levels walked through time: first response and resolution
count from the report, pause while waiting on the customer, and a breach
raises the priority and tells the team lead."""

from datetime import timedelta

import pytest

from recours.cases.access import staff_actor
from recours.cases.conversation import customer_message, reply
from recours.cases.deadlines import expire_due
from recours.cases.engine import change_status
from recours.cases.models import Case, CaseEvent
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case, membership

LEAD = "chef.equipe@recours.example"


@pytest.fixture(autouse=True)
def _team_lead(settings):
    settings.TEAM_LEAD_EMAILS = [LEAD]


def move(user, case: Case, target: str) -> Case:
    member = membership(user)
    return change_status(member, staff_actor(member), case, target, "Étape")


def at_hour(frozen, hours: float) -> None:
    frozen.move_to(NOW + timedelta(hours=hours))
    expire_due()


def breaches(case: Case) -> list[str]:
    return list(
        OutboxMessage.objects.filter(
            dedupe_key__startswith=f"case:{case.reference}:breach:"
        ).values_list("recipient", flat=True)
    )


def test_a_missed_first_response_raises_the_priority_and_tells_the_lead(
    frozen, platform, customer_a
):
    # given: a high-priority report (8 hours to a first answer)
    case = file_case()
    assert case.deadline_at == NOW + timedelta(hours=8)

    # when
    at_hour(frozen, 8)

    # then: urgent, a fresh 4-hour window, the lead told; platform eyes only
    case.refresh_from_db()
    assert case.priority == "urgent"
    assert case.deadline_at == NOW + timedelta(hours=12)
    assert breaches(case) == [LEAD]
    line = case.events.get(type=CaseEvent.Type.ESCALATED)
    assert (line.audience, line.is_public) == ("platform", False)


def test_the_first_answer_switches_to_the_resolution_target_from_the_report(
    frozen, platform, customer_a, agent
):
    # given
    case = file_case()
    frozen.move_to(NOW + timedelta(hours=2))

    # when
    member = membership(agent)
    reply(member, staff_actor(member), case, "Nous regardons.")

    # then: 40 hours from the report, not from the reply
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert case.deadline_at == NOW + timedelta(hours=40)
    at_hour(frozen, 39)
    case.refresh_from_db()
    assert case.priority == "high"
    at_hour(frozen, 40)
    case.refresh_from_db()
    assert case.priority == "urgent"


def test_waiting_on_the_customer_pauses_the_clock(frozen, platform, customer_a, agent):
    # given: answered after 1 hour, asked a question after 2
    case = file_case()
    move(agent, case, "in_progress")
    frozen.move_to(NOW + timedelta(hours=1))
    move(agent, case, "waiting_customer")

    # when: the customer answers 3 days later (the 40-hour target is long gone)
    at_hour(frozen, 73)
    case.refresh_from_db()
    assert (case.status, case.priority) == ("waiting_customer", "high")
    customer_message(case, "Voici le ticket de la borne.")

    # then: the 72 hours waited are not counted
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert case.sla_paused_seconds == 72 * 3600
    assert case.deadline_at == NOW + timedelta(hours=40 + 72)
    assert breaches(case) == []


def test_the_customers_long_silence_resolves_the_case(
    frozen, platform, customer_a, agent
):
    # given
    case = file_case()
    move(agent, case, "in_progress")
    move(agent, case, "waiting_customer")

    # when: 14 days
    at_hour(frozen, 14 * 24)

    # then
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.deadline_at == NOW + timedelta(days=14 + 7)


def test_waiting_for_the_technical_team_moves_the_case_to_its_queue(
    frozen, platform, customer_a, agent
):
    # given
    case = file_case()
    assert case.team == "agent"
    move(agent, case, "in_progress")

    # when
    move(agent, case, "waiting_technical")

    # then
    case.refresh_from_db()
    assert (case.status, case.team) == ("waiting_technical", "technician")
