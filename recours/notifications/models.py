from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


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
