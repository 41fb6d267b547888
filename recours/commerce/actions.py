"""Money flows of commerce: stock, holds, checkout, wallets and portfolios.

Each action is one transaction: it takes its row locks through
`recours.core.locks` in one order (reservation, then the items' holdings,
then contingents, then the customer's ledger accounts, and the
organization's shared accounts last, as `ledger.actions.post` does),
checks, writes its journal entry with `ledger.actions.post` (or its steps),
moves the items with it and appends an audit event. A refused action raises a `recours.core.errors`
type and leaves nothing behind. Money conventions: notes/issue12.md.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from recours.accounts import actions as accounts_actions
from recours.accounts.models import Customer
from recours.commerce import protection, serials
from recours.commerce.models import (
    Contingent,
    Holding,
    HoldingMove,
    Item,
    ItemType,
    Order,
    OrderLine,
    Payment,
    Reservation,
    ReservationLine,
)
from recours.commerce.portfolio import channel_of, code_subject, recipient_of
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput
from recours.core.locks import lock_row, lock_rows
from recours.core.money import Money, total
from recours.core.references import new_reference
from recours.ledger.actions import (
    Line,
    account_for,
    accounts_for,
    check_funds,
    customer_account,
    move_balances,
    post,
    write_entry,
)
from recours.ledger.models import (
    CUSTOMER_KINDS,
    AccountKind,
    JournalEntry,
)
from recours.notifications.outbox import enqueue

ORDER_REFERENCE_PREFIX = "CO"
# Worker jobs handle at most this many rows per pass.
BATCH_SIZE = 100


# Stock and holdings


def stock_item(actor: Actor, item_type: ItemType, serial: str) -> Item:
    """Put a new serialized item in its organization's stock.

    Refuses a serial that fails the type's pattern or check digit, and one
    already in stock for this type.
    """
    serial = serials.check_serial(
        item_type.serial_pattern, item_type.check_digit, serial
    )
    now = clock.now()
    try:
        with transaction.atomic():
            item = Item.objects.create(
                item_type=item_type, serial=serial, created_at=now
            )
            Holding.objects.create(
                item=item, organization=item_type.organization, since=now
            )
            write_move(actor, item, None, None, HoldingMove.Reason.STOCKED)
            audit.record(
                actor,
                "commerce.item_stocked",
                item,
                organization_id=item_type.organization_id,
                data={"serial": serial},
            )
    except IntegrityError:
        raise Conflict(
            _("Serial number %(serial)s is already in stock for %(type)s.")
            % {"serial": serial, "type": item_type.name},
            code="serial_taken",
        ) from None
    return item


def write_move(
    actor: Actor,
    item: Item,
    from_customer: Customer | None,
    to_customer: Customer | None,
    reason: str,
    *,
    entry: JournalEntry | None = None,
    order: Order | None = None,
) -> HoldingMove:
    return HoldingMove.objects.create(
        item=item,
        from_customer=from_customer,
        to_customer=to_customer,
        reason=reason,
        entry=entry,
        order=order,
        actor_label=actor.label,
        created_at=clock.now(),
    )


def move_item(
    actor: Actor,
    item: Item,
    to_customer: Customer | None,
    reason: str,
    *,
    entry: JournalEntry | None = None,
    order: Order | None = None,
) -> HoldingMove:
    """Give `item` to `to_customer` (None: back to stock), with its history.

    Call it inside the transaction that pays for the move: it locks the
    item's holding until that transaction ends.
    """
    assert transaction.get_connection().in_atomic_block, "move outside a transaction"
    (holding,) = lock_rows(Holding.objects.filter(item=item))
    if to_customer is not None and to_customer.organization_id != (
        holding.organization_id
    ):
        raise InvalidInput(_("This customer belongs to another organization."))
    if holding.customer_id == (to_customer.pk if to_customer else None):
        raise Conflict(
            _("%(item)s is already there.") % {"item": item}, code="already_held"
        )
    from_customer = holding.customer
    holding.customer = to_customer
    holding.since = clock.now()
    holding.save(update_fields=["customer", "since"])
    move = write_move(
        actor, item, from_customer, to_customer, reason, entry=entry, order=order
    )
    audit.record(
        actor,
        "commerce.item_moved",
        item,
        organization_id=holding.organization_id,
        data={"reason": reason, "move": move.pk},
    )
    return move


# Money to a customer


def positive(amount: Money) -> Money:
    if amount.amount_minor <= 0:
        raise InvalidInput(
            _("The amount must be above zero."), fields={"amount": [_("Above zero.")]}
        )
    return amount


def credit_customer(
    actor: Actor,
    customer: Customer,
    kind: str,
    amount: Money,
    memo: str,
    *,
    corrects: JournalEntry | None = None,
    about: str = "",
    counterpart: str = AccountKind.MERCHANT_PAYABLE,
) -> JournalEntry:
    """Credit a customer's wallet or store credit, from the merchant payable
    (or `counterpart`, e.g. suspense when the cause is unknown)."""
    if kind not in CUSTOMER_KINDS:
        raise InvalidInput(_("Only a wallet or a store credit can be credited."))
    positive(amount)
    organization = customer.organization
    with transaction.atomic():
        entry = post(
            actor,
            organization,
            "store_credit" if kind == AccountKind.STORE_CREDIT else "wallet_credit",
            [
                Line(customer_account(customer, kind, amount.currency), amount),
                Line(account_for(organization, counterpart, amount.currency), -amount),
            ],
            memo=memo,
            about=about or customer_about(customer),
            corrects=corrects,
        )
        audit.record(
            actor,
            "commerce.customer_credited",
            customer,
            organization_id=organization.pk,
            reason=memo,
            data={"kind": kind, "amount_minor": amount.amount_minor, "entry": entry.pk},
        )
    return entry


def customer_about(customer: Customer) -> str:
    return f"accounts.customer:{customer.pk}"


def tell_customer(customer: Customer, template: str, key: str, context: dict) -> None:
    """Queue a message about a money event in the caller's transaction, by SMS
    or else e-mail (`channel_of`); a customer with neither hears nothing.
    `key` names the event, so a retried action does not queue it twice."""
    channel = channel_of(customer)
    if not channel:
        return
    enqueue(
        dedupe_key=key,
        channel=channel,
        recipient=recipient_of(customer, channel),
        template=f"{template}.{channel}",
        context=context,
        language=customer.language,
        organization_id=customer.organization_id,
        about=customer_about(customer),
        about_reference=customer.customer_number,
    )


def tell_about_transfer(payment: Payment, template: str, event: str) -> None:
    """Tell the buyer where their awaited transfer stands (`event`, once)."""
    order = payment.order
    if order.customer is None:
        return  # only imported orders have no customer, and no awaited transfer
    tell_customer(
        order.customer,
        template,
        f"commerce:order:{order.pk}:{event}",
        {
            "reference": order.reference,
            "amount": Money(payment.amount_minor, payment.currency),
            "due_at": payment.due_at,
        },
    )


# Wallet


def top_up(
    actor: Actor, customer: Customer, amount: Money, reference: str
) -> JournalEntry:
    """Money came in for the customer's wallet (a bank transfer recorded by
    finance, or the API); `reference` is the transfer's, recorded once."""
    positive(amount)
    about = f"commerce.top_up:{customer.pk}:{reference.strip()}"
    if not reference.strip() or len(about) > 80:
        raise InvalidInput(
            _("A top-up needs its transfer reference (up to 40 characters)."),
            fields={"reference": [_("Required, up to 40 characters.")]},
        )
    wallet = customer_account(customer, AccountKind.WALLET, amount.currency)
    with transaction.atomic():
        lock_row(type(wallet), wallet.pk)
        if JournalEntry.objects.filter(kind="top_up", about=about).exists():
            raise Conflict(
                _("Transfer %(reference)s was already credited to this wallet.")
                % {"reference": reference.strip()},
                code="duplicate_top_up",
            )
        entry = wallet_entry(actor, customer, "top_up", amount, reference, about)
        tell_customer(
            customer,
            "wallet_top_up",
            f"commerce:entry:{entry.pk}:top_up",
            {"amount": amount, "reference": reference.strip()},
        )
    return entry


