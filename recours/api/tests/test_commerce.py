"""Commerce through the API: pushing the shop's rows, reading orders, items and
balances, each key inside its own merchant."""

import pytest
from django.urls import reverse

from recours.commerce.models import (
    Holding,
    HoldingMove,
    ImportedRefund,
    Item,
    ItemType,
    Order,
    Payment,
    Shipment,
)
from recours.core.audit import Actor
from recours.core.models import IdempotencyRecord
from recours.core.money import Money
from recours.ledger import actions as ledger
from recours.ledger.models import AccountKind
from recours.testing import NOW

PROBLEM_JSON = "application/problem+json"
ORDER = {
    "external_id": "SHOP-1",
    "customer_number": "C-10001",
    "status": "paid",
    "total_minor": 12990,
    "currency": "EUR",
    "placed_at": "2026-03-01T10:00:00+01:00",
}
PAYMENT = {
    "external_id": "PAY-1",
    "order_external_id": "SHOP-1",
    "method": "card",
    "status": "captured",
    "amount_minor": 12990,
    "currency": "EUR",
    "provider": "stripe",
    "provider_payment_id": "pi_1",
    "created_at": "2026-03-01T10:01:00+01:00",
}
SHIPMENT = {"external_id": "SHIP-1", "order_external_id": "SHOP-1",
            "carrier": "colissimo", "tracking_number": "6A1"}  # fmt: skip
REFUND = {"external_id": "REF-1", "order_external_id": "SHOP-1",
          "payment_external_id": "PAY-1", "amount_minor": 20000, "currency": "EUR",
          "refunded_at": "2026-03-05T09:00:00Z"}  # fmt: skip
BATCH = {"orders": [ORDER], "payments": [PAYMENT], "shipments": [SHIPMENT],
         "refunds": [REFUND]}  # fmt: skip


def post(client, url_name: str, body, query: str = "", **headers):
    return client.post(reverse(f"api:{url_name}") + query, body,
                       content_type="application/json", headers=headers)  # fmt: skip


def coins(organization, *holders) -> list[Item]:
    """One coin per holder (None: in stock), each with its moves."""
    coin_type = ItemType.objects.create(organization=organization, code="BRIT",
        name="Britannia 1 oz", price_minor=25000, buyback_price_minor=23000)  # fmt: skip
    made = []
    for number, holder in enumerate(holders, start=1):
        item = Item.objects.create(item_type=coin_type, serial=f"BR-{number:04d}",
                                   created_at=NOW)  # fmt: skip
        Holding.objects.create(item=item, organization=organization,
                               customer=holder, since=NOW)  # fmt: skip
        move(item, None, "stocked")
        if holder is not None:
            move(item, holder, "purchase")
        made.append(item)
    return made


def move(item, to_customer, reason) -> None:
    HoldingMove.objects.create(item=item, to_customer=to_customer, reason=reason,
                               actor_label="test", created_at=NOW)  # fmt: skip


def counts() -> tuple[int, int, int, int]:
    return (Order.objects.count(), Payment.objects.count(),
            Shipment.objects.count(), ImportedRefund.objects.count())  # fmt: skip


def test_it_imports_a_batch_in_one_call(frozen, api_a, merchant_a, customer_a):
    # when
    response = post(api_a, "import_batch", BATCH)

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] == {"orders": 1, "payments": 1, "shipments": 1,
                               "refunds": 1}  # fmt: skip
    assert body["written"] is True
    order = Order.objects.get()
    assert (order.organization, order.customer) == (merchant_a, customer_a)
    # More refunded than captured: kept as the shop reported it.
    assert ImportedRefund.objects.get().amount_minor == 20000


def test_it_changes_nothing_when_the_same_rows_come_again(frozen, api_a, customer_a):
    # given
    post(api_a, "import_batch", BATCH)

    # when
    response = post(api_a, "import_batch", BATCH)

    # then
    assert response.status_code == 200
    assert response.json()["unchanged"] == {"orders": 1, "payments": 1,
                                            "shipments": 1, "refunds": 1}  # fmt: skip
    assert counts() == (1, 1, 1, 1)


