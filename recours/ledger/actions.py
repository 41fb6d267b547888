"""Posting to the books: every money movement of Recours goes through `post`.

One transaction per entry: the accounts are locked in primary-key order, the
entry must balance per currency, the cached balances move with the postings,
and a customer's wallet or store credit can never go below zero (checked
here with a clear error, and by a check constraint in the database).
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
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


def accounts_for(
    customer: Customer, kinds: Collection[str], currency: str
) -> dict[str, LedgerAccount]:
    """The customer's accounts (wallet, store credit) and their organization's
    of these kinds, by kind, in one query; each opened on first use."""
    owned = [kind for kind in kinds if kind in CUSTOMER_KINDS]
    shared = [kind for kind in kinds if kind not in CUSTOMER_KINDS]
    found = {
        account.kind: account
        for account in LedgerAccount.objects.filter(
            Q(customer=customer, kind__in=owned) | Q(customer=None, kind__in=shared),
            organization_id=customer.organization_id,
            currency=currency,
        )
    }
    for kind in set(kinds) - found.keys():
        owner = customer if kind in CUSTOMER_KINDS else None
        found[kind] = account_for(customer.organization, kind, currency, owner)
    return found


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
    and moves items together) without a savepoint of its own. Raises
    InvalidInput for an entry that does not balance and InsufficientBalance
    when a customer account would go below zero, before anything is
    written, so the caller's transaction stays usable.

    1. Locks the customer accounts and checks their balances (`check_funds`).
    2. Writes the entry, its postings and its audit event (`write_entry`).
    3. Moves the cached balances, locking the organization's shared accounts
       last (`move_balances`).
    """
    check_lines(lines)
    with in_transaction():
        check_funds(lines)
        # A failure from here on leaves half an entry: it spoils the caller's
        # transaction, which must then end.
        with transaction.atomic(savepoint=False):
            entry = write_entry(
                actor,
                organization,
                kind,
                lines,
                memo=memo,
                about=about,
                corrects=corrects,
            )
            move_balances(lines)
    return entry


def in_transaction() -> AbstractContextManager[object]:
    """A new transaction, or nothing more inside the caller's."""
    if transaction.get_connection().in_atomic_block:
        return nullcontext()
    return transaction.atomic()


def check_funds(lines: Sequence[Line]) -> None:
    """Lock the customer accounts the lines move, lowest key first, and
    refuse an entry that would take one below zero; nothing is written.

    Every posting transaction locks the customer's accounts before the
    organization's shared ones (`move_balances`): one order, no deadlock.
    """
    owned = [line.account.pk for line in lines if is_customer_account(line.account)]
    accounts = lock_rows(LedgerAccount.objects.filter(pk__in=owned))
    check_balances(accounts, movements(lines))


def is_customer_account(account: LedgerAccount) -> bool:
    return account.kind in CUSTOMER_KINDS


def write_entry(
    actor: Actor,
    organization: Organization,
    kind: str,
    lines: Sequence[Line],
    *,
    memo: str = "",
    about: str = "",
    corrects: JournalEntry | None = None,
) -> JournalEntry:
    """The entry, its postings and its audit event; the cached balances
    move in `move_balances`, later in the same transaction."""
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
    audit.record(
        actor,
        "ledger.posted",
        entry,
        organization_id=organization.pk,
        reason=memo,
        data={"kind": kind, "postings": len(lines), "corrects": corrects_id(corrects)},
    )
    return entry


def move_balances(lines: Sequence[Line]) -> None:
    """Add the lines to their accounts' cached balances, in one statement.

    The organization's own accounts (merchant payable, provider clearing)
    are shared by all its customers' transactions, which queue on them:
    call this last, so that they stay locked only until the commit. Two or
    more are locked first, lowest key first, so that two entries moving the
    same ones cannot deadlock; a single one is locked by the update itself.
    The customer's accounts are already locked (`check_funds`).
    """
    moved = {pk: amount for pk, amount in movements(lines).items() if amount}
    shared = {
        line.account.pk for line in lines if not is_customer_account(line.account)
    }
    if len(shared & moved.keys()) > 1:
        lock_rows(
            LedgerAccount.objects.filter(pk__in=shared & moved.keys()), no_key=True
        )
    LedgerAccount.objects.filter(pk__in=moved).update(
        balance_minor=F("balance_minor") + by_account(moved)
    )


def by_account(amounts: dict[int, int]) -> Case:
    """The amount for each account, as one SQL expression."""
    return Case(
        *(When(pk=pk, then=Value(amount)) for pk, amount in amounts.items()),
        output_field=BigIntegerField(),
    )


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
