"""The staff console: the queue, a case and its actions, evidence, demo SMS.

Views parse with forms, authorize with recours.cases.access, call the cases
actions and render; they never write models themselves. A case a member may
not see answers 404, exactly as a case that does not exist.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Concatenate

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from recours.accounts.models import Membership
from recours.accounts.phones import to_e164
from recours.cases import conversation, engine, evidence, intake, queries, workflows
from recours.cases.access import membership_of, staff_actor, visible_cases
from recours.cases.models import (
    CUSTOMER_AUDIENCES,
    Attachment,
    Audience,
    Case,
    CaseEvent,
    Priority,
    Team,
)
from recours.commerce.models import Terminal
from recours.console import claims, diagrams, labels
from recours.console.forms import (
    ANY_STATUS,
    AssignForm,
    ConsoleLoginForm,
    NoteForm,
    QueueFilterForm,
    ReplyForm,
    SmsFilterForm,
    StatusForm,
)
from recours.core import clock, ratelimit
from recours.core.audit import Actor
from recours.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from recours.core.money import Money
from recours.core.references import normalize_reference
from recours.core.sessions import start_staff_session
from recours.notifications import actions as outbox_actions
from recours.notifications.models import OutboxMessage, SmsMessage

QUEUE_PAGE_SIZE = 25
SMS_PAGE_SIZE = 50
UNDELIVERED_PAGE_SIZE = 25

# Queue tabs that are not a team.
ALL = "all"
MINE = "mine"
# A merchant's cases that wait for its answer: in its team's queue, and not
# waiting on the customer (a claim in review is the mediators', not here).
TO_ANSWER = "to_answer"
TO_ANSWER_CASES = Q(team=Team.MERCHANT) & ~Q(
    status__in=("awaiting_customer", "waiting_customer")
)

# Fields the queue's free-text search looks in (what the customer gave, what
# it matched, how to reach them).
SEARCH_FIELDS = (
    "reference",
    "given_customer_number",
    "given_phone",
    "given_invoice_reference",
    "given_order_reference",
    "contact_email",
    "contact_phone",
    "customer__customer_number",
    "customer__name",
    "customer__email",
    "order__reference",
)

# What an outbox message is, from the middle of its key ("case:REF:reply:12").
MESSAGE_KINDS = {
    "ack": gettext_lazy("Acknowledgement"),
    "code": gettext_lazy("Access code"),
    "reply": gettext_lazy("Reply"),
    "case_status": gettext_lazy("Status update"),
    "claim": gettext_lazy("Claim opened"),
    "merchant_answered": gettext_lazy("The merchant's answer"),
    "answer_needed": gettext_lazy("Reminder: your answer is needed"),
    "deadline_approaching": gettext_lazy("Reminder: the deadline approaches"),
    "forwarded_to_review": gettext_lazy("Forwarded to review"),
    "documents_requested": gettext_lazy("Documents requested"),
    "decision": gettext_lazy("Decision"),
    "case_closed": gettext_lazy("Case closed"),
    "breach": gettext_lazy("Service level breached"),
}
ACTOR_LABELS = {
    "customer": gettext_lazy("Customer"),
    "worker": gettext_lazy("Recours (automatic)"),
}


def staff_required[**P](
    view: Callable[Concatenate[HttpRequest, Membership, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Log in first; then only members of an organization may go on."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_of(request.user)
        if membership is None:
            return render(request, "console/forbidden.html", status=403)
        return view(request, membership, *args, **kwargs)

    return wrapper


def render_console(
    request: HttpRequest,
    membership: Membership,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    return render(
        request, template, {"membership": membership, **context}, status=status
    )


# Login and logout


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ConsoleLoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if ratelimit.over_limit(request, "login", settings.LOGIN_RATE_LIMIT):
            return ratelimit.too_many_requests(request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        start_staff_session(self.request)
        return response


# The queue


def visible_terminals(membership: Membership) -> QuerySet[Terminal]:
    terminals = Terminal.objects.order_by("name", "code")
    if membership.is_platform:
        return terminals
    return terminals.filter(organization_id=membership.organization_id)


def as_phone(text: str) -> str:
    """The number in E.164 if the text is a phone number, else ""."""
    try:
        return to_e164(text)
    except ValueError:
        return ""


def search(cases: QuerySet[Case], text: str) -> QuerySet[Case]:
    text = text.strip()
    if not text:
        return cases
    match = Q()
    for name in SEARCH_FIELDS:
        match |= Q(**{f"{name}__icontains": text})
    # References and phone numbers are found however they were typed.
    match |= Q(reference=normalize_reference(text, intake.REFERENCE_PREFIX))
    if phone := as_phone(text):
        match |= Q(given_phone=phone) | Q(contact_phone=phone)
        match |= Q(customer__phone=phone)
    return cases.filter(match)


def by_age(cases: QuerySet[Case], age: str, now: datetime) -> QuerySet[Case]:
    day = timedelta(days=1)
    if age == "lt24h":
        return cases.filter(created_at__gt=now - day)
    if age == "1to3d":
        return cases.filter(created_at__lte=now - day, created_at__gt=now - 3 * day)
    if age == "gt3d":
        return cases.filter(created_at__lte=now - 3 * day)
    if age == "overdue":
        return cases.filter(due_at__lt=now)
    return cases


def filtered_cases(
    cases: QuerySet[Case], form: QueueFilterForm, now: datetime
) -> QuerySet[Case]:
    status = form.value("status")
    if not status:
        cases = cases.exclude(status__in=labels.not_open_statuses())
    elif status != ANY_STATUS:
        cases = cases.filter(status=status)
    if kind := form.value("kind"):
        cases = cases.filter(kind=kind)
    if terminal := form.value("terminal"):
        cases = cases.filter(terminal=terminal)
    cases = by_age(cases, form.value("age"), now)
    return search(cases, form.value("q"))


def queue_tabs(membership: Membership) -> list[tuple[str, object]]:
    tabs: list[tuple[str, object]] = [
        (ALL, gettext_lazy("All")),
        (MINE, gettext_lazy("Mine")),
    ]
    # The platform's teams mean nothing to a merchant's staff.
    if membership.is_platform:
        tabs.extend(Team.choices)
    else:
        tabs.append((TO_ANSWER, gettext_lazy("To answer")))
    return tabs


def in_tab(cases: QuerySet[Case], tab: str, user: User | AnonymousUser):
    if tab == MINE:
        return cases.filter(assignee_id=user.pk)
    if tab == TO_ANSWER:
        return cases.filter(TO_ANSWER_CASES)
    if tab in Team.values:
        return cases.filter(team=tab)
    return cases


def tab_counts(cases: QuerySet[Case], user: User | AnonymousUser) -> dict[str, int]:
    """Every tab's count in one query."""
    counts = {
        ALL: Count("pk"),
        MINE: Count("pk", filter=Q(assignee_id=user.pk)),
        TO_ANSWER: Count("pk", filter=TO_ANSWER_CASES),
    }
    for team in Team.values:
        counts[team] = Count("pk", filter=Q(team=team))
    return cases.order_by().aggregate(**counts)


