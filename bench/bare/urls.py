"""One endpoint: validate the report like Recours's ReportIn, insert one row."""

from enum import StrEnum
from typing import Annotated

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI, Schema
from pydantic import ConfigDict, StringConstraints

from bare.models import Report

NO_NUL = r"^[^\x00]*$"
Code = Annotated[str, StringConstraints(max_length=30, pattern=NO_NUL)]
Identifier = Annotated[str, StringConstraints(max_length=40, pattern=NO_NUL)]
EmailText = Annotated[str, StringConstraints(max_length=254, pattern=NO_NUL)]
LanguageCode = Annotated[str, StringConstraints(max_length=8, pattern=NO_NUL)]
LongText = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


class Problem(StrEnum):
    PAYMENT_FAILED = "payment_failed"
    NO_RECEIPT = "no_receipt"
    CHANGE_NOT_RETURNED = "change_not_returned"
    CHARGED_TWICE = "charged_twice"
    ITEM_MISSING = "item_missing"
    NOT_RECEIVED = "not_received"
    REFUND_NOT_RECEIVED = "refund_not_received"
    QUESTION = "question"
    SUGGESTION = "suggestion"


class ContactChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class PaymentStarted(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class ReportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    problem: Problem
    contact_channel: ContactChannel
    terminal_code: Code = ""
    order_reference: Identifier = ""
    payment_started: PaymentStarted | None = None
    customer_number: Identifier = ""
    phone: Identifier = ""
    invoice_reference: Identifier = ""
    contact_email: EmailText = ""
    contact_phone: Identifier = ""
    description: LongText = ""
    language: LanguageCode = ""


class ReportOut(Schema):
    id: int
    problem: str
    contact_channel: str
    created_at: str


api = NinjaAPI(title="bare", urls_namespace="bare")


@api.post("/cases", response={201: ReportOut})
def create(request: HttpRequest, report: ReportIn) -> JsonResponse:
    fields = report.model_dump(mode="json")
    fields["payment_started"] = fields["payment_started"] or ""
    row = Report.objects.create(**fields, created_at=timezone.now())
    body = {"id": row.pk, "problem": row.problem,
            "contact_channel": row.contact_channel,
            "created_at": row.created_at.isoformat()}  # fmt: skip
    return JsonResponse(body, status=201)


urlpatterns = [path("api/v1/", api.urls)]
