"""The demo's money: coins with serial numbers, wallets with history, an event
with sessions and contingents, and a few planted inconsistencies.

History goes through the real actions (stock_item, top_up, buy, sell_back,
reserve, checkout), each run at its simulated past moment with clock.at().
The planted faults imitate past bugs: they write the rows a bug would have
written (a holding sent back to stock, a cached balance moved without a
posting), never rewriting an append-only row. The detectors then find them.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q

from recours.accounts.models import (
    Customer,
    Membership,
    Organization,
    VerificationCode,
)
from recours.cases.access import staff_actor
from recours.commerce import actions as commerce
from recours.commerce import serials
from recours.commerce.actions import PaymentPart, Seats
from recours.commerce.models import (
    Contingent,
    Event,
    Holding,
    HoldingMove,
    Item,
    ItemType,
    OrderLine,
    Reservation,
    SeatCategory,
    Session,
)
from recours.core import append_only, clock
from recours.core.audit import Actor
from recours.core.errors import DomainError
from recours.core.money import Money
from recours.integrity import reconcile
from recours.integrity.models import Anomaly, Correction, CorrectionApproval
from recours.ledger.models import AccountKind, JournalEntry, LedgerAccount, Posting

CUSTOMER = Actor(label="customer")
STOCKED_DAYS_AGO = 100
WALLET_CUSTOMERS = 24
TICKET_BUYERS = 12
# Planted faults, named for the command's output.
VANISHED = "vanished coin"
DRIFT = "cached balance drift"
STALE = "expired reservation still active"
UNPAID = "sell-back with no proceeds"
DRIFT_MINOR = 50_00


@dataclass(frozen=True)
class CoinSpec:
    code: str
    name: str
    prefix: str
    digits: int
    check_digit: str
    pattern: str
    price_minor: int
    buyback_price_minor: int
    stock: int


COINS = (
    CoinSpec("BRIT-1OZ-OR", "Britannia 1 oz or", "BR-", 6, "luhn",
             r"BR-[0-9]{7}", 2_450_00, 2_330_00, 24),
    CoinSpec("NAP-20F", "Napoléon 20 francs or", "NAP-", 5, "mod97",
             r"NAP-[0-9]{7}", 455_00, 430_00, 40),
    CoinSpec("MAPLE-1OZ-AG", "Maple Leaf 1 oz argent", "ML-", 6, "none",
             r"ML-[0-9]{6}", 38_00, 33_00, 60),
)  # fmt: skip
EVENT_NAME = "Festival Jazz en Loire"
SEAT_CATEGORIES = (("Carré or", 65_00), ("Catégorie 1", 42_00))
SESSION_DAYS_AHEAD = (18, 19)
SESSION_CAPACITY = 600
CONTINGENTS = (("Grand public", 450), ("Comités d'entreprise", 150))


def moment(rng: random.Random, now: datetime, days: tuple[float, float]) -> datetime:
    """A moment between days[0] and days[1] days ago."""
    return now - timedelta(days=rng.uniform(*days))


def run_at(when: datetime, action: Callable[[], object]) -> object:
    with clock.at(when):
        return action()


class MoneyBuilder:
    """Writes the demo's money history for a DemoBuilder's organizations."""

    def __init__(self, builder, finance: Membership) -> None:  # type: ignore[no-untyped-def]
        self.builder = builder
        self.now: datetime = builder.now
        self.rng = random.Random(f"{builder.seed}:money")
        self.finance = staff_actor(finance)
        self.dealer = builder.organizations["coins"]
        self.items: dict[str, list[Item]] = {}

    # -- coins in stock

    def create_coins(self) -> list[Item]:
        stocked_at = self.now - timedelta(days=STOCKED_DAYS_AGO)
        for spec in COINS:
            item_type = self.item_type(spec)
            with clock.at(stocked_at):
                self.items[spec.code] = [
                    commerce.stock_item(self.finance, item_type, serial)
                    for serial in self.serials(spec)
                ]
        return [item for items in self.items.values() for item in items]

    def item_type(self, spec: CoinSpec) -> ItemType:
        return ItemType.objects.create(
            organization=self.dealer, code=spec.code, name=spec.name,
            serial_pattern=spec.pattern, check_digit=spec.check_digit,
            price_minor=spec.price_minor,
            buyback_price_minor=spec.buyback_price_minor,
        )  # fmt: skip

    def serials(self, spec: CoinSpec) -> list[str]:
        numbers = self.rng.sample(range(10 ** (spec.digits - 1), 10**spec.digits),
                                  spec.stock)  # fmt: skip
        return [
            serials.with_check_digit(f"{spec.prefix}{number}", spec.check_digit)
            for number in sorted(numbers)
        ]

    # -- wallets: top-ups, purchases, sell-backs

    def create_wallets(self) -> list[Customer]:
        customers = self.builder.customers_of("coins")[:WALLET_CUSTOMERS]
        for number, customer in enumerate(customers):
            self.wallet_history(customer, number)
        return customers

    def wallet_history(self, customer: Customer, number: int) -> None:
        rng = self.rng
        start = moment(rng, self.now, (60, 90))
        amount = Money(rng.randrange(500_00, 6_000_00, 50_00), "EUR")
        run_at(start, lambda: commerce.top_up(
            self.finance, customer, amount, f"VIR-DEMO-{number:04d}"))  # fmt: skip
        when = start
        for _purchase in range(rng.randint(1, 3)):
            when += timedelta(days=rng.uniform(1, 12), hours=rng.uniform(0, 8))
            self.purchase(customer, when)
        if rng.random() < 0.4:
            self.sell_back(customer, when + timedelta(days=rng.uniform(2, 20)))

    def take_coin(self, affordable: int | None = None) -> Item | None:
        """A coin still in stock, the cheapest types when money is short."""
        for spec in sorted(COINS, key=lambda s: -s.price_minor):
            if affordable is not None and spec.price_minor > affordable:
                continue
            in_stock = Holding.objects.filter(
                item__in=self.items[spec.code], customer__isnull=True
            ).values_list("item_id", flat=True)
            free = [item for item in self.items[spec.code] if item.pk in set(in_stock)]
            if free:
                return self.rng.choice(free)
        return None

    def purchase(self, customer: Customer, when: datetime) -> None:
        wallet = self.wallet_balance(customer)
        pays_by_wallet = self.rng.random() < 0.6
        coin = self.take_coin(wallet if pays_by_wallet else None)
        if coin is None:
            return
        price = Money(coin.item_type.price_minor, "EUR")
        part = (
            PaymentPart("wallet", price)
            if pays_by_wallet
            else PaymentPart("card", price, f"pi_demo_{coin.pk:06d}")
        )
        run_at(when, lambda: safely(
            lambda: commerce.buy(CUSTOMER, customer, [coin], [part])))  # fmt: skip

    def wallet_balance(self, customer: Customer) -> int:
        account = LedgerAccount.objects.filter(
            customer=customer, kind=AccountKind.WALLET, currency="EUR"
        ).first()
        return account.balance_minor if account else 0

    def sell_back(self, customer: Customer, when: datetime) -> None:
        holding = customer.holdings.select_related("item__item_type").order_by("pk")
        first = holding.first()
        if first is not None and when < self.now:
            run_at(when, lambda: safely(
                lambda: commerce.sell_back(CUSTOMER, customer, first.item)))  # fmt: skip

    # -- an event with sessions and contingents

    def create_event(self) -> Event:
        organization = self.builder.organizations["tickets"]
        event = Event.objects.create(
            organization=organization, name=EVENT_NAME, venue="Parc de la Gloriette"
        )
        categories = [
            SeatCategory.objects.create(event=event, name=name, price_minor=price)
            for name, price in SEAT_CATEGORIES
        ]
        for days in SESSION_DAYS_AHEAD:
            session = Session.objects.create(
                event=event, starts_at=self.now + timedelta(days=days),
                capacity=SESSION_CAPACITY,
            )  # fmt: skip
            self.create_contingents(session, categories)
        self.sell_tickets(organization)
        return event

    def create_contingents(
        self, session: Session, categories: list[SeatCategory]
    ) -> None:
        for name, capacity in CONTINGENTS:
            for category in categories:
                Contingent.objects.create(
                    session=session, category=category, name=name,
                    capacity=capacity // len(categories),
                )  # fmt: skip

    def sell_tickets(self, organization: Organization) -> None:
        buyers = [
            c for c in self.builder.customers if c.organization_id == organization.pk
        ][:TICKET_BUYERS]
        contingents = list(
            Contingent.objects.filter(session__event__organization=organization)
            .select_related("category")
            .order_by("pk")
        )
        for number, buyer in enumerate(buyers):
            contingent = self.rng.choice(contingents)
            quantity = self.rng.randint(1, 4)
            with clock.at(moment(self.rng, self.now, (1, 25))):
                safely(partial(self.buy_seats, buyer, contingent, quantity, number))

    def buy_seats(
        self, buyer: Customer, contingent: Contingent, quantity: int, number: int
    ) -> None:
        with transaction.atomic():
            reservation = commerce.reserve(
                CUSTOMER, buyer, seats=[Seats(contingent, quantity)]
            )
            price = Money(contingent.category.price_minor * quantity, "EUR")
            part = PaymentPart("card", price, f"pi_demo_seats_{number:04d}")
            commerce.checkout(CUSTOMER, reservation, [part])

    # -- planted faults, then the detectors

    def plant_faults(self) -> dict[str, str]:
        """Each past bug, on its own customer; returns what was planted where."""
        holders = list(
            Customer.objects.filter(holdings__isnull=False, organization=self.dealer)
            .distinct()
            .order_by("pk")
        )
        # The hold first, so that it cannot take the coin that vanishes.
        return {
            STALE: self.stale_reservation(holders[3]),
            VANISHED: self.vanish(holders[0]),
            UNPAID: self.unpaid_sell_back(holders[1]),
            DRIFT: self.drift(holders[2]),
        }

    def vanish(self, customer: Customer) -> str:
        """A coin went back to stock with no move and no money."""
        holding = customer.holdings.select_related("item").order_by("pk").first()
        assert holding is not None
        Holding.objects.filter(pk=holding.pk).update(customer=None)
        return f"{holding.item.serial} of {customer.customer_number}"

    def unpaid_sell_back(self, customer: Customer) -> str:
        """A sell-back that moved the coin and forgot the proceeds."""
        holding = customer.holdings.select_related("item").order_by("pk").first()
        assert holding is not None
        when = self.now - timedelta(days=3)
        with clock.at(when), transaction.atomic():
            commerce.move_item(CUSTOMER, holding.item, None,
                               HoldingMove.Reason.SELL_BACK)  # fmt: skip
        return f"{holding.item.serial} of {customer.customer_number}"

    def drift(self, customer: Customer) -> str:
        """A cached wallet balance moved with no posting behind it."""
        LedgerAccount.objects.filter(customer=customer, kind=AccountKind.WALLET).update(
            balance_minor=F("balance_minor") + DRIFT_MINOR
        )
        return f"wallet of {customer.customer_number}"

    def stale_reservation(self, customer: Customer) -> str:
        """A hold made hours ago that the purge never reached."""
        coin = self.take_coin()
        assert coin is not None
        when = self.now - timedelta(hours=3)
        run_at(when, lambda: commerce.reserve(CUSTOMER, customer, [coin]))
        return f"{coin.serial} held for {customer.customer_number}"

    def run_detectors(self) -> dict[str, int]:
        counts = reconcile.run()
        return {kind: count.found for kind, count in counts.items() if count.found}


def safely(action: Callable[[], object]) -> bool:
    """Run a demo step that may be refused (out of stock, short of money)."""
    try:
        action()
    except DomainError:
        return False
    return True


def delete_money_data(organization_ids: list[int]) -> None:
    """Every row of the money demo, children first (most keys PROTECT).

    Append-only rows (moves, entries, postings) are erased with
    append_only.erase, the one sanctioned way."""
    in_organizations = Q(organization_id__in=organization_ids)
    anomalies = Anomaly.objects.filter(in_organizations)
    CorrectionApproval.objects.filter(correction__anomaly__in=anomalies).delete()
    Correction.objects.filter(anomaly__in=anomalies).delete()
    anomalies.delete()
    Reservation.objects.filter(in_organizations).delete()
    item_types = ItemType.objects.filter(in_organizations)
    append_only.erase(HoldingMove.objects.filter(item__item_type__in=item_types))
    Holding.objects.filter(in_organizations).delete()
    OrderLine.objects.filter(order__organization_id__in=organization_ids).delete()
    Item.objects.filter(item_type__in=item_types).delete()
    item_types.delete()
    delete_books(organization_ids)
    delete_catalogue(organization_ids)
    customers = Customer.objects.filter(in_organizations).values_list("pk", flat=True)
    VerificationCode.objects.filter(
        subject__in=[f"portfolio:{pk}" for pk in customers]
    ).delete()


def delete_books(organization_ids: list[int]) -> None:
    entries = JournalEntry.objects.filter(organization_id__in=organization_ids)
    append_only.erase(Posting.objects.filter(entry__in=entries))
    # Corrections first: an entry cannot go while one that corrects it stays.
    append_only.erase(entries.filter(corrects__isnull=False))
    append_only.erase(entries)
    LedgerAccount.objects.filter(organization_id__in=organization_ids).delete()


def delete_catalogue(organization_ids: list[int]) -> None:
    events = Event.objects.filter(organization_id__in=organization_ids)
    Contingent.objects.filter(session__event__in=events).delete()
    SeatCategory.objects.filter(event__in=events).delete()
    Session.objects.filter(event__in=events).delete()
    events.delete()
