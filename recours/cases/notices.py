"""Who hears of what happens to a case: the customer on their channel, the
merchant at its notification addresses, the team lead of a breached service
level, and the organizations' webhook endpoints. Every message goes through
the outbox in the caller's transaction (invariant 9)."""

from django.conf import settings
from django.contrib.auth import get_user_model

from recours.accounts.models import Organization, Role
from recours.cases.models import Case
from recours.notifications import webhooks
from recours.notifications.outbox import enqueue

MERCHANT_ROLES = (Role.MERCHANT_ADMIN, Role.MERCHANT_AGENT)
PLATFORM_LEAD_ROLES = (Role.ADMIN,)
# The platform's own shop is answered by its advisors and admins.
PLATFORM_SHOP_ROLES = (Role.ADMIN, Role.AGENT)


def status_url(case: Case) -> str:
    return f"{settings.SITE_URL}/status/?reference={case.reference}"


def console_url(case: Case) -> str:
    return f"{settings.SITE_URL}/console/cases/{case.reference}/"


def notify_customer(case: Case, template: str, dedupe_key: str, extra: dict) -> None:
    enqueue(
        dedupe_key=dedupe_key,
        channel=case.contact_channel,
        recipient=case.contact_address,
        template=f"{template}.{case.contact_channel}",
        context={"case": case, "status_url": status_url(case), **extra},
        language=case.language,
        organization_id=case.organization_id,
        about=f"cases.case:{case.pk}",
        about_reference=case.reference,
    )


def staff_emails(organization: Organization, roles: tuple[str, ...]) -> list[str]:
    users = get_user_model().objects.filter(
        membership__organization=organization, membership__role__in=roles,
        is_active=True,
    ).exclude(email="")  # fmt: skip
    return sorted({user.email.lower() for user in users})


def merchant_addresses(case: Case) -> list[str]:
    """Every address the merchant gave; without any, its staff's."""
    organization = case.organization
    roles = PLATFORM_SHOP_ROLES if organization.is_platform else MERCHANT_ROLES
    return organization.notification_addresses or staff_emails(organization, roles)


def notify_merchant(case: Case, template: str, dedupe_key: str, extra: dict) -> int:
    """E-mail the merchant organization; return how many addresses."""
    addresses = merchant_addresses(case)
    for address in addresses:
        enqueue(
            dedupe_key=f"{dedupe_key}:{address}",
            channel="email",
            recipient=address,
            template=f"merchant_{template}.email",
            context={"case": case, "console_url": console_url(case), **extra},
            language=settings.LANGUAGE_CODE,
            organization_id=case.organization_id,
            about=f"cases.case:{case.pk}",
            about_reference=case.reference,
        )
    return len(addresses)


def notify_team_lead(case: Case, dedupe_key: str, extra: dict) -> None:
    platform = Organization.objects.get(kind=Organization.Kind.PLATFORM)
    addresses = settings.TEAM_LEAD_EMAILS or staff_emails(platform, PLATFORM_LEAD_ROLES)
    for address in addresses:
        enqueue(
            dedupe_key=f"{dedupe_key}:{address}",
            channel="email",
            recipient=address,
            template="sla_breached.email",
            context={"case": case, "console_url": console_url(case), **extra},
            language=settings.LANGUAGE_CODE,
            organization_id=case.organization_id,
            about=f"cases.case:{case.pk}",
            about_reference=case.reference,
        )


def publish(case: Case, event: str, dedupe_key: str, extra: dict | None = None) -> None:
    """Send a webhook event about the case to its organization's endpoints."""
    data = {
        "case": case.reference,
        "kind": case.kind,
        "status": case.status,
        "order": case.order.reference if case.order is not None else None,
        **(extra or {}),
    }
    webhooks.emit(case.organization_id, event, data, dedupe_key,
                  about_reference=case.reference)  # fmt: skip
