"""Buyer protection of orders: enrolment, the day-23 reminder and the end.

A buyer who opted in (at checkout, or through their shop's API push or
import) is protected for PROTECTION_DAYS from the moment the order was
placed. Its deadlines are columns on the order (as healthchecks does):
`protection_reminder_at` until the reminder went out, `protection_ends_at`
until the worker marks the protection expired. A claim about a protected
order is a case (recours.cases.protection.open_claim), which reads these
columns; a claim leaves the protection as it is.

The reminder carries a signed link (django.core.signing, a salt of its
own) to the customer's feedback page; the link names the order and works
while its protection runs, which the page checks on the row.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from recours.accounts.models import Customer
from recours.commerce.models import Order, ProtectionEnd
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import InvalidInput
from recours.core.locks import lock_row
from recours.core.money import Money
from recours.notifications import webhooks
from recours.notifications.outbox import enqueue

SALT = "recours.commerce.protection.link"
# Worker jobs handle at most this many orders per pass.
BATCH_SIZE = 100
CUSTOMER = Actor(label="customer")
WORKER = Actor.system("worker")


# Enrolment


def enrolment(placed_at: datetime, now: datetime) -> dict[str, datetime | None]:
    """The protection columns of an order placed at `placed_at`, protected at
    `now`. An order recorded late (an import) is reminded at once if its
    window still runs, and never once it has passed."""
    ends_at = placed_at + timedelta(days=settings.PROTECTION_DAYS)
    reminder_at = placed_at + timedelta(days=settings.PROTECTION_REMINDER_DAY)
    return {
        "protection_started_at": placed_at,
        "protection_ends_at": ends_at,
        "protection_reminder_at": reminder_at if now < ends_at else None,
    }


def channel_of(customer: Customer) -> str:
    """E-mail when we have an address, else SMS, else "" (nowhere to write).

    The reverse of money notices (commerce.portfolio.channel_of): the
    reminder carries a link to a form, which reads better in an e-mail."""
    if customer.email:
        return "email"
    if customer.phone:
        return "sms"
    return ""


def recipient_of(customer: Customer, channel: str) -> str:
    return customer.email if channel == "email" else customer.phone


def enrolment_refusal(customer: Customer | None) -> str:
    """Why this order's buyer cannot be protected; "" when they can.

    The reminder and the claims reach the customer by e-mail or SMS."""
    if customer is None:
        return _("A protected order needs its customer, who gets the reminder.")
    if not channel_of(customer):
        return _(
            "Buyer protection needs the customer's e-mail address or mobile "
            "number, to send the reminder."
        )
    return ""


def check_enrolment(customer: Customer | None) -> None:
    refusal = enrolment_refusal(customer)
    if refusal:
        raise InvalidInput(refusal, fields={"protect": [refusal]})


# Where a protection stands


def is_running(order: Order, now: datetime | None = None) -> bool:
    """Protected, not ended, and its window not passed."""
    now = now or clock.now()
    return (
        order.protection_ends_at is not None
        and order.protection_ended_at is None
        and now < order.protection_ends_at
    )


def day_of(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATE_FORMAT")


def why_not_running(order: Order, now: datetime | None = None) -> str:
    """What to tell a customer whose order's protection does not run; "" if it does."""
    now = now or clock.now()
    if order.protection_ends_at is None:
        return _("This order is not protected.")
    if order.protection_end_reason == ProtectionEnd.CONFIRMED:
        assert order.protection_ended_at is not None
        return _(
            "You ended the protection of this order on %(date)s, saying all went well."
        ) % {"date": day_of(order.protection_ended_at)}
    if order.protection_ended_at is not None or now >= order.protection_ends_at:
        return _(
            "The protection of this order ended on %(date)s: it lasts %(days)s days "
            "from the order."
        ) % {"date": day_of(order.protection_ends_at), "days": settings.PROTECTION_DAYS}
    return ""


def check_running(order: Order, now: datetime | None = None) -> None:
    reason = why_not_running(order, now)
    if reason:
        raise InvalidInput(reason, fields={"order": [reason]})


# Ending


def confirm(order: Order) -> Order:
    """The customer says all went well: the protection ends now, before its
    window does (the seed's "cancel the buyer protection")."""
    now = clock.now()
    with transaction.atomic():
        order = lock_row(Order, order.pk, related=("organization", "customer"))
        check_running(order, now)
        end(CUSTOMER, order, ProtectionEnd.CONFIRMED, now)
    return order


