"""Posting to the books: every money movement of Recours goes through `post`.

One transaction per entry: the accounts are locked in primary-key order, the
entry must balance per currency, the cached balances move with the postings,
and a customer's wallet or store credit can never go below zero (checked
here with a clear error, and by a check constraint in the database).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from recours.accounts.models import Customer, Organization
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput
from recours.core.locks import lock_rows
from recours.core.money import Money
from recours.ledger.models import (
    CUSTOMER_KINDS,
    AccountKind,
    JournalEntry,
    LedgerAccount,
    Posting,
)


class InsufficientBalance(Conflict):
    code = "insufficient_balance"


@dataclass(frozen=True)
class Line:
    """One posting to be: `amount` (signed) added to `account`'s balance."""

    account: LedgerAccount
    amount: Money


def account_for(
    organization: Organization,
    kind: str,
    currency: str,
    customer: Customer | None = None,
) -> LedgerAccount:
    """The account for this owner, kind and currency, opened on first use.

    Two transactions opening it at once both get the one row: the unique
    constraints decide, and the loser reads the winner's row.
    """
    lookup = {
        "organization": organization,
        "customer": customer,
        "kind": kind,
        "currency": currency,
    }
    found = LedgerAccount.objects.filter(**lookup).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(**lookup, created_at=clock.now())
    except IntegrityError:
        return LedgerAccount.objects.get(**lookup)


def customer_account(customer: Customer, kind: str, currency: str) -> LedgerAccount:
    """A customer's wallet or store credit, in the books of their organization."""
    return account_for(customer.organization, kind, currency, customer)


def check_lines(lines: Sequence[Line]) -> None:
    """Refuse an entry that could not be right, before touching anything."""
    if len(lines) < 2:
        raise InvalidInput(_("An entry needs at least two postings."))
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.amount.is_zero():
            raise InvalidInput(_("A posting cannot be zero."))
        if line.amount.currency != line.account.currency:
            raise InvalidInput(
                _("A %(currency)s amount cannot go to a %(account)s account.")
                % {"currency": line.amount.currency, "account": line.account.currency}
            )
        sums[line.amount.currency] += line.amount.amount_minor
    unbalanced = sorted(currency for currency, total in sums.items() if total != 0)
    if unbalanced:
        raise InvalidInput(
            _("The entry does not balance in %(currencies)s.")
            % {"currencies": ", ".join(unbalanced)}
        )


def movements(lines: Sequence[Line]) -> dict[int, int]:
    moved: dict[int, int] = defaultdict(int)
    for line in lines:
        moved[line.account.pk] += line.amount.amount_minor
    return moved


def check_balances(accounts: list[LedgerAccount], moved: dict[int, int]) -> None:
    for account in accounts:
        after = account.balance_minor + moved[account.pk]
        if account.kind in CUSTOMER_KINDS and after < 0:
            raise InsufficientBalance(
                _(
                    "Not enough money in the %(account)s: %(balance)s available, "
                    "%(needed)s needed."
                )
                % {
                    "account": AccountKind(account.kind).label.lower(),
                    "balance": Money(account.balance_minor, account.currency),
                    "needed": Money(-moved[account.pk], account.currency),
                }
            )


def post(
    actor: Actor,
    organization: Organization,
    kind: str,
    lines: Sequence[Line],
    *,
    memo: str = "",
    about: str = "",
    corrects: JournalEntry | None = None,
) -> JournalEntry:
    """Write one balanced entry and move the cached balances with it.

    Runs in its own transaction, or in the caller's (a checkout posts money
    and moves items together). Raises InvalidInput for an entry that does
    not balance and InsufficientBalance when a customer account would go
    below zero; nothing is written then.
    """
    check_lines(lines)
    moved = movements(lines)
    with transaction.atomic():
        accounts = lock_rows(LedgerAccount.objects.filter(pk__in=moved))
        check_balances(accounts, moved)
        entry = JournalEntry.objects.create(
            organization=organization,
            created_at=clock.now(),
            kind=kind,
            memo=memo,
            actor_label=actor.label,
            corrects=corrects,
            about=about,
        )
        Posting.objects.bulk_create(
            Posting(
                entry=entry,
                account=line.account,
                amount_minor=line.amount.amount_minor,
                currency=line.amount.currency,
            )
            for line in lines
        )
        for account_id, amount in moved.items():
            if amount:
                LedgerAccount.objects.filter(pk=account_id).update(
                    balance_minor=F("balance_minor") + amount
                )
        audit.record(
            actor,
            "ledger.posted",
            entry,
            organization_id=organization.pk,
            reason=memo,
            data={
                "kind": kind,
                "postings": len(lines),
                "corrects": corrects_id(corrects),
            },
        )
    return entry


def corrects_id(entry: JournalEntry | None) -> int | None:
    return entry.pk if entry is not None else None


def reverse(actor: Actor, entry: JournalEntry, memo: str) -> JournalEntry:
    """Undo an entry with its mirror image, which references it."""
    lines = [
        Line(posting.account, Money(-posting.amount_minor, posting.currency))
        for posting in entry.postings.select_related("account")
    ]
    return post(
        actor,
        entry.organization,
        "correction",
        lines,
        memo=memo,
        about=entry.about,
        corrects=entry,
    )
