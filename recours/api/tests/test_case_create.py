import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from recours.accounts.actions import create_api_key
from recours.accounts.models import ApiKey
from recours.cases.models import Case
from recours.core.audit import Actor
from recours.core.models import AuditEvent, IdempotencyRecord
from recours.notifications.models import OutboxMessage
from recours.testing import client_with, report, statements

PROBLEM_JSON = "application/problem+json"


def post(client, body, **headers):
    return client.post(
        reverse("api:case_create"),
        body,
        content_type="application/json",
        headers=headers,
    )


def read_case(client, reference: str) -> dict:
    """The case as GET reads it from the database."""
    return client.get(reverse("api:case_detail", args=[reference])).json()


def nothing_written() -> bool:
    return not (
        Case.objects.exists()
        or AuditEvent.objects.filter(action="case.created").exists()
        or OutboxMessage.objects.exists()
    )


def test_it_creates_a_case_and_queues_the_acknowledgement(frozen, api_a, merchant_a,
                                                          customer_a, secret_a):  # fmt: skip
    # when
    response = post(api_a, report())

    # then
    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert case.organization == merchant_a
    assert case.customer == customer_a
    assert case.source == "api"
    assert body["kind"] == "payment_incident"
    assert body["status"] == "received"
    assert body["priority"] == "high"
    assert body["unmatched"] is False
    assert [entry["type"] for entry in body["timeline"]] == ["created"]
    message = OutboxMessage.objects.get()
    assert message.recipient == "client@example.org"
    assert message.about == f"cases.case:{case.pk}"
    audit = AuditEvent.objects.get(action="case.created")
    assert audit.actor_label == f"api:{secret_a[:11]}"


def test_it_answers_with_the_timeline_it_wrote_without_reading_it_back(
    frozen, api_a, customer_a
):
    # when
    with statements() as sent:
        response = post(api_a, report(description="Ma carte a été refusée."))

    # then
    body = response.json()
    fresh = read_case(api_a, body["reference"])
    assert body["timeline"] == fresh["timeline"]
    assert [entry["body"] for entry in body["timeline"]] == ["Ma carte a été refusée."]
    event_reads = [sql for sql in sent
                   if sql.startswith("SELECT") and "cases_caseevent" in sql]  # fmt: skip
    assert event_reads == []
    assert sent  # the wrapper saw the request's statements


def test_it_exposes_no_contact_details_notes_or_staff(frozen, api_a, customer_a):
    # when
    body = post(api_a, report()).json()

    # then
    for private in ("contact_email", "contact_phone", "assignee", "customer_number",
                    "organization", "id"):  # fmt: skip
        assert private not in body
    assert set(body["timeline"][0]) == {"type", "created_at", "body", "status"}


def test_it_returns_the_first_answer_for_a_repeated_idempotency_key(frozen, api_a,
                                                                    customer_a):  # fmt: skip
    # when
    first = post(api_a, report(), **{"Idempotency-Key": "order-42"})
    second = post(api_a, report(), **{"Idempotency-Key": "order-42"})

    # then
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Case.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_it_refuses_an_idempotency_key_reused_with_another_body(
    frozen, api_a, customer_a
):
    # given
    post(api_a, report(), **{"Idempotency-Key": "order-42"})

    # when
    response = post(
        api_a, report(description="Autre chose"), **{"Idempotency-Key": "order-42"}
    )

    # then
    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM_JSON
    assert response.json()["code"] == "idempotency_key_reused"
    assert Case.objects.count() == 1


def test_it_keeps_idempotency_keys_apart_between_organizations(frozen, api_a, api_b,
                                                               customer_a, kiosk_b):  # fmt: skip
    # when
    first = post(api_a, report(), **{"Idempotency-Key": "same"})
    second = post(
        api_b, report(terminal_code=kiosk_b.code), **{"Idempotency-Key": "same"}
    )

    # then
    assert first.status_code == second.status_code == 201
    assert Case.objects.count() == 2


