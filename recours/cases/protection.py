"""Buyer protection claims (seed 004, ARCHITECTURE.md 5): the merchant's
answer, the customer's options, documents, and the mediator's decision.

Each action is one transaction that locks the case, checks who acts, records
what they said, and takes the workflow transition that the data in
cases.workflows declares (with its notices and webhook event).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from recours.accounts.models import Membership
from recours.cases import engine, intake, notices, queries, workflows
from recours.cases.engine import locked, require_member, require_open, require_text
from recours.cases.events import add_event, attach_files, line_for
from recours.cases.evidence import CheckedFile
from recours.cases.models import (
    Audience,
    Case,
    CaseEvent,
    ContactChannel,
    Decision,
    DocumentRequest,
    MerchantAnswer,
)
from recours.commerce.models import Order
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput, PermissionDenied
from recours.core.money import Money

Answer = MerchantAnswer.Kind
Outcome = Decision.Outcome
Destination = Decision.Destination
Party = DocumentRequest.Party
CUSTOMER_ACTOR = Actor(label="customer")
DOCUMENTS_DAYS_MAX = 60
# Who reads a document request, by the parties asked.
REQUEST_AUDIENCE: dict[frozenset[str], str] = {
    frozenset({Party.CUSTOMER.value}): Audience.CUSTOMER_PLATFORM,
    frozenset({Party.MERCHANT.value}): Audience.STAFF,
    frozenset({Party.CUSTOMER.value, Party.MERCHANT.value}): Audience.EVERYONE,
}


# Opening a claim


def open_claim(
    order: Order, problem: str, description: str, files: list[CheckedFile], *,
    language: str, source: str = "protection",
) -> Case:  # fmt: skip
    """Open a protection claim on a protected order, for its customer.

    Refused (InvalidInput on "order") when the order is not protected, its
    window has passed or the customer ended it; Conflict when a claim for the
    order is open already.
    """
    if problem not in workflows.PROTECTION_KINDS:
        raise InvalidInput(
            _("Choose what happened."), fields={"problem": [_("Required.")]}
        )
    if order.protection_started_at is None:
        message = _("Order %(order)s is not protected.") % {"order": order.reference}
        raise InvalidInput(message, fields={"order": [message]})
    customer = order.customer
    if customer is None or not (customer.email or customer.phone):
        message = _("We have no e-mail address or phone number for this order.")
        raise InvalidInput(message, fields={"order": [message]})
    by_email = bool(customer.email)
    report = intake.Report(
        problem=problem,
        contact_channel=ContactChannel.EMAIL if by_email else ContactChannel.SMS,
        contact_email=customer.email if by_email else "",
        contact_phone="" if by_email else customer.phone,
        order_reference=order.reference,
        description=description,
        language=language,
        source=source,
    )
    return intake.create_case(CUSTOMER_ACTOR, report, files, scope=order.organization)


# The merchant's answer


def full_amount(case: Case) -> Money | None:
    """What the order cost: the answer form's pre-filled amount."""
    if case.order is None:
        return None
    return Money(case.order.total_minor, case.order.currency)


def refund_amount(case: Case, amount_minor: int | None, name: str) -> int:
    """A refund's amount: the full order by default, never more than was paid."""
    full = full_amount(case)
    if amount_minor is None:
        if full is None:
            raise InvalidInput(_("Give the amount."), fields={name: [_("Required.")]})
        return full.amount_minor
    if amount_minor <= 0:
        message = _("The amount must be more than zero.")
        raise InvalidInput(message, fields={name: [message]})
    if full is not None and amount_minor > full.amount_minor:
        message = _("The amount cannot be more than the order's %(total)s.") % {
            "total": full
        }
        raise InvalidInput(message, fields={name: [message]})
    return amount_minor


def currency_of(case: Case) -> str:
    if case.order is not None:
        return case.order.currency
    return str(Order._meta.get_field("currency").default)


def merchant_answer(
    membership: Membership, actor: Actor, case: Case, *, answer: str,
    amount_minor: int | None, message: str, files: list[CheckedFile],
) -> Case:  # fmt: skip
    """The merchant answers a claim: refund, refund after return (full or
    partial amount) or no refund, always with a message, maybe with files."""
    message = require_text(message, "message")
    if answer not in Answer.values:
        raise InvalidInput(
            _("Choose your answer."), fields={"answer": [_("Required.")]}
        )
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        if not workflows.for_kind(case.kind).may(
            case, "merchant_answer", membership.role
        ):
            raise PermissionDenied(_("This claim is not waiting for your answer."))
        refund = answer != Answer.NO_REFUND
        amount = refund_amount(case, amount_minor, "amount") if refund else None
        full = full_amount(case)
        MerchantAnswer.objects.create(
            case=case, kind=answer, amount_minor=amount,
            full_amount_minor=full.amount_minor if full and refund else None,
            currency=currency_of(case) if refund else "", message=message,
            answered_by_id=actor.user_id, created_at=clock.now(),
        )  # fmt: skip
        event = add_event(case, actor, CaseEvent.Type.MERCHANT_ANSWER, message,
                          public=True, data={"answer": answer, "amount_minor": amount})  # fmt: skip
        attach_files(case, event, files)
        engine.responded(case, event)
        engine.take(case, actor, "merchant_answer", membership.role,
                    data={"answer": answer})  # fmt: skip
    return case


