"""Walk the declared workflows: their shape, and every transition a person
takes by hand through change_status (payload transitions: test_protection)."""

from datetime import timedelta

import pytest

from recours.accounts.models import Role
from recours.cases import workflows
from recours.cases.access import staff_actor
from recours.cases.engine import change_status
from recours.cases.models import Case, CaseEvent, Kind, Team
from recours.core.errors import PermissionDenied
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import (
    NOW,
    file_case,
    file_claim,
    membership,
    protected_order,
    put_in_state,
    snapshot,
)

STAFF_ROLES = sorted(workflows.EVERY_STAFF)
PARTIES = {*Role.values, workflows.CUSTOMER, workflows.SYSTEM}
BY_HAND = [
    (workflow, source, transition)
    for workflow in workflows.ALL
    for transition in workflow.transitions
    if not transition.payload and transition.guard is None
    and transition.by & workflows.EVERY_STAFF
    for source in sorted(transition.source)
]  # fmt: skip


def state_names(workflow: workflows.Workflow) -> set[str]:
    return {state.name for state in workflow.states}


def staff_actor_for(user):
    return staff_actor(membership(user))


def new_case(workflow: workflows.Workflow, customer) -> Case:
    if workflow is workflows.PROTECTION:
        return file_claim(protected_order(customer))
    return file_case()


def test_it_maps_every_kind_to_a_workflow():
    assert set(workflows.BY_KIND) == set(Kind.values)


@pytest.mark.parametrize("workflow", workflows.ALL, ids=lambda w: w.name)
def test_it_only_uses_declared_states_and_parties(workflow):
    names = state_names(workflow)
    assert len(names) == len(workflow.states)
    assert workflow.initial in names
    assert {state for _kind, state in workflow.starts} <= names
    for transition in workflow.transitions:
        assert transition.source <= names, transition.name
        assert transition.target in names, transition.name
        assert transition.by and transition.by <= PARTIES, transition.name
        assert {team for team, _l in Team.choices} >= {
            workflow.state(transition.target).team or Team.AGENT
        }


@pytest.mark.parametrize("workflow", workflows.ALL, ids=lambda w: w.name)
def test_it_gives_every_open_state_a_deadline_whose_expiry_exists(workflow):
    for state in workflow.states:
        if state.is_final:
            assert state.deadline is None, state.name
            assert not workflow.targets(state.name, Role.ADMIN), state.name
            continue
        assert state.deadline is not None, state.name
        if state.deadline.expiry != workflows.ESCALATE:
            expiry = workflow.expiry(state.name)
            assert expiry is not None and workflows.SYSTEM in expiry.by, state.name
        assert state.deadline.describe(), state.name


@pytest.mark.parametrize("workflow", workflows.ALL, ids=lambda w: w.name)
def test_it_reaches_every_state_and_a_final_one(workflow):
    # given
    reached, frontier = {workflow.initial}, [workflow.initial]

    # when: follow every transition, whoever takes it
    while frontier:
        source = frontier.pop()
        for transition in workflow.transitions:
            if source in transition.source and transition.target not in reached:
                reached.add(transition.target)
                frontier.append(transition.target)

    # then
    assert reached == state_names(workflow)
    assert any(workflow.state(name).is_final for name in reached)


@pytest.mark.parametrize(
    ("workflow", "source", "transition"),
    BY_HAND,
    ids=[f"{w.name}:{s}->{t.target}" for w, s, t in BY_HAND],
)
def test_it_moves_state_queue_and_deadline_together(
    frozen, platform, customer_a, admin, workflow, source, transition
):
    # given
    case = new_case(workflow, customer_a)
    put_in_state(case, source)
    frozen.shift(timedelta(hours=1))
    now = NOW + timedelta(hours=1)
    audits = AuditEvent.objects.filter(action="case.status_changed").count()

    # when
    changed = change_status(
        membership(admin), staff_actor_for(admin), case, transition.target, "walk"
    )

    # then
    changed.refresh_from_db()
    target = workflow.state(transition.target)
    assert changed.status == transition.target
    assert (changed.due_at is None) == target.is_final
    if target.deadline is not None and target.deadline.duration() is not None:
        assert changed.deadline_at == now + target.deadline.duration()
    if target.team:
        assert changed.team == target.team
    assert changed.updated_at == now
    line = changed.events.filter(type=CaseEvent.Type.STATUS).last()
    assert line.data["from"] == source and line.data["to"] == transition.target
    assert AuditEvent.objects.filter(action="case.status_changed").count() == audits + 1


@pytest.mark.parametrize("target", ["waiting_technical", "waiting_merchant", "triaged"])
def test_it_keeps_platform_only_moves_from_merchant_staff(
    frozen, platform, customer_a, merchant_a_agent, target
):
    # given
    case = file_case()
    put_in_state(case, "in_progress" if target != "triaged" else "received")
    before = snapshot(case)

    # when
    with pytest.raises(PermissionDenied):
        change_status(
            membership(merchant_a_agent), staff_actor_for(merchant_a_agent), case,
            target,
        )  # fmt: skip

    # then
    assert snapshot(case) == before


def test_it_lets_merchant_staff_answer_their_own_cases(
    frozen, platform, customer_a, merchant_a_agent
):
    # given
    case = file_case()

    # when
    changed = change_status(
        membership(merchant_a_agent), staff_actor_for(merchant_a_agent), case,
        "in_progress",
    )  # fmt: skip

    # then
    assert changed.status == "in_progress"


def test_it_refuses_a_case_of_another_organization(
    frozen, platform, customer_a, merchant_b_agent
):
    # given
    case = file_case()
    before = snapshot(case)

    # when
    with pytest.raises(PermissionDenied):
        change_status(
            membership(merchant_b_agent), staff_actor_for(merchant_b_agent), case,
            "in_progress",
        )  # fmt: skip

    # then
    assert snapshot(case) == before


def test_it_refuses_moves_that_need_a_payload_or_a_guard(
    frozen, platform, customer_a, admin
):
    # given: a decision needs its amount and reason; an answer its message
    case = file_claim(protected_order(customer_a))
    before = snapshot(case)

    # when / then
    for target in ("awaiting_customer", "review", "closed"):
        with pytest.raises(PermissionDenied):
            change_status(membership(admin), staff_actor_for(admin), case, target)
    assert snapshot(case) == before


def test_it_refuses_an_undeclared_move(frozen, platform, customer_a, admin):
    # given
    case = file_case()
    before = snapshot(case)

    # when
    with pytest.raises(PermissionDenied):
        change_status(membership(admin), staff_actor_for(admin), case, "closed")
    with pytest.raises(PermissionDenied):
        change_status(membership(admin), staff_actor_for(admin), case, "no_such_state")

    # then
    assert snapshot(case) == before


@pytest.mark.parametrize("target", ["waiting_customer", "resolved"])
def test_it_tells_the_customer_about_moves_that_concern_them(
    frozen, platform, customer_a, agent, target
):
    # given
    case = file_case()
    put_in_state(case, "in_progress")

    # when
    change_status(membership(agent), staff_actor_for(agent), case, target, "Merci")

    # then
    sent = OutboxMessage.objects.exclude(dedupe_key__endswith=":ack").get()
    assert sent.recipient == case.contact_email
    assert ":case_status:customer:" in sent.dedupe_key
