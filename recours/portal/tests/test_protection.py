"""The buyer-protection page of the day-23 reminder's signed link: the
order and its options; all went well ends the protection, a claim or a
question opens a case; a bad, ended or late link is said plainly."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import strip_tags

from recours.cases.models import Case
from recours.commerce import protection
from recours.commerce.models import Order, ProtectionEnd
from recours.core import worker
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, png_bytes

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def order(merchant_a, customer_a):
    """Merchant A's order, protected when it was placed (NOW)."""
    return Order.objects.create(
        organization=merchant_a,
        customer=customer_a,
        reference="CO-PROT-0001",
        status=Order.Status.PAID,
        total_minor=129_90,
        currency="EUR",
        placed_at=NOW,
        **protection.enrolment(NOW, NOW),
    )


@pytest.fixture
def link(order):
    return reverse("portal:protection", args=[protection.link_token(order)])


def answer(client, link, option="", description="", files=(), **extra):
    data = {"option": option, "description": description, "attachments": list(files)}
    return client.post(link, {**data, **extra})


def photo(name: str = "parcel.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def text_of(response) -> str:
    """The page's words, without its tags."""
    return " ".join(strip_tags(response.content.decode()).split())


def test_it_shows_the_order_its_protection_and_the_options(frozen, client, link):
    # when
    response = client.get(link)

    # then
    assert response.status_code == 200
    page = text_of(response)
    html = response.content.decode()
    assert "CO-PROT-0001" in page
    assert "Kiosques Alpha" in page
    assert "€129.90" in page or "129.90 €" in page
    assert "Protected until" in page
    for option in ("confirmed", "not_received", "refund_not_received",
                   "merchant_closed", "other"):  # fmt: skip
        assert f'value="{option}"' in html
    assert "All went well: I want to end my buyer protection." in page
    assert "The shop has gone out of business." in page
    assert 'name="csrfmiddlewaretoken"' in html
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "9" + token,
        lambda token: token.split(":")[0],
        lambda token: "not-a-token",
    ],
    ids=["signature", "order", "unsigned", "garbage"],
)
def test_it_refuses_a_tampered_link_with_a_clear_page(frozen, client, order, mangle):
    # given
    token = mangle(protection.link_token(order))
    link = reverse("portal:protection", args=[token])

    # when
    shown = client.get(link)
    posted = answer(client, link, "confirmed")

    # then
    for response in (shown, posted):
        assert response.status_code == 400
        assert "This link is not valid" in text_of(response)
    order.refresh_from_db()
    assert order.protection_ended_at is None


def test_all_went_well_ends_the_protection(frozen, client, order, link):
    # when
    response = answer(client, link, "confirmed")

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "portal:protection_done", args=[protection.link_token(order)]
    )
    order.refresh_from_db()
    assert order.protection_end_reason == ProtectionEnd.CONFIRMED
    assert order.protection_ended_at == NOW
    assert not Case.objects.exists()
    done = client.get(response["Location"])
    assert "The buyer protection of order CO-PROT-0001 has ended." in text_of(done)
    again = client.get(link)
    assert again.status_code == 410
    assert "You ended the protection of this order on 2 Mar 2026" in text_of(again)


@pytest.mark.parametrize("problem", ["not_received", "refund_not_received"])
def test_a_claim_opens_a_case_for_the_merchant_with_its_files(
    frozen, settings, client, order, link, problem
):
    # when
    response = answer(
        client, link, problem, "Nothing came after three weeks.", [photo()]
    )

    # then
    assert response.status_code == 302, text_of(response)
    case = Case.objects.get()
    assert (case.kind, case.order, case.source) == (problem, order, "protection")
    assert case.description == "Nothing came after three weeks."
    assert case.contact_channel == "email"
    assert case.contact_email == "camille@example.org"
    assert case.attachments.count() == 1
    order.refresh_from_db()
    assert order.protection_ended_at is None  # a claim leaves the protection be
    done = text_of(client.get(response["Location"]))
    assert case.reference in done
    assert "The shop has 5 calendar days to answer your claim." in done


def test_a_shop_out_of_business_goes_straight_to_review(frozen, client, order, link):
    # when
    response = answer(client, link, "merchant_closed", "The website is gone.")

    # then
    assert response.status_code == 302, text_of(response)
    case = Case.objects.get()
    assert (case.kind, case.status) == ("merchant_closed", "review")
    done = text_of(client.get(response["Location"]))
    assert case.reference in done
    assert "our team reviews your claim directly" in done


