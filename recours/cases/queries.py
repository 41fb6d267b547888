"""What each reader may see of a case, decided in one place."""

from django.db.models import QuerySet

from recours.accounts.models import Membership
from recours.cases.models import Audience, Case, CaseEvent

# Platform staff read every line; these are the others' audiences.
MERCHANT_AUDIENCES = (Audience.EVERYONE, Audience.STAFF)


def audiences_for(membership: Membership) -> list[str]:
    if membership.is_platform:
        return list(Audience.values)
    return list(MERCHANT_AUDIENCES)


def timeline_for(membership: Membership, case: Case) -> QuerySet[CaseEvent]:
    """The case's lines this staff member may read, oldest first."""
    return case.events.filter(audience__in=audiences_for(membership)).order_by(
        "created_at", "pk"
    )


def note_audience(membership: Membership) -> str:
    """A platform note is for the platform alone; a merchant's is for staff."""
    return Audience.PLATFORM if membership.is_platform else Audience.STAFF
