from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from recours.cases.models import Case
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case


def scrape(client: Client, **headers: str) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get(reverse("ops:metrics"), headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = text_string_to_metric_families(response.content.decode())
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def requests_counted(samples: dict, method: str, status: str) -> float:
    key = ("recours_http_requests_total", (("method", method), ("status", status)))
    return samples.get(key, 0.0)


def test_it_counts_requests_by_method_and_status(db, client):
    # given
    before = scrape(client)

    # when
    client.get("/no-such-page/")
    client.get("/no-such-page/")
    after = scrape(client)

    # then: two 404s, and the first scrape itself
    assert (
        requests_counted(after, "GET", "404") - requests_counted(before, "GET", "404")
        == 2
    )
    assert (
        requests_counted(after, "GET", "200") - requests_counted(before, "GET", "200")
        == 1
    )  # the first scrape


def test_it_counts_unknown_methods_under_one_label(db, client):
    # when
    client.generic("BREW", "/no-such-page/")
    samples = scrape(client)

    # then
    assert not any("BREW" in str(labels) for _name, labels in samples)
    assert requests_counted(samples, "other", "404") >= 1


@pytest.fixture
def seeded(platform, merchant_a, customer_a, frozen):
    """Three cases of two kinds, their acknowledgements in every outbox state,
    and a deadline passed 90 s ago."""
    cases = [
        file_case(problem="payment_failed"),
        file_case(problem="payment_failed", customer_number="C-2"),
        file_case(problem="question", description="Une question."),
    ]
    messages = OutboxMessage.objects.order_by("pk")
    assert messages.count() == 3
    first, second, third = messages
    OutboxMessage.objects.filter(pk=first.pk).update(status="sent", sent_at=NOW)
    OutboxMessage.objects.filter(pk=second.pk).update(status="failed")
    OutboxMessage.objects.filter(pk=third.pk).update(
        created_at=NOW - timedelta(seconds=300)
    )
    Case.objects.filter(pk=cases[0].pk).update(
        due_at=NOW - timedelta(seconds=90), due_action="escalate"
    )
    Case.objects.filter(pk=cases[1].pk).update(
        due_at=NOW + timedelta(hours=1), due_action="escalate"
    )
    return cases


def test_it_reports_business_figures_matching_the_database(seeded, client):
    # when
    samples = scrape(client)

    # then
    kinds = {case.kind for case in seeded}
    for kind in kinds:
        expected = sum(1 for case in seeded if case.kind == kind)
        assert samples[("recours_cases_opened_total", (("kind", kind),))] == expected
    assert samples[("recours_outbox_pending_messages", ())] == 1
    assert samples[("recours_outbox_oldest_pending_age_seconds", ())] == 300
    assert samples[("recours_outbox_delivered_total", (("channel", "email"),))] == 1
    assert samples[("recours_outbox_delivered_total", (("channel", "sms"),))] == 0
    assert samples[("recours_outbox_failed_messages", (("channel", "email"),))] == 1
    assert samples[("recours_deadline_lag_seconds", ())] == 90


def test_it_reports_zero_lag_and_age_when_nothing_waits(db, client, frozen):
    # when
    samples = scrape(client)

    # then
    assert samples[("recours_outbox_pending_messages", ())] == 0
    assert samples[("recours_outbox_oldest_pending_age_seconds", ())] == 0
    assert samples[("recours_deadline_lag_seconds", ())] == 0


def test_it_requires_the_token_when_one_is_set(db, client, settings):
    # given
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    # when
    anonymous = client.get(reverse("ops:metrics"))
    wrong = client.get(
        reverse("ops:metrics"), headers={"Authorization": "Bearer guess"}
    )
    samples = scrape(client, Authorization="Bearer s3cret-metrics-token")

    # then
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert b"recours_" not in anonymous.content + wrong.content
    assert ("recours_outbox_pending_messages", ()) in samples
