"""Which customers a staff member may see (object-level authorization)."""

from django.db.models import QuerySet

from recours.accounts.models import Customer, Membership


def visible_customers(membership: Membership | None) -> QuerySet[Customer]:
    """Platform staff see every customer; merchant staff only their organization's."""
    if membership is None:
        return Customer.objects.none()
    if membership.is_platform:
        return Customer.objects.all()
    return Customer.objects.filter(organization_id=membership.organization_id)