@require_GET
@staff_required
def queue(request: HttpRequest, membership: Membership) -> HttpResponse:
    now = clock.now()
    form = QueueFilterForm(request.GET, terminals=visible_terminals(membership))
    cases = filtered_cases(visible_cases(membership), form, now)
    tabs = queue_tabs(membership)
    tab = request.GET.get("team", ALL)
    if tab not in dict(tabs):
        tab = ALL
    counts = tab_counts(cases, request.user)
    rows = (
        in_tab(cases, tab, request.user)
        .select_related("organization", "terminal", "assignee")
        .order_by(F("due_at").asc(nulls_last=True), "created_at", "pk")
    )
    page = Paginator(rows, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "tab": tab,
        "tabs": [(key, label, counts[key]) for key, label in tabs],
        "page": page,
        "rows": [
            {
                "case": case,
                "status_label": labels.status_label(case.kind, case.status),
                "overdue": case.due_at is not None and case.due_at < now,
                "countdown": claims.countdown(case, now),
            }
            for case in page
        ],
        "now": now,
    }
    return render_console(request, membership, "console/queue.html", context)


# A case


def case_or_404(membership: Membership, reference: str) -> Case:
    cases = visible_cases(membership).select_related(
        "organization", "terminal", "order", "customer", "assignee"
    )
    canonical = normalize_reference(reference, intake.REFERENCE_PREFIX)
    return get_object_or_404(cases, reference=canonical)


def event_title(case: Case, event: CaseEvent) -> str:
    if title := claims.event_title(case, event):
        return title
    if event.type == CaseEvent.Type.STATUS:
        return _("Status: %(source)s → %(target)s") % {
            "source": labels.status_label(case.kind, event.data.get("from", "")),
            "target": labels.status_label(case.kind, event.data.get("to", "")),
        }
    if event.type == CaseEvent.Type.ASSIGNED:
        if event.body:
            return _("Assigned to %(name)s") % {"name": event.body}
        return _("Unassigned")
    if event.type == CaseEvent.Type.ESCALATED:
        priority = event.data.get("priority", "")
        label = dict(Priority.choices).get(priority, priority)
        return _("Escalated: priority %(priority)s") % {"priority": label}
    return str(event.get_type_display())


