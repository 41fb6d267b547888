"""Replies, customer messages, notes and assignment."""

from datetime import timedelta

import pytest

from recours.cases.access import staff_actor
from recours.cases.conversation import add_note, assign, customer_message, reply
from recours.cases.engine import change_status
from recours.cases.models import CaseEvent
from recours.core.errors import Conflict, InvalidInput, PermissionDenied
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case, membership, put_in_state, snapshot


def test_it_starts_the_work_with_the_first_reply(frozen, platform, customer_a, agent):
    # given
    case = file_case()
    frozen.shift(timedelta(hours=2))

    # when
    event = reply(
        membership(agent), staff_actor(membership(agent)), case, "  Bonjour !  "
    )

    # then
    case.refresh_from_db()
    assert case.first_response_at == NOW + timedelta(hours=2)
    assert case.status == "in_progress"
    # the resolution target counts from the report, not from the reply
    assert case.due_at == NOW + 5 * timedelta(hours=8)
    assert case.due_action == "escalate"
    assert (event.type, event.body, event.is_public) == ("reply", "Bonjour !", True)
    message = OutboxMessage.objects.get(
        dedupe_key=f"case:{case.reference}:reply:{event.pk}"
    )
    assert message.recipient == "client@example.org"
    assert "Bonjour !" in message.body


def test_it_keeps_the_first_response_time(frozen, platform, customer_a, agent):
    # given
    case = file_case()
    reply(membership(agent), staff_actor(membership(agent)), case, "Premier")
    frozen.shift(timedelta(hours=1))

    # when
    reply(membership(agent), staff_actor(membership(agent)), case, "Second")

    # then
    case.refresh_from_db()
    assert case.first_response_at == NOW
    assert OutboxMessage.objects.filter(dedupe_key__contains=":reply:").count() == 2


def test_it_replies_by_sms_to_an_sms_case(frozen, platform, customer_a, agent):
    # given
    case = file_case(
        contact_channel="sms", contact_email="", contact_phone="0612345678"
    )

    # when
    reply(membership(agent), staff_actor(membership(agent)), case, "On regarde.")

    # then
    message = OutboxMessage.objects.get(dedupe_key__contains=":reply:")
    assert (message.channel, message.recipient) == ("sms", "+33612345678")


def test_it_refuses_a_reply_from_another_organization(
    frozen, platform, customer_a, merchant_b_agent
):
    # given
    case = file_case()
    before = snapshot(case)

    # when
    with pytest.raises(PermissionDenied):
        reply(
            membership(merchant_b_agent),
            staff_actor(membership(merchant_b_agent)),
            case,
            "Pas chez nous",
        )

    # then
    assert snapshot(case) == before


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001])
def test_it_refuses_an_empty_or_huge_reply(frozen, platform, customer_a, agent, body):
    # given
    case = file_case()
    before = snapshot(case)

    # when
    with pytest.raises(InvalidInput) as raised:
        reply(membership(agent), staff_actor(membership(agent)), case, body)

    # then
    assert "body" in raised.value.fields
    assert snapshot(case) == before


def test_it_wakes_a_case_waiting_for_the_customer_with_its_clock_paused(
    frozen, platform, customer_a, agent
):
    # given: a high-priority case (8 h to answer, 40 h to resolve) asked a
    # question after an hour, answered by the customer a day later
    case = file_case()
    put_in_state(case, "in_progress")
    frozen.shift(timedelta(hours=1))
    change_status(membership(agent), staff_actor(membership(agent)), case,
                  "waiting_customer", "Quel est le numéro de la borne ?")  # fmt: skip
    frozen.shift(timedelta(days=1))

    # when
    event = customer_message(case, "Voici mon ticket.")

    # then: the day spent waiting is not counted against the resolution target
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert case.first_response_at == NOW + timedelta(hours=1)
    assert case.sla_paused_seconds == 24 * 3600
    assert case.due_at == NOW + 5 * timedelta(hours=8) + timedelta(days=1)
    assert (event.type, event.actor_label, event.is_public) == (
        "customer_message",
        "customer",
        True,
    )


def test_it_keeps_the_state_of_a_case_not_waiting_for_the_customer(
    frozen, platform, customer_a
):
    # given
    case = file_case()
    frozen.shift(timedelta(minutes=5))

    # when
    customer_message(case, "Une précision.")

    # then
    case.refresh_from_db()
    assert case.status == "received"
    assert case.due_at == NOW + timedelta(hours=8)
    assert case.updated_at == NOW + timedelta(minutes=5)


def test_it_refuses_messages_on_a_closed_case(frozen, platform, customer_a, agent):
    # given
    case = file_case()
    put_in_state(case, "closed")
    before = snapshot(case)

    # when
    with pytest.raises(Conflict):
        customer_message(case, "Encore moi")
    with pytest.raises(Conflict):
        reply(membership(agent), staff_actor(membership(agent)), case, "Trop tard")

    # then
    assert snapshot(case) == before


def test_it_keeps_notes_internal(frozen, platform, customer_a, agent):
    # given
    case = file_case()

    # when
    event = add_note(
        membership(agent), staff_actor(membership(agent)), case, "Vu avec la banque"
    )

    # then
    assert (event.type, event.is_public) == ("note", False)
    assert OutboxMessage.objects.count() == 1  # only the acknowledgement


def test_it_assigns_to_a_colleague_and_refuses_an_outsider(
    frozen, platform, customer_a, agent, technician, merchant_b_agent
):
    # given
    case = file_case()

    # when
    assign(membership(agent), staff_actor(membership(agent)), case, technician)

    # then
    case.refresh_from_db()
    assert case.assignee == technician
    assert (
        case.events.filter(type=CaseEvent.Type.ASSIGNED, is_public=False).count() == 1
    )
    before = snapshot(case)
    with pytest.raises(PermissionDenied):
        assign(
            membership(agent), staff_actor(membership(agent)), case, merchant_b_agent
        )
    assert snapshot(case) == before
