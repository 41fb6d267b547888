"""Detectors: set-based queries that each find one kind of broken transaction.

Each detector scans all history in a few SQL statements (no loop over the
rows it checks) and returns its findings. A finding's fingerprint is the
sha256 of its kind and the ids involved, so a re-run finds the same one.
Only the serial check digits are computed in Python, over the items of the
types that have one (streamed, never all in memory).
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby
from typing import Any

from django.db import connection
from django.db.models import (
    CharField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import (
    Cast,
    Concat,
    FirstValue,
    RowNumber,
)

from recours.commerce import serials
from recours.commerce.models import (
    HoldingMove,
    ImportedRefund,
    Item,
    ItemType,
    Order,
    OrderLine,
    Payment,
    Reservation,
    ReservationLine,
)
from recours.core import clock
from recours.integrity.models import AnomalyKind
from recours.ledger.models import AccountKind, JournalEntry, Posting

# The worker jobs that lapse payments and purge holds run every few seconds;
# give them this long before calling a row they have not reached broken.
GRACE = timedelta(hours=1)
COMPLETED = (Order.Status.PAID, Order.Status.FULFILLED)
STREAM_CHUNK_SIZE = 2000


@dataclass(frozen=True)
class Finding:
    kind: str
    # What the fingerprint is made of: the ids (and amounts) involved.
    ids: tuple[object, ...]
    organization_id: int
    customer_id: int | None
    details: dict = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        text = ":".join([self.kind, *(str(part) for part in self.ids)])
        return hashlib.sha256(text.encode()).hexdigest()


def holding_move_about(move_pk: object) -> str:
    """The `about` of an entry that pays for a move after the fact."""
    return f"commerce.holdingmove:{move_pk}"


# A holding left a portfolio with no proceeds credited.


def unpaid_sell_backs() -> list[Finding]:
    proceeds = Posting.objects.filter(
        entry=OuterRef("entry"),
        account__kind=AccountKind.WALLET,
        account__customer=OuterRef("from_customer"),
        amount_minor__gt=0,
    )
    paid_later = JournalEntry.objects.filter(
        about=Concat(Value(holding_move_about("")), Cast(OuterRef("pk"), CharField()))
    )
    rows = (
        HoldingMove.objects.filter(
            reason=HoldingMove.Reason.SELL_BACK,
            from_customer__isnull=False,
            to_customer__isnull=True,
        )
        .filter(~Exists(proceeds), ~Exists(paid_later))
        .values(
            "pk",
            "item_id",
            "item__serial",
            "from_customer_id",
            "entry_id",
            "created_at",
            "item__item_type__organization_id",
            "item__item_type__buyback_price_minor",
            "item__item_type__currency",
        )
    )
    return [unpaid_sell_back(row) for row in rows]


def unpaid_sell_back(row: Mapping[str, Any]) -> Finding:
    return Finding(
        AnomalyKind.UNPAID_SELL_BACK,
        (row["pk"],),
        row["item__item_type__organization_id"],
        row["from_customer_id"],
        {
            "move_id": row["pk"],
            "item_id": row["item_id"],
            "serial": row["item__serial"],
            "entry_id": row["entry_id"],
            "moved_at": row["created_at"].isoformat(),
            "expected_minor": row["item__item_type__buyback_price_minor"],
            "currency": row["item__item_type__currency"],
        },
    )


# Items sold twice, and paid items that never reached their buyer.


def delivery_checks() -> tuple[Exists, Exists]:
    """For an order line: its item reached the order's customer; an identical
    one was given to them for this order by a correction.

    Two EXISTS, not one EXISTS over an OR: PostgreSQL can then answer each
    with a hash join instead of testing every move of the customer against
    every paid line (48 s of 70 over 1M orders).
    """
    to_buyer = HoldingMove.objects.filter(to_customer=OuterRef("order__customer"))
    same_item = to_buyer.filter(item=OuterRef("item"))
    replacement = to_buyer.filter(
        order=OuterRef("order"),
        reason__in=[HoldingMove.Reason.CORRECTION, HoldingMove.Reason.REPLACEMENT],
        item__item_type=OuterRef("item__item_type"),
    )
    return Exists(same_item), Exists(replacement)


def delivered() -> Q:
    same_item, replacement = delivery_checks()
    return Q(same_item) | Q(replacement)


def undelivered() -> Q:
    """`~delivered()` spelled NOT a AND NOT b: PostgreSQL makes a NOT EXISTS
    an anti-join only at the top of the WHERE, not under a NOT over an OR
    (there it tested the moves once per paid line)."""
    same_item, replacement = delivery_checks()
    return ~Q(same_item) & ~Q(replacement)


def paid_item_lines() -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(item__isnull=False, order__status__in=COMPLETED)


def sold_in_another_order() -> Exists:
    """For a paid line: its item is on a paid line of another order too.

    An EXISTS rather than grouping the paid lines by item: PostgreSQL
    hash-joins the lines on the item, where COUNT(DISTINCT order) sorted
    the million paid lines on disk.
    """
    return Exists(
        paid_item_lines().filter(item=OuterRef("item")).exclude(order=OuterRef("order"))
    )


LINE_FIELDS = (
    "item_id", "item__serial", "item__item_type_id", "order_id",
    "order__reference", "order__customer_id", "order__organization_id",
)  # fmt: skip


def sold_twice() -> list[Finding]:
    # The delivery test runs on the lines of the few items in two orders only,
    # not as an "undelivered" subquery over every paid line (1M lookups).
    rows = (
        paid_item_lines()
        .filter(sold_in_another_order())
        .annotate(is_delivered=delivered())
        .values(*LINE_FIELDS, "is_delivered")
        .order_by("item_id", "order_id")
    )
    groups = [list(lines) for _item, lines in groupby(rows, key=item_of)]
    return [
        sold_twice_finding(lines)
        for lines in groups
        if not all(line["is_delivered"] for line in lines)
    ]


def item_of(row: Mapping[str, Any]) -> object:
    return row["item_id"]


def sold_twice_finding(lines: list[dict]) -> Finding:
    first = lines[0]
    waiting = [line for line in lines if not line["is_delivered"]]
    return Finding(
        AnomalyKind.SOLD_TWICE,
        (first["item_id"], *(line["order_id"] for line in lines)),
        first["order__organization_id"],
        waiting[0]["order__customer_id"],
        {
            "item_id": first["item_id"],
            "serial": first["item__serial"],
            "item_type_id": first["item__item_type_id"],
            "orders": [
                {
                    "order_id": line["order_id"],
                    "reference": line["order__reference"],
                    "customer_id": line["order__customer_id"],
                    "delivered": line["is_delivered"],
                }
                for line in lines
            ],
            "order_id": waiting[0]["order_id"],
        },
    )


def undelivered_orders() -> list[Finding]:
    rows = (
        paid_item_lines()
        .filter(order__customer__isnull=False)
        .filter(~sold_in_another_order())
        .filter(undelivered())
        .values(*LINE_FIELDS, "item__holding__customer_id")
    )
    return [undelivered_order(row) for row in rows]


def undelivered_order(row: dict) -> Finding:
    return Finding(
        AnomalyKind.UNDELIVERED_ORDER,
        (row["order_id"], row["item_id"]),
        row["order__organization_id"],
        row["order__customer_id"],
        {
            "order_id": row["order_id"],
            "reference": row["order__reference"],
            "item_id": row["item_id"],
            "serial": row["item__serial"],
            "item_type_id": row["item__item_type_id"],
            "holder_customer_id": row["item__holding__customer_id"],
        },
    )


# Serial numbers that fail their type's format or check digit.


def bad_serials() -> list[Finding]:
    findings: list[Finding] = []
    for item_type in ItemType.objects.filter(Exists(Item.objects.filter(
            item_type=OuterRef("pk")))).order_by("pk"):  # fmt: skip
        findings.extend(bad_serials_of(item_type))
    return findings


def bad_serials_of(item_type: ItemType) -> list[Finding]:
    """The format in SQL; the check digit of the rest in Python, streamed."""
    items = Item.objects.filter(item_type=item_type)
    anchored = rf"^(?:{item_type.serial_pattern})$"
    fields = ("pk", "serial", "holding__customer_id")
    findings = [
        bad_serial(item_type, row, "format")
        for row in items.exclude(serial__regex=anchored).values(*fields)
    ]
    check = serials.CHECKS.get(item_type.check_digit)
    if check is None:
        return findings
    matching = items.filter(serial__regex=anchored).values(*fields)
    findings.extend(
        bad_serial(item_type, row, "check_digit")
        for row in matching.iterator(chunk_size=STREAM_CHUNK_SIZE)
        if not check(row["serial"])
    )
    return findings


def bad_serial(item_type: ItemType, row: dict, problem: str) -> Finding:
    return Finding(
        AnomalyKind.BAD_SERIAL,
        (row["pk"], row["serial"]),
        item_type.organization_id,
        row["holding__customer_id"],
        {
            "item_id": row["pk"],
            "serial": row["serial"],
            "item_type": item_type.code,
            "pattern": item_type.serial_pattern,
            "check_digit": item_type.check_digit,
            "problem": problem,
        },
    )


# Payments and refunds.


def captures_without_order() -> list[Finding]:
    awaited = Payment.objects.filter(
        order=OuterRef("order"), status=Payment.Status.PENDING
    )
    rows = (
        Payment.objects.filter(
            status=Payment.Status.CAPTURED, captured_minor__gt=F("refunded_minor")
        )
        .exclude(order__status__in=COMPLETED)
        # A pending order still awaiting a bank transfer is not finished yet.
        .exclude(Q(order__status=Order.Status.PENDING) & Exists(awaited))
        .values(*PAYMENT_FIELDS)
    )
    return [payment_finding(AnomalyKind.CAPTURE_WITHOUT_ORDER, row) for row in rows]


PAYMENT_FIELDS = (
    "pk", "method", "provider_payment_id", "status", "amount_minor",
    "captured_minor", "refunded_minor", "currency", "due_at", "order_id",
    "order__reference", "order__status", "order__organization_id",
    "order__customer_id",
)  # fmt: skip


def payment_finding(kind: str, row: dict, *extra_ids: object, **extra) -> Finding:
    details = {
        "payment_id": row["pk"],
        "method": row["method"],
        "provider_payment_id": row["provider_payment_id"],
        "status": row["status"],
        "amount_minor": row["amount_minor"],
        "captured_minor": row["captured_minor"],
        "refunded_minor": row["refunded_minor"],
        "currency": row["currency"],
        "order_id": row["order_id"],
        "order_reference": row["order__reference"],
        "order_status": row["order__status"],
        **extra,
    }
    if row["due_at"] is not None:
        details["due_at"] = row["due_at"].isoformat()
    return Finding(kind, (row["pk"], *extra_ids), row["order__organization_id"],
                   row["order__customer_id"], details)  # fmt: skip


def over_refunded() -> list[Finding]:
    """1. Sum the imported refunds per payment, keeping the sums above the
    capture (one GROUP BY over the refunds, not a subquery per payment).
    2. Read those few payments."""
    imported_minor = dict(
        ImportedRefund.objects.values("payment")
        .annotate(total=Sum("amount_minor"))
        .filter(total__gt=F("payment__captured_minor"))
        .values_list("payment", "total")
    )
    rows = Payment.objects.filter(pk__in=imported_minor).values(*PAYMENT_FIELDS)
    return [
        payment_finding(
            AnomalyKind.OVER_REFUNDED,
            row,
            imported_refunds_minor=imported_minor[row["pk"]],
        )
        for row in rows
    ]


def overdue_deferred_payments() -> list[Finding]:
    rows = Payment.objects.filter(
        status=Payment.Status.PENDING, due_at__lt=clock.now() - GRACE
    ).values(*PAYMENT_FIELDS)
    return [payment_finding(AnomalyKind.OVERDUE_DEFERRED_PAYMENT, row) for row in rows]


# The books and the holds.


# Raw SQL: the ORM joins the postings to the accounts and groups the joined
# rows (an index scan of every posting: 3.4 s over 5M); summing the postings
# per account first and joining the 100,000 sums takes 1.3 s. The ORM cannot
# join a grouped subquery.
DRIFTED_ACCOUNTS = """
    SELECT a.id, a.organization_id, a.customer_id, a.kind, a.currency,
           a.balance_minor, coalesce(s.total, 0)
    FROM ledger_ledgeraccount a
    LEFT JOIN (SELECT account_id, sum(amount_minor) AS total
               FROM ledger_posting GROUP BY account_id) s
      ON s.account_id = a.id
    WHERE a.balance_minor <> coalesce(s.total, 0)
