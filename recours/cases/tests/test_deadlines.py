"""The deadlines job (expire_due) moved through time with time_machine."""

from datetime import timedelta

from recours.cases import workflows
from recours.cases.access import staff_actor
from recours.cases.deadlines import expire_due
from recours.cases.engine import change_status
from recours.cases.models import Case, CaseEvent
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case, file_claim, membership, protected_order


def told(case: Case) -> list[str]:
    """The states the customer was told about, in order."""
    keys = OutboxMessage.objects.filter(
        dedupe_key__startswith=f"case:{case.reference}:case_status:"
    ).order_by("pk")
    return [key.split(":")[4] for key in keys.values_list("dedupe_key", flat=True)]


def test_it_does_nothing_before_the_deadline(frozen, platform, customer_a):
    # given
    case = file_case()
    frozen.shift(timedelta(hours=8) - timedelta(seconds=1))

    # when
    handled = expire_due()

    # then
    assert handled == 0
    case.refresh_from_db()
    assert (case.priority, case.due_at) == ("high", NOW + timedelta(hours=8))


def test_it_escalates_a_late_first_response(frozen, platform, customer_a):
    # given: a high-priority case with its 8-hour target
    case = file_case()
    frozen.shift(timedelta(hours=8, seconds=1))
    now = NOW + timedelta(hours=8, seconds=1)

    # when
    handled = expire_due()

    # then: urgent now, with the urgent target counted from now
    assert handled == 1
    case.refresh_from_db()
    assert case.status == "received"
    assert case.priority == "urgent"
    assert (case.due_at, case.due_action) == (now + timedelta(hours=4), "escalate")
    assert case.events.filter(type=CaseEvent.Type.ESCALATED).get().data == {
        "priority": "urgent"
    }
    assert AuditEvent.objects.filter(action="case.escalated").count() == 1


def test_it_keeps_an_urgent_case_urgent_and_rearms_it(frozen, platform, customer_a):
    # given
    case = file_case()
    frozen.shift(timedelta(hours=8, seconds=1))
    expire_due()
    frozen.shift(timedelta(hours=4, seconds=1))

    # when
    expire_due()

    # then
    case.refresh_from_db()
    assert case.priority == "urgent"
    assert case.due_at == NOW + timedelta(hours=16, seconds=2)
    assert case.events.filter(type=CaseEvent.Type.ESCALATED).count() == 2


def test_it_resolves_a_case_after_the_customers_silence_then_closes_it(
    frozen, platform, customer_a, agent
):
    # given
    case = file_case()
    change_status(
        membership(agent), staff_actor(membership(agent)), case, "in_progress"
    )
    change_status(
        membership(agent), staff_actor(membership(agent)), case, "waiting_customer"
    )

    # when: 14 days of silence
    frozen.shift(timedelta(days=14, seconds=1))
    expire_due()

    # then
    case.refresh_from_db()
    resolved_at = NOW + timedelta(days=14, seconds=1)
    assert case.status == "resolved"
    assert case.resolved_at == resolved_at
    assert (case.due_at, case.due_action) == (resolved_at + timedelta(days=7), "close")
    line = case.events.filter(type=CaseEvent.Type.STATUS).last()
    assert (line.data["from"], line.data["to"]) == ("waiting_customer", "resolved")
    assert line.actor_label == "worker"
    assert told(case) == ["waiting_customer", "resolved"]

    # when: 7 more days
    frozen.shift(timedelta(days=7))
    expire_due()

    # then
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.closed_at == resolved_at + timedelta(days=7)
    assert told(case) == ["waiting_customer", "resolved", "closed"]
    assert (case.due_at, case.due_action) == (None, "")


def test_it_sends_an_unanswered_protection_case_to_review(frozen, platform, customer_a):
    # given
    case = file_claim(protected_order(customer_a))
    assert case.status == "awaiting_merchant"

    # when: the reminder, then the end of the 5 days
    frozen.shift(timedelta(days=4, seconds=1))
    expire_due()
    frozen.shift(timedelta(days=1))
    expire_due()

    # then
    case.refresh_from_db()
    assert (case.status, case.team) == ("review", "mediator")
    assert case.due_action == "escalate"
    assert told(case) == []


def test_it_carries_on_after_a_failing_row(frozen, platform, customer_a):
    # given: the first due case has an action nobody knows
    broken = file_case()
    frozen.shift(timedelta(minutes=1))
    healthy = file_case()
    Case.objects.filter(pk=broken.pk).update(due_action="unknown_action")
    frozen.shift(timedelta(hours=9))
    now = NOW + timedelta(hours=9, minutes=1)

    # when
    handled = expire_due()

    # then: the healthy case escalated, the broken one waits an hour
    assert handled == 2
    healthy.refresh_from_db()
    broken.refresh_from_db()
    assert healthy.priority == "urgent"
    assert (broken.priority, broken.due_at) == ("high", now + timedelta(hours=1))
    assert broken.due_action == "unknown_action"
    assert not broken.events.filter(type=CaseEvent.Type.ESCALATED).exists()


def test_it_works_in_batches(frozen, platform, customer_a, monkeypatch):
    # given
    from recours.cases import deadlines

    monkeypatch.setattr(deadlines, "DUE_BATCH_SIZE", 2)
    for _ in range(3):
        file_case()
    frozen.shift(timedelta(hours=9))

    # when / then
    assert expire_due() == 2
    assert expire_due() == 1
    assert expire_due() == 0


def test_it_never_leaves_a_deadline_without_an_action(frozen, platform, customer_a):
    # given
    for problem in ("payment_failed", "not_received", "suggestion"):
        file_case(problem=problem)
    file_claim(protected_order(customer_a))

    # when: a month of worker passes
    for _ in range(60):
        frozen.shift(timedelta(hours=12))
        expire_due()

    # then
    for case in Case.objects.all():
        workflow = workflows.for_kind(case.kind)
        assert (case.due_at is None) == (case.due_action == "")
        assert (case.due_at is None) == workflow.state(case.status).is_final