def withdraw(
    actor: Actor, customer: Customer, amount: Money, reference: str
) -> JournalEntry:
    """Pay money out of the wallet to the customer's bank; refuses more than
    the wallet holds (InsufficientBalance)."""
    positive(amount)
    with transaction.atomic():
        entry = wallet_entry(
            actor, customer, "withdrawal", -amount, reference, customer_about(customer)
        )
        tell_customer(
            customer,
            "wallet_withdrawal",
            f"commerce:entry:{entry.pk}:withdrawal",
            {"amount": amount},
        )
    return entry


def wallet_entry(
    actor: Actor,
    customer: Customer,
    kind: str,
    amount: Money,
    reference: str,
    about: str,
) -> JournalEntry:
    """Wallet +amount against provider clearing, with its audit event."""
    organization = customer.organization
    wallet = customer_account(customer, AccountKind.WALLET, amount.currency)
    clearing = account_for(organization, AccountKind.PROVIDER_CLEARING, amount.currency)
    entry = post(
        actor,
        organization,
        kind,
        [Line(wallet, amount), Line(clearing, -amount)],
        memo=reference,
        about=about,
    )
    audit.record(
        actor,
        f"commerce.wallet_{kind}",
        customer,
        organization_id=organization.pk,
        reason=reference,
        data={"amount_minor": amount.amount_minor, "entry": entry.pk},
    )
    return entry


