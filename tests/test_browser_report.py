"""The report form in Chromium: the comment's counter, and photos kept while the
customer corrects a mistake."""

import re

import pytest

from recours.accounts.models import Organization
from recours.cases.models import Case
from recours.commerce.models import Terminal
from recours.testing import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def site(settings, live_server):
    settings.LANGUAGE_CODE = "en"
    Organization.objects.create(name="Plateforme", slug="platform", kind="platform")
    merchant = Organization.objects.create(name="Ouest", slug="ouest", kind="merchant")
    Terminal.objects.create(
        organization=merchant, code="BO-NANTES-01", name="Gare de Nantes"
    )
    return live_server.url


@pytest.fixture
def page(browser):
    context = browser.new_context(**PHONE, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_the_comment_counts_its_characters_and_says_when_it_is_too_long(site, page):
    # given
    page.goto(site + "/")
    counter = page.locator("#id_description_count")

    # when / then
    assert counter.inner_text() == "0 of 5,000 characters"
    page.fill("#id_description", "x" * 12)
    assert counter.inner_text() == "12 of 5,000 characters"
    page.fill("#id_description", "x" * 5003)
    assert counter.inner_text() == "5,003 of 5,000 characters: 3 too many"
    assert page.locator("#id_description").get_attribute("aria-invalid") == "true"
    # nothing was cut
    assert len(page.locator("#id_description").input_value()) == 5003


def test_photos_are_kept_while_the_customer_corrects_the_form(site, page, tmp_path):
    # given: two photos chosen, and the problem forgotten
    photos = [tmp_path / "screen-1.png", tmp_path / "screen-2.png"]
    for photo in photos:
        photo.write_bytes(png_bytes())
    page.goto(site + "/?terminal=BO-NANTES-01")
    page.fill("#id_customer_number", "C-4242")
    page.locator("input[name=contact_channel][value=email]").check()
    page.fill("#id_contact_email", "lea@example.org")
    page.set_input_files("#id_attachments", [str(p) for p in photos])
    page.locator("form.report-form .actions button").click()
    kept = page.locator("#staged-files")
    assert "screen-1.png" in kept.inner_text()
    assert "screen-2.png" in kept.inner_text()

    # when: the customer only fixes the mistake
    page.locator("input[name=problem][value=payment_failed]").check()
    page.locator("form.report-form .actions button").click()
    page.wait_for_url(re.compile(r"/submitted/$"))

    # then
    names = Case.objects.get().attachments.values_list("original_name", flat=True)
    assert sorted(names) == ["screen-1.png", "screen-2.png"]
