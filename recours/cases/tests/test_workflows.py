"""Walk the declared workflows: their shape, and every transition through change_status."""

from datetime import timedelta

import pytest

from recours.accounts.models import Role
from recours.cases import workflows
from recours.cases.access import staff_actor
from recours.cases.engine import change_status
from recours.cases.models import Case, CaseEvent, Kind
from recours.core.errors import PermissionDenied
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case, membership, snapshot

WORKFLOWS = sorted(set(workflows.BY_KIND.values()), key=lambda workflow: workflow.name)
# One kind per workflow, with the problem that opens it.
PROBLEM_FOR = {"incident": "payment_failed", "protection": "not_received"}
EDGES = [
    (workflow, source, transition.target)
    for workflow in WORKFLOWS
    for transition in workflow.transitions
    for source in sorted(transition.source)
]


def state_names(workflow: workflows.Workflow) -> set[str]:
    return {state.name for state in workflow.states}


def test_it_maps_every_kind_to_a_workflow():
    assert set(workflows.BY_KIND) == set(Kind.values)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_it_only_uses_declared_states(workflow):
    names = state_names(workflow)
    assert len(names) == len(workflow.states)
    assert workflow.initial in names
    for transition in workflow.transitions:
        assert transition.source <= names
        assert transition.target in names
        assert transition.roles


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_it_gives_every_open_state_a_deadline_and_final_states_none(workflow):
    for state in workflow.states:
        if state.is_final:
            assert state.deadline is None, state.name
            assert not workflow.targets(state.name, Role.ADMIN), state.name
        else:
            assert state.deadline is not None, state.name
            target = workflows.EXPIRY_TARGET.get(state.deadline.action, state.name)
            assert target in state_names(workflow), state.name


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_it_reaches_every_state_and_a_final_one(workflow):
    # given
    reached, frontier = {workflow.initial}, [workflow.initial]

    # when: follow transitions and expiries
    while frontier:
        source = frontier.pop()
        following = [t.target for t in workflow.transitions if source in t.source]
        deadline = workflow.state(source).deadline
        if deadline is not None:
            following.append(workflows.EXPIRY_TARGET.get(deadline.action, source))
        for target in following:
            if target not in reached:
                reached.add(target)
                frontier.append(target)

    # then
    assert reached == state_names(workflow)
    assert any(workflow.state(name).is_final for name in reached)


def put_in_state(case: Case, workflow: workflows.Workflow, state: str) -> None:
    """Test set-up only: place a case in a state, with that state's deadline."""
    due_at, due_action = workflow.due_at(case, state, NOW)
    Case.objects.filter(pk=case.pk).update(
        status=state, due_at=due_at, due_action=due_action
    )


@pytest.mark.parametrize(
    ("workflow", "source", "target"),
    EDGES,
    ids=[f"{w.name}:{s}->{t}" for w, s, t in EDGES],
)
def test_it_moves_state_and_deadline_together(
    frozen, platform, customer_a, admin, workflow, source, target
):
    # given
    case = file_case(problem=PROBLEM_FOR[workflow.name])
    put_in_state(case, workflow, source)
    frozen.shift(timedelta(hours=1))
    now = NOW + timedelta(hours=1)

    # when
    changed = change_status(
        membership(admin), staff_actor_for(admin), case, target, "walk"
    )

    # then
    changed.refresh_from_db()
    expected_due_at, expected_action = workflow.due_at(changed, target, now)
    assert changed.status == target
    assert (changed.due_at, changed.due_action) == (expected_due_at, expected_action)
    assert (changed.due_at is None) == workflow.state(target).is_final
    assert changed.updated_at == now
    line = changed.events.filter(type=CaseEvent.Type.STATUS).get()
    assert line.data == {"from": source, "to": target}
    assert AuditEvent.objects.filter(action="case.status_changed").count() == 1


def staff_actor_for(user):
    return staff_actor(membership(user))


@pytest.mark.parametrize("target", ["waiting_technical", "waiting_merchant", "triaged"])
def test_it_keeps_platform_only_moves_from_merchant_staff(
    frozen, platform, customer_a, merchant_a_agent, target
):
    # given
    case = file_case()
    put_in_state(
        case, workflows.INCIDENT, "in_progress" if target != "triaged" else "received"
    )
    before = snapshot(case)

    # when
    with pytest.raises(PermissionDenied):
        change_status(
            membership(merchant_a_agent),
            staff_actor_for(merchant_a_agent),
            case,
            target,
        )

    # then
    assert snapshot(case) == before


def test_it_lets_merchant_staff_answer_their_own_cases(
    frozen, platform, customer_a, merchant_a_agent
):
    # given
    case = file_case()

    # when
    changed = change_status(
        membership(merchant_a_agent),
        staff_actor_for(merchant_a_agent),
        case,
        "in_progress",
    )

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
            membership(merchant_b_agent),
            staff_actor_for(merchant_b_agent),
            case,
            "in_progress",
        )

    # then
    assert snapshot(case) == before


def test_it_keeps_decisions_for_mediators(
    frozen, platform, customer_a, agent, mediator
):
    # given
    case = file_case(problem="not_received")
    put_in_state(case, workflows.PROTECTION, "review")
    before = snapshot(case)

    # when
    with pytest.raises(PermissionDenied):
        change_status(membership(agent), staff_actor_for(agent), case, "resolved")

    # then
    assert snapshot(case) == before
    decided = change_status(
        membership(mediator), staff_actor_for(mediator), case, "resolved"
    )
    assert decided.status == "resolved"
    assert decided.resolved_at == NOW


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
    put_in_state(case, workflows.INCIDENT, "in_progress")

    # when
    change_status(membership(agent), staff_actor_for(agent), case, target)

    # then
    sent = OutboxMessage.objects.exclude(dedupe_key__endswith=":ack").get()
    assert sent.recipient == case.contact_email
    assert f":status:{target}:" in sent.dedupe_key
