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
    WRONG_STATE = "wrong_state", _("A transaction is stuck or in a wrong state")
    NOT_RECEIVED = "not_received", _("Order not received")
    REFUND_NOT_RECEIVED = "refund_not_received", _("Refund not received")
    MERCHANT_CLOSED = "merchant_closed", _("The shop has gone out of business")
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
    MERCHANT_CLOSED = "merchant_closed", _("Shop out of business")
    # A delivery or refund problem on an order without buyer protection.
    ORDER_ISSUE = "order_issue", _("Order problem")


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
    # A technical report's details: the item's number and when it happened.
    given_item_number = models.CharField(max_length=60, blank=True)
    happened_at = models.DateTimeField(null=True, blank=True)
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
    # When the current state's deadline falls (a reminder may come first, at
    # due_at): what pages count down to.
    deadline_at = models.DateTimeField(null=True, blank=True)
    # Service-level time not counted: waiting on the customer.
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    sla_paused_since = models.DateTimeField(null=True, blank=True)
    # The date by which requested documents are due (the mediator's choice).
    documents_due_at = models.DateTimeField(null=True, blank=True)

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
    def merchant_answer(self) -> "MerchantAnswer | None":
        try:
            return self.answer
        except MerchantAnswer.DoesNotExist:
            return None

    @property
    def decision_made(self) -> "Decision | None":
        try:
            return self.decision
        except Decision.DoesNotExist:
            return None

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
    CUSTOMER_PLATFORM = "customer_platform", _("Customer and platform")
    PLATFORM = "platform", _("Platform staff only")


# The audiences whose lines the customer reads.
CUSTOMER_AUDIENCES = (Audience.EVERYONE, Audience.CUSTOMER_PLATFORM)


class CaseEvent(models.Model):
    """One line of a case's timeline. `audience` says who reads it; platform
    staff read every line and `is_public` repeats whether the customer does."""

    class Type(models.TextChoices):
        CREATED = "created", _("Report received")
        STATUS = "status", _("Status changed")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply")
        CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")
        ESCALATED = "escalated", _("Escalated")
        MESSAGE = "message", _("Message")
        MERCHANT_ANSWER = "merchant_answer", _("The merchant's answer")
        CUSTOMER_RESPONSE = "customer_response", _("The customer's answer")
        EVIDENCE = "evidence", _("Documents added")
        DOCUMENTS_REQUESTED = "documents_requested", _("Documents requested")
        DECISION = "decision", _("Decision")
        REMINDER = "reminder", _("Reminder sent")

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
                condition=Q(
                    is_public=True, audience__in=["everyone", "customer_platform"]
                )
                | Q(is_public=False, audience__in=["staff", "platform"]),
                name="case_event_public_is_for_the_customer",
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


class MerchantAnswer(models.Model):
    """The merchant's one answer to a protection claim (seed 004)."""

    class Kind(models.TextChoices):
        REFUND = "refund", _("Refund")
        REFUND_AFTER_RETURN = (
            "refund_after_return",
            _("Refund after return of the goods"),
        )
        NO_REFUND = "no_refund", _("No refund")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="answer")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    # The order total when answered: a smaller amount is a partial refund.
    full_amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    message = models.TextField()
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="no_refund", amount_minor__isnull=True)
                | ~Q(kind="no_refund") & Q(amount_minor__gt=0),
                name="merchant_answer_refund_has_amount",
            ),
            models.CheckConstraint(
                condition=Q(full_amount_minor__isnull=True)
                | Q(amount_minor__isnull=True)
                | Q(amount_minor__lte=models.F("full_amount_minor")),
                name="merchant_answer_not_above_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.kind}"

    @property
    def is_refund(self) -> bool:
        return self.kind != self.Kind.NO_REFUND

    @property
    def is_partial(self) -> bool:
        return (
            self.is_refund
            and self.full_amount_minor is not None
            and self.amount_minor is not None
            and self.amount_minor < self.full_amount_minor
        )


class Decision(models.Model):
    """A mediator's decision on a protection claim, ready for the refund engine:
    what is owed, where it goes, and why (shown to both parties)."""

    class Outcome(models.TextChoices):
        REFUND = "refund", _("Refund")
        NO_REFUND = "no_refund", _("No refund")
        REPLACEMENT = "replacement", _("Replacement")

    class Destination(models.TextChoices):
        ORIGINAL = "original_payment", _("To the original payment")
        STORE_CREDIT = "store_credit", _("As store credit")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    destination = models.CharField(
        max_length=20, choices=Destination.choices, blank=True
    )
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT
    )
    decided_at = models.DateTimeField()
    # Set when the refund is paid or the replacement sent; the case then closes.
    carried_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="refund", amount_minor__gt=0) & ~Q(destination="")
                | ~Q(outcome="refund") & Q(amount_minor__isnull=True, destination=""),
                name="decision_refund_has_amount_and_destination",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.outcome}"


class DocumentRequest(models.Model):
    """A mediator asks one party for documents, by a date."""

    class Party(models.TextChoices):
        CUSTOMER = "customer", _("The customer")
        MERCHANT = "merchant", _("The merchant")

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="document_requests"
    )
    party = models.CharField(max_length=10, choices=Party.choices)
    message = models.TextField()
    due_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "answered_at"])]

    def __str__(self) -> str:
        return f"{self.case} {self.party}"
