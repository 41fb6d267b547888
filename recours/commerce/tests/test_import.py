"""`recours import`: CSV files of orders, payments, shipments and refunds."""

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recours.commerce import imports
from recours.commerce.models import ImportedRefund, Order, Payment, Shipment
from recours.core.audit import Actor
from recours.core.errors import PermissionDenied
from recours.core.models import AuditEvent

ORDERS = """\
external_id,reference,invoice_reference,customer_number,terminal_code,status,total_minor,currency,placed_at
SHOP-1,,F-2026-1,C-10001,ALPHA-GARE-01,paid,12990,EUR,2026-03-01T10:00:00+01:00
SHOP-2,CMD-SHOP-2,,,,pending,500,EUR,2026-03-01T11:00:00Z
"""
PAYMENTS = """\
external_id,order_external_id,method,status,amount_minor,captured_minor,currency,provider,provider_payment_id,created_at,due_at
PAY-1,SHOP-1,card,captured,12990,,EUR,stripe,pi_123,2026-03-01T10:01:00+01:00,
PAY-2,SHOP-2,bank_transfer,pending,500,0,EUR,,,2026-03-01T11:00:00Z,2026-03-04T11:00:00Z
"""
SHIPMENTS = """\
external_id,order_external_id,carrier,tracking_number,shipped_at,delivered_at
SHIP-1,SHOP-1,colissimo,6A123,2026-03-02T08:00:00Z,
"""
# More than was captured: kept as reported, for the integrity detectors.
REFUNDS = """\
external_id,order_external_id,payment_external_id,amount_minor,currency,refunded_at
REF-1,SHOP-1,PAY-1,10000,EUR,2026-03-05T09:00:00Z
REF-2,SHOP-1,PAY-1,5000,EUR,2026-03-06T09:00:00Z
"""


@pytest.fixture
def files(tmp_path):
    def write(**contents: str) -> dict[str, Path]:
        paths = {}
        for kind, text in contents.items():
            paths[kind] = tmp_path / f"{kind}.csv"
            paths[kind].write_text(text, encoding="utf-8")
        return paths

    return write


def run(paths: dict[str, Path], *flags: str, slug: str = "alpha") -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    options = [f"--{kind}={path}" for kind, path in paths.items()]
    call_command("import", f"--organization={slug}", *options, *flags,
                 stdout=out, stderr=err)  # fmt: skip
    return out.getvalue(), err.getvalue()


def run_refused(paths: dict[str, Path], slug: str = "alpha") -> str:
    """Run an import that must be refused; return its report."""
    out = StringIO()
    options = [f"--{kind}={path}" for kind, path in paths.items()]
    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import", f"--organization={slug}", *options,
                     stdout=out, stderr=StringIO())  # fmt: skip
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    return (
        Order.objects.count(),
        Payment.objects.count(),
        Shipment.objects.count(),
        ImportedRefund.objects.count(),
    )


ALL = {"orders": ORDERS, "payments": PAYMENTS, "shipments": SHIPMENTS,
       "refunds": REFUNDS}  # fmt: skip


def test_it_imports_orders_payments_shipments_and_refunds(frozen, files, merchant_a,
                                                          customer_a, kiosk):  # fmt: skip
    # when
    out, _err = run(files(**ALL))

    # then
    assert counts() == (2, 2, 1, 2)
    first = Order.objects.get(external_id="SHOP-1")
    assert first.organization == merchant_a
    assert first.customer == customer_a
    assert first.terminal == kiosk
    assert (first.status, first.total_minor, first.currency) == ("paid", 12990, "EUR")
    assert first.placed_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert first.reference.startswith("CMD-")
    assert Order.objects.get(external_id="SHOP-2").reference == "CMD-SHOP-2"
    card = Payment.objects.get(external_id="PAY-1")
    assert (card.order, card.captured_minor, card.refunded_minor) == (first, 12990, 0)
    transfer = Payment.objects.get(external_id="PAY-2")
    assert transfer.due_at == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert transfer.captured_minor == 0
    assert "orders: 2 new, 0 already imported" in out
    assert "Imported 7 row(s)." in out
    audit = AuditEvent.objects.get(action="commerce.imported")
    assert audit.organization_id == merchant_a.pk
    assert audit.data["created"] == {"orders": 2, "payments": 2, "shipments": 1,
                                     "refunds": 2}  # fmt: skip


