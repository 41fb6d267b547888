"""The customer's case page, once the browser proved it owns the case.

It shows where the case stands, a claim's answer from the shop and the
mediator's decision, the documents asked for, the deadline that runs, and the
timeline meant for the customer. Three forms post here, each to its own
address: a message, an answer to a claim (the options that fit it now), and
documents added after intake. Refused, a form comes back on the page with its
errors beside its fields (422); accepted, the page is loaded again with a
message that says what happened (post/redirect/get).
"""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from recours.accounts.models import Membership, Role
from recours.cases import conversation, intake, protection, queries, workflows
from recours.cases.evidence import CheckedFile, check_files, download
from recours.cases.models import (
    CUSTOMER_AUDIENCES,
    Attachment,
    Case,
    CaseEvent,
    Decision,
    MerchantAnswer,
)
from recours.core.errors import Conflict, InvalidInput
from recours.core.ratelimit import over_limit, too_many_requests
from recours.core.request_limits import limit_before_body
from recours.portal.forms import EvidenceForm, MessageForm, PortalForm, RespondForm
from recours.portal.views import verified_case

CUSTOMER = protection.CUSTOMER_ACTOR.label
# Who wrote a line, said neutrally (never a staff member's name).
YOU = "you"
SHOP = "shop"
MEDIATOR = "mediator"
SUPPORT = "support"
# Lines only the platform's mediation writes.
MEDIATION_LINES = (CaseEvent.Type.DECISION, CaseEvent.Type.DOCUMENTS_REQUESTED)
CUSTOMER_LINES = (
    CaseEvent.Type.CREATED,
    CaseEvent.Type.CUSTOMER_MESSAGE,
    CaseEvent.Type.CUSTOMER_RESPONSE,
)


def who_labels() -> dict[str, str]:
    return {
        YOU: _("You"),
        SHOP: _("The shop"),
        MEDIATOR: _("The platform's mediator"),
        SUPPORT: _("Support team"),
    }


def to_status(reference: str) -> HttpResponse:
    return redirect(
        reverse("portal:status") + "?" + urlencode({"reference": reference})
    )


# The page