@pytest.mark.parametrize(
    ("url_name", "body"),
    [("orders_push", ORDER), ("payments_push", PAYMENT),
     ("shipments_push", SHIPMENT), ("refunds_push", REFUND)],
)  # fmt: skip
def test_it_takes_one_row_at_a_time(frozen, api_a, customer_a, url_name, body):
    # given: what each row needs was pushed before
    needed = {"orders_push": 0, "payments_push": 1, "shipments_push": 1,
              "refunds_push": 2}[url_name]  # fmt: skip
    for earlier in (("orders_push", ORDER), ("payments_push", PAYMENT))[:needed]:
        assert post(api_a, *earlier).status_code == 201

    # when
    first = post(api_a, url_name, body)
    again = post(api_a, url_name, body)

    # then
    assert (first.status_code, again.status_code) == (201, 200)
    kind = url_name.removesuffix("_push")
    assert first.json()["created"][kind] == 1
    assert again.json()["unchanged"][kind] == 1


def test_it_writes_nothing_and_names_every_refused_row(frozen, api_a, customer_a):
    # given
    bad = {
        "orders": [ORDER, {**ORDER, "external_id": "SHOP-2", "customer_number": "X"}],
        "payments": [PAYMENT, {**PAYMENT, "external_id": "PAY-2",
                               "order_external_id": "NOPE"}],
    }  # fmt: skip

    # when
    response = post(api_a, "import_batch", bad)

    # then
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "invalid_input"
    assert problem["detail"] == "2 rows were refused; nothing was imported."
    assert problem["errors"] == [
        {"field": "orders.1", "messages": ["No customer has this customer number."]},
        {"field": "payments.1", "messages": ["No order has the external id NOPE."]},
    ]
    assert counts() == (0, 0, 0, 0)


def test_it_refuses_in_the_schema_what_the_schema_knows(frozen, api_a):
    # when
    response = post(api_a, "orders_push", {**ORDER, "total_minor": 1.5})

    # then
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["total_minor"]


def test_it_checks_without_writing_on_a_dry_run(frozen, api_a, customer_a):
    # when
    response = post(api_a, "import_batch", BATCH, "?dry_run=true")

    # then
    assert response.status_code == 200
    assert response.json()["created"]["orders"] == 1
    assert response.json()["written"] is False
    assert counts() == (0, 0, 0, 0)


def test_it_answers_a_repeated_idempotency_key_with_the_first_answer(frozen, api_a,
                                                                     customer_a):  # fmt: skip
    # when
    first = post(api_a, "import_batch", BATCH, **{"Idempotency-Key": "push-1"})
    second = post(api_a, "import_batch", BATCH, **{"Idempotency-Key": "push-1"})
    other = post(api_a, "import_batch", {"orders": [ORDER]},
                 **{"Idempotency-Key": "push-1"})  # fmt: skip

    # then
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert IdempotencyRecord.objects.count() == 1


def test_it_refuses_commerce_to_a_platform_key(frozen, api_platform):
    # when
    response = post(api_platform, "orders_push", ORDER)

    # then
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM_JSON
    assert Order.objects.count() == 0


# Reading


@pytest.fixture
def pushed(frozen, api_a, customer_a):
    assert post(api_a, "import_batch", BATCH).status_code == 201
    return Order.objects.get()


def test_it_lists_and_shows_an_order(pushed, api_a):
    # when
    listing = api_a.get(reverse("api:order_list"), {"status": "paid"})
    detail = api_a.get(reverse("api:order_detail", args=[pushed.reference]))

    # then
    assert listing.status_code == 200
    assert [order["external_id"] for order in listing.json()["items"]] == ["SHOP-1"]
    body = detail.json()
    assert body["customer_number"] == "C-10001"
    assert body["total_minor"] == 12990
    assert [payment["external_id"] for payment in body["payments"]] == ["PAY-1"]
    assert body["shipments"][0]["tracking_number"] == "6A1"
    assert body["imported_refunds"][0]["payment_external_id"] == "PAY-1"


