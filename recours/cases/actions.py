"""Business actions on cases: one function, one transaction, one audit event each."""

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from recours.accounts import actions as accounts_actions
from recours.accounts.models import Customer, Membership, Organization
from recours.accounts.phones import to_e164
from recours.cases import queries, workflows
from recours.cases.evidence import CheckedFile
from recours.cases.models import (
    Attachment,
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
from recours.core.errors import Conflict, InvalidInput, PermissionDenied
from recours.core.references import new_reference
from recours.core.worker import skip_locked
from recours.notifications.outbox import enqueue

log = logging.getLogger("recours.cases")
REFERENCE_PREFIX = "RC"
DESCRIPTION_MAX_LENGTH = 5000
DUE_BATCH_SIZE = 50

KIND_BY_PROBLEM = {
    Problem.PAYMENT_FAILED: Kind.PAYMENT_INCIDENT,
    Problem.NO_RECEIPT: Kind.PAYMENT_INCIDENT,
    Problem.CHANGE_NOT_RETURNED: Kind.PAYMENT_INCIDENT,
    Problem.CHARGED_TWICE: Kind.PAYMENT_INCIDENT,
    Problem.ITEM_MISSING: Kind.ITEM_MISSING,
    Problem.NOT_RECEIVED: Kind.NOT_RECEIVED,
    Problem.REFUND_NOT_RECEIVED: Kind.REFUND_NOT_RECEIVED,
    Problem.QUESTION: Kind.QUESTION,
    Problem.SUGGESTION: Kind.SUGGESTION,
}
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
    if problem == Problem.ITEM_MISSING:
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
    """What the acknowledgement promises: the deadline of the first state, in hours."""
    assert case.due_at is not None
    return max(1, round((case.due_at - case.created_at).total_seconds() / 3600))


def expected_response(case: Case) -> dict[str, int | None]:
    """The promise in words' units: hours, or whole days from two days on."""
    hours = expected_response_hours(case)
    return {"hours": hours, "days": round(hours / 24) if hours >= 48 else None}


def promised_response(case: Case) -> dict[str, int | None]:
    """The acknowledgement's promise, for a page read later: the first state's
    deadline counted from the report, whatever the case's deadline is now."""
    workflow = workflows.for_kind(case.kind)
    due_at, _action = workflow.due_at(case, workflow.initial, case.created_at)
    if due_at is None:
        return {}
    hours = max(1, round((due_at - case.created_at).total_seconds() / 3600))
    return {"hours": hours, "days": round(hours / 24) if hours >= 48 else None}


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
    kind = KIND_BY_PROBLEM[Problem(report.problem)]
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
            created_at=now,
            updated_at=now,
        )
        workflow = workflows.for_kind(kind)
        case.status = workflow.initial
        case.due_at, case.due_action = workflow.due_at(case, case.status, now)
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
    case.status = workflows.INCIDENT.initial
    case.due_at, case.due_action = workflows.for_kind(Kind.INTEGRITY).due_at(
        case, case.status, now
    )
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
    for checked in files:
        Attachment.objects.create(
            case=case,
            event=event,
            file=checked.as_django_file(),
            original_name=checked.original_name,
            content_type=checked.content_type,
            size_bytes=len(checked.content),
            sha256=checked.sha256,
            uploaded_at=case.created_at,
        )
    audit.record(actor, "case.created", case, organization_id=case.organization_id,
                 data={"kind": case.kind, "unmatched": case.unmatched})  # fmt: skip
    notify_customer(case, "case_acknowledged", f"case:{case.reference}:ack",
                    expected_response(case))  # fmt: skip
    return event


