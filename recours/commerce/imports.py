"""Orders, payments, shipments and refunds from an operator's own shop.

The CSV command (`recours import`) and the API push share these rules:

1. Rows arrive as typed records (`OrderRow`...), each with its line number
   (its position in an API batch). Rows that could not even be read come in
   as rejections already.
2. `check` reads what exists and sorts every row into new, unchanged (the
   same external id was imported before with the same values) or rejected
   (with every reason). Nothing is written.
3. `run_import` writes the new rows in one transaction, only when no row at
   all was rejected: a bad file imports nothing.

Imported data is kept as the shop reported it. A refund above what was
captured is accepted: the integrity detectors exist to find it.
"""

import csv
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from recours.accounts.models import Customer, Organization
from recours.commerce import protection
from recours.commerce.models import ImportedRefund, Order, Payment, Shipment, Terminal
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput, PermissionDenied
from recours.core.money import Money
from recours.core.references import new_reference

KINDS = ("orders", "payments", "shipments", "refunds")
ORDER_REFERENCE_PREFIX = "CMD"
# Lookups of existing rows go by chunks of this many ids (SQLite caps parameters).
LOOKUP_CHUNK = 500
WRITE_BATCH = 500
# A file holds at most this many rows: they are all checked in memory.
ROWS_MAX_PER_FILE = 1_000_000
# How often `check` reports its progress, in rows.
PROGRESS_EVERY = 1000

# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class OrderRow:
    line: int
    external_id: str
    status: str
    total: Money
    placed_at: datetime
    reference: str = ""
    invoice_reference: str = ""
    customer_number: str = ""
    terminal_code: str = ""
    # The buyer opted in to buyer protection (commerce.protection).
    protected: bool = False


@dataclass(frozen=True)
class PaymentRow:
    line: int
    external_id: str
    order_external_id: str
    method: str
    status: str
    amount: Money
    created_at: datetime
    # None: the whole amount when the status is captured, else nothing.
    captured: Money | None = None
    provider: str = ""
    provider_payment_id: str = ""
    due_at: datetime | None = None


@dataclass(frozen=True)
class ShipmentRow:
    line: int
    external_id: str
    order_external_id: str
    carrier: str = ""
    tracking_number: str = ""
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class RefundRow:
    line: int
    external_id: str
    order_external_id: str
    payment_external_id: str
    amount: Money
    refunded_at: datetime


Row = OrderRow | PaymentRow | ShipmentRow | RefundRow


@dataclass(frozen=True)
class Rejection:
    kind: str
    line: int
    external_id: str
    reasons: tuple[str, ...]


@dataclass
class Batch:
    orders: list[OrderRow] = field(default_factory=list)
    payments: list[PaymentRow] = field(default_factory=list)
    shipments: list[ShipmentRow] = field(default_factory=list)
    refunds: list[RefundRow] = field(default_factory=list)
    # Rows that could not be read (bad number, unknown status...).
    rejected: list[Rejection] = field(default_factory=list)

    def size(self) -> int:
        return sum(len(getattr(self, kind)) for kind in KINDS) + len(self.rejected)


@dataclass
class Report:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rejected: list[Rejection] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def accepted(self) -> int:
        return sum(self.created.values()) + sum(self.unchanged.values())

    def as_data(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "rejected": [
                {
                    "kind": rejection.kind,
                    "line": rejection.line,
                    "external_id": rejection.external_id,
                    "reasons": list(rejection.reasons),
                }
                for rejection in self.rejected
            ],
            "dry_run": self.dry_run,
            "written": self.written,
        }