def test_it_keeps_refunds_above_what_was_captured_as_reported(frozen, files,
                                                              customer_a, kiosk):  # fmt: skip
    # when
    run(files(**ALL))

    # then
    payment = Payment.objects.get(external_id="PAY-1")
    refunded = sum(refund.amount_minor for refund in payment.imported_refunds.all())
    assert refunded == 15000 > payment.captured_minor == 12990


def test_it_changes_nothing_on_a_second_import_and_says_so(frozen, files, customer_a,
                                                           kiosk):  # fmt: skip
    # given
    paths = files(**ALL)
    run(paths)
    before = counts()
    references = sorted(Order.objects.values_list("reference", flat=True))

    # when
    out, _err = run(paths)

    # then
    assert counts() == before
    assert sorted(Order.objects.values_list("reference", flat=True)) == references
    assert "orders: 0 new, 2 already imported (unchanged)" in out
    assert "refunds: 0 new, 2 already imported (unchanged)" in out
    assert "Nothing to import: every row was already imported." in out


def test_it_adds_only_the_new_rows_of_a_longer_file(frozen, files, customer_a, kiosk):
    # given
    run(files(orders=ORDERS))
    longer = ORDERS + "SHOP-3,,,,,paid,100,EUR,2026-03-02T10:00:00Z\n"

    # when
    out, _err = run(files(orders=longer))

    # then
    assert Order.objects.count() == 3
    assert "orders: 1 new, 2 already imported (unchanged)" in out


def test_it_refuses_to_change_an_imported_row(frozen, files, customer_a, kiosk):
    # given
    run(files(orders=ORDERS))

    # when
    changed = ORDERS.replace("paid,12990", "cancelled,12990")
    report = run_refused(files(orders=changed))

    # then
    assert "line 2 (SHOP-1): Already imported with other values (status)" in report
    assert Order.objects.get(external_id="SHOP-1").status == "paid"


def test_it_imports_nothing_from_a_file_with_one_bad_row_and_says_every_reason(
    frozen, files, customer_a, kiosk
):
    # given
    bad_payments = PAYMENTS + (
        "PAY-3,SHOP-9,card,captured,100,,EUR,,,2026-03-01T10:00:00Z,\n"
        "PAY-4,SHOP-1,cheque,captured,1.50,,EUR,,,yesterday,\n"
        "PAY-5,SHOP-1,card,captured,100,200,EUR,,,2026-03-01T10:00:00Z,\n"
        "PAY-1,SHOP-1,card,captured,12990,,EUR,stripe,pi_123,2026-03-01T10:01:00+01:00,\n"
    )
    out = StringIO()

    # when
    with pytest.raises(CommandError, match="Nothing imported: 4 row"):
        call_command("import", "--organization=alpha",
                     f"--orders={files(orders=ORDERS)['orders']}",
                     f"--payments={files(payments=bad_payments)['payments']}",
                     stdout=out, stderr=StringIO())  # fmt: skip

    # then
    assert counts() == (0, 0, 0, 0)
    assert not AuditEvent.objects.filter(action="commerce.imported").exists()
    report = out.getvalue()
    assert "payments.csv line 4 (PAY-3): No order has the external id SHOP-9." in report
    assert "payments.csv line 5 (PAY-4): method: One of" in report
    assert "amount_minor: A whole number of minor units" in report
    assert "created_at: A date and time with its offset" in report
    assert (
        "line 6 (PAY-5): The captured amount cannot be more than the amount." in report
    )
    assert "line 7 (PAY-1): This external id already appears on line 2." in report
    assert "Nothing was written." in report


