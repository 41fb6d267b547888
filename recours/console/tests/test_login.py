"""Logging in and out of the console, and who may stay in."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from recours.testing import PASSWORD


def login(client, username, password=PASSWORD, **extra):
    return client.post(
        reverse("console:login"), {"username": username, "password": password, **extra}
    )


def test_it_shows_a_labelled_login_form(client, db):
    # when
    response = client.get(reverse("console:login"))

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_logs_a_member_in_and_sends_them_to_the_queue(client, agent):
    # when
    response = login(client, "agent")

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("console:queue")
    assert client.get(reverse("console:queue")).status_code == 200


def test_it_goes_back_to_the_page_asked_for(client, agent):
    # when
    response = login(client, "agent", next=reverse("console:sms"))

    # then
    assert response["Location"] == reverse("console:sms")


def test_it_refuses_a_wrong_password(client, agent):
    # when
    response = login(client, "agent", password="not the password")

    # then
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("console:queue")).status_code == 302


def test_it_refuses_an_account_without_an_organization(client, db):
    # given
    get_user_model().objects.create_user(username="nobody", password=PASSWORD)

    # when
    response = login(client, "nobody")

    # then: the words of a wrong password, so the page does not tell it was right
    assert response.status_code == 200
    assert response.context["form"].errors == wrong_password_errors()
    assert "no access" not in response.content.decode()
    assert "_auth_user_id" not in client.session


def wrong_password_errors() -> dict:
    response = login(Client(), "nobody", password="not the password")
    return response.context["form"].errors


def test_a_staff_session_lasts_a_working_day(client, agent, settings):
    # given
    settings.STAFF_SESSION_HOURS = 9

    # when
    login(client, "agent")

    # then
    assert client.session.get_expiry_age() == 9 * 3600
    assert not client.session.get_expire_at_browser_close()


def test_it_answers_403_to_a_logged_in_user_without_an_organization(client, db):
    # given: logged in elsewhere (e.g. the admin site) but a member of nothing
    user = get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    client.force_login(user)

    # when
    response = client.get(reverse("console:queue"))

    # then
    assert response.status_code == 403
    assert "No access to the console" in response.content.decode()


def test_it_limits_login_attempts_per_address(frozen, client, agent, settings):
    # given
    settings.LOGIN_RATE_LIMIT = "3/m"
    for _attempt in range(3):
        assert login(client, "agent", password="guess").status_code == 200

    # when: the right password, but too late
    response = login(client, "agent")

    # then
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_counts_attempts_per_address(frozen, client, agent, settings):
    # given
    settings.LOGIN_RATE_LIMIT = "2/m"
    for _attempt in range(2):
        login(client, "agent", password="guess", REMOTE_ADDR="10.0.0.1")

    # when
    response = client.post(
        reverse("console:login"),
        {"username": "agent", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
    )

    # then
    assert response.status_code == 302


@pytest.mark.parametrize(
    "name,args",
    [
        ("queue", []),
        ("case", ["RC-AAAA-BBBB"]),
        ("attachment", [1]),
        ("sms", []),
    ],
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, db, name, args):
    # when
    url = reverse(f"console:{name}", args=args)
    response = client.get(url)

    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login") + "?next=")


def test_it_logs_out_with_a_post_only(client, agent):
    # given
    client.force_login(agent)

    # when
    refused = client.get(reverse("console:logout"))
    response = client.post(reverse("console:logout"))

    # then
    assert refused.status_code == 405
    assert response.status_code == 302
    assert response["Location"] == reverse("console:login")
    assert client.get(reverse("console:queue")).status_code == 302


def test_it_shows_the_user_and_a_logout_button_in_the_nav(client, agent):
    # given
    client.force_login(agent)

    # when
    html = client.get(reverse("console:queue")).content.decode()

    # then
    assert "<strong>agent</strong>" in html
    assert f'action="{reverse("console:logout")}"' in html
    assert f'href="{reverse("console:sms")}"' in html


def test_it_hides_the_sms_link_from_merchant_staff(client, merchant_a_agent):
    # given
    client.force_login(merchant_a_agent)

    # when
    html = client.get(reverse("console:queue")).content.decode()

    # then
    assert f'href="{reverse("console:sms")}"' not in html
    assert "Kiosques Alpha" in html
