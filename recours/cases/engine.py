"""The workflow engine: takes a workflow's transitions with everything the
data in cases.workflows says they do (ARCHITECTURE.md 5, invariant 8)."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from recours.accounts.models import Membership
from recours.cases import notices, workflows
from recours.cases.events import add_event
from recours.cases.models import Case, CaseEvent, Team
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput, PermissionDenied

TEXT_MAX_LENGTH = 5000


def locked(case: Case) -> Case:
    """Re-read the case under a row lock, inside the caller's transaction."""
    # of=self: the organization is read along, never locked with the case.
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=case.pk)
    )


def require_member(membership: Membership, case: Case) -> None:
    if (
        not membership.is_platform
        and case.organization_id != membership.organization_id
    ):
        raise PermissionDenied(_("This case belongs to another organization."))


def require_open(case: Case) -> None:
    if workflows.for_kind(case.kind).state(case.status).is_final:
        raise Conflict(_("This case is closed."))


def require_text(body: str, name: str = "body") -> str:
    body = body.strip()
    if not body:
        raise InvalidInput(_("Write a message first."), fields={name: [_("Required.")]})
    if len(body) > TEXT_MAX_LENGTH:
        raise InvalidInput(_("Please keep the message to 5,000 characters at most."),
                           fields={name: [_("Too long.")]})  # fmt: skip
    return body


def label_of(workflow: workflows.Workflow, status: str) -> str:
    try:
        return str(workflow.state(status).label)
    except KeyError:
        return status


def team_for(case: Case, state: workflows.State) -> str:
    """The queue a state puts the case in; the platform's own shop is served
    by its advisors where a merchant would answer."""
    if not state.team:
        return case.team
    if state.team == Team.MERCHANT and case.organization.is_platform:
        return Team.AGENT
    return state.team


def schedule(case: Case, now: datetime) -> None:
    """Set the state's deadline and the worker's next wake-up (a reminder
    first, when the state has one and there is time for it).

    A service level already breached gets a fresh first-response window at
    the case's (raised) priority, so it escalates again only if nobody acts."""
    deadline = workflows.for_kind(case.kind).state(case.status).deadline
    if deadline is None:
        case.deadline_at, case.due_at, case.due_action = None, None, ""
        return
    falls_at = deadline.falls_at(case, now) or now
    if deadline.expiry == workflows.ESCALATE and falls_at <= now:
        falls_at = now + workflows.first_response_target(case)
    case.deadline_at = falls_at
    before = deadline.remind_before()
    if before is not None and falls_at - before > now:
        case.due_at, case.due_action = falls_at - before, workflows.REMIND
    else:
        case.due_at, case.due_action = falls_at, deadline.expiry


def pause_clock(case: Case, leaving: workflows.State, entering: workflows.State,
                now: datetime) -> None:  # fmt: skip
    """Leave out of the service level the time spent waiting on the customer."""
    if leaving.pauses_sla and case.sla_paused_since is not None:
        waited = now - case.sla_paused_since
        case.sla_paused_seconds += max(0, int(waited.total_seconds()))
        case.sla_paused_since = None
    if entering.pauses_sla and case.sla_paused_since is None:
        case.sla_paused_since = now


def start(case: Case) -> None:
    """A new case's first state, queue and deadline (before its first save)."""
    workflow = workflows.for_kind(case.kind)
    case.status = workflow.first_state(case.kind)
    state = workflow.state(case.status)
    case.team = team_for(case, state)
    if state.pauses_sla:
        case.sla_paused_since = case.created_at
    schedule(case, case.created_at)


def enter(case: Case, actor: Actor, transition: workflows.Transition,
          reason: str = "", data: dict | None = None) -> CaseEvent:  # fmt: skip
    """Take `transition`: state, queue, clock and deadline together (invariant
    8), a timeline line and an audit event, then the notices and the webhook
    event the transition declares. The caller holds the row lock."""
    workflow = workflows.for_kind(case.kind)
    source, now = case.status, clock.now()
    leaving, entering = workflow.state(source), workflow.state(transition.target)
    pause_clock(case, leaving, entering, now)
    case.status = transition.target
    case.team = team_for(case, entering)
    if transition.target == "resolved":
        case.resolved_at = now
    if entering.is_final:
        case.closed_at = now
    case.updated_at = now
    schedule(case, now)
    case.save()
    moved = {"from": source, "to": case.status, "transition": transition.name}
    event = add_event(case, actor, CaseEvent.Type.STATUS, reason, public=True,
                      data={**moved, **(data or {})})  # fmt: skip
    audit.record(actor, "case.status_changed", case, reason=reason,
                 organization_id=case.organization_id, data=moved)  # fmt: skip
    announce(case, transition, event, reason)
    return event


def announce(case: Case, transition: workflows.Transition, event: CaseEvent,
             reason: str) -> None:  # fmt: skip
    """The transition's notices and webhook event, keyed on its timeline line."""
    label = workflows.for_kind(case.kind).state(case.status).label
    extra = {"status_label": label, "reason": reason.strip(),
             "deadline_at": case.deadline_at, "answer": case.merchant_answer,
             "decision": case.decision_made}  # fmt: skip
    for template, party in transition.notify:
        key = f"case:{case.reference}:{template}:{party}:{case.status}:{event.pk}"
        if party == workflows.TO_CUSTOMER:
            notices.notify_customer(case, template, key, extra)
        else:
            notices.notify_merchant(case, template, key, extra)
    for name in transition.events:
        notices.publish(case, name, f"case:{case.reference}:{name}:{event.pk}",
                        {"transition": transition.name})  # fmt: skip


def take(case: Case, actor: Actor, name: str, party: str, reason: str = "",
         data: dict | None = None) -> CaseEvent:  # fmt: skip
    """Take the transition called `name` as `party`, or refuse saying why."""
    workflow = workflows.for_kind(case.kind)
    transition = workflow.named(case, name, party)
    if transition is None:
        raise PermissionDenied(
            _("This cannot be done while the case is %(status)s.")
            % {"status": label_of(workflow, case.status)}
        )
    return enter(case, actor, transition, reason, data)


def responded(case: Case, event: CaseEvent) -> None:
    """The first answer from staff stops the first-response clock: from now on
    the case's service level is its resolution target."""
    if case.first_response_at is not None:
        return
    case.first_response_at = event.created_at
    case.save(update_fields=["first_response_at"])
    deadline = workflows.for_kind(case.kind).state(case.status).deadline
    # Only a service level counted from the report moves; a state's own
    # clock (a claim's days in review) runs on.
    if deadline is not None and deadline.at is workflows.sla_due:
        schedule(case, event.created_at)
        case.save(update_fields=["due_at", "due_action", "deadline_at"])


def change_status(membership: Membership, actor: Actor, case: Case, target: str,
                  reason: str = "") -> Case:  # fmt: skip
    """A staff member moves the case by hand (transitions without payload)."""
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        workflow = workflows.for_kind(case.kind)
        transition = workflow.by_hand(case.status, target, membership.role)
        if transition is None:
            raise PermissionDenied(
                _("You cannot move this case from %(source)s to %(target)s.")
                % {
                    "source": workflow.state(case.status).label,
                    "target": label_of(workflow, target),
                }
            )
        event = enter(case, actor, transition, reason)
        if any(
            party == workflows.TO_CUSTOMER for _template, party in transition.notify
        ):
            # Asking or telling the customer is an answer to them.
            responded(case, event)
    return case
