"""Deadlines: the worker applies every passed one, a small batch at a time.

Each case has at most one pending deadline, `due_at` with `due_action`
(invariant 8): a reminder that keeps the state, an escalation, or the
transition the state's deadline takes when it passes.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from recours.cases import engine, notices, workflows
from recours.cases.events import add_event
from recours.cases.intake import PRIORITY_ORDER
from recours.cases.models import Audience, Case, CaseEvent, Priority
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.worker import skip_locked

log = logging.getLogger("recours.cases")
DUE_BATCH_SIZE = 50
# A deadline whose handling failed is retried this much later.
RETRY_AFTER = timedelta(hours=1)


def expire_one(case: Case) -> None:
    """Apply the action of a passed deadline; caller holds the row lock."""
    actor = Actor.system("worker")
    action = case.due_action
    if action == workflows.REMIND:
        remind(case, actor)
    elif action == workflows.ESCALATE:
        escalate(case, actor)
    else:
        transition = workflows.for_kind(case.kind).expiry(case.status)
        assert transition is not None and transition.name == action, action
        # The line is on the customer's timeline: in the customer's language.
        with translation.override(case.language):
            engine.enter(case, actor, transition, _("Deadline passed."))
    log_deadline(case, action)


def remind(case: Case, actor: Actor) -> None:
    """Tell the party whose deadline approaches; the state stays."""
    deadline = workflows.for_kind(case.kind).state(case.status).deadline
    assert deadline is not None and case.deadline_at is not None
    key = f"case:{case.reference}:{deadline.reminder}:{case.status}:{case.deadline_at:%Y%m%d%H%M}"
    extra = {"deadline_at": case.deadline_at, "answer": case.merchant_answer}
    if deadline.remind_party == workflows.TO_MERCHANT:
        notices.notify_merchant(case, deadline.reminder, key, extra)
    else:
        notices.notify_customer(case, deadline.reminder, key, extra)
    case.due_at, case.due_action = case.deadline_at, deadline.expiry
    case.save(update_fields=["due_at", "due_action"])
    add_event(case, actor, CaseEvent.Type.REMINDER, public=False,
              data={"to": deadline.remind_party, "notice": deadline.reminder})  # fmt: skip
    audit.record(actor, "case.reminded", case, organization_id=case.organization_id,
                 data={"to": deadline.remind_party, "notice": deadline.reminder})  # fmt: skip


def escalate(case: Case, actor: Actor) -> None:
    """A breached service level: priority up, a fresh window, the lead told."""
    position = PRIORITY_ORDER.index(Priority(case.priority))
    case.priority = PRIORITY_ORDER[min(position + 1, len(PRIORITY_ORDER) - 1)]
    engine.schedule(case, clock.now())
    case.save(update_fields=["priority", "due_at", "due_action", "deadline_at"])
    event = add_event(case, actor, CaseEvent.Type.ESCALATED, public=False,
                      audience=Audience.PLATFORM,
                      data={"priority": case.priority})  # fmt: skip
    audit.record(actor, "case.escalated", case, organization_id=case.organization_id,
                 data={"priority": case.priority})  # fmt: skip
    notices.notify_team_lead(case, f"case:{case.reference}:breach:{event.pk}",
                             {"priority": case.get_priority_display()})  # fmt: skip


def log_deadline(case: Case, action: str) -> None:
    """One line per applied deadline, naming the case (JSON logs: its fields)."""
    log.info(
        "deadline of case %s applied: %s, now %s (priority %s)",
        case.reference, action, case.status, case.priority,
        extra={"case": case.reference, "action": action, "state": case.status,
               "priority": case.priority},
    )  # fmt: skip


def expire_due() -> int:
    """Worker job: apply every passed deadline, a small batch at a time.

    The batch's rows stay locked (SKIP LOCKED for other workers) only while
    their changes are written: expiry queues messages, it sends nothing, so no
    lock is held across an outbound call. A killed worker's transaction rolls
    back and the same deadlines are found again."""
    now = clock.now()
    handled = 0
    with transaction.atomic():
        due = list(
            # of=self: lock the cases, never their organization's row (a
            # second worker and every insert naming it would wait on it).
            Case.objects.select_for_update(skip_locked=skip_locked(), of=("self",))
            .select_related("organization")
            .filter(due_at__lte=now)
            .order_by("due_at")[:DUE_BATCH_SIZE]
        )
        for case in due:
            try:
                with transaction.atomic():
                    expire_one(case)
            except Exception:
                # Push the deadline forward so one bad row cannot crash-loop us.
                log.exception("deadline of case %s failed", case.reference)
                Case.objects.filter(pk=case.pk).update(due_at=now + RETRY_AFTER)
            handled += 1
    return handled