# Reservations


@dataclass(frozen=True)
class Seats:
    """A number of seats of one contingent, to reserve."""

    contingent: Contingent
    quantity: int


LIVE_ORDER_STATUSES = (Order.Status.PENDING, Order.Status.PAID, Order.Status.FULFILLED)


def reserve(
    actor: Actor,
    customer: Customer,
    items: Sequence[Item] = (),
    seats: Sequence[Seats] = (),
) -> Reservation:
    """Hold items and seats for the customer for RESERVATION_MINUTES.

    1. Frees the requested items from holds that have expired but not yet
       been purged.
    2. Locks the items' holdings: each must be in stock and held by no one.
    3. Locks the contingents: each must have room for the seats.
    4. Writes the reservation and its lines (a unique key on active item
       lines backs step 2).
    """
    check_request(customer, items, seats)
    now = clock.now()
    with transaction.atomic():
        expire_stale_holds(items, now)
        hold_items(items)
        hold_seats(seats, now)
        reservation = Reservation.objects.create(
            organization=customer.organization,
            customer=customer,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.RESERVATION_MINUTES),
        )
        add_lines(reservation, items, seats)
        audit.record(
            actor,
            "commerce.reserved",
            reservation,
            organization_id=customer.organization_id,
            data={"items": [item.pk for item in items], "seats": len(seats)},
        )
    return reservation


def check_request(
    customer: Customer, items: Sequence[Item], seats: Sequence[Seats]
) -> None:
    if not items and not seats:
        raise InvalidInput(_("Choose at least one item or seat."))
    if len({item.pk for item in items}) != len(items) or len(
        {request.contingent.pk for request in seats}
    ) != len(seats):
        raise InvalidInput(_("Each item or contingent may be asked for once."))
    if any(request.quantity < 1 for request in seats):
        raise InvalidInput(_("Ask for at least one seat."))
    organizations = {item.item_type.organization_id for item in items} | {
        request.contingent.session.event.organization_id for request in seats
    }
    if organizations != {customer.organization_id}:
        raise InvalidInput(_("These items are not sold to this customer."))


