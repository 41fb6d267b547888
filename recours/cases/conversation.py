"""The conversation on a case: assignment, notes, replies, the customer's
messages, and staff messages to the readers they choose."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from recours.accounts.models import Membership
from recours.cases import engine, notices, queries, workflows
from recours.cases.engine import locked, require_member, require_text
from recours.cases.events import add_event, line_for
from recours.cases.models import Audience, Case, CaseEvent
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, PermissionDenied


def assign(membership: Membership, actor: Actor, case: Case,
           assignee: User | None) -> Case:  # fmt: skip
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        if assignee is not None:
            other = (
                Membership.objects.select_related("organization")
                .filter(user=assignee)
                .first()
            )
            if other is None or not (
                other.is_platform or other.organization_id == case.organization_id
            ):
                raise PermissionDenied(_("This person cannot work on this case."))
        case.assignee = assignee
        case.updated_at = clock.now()
        case.save(update_fields=["assignee", "updated_at"])
        name = assignee.get_username() if assignee is not None else ""
        add_event(case, actor, CaseEvent.Type.ASSIGNED, name, public=False)
        audit.record(actor, "case.assigned", case, organization_id=case.organization_id,
                     data={"assignee": name})  # fmt: skip
    return case


def add_note(membership: Membership, actor: Actor, case: Case, body: str) -> CaseEvent:
    body = require_text(body)
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        event = add_event(case, actor, CaseEvent.Type.NOTE, body, public=False,
                          audience=queries.note_audience(membership))  # fmt: skip
        audit.record(
            actor, "case.note_added", case, organization_id=case.organization_id
        )
    return event


def reply(membership: Membership, actor: Actor, case: Case, body: str) -> CaseEvent:
    """A public reply, sent to the customer on their channel.

    The first reply to a case still waiting for one starts the work on it.
    """
    body = require_text(body)
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        engine.require_open(case)
        event = add_event(case, actor, CaseEvent.Type.REPLY, body, public=True)
        engine.responded(case, event)
        start = workflows.for_kind(case.kind).by_hand(
            case.status, "in_progress", membership.role
        )
        if case.status in ("received", "triaged") and start is not None:
            engine.enter(case, actor, start)
        audit.record(actor, "case.replied", case, organization_id=case.organization_id)
        notices.notify_customer(case, "case_reply",
                                f"case:{case.reference}:reply:{event.pk}",
                                {"body": body})  # fmt: skip
    return event


def customer_message(case: Case, body: str) -> CaseEvent:
    """The customer writes on the status page; a case waiting for them wakes up."""
    body = require_text(body)
    actor = Actor(label="customer")
    with transaction.atomic():
        case = locked(case)
        if workflows.for_kind(case.kind).state(case.status).is_final:
            raise Conflict(_("This case is closed. Please file a new report."))
        event = add_event(
            case, actor, CaseEvent.Type.CUSTOMER_MESSAGE, body, public=True
        )
        answered = workflows.for_kind(case.kind).named(
            case, "customer_answered", workflows.CUSTOMER
        )
        if answered is not None:
            engine.enter(case, actor, answered)
        else:
            case.updated_at = event.created_at
            case.save(update_fields=["updated_at"])
        audit.record(actor, "case.customer_message", case,
                     organization_id=case.organization_id)  # fmt: skip
    return event


def post_message(membership: Membership, actor: Actor, case: Case, body: str,
                 audience: str) -> CaseEvent:  # fmt: skip
    """A staff message to the readers chosen: the customer hears of it on their
    channel when it is for them. A merchant may not write to the platform
    alone, nor behind the merchant's back to the customer only."""
    body = require_text(body)
    if audience not in queries.writable_audiences(membership):
        raise PermissionDenied(_("You cannot write to these readers."))
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        engine.require_open(case)
        event = line_for(case, actor, CaseEvent.Type.MESSAGE, body, audience)
        if not membership.is_platform or audience != Audience.PLATFORM:
            engine.responded(case, event)
        audit.record(actor, "case.message_posted", case,
                     organization_id=case.organization_id,
                     data={"audience": audience})  # fmt: skip
        if event.is_public:
            notices.notify_customer(case, "case_reply",
                                    f"case:{case.reference}:reply:{event.pk}",
                                    {"body": body})  # fmt: skip
    return event
