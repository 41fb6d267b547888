"""Reading the books: balances from postings, and an account's history."""

from django.db.models import QuerySet, Sum

from recours.accounts.models import Customer
from recours.ledger.models import CUSTOMER_KINDS, LedgerAccount, Posting


def balance_from_postings(account: LedgerAccount) -> int:
    """The account's balance summed from its postings (the cached one must match)."""
    total = account.postings.aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def customer_accounts(customer: Customer) -> QuerySet[LedgerAccount]:
    """A customer's wallets and store credits, one per kind and currency."""
    return LedgerAccount.objects.filter(
        customer=customer, kind__in=CUSTOMER_KINDS
    ).order_by("kind", "currency")


def history(account: LedgerAccount) -> QuerySet[Posting]:
    """The account's postings with their entries, newest first."""
    return account.postings.select_related("entry").order_by(
        "-entry__created_at", "-pk"
    )
