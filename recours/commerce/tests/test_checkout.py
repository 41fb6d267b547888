"""Checkout: one transaction, every way to pay, and nothing on refusal."""

from datetime import timedelta

import pytest

from recours.commerce.actions import (
    PaymentPart,
    buy,
    checkout,
    confirm_transfer,
    credit_customer,
    lapse_deferred_payments,
    reserve,
)
from recours.commerce.models import Holding, HoldingMove, Order, Payment
from recours.core import worker
from recours.core.errors import Conflict, InvalidInput
from recours.ledger.actions import InsufficientBalance, account_for, customer_account
from recours.ledger.models import AccountKind
from recours.testing import NOW
from recours.testing.commerce import STAFF, books, eur, fund

pytestmark = pytest.mark.django_db
PRICE = 250_00


def balance(customer, kind=AccountKind.WALLET) -> int:
    return customer_account(customer, kind, "EUR").balance_minor


def payable(organization) -> int:
    return account_for(organization, AccountKind.MERCHANT_PAYABLE, "EUR").balance_minor


def test_a_wallet_checkout_pays_and_delivers_in_one_go(customer_a, merchant_a, coins):
    # given
    fund(customer_a, 600_00)
    reservation = reserve(STAFF, customer_a, coins[:2])

    # when
    order = checkout(STAFF, reservation, [PaymentPart("wallet", eur(2 * PRICE))])

    # then
    assert (order.status, order.total_minor) == ("paid", 500_00)
    assert order.lines.count() == 2
    assert balance(customer_a) == 100_00
    assert payable(merchant_a) == 500_00
    for coin in coins[:2]:
        assert Holding.objects.get(item=coin).customer == customer_a
        move = HoldingMove.objects.get(item=coin, reason="purchase")
        assert (move.order, move.entry.about) == (order, f"commerce.order:{order.pk}")
    reservation.refresh_from_db()
    assert (reservation.status, reservation.order) == ("checked_out", order)
    assert not reservation.lines.filter(is_active=True).exists()


def test_a_mix_of_card_wallet_and_store_credit_adds_up(customer_a, merchant_a, coins):
    # given
    fund(customer_a, 100_00)
    credit_customer(STAFF, customer_a, AccountKind.STORE_CREDIT, eur(50_00), "avoir")
    reservation = reserve(STAFF, customer_a, coins[:1])
    parts = [
        PaymentPart("card", eur(100_00), provider_payment_id="pi_3Nx"),
        PaymentPart("wallet", eur(100_00)),
        PaymentPart("store_credit", eur(50_00)),
    ]

    # when
    order = checkout(STAFF, reservation, parts)

    # then
    assert sorted(order.payments.values_list("method", "status", "captured_minor")) == [
        ("card", "captured", 100_00),
        ("store_credit", "captured", 50_00),
        ("wallet", "captured", 100_00),
    ]
    assert balance(customer_a) == balance(customer_a, AccountKind.STORE_CREDIT) == 0
    assert payable(merchant_a) == PRICE - 50_00  # the avoir came from the payable
    clearing = account_for(merchant_a, AccountKind.PROVIDER_CLEARING, "EUR")
    assert clearing.balance_minor == -100_00 - 100_00  # card and the top-up


@pytest.mark.parametrize(
    "parts,error",
    [
        ([PaymentPart("wallet", eur(PRICE - 1))], InvalidInput),
        ([PaymentPart("wallet", eur(PRICE))], InsufficientBalance),
        ([PaymentPart("card", eur(PRICE))], InvalidInput),
        ([PaymentPart("card", eur(PRICE), "4970 1012 3456 7890")], InvalidInput),
        ([PaymentPart("cash", eur(PRICE))], InvalidInput),
        (
            [
                PaymentPart("bank_transfer", eur(1)),
                PaymentPart("wallet", eur(PRICE - 1)),
            ],
            InvalidInput,
        ),
        ([], InvalidInput),
    ],
)
def test_a_refused_checkout_writes_nothing(customer_a, coins, parts, error):
    # given
    fund(customer_a, PRICE - 1)
    reservation = reserve(STAFF, customer_a, coins[:1])
    before = books()

    # when / then
    with pytest.raises(error):
        checkout(STAFF, reservation, parts)
    assert books() == before


