"""Money flows through the API: reserve, check out, buy, release, top up,
withdraw and sell back; conflicts as problem+json 409, other merchants' rows 404."""

import json

import pytest
from django.urls import reverse

from recours.accounts.models import Customer
from recours.api.commerce_schemas import ITEM_EXAMPLE
from recours.commerce.models import Holding, Order, Payment, Reservation
from recours.ledger.actions import customer_account
from recours.ledger.models import AccountKind
from recours.testing.commerce import (
    books,
    coin_serial,
    fund,
    make_coin_type,
    stock_coins,
)

PROBLEM_JSON = "application/problem+json"
PRICE = 250_00
BUYBACK = 230_00


def post(client, url_name: str, args, body=None, **headers):
    return client.post(reverse(f"api:{url_name}", args=args),
                       json.dumps(body or {}), content_type="application/json",
                       headers=headers)  # fmt: skip


def ref(coin) -> dict:
    return {"item_type": coin.item_type.code, "serial": coin.serial}


def wallet_pays(amount: int = PRICE) -> dict:
    return {"payments": [{"method": "wallet", "amount_minor": amount,
                          "currency": "EUR"}]}  # fmt: skip


def card_pays(payment_id: str = "pi_1") -> dict:
    return {"payments": [{"method": "card", "amount_minor": PRICE, "currency": "EUR",
                          "provider_payment_id": payment_id}]}  # fmt: skip


def wallet_of(customer) -> int:
    return customer_account(customer, AccountKind.WALLET, "EUR").balance_minor


def assert_conflict(response, code: str) -> None:
    assert response.status_code == 409, response.content
    assert response["Content-Type"] == PROBLEM_JSON
    assert response.json()["code"] == code


@pytest.fixture
def coin_type(merchant_a):
    return make_coin_type(merchant_a)


@pytest.fixture
def customer_b(merchant_a):
    return Customer.objects.create(organization=merchant_a, customer_number="C-10002")


@pytest.fixture
def coin(coin_type):
    return stock_coins(coin_type, 1)[0]


def test_it_reserves_and_checks_out_from_the_wallet(frozen, api_a, customer_a, coin):
    # given
    fund(customer_a, PRICE)

    # when
    basket = post(api_a, "reservation_create", ["C-10001"], {"items": [ref(coin)]})
    paid = post(api_a, "reservation_checkout", [basket.json()["id"]], wallet_pays())

    # then
    assert basket.status_code == 201, basket.content
    assert basket.json()["items"] == [ref(coin)]
    assert paid.status_code == 201, paid.content
    order = paid.json()
    assert (order["status"], order["total_minor"]) == ("paid", PRICE)
    assert order["lines"][0]["serial"] == coin.serial
    assert order["payments"][0]["method"] == "wallet"
    assert Holding.objects.get(item=coin).customer == customer_a
    assert wallet_of(customer_a) == 0


def test_it_buys_by_card_in_one_call(frozen, api_a, customer_a, coin):
    # when
    response = post(api_a, "purchase_create", ["C-10001"],
                    {"items": [ref(coin)], **card_pays()})  # fmt: skip

    # then
    assert response.status_code == 201, response.content
    assert response.json()["payments"][0]["provider_payment_id"] == "pi_1"
    assert Holding.objects.get(item=coin).customer == customer_a


def test_it_says_already_sold_and_moves_nothing(frozen, api_a, customer_a,
                                                customer_b, coin):  # fmt: skip
    # given
    post(api_a, "purchase_create", ["C-10002"], {"items": [ref(coin)], **card_pays()})
    fund(customer_a, PRICE)
    before = books()

    # when
    response = post(api_a, "purchase_create", ["C-10001"],
                    {"items": [ref(coin)], **wallet_pays()})  # fmt: skip

    # then
    assert_conflict(response, "already_sold")
    assert books() == before
    assert wallet_of(customer_a) == PRICE


def test_a_late_card_buyer_with_an_idempotency_key_keeps_its_voided_payment(
    frozen, api_a, customer_a, customer_b, coin
):
    # given
    post(api_a, "purchase_create", ["C-10002"], {"items": [ref(coin)], **card_pays()})
    late = {"items": [ref(coin)], **card_pays("pi_late")}
    key = {"Idempotency-Key": "late-1"}

    # when
    first = post(api_a, "purchase_create", ["C-10001"], late, **key)
    again = post(api_a, "purchase_create", ["C-10001"], late, **key)

    # then: the refusal is the key's answer, and the void is on record once
    assert_conflict(first, "already_sold")
    assert_conflict(again, "already_sold")
    assert first.json() == again.json()
    voided = Payment.objects.filter(provider_payment_id="pi_late")
    assert [(p.status, p.order.status) for p in voided] == [("voided", "cancelled")]
    assert Holding.objects.get(item=coin).customer == customer_b


def test_it_says_the_wallet_holds_too_little(frozen, api_a, customer_a, coin):
    # given
    fund(customer_a, PRICE - 1)
    basket = post(api_a, "reservation_create", ["C-10001"], {"items": [ref(coin)]})
    before = books()

    # when
    response = post(api_a, "reservation_checkout", [basket.json()["id"]],
                    wallet_pays())  # fmt: skip

    # then
    assert_conflict(response, "insufficient_balance")
    assert books() == before


def test_it_releases_a_basket(frozen, api_a, customer_a, coin):
    # given
    basket = post(api_a, "reservation_create", ["C-10001"], {"items": [ref(coin)]})

    # when
    released = post(api_a, "reservation_release", [basket.json()["id"]])
    again = post(api_a, "reservation_release", [basket.json()["id"]])

    # then
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    assert_conflict(again, "reservation_not_active")


