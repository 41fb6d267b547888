"""Customers with coins, a wallet and history, for the portfolio pages' tests.

Rows are written as the commerce actions would leave them (a holding and its
move, balanced ledger entries through ledger.actions.post), without waiting
on the checkout code: these tests are about what the pages show.
"""

from recours.accounts.models import Customer, Organization
from recours.commerce.models import Holding, HoldingMove, Item, ItemType
from recours.core import clock
from recours.core.audit import Actor
from recours.core.money import Money
from recours.ledger.actions import Line, account_for, customer_account, post
from recours.ledger.models import AccountKind, JournalEntry

TEST_ACTOR = Actor.system("test")


def coin_type(organization: Organization, code: str = "BRIT-1OZ") -> ItemType:
    found, _created = ItemType.objects.get_or_create(
        organization=organization,
        code=code,
        defaults={
            "name": "Britannia 1 oz",
            "price_minor": 250_000,
            "buyback_price_minor": 240_000,
        },
    )
    return found


def give_coin(customer: Customer, serial: str) -> Item:
    """A coin of the customer's organization, held by the customer."""
    item_type = coin_type(customer.organization)
    item = Item.objects.create(
        item_type=item_type, serial=serial, created_at=clock.now()
    )
    Holding.objects.create(
        item=item,
        organization=customer.organization,
        customer=customer,
        since=clock.now(),
    )
    HoldingMove.objects.create(
        item=item,
        to_customer=customer,
        reason=HoldingMove.Reason.PURCHASE,
        actor_label="test",
        created_at=clock.now(),
    )
    return item


def top_up(customer: Customer, amount_minor: int, memo: str = "") -> JournalEntry:
    """Money into the customer's wallet from the provider's clearing account."""
    amount = Money(amount_minor, "EUR")
    wallet = customer_account(customer, AccountKind.WALLET, "EUR")
    clearing = account_for(customer.organization, AccountKind.PROVIDER_CLEARING, "EUR")
    return post(
        TEST_ACTOR,
        customer.organization,
        "top_up",
        [Line(wallet, amount), Line(clearing, -amount)],
        memo=memo or "Bank transfer",
    )


def vanish(item: Item) -> None:
    """The past bug: the coin went back to stock with no move and no money
    (an UPDATE of the holding only; the append-only moves are left alone)."""
    Holding.objects.filter(item=item).update(customer=None)
