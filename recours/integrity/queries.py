"""Reading anomalies and corrections, for the console and the commands."""

from datetime import datetime

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, QuerySet

from recours.accounts.models import Membership, Role
from recours.integrity.models import Anomaly, Correction, CorrectionApproval

# Who may approve a correction (platform staff only), and who may propose one.
APPROVER_ROLES = frozenset({Role.FINANCE, Role.ADMIN})
PROPOSER_ROLES = frozenset({Role.TECHNICIAN, Role.FINANCE, Role.ADMIN})


def anomalies(
    *,
    kind: str = "",
    status: str = "",
    organization_id: int | None = None,
    customer_id: int | None = None,
    seen_since: datetime | None = None,
) -> QuerySet[Anomaly]:
    """Anomalies, most recently seen first, filtered by what is given."""
    found = Anomaly.objects.select_related("organization", "customer", "case")
    if kind:
        found = found.filter(kind=kind)
    if status:
        found = found.filter(status=status)
    if organization_id is not None:
        found = found.filter(organization_id=organization_id)
    if customer_id is not None:
        found = found.filter(customer_id=customer_id)
    if seen_since is not None:
        found = found.filter(last_seen_at__gte=seen_since)
    return found.order_by("-last_seen_at", "-pk")


def counts_by_kind(status: str = Anomaly.Status.OPEN) -> dict[str, int]:
    rows = Anomaly.objects.filter(status=status).values("kind").annotate(n=Count("pk"))
    return {row["kind"]: row["n"] for row in rows}


def pending_corrections(
    organization_id: int | None = None,
) -> QuerySet[Correction]:
    """Corrections awaiting approval, oldest first, with `approval_count`."""
    found = Correction.objects.filter(status=Correction.Status.PROPOSED)
    if organization_id is not None:
        found = found.filter(anomaly__organization_id=organization_id)
    return (
        found.select_related("anomaly", "anomaly__case", "anomaly__customer")
        .annotate(approval_count=Count("approvals"))
        .order_by("proposed_at", "pk")
    )


def corrections_of(anomaly: Anomaly) -> QuerySet[Correction]:
    return anomaly.corrections.prefetch_related("approvals__user").order_by("pk")


def approvals_needed(correction: Correction) -> int:
    """Two different people above CORRECTION_SECOND_APPROVAL_MINOR, else one."""
    if correction.amount_minor > settings.CORRECTION_SECOND_APPROVAL_MINOR:
        return 2
    return 1


def may_approve(membership: Membership) -> bool:
    return membership.is_platform and membership.role in APPROVER_ROLES


def may_propose(membership: Membership) -> bool:
    return membership.is_platform and membership.role in PROPOSER_ROLES


def can_approve(membership: Membership, correction: Correction) -> bool:
    """Whether this person's approval would count now (for the button)."""
    if not may_approve(membership):
        return False
    if correction.status != Correction.Status.PROPOSED:
        return False
    return not approved_by(correction, membership.user_id)


def approved_by(correction: Correction, user_id: int) -> bool:
    return CorrectionApproval.objects.filter(
        correction=correction, user_id=user_id
    ).exists()


def with_my_approval(
    corrections: QuerySet[Correction], user_id: int
) -> QuerySet[Correction]:
    """Annotate `approved_by_me`, for a list with approve buttons."""
    mine = CorrectionApproval.objects.filter(correction=OuterRef("pk"), user_id=user_id)
    return corrections.annotate(approved_by_me=Exists(mine))
