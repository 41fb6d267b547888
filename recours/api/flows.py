"""Money flows through the machine API: reserve, check out, buy now, release,
top up, withdraw and sell back, each one call of recours.commerce.actions.

A refused flow changes nothing and answers with the action's error as
problem+json: 409 for a conflict ("already_sold", "insufficient_balance",
"reservation_expired"…), 422 for bad input. Every POST takes an
Idempotency-Key. A merchant's key reaches only its own customers, items and
reservations; anything else is 404.
"""

import json
from collections.abc import Callable
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Path, Router

from recours.accounts.models import Customer, Organization
from recours.api.cases import IdempotencyKey
from recours.api.commerce import (
    PROBLEMS,
    PathText,
    actor_of,
    customer_of,
    describe_order,
    merchant_of,
)
from recours.api.commerce_schemas import (
    CheckoutIn,
    ItemRef,
    Movement,
    OrderDetail,
    PaymentPartIn,
    PurchaseIn,
    ReservationIn,
    ReservationOut,
    SeatsIn,
    SellBackIn,
    TransferIn,
)
from recours.api.problems import PROBLEM_MEDIA_TYPE, describe
from recours.commerce import actions
from recours.commerce.models import Contingent, Item, Reservation
from recours.core.errors import Conflict, InvalidInput, NotFound
from recours.core.idempotency import run_once
from recours.core.money import Money
from recours.ledger.models import AccountKind
from recours.ledger.queries import customer_accounts

router = Router(tags=["money flows"])

ReservationId = Annotated[int, Path(ge=1, lt=2**63)]
Result = tuple[int, dict[str, Any]]


def once(
    request: HttpRequest, name: str, key: str | None, payload: Any,
    action: Callable[[], Result],
) -> HttpResponse:  # fmt: skip
    """Run the flow, or give back the first answer to this Idempotency-Key.

    A refusal (409) is an answer too, as for the payment providers: the same
    key gets it again, and what the refusal recorded on purpose (a losing
    checkout's voided card payment) is committed with it instead of being
    rolled back with the request.
    """
    if key is None:
        status_code, body = action()
        return JsonResponse(body, status=status_code)
    organization = merchant_of(request)[1]
    status_code, body = run_once(
        scope=f"api:{organization.pk}:{name}",
        key=key,
        payload={"path": request.path, "body": payload},
        action=refusals_answered(action),
    )
    if status_code >= 400:
        return HttpResponse(
            json.dumps(body), status=status_code, content_type=PROBLEM_MEDIA_TYPE
        )
    return JsonResponse(body, status=status_code)


def refusals_answered(action: Callable[[], Result]) -> Callable[[], Result]:
    def run() -> Result:
        try:
            return action()
        except Conflict as error:
            return error.status, describe(error)

    return run


# Finding what a request names, inside the key's merchant


def items_named(organization: Organization, refs: list[ItemRef]) -> list[Item]:
    items, missing = [], {}
    for index, ref in enumerate(refs):
        item = (
            Item.objects.filter(item_type__organization=organization,
                                item_type__code=ref.item_type,
                                serial=ref.serial.strip().upper())
            .select_related("item_type").first()
        )  # fmt: skip
        if item is None:
            missing[f"items.{index}"] = [_("There is no such item.")]
        else:
            items.append(item)
    if missing:
        raise InvalidInput(_("Some items do not exist."), fields=missing)
    return items


def seats_named(organization: Organization, requests: list[SeatsIn]) -> list:
    seats, missing = [], {}
    contingents = Contingent.objects.filter(
        session__event__organization=organization
    ).select_related("session__event", "category")
    for index, request in enumerate(requests):
        contingent = contingents.filter(pk=request.contingent_id).first()
        if contingent is None:
            missing[f"seats.{index}"] = [_("There is no such contingent.")]
        else:
            seats.append(actions.Seats(contingent, request.quantity))
    if missing:
        raise InvalidInput(_("Some contingents do not exist."), fields=missing)
    return seats


def reservation_of(organization: Organization, reservation_id: int) -> Reservation:
    reservation = (
        Reservation.objects.filter(organization=organization, pk=reservation_id)
        .select_related("customer", "order")
        .first()
    )
    if reservation is None:
        raise NotFound(_("There is no basket with this id."))
    return reservation


def parts_of(payments: list[PaymentPartIn]) -> list[actions.PaymentPart]:
    return [
        actions.PaymentPart(
            method=part.method,
            amount=Money(part.amount_minor, part.currency),
            provider_payment_id=part.provider_payment_id,
        )
        for part in payments
    ]


def describe_reservation(reservation: Reservation) -> dict[str, Any]:
    lines = reservation.lines.filter(item__isnull=False).select_related(
        "item__item_type"
    )
    return {
        "id": reservation.pk,
        "customer_number": reservation.customer.customer_number,
        "status": reservation.status,
        "created_at": reservation.created_at,
        "expires_at": reservation.expires_at,
        "items": [
            {"item_type": line.item.item_type.code, "serial": line.item.serial}
            for line in lines.order_by("pk")
            if line.item is not None
        ],
        "order_reference": reservation.order.reference if reservation.order else None,
    }


def as_json(schema: Any, data: Any) -> dict[str, Any]:
    return schema.model_validate(data).model_dump(mode="json")


def order_body(order: Any) -> dict[str, Any]:
    order.refresh_from_db()
    return as_json(OrderDetail, describe_order(order))


# Reservations and checkout


