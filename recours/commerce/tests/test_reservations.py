"""Reservations: items and seats held 15 minutes, released, purged."""

from datetime import timedelta

import pytest

from recours.commerce.actions import (
    PaymentPart,
    Seats,
    buy,
    purge_expired_reservations,
    release,
    reserve,
)
from recours.commerce.models import Reservation, ReservationLine
from recours.core import worker
from recours.core.errors import Conflict, InvalidInput
from recours.testing import NOW
from recours.testing.commerce import STAFF, books, eur, fund, make_contingent

pytestmark = pytest.mark.django_db


def test_it_holds_items_for_fifteen_minutes(frozen, customer_a, coins):
    # when
    reservation = reserve(STAFF, customer_a, coins[:2])

    # then
    assert reservation.status == "active"
    assert reservation.expires_at == NOW + timedelta(minutes=15)
    assert reservation.lines.filter(is_active=True).count() == 2


def test_the_hold_time_is_a_setting(frozen, settings, customer_a, coins):
    settings.RESERVATION_MINUTES = 5
    reservation = reserve(STAFF, customer_a, coins[:1])
    assert reservation.expires_at == NOW + timedelta(minutes=5)


def test_an_item_is_held_by_one_basket_only(customer_a, customer_b, coins):
    # given
    reserve(STAFF, customer_a, coins[:1])
    before = books()

    # when / then
    with pytest.raises(Conflict) as raised:
        reserve(STAFF, customer_b, coins[:2])
    assert raised.value.code == "already_reserved"
    assert books() == before


def test_a_sold_item_cannot_be_reserved(customer_a, customer_b, coins):
    # given
    fund(customer_a, 1_000_00)
    buy(STAFF, customer_a, coins[:1], [PaymentPart("wallet", eur(250_00))])
    before = books()

    # when / then
    with pytest.raises(Conflict, match="already sold") as raised:
        reserve(STAFF, customer_b, coins[:1])
    assert raised.value.code == "already_sold"
    assert books() == before


def test_an_expired_hold_frees_its_items_for_the_next_customer(
    frozen, customer_a, customer_b, coins
):
    # given
    first = reserve(STAFF, customer_a, coins[:1])
    frozen.shift(timedelta(minutes=15))

    # when
    second = reserve(STAFF, customer_b, coins[:1])

    # then
    first.refresh_from_db()
    assert first.status == "expired"
    assert second.lines.get().item == coins[0]


def test_seats_count_live_holds_and_sales(frozen, merchant_a, customer_a, customer_b):
    # given
    contingent = make_contingent(merchant_a, capacity=5)
    fund(customer_a, 1_000_00)
    held = reserve(STAFF, customer_a, seats=[Seats(contingent, 2)])
    from recours.commerce.actions import checkout

    checkout(STAFF, held, [PaymentPart("wallet", eur(90_00))])
    reserve(STAFF, customer_a, seats=[Seats(contingent, 2)])
    before = books()

    # when / then: 2 sold + 2 held, 1 left
    with pytest.raises(Conflict, match="Only 1 seats") as raised:
        reserve(STAFF, customer_b, seats=[Seats(contingent, 2)])
    assert raised.value.code == "sold_out"
    assert books() == before
    reserve(STAFF, customer_b, seats=[Seats(contingent, 1)])

    # and an expired hold gives its seats back
    frozen.shift(timedelta(minutes=16))
    assert reserve(STAFF, customer_b, seats=[Seats(contingent, 3)])


@pytest.mark.parametrize("case", ["empty", "twice", "no_seat"])
def test_it_refuses_a_request_that_makes_no_sense(merchant_a, customer_a, coins, case):
    contingent = make_contingent(merchant_a, capacity=5)
    arguments = {
        "empty": {},
        "twice": {"items": [coins[0], coins[0]]},
        "no_seat": {"seats": [Seats(contingent, 0)]},
    }[case]
    with pytest.raises(InvalidInput):
        reserve(STAFF, customer_a, **arguments)
    assert not Reservation.objects.exists()


def test_it_refuses_another_organizations_items(merchant_b, coins):
    from recours.accounts.models import Customer

    stranger = Customer.objects.create(organization=merchant_b, customer_number="X")
    with pytest.raises(InvalidInput):
        reserve(STAFF, stranger, coins[:1])


def test_release_puts_the_items_back_on_sale(customer_a, customer_b, coins):
    # given
    reservation = reserve(STAFF, customer_a, coins[:1])

    # when
    release(STAFF, reservation)

    # then
    assert reservation.status == "released"
    assert reserve(STAFF, customer_b, coins[:1])
    with pytest.raises(Conflict) as raised:
        release(STAFF, reservation)
    assert raised.value.code == "reservation_not_active"


def test_the_worker_purges_expired_holds_once(frozen, customer_a, coins):
    # given
    old = reserve(STAFF, customer_a, coins[:1])
    frozen.shift(timedelta(minutes=10))
    young = reserve(STAFF, customer_a, coins[1:2])
    frozen.shift(timedelta(minutes=6))

    # when
    purged = worker.JOBS["reservations-purge"].run()

    # then
    assert purged == 1
    assert Reservation.objects.get(pk=old.pk).status == "expired"
    assert Reservation.objects.get(pk=young.pk).status == "active"
    assert not ReservationLine.objects.filter(reservation=old, is_active=True).exists()
    assert purge_expired_reservations() == 0
