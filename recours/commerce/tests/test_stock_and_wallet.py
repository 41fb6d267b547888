"""Stock, moves between holders, credits, top-ups and withdrawals."""

import pytest
from django.db import transaction

from recours.commerce.actions import (
    credit_customer,
    move_item,
    stock_item,
    top_up,
    withdraw,
)
from recours.commerce.models import Holding, HoldingMove
from recours.core.errors import Conflict, InvalidInput
from recours.core.models import AuditEvent
from recours.ledger.actions import InsufficientBalance, customer_account
from recours.ledger.models import AccountKind
from recours.ledger.queries import balance_from_postings
from recours.testing.commerce import STAFF, books, coin_serial, eur, fund

pytestmark = pytest.mark.django_db


def wallet_of(customer):
    return customer_account(customer, AccountKind.WALLET, "EUR")


def test_it_stocks_an_item_with_one_holding_and_its_first_move(coin_type):
    # when
    item = stock_item(STAFF, coin_type, coin_serial(7).lower())

    # then
    assert item.serial == coin_serial(7)
    assert item.holding.customer is None
    move = HoldingMove.objects.get(item=item)
    assert (move.reason, move.from_customer, move.to_customer) == (
        "stocked",
        None,
        None,
    )
    assert AuditEvent.objects.filter(action="commerce.item_stocked").count() == 1


@pytest.mark.parametrize("serial", ["BR-00000071", "XX", "BR-0000007"])
def test_it_refuses_a_serial_that_fails_its_type_and_writes_nothing(coin_type, serial):
    # given
    before = books()

    # when / then
    with pytest.raises(InvalidInput):
        stock_item(STAFF, coin_type, serial)
    assert books() == before


def test_it_refuses_a_serial_twice(coin_type):
    # given
    stock_item(STAFF, coin_type, coin_serial(7))
    before = books()

    # when / then
    with pytest.raises(Conflict, match="already in stock") as raised:
        stock_item(STAFF, coin_type, coin_serial(7))
    assert raised.value.code == "serial_taken"
    assert books() == before


def test_it_moves_an_item_and_keeps_one_holder(coins, customer_a, customer_b):
    # when
    with transaction.atomic():
        move_item(STAFF, coins[0], customer_a, HoldingMove.Reason.CORRECTION)
        move = move_item(STAFF, coins[0], customer_b, HoldingMove.Reason.CORRECTION)

    # then
    assert (move.from_customer, move.to_customer) == (customer_a, customer_b)
    assert Holding.objects.get(item=coins[0]).customer == customer_b
    assert Holding.objects.filter(item=coins[0]).count() == 1


def test_it_refuses_to_move_an_item_where_it_already_is(coins, customer_a):
    with pytest.raises(Conflict) as raised, transaction.atomic():
        move_item(STAFF, coins[0], None, HoldingMove.Reason.CORRECTION)
    assert raised.value.code == "already_held"


def test_it_refuses_a_customer_of_another_organization(coins, merchant_b):
    # given
    from recours.accounts.models import Customer

    stranger = Customer.objects.create(organization=merchant_b, customer_number="X")

    # when / then
    with pytest.raises(InvalidInput), transaction.atomic():
        move_item(STAFF, coins[0], stranger, HoldingMove.Reason.CORRECTION)


@pytest.mark.parametrize("kind", [AccountKind.WALLET, AccountKind.STORE_CREDIT])
def test_it_credits_a_customer_from_the_merchant_payable(customer_a, kind):
    # when
    entry = credit_customer(STAFF, customer_a, kind, eur(1500), "Coin lost in transit")

    # then
    account = customer_account(customer_a, kind, "EUR")
    assert account.balance_minor == balance_from_postings(account) == 1500
    amounts = sorted(entry.postings.values_list("account__kind", "amount_minor"))
    assert amounts == sorted([(kind.value, 1500), ("merchant_payable", -1500)])


@pytest.mark.parametrize("amount", [0, -100])
def test_it_refuses_a_credit_that_is_not_above_zero(customer_a, amount):
    with pytest.raises(InvalidInput):
        credit_customer(STAFF, customer_a, AccountKind.WALLET, eur(amount), "x")


def test_it_tops_up_a_wallet_once_per_transfer(customer_a):
    # given
    fund(customer_a, 10_000, reference="VIR-2026-001")
    before = books()

    # when / then
    with pytest.raises(Conflict) as raised:
        fund(customer_a, 10_000, reference="VIR-2026-001")
    assert raised.value.code == "duplicate_top_up"
    assert books() == before
    assert wallet_of(customer_a).balance_minor == 10_000


def test_it_withdraws_no_more_than_the_wallet_holds(customer_a):
    # given
    fund(customer_a, 10_000)

    # when
    withdraw(STAFF, customer_a, eur(4000), "IBAN FR76…")
    before = books()
    with pytest.raises(InsufficientBalance):
        withdraw(STAFF, customer_a, eur(6001), "IBAN FR76…")

    # then
    assert books() == before
    assert wallet_of(customer_a).balance_minor == 6000


def test_a_top_up_needs_a_reference(customer_a):
    with pytest.raises(InvalidInput):
        top_up(STAFF, customer_a, eur(100), "  ")
