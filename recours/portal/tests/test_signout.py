"""A customer ends their status-page session."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from recours.notifications.models import OutboxMessage
from recours.testing import file_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(kiosk):
    return file_case(terminal_code=kiosk.code, contact_email="camille@example.org")


def open_case(client, case) -> None:
    client.post(reverse("portal:status"), {"reference": case.reference})
    message = OutboxMessage.objects.filter(dedupe_key__contains=":code:").latest("pk")
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    client.post(reverse("portal:status_code"), {"code": code})
    assert client.get(reverse("portal:case", args=[case.reference])).status_code == 200


def test_the_case_page_has_a_sign_out_button(client, case):
    # given
    open_case(client, case)

    # when
    html = client.get(reverse("portal:case", args=[case.reference])).content.decode()

    # then
    assert f'action="{reverse("portal:status_signout")}"' in html
    assert "Sign out" in html


def test_signing_out_forgets_the_verified_cases(client, case):
    # given
    open_case(client, case)

    # when
    response = client.post(reverse("portal:status_signout"), follow=True)

    # then
    assert response.redirect_chain[-1][0] == reverse("portal:status")
    assert "You are signed out." in response.content.decode()
    page = client.get(reverse("portal:case", args=[case.reference]))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("portal:status"))


def test_signing_out_needs_a_post_with_the_csrf_token(client, case):
    # given: the same browser session, in a client that checks CSRF tokens
    open_case(client, case)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies

    # when
    refused_get = strict.get(reverse("portal:status_signout"))
    refused_post = strict.post(reverse("portal:status_signout"))

    # then: still signed in
    assert refused_get.status_code == 405
    assert refused_post.status_code == 403
    assert strict.get(reverse("portal:case", args=[case.reference])).status_code == 200