def test_an_expired_basket_cannot_be_paid(frozen, customer_a, coins):
    # given
    fund(customer_a, PRICE)
    reservation = reserve(STAFF, customer_a, coins[:1])
    frozen.shift(timedelta(minutes=15))
    before = books()

    # when / then
    with pytest.raises(Conflict, match="expired") as raised:
        checkout(STAFF, reservation, [PaymentPart("wallet", eur(PRICE))])
    assert raised.value.code == "reservation_expired"
    assert books() == before


def test_a_basket_is_paid_once(customer_a, coins):
    # given
    fund(customer_a, 2 * PRICE)
    reservation = reserve(STAFF, customer_a, coins[:1])
    checkout(STAFF, reservation, [PaymentPart("wallet", eur(PRICE))])
    before = books()

    # when / then
    with pytest.raises(Conflict) as raised:
        checkout(STAFF, reservation, [PaymentPart("wallet", eur(PRICE))])
    assert raised.value.code == "already_checked_out"
    assert books() == before


def test_a_late_buyer_is_told_already_sold_and_its_card_is_voided(
    customer_a, customer_b, merchant_a, coins
):
    # given
    fund(customer_a, PRICE)
    buy(STAFF, customer_a, coins[:1], [PaymentPart("wallet", eur(PRICE))])
    money = books()["balances"]

    # when / then
    with pytest.raises(Conflict, match="already sold") as raised:
        buy(STAFF, customer_b, coins[:1], [PaymentPart("card", eur(PRICE), "pi_9")])
    assert raised.value.code == "already_sold"
    voided = Payment.objects.get(provider_payment_id="pi_9")
    assert (voided.status, voided.captured_minor) == ("voided", 0)
    assert voided.order.status == "cancelled"
    assert books()["balances"] == money
    assert Holding.objects.get(item=coins[0]).customer == customer_a


def test_a_bank_transfer_defers_payment_and_holds_the_items(
    frozen, customer_a, customer_b, merchant_a, coins
):
    # given
    reservation = reserve(STAFF, customer_a, coins[:1])

    # when
    order = checkout(STAFF, reservation, [PaymentPart("bank_transfer", eur(PRICE))])

    # then
    payment = order.payments.get()
    assert (order.status, payment.status) == ("pending", "pending")
    assert payment.due_at == NOW + timedelta(hours=72)
    assert Holding.objects.get(item=coins[0]).customer is None
    with pytest.raises(Conflict):
        reserve(STAFF, customer_b, coins[:1])

    # when the transfer arrives
    confirm_transfer(STAFF, payment)

    # then
    order.refresh_from_db()
    payment.refresh_from_db()
    assert (order.status, payment.status) == ("paid", "captured")
    assert payment.captured_minor == PRICE
    assert Holding.objects.get(item=coins[0]).customer == customer_a
    assert payable(merchant_a) == PRICE
    with pytest.raises(Conflict) as raised:
        confirm_transfer(STAFF, payment)
    assert raised.value.code == "payment_not_pending"


def test_a_transfer_that_never_comes_lapses_and_releases(
    frozen, settings, customer_a, customer_b, coins
):
    # given
    settings.DEFERRED_PAYMENT_HOURS = 24
    reservation = reserve(STAFF, customer_a, coins[:1])
    order = checkout(STAFF, reservation, [PaymentPart("bank_transfer", eur(PRICE))])
    frozen.shift(timedelta(hours=23))
    assert lapse_deferred_payments() == 0

    # when
    frozen.shift(timedelta(hours=1))
    lapsed = worker.JOBS["transfers-lapse"].run()

    # then
    assert lapsed == 1
    order.refresh_from_db()
    assert (order.status, order.payments.get().status) == ("lapsed", "lapsed")
    assert reserve(STAFF, customer_b, coins[:1])
    with pytest.raises(Conflict):
        confirm_transfer(STAFF, order.payments.get())
    assert lapse_deferred_payments() == 0
    assert Order.objects.filter(status="paid").count() == 0