def expire_stale_holds(items: Sequence[Item], now: datetime) -> None:
    stale = (
        Reservation.objects.filter(
            status=Reservation.Status.ACTIVE,
            expires_at__lte=now,
            lines__item__in=items,
            lines__is_active=True,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    for pk in sorted(stale):
        end_reservation(pk, Reservation.Status.EXPIRED, due_before=now)


def hold_items(items: Sequence[Item], mine: Reservation | None = None) -> list[Holding]:
    """Lock the items' holdings; refuse an item sold, or held by a
    reservation other than `mine`."""
    holdings = lock_rows(Holding.objects.filter(item__in=items))
    sold = [holding for holding in holdings if holding.customer_id is not None]
    if sold:
        raise Conflict(
            _("%(item)s is already sold.") % {"item": sold[0].item},
            code="already_sold",
        )
    # `mine` holds the items by its active lines, and the unique constraint
    # on active item lines lets no other reservation hold them too.
    if mine is not None:
        return holdings
    if ReservationLine.objects.filter(item__in=items, is_active=True).exists():
        raise Conflict(
            _("An item you chose is in another customer's basket."),
            code="already_reserved",
        )
    return holdings


def hold_seats(seats: Sequence[Seats], now: datetime) -> None:
    wanted = {request.contingent.pk: request.quantity for request in seats}
    for contingent in lock_rows(Contingent.objects.filter(pk__in=wanted)):
        free = contingent.capacity - seats_taken(contingent, now)
        if wanted[contingent.pk] > free:
            raise Conflict(
                _("Only %(free)d seats are left in %(contingent)s.")
                % {"free": max(free, 0), "contingent": contingent.name},
                code="sold_out",
            )


def seats_taken(contingent: Contingent, now: datetime) -> int:
    """Seats in live holds plus seats sold (or awaiting a transfer)."""
    held = ReservationLine.objects.filter(
        contingent=contingent,
        is_active=True,
        reservation__status=Reservation.Status.ACTIVE,
        reservation__expires_at__gt=now,
    ).aggregate(seats=Sum("quantity"))["seats"]
    sold = OrderLine.objects.filter(
        contingent=contingent, order__status__in=LIVE_ORDER_STATUSES
    ).aggregate(seats=Sum("quantity"))["seats"]
    return (held or 0) + (sold or 0)


def add_lines(
    reservation: Reservation, items: Sequence[Item], seats: Sequence[Seats]
) -> None:
    lines = [ReservationLine(reservation=reservation, item=item) for item in items]
    lines += [
        ReservationLine(
            reservation=reservation, contingent=s.contingent, quantity=s.quantity
        )
        for s in seats
    ]
    try:
        with transaction.atomic():
            ReservationLine.objects.bulk_create(lines)
    except IntegrityError:
        raise Conflict(
            _("An item you chose is in another customer's basket."),
            code="already_reserved",
        ) from None


def end_reservation(
    pk: int, status: str, *, due_before: datetime | None = None
) -> bool:
    """Claim an active reservation for `status` and free its lines; False
    when another transaction ended it first."""
    rows = Reservation.objects.filter(pk=pk, status=Reservation.Status.ACTIVE)
    if due_before is not None:
        rows = rows.filter(expires_at__lte=due_before)
    if rows.update(status=status) != 1:
        return False
    ReservationLine.objects.filter(reservation_id=pk, is_active=True).update(
        is_active=False
    )
    return True


def release(actor: Actor, reservation: Reservation) -> None:
    """The customer emptied the basket: its items and seats go back on sale."""
    with transaction.atomic():
        lock_row(Reservation, reservation.pk)
        if not end_reservation(reservation.pk, Reservation.Status.RELEASED):
            raise Conflict(
                _("This basket is no longer active."), code="reservation_not_active"
            )
        audit.record(
            actor,
            "commerce.reservation_released",
            reservation,
            organization_id=reservation.organization_id,
        )
    reservation.refresh_from_db()


def purge_expired_reservations() -> int:
    """Worker job: end the holds whose time is up; returns how many."""
    now = clock.now()
    due = Reservation.objects.filter(
        status=Reservation.Status.ACTIVE, expires_at__lte=now
    ).order_by("expires_at")
    purged = 0
    for pk in list(due.values_list("pk", flat=True)[:BATCH_SIZE]):
        with transaction.atomic():
            if end_reservation(pk, Reservation.Status.EXPIRED, due_before=now):
                purged += 1
                audit.record(
                    Actor.system("worker"),
                    "commerce.reservation_expired",
                    Reservation.objects.get(pk=pk),
                )
    return purged


# Checkout


@dataclass(frozen=True)
class PaymentPart:
    """One way the customer pays part of an order. A card is named by the
    provider's payment id, never by its number."""

    method: str
    amount: Money
    provider_payment_id: str = ""


PAYABLE_METHODS = (
    Payment.Method.CARD,
    Payment.Method.WALLET,
    Payment.Method.STORE_CREDIT,
    Payment.Method.BANK_TRANSFER,
)


def checkout(
    actor: Actor,
    reservation: Reservation,
    payments: Sequence[PaymentPart],
    *,
    protect: bool = False,
) -> Order:
    """Pay for a reservation: one transaction, first validated payment wins.

    1. Locks the reservation (active, not expired), the items' holdings (in
       stock), the contingents, then the customer's wallet or store credit.
    2. Writes the order and its lines, the payments and one journal entry.
    3. Moves the items to the customer and closes the reservation.
    4. Moves the cached balances, the dealer's shared accounts last.

    A bank transfer alone defers payment: the order waits, unpaid, with its
    items held, until `confirm_transfer` or `lapse_deferred_payments`. A
    checkout that lost its item to another raises Conflict "already_sold"
    and moves no money; its card payment is recorded as voided.

    `protect`: the buyer opted in to buyer protection (commerce.protection).
    """
    check_parts(payments)
    if protect:
        protection.check_enrolment(reservation.customer)
    try:
        with transaction.atomic():
            return place_order(actor, reservation, payments, protect)
    except Conflict as error:
        if error.code == "already_sold":
            void_card_payments(actor, reservation.customer, payments)
        raise


def buy(
    actor: Actor,
    customer: Customer,
    items: Sequence[Item],
    payments: Sequence[PaymentPart],
    *,
    protect: bool = False,
) -> Order:
    """Reserve and check out at once ("buy now"), in one transaction."""
    check_parts(payments)
    if protect:
        protection.check_enrolment(customer)
    try:
        with transaction.atomic():
            reservation = reserve(actor, customer, items)
            return place_order(actor, reservation, payments, protect)
    except Conflict as error:
        if error.code == "already_sold":
            void_card_payments(actor, customer, payments)
        raise


def check_parts(parts: Sequence[PaymentPart]) -> None:
    if not parts:
        raise InvalidInput(_("Choose how to pay."))
    for part in parts:
        check_part(part)
    if len({part.amount.currency for part in parts}) != 1:
        raise InvalidInput(_("All payments must be in one currency."))
    methods = [part.method for part in parts]
    if Payment.Method.BANK_TRANSFER in methods and len(parts) != 1:
        raise InvalidInput(_("A bank transfer pays for the whole order alone."))


def check_part(part: PaymentPart) -> None:
    if part.method not in PAYABLE_METHODS:
        raise InvalidInput(_("This payment method is not accepted here."))
    if part.amount.amount_minor <= 0:
        raise InvalidInput(_("Each payment must be above zero."))
    if part.method != Payment.Method.CARD:
        return
    reference = part.provider_payment_id
    if not reference or len(reference) > 80:
        raise InvalidInput(_("A card payment needs the provider's payment id."))
    digits = reference.replace(" ", "").replace("-", "")
    if digits.isdigit() and 12 <= len(digits) <= 19:
        # Looks like a card number: never store one (ARCHITECTURE.md 4.10).
        raise InvalidInput(_("Give the provider's payment id, not a card number."))


def place_order(
    actor: Actor,
    reservation: Reservation,
    parts: Sequence[PaymentPart],
    protect: bool = False,
) -> Order:
    reservation = lock_row(
        Reservation, reservation.pk, related=("organization", "customer")
    )
    check_hold(reservation)
    lines = list(
        reservation.lines.filter(is_active=True).select_related(
            "item__item_type", "contingent__category"
        )
    )
    items = line_items(lines)
    hold_items(items, reservation)
    lock_rows(Contingent.objects.filter(pk__in=[line.contingent_id for line in lines]))
    amount = order_total(lines)
    check_cover(parts, amount)
    if parts[0].method == Payment.Method.BANK_TRANSFER:
        order = create_order(reservation, lines, amount, Order.Status.PENDING, protect)
        return await_transfer(actor, reservation, order, parts[0])
    return pay_and_deliver(actor, reservation, lines, parts, amount, protect)


def line_items(lines: Sequence[ReservationLine]) -> list[Item]:
    return [line.item for line in lines if line.item is not None]


def pay_and_deliver(
    actor: Actor,
    reservation: Reservation,
    lines: Sequence[ReservationLine],
    parts: Sequence[PaymentPart],
    amount: Money,
    protect: bool = False,
) -> Order:
    """`ledger.post`'s steps with the delivery inside: every buyer of the
    dealer waits on its merchant payable (and provider clearing) account,
    so its balance moves last, just before the commit.

    1. Locks the customer's wallet or store credit and checks it covers
       its part (InsufficientBalance before anything is written).
    2. Writes the order, the payments, the entry, its postings.
    3. Moves the items to the customer and closes the reservation.
    4. Moves the cached balances (the shared accounts' locks).
    """
    postings = payment_lines(reservation.customer, parts)
    check_funds(postings)
    order = create_order(reservation, lines, amount, Order.Status.PAID, protect)
    entry = pay_order(actor, order, parts, postings)
    deliver(actor, reservation, order, entry, line_items(lines))
    audit.record(
        actor,
        "commerce.order_paid",
        order,
        organization_id=order.organization_id,
        data={
            "methods": [part.method for part in parts],
            "entry": entry.pk,
            "protected": protect,
        },
    )
    move_balances(postings)
    return order


def check_hold(reservation: Reservation) -> None:
    if reservation.status == Reservation.Status.CHECKED_OUT:
        raise Conflict(
            _("This basket was already paid for."), code="already_checked_out"
        )
    if reservation.status == Reservation.Status.RELEASED:
        raise Conflict(_("This basket was emptied."), code="reservation_not_active")
    if (
        reservation.status == Reservation.Status.EXPIRED
        or reservation.expires_at <= clock.now()
    ):
        raise Conflict(
            _("Your basket expired: its items went back on sale."),
            code="reservation_expired",
        )


def line_price(line: ReservationLine) -> Money:
    if line.item is not None:
        item_type = line.item.item_type
        return Money(item_type.price_minor, item_type.currency)
    assert line.contingent is not None
    category = line.contingent.category
    return Money(category.price_minor * line.quantity, category.currency)


def order_total(lines: Sequence[ReservationLine]) -> Money:
    if not lines:
        raise Conflict(_("This basket is empty."), code="reservation_empty")
    prices = [line_price(line) for line in lines]
    try:
        return total(prices, prices[0].currency)
    except ValueError:
        raise InvalidInput(_("A basket cannot mix currencies.")) from None


def check_cover(parts: Sequence[PaymentPart], amount: Money) -> None:
    paid = [part.amount for part in parts]
    if paid[0].currency != amount.currency or total(paid, amount.currency) != amount:
        raise InvalidInput(
            _("The payments add up to %(paid)s; the order is %(total)s.")
            % {"paid": total(paid, paid[0].currency), "total": amount}
        )


def create_order(
    reservation: Reservation,
    lines: Sequence[ReservationLine],
    amount: Money,
    status: str,
    protect: bool = False,
) -> Order:
    now = clock.now()
    order = Order.objects.create(
        organization=reservation.organization,
        customer=reservation.customer,
        reference=new_reference(ORDER_REFERENCE_PREFIX),
        status=status,
        total_minor=amount.amount_minor,
        currency=amount.currency,
        placed_at=now,
        **(protection.enrolment(now, now) if protect else {}),
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            item=line.item,
            contingent=line.contingent,
            description=str(line.item or line.contingent),
            quantity=line.quantity,
            unit_price_minor=line_price(line).amount_minor // line.quantity,
            currency=amount.currency,
        )
        for line in lines
    )
    return order


def source_kind(method: str) -> str:
    """Where a payment's money comes from: the customer's wallet or store
    credit, or the provider's clearing account (card, bank transfer)."""
    if method in (Payment.Method.WALLET, Payment.Method.STORE_CREDIT):
        return method
    return AccountKind.PROVIDER_CLEARING


def payment_lines(customer: Customer, parts: Sequence[PaymentPart]) -> list[Line]:
    """Each part from its source to the merchant payable."""
    kinds = {source_kind(part.method) for part in parts}
    accounts = accounts_for(
        customer, kinds | {AccountKind.MERCHANT_PAYABLE}, parts[0].amount.currency
    )
    payable = accounts[AccountKind.MERCHANT_PAYABLE]
    return [
        line
        for part in parts
        for line in (
            Line(accounts[source_kind(part.method)], -part.amount),
            Line(payable, part.amount),
        )
    ]


def pay_order(
    actor: Actor, order: Order, parts: Sequence[PaymentPart], postings: Sequence[Line]
) -> JournalEntry:
    """Capture every part and write them as one entry; the balances move
    later in the transaction (`move_balances`)."""
    now = clock.now()
    Payment.objects.bulk_create(
        Payment(
            order=order,
            method=part.method,
            provider_payment_id=part.provider_payment_id,
            status=Payment.Status.CAPTURED,
            amount_minor=part.amount.amount_minor,
            captured_minor=part.amount.amount_minor,
            currency=part.amount.currency,
            created_at=now,
        )
        for part in parts
    )
    return write_entry(
        actor,
        order.organization,
        "checkout",
        postings,
        memo=order.reference,
        about=order_about(order),
    )


def order_about(order: Order) -> str:
    return f"commerce.order:{order.pk}"


def deliver(
    actor: Actor,
    reservation: Reservation,
    order: Order,
    entry: JournalEntry,
    items: Sequence[Item],
) -> None:
    """Give the paid items, whose holdings the caller locked in stock, to
    the customer, and close the reservation."""
    now = clock.now()
    customer = reservation.customer
    Holding.objects.filter(item__in=items).update(customer=customer, since=now)
    moves = HoldingMove.objects.bulk_create(
        HoldingMove(
            item=item,
            to_customer=customer,
            reason=HoldingMove.Reason.PURCHASE,
            entry=entry,
            order=order,
            actor_label=actor.label,
            created_at=now,
        )
        for item in items
    )
    for move in moves:
        audit.record(
            actor,
            "commerce.item_moved",
            move.item,
            organization_id=reservation.organization_id,
            data={"reason": move.reason, "move": move.pk},
        )
    reservation.lines.filter(is_active=True).update(is_active=False)
    reservation.status = Reservation.Status.CHECKED_OUT
    reservation.order = order
    reservation.save(update_fields=["status", "order"])


def void_card_payments(
    actor: Actor, customer: Customer, parts: Sequence[PaymentPart]
) -> None:
    """Record a losing checkout's card payments as voided, on a cancelled
    order, in their own transaction: no money moves."""
    cards = [part for part in parts if part.method == Payment.Method.CARD]
    if not cards:
        return
    amount = total([part.amount for part in cards], cards[0].amount.currency)
    with transaction.atomic():
        order = Order.objects.create(
            organization=customer.organization,
            customer=customer,
            reference=new_reference(ORDER_REFERENCE_PREFIX),
            status=Order.Status.CANCELLED,
            total_minor=amount.amount_minor,
            currency=amount.currency,
            placed_at=clock.now(),
        )
        for part in cards:
            voided_payment(order, part)
        audit.record(
            actor,
            "commerce.card_voided",
            order,
            organization_id=customer.organization_id,
            reason="already_sold",
        )


def voided_payment(order: Order, part: PaymentPart) -> Payment:
    return Payment.objects.create(
        order=order,
        method=part.method,
        provider_payment_id=part.provider_payment_id,
        status=Payment.Status.VOIDED,
        amount_minor=part.amount.amount_minor,
        currency=part.amount.currency,
        created_at=clock.now(),
    )


# Deferred payment (bank transfer)


def await_transfer(
    actor: Actor, reservation: Reservation, order: Order, part: PaymentPart
) -> Order:
    """The order waits for its transfer; the reservation's lines stay active,
    so its items stay held (and its seats count as sold) until then."""
    due_at = clock.now() + timedelta(hours=settings.DEFERRED_PAYMENT_HOURS)
    payment = Payment.objects.create(
        order=order,
        method=Payment.Method.BANK_TRANSFER,
        status=Payment.Status.PENDING,
        amount_minor=part.amount.amount_minor,
        currency=part.amount.currency,
        created_at=clock.now(),
        due_at=due_at,
    )
    reservation.status = Reservation.Status.CHECKED_OUT
    reservation.order = order
    reservation.save(update_fields=["status", "order"])
    audit.record(
        actor,
        "commerce.order_awaiting_transfer",
        order,
        organization_id=order.organization_id,
        data={
            "payment": payment.pk,
            "due_at": due_at.isoformat(),
            "protected": order.is_protected,
        },
    )
    tell_about_transfer(payment, "transfer_awaited", "awaiting_transfer")
    return order


def confirm_transfer(actor: Actor, payment: Payment) -> Order:
    """The awaited transfer arrived: capture it, pay the order, deliver."""
    with transaction.atomic():
        reservation = lock_row(Reservation, payment.order.reservation.pk)
        payment = lock_row(Payment, payment.pk)
        if payment.status != Payment.Status.PENDING:
            raise Conflict(
                _("This payment is no longer awaited."), code="payment_not_pending"
            )
        items = hold_transfer_items(reservation)
        order = payment.order
        entry = capture_transfer(actor, reservation, payment)
        Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
        deliver(actor, reservation, order, entry, items)
        audit.record(
            actor,
            "commerce.transfer_confirmed",
            order,
            organization_id=order.organization_id,
            data={"payment": payment.pk, "entry": entry.pk},
        )
        tell_about_transfer(payment, "transfer_confirmed", "paid")
    order.refresh_from_db()
    return order


def hold_transfer_items(reservation: Reservation) -> list[Item]:
    """Lock the awaited order's items in stock; refuse one sold meanwhile."""
    lines = reservation.lines.filter(is_active=True).select_related("item")
    items = line_items(list(lines))
    holdings = lock_rows(Holding.objects.filter(item__in=items))
    if any(holding.customer_id is not None for holding in holdings):
        raise Conflict(_("An item of this order was sold."), code="already_sold")
    return items


def capture_transfer(
    actor: Actor, reservation: Reservation, payment: Payment
) -> JournalEntry:
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.CAPTURED, captured_minor=payment.amount_minor
    )
    part = PaymentPart(
        Payment.Method.BANK_TRANSFER, Money(payment.amount_minor, payment.currency)
    )
    order = payment.order
    return post(
        actor,
        order.organization,
        "checkout",
        payment_lines(reservation.customer, [part]),
        memo=order.reference,
        about=order_about(order),
    )


