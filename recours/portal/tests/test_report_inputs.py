"""What the report form accepts and how it says what it refuses: identifiers,
contact addresses, the comment's length. Through Django's test client."""

import pytest
from django.urls import reverse

from recours.cases.models import Case
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

NO_IDENTIFIER = {"customer_number": "", "phone": "", "invoice_reference": ""}


def nothing_filed() -> bool:
    return not (
        Case.objects.exists()
        or OutboxMessage.objects.exists()
        or AuditEvent.objects.exists()
    )


@pytest.mark.parametrize("problem", ["question", "suggestion"])
def test_a_question_or_a_suggestion_needs_no_identifier(
    client, report_data, problem, platform
):
    # when
    response = client.post(
        reverse("portal:report"),
        {**report_data, **NO_IDENTIFIER, "terminal": "", "problem": problem},
    )

    # then
    assert response.status_code == 302
    assert Case.objects.get().problem == problem


def test_a_payment_problem_still_needs_one(client, report_data):
    # when
    response = client.post(reverse("portal:report"), {**report_data, **NO_IDENTIFIER})

    # then
    assert response.status_code == 422
    assert (
        "Give at least one of: customer number, phone number or invoice reference."
        in response.content.decode()
    )
    assert nothing_filed()


def test_the_mobile_number_for_sms_counts_as_an_identifier(client, report_data):
    # when
    response = client.post(
        reverse("portal:report"),
        {
            **report_data,
            **NO_IDENTIFIER,
            "contact_channel": "sms",
            "contact_phone": "06 12 34 56 78",
        },
    )

    # then
    assert response.status_code == 302
    assert Case.objects.get().contact_phone == "+33612345678"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (
            "camille@example.org, boss@example.org",
            "E-mail address: give one address only, not a list.",
        ),
        (
            "camille@example.org;boss@example.org",
            "E-mail address: give one address only, not a list.",
        ),
        (
            "camille@example.org\r\nBcc: boss@example.org",
            "E-mail address: write it on one line.",
        ),
        ("camille@example", "This e-mail address is not valid."),
        ("camille@@example.org", "This e-mail address is not valid."),
    ],
    ids=["comma-list", "semicolon-list", "cr-lf", "no-domain-dot", "two-ats"],
)
def test_one_valid_e_mail_address_per_contact_field(
    client, report_data, address, message
):
    # when
    response = client.post(
        reverse("portal:report"), {**report_data, "contact_email": address}
    )

    # then
    page = response.content.decode()
    assert response.status_code == 422
    assert page.count(message) == 2  # in the summary and beside the field
    assert nothing_filed()


def test_one_mobile_number_per_contact_field(client, report_data):
    # when
    response = client.post(
        reverse("portal:report"),
        {
            **report_data,
            "contact_channel": "sms",
            "contact_phone": "06 12 34 56 78; 06 98 76 54 32",
        },
    )

    # then
    assert response.status_code == 422
    assert "Give one mobile number only." in response.content.decode()
    assert nothing_filed()


def test_a_long_comment_is_refused_by_name_and_kept_whole(client, report_data):
    # given
    comment = "x" * 5001

    # when
    response = client.post(
        reverse("portal:report"), {**report_data, "description": comment}
    )

    # then: nothing was cut, and the customer is told by how much it is over
    page = response.content.decode()
    assert response.status_code == 422
    assert "Your comment: at most 5,000 characters (you wrote 5,001)." in page
    assert comment in page
    assert nothing_filed()


def test_the_comment_box_counts_instead_of_cutting(client):
    # when
    page = client.get(reverse("portal:report")).content.decode()

    # then
    textarea = page[page.index("<textarea") : page.index("</textarea>")]
    assert "maxlength" not in textarea
    assert 'data-max-length="5000"' in textarea
    assert 'data-count-text="{count} of {max} characters"' in textarea


def test_a_comment_of_exactly_5000_characters_is_taken(client, report_data):
    # when
    response = client.post(
        reverse("portal:report"), {**report_data, "description": "y" * 5000}
    )

    # then
    assert response.status_code == 302
    assert len(Case.objects.get().description) == 5000
