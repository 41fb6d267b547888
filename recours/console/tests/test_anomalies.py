"""The anomalies list and an anomaly's page with its correction: filters,
pagination, who sees what, and the two-person approval."""

import pytest
from django.test import Client
from django.urls import reverse

from recours.accounts.models import Customer, Role
from recours.console.anomaly_views import ANOMALIES_PAGE_SIZE
from recours.integrity import reconcile
from recours.integrity.models import Anomaly, Correction
from recours.testing import client_for, make_staff
from recours.testing.portfolios import give_coin, vanish


@pytest.fixture
def finance(platform):
    return make_staff("finance", platform, Role.FINANCE)


@pytest.fixture
def finance_2(platform):
    return make_staff("finance2", platform, Role.FINANCE)


@pytest.fixture
def vanished(frozen, settings, platform, customer_a) -> Anomaly:
    """Merchant A's customer lost a coin worth more than the threshold."""
    settings.CORRECTION_SECOND_APPROVAL_MINOR = 50_000
    vanish(give_coin(customer_a, "BR-000123"))
    reconcile.run()
    return Anomaly.objects.get(kind="vanished_holding")


@pytest.fixture
def vanished_b(frozen, platform, merchant_b) -> Anomaly:
    customer = Customer.objects.create(organization=merchant_b, customer_number="B-1")
    vanish(give_coin(customer, "BR-000999"))
    reconcile.run()
    return Anomaly.objects.get(kind="vanished_holding", organization=merchant_b)


def correction_of(anomaly: Anomaly) -> Correction:
    return anomaly.corrections.get()


def anomaly_page(client, anomaly):
    return client.get(reverse("console:anomaly", args=[anomaly.pk]))


def approve(client, correction):
    return client.post(reverse("console:approve", args=[correction.pk]), follow=True)


def test_the_page_shows_the_evidence_and_the_proposed_restore(agent_client, vanished):
    # when
    response = anomaly_page(agent_client, vanished)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Item vanished from a portfolio" in html
    assert "BR-000123" in html
    assert "Restore the holding" in html
    assert "0 of 2 approvals" in html
    assert reverse("console:case", args=[vanished.case.reference]) in html


def test_an_agent_sees_no_buttons_and_cannot_approve(agent_client, vanished):
    # given
    correction = correction_of(vanished)

    # when
    page = anomaly_page(agent_client, vanished)
    response = agent_client.post(reverse("console:approve", args=[correction.pk]))

    # then
    assert reverse("console:approve", args=[correction.pk]) not in (
        page.content.decode()
    )
    assert response.status_code == 403
    assert correction.approvals.count() == 0


def test_two_different_people_approve_above_the_threshold(
    finance, finance_2, vanished, customer_a
):
    # given
    correction = correction_of(vanished)
    first, second = client_for(finance), client_for(finance_2)

    # when: the first approves
    response = approve(first, correction)

    # then: it waits for a second person; the first sees no button any more
    html = response.content.decode()
    assert "1 of 2 approvals" in html
    assert "another person must approve it" in html
    assert f'id="approve-{correction.pk}"' not in html
    assert not customer_a.holdings.exists()

    # when: the first tries again, then a second person approves
    again = approve(first, correction)
    response = approve(second, correction)

    # then: the coin is back
    assert "You already approved this correction" in again.content.decode()
    assert "the correction was executed" in response.content.decode()
    assert [h.item.serial for h in customer_a.holdings.all()] == ["BR-000123"]
    correction.refresh_from_db()
    assert correction.status == Correction.Status.EXECUTED


def test_a_rejection_needs_a_reason(finance, vanished):
    # given
    correction = correction_of(vanished)
    client = client_for(finance)
    url = reverse("console:reject", args=[correction.pk])

    # when
    empty = client.post(url, {f"reject-{correction.pk}-reason": ""}, follow=True)
    given = client.post(
        url, {f"reject-{correction.pk}-reason": "Coin found in the vault"}
    )

    # then
    assert "Say why the correction is rejected." in empty.content.decode()
    assert given.status_code == 302
    correction.refresh_from_db()
    assert correction.status == Correction.Status.REJECTED


def test_approval_needs_its_csrf_token(finance, vanished):
    # given
    correction = correction_of(vanished)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(finance)

    # when
    response = strict.post(reverse("console:approve", args=[correction.pk]))

    # then
    assert response.status_code == 403
    assert correction.approvals.count() == 0


def test_approval_needs_a_post(finance, vanished):
    # when
    response = client_for(finance).get(
        reverse("console:approve", args=[correction_of(vanished).pk])
    )

    # then
    assert response.status_code == 405


def test_merchant_staff_see_their_own_anomalies_only(
    alpha_client, vanished, vanished_b
):
    # when
    listed = alpha_client.get(reverse("console:anomalies"))
    own = anomaly_page(alpha_client, vanished)
    other = anomaly_page(alpha_client, vanished_b)
    approve_other = alpha_client.post(
        reverse("console:approve", args=[correction_of(vanished_b).pk])
    )

    # then
    assert list(listed.context["page"]) == [vanished]
    assert own.status_code == 200
    assert other.status_code == 404
    assert approve_other.status_code == 404


def test_the_list_filters_by_kind_status_and_organization(
    agent_client, vanished, vanished_b, merchant_b
):
    # when
    by_kind = agent_client.get(reverse("console:anomalies"), {"kind": "bad_serial"})
    by_status = agent_client.get(reverse("console:anomalies"), {"status": "open"})
    by_organization = agent_client.get(
        reverse("console:anomalies"), {"organization": merchant_b.slug}
    )

    # then
    assert list(by_kind.context["page"]) == []
    assert set(by_status.context["page"]) == {vanished, vanished_b}
    assert list(by_organization.context["page"]) == [vanished_b]


def test_the_list_is_paginated(frozen, agent_client, customer_a):
    # given: one vanished coin more than a page
    for number in range(ANOMALIES_PAGE_SIZE + 1):
        vanish(give_coin(customer_a, f"BR-{number:06}"))
    reconcile.run()

    # when
    second = agent_client.get(reverse("console:anomalies"), {"page": 2})

    # then
    assert len(second.context["page"]) == 1
    assert 'rel="prev"' in second.content.decode()


def test_the_navigation_links_the_anomalies(agent_client):
    # when
    response = agent_client.get(reverse("console:queue"))

    # then
    assert reverse("console:anomalies") in response.content.decode()


def test_the_integrity_case_links_its_anomaly(agent_client, vanished):
    # when
    response = agent_client.get(reverse("console:case", args=[vanished.case.reference]))

    # then
    assert reverse("console:anomaly", args=[vanished.pk]) in (response.content.decode())
