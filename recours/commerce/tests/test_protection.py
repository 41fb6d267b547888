"""Buyer protection of orders: opted in at checkout or by the import, a
reminder on day PROTECTION_REMINDER_DAY with a signed link, sent once, and
the end (the customer confirms, or the window passes)."""

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recours.accounts.models import Customer
from recours.commerce import protection
from recours.commerce.actions import PaymentPart, buy, checkout, reserve
from recours.commerce.models import Order, ProtectionEnd
from recours.core import worker
from recours.core.errors import InvalidInput
from recours.core.models import AuditEvent
from recours.notifications import actions as notifications
from recours.notifications import outbox
from recours.notifications.models import OutboxMessage
from recours.testing import NOW
from recours.testing.commerce import STAFF, books, eur, fund
from recours.testing.servers import mailer_settings, start_smtp

pytestmark = pytest.mark.django_db
PRICE = 250_00
DAY = timedelta(days=1)
REMINDER_KEY = "commerce:order:{pk}:protection_reminder"


@pytest.fixture
def smtp_server(settings):
    controller, server = start_smtp()
    settings.MAILERS = mailer_settings(server.port)
    yield server
    controller.stop()


@pytest.fixture
def english_by_email(merchant_a):
    return Customer.objects.create(
        organization=merchant_a,
        customer_number="C-20003",
        email="jane@example.org",
        phone="+33611223344",
        language="en",
    )


@pytest.fixture
def by_sms_only(merchant_a):
    return Customer.objects.create(
        organization=merchant_a, customer_number="C-20001", phone="+33698765432"
    )


@pytest.fixture
def unreachable(merchant_a):
    return Customer.objects.create(organization=merchant_a, customer_number="C-20002")


def protected_order(customer, coins, index: int = 0) -> Order:
    fund(customer, PRICE, f"VIR-{index}")
    reservation = reserve(STAFF, customer, coins[index : index + 1])
    return checkout(
        STAFF, reservation, [PaymentPart("wallet", eur(PRICE))], protect=True
    )


def reminders() -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(dedupe_key__endswith=":protection_reminder")
    )


def run_job(name: str) -> int:
    return worker.JOBS[name].run()


# Enrolment


def test_it_protects_an_order_for_30_days_when_the_buyer_opts_in_at_checkout(
    frozen, customer_a, coins
):
    # when
    order = protected_order(customer_a, coins)

    # then
    order.refresh_from_db()
    assert order.is_protected
    assert order.protection_started_at == NOW == order.placed_at
    assert order.protection_ends_at == NOW + 30 * DAY
    assert order.protection_reminder_at == NOW + 23 * DAY
    assert (order.protection_ended_at, order.protection_end_reason) == (None, "")
    paid = AuditEvent.objects.get(action="commerce.order_paid")
    assert paid.data["protected"] is True


def test_it_leaves_an_order_unprotected_without_the_opt_in(frozen, customer_a, coins):
    # when
    order = buy(STAFF, customer_a, coins[:1], [PaymentPart("card", eur(PRICE), "pi_1")])

    # then
    order.refresh_from_db()
    assert not order.is_protected
    assert order.protection_ends_at is None
    assert order.protection_reminder_at is None


def test_it_protects_a_bought_order_with_the_window_of_the_settings(
    frozen, settings, customer_a, coins
):
    # given
    settings.PROTECTION_DAYS = 45
    settings.PROTECTION_REMINDER_DAY = 40

    # when
    order = buy(
        STAFF,
        customer_a,
        coins[:1],
        [PaymentPart("card", eur(PRICE), "pi_1")],
        protect=True,
    )

    # then
    order.refresh_from_db()
    assert order.protection_ends_at == NOW + 45 * DAY
    assert order.protection_reminder_at == NOW + 40 * DAY


def test_it_protects_an_order_awaiting_its_bank_transfer(frozen, customer_a, coins):
    # when
    order = checkout(
        STAFF,
        reserve(STAFF, customer_a, coins[:1]),
        [PaymentPart("bank_transfer", eur(PRICE))],
        protect=True,
    )

    # then
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.protection_ends_at == NOW + 30 * DAY


