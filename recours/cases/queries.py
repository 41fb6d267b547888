"""What each reader may see of a case, decided in one place: the faces ask
here instead of each deriving visibility and labels again."""

from django.db.models import QuerySet

from recours.accounts.models import Membership
from recours.cases import workflows
from recours.cases.models import (
    CUSTOMER_AUDIENCES,
    Audience,
    Case,
    CaseEvent,
    DocumentRequest,
)

# Platform staff read every line; these are the merchant's.
MERCHANT_AUDIENCES = (Audience.EVERYONE, Audience.STAFF)


def audiences_for(membership: Membership) -> list[str]:
    if membership.is_platform:
        return list(Audience.values)
    return list(MERCHANT_AUDIENCES)


def writable_audiences(membership: Membership) -> list[str]:
    """Who a staff member may write to: a merchant writes to the customer with
    the platform reading along, or to the platform's staff and its own."""
    return audiences_for(membership)


def timeline_for(membership: Membership, case: Case) -> QuerySet[CaseEvent]:
    """The case's lines this staff member may read, oldest first."""
    return case.events.filter(audience__in=audiences_for(membership)).order_by(
        "created_at", "pk"
    )


def customer_timeline(case: Case) -> QuerySet[CaseEvent]:
    """The lines meant for the customer, oldest first."""
    return case.events.filter(audience__in=CUSTOMER_AUDIENCES).order_by(
        "created_at", "pk"
    )


def note_audience(membership: Membership) -> str:
    """A platform note is for the platform alone; a merchant's is for staff."""
    return Audience.PLATFORM if membership.is_platform else Audience.STAFF


def open_requests(case: Case, party: str = "") -> QuerySet[DocumentRequest]:
    """Document requests not answered yet, for one party or both."""
    requests = case.document_requests.filter(answered_at__isnull=True)
    if party:
        requests = requests.filter(party=party)
    return requests.order_by("due_at", "pk")


def status_label(case: Case) -> str:
    workflow = workflows.for_kind(case.kind)
    try:
        return str(workflow.state(case.status).label)
    except KeyError:
        return case.status


def is_final(case: Case) -> bool:
    return workflows.for_kind(case.kind).state(case.status).is_final


def is_protection(case: Case) -> bool:
    return case.kind in workflows.PROTECTION_KINDS
