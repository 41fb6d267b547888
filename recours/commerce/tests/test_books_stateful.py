"""Random sequences of money actions keep the books right (Hypothesis).

After every step: each entry balances per currency, each cached balance
equals its postings, no wallet or store credit is below zero, and every
item has exactly one holding.
"""

import contextlib

import pytest
from django.db import transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from recours.accounts.models import Customer, Organization
from recours.commerce.actions import (
    PaymentPart,
    buy,
    credit_customer,
    replace_item,
    sell_back,
    top_up,
    withdraw,
)
from recours.commerce.models import Holding, Item
from recours.core.errors import DomainError
from recours.ledger.actions import reverse
from recours.ledger.models import (
    CUSTOMER_KINDS,
    AccountKind,
    JournalEntry,
    LedgerAccount,
    Posting,
)
from recours.testing.commerce import STAFF, eur, make_coin_type, stock_coins

PRICE = 100_00
COINS = 5
CUSTOMERS = 2
amounts = st.integers(min_value=1, max_value=300_00)
customers = st.integers(min_value=0, max_value=CUSTOMERS - 1)
coins = st.integers(min_value=0, max_value=COINS - 1)


class Books(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint of the test's transaction.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        merchant = Organization.objects.create(name="Or", slug="or", kind="merchant")
        self.customers = [
            Customer.objects.create(organization=merchant, customer_number=f"S-{n}")
            for n in range(CUSTOMERS)
        ]
        coin_type = make_coin_type(
            merchant, price_minor=PRICE, buyback_price_minor=90_00
        )
        self.coins = stock_coins(coin_type, COINS)
        self.references = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def attempt(self, action, *args) -> None:  # type: ignore[no-untyped-def]
        # A refusal is fine: the invariants check nothing was half-written.
        with contextlib.suppress(DomainError):
            action(*args)

    @rule(customer=customers, amount=amounts)
    def top_up(self, customer, amount):
        self.references += 1
        top_up(STAFF, self.customers[customer], eur(amount), f"V-{self.references}")

    @rule(customer=customers, amount=amounts)
    def withdraw(self, customer, amount):
        self.attempt(withdraw, STAFF, self.customers[customer], eur(amount), "W")

    @rule(customer=customers, amount=amounts)
    def grant_store_credit(self, customer, amount):
        kind = AccountKind.STORE_CREDIT
        credit_customer(STAFF, self.customers[customer], kind, eur(amount), "avoir")

    @rule(
        customer=customers,
        coin=coins,
        card_minor=st.integers(0, PRICE),
        credit=st.booleans(),
    )
    def purchase(self, customer, coin, card_minor, credit):
        second = "store_credit" if credit else "wallet"
        parts = (
            [PaymentPart(second, eur(PRICE - card_minor))] if card_minor < PRICE else []
        )
        if card_minor:
            parts.append(PaymentPart("card", eur(card_minor), "pi_x"))
        self.attempt(buy, STAFF, self.customers[customer], [self.coins[coin]], parts)

    @rule(customer=customers, coin=coins)
    def sell_back(self, customer, coin):
        self.attempt(sell_back, STAFF, self.customers[customer], self.coins[coin])

    @rule(customer=customers, coin=coins)
    def replace(self, customer, coin):
        customer = self.customers[customer]
        self.attempt(replace_item, STAFF, customer, self.coins[coin], "damaged")

    @rule(pick=st.integers(min_value=0))
    def reverse_an_entry(self, pick):
        entries = list(JournalEntry.objects.order_by("pk"))
        if entries:
            self.attempt(reverse, STAFF, entries[pick % len(entries)], "undo")

    @invariant()
    def every_entry_balances_per_currency(self):
        unbalanced = (
            Posting.objects.values("entry", "currency")
            .annotate(total=Sum("amount_minor"))
            .exclude(total=0)
        )
        assert not unbalanced.exists()

    @invariant()
    def cached_balances_equal_postings(self):
        for account in LedgerAccount.objects.annotate(
            posted=Sum("postings__amount_minor")
        ):
            assert account.balance_minor == (account.posted or 0), account

    @invariant()
    def no_customer_account_below_zero(self):
        negative = LedgerAccount.objects.filter(
            kind__in=CUSTOMER_KINDS, balance_minor__lt=0
        )
        assert not negative.exists()

    @invariant()
    def every_item_has_one_holding(self):
        counts = Item.objects.annotate(holders=Count("holding")).values_list(
            "holders", flat=True
        )
        assert set(counts) <= {1}
        assert Holding.objects.count() == Item.objects.count()


@pytest.mark.django_db
def test_random_money_flows_keep_the_books_right():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        Books,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
