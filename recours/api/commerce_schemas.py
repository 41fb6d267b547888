"""What the commerce routes read and write: pushed rows, orders, items, balances.

Amounts are integer minor units (cents) with an ISO 4217 currency, as
`total_minor: 12990, currency: "EUR"` for 129.90 EUR. Pushed rows carry the
same fields as the CSV columns of `recours import` and go through the same
checks (recours.commerce.imports).
"""

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import ConfigDict, StringConstraints
from pydantic.config import JsonDict

from recours.api.schemas import (
    NO_NUL_PATTERN,
    OFFSET_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    Code,
    Identifier,
    Moment,
)
from recours.commerce.models import Order, Payment
from recours.core.money import AMOUNT_MINOR_LIMIT
from recours.ledger.models import AccountKind

# The most rows one push may carry, per kind.
BATCH_ROWS_MAX = 1000

ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00]*\S[^\x00]*$")
]
ProviderText = Annotated[str, StringConstraints(max_length=80, pattern=NO_NUL_PATTERN)]
ShortText = Annotated[str, StringConstraints(max_length=30, pattern=NO_NUL_PATTERN)]
CarrierText = Annotated[str, StringConstraints(max_length=60, pattern=NO_NUL_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
AmountMinor = Annotated[int, Field(ge=0, lt=AMOUNT_MINOR_LIMIT)]
PositiveMinor = Annotated[int, Field(gt=0, lt=AMOUNT_MINOR_LIMIT)]


ORDER_EXAMPLE: JsonDict = {
    "external_id": "SHOP-1001",
    "invoice_reference": "F-2026-1001",
    "status": "paid",
    "total_minor": 12990,
    "currency": "EUR",
    "placed_at": "2026-03-01T10:00:00+01:00",
}
PAYMENT_EXAMPLE: JsonDict = {
    "external_id": "PAY-1001",
    "order_external_id": "SHOP-1001",
    "method": "card",
    "status": "captured",
    "amount_minor": 12990,
    "currency": "EUR",
    "provider": "stripe",
    "provider_payment_id": "pi_3Nx1001",
    "created_at": "2026-03-01T10:01:00+01:00",
}
SHIPMENT_EXAMPLE: JsonDict = {
    "external_id": "SHIP-1001",
    "order_external_id": "SHOP-1001",
    "carrier": "colissimo",
    "tracking_number": "6A12345678901",
    "shipped_at": "2026-03-02T08:00:00Z",
}
REFUND_EXAMPLE: JsonDict = {
    "external_id": "REF-1001",
    "order_external_id": "SHOP-1001",
    "payment_external_id": "PAY-1001",
    "amount_minor": 2990,
    "currency": "EUR",
    "refunded_at": "2026-03-05T09:00:00Z",
}


def with_examples(*examples: JsonDict) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class OrderIn(Schema):
    """An order of the operator's shop. Its customer and kiosk, when given,
    must be the key's merchant's; a reference, when given, must be free."""

    model_config = with_examples(ORDER_EXAMPLE)

    external_id: ExternalId = Field(description="The order's id in your shop.")
    reference: Identifier = Field("", description="Generated (CMD-…) when empty.")
    invoice_reference: Identifier = ""
    customer_number: Identifier = ""
    terminal_code: Code = ""
    status: Order.Status
    total_minor: AmountMinor
    currency: Currency
    placed_at: Moment
    protected: bool = Field(
        False,
        description="The buyer opted in to buyer protection: PROTECTION_DAYS from "
        "placed_at, a reminder on day PROTECTION_REMINDER_DAY. Needs a customer "
        "with an e-mail address or a mobile number.",
    )


class PaymentIn(Schema):
    """A payment on an order, pushed before or in the same batch."""

    model_config = with_examples(PAYMENT_EXAMPLE)

    external_id: ExternalId
    order_external_id: ExternalId
    method: Payment.Method
    status: Payment.Status
    amount_minor: PositiveMinor
    captured_minor: AmountMinor | None = Field(
        None, description="The whole amount when captured, else 0, if left out."
    )
    currency: Currency
    provider: ShortText = ""
    provider_payment_id: ProviderText = Field(
        "", description="The provider's id; never a card number."
    )
    created_at: Moment
    due_at: Moment | None = None


class ShipmentIn(Schema):
    model_config = with_examples(SHIPMENT_EXAMPLE)

    external_id: ExternalId
    order_external_id: ExternalId
    carrier: CarrierText = ""
    tracking_number: ProviderText = ""
    shipped_at: Moment | None = None
    delivered_at: Moment | None = None


class RefundIn(Schema):
    """A refund your shop made, kept as reported (even above what was captured)."""

    model_config = with_examples(REFUND_EXAMPLE)

    external_id: ExternalId
    order_external_id: ExternalId
    payment_external_id: ExternalId
    amount_minor: PositiveMinor
    currency: Currency
    refunded_at: Moment


class ImportIn(Schema):
    """Any of the four kinds, checked together and written together or not at all."""

    model_config = with_examples(
        {
            "orders": [ORDER_EXAMPLE],
            "payments": [PAYMENT_EXAMPLE],
            "shipments": [SHIPMENT_EXAMPLE],
            "refunds": [REFUND_EXAMPLE],
        }
    )

    orders: list[OrderIn] = Field([], max_length=BATCH_ROWS_MAX)
    payments: list[PaymentIn] = Field([], max_length=BATCH_ROWS_MAX)
    shipments: list[ShipmentIn] = Field([], max_length=BATCH_ROWS_MAX)
    refunds: list[RefundIn] = Field([], max_length=BATCH_ROWS_MAX)


class KindCounts(Schema):
    orders: int
    payments: int
    shipments: int
    refunds: int


class ImportResult(Schema):
    """What an import did. A refused import is a 422 naming every refused row."""

    created: KindCounts = Field(description="Rows written (or, on a dry run, to be).")
    unchanged: KindCounts = Field(
        description="Rows imported before, left as they were."
    )
    dry_run: bool
    written: bool


class DryRun(Schema):
    dry_run: bool = Field(False, description="Check and report; write nothing.")


# Reading


class PageFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    offset: int = Field(0, ge=0, le=OFFSET_MAX)


class OrderFilters(PageFilters):
    status: Order.Status | None = None
    external_id: ExternalId | None = None
    customer_number: Identifier | None = None
    placed_after: Moment | None = Field(None, description="Inclusive.")
    placed_before: Moment | None = Field(None, description="Exclusive.")


class OrderOut(Schema):
    reference: str
    external_id: str
    invoice_reference: str
    customer_number: str | None
    terminal_code: str | None
    status: str
    total_minor: int
    currency: str
    placed_at: datetime
    protected: bool = Field(description="The buyer opted in to buyer protection.")
    protection_ends_at: datetime | None = Field(
        description="When the protection's window closes; null when not protected."
    )
    protection_ended_at: datetime | None = Field(
        description="When the protection ended; null while it runs."
    )
    protection_end_reason: str = Field(
        description='"confirmed" (the customer said all went well), "expired", '
        "or empty while it runs."
    )


class OrderLineOut(Schema):
    description: str
    quantity: int
    unit_price_minor: int
    currency: str
    item_type: str | None = Field(description="The item type's code, for an item.")
    serial: str | None


class PaymentOut(Schema):
    external_id: str
    method: str
    status: str
    amount_minor: int
    captured_minor: int
    refunded_minor: int
    currency: str
    provider: str
    provider_payment_id: str
    created_at: datetime
    due_at: datetime | None


class ShipmentOut(Schema):
    external_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime | None
    delivered_at: datetime | None


class ImportedRefundOut(Schema):
    external_id: str
    payment_external_id: str
    amount_minor: int
    currency: str
    refunded_at: datetime


class OrderDetail(OrderOut):
    lines: list[OrderLineOut]
    payments: list[PaymentOut]
    shipments: list[ShipmentOut]
    imported_refunds: list[ImportedRefundOut]


class OrderPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="null on the last page.")
    items: list[OrderOut]


class ItemFilters(PageFilters):
    customer_number: Identifier | None = Field(
        None, description="Only the items this customer holds."
    )
    item_type: Identifier | None = Field(None, description="An item type's code.")
    in_stock: bool | None = Field(None, description="Only the unsold (or sold) ones.")


class ItemOut(Schema):
    item_type: str = Field(description="The item type's code.")
    item_type_name: str
    serial: str
    holder_customer_number: str | None = Field(description="null: in stock.")
    held_since: datetime | None


class ItemMove(Schema):
    reason: str
    from_customer_number: str | None
    to_customer_number: str | None
    created_at: datetime


class ItemDetail(ItemOut):
    moves: list[ItemMove]


class ItemPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[ItemOut]


class Balance(Schema):
    kind: str = Field(description="wallet or store_credit.")
    currency: str
    balance_minor: int


class Balances(Schema):
    customer_number: str
    balances: list[Balance]


CustomerKind = Annotated[
    str,
    StringConstraints(pattern=f"^({AccountKind.WALLET}|{AccountKind.STORE_CREDIT})$"),
]


class HistoryFilters(PageFilters):
    kind: CustomerKind = Field("wallet", description="wallet or store_credit.")
    currency: Currency = "EUR"


class HistoryLine(Schema):
    created_at: datetime
    kind: str = Field(description="What happened: top_up, checkout, sell_back…")
    memo: str
    amount_minor: int = Field(description="Signed: money in is positive.")
    currency: str


class HistoryPage(Schema):
    count: int
    limit: int
    offset: int
    next_offset: int | None
    balance_minor: int
    items: list[HistoryLine]


# Money flows: reservations, checkout, wallet, sell-back

# The most items or seat requests in one basket, and payments in one checkout.
BASKET_LINES_MAX = 50
PAYMENT_PARTS_MAX = 5

ITEM_EXAMPLE: JsonDict = {"item_type": "BRIT-1OZ", "serial": "BR-00000018"}
CARD_PART_EXAMPLE: JsonDict = {
    "method": "card",
    "amount_minor": 25000,
    "currency": "EUR",
    "provider_payment_id": "pi_3Nx2002",
}
WALLET_PART_EXAMPLE: JsonDict = {
    "method": "wallet",
    "amount_minor": 25000,
    "currency": "EUR",
}


class ItemRef(Schema):
    item_type: Identifier = Field(description="The item type's code.")
    serial: Identifier


class SeatsIn(Schema):
    contingent_id: int = Field(ge=1, lt=2**63)
    quantity: int = Field(ge=1, le=100)


class ReservationIn(Schema):
    """Items and seats to hold for the customer (RESERVATION_MINUTES)."""

    model_config = with_examples({"items": [ITEM_EXAMPLE]})

    items: list[ItemRef] = Field([], max_length=BASKET_LINES_MAX)
    seats: list[SeatsIn] = Field([], max_length=BASKET_LINES_MAX)


class ReservationOut(Schema):
    id: int
    customer_number: str
    status: str
    created_at: datetime
    expires_at: datetime
    items: list[ItemRef]
    order_reference: str | None


class PaymentPartIn(Schema):
    method: Payment.Method = Field(
        description="card, wallet, store_credit or bank_transfer (alone, deferred)."
    )
    amount_minor: PositiveMinor
    currency: Currency
    provider_payment_id: ProviderText = Field(
        "", description="For a card: the provider's payment id, never the number."
    )


class CheckoutIn(Schema):
    """How the customer pays; the parts must cover the total exactly."""

    model_config = with_examples(
        {"payments": [CARD_PART_EXAMPLE]}, {"payments": [WALLET_PART_EXAMPLE]}
    )

    payments: list[PaymentPartIn] = Field(min_length=1, max_length=PAYMENT_PARTS_MAX)
    protect: bool = Field(
        False,
        description="The buyer opts in to buyer protection (PROTECTION_DAYS from "
        "the order). Needs the customer's e-mail address or mobile number.",
    )


class PurchaseIn(CheckoutIn):
    """Reserve and pay at once ("buy now")."""

    model_config = with_examples(
        {"items": [ITEM_EXAMPLE], "payments": [CARD_PART_EXAMPLE]}
    )

    items: list[ItemRef] = Field(min_length=1, max_length=BASKET_LINES_MAX)


class TransferIn(Schema):
    """Money into (top-up) or out of (withdrawal) the customer's wallet."""

    model_config = with_examples(
        {"amount_minor": 50000, "currency": "EUR", "reference": "VIR-2026-0042"}
    )

    amount_minor: PositiveMinor
    currency: Currency
    reference: Annotated[
        str, StringConstraints(min_length=1, max_length=40, pattern=NO_NUL_PATTERN)
    ] = Field(description="The bank transfer's reference; a top-up's is used once.")


class SellBackIn(ItemRef):
    """An item of the customer's portfolio, bought back at its type's price."""

    model_config = with_examples(ITEM_EXAMPLE)


class Movement(Schema):
    """A movement of the customer's wallet, and the balance after it."""

    kind: str = Field(description="top_up, withdrawal or sell_back.")
    amount_minor: int = Field(description="Signed: money in is positive.")
    currency: str
    balance_minor: int
