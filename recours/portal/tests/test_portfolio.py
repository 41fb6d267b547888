"""My portfolio: customer number, a one-time code, then that customer's own
items, balances and history, and nobody else's."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from recours.accounts.models import Customer
from recours.notifications.models import OutboxMessage
from recours.portal.portfolio_views import HISTORY_PAGE_SIZE
from recours.testing.portfolios import give_coin, top_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_b(merchant_b):
    return Customer.objects.create(
        organization=merchant_b,
        customer_number="B-20001",
        name="Bastien Roy",
        email="bastien@example.org",
    )


def sent_code(customer) -> str:
    message = OutboxMessage.objects.filter(
        dedupe_key__startswith=f"portfolio:{customer.pk}:code:"
    ).latest("pk")
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def ask_code(client, number: str):
    return client.post(
        reverse("portal:portfolio"), {"customer_number": number}, follow=True
    )


def open_portfolio(client, customer):
    ask_code(client, customer.customer_number)
    return client.post(
        reverse("portal:portfolio_code"), {"code": sent_code(customer)}, follow=True
    )


def test_a_code_by_sms_opens_the_customers_portfolio(client, customer_a, customer_b):
    # given
    give_coin(customer_a, "BR-000123")
    give_coin(customer_b, "BR-999999")
    top_up(customer_a, 12_500, "Virement du 2 mars")

    # when
    response = open_portfolio(client, customer_a)

    # then: their coin, balance and history; not another customer's coin
    assert response.redirect_chain[-1][0] == reverse("portal:portfolio_mine")
    html = response.content.decode()
    assert "BR-000123" in html
    assert "BR-999999" not in html
    assert "125.00\u00a0€" in html
    assert "Virement du 2 mars" in html
    message = OutboxMessage.objects.get(dedupe_key__startswith="portfolio:")
    assert message.channel == "sms"
    assert message.recipient == customer_a.phone


def test_a_customer_without_phone_gets_the_code_by_email(client, customer_b):
    # when
    response = open_portfolio(client, customer_b)

    # then
    assert response.status_code == 200
    message = OutboxMessage.objects.get(dedupe_key__startswith="portfolio:")
    assert message.channel == "email"
    assert message.recipient == "bastien@example.org"


def test_an_unknown_number_reads_the_same_and_sends_nothing(client, customer_a):
    # when
    response = ask_code(client, "NOPE-404")

    # then
    assert response.status_code == 200
    assert "If the customer number NOPE-404 exists" in response.content.decode()
    assert not OutboxMessage.objects.filter(dedupe_key__startswith="portfolio:")


def test_a_wrong_code_is_refused(client, customer_a):
    # given
    ask_code(client, customer_a.customer_number)

    # when
    response = client.post(reverse("portal:portfolio_code"), {"code": "000000"})

    # then
    assert response.status_code == 422
    assert "This code is not valid or has expired." in response.content.decode()
    assert client.get(reverse("portal:portfolio_mine")).status_code == 302


def test_a_code_works_once(client, customer_a):
    # given
    ask_code(client, customer_a.customer_number)
    code = sent_code(customer_a)
    client.post(reverse("portal:portfolio_code"), {"code": code})
    other = Client()
    ask_code(other, customer_a.customer_number)

    # when: an older code, on another browser
    response = other.post(reverse("portal:portfolio_code"), {"code": code})

    # then
    assert response.status_code == 422


def test_the_page_needs_a_code_first(client, customer_a):
    # when
    response = client.get(reverse("portal:portfolio_mine"))
    code_page = client.get(reverse("portal:portfolio_code"))

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:portfolio")
    assert code_page["Location"] == reverse("portal:portfolio")


def test_the_pages_are_private_and_not_stored(client, customer_a):
    # when
    pages = [
        client.get(reverse("portal:portfolio")),
        open_portfolio(client, customer_a),
    ]

    # then
    for response in pages:
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_sign_out_forgets_the_customer(client, customer_a):
    # given
    open_portfolio(client, customer_a)

    # when
    response = client.post(reverse("portal:portfolio_signout"), follow=True)

    # then
    assert "You are signed out" in response.content.decode()
    assert client.get(reverse("portal:portfolio_mine")).status_code == 302


def test_sign_out_needs_a_post(client, customer_a):
    # given
    open_portfolio(client, customer_a)

    # when
    response = client.get(reverse("portal:portfolio_signout"))

    # then
    assert response.status_code == 405
    assert client.get(reverse("portal:portfolio_mine")).status_code == 200


def test_the_history_is_paginated(client, customer_a):
    # given
    for number in range(HISTORY_PAGE_SIZE + 1):
        top_up(customer_a, 100 + number, f"Top-up {number}")
    open_portfolio(client, customer_a)

    # when
    second = client.get(reverse("portal:portfolio_mine"), {"page": 2})

    # then: the oldest alone on the second page
    assert [row["posting"].entry.memo for row in second.context["history"]] == [
        "Top-up 0"
    ]
    assert 'rel="prev"' in second.content.decode()


def test_the_code_request_needs_its_csrf_token(customer_a):
    # given
    strict = Client(enforce_csrf_checks=True)

    # when
    response = strict.post(
        reverse("portal:portfolio"), {"customer_number": customer_a.customer_number}
    )

    # then
    assert response.status_code == 403
    assert not OutboxMessage.objects.filter(dedupe_key__startswith="portfolio:")


def test_requests_for_codes_are_capped_per_customer(
    frozen, settings, client, customer_a
):
    # given
    settings.ACCESS_CODE_CASE_RATE_LIMIT = "2/h"

    # when
    for _attempt in range(4):
        ask_code(client, customer_a.customer_number)

    # then
    assert (
        OutboxMessage.objects.filter(dedupe_key__startswith="portfolio:").count() == 2
    )


def test_the_start_page_is_said_in_french(client, settings):
    # given
    settings.LANGUAGE_CODE = "fr"

    # when
    response = client.get(reverse("portal:portfolio"), HTTP_ACCEPT_LANGUAGE="fr")

    # then
    assert response.status_code == 200
    assert 'lang="fr"' in response.content.decode()
