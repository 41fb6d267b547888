"""What the integrity detectors found, and deciding on their corrections.

Platform staff see every organization's anomalies, merchant staff their
own (another's answers 404). Only the platform's finance staff and
administrators approve or reject a correction; above the configured amount
it runs once two different people have approved it.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from recours.accounts.models import Membership, Organization
from recours.cases.access import staff_actor
from recours.console.forms import AnomalyFilterForm, RejectForm
from recours.console.views import render_console, staff_required
from recours.core.errors import DomainError, PermissionDenied
from recours.core.money import Money
from recours.integrity import actions, queries
from recours.integrity.models import Anomaly, Correction

ANOMALIES_PAGE_SIZE = 25


def scope(membership: Membership) -> int | None:
    """The organization a member is limited to; None for platform staff."""
    return None if membership.is_platform else membership.organization_id


def visible_anomalies(membership: Membership) -> QuerySet[Anomaly]:
    return queries.anomalies(organization_id=scope(membership))


def filter_organizations(membership: Membership) -> QuerySet[Organization]:
    if not membership.is_platform:
        return Organization.objects.none()
    return Organization.objects.filter(kind=Organization.Kind.MERCHANT).order_by("name")


def awaiting_approval(anomalies: QuerySet[Anomaly]) -> QuerySet[Anomaly]:
    proposed = Correction.objects.filter(
        anomaly=OuterRef("pk"), status=Correction.Status.PROPOSED
    )
    return anomalies.annotate(awaiting=Exists(proposed))


@require_GET
@staff_required
def anomalies(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = AnomalyFilterForm(
        request.GET, organizations=filter_organizations(membership)
    )
    organization = form.value("organization")
    found = queries.anomalies(
        kind=form.value("kind") or "",
        status=form.value("status") or "",
        organization_id=organization.pk if organization else scope(membership),
    )
    page = Paginator(awaiting_approval(found), ANOMALIES_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page}
    return render_console(request, membership, "console/anomalies.html", context)


def correction_rows(membership: Membership, anomaly: Anomaly) -> list[dict[str, Any]]:
    rows = []
    for correction in queries.corrections_of(anomaly):
        approvals = list(correction.approvals.all())
        rows.append(
            {
                "correction": correction,
                "what": actions.describe(correction),
                "amount": Money(correction.amount_minor, correction.currency),
                "approvals": approvals,
                "needed": queries.approvals_needed(correction),
                "can_decide": queries.can_approve(membership, correction),
                "reject_form": RejectForm(prefix=f"reject-{correction.pk}"),
            }
        )
    return rows


@require_GET
@staff_required
def anomaly(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    found = get_object_or_404(visible_anomalies(membership), pk=pk)
    context = {
        "anomaly": found,
        "evidence": sorted(found.details.items()),
        "corrections": correction_rows(membership, found),
        "may_approve": queries.may_approve(membership),
    }
    return render_console(request, membership, "console/anomaly.html", context)


def correction_or_404(membership: Membership, pk: int) -> Correction:
    corrections = Correction.objects.filter(
        anomaly__in=visible_anomalies(membership)
    ).select_related("anomaly")
    return get_object_or_404(corrections, pk=pk)


def decided(correction: Correction) -> str:
    """What to say after an approval: executed, or how many more it needs."""
    correction.refresh_from_db()
    if correction.status == Correction.Status.EXECUTED:
        return _("Approved: the correction was executed.")
    count = correction.approvals.count()
    return _(
        "Approved (%(count)s of %(needed)s approvals): another person must "
        "approve it before it runs."
    ) % {"count": count, "needed": queries.approvals_needed(correction)}


@require_POST
@staff_required
def approve(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    correction = correction_or_404(membership, pk)
    try:
        actions.approve(membership, staff_actor(membership), correction)
    except PermissionDenied as error:
        raise HttpPermissionDenied(error.message) from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, decided(correction))
    return redirect("console:anomaly", pk=correction.anomaly_id)


@require_POST
@staff_required
def reject(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    correction = correction_or_404(membership, pk)
    form = RejectForm(request.POST, prefix=f"reject-{correction.pk}")
    if not form.is_valid():
        for message in form["reason"].errors:
            messages.error(request, str(message))
        return redirect("console:anomaly", pk=correction.anomaly_id)
    try:
        actions.reject(
            membership, staff_actor(membership), correction, form.cleaned_data["reason"]
        )
    except PermissionDenied as error:
        raise HttpPermissionDenied(error.message) from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The correction is rejected."))
    return redirect("console:anomaly", pk=correction.anomaly_id)
