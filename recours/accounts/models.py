import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    class Kind(models.TextChoices):
        PLATFORM = "platform", _("Platform")
        MERCHANT = "merchant", _("Merchant")

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Where the organization hears of its cases (a new claim, a deadline, a
    # disabled webhook endpoint): every address it gave, one per line.
    notification_emails = models.TextField(blank=True, db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One platform per deployment (ARCHITECTURE.md 2).
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="platform"),
                name="one_platform_organization",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.pk is None:
            return
        stored = Organization.objects.filter(pk=self.pk).values("kind").first()
        if stored and stored["kind"] != self.kind and self.memberships.exists():
            raise ValidationError(
                {"kind": _("The kind of an organization with staff cannot change.")},
                code="kind_with_members",
            )

    @property
    def is_platform(self) -> bool:
        return self.kind == self.Kind.PLATFORM

    @property
    def notification_addresses(self) -> list[str]:
        return [line.strip() for line in self.notification_emails.splitlines()
                if line.strip()]  # fmt: skip


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    TECHNICIAN = "technician", _("Technician")
    MEDIATOR = "mediator", _("Mediator")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Administrator")
    MERCHANT_AGENT = "merchant_agent", _("Merchant agent")
    MERCHANT_ADMIN = "merchant_admin", _("Merchant administrator")


PLATFORM_ROLES = {Role.AGENT, Role.TECHNICIAN, Role.MEDIATOR, Role.FINANCE, Role.ADMIN}
MERCHANT_ROLES = {Role.MERCHANT_AGENT, Role.MERCHANT_ADMIN}


def kind_for_role(role: str) -> str:
    """The organization kind a role belongs to (the database triggers of
    migration 0002 repeat this rule)."""
    if role in PLATFORM_ROLES:
        return Organization.Kind.PLATFORM
    return Organization.Kind.MERCHANT


class Membership(models.Model):
    """A staff user's organization and role; one per user.

    The role must fit the organization's kind: platform roles in the platform,
    merchant roles in a merchant. `clean()` says so to people; triggers in the
    database (migration 0002) refuse any write that bypasses it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    def __str__(self) -> str:
        return f"{self.user} ({self.role} at {self.organization})"

    def clean(self) -> None:
        super().clean()
        if not self.role or self.organization_id is None:
            return
        if kind_for_role(self.role) != self.organization.kind:
            raise ValidationError(
                {
                    "role": _(
                        "This role does not fit the organization: platform roles "
                        "belong to the platform, merchant roles to a merchant."
                    )
                },
                code="role_for_another_kind",
            )

    @property
    def is_platform(self) -> bool:
        # Decided by the organization, as for API keys; the role agrees with
        # it (clean() and the database see to that).
        return self.organization.is_platform


class Customer(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="customers"
    )
    customer_number = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    # E.164, e.g. +33612345678 (normalized with phonenumbers).
    phone = models.CharField(max_length=20, blank=True, db_index=True)
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_number"],
                name="customer_number_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_number} {self.name}"


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """An organization's API key. Only its SHA-256 is stored; it is shown once."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class VerificationCode(models.Model):
    """A one-time code or magic-link token proving a customer owns a contact.

    `subject` names what it unlocks (e.g. "case:RC-7KQ4-M9XP"). Only a hash is kept.
    """

    subject = models.CharField(max_length=120, db_index=True)
    code_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=10)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.subject}"
