"""Sell-back and replacement: items leave or join a portfolio with their money."""

import pytest

from recours.commerce.actions import (
    PaymentPart,
    buy,
    replace_item,
    reserve,
    sell_back,
)
from recours.commerce.models import Holding, HoldingMove
from recours.core.errors import Conflict
from recours.ledger.actions import customer_account
from recours.ledger.models import AccountKind
from recours.testing.commerce import STAFF, books, eur, fund

pytestmark = pytest.mark.django_db
PRICE, BUYBACK = 250_00, 230_00


@pytest.fixture
def owned(customer_a, coins):
    fund(customer_a, PRICE)
    buy(STAFF, customer_a, coins[:1], [PaymentPart("wallet", eur(PRICE))])
    return coins[0]


def wallet(customer) -> int:
    return customer_account(customer, AccountKind.WALLET, "EUR").balance_minor


def test_a_sell_back_moves_the_item_and_the_money_together(customer_a, owned):
    # when
    move = sell_back(STAFF, customer_a, owned)

    # then
    assert Holding.objects.get(item=owned).customer is None
    assert (move.reason, move.from_customer) == ("sell_back", customer_a)
    assert wallet(customer_a) == BUYBACK
    assert sorted(move.entry.postings.values_list("amount_minor", flat=True)) == [
        -BUYBACK,
        BUYBACK,
    ]


def test_only_the_holder_can_sell_back(customer_b, owned):
    before = books()
    with pytest.raises(Conflict) as raised:
        sell_back(STAFF, customer_b, owned)
    assert raised.value.code == "not_held"
    assert books() == before


def test_a_replacement_swaps_for_an_identical_item(customer_a, owned, coins):
    # when
    replacement = replace_item(STAFF, customer_a, owned, "Scratched on delivery")

    # then
    assert replacement.item_type == owned.item_type
    assert replacement != owned
    assert Holding.objects.get(item=replacement).customer == customer_a
    assert Holding.objects.get(item=owned).customer is None
    assert HoldingMove.objects.filter(reason="replacement").count() == 2
    assert wallet(customer_a) == 0  # no money moves


def test_a_replacement_skips_items_in_baskets(customer_a, customer_b, owned, coins):
    # given
    reserve(STAFF, customer_b, coins[1:2])

    # when
    replacement = replace_item(STAFF, customer_a, owned, "lost")

    # then
    assert replacement == coins[2]


def test_a_replacement_needs_stock_and_a_past_holder(customer_a, customer_b, owned):
    # given
    before = books()

    # when / then
    with pytest.raises(Conflict) as raised:
        replace_item(STAFF, customer_b, owned, "never had it")
    assert raised.value.code == "not_held"
    replace_item(STAFF, customer_a, owned, "one")
    Holding.objects.filter(customer__isnull=True).update(customer=customer_b)
    with pytest.raises(Conflict) as raised:
        replace_item(STAFF, customer_a, owned, "two")
    assert raised.value.code == "out_of_stock"
    assert before["entries"] == books()["entries"]
