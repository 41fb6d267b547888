"""Building a small dealer's history for the integrity tests: through the
real ledger and commerce actions where they exist, and by planting the one
inconsistent row each detector looks for."""

from datetime import timedelta

from django.db import transaction

from recours.accounts.models import Customer, Organization
from recours.commerce import serials
from recours.commerce.actions import move_item
from recours.commerce.models import (
    Holding,
    HoldingMove,
    Item,
    ItemType,
    Order,
    OrderLine,
    Payment,
)
from recours.core import clock
from recours.core.audit import Actor
from recours.core.money import Money
from recours.ledger.actions import Line, account_for, customer_account, post
from recours.ledger.models import AccountKind

ACTOR = Actor(label="test")
PRICE_MINOR = 180000
BUYBACK_MINOR = 170000


def coin_type(organization: Organization, code: str = "BRIT-1OZ") -> ItemType:
    return ItemType.objects.create(
        organization=organization, code=code, name="Britannia 1 oz",
        serial_pattern=r"BR-[0-9]{7}", check_digit="luhn",
        price_minor=PRICE_MINOR, buyback_price_minor=BUYBACK_MINOR,
    )  # fmt: skip


def stock(item_type: ItemType, number: int, serial: str = "") -> Item:
    serial = serial or serials.with_check_digit(f"BR-{number:06d}", "luhn")
    with transaction.atomic():
        item = Item.objects.create(
            item_type=item_type, serial=serial, created_at=clock.now()
        )
        Holding.objects.create(
            item=item, organization=item_type.organization, since=clock.now()
        )
        HoldingMove.objects.create(item=item, reason=HoldingMove.Reason.STOCKED,
                                   actor_label="test", created_at=clock.now())  # fmt: skip
    return item


def new_order(customer: Customer, item: Item, reference: str, status: str) -> Order:
    order = Order.objects.create(
        organization=customer.organization, customer=customer, reference=reference,
        status=status, total_minor=PRICE_MINOR, placed_at=clock.now(),
    )  # fmt: skip
    OrderLine.objects.create(order=order, item=item, unit_price_minor=PRICE_MINOR)
    return order


def card_payment(order: Order, status: str = "captured", **fields) -> Payment:
    captured = PRICE_MINOR if status == "captured" else 0
    values = {"method": "card", "provider": "stripe", "status": status,
              "provider_payment_id": f"pi_{order.reference}",
              "amount_minor": PRICE_MINOR, "captured_minor": captured,
              "created_at": clock.now(), **fields}  # fmt: skip
    return Payment.objects.create(order=order, **values)


def buy(customer: Customer, item: Item, reference: str) -> Order:
    """A card checkout as the checkout action writes it: order, payment,
    entry and the move, together."""
    organization = customer.organization
    with transaction.atomic():
        order = new_order(customer, item, reference, Order.Status.PAID)
        card_payment(order)
        entry = post(ACTOR, organization, "checkout", [
            Line(account_for(organization, AccountKind.PROVIDER_CLEARING, "EUR"),
                 Money(-PRICE_MINOR, "EUR")),
            Line(account_for(organization, AccountKind.MERCHANT_PAYABLE, "EUR"),
                 Money(PRICE_MINOR, "EUR")),
        ], about=f"commerce.order:{order.pk}")  # fmt: skip
        move_item(ACTOR, item, customer, HoldingMove.Reason.PURCHASE,
                  entry=entry, order=order)  # fmt: skip
    return order


def sell_back(customer: Customer, item: Item, *, pay: bool = True) -> HoldingMove:
    organization = customer.organization
    with transaction.atomic():
        entry = None
        if pay:
            entry = post(ACTOR, organization, "sell_back", [
                Line(account_for(organization, AccountKind.MERCHANT_PAYABLE, "EUR"),
                     Money(-BUYBACK_MINOR, "EUR")),
                Line(customer_account(customer, AccountKind.WALLET, "EUR"),
                     Money(BUYBACK_MINOR, "EUR")),
            ])  # fmt: skip
        return move_item(ACTOR, item, None, HoldingMove.Reason.SELL_BACK, entry=entry)


def past(hours: int) -> object:
    return clock.now() - timedelta(hours=hours)
