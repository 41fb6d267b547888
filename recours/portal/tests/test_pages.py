"""The customer pages' look and words: stylesheet, promise, kiosk from the QR sticker."""

import pytest
from django.urls import reverse

from recours.cases.models import Case
from recours.portal.views import SUBMITTED_KEY, VERIFIED_KEY
from recours.testing import file_case

pytestmark = pytest.mark.django_db

PORTAL_CSS = "portal/portal.css"


@pytest.fixture
def case(kiosk) -> Case:
    return file_case(terminal_code=kiosk.code, contact_email="camille@example.org")


def open_in_session(client, case: Case) -> None:
    """As if the customer had typed the code: the case is verified in this session."""
    session = client.session
    session[VERIFIED_KEY] = [case.pk]
    session[SUBMITTED_KEY] = case.reference
    session["portal.status_reference"] = case.reference
    session.save()


def test_it_links_the_portal_stylesheet_from_every_customer_page(client, case):
    # given
    open_in_session(client, case)
    pages = [
        reverse("portal:report"),
        reverse("portal:status"),
        reverse("portal:status_code"),
        reverse("portal:status_open", args=[case.reference, "token"]),
        reverse("portal:case", args=[case.reference]),
        reverse("portal:submitted"),
    ]

    # when
    responses = {url: client.get(url) for url in pages}

    # then: styled, and a way to the customer's other pages, portfolio included
    portfolio = f'href="{reverse("portal:portfolio")}"'
    for url, response in responses.items():
        assert response.status_code == 200, url
        html = response.content.decode()
        assert html.count(PORTAL_CSS) == 1, url
        assert portfolio in html.split('class="footer-links"')[1], url


def test_it_keeps_the_reference_of_the_open_link_heading_on_one_line(client, case):
    # when
    response = client.get(reverse("portal:status_open", args=[case.reference, "t"]))

    # then
    assert f'<span class="nowrap">{case.reference}</span>' in response.content.decode()


def test_it_repeats_the_promised_response_time_on_the_status_page(client, case):
    # given: payment started at a kiosk, high priority, 8 hours (as acknowledged)
    open_in_session(client, case)

    # when
    response = client.get(reverse("portal:case", args=[case.reference]))

    # then
    assert "We will answer within 8 hours." in response.content.decode()


def test_it_shows_the_contact_number_in_national_format(client, kiosk):
    # given
    case = file_case(
        terminal_code=kiosk.code, contact_channel="sms", contact_phone="+33611223344"
    )
    open_in_session(client, case)

    # when
    response = client.get(reverse("portal:submitted"))

    # then
    assert "by SMS to 06 11 22 33 44." in response.content.decode()


def test_it_has_a_favicon_and_answers_favicon_ico(client):
    # when
    page = client.get(reverse("portal:status")).content.decode()
    response = client.get("/favicon.ico")

    # then
    assert 'rel="icon" href="/static/recours/favicon.svg"' in page
    assert response.status_code == 301
    assert response["Location"] == "/static/recours/favicon.svg"
    assert client.get(response["Location"]).status_code == 200


def test_it_offers_the_other_language_in_one_button(client):
    # when
    page = client.get(reverse("portal:status")).content.decode()

    # then: English pages offer French, and no language list
    assert 'name="language" value="fr"' in page
    assert "<select" not in page