def test_it_refuses_protection_for_a_customer_it_cannot_write_to(
    frozen, unreachable, coins
):
    # given
    reservation = reserve(STAFF, unreachable, coins[:1])
    before = books()

    # when
    with pytest.raises(InvalidInput) as refused:
        checkout(
            STAFF, reservation, [PaymentPart("card", eur(PRICE), "pi_1")], protect=True
        )

    # then
    assert "e-mail address or mobile number" in refused.value.message
    assert "protect" in refused.value.fields
    assert books() == before


# Enrolment through the import

ORDERS = """\
external_id,customer_number,status,total_minor,currency,placed_at,protected
SHOP-1,C-10001,paid,12990,EUR,2026-03-01T10:00:00+01:00,true
SHOP-2,C-10001,paid,500,EUR,2026-03-01T11:00:00Z,
SHOP-3,,paid,500,EUR,2026-03-01T11:00:00Z,false
SHOP-4,C-10001,paid,500,EUR,2026-02-05T09:00:00Z,yes
SHOP-5,C-10001,paid,500,EUR,2026-01-05T09:00:00Z,1
"""


def import_orders(tmp_path: Path, text: str) -> str:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import", "--organization=alpha", f"--orders={path}",
                 stdout=out, stderr=StringIO())  # fmt: skip
    return out.getvalue()


def test_it_imports_the_protected_column(frozen, tmp_path, customer_a):
    # when
    import_orders(tmp_path, ORDERS)

    # then
    orders = {order.external_id: order for order in Order.objects.all()}
    first = orders["SHOP-1"]
    assert first.protection_started_at == first.placed_at
    assert first.protection_ends_at == first.placed_at + 30 * DAY
    assert first.protection_reminder_at == first.placed_at + 23 * DAY
    assert not orders["SHOP-2"].is_protected
    assert not orders["SHOP-3"].is_protected
    # Placed 25 days ago: reminded at once. Placed 56 days ago: window passed.
    assert orders["SHOP-4"].protection_reminder_at == orders["SHOP-4"].placed_at + (
        23 * DAY
    )
    assert orders["SHOP-4"].protection_reminder_at < NOW
    assert orders["SHOP-5"].is_protected
    assert orders["SHOP-5"].protection_reminder_at is None


def test_an_imported_order_past_its_reminder_day_is_reminded_at_once_and_one_past_its_window_never(
    frozen, tmp_path, customer_a
):
    # given
    import_orders(tmp_path, ORDERS)

    # when
    handled = run_job("protection-reminders")
    expired = run_job("protection-expiry")

    # then
    (message,) = reminders()
    assert message.about_reference == Order.objects.get(external_id="SHOP-4").reference
    assert handled == 1
    assert expired == 1
    late = Order.objects.get(external_id="SHOP-5")
    assert late.protection_end_reason == ProtectionEnd.EXPIRED
    assert late.protection_ended_at == late.protection_ends_at


def test_it_refuses_an_imported_protection_without_a_customer_to_remind(
    frozen, tmp_path, customer_a, unreachable
):
    # given
    path = tmp_path / "orders.csv"
    path.write_text(
        "external_id,customer_number,status,total_minor,currency,placed_at,protected\n"
        "SHOP-1,,paid,500,EUR,2026-03-01T11:00:00Z,true\n"
        "SHOP-2,C-20002,paid,500,EUR,2026-03-01T11:00:00Z,true\n"
        "SHOP-3,C-10001,paid,500,EUR,2026-03-01T11:00:00Z,maybe\n",
        encoding="utf-8",
    )
    out = StringIO()

    # when
    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import", "--organization=alpha", f"--orders={path}",
                     stdout=out, stderr=StringIO())  # fmt: skip

    # then
    report = out.getvalue()
    assert "line 2 (SHOP-1): A protected order needs its customer" in report
    assert "line 3 (SHOP-2): Buyer protection needs the customer's e-mail" in report
    assert "line 4 (SHOP-3): protected: true or false." in report
    assert not Order.objects.exists()


