"""The customer pages and the console queue on a real phone-sized Chromium.

What a test client cannot see: that the styles apply (the code box is large,
a reference stays on one line, the kiosk from the QR sticker is in the first
screen, the header is one row), and what axe finds, in French and in English.
"""

import pytest
from django.conf import settings
from django.test import Client

from recours.accounts.models import Role
from recours.cases import workflows
from recours.commerce.models import Terminal
from recours.console.views import QUEUE_PAGE_SIZE
from recours.portal.views import PENDING_KEY, VERIFIED_KEY
from recours.testing import file_case, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
SCREEN_HEIGHT = 844
LOCALES = ["fr-FR", "en-GB"]
# axe's target-size (WCAG 2.2) is asked for explicitly: the console's page links failed it.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"target-size": {"enabled": True}},
}


@pytest.fixture
def site(settings, live_server, platform, merchant_a):
    settings.SITE_URL = live_server.url
    for number in range(1, 13):
        Terminal.objects.create(
            organization=merchant_a,
            code=f"ALPHA-{number:02}",
            name=f"Borne de la gare {number:02}",
            location="Nantes",
        )
    return live_server.url


@pytest.fixture
def case(site):
    return file_case(
        terminal_code="ALPHA-08", contact_channel="sms", contact_phone="+33611223344"
    )


def cookie_of(client: Client, url: str) -> dict:
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": morsel.key, "value": morsel.value, "url": url}


def customer_page(browser, site, locale: str, case=None):
    """A phone whose session already proved it owns `case` (as after the code)."""
    context = browser.new_context(**PHONE, locale=locale)
    context.set_default_timeout(10_000)
    if case is not None:
        client = Client()
        session = client.session
        session[VERIFIED_KEY] = [case.pk]
        session[PENDING_KEY] = case.reference
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        context.add_cookies([cookie_of(client, site)])
    return context.new_page()


def serious_violations(page, context: str | None = None) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context, options=AXE_OPTIONS)
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def style(page, selector: str, name: str) -> str:
    return page.evaluate(
        "([selector, name]) => getComputedStyle(document.querySelector(selector))"
        ".getPropertyValue(name)",
        [selector, name],
    )


