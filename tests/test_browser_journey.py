"""The first whole flow, in Chromium: report, acknowledgement, reply, status page.

A customer files a kiosk report on a phone; the acknowledgement goes through a
real SMTP server; an agent answers from the console; the customer opens the
case with the e-mailed link and reads the answer. The worker's job runs in the
test (`deliver_due`), between the steps where the worker would have run.
"""

import re

import pytest
from django.contrib.auth import get_user_model

from recours.accounts.models import Membership, Organization, Role
from recours.cases.models import Case
from recours.commerce.models import Terminal
from recours.notifications.outbox import deliver_due
from recours.testing.servers import mailer_settings, start_smtp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
PASSWORD = "a long demo password"
REPLY = "Bonjour, la borne a bien rendu l'argent : remboursement fait ce matin."


@pytest.fixture
def smtp(settings):
    controller, server = start_smtp()
    settings.MAILERS = mailer_settings(server.port)
    yield server.handler
    controller.stop()


@pytest.fixture
def site(settings, live_server):
    """A platform with one merchant's kiosk and one agent, served by live_server."""
    settings.SITE_URL = live_server.url
    platform = Organization.objects.create(
        name="Plateforme", slug="platform", kind="platform"
    )
    merchant = Organization.objects.create(
        name="Bornes Ouest", slug="ouest", kind="merchant"
    )
    Terminal.objects.create(
        organization=merchant,
        code="BO-NANTES-01",
        name="Gare de Nantes",
        location="Nantes",
    )
    Terminal.objects.create(
        organization=merchant,
        code="BO-ANGERS-01",
        name="Mairie d'Angers",
        location="Angers",
    )
    user = get_user_model().objects.create_user("claire", password=PASSWORD)
    Membership.objects.create(user=user, organization=platform, role=Role.AGENT)
    return live_server.url


def mail_to(smtp, address: str, containing: str):
    for received in reversed(smtp.received):
        body = received.message.get_body(("plain",)).get_content()
        if address in received.rcpt_tos and containing in body:
            return body
    raise AssertionError(f"no e-mail to {address} containing {containing!r}")


def test_a_kiosk_report_is_answered_and_the_customer_reads_the_answer(
    browser, site, smtp
):
    customer = browser.new_context(**PHONE, locale="fr-FR")
    customer.set_default_timeout(10_000)
    page = customer.new_page()

    # The customer finds the kiosk by its town and files the report.
    page.goto(site + "/")
    page.fill("#id_terminal", "nantes")
    # htmx narrows the list as she types.
    page.locator("input[name=terminal][value='BO-ANGERS-01']").wait_for(
        state="detached"
    )
    page.locator("input[name=terminal][value='BO-NANTES-01']").check()
    page.locator("input[name=payment_started][value=yes]").check()
    page.fill("#id_customer_number", "C-4242")
    page.locator("input[name=problem][value=payment_failed]").check()
    page.fill(
        "#id_description", "La borne a gardé mon billet de 20 € sans rien imprimer."
    )
    page.locator("input[name=contact_channel][value=email]").check()
    page.fill("#id_contact_email", "lea@example.org")
    page.locator("form.report-form .actions button").click()
    page.wait_for_url(re.compile(r"/submitted/$"))
    reference = page.locator(".reference").inner_text().strip()
    case = Case.objects.get(reference=reference)
    assert case.terminal.code == "BO-NANTES-01"
    assert case.unmatched  # C-4242 is nobody: kept, flagged, not refused

    # The worker delivers the acknowledgement through SMTP.
    deliver_due()
    assert reference in mail_to(smtp, "lea@example.org", reference)

    # An agent logs in, finds the case in the queue and replies.
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    staff.set_default_timeout(10_000)
    console = staff.new_page()
    console.goto(site + "/console/")
    console.fill("#id_username", "claire")
    console.fill("#id_password", PASSWORD)
    console.locator("#login-form button[type=submit]").click()
    console.locator(f"a:text-is('{reference}')").click()
    console.wait_for_url(re.compile(f"/console/cases/{reference}/$"))
    console.fill("#id_reply-body", REPLY)
    console.locator("#reply-form button[type=submit]").click()
    console.wait_for_url(re.compile(f"/console/cases/{reference}/$"))
    assert console.locator(".timeline").get_by_text(REPLY).count() == 1
    deliver_due()
    assert REPLY in mail_to(smtp, "lea@example.org", REPLY)

    # The customer asks for a link on the status page and reads the reply.
    page.goto(site + "/status/")
    page.fill("#id_reference", reference)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/status/code/$"))
    deliver_due()
    body = mail_to(smtp, "lea@example.org", "/status/open/")
    link = re.search(r"https?://\S+/status/open/\S+/", body).group(0)
    page.goto(link)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(f"/status/{reference}/$"))
    assert page.locator(".timeline").get_by_text(REPLY).count() == 1
    assert page.locator("html").get_attribute("lang") == "fr"

    customer.close()
    staff.close()
