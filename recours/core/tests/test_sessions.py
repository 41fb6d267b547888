"""Private pages, staff session length and the admin login's attempt limit."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from recours.testing import PASSWORD, client_for


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(
        username="root", email="root@example.org", password=PASSWORD
    )


def admin_login(client, password=PASSWORD, **extra):
    return client.post(
        reverse("admin:login"),
        {"username": "root", "password": password, "next": "/admin/"},
        **extra,
    )


# Cache-Control


@pytest.mark.parametrize("name", ["portal:report", "portal:status"])
def test_customer_pages_are_not_stored(client, db, name):
    # when
    response = client.get(reverse(name))

    # then
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_console_pages_are_not_stored(agent):
    # when
    queue = client_for(agent).get(reverse("console:queue"))
    login = client_for(agent).get(reverse("console:login"), follow=True)

    # then
    assert queue["Cache-Control"] == "private, no-store"
    assert login["Cache-Control"] == "private, no-store"


def test_a_console_redirect_is_not_stored_either(client, db):
    # when
    response = client.get(reverse("console:queue"))

    # then
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]


def test_static_files_keep_their_caching(client, db):
    # when
    response = client.get("/static/recours/app.css")

    # then
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_api_answers_keep_their_own_headers(client, db):
    # when
    response = client.get("/api/v1/openapi.json")

    # then
    assert "no-store" not in response.get("Cache-Control", "")


# The admin login


def test_the_admin_login_limits_attempts_per_address(
    frozen, client, superuser, settings
):
    # given
    settings.LOGIN_RATE_LIMIT = "3/m"
    for _attempt in range(3):
        assert admin_login(client, password="guess").status_code == 200

    # when: the right password, but too late
    response = admin_login(client)

    # then
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_login_counts_per_address(frozen, client, superuser, settings):
    # given
    settings.LOGIN_RATE_LIMIT = "1/m"
    admin_login(client, password="guess", REMOTE_ADDR="10.0.0.1")

    # when
    response = admin_login(client, REMOTE_ADDR="10.0.0.2")

    # then
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_an_admin_session_lasts_a_working_day(client, superuser, settings):
    # given
    settings.STAFF_SESSION_HOURS = 9

    # when
    response = admin_login(client)

    # then
    assert response.status_code == 302
    assert client.session.get_expiry_age() == 9 * 3600


def test_a_failed_admin_login_sets_no_expiry(client, superuser, settings):
    # when
    admin_login(client, password="guess")

    # then
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
