from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Customer, Organization
from recours.commerce.models import Order, Terminal


class Problem(models.TextChoices):
    """What the customer says went wrong (the report form's choices)."""

    PAYMENT_FAILED = "payment_failed", _("The payment failed")
    NO_RECEIPT = "no_receipt", _("No receipt")
    CHANGE_NOT_RETURNED = "change_not_returned", _("Change not returned")
    CHARGED_TWICE = "charged_twice", _("Charged twice")
    ITEM_MISSING = "item_missing", _("An item is missing from my portfolio")
    NOT_RECEIVED = "not_received", _("Order not received")
    REFUND_NOT_RECEIVED = "refund_not_received", _("Refund not received")
    QUESTION = "question", _("A question")
    SUGGESTION = "suggestion", _("A suggestion")


class Kind(models.TextChoices):
    PAYMENT_INCIDENT = "payment_incident", _("Payment incident")
    ITEM_MISSING = "item_missing", _("Item missing")
    INTEGRITY = "integrity", _("Integrity")
    QUESTION = "question", _("Question")
    SUGGESTION = "suggestion", _("Suggestion")
    NOT_RECEIVED = "not_received", _("Order not received")
    REFUND_NOT_RECEIVED = "refund_not_received", _("Refund not received")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Team(models.TextChoices):
    AGENT = "agent", _("Customer advisors")
    TECHNICIAN = "technician", _("Technical team")
    MERCHANT = "merchant", _("Merchant")
    MEDIATOR = "mediator", _("Mediation")


class PaymentStarted(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    UNSURE = "unsure", _("Not sure")


class ContactChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class Case(models.Model):
    reference = models.CharField(max_length=20, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="cases"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    problem = models.CharField(max_length=30, choices=Problem.choices)
    status = models.CharField(max_length=30)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    team = models.CharField(max_length=20, choices=Team.choices)
    source = models.CharField(max_length=10, default="portal")

    terminal = models.ForeignKey(
        Terminal, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    payment_started = models.CharField(
        max_length=10, choices=PaymentStarted.choices, blank=True
    )
    # What the customer typed, kept as typed even when it matches nothing.
    given_customer_number = models.CharField(max_length=40, blank=True)
    given_phone = models.CharField(max_length=20, blank=True)
    given_invoice_reference = models.CharField(max_length=40, blank=True)
    given_order_reference = models.CharField(max_length=40, blank=True)
    unmatched = models.BooleanField(default=False)

    contact_channel = models.CharField(max_length=10, choices=ContactChannel.choices)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=8, default="fr")
    description = models.TextField(blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    # The one pending deadline (invariant 8) and what its expiry does.
    due_at = models.DateTimeField(null=True, blank=True)
    due_action = models.CharField(max_length=30, blank=True)

    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Not a column: the public timeline lines already in memory, when whoever
    # loaded the case has them (create_case sets the line it wrote).
    public_events: list["CaseEvent"]

    class Meta:
        indexes = [
            models.Index(fields=["organization", "status", "created_at"]),
            models.Index(fields=["team", "status", "created_at"]),
            # The worker's "what is due?" query skips cases with no deadline.
            models.Index(
                fields=["due_at"], condition=Q(due_at__isnull=False), name="case_due"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__isnull=True, due_action="")
                | Q(due_at__isnull=False) & ~Q(due_action=""),
                name="case_deadline_has_action",
            ),
            models.CheckConstraint(
                condition=Q(contact_channel="email") & ~Q(contact_email="")
                | Q(contact_channel="sms") & ~Q(contact_phone=""),
                name="case_contact_has_address",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def contact_address(self) -> str:
        return (
            self.contact_email
            if self.contact_channel == "email"
            else self.contact_phone
        )


class Audience(models.TextChoices):
    """Who may read a timeline line. Platform staff read every line.

    cases.queries decides from this which lines each reader gets; a new
    audience (e.g. the customer and the platform, not the merchant) is one
    more value there.
    """

    EVERYONE = "everyone", _("Customer, merchant and platform")
    STAFF = "staff", _("Merchant and platform staff")
    PLATFORM = "platform", _("Platform staff only")


class CaseEvent(models.Model):
    """One line of a case's timeline. Public lines are shown to the customer;
    `audience` says who else reads it (`is_public` is its customer part)."""

    class Type(models.TextChoices):
        CREATED = "created", _("Report received")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply")
        CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")
        ESCALATED = "escalated", _("Escalated")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=20, choices=Type.choices)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=120)
    body = models.TextField(blank=True)
    is_public = models.BooleanField(default=False)
    audience = models.CharField(
        max_length=20, choices=Audience.choices, default=Audience.STAFF
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_public=True, audience="everyone")
                | Q(is_public=False) & ~Q(audience="everyone"),
                name="case_event_public_is_for_everyone",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.type}"


def evidence_path(instance: "Attachment", filename: str) -> str:
    return f"evidence/{instance.case.reference}/{filename}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        CaseEvent,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(upload_to=evidence_path)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.original_name
