"""Webhook endpoints in the console, in Chromium, with the keyboard only: a
merchant administrator adds an endpoint, copies its secret, finds a failed
delivery in the log and redelivers it. Axe checks every page, in French and
in English."""

import re

import pytest
from django.db import transaction

from recours.accounts.models import Role
from recours.notifications import webhooks
from recours.notifications.models import OutboxMessage, WebhookEndpoint
from recours.testing import PASSWORD, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"target-size": {"enabled": True}},
}
URL = "https://8.8.8.8/hooks/recours"


@pytest.fixture
def site(settings, live_server, merchant_a):
    settings.SITE_URL = live_server.url
    make_staff("alpha_admin", merchant_a, Role.MERCHANT_ADMIN)
    return live_server.url


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def logged_in(browser, site: str, locale: str):
    context = browser.new_context(
        viewport={"width": 1024, "height": 800}, locale=locale
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(site + "/console/login/")
    page.fill("#id_username", "alpha_admin")
    page.fill("#id_password", PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(re.compile("/console/$"))
    return page


def tab_to(page, selector: str, presses_max: int = 60) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user would."""
    for _ in range(presses_max):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    pytest.fail(f"{selector} cannot be reached with Tab")


def submit(page) -> None:
    """Press Enter on the focused button and wait for the answer's page."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_an_administrator_adds_an_endpoint_and_redelivers_with_the_keyboard(
    browser, site, merchant_a, locale
):
    # given
    page = logged_in(browser, site, locale)

    # when: from the menu to the form
    tab_to(page, "a[href='/console/webhooks/']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/console/webhooks/$"))
    assert serious_violations(page) == []
    tab_to(page, "#add-endpoint")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/console/webhooks/new/$"))

    # when: sent without an event, then corrected
    tab_to(page, "#id_url")
    page.keyboard.type(URL)
    tab_to(page, "#endpoint-form button[type=submit]")
    submit(page)
    assert page.locator(".field-invalid").count() == 1
    assert serious_violations(page) == []
    tab_to(page, "#id_event_types_0")
    page.keyboard.press("Space")
    tab_to(page, "#endpoint-form button[type=submit]")
    submit(page)

    # then: the secret, once
    endpoint = WebhookEndpoint.objects.get()
    assert page.locator("#endpoint-secret").input_value() == endpoint.secret
    assert endpoint.event_types == ["case.opened"]
    assert serious_violations(page) == []

    # given: an event that failed for good
    with transaction.atomic():
        [message] = webhooks.emit(merchant_a.pk, "case.opened", {}, "case:RC-1:opened")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status="failed", attempts=15, last_error="Refused: HTTP 500: oops"
    )

    # when
    tab_to(page, f"a[href='/console/webhooks/{endpoint.pk}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/console/webhooks/{endpoint.pk}/$"))
    assert serious_violations(page) == []
    tab_to(page, f"#delivery-{message.pk} button")
    submit(page)

    # then
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert page.locator(".messages").count() == 1
    assert serious_violations(page) == []
