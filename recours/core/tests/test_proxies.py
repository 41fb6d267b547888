"""The client address behind a reverse proxy (settings.TRUSTED_PROXIES)."""

import pytest
from django.test import RequestFactory

from recours.core.proxies import parse_networks
from recours.core.ratelimit import client_address

PROXY = "10.0.0.5"
CLIENT = "203.0.113.7"


def request_from(remote: str, forwarded: str | None = None):
    headers = {} if forwarded is None else {"X-Forwarded-For": forwarded}
    return RequestFactory().get("/", REMOTE_ADDR=remote, headers=headers)


def test_it_ignores_the_header_without_trusted_proxies(settings):
    # given
    settings.TRUSTED_PROXIES = []

    # when
    address = client_address(request_from(PROXY, CLIENT))

    # then
    assert address == PROXY


def test_it_ignores_the_header_from_an_untrusted_peer(settings):
    # given
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    # when: a client talking to us directly claims another address
    address = client_address(request_from(CLIENT, "198.51.100.1"))

    # then
    assert address == CLIENT


def test_it_uses_the_header_from_a_trusted_proxy(settings):
    # given
    settings.TRUSTED_PROXIES = [PROXY]

    # when
    address = client_address(request_from(PROXY, CLIENT))

    # then
    assert address == CLIENT


def test_it_ignores_spoofed_entries_left_of_the_client(settings):
    # given: the client sent its own header; the proxy appended what it saw
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    # when
    address = client_address(request_from(PROXY, f"1.1.1.1, 2.2.2.2, {CLIENT}"))

    # then
    assert address == CLIENT


def test_it_skips_every_trusted_proxy_in_a_chain(settings):
    # given: client -> edge proxy 10.0.0.9 -> inner proxy 10.0.0.5 -> us
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8::/32"]

    # when
    address = client_address(
        request_from(PROXY, f"9.9.9.9, {CLIENT}, 2001:db8::1, 10.0.0.9")
    )

    # then
    assert address == CLIENT


def test_it_keeps_the_peer_when_the_proxy_wrote_no_address(settings):
    # given
    settings.TRUSTED_PROXIES = [PROXY]

    # when / then
    assert client_address(request_from(PROXY)) == PROXY
    assert client_address(request_from(PROXY, "not-an-address")) == PROXY


def test_it_refuses_a_bad_proxy_entry():
    with pytest.raises(ValueError, match=r"proxy\.local"):
        parse_networks(["10.0.0.1", "proxy.local"])


def test_it_keys_rate_limits_on_the_forwarded_client(frozen, db, client, settings):
    # given: two clients behind one proxy, one login attempt allowed each
    settings.TRUSTED_PROXIES = [PROXY]
    settings.LOGIN_RATE_LIMIT = "1/m"
    data = {"username": "x", "password": "y"}
    post = client.post
    post("/console/login/", data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)

    # when
    other = post(
        "/console/login/", data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.1"
    )
    again = post(
        "/console/login/", data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT
    )

    # then
    assert other.status_code == 200
    assert again.status_code == 429