"""
ACCOUNT_FIELDS = (
    "pk", "organization_id", "customer_id", "kind", "currency",
    "balance_minor", "posted_minor",
)  # fmt: skip


def balance_drifts() -> list[Finding]:
    with connection.cursor() as cursor:
        cursor.execute(DRIFTED_ACCOUNTS)
        rows = [dict(zip(ACCOUNT_FIELDS, row, strict=True)) for row in cursor]
    return [balance_drift(row) for row in rows]


def balance_drift(row: Mapping[str, Any]) -> Finding:
    # PostgreSQL sums bigints as numeric: back to an int for the details.
    posted_minor = int(row["posted_minor"])
    difference_minor = row["balance_minor"] - posted_minor
    return Finding(
        AnomalyKind.BALANCE_DRIFT,
        (row["pk"], difference_minor),
        row["organization_id"],
        row["customer_id"],
        {
            "account_id": row["pk"],
            "account_kind": row["kind"],
            "currency": row["currency"],
            "cached_minor": row["balance_minor"],
            "postings_minor": posted_minor,
            "difference_minor": difference_minor,
        },
    )


def awaiting_transfer() -> Q:
    """A checkout paid by bank transfer keeps its items held, on purpose,
    until the transfer comes or lapses (an overdue one is its own finding)."""
    pending = Payment.objects.filter(
        order=OuterRef("order"), status=Payment.Status.PENDING
    )
    return Q(
        status=Reservation.Status.CHECKED_OUT, order__status=Order.Status.PENDING
    ) & Q(Exists(pending))


def stale_reservations() -> list[Finding]:
    holding = ReservationLine.objects.filter(reservation=OuterRef("pk"), is_active=True)
    expired = Q(status=Reservation.Status.ACTIVE, expires_at__lt=clock.now() - GRACE)
    finished_but_holding = (
        ~Q(status=Reservation.Status.ACTIVE) & Exists(holding) & ~awaiting_transfer()
    )
    rows = Reservation.objects.filter(expired | finished_but_holding).values(
        "pk", "organization_id", "customer_id", "status", "expires_at"
    )
    return [
        Finding(
            AnomalyKind.STALE_RESERVATION,
            (row["pk"],),
            row["organization_id"],
            row["customer_id"],
            {
                "reservation_id": row["pk"],
                "status": row["status"],
                "expires_at": row["expires_at"].isoformat(),
            },
        )
        for row in rows
    ]


# An item a customer had that now sits in stock with no move back.


def per_item_newest_first(expression: Func) -> Window:
    """`expression` over each item's moves, the newest first."""
    newest_first = [F("created_at").desc(), F("pk").desc()]
    return Window(expression, partition_by=F("item"), order_by=newest_first)


