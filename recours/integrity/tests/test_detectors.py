"""Every detector: a clean history yields nothing; each planted
inconsistency is found, with the same fingerprint on every run."""

from datetime import timedelta

import pytest

from recours.commerce import actions
from recours.commerce.actions import PaymentPart
from recours.commerce.models import (
    Holding,
    HoldingMove,
    ImportedRefund,
    Order,
    Reservation,
    ReservationLine,
)
from recours.core import clock
from recours.core.audit import Actor
from recours.core.money import Money
from recours.integrity import detectors, settlement
from recours.integrity.detectors import DETECTORS
from recours.integrity.models import AnomalyKind
from recours.integrity.tests import world
from recours.ledger.models import LedgerAccount

pytestmark = pytest.mark.django_db
ACTOR = Actor(label="shop")


@pytest.fixture
def history(frozen, coins, customer_a, customer_b):
    """A clean month: purchases, a paid sell-back, a checked-out reservation."""
    first, second, third = (world.stock(coins, number) for number in (1, 2, 3))
    world.buy(customer_a, first, "CO-1")
    world.sell_back(customer_a, first)
    world.buy(customer_b, first, "CO-2")  # resold: not sold twice
    world.buy(customer_a, second, "CO-3")
    reservation = Reservation.objects.create(
        organization=coins.organization, customer=customer_a, status="checked_out",
        created_at=world.past(2), expires_at=world.past(1),
    )  # fmt: skip
    ReservationLine.objects.create(reservation=reservation, item=third, is_active=False)
    return {"items": (first, second, third), "reservation": reservation}


def found(kind: str) -> list[detectors.Finding]:
    return list(DETECTORS[kind]())


@pytest.mark.parametrize("kind", list(DETECTORS))
def test_a_clean_history_yields_nothing(history, kind):
    assert found(kind) == []


def test_it_finds_a_sell_back_with_no_proceeds(history, customer_b):
    # given: the coin left the portfolio, the wallet got nothing
    move = world.sell_back(customer_b, history["items"][0], pay=False)

    # when
    (finding,) = found(AnomalyKind.UNPAID_SELL_BACK)

    # then
    assert finding.details["move_id"] == move.pk
    assert finding.customer_id == customer_b.pk
    assert finding.details["expected_minor"] == world.BUYBACK_MINOR


def test_it_finds_an_item_sold_twice(history, customer_b):
    # given: customer B paid for the coin A holds, and never got it
    second = history["items"][1]
    order = world.new_order(customer_b, second, "CO-9", Order.Status.PAID)
    world.card_payment(order)

    # when
    (finding,) = found(AnomalyKind.SOLD_TWICE)

    # then
    assert finding.details["item_id"] == second.pk
    assert finding.customer_id == customer_b.pk
    assert finding.details["order_id"] == order.pk
    assert found(AnomalyKind.UNDELIVERED_ORDER) == []  # said once, not twice


@pytest.mark.parametrize(
    "serial,problem", [("BR-0000010", "check_digit"), ("XX-12", "format")]
)
def test_it_finds_a_serial_failing_its_type(history, coins, serial, problem):
    item = world.stock(coins, 0, serial=serial)

    (finding,) = found(AnomalyKind.BAD_SERIAL)

    assert finding.details["item_id"] == item.pk
    assert finding.details["problem"] == problem


def test_it_finds_a_capture_with_no_completed_order(history, customer_a, coins):
    order = world.new_order(customer_a, world.stock(coins, 7), "CO-7", "cancelled")
    payment = world.card_payment(order)

    (finding,) = found(AnomalyKind.CAPTURE_WITHOUT_ORDER)

    assert finding.details["payment_id"] == payment.pk


def test_a_pending_order_awaiting_its_transfer_is_not_a_lost_capture(
    history, customer_a, coins
):
    order = world.new_order(customer_a, world.stock(coins, 7), "CO-7", "pending")
    world.card_payment(order)
    world.card_payment(order, status="pending", method="bank_transfer",
                       provider_payment_id="", due_at=clock.now() + timedelta(hours=9))  # fmt: skip

    assert found(AnomalyKind.CAPTURE_WITHOUT_ORDER) == []


def test_it_finds_a_paid_order_whose_item_never_moved(history, customer_a):
    third = history["items"][2]
    order = world.new_order(customer_a, third, "CO-8", Order.Status.PAID)

    (finding,) = found(AnomalyKind.UNDELIVERED_ORDER)

    assert (finding.details["order_id"], finding.details["item_id"]) == (
        order.pk,
        third.pk,
    )


def test_it_finds_imported_refunds_above_the_capture(history):
    payment = Order.objects.get(reference="CO-3").payments.get()
    for number, amount_minor in enumerate((100000, 90000)):
        ImportedRefund.objects.create(payment=payment, amount_minor=amount_minor,
                                      currency="EUR", refunded_at=clock.now(),
                                      external_id=f"r{number}")  # fmt: skip

    (finding,) = found(AnomalyKind.OVER_REFUNDED)

    assert finding.details["imported_refunds_minor"] == 190000


