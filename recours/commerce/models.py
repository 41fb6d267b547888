from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Customer, Organization


class Terminal(models.Model):
    """A payment kiosk. Customers pick it on the report form."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="terminals"
    )
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=120)
    location = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        # Reports name kiosks in any case (commerce.lookups.same_text).
        indexes = [models.Index(Upper("code"), name="terminal_code_upper_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="orders"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    terminal = models.ForeignKey(
        Terminal, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    reference = models.CharField(max_length=40, unique=True)
    invoice_reference = models.CharField(max_length=40, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    total_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    placed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(total_minor__gte=0), name="order_total_positive"
            )
        ]
        # Reports match orders by reference in any case (commerce.lookups.same_text).
        indexes = [
            models.Index(Upper("reference"), name="order_reference_upper_idx"),
            models.Index(Upper("invoice_reference"), name="order_invoice_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.reference


class Payment(models.Model):
    """A payment on an order. Only the provider's ids are stored, never card numbers."""

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        CAPTURED = "captured", _("Captured")
        FAILED = "failed", _("Failed")

    class Method(models.TextChoices):
        CARD = "card", _("Card")
        CASH = "cash", _("Cash")
        WALLET = "wallet", _("Wallet")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=10, choices=Method.choices)
    provider = models.CharField(max_length=30, blank=True)
    provider_payment_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    amount_minor = models.BigIntegerField()
    captured_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(captured_minor__lte=F("amount_minor"))
                & Q(captured_minor__gte=0),
                name="payment_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__lte=F("captured_minor"))
                & Q(refunded_minor__gte=0),
                name="payment_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount_minor} {self.currency} on {self.order}"