def lapse_deferred_payments() -> int:
    """Worker job: transfers not come by their due time lapse, and their
    orders let their items and seats go. Returns how many lapsed."""
    now = clock.now()
    due = Payment.objects.filter(
        status=Payment.Status.PENDING, due_at__lte=now
    ).order_by("due_at")
    lapsed = 0
    for pk in list(due.values_list("pk", flat=True)[:BATCH_SIZE]):
        with transaction.atomic():
            lapsed += lapse_one(pk, now)
    return lapsed


def lapse_one(payment_id: int, now: datetime) -> int:
    order_id = Payment.objects.filter(pk=payment_id).values("order_id")
    for pk in Reservation.objects.filter(order_id__in=order_id).values_list(
        "pk", flat=True
    ):
        lock_row(Reservation, pk)
    claimed = Payment.objects.filter(
        pk=payment_id, status=Payment.Status.PENDING, due_at__lte=now
    ).update(status=Payment.Status.LAPSED)
    if claimed != 1:
        return 0  # confirmed or lapsed by another transaction meanwhile
    payment = Payment.objects.select_related("order__customer").get(pk=payment_id)
    Order.objects.filter(pk=payment.order_id, status=Order.Status.PENDING).update(
        status=Order.Status.LAPSED
    )
    ReservationLine.objects.filter(
        reservation__order_id=payment.order_id, is_active=True
    ).update(is_active=False)
    audit.record(
        Actor.system("worker"),
        "commerce.transfer_lapsed",
        payment.order,
        organization_id=payment.order.organization_id,
        data={"payment": payment_id},
    )
    tell_about_transfer(payment, "transfer_lapsed", "lapsed")
    return 1


