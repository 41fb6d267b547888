"""A customer's portfolio, wallet and history in the console, and the search."""

import pytest
from django.urls import reverse

from recours.accounts.models import Customer
from recours.console.customer_views import CUSTOMERS_PAGE_SIZE, HISTORY_PAGE_SIZE
from recours.testing.portfolios import give_coin, top_up


@pytest.fixture
def customer_b(merchant_b):
    return Customer.objects.create(
        organization=merchant_b, customer_number="B-20001", name="Bastien Roy"
    )


def customer_page(client, customer, **params):
    return client.get(reverse("console:customer", args=[customer.pk]), params)


def test_it_shows_the_coins_balance_and_history(agent_client, customer_a):
    # given
    give_coin(customer_a, "BR-000123")
    top_up(customer_a, 12_500, "Virement du 2 mars")

    # when
    response = customer_page(agent_client, customer_a)

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "BR-000123" in html
    assert "Britannia 1 oz" in html
    assert "125.00\u00a0€" in html
    assert "Virement du 2 mars" in html
    assert "Top-up" in html
    assert response["Cache-Control"] == "private, no-store" or (
        "no-store" in response["Cache-Control"]
    )


def test_it_lets_merchant_staff_see_their_own_customer(alpha_client, customer_a):
    # when
    response = customer_page(alpha_client, customer_a)

    # then
    assert response.status_code == 200


def test_it_answers_404_for_another_organizations_customer(beta_client, customer_a):
    # given
    give_coin(customer_a, "BR-000123")

    # when
    response = customer_page(beta_client, customer_a)

    # then
    assert response.status_code == 404
    assert b"BR-000123" not in response.content


def test_it_answers_404_for_a_customer_that_does_not_exist(agent_client):
    # when
    response = agent_client.get(reverse("console:customer", args=[999_999]))

    # then
    assert response.status_code == 404


def test_it_sends_anonymous_visitors_to_the_login(client, customer_a):
    # when
    response = customer_page(client, customer_a)

    # then
    assert response.status_code == 302
    assert reverse("console:login") in response["Location"]


def test_it_paginates_the_history(agent_client, customer_a):
    # given: one posting more than a page
    for number in range(HISTORY_PAGE_SIZE + 1):
        top_up(customer_a, 100 + number, f"Top-up {number}")

    # when
    first = customer_page(agent_client, customer_a)
    second = customer_page(agent_client, customer_a, page=2)

    # then: newest first; the oldest alone on page 2
    assert len(first.context["history"]) == HISTORY_PAGE_SIZE
    assert first.context["history"][0]["posting"].entry.memo == (
        f"Top-up {HISTORY_PAGE_SIZE}"
    )
    assert [row["posting"].entry.memo for row in second.context["history"]] == [
        "Top-up 0"
    ]
    assert 'rel="next"' in first.content.decode()


def test_it_does_not_show_a_coin_after_it_left(agent_client, customer_a):
    # given
    coin = give_coin(customer_a, "BR-000123")
    coin.holding.customer = None
    coin.holding.save()

    # when
    response = customer_page(agent_client, customer_a)

    # then: no longer held, still in the movements
    assert list(response.context["holdings"]) == []
    assert [move.item.serial for move in response.context["moves"]] == ["BR-000123"]


def test_the_case_page_links_its_customer(agent_client, case_a, customer_a):
    # when
    response = agent_client.get(reverse("console:case", args=[case_a.reference]))

    # then
    assert reverse("console:customer", args=[customer_a.pk]) in (
        response.content.decode()
    )


def search(client, **params):
    return client.get(reverse("console:customers"), params)


def test_the_search_finds_a_customer_by_number_name_or_phone(
    agent_client, customer_a, customer_b
):
    # when
    by_number = search(agent_client, q="c-10001")
    by_name = search(agent_client, q="bastien")
    by_phone = search(agent_client, q="06 12 34 56 78")

    # then
    assert list(by_number.context["page"]) == [customer_a]
    assert list(by_name.context["page"]) == [customer_b]
    assert list(by_phone.context["page"]) == [customer_a]


def test_the_search_shows_merchant_staff_their_customers_only(
    alpha_client, customer_a, customer_b
):
    # when
    everyone = search(alpha_client)
    other = search(alpha_client, q="B-20001")

    # then
    assert list(everyone.context["page"]) == [customer_a]
    assert list(other.context["page"]) == []


def test_the_search_is_paginated(agent_client, merchant_a):
    # given
    Customer.objects.bulk_create(
        Customer(organization=merchant_a, customer_number=f"N-{number:03}")
        for number in range(CUSTOMERS_PAGE_SIZE + 1)
    )

    # when
    second = search(agent_client, page=2)

    # then
    assert [c.customer_number for c in second.context["page"]] == [
        f"N-{CUSTOMERS_PAGE_SIZE:03}"
    ]


def test_the_navigation_links_the_customers(agent_client):
    # when
    response = agent_client.get(reverse("console:queue"))

    # then
    assert reverse("console:customers") in response.content.decode()