def add_event(
    case: Case, actor: Actor, type: str, body: str = "", *, public: bool,
    data: dict | None = None, audience: str = "",
) -> CaseEvent:  # fmt: skip
    """A timeline line; a public one is for everyone, else for `audience`
    (staff of the merchant and the platform by default)."""
    if public:
        assert audience in ("", Audience.EVERYONE), "a public line is for everyone"
    return CaseEvent.objects.create(
        case=case,
        type=type,
        created_at=clock.now(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        body=body,
        is_public=public,
        audience=Audience.EVERYONE if public else (audience or Audience.STAFF),
        data=data or {},
    )


def status_url(case: Case) -> str:
    return f"{settings.SITE_URL}/status/?reference={case.reference}"


def notify_customer(case: Case, template: str, dedupe_key: str, extra: dict) -> None:
    enqueue(
        dedupe_key=dedupe_key,
        channel=case.contact_channel,
        recipient=case.contact_address,
        template=f"{template}.{case.contact_channel}",
        context={"case": case, "status_url": status_url(case), **extra},
        language=case.language,
        organization_id=case.organization_id,
        about=f"cases.case:{case.pk}",
        about_reference=case.reference,
    )


def locked(case: Case) -> Case:
    """Re-read the case under a row lock, inside the caller's transaction."""
    return Case.objects.select_for_update().get(pk=case.pk)


def require_member(membership: Membership, case: Case) -> None:
    if (
        not membership.is_platform
        and case.organization_id != membership.organization_id
    ):
        raise PermissionDenied(_("This case belongs to another organization."))


def move_to(case: Case, actor: Actor, target: str, reason: str = "") -> None:
    """Set the state and its deadline together (invariant 8); caller holds the lock."""
    source = case.status
    now = clock.now()
    case.status = target
    case.due_at, case.due_action = workflows.for_kind(case.kind).due_at(
        case, target, now
    )
    if target == "resolved":
        case.resolved_at = now
    if target == "closed":
        case.closed_at = now
    case.updated_at = now
    case.save()
    add_event(case, actor, CaseEvent.Type.STATUS, reason, public=True,
              data={"from": source, "to": target})  # fmt: skip
    audit.record(actor, "case.status_changed", case, organization_id=case.organization_id,
                 reason=reason, data={"from": source, "to": target})  # fmt: skip


def change_status(membership: Membership, actor: Actor, case: Case, target: str,
                  reason: str = "") -> Case:  # fmt: skip
    with transaction.atomic():
        case = locked(case)
        require_member(membership, case)
        workflow = workflows.for_kind(case.kind)
        if not workflow.allows(case.status, target, membership.role):
            raise PermissionDenied(
                _("You cannot move this case from %(source)s to %(target)s.")
                % {
                    "source": workflow.state(case.status).label,
                    "target": label_of(workflow, target),
                }
            )
        move_to(case, actor, target, reason)
        notify_status(case, target, reason)
    return case


def label_of(workflow: workflows.Workflow, status: str) -> str:
    try:
        return str(workflow.state(status).label)
    except KeyError:
        return status


def notify_status(case: Case, target: str, reason: str = "") -> None:
    """Tell the customer about a move that concerns them, whoever made it, with
    the reason staff gave ("send a copy of your bank statement")."""
    if target in ("resolved", "closed", "waiting_customer"):
        label = workflows.for_kind(case.kind).state(target).label
        notify_customer(case, "case_status", f"case:{case.reference}:status:{target}:"
                        f"{case.events.count()}",
                        {"status_label": label, "reason": reason.strip()})  # fmt: skip


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
        if workflows.for_kind(case.kind).state(case.status).is_final:
            raise Conflict(_("This case is closed."))
        event = add_event(case, actor, CaseEvent.Type.REPLY, body, public=True)
        if case.first_response_at is None:
            case.first_response_at = event.created_at
            case.save(update_fields=["first_response_at"])
        if case.status in ("received", "triaged"):
            move_to(case, actor, "in_progress")
        audit.record(actor, "case.replied", case, organization_id=case.organization_id)
        notify_customer(case, "case_reply", f"case:{case.reference}:reply:{event.pk}",
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
        if case.status == "waiting_customer":
            move_to(case, actor, "in_progress")
        else:
            case.updated_at = event.created_at
            case.save(update_fields=["updated_at"])
        audit.record(actor, "case.customer_message", case,
                     organization_id=case.organization_id)  # fmt: skip
    return event


def require_text(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidInput(
            _("Write a message first."), fields={"body": [_("Required.")]}
        )
    if len(body) > DESCRIPTION_MAX_LENGTH:
        raise InvalidInput(_("Please keep the message to 5,000 characters at most."),
                           fields={"body": [_("Too long.")]})  # fmt: skip
    return body


def send_access_code(case: Case, link_base: str = "") -> str | None:
    """Send a one-time code (SMS), or a code and a magic link (e-mail), that open
    the status page; return the channel used, or None when a cap refused it.

    The new code replaces the case's live ones. Requests are capped per case
    (per hour and per day) and texts per destination number (SMS pumping);
    over a cap nothing is issued or sent. The code is stored hashed; only the
    message carries it.
    """
    subject = f"case:{case.reference}"
    actor = Actor(label="customer")
    with transaction.atomic():
        # One request at a time per case, so only one code is ever live.
        case = locked(case)
        capped = access_code_cap(case)
        if capped:
            audit.record(actor, "case.access_code_refused", case,
                         organization_id=case.organization_id,
                         data={"cap": capped})  # fmt: skip
            return None
        if case.contact_channel == ContactChannel.SMS:
            extra = {"code": accounts_actions.issue_code(subject, "sms")}
        else:
            issued = accounts_actions.issue_codes(subject, ["email", "link"])
            extra = {"code": issued["email"], "link": f"{link_base or settings.SITE_URL}"
                     f"/status/open/{case.reference}/{issued['link']}/"}  # fmt: skip
        audit.record(actor, "case.access_code_sent", case,
                     organization_id=case.organization_id)  # fmt: skip
        # The key is shown in the console and doubles as a Message-ID: never the code.
        notify_customer(case, "access_code", f"case:{case.reference}:code:"
                        f"{secrets.token_hex(8)}", extra)  # fmt: skip
    return case.contact_channel


def access_code_cap(case: Case) -> str:
    """The cap this request passes (see accounts.actions.code_request_cap), or ""."""
    sms_number = (
        case.contact_phone if case.contact_channel == ContactChannel.SMS else ""
    )
    return accounts_actions.code_request_cap(f"case:{case.reference}", sms_number)


def check_access_code(case: Case, code: str, *, link: bool = False) -> bool:
    """True once for the case's live code (or, with link=True, its link token)."""
    return accounts_actions.check_code(f"case:{case.reference}", code, link=link)


def expire_one(case: Case) -> None:
    """Apply the action of a passed deadline; caller holds the row lock."""
    actor = Actor.system("worker")
    action = case.due_action
    if action == workflows.ESCALATE:
        position = PRIORITY_ORDER.index(Priority(case.priority))
        case.priority = PRIORITY_ORDER[min(position + 1, len(PRIORITY_ORDER) - 1)]
        case.due_at, case.due_action = workflows.for_kind(case.kind).due_at(
            case, case.status, clock.now()
        )
        case.save(update_fields=["priority", "due_at", "due_action"])
        add_event(case, actor, CaseEvent.Type.ESCALATED, public=False,
                  data={"priority": case.priority})  # fmt: skip
        audit.record(actor, "case.escalated", case, organization_id=case.organization_id,
                     data={"priority": case.priority})  # fmt: skip
        log_deadline(case, action)
        return
    target = workflows.EXPIRY_TARGET[action]
    # The note is on the customer's timeline: in the customer's language.
    with translation.override(case.language):
        move_to(case, actor, target, _("Deadline passed."))
    # The customer hears of a resolution by silence as of one made by staff.
    notify_status(case, target)
    log_deadline(case, action)


def log_deadline(case: Case, action: str) -> None:
    """One line per applied deadline, naming the case (JSON logs: its fields)."""
    log.info(
        "deadline of case %s applied: %s, now %s (priority %s)",
        case.reference, action, case.status, case.priority,
        extra={"case": case.reference, "action": action, "state": case.status,
               "priority": case.priority},
    )  # fmt: skip


def expire_due() -> int:
    """Worker job: apply every passed deadline, a small batch at a time."""
    now = clock.now()
    handled = 0
    with transaction.atomic():
        due = list(
            Case.objects.select_for_update(skip_locked=skip_locked())
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
                Case.objects.filter(pk=case.pk).update(due_at=now + timedelta(hours=1))
            handled += 1
    return handled
