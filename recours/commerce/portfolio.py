"""A customer's portfolio: the items they hold, their wallet and store credit,
the postings behind those balances; and who may be sent the one-time codes
that open it on the customer's pages (sending and checking them are actions,
in recours.commerce.actions).

Read-only: staff and customers see the same facts, the console through
recours.accounts.access, the portal after a code.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Customer
from recours.commerce.models import Holding, HoldingMove
from recours.core.money import Money
from recours.ledger.models import CUSTOMER_KINDS, LedgerAccount, Posting
from recours.ledger.queries import customer_accounts

# A customer number is unique per organization, not across them: a code goes
# to each customer holding it, up to this many.
CUSTOMERS_PER_NUMBER_MAX = 5
# How much of the item history a page shows (the postings are paginated).
MOVES_SHOWN_MAX = 50

# Journal entry kinds in words; an unknown kind shows as itself.
ENTRY_KIND_LABELS = {
    "top_up": _("Top-up"),
    "withdrawal": _("Withdrawal"),
    "withdraw": _("Withdrawal"),
    "checkout": _("Purchase"),
    "purchase": _("Purchase"),
    "sell_back": _("Sell-back"),
    "replacement": _("Replacement"),
    "credit": _("Credit"),
    "wallet_credit": _("Wallet credit"),
    "store_credit": _("Store credit"),
    "correction": _("Correction"),
    "reversal": _("Reversal"),
    "refund": _("Refund"),
}


def entry_kind_label(kind: str) -> object:
    return ENTRY_KIND_LABELS.get(kind, kind)


def holdings(customer: Customer) -> QuerySet[Holding]:
    """The items the customer holds now, by type then serial."""
    return (
        Holding.objects.filter(customer=customer)
        .select_related("item__item_type")
        .order_by("item__item_type__name", "item__serial", "pk")
    )


def balances(customer: Customer) -> QuerySet[LedgerAccount]:
    """Wallets and store credits, one per kind and currency (cached balances)."""
    return customer_accounts(customer)


def history(customer: Customer) -> QuerySet[Posting]:
    """Every posting on the customer's own accounts, newest first."""
    return (
        Posting.objects.filter(
            account__customer=customer, account__kind__in=CUSTOMER_KINDS
        )
        .select_related("entry", "account")
        .order_by("-entry__created_at", "-pk")
    )


def history_lines(postings: Iterable[Posting]) -> list[dict[str, Any]]:
    """Postings as pages show them: the amount as Money, the entry kind in words."""
    return [
        {
            "posting": posting,
            "amount": Money(posting.amount_minor, posting.currency),
            "what": entry_kind_label(posting.entry.kind),
        }
        for posting in postings
    ]


def balance_lines(customer: Customer) -> list[tuple[LedgerAccount, Money]]:
    return [
        (account, Money(account.balance_minor, account.currency))
        for account in balances(customer)
    ]


def moves(customer: Customer) -> QuerySet[HoldingMove]:
    """Items that came to or left the customer, newest first."""
    return (
        HoldingMove.objects.filter(from_customer=customer)
        .union(HoldingMove.objects.filter(to_customer=customer))
        .order_by("-created_at", "-pk")
    )


def moves_shown(customer: Customer) -> list[HoldingMove]:
    found = list(moves(customer)[:MOVES_SHOWN_MAX])
    # union() cannot select_related: fetch the items in one more query.
    items = HoldingMove.objects.filter(pk__in=[move.pk for move in found])
    by_pk = {move.pk: move for move in items.select_related("item__item_type")}
    return [by_pk[move.pk] for move in found]


# Codes that open the portfolio on the customer's pages


def code_subject(customer: Customer) -> str:
    return f"portfolio:{customer.pk}"


def customers_numbered(number: str) -> list[Customer]:
    number = number.strip()
    if not number:
        return []
    found = Customer.objects.filter(customer_number__iexact=number).order_by("pk")
    return list(found.select_related("organization")[:CUSTOMERS_PER_NUMBER_MAX])


def channel_of(customer: Customer) -> str:
    """SMS when we have a mobile number, else e-mail, else "" (nothing to send)."""
    if customer.phone:
        return "sms"
    if customer.email:
        return "email"
    return ""


def recipient_of(customer: Customer, channel: str) -> str:
    return customer.phone if channel == "sms" else customer.email
