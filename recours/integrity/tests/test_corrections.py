"""Corrections: who may approve, how many must, and that executing one fixes
what the detector found, with compensating entries only."""

from datetime import timedelta

import pytest

from recours.commerce import actions as commerce
from recours.commerce.actions import PaymentPart
from recours.commerce.models import Holding, HoldingMove, Order, Payment
from recours.core.audit import Actor
from recours.core.errors import Conflict, PermissionDenied
from recours.core.money import Money
from recours.integrity import actions, reconcile
from recours.integrity.detectors import DETECTORS
from recours.integrity.models import Anomaly, AnomalyKind, Correction
from recours.integrity.tests import world
from recours.ledger.actions import customer_account
from recours.ledger.models import AccountKind, JournalEntry, LedgerAccount
from recours.notifications.models import OutboxMessage
from recours.testing import membership

pytestmark = pytest.mark.django_db
SHOP = Actor(label="shop")


def staff_actor(user) -> Actor:
    return Actor(label=user.username, user_id=user.pk)


def approve(user, correction: Correction) -> Correction:
    return actions.approve(membership(user), staff_actor(user), correction)


def proposal(kind: str) -> Correction:
    reconcile.run()
    return Correction.objects.get(anomaly__kind=kind, status="proposed")


@pytest.fixture
def vanished(frozen, platform, coins, customer_a):
    coin = world.stock(coins, 1)
    world.buy(customer_a, coin, "CO-1")
    Holding.objects.filter(item=coin).update(customer=None)
    return coin


def test_a_restore_above_the_threshold_needs_two_different_approvers(
    vanished, customer_a, finance, finance_2
):
    # given
    correction = proposal(AnomalyKind.VANISHED_HOLDING)
    assert correction.amount_minor > 50000

    # when: one approval
    approve(finance, correction)

    # then: not yet, and the same person cannot approve twice
    assert Holding.objects.get(item=vanished).customer is None
    with pytest.raises(Conflict, match="another person"):
        approve(finance, correction)

    # when: a second, different person approves
    approve(finance_2, correction)

    # then: the coin is back, by a new move; the detector finds nothing more
    assert Holding.objects.get(item=vanished).customer == customer_a
    last = HoldingMove.objects.filter(item=vanished).latest("pk")
    assert (last.reason, last.to_customer) == ("correction", customer_a)
    assert list(DETECTORS[AnomalyKind.VANISHED_HOLDING]()) == []
    correction.refresh_from_db()
    assert correction.status == "executed"
    assert Anomaly.objects.get().status == "corrected"
    told = OutboxMessage.objects.get(dedupe_key__startswith="integrity:correction")
    assert told.recipient == customer_a.email
    assert "back in your portfolio" in told.body or "portefeuille" in told.body


def test_below_the_threshold_one_approval_executes(
    vanished, customer_a, finance, settings
):
    settings.CORRECTION_SECOND_APPROVAL_MINOR = 10**9
    correction = proposal(AnomalyKind.VANISHED_HOLDING)

    approve(finance, correction)

    assert Holding.objects.get(item=vanished).customer == customer_a


@pytest.mark.parametrize("who", ["merchant_a_agent", "technician"])
def test_merchant_staff_and_technicians_cannot_approve(vanished, request, who):
    # given
    correction = proposal(AnomalyKind.VANISHED_HOLDING)
    user = request.getfixturevalue(who)

    # when / then
    with pytest.raises(PermissionDenied):
        approve(user, correction)
    assert correction.approvals.count() == 0
    assert Holding.objects.get(item=vanished).customer is None


def test_a_technician_proposes_again_after_a_rejection(vanished, finance, technician):
    correction = proposal(AnomalyKind.VANISHED_HOLDING)
    actions.reject(membership(finance), staff_actor(finance), correction, "check first")

    again = actions.propose_again(
        membership(technician), staff_actor(technician), correction.anomaly
    )

    assert again.status == "proposed"
    with pytest.raises(Conflict):
        approve(finance, correction)  # the rejected one stays rejected


def test_crediting_the_missing_sell_back_proceeds(
    frozen, platform, coins, customer_a, admin_user, settings
):
    # given
    settings.CORRECTION_SECOND_APPROVAL_MINOR = 10**9
    coin = world.stock(coins, 1)
    world.buy(customer_a, coin, "CO-1")
    world.sell_back(customer_a, coin, pay=False)
    correction = proposal(AnomalyKind.UNPAID_SELL_BACK)

    # when
    approve(admin_user, correction)

    # then
    wallet = LedgerAccount.objects.get(kind="wallet", customer=customer_a)
    assert wallet.balance_minor == world.BUYBACK_MINOR
    assert reconcile.run()[AnomalyKind.UNPAID_SELL_BACK].found == 0
    assert reconcile.run()[AnomalyKind.BALANCE_DRIFT].found == 0


def test_refunding_a_capture_with_no_order(
    frozen, platform, coins, customer_a, finance, finance_2
):
    order = world.new_order(customer_a, world.stock(coins, 1), "CO-1", "cancelled")
    payment = world.card_payment(order)
    correction = proposal(AnomalyKind.CAPTURE_WITHOUT_ORDER)

    approve(finance, correction)
    approve(finance_2, correction)

    payment.refresh_from_db()
    assert payment.refunded_minor == payment.captured_minor
    assert correction.anomaly.corrections.get().executed_entry.kind == "refund"
    assert reconcile.run()[AnomalyKind.CAPTURE_WITHOUT_ORDER].found == 0