# Portfolio


def sell_back(actor: Actor, customer: Customer, item: Item) -> HoldingMove:
    """The customer sells an item back: it returns to stock and its buyback
    price reaches their wallet, in one transaction."""
    item_type = item.item_type
    price = Money(item_type.buyback_price_minor, item_type.currency)
    if price.is_zero():
        raise Conflict(_("This item is not bought back."), code="no_buyback")
    with transaction.atomic():
        (holding,) = lock_rows(Holding.objects.filter(item=item))
        check_held_by(holding, customer)
        entry = post(
            actor,
            customer.organization,
            "sell_back",
            proceeds_lines(customer, price),
            memo=str(item),
            about=f"commerce.item:{item.pk}",
        )
        move = move_item(actor, item, None, HoldingMove.Reason.SELL_BACK, entry=entry)
        audit.record(
            actor,
            "commerce.sold_back",
            item,
            organization_id=customer.organization_id,
            data={"customer": customer.pk, "amount_minor": price.amount_minor},
        )
        tell_customer(
            customer,
            "item_sold_back",
            f"commerce:entry:{entry.pk}:sell_back",
            {"amount": price, "item": item_type.name, "serial": item.serial},
        )
    return move


def proceeds_lines(customer: Customer, price: Money) -> list[Line]:
    """Merchant payable -price, the customer's wallet +price."""
    organization = customer.organization
    payable = account_for(organization, AccountKind.MERCHANT_PAYABLE, price.currency)
    wallet = customer_account(customer, AccountKind.WALLET, price.currency)
    return [Line(payable, -price), Line(wallet, price)]


