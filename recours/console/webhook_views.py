"""Webhook endpoints: register, edit, disable and enable them, read their
delivery log and redeliver a message.

Merchant administrators manage their own organization's endpoints; the
platform's administrators manage the platform's and see every organization's.
Another organization's endpoint or message answers 404, exactly as one that
does not exist. The secret is shown once, on the page that answers the
creation, and never again.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpPermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recours.accounts.models import Membership, Role
from recours.cases.access import staff_actor
from recours.console.views import render_console, staff_required
from recours.core.errors import Conflict, InvalidInput, NotFound
from recours.notifications import actions, webhooks
from recours.notifications.models import OutboxMessage, WebhookAttempt, WebhookEndpoint

DELIVERIES_PAGE_SIZE = 25
ENDPOINT_ROLES = (Role.MERCHANT_ADMIN, Role.ADMIN)


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy(
            "Where Recours POSTs each event, e.g. https://erp.example.org/hooks/recours"
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), max_length=200, required=False
    )
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Events to send"),
        choices=list(webhooks.EVENT_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )


def endpoint_admin_required[**P](
    view: Callable[Concatenate[HttpRequest, Membership, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, Membership, P], HttpResponse]:
    """Only merchant and platform administrators manage endpoints."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, membership: Membership, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse:
        if membership.role not in ENDPOINT_ROLES:
            raise HttpPermissionDenied("administrators only")
        return view(request, membership, *args, **kwargs)

    return wrapper


def scope(membership: Membership) -> int | None:
    """The organization a member is limited to; None for platform staff."""
    return None if membership.is_platform else membership.organization_id


def endpoint_or_404(membership: Membership, pk: int) -> WebhookEndpoint:
    endpoint = actions.endpoints_in_scope(scope(membership)).filter(pk=pk).first()
    if endpoint is None:
        raise Http404("no such endpoint")
    return endpoint


def event_labels(endpoint: WebhookEndpoint) -> list[str]:
    return [str(webhooks.EVENT_LABELS[name]) for name in endpoint.event_types
            if name in webhooks.EVENT_LABELS]  # fmt: skip


@require_GET
@staff_required
@endpoint_admin_required
def endpoints(request: HttpRequest, membership: Membership) -> HttpResponse:
    found = actions.endpoints_in_scope(scope(membership)).order_by(
        "organization__name", "pk"
    )
    rows = [{"endpoint": e, "events": event_labels(e)} for e in found]
    context = {"rows": rows, "show_organization": membership.is_platform}
    return render_console(request, membership, "console/webhooks.html", context)


def with_domain_errors(form: forms.Form, error: InvalidInput) -> None:
    """Show the domain's refusal on the fields it names."""
    for name, problems in error.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


@require_http_methods(["GET", "POST"])
@staff_required
@endpoint_admin_required
def add(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = actions.create_endpoint(
                staff_actor(membership), membership.organization_id, **form.cleaned_data
            )
        except InvalidInput as error:
            with_domain_errors(form, error)
        else:
            # The one time the secret is shown: answered here, never redirected
            # to a page that could show it again.
            context = {"endpoint": endpoint, "events": event_labels(endpoint)}
            return render_console(
                request, membership, "console/webhook_created.html", context
            )
    context = {"form": form, "endpoint": None}
    return render_console(request, membership, "console/webhook_form.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
@endpoint_admin_required
def edit(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    endpoint = endpoint_or_404(membership, pk)
    initial = {"url": endpoint.url, "description": endpoint.description,
               "event_types": endpoint.event_types}  # fmt: skip
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_endpoint(
                staff_actor(membership), endpoint.pk,
                organization_id=scope(membership), **form.cleaned_data,
            )  # fmt: skip
        except InvalidInput as error:
            with_domain_errors(form, error)
        else:
            messages.success(request, _("The endpoint is saved."))
            return redirect("console:webhook", pk=endpoint.pk)
    context = {"form": form, "endpoint": endpoint}
    return render_console(request, membership, "console/webhook_form.html", context)


def deliveries(endpoint: WebhookEndpoint) -> QuerySet[OutboxMessage]:
    """The endpoint's messages with their last attempt's answer and time."""
    last = WebhookAttempt.objects.filter(message=OuterRef("pk")).order_by(
        "-attempted_at", "-pk"
    )
    return actions.endpoint_messages(endpoint).annotate(
        last_status=Subquery(last.values("response_status")[:1]),
        last_attempt_at=Subquery(last.values("attempted_at")[:1]),
    )


@require_GET
@staff_required
@endpoint_admin_required
def endpoint(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    found = endpoint_or_404(membership, pk)
    page = Paginator(deliveries(found), DELIVERIES_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {"message": message, "webhook_id": webhooks.webhook_id(message)}
        for message in page
    ]
    context: dict[str, Any] = {
        "endpoint": found,
        "events": event_labels(found),
        "page": page,
        "rows": rows,
    }
    return render_console(request, membership, "console/webhook.html", context)


def switch(
    request: HttpRequest, membership: Membership, pk: int,
    action: Callable[..., WebhookEndpoint], done: str,
) -> HttpResponse:  # fmt: skip
    endpoint = endpoint_or_404(membership, pk)
    try:
        action(staff_actor(membership), endpoint.pk, organization_id=scope(membership))
    except Conflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("console:webhook", pk=endpoint.pk)


@require_POST
@staff_required
@endpoint_admin_required
def disable(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    done = _("The endpoint is disabled: no event is sent to it.")
    return switch(request, membership, pk, actions.disable_endpoint, done)


@require_POST
@staff_required
@endpoint_admin_required
def enable(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    done = _("The endpoint is enabled: new events are sent to it.")
    return switch(request, membership, pk, actions.enable_endpoint, done)


@require_POST
@staff_required
@endpoint_admin_required
def redeliver(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    try:
        message = actions.redeliver(
            staff_actor(membership), pk, organization_id=scope(membership)
        )
    except NotFound:
        # Another organization's message answers as one that does not exist.
        raise Http404("no such message") from None
    except Conflict as error:
        messages.error(request, error.message)
        endpoint_id = OutboxMessage.objects.values_list("endpoint_id", flat=True).get(
            pk=pk
        )
        return redirect("console:webhook", pk=endpoint_id)
    messages.success(
        request, _("The message is queued: it is sent again in a few seconds.")
    )
    return redirect("console:webhook", pk=message.endpoint_id)
