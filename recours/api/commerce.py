"""Commerce through the machine API: push the shop's data, read orders, items
and a customer's balances.

Only a merchant's key reaches these routes, and it sees its own
organization's rows only: another merchant's order, item or customer is "not
found", so its existence is not revealed.
"""

from collections.abc import Callable
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import Path, Query, Router, Schema

from recours.accounts.models import ApiKey, Customer, Organization
from recours.api.auth import request_key
from recours.api.cases import IdempotencyKey
from recours.api.commerce_schemas import (
    Balances,
    DryRun,
    HistoryFilters,
    HistoryPage,
    ImportIn,
    ImportResult,
    ItemDetail,
    ItemFilters,
    ItemPage,
    OrderDetail,
    OrderFilters,
    OrderIn,
    OrderPage,
    PaymentIn,
    RefundIn,
    ShipmentIn,
)
from recours.api.schemas import NO_NUL_PATTERN, ProblemDetails
from recours.commerce import imports
from recours.commerce.models import Item, Order
from recours.core.audit import Actor
from recours.core.errors import InvalidInput, NotFound, PermissionDenied
from recours.core.idempotency import run_once
from recours.ledger.queries import customer_accounts, history

router = Router(tags=["commerce"])

PathText = Annotated[str, Path(max_length=80, pattern=NO_NUL_PATTERN)]
PROBLEMS: dict[int, Any] = {
    code: ProblemDetails for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
PUSH_RESPONSES = {200: ImportResult, 201: ImportResult, **PROBLEMS}
READ_PROBLEMS = {code: ProblemDetails for code in (401, 403, 404, 422, 429)}


def merchant_of(request: HttpRequest) -> tuple[ApiKey, Organization]:
    key = request_key(request)
    if key.organization.is_platform:
        raise PermissionDenied(
            _("Commerce data belongs to a merchant: use a merchant's API key.")
        )
    return key, key.organization


def actor_of(key: ApiKey) -> Actor:
    return Actor(label=f"api:{key.prefix}", organization_id=key.organization_id)


# Pushing the shop's data


def batch_from(body: ImportIn) -> imports.Batch:
    """The same checks as a CSV file: each row's fields go through the CSV
    column parsers, its position in the list standing for the line number."""
    batch = imports.Batch()
    for kind in imports.KINDS:
        for index, row in enumerate(getattr(body, kind)):
            cells = {name: cell(value) for name, value in row.model_dump().items()}
            imports.add_row(batch, kind, index, cells)
    return batch


def cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def refused(report: imports.Report, single: bool) -> InvalidInput:
    fields = {
        ("" if single else f"{rejection.kind}.{rejection.line}"): list(
            rejection.reasons
        )
        for rejection in report.rejected
    }
    count = len(report.rejected)
    message = ngettext(
        "%(count)s row was refused; nothing was imported.",
        "%(count)s rows were refused; nothing was imported.",
        count,
    ) % {"count": count}
    return InvalidInput(message, fields=fields)


def push(
    request: HttpRequest,
    body: ImportIn,
    idempotency_key: str | None,
    *,
    dry_run: bool = False,
    single: bool = False,
) -> JsonResponse:
    key, organization = merchant_of(request)

    def action() -> tuple[int, dict[str, Any]]:
        report = imports.run_import(
            actor_of(key), organization, batch_from(body), dry_run=dry_run
        )
        if report.rejected:
            raise refused(report, single)
        created = sum(report.created.values()) and not dry_run
        return (201 if created else 200), result_of(report)

    if idempotency_key is None:
        status_code, data = action()
    else:
        status_code, data = run_once(
            scope=f"api:{organization.pk}:commerce.import",
            key=idempotency_key,
            payload={"body": body.model_dump(mode="json"), "dry_run": dry_run},
            action=action,
        )
    return JsonResponse(data, status=status_code)


def result_of(report: imports.Report) -> dict[str, Any]:
    data = report.as_data()
    return {name: data[name] for name in ("created", "unchanged", "dry_run", "written")}


@router.post(
    "/imports",
    url_name="import_batch",
    summary="Push orders, payments, shipments and refunds in one batch",
    description=(
        "Every row is checked first, then all are written in one transaction, or "
        "none: a 422 names each refused row (`payments.3`: the fourth payment). "
        "Rows already pushed with the same external id and values are left as "
        "they are and counted as unchanged; an import never changes a row. "
        "201 when something was written, 200 otherwise."
    ),
    response=PUSH_RESPONSES,
)
def import_batch(
    request: HttpRequest,
    body: ImportIn,
    options: Query[DryRun],
    idempotency_key: IdempotencyKey = None,
) -> JsonResponse:
    return push(request, body, idempotency_key, dry_run=options.dry_run)


def push_one(kind: str, schema: type[Schema]) -> Callable[..., JsonResponse]:
    def route(
        request: HttpRequest, row: Any, idempotency_key: IdempotencyKey = None
    ) -> JsonResponse:
        body = ImportIn(**{kind: [row]})
        return push(request, body, idempotency_key, single=True)

    route.__annotations__["row"] = schema
    route.__name__ = f"push_{kind}"
    return route


for _kind, _schema in (("orders", OrderIn), ("payments", PaymentIn),
                       ("shipments", ShipmentIn), ("refunds", RefundIn)):  # fmt: skip
    router.post(
        f"/{_kind}",
        url_name=f"{_kind}_push",
        summary=f"Push one of your shop's {_kind} (as one row of /imports)",
        response=PUSH_RESPONSES,
    )(push_one(_kind, _schema))


# Reading orders and items


def page(rows: QuerySet, filters: Any) -> dict[str, Any]:
    count = rows.count()
    end = filters.offset + filters.limit
    return {
        "count": count,
        "limit": filters.limit,
        "offset": filters.offset,
        "next_offset": end if end < count else None,
        "items": list(rows[filters.offset : end]),
    }


def order_rows(organization: Organization) -> QuerySet[Order]:
    return Order.objects.filter(organization=organization).select_related(
        "customer", "terminal"
    )


def filtered_orders(orders: QuerySet[Order], filters: OrderFilters) -> QuerySet[Order]:
    if filters.status is not None:
        orders = orders.filter(status=filters.status)
    if filters.external_id is not None:
        orders = orders.filter(external_id=filters.external_id)
    if filters.customer_number is not None:
        orders = orders.filter(customer__customer_number=filters.customer_number)
    if filters.placed_after is not None:
        orders = orders.filter(placed_at__gte=filters.placed_after)
    if filters.placed_before is not None:
        orders = orders.filter(placed_at__lt=filters.placed_before)
    return orders.order_by("-placed_at", "-id")


@router.get(
    "/orders",
    url_name="order_list",
    summary="Your orders, newest first",
    response={200: OrderPage, **READ_PROBLEMS},
)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    _key, organization = merchant_of(request)
    result = page(filtered_orders(order_rows(organization), filters), filters)
    result["items"] = [order_fields(order) for order in result["items"]]
    return result


@router.get(
    "/orders/{reference}",
    url_name="order_detail",
    summary="An order with its lines, payments, shipments and imported refunds",
    response={200: OrderDetail, **READ_PROBLEMS},
)
def order_detail(request: HttpRequest, reference: PathText) -> dict[str, Any]:
    _key, organization = merchant_of(request)
    order = order_rows(organization).filter(reference=reference.strip()).first()
    if order is None:
        raise NotFound(_("There is no order with this reference."))
    return describe_order(order)


def describe_order(order: Order) -> dict[str, Any]:
    payments = list(order.payments.order_by("created_at", "pk"))
    return {
        **order_fields(order),
        "lines": [line_fields(line) for line in lines_of(order)],
        "payments": payments,
        "shipments": list(order.shipments.order_by("pk")),
        "imported_refunds": [
            {
                "external_id": refund.external_id,
                "payment_external_id": payment.external_id,
                "amount_minor": refund.amount_minor,
                "currency": refund.currency,
                "refunded_at": refund.refunded_at,
            }
            for payment in payments
            for refund in payment.imported_refunds.order_by("refunded_at", "pk")
        ],
    }


def lines_of(order: Order) -> QuerySet:
    return order.lines.select_related("item__item_type").order_by("pk")


def order_fields(order: Order) -> dict[str, Any]:
    return {
        "reference": order.reference,
        "external_id": order.external_id,
        "invoice_reference": order.invoice_reference,
        "customer_number": order.customer.customer_number if order.customer else None,
        "terminal_code": order.terminal.code if order.terminal else None,
        "status": order.status,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "placed_at": order.placed_at,
        "protected": order.is_protected,
        "protection_ends_at": order.protection_ends_at,
        "protection_ended_at": order.protection_ended_at,
        "protection_end_reason": order.protection_end_reason,
    }


def line_fields(line: Any) -> dict[str, Any]:
    item = line.item
    return {
        "description": line.description,
        "quantity": line.quantity,
        "unit_price_minor": line.unit_price_minor,
        "currency": line.currency,
        "item_type": item.item_type.code if item else None,
        "serial": item.serial if item else None,
    }


def item_rows(organization: Organization) -> QuerySet[Item]:
    return (
        Item.objects.filter(item_type__organization=organization)
        .select_related("item_type", "holding__customer")
        .order_by("item_type__code", "serial")
    )


def filtered_items(items: QuerySet[Item], filters: ItemFilters) -> QuerySet[Item]:
    if filters.customer_number is not None:
        items = items.filter(holding__customer__customer_number=filters.customer_number)
    if filters.item_type is not None:
        items = items.filter(item_type__code=filters.item_type)
    if filters.in_stock is not None:
        items = items.filter(holding__customer__isnull=filters.in_stock)
    return items


def item_fields(item: Item) -> dict[str, Any]:
    holding = getattr(item, "holding", None)
    holder = holding.customer if holding is not None else None
    return {
        "item_type": item.item_type.code,
        "item_type_name": item.item_type.name,
        "serial": item.serial,
        "holder_customer_number": holder.customer_number if holder else None,
        "held_since": holding.since if holding is not None else None,
    }


@router.get(
    "/items",
    url_name="item_list",
    summary="Your serialized items and who holds each",
    response={200: ItemPage, **READ_PROBLEMS},
)
def list_items(request: HttpRequest, filters: Query[ItemFilters]) -> dict[str, Any]:
    _key, organization = merchant_of(request)
    result = page(filtered_items(item_rows(organization), filters), filters)
    result["items"] = [item_fields(item) for item in result["items"]]
    return result


@router.get(
    "/items/{item_type}/{serial}",
    url_name="item_detail",
    summary="An item, its holder and its history of moves",
    response={200: ItemDetail, **READ_PROBLEMS},
)
def item_detail(
    request: HttpRequest, item_type: PathText, serial: PathText
) -> dict[str, Any]:
    _key, organization = merchant_of(request)
    item = item_of(organization, item_type, serial)
    moves = item.moves.select_related("from_customer", "to_customer").order_by(
        "created_at", "pk"
    )
    return {
        **item_fields(item),
        "moves": [
            {
                "reason": move.reason,
                "from_customer_number": number_of(move.from_customer),
                "to_customer_number": number_of(move.to_customer),
                "created_at": move.created_at,
            }
            for move in moves
        ],
    }


def item_of(organization: Organization, item_type: str, serial: str) -> Item:
    item = item_rows(organization).filter(
        item_type__code=item_type, serial=serial.strip().upper()
    )
    found = item.first()
    if found is None:
        raise NotFound(_("There is no item with this type and serial number."))
    return found


def number_of(customer: Customer | None) -> str | None:
    return customer.customer_number if customer is not None else None


# A customer's wallet and store credit


def customer_of(organization: Organization, customer_number: str) -> Customer:
    customer = Customer.objects.filter(
        organization=organization, customer_number=customer_number.strip()
    ).first()
    if customer is None:
        raise NotFound(_("There is no customer with this number."))
    return customer


@router.get(
    "/customers/{customer_number}/balances",
    url_name="customer_balances",
    summary="A customer's wallet and store-credit balances, per currency",
    response={200: Balances, **READ_PROBLEMS},
)
def balances(request: HttpRequest, customer_number: PathText) -> dict[str, Any]:
    _key, organization = merchant_of(request)
    customer = customer_of(organization, customer_number)
    return {
        "customer_number": customer.customer_number,
        "balances": [
            {
                "kind": account.kind,
                "currency": account.currency,
                "balance_minor": account.balance_minor,
            }
            for account in customer_accounts(customer)
        ],
    }


@router.get(
    "/customers/{customer_number}/history",
    url_name="customer_history",
    summary="The movements of a customer's wallet or store credit, newest first",
    response={200: HistoryPage, **READ_PROBLEMS},
)
def account_history(
    request: HttpRequest, customer_number: PathText, filters: Query[HistoryFilters]
) -> dict[str, Any]:
    _key, organization = merchant_of(request)
    customer = customer_of(organization, customer_number)
    account = (
        customer_accounts(customer)
        .filter(kind=filters.kind, currency=filters.currency)
        .first()
    )
    if account is None:
        return {**page(Order.objects.none(), filters), "balance_minor": 0}
    result = page(history(account), filters)
    result["balance_minor"] = account.balance_minor
    result["items"] = [
        {
            "created_at": posting.entry.created_at,
            "kind": posting.entry.kind,
            "memo": posting.entry.memo,
            "amount_minor": posting.amount_minor,
            "currency": posting.currency,
        }
        for posting in result["items"]
    ]
    return result