def test_another_request_opens_a_question_naming_the_order(frozen, client, order, link):
    # when
    response = answer(client, link, "other", "Can I change the delivery address?")

    # then
    assert response.status_code == 302, text_of(response)
    case = Case.objects.get()
    assert (case.kind, case.problem) == ("question", "question")
    assert case.order == order
    assert case.given_order_reference == "CO-PROT-0001"
    assert case.source == "protection"
    done = text_of(client.get(response["Location"]))
    assert case.reference in done
    assert "Thank you, we have received your request" in done
    assert "We will answer within" in done
    order.refresh_from_db()
    assert order.protection_ended_at is None


def test_it_says_what_is_missing_and_changes_nothing(frozen, client, order, link):
    # when
    nothing = answer(client, link)
    no_words = answer(client, link, "not_received")

    # then
    assert nothing.status_code == 422
    assert "Choose one answer." in text_of(nothing)
    assert no_words.status_code == 422
    assert "Tell us in a few words what happened." in text_of(no_words)
    assert not Case.objects.exists()
    order.refresh_from_db()
    assert order.protection_ended_at is None


def test_it_keeps_checked_files_while_the_form_is_corrected(
    frozen, client, order, link
):
    # given: a photo sent with no answer chosen
    first = answer(client, link, "", "Nothing came.", [photo("label.png")])
    assert first.status_code == 422
    assert "label.png" in text_of(first)

    # when
    response = answer(client, link, "not_received", "Nothing came.")

    # then
    assert response.status_code == 302, text_of(response)
    (attachment,) = Case.objects.get().attachments.all()
    assert attachment.original_name == "label.png"


def test_it_refuses_a_file_that_is_not_evidence(frozen, client, order, link):
    # when
    fake = SimpleUploadedFile("invoice.pdf", b"not a pdf", "application/pdf")
    response = answer(client, link, "not_received", "Nothing came.", [fake])

    # then
    assert response.status_code == 422
    assert "invoice.pdf is not a PDF, PNG, JPEG or WebP file." in text_of(response)
    assert not Case.objects.exists()


def test_a_claim_after_the_window_is_refused_with_a_clear_message(
    frozen, client, order, link
):
    # given: the page was opened on the last day, sent a day later
    frozen.shift(30 * DAY - timedelta(hours=1))
    assert client.get(link).status_code == 200
    frozen.shift(DAY)

    # when
    response = answer(client, link, "not_received", "Nothing came.")

    # then
    assert response.status_code == 410
    page = text_of(response)
    assert "The buyer protection of order CO-PROT-0001 ended on" in page
    assert "a claim can no longer be opened" in page
    assert not Case.objects.exists()


def test_an_expired_protection_shows_the_ended_page(frozen, client, order, link):
    # given
    frozen.shift(31 * DAY)
    worker.JOBS["protection-expiry"].run()

    # when
    response = client.get(link)

    # then
    assert response.status_code == 410
    page = text_of(response)
    assert "This buyer protection has ended" in page
    assert "The protection of this order ended on 1 Apr 2026" in page
    assert "Traceback" not in page


def test_a_second_claim_while_one_is_open_is_refused(frozen, client, order, link):
    # given
    answer(client, link, "not_received", "Nothing came.")

    # when
    response = answer(client, link, "refund_not_received", "And no refund.")

    # then
    assert response.status_code == 409
    assert "A claim for this order is already open" in text_of(response)
    assert Case.objects.count() == 1


def test_it_needs_the_csrf_token(frozen, order, link):
    # given
    client = Client(enforce_csrf_checks=True)

    # when
    response = client.post(link, {"option": "confirmed"})

    # then
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.protection_ended_at is None


def test_it_limits_answers_per_address_like_the_report_form(
    frozen, settings, client, order, link
):
    # given
    settings.REPORT_RATE_LIMIT = "1/h"
    assert answer(client, link, "other", "A question.").status_code == 302

    # when
    response = answer(client, link, "other", "Another question.")

    # then
    assert response.status_code == 429
    assert Case.objects.count() == 1


def test_the_confirmation_page_shows_nothing_to_another_browser(
    frozen, client, order, link
):
    # given
    answer(client, link, "not_received", "Nothing came.")
    done = reverse("portal:protection_done", args=[protection.link_token(order)])

    # when
    response = Client().get(done)

    # then
    assert response.status_code == 302
    assert response["Location"] == link


def test_the_reminders_link_opens_the_page(frozen, client, order):
    # given
    frozen.shift(23 * DAY)
    worker.JOBS["protection-reminders"].run()
    message = OutboxMessage.objects.get(dedupe_key__endswith="protection_reminder")
    url = protection.link_url(order)

    # when
    response = client.get(url.removeprefix("http://localhost:8000"))

    # then
    assert url in message.body
    assert response.status_code == 200
    assert "CO-PROT-0001" in text_of(response)