def staff_timeline(membership: Membership, case: Case) -> list[dict[str, Any]]:
    """The lines this member may read, public and internal, with the events that
    carry no text of their own (assignment, status) given a title instead."""
    events = queries.timeline_for(membership, case).prefetch_related("attachments")
    return [
        {
            "event": event,
            "title": event_title(case, event),
            "who": ACTOR_LABELS.get(event.actor_label, event.actor_label),
            "body": "" if event.type == CaseEvent.Type.ASSIGNED else event.body,
            "readers": claims.readers(event),
            "attachments": list(event.attachments.all()),
        }
        for event in events
    ]


def case_messages(case: Case) -> list[dict[str, Any]]:
    outbox = OutboxMessage.objects.filter(about=f"cases.case:{case.pk}").order_by(
        "created_at", "pk"
    )
    found = []
    for message in outbox:
        # Bodies stay out of the page: an access code must not be read here.
        parts = message.dedupe_key.split(":")
        what = MESSAGE_KINDS.get(parts[2], "") if len(parts) > 2 else ""
        found.append({"message": message, "what": what or message.subject})
    return found


def status_targets(case: Case, membership: Membership) -> list[tuple[str, object]]:
    return labels.allowed_targets(case.kind, case.status, membership.role)


def reply_form(membership: Membership, data: Any = None) -> ReplyForm:
    audiences = queries.writable_audiences(membership)
    return ReplyForm(data, prefix="reply", audiences=audiences)


def default_forms(case: Case, membership: Membership) -> dict[str, Any]:
    targets = status_targets(case, membership)
    return {
        "assign_form": AssignForm(),
        "status_form": StatusForm(prefix="status", targets=targets),
        "note_form": NoteForm(prefix="note"),
        "reply_form": reply_form(membership),
        **claims.default_forms(case, membership),
    }


def due_action_label(case: Case) -> str:
    """What happens when the case's deadline passes, for staff."""
    workflow = workflows.for_kind(case.kind)
    if case.status not in {state.name for state in workflow.states}:
        return ""
    deadline = workflow.state(case.status).deadline
    if deadline is None:
        return ""
    if deadline.expiry == workflows.ESCALATE:
        return _("When it passes, the case escalates.")
    transition = workflow.expiry(case.status)
    assert transition is not None
    return _("When it passes, the case moves to “%(state)s”.") % {
        "state": labels.status_label(case.kind, transition.target)
    }


