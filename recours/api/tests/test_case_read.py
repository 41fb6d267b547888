from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from recours.accounts.models import Membership, Role
from recours.cases import conversation, engine, intake
from recours.cases.intake import Report
from recours.core.audit import Actor
from recours.testing import NOW, file_case, make_staff

PROBLEM_JSON = "application/problem+json"


def detail(client, reference):
    return client.get(reverse("api:case_detail", args=[reference]))


def listing(client, **filters):
    return client.get(reverse("api:case_list"), filters)


def references(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["reference"] for item in response.json()["items"]]


@pytest.fixture
def case_a(frozen, platform, customer_a):
    return file_case(customer_number=customer_a.customer_number)


@pytest.fixture
def case_b(frozen, platform, kiosk_b):
    return file_case(terminal_code=kiosk_b.code, customer_number="B-20001")


def test_it_shows_a_case_with_its_public_timeline_only(case_a, api_a, platform):
    # given
    agent = make_staff("julie.dupont", platform, Role.AGENT)
    membership = Membership.objects.get(user=agent)
    staff = Actor(label=agent.username, user_id=agent.pk)
    conversation.add_note(
        membership, staff, case_a, "Carte refusée par la banque, vu avec eux."
    )
    conversation.assign(membership, staff, case_a, agent)
    conversation.reply(membership, staff, case_a, "Nous regardons votre paiement.")

    # when
    response = detail(api_a, case_a.reference)

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == case_a.reference
    assert body["status"] == "in_progress"
    assert body["first_response_at"] is not None
    assert [(entry["type"], entry["status"]) for entry in body["timeline"]] == [
        ("created", None),
        ("reply", None),
        ("status", "in_progress"),
    ]
    assert "vu avec eux" not in response.content.decode()
    assert agent.username not in response.content.decode()


def test_it_finds_a_reference_as_typed(case_a, api_a):
    # when
    response = detail(api_a, case_a.reference.lower().replace("-", " "))

    # then
    assert response.status_code == 200
    assert response.json()["reference"] == case_a.reference


def test_it_hides_another_organizations_case(case_a, case_b, api_a):
    # when
    response = detail(api_a, case_b.reference)

    # then
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_JSON
    assert response.json()["code"] == "not_found"
    assert references(listing(api_a)) == [case_a.reference]


def test_it_answers_the_same_for_a_case_that_does_not_exist(case_b, api_a):
    # when
    hidden = detail(api_a, case_b.reference)
    missing = detail(api_a, "RC-2222-2222")

    # then
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_it_shows_every_case_to_a_platform_key(case_a, case_b, api_platform):
    # when
    response = listing(api_platform)

    # then
    assert set(references(response)) == {case_a.reference, case_b.reference}
    assert detail(api_platform, case_b.reference).status_code == 200


def test_it_lists_the_newest_first_a_page_at_a_time(
    frozen, platform, customer_a, api_a
):
    # given
    filed = []
    for _ in range(5):
        filed.append(file_case().reference)
        frozen.shift(timedelta(minutes=1))
    newest_first = filed[::-1]

    # when
    first = listing(api_a, limit=2)
    second = listing(api_a, limit=2, offset=2)
    last = listing(api_a, limit=2, offset=4)

    # then
    assert references(first) == newest_first[:2]
    assert references(second) == newest_first[2:4]
    assert references(last) == newest_first[4:]
    assert first.json()["count"] == 5
    assert first.json()["next_offset"] == 2
    assert second.json()["next_offset"] == 4
    assert last.json()["next_offset"] is None


def test_it_breaks_ties_on_creation_time_newest_first(
    frozen, platform, customer_a, api_a
):
    # given
    first, second = file_case(), file_case()

    # when
    response = listing(api_a)

    # then
    assert references(response) == [second.reference, first.reference]


@pytest.fixture
def varied_cases(frozen, platform, merchant_a, customer_a, kiosk):
    """Three cases of merchant A that differ in every filtered field."""
    kiosk_case = file_case(terminal_code=kiosk.code, problem="payment_failed")
    frozen.shift(timedelta(hours=1))
    question = file_case(problem="question", payment_started="")
    frozen.shift(timedelta(hours=1))
    # Filed with merchant A's scope, as its API key would, so it stays with A.
    unmatched = intake.create_case(
        Actor(label="api:test"),
        Report(problem="item_missing", contact_channel="sms", contact_phone="0612345678",
               order_reference="ORD-NOWHERE", item_number="MAP-000123",
               happened_at=NOW - timedelta(days=2)),
        [],
        scope=merchant_a,
    )  # fmt: skip
    member = make_staff("a_admin", merchant_a, Role.MERCHANT_ADMIN)
    engine.change_status(Membership.objects.get(user=member), Actor(label="a"),
                          question, "resolved")  # fmt: skip
    return {"kiosk": kiosk_case, "question": question, "unmatched": unmatched}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["unmatched", "question", "kiosk"]),
        ({"status": "resolved"}, ["question"]),
        ({"kind": "question"}, ["question"]),
        ({"kind": "item_missing"}, ["unmatched"]),
        ({"priority": "high"}, ["unmatched", "kiosk"]),
        ({"team": "technician"}, ["unmatched"]),
        ({"terminal_code": "alpha-gare-01"}, ["kiosk"]),
        ({"unmatched": "true"}, ["unmatched"]),
        ({"unmatched": "false"}, ["question", "kiosk"]),
        ({"created_after": "2026-03-02T10:00:00Z"}, ["unmatched", "question"]),
        ({"created_before": "2026-03-02T10:00:00Z"}, ["kiosk"]),
        (
            {"created_after": "2026-03-02T09:30:00+01:00"},
            ["unmatched", "question", "kiosk"],
        ),
        ({"kind": "question", "status": "received"}, []),
    ],
)
def test_it_filters_the_list(varied_cases, api_a, filters, expected):
    # when
    response = listing(api_a, **filters)

    # then
    assert references(response) == [varied_cases[name].reference for name in expected]
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"kind": "unknown"}, "kind"),
        ({"created_after": "2026-03-02T10:00:00"}, "created_after"),
        ({"created_before": "9999-12-31T23:00:00-05:00"}, "created_before"),
        ({"unmatched": "perhaps"}, "unmatched"),
    ],
)
def test_it_refuses_bad_filters(db, api_a, filters, field):
    # when
    response = listing(api_a, **filters)

    # then
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_it_keeps_the_default_page_size(frozen, platform, customer_a, api_a):
    # given
    for _ in range(51):
        file_case()

    # when
    response = listing(api_a)

    # then
    assert len(response.json()["items"]) == 50
    assert response.json()["next_offset"] == 50


def test_it_requires_a_key_to_read(db, client):
    # when
    responses = [client.get(reverse("api:case_list")),
                 client.get(reverse("api:case_detail", args=["RC-2222-2222"]))]  # fmt: skip

    # then
    assert [response.status_code for response in responses] == [401, 401]


def test_it_keeps_times_in_utc(case_a, api_a):
    # when
    body = detail(api_a, case_a.reference).json()

    # then
    assert datetime.fromisoformat(body["created_at"]) == datetime(
        2026, 3, 2, 9, 0, tzinfo=UTC
    )
