"""Test data for money flows: coin types, coins in stock, funded wallets."""

from datetime import UTC, datetime

from recours.accounts.models import Customer, Organization
from recours.commerce import serials
from recours.commerce.actions import stock_item, top_up
from recours.commerce.models import (
    Contingent,
    Event,
    Holding,
    HoldingMove,
    Item,
    ItemType,
    Order,
    Payment,
    Reservation,
    ReservationLine,
    SeatCategory,
    Session,
)
from recours.core.audit import Actor
from recours.core.models import AuditEvent
from recours.core.money import Money
from recours.ledger.models import JournalEntry, LedgerAccount
from recours.notifications.models import OutboxMessage

STAFF = Actor(label="finance")
# Imports no other test helper: lower layers' tests may import this module.
SHOW_STARTS_AT = datetime(2026, 6, 12, 20, 0, tzinfo=UTC)


def eur(amount_minor: int) -> Money:
    return Money(amount_minor, "EUR")


def make_coin_type(
    organization: Organization,
    code: str = "BRIT-1OZ",
    price_minor: int = 250_00,
    buyback_price_minor: int = 230_00,
    check_digit: str = serials.LUHN,
) -> ItemType:
    return ItemType.objects.create(
        organization=organization,
        code=code,
        name=f"Coin {code}",
        serial_pattern=r"[A-Z]{2}-[0-9]{4,12}",
        check_digit=check_digit,
        price_minor=price_minor,
        buyback_price_minor=buyback_price_minor,
    )


def coin_serial(number: int, check_digit: str = serials.LUHN) -> str:
    """A valid serial such as "BR-00000427" (the last digit(s) checking it)."""
    payload = f"BR-{number:07d}" if check_digit == serials.LUHN else f"BR-{number:06d}"
    return serials.with_check_digit(payload, check_digit)


def stock_coins(item_type: ItemType, count: int, first: int = 1) -> list[Item]:
    return [
        stock_item(STAFF, item_type, coin_serial(number, item_type.check_digit))
        for number in range(first, first + count)
    ]


def fund(customer: Customer, amount_minor: int, reference: str = "VIR-1") -> None:
    top_up(STAFF, customer, eur(amount_minor), reference)


def books() -> dict:
    """Everything a money action could change, to assert a refusal changed nothing."""
    return {
        "holders": dict(Holding.objects.values_list("item_id", "customer_id")),
        "balances": dict(LedgerAccount.objects.values_list("pk", "balance_minor")),
        "reservations": list(Reservation.objects.values_list("pk", "status")),
        "active_lines": ReservationLine.objects.filter(is_active=True).count(),
        "orders": list(Order.objects.values_list("pk", "status")),
        "payments": list(Payment.objects.values_list("pk", "status")),
        "moves": HoldingMove.objects.count(),
        "entries": JournalEntry.objects.count(),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def make_contingent(
    organization: Organization, capacity: int, price_minor: int = 4500
) -> Contingent:
    """A session of an event with one category and one contingent."""
    event = Event.objects.create(organization=organization, name="Carmen")
    session = Session.objects.create(
        event=event, starts_at=SHOW_STARTS_AT, capacity=capacity
    )
    category = SeatCategory.objects.create(
        event=event, name="Orchestre", price_minor=price_minor
    )
    return Contingent.objects.create(
        session=session, category=category, name="Public", capacity=capacity
    )
