"""Intake: a customer's report becomes a case, triaged and acknowledged."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import formats
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from recours.accounts.models import Customer, Organization
from recours.accounts.phones import to_e164
from recours.cases import engine, notices, workflows
from recours.cases.events import add_event, attach_files
from recours.cases.evidence import CheckedFile
from recours.cases.models import (
    Audience,
    Case,
    CaseEvent,
    ContactChannel,
    Kind,
    PaymentStarted,
    Priority,
    Problem,
    Team,
)
from recours.commerce.lookups import match_identifiers, same_text
from recours.commerce.models import Order, Terminal
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput
from recours.core.references import new_reference

REFERENCE_PREFIX = "RC"
DESCRIPTION_MAX_LENGTH = engine.TEXT_MAX_LENGTH

KIND_BY_PROBLEM = {
    Problem.PAYMENT_FAILED: Kind.PAYMENT_INCIDENT,
    Problem.NO_RECEIPT: Kind.PAYMENT_INCIDENT,
    Problem.CHANGE_NOT_RETURNED: Kind.PAYMENT_INCIDENT,
    Problem.CHARGED_TWICE: Kind.PAYMENT_INCIDENT,
    Problem.ITEM_MISSING: Kind.ITEM_MISSING,
    Problem.WRONG_STATE: Kind.ITEM_MISSING,
    Problem.NOT_RECEIVED: Kind.NOT_RECEIVED,
    Problem.REFUND_NOT_RECEIVED: Kind.REFUND_NOT_RECEIVED,
    Problem.MERCHANT_CLOSED: Kind.MERCHANT_CLOSED,
    Problem.QUESTION: Kind.QUESTION,
    Problem.SUGGESTION: Kind.SUGGESTION,
}
# Technical reports: the technical team needs the item, the transaction and
# when it happened (seed 000's structured contact form).
TECHNICAL_PROBLEMS = {Problem.ITEM_MISSING, Problem.WRONG_STATE}
PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
# A question or a suggestion is not about a payment we need to find.
NO_IDENTIFIER_NEEDED = {Problem.QUESTION, Problem.SUGGESTION}
# One address per contact field: a list would send our messages to strangers,
# and a line break in an address is a mail-header injection.
LIST_SEPARATORS = (",", ";")
LINE_BREAKS = ("\r", "\n")
EMAIL_MAX_LENGTH = 254


@dataclass
class Report:
    """A customer's report as typed, from the portal form or the API."""

    problem: str
    contact_channel: str
    terminal_code: str = ""
    order_reference: str = ""
    payment_started: str = ""
    customer_number: str = ""
    phone: str = ""
    invoice_reference: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    description: str = ""
    item_number: str = ""
    happened_at: datetime | None = None
    language: str = "fr"
    source: str = "portal"
    errors: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def clean_report(
    report: Report, scope: Organization | None
) -> tuple[Report, Terminal | None]:
    """Check a report and normalize it; raise InvalidInput naming each bad field.

    `scope` limits terminals to one organization (an API key's merchant).
    """
    report = replace(report, errors={})
    for name in ("customer_number", "invoice_reference", "order_reference",
                 "terminal_code", "description"):  # fmt: skip
        setattr(report, name, getattr(report, name).strip())
    if report.problem not in Problem.values:
        report.refuse("problem", _("Choose what happened."))
    if report.payment_started and report.payment_started not in PaymentStarted.values:
        report.refuse("payment_started", _("Choose yes, no or not sure."))
    if report.language not in dict(settings.LANGUAGES):
        report.language = settings.LANGUAGE_CODE
    if len(report.description) > DESCRIPTION_MAX_LENGTH:
        count = number_format(len(report.description), force_grouping=True)
        report.refuse(
            "description",
            _("Your comment: at most 5,000 characters (you wrote %(count)s).")
            % {"count": count},
        )
    terminal = None
    if report.terminal_code:
        # A kiosk under maintenance still takes reports: it is often why.
        terminals = Terminal.objects.select_related("organization")
        if scope is not None and not scope.is_platform:
            terminals = terminals.filter(organization=scope)
        terminal = terminals.filter(same_text("code", report.terminal_code)).first()
        if terminal is None:
            report.refuse(
                "terminal_code", _("This kiosk is unknown. Choose it from the list.")
            )
    if report.phone.strip():
        try:
            report.phone = to_e164(report.phone)
        except ValueError:
            report.refuse("phone", _("This phone number is not valid."))
    else:
        report.phone = ""
    clean_contact(report)
    require_identifier(report)
    require_technical_details(report)
    if report.errors:
        raise InvalidInput(_("Please correct the fields shown."), fields=report.errors)
    return report, terminal