@dataclass
class Known:
    """What the batch refers to, existing or about to be created, by key."""

    organization: Organization
    # When the batch is checked: an imported protection's reminder may be past.
    now: datetime = field(default_factory=clock.now)
    orders: dict[str, Order] = field(default_factory=dict)
    payments: dict[tuple[str, str], Payment] = field(default_factory=dict)
    shipments: dict[tuple[str, str], Shipment] = field(default_factory=dict)
    refunds: dict[tuple[str, str, str], ImportedRefund] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    terminals: dict[str, Terminal] = field(default_factory=dict)
    # Order references already used, by any organization (they are unique).
    taken_references: set[str] = field(default_factory=set)
    # The line each key was first seen on in this batch.
    seen: dict[tuple[str, ...], int] = field(default_factory=dict)


@dataclass
class Plan:
    """The outcome of `check`: what would be written, and the report."""

    report: Report
    new: dict[str, list[models.Model]] = field(
        default_factory=lambda: {kind: [] for kind in KINDS}
    )


def run_import(
    actor: Actor,
    organization: Organization,
    batch: Batch,
    *,
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> Report:
    """Check the batch and, unless a row is rejected or it is a dry run, write it.

    Checks and writes run in one transaction: an import that another one
    overtakes on the same external ids fails whole with a Conflict.
    """
    if organization.is_platform:
        raise PermissionDenied(
            _("Orders are imported into a merchant, not the platform.")
        )
    try:
        with transaction.atomic():
            plan = check(organization, batch, progress)
            plan.report.dry_run = dry_run
            if dry_run or plan.report.rejected:
                return plan.report
            write(actor, organization, plan, progress)
            return plan.report
    except IntegrityError:
        raise Conflict(
            _(
                "Another import wrote some of these rows at the same time; run it again."
            ),
            code="import_conflict",
        ) from None


def check(organization: Organization, batch: Batch, progress: Progress) -> Plan:
    known = load_known(organization, batch)
    plan = Plan(report=Report(rejected=list(batch.rejected)))
    total = batch.size()
    done = len(batch.rejected)
    checkers: dict[str, Callable[[Known, Any], models.Model | str | list[str]]] = {
        "orders": check_order,
        "payments": check_payment,
        "shipments": check_shipment,
        "refunds": check_refund,
    }
    for kind in KINDS:
        for row in getattr(batch, kind):
            sort_row(plan, kind, row, checkers[kind](known, row))
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress("checking", done, total)
    progress("checking", total, total)
    plan.report.rejected.sort(key=lambda rejection: (rejection.kind, rejection.line))
    return plan


UNCHANGED = "unchanged"


def sort_row(plan: Plan, kind: str, row: Row, outcome: Any) -> None:
    """A checker returns a new object, UNCHANGED, or its reasons to refuse."""
    if outcome == UNCHANGED:
        plan.report.unchanged[kind] += 1
    elif isinstance(outcome, list):
        plan.report.rejected.append(
            Rejection(kind, row.line, row.external_id, tuple(outcome))
        )
    else:
        plan.report.created[kind] += 1
        plan.new[kind].append(outcome)


def write(
    actor: Actor, organization: Organization, plan: Plan, progress: Progress
) -> None:
    """Insert in dependency order; each object already points at its parent."""
    total = sum(len(objects) for objects in plan.new.values())
    done = 0
    models_by_kind = {
        "orders": Order,
        "payments": Payment,
        "shipments": Shipment,
        "refunds": ImportedRefund,
    }
    for kind in KINDS:
        objects = plan.new[kind]
        for start in range(0, len(objects), WRITE_BATCH):
            # Parents were saved just before: bulk_create reads their new ids.
            chunk = objects[start : start + WRITE_BATCH]
            models_by_kind[kind].objects.bulk_create(chunk)  # type: ignore[attr-defined]
            done += len(chunk)
            progress("writing", done, total)
    audit.record(
        actor,
        "commerce.imported",
        organization,
        organization_id=organization.pk,
        data={"created": plan.report.created, "unchanged": plan.report.unchanged},
    )
    plan.report.written = True


# Reading what exists


def chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start : start + LOOKUP_CHUNK]


