"""Buyer protection through the API: a pushed order with `protected: true`,
a checkout or purchase with `protect: true`, and what order reads say."""

import json

import pytest
from django.urls import reverse

from recours.accounts.models import Customer
from recours.commerce.models import Order
from recours.testing import NOW
from recours.testing.commerce import books, fund, make_coin_type, stock_coins

PRICE = 250_00
ORDER = {
    "external_id": "SHOP-1",
    "customer_number": "C-10001",
    "status": "paid",
    "total_minor": 12990,
    "currency": "EUR",
    "placed_at": "2026-03-01T10:00:00+01:00",
    "protected": True,
}


def post(client, url_name: str, args=(), body=None):
    return client.post(reverse(f"api:{url_name}", args=args), json.dumps(body),
                       content_type="application/json")  # fmt: skip


@pytest.fixture
def coin(merchant_a):
    return stock_coins(make_coin_type(merchant_a), 1)[0]


def wallet_pays(**extra) -> dict:
    part = {"method": "wallet", "amount_minor": PRICE, "currency": "EUR"}
    return {"payments": [part], **extra}


def test_it_protects_a_pushed_order(frozen, api_a, customer_a):
    # when
    response = post(api_a, "orders_push", body=ORDER)

    # then
    assert response.status_code == 201, response.content
    order = Order.objects.get(external_id="SHOP-1")
    assert order.protection_started_at == order.placed_at
    read = api_a.get(reverse("api:order_detail", args=[order.reference])).json()
    assert read["protected"] is True
    assert read["protection_ends_at"] == "2026-03-31T09:00:00Z"
    assert (read["protection_ended_at"], read["protection_end_reason"]) == (None, "")


def test_a_pushed_order_is_unprotected_unless_it_says_so(frozen, api_a, customer_a):
    # when
    response = post(api_a, "orders_push", body={**ORDER, "protected": False})
    unsaid = {key: value for key, value in ORDER.items() if key != "protected"}
    post(api_a, "orders_push", body={**unsaid, "external_id": "SHOP-2"})

    # then
    assert response.status_code == 201, response.content
    assert not Order.objects.filter(protection_started_at__isnull=False).exists()
    listed = api_a.get(reverse("api:order_list")).json()["items"]
    assert [item["protected"] for item in listed] == [False, False]


def test_it_refuses_to_protect_a_pushed_order_without_its_customer(
    frozen, api_a, customer_a
):
    # when
    response = post(api_a, "orders_push", body={**ORDER, "customer_number": ""})

    # then
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [
        {
            "field": "",
            "messages": [
                "A protected order needs its customer, who gets the reminder."
            ],
        }
    ]
    assert not Order.objects.exists()


def test_it_protects_an_order_checked_out_with_protect(frozen, api_a, customer_a, coin):
    # given
    fund(customer_a, PRICE)
    item = {"item_type": coin.item_type.code, "serial": coin.serial}
    basket = post(api_a, "reservation_create", ["C-10001"], {"items": [item]})

    # when
    paid = post(
        api_a, "reservation_checkout", [basket.json()["id"]], wallet_pays(protect=True)
    )

    # then
    assert paid.status_code == 201, paid.content
    assert paid.json()["protected"] is True
    assert paid.json()["protection_ends_at"] == "2026-04-01T09:00:00Z"
    order = Order.objects.get(reference=paid.json()["reference"])
    assert order.protection_reminder_at == NOW.replace(day=25)


def test_it_protects_a_purchase_and_refuses_one_for_a_customer_it_cannot_reach(
    frozen, api_a, merchant_a, customer_a, coin
):
    # given
    Customer.objects.create(organization=merchant_a, customer_number="C-3")
    item = {"item_type": coin.item_type.code, "serial": coin.serial}
    card = {"method": "card", "amount_minor": PRICE, "currency": "EUR",
            "provider_payment_id": "pi_1"}  # fmt: skip
    before = books()

    # when
    refused = post(api_a, "purchase_create", ["C-3"],
                   {"items": [item], "payments": [card], "protect": True})  # fmt: skip
    after_refusal = books()
    bought = post(api_a, "purchase_create", ["C-10001"],
                  {"items": [item], "payments": [card], "protect": True})  # fmt: skip

    # then
    assert refused.status_code == 422, refused.content
    assert [error["field"] for error in refused.json()["errors"]] == ["protect"]
    assert after_refusal == before
    assert bought.status_code == 201, bought.content
    assert bought.json()["protected"] is True