def require_identifier(report: Report) -> None:
    """Something to find the payment by, unless the report is not about one.

    The mobile number given for SMS counts: it is how many customers are known."""
    if report.problem in NO_IDENTIFIER_NEEDED:
        return
    identifiers = (report.customer_number, report.phone, report.invoice_reference,
                   report.order_reference, report.contact_phone)  # fmt: skip
    if any(identifiers) or {"phone", "contact_phone"} & set(report.errors):
        return
    report.refuse(
        "identifier",
        _("Give at least one of: customer number, phone number or invoice reference."),
    )


def require_technical_details(report: Report) -> None:
    """A technical report says which item or transaction, and when."""
    report.item_number = report.item_number.strip()
    if report.problem not in TECHNICAL_PROBLEMS:
        return
    if report.problem == Problem.ITEM_MISSING and not report.item_number:
        report.refuse("item_number", _("Give the number of the missing item."))
    if report.problem == Problem.WRONG_STATE and not report.order_reference:
        report.refuse("order_reference", _("Give the order or transaction reference."))
    if report.happened_at is None:
        report.refuse("happened_at", _("Say when it happened (date and time)."))
    elif report.happened_at > clock.now():
        report.refuse("happened_at", _("This date is in the future."))


def clean_contact(report: Report) -> None:
    if report.contact_channel == ContactChannel.SMS:
        number = report.contact_phone.strip() or report.phone
        if any(mark in number for mark in LIST_SEPARATORS + LINE_BREAKS):
            report.refuse("contact_phone", _("Give one mobile number only."))
            return
        try:
            report.contact_phone = to_e164(number) if number else ""
        except ValueError:
            report.refuse("contact_phone", _("This phone number is not valid."))
            return
        if not report.contact_phone:
            report.refuse("contact_phone", _("Give the mobile number we should text."))
        report.contact_email = ""
    elif report.contact_channel == ContactChannel.EMAIL:
        problem = email_problem(report.contact_email)
        if problem:
            report.refuse("contact_email", problem)
        report.contact_email = report.contact_email.strip().lower()
        report.contact_phone = ""
    else:
        report.refuse("contact_channel", _("Choose SMS or e-mail."))


def email_problem(address: str) -> str:
    """What is wrong with a contact e-mail address as typed; "" if nothing."""
    if any(mark in address for mark in LINE_BREAKS):
        return _("E-mail address: write it on one line.")
    address = address.strip()
    if not address:
        return _("Give the e-mail address we should write to.")
    if any(mark in address for mark in LIST_SEPARATORS):
        return _("E-mail address: give one address only, not a list.")
    try:
        validate_email(address)
    except ValidationError:
        return _("This e-mail address is not valid.")
    if len(address) > EMAIL_MAX_LENGTH:
        return _("This e-mail address is not valid.")
    return ""