# The customer's side


def customer_options(case: Case) -> list[tuple[str, str]]:
    """(option, label) the customer may choose now, fitting the merchant's answer."""
    workflow = workflows.for_kind(case.kind)
    return [
        (transition.name, str(transition.label))
        for transition in workflow.available(case, workflows.CUSTOMER)
        if transition.name != "customer_answered"
    ]


def customer_respond(case: Case, option: str, message: str = "",
                     files: list[CheckedFile] | tuple = ()) -> Case:  # fmt: skip
    """The customer's answer on the status page, with a message and files."""
    message = message.strip()
    if len(message) > engine.TEXT_MAX_LENGTH:
        require_text(message, "message")
    with transaction.atomic():
        case = locked(case)
        workflow = workflows.for_kind(case.kind)
        transition = workflow.named(case, option, workflows.CUSTOMER)
        if transition is None or option not in dict(customer_options(case)):
            raise InvalidInput(
                _("This choice is no longer open. Reload the page."),
                fields={"option": [_("Choose one of the options shown.")]},
            )
        event = add_event(case, CUSTOMER_ACTOR, CaseEvent.Type.CUSTOMER_RESPONSE,
                          message, public=True,
                          data={"option": option, "label": str(transition.label)})  # fmt: skip
        attach_files(case, event, list(files))
        engine.enter(case, CUSTOMER_ACTOR, transition)
    return case


# Documents and evidence


def party_of(membership: Membership | None) -> str:
    if membership is None:
        return Party.CUSTOMER
    return "platform" if membership.is_platform else Party.MERCHANT


def add_evidence(case: Case, files: list[CheckedFile], message: str = "", *,
                 membership: Membership | None = None,
                 actor: Actor | None = None) -> CaseEvent:  # fmt: skip
    """Files (and a word) added after intake by the customer (no membership),
    the merchant or the platform; they answer that party's document requests,
    and a case whose requests are all answered goes back to review."""
    message = message.strip()
    if not files and not message:
        raise InvalidInput(
            _("Add a file or a message."), fields={"files": [_("Required.")]}
        )
    if message:
        message = require_text(message, "message")
    actor = actor or CUSTOMER_ACTOR
    with transaction.atomic():
        case = locked(case)
        if membership is not None:
            require_member(membership, case)
        require_open(case)
        event = add_event(case, actor, CaseEvent.Type.EVIDENCE, message, public=True,
                          data={"party": party_of(membership), "files": len(files)})  # fmt: skip
        attach_files(case, event, files)
        answered = queries.open_requests(case, party_of(membership))
        answered.update(answered_at=event.created_at)
        audit.record(actor, "case.evidence_added", case,
                     organization_id=case.organization_id,
                     data={"files": len(files)})  # fmt: skip
        moved = documents_complete(case) or customer_answered(case, membership, actor)
        if not moved:
            case.updated_at = event.created_at
            case.save(update_fields=["updated_at"])
    return event


def documents_complete(case: Case) -> bool:
    """Every requested party answered: the case goes back to review."""
    if case.status != "waiting_documents" or queries.open_requests(case).exists():
        return False
    engine.take(case, Actor.system("documents"), "documents_received", workflows.SYSTEM)
    return True


def customer_answered(case: Case, membership: Membership | None, actor: Actor) -> bool:
    """Documents from a customer the case waits for are their answer."""
    if membership is not None:
        return False
    answered = workflows.for_kind(case.kind).named(
        case, "customer_answered", workflows.CUSTOMER
    )
    if answered is None:
        return False
    engine.enter(case, actor, answered)
    return True


def end_of_day(day: date) -> datetime:
    """The last minute of a day in the operator's time zone, in UTC."""
    local = datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(settings.TIME_ZONE))
    return local.astimezone(ZoneInfo("UTC"))


def documents_due(due_date: date | None) -> datetime:
    today = clock.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    if due_date is None:
        due_date = today + timedelta(days=settings.PROTECTION_DOCUMENTS_DAYS)
    if not today < due_date <= today + timedelta(days=DOCUMENTS_DAYS_MAX):
        message = _("Choose a date after today, within %(days)s days.") % {
            "days": DOCUMENTS_DAYS_MAX
        }
        raise InvalidInput(message, fields={"due_date": [message]})
    return end_of_day(due_date)


