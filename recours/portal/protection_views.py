"""The buyer-protection feedback page, reached only by the signed link of the
day-23 reminder (recours.commerce.protection).

The link alone opens the page: the signature proves the order was named by
us, and the link reached the customer's own address or phone. A GET only
shows the page (mail scanners follow links); the customer's answer is a
POST. What the answer did is remembered in the session for the
confirmation page, so that the link alone never shows a case reference.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_GET, require_http_methods

from recours.cases import intake
from recours.cases import protection as claims
from recours.cases.evidence import CheckedFile, check_files
from recours.cases.models import Case, ContactChannel, Problem
from recours.commerce import protection
from recours.commerce.models import Order
from recours.core import ratelimit
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput
from recours.core.money import Money
from recours.core.request_limits import limit_before_body
from recours.portal import staging
from recours.portal.forms import ProtectionForm

DONE_KEY = "portal.protection_done"
# Files kept while the form is corrected, apart from the report form's.
STAGING_KEY = "portal.staged_files.protection"
RATE_NAME = "protection"


@limit_before_body(RATE_NAME, "REPORT_RATE_LIMIT")
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    order = protection.order_of_token(token)
    if order is None:
        return render(request, "portal/protection_invalid.html", status=400)
    if request.method == "POST":
        return submit(request, order, token)
    if not protection.is_running(order):
        return ended(request, order, protection.why_not_running(order))
    return render_form(request, order, token, ProtectionForm())


def ended(request: HttpRequest, order: Order, reason: str) -> HttpResponse:
    """The protection no longer runs: say why, and where a question can go."""
    context = {"order": order, "reason": reason}
    return render(request, "portal/protection_ended.html", context, status=410)


def render_form(
    request: HttpRequest,
    order: Order,
    token: str,
    form: ProtectionForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "order": order,
        "amount": Money(order.total_minor, order.currency),
        "token": token,
        "form": form,
        "staged_files": staging.staged(request, STAGING_KEY),
    }
    return render(request, "portal/protection.html", context, status=status)


def submit(request: HttpRequest, order: Order, token: str) -> HttpResponse:
    """Carry out the customer's answer; else say everything wrong at once,
    keeping the files that passed (as the report form does)."""
    form = ProtectionForm(request.POST, request.FILES)
    form_ok = form.is_valid()
    staging.remove(request, set(request.POST.getlist("remove_staged")), STAGING_KEY)
    kept, file_errors = staging.load(request, STAGING_KEY)
    checked, refused = check_files(
        form.cleaned_data.get("attachments", []), already=len(kept)
    )
    file_errors += refused
    status = 422
    if form_ok and not file_errors:
        try:
            done = answer(order, form.cleaned_data, kept + checked)
        except InvalidInput as error:
            order.refresh_from_db()
            if not protection.is_running(order):
                return ended(request, order, error.message)
            form.add_domain_errors(error.fields or {"": [error.message]})
        except Conflict as error:
            form.add_error(None, error.message)
            status = 409
        else:
            return accepted(request, order, token, done)
    file_errors += staging.stage(request, checked, STAGING_KEY)
    for message in file_errors:
        form.add_error("attachments", message)
    return render_form(request, order, token, form, status=status)


def answer(order: Order, data: dict[str, Any], files: list[CheckedFile]) -> dict:
    """Do what the customer chose; return what the confirmation page says."""
    option = data["option"]
    language = translation.get_language() or settings.LANGUAGE_CODE
    if option == ProtectionForm.CONFIRMED:
        protection.confirm(order)
        return {"order": order.pk, "option": option}
    if option == ProtectionForm.OTHER:
        case = intake.create_case(
            Actor(label="customer"),
            question_about(order, data["description"], language),
            files,
            scope=order.organization,
        )
    else:
        case = claims.open_claim(
            order, option, data["description"], files, language=language
        )
    return {"order": order.pk, "option": option, "case": case.reference}


def question_about(order: Order, description: str, language: str) -> intake.Report:
    """ "Another request": a question naming the order, answered on the same
    channel the reminder came by."""
    customer = order.customer
    channel = protection.channel_of(customer) if customer is not None else ""
    if customer is None or not channel:
        message = protection.enrolment_refusal(customer)
        raise InvalidInput(message, fields={"order": [message]})
    by_email = channel == ContactChannel.EMAIL
    return intake.Report(
        problem=Problem.QUESTION,
        contact_channel=channel,
        contact_email=customer.email if by_email else "",
        contact_phone="" if by_email else customer.phone,
        order_reference=order.reference,
        customer_number=customer.customer_number,
        description=description,
        language=language,
        source="protection",
    )


def accepted(
    request: HttpRequest, order: Order, token: str, done: dict
) -> HttpResponse:
    staging.clear(request, STAGING_KEY)
    ratelimit.count(
        ratelimit.address_key(request, RATE_NAME), settings.REPORT_RATE_LIMIT
    )
    request.session[DONE_KEY] = done
    return redirect("portal:protection_done", token=token)


@require_GET
def done(request: HttpRequest, token: str) -> HttpResponse:
    """What the answer did: the protection ended, or the case opened."""
    order = protection.order_of_token(token)
    if order is None:
        return render(request, "portal/protection_invalid.html", status=400)
    outcome = request.session.get(DONE_KEY) or {}
    if outcome.get("order") != order.pk:
        return redirect("portal:protection", token=token)
    case = Case.objects.filter(reference=outcome.get("case", "")).first()
    context = {
        "order": order,
        "option": outcome["option"],
        "case": case,
        "answer_days": settings.PROTECTION_MERCHANT_ANSWER_DAYS,
        **(intake.promised_response(case) if case is not None else {}),
    }
    return render(request, "portal/protection_done.html", context)