def triage(
    problem: str, payment_started: str, organization: Organization
) -> tuple[str, str]:
    """Return (priority, team) for a new report."""
    if problem in TECHNICAL_PROBLEMS:
        return Priority.HIGH, Team.TECHNICIAN
    if problem == Problem.CHARGED_TWICE or (
        problem == Problem.PAYMENT_FAILED and payment_started == PaymentStarted.YES
    ):
        return Priority.HIGH, Team.AGENT
    if problem in (Problem.NOT_RECEIVED, Problem.REFUND_NOT_RECEIVED):
        team = Team.AGENT if organization.is_platform else Team.MERCHANT
        return Priority.NORMAL, team
    if problem == Problem.SUGGESTION:
        return Priority.LOW, Team.AGENT
    return Priority.NORMAL, Team.AGENT


def expected_response_hours(case: Case) -> int:
    """What the acknowledgement promises: the first state's deadline, in hours."""
    return promised_response(case)["hours"] or 0


def promised_response(case: Case) -> dict[str, int | None]:
    """The acknowledgement's promise in words' units (hours, or whole days from
    two days on): the first state's deadline counted from the report, whatever
    the case's deadline is now."""
    workflow = workflows.for_kind(case.kind)
    deadline = workflow.state(workflow.first_state(case.kind)).deadline
    if deadline is None:
        return {}
    duration = deadline.duration() or workflows.first_response_target(case)
    hours = max(1, round(duration.total_seconds() / 3600))
    return {"hours": hours, "days": round(hours / 24) if hours >= 48 else None}


def kind_for(problem: str, order: Order | None) -> str:
    """The kind, hence the workflow: a delivery or refund problem is a buyer
    protection claim when its order is protected; else the merchant's incident.

    A protected order's claim must come within its window (seed 004)."""
    kind = KIND_BY_PROBLEM[Problem(problem)]
    if kind not in workflows.PROTECTION_KINDS:
        return kind
    if order is None or order.protection_started_at is None:
        return Kind.ORDER_ISSUE
    refuse_outside_window(order)
    return kind


def refuse_outside_window(order: Order) -> None:
    assert order.protection_ends_at is not None
    ended_at = order.protection_ended_at or order.protection_ends_at
    if order.protection_end_reason == "confirmed" or clock.now() >= ended_at:
        when = formats.date_format(ended_at, "DATE_FORMAT")
        message = _(
            "The buyer protection of order %(order)s ended on %(date)s: a claim "
            "can no longer be opened. You can still send a question."
        ) % {"order": order.reference, "date": when}
        raise InvalidInput(message, fields={"order": [message]})
    open_claim = Case.objects.filter(
        order=order, kind__in=workflows.PROTECTION_KINDS, closed_at__isnull=True
    ).first()
    if open_claim is not None:
        raise Conflict(
            _("A claim for this order is already open: %(reference)s.")
            % {"reference": open_claim.reference}
        )


def create_case(
    actor: Actor,
    report: Report,
    files: list[CheckedFile],
    scope: Organization | None = None,
) -> Case:
    """Open a case from a report and acknowledge it on the customer's channel.

    1. Check the report; refuse with every field's message, having written nothing.
    2. Link it to the terminal, order and customer it names; keep what matches nothing.
    3. Triage (kind, priority, team) and set the first deadline.
    4. In one transaction: the case, its first timeline line, its files, the audit
       event and the acknowledgement in the outbox.

    The case comes back with `public_events`, the public lines just written, so
    a caller showing its timeline reads nothing back.
    """
    report, terminal = clean_report(report, scope)
    match = match_identifiers(
        customer_number=report.customer_number,
        phone_e164=report.phone,
        invoice_reference=report.invoice_reference,
        order_reference=report.order_reference,
        terminal=terminal,
        scope=scope,
    )
    organization = owning_organization(terminal, match.order, match.customer, scope)
    priority, team = triage(report.problem, report.payment_started, organization)
    kind = kind_for(report.problem, match.order)
    now = clock.now()
    for _attempt in range(5):
        case = Case(
            reference=new_reference(REFERENCE_PREFIX),
            organization=organization,
            kind=kind,
            problem=report.problem,
            priority=priority,
            team=team,
            source=report.source,
            terminal=terminal,
            order=match.order,
            customer=match.customer,
            payment_started=report.payment_started,
            given_customer_number=report.customer_number,
            given_phone=report.phone,
            given_invoice_reference=report.invoice_reference,
            given_order_reference=report.order_reference,
            unmatched=not match.found_anything,
            contact_channel=report.contact_channel,
            contact_email=report.contact_email,
            contact_phone=report.contact_phone,
            language=report.language,
            description=report.description,
            given_item_number=report.item_number,
            happened_at=report.happened_at,
            created_at=now,
            updated_at=now,
        )
        engine.start(case)
        try:
            with transaction.atomic():
                event = save_new_case(actor, case, files)
            case.public_events = [event]
            return case
        except IntegrityError:
            if Case.objects.filter(reference=case.reference).exists():
                continue  # A reference collision: draw another one.
            raise
    raise Conflict("could not draw a free case reference")


