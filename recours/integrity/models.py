"""What the integrity detectors found, and the corrections that fix it.

An Anomaly is one inconsistent transaction, keyed by a fingerprint that is
the same on every run that finds it again. A Correction proposes the
compensating change (never an edit); it runs once enough different people
with the right role have approved it (CorrectionApproval).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Customer, Organization
from recours.cases.models import Case
from recours.ledger.models import JournalEntry


class AnomalyKind(models.TextChoices):
    UNPAID_SELL_BACK = "unpaid_sell_back", _("Sell-back with no proceeds")
    SOLD_TWICE = "sold_twice", _("Item sold twice")
    BAD_SERIAL = "bad_serial", _("Invalid serial number")
    CAPTURE_WITHOUT_ORDER = "capture_without_order", _("Capture with no order")
    UNDELIVERED_ORDER = "undelivered_order", _("Paid item never delivered")
    OVER_REFUNDED = "over_refunded", _("Refunds above the capture")
    OVERDUE_DEFERRED_PAYMENT = "overdue_deferred", _("Deferred payment past due")
    BALANCE_DRIFT = "balance_drift", _("Balance differs from its postings")
    STALE_RESERVATION = "stale_reservation", _("Expired reservation still holding")
    SETTLEMENT_MISMATCH = "settlement_mismatch", _("Settlement line mismatch")
    VANISHED_HOLDING = "vanished_holding", _("Item vanished from a portfolio")


class Anomaly(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CORRECTED = "corrected", _("Corrected")
        DISMISSED = "dismissed", _("Dismissed")

    kind = models.CharField(max_length=30, choices=AnomalyKind.choices)
    # sha256 of the kind and the ids involved: a re-run finds the same one.
    fingerprint = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="anomalies"
    )
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="anomalies",
    )
    # The evidence: ids, amounts and what was expected.
    details = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.OPEN
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="anomalies")

    class Meta:
        verbose_name_plural = "anomalies"
        indexes = [
            models.Index(fields=["organization", "status", "kind"]),
            models.Index(fields=["status", "last_seen_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.fingerprint[:12]}"


class Correction(models.Model):
    class Kind(models.TextChoices):
        RESTORE_HOLDING = "restore_holding", _("Restore the holding")
        ASSIGN_IDENTICAL_ITEM = "assign_identical_item", _("Assign an identical item")
        CREDIT_WALLET = "credit_wallet", _("Credit the wallet")
        REFUND = "refund", _("Refund")
        RELEASE_HOLD = "release_hold", _("Release the hold")
        LAPSE_TRANSFER = "lapse_transfer", _("Lapse the overdue transfer")
        REBUILD_BALANCE = "rebuild_balance", _("Rebuild the balance from its postings")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        EXECUTED = "executed", _("Executed")
        REJECTED = "rejected", _("Rejected")

    anomaly = models.ForeignKey(
        Anomaly, on_delete=models.PROTECT, related_name="corrections"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # What it gives the customer in money (0 for an item).
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    # The ids it acts on (item, customer, order, payment…).
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_by_label = models.CharField(max_length=120)
    proposed_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gte=0), name="correction_amount_positive"
            ),
            # One live proposal per anomaly: a second one could pay twice.
            models.UniqueConstraint(
                fields=["anomaly"],
                condition=Q(status__in=["proposed", "approved"]),
                name="correction_one_pending_per_anomaly",
            ),
        ]
        indexes = [models.Index(fields=["status", "proposed_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.anomaly}"


class CorrectionApproval(models.Model):
    correction = models.ForeignKey(
        Correction, on_delete=models.PROTECT, related_name="approvals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["correction", "user"], name="correction_approved_once_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} approved {self.correction}"


class Schedule(models.Model):
    """When a periodic job runs next; a worker claims a run by moving it."""

    name = models.CharField(max_length=40, unique=True)
    next_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.next_run_at}"
