"""A coin vanished from a portfolio comes back, in Chromium.

The detectors find the coin missing; the integrity case proposes to restore
it; a first finance member approves (1 of 2), a second person approves above
the threshold and the correction runs; the customer opens "My portfolio" on
a phone with the code sent by SMS and sees the coin. Axe checks the new
pages, in French and in English.
"""

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from recours.accounts.models import Role
from recours.integrity import reconcile
from recours.integrity.models import Anomaly
from recours.notifications.models import OutboxMessage
from recours.testing import make_staff
from recours.testing.portfolios import give_coin, top_up, vanish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
LOCALES = ["fr-FR", "en-GB"]
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"target-size": {"enabled": True}},
}
SERIAL = "BR-000123"


@pytest.fixture
def site(settings, live_server, platform, customer_a):
    """Merchant A's customer lost a coin worth more than the threshold."""
    settings.SITE_URL = live_server.url
    settings.CORRECTION_SECOND_APPROVAL_MINOR = 50_000
    top_up(customer_a, 40_00, "Virement")
    vanish(give_coin(customer_a, SERIAL))
    return live_server.url


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def staff_page(browser, site, user, locale: str = "en-GB"):
    client = Client()
    client.force_login(user)
    morsel = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context = browser.new_context(**DESKTOP, locale=locale)
    context.set_default_timeout(10_000)
    context.add_cookies([{"name": morsel.key, "value": morsel.value, "url": site}])
    return context.new_page()


def phone_page(browser, locale: str):
    context = browser.new_context(**PHONE, locale=locale)
    context.set_default_timeout(10_000)
    return context.new_page()


def sent_code() -> str:
    message = OutboxMessage.objects.filter(dedupe_key__startswith="portfolio:").latest(
        "pk"
    )
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def open_portfolio(page, site, customer) -> None:
    """What the customer does: number, then the code from the SMS."""
    page.goto(site + "/portfolio/")
    page.locator("#id_customer_number").fill(customer.customer_number)
    page.locator("#id_customer_number").press("Enter")
    page.wait_for_url("**/portfolio/code/")
    page.locator("#id_code").fill(sent_code())
    page.locator("#id_code").press("Enter")
    page.wait_for_url("**/portfolio/mine/")


def approve_as(browser, site, user):
    page = staff_page(browser, site, user)
    page.goto(site + "/console/anomalies/")
    page.get_by_role("link", name="Item vanished from a portfolio").click()
    page.locator("button", has_text="Approve").click()
    page.wait_for_load_state()
    return page


def test_a_vanished_coin_is_restored_after_two_approvals(
    browser, site, platform, customer_a
):
    # given: the customer sees no coin; the detectors run
    customer = phone_page(browser, "en-GB")
    open_portfolio(customer, site, customer_a)
    assert SERIAL not in customer.locator("main").inner_text()
    reconcile.run()
    first = make_staff("finance", platform, Role.FINANCE)
    second = make_staff("admin", platform, Role.ADMIN)

    # when: the first approves
    page = approve_as(browser, site, first)

    # then: it waits for a second, different person
    assert "Restore the holding" in page.locator("main").inner_text()
    assert "1 of 2 approvals" in page.locator(".approval-count").inner_text()
    assert page.locator("button", has_text="Approve").count() == 0
    assert serious_violations(page) == []

    # when: the second approves
    page = approve_as(browser, site, second)

    # then: the correction ran, and the customer sees the coin back
    assert "executed" in page.locator("main").inner_text()
    customer.reload()
    assert SERIAL in customer.locator("#holdings").inner_text()
    assert serious_violations(customer) == []
    page.context.close()
    customer.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_my_portfolio_pages_pass_axe_on_a_phone(browser, site, customer_a, locale):
    # given
    give_coin(customer_a, "BR-000456")
    page = phone_page(browser, locale)

    # when / then: each step of the way, and the page itself
    page.goto(site + "/portfolio/")
    assert serious_violations(page) == []
    page.locator("#id_customer_number").fill(customer_a.customer_number)
    page.locator("#id_customer_number").press("Enter")
    page.wait_for_url("**/portfolio/code/")
    assert serious_violations(page) == []
    page.locator("#id_code").fill(sent_code())
    page.locator("#id_code").press("Enter")
    page.wait_for_url("**/portfolio/mine/")
    assert "BR-000456" in page.locator("#holdings").inner_text()
    assert page.locator(".site-header").bounding_box()["height"] <= 64
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"]
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_console_money_pages_pass_axe(browser, site, platform, customer_a, locale):
    # given
    reconcile.run()
    anomaly = Anomaly.objects.get(kind="vanished_holding")
    page = staff_page(browser, site, make_staff("fin", platform, Role.FINANCE), locale)

    # when / then
    for path in (
        "/console/customers/",
        f"/console/customers/{customer_a.pk}/",
        "/console/anomalies/",
        f"/console/anomalies/{anomaly.pk}/",
    ):
        page.goto(site + path)
        assert serious_violations(page) == [], path
    page.context.close()
