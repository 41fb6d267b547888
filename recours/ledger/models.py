"""Double-entry books in integer minor units (ARCHITECTURE.md sections 3 and 4).

An account belongs to an organization's books and, for a customer's wallet
or store credit, to that customer. A journal entry is a set of postings
whose amounts sum to zero per currency. A posting's amount is signed and
adds to its account's balance: +100 on a wallet is money the customer can
spend, so its counterpart (the provider clearing account a top-up came
through, say) goes to -100. Entries and postings are append-only; a mistake
is corrected by a new entry that references it.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Customer, Organization
from recours.core.append_only import AppendOnlyModel


class AccountKind(models.TextChoices):
    WALLET = "wallet", _("Wallet")
    STORE_CREDIT = "store_credit", _("Store credit")
    ESCROW = "escrow", _("Escrow")
    MERCHANT_PAYABLE = "merchant_payable", _("Merchant payable")
    PROVIDER_CLEARING = "provider_clearing", _("Provider clearing")
    PLATFORM_REVENUE = "platform_revenue", _("Platform revenue")
    SUSPENSE = "suspense", _("Suspense")


# A customer owns these, and they never go below zero.
CUSTOMER_KINDS = (AccountKind.WALLET, AccountKind.STORE_CREDIT)


class LedgerAccount(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    currency = models.CharField(max_length=3)
    # The sum of this account's postings, kept in the posting's transaction.
    balance_minor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "kind", "currency"],
                condition=Q(customer__isnull=False),
                name="ledger_one_customer_account",
            ),
            models.UniqueConstraint(
                fields=["organization", "kind", "currency"],
                condition=Q(customer__isnull=True),
                name="ledger_one_organization_account",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=CUSTOMER_KINDS, customer__isnull=False)
                | (~Q(kind__in=CUSTOMER_KINDS) & Q(customer__isnull=True)),
                name="ledger_customer_accounts_have_a_customer",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=CUSTOMER_KINDS) | Q(balance_minor__gte=0),
                name="ledger_customer_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        owner = self.customer or self.organization
        return f"{self.get_kind_display()} {self.currency} of {owner}"


class JournalEntry(AppendOnlyModel):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="journal_entries"
    )
    created_at = models.DateTimeField(db_index=True)
    # What happened, in a word: top_up, checkout, sell_back, correction…
    kind = models.CharField(max_length=30)
    memo = models.CharField(max_length=300, blank=True)
    actor_label = models.CharField(max_length=120)
    # A correction names the entry it corrects; nothing is ever rewritten.
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    # The business object behind the entry ("commerce.order:42").
    about = models.CharField(max_length=80, blank=True, db_index=True)

    class Meta:
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Posting(AppendOnlyModel):
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="postings"
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="postings"
    )
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount_minor=0), name="posting_not_zero"
            )
        ]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} on {self.account_id}"
