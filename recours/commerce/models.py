from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Customer, Organization
from recours.core.append_only import AppendOnlyModel
from recours.ledger.models import JournalEntry


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


class ProtectionEnd(models.TextChoices):
    """Why a buyer protection ended."""

    # The customer said all went well (the seed's "cancel the protection").
    CONFIRMED = "confirmed", _("Confirmed by the customer")
    EXPIRED = "expired", _("Expired")


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")
        # A deferred payment that never came: the order let its items go.
        LAPSED = "lapsed", _("Lapsed")

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
    # The id in the operator's own shop, for imports and API pushes.
    external_id = models.CharField(max_length=80, blank=True)
    # Buyer protection (commerce.protection): None when the buyer did not opt
    # in. It runs PROTECTION_DAYS from placed_at; the reminder is due at
    # `protection_reminder_at`, which the worker clears when it sends it.
    protection_started_at = models.DateTimeField(null=True, blank=True)
    protection_ends_at = models.DateTimeField(null=True, blank=True)
    protection_reminder_at = models.DateTimeField(null=True, blank=True)
    protection_ended_at = models.DateTimeField(null=True, blank=True)
    protection_end_reason = models.CharField(
        max_length=20, choices=ProtectionEnd.choices, blank=True
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(total_minor__gte=0), name="order_total_positive"
            ),
            # A protection has its window; an unprotected order has no dates.
            models.CheckConstraint(
                condition=Q(
                    protection_started_at__isnull=False,
                    protection_ends_at__isnull=False,
                )
                | Q(
                    protection_started_at__isnull=True,
                    protection_ends_at__isnull=True,
                    protection_reminder_at__isnull=True,
                    protection_ended_at__isnull=True,
                ),
                name="order_protection_window",
            ),
            # Ended exactly when a reason is given, and nothing is due after.
            models.CheckConstraint(
                condition=Q(protection_ended_at__isnull=True, protection_end_reason="")
                | Q(
                    protection_ended_at__isnull=False,
                    protection_end_reason__in=["confirmed", "expired"],
                    protection_reminder_at__isnull=True,
                ),
                name="order_protection_end",
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~Q(external_id=""),
                name="order_external_id_unique",
            ),
        ]
        # Reports match orders by reference in any case (commerce.lookups.same_text).
        indexes = [
            models.Index(Upper("reference"), name="order_reference_upper_idx"),
            models.Index(Upper("invoice_reference"), name="order_invoice_upper_idx"),
            # The worker's "which reminders are due?" and "which protections
            # have run out?" read only the few orders with something pending.
            models.Index(
                fields=["protection_reminder_at"],
                condition=Q(protection_reminder_at__isnull=False),
                name="order_protection_reminder_idx",
            ),
            models.Index(
                fields=["protection_ends_at"],
                condition=Q(
                    protection_ends_at__isnull=False, protection_ended_at__isnull=True
                ),
                name="order_protection_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_protected(self) -> bool:
        """The buyer opted in to protection (it may have ended since)."""
        return self.protection_started_at is not None


class Payment(models.Model):
    """A payment on an order. Only the provider's ids are stored, never card numbers."""

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        # A deferred payment (bank transfer) awaited until `due_at`.
        PENDING = "pending", _("Awaiting payment")
        CAPTURED = "captured", _("Captured")
        FAILED = "failed", _("Failed")
        # A card capture given back to a checkout that lost its race.
        VOIDED = "voided", _("Voided")
        LAPSED = "lapsed", _("Lapsed")

    class Method(models.TextChoices):
        CARD = "card", _("Card")
        CASH = "cash", _("Cash")
        WALLET = "wallet", _("Wallet")
        STORE_CREDIT = "store_credit", _("Store credit")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=20, choices=Method.choices)
    provider = models.CharField(max_length=30, blank=True)
    provider_payment_id = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    amount_minor = models.BigIntegerField()
    captured_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField()
    # A deferred payment lapses at this time if it has not come.
    due_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "external_id"],
                condition=~Q(external_id=""),
                name="payment_external_id_unique",
            ),
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


