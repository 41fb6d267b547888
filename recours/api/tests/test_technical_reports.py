"""Technical reports through the API (seed 000): the item, the transaction and
when it happened, required for the two technical problems and documented."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from recours.api.schemas import ITEM_MISSING_EXAMPLE, WRONG_STATE_EXAMPLE
from recours.cases.models import Case, Team
from recours.testing import report


def post(client, body):
    return client.post(
        reverse("api:case_create"), body, content_type="application/json"
    )


def fields_refused(response) -> dict[str, list[str]]:
    return {error["field"]: error["messages"] for error in response.json()["errors"]}


def test_it_files_a_missing_item_for_the_technical_team(frozen, api_a, customer_a):
    # when
    response = post(
        api_a,
        report(problem="item_missing", item_number="BR-00004275",
               happened_at="2026-02-27T14:05:00+01:00"),
    )  # fmt: skip

    # then: the moment in UTC, on the case and in the answer
    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert case.given_item_number == "BR-00004275"
    assert case.happened_at == datetime(2026, 2, 27, 13, 5, tzinfo=UTC)
    assert case.team == Team.TECHNICIAN
    assert body["item_number"] == "BR-00004275"
    assert body["happened_at"].startswith("2026-02-27T13:05:00")


@pytest.mark.parametrize(
    ("problem", "fields", "refused"),
    [
        ("item_missing", {"happened_at": "2026-02-27T14:05:00Z"}, {"item_number"}),
        ("item_missing", {"item_number": "BR-1"}, {"happened_at"}),
        ("wrong_state", {"happened_at": "2026-02-27T14:05:00Z"}, {"order_reference"}),
        ("wrong_state", {}, {"order_reference", "happened_at"}),
    ],
)
def test_it_requires_the_details_of_a_technical_report(
    frozen, api_a, customer_a, problem, fields, refused
):
    # when
    response = post(api_a, report(problem=problem, **fields))

    # then
    assert response.status_code == 422
    assert set(fields_refused(response)) == refused
    assert not Case.objects.exists()


def test_it_refuses_a_moment_in_the_future_or_without_offset(frozen, api_a, customer_a):
    # when
    future = post(api_a, report(problem="item_missing", item_number="BR-1",
                                happened_at="2026-03-05T10:00:00Z"))  # fmt: skip
    naive = post(api_a, report(problem="item_missing", item_number="BR-1",
                               happened_at="2026-02-27T10:00:00"))  # fmt: skip

    # then
    assert future.status_code == naive.status_code == 422
    assert fields_refused(future) == {"happened_at": ["This date is in the future."]}
    assert "happened_at" in fields_refused(naive)
    assert not Case.objects.exists()


def test_the_schema_documents_the_fields_with_valid_examples(client):
    # when
    schema = client.get(reverse("api:openapi-json")).json()

    # then
    report_in = schema["components"]["schemas"]["ReportIn"]
    assert (
        "required for item_missing"
        in report_in["properties"]["item_number"]["description"]
    )
    assert "happened_at" in report_in["properties"]
    assert ITEM_MISSING_EXAMPLE in report_in["examples"]
    assert WRONG_STATE_EXAMPLE in report_in["examples"]