def test_it_finds_a_deferred_payment_pending_past_due(history, customer_a, coins):
    order = world.new_order(customer_a, world.stock(coins, 7), "CO-7", "pending")
    payment = world.card_payment(order, status="pending", method="bank_transfer",
                                 due_at=world.past(2))  # fmt: skip

    (finding,) = found(AnomalyKind.OVERDUE_DEFERRED_PAYMENT)

    assert finding.details["payment_id"] == payment.pk


def test_it_finds_a_cached_balance_that_differs_from_its_postings(history):
    wallet = LedgerAccount.objects.get(
        kind="wallet", customer__customer_number="C-10001"
    )
    LedgerAccount.objects.filter(pk=wallet.pk).update(balance_minor=1)

    (finding,) = found(AnomalyKind.BALANCE_DRIFT)

    assert finding.details["account_id"] == wallet.pk
    assert finding.details["difference_minor"] == 1 - world.BUYBACK_MINOR


def test_it_finds_an_expired_reservation_still_holding(history, customer_a):
    reservation = Reservation.objects.create(
        organization=customer_a.organization, customer=customer_a,
        created_at=world.past(3), expires_at=world.past(2),
    )  # fmt: skip
    ReservationLine.objects.create(reservation=reservation, item=history["items"][2])

    (finding,) = found(AnomalyKind.STALE_RESERVATION)

    assert finding.details["reservation_id"] == reservation.pk


def test_it_finds_a_coin_vanished_from_a_portfolio(history, customer_a):
    # given: the holding says stock, the last move says customer A
    second = history["items"][1]
    Holding.objects.filter(item=second).update(customer=None)

    # when
    (finding,) = found(AnomalyKind.VANISHED_HOLDING)

    # then
    assert finding.customer_id == customer_a.pk
    assert finding.details["item_id"] == second.pk
    assert finding.details["last_move_id"] == (
        HoldingMove.objects.filter(item=second).latest("pk").pk
    )


def test_fingerprints_are_the_same_on_every_run(history):
    Holding.objects.filter(item=history["items"][1]).update(customer=None)

    runs = [found(AnomalyKind.VANISHED_HOLDING) for _ in range(2)]

    assert [f.fingerprint for f in runs[0]] == [f.fingerprint for f in runs[1]]
    assert len(runs[0][0].fingerprint) == 64


# Settlement reports


def csv_lines(*rows: str) -> list[str]:
    return ["provider_payment_id,type,amount,currency,date\n", *rows]


def test_a_matching_settlement_yields_nothing(history, merchant_a):
    today = clock.now().date().isoformat()
    report = settlement.read(csv_lines(
        *(f"pi_CO-{n},payment,1800.00,EUR,{today}\n" for n in (1, 2, 3))
    ))  # fmt: skip

    assert settlement.mismatches(report, merchant_a) == []


def test_it_finds_settlement_lines_missing_or_differing(history, merchant_a):
    today = clock.now().date().isoformat()
    report = settlement.read(csv_lines(
        f"pi_CO-1,payment,1800.00,EUR,{today}\n",
        f"pi_CO-2,payment,1799.99,EUR,{today}\n",
        f"pi_CO-2,refund,10.00,EUR,{today}\n",
        f"pi_unknown,payment,5.00,EUR,{today}\n",
    ))  # fmt: skip

    reasons = sorted(
        f.details["reason"] for f in settlement.mismatches(report, merchant_a)
    )

    assert reasons == [
        "amount_differs", "not_in_settlement", "refund_missing", "unknown_payment",
    ]  # fmt: skip


def test_it_refuses_a_settlement_file_naming_the_bad_line():
    from recours.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="line 3"):
        settlement.read(csv_lines("pi_1,payment,1.00,EUR,2026-03-01\n",
                                  "pi_2,payment,abc,EUR,2026-03-01\n"))  # fmt: skip


def test_an_order_awaiting_its_bank_transfer_holds_its_item_rightly(
    history, customer_a, coins
):
    # given: checked out by transfer, the item stays held until it comes
    item = world.stock(coins, 8)
    reservation = actions.reserve(ACTOR, customer_a, [item])
    price = Money(coins.price_minor, coins.currency)
    actions.checkout(ACTOR, reservation, [PaymentPart("bank_transfer", price)])

    # then
    assert ReservationLine.objects.get(item=item).is_active
    assert found(AnomalyKind.STALE_RESERVATION) == []
    assert found(AnomalyKind.CAPTURE_WITHOUT_ORDER) == []


def test_a_lapsed_transfer_still_holding_its_item_is_found(history, customer_a, coins):
    # given: the order lapsed, but its reservation line was never released
    item = world.stock(coins, 8)
    reservation = actions.reserve(ACTOR, customer_a, [item])
    price = Money(coins.price_minor, coins.currency)
    order = actions.checkout(ACTOR, reservation, [PaymentPart("bank_transfer", price)])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.LAPSED)

    # when
    (finding,) = found(AnomalyKind.STALE_RESERVATION)

    # then
    assert finding.details["reservation_id"] == reservation.pk