def load_known(organization: Organization, batch: Batch) -> Known:
    known = Known(organization=organization)
    order_ids = {row.external_id for row in batch.orders}
    for rows in (batch.payments, batch.shipments, batch.refunds):
        order_ids |= {row.order_external_id for row in rows}
    for chunk in chunks(order_ids):
        for order in Order.objects.filter(
            organization=organization, external_id__in=chunk
        ):
            known.orders[order.external_id] = order
    load_children(known, batch)
    load_parties(known, batch)
    return known


def load_children(known: Known, batch: Batch) -> None:
    existing = {order.pk: order for order in known.orders.values()}
    for chunk in chunks(existing):
        for payment in Payment.objects.filter(order_id__in=chunk).exclude(
            external_id=""
        ):
            payment.order = existing[payment.order_id]
            known.payments[(payment.order.external_id, payment.external_id)] = payment
        for shipment in Shipment.objects.filter(order_id__in=chunk).exclude(
            external_id=""
        ):
            shipment.order = existing[shipment.order_id]
            known.shipments[(shipment.order.external_id, shipment.external_id)] = (
                shipment
            )
        refunds = ImportedRefund.objects.filter(payment__order_id__in=chunk)
        for refund in refunds.select_related("payment"):
            order = existing[refund.payment.order_id]
            key = (order.external_id, refund.payment.external_id, refund.external_id)
            known.refunds[key] = refund


def load_parties(known: Known, batch: Batch) -> None:
    numbers = {row.customer_number for row in batch.orders if row.customer_number}
    for chunk in chunks(numbers):
        for customer in Customer.objects.filter(
            organization=known.organization, customer_number__in=chunk
        ):
            known.customers[customer.customer_number] = customer
    codes = {row.terminal_code for row in batch.orders if row.terminal_code}
    for chunk in chunks(codes):
        for terminal in Terminal.objects.filter(
            organization=known.organization, code__in=chunk
        ):
            known.terminals[terminal.code] = terminal
    references = {row.reference for row in batch.orders if row.reference}
    for chunk in chunks(references):
        known.taken_references |= set(
            Order.objects.filter(reference__in=chunk).values_list(
                "reference", flat=True
            )
        )


# Checking one row


def first_seen(known: Known, key: tuple[str, ...], line: int) -> list[str]:
    """Refuse a key that appeared earlier in the same batch."""
    earlier = known.seen.setdefault(key, line)
    if earlier == line:
        return []
    return [_("This external id already appears on line %(line)s.") % {"line": earlier}]


def compare(
    existing: models.Model, candidate: models.Model, names: Sequence[str]
) -> Any:
    """UNCHANGED, or a reason naming the fields that differ."""
    differing = [
        name for name in names if getattr(existing, name) != getattr(candidate, name)
    ]
    if not differing:
        return UNCHANGED
    return [
        _(
            "Already imported with other values (%(fields)s); an import never "
            "changes a row."
        )
        % {"fields": ", ".join(differing)}
    ]


ORDER_FIELDS = ("status", "total_minor", "currency", "placed_at", "invoice_reference",
                "customer_id", "terminal_id", "protection_started_at")  # fmt: skip


def check_order(known: Known, row: OrderRow) -> Any:
    reasons = first_seen(known, ("order", row.external_id), row.line)
    if row.total.is_negative():
        reasons.append(_("The total cannot be negative."))
    customer = known.customers.get(row.customer_number)
    if row.customer_number and customer is None:
        reasons.append(_("No customer has this customer number."))
    terminal = known.terminals.get(row.terminal_code)
    if row.terminal_code and terminal is None:
        reasons.append(_("No kiosk of yours has this code."))
    # An unknown customer number was refused above already.
    if row.protected and (customer is not None or not row.customer_number):
        refusal = protection.enrolment_refusal(customer)
        reasons += [refusal] if refusal else []
    existing = known.orders.get(row.external_id)
    if reasons:
        return reasons
    candidate = new_order(known, row, customer, terminal)
    if existing is not None:
        names = ORDER_FIELDS + (("reference",) if row.reference else ())
        return compare(existing, candidate, names)
    if row.reference and row.reference in known.taken_references:
        return [_("Another order already has this reference.")]
    known.taken_references.add(candidate.reference)
    known.orders[row.external_id] = candidate
    return candidate