def test_it_hides_another_merchants_order_item_and_customer(pushed, api_b,
                                                            merchant_a):  # fmt: skip
    # given
    (coin,) = coins(merchant_a, None)

    # when
    responses = [
        api_b.get(reverse("api:order_detail", args=[pushed.reference])),
        api_b.get(reverse("api:item_detail", args=[coin.item_type.code, coin.serial])),
        api_b.get(reverse("api:customer_balances", args=["C-10001"])),
        api_b.get(reverse("api:customer_history", args=["C-10001"])),
    ]
    listing = api_b.get(reverse("api:order_list"))

    # then
    assert [response.status_code for response in responses] == [404] * 4
    assert all(r["Content-Type"] == PROBLEM_JSON for r in responses)
    assert listing.json()["count"] == 0
    assert api_b.get(reverse("api:item_list")).json()["count"] == 0


def test_it_shows_items_and_who_holds_them(frozen, api_a, merchant_a, customer_a):
    # given
    first, second = coins(merchant_a, None, customer_a)

    # when
    held = api_a.get(reverse("api:item_list"), {"customer_number": "C-10001"})
    in_stock = api_a.get(reverse("api:item_list"), {"in_stock": "true"})
    detail = api_a.get(
        reverse("api:item_detail", args=[second.item_type.code, second.serial])
    )

    # then
    assert [item["serial"] for item in held.json()["items"]] == [second.serial]
    assert [item["serial"] for item in in_stock.json()["items"]] == [first.serial]
    assert detail.json()["holder_customer_number"] == "C-10001"
    assert [move["reason"] for move in detail.json()["moves"]] == [
        "stocked",
        "purchase",
    ]


def test_it_shows_a_customers_balances_and_history(frozen, api_a, customer_a):
    # given
    wallet = ledger.customer_account(customer_a, AccountKind.WALLET, "EUR")
    clearing = ledger.account_for(
        customer_a.organization, AccountKind.PROVIDER_CLEARING, "EUR"
    )
    lines = [ledger.Line(wallet, Money(5000, "EUR")),
             ledger.Line(clearing, Money(-5000, "EUR"))]  # fmt: skip
    ledger.post(Actor.system("test"), customer_a.organization, "top_up", lines)

    # when
    balances = api_a.get(reverse("api:customer_balances", args=["C-10001"]))
    history = api_a.get(reverse("api:customer_history", args=["C-10001"]))
    empty = api_a.get(
        reverse("api:customer_history", args=["C-10001"]), {"kind": "store_credit"}
    )

    # then
    assert balances.json()["balances"] == [
        {"kind": "wallet", "currency": "EUR", "balance_minor": 5000}
    ]
    assert history.json()["balance_minor"] == 5000
    assert [(line["kind"], line["amount_minor"]) for line in history.json()["items"]
            ] == [("top_up", 5000)]  # fmt: skip
    assert empty.json()["count"] == 0


def test_it_declares_every_answer_of_the_commerce_routes(frozen, client, api_a, api_b,
                                                         api_platform, customer_a):  # fmt: skip
    # given
    schema = client.get(reverse("api:openapi-json")).json()["paths"]
    seen = [
        ("post", "/api/v1/imports", post(api_a, "import_batch", BATCH,
                                         **{"Idempotency-Key": "k"})),
        ("post", "/api/v1/imports", post(api_a, "import_batch", {},
                                         **{"Idempotency-Key": "k"})),
        ("post", "/api/v1/orders", post(api_a, "orders_push", ORDER)),
        ("post", "/api/v1/orders", post(api_a, "orders_push", {"external_id": ""})),
        ("post", "/api/v1/orders", post(api_platform, "orders_push", ORDER)),
        ("post", "/api/v1/payments", post(client, "payments_push", PAYMENT)),
        ("post", "/api/v1/refunds", post(api_a, "refunds_push",
                                         {**REFUND, "payment_external_id": "X"})),
        ("get", "/api/v1/orders", api_a.get(reverse("api:order_list"))),
        ("get", "/api/v1/orders/{reference}",
         api_b.get(reverse("api:order_detail", args=["CMD-NONE"]))),
        ("get", "/api/v1/customers/{customer_number}/balances",
         api_a.get(reverse("api:customer_balances", args=["C-10001"]))),
    ]  # fmt: skip

    # then
    assert {response.status_code for _m, _p, response in seen} == {
        200, 201, 401, 403, 404, 409, 422}  # fmt: skip
    for method, path, response in seen:
        declared = schema[path][method]["responses"][str(response.status_code)]
        media_type = response["Content-Type"].split(";")[0]
        assert media_type in declared["content"], (method, path, response.status_code)