def check_held_by(holding: Holding, customer: Customer) -> None:
    if holding.customer_id != customer.pk:
        raise Conflict(
            _("%(item)s is not in this customer's portfolio.") % {"item": holding.item},
            code="not_held",
        )


def replace_item(actor: Actor, customer: Customer, item: Item, reason: str) -> Item:
    """Give the customer an identical item of the same type from stock in
    place of `item` (damaged, or lost: then it may be held elsewhere). The
    customer's `item`, if they still hold it, goes back to stock."""
    if not HoldingMove.objects.filter(item=item, to_customer=customer).exists():
        raise Conflict(
            _("This customer never held %(item)s.") % {"item": item}, code="not_held"
        )
    with transaction.atomic():
        replacement = replacement_for(item)
        holdings = lock_rows(Holding.objects.filter(item__in=[item, replacement]))
        if not is_free(replacement, holdings):
            raise Conflict(_("Try again: that item was just sold."), code="retry")
        if any(h.item_id == item.pk and h.customer_id == customer.pk for h in holdings):
            move_item(actor, item, None, HoldingMove.Reason.REPLACEMENT)
        move_item(actor, replacement, customer, HoldingMove.Reason.REPLACEMENT)
        audit.record(
            actor,
            "commerce.item_replaced",
            item,
            organization_id=customer.organization_id,
            reason=reason,
            data={"customer": customer.pk, "replacement": replacement.pk},
        )
    return replacement


