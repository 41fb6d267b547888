"""The API's edges: empty idempotency keys, bodies too large, unexpected
errors, and the examples it documents."""

import json
import logging

import pytest
from django.urls import reverse

from recours.api import cases
from recours.cases.models import Case
from recours.notifications.models import OutboxMessage
from recours.testing import report

pytestmark = pytest.mark.django_db
PROBLEM_JSON = "application/problem+json"


class UnreadableBody:
    """A wsgi.input that fails the test if anything reads the body."""

    def read(self, *args):
        raise AssertionError("the request body was read")

    readline = read


def create(client, body, **extra):
    return client.post(
        reverse("api:case_create"),
        json.dumps(body),
        content_type="application/json",
        **extra,
    )


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(problem)
    assert problem["status"] == status
    return problem


def test_it_refuses_an_empty_idempotency_key(api_a, customer_a):
    # when
    response = create(api_a, report(), headers={"Idempotency-Key": ""})

    # then
    problem = assert_problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == ["Idempotency-Key"]
    assert not Case.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_it_refuses_a_body_over_the_limit_before_reading_it(api_a, settings):
    # given
    too_big = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    extra = {"CONTENT_LENGTH": str(too_big), "wsgi.input": UnreadableBody()}

    # when
    response = create(api_a, report(), **extra)

    # then
    problem = assert_problem(response, 413)
    assert problem["code"] == "content_too_large"
    assert not Case.objects.exists()


def test_it_answers_django_request_data_too_big_with_a_problem(api_a, settings):
    # given: without the early check, Django itself refuses the body
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if "RequestLimitsMiddleware" not in name
    ]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    # when
    response = create(api_a, report(description="x" * 200))

    # then
    problem = assert_problem(response, 413)
    assert problem["code"] == "content_too_large"
    assert not Case.objects.exists()


def test_an_unexpected_error_is_a_logged_500_problem_without_its_text(
    api_a, monkeypatch, caplog
):
    # given
    def broken(*args, **kwargs):
        raise RuntimeError("connection to db.internal:5432 password=hunter2 failed")

    monkeypatch.setattr(cases, "file_report", broken)

    # when
    with caplog.at_level(logging.ERROR, logger="recours.api"):
        response = create(api_a, report())

    # then
    problem = assert_problem(response, 500)
    assert problem["code"] == "internal_error"
    assert "hunter2" not in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "recours.api"]
    assert record.levelno == logging.ERROR
    assert "hunter2" in caplog.text  # the traceback, for the operator
    assert "/api/v1/cases" in record.getMessage()


def test_every_route_documents_its_500(client):
    # when
    schema = client.get(reverse("api:openapi-json")).json()

    # then
    for path in schema["paths"].values():
        for operation in path.values():
            content = operation["responses"]["500"]["content"]
            assert list(content) == [PROBLEM_JSON]


def documented_request_examples(schema: dict) -> list[tuple[str, str, dict]]:
    """(method, path, body) for every example of every request body."""

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    found = []
    for path, operations in schema["paths"].items():
        # Routes on a customer or basket need the data they name: their
        # examples are posted in test_flows.py, on that data.
        if "{" in path:
            continue
        for method, operation in operations.items():
            media = operation.get("requestBody", {}).get("content", {})
            for content in media.values():
                bodies = list(resolve(content.get("schema", {})).get("examples", []))
                if "example" in content:
                    bodies.append(content["example"])
                bodies += [e["value"] for e in content.get("examples", {}).values()]
                found += [(method, path, body) for body in bodies]
    return found


def test_every_documented_request_example_is_accepted(client, api_a):
    # given
    schema = client.get(reverse("api:openapi-json")).json()
    examples = documented_request_examples(schema)
    assert len(examples) >= 3

    # when
    responses = [
        api_a.generic(method.upper(), path, json.dumps(body), "application/json")
        for method, path, body in examples
    ]

    # then: created, or (a pushed row sent again) accepted unchanged
    assert all(r.status_code in (200, 201) for r in responses), [
        r.content for r in responses if r.status_code not in (200, 201)
    ]


def test_the_idempotent_path_still_takes_a_key(api_a, customer_a):
    # when
    first = create(api_a, report(), headers={"Idempotency-Key": "k-1"})
    again = create(api_a, report(), headers={"Idempotency-Key": "k-1"})

    # then
    assert first.status_code == again.status_code == 201
    assert first.json()["reference"] == again.json()["reference"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (
            "client@example.org,boss@example.org",
            "E-mail address: give one address only, not a list.",
        ),
        (
            "client@example.org\r\nBcc: boss@example.org",
            "E-mail address: write it on one line.",
        ),
        ("client@example", "This e-mail address is not valid."),
    ],
    ids=["comma-list", "cr-lf", "invalid"],
)
def test_it_takes_one_valid_e_mail_address(api_a, settings, address, message):
    # given
    settings.LANGUAGE_CODE = "en"

    # when
    response = create(api_a, report(contact_email=address), HTTP_ACCEPT_LANGUAGE="en")

    # then
    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"field": "contact_email", "messages": [message]}]
    assert not Case.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_question_needs_no_identifier(api_a):
    # when
    response = create(
        api_a, report(problem="question", customer_number="", payment_started=None)
    )

    # then
    assert response.status_code == 201
    assert Case.objects.get().kind == "question"


def test_it_refuses_a_query_parameter_given_twice(api_a, customer_a):
    # when: which customer number would count is a guess
    response = api_a.get(
        reverse("api:order_list") + "?customer_number=C-10001&customer_number=C-2"
    )

    # then
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "repeated_parameter"
    single = api_a.get(reverse("api:order_list") + "?customer_number=C-10001")
    assert single.status_code == 200
