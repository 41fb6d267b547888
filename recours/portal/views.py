"""The customer's pages: the report form and the status page (the case page
itself, once opened, is in case_views).

Views parse with forms, call the cases actions and render; they never write
models themselves. What a browser may see is remembered in its session: the
reference it just filed, and the cases it proved it owns with a code.
"""

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)
from django_htmx.middleware import HtmxDetails

from recours.cases import access_codes, intake
from recours.cases.evidence import check_files
from recours.cases.models import Case, ContactChannel
from recours.commerce.models import Terminal
from recours.core import ratelimit
from recours.core.audit import Actor
from recours.core.errors import InvalidInput
from recours.core.ratelimit import over_limit, too_many_requests
from recours.core.references import normalize_reference
from recours.core.request_limits import limit_before_body
from recours.portal import staging
from recours.portal.forms import (
    CodeForm,
    ReferenceForm,
    ReportForm,
    TerminalSearchForm,
)

TERMINAL_RESULTS_MAX = 20
TERMINAL_CODE_MAX = 30
SUBMITTED_KEY = "portal.submitted"
PENDING_KEY = "portal.status_reference"
VERIFIED_KEY = "portal.verified_cases"
VERIFIED_MAX = 20


# The report form


def find_terminals(query: str, selected_code: str = "") -> tuple[list[Terminal], bool]:
    """Kiosks matching the query, the selected one first; and whether more exist.

    A kiosk under maintenance is listed too: its customers still have problems
    to report about it, and the template labels it.
    """
    terminals = Terminal.objects.order_by("name", "code")
    query = query.strip()
    if query:
        terminals = terminals.filter(
            Q(name__icontains=query)
            | Q(code__icontains=query)
            | Q(location__icontains=query)
        )
    found = list(terminals[: TERMINAL_RESULTS_MAX + 1])
    has_more = len(found) > TERMINAL_RESULTS_MAX
    found = found[:TERMINAL_RESULTS_MAX]
    selected = known_terminal(selected_code)
    if selected is not None:
        others = [terminal for terminal in found if terminal != selected]
        found = [selected, *others[: TERMINAL_RESULTS_MAX - 1]]
    return found, has_more


def known_terminal(code: str) -> Terminal | None:
    """The kiosk with this code, in service or not."""
    code = code.strip()
    if not code:
        return None
    return Terminal.objects.filter(code__iexact=code).first()


def render_report(
    request: HttpRequest,
    form: ReportForm,
    query: str = "",
    status: int = 200,
    unknown_code: str = "",
) -> HttpResponse:
    selected = form["terminal"].value() or ""
    terminals, has_more = find_terminals(query, selected)
    context = {
        "form": form,
        "query": query,
        "terminals": terminals,
        "has_more": has_more,
        "selected_code": selected.upper(),
        "staged_files": staging.staged(request),
        "unknown_code": unknown_code,
    }
    return render(request, "portal/report.html", context, status=status)


@limit_before_body("report", "REPORT_RATE_LIMIT")
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return submit_report(request)
    # A sticker on the kiosk links here with ?terminal=CODE. A code we do not
    # know is said on the page, not dropped silently.
    code = request.GET.get("terminal", "").strip()[:TERMINAL_CODE_MAX]
    terminal = known_terminal(code)
    initial = {"terminal": terminal.code if terminal else ""}
    return render_report(
        request,
        ReportForm(initial=initial),
        request.GET.get("q", ""),
        unknown_code=code if code and terminal is None else "",
    )


def submit_report(request: HttpRequest) -> HttpResponse:
    """File the report; else say everything wrong at once, keeping checked files.

    The address's rate limit was checked before the body was read (see
    limit_before_body); only an accepted report counts towards it."""
    form = ReportForm(request.POST, request.FILES)
    form_ok = form.is_valid()
    data = form.cleaned_data
    staging.remove(request, set(request.POST.getlist("remove_staged")))
    kept, lost = staging.load(request)
    checked_files, file_errors = check_files(
        data.get("attachments", []), already=len(kept)
    )
    file_errors += lost
    report_data = report_from(data)
    try:
        if not form_ok or file_errors:
            # Nothing is written here but the checked files, kept for the next try.
            intake.clean_report(report_data, None)
        else:
            case = intake.create_case(
                Actor(label="customer"), report_data, kept + checked_files
            )
            accepted(request, case)
            return redirect("portal:submitted")
    except InvalidInput as error:
        form.add_domain_errors(error.fields or {"": [error.message]})
    file_errors += staging.stage(request, checked_files)
    for message in file_errors:
        form.add_error("attachments", message)
    return render_report(request, form, status=422)


def accepted(request: HttpRequest, case: Case) -> None:
    staging.clear(request)
    ratelimit.count(
        ratelimit.address_key(request, "report"), settings.REPORT_RATE_LIMIT
    )
    request.session[SUBMITTED_KEY] = case.reference


