"""Technical reports on the report form (seed 000): a missing item or a
transaction in a wrong state asks for the item number, the order or
transaction reference and when it happened, and goes to the technical team."""

import html
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from recours.cases.models import Case, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def technical_data(report_data, platform) -> dict:
    return {
        **report_data,
        "terminal": "",
        "payment_started": "",
        "problem": "item_missing",
        "item_number": "BR-00004275",
        "happened_at": "2026-02-27T14:05",
        "description": "The coin left my portfolio.",
    }


def send(client, data: dict):
    return client.post(reverse("portal:report"), data)


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def test_it_asks_in_a_fieldset_shown_for_the_two_problems_only(client):
    # when
    body = text_of(client.get(reverse("portal:report")))

    # then: in the page without JavaScript, with a legend saying when
    assert 'data-show-for="item_missing wrong_state"' in body
    assert "<legend>For the technical team" in body
    assert 'name="item_number"' in body
    assert 'type="datetime-local" name="happened_at"' in body
    assert "A transaction is stuck or in a wrong state" in body


def test_it_files_a_missing_item_for_the_technical_team(frozen, client, technical_data):
    # when
    response = send(client, technical_data)

    # then: the local time of the operator, stored in UTC
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.given_item_number == "BR-00004275"
    assert case.happened_at == datetime(2026, 2, 27, 13, 5, tzinfo=UTC)
    assert case.team == Team.TECHNICIAN
    assert case.kind == "item_missing"


def test_it_reads_the_time_where_the_operator_is(
    frozen, client, technical_data, settings
):
    # given
    settings.TIME_ZONE = "America/Montreal"

    # when
    send(client, technical_data)

    # then
    assert Case.objects.get().happened_at == datetime(2026, 2, 27, 19, 5, tzinfo=UTC)


def test_it_files_a_transaction_in_a_wrong_state(frozen, client, technical_data):
    # when
    response = send(
        client,
        {**technical_data, "problem": "wrong_state", "item_number": "",
         "order_reference": "TX-2026-0815"},
    )  # fmt: skip

    # then
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.given_order_reference == "TX-2026-0815"
    assert case.problem == "wrong_state"
    assert case.team == Team.TECHNICIAN


@pytest.mark.parametrize(
    ("problem", "missing", "message"),
    [
        ("item_missing", "item_number", "Give the number of the missing item."),
        ("item_missing", "happened_at", "Say when it happened (date and time)."),
        ("wrong_state", "order_reference", "Give the order or transaction reference."),
        ("wrong_state", "happened_at", "Say when it happened (date and time)."),
    ],
)
def test_it_requires_each_detail(
    frozen, client, technical_data, problem, missing, message
):
    # given
    data = {**technical_data, "problem": problem, "order_reference": "TX-1"}
    data[missing] = ""

    # when
    response = send(client, data)

    # then: said beside the field and in the summary, nothing filed
    assert response.status_code == 422
    body = text_of(response)
    assert message in body
    assert f'href="#id_{missing}"' in body
    assert not Case.objects.exists()


def test_it_refuses_a_moment_in_the_future(frozen, client, technical_data):
    # when
    response = send(client, {**technical_data, "happened_at": "2026-03-05T10:00"})

    # then
    assert response.status_code == 422
    assert "This date is in the future." in text_of(response)
    assert not Case.objects.exists()


def test_it_refuses_a_moment_it_cannot_read(frozen, client, technical_data):
    # when
    response = send(client, {**technical_data, "happened_at": "yesterday"})

    # then: the form's message only, not a second "say when" one
    assert response.status_code == 422
    body = text_of(response)
    assert "Give the date and the time, for example 27/02/2026 14:05." in body
    assert "Say when it happened" not in body
    assert not Case.objects.exists()


def test_other_problems_do_not_need_the_details(frozen, client, report_data, platform):
    # when
    response = send(client, report_data)

    # then
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.given_item_number == ""
    assert case.happened_at is None
    assert case.team == Team.AGENT


def test_the_case_page_shows_the_details(frozen, client, technical_data):
    # given
    send(client, technical_data)
    case = Case.objects.get()
    session = client.session
    session["portal.verified_cases"] = [case.pk]
    session.save()

    # when
    body = text_of(client.get(reverse("portal:case", args=[case.reference])))

    # then
    assert "BR-00004275" in body
    assert "27 Feb 2026, 14:05" in body
