"""Cases through the machine API: file a report, read a case, list cases.

A key sees its own organization's cases; a platform key sees them all. Another
organization's case is "not found", so its existence is not revealed.
"""

from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Header, Path, Query, Router

from recours.accounts.models import ApiKey, Organization
from recours.api.auth import request_key
from recours.api.schemas import (
    NO_NUL_PATTERN,
    CaseDetail,
    CaseFilters,
    CasePage,
    ProblemDetails,
    ReportIn,
)
from recours.cases.intake import REFERENCE_PREFIX, Report, create_case
from recours.cases.models import Case
from recours.core.audit import Actor
from recours.core.errors import NotFound
from recours.core.idempotency import run_once
from recours.core.references import normalize_reference

router = Router(tags=["cases"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=NO_NUL_PATTERN,
        description="Repeat a POST with the same key to get the first answer back.",
    ),
]
Reference = Annotated[str, Path(max_length=40, pattern=NO_NUL_PATTERN)]


@router.post(
    "/cases",
    url_name="case_create",
    summary="File a report and open a case",
    response={
        201: CaseDetail,
        400: ProblemDetails,
        401: ProblemDetails,
        409: ProblemDetails,
        413: ProblemDetails,
        422: ProblemDetails,
        429: ProblemDetails,
    },
)
def create(
    request: HttpRequest, report: ReportIn, idempotency_key: IdempotencyKey = None
) -> JsonResponse:
    # The body is rendered once, when the case is created; a repeated request
    # gets that stored body back as it was, so it is not rendered again.
    key = request_key(request)
    if idempotency_key is None:
        return JsonResponse(file_report(key, report), status=201)
    status_code, body = run_once(
        scope=f"api:{key.organization_id}:cases.create",
        key=idempotency_key,
        payload=report.model_dump(mode="json"),
        action=lambda: (201, file_report(key, report)),
    )
    return JsonResponse(body, status=status_code)


def file_report(key: ApiKey, report: ReportIn) -> dict[str, Any]:
    fields = report.model_dump(mode="json")
    fields["payment_started"] = fields["payment_started"] or ""
    # The moment as an aware datetime (in UTC), not its JSON text.
    fields["happened_at"] = report.happened_at
    actor = Actor(label=f"api:{key.prefix}", organization_id=key.organization_id)
    # The key's organization scopes the matching: a report naming another
    # merchant's customer is kept unmatched, and says nothing about them.
    case = create_case(
        actor, Report(**fields, source="api"), [], scope=key.organization
    )
    return CaseDetail.from_orm(case).model_dump(mode="json")


@router.get(
    "/cases/{reference}",
    url_name="case_detail",
    summary="A case with its public timeline",
    response={
        200: CaseDetail,
        401: ProblemDetails,
        404: ProblemDetails,
        422: ProblemDetails,
        429: ProblemDetails,
    },
)
def detail(request: HttpRequest, reference: Reference) -> Case:
    key = request_key(request)
    wanted = normalize_reference(reference, REFERENCE_PREFIX)
    case = visible_cases(key.organization).filter(reference=wanted).first()
    if case is None:
        raise NotFound(_("There is no case with this reference."))
    return case


@router.get(
    "/cases",
    url_name="case_list",
    summary="Cases, newest first",
    response={
        200: CasePage,
        401: ProblemDetails,
        422: ProblemDetails,
        429: ProblemDetails,
    },
)
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    key = request_key(request)
    cases = filtered(visible_cases(key.organization), filters)
    count = cases.count()
    end = filters.offset + filters.limit
    return {
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "next_offset": end if end < count else None,
        "items": list(cases.order_by("-created_at", "-id")[filters.offset : end]),
    }


def visible_cases(organization: Organization) -> QuerySet[Case]:
    cases = Case.objects.select_related("terminal", "order")
    if organization.is_platform:
        return cases
    return cases.filter(organization=organization)


def can_see(organization: Organization, case: Case) -> bool:
    return organization.is_platform or case.organization_id == organization.pk


def filtered(cases: QuerySet[Case], filters: CaseFilters) -> QuerySet[Case]:
    for name in ("status", "kind", "priority", "team", "unmatched"):
        value = getattr(filters, name)
        if value is not None:
            cases = cases.filter(**{name: value})
    if filters.terminal_code is not None:
        cases = cases.filter(terminal__code__iexact=filters.terminal_code)
    if filters.created_after is not None:
        cases = cases.filter(created_at__gte=filters.created_after)
    if filters.created_before is not None:
        cases = cases.filter(created_at__lt=filters.created_before)
    return cases
