"""What a checkout sends to the database: few statements, and the dealer's
shared accounts touched last, since every other buyer of the dealer waits
on them until the commit."""

import pytest

from recours.commerce.actions import PaymentPart, checkout, reserve
from recours.commerce.models import Reservation
from recours.testing import statements
from recours.testing.commerce import STAFF, eur, fund

pytestmark = pytest.mark.django_db
PRICE = 250_00
CARD = PaymentPart("card", eur(PRICE), "pi_1")
WALLET = PaymentPart("wallet", eur(PRICE))
# Statements of a one-coin checkout inside the test's transaction, with its
# SAVEPOINT and RELEASE: 31 before the hot accounts moved last (issue 12).
STATEMENTS_MAX = 20


def checkout_statements(customer, coins, part: PaymentPart) -> list[str]:
    # The dealer's and the customer's accounts exist: an earlier sale opened them.
    fund(customer, 2 * PRICE)
    checkout(STAFF, reserve(STAFF, customer, coins[:1]), [part])
    # The view loads the basket, then checks out.
    reservation = Reservation.objects.get(pk=reserve(STAFF, customer, coins[1:2]).pk)
    with statements() as sent:
        checkout(STAFF, reservation, [part])
    return sent


def account_statements(sent: list[str]) -> list[int]:
    return [n for n, sql in enumerate(sent) if '"ledger_ledgeraccount"' in sql]


@pytest.mark.parametrize("part", [WALLET, CARD], ids=["wallet", "card"])
def test_it_checks_out_in_few_statements(customer_a, coins, part):
    # when
    sent = checkout_statements(customer_a, coins, part)

    # then
    assert len(sent) <= STATEMENTS_MAX
    holdings = [sql for sql in sent if sql.startswith('SELECT "commerce_holding"')]
    assert len(holdings) == 1  # locked once, and not read again
    assert not any("SAVEPOINT" in sql for sql in sent[1:-1])


def test_it_moves_the_dealers_balances_last(customer_a, coins):
    # when
    sent = checkout_statements(customer_a, coins, CARD)

    # then: the card touches no customer account, so every account statement
    # is about the dealer's provider clearing and merchant payable.
    lookup, *hot = account_statements(sent)
    assert " FOR " not in sent[lookup]  # found, not locked
    assert hot == [len(sent) - 3, len(sent) - 2]  # locked, updated; RELEASE
    assert sent[-2].startswith('UPDATE "ledger_ledgeraccount"')


def test_it_locks_the_wallet_before_writing(customer_a, coins):
    # when
    sent = checkout_statements(customer_a, coins, WALLET)

    # then
    lookup, wallet, balances = account_statements(sent)
    first_write = next(n for n, sql in enumerate(sent) if sql.startswith("INSERT"))
    assert lookup < wallet < first_write
    assert balances == len(sent) - 2