def test_it_refuses_to_protect_an_order_imported_before_without_protection(
    frozen, tmp_path, customer_a
):
    # given
    import_orders(tmp_path, ORDERS)

    # when
    with pytest.raises(CommandError, match="Nothing imported"):
        import_orders(tmp_path, ORDERS.replace("11:00:00Z,\n", "11:00:00Z,true\n"))

    # then: an import never changes a row
    assert not Order.objects.get(external_id="SHOP-2").is_protected


def test_a_second_import_of_protected_orders_changes_nothing(
    frozen, tmp_path, customer_a
):
    # given
    import_orders(tmp_path, ORDERS)
    frozen.shift(2 * DAY)

    # when
    out = import_orders(tmp_path, ORDERS)

    # then
    assert "orders: 0 new, 5 already imported (unchanged)" in out


# The reminder


def test_it_reminds_the_customer_by_email_once_on_day_23(
    frozen, english_by_email, coins, smtp_server
):
    # given: the top-up notice went by SMS; the reminder prefers e-mail
    order = protected_order(english_by_email, coins)
    frozen.shift(23 * DAY - timedelta(seconds=1))
    assert run_job("protection-reminders") == 0

    # when
    frozen.shift(timedelta(seconds=1))
    handled = run_job("protection-reminders")
    again = run_job("protection-reminders")
    outbox.deliver_due()
    outbox.deliver_due()

    # then
    assert (handled, again) == (1, 0)
    (message,) = reminders()
    assert message.dedupe_key == REMINDER_KEY.format(pk=order.pk)
    assert (message.channel, message.recipient) == ("email", english_by_email.email)
    order.refresh_from_db()
    assert order.protection_reminder_at is None
    assert order.protection_ended_at is None  # the reminder ends nothing
    (received,) = smtp_server.handler.received
    assert received.rcpt_tos == [english_by_email.email]
    assert received.message["Subject"] == (
        f"Your order {order.reference} at Kiosques Alpha: did all go well?"
    )
    body = received.message.get_body(("plain",)).get_content()
    assert protection.link_url(order) in body
    assert "250.00 EUR" in body
    assert "covered by our buyer protection until 1 Apr 2026, 11:00 CEST." in body
    html = received.message.get_body(("html",)).get_content()
    assert f'href="{protection.link_url(order)}"' in html
    assert '<html lang="en"' in html
    assert "did not receive your refund after a cancellation" in html


def test_it_reminds_a_customer_without_email_by_a_short_sms(frozen, by_sms_only, coins):
    # given
    order = protected_order(by_sms_only, coins)
    frozen.shift(23 * DAY)

    # when
    run_job("protection-reminders")

    # then
    (message,) = reminders()
    assert (message.channel, message.recipient) == ("sms", by_sms_only.phone)
    assert message.language == "fr"
    assert protection.link_url(order) in message.body
    assert order.reference in message.body
    assert len(message.body) <= 160  # one SMS part
    assert all(ord(character) < 0x2000 for character in message.body)


def test_it_reminds_nobody_about_unprotected_or_ended_orders(frozen, customer_a, coins):
    # given: an unprotected order, one confirmed, and one whose reminder is due
    buy(STAFF, customer_a, coins[:1], [PaymentPart("card", eur(PRICE), "pi_1")])
    confirmed = protected_order(customer_a, coins, 1)
    protection.confirm(confirmed)
    due = protected_order(customer_a, coins, 2)
    frozen.shift(23 * DAY)

    # when
    handled = run_job("protection-reminders")

    # then
    assert handled == 1
    assert [message.about_reference for message in reminders()] == [due.reference]


def test_it_clears_a_reminder_whose_protection_has_passed_without_sending_it(
    frozen, customer_a, coins
):
    # given: the worker was down from day 22 to day 31
    order = protected_order(customer_a, coins)
    frozen.shift(31 * DAY)

    # when
    handled = run_job("protection-reminders")

    # then
    assert handled == 1
    assert reminders() == []
    order.refresh_from_db()
    assert order.protection_reminder_at is None
    audit = AuditEvent.objects.get(action="commerce.protection_reminded")
    assert audit.data == {"sent": False}