def replacement_for(item: Item) -> Item:
    reserved = ReservationLine.objects.filter(is_active=True, item__isnull=False)
    candidate = (
        Item.objects.filter(item_type=item.item_type, holding__customer__isnull=True)
        .exclude(pk=item.pk)
        .exclude(pk__in=reserved.values("item_id"))
        .order_by("pk")
        .first()
    )
    if candidate is None:
        raise Conflict(
            _("No %(type)s is left in stock to replace it.")
            % {"type": item.item_type.name},
            code="out_of_stock",
        )
    return candidate


def is_free(item: Item, holdings: Sequence[Holding]) -> bool:
    in_stock = any(h.item_id == item.pk and h.customer_id is None for h in holdings)
    reserved = ReservationLine.objects.filter(item=item, is_active=True).exists()
    return in_stock and not reserved


# One-time codes that open a customer's portfolio on the customer's pages


def send_portfolio_code(customer: Customer) -> str | None:
    """Send a one-time code that opens the customer's portfolio; return the
    channel, or None when there is nowhere to send it or a cap refused it.

    The caps are the status page's (accounts.actions.code_request_cap); the
    new code replaces the live ones.
    """
    actor = Actor(label="customer")
    with transaction.atomic():
        # One request at a time per customer, so only one code is ever live.
        customer = lock_row(Customer, customer.pk)
        channel = channel_of(customer)
        if not channel:
            return None
        subject = code_subject(customer)
        capped = accounts_actions.code_request_cap(
            subject, customer.phone if channel == "sms" else ""
        )
        if capped:
            audit.record(actor, "customer.portfolio_code_refused", customer,
                         organization_id=customer.organization_id,
                         data={"cap": capped})  # fmt: skip
            return None
        code = accounts_actions.issue_code(subject, channel)
        audit.record(actor, "customer.portfolio_code_sent", customer,
                     organization_id=customer.organization_id)  # fmt: skip
        # The key is shown in the console: never the code.
        tell_customer(
            customer,
            "portfolio_code",
            f"portfolio:{customer.pk}:code:{secrets.token_hex(8)}",
            {"customer": customer, "code": code,
             "portfolio_url": f"{settings.SITE_URL}/portfolio/"},
        )  # fmt: skip
    return channel


def check_portfolio_code(customers: list[Customer], code: str) -> Customer | None:
    """The customer whose live code this is (each code works once), or None."""
    for customer in customers:
        if accounts_actions.check_code(code_subject(customer), code):
            return customer
    return None