def new_order(
    known: Known, row: OrderRow, customer: Customer | None, terminal: Terminal | None
) -> Order:
    return Order(
        organization=known.organization,
        external_id=row.external_id,
        reference=row.reference or new_reference(ORDER_REFERENCE_PREFIX),
        invoice_reference=row.invoice_reference,
        customer=customer,
        terminal=terminal,
        status=row.status,
        total_minor=row.total.amount_minor,
        currency=row.total.currency,
        placed_at=row.placed_at,
        **(protection.enrolment(row.placed_at, known.now) if row.protected else {}),
    )


def order_of(known: Known, external_id: str) -> tuple[Order | None, list[str]]:
    order = known.orders.get(external_id)
    if order is None:
        return None, [_("No order has the external id %(id)s.") % {"id": external_id}]
    return order, []


PAYMENT_FIELDS = ("method", "status", "amount_minor", "captured_minor", "currency",
                  "provider", "provider_payment_id", "created_at", "due_at")  # fmt: skip


def check_payment(known: Known, row: PaymentRow) -> Any:
    key = (row.order_external_id, row.external_id)
    reasons = first_seen(known, ("payment", *key), row.line)
    order, missing = order_of(known, row.order_external_id)
    reasons += missing + payment_amount_reasons(row)
    if order is not None and order.currency != row.amount.currency:
        reasons.append(_("A payment must be in its order's currency."))
    if reasons:
        return reasons
    assert order is not None
    candidate = Payment(
        order=order,
        external_id=row.external_id,
        method=row.method,
        status=row.status,
        amount_minor=row.amount.amount_minor,
        captured_minor=captured_of(row).amount_minor,
        currency=row.amount.currency,
        provider=row.provider,
        provider_payment_id=row.provider_payment_id,
        created_at=row.created_at,
        due_at=row.due_at,
    )
    existing = known.payments.get(key)
    if existing is not None:
        return compare(existing, candidate, PAYMENT_FIELDS)
    known.payments[key] = candidate
    return candidate


def captured_of(row: PaymentRow) -> Money:
    if row.captured is not None:
        return row.captured
    if row.status == Payment.Status.CAPTURED:
        return row.amount
    return Money.zero(row.amount.currency)


def payment_amount_reasons(row: PaymentRow) -> list[str]:
    captured = captured_of(row)
    if row.amount.amount_minor <= 0:
        return [_("The amount must be more than zero.")]
    if captured.currency != row.amount.currency:
        return [_("The captured amount must be in the payment's currency.")]
    if captured.is_negative():
        return [_("The captured amount cannot be negative.")]
    if captured > row.amount:
        return [_("The captured amount cannot be more than the amount.")]
    return []


SHIPMENT_FIELDS = ("carrier", "tracking_number", "shipped_at", "delivered_at")


def check_shipment(known: Known, row: ShipmentRow) -> Any:
    key = (row.order_external_id, row.external_id)
    reasons = first_seen(known, ("shipment", *key), row.line)
    order, missing = order_of(known, row.order_external_id)
    reasons += missing
    if row.shipped_at and row.delivered_at and row.delivered_at < row.shipped_at:
        reasons.append(_("A parcel cannot be delivered before it was shipped."))
    if reasons:
        return reasons
    candidate = Shipment(
        order=order,
        external_id=row.external_id,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        shipped_at=row.shipped_at,
        delivered_at=row.delivered_at,
    )
    existing = known.shipments.get(key)
    if existing is not None:
        return compare(existing, candidate, SHIPMENT_FIELDS)
    known.shipments[key] = candidate
    return candidate


REFUND_FIELDS = ("amount_minor", "currency", "refunded_at")


