"""The buyer-protection page on a phone, in Chromium: the customer opens the
day-23 reminder's link, says the order never came with a photo, and reads
the claim's reference; another says all went well. Axe checks each page,
in French and in English, and nothing is wider than the screen."""

from datetime import timedelta

import pytest

from recours.cases.models import Case
from recours.commerce import protection
from recours.commerce.models import Order, ProtectionEnd
from recours.core import clock, worker
from recours.notifications.models import OutboxMessage
from recours.testing import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"target-size": {"enabled": True}},
}


@pytest.fixture
def site(settings, live_server, platform, customer_a):
    """Customer A's protected order, placed 23 days ago: its reminder is due."""
    settings.SITE_URL = live_server.url
    placed_at = clock.now() - timedelta(days=23)
    Order.objects.create(
        organization=customer_a.organization,
        customer=customer_a,
        reference="CO-PROT-0042",
        status=Order.Status.PAID,
        total_minor=89_90,
        currency="EUR",
        placed_at=placed_at,
        **protection.enrolment(placed_at, clock.now()),
    )
    return live_server.url


def reminder_link() -> str:
    """What the customer clicks in the reminder the worker sent."""
    assert worker.JOBS["protection-reminders"].run() == 1
    message = OutboxMessage.objects.get(dedupe_key__endswith="protection_reminder")
    (link,) = [word for word in message.body.split() if "/protection/" in word]
    return link


def phone_page(browser, locale: str):
    context = browser.new_context(**PHONE, locale=locale)
    context.set_default_timeout(10_000)
    return context.new_page()


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def fits_the_screen(page) -> bool:
    width = page.evaluate("document.documentElement.scrollWidth")
    return width <= PHONE["viewport"]["width"]


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_a_customer_claims_a_missing_order_on_a_phone(site, browser, tmp_path, locale):
    # given
    page = phone_page(browser, locale)
    page.goto(reminder_link())
    assert "CO-PROT-0042" in page.locator("main").inner_text()
    assert serious_violations(page) == []
    assert fits_the_screen(page)
    photo = tmp_path / "parcel.png"
    photo.write_bytes(png_bytes())

    # when: first sent without a word, then corrected
    page.locator("input[name=option][value=not_received]").check()
    page.set_input_files("#id_attachments", [str(photo)])
    page.locator("form.report-form button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    assert serious_violations(page) == []
    page.fill("#id_description", "Nothing has come after three weeks.")
    page.locator("form.report-form button[type=submit]").click()
    page.wait_for_url("**/done/")

    # then
    case = Case.objects.get()
    assert (case.kind, case.order.reference) == ("not_received", "CO-PROT-0042")
    assert case.attachments.count() == 1
    main = page.locator("main").inner_text()
    assert case.reference in main
    assert " 5 " in page.locator("#answer-deadline").inner_text()
    assert serious_violations(page) == []
    assert fits_the_screen(page)
    page.context.close()


def test_a_customer_says_all_went_well_and_the_link_then_says_it_ended(site, browser):
    # given
    page = phone_page(browser, "en-GB")
    link = reminder_link()
    page.goto(link)

    # when
    page.get_by_label("All went well: I want to end my buyer protection.").check()
    page.locator("form.report-form button[type=submit]").click()
    page.wait_for_url("**/done/")

    # then
    assert "has ended" in page.locator("main").inner_text()
    order = Order.objects.get(reference="CO-PROT-0042")
    assert order.protection_end_reason == ProtectionEnd.CONFIRMED
    response = page.goto(link)
    assert response is not None and response.status == 410
    assert "This buyer protection has ended" in page.locator("main").inner_text()
    assert serious_violations(page) == []
    page.context.close()