def test_it_creates_a_case_for_every_post_without_an_idempotency_key(frozen, api_a,
                                                                     customer_a):  # fmt: skip
    # when
    first = post(api_a, report())
    second = post(api_a, report())

    # then
    assert first.json()["reference"] != second.json()["reference"]
    assert Case.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_it_refuses_an_idempotency_key_over_255_characters(frozen, api_a, customer_a):
    # when
    response = post(api_a, report(), **{"Idempotency-Key": "k" * 256})

    # then
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert nothing_written()


def test_it_stores_no_answer_for_a_refused_report(frozen, api_a, customer_a):
    # given
    refused = post(api_a, report(contact_email="nobody"), **{"Idempotency-Key": "k1"})

    # when
    fixed = post(api_a, report(), **{"Idempotency-Key": "k1"})

    # then
    assert refused.status_code == 422
    assert fixed.status_code == 201


def test_it_refuses_a_report_on_another_organizations_kiosk(frozen, api_a, kiosk_b):
    # when
    response = post(api_a, report(terminal_code=kiosk_b.code))

    # then
    assert response.status_code == 422
    assert "terminal_code" in [error["field"] for error in response.json()["errors"]]
    assert nothing_written()


def test_it_never_matches_another_organizations_customer(frozen, api_b, customer_a):
    # when
    response = post(api_b, report(customer_number=customer_a.customer_number))

    # then: kept unmatched in B, telling nothing about A's customer
    assert response.status_code == 201
    case = Case.objects.get()
    assert case.organization.slug == "beta"
    assert case.customer is None
    assert case.unmatched
    assert customer_a.name not in response.content.decode()


def test_it_lets_a_platform_key_file_a_report_on_any_kiosk(
    frozen, api_platform, kiosk_b
):
    # when
    response = post(
        api_platform, report(terminal_code=kiosk_b.code, customer_number="X-1")
    )

    # then
    assert response.status_code == 201
    assert response.json()["terminal_code"] == kiosk_b.code
    assert Case.objects.get().organization == kiosk_b.organization


def test_it_lists_every_field_the_domain_refuses(frozen, api_a):
    # when
    response = post(api_a, report(customer_number="", contact_email="not an address"))

    # then
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == 422
    assert problem["code"] == "invalid_input"
    assert {error["field"] for error in problem["errors"]} == {
        "identifier",
        "contact_email",
    }
    assert all(error["messages"] for error in problem["errors"])
    assert nothing_written()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (report(problem="on fire"), "problem"),
        (report(contact_channel="pigeon"), "contact_channel"),
        (report(description="x" * 5001), "description"),
        (report(customer_number="C-1\x00"), "customer_number"),
        (report(colour="red"), "colour"),
        ({"contact_channel": "email"}, "problem"),
    ],
)
def test_it_names_the_field_the_schema_refuses(frozen, api_a, customer_a, body, field):
    # when
    response = post(api_a, body)

    # then
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert nothing_written()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b"null"])
def test_it_refuses_a_body_that_is_not_a_report(frozen, api_a, raw):
    # when
    response = api_a.post(
        reverse("api:case_create"), raw, content_type="application/json"
    )

    # then
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == PROBLEM_JSON
    assert nothing_written()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer rk_not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "rk_not-a-key"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_it_requires_a_valid_key(db, customer_a, headers):
    # when
    response = post(Client(), report(), **headers)

    # then
    assert_unauthorized(response)


def test_it_refuses_a_revoked_key(frozen, merchant_a, customer_a):
    # given
    key, secret = create_api_key(Actor.system("test"), merchant_a, "old")
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())

    # when
    response = post(client_with(secret), report())

    # then
    assert_unauthorized(response)


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_JSON
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"
    assert not Case.objects.exists()


def test_it_accepts_the_key_in_an_x_api_key_header(frozen, secret_a, customer_a):
    # when
    response = post(Client(), report(), **{"X-API-Key": secret_a})

    # then
    assert response.status_code == 201


def test_it_limits_the_requests_of_a_key(frozen, settings, api_a, customer_a):
    # given
    settings.API_RATE_LIMIT = "2/m"
    post(api_a, report())
    post(api_a, report())

    # when
    response = post(api_a, report())

    # then
    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM_JSON
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Case.objects.count() == 2