@require_http_methods(["GET", "POST"])
def case_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The case; its POST is a message to us."""
    case = verified_case(request, reference)
    if case is None:
        return to_status(reference)
    form = MessageForm(request.POST) if request.method == "POST" else MessageForm()
    if form.is_bound:
        if over_limit(request, "message", settings.STATUS_RATE_LIMIT):
            return too_many_requests(request)
        if form.is_valid():
            try:
                conversation.customer_message(case, form.cleaned_data["body"])
            except InvalidInput as error:
                form.add_domain_errors(error.fields or {"": [error.message]})
            except Conflict as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("Your message was sent. We will answer soon.")
                )
                return redirect("portal:case", reference=case.reference)
    return render_case(request, case, message_form=form)


def render_case(
    request: HttpRequest,
    case: Case,
    *,
    message_form: MessageForm | None = None,
    respond_form: RespondForm | None = None,
    evidence_form: EvidenceForm | None = None,
) -> HttpResponse:
    """The page, with the one form that was refused (if any) as it was sent."""
    workflow = workflows.for_kind(case.kind)
    is_final = workflow.state(case.status).is_final
    is_claim = queries.is_protection(case)
    options = protection.customer_options(case) if is_claim else []
    forms: dict[str, PortalForm] = {
        "form": message_form or MessageForm(),
        "respond_form": respond_form or RespondForm(options),
        "evidence_form": evidence_form or EvidenceForm(),
    }
    refused = next((f for f in forms.values() if f.is_bound and f.errors), None)
    lines = customer_lines(case)
    context = {
        "case": case,
        "status_label": queries.status_label(case),
        "timeline": lines,
        "is_final": is_final,
        "is_claim": is_claim,
        "promise": intake.promised_response(case),
        "refused_form": refused,
        **forms,
        **(claim_context(case, lines, options) if is_claim else {}),
    }
    return render(request, "portal/case.html", context, status=422 if refused else 200)


def claim_context(case: Case, lines: list[dict], options: list) -> dict:
    """What a claim adds to the page: the shop's answer, the decision, the
    documents asked of the customer and the answers open to them now."""
    answer = case.merchant_answer
    answer_files = [
        attachment
        for line in lines
        if line["event"].type == CaseEvent.Type.MERCHANT_ANSWER
        for attachment in line["attachments"]
    ]
    return {
        "answer": answer,
        "answer_files": answer_files,
        "decision": case.decision_made,
        "document_requests": list(
            queries.open_requests(case, protection.Party.CUSTOMER)
        ),
        "options": option_choices(case, options),
        "respond_legend": respond_legend(case),
    }


def option_choices(case: Case, options: list[tuple[str, str]]) -> list[dict]:
    """Each option with what it leads to, so the customer knows before choosing."""
    workflow = workflows.for_kind(case.kind)
    choices = []
    for value, label in options:
        transition = workflow.named(case, value, workflows.CUSTOMER)
        final = transition is not None and workflow.state(transition.target).is_final
        hint = (
            _("Your claim is then closed.")
            if final
            else _("The platform's mediators then review your claim.")
        )
        choices.append({"value": value, "label": label, "hint": hint})
    return choices


def respond_legend(case: Case) -> str:
    if case.status == "awaiting_customer":
        return _("What do you say to the shop's answer?")
    return _("Is your claim still needed?")


# The customer's timeline


def customer_lines(case: Case) -> list[dict]:
    """The lines meant for the customer, each saying neutrally who wrote it."""
    workflow = workflows.for_kind(case.kind)
    events = list(queries.customer_timeline(case).prefetch_related("attachments"))
    sides = staff_sides({event.actor_id for event in events if event.actor_id})
    labels = who_labels()
    return [
        {
            "event": event,
            "title": title_of(workflow, event),
            "who": labels.get(who_wrote(event, sides), ""),
            "body": event.body,
            "attachments": list(event.attachments.all()),
            "due_at": due_of(event),
        }
        for event in events
    ]


def staff_sides(user_ids: set[int]) -> dict[int, str]:
    """For each staff author: the shop, a mediator, or the support team."""
    memberships = Membership.objects.filter(user_id__in=user_ids).select_related(
        "organization"
    )
    return {member.user_id: side_of(member) for member in memberships}


def side_of(member: Membership) -> str:
    if not member.is_platform:
        return SHOP
    if member.role == Role.MEDIATOR:
        return MEDIATOR
    return SUPPORT


def who_wrote(event: CaseEvent, sides: dict[int, str]) -> str:
    """ "" for the system's own lines (a deadline passed, documents all sent)."""
    if event.actor_id is None and event.actor_label == CUSTOMER:
        return YOU
    if event.type in CUSTOMER_LINES:
        return YOU
    if event.type == CaseEvent.Type.MERCHANT_ANSWER:
        return SHOP
    if event.type in MEDIATION_LINES:
        return MEDIATOR
    if event.actor_id is not None:
        return sides.get(event.actor_id, SUPPORT)
    return ""


def title_of(workflow: workflows.Workflow, event: CaseEvent) -> str:
    data: dict[str, str] = {
        name: str(value) for name, value in (event.data or {}).items()
    }
    if event.type == CaseEvent.Type.STATUS:
        label = workflow_label(workflow, data.get("to", ""))
        return _("Status: %(status)s") % {"status": label}
    if event.type == CaseEvent.Type.CUSTOMER_RESPONSE:
        chosen = data.get("option", "")
        label = option_label(workflow, chosen) or data.get("label", chosen)
        return _("Your answer: %(answer)s") % {"answer": label}
    if event.type == CaseEvent.Type.MERCHANT_ANSWER:
        kind = dict(MerchantAnswer.Kind.choices).get(data.get("answer", ""), "")
        return _("The shop's answer: %(answer)s") % {"answer": kind}
    if event.type == CaseEvent.Type.DECISION:
        outcome = dict(Decision.Outcome.choices).get(data.get("outcome", ""), "")
        return _("Decision: %(outcome)s") % {"outcome": outcome}
    if event.type == CaseEvent.Type.CUSTOMER_MESSAGE:
        return _("Your message")
    return str(event.get_type_display())


