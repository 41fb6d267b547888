"""Customers hear of the money events that concern them: one message each, on
their channel, in their language, queued in the action's transaction."""

from datetime import timedelta

import pytest

from recours.accounts.models import Customer
from recours.commerce.actions import (
    PaymentPart,
    checkout,
    confirm_transfer,
    lapse_deferred_payments,
    reserve,
    sell_back,
    top_up,
    withdraw,
)
from recours.commerce.models import Holding, HoldingMove
from recours.core import worker
from recours.core.errors import Conflict
from recours.ledger.actions import InsufficientBalance
from recours.notifications.models import OutboxMessage
from recours.testing.commerce import STAFF, books, eur, fund

pytestmark = pytest.mark.django_db
PRICE = 250_00


@pytest.fixture
def english_by_email(merchant_a):
    return Customer.objects.create(
        organization=merchant_a,
        customer_number="C-10003",
        name="Jane Doe",
        email="jane@example.org",
        language="en",
    )


def only_message() -> OutboxMessage:
    (message,) = OutboxMessage.objects.all()
    return message


def awaited_order(customer, coins):
    reservation = reserve(STAFF, customer, coins[:1])
    return checkout(STAFF, reservation, [PaymentPart("bank_transfer", eur(PRICE))])


def test_it_tells_the_buyer_by_sms_what_transfer_to_send_and_by_when(
    frozen, customer_a, coins
):
    # when
    order = awaited_order(customer_a, coins)

    # then: customer_a has a phone and French, the default
    message = only_message()
    assert (message.channel, message.recipient) == ("sms", customer_a.phone)
    assert message.language == "fr"
    assert message.dedupe_key == f"commerce:order:{order.pk}:awaiting_transfer"
    assert order.reference in message.body
    assert "250.00 EUR" in message.body
    assert "05/03/2026 10:00" in message.body  # due 72 hours later, Paris time
    assert "virement" in message.body


def test_it_tells_a_customer_without_phone_by_email_in_their_language(
    frozen, english_by_email, coins
):
    # when
    order = awaited_order(english_by_email, coins)

    # then
    message = only_message()
    assert (message.channel, message.recipient) == ("email", "jane@example.org")
    assert message.language == "en"
    assert message.subject == f"Your order {order.reference} awaits your bank transfer"
    assert f"with this reference: {order.reference}" in message.body
    assert "250.00 EUR" in message.body
    assert "until 5 Mar 2026, 10:00." in message.body  # Paris time


def test_it_tells_the_buyer_once_that_the_transfer_arrived(english_by_email, coins):
    # given
    order = awaited_order(english_by_email, coins)
    payment = order.payments.get()

    # when
    confirm_transfer(STAFF, payment)

    # then
    message = OutboxMessage.objects.get(dedupe_key=f"commerce:order:{order.pk}:paid")
    assert message.recipient == "jane@example.org"
    assert message.subject == f"Your order {order.reference} is paid"
    assert "We received your bank transfer of 250.00 EUR." in message.body
    before = books()
    with pytest.raises(Conflict):
        confirm_transfer(STAFF, payment)
    assert books() == before


def test_it_tells_the_buyer_once_that_the_order_lapsed(
    frozen, settings, english_by_email, coins
):
    # given
    settings.DEFERRED_PAYMENT_HOURS = 24
    order = awaited_order(english_by_email, coins)
    frozen.shift(timedelta(hours=24))

    # when
    lapsed = worker.JOBS["transfers-lapse"].run()

    # then
    assert lapsed == 1
    message = OutboxMessage.objects.get(dedupe_key=f"commerce:order:{order.pk}:lapsed")
    assert message.subject == f"Your order {order.reference} has lapsed"
    assert "its items are released" in message.body
    assert lapse_deferred_payments() == 0
    assert worker.JOBS["transfers-lapse"].run() == 0
    assert OutboxMessage.objects.count() == 2  # awaited, lapsed


def test_it_tells_of_a_top_up_a_withdrawal_and_a_sell_back(english_by_email, coins):
    # given
    (coin,) = coins[:1]
    Holding.objects.filter(item=coin).update(customer=english_by_email)

    # when
    credited = top_up(STAFF, english_by_email, eur(100_00), "VIR-7")
    sent = withdraw(STAFF, english_by_email, eur(30_00), "OUT-1")
    move = sell_back(STAFF, english_by_email, coin)

    # then
    messages = {message.dedupe_key: message for message in OutboxMessage.objects.all()}
    sold = move.entry_id
    assert sorted(messages) == sorted(
        [
            f"commerce:entry:{credited.pk}:top_up",
            f"commerce:entry:{sent.pk}:withdrawal",
            f"commerce:entry:{sold}:sell_back",
        ]
    )
    assert {message.recipient for message in messages.values()} == {"jane@example.org"}
    assert "We credited 100.00 EUR to your wallet (transfer VIR-7)." in (
        messages[f"commerce:entry:{credited.pk}:top_up"].body
    )
    assert "We sent 30.00 EUR from your wallet" in (
        messages[f"commerce:entry:{sent.pk}:withdrawal"].body
    )
    assert coin.serial in messages[f"commerce:entry:{sold}:sell_back"].body
    assert move.reason == HoldingMove.Reason.SELL_BACK


def test_a_refused_money_action_queues_nothing(customer_a, customer_b, coins):
    # given
    fund(customer_a, 10_00, "VIR-1")
    before = books()

    # when / then
    with pytest.raises(InsufficientBalance):
        withdraw(STAFF, customer_a, eur(20_00), "OUT-1")
    with pytest.raises(Conflict):
        top_up(STAFF, customer_a, eur(10_00), "VIR-1")
    with pytest.raises(Conflict):
        sell_back(STAFF, customer_a, coins[0])
    assert books() == before
    assert OutboxMessage.objects.count() == 1  # the first top-up's


def test_a_customer_with_neither_phone_nor_email_hears_nothing(customer_b, coins):
    # when
    top_up(STAFF, customer_b, eur(10_00), "VIR-1")
    awaited_order(customer_b, coins)

    # then
    assert not OutboxMessage.objects.exists()