def line_boxes(page, selector: str) -> int:
    return page.evaluate(
        "selector => document.querySelector(selector).getClientRects().length",
        selector,
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_the_qr_kiosk_is_in_the_first_screen_under_a_one_row_header(
    browser, site, locale
):
    # given
    page = customer_page(browser, site, locale)

    # when: the sticker of the eighth of twelve kiosks
    page.goto(site + "/?terminal=alpha-08")

    # then
    chosen = page.locator("#chosen-kiosk").bounding_box()
    assert chosen is not None
    assert chosen["y"] + chosen["height"] < SCREEN_HEIGHT
    assert "ALPHA-08" in page.locator("#chosen-kiosk").inner_text()
    assert page.locator("input[name=terminal]:checked").get_attribute("value") == (
        "ALPHA-08"
    )
    assert page.locator(".site-header").bounding_box()["height"] <= 64
    assert serious_violations(page) == []

    # when: the customer picks another kiosk, the block no longer names the first
    page.locator("input[name=terminal][value='ALPHA-01']").check()

    # then
    assert page.locator("#chosen-kiosk").is_hidden()
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_code_page_has_a_large_code_box(browser, site, case, locale):
    # given
    page = customer_page(browser, site, locale, case)

    # when
    page.goto(site + "/status/code/")

    # then
    assert float(style(page, "#id_code", "font-size").removesuffix("px")) >= 24
    assert page.locator("#id_code").get_attribute("inputmode") == "numeric"
    assert page.locator(".site-header").bounding_box()["height"] <= 64
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_case_page_is_styled_and_its_reference_stays_on_one_line(
    browser, site, case, locale
):
    # given
    page = customer_page(browser, site, locale, case)

    # when
    page.goto(site + f"/status/{case.reference}/")

    # then
    assert style(page, ".case-summary", "display") == "grid"
    assert line_boxes(page, "h1 .reference") == 1
    assert page.locator(".response-time").count() == 1
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_link_page_keeps_the_reference_on_one_line(browser, site, case, locale):
    # given
    page = customer_page(browser, site, locale)

    # when
    page.goto(site + f"/status/open/{case.reference}/some-token/")

    # then
    assert line_boxes(page, "h1 .nowrap") == 1
    assert page.locator("link[href$='portal/portal.css']").count() == 1
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_status_page_passes_axe(browser, site, locale):
    # given
    page = customer_page(browser, site, locale)

    # when
    page.goto(site + "/status/")

    # then
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_console_queue_and_its_page_links_pass_axe(browser, site, platform, locale):
    # given: two pages of cases, and an agent's session
    for _number in range(QUEUE_PAGE_SIZE + 1):
        file_case(terminal_code="ALPHA-01")
    client = Client()
    client.force_login(make_staff("claire", platform, Role.AGENT))
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=locale
    )
    context.add_cookies([cookie_of(client, site)])
    page = context.new_page()

    # when
    page.goto(site + "/console/")

    # then
    link = page.locator(".pagination a").first.bounding_box()
    assert link["width"] >= 24
    assert link["height"] >= 24
    assert serious_violations(page) == []
    context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_workflow_diagrams_scroll_in_their_region_and_pass_axe_on_a_phone(
    browser, site, case, platform, locale
):
    # given: an agent's session on a phone
    client = Client()
    client.force_login(make_staff("claire", platform, Role.AGENT))
    context = browser.new_context(**PHONE, locale=locale)
    context.set_default_timeout(10_000)
    context.add_cookies([cookie_of(client, site)])
    page = context.new_page()

    # when
    page.goto(site + "/console/workflows/")

    # then: a diagram keeps its size (its text readable) and scrolls in its
    # region, not the page
    assert page.locator(".diagram-scroll svg[role=img]").count() == len(workflows.ALL)
    width = PHONE["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    diagram = page.locator(".diagram-scroll svg").first
    drawn = diagram.bounding_box()
    assert drawn["width"] == pytest.approx(float(diagram.get_attribute("width")), abs=1)
    assert serious_violations(page) == []

    # when
    page.goto(site + f"/console/cases/{case.reference}/")

    # then: axe checks the diagram's section (the rest of the page has its
    # own tests)
    assert page.locator("#case-workflow .state.current").count() == 1
    assert page.locator("#case-next-deadline time").count() == 1
    assert serious_violations(page, "#case-workflow") == []
    context.close()


SMALL_PHONE = {**PHONE, "viewport": {"width": 375, "height": 667}}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_customer_refuses_a_partial_refund_on_a_small_phone(
    browser, site, customer_a, merchant_a_agent, locale
):
    # given: the shop offered part of the order back
    from recours.cases import protection
    from recours.cases.access import staff_actor
    from recours.testing import file_claim, membership, protected_order

    claim = file_claim(protected_order(customer_a, total_minor=12990))
    shop = membership(merchant_a_agent)
    protection.merchant_answer(
        shop, staff_actor(shop), claim, answer="refund", amount_minor=5000,
        message="Half of it: one item arrived.", files=[],
    )  # fmt: skip
    page = customer_page(browser, site, locale, claim)
    page.set_viewport_size(SMALL_PHONE["viewport"])

    # when
    page.goto(site + f"/status/{claim.reference}/")

    # then: no sideways scroll, big choices in a fieldset, and axe is content
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    options = page.locator("#respond-options input[type=radio]")
    assert options.count() == 4
    assert page.locator("#respond-options legend").is_visible()
    for label in page.locator("#respond-options label").all():
        assert label.bounding_box()["height"] >= 44
    assert page.locator("#case-deadline").is_visible()
    assert serious_violations(page) == []

    # when: by keyboard, the third answer (refuse the partial refund), sent
    options.nth(0).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert options.nth(2).get_attribute("value") == "refuse_partial"
    assert options.nth(2).is_checked()
    page.locator("#respond button[type=submit]").press("Enter")

    # then
    page.wait_for_url(f"**/status/{claim.reference}/")
    assert page.locator(".message").count() == 1
    claim.refresh_from_db()
    assert claim.status == "review"
    assert serious_violations(page) == []
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_technical_questions_show_only_for_their_problems(browser, site, locale):
    # given
    page = customer_page(browser, site, locale)
    page.set_viewport_size(SMALL_PHONE["viewport"])
    page.goto(site + "/")
    details = page.locator("#technical-details")

    # then: hidden (and not sent) until a technical problem is chosen
    assert details.is_hidden()
    assert page.locator("#id_item_number").is_disabled()

    # when
    page.locator("input[name=problem][value=item_missing]").check()

    # then
    assert details.is_visible()
    assert page.locator("#id_happened_at").get_attribute("type") == "datetime-local"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert serious_violations(page) == []

    # when
    page.locator("input[name=problem][value=question]").check()

    # then
    assert details.is_hidden()
    page.context.close()
