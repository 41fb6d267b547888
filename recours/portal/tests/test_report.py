"""The public report form, through Django's test client."""

import io

import pytest
from django.urls import reverse

from recours.cases.models import Attachment, Case
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import png_bytes

pytestmark = pytest.mark.django_db


def upload(name: str, content: bytes, content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def test_the_form_lists_kiosks_and_preselects_the_sticker_code(client, kiosk, kiosk_b):
    kiosk_b.is_active = False
    kiosk_b.save()
    response = client.get(reverse("portal:report"), {"terminal": kiosk.code.lower()})
    page = response.content.decode()
    assert response.status_code == 200
    assert kiosk.name in page
    # A kiosk under maintenance is listed, labelled (see test_kiosk_choice.py).
    assert "under maintenance</span>" in page
    assert f'value="{kiosk.code}" checked' in page


def test_the_kiosk_search_answers_htmx_with_the_matching_kiosks_only(
    client, kiosk, kiosk_b
):
    response = client.get(
        reverse("portal:terminals"), {"q": "lyon"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert kiosk_b.name in page
    assert kiosk.name not in page
    assert "<html" not in page  # a fragment, not a whole page


def test_the_kiosk_search_without_javascript_goes_back_to_the_form(client, kiosk):
    response = client.get(reverse("portal:terminals"), {"q": "gare"})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:report") + "?q=gare"


def test_a_report_creates_a_case_and_queues_the_acknowledgement(
    client, report_data, customer_a
):
    response = client.post(reverse("portal:report"), report_data, follow=True)
    case = Case.objects.get()
    page = response.content.decode()
    assert response.redirect_chain == [(reverse("portal:submitted"), 302)]
    assert case.reference in page
    assert "We will answer within 8 hours." in page  # high priority: payment started
    assert "camille@example.org" in page
    assert case.terminal.code == report_data["terminal"]
    assert case.customer == customer_a
    assert not case.unmatched
    message = OutboxMessage.objects.get(about=f"cases.case:{case.pk}")
    assert message.recipient == "camille@example.org"
    assert case.reference in message.body
    assert AuditEvent.objects.filter(action="case.created").count() == 1


def test_identifiers_that_match_nothing_are_kept_and_flagged(client, report_data):
    report_data["customer_number"] = "C-99999"
    client.post(reverse("portal:report"), report_data)
    case = Case.objects.get()
    assert case.unmatched
    assert case.given_customer_number == "C-99999"


def test_an_sms_contact_defaults_to_the_phone_given(client, report_data):
    report_data.update(
        customer_number="", phone="06 12 34 56 78", contact_channel="sms"
    )
    client.post(reverse("portal:report"), report_data)
    case = Case.objects.get()
    assert case.contact_phone == "+33612345678"
    assert OutboxMessage.objects.get().channel == "sms"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"customer_number": ""},
            "Give at least one of: customer number, phone number or invoice reference.",
        ),
        ({"phone": "12"}, "This phone number is not valid."),
        ({"problem": ""}, "Choose what happened."),
        ({"contact_email": "not-an-address"}, "This e-mail address is not valid."),
        (
            {"contact_channel": "sms", "contact_phone": ""},
            "Give the mobile number we should text.",
        ),
        ({"terminal": "NOPE-00"}, "This kiosk is unknown. Choose it from the list."),
    ],
)
def test_bad_input_is_explained_and_nothing_is_saved(
    client, report_data, change, message
):
    response = client.post(reverse("portal:report"), {**report_data, **change})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert 'id="error-summary"' in response.content.decode()
    assert not Case.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_photo_is_kept_with_the_case(client, report_data):
    report_data["attachments"] = [upload("screen.png", png_bytes())]
    client.post(reverse("portal:report"), report_data)
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png"
    assert attachment.case == Case.objects.get()


def test_a_disguised_file_is_refused_and_nothing_is_saved(
    client, report_data, settings
):
    report_data["attachments"] = [
        upload("screen.png", png_bytes()),
        upload("photo.png", b"#!/bin/sh\nrm -rf /\n"),
    ]
    response = client.post(reverse("portal:report"), report_data)
    assert response.status_code == 422
    assert "photo.png" in response.content.decode()
    assert not Case.objects.exists()
    assert not Attachment.objects.exists()
    media = settings.STORAGES["default"]["OPTIONS"]["location"]
    assert not list(__import__("pathlib").Path(media).rglob("*.png"))


def test_more_than_five_files_are_refused(client, report_data):
    report_data["attachments"] = [upload(f"p{n}.png", png_bytes()) for n in range(6)]
    response = client.post(reverse("portal:report"), report_data)
    assert response.status_code == 422
    assert "You can attach at most 5 files." in response.content.decode()
    assert not Case.objects.exists()


def test_a_file_over_10_mb_is_refused(client, report_data):
    big = io.BytesIO(png_bytes() + b"\0" * (10 * 1024 * 1024))
    report_data["attachments"] = [upload("big.png", big.getvalue())]
    response = client.post(reverse("portal:report"), report_data)
    assert response.status_code == 422
    assert not Case.objects.exists()


def test_the_form_is_rate_limited_per_address_with_a_friendly_page(
    frozen, client, report_data, settings
):
    settings.REPORT_RATE_LIMIT = "2/h"
    for _ in range(2):
        assert client.post(reverse("portal:report"), report_data).status_code == 302
    response = client.post(reverse("portal:report"), report_data)
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert Case.objects.count() == 2
    other = client.post(reverse("portal:report"), report_data, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_the_submitted_page_needs_a_report_from_this_browser(client, report_data):
    response = client.get(reverse("portal:submitted"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:report")


def test_the_form_needs_the_csrf_token(report_data):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        reverse("portal:report"), report_data
    )
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_an_empty_report_says_everything_that_is_missing_at_once(client, kiosk):
    response = client.post(reverse("portal:report"), {"terminal": ""})
    page = response.content.decode()
    assert response.status_code == 422
    for message in (
        "Choose what happened.",
        "Choose SMS or e-mail.",
        "Give at least one of: customer number, phone number or invoice reference.",
    ):
        assert page.count(message) == 2  # in the summary and beside its field
    assert not Case.objects.exists()
