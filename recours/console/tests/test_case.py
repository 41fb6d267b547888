"""The case page and its actions: assign, change status, note, reply."""

from datetime import timedelta

import pytest
from django.urls import reverse

from recours.accounts.models import Membership
from recours.cases.access import staff_actor
from recours.cases.access_codes import send_access_code
from recours.cases.conversation import add_note, assign
from recours.cases.engine import change_status
from recours.cases.models import Case, CaseEvent
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage


def page(client, case):
    return client.get(reverse("console:case", args=[case.reference]))


def post(client, name, case, data):
    return client.post(reverse(f"console:{name}", args=[case.reference]), data)


def act(user, action, case, *args):
    membership = Membership.objects.select_related("user").get(user=user)
    return action(membership, staff_actor(membership), case, *args)


def snapshot(case: Case) -> dict:
    """What an action could change, to show a refused one changed nothing."""
    case.refresh_from_db()
    return {
        "status": case.status,
        "assignee": case.assignee_id,
        "due_at": case.due_at,
        "events": case.events.count(),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def test_it_shows_the_case_details(agent_client, case_a, customer_a):
    # when
    response = page(agent_client, case_a)

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert case_a.reference in html
    assert "The payment failed" in html
    assert "Gare du Nord" in html and "ALPHA-GARE-01" in html
    assert "Camille Martin" in html and "C-10001" in html
    assert "client@example.org" in html
    assert "La borne a refusé ma carte." in html
    assert response.context["status_label"] == "Received"
    assert 'id="case-due"' in html


def test_it_flags_an_unmatched_case(agent_client, frozen, platform):
    # given
    from recours.testing import file_case

    case = file_case(customer_number="NOPE-1", phone="0699999999")

    # when
    html = page(agent_client, case).content.decode()

    # then
    assert "Unmatched" in html
    assert "NOPE-1" in html
    assert "06 99 99 99 99" in html  # national format


def test_it_hides_another_organizations_case_with_a_404(alpha_client, case_b):
    # when
    response = page(alpha_client, case_b)

    # then: the same page as for a case that does not exist
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert "B-20001" not in html and "Mairie" not in html


def test_it_answers_404_for_an_unknown_reference(agent_client, db):
    assert page(agent_client, Case(reference="RC-2222-3333")).status_code == 404


def test_it_refuses_another_organizations_actions_with_a_404(alpha_client, case_b):
    # given
    before = snapshot(case_b)

    # when
    responses = [
        post(alpha_client, "assign", case_b, {"assignee": "me"}),
        post(alpha_client, "status", case_b, {"status-target": "in_progress"}),
        post(alpha_client, "note", case_b, {"note-body": "Hello"}),
        post(alpha_client, "reply", case_b, {"reply-body": "Hello"}),
    ]

    # then
    assert [response.status_code for response in responses] == [404] * 4
    assert snapshot(case_b) == before


def test_it_shows_public_and_internal_lines_apart(agent_client, agent, case_a):
    # given
    act(agent, add_note, case_a, "Vu avec la banque.")

    # when
    response = page(agent_client, case_a)

    # then
    html = response.content.decode()
    note = CaseEvent.objects.get(case=case_a, type="note")
    created = CaseEvent.objects.get(case=case_a, type="created")
    note_line = html[html.index(f'id="event-{note.pk}"') :]
    note_line = note_line[: note_line.index("</li>")]
    created_line = html[html.index(f'id="event-{created.pk}"') :]
    created_line = created_line[: created_line.index("</li>")]
    assert 'class="timeline-note internal"' in note_line
    assert "Internal" in note_line and "Vu avec la banque." in note_line
    assert "agent" in note_line
    assert "internal" not in created_line
    assert "Seen by the customer" in created_line
    assert "Customer" in created_line


def test_it_assigns_the_case_to_me(agent_client, agent, case_a):
    # when
    response = post(agent_client, "assign", case_a, {"assignee": "me"})

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("console:case", args=[case_a.reference])
    case_a.refresh_from_db()
    assert case_a.assignee == agent
    event = case_a.events.get(type="assigned")
    assert (event.body, event.actor, event.is_public) == ("agent", agent, False)
    followed = page(agent_client, case_a)
    assert "The case is assigned to you." in followed.content.decode()
    assert "Assigned to agent" in followed.content.decode()


def test_it_unassigns_the_case(agent_client, agent, case_a):
    # given
    act(agent, assign, case_a, agent)

    # when
    response = post(agent_client, "assign", case_a, {"assignee": "nobody"})

    # then
    assert response.status_code == 302
    case_a.refresh_from_db()
    assert case_a.assignee is None
    assert case_a.events.filter(type="assigned").count() == 2


def test_merchant_staff_assign_their_own_case(alpha_client, merchant_a_agent, case_a):
    # when
    response = post(alpha_client, "assign", case_a, {"assignee": "me"})

    # then
    assert response.status_code == 302
    case_a.refresh_from_db()
    assert case_a.assignee == merchant_a_agent


def test_it_offers_only_the_moves_this_role_may_make(agent_client, alpha_client,
                                                      case_a):  # fmt: skip
    # when
    platform_targets = page(agent_client, case_a).context["status_form"]
    merchant_targets = page(alpha_client, case_a).context["status_form"]

    # then
    assert [value for value, _label in platform_targets.fields["target"].choices] == [
        "triaged",
        "in_progress",
        "resolved",
    ]
    assert [value for value, _label in merchant_targets.fields["target"].choices] == [
        "in_progress",
        "resolved",
    ]


def test_it_changes_the_status_with_a_reason(agent_client, agent, case_a):
    # when
    response = post(
        agent_client,
        "status",
        case_a,
        {"status-target": "resolved", "status-reason": "Remboursé au guichet."},
    )

    # then
    assert response.status_code == 302
    case_a.refresh_from_db()
    assert case_a.status == "resolved"
    event = case_a.events.get(type="status")
    assert (event.data["from"], event.data["to"]) == ("received", "resolved")
    assert event.body == "Remboursé au guichet."
    assert OutboxMessage.objects.filter(
        about=f"cases.case:{case_a.pk}",
        dedupe_key__contains=":case_status:customer:resolved:",
    ).exists()
    followed = page(agent_client, case_a).content.decode()
    assert "The status is now: Resolved." in followed
    assert "Status: Received → Resolved" in followed


def test_it_refuses_a_move_the_workflow_does_not_allow(agent_client, case_a):
    # given: a case just received cannot be closed at once
    before = snapshot(case_a)

    # when
    response = post(agent_client, "status", case_a, {"status-target": "closed"})

    # then
    assert response.status_code == 422
    assert "This case cannot move to that status." in response.content.decode()
    assert snapshot(case_a) == before


def test_it_refuses_a_move_reserved_to_platform_staff(alpha_client, case_a):
    # given
    before = snapshot(case_a)

    # when
    response = post(alpha_client, "status", case_a, {"status-target": "triaged"})

    # then
    assert response.status_code == 422
    assert snapshot(case_a) == before


def test_it_shows_the_domain_refusal_when_the_case_moved_meanwhile(
    agent_client, agent, case_a, monkeypatch
):
    # given: the page offered "triaged", then someone else triaged the case
    from recours.console import labels

    act(agent, change_status, case_a, "triaged")
    monkeypatch.setattr(
        labels, "allowed_targets", lambda kind, status, role: [("triaged", "Triaged")]
    )
    before = snapshot(case_a)

    # when
    response = post(agent_client, "status", case_a, {"status-target": "triaged"})

    # then
    assert response.status_code == 403
    assert "You cannot move this case" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert snapshot(case_a) == before


def test_it_adds_an_internal_note(agent_client, agent, case_a):
    # given
    outbox_before = OutboxMessage.objects.count()

    # when
    response = post(agent_client, "note", case_a, {"note-body": "Appeler la banque."})

    # then
    assert response.status_code == 302
    event = case_a.events.get(type="note")
    assert (event.body, event.is_public, event.actor) == (
        "Appeler la banque.",
        False,
        agent,
    )
    assert OutboxMessage.objects.count() == outbox_before


def test_it_replies_to_the_customer(agent_client, agent, frozen, case_a):
    # given
    frozen.shift(timedelta(minutes=30))

    # when
    response = post(
        agent_client, "reply", case_a, {"reply-body": "Nous vérifions votre paiement."}
    )

    # then
    assert response.status_code == 302
    event = case_a.events.get(type="reply")
    assert (event.body, event.is_public) == ("Nous vérifions votre paiement.", True)
    message = OutboxMessage.objects.get(
        dedupe_key=f"case:{case_a.reference}:reply:{event.pk}"
    )
    assert message.recipient == "client@example.org"
    assert "Nous vérifions votre paiement." in message.body
    case_a.refresh_from_db()
    assert case_a.status == "in_progress"
    html = page(agent_client, case_a).content.decode()
    assert "Your reply is on its way to the customer." in html


def test_it_lists_the_messages_sent_about_the_case(agent_client, case_a, case_b):
    # given
    send_access_code(case_a)

    # when
    response = page(agent_client, case_a)

    # then
    html = response.content.decode()
    messages = html[html.index('id="outbox-table"') :]
    assert "Acknowledgement" in messages
    assert "Access code" in messages
    assert "Pending" in messages
    assert "+33611223344" not in messages
    code_message = OutboxMessage.objects.get(dedupe_key__contains=":code:")
    assert code_message.body not in html


def test_it_refuses_an_empty_reply(agent_client, case_a):
    # given
    before = snapshot(case_a)

    # when
    response = post(agent_client, "reply", case_a, {"reply-body": "   "})

    # then
    assert response.status_code == 422
    assert "Write the reply first." in response.content.decode()
    assert snapshot(case_a) == before


def test_it_refuses_a_reply_on_a_closed_case(agent_client, agent, case_a):
    # given
    act(agent, change_status, case_a, "resolved")
    act(agent, change_status, case_a, "closed")
    before = snapshot(case_a)

    # when
    response = post(agent_client, "reply", case_a, {"reply-body": "Bonjour"})

    # then
    assert response.status_code == 422
    assert "This case is closed." in response.content.decode()
    assert snapshot(case_a) == before


@pytest.mark.parametrize("name", ["assign", "status", "note", "reply"])
def test_actions_refuse_get(agent_client, case_a, name):
    response = agent_client.get(reverse(f"console:{name}", args=[case_a.reference]))
    assert response.status_code == 405


def test_the_reply_form_is_labelled(agent_client, case_a):
    # when
    html = page(agent_client, case_a).content.decode()

    # then
    assert '<label for="id_reply-body">Message</label>' in html
    assert "<legend>Who reads it</legend>" in html
    assert '<label for="id_note-body">Internal note</label>' in html
    assert '<label for="id_status-target">New status</label>' in html
    assert ">Send message</button>" in html
