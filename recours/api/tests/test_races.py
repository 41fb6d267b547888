"""Races through the HTTP API, on PostgreSQL: the same coin gives one sale
and moves no one else's money; many purchases from one wallet leave it
exactly right."""

import json
import threading

import pytest
from django.db import connection
from django.urls import reverse

from recours.accounts.models import Customer
from recours.commerce.models import Holding, HoldingMove, Payment
from recours.ledger.actions import account_for, customer_account
from recours.ledger.models import AccountKind, JournalEntry
from recours.testing import client_with
from recours.testing.commerce import fund, make_coin_type, stock_coins

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrency needs PostgreSQL"
)
BUYERS = 12
PRICE = 250_00
TIMEOUT_SECONDS = 60


def body(coin, n: int) -> str:
    """Half the buyers pay by card, half from their wallet."""
    if n % 2:
        part = {"method": "card", "provider_payment_id": f"pi_{n}"}
    else:
        part = {"method": "wallet"}
    return json.dumps({
        "items": [{"item_type": coin.item_type.code, "serial": coin.serial}],
        "payments": [{**part, "amount_minor": PRICE, "currency": "EUR"}],
    })  # fmt: skip


def purchase_url(customer: Customer) -> str:
    return reverse("api:purchase_create", args=[customer.customer_number])


def race(secret: str, coin, customers: list[Customer]) -> list:
    """Every buyer posts at once for the same coin."""
    return post_at_once(
        secret, [(purchase_url(c), body(coin, n)) for n, c in enumerate(customers)]
    )


def post_at_once(secret: str, requests: list[tuple[str, str]]) -> list:
    """POST every (url, body) at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def post(n: int) -> None:
        client = client_with(secret)
        url, data = requests[n]
        try:
            barrier.wait(TIMEOUT_SECONDS)
            responses[n] = client.post(url, data, "application/json")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads)
    return responses


def test_of_buyers_racing_for_one_coin_through_the_api_one_pays(
    transactional_db, settings, merchant_a, secret_a
):
    # given
    settings.API_RATE_LIMIT = "100000/m"
    (coin,) = stock_coins(make_coin_type(merchant_a), 1)
    customers = [
        Customer.objects.create(organization=merchant_a, customer_number=f"R-{n}")
        for n in range(BUYERS)
    ]
    for customer in customers:
        fund(customer, PRICE)

    # when
    responses = race(secret_a, coin, customers)

    # then: one 201, and a problem+json 409 for every other buyer
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (BUYERS - 1)
    losers = [response for response in responses if response.status_code == 409]
    assert {r.json()["code"] for r in losers} <= {"already_sold", "already_reserved"}
    assert all(r["Content-Type"] == "application/problem+json" for r in losers)
    (won,) = [n for n, r in enumerate(responses) if r.status_code == 201]
    winner = customers[won]
    assert Holding.objects.get(item=coin).customer == winner
    assert HoldingMove.objects.filter(item=coin, reason="purchase").count() == 1
    assert JournalEntry.objects.filter(kind="checkout").count() == 1
    assert Payment.objects.filter(status="captured").count() == 1
    for n, customer in enumerate(customers):
        spent = PRICE if n == won and n % 2 == 0 else 0
        wallet = customer_account(customer, AccountKind.WALLET, "EUR")
        assert wallet.balance_minor == PRICE - spent
    payable = account_for(merchant_a, AccountKind.MERCHANT_PAYABLE, "EUR")
    assert payable.balance_minor == PRICE


def test_fifty_purchases_from_one_wallet_through_the_api_leave_it_exact(
    transactional_db, settings, merchant_a, secret_a, customer_a
):
    # given: 50 different coins, a wallet that pays for 40 of them
    settings.API_RATE_LIMIT = "100000/m"
    coins = stock_coins(make_coin_type(merchant_a), 50)
    fund(customer_a, 40 * PRICE)
    requests = [(purchase_url(customer_a), body(coin, 0)) for coin in coins]

    # when
    responses = post_at_once(secret_a, requests)

    # then: 40 sales, 10 refusals for lack of money, and not a cent astray
    codes = sorted(
        "paid" if r.status_code == 201 else r.json()["code"] for r in responses
    )
    assert codes == ["insufficient_balance"] * 10 + ["paid"] * 40
    wallet = customer_account(customer_a, AccountKind.WALLET, "EUR")
    assert wallet.balance_minor == 0
    assert Holding.objects.filter(customer=customer_a).count() == 40
    payable = account_for(merchant_a, AccountKind.MERCHANT_PAYABLE, "EUR")
    assert payable.balance_minor == 40 * PRICE
