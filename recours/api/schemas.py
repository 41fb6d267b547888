"""What the machine API reads and writes.

Every string that reaches the database has a length limit and refuses NUL
characters, which PostgreSQL cannot store: a bad value is a 422, never a 500.
"""

from datetime import UTC, datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
)
from pydantic.config import JsonDict

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

NO_NUL_PATTERN = r"^[^\x00]*$"
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 200
# Deep offsets are slow and a client that needs them should filter by date instead.
OFFSET_MAX = 1_000_000


Code = Annotated[str, StringConstraints(max_length=30, pattern=NO_NUL_PATTERN)]
Identifier = Annotated[str, StringConstraints(max_length=40, pattern=NO_NUL_PATTERN)]
EmailText = Annotated[str, StringConstraints(max_length=254, pattern=NO_NUL_PATTERN)]
LanguageCode = Annotated[str, StringConstraints(max_length=8, pattern=NO_NUL_PATTERN)]
LongText = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL_PATTERN)]
ItemNumber = Annotated[str, StringConstraints(max_length=60, pattern=NO_NUL_PATTERN)]


def in_utc(moment: datetime) -> datetime:
    # A valid offset can still push a moment past year 9999 once in UTC.
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("this moment is out of range") from None


def from_iso_8601(value: object) -> object:
    # Pydantic alone would also take "0.5" as a Unix timestamp.
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


Moment = Annotated[
    AwareDatetime, BeforeValidator(from_iso_8601), AfterValidator(in_utc)
]


# Each is accepted by any deployment and any key (a test posts them all): they
# name no kiosk, which would have to exist and belong to the key's organization,
# and identifiers that match nothing are kept, not refused.
REPORT_EXAMPLE: JsonDict = {
    "problem": "payment_failed",
    "contact_channel": "email",
    "contact_email": "camille@example.org",
    "payment_started": "yes",
    "customer_number": "C-10001",
    "description": "La borne a refusé ma carte mais mon compte est débité.",
    "language": "fr",
}
SMS_REPORT_EXAMPLE: JsonDict = {
    "problem": "charged_twice",
    "contact_channel": "sms",
    "phone": "06 12 34 56 78",
    "invoice_reference": "F-2026-000123",
    "language": "en",
}
# Technical reports (seed 000): the item, the transaction, and when; the
# moments are in the past for any test clock.
ITEM_MISSING_EXAMPLE: JsonDict = {
    "problem": "item_missing",
    "contact_channel": "email",
    "contact_email": "camille@example.org",
    "customer_number": "C-10001",
    "item_number": "BR-00004275",
    "happened_at": "2025-11-14T14:05:00+01:00",
    "description": "La pièce n'apparaît plus dans mon portefeuille.",
    "language": "fr",
}
WRONG_STATE_EXAMPLE: JsonDict = {
    "problem": "wrong_state",
    "contact_channel": "email",
    "contact_email": "camille@example.org",
    "order_reference": "CMD-2025-1187",
    "happened_at": "2025-11-14T13:05:00Z",
    "description": "The purchase has shown 'processing' since yesterday.",
    "language": "en",
}
QUESTION_EXAMPLE: JsonDict = {
    "problem": "question",
    "contact_channel": "email",
    "contact_email": "camille@example.org",
    "description": "Can I pay by phone at your kiosks?",
    "language": "en",
}


class ReportIn(Schema):
    """A report to open a case with; the same fields as the portal's form.

    At least one of customer_number, phone, invoice_reference or
    order_reference is required (not for a question or a suggestion; with SMS,
    contact_phone counts as one), and the address of the contact channel: one
    e-mail address, or one mobile number.

    A technical report says which item or transaction and when: item_missing
    needs item_number, wrong_state needs order_reference (the order or
    transaction), and both need happened_at, not in the future. Such a report
    goes to the technical team.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                REPORT_EXAMPLE,
                SMS_REPORT_EXAMPLE,
                ITEM_MISSING_EXAMPLE,
                WRONG_STATE_EXAMPLE,
                QUESTION_EXAMPLE,
            ]
        },
    )

    problem: Problem
    contact_channel: ContactChannel
    terminal_code: Code = ""
    order_reference: Identifier = ""
    payment_started: PaymentStarted | None = None
    customer_number: Identifier = ""
    phone: Identifier = Field("", description="As typed; normalized to E.164.")
    invoice_reference: Identifier = ""
    contact_email: EmailText = ""
    contact_phone: Identifier = ""
    description: LongText = ""
    item_number: ItemNumber = Field(
        "",
        description="The missing item's number (a coin's serial, say); "
        "required for item_missing.",
    )
    happened_at: Moment | None = Field(
        None,
        description="When it happened: ISO 8601 with its UTC offset; required "
        "for item_missing and wrong_state, not in the future.",
    )
    language: LanguageCode = Field(
        "", description="fr or en; the deployment's language when empty or unknown."
    )


class TimelineEntry(Schema):
    """One line of a case's timeline that the customer, the merchant and the
    platform all read (never a line for the customer and the platform only,
    nor a staff note)."""

    type: CaseEvent.Type
    created_at: datetime
    body: str
    status: str | None = Field(None, description="The new status, for status changes.")

    @staticmethod
    def resolve_status(event: CaseEvent) -> str | None:
        if event.type != CaseEvent.Type.STATUS:
            return None
        return event.data.get("to")


class CaseOut(Schema):
    reference: str
    kind: Kind
    problem: Problem
    status: str
    priority: Priority
    team: Team
    unmatched: bool
    terminal_code: str | None
    order_reference: str = Field(
        description="The matched order's reference, else the one given in the report."
    )
    payment_started: str
    item_number: str = Field(description="As given in a technical report.")
    happened_at: datetime | None = Field(
        description="When it happened, as given in a technical report."
    )
    contact_channel: ContactChannel
    language: str
    description: str
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None

    @staticmethod
    def resolve_item_number(case: Case) -> str:
        return case.given_item_number

    @staticmethod
    def resolve_terminal_code(case: Case) -> str | None:
        return case.terminal.code if case.terminal is not None else None

    @staticmethod
    def resolve_order_reference(case: Case) -> str:
        return (
            case.order.reference
            if case.order is not None
            else case.given_order_reference
        )


class CaseDetail(CaseOut):
    timeline: list[TimelineEntry]

    @staticmethod
    def resolve_timeline(case: Case) -> list[CaseEvent]:
        # A case just created carries the line it was written with: no SELECT.
        known = getattr(case, "public_events", None)
        if known is not None:
            return known
        return list(case.events.filter(audience=Audience.EVERYONE))


class CaseFilters(Schema):
    status: Code | None = None
    kind: Kind | None = None
    priority: Priority | None = None
    team: Team | None = None
    terminal_code: Code | None = None
    unmatched: bool | None = None
    created_after: Moment | None = Field(None, description="Inclusive.")
    created_before: Moment | None = Field(None, description="Exclusive.")
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    offset: int = Field(0, ge=0, le=OFFSET_MAX)


class CasePage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="null on the last page.")
    items: list[CaseOut]


class FieldError(Schema):
    field: str = Field(description='The field\'s name; "" for the request as a whole.')
    messages: list[str]


class ProblemDetails(Schema):
    """An error, as RFC 9457 problem details (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(description="A stable machine-readable reason.")
    errors: list[FieldError] | None = Field(None, description="Only for invalid input.")
