"""A buyer-protection claim from both sides of the counter, on a 375 px phone
in Chromium: the merchant answers with a partial refund, the customer refuses
it on their status page, a mediator asks the merchant for a document, the
merchant uploads it, and the mediator decides. Axe checks every page; none
is wider than the screen."""

import re

import pytest
from django.conf import settings
from django.test import Client

from recours.accounts.models import Role
from recours.cases.models import Case, Decision, DocumentRequest, MerchantAnswer
from recours.portal.views import VERIFIED_KEY
from recours.testing import PASSWORD, file_claim, make_staff, protected_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 375, "height": 740},
    "is_mobile": True,
    "has_touch": True,
}
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"target-size": {"enabled": True}},
}
LOCALE = "en-GB"
ANSWER = "Le colis est perdu : nous remboursons 80 € sur 129,90 €."
REQUEST = "Merci d'envoyer le bordereau d'expédition du transporteur."
REASON = "Le transporteur confirme la perte : remboursement complet."


@pytest.fixture
def claim(settings, live_server, platform, merchant_a, customer_a):
    """Customer A's order of 129.90 EUR never came: a claim waits for merchant A."""
    settings.SITE_URL = live_server.url
    make_staff("alpha_agent", merchant_a, Role.MERCHANT_AGENT)
    make_staff("mediator", platform, Role.MEDIATOR)
    return file_claim(protected_order(customer_a, total_minor=12990))


def phone(browser):
    context = browser.new_context(**PHONE, locale=LOCALE)
    context.set_default_timeout(10_000)
    return context.new_page()


def logged_in(browser, site: str, username: str):
    page = phone(browser)
    page.goto(site + "/console/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    page.wait_for_url(re.compile("/console/$"))
    return page


def customer_with_the_case(browser, site: str, case: Case):
    """A phone whose session already proved it owns the case (as after the code)."""
    client = Client()
    session = client.session
    session[VERIFIED_KEY] = [case.pk]
    session.save()
    page = phone(browser)
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
        "url": site,
    }])  # fmt: skip
    return page


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def checked(page) -> None:
    """What every page must pass: axe, and nothing wider than the phone."""
    assert serious_violations(page) == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["viewport"]["width"]


def open_case(page, site: str, case: Case, tab: str) -> None:
    page.goto(f"{site}/console/?team={tab}")
    checked(page)
    page.locator(f"#case-{case.reference} a.case-link").click()
    page.wait_for_url(re.compile(f"/console/cases/{case.reference}/$"))


def submitted(page, form: str, case: Case) -> None:
    page.locator(f"#{form} button[type=submit]").click()
    page.wait_for_url(re.compile(f"/console/cases/{case.reference}/$"))
    assert page.locator(".message-success").count() == 1
    checked(page)


def merchant_answers_a_partial_refund(merchant, site, claim) -> None:
    open_case(merchant, site, claim, "to_answer")
    assert "Answer within 5 days" in merchant.locator("#claim-countdown").inner_text()
    checked(merchant)
    amount = merchant.locator("#id_answer-amount")
    assert amount.input_value() == "129.90"
    # "No refund" hides the amount without a script; a refund shows it again.
    merchant.locator("label[for=id_answer-answer_2]").click()
    assert amount.is_hidden()
    merchant.locator("label[for=id_answer-answer_0]").click()
    assert amount.is_visible()
    amount.fill("80.00")
    merchant.fill("#id_answer-message", ANSWER)
    submitted(merchant, "answer-form", claim)
    summary = merchant.locator("#claim-answer").inner_text()
    assert "Partial refund, of 129.90\u00a0€" in summary
    assert MerchantAnswer.objects.get(case=claim).amount_minor == 8000


def customer_refuses_it(browser, site, claim) -> None:
    customer = customer_with_the_case(browser, site, claim)
    customer.goto(f"{site}/status/{claim.reference}/")
    assert ANSWER in customer.locator("#answer").inner_text()
    checked(customer)
    customer.get_by_label("I do not accept the partial refund.").check()
    customer.locator("#respond button[type=submit]").click()
    customer.wait_for_url(re.compile(f"/status/{claim.reference}/$"))
    checked(customer)
    claim.refresh_from_db()
    assert claim.status == "review"
    customer.context.close()


def mediator_asks_the_merchant(mediator, site, claim) -> None:
    open_case(mediator, site, claim, "mediator")
    checked(mediator)
    mediator.locator("label[for=id_documents-parties_1]").click()
    mediator.fill("#id_documents-message", REQUEST)
    submitted(mediator, "documents-form", claim)
    assert DocumentRequest.objects.get(case=claim).party == "merchant"


def merchant_sends_the_document(merchant, site, claim) -> None:
    merchant.goto(f"{site}/console/cases/{claim.reference}/")
    assert REQUEST in merchant.locator("#claim-requests").inner_text()
    assert "Documents due within" in merchant.locator("#claim-countdown").inner_text()
    checked(merchant)
    merchant.set_input_files("#id_evidence-attachments", files=[{
        "name": "bordereau.pdf", "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF",
    }])  # fmt: skip
    submitted(merchant, "evidence-form", claim)
    claim.refresh_from_db()
    assert claim.status == "review"


def mediator_decides(mediator, site, claim) -> None:
    mediator.goto(f"{site}/console/cases/{claim.reference}/")
    assert mediator.get_by_role("link", name="bordereau.pdf").count() == 1
    mediator.locator("label[for=id_decide-outcome_0]").click()
    assert mediator.locator("#id_decide-amount").input_value() == "129.90"
    mediator.fill("#id_decide-reason", REASON)
    submitted(mediator, "decide-form", claim)
    assert REASON in mediator.locator("#claim-decision").inner_text()
    decision = Decision.objects.get(case=claim)
    assert (decision.outcome, decision.amount_minor, decision.destination) == (
        "refund", 12990, "original_payment",
    )  # fmt: skip


def test_a_partial_refund_is_refused_documents_are_sent_and_the_mediator_decides(
    browser, live_server, claim
):
    site = live_server.url
    merchant = logged_in(browser, site, "alpha_agent")
    merchant_answers_a_partial_refund(merchant, site, claim)

    customer_refuses_it(browser, site, claim)

    # The claim left the merchant's "To answer" tab for the mediators'.
    merchant.goto(f"{site}/console/?team=to_answer")
    assert merchant.locator(f"#case-{claim.reference}").count() == 0
    mediator = logged_in(browser, site, "mediator")
    mediator_asks_the_merchant(mediator, site, claim)

    merchant_sends_the_document(merchant, site, claim)

    mediator_decides(mediator, site, claim)
    claim.refresh_from_db()
    assert claim.status == "decided"
