from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Organization


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


class OutboxMessage(models.Model):
    """A message to deliver, written in the transaction that causes it.

    The worker claims due rows with a lease; a worker killed mid-delivery
    leaves a lease that expires, and the row is delivered again (at least
    once). `dedupe_key` is unique, and doubles as the e-mail Message-ID and the
    SMS provider's idempotency key so receivers can drop a second copy.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    dedupe_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # An e-mail's HTML alternative, when its template has one; `body` stays
    # the plain-text part every mail client can read.
    html_body = models.TextField(blank=True)
    language = models.CharField(max_length=8, default="fr")
    organization_id = models.BigIntegerField(null=True, blank=True)
    # What the message is about, e.g. "cases.case:42", for the console.
    about = models.CharField(max_length=80, blank=True, db_index=True)
    # The reference a person reads for `about` (the case's "RC-7KQ4-M9XP"),
    # filled by the enqueuer: logs and the console can name the case without
    # notifications importing cases.
    about_reference = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A webhook message's endpoint (channel "webhook"); it is sent to the
    # endpoint's URL of the moment, signed with its secret of the moment.
    endpoint = models.ForeignKey(
        "WebhookEndpoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
    )

    class Meta:
        indexes = [
            # The worker's "what is due?" query skips finished rows.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="outbox_due",
            ),
            # The console's "undelivered messages" page lists only failed rows.
            models.Index(
                fields=["-created_at"],
                condition=Q(status="failed"),
                name="outbox_failed",
            ),
            # An endpoint's delivery log, newest first.
            models.Index(
                fields=["endpoint", "-created_at"],
                condition=Q(endpoint__isnull=False),
                name="outbox_webhook_log",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.subject or self.body[:30]}"


class SmsMessage(models.Model):
    """An SMS as handed to the "record" backend (demo and tests)."""

    to = models.CharField(max_length=20)
    sender = models.CharField(max_length=20)
    body = models.TextField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"SMS to {self.to}"


class WebhookEndpoint(models.Model):
    """Where an organization receives its events, signed as the Standard
    Webhooks specification says (recours.notifications.webhooks).

    The platform organization's endpoints receive every organization's events.
    An endpoint whose messages keep failing is disabled, and its organization
    told; staff enable it again once it is fixed.
    """

    class DisabledReason(models.TextChoices):
        BY_STAFF = "by_staff", _("Disabled by staff")
        FAILING = "failing", _("Disabled after repeated failures")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(
        max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )
    description = models.CharField(max_length=200, blank=True)
    # The event types it receives, a list of webhooks.EVENT_TYPES.
    event_types = models.JSONField(default=list)
    # "whsec_" + base64 of random bytes; shown to staff once, at creation.
    secret = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(
        max_length=20, choices=DisabledReason.choices, blank=True
    )
    # Messages in a row that failed for good; a delivered one sets it back to 0.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=True, disabled_at__isnull=True, disabled_reason="")
                | Q(enabled=False, disabled_at__isnull=False) & ~Q(disabled_reason=""),
                name="webhook_endpoint_disabled_fields",
            )
        ]

    def __str__(self) -> str:
        return self.url


class WebhookAttempt(models.Model):
    """One try at delivering a webhook message: the endpoint's delivery log."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, related_name="webhook_attempts"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts"
    )
    attempted_at = models.DateTimeField()
    # The HTTP status the endpoint answered; None when it did not answer.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.message_id} at {self.attempted_at}: {self.response_status}"
