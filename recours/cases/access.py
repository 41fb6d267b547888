"""Who may see and act on which cases (object-level authorization)."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from recours.accounts.models import Membership
from recours.cases.models import Case
from recours.core.audit import Actor


def membership_of(user: User | AnonymousUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("organization").filter(user=user).first()


def visible_cases(membership: Membership | None) -> QuerySet[Case]:
    """Platform staff see every case; merchant staff only their organization's."""
    if membership is None:
        return Case.objects.none()
    if membership.is_platform:
        return Case.objects.all()
    return Case.objects.filter(organization_id=membership.organization_id)


def staff_actor(membership: Membership) -> Actor:
    return Actor(
        label=membership.user.get_username(),
        user_id=membership.user_id,
        organization_id=membership.organization_id,
    )