def end(actor: Actor, order: Order, reason: str, ended_at: datetime) -> None:
    """Record the end on the locked order (nothing is due after it), and tell
    the merchant's webhook endpoints that take "protection.ended"."""
    order.protection_ended_at = ended_at
    order.protection_end_reason = reason
    order.protection_reminder_at = None
    order.save(
        update_fields=[
            "protection_ended_at",
            "protection_end_reason",
            "protection_reminder_at",
        ]
    )
    audit.record(
        actor,
        "commerce.protection_ended",
        order,
        organization_id=order.organization_id,
        data={"reason": reason},
    )
    webhooks.emit(
        order.organization_id,
        "protection.ended",
        {
            "order": order.reference,
            "external_id": order.external_id,
            "reason": reason,
            "ended_at": ended_at,
            "protection_ends_at": order.protection_ends_at,
        },
        f"commerce:order:{order.pk}:protection_ended",
        about=f"commerce.order:{order.pk}",
        about_reference=order.reference,
    )


def expire_due() -> int:
    """Worker job: protections whose window has passed end as expired.
    Returns how many."""
    now = clock.now()
    due = Order.objects.filter(
        protection_ended_at__isnull=True, protection_ends_at__lte=now
    ).order_by("protection_ends_at")
    expired = 0
    for pk in list(due.values_list("pk", flat=True)[:BATCH_SIZE]):
        with transaction.atomic():
            expired += expire_one(pk, now)
    return expired


def expire_one(pk: int, now: datetime) -> int:
    order = lock_row(Order, pk)
    if order.protection_ended_at is not None or not order.protection_ends_at:
        return 0  # ended by the customer, or another worker, meanwhile
    if order.protection_ends_at > now:
        return 0
    # It ended when its window did, however late the worker came by.
    end(WORKER, order, ProtectionEnd.EXPIRED, order.protection_ends_at)
    return 1


# The reminder and its link


def link_token(order: Order) -> str:
    """A token naming the order, signed with its own salt: "<pk>:<signature>"."""
    return signing.Signer(salt=SALT).sign(str(order.pk))


def link_url(order: Order) -> str:
    return f"{settings.SITE_URL}/protection/{link_token(order)}/"


def order_of_token(token: str) -> Order | None:
    """The order a link names, or None when its signature is wrong."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None
    if not value.isdigit():
        return None
    return (
        Order.objects.select_related("organization", "customer")
        .filter(pk=int(value))
        .first()
    )


def send_due_reminders() -> int:
    """Worker job: ask the customers of protections due a reminder how their
    order went; returns how many orders it handled."""
    now = clock.now()
    due = Order.objects.filter(protection_reminder_at__lte=now).order_by(
        "protection_reminder_at"
    )
    handled = 0
    for pk in list(due.values_list("pk", flat=True)[:BATCH_SIZE]):
        with transaction.atomic():
            handled += remind_one(pk, now)
    return handled


def remind_one(pk: int, now: datetime) -> int:
    """Claim the order's reminder (clear the column), then queue the message
    in the same transaction: a rerun finds nothing due, and the outbox key
    would refuse a second message anyway."""
    claimed = Order.objects.filter(pk=pk, protection_reminder_at__lte=now).update(
        protection_reminder_at=None
    )
    if claimed != 1:
        return 0  # sent by another worker, or the protection ended meanwhile
    order = Order.objects.select_related("organization", "customer").get(pk=pk)
    customer = order.customer
    # A window that passed while the worker was away is not reminded of.
    sent = (
        customer is not None
        and is_running(order, now)
        and queue_reminder(order, customer)
    )
    audit.record(
        WORKER,
        "commerce.protection_reminded",
        order,
        organization_id=order.organization_id,
        data={"sent": sent},
    )
    return 1


def queue_reminder(order: Order, customer: Customer) -> bool:
    channel = channel_of(customer)
    if not channel:
        return False  # the customer's contact was removed since the order
    assert order.protection_ends_at is not None
    enqueue(
        dedupe_key=f"commerce:order:{order.pk}:protection_reminder",
        channel=channel,
        recipient=recipient_of(customer, channel),
        template=f"protection_reminder.{channel}",
        context={
            "reference": order.reference,
            "shop": order.organization.name,
            "placed_at": order.placed_at,
            "amount": Money(order.total_minor, order.currency),
            "ends_at": order.protection_ends_at,
            "url": link_url(order),
        },
        language=customer.language,
        organization_id=order.organization_id,
        about=f"commerce.order:{order.pk}",
        about_reference=order.reference,
    )
    return True