def render_case(
    request: HttpRequest,
    membership: Membership,
    case: Case,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    workflow = workflows.for_kind(case.kind)
    forms = {**default_forms(case, membership), **(bound or {})}
    now = clock.now()
    order_total = None
    if case.order is not None:
        order_total = Money(case.order.total_minor, case.order.currency)
    context = {
        "case": case,
        "status_label": labels.status_label(case.kind, case.status),
        "is_final": workflow.state(case.status).is_final,
        "due_action": due_action_label(case),
        "overdue": case.deadline_at is not None and case.deadline_at < now,
        "order_total": order_total,
        "timeline": staff_timeline(membership, case),
        "loose_attachments": case.attachments.filter(event__isnull=True),
        "outbox": case_messages(case),
        "assigned_to_me": case.assignee_id == request.user.pk,
        "failed_forms": [form for form in (bound or {}).values() if form.errors],
        **claims.context(case, membership, now),
        "workflow_picture": diagrams.case_picture(case, due_action_label(case)),
        **forms,
    }
    return render_console(request, membership, "console/case.html", context, status)


@require_GET
@staff_required
def case_page(request: HttpRequest, membership: Membership, reference: str):
    return render_case(request, membership, case_or_404(membership, reference))


def perform(
    request: HttpRequest,
    membership: Membership,
    case: Case,
    name: str,
    form: Any,
    action: Callable[[Actor], object],
    success: str,
) -> HttpResponse:
    """Run a cases action; on success say so and go back to the case, else show
    the domain's refusal on the form that asked for it."""
    try:
        action(staff_actor(membership))
    except DomainError as error:
        form.add_error(None, error.message)
        fields = error.fields if isinstance(error, InvalidInput) else {}
        for field, field_messages in fields.items():
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
        status = 403 if isinstance(error, PermissionDenied) else 422
        return render_case(request, membership, case, {name: form}, status)
    messages.success(request, success)
    return redirect("console:case", reference=case.reference)


@require_POST
@staff_required
def assign(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return render_case(request, membership, case, {"assign_form": form}, 422)
    if form.cleaned_data["assignee"] == AssignForm.ME:
        assert isinstance(request.user, User)
        assignee: User | None = request.user
        success = _("The case is assigned to you.")
    else:
        assignee, success = None, _("The case is no longer assigned.")
    return perform(
        request, membership, case, "assign_form", form,
        lambda actor: conversation.assign(membership, actor, case, assignee), success,
    )  # fmt: skip


@require_POST
@staff_required
def change_status(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    targets = status_targets(case, membership)
    form = StatusForm(request.POST, prefix="status", targets=targets)
    if not form.is_valid():
        return render_case(request, membership, case, {"status_form": form}, 422)
    target, reason = form.cleaned_data["target"], form.cleaned_data["reason"]
    success = _("The status is now: %(status)s.") % {
        "status": labels.status_label(case.kind, target)
    }
    return perform(
        request, membership, case, "status_form", form,
        lambda actor: engine.change_status(membership, actor, case, target, reason),
        success,
    )  # fmt: skip


@require_POST
@staff_required
def add_note(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        return render_case(request, membership, case, {"note_form": form}, 422)
    body = form.cleaned_data["body"]
    return perform(
        request, membership, case, "note_form", form,
        lambda actor: conversation.add_note(membership, actor, case, body),
        _("Your internal note was added."),
    )  # fmt: skip


@require_POST
@staff_required
def reply(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = reply_form(membership, request.POST)
    if not form.is_valid():
        return render_case(request, membership, case, {"reply_form": form}, 422)
    body, audience = form.cleaned_data["body"], form.cleaned_data["audience"]
    if audience == Audience.EVERYONE:
        # A reply to everyone also starts the work on a new incident.
        return perform(
            request, membership, case, "reply_form", form,
            lambda actor: conversation.reply(membership, actor, case, body),
            _("Your reply is on its way to the customer."),
        )  # fmt: skip
    if audience in CUSTOMER_AUDIENCES:
        success = _("Your message is on its way to the customer.")
    else:
        success = _("Your message was added.")
    return perform(
        request, membership, case, "reply_form", form,
        lambda actor: conversation.post_message(membership, actor, case, body,
                                                audience),
        success,
    )  # fmt: skip


# Evidence


@require_GET
@staff_required
def attachment(request: HttpRequest, membership: Membership, pk: int):
    # A file on a line this member may not read is not theirs to download.
    readable = Q(event__isnull=True) | Q(
        event__audience__in=queries.audiences_for(membership)
    )
    attachment = get_object_or_404(
        Attachment.objects.filter(readable, case__in=visible_cases(membership)), pk=pk
    )
    return evidence.download(attachment)


# The demo SMS backend's messages


@require_GET
@staff_required
def sms(request: HttpRequest, membership: Membership) -> HttpResponse:
    # Codes sent to every merchant's customers are here: platform staff only.
    if not membership.is_platform:
        raise Http404("platform staff only")
    form = SmsFilterForm(request.GET)
    texts = SmsMessage.objects.order_by("-created_at", "-pk")
    if number := form.value().strip():
        match = Q(to__icontains=number)
        if phone := as_phone(number):
            match |= Q(to=phone)
        texts = texts.filter(match)
    page = Paginator(texts, SMS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    return render_console(request, membership, "console/sms.html", context)


# Messages that ran out of attempts


def outbox_scope(membership: Membership) -> int | None:
    """Platform staff act on every organization's messages, merchant staff on theirs."""
    return None if membership.is_platform else membership.organization_id


def message_kind(message: OutboxMessage) -> str:
    # Never the body or the subject: access codes are in them.
    parts = message.dedupe_key.split(":")
    return str(MESSAGE_KINDS.get(parts[2], "")) if len(parts) > 2 else ""


@require_GET
@staff_required
def undelivered(request: HttpRequest, membership: Membership) -> HttpResponse:
    failed = outbox_actions.failed_messages(outbox_scope(membership))
    page = Paginator(failed, UNDELIVERED_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "message": message,
            "what": message_kind(message),
            "is_case": message.about.startswith("cases.case:"),
        }
        for message in page
    ]
    context = {"page": page, "rows": rows, "total": page.paginator.count}
    return render_console(request, membership, "console/undelivered.html", context)


@require_POST
@staff_required
def resend(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    try:
        outbox_actions.resend(
            staff_actor(membership), pk, organization_id=outbox_scope(membership)
        )
    except NotFound:
        # Another organization's message answers as one that does not exist.
        raise Http404("no such message") from None
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The message is queued again."))
    return redirect("console:undelivered")


@require_POST
@staff_required
def resend_all(request: HttpRequest, membership: Membership) -> HttpResponse:
    queued = outbox_actions.resend_all(
        staff_actor(membership), organization_id=outbox_scope(membership)
    )
    count = len(queued)
    messages.success(
        request,
        ngettext(
            "%(count)d message is queued again.",
            "%(count)d messages are queued again.",
            count,
        )
        % {"count": count},
    )
    return redirect("console:undelivered")