def vanished_holdings() -> list[Finding]:
    """Each item's last move against its holding: one window over the moves,
    newest first per item, instead of two sorted subqueries per holding."""
    rows = (
        HoldingMove.objects.filter(item__holding__isnull=False)
        .annotate(
            recency=per_item_newest_first(RowNumber()),
            # A window, like `recency`, so that it is tested on the last move
            # only (a plain column would filter the moves before ranking).
            last_to=per_item_newest_first(FirstValue("to_customer")),
            holder=F("item__holding__customer"),
        )
        .filter(recency=1, last_to__isnull=False)
        .filter(Q(holder__isnull=True) | ~Q(holder=F("last_to")))
        .values(
            "pk",
            "item_id",
            "item__serial",
            "item__item_type_id",
            "item__holding__organization_id",
            "holder",
            "last_to",
        )
    )
    return [vanished_holding(row) for row in rows]


def vanished_holding(row: Mapping[str, Any]) -> Finding:
    return Finding(
        AnomalyKind.VANISHED_HOLDING,
        (row["item_id"], row["pk"]),
        row["item__holding__organization_id"],
        row["last_to"],
        {
            "item_id": row["item_id"],
            "serial": row["item__serial"],
            "item_type_id": row["item__item_type_id"],
            "last_move_id": row["pk"],
            "holder_customer_id": row["holder"],
        },
    )


Detector = Callable[[], Iterable[Finding]]
# Run in this order by `recours reconcile` and the worker.
DETECTORS: dict[str, Detector] = {
    AnomalyKind.UNPAID_SELL_BACK: unpaid_sell_backs,
    AnomalyKind.SOLD_TWICE: sold_twice,
    AnomalyKind.BAD_SERIAL: bad_serials,
    AnomalyKind.CAPTURE_WITHOUT_ORDER: captures_without_order,
    AnomalyKind.UNDELIVERED_ORDER: undelivered_orders,
    AnomalyKind.OVER_REFUNDED: over_refunded,
    AnomalyKind.OVERDUE_DEFERRED_PAYMENT: overdue_deferred_payments,
    AnomalyKind.BALANCE_DRIFT: balance_drifts,
    AnomalyKind.STALE_RESERVATION: stale_reservations,
    AnomalyKind.VANISHED_HOLDING: vanished_holdings,
}