# The end


def test_it_ends_the_protection_when_the_customer_confirms_all_went_well(
    frozen, customer_a, coins
):
    # given
    order = protected_order(customer_a, coins)
    frozen.shift(3 * DAY)

    # when
    protection.confirm(order)

    # then
    order.refresh_from_db()
    assert order.protection_ended_at == NOW + 3 * DAY
    assert order.protection_end_reason == ProtectionEnd.CONFIRMED
    assert order.protection_reminder_at is None
    audit = AuditEvent.objects.get(action="commerce.protection_ended")
    assert (audit.actor_label, audit.data) == ("customer", {"reason": "confirmed"})
    with pytest.raises(InvalidInput, match="You ended the protection"):
        protection.confirm(order)


def test_it_refuses_to_confirm_after_the_window(frozen, customer_a, coins):
    # given
    order = protected_order(customer_a, coins)
    frozen.shift(30 * DAY)

    # when
    with pytest.raises(InvalidInput) as refused:
        protection.confirm(order)

    # then
    assert "ended on 1 Apr 2026" in refused.value.message
    assert refused.value.fields == {"order": [refused.value.message]}
    order.refresh_from_db()
    assert order.protection_ended_at is None


def test_it_marks_a_protection_expired_when_its_30_days_have_passed(
    frozen, customer_a, coins
):
    # given
    order = protected_order(customer_a, coins)
    confirmed = protected_order(customer_a, coins, 1)
    protection.confirm(confirmed)
    frozen.shift(30 * DAY - timedelta(seconds=1))
    assert run_job("protection-expiry") == 0

    # when
    frozen.shift(timedelta(days=2))
    expired = run_job("protection-expiry")
    again = run_job("protection-expiry")

    # then
    assert (expired, again) == (1, 0)
    order.refresh_from_db()
    assert order.protection_end_reason == ProtectionEnd.EXPIRED
    assert order.protection_ended_at == NOW + 30 * DAY
    confirmed.refresh_from_db()
    assert confirmed.protection_end_reason == ProtectionEnd.CONFIRMED


# The signed link


def test_the_link_names_its_order_and_refuses_any_other_token(
    frozen, customer_a, coins
):
    # given
    order = protected_order(customer_a, coins)
    token = protection.link_token(order)
    pk, signature = token.split(":")
    other = protected_order(customer_a, coins, 1)

    # then
    assert protection.order_of_token(token) == order
    assert protection.order_of_token(f"{other.pk}:{signature}") is None
    assert protection.order_of_token(f"{pk}:{signature[:-1]}x") is None
    assert protection.order_of_token(pk) is None
    assert protection.order_of_token("") is None
    # A token signed for another purpose (another salt) is no link.
    from django.core import signing

    assert protection.order_of_token(signing.Signer().sign(pk)) is None


# The merchant's systems hear of the end


def test_it_tells_the_merchants_webhook_endpoints_when_a_protection_ends(
    frozen, merchant_a, customer_a, coins
):
    # given
    notifications.create_endpoint(
        STAFF,
        merchant_a.pk,
        url="https://erp.example.org/hooks",
        description="ERP",
        event_types=["protection.ended"],
    )
    confirmed = protected_order(customer_a, coins)
    expired = protected_order(customer_a, coins, 1)

    # when
    protection.confirm(confirmed)
    frozen.shift(30 * DAY)
    run_job("protection-expiry")
    run_job("protection-expiry")

    # then
    hooks = OutboxMessage.objects.filter(channel="webhook").order_by("pk")
    events = [json.loads(message.body) for message in hooks]
    assert [event["type"] for event in events] == ["protection.ended"] * 2
    assert [event["data"]["order"] for event in events] == [
        confirmed.reference,
        expired.reference,
    ]
    assert [event["data"]["reason"] for event in events] == ["confirmed", "expired"]
    assert events[1]["data"]["ended_at"] == "2026-04-01T09:00:00Z"