def test_it_checks_everything_and_writes_nothing_on_a_dry_run(frozen, files,
                                                              customer_a, kiosk):  # fmt: skip
    # when
    out, _err = run(files(**ALL), "--dry-run")

    # then
    assert counts() == (0, 0, 0, 0)
    assert "Dry run: 7 row(s) would be imported. Nothing was written." in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "orders.csv is empty."),
        (
            "external_id,colour\n",
            "unknown columns: colour; missing: status, total_minor",
        ),
    ],
)
def test_it_refuses_a_file_with_a_bad_header(frozen, files, merchant_a, text, message):
    # when
    with pytest.raises(CommandError, match=message):
        run(files(orders=text))

    # then
    assert counts() == (0, 0, 0, 0)


def test_it_refuses_a_file_that_is_not_utf_8(frozen, tmp_path, merchant_a):
    # given
    path = tmp_path / "orders.csv"
    path.write_bytes(ORDERS.replace("SHOP-2", "SHOP-é").encode("latin-1"))

    # when
    with pytest.raises(CommandError, match="is not UTF-8"):
        run({"orders": path})


def test_it_reads_a_file_with_a_byte_order_mark(frozen, tmp_path, customer_a, kiosk):
    # given
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8-sig")

    # when
    run({"orders": path})

    # then
    assert Order.objects.count() == 2


def test_it_never_reaches_another_merchants_orders_customers_or_kiosks(
    frozen, files, customer_a, kiosk, merchant_b
):
    # given: A's order SHOP-1 exists
    run(files(orders=ORDERS))

    # when: B imports rows naming A's customer and kiosk, and pays "SHOP-1"
    report = run_refused(files(orders=ORDERS, payments=PAYMENTS), slug="beta")

    # then
    assert "(SHOP-1): No customer has this customer number. No kiosk of yours" in report
    assert "(PAY-1): No order has the external id SHOP-1." in report
    assert Order.objects.filter(organization=merchant_b).count() == 0
    assert Payment.objects.count() == 0


def test_it_lets_two_merchants_use_the_same_external_ids(frozen, files, merchant_a,
                                                        merchant_b):  # fmt: skip
    # given
    plain = ORDERS.replace("C-10001,ALPHA-GARE-01", ",").replace("CMD-SHOP-2", "")
    run(files(orders=plain), slug="alpha")

    # when
    run(files(orders=plain), slug="beta")

    # then
    assert Order.objects.filter(organization=merchant_b).count() == 2


def test_it_refuses_an_order_reference_already_taken(frozen, files, merchant_a,
                                                     merchant_b):  # fmt: skip
    # given
    run(files(orders=ORDERS.replace("C-10001,ALPHA-GARE-01", ",")), slug="beta")

    # when
    report = run_refused(files(orders=ORDERS.replace("C-10001,ALPHA-GARE-01", ",")))

    # then
    assert "(SHOP-2): Another order already has this reference." in report
    assert not Order.objects.filter(organization__slug="alpha").exists()


def test_it_imports_into_a_merchant_only(frozen, files, platform):
    # when
    with pytest.raises(CommandError, match="not the platform"):
        run(files(orders=ORDERS), slug="platform")

    # then
    with pytest.raises(PermissionDenied):
        imports.run_import(Actor.system("test"), platform, imports.Batch())


def test_it_shows_a_progress_bar_on_stderr(frozen, files, merchant_a):
    # given
    rows = "".join(
        f"BIG-{number},,,,,paid,100,EUR,2026-03-01T10:00:00Z\n"
        for number in range(2500)
    )
    header = ORDERS.splitlines()[0] + "\n"

    # when
    out, err = run(files(orders=header + rows), "--progress=always")

    # then
    assert Order.objects.count() == 2500
    assert "reading orders.csv" in err
    assert "checking" in err
    assert "writing" in err
    assert "100% 2500/2500" in err
    assert "[" not in out