def open_integrity_case(
    actor: Actor,
    organization: Organization,
    customer: Customer | None,
    title: str,
    details: dict,
) -> Case:
    """Open an `integrity` case for the technical team, with the detector's
    evidence as its first (platform-only) timeline line.

    Call it inside the caller's transaction. The customer is not told now: a
    detector's finding is not yet news for them, its correction will be.
    """
    channel, email, phone = integrity_contact(customer)
    now = clock.now()
    case = Case(
        reference=new_reference(REFERENCE_PREFIX), organization=organization,
        kind=Kind.INTEGRITY, problem="", priority=Priority.HIGH,
        team=Team.TECHNICIAN, source="integrity", customer=customer,
        contact_channel=channel, contact_email=email, contact_phone=phone,
        language=customer.language if customer else settings.LANGUAGE_CODE,
        description=title, created_at=now, updated_at=now,
    )  # fmt: skip
    engine.start(case)
    with transaction.atomic():
        case.save()
        add_event(case, actor, CaseEvent.Type.CREATED, title, public=False,
                  audience=Audience.PLATFORM, data=details)  # fmt: skip
        audit.record(actor, "case.created", case, organization_id=organization.pk,
                     data={"kind": case.kind, "source": "integrity"})  # fmt: skip
    return case


def integrity_contact(customer: Customer | None) -> tuple[str, str, str]:
    """(channel, e-mail, phone) of an integrity case: the customer's, else
    the platform's own address (nobody to tell)."""
    if customer is not None and customer.email:
        return ContactChannel.EMAIL, customer.email, ""
    if customer is not None and customer.phone:
        return ContactChannel.SMS, "", customer.phone
    return ContactChannel.EMAIL, parseaddr(settings.DEFAULT_FROM_EMAIL)[1], ""


def owning_organization(
    terminal: Terminal | None, order: Order | None, customer, scope: Organization | None
) -> Organization:
    for candidate in (terminal, order, customer):
        if candidate is not None:
            return candidate.organization
    if scope is not None:
        return scope
    return Organization.objects.get(kind=Organization.Kind.PLATFORM)


def save_new_case(actor: Actor, case: Case, files: list[CheckedFile]) -> CaseEvent:
    """Write a new case with its first (public) timeline line; return that line."""
    case.save()
    event = add_event(
        case, actor, CaseEvent.Type.CREATED, case.description, public=True
    )
    attach_files(case, event, files)
    audit.record(actor, "case.created", case, organization_id=case.organization_id,
                 data={"kind": case.kind, "unmatched": case.unmatched})  # fmt: skip
    announce_new(case)
    return event


def announce_new(case: Case) -> None:
    """Acknowledge on the customer's channel; a claim also asks the merchant."""
    key = f"case:{case.reference}"
    notices.notify_customer(case, "case_acknowledged", f"{key}:ack",
                            promised_response(case))  # fmt: skip
    if case.status == "awaiting_merchant":
        notices.notify_merchant(case, "claim_opened", f"{key}:claim",
                                {"deadline_at": case.deadline_at})  # fmt: skip
    notices.publish(case, "case.opened", f"{key}:opened")
