"""Posting entries: balanced, locked, never below zero, never rewritten."""

import pytest
from django.db import IntegrityError, connection, transaction

from recours.accounts.models import Customer, Organization
from recours.core.append_only import AppendOnlyError
from recours.core.audit import Actor
from recours.core.errors import InvalidInput
from recours.core.models import AuditEvent
from recours.core.money import Money
from recours.ledger.actions import (
    InsufficientBalance,
    Line,
    account_for,
    customer_account,
    post,
    reverse,
)
from recours.ledger.models import AccountKind, JournalEntry, LedgerAccount, Posting
from recours.ledger.queries import balance_from_postings

pytestmark = pytest.mark.django_db
ACTOR = Actor(label="finance")


def eur(amount_minor: int) -> Money:
    return Money(amount_minor, "EUR")


@pytest.fixture
def wallet(customer_a: Customer) -> LedgerAccount:
    return customer_account(customer_a, AccountKind.WALLET, "EUR")


@pytest.fixture
def clearing(merchant_a: Organization) -> LedgerAccount:
    return account_for(merchant_a, AccountKind.PROVIDER_CLEARING, "EUR")


def top_up(wallet, clearing, amount_minor: int) -> JournalEntry:
    return post(
        ACTOR,
        wallet.organization,
        "top_up",
        [Line(wallet, eur(amount_minor)), Line(clearing, eur(-amount_minor))],
    )


def balances(*accounts: LedgerAccount) -> list[int]:
    return [LedgerAccount.objects.get(pk=a.pk).balance_minor for a in accounts]


def test_a_balanced_entry_moves_the_cached_balances_with_its_postings(wallet, clearing):
    # when
    entry = top_up(wallet, clearing, 5000)

    # then
    assert balances(wallet, clearing) == [5000, -5000]
    assert [balance_from_postings(a) for a in (wallet, clearing)] == [5000, -5000]
    assert entry.postings.count() == 2
    assert AuditEvent.objects.filter(action="ledger.posted").count() == 1


@pytest.mark.parametrize(
    "amounts,message",
    [
        ([100, -90], "does not balance in EUR"),
        ([100], "at least two postings"),
        ([100, 0, -100], "cannot be zero"),
    ],
)
def test_it_refuses_an_entry_that_cannot_be_right(wallet, clearing, amounts, message):
    # given
    accounts = [wallet, clearing, clearing]
    lines = [Line(accounts[i], eur(a)) for i, a in enumerate(amounts)]

    # when / then
    with pytest.raises(InvalidInput, match=message):
        post(ACTOR, wallet.organization, "top_up", lines)
    assert not JournalEntry.objects.exists()


def test_it_refuses_an_amount_in_another_currency_than_its_account(wallet, clearing):
    # when / then
    with pytest.raises(InvalidInput, match="USD amount cannot go to a EUR account"):
        post(
            ACTOR,
            wallet.organization,
            "top_up",
            [Line(wallet, Money(100, "USD")), Line(clearing, Money(-100, "USD"))],
        )


def test_a_wallet_never_goes_below_zero(wallet, clearing):
    # given
    top_up(wallet, clearing, 3000)

    # when / then
    with pytest.raises(InsufficientBalance, match=r"30\.00 EUR available, 50\.00 EUR"):
        top_up(wallet, clearing, -5000)
    assert balances(wallet, clearing) == [3000, -3000]
    assert JournalEntry.objects.count() == 1


def test_the_database_refuses_a_negative_wallet_too(wallet):
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(balance_minor=-1)


def test_a_reversal_is_a_new_entry_that_references_the_first(wallet, clearing):
    # given
    first = top_up(wallet, clearing, 2500)

    # when
    correction = reverse(ACTOR, first, "Top-up recorded twice")

    # then
    assert correction.corrects == first
    assert correction.kind == "correction"
    assert balances(wallet, clearing) == [0, 0]
    assert JournalEntry.objects.count() == 2


def test_postings_are_never_updated_or_deleted(wallet, clearing):
    # given
    top_up(wallet, clearing, 100)

    # when / then: neither through the ORM nor in raw SQL
    with pytest.raises(AppendOnlyError):
        Posting.objects.update(amount_minor=1)
    with pytest.raises(AppendOnlyError):
        JournalEntry.objects.all().delete()
    for sql in (
        "UPDATE ledger_posting SET amount_minor = 1",
        "DELETE FROM ledger_posting",
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql)
    assert sorted(Posting.objects.values_list("amount_minor", flat=True)) == [-100, 100]


def test_an_account_is_opened_once(customer_a):
    # when
    first = customer_account(customer_a, AccountKind.STORE_CREDIT, "EUR")
    again = customer_account(customer_a, AccountKind.STORE_CREDIT, "EUR")

    # then
    assert first == again
    assert LedgerAccount.objects.filter(kind=AccountKind.STORE_CREDIT).count() == 1
