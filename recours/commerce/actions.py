"""Money flows of commerce: stock, holds, checkout, wallets and portfolios.

Each action is one transaction: it takes its row locks through
`recours.core.locks` in one order (reservation, then the items' holdings,
then contingents, then ledger accounts inside `ledger.post`), checks, writes
its journal entry with `ledger.actions.post`, moves the items with it and
appends an audit event. A refused action raises a `recours.core.errors`
type and leaves nothing behind. Money conventions: notes/issue12.md.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from recours.accounts.models import Customer
from recours.commerce import serials
from recours.commerce.models import (
    Holding,
    HoldingMove,
    Item,
    ItemType,
    Order,
)
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput
from recours.core.locks import lock_row, lock_rows
from recours.core.money import Money
from recours.ledger.actions import Line, account_for, customer_account, post
from recours.ledger.models import CUSTOMER_KINDS, AccountKind, JournalEntry

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
        return wallet_entry(actor, customer, "top_up", amount, reference, about)


def withdraw(
    actor: Actor, customer: Customer, amount: Money, reference: str
) -> JournalEntry:
    """Pay money out of the wallet to the customer's bank; refuses more than
    the wallet holds (InsufficientBalance)."""
    positive(amount)
    with transaction.atomic():
        return wallet_entry(
            actor, customer, "withdrawal", -amount, reference, customer_about(customer)
        )


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
