from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from django.db import connection

from recours.accounts.models import Customer
from recours.commerce.lookups import match_identifiers, same_text
from recours.commerce.models import Order, Terminal

# Not recours.testing's NOW: that package imports cases, above commerce's layer.
PLACED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def order_a(merchant_a, customer_a, kiosk):
    return Order.objects.create(
        organization=merchant_a, customer=customer_a, terminal=kiosk,
        reference="ORD-0001", invoice_reference="INV-2026-0001",
        status=Order.Status.PAID, total_minor=1250, placed_at=PLACED_AT,
    )  # fmt: skip


@contextmanager
def index_scans_preferred():
    """Tiny test tables are cheaper to scan: ask PostgreSQL to show the index path."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = on")


def test_it_matches_identifiers_in_any_case(order_a, customer_a, kiosk):
    # when
    by_invoice = match_identifiers(
        customer_number="", phone_e164="", invoice_reference="inv-2026-0001",
        terminal=kiosk,
    )  # fmt: skip
    by_order = match_identifiers(
        customer_number="", phone_e164="", invoice_reference="",
        order_reference="ord-0001", terminal=None,
    )  # fmt: skip
    by_number = match_identifiers(
        customer_number="c-10001", phone_e164="", invoice_reference="", terminal=None
    )

    # then
    assert by_invoice.order == order_a
    assert by_order.order == order_a
    assert by_number.customer == customer_a
    assert by_number.order is None


def test_it_finds_each_identifier_through_its_upper_index(order_a, customer_a, kiosk):
    # given: the lookups a report runs, as commerce.lookups builds them
    lookups = {
        "order_invoice_upper_idx": Order.objects.filter(
            same_text("invoice_reference", "inv-2026-0001")
        ),
        "order_reference_upper_idx": Order.objects.filter(
            same_text("reference", "ord-0001")
        ),
        "customer_number_upper_idx": Customer.objects.filter(
            same_text("customer_number", "c-10001")
        ),
        "terminal_code_upper_idx": Terminal.objects.filter(
            same_text("code", "alpha-gare-01")
        ),
    }

    # when
    with index_scans_preferred():
        plans = {name: query.explain() for name, query in lookups.items()}

    # then: no sequential scan of the table (it was one for each with __iexact)
    for index_name, plan in plans.items():
        assert index_name in plan, plan