def workflow_label(workflow: workflows.Workflow, state: str) -> str:
    try:
        return str(workflow.state(state).label)
    except KeyError:
        return state


def option_label(workflow: workflows.Workflow, option: str) -> str:
    """The option's label in the reader's language (the line keeps the one
    of the moment it was chosen)."""
    for transition in workflow.transitions:
        if transition.name == option:
            return str(transition.label)
    return ""


def due_of(event: CaseEvent) -> datetime | None:
    if event.type != CaseEvent.Type.DOCUMENTS_REQUESTED:
        return None
    return parse_datetime(event.data.get("due_at") or "")


# The customer's answer to a claim


@require_POST
def respond(request: HttpRequest, reference: str) -> HttpResponse:
    case = verified_case(request, reference)
    if case is None:
        return to_status(reference)
    if not queries.is_protection(case):
        raise Http404("only a claim has options to choose")
    if over_limit(request, "respond", settings.STATUS_RATE_LIMIT):
        return too_many_requests(request)
    options = protection.customer_options(case)
    form = RespondForm(options, request.POST, request.FILES)
    files = checked_files(form)
    if not form.errors:
        option = form.cleaned_data["option"]
        try:
            case = protection.customer_respond(
                case, option, form.cleaned_data["message"], files
            )
        except (InvalidInput, Conflict) as error:
            refuse(form, error)
        else:
            messages.success(request, responded(case, option, dict(options)))
            return redirect("portal:case", reference=case.reference)
    return render_case(request, case, respond_form=form)


def responded(case: Case, option: str, labels: dict[str, str]) -> str:
    """What the customer's choice did, in plain words."""
    chosen = labels.get(option, "")
    if queries.is_final(case):
        return _("You answered “%(answer)s” Your claim is closed.") % {"answer": chosen}
    return _(
        "You answered “%(answer)s” The platform's mediators now review your "
        "claim; we will write to you."
    ) % {"answer": chosen}


def refuse(form: PortalForm, error: InvalidInput | Conflict) -> None:
    """The domain's refusal on the form: its message says what happened
    ("no longer open"), the field messages where."""
    form.add_error(None, error.message)
    if isinstance(error, InvalidInput):
        form.add_domain_errors({name: m for name, m in error.fields.items() if name})


def checked_files(form: RespondForm | EvidenceForm) -> list[CheckedFile]:
    """The form's files checked by content; each refused one is a field error,
    and then nothing is written at all."""
    if not form.is_valid():
        return []
    files, errors = check_files(form.cleaned_data["attachments"])
    for message in errors:
        form.add_error("attachments", message)
    return files


# Documents after intake


@limit_before_body("evidence", "STATUS_RATE_LIMIT")
@require_POST
def evidence(request: HttpRequest, reference: str) -> HttpResponse:
    """Files (and a word) added to an open case. Refused once the address
    used up its STATUS_RATE_LIMIT, before the files are read."""
    case = verified_case(request, reference)
    if case is None:
        return to_status(reference)
    if over_limit(request, "evidence", settings.STATUS_RATE_LIMIT):
        return too_many_requests(request)
    form = EvidenceForm(request.POST, request.FILES)
    files = checked_files(form)
    if not form.errors:
        try:
            protection.add_evidence(case, files, form.cleaned_data["message"])
        except (InvalidInput, Conflict) as error:
            refuse(form, error)
        else:
            messages.success(request, added(len(files)))
            return redirect("portal:case", reference=case.reference)
    return render_case(request, case, evidence_form=form)


def added(count: int) -> str:
    if not count:
        return _("Your message was added to your case.")
    return _("Your documents were added to your case. Thank you.")


@require_GET
def case_file(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    """A file on a line the customer reads: theirs, the shop's answer's, or
    one sent to them; never a file on a line for staff only."""
    case = verified_case(request, reference)
    if case is None:
        raise Http404("this browser has not opened the case")
    attachment = get_object_or_404(
        Attachment.objects.filter(case=case, event__audience__in=CUSTOMER_AUDIENCES),
        pk=pk,
    )
    return download(attachment)
