"""Corrections: proposed from an anomaly, approved by finance or an
administrator (two different people above CORRECTION_SECOND_APPROVAL_MINOR),
executed as compensating entries and moves in one transaction, written on
the case timeline and told to the customer.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from recours.accounts.models import Customer, Membership
from recours.cases.events import add_event
from recours.cases.models import Audience, CaseEvent
from recours.cases.notices import notify_customer
from recours.commerce import actions as commerce
from recours.commerce.models import (
    Holding,
    HoldingMove,
    Item,
    Order,
    Payment,
    Reservation,
    ReservationLine,
)
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, PermissionDenied
from recours.core.locks import lock_row, lock_rows
from recours.core.money import Money
from recours.integrity import queries, settlement
from recours.integrity.detectors import holding_move_about
from recours.integrity.models import Anomaly, AnomalyKind, Correction
from recours.ledger import balances
from recours.ledger.actions import Line, account_for, customer_account, post
from recours.ledger.models import AccountKind, JournalEntry, LedgerAccount

Proposal = tuple[str, int, str, dict]  # kind, amount_minor, currency, payload


# Proposing


def item_value(item_id: int) -> tuple[int, str]:
    """What an item is worth (its type's price), for the approval threshold."""
    item = Item.objects.select_related("item_type").get(pk=item_id)
    return item.item_type.price_minor, item.item_type.currency


def give_item(item_id: int, customer_id: int, order_id: int | None) -> Proposal:
    """Restore the item itself when it is in stock, else an identical one."""
    amount_minor, currency = item_value(item_id)
    payload = {"item_id": item_id, "customer_id": customer_id, "order_id": order_id}
    in_stock = Holding.objects.filter(item_id=item_id, customer__isnull=True).exists()
    kind = (
        Correction.Kind.RESTORE_HOLDING
        if in_stock
        else (Correction.Kind.ASSIGN_IDENTICAL_ITEM)
    )
    return kind, amount_minor, currency, payload


def propose_credit(anomaly: Anomaly) -> Proposal:
    details = anomaly.details
    payload = {"customer_id": anomaly.customer_id, "move_id": details["move_id"]}
    return (Correction.Kind.CREDIT_WALLET, int(details["expected_minor"]),
            details["currency"], payload)  # fmt: skip


def propose_item(anomaly: Anomaly) -> Proposal:
    details = anomaly.details
    assert anomaly.customer_id is not None
    return give_item(details["item_id"], anomaly.customer_id, details.get("order_id"))


def propose_refund(anomaly: Anomaly) -> Proposal | None:
    details = anomaly.details
    if anomaly.kind == AnomalyKind.SETTLEMENT_MISMATCH:
        if details.get("reason") != "refund_missing":
            return None
        amount_minor = settlement.unsettled_refunds_minor(details)
    else:
        amount_minor = details["captured_minor"] - details["refunded_minor"]
    payload = {"payment_id": details["payment_id"]}
    return Correction.Kind.REFUND, amount_minor, details["currency"], payload


def propose_release(anomaly: Anomaly) -> Proposal:
    payload = {"reservation_id": anomaly.details["reservation_id"]}
    return Correction.Kind.RELEASE_HOLD, 0, "EUR", payload


def propose_lapse(anomaly: Anomaly) -> Proposal:
    details = anomaly.details
    payload = {"payment_id": details["payment_id"]}
    return Correction.Kind.LAPSE_TRANSFER, 0, details["currency"], payload


def propose_rebuild(anomaly: Anomaly) -> Proposal:
    """The amount is the drift, so a large one needs two approvers."""
    details = anomaly.details
    payload = {"account_id": details["account_id"]}
    return (Correction.Kind.REBUILD_BALANCE, abs(int(details["difference_minor"])),
            details["currency"], payload)  # fmt: skip


# What each kind proposes. Two kinds need a person: a serial number that
# fails its type, and refunds above the capture (both come from imported
# data, and what is right is for the shop to say).
PROPOSERS: dict[str, Callable[[Anomaly], Proposal | None]] = {
    AnomalyKind.STALE_RESERVATION: propose_release,
    AnomalyKind.OVERDUE_DEFERRED_PAYMENT: propose_lapse,
    AnomalyKind.BALANCE_DRIFT: propose_rebuild,
    AnomalyKind.UNPAID_SELL_BACK: propose_credit,
    AnomalyKind.SOLD_TWICE: propose_item,
    AnomalyKind.UNDELIVERED_ORDER: propose_item,
    AnomalyKind.VANISHED_HOLDING: propose_item,
    AnomalyKind.CAPTURE_WITHOUT_ORDER: propose_refund,
    AnomalyKind.SETTLEMENT_MISMATCH: propose_refund,
}


def propose(actor: Actor, anomaly: Anomaly) -> Correction | None:
    """The anomaly kind's correction, proposed and written on the case; None
    when the kind has none. Call it inside the caller's transaction."""
    proposer = PROPOSERS.get(anomaly.kind)
    proposal = proposer(anomaly) if proposer else None
    if proposal is None or proposal[1] < 0:
        return None
    kind, amount_minor, currency, payload = proposal
    correction = Correction.objects.create(
        anomaly=anomaly, kind=kind, amount_minor=amount_minor, currency=currency,
        payload=payload, proposed_by_label=actor.label, proposed_at=clock.now(),
    )  # fmt: skip
    add_event(anomaly.case, actor, CaseEvent.Type.NOTE,
              _("Correction proposed: %(what)s.") % {"what": describe(correction)},
              public=False, audience=Audience.PLATFORM,
              data={"correction": correction.pk, "kind": kind,
                    "amount_minor": amount_minor, "payload": payload})  # fmt: skip
    audit.record(actor, "integrity.correction_proposed", correction,
                 organization_id=anomaly.organization_id)  # fmt: skip
    return correction


def propose_again(membership: Membership, actor: Actor, anomaly: Anomaly) -> Correction:
    """A technician (or finance, an administrator) asks for the anomaly's
    correction again, e.g. after one was rejected."""
    if not queries.may_propose(membership):
        raise PermissionDenied(_("Only the platform's technical, finance or "
                                 "administrator staff can propose a correction."))  # fmt: skip
    with transaction.atomic():
        anomaly = lock_row(Anomaly, anomaly.pk)
        if (
            anomaly.status != Anomaly.Status.OPEN
            or anomaly.corrections.filter(status=Correction.Status.PROPOSED).exists()
        ):
            raise Conflict(_("This anomaly is closed or already has a correction "
                             "awaiting approval."), code="correction_pending")  # fmt: skip
        correction = propose(actor, anomaly)
    if correction is None:
        raise Conflict(_("This kind of anomaly has no automatic correction."),
                       code="no_correction")  # fmt: skip
    return correction


def describe(correction: Correction) -> str:
    money = Money(correction.amount_minor, correction.currency)
    descriptions = {
        Correction.Kind.RESTORE_HOLDING: _("restore item #%(item)s to the portfolio"),
        Correction.Kind.ASSIGN_IDENTICAL_ITEM: _(
            "assign an item identical to #%(item)s"
        ),
        Correction.Kind.CREDIT_WALLET: _("credit %(amount)s to the wallet"),
        Correction.Kind.REFUND: _("refund %(amount)s on payment #%(payment)s"),
        Correction.Kind.RELEASE_HOLD: _(
            "release the items of reservation #%(reservation)s"
        ),
        Correction.Kind.LAPSE_TRANSFER: _(
            "lapse the transfer of payment #%(payment)s and free its items"
        ),
        Correction.Kind.REBUILD_BALANCE: _(
            "rebuild the balance of account #%(account)s from its postings "
            "(a difference of %(amount)s)"
        ),
    }
    payload = correction.payload
    return descriptions[Correction.Kind(correction.kind)] % {
        "item": payload.get("item_id"),
        "amount": money,
        "payment": payload.get("payment_id"),
        "reservation": payload.get("reservation_id"),
        "account": payload.get("account_id"),
    }


# Deciding


def require_approver(membership: Membership) -> None:
    if not queries.may_approve(membership):
        raise PermissionDenied(
            _(
                "Only the platform's finance staff or an administrator can decide "
                "on a correction."
            )
        )


def locked_proposal(correction: Correction) -> Correction:
    correction = lock_row(Correction, correction.pk)
    if correction.status != Correction.Status.PROPOSED:
        raise Conflict(
            _("This correction was already decided."), code="correction_decided"
        )
    return correction


def approve(membership: Membership, actor: Actor, correction: Correction) -> Correction:
    """Approve; with enough different approvers, execute in the same
    transaction. A failing execution leaves the approval unwritten too."""
    require_approver(membership)
    with transaction.atomic():
        correction = locked_proposal(correction)
        if queries.approved_by(correction, membership.user_id):
            raise Conflict(_("You already approved this correction: another "
                             "person must approve it."), code="already_approved")  # fmt: skip
        correction.approvals.create(user_id=membership.user_id, at=clock.now())
        count, needed = (
            correction.approvals.count(),
            queries.approvals_needed(correction),
        )
        case = correction.anomaly.case
        add_event(case, actor, CaseEvent.Type.NOTE,
                  _("Correction approved (%(count)s of %(needed)s).")
                  % {"count": count, "needed": needed}, public=False,
                  audience=Audience.PLATFORM, data={"correction": correction.pk})  # fmt: skip
        audit.record(actor, "integrity.correction_approved", correction,
                     organization_id=case.organization_id)  # fmt: skip
        if count >= needed:
            execute(actor, correction)
    return correction


def reject(membership: Membership, actor: Actor, correction: Correction,
           reason: str) -> Correction:  # fmt: skip
    require_approver(membership)
    with transaction.atomic():
        correction = locked_proposal(correction)
        correction.status = Correction.Status.REJECTED
        correction.decided_at = clock.now()
        correction.save(update_fields=["status", "decided_at"])
        case = correction.anomaly.case
        add_event(case, actor, CaseEvent.Type.NOTE,
                  _("Correction rejected: %(reason)s") % {"reason": reason},
                  public=False, audience=Audience.PLATFORM,
                  data={"correction": correction.pk})  # fmt: skip
        audit.record(actor, "integrity.correction_rejected", correction,
                     organization_id=case.organization_id, reason=reason)  # fmt: skip
    return correction


def dismiss(membership: Membership, actor: Actor, anomaly: Anomaly,
            reason: str) -> Anomaly:  # fmt: skip
    """Not a fault after all (a test order, a known case): say why, keep it."""
    if not queries.may_propose(membership):
        raise PermissionDenied(_("Only the platform's technical, finance or "
                                 "administrator staff can dismiss an anomaly."))  # fmt: skip
    with transaction.atomic():
        anomaly = lock_row(Anomaly, anomaly.pk)
        anomaly.status = Anomaly.Status.DISMISSED
        anomaly.save(update_fields=["status"])
        anomaly.corrections.filter(status=Correction.Status.PROPOSED).update(
            status=Correction.Status.REJECTED, decided_at=clock.now()
        )
        add_event(anomaly.case, actor, CaseEvent.Type.NOTE,
                  _("Anomaly dismissed: %(reason)s") % {"reason": reason},
                  public=False, audience=Audience.PLATFORM)  # fmt: skip
        audit.record(actor, "integrity.anomaly_dismissed", anomaly,
                     organization_id=anomaly.organization_id, reason=reason)  # fmt: skip
    return anomaly


# Executing: compensating entries and moves only, never an edit.


def execute(actor: Actor, correction: Correction) -> None:
    """Run an approved correction; the caller holds its lock and transaction."""
    entry = EXECUTORS[Correction.Kind(correction.kind)](actor, correction)
    now = clock.now()
    correction.status = Correction.Status.EXECUTED
    correction.decided_at = now
    correction.executed_entry = entry
    correction.save(update_fields=["status", "decided_at", "executed_entry"])
    anomaly = correction.anomaly
    Anomaly.objects.filter(pk=anomaly.pk).update(status=Anomaly.Status.CORRECTED)
    add_event(anomaly.case, actor, CaseEvent.Type.NOTE,
              _("Correction executed: %(what)s.") % {"what": describe(correction)},
              public=False, audience=Audience.PLATFORM,
              data={"correction": correction.pk,
                    "entry": entry.pk if entry else None})  # fmt: skip
    audit.record(actor, "integrity.correction_executed", correction,
                 organization_id=anomaly.organization_id)  # fmt: skip
    tell_customer(correction)


# The corrections that give the customer something back. The others fix our
# own records (a hold, a cached balance), or tell the customer themselves (a
# lapsed transfer, through commerce).
TOLD_TO_CUSTOMER = {
    Correction.Kind.RESTORE_HOLDING,
    Correction.Kind.ASSIGN_IDENTICAL_ITEM,
    Correction.Kind.CREDIT_WALLET,
    Correction.Kind.REFUND,
}


def tell_customer(correction: Correction) -> None:
    anomaly = correction.anomaly
    if anomaly.customer_id is None or correction.kind not in TOLD_TO_CUSTOMER:
        return
    notify_customer(
        anomaly.case, "integrity_correction",
        f"integrity:correction:{correction.pk}:executed",
        {"kind": correction.kind,
         "amount": Money(correction.amount_minor, correction.currency)},
    )  # fmt: skip


def payload_customer(correction: Correction) -> Customer:
    return Customer.objects.select_related("organization").get(
        pk=correction.payload["customer_id"]
    )


def payload_order(correction: Correction) -> Order | None:
    order_id = correction.payload.get("order_id")
    return Order.objects.get(pk=order_id) if order_id else None


def restore_holding(actor: Actor, correction: Correction) -> None:
    item = Item.objects.get(pk=correction.payload["item_id"])
    if Holding.objects.filter(item=item, customer__isnull=False).exists():
        raise Conflict(_("This item is now held by a customer: propose an "
                         "identical item instead."), code="item_held")  # fmt: skip
    commerce.move_item(actor, item, payload_customer(correction),
                       HoldingMove.Reason.CORRECTION, order=payload_order(correction))  # fmt: skip


def assign_identical_item(actor: Actor, correction: Correction) -> None:
    """Give the customer an item of the same type from stock, the oldest first."""
    missing = Item.objects.get(pk=correction.payload["item_id"])
    customer = payload_customer(correction)
    candidates = Holding.objects.filter(
        customer__isnull=True,
        organization_id=customer.organization_id,
        item__item_type_id=missing.item_type_id,
    ).exclude(item=missing)
    first = candidates.order_by("pk").values_list("pk", flat=True).first()
    # Locked, then checked again: another correction may have taken it.
    found = []
    if first is not None:
        found = lock_rows(Holding.objects.filter(pk=first, customer__isnull=True))
    if not found:
        raise Conflict(
            _("No identical item is in stock: stock one, then approve again."),
            code="no_identical_item",
        )
    commerce.move_item(actor, found[0].item, customer, HoldingMove.Reason.CORRECTION,
                       order=payload_order(correction))  # fmt: skip


def credit_wallet(actor: Actor, correction: Correction) -> JournalEntry:
    move = HoldingMove.objects.select_related("entry").get(
        pk=correction.payload["move_id"]
    )
    return commerce.credit_customer(
        actor, payload_customer(correction), AccountKind.WALLET,
        Money(correction.amount_minor, correction.currency),
        _("Sell-back proceeds that were never credited"),
        corrects=move.entry, about=holding_move_about(move.pk),
    )  # fmt: skip


# Where a refund goes back to, by how the payment was made.
REFUND_ACCOUNT = {
    Payment.Method.WALLET: AccountKind.WALLET,
    Payment.Method.STORE_CREDIT: AccountKind.STORE_CREDIT,
}


def refund(actor: Actor, correction: Correction) -> JournalEntry:
    """Give back part of a capture: merchant payable to where the money came
    from, and the payment's refunded amount up, never above its capture."""
    payment = lock_row(Payment, correction.payload["payment_id"])
    amount = Money(correction.amount_minor, correction.currency)
    if payment.refunded_minor + amount.amount_minor > payment.captured_minor:
        raise Conflict(_("This refund would exceed what was captured."),
                       code="refund_above_capture")  # fmt: skip
    order = Order.objects.select_related("customer", "organization").get(
        pk=payment.order_id
    )
    entry = post(actor, order.organization, "refund",
                 [Line(refund_account(payment, order), amount),
                  Line(account_for(order.organization, AccountKind.MERCHANT_PAYABLE,
                                   amount.currency), -amount)],
                 memo=_("Refund by an integrity correction"),
                 about=f"commerce.payment:{payment.pk}")  # fmt: skip
    Payment.objects.filter(pk=payment.pk).update(
        refunded_minor=F("refunded_minor") + amount.amount_minor
    )
    return entry


def refund_account(payment: Payment, order: Order):  # type: ignore[no-untyped-def]
    kind = REFUND_ACCOUNT.get(Payment.Method(payment.method))
    if kind is not None and order.customer is not None:
        return customer_account(order.customer, kind, payment.currency)
    return account_for(order.organization, AccountKind.PROVIDER_CLEARING,
                       payment.currency)  # fmt: skip


def release_hold(actor: Actor, correction: Correction) -> None:
    """End the reservation and let its items and seats go back on sale."""
    reservation = lock_row(Reservation, correction.payload["reservation_id"])
    ReservationLine.objects.filter(reservation=reservation, is_active=True).update(
        is_active=False
    )
    if reservation.status == Reservation.Status.ACTIVE:
        Reservation.objects.filter(pk=reservation.pk).update(
            status=Reservation.Status.EXPIRED
        )
    audit.record(actor, "commerce.reservation_released", reservation,
                 organization_id=reservation.organization_id,
                 reason="integrity correction")  # fmt: skip


def lapse_transfer(actor: Actor, correction: Correction) -> None:
    if not commerce.lapse_one(correction.payload["payment_id"], clock.now()):
        raise Conflict(_("This transfer is no longer awaited: it came or lapsed "
                         "meanwhile."), code="transfer_not_pending")  # fmt: skip


def rebuild_balance(actor: Actor, correction: Correction) -> None:
    account = LedgerAccount.objects.get(pk=correction.payload["account_id"])
    balances.rebuild_balance(actor, account)


EXECUTORS: dict[str, Callable[[Actor, Correction], JournalEntry | None]] = {
    Correction.Kind.RELEASE_HOLD: release_hold,
    Correction.Kind.LAPSE_TRANSFER: lapse_transfer,
    Correction.Kind.REBUILD_BALANCE: rebuild_balance,
    Correction.Kind.RESTORE_HOLDING: restore_holding,
    Correction.Kind.ASSIGN_IDENTICAL_ITEM: assign_identical_item,
    Correction.Kind.CREDIT_WALLET: credit_wallet,
    Correction.Kind.REFUND: refund,
}
