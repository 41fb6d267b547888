"""Find the transaction a customer's report is about, from what they typed."""

from dataclasses import dataclass

from django.db.models import Value
from django.db.models.functions import Upper
from django.db.models.lookups import Exact

from recours.accounts.models import Customer, Organization
from recours.commerce.models import Order, Terminal


@dataclass
class Match:
    customer: Customer | None = None
    order: Order | None = None

    @property
    def found_anything(self) -> bool:
        return self.customer is not None or self.order is not None


def same_text(field: str, value: str) -> Exact:
    """`field` equals `value` ignoring case, in a form an index can serve.

    `__iexact` is `UPPER(col) = UPPER(%s)` on PostgreSQL and `col LIKE %s` on
    SQLite: neither uses an index, so every match was a sequential scan. Both
    databases use an index on `Upper(field)` (see the models' Meta and migration
    0002) for the same expression, and `UPPER(%s)` on the value keeps the
    database's own notion of case, as `__iexact` did.
    """
    return Exact(Upper(field), Upper(Value(value)))


def match_identifiers(
    *, customer_number: str, phone_e164: str, invoice_reference: str,
    terminal: Terminal | None, order_reference: str = "", scope: Organization | None = None,
) -> Match:  # fmt: skip
    """Match by invoice or order reference first, then customer number, then phone.

    `scope` (an API key's merchant) keeps the search inside that organization:
    a merchant's report never attaches to another merchant's customer or order.
    """
    if scope is not None and scope.is_platform:
        scope = None
    match = Match()
    order_filters = []
    if invoice_reference:
        order_filters.append(same_text("invoice_reference", invoice_reference))
    if order_reference:
        order_filters.append(same_text("reference", order_reference))
    for same in order_filters:
        orders = Order.objects.select_related("customer", "organization").filter(same)
        if terminal is not None:
            orders = orders.filter(terminal=terminal)
        if scope is not None:
            orders = orders.filter(organization=scope)
        match.order = orders.first()
        if match.order is not None:
            match.customer = match.order.customer
            return match
    customers = Customer.objects.select_related("organization")
    if terminal is not None:
        customers = customers.filter(organization=terminal.organization)
    if scope is not None:
        customers = customers.filter(organization=scope)
    if customer_number:
        match.customer = customers.filter(
            same_text("customer_number", customer_number)
        ).first()
    if match.customer is None and phone_e164:
        match.customer = customers.filter(phone=phone_e164).first()
    return match