def request_documents(
    membership: Membership, actor: Actor, case: Case, *, parties: set[str],
    message: str, due_date: date | None = None,
) -> Case:  # fmt: skip
    """A mediator asks the customer, the merchant or both for documents by a date."""
    message = require_text(message, "message")
    asked = frozenset(parties)
    if not asked or not asked <= set(Party.values):
        raise InvalidInput(_("Choose who should send documents."),
                           fields={"parties": [_("Required.")]})  # fmt: skip
    due_at = documents_due(due_date)
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        if not workflows.for_kind(case.kind).may(
            case, "request_documents", membership.role
        ):
            raise PermissionDenied(
                _("Only a mediator can ask for documents in review.")
            )
        now = clock.now()
        for party in sorted(asked):
            DocumentRequest.objects.create(
                case=case, party=party, message=message, due_at=due_at,
                requested_by_id=actor.user_id, created_at=now,
            )  # fmt: skip
        case.documents_due_at = due_at
        line_for(case, actor, CaseEvent.Type.DOCUMENTS_REQUESTED, message,
                 REQUEST_AUDIENCE[asked],
                 data={"parties": sorted(asked), "due_at": due_at.isoformat()})  # fmt: skip
        event = engine.take(case, actor, "request_documents", membership.role)
        tell_requested(case, asked, message, event.pk)
    return case


def tell_requested(case: Case, asked: frozenset[str], message: str,
                   event_pk: int) -> None:  # fmt: skip
    extra = {"message": message, "deadline_at": case.documents_due_at}
    key = f"case:{case.reference}:documents_requested"
    if Party.CUSTOMER in asked:
        notices.notify_customer(
            case, "documents_requested", f"{key}:customer:{event_pk}", extra
        )
    if Party.MERCHANT in asked:
        notices.notify_merchant(
            case, "documents_requested", f"{key}:merchant:{event_pk}", extra
        )


# The mediator's decision


def decide(
    membership: Membership, actor: Actor, case: Case, *, outcome: str,
    amount_minor: int | None, destination: str, reason: str,
) -> Decision:  # fmt: skip
    """Decide a claim in review, with a reason both parties read. A refund
    (never more than the order) or a replacement keeps the case open until it
    is carried out; no refund closes it."""
    reason = require_text(reason, "reason")
    if outcome not in Outcome.values:
        raise InvalidInput(
            _("Choose the decision."), fields={"outcome": [_("Required.")]}
        )
    refund = outcome == Outcome.REFUND
    if refund and destination not in Destination.values:
        raise InvalidInput(_("Choose where the refund goes."),
                           fields={"destination": [_("Required.")]})  # fmt: skip
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        if not workflows.for_kind(case.kind).may(case, "decide", membership.role):
            raise PermissionDenied(_("Only a mediator can decide a claim in review."))
        amount = refund_amount(case, amount_minor, "amount") if refund else None
        decision = Decision.objects.create(
            case=case, outcome=outcome, amount_minor=amount,
            currency=currency_of(case) if refund else "",
            destination=destination if refund else "", reason=reason,
            decided_by_id=actor.user_id, decided_at=clock.now(),
        )  # fmt: skip
        add_event(case, actor, CaseEvent.Type.DECISION, reason, public=True,
                  data={"outcome": outcome, "amount_minor": amount,
                        "destination": decision.destination})  # fmt: skip
        engine.take(case, actor, "decide", membership.role,
                    data={"outcome": outcome})  # fmt: skip
    return decision


def carry_out(case: Case, actor: Actor, party: str) -> Case:
    """The decided refund was paid or the replacement sent: the case closes."""
    with transaction.atomic():
        case = locked(case)
        decision = case.decision_made
        if decision is None or decision.carried_out_at is not None:
            raise Conflict(_("This case has no decision left to carry out."))
        decision.carried_out_at = clock.now()
        decision.save(update_fields=["carried_out_at"])
        engine.take(case, actor, "decision_paid", party)
    return case


def mark_carried_out(membership: Membership, actor: Actor, case: Case) -> Case:
    require_member(membership, case)
    return carry_out(case, actor, membership.role)


def on_refund_succeeded(*, case_reference: str = "", **_payload: object) -> None:
    """core.hooks handler: the refund engine paid a decided refund."""
    case = Case.objects.filter(reference=case_reference, status="decided").first()
    if case is not None and case.decision_made is not None:
        carry_out(case, Actor.system("refunds"), workflows.SYSTEM)