@router.post(
    "/customers/{customer_number}/reservations",
    url_name="reservation_create",
    summary="Hold items and seats for a customer (RESERVATION_MINUTES)",
    response={201: ReservationOut, **PROBLEMS},
)
def reserve(
    request: HttpRequest, customer_number: PathText, basket: ReservationIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    key, organization = merchant_of(request)
    customer = customer_of(organization, customer_number)

    def action() -> Result:
        reservation = actions.reserve(
            actor_of(key), customer, items_named(organization, basket.items),
            seats_named(organization, basket.seats),
        )  # fmt: skip
        return 201, as_json(ReservationOut, describe_reservation(reservation))

    return once(request, "reserve", idempotency_key, basket.model_dump(), action)


@router.post(
    "/reservations/{reservation_id}/checkout",
    url_name="reservation_checkout",
    summary="Pay for a basket: the first validated payment of an item wins",
    description=(
        "One transaction locks the basket, its items and the accounts, moves the "
        "money and the items and marks the order paid. A basket whose item was "
        "sold meanwhile gets 409 `already_sold` and pays nothing (its card "
        "payment is recorded as voided); not enough in the wallet is 409 "
        "`insufficient_balance`; an expired basket is 409 `reservation_expired`."
    ),
    response={201: OrderDetail, **PROBLEMS},
)
def checkout(
    request: HttpRequest, reservation_id: ReservationId, payment: CheckoutIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    key, organization = merchant_of(request)
    reservation = reservation_of(organization, reservation_id)

    def action() -> Result:
        order = actions.checkout(
            actor_of(key),
            reservation,
            parts_of(payment.payments),
            protect=payment.protect,
        )
        return 201, order_body(order)

    return once(request, "checkout", idempotency_key, payment.model_dump(), action)


@router.post(
    "/reservations/{reservation_id}/release",
    url_name="reservation_release",
    summary="Give a basket's items and seats back before it expires",
    response={200: ReservationOut, **PROBLEMS},
)
def release(
    request: HttpRequest, reservation_id: ReservationId,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    key, organization = merchant_of(request)
    reservation = reservation_of(organization, reservation_id)

    def action() -> Result:
        actions.release(actor_of(key), reservation)
        reservation.refresh_from_db()
        return 200, as_json(ReservationOut, describe_reservation(reservation))

    return once(request, "release", idempotency_key, None, action)


@router.post(
    "/customers/{customer_number}/purchases",
    url_name="purchase_create",
    summary="Buy items now: reserve and pay in one transaction",
    description="As a reservation then its checkout, with the same 409 answers.",
    response={201: OrderDetail, **PROBLEMS},
)
def purchase(
    request: HttpRequest, customer_number: PathText, basket: PurchaseIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    key, organization = merchant_of(request)
    customer = customer_of(organization, customer_number)

    def action() -> Result:
        items = items_named(organization, basket.items)
        order = actions.buy(
            actor_of(key),
            customer,
            items,
            parts_of(basket.payments),
            protect=basket.protect,
        )
        return 201, order_body(order)

    return once(request, "purchase", idempotency_key, basket.model_dump(), action)


# Wallet and portfolio


def movement(customer: Customer, kind: str, amount: Money) -> dict[str, Any]:
    wallet = customer_accounts(customer).get(
        kind=AccountKind.WALLET, currency=amount.currency
    )
    return {
        "kind": kind,
        "amount_minor": amount.amount_minor,
        "currency": amount.currency,
        "balance_minor": wallet.balance_minor,
    }


@router.post(
    "/customers/{customer_number}/top-ups",
    url_name="top_up_create",
    summary="Credit a customer's wallet with a bank transfer received",
    description="A transfer reference is credited once: again is 409 "
    "`duplicate_top_up`.",
    response={201: Movement, **PROBLEMS},
)
def top_up(
    request: HttpRequest, customer_number: PathText, transfer: TransferIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    return wallet_transfer(request, customer_number, transfer, idempotency_key,
                           actions.top_up, "top_up")  # fmt: skip


@router.post(
    "/customers/{customer_number}/withdrawals",
    url_name="withdrawal_create",
    summary="Pay money out of a customer's wallet to their bank",
    description="More than the wallet holds is 409 `insufficient_balance`.",
    response={201: Movement, **PROBLEMS},
)
def withdraw(
    request: HttpRequest, customer_number: PathText, transfer: TransferIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    return wallet_transfer(request, customer_number, transfer, idempotency_key,
                           actions.withdraw, "withdrawal")  # fmt: skip


def wallet_transfer(
    request: HttpRequest, customer_number: str, transfer: TransferIn,
    idempotency_key: str | None, move: Callable[..., Any], kind: str,
) -> HttpResponse:  # fmt: skip
    """A bank transfer into the wallet (top-up) or out of it (withdrawal)."""
    key, organization = merchant_of(request)
    customer = customer_of(organization, customer_number)
    amount = Money(transfer.amount_minor, transfer.currency)

    def action() -> Result:
        move(actor_of(key), customer, amount, transfer.reference)
        return 201, movement(
            customer, kind, -amount if kind == "withdrawal" else amount
        )

    return once(request, move.__name__, idempotency_key, transfer.model_dump(), action)


@router.post(
    "/customers/{customer_number}/sell-backs",
    url_name="sell_back_create",
    summary="Buy an item back: it leaves the portfolio, its price reaches the wallet",
    description="An item the customer does not hold is 409 `not_held`.",
    response={201: Movement, **PROBLEMS},
)
def sell_back(
    request: HttpRequest, customer_number: PathText, item: SellBackIn,
    idempotency_key: IdempotencyKey = None,
) -> HttpResponse:  # fmt: skip
    key, organization = merchant_of(request)
    customer = customer_of(organization, customer_number)

    def action() -> Result:
        (found,) = items_named(organization, [item])
        actions.sell_back(actor_of(key), customer, found)
        price = Money(found.item_type.buyback_price_minor, found.item_type.currency)
        return 201, movement(customer, "sell_back", price)

    return once(request, "sell_back", idempotency_key, item.model_dump(), action)