def test_it_tops_up_withdraws_and_refuses_a_second_credit_of_a_transfer(
    frozen, api_a, customer_a
):
    # given
    transfer = {"amount_minor": 5000, "currency": "EUR", "reference": "VIR-42"}

    # when
    credited = post(api_a, "top_up_create", ["C-10001"], transfer)
    twice = post(api_a, "top_up_create", ["C-10001"], transfer)
    paid_out = post(api_a, "withdrawal_create", ["C-10001"],
                    {**transfer, "amount_minor": 3000})  # fmt: skip
    too_much = post(api_a, "withdrawal_create", ["C-10001"], transfer)

    # then
    assert credited.status_code == 201
    assert credited.json() == {"kind": "top_up", "amount_minor": 5000,
                               "currency": "EUR", "balance_minor": 5000}  # fmt: skip
    assert_conflict(twice, "duplicate_top_up")
    assert paid_out.json()["balance_minor"] == 2000
    assert_conflict(too_much, "insufficient_balance")
    assert wallet_of(customer_a) == 2000


def test_it_sells_back_an_item_of_the_portfolio(frozen, api_a, customer_a, coin):
    # given
    post(api_a, "purchase_create", ["C-10001"], {"items": [ref(coin)], **card_pays()})

    # when
    sold = post(api_a, "sell_back_create", ["C-10001"], ref(coin))
    again = post(api_a, "sell_back_create", ["C-10001"], ref(coin))

    # then
    assert sold.status_code == 201, sold.content
    assert sold.json()["balance_minor"] == BUYBACK
    assert Holding.objects.get(item=coin).customer is None
    assert_conflict(again, "not_held")
    assert wallet_of(customer_a) == BUYBACK


def test_it_buys_once_for_a_repeated_idempotency_key(frozen, api_a, customer_a, coin):
    # given
    body = {"items": [ref(coin)], **card_pays()}

    # when
    first = post(
        api_a, "purchase_create", ["C-10001"], body, **{"Idempotency-Key": "b1"}
    )
    second = post(
        api_a, "purchase_create", ["C-10001"], body, **{"Idempotency-Key": "b1"}
    )

    # then
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Order.objects.filter(status="paid").count() == 1


def test_it_keeps_other_merchants_out(frozen, api_a, api_b, customer_a, coin):
    # given
    basket = post(api_a, "reservation_create", ["C-10001"], {"items": [ref(coin)]})
    before = books()

    # when
    responses = [
        post(api_b, "reservation_checkout", [basket.json()["id"]], card_pays()),
        post(api_b, "reservation_release", [basket.json()["id"]]),
        post(api_b, "top_up_create", ["C-10001"],
             {"amount_minor": 1, "currency": "EUR", "reference": "V"}),
        post(api_b, "sell_back_create", ["C-10001"], ref(coin)),
        post(api_b, "purchase_create", ["C-10001"], {"items": [ref(coin)], **card_pays()}),
    ]  # fmt: skip

    # then
    assert [response.status_code for response in responses] == [404] * 5
    assert books() == before
    assert Reservation.objects.get().status == "active"


def test_it_does_not_find_another_merchants_item_for_its_own_customer(
    frozen, api_b, merchant_b, coin
):
    # given
    Customer.objects.create(organization=merchant_b, customer_number="B-1")

    # when
    response = post(api_b, "reservation_create", ["B-1"], {"items": [ref(coin)]})

    # then
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items.0"
    assert not Reservation.objects.exists()


def test_the_documented_item_is_a_valid_coin_serial():
    # then: the examples name the coin the test data stocks first
    assert ITEM_EXAMPLE["serial"] == coin_serial(1)
    assert ITEM_EXAMPLE["item_type"] == "BRIT-1OZ"


def test_every_documented_flow_example_is_accepted(frozen, client, api_a, customer_a,
                                                   coin_type):  # fmt: skip
    # given: the customer and coins the examples name, and money to pay with
    stock_coins(coin_type, 1)
    fund(customer_a, 10 * PRICE, "VIR-EXAMPLES")
    paths = client.get(reverse("api:openapi-json")).json()["paths"]
    basket_path = "/api/v1/customers/{customer_number}/reservations"
    examples = paths[basket_path]["post"]["requestBody"]["content"]
    assert examples  # documented

    # when / then: each example, on a fresh coin where it buys one
    from recours.api.commerce_schemas import (
        CheckoutIn,
        PurchaseIn,
        ReservationIn,
        SellBackIn,  # fmt: skip
        TransferIn,
    )

    def examples_of(schema) -> list[dict]:
        return schema.model_config["json_schema_extra"]["examples"]

    for body in examples_of(PurchaseIn):
        response = post(api_a, "purchase_create", ["C-10001"], body)
        assert response.status_code == 201, response.content
    for body in examples_of(SellBackIn):
        assert post(api_a, "sell_back_create", ["C-10001"], body).status_code == 201
    for body in examples_of(TransferIn):
        assert post(api_a, "top_up_create", ["C-10001"], body).status_code == 201
        assert post(api_a, "withdrawal_create", ["C-10001"], body).status_code == 201
    for checkout_body in examples_of(CheckoutIn):
        (basket_body,) = examples_of(ReservationIn)
        basket = post(api_a, "reservation_create", ["C-10001"], basket_body)
        assert basket.status_code == 201, basket.content
        paid = post(api_a, "reservation_checkout", [basket.json()["id"]], checkout_body)
        assert paid.status_code == 201, paid.content
        post(api_a, "sell_back_create", ["C-10001"], basket_body["items"][0])