def check_refund(known: Known, row: RefundRow) -> Any:
    key = (row.order_external_id, row.payment_external_id, row.external_id)
    reasons = first_seen(known, ("refund", *key), row.line)
    payment = known.payments.get(key[:2])
    if payment is None:
        reasons.append(
            _("Order %(order)s has no payment with the external id %(id)s.")
            % {"order": row.order_external_id, "id": row.payment_external_id}
        )
    elif payment.currency != row.amount.currency:
        reasons.append(_("A refund must be in its payment's currency."))
    if row.amount.amount_minor <= 0:
        reasons.append(_("The amount must be more than zero."))
    if reasons:
        return reasons
    # Not compared with what was captured: kept as reported (see the module).
    candidate = ImportedRefund(
        payment=payment,
        external_id=row.external_id,
        amount_minor=row.amount.amount_minor,
        currency=row.amount.currency,
        refunded_at=row.refunded_at,
    )
    existing = known.refunds.get(key)
    if existing is not None:
        return compare(existing, candidate, REFUND_FIELDS)
    known.refunds[key] = candidate
    return candidate


# Building rows from named values: CSV cells, or an API batch's fields.


class ImportFileError(InvalidInput):
    """A file that cannot be read at all (encoding, header, size)."""

    code = "invalid_import_file"


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = False
    # The value of an empty cell or a missing optional column.
    default: Any = ""