class Shipment(models.Model):
    """A parcel sent for an order (pushed or imported from the operator's shop)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "external_id"],
                condition=~Q(external_id=""),
                name="shipment_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number} for {self.order}"


class ImportedRefund(models.Model):
    """A refund the operator's own shop made, as it reported it.

    Kept as reported, even when it is wrong (more than was captured): the
    integrity detectors exist to find such rows.
    """

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="imported_refunds"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_at = models.DateTimeField()
    external_id = models.CharField(max_length=80)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "external_id"], name="imported_refund_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="imported_refund_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.external_id} of {self.amount_minor} {self.currency}"


# Catalogue: serialized items (coins, bars) and who holds each.


class ItemType(models.Model):
    """A kind of serialized item, e.g. "1 oz Britannia 2024"."""

    class CheckDigit(models.TextChoices):
        NONE = "none", _("None")
        # The last digit makes the Luhn sum of the digits a multiple of 10.
        LUHN = "luhn", _("Luhn (mod 10)")
        # ISO 7064 MOD 97-10 over letters and digits, as IBANs use.
        MOD97 = "mod97", _("ISO 7064 MOD 97-10")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="item_types"
    )
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    # A regular expression the whole serial number must match.
    serial_pattern = models.CharField(max_length=200, default=r"[A-Z0-9-]{4,40}")
    check_digit = models.CharField(
        max_length=10, choices=CheckDigit.choices, default=CheckDigit.NONE
    )
    price_minor = models.BigIntegerField()
    # What the dealer pays back for one (sell-back).
    buyback_price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="item_type_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(price_minor__gte=0) & Q(buyback_price_minor__gte=0),
                name="item_type_prices_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One serialized item. Who holds it is its Holding row."""

    item_type = models.ForeignKey(
        ItemType, on_delete=models.PROTECT, related_name="items"
    )
    serial = models.CharField(max_length=60)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item_type", "serial"], name="item_serial_unique"
            )
        ]
        indexes = [models.Index(Upper("serial"), name="item_serial_upper_idx")]

    def __str__(self) -> str:
        return f"{self.item_type} {self.serial}"


class Holding(models.Model):
    """Who holds an item now: its organization's stock, or one customer.

    One row per item (a unique key on the item): an item has exactly one
    holder. Every change of holder is a HoldingMove in the same transaction.
    """

    item = models.OneToOneField(Item, on_delete=models.PROTECT, related_name="holding")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="holdings"
    )
    # None: in the organization's stock, for sale.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holdings",
    )
    since = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "item"])]

    def __str__(self) -> str:
        return f"{self.item} held by {self.customer or 'stock'}"


class HoldingMove(AppendOnlyModel):
    """An item changed holder: append-only, tied to the entry that paid for it."""

    class Reason(models.TextChoices):
        STOCKED = "stocked", _("Put in stock")
        PURCHASE = "purchase", _("Purchase")
        SELL_BACK = "sell_back", _("Sell-back")
        REPLACEMENT = "replacement", _("Replacement")
        CORRECTION = "correction", _("Correction")
        IMPORT = "import", _("Import")

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="moves")
    # None on either side means the organization's stock.
    from_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="moves"
    )
    actor_label = models.CharField(max_length=120)
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.item} {self.from_customer_id}->{self.to_customer_id}"


# Catalogue: events with sessions, seat categories and contingents (ticketing).


class Event(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="events"
    )
    name = models.CharField(max_length=200)
    venue = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    """One performance of an event, with its seats."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="sessions")
    starts_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    is_cancelled = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.event} {self.starts_at:%Y-%m-%d %H:%M}"


class SeatCategory(models.Model):
    event = models.ForeignKey(
        Event, on_delete=models.PROTECT, related_name="categories"
    )
    name = models.CharField(max_length=100)
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        verbose_name_plural = "seat categories"
        constraints = [
            models.CheckConstraint(
                condition=Q(price_minor__gte=0), name="seat_category_price_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contingent(models.Model):
    """A share of a session's seats in one category (public sale, partners…)."""

    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, related_name="contingents"
    )
    category = models.ForeignKey(
        SeatCategory, on_delete=models.PROTECT, related_name="contingents"
    )
    name = models.CharField(max_length=100)
    capacity = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.session} {self.category} {self.name}"


class OrderLine(models.Model):
    """What an order bought: one serialized item, or seats of a contingent."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(
        Item,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_lines",
    )
    contingent = models.ForeignKey(
        Contingent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_lines",
    )
    description = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price_minor__gte=0), name="order_line_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=True) | Q(quantity=1),
                name="order_line_one_serialized_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.description or self.item or self.contingent}"


class Reservation(models.Model):
    """Items or seats held for a customer until checkout or `expires_at`."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CHECKED_OUT = "checked_out", _("Checked out")
        EXPIRED = "expired", _("Expired")
        RELEASED = "released", _("Released")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="reservations"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="reservations"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    order = models.OneToOneField(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reservation",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status="active"),
                name="reservation_active_expiry_idx",
            )
        ]

    def __str__(self) -> str:
        return f"reservation {self.pk} ({self.status})"


class ReservationLine(models.Model):
    """One held item, or a number of seats of a contingent."""

    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, related_name="lines"
    )
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contingent = models.ForeignKey(
        Contingent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(default=1)
    # True while the reservation is active: an item is held by one at most.
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(is_active=True, item__isnull=False),
                name="item_held_by_one_reservation",
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=False, contingent__isnull=True, quantity=1)
                | Q(item__isnull=True, contingent__isnull=False, quantity__gte=1),
                name="reservation_line_item_or_seats",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.item or self.contingent}"
