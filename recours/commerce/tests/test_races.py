"""Concurrent checkouts on PostgreSQL: one sale per item, exact balances."""

import pytest
from django.db import connection

from recours.accounts.models import Customer
from recours.commerce.actions import PaymentPart, buy
from recours.commerce.models import Holding, HoldingMove, Order, Payment
from recours.core.errors import Conflict
from recours.ledger.actions import InsufficientBalance, account_for, customer_account
from recours.ledger.models import AccountKind, JournalEntry
from recours.testing.commerce import STAFF, eur, fund, stock_coins

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency needs PostgreSQL"
)
PRICE = 250_00


def buyers(organization, count: int) -> list[Customer]:
    return [
        Customer.objects.create(organization=organization, customer_number=f"R-{n}")
        for n in range(count)
    ]


def test_of_twenty_buyers_of_one_coin_exactly_one_pays(
    transactional_db, merchant_a, coin_type
):
    from recours.testing.race import concurrently

    # given: twenty funded customers, ten of them paying by card
    (coin,) = stock_coins(coin_type, 1)
    customers = buyers(merchant_a, 20)
    for customer in customers:
        fund(customer, PRICE)

    def buyer(n: int):
        customer = customers[n]
        if n % 2:
            parts = [PaymentPart("card", eur(PRICE), f"pi_{n}")]
        else:
            parts = [PaymentPart("wallet", eur(PRICE))]
        return lambda: buy(STAFF, customer, [coin], parts)

    # when
    outcomes = concurrently([buyer(n) for n in range(20)])

    # then
    orders = [o for o in outcomes if isinstance(o, Order)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(orders) == 1 and len(errors) == 19
    assert {e.code for e in errors if isinstance(e, Conflict)} <= {
        "already_sold",
        "already_reserved",
    }
    assert all(isinstance(e, Conflict) for e in errors)
    winner = orders[0].customer
    assert Holding.objects.get(item=coin).customer == winner
    assert HoldingMove.objects.filter(item=coin, reason="purchase").count() == 1
    assert JournalEntry.objects.filter(kind="checkout").count() == 1
    for customer in customers:
        wallet = customer_account(customer, AccountKind.WALLET, "EUR")
        spent = (
            PRICE
            if customer == winner
            and orders[0].payments.filter(method="wallet").exists()
            else 0
        )
        assert wallet.balance_minor == PRICE - spent
    payable = account_for(merchant_a, AccountKind.MERCHANT_PAYABLE, "EUR")
    assert payable.balance_minor == PRICE
    assert Payment.objects.filter(status="captured").count() == 1


def test_fifty_purchases_from_one_wallet_leave_the_exact_balance(
    transactional_db, merchant_a, customer_a, coin_type
):
    from recours.testing.race import concurrently

    # given: money for 40 of 50 coins
    coins = stock_coins(coin_type, 50)
    fund(customer_a, 40 * PRICE)

    def purchase(coin):
        return lambda: buy(
            STAFF, customer_a, [coin], [PaymentPart("wallet", eur(PRICE))]
        )

    # when
    outcomes = concurrently([purchase(coin) for coin in coins])

    # then
    paid = [o for o in outcomes if isinstance(o, Order)]
    short = [o for o in outcomes if isinstance(o, InsufficientBalance)]
    assert (len(paid), len(short)) == (40, 10)
    wallet = customer_account(customer_a, AccountKind.WALLET, "EUR")
    assert wallet.balance_minor == 0
    assert Holding.objects.filter(customer=customer_a).count() == 40
    payable = account_for(merchant_a, AccountKind.MERCHANT_PAYABLE, "EUR")
    assert payable.balance_minor == 40 * PRICE