def text(length_max: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip()
        if len(value) > length_max:
            raise ValueError(_("At most %(count)s characters.") % {"count": length_max})
        if "\x00" in value:
            raise ValueError(_("NUL characters are not allowed."))
        return value

    return parse


def choice(choices: type[models.TextChoices]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in choices.values:
            raise ValueError(
                _("One of %(choices)s.") % {"choices": ", ".join(choices.values)}
            )
        return value

    return parse


def minor_units(value: str) -> int:
    value = value.strip()
    if not re.fullmatch(r"-?[0-9]{1,18}", value):
        raise ValueError(_("A whole number of minor units (cents), such as 12990."))
    return int(value)


def currency_code(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValueError(_("A currency code of 3 capital letters, such as EUR."))
    return value


def flag(value: str) -> bool:
    value = value.strip().lower()
    if value not in FLAG_VALUES:
        raise ValueError(_("true or false."))
    return FLAG_VALUES[value]


FLAG_VALUES = {"true": True, "false": False, "1": True, "0": False,
               "yes": True, "no": False}  # fmt: skip


def moment(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(
            _("A date and time with its offset, such as 2026-03-01T14:30:00+01:00.")
        )
    return parsed.astimezone(UTC)


EXTERNAL_ID = Column("external_id", text(80), required=True)
ORDER_EXTERNAL_ID = Column("order_external_id", text(80), required=True)
CURRENCY = Column("currency", currency_code, required=True)
COLUMNS: dict[str, tuple[Column, ...]] = {
    "orders": (
        EXTERNAL_ID,
        Column("reference", text(40)),
        Column("invoice_reference", text(40)),
        Column("customer_number", text(40)),
        Column("terminal_code", text(30)),
        Column("status", choice(Order.Status), required=True),
        Column("total_minor", minor_units, required=True),
        CURRENCY,
        Column("placed_at", moment, required=True),
        Column("protected", flag, default=False),
    ),
    "payments": (
        EXTERNAL_ID,
        ORDER_EXTERNAL_ID,
        Column("method", choice(Payment.Method), required=True),
        Column("status", choice(Payment.Status), required=True),
        Column("amount_minor", minor_units, required=True),
        Column("captured_minor", minor_units, default=None),
        CURRENCY,
        Column("provider", text(30)),
        Column("provider_payment_id", text(80)),
        Column("created_at", moment, required=True),
        Column("due_at", moment, default=None),
    ),
    "shipments": (
        EXTERNAL_ID,
        ORDER_EXTERNAL_ID,
        Column("carrier", text(60)),
        Column("tracking_number", text(80)),
        Column("shipped_at", moment, default=None),
        Column("delivered_at", moment, default=None),
    ),
    "refunds": (
        EXTERNAL_ID,
        ORDER_EXTERNAL_ID,
        Column("payment_external_id", text(80), required=True),
        Column("amount_minor", minor_units, required=True),
        CURRENCY,
        Column("refunded_at", moment, required=True),
    ),
}


def parse_values(kind: str, raw: Mapping[str, str | None]) -> tuple[dict, list[str]]:
    """Typed values by column name, and a reason per cell that could not be read."""
    values: dict[str, Any] = {}
    reasons: list[str] = []
    for column in COLUMNS[kind]:
        cell = (raw.get(column.name) or "").strip()
        if not cell:
            if column.required:
                reasons.append(_("%(column)s: required.") % {"column": column.name})
            values[column.name] = column.default
            continue
        try:
            values[column.name] = column.parse(cell)
        except ValueError as error:
            reasons.append(f"{column.name}: {error}")
    return values, reasons


def make_row(kind: str, line: int, values: dict[str, Any]) -> Row:
    """The typed row of checked values (amounts become Money in the currency)."""
    values = dict(values)
    currency = values.pop("currency", None)
    for name in ("total_minor", "amount_minor", "captured_minor"):
        if name in values:
            amount = values.pop(name)
            money_name = name.removesuffix("_minor")
            values[money_name] = None if amount is None else Money(amount, currency)
    row_class = {
        "orders": OrderRow,
        "payments": PaymentRow,
        "shipments": ShipmentRow,
        "refunds": RefundRow,
    }[kind]
    return row_class(line=line, **values)


def add_row(batch: Batch, kind: str, line: int, raw: Mapping[str, str | None]) -> None:
    values, reasons = parse_values(kind, raw)
    if None in raw:
        reasons.append(_("This row has more values than the header has columns."))
    if reasons:
        external_id = (raw.get("external_id") or "").strip()[:80]
        batch.rejected.append(Rejection(kind, line, external_id, tuple(reasons)))
        return
    getattr(batch, kind).append(make_row(kind, line, values))


def check_header(kind: str, name: str, header: Sequence[str] | None) -> None:
    if not header:
        raise ImportFileError(_("%(file)s is empty.") % {"file": name})
    known = {column.name for column in COLUMNS[kind]}
    unknown = sorted(set(header) - known)
    missing = [
        column.name
        for column in COLUMNS[kind]
        if column.required and column.name not in header
    ]
    if unknown or missing:
        raise ImportFileError(
            _("%(file)s, line 1: unknown columns: %(unknown)s; missing: %(missing)s.")
            % {
                "file": name,
                "unknown": ", ".join(unknown) or "-",
                "missing": ", ".join(missing) or "-",
            }
        )


def read_csv(
    batch: Batch,
    kind: str,
    name: str,
    lines: Iterable[str],
    progress: Progress = no_progress,
    total: int = 0,
) -> None:
    """Add the rows of one CSV file (UTF-8, comma-separated, with a header)."""
    reader = csv.DictReader(lines)
    try:
        check_header(kind, name, reader.fieldnames)
        for count, raw in enumerate(reader, start=1):
            if count > ROWS_MAX_PER_FILE:
                raise ImportFileError(
                    _("%(file)s has more than %(count)s rows; split it.")
                    % {"file": name, "count": ROWS_MAX_PER_FILE}
                )
            add_row(batch, kind, reader.line_num, raw)
            if count % PROGRESS_EVERY == 0:
                progress(f"reading {name}", count, total)
    except UnicodeDecodeError:
        raise ImportFileError(
            _("%(file)s is not UTF-8 text.") % {"file": name}
        ) from None
    except csv.Error as error:
        raise ImportFileError(
            _("%(file)s, line %(line)s: %(error)s")
            % {"file": name, "line": reader.line_num, "error": error}
        ) from None
    progress(f"reading {name}", total, total)