def test_an_identical_item_for_the_second_buyer(
    frozen, platform, coins, customer_a, customer_b, finance, finance_2
):
    # given: B paid for A's coin; no identical coin in stock yet
    coin = world.stock(coins, 1)
    world.buy(customer_a, coin, "CO-1")
    world.card_payment(world.new_order(customer_b, coin, "CO-2", Order.Status.PAID))
    correction = proposal(AnomalyKind.SOLD_TWICE)
    assert correction.kind == "assign_identical_item"
    approve(finance, correction)

    # when / then: nothing to give, nothing written (not even the approval)
    with pytest.raises(Conflict, match="No identical item"):
        approve(finance_2, correction)
    assert correction.approvals.count() == 1

    # when: one is stocked
    spare = world.stock(coins, 2)
    approve(finance_2, correction)

    # then
    assert Holding.objects.get(item=spare).customer == customer_b
    assert reconcile.run()[AnomalyKind.SOLD_TWICE].found == 0
    assert reconcile.run()[AnomalyKind.UNDELIVERED_ORDER].found == 0


def test_restoring_a_paid_item_that_never_moved(
    frozen, platform, coins, customer_b, admin_user, finance
):
    coin = world.stock(coins, 1)
    world.card_payment(world.new_order(customer_b, coin, "CO-2", Order.Status.PAID))
    correction = proposal(AnomalyKind.UNDELIVERED_ORDER)
    assert correction.kind == "restore_holding"

    approve(admin_user, correction)
    approve(finance, correction)

    assert Holding.objects.get(item=coin).customer == customer_b
    assert reconcile.run()[AnomalyKind.UNDELIVERED_ORDER].found == 0
    assert OutboxMessage.objects.get().channel == "sms"


def test_a_dismissed_anomaly_drops_its_proposal(vanished, technician):
    correction = proposal(AnomalyKind.VANISHED_HOLDING)

    actions.dismiss(membership(technician), staff_actor(technician),
                    correction.anomaly, "a test coin")  # fmt: skip

    correction.refresh_from_db()
    assert correction.status == "rejected"
    assert Payment.objects.count() == 1


def test_releasing_a_hold_the_purge_never_reached(frozen, platform, coins, customer_a,
                                                  finance):  # fmt: skip
    # given: a reservation long expired, still active and holding its coin
    coin = world.stock(coins, 4)
    reservation = commerce.reserve(SHOP, customer_a, [coin])
    frozen.shift(timedelta(hours=3))

    # when
    approve(finance, proposal(AnomalyKind.STALE_RESERVATION))

    # then: the coin can be reserved again, and nothing more is found
    reservation.refresh_from_db()
    assert reservation.status == "expired"
    assert not reservation.lines.filter(is_active=True).exists()
    assert list(DETECTORS[AnomalyKind.STALE_RESERVATION]()) == []
    commerce.reserve(SHOP, customer_a, [coin])


def test_lapsing_a_transfer_past_due(frozen, platform, coins, customer_a, finance,
                                     settings):  # fmt: skip
    # given: the lapse job never ran for a transfer long past due
    coin = world.stock(coins, 5)
    reservation = commerce.reserve(SHOP, customer_a, [coin])
    price = Money(coins.price_minor, coins.currency)
    order = commerce.checkout(SHOP, reservation, [PaymentPart("bank_transfer", price)])
    frozen.shift(timedelta(hours=settings.DEFERRED_PAYMENT_HOURS + 2))

    # when
    approve(finance, proposal(AnomalyKind.OVERDUE_DEFERRED_PAYMENT))

    # then
    order.refresh_from_db()
    assert order.status == "lapsed"
    assert order.payments.get().status == "lapsed"
    assert list(DETECTORS[AnomalyKind.OVERDUE_DEFERRED_PAYMENT]()) == []
    assert list(DETECTORS[AnomalyKind.STALE_RESERVATION]()) == []
    # told once, by commerce, that the order lapsed; not "we refunded"
    assert not OutboxMessage.objects.filter(
        dedupe_key__startswith="integrity:"
    ).exists()
    assert OutboxMessage.objects.filter(dedupe_key__endswith=":lapsed").count() == 1


def test_rebuilding_a_drifted_balance_from_its_postings(frozen, platform, customer_a,
                                                        finance, finance_2):  # fmt: skip
    # given: a wallet of 100.00 whose cached copy says 700.00
    wallet = customer_account(customer_a, AccountKind.WALLET, "EUR")
    commerce.top_up(SHOP, customer_a, Money(100_00, "EUR"), "VIR-1")
    LedgerAccount.objects.filter(pk=wallet.pk).update(balance_minor=700_00)
    entries = JournalEntry.objects.count()

    # when: the drift is above the threshold, so two people approve
    correction = proposal(AnomalyKind.BALANCE_DRIFT)
    approve(finance, correction)
    approve(finance_2, correction)

    # then: the copy is the postings' sum again, and no history was written
    assert correction.amount_minor == 600_00
    wallet.refresh_from_db()
    assert wallet.balance_minor == 100_00
    assert JournalEntry.objects.count() == entries
    assert list(DETECTORS[AnomalyKind.BALANCE_DRIFT]()) == []
    assert not OutboxMessage.objects.filter(
        dedupe_key__startswith="integrity:"
    ).exists()