def report_from(data: dict) -> intake.Report:
    """The report as typed; fields the form refused are left empty."""

    def text(name: str) -> str:
        return data.get(name) or ""

    return intake.Report(
        problem=text("problem"),
        contact_channel=text("contact_channel"),
        terminal_code=text("terminal"),
        order_reference=text("order_reference"),
        payment_started=text("payment_started"),
        customer_number=text("customer_number"),
        phone=text("phone"),
        invoice_reference=text("invoice_reference"),
        contact_email=text("contact_email"),
        contact_phone=text("contact_phone"),
        description=text("description"),
        item_number=text("item_number"),
        happened_at=data.get("happened_at"),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        source="portal",
    )


@require_GET
def terminal_search(request: HttpRequest) -> HttpResponse:
    """The kiosk list, as radio buttons; htmx swaps it into the report form."""
    form = TerminalSearchForm(request.GET)
    form.is_valid()
    query = form.cleaned_data.get("q", "")
    selected = form.cleaned_data.get("terminal", "")
    htmx: HtmxDetails = getattr(request, "htmx")  # noqa: B009 (set by HtmxMiddleware)
    if not htmx:
        return redirect(reverse("portal:report") + "?" + urlencode({"q": query}))
    terminals, has_more = find_terminals(query, selected)
    context = {
        "terminals": terminals,
        "has_more": has_more,
        "query": query,
        "selected_code": selected.upper(),
    }
    return render(request, "portal/report.html#terminal_results", context)


@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(SUBMITTED_KEY)
    case = Case.objects.filter(reference=reference).first() if reference else None
    if case is None:
        return redirect("portal:report")
    context = {
        "case": case,
        **(intake.promised_response(case) if case.due_at else {}),
        "by_sms": case.contact_channel == ContactChannel.SMS,
    }
    return render(request, "portal/submitted.html", context)


# The status page


def verified_case(request: HttpRequest, reference: str) -> Case | None:
    verified = request.session.get(VERIFIED_KEY, [])
    case = Case.objects.filter(reference=reference).first()
    if case is None or case.pk not in verified:
        return None
    return case


def remember_verified(request: HttpRequest, case: Case) -> None:
    # A new session key once the customer proved who they are (no fixation).
    request.session.cycle_key()
    verified = [pk for pk in request.session.get(VERIFIED_KEY, []) if pk != case.pk]
    request.session[VERIFIED_KEY] = [*verified, case.pk][-VERIFIED_MAX:]
    request.session.pop(PENDING_KEY, None)


@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    """Step 1: the reference. A code goes to the case's contact, if the case exists."""
    if request.method == "GET":
        initial = {"reference": request.GET.get("reference", "")}
        return render(
            request, "portal/status.html", {"form": ReferenceForm(initial=initial)}
        )
    if over_limit(request, "status", settings.STATUS_RATE_LIMIT):
        return too_many_requests(request)
    form = ReferenceForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/status.html", {"form": form}, status=422)
    reference = normalize_reference(
        form.cleaned_data["reference"], intake.REFERENCE_PREFIX
    )
    case = Case.objects.filter(reference=reference).first()
    if case is not None:
        access_codes.send_access_code(case)
    # The next page reads the same whether or not the case exists.
    request.session[PENDING_KEY] = reference
    return redirect("portal:status_code")


@require_http_methods(["GET", "POST"])
def status_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code that was sent."""
    reference = request.session.get(PENDING_KEY)
    if not reference:
        return redirect("portal:status")
    form = CodeForm(request.POST) if request.method == "POST" else CodeForm()
    if form.is_bound:
        if over_limit(request, "status-code", settings.STATUS_RATE_LIMIT):
            return too_many_requests(request)
        if form.is_valid():
            case = Case.objects.filter(reference=reference).first()
            if case is not None and access_codes.check_access_code(
                case, form.cleaned_data["code"]
            ):
                remember_verified(request, case)
                return redirect("portal:case", reference=case.reference)
            form.add_error("code", _("This code is not valid or has expired."))
    context = {"form": form, "reference": reference}
    return render(
        request, "portal/status_code.html", context, status=422 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def status_open(request: HttpRequest, reference: str, token: str) -> HttpResponse:
    """The e-mailed link. It opens the case only on a button press: mail scanners
    follow links with GET, and would otherwise use up the one-time token."""
    context = {"reference": reference, "token": token, "refused": False}
    if request.method == "POST":
        if over_limit(request, "status-code", settings.STATUS_RATE_LIMIT):
            return too_many_requests(request)
        canonical = normalize_reference(reference, intake.REFERENCE_PREFIX)
        case = Case.objects.filter(reference=canonical).first()
        if case is not None and access_codes.check_access_code(case, token, link=True):
            remember_verified(request, case)
            return redirect("portal:case", reference=case.reference)
        context["refused"] = True
    return render(
        request,
        "portal/status_open.html",
        context,
        status=422 if context["refused"] else 200,
    )


@require_POST
def status_signout(request: HttpRequest) -> HttpResponse:
    """Forget every case this browser proved it owns (a shared or kiosk device)."""
    request.session.flush()
    messages.success(request, _("You are signed out. Your cases need a new code."))
    return redirect("portal:status")
