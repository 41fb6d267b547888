"""Webhook endpoints in the console: who sees what, the secret shown once,
the delivery log and redelivery."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from recours.accounts.models import Role
from recours.core.audit import Actor
from recours.core.models import AuditEvent
from recours.notifications import actions, outbox, webhooks
from recours.notifications.models import OutboxMessage, WebhookEndpoint
from recours.testing import NOW, client_for, make_staff
from recours.testing.webhooks import receiving

ACTOR = Actor(label="test")
URL = "https://8.8.8.8/hooks/recours"


@pytest.fixture
def alpha_admin(merchant_a):
    return make_staff("alpha_admin", merchant_a, Role.MERCHANT_ADMIN)


@pytest.fixture
def alpha_admin_client(alpha_admin):
    return client_for(alpha_admin)


@pytest.fixture
def beta_admin_client(merchant_b):
    return client_for(make_staff("beta_admin", merchant_b, Role.MERCHANT_ADMIN))


@pytest.fixture
def admin_client(platform):
    return client_for(make_staff("platform_admin", platform, Role.ADMIN))


def endpoint_for(organization, url=URL, events=("case.opened",)) -> WebhookEndpoint:
    return actions.create_endpoint(
        ACTOR, organization.pk, url=url, description=f"ERP {organization.slug}",
        event_types=list(events),
    )  # fmt: skip


def emit(organization, key: str) -> list[OutboxMessage]:
    with transaction.atomic():
        return webhooks.emit(organization.pk, "case.opened", {"n": key}, key)


def state(row) -> dict:
    row.refresh_from_db()
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


def form(url=URL, events=("case.opened", "case.closed"), description="Our ERP"):
    return {"url": url, "description": description, "event_types": list(events)}


def test_it_lists_only_the_organizations_endpoints(
    alpha_admin_client, merchant_a, merchant_b
):
    # given
    endpoint_for(merchant_a, "https://8.8.8.8/alpha")
    endpoint_for(merchant_b, "https://8.8.4.4/beta")

    # when
    response = alpha_admin_client.get(reverse("console:webhooks"))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "https://8.8.8.8/alpha" in html
    assert "https://8.8.4.4/beta" not in html
    assert "A case was opened" in html


def test_it_shows_platform_admins_every_organizations_endpoints(
    admin_client, merchant_a, merchant_b
):
    # given
    endpoint_for(merchant_a, "https://8.8.8.8/alpha")
    endpoint_for(merchant_b, "https://8.8.4.4/beta")

    # when
    html = admin_client.get(reverse("console:webhooks")).content.decode()

    # then
    assert "https://8.8.8.8/alpha" in html and "https://8.8.4.4/beta" in html
    assert "Kiosques Alpha" in html and "Boutique Beta" in html


def test_it_links_webhooks_in_the_menu_for_administrators_only(
    alpha_admin_client, alpha_client, admin_client, agent_client
):
    # when
    pages = {
        name: client.get(reverse("console:queue")).content.decode()
        for name, client in [("merchant admin", alpha_admin_client),
                             ("merchant agent", alpha_client),
                             ("admin", admin_client), ("agent", agent_client)]
    }  # fmt: skip

    # then
    link = f'href="{reverse("console:webhooks")}"'
    assert {name: link in html for name, html in pages.items()} == {
        "merchant admin": True,
        "merchant agent": False,
        "admin": True,
        "agent": False,
    }


@pytest.mark.parametrize("name", ["webhooks", "webhook_add"])
def test_it_refuses_staff_who_are_not_administrators(alpha_client, agent_client, name):
    # when
    responses = [
        c.get(reverse(f"console:{name}")) for c in (alpha_client, agent_client)
    ]

    # then
    assert [r.status_code for r in responses] == [403, 403]


def test_it_adds_an_endpoint_and_shows_its_secret_once(alpha_admin_client, merchant_a):
    # when
    response = alpha_admin_client.post(reverse("console:webhook_add"), form())

    # then: the answer shows the secret; no page shows it afterwards
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret in response.content.decode()
    assert endpoint.organization == merchant_a
    assert endpoint.event_types == ["case.opened", "case.closed"]
    assert (endpoint.url, endpoint.description) == (URL, "Our ERP")
    for page in [reverse("console:webhooks"),
                 reverse("console:webhook", args=[endpoint.pk]),
                 reverse("console:webhook_edit", args=[endpoint.pk])]:  # fmt: skip
        later = alpha_admin_client.get(page)
        assert later.status_code == 200
        assert endpoint.secret not in later.content.decode()
    event = AuditEvent.objects.get(action="webhook_endpoint.created")
    assert (event.actor_label, event.organization_id) == ("alpha_admin", merchant_a.pk)
    assert endpoint.secret not in str(event.data)


@pytest.mark.parametrize(
    "data,field,error",
    [
        (form(url="http://127.0.0.1:8000/hooks"), "url", "private or local network"),
        (form(url="http://10.0.0.8/hooks"), "url", "private or local network"),
        (form(url="ftp://8.8.8.8/hooks"), "url", "Enter a valid URL."),
        (form(events=()), "event_types", "This field is required."),
        (form(events=("case.exploded",)), "event_types", "Select a valid choice."),
    ],
)
def test_it_refuses_an_endpoint_it_must_not_reach(
    alpha_admin_client, settings, data, field, error
):
    # given
    settings.WEBHOOK_ALLOW_PRIVATE = False

    # when
    response = alpha_admin_client.post(reverse("console:webhook_add"), data)

    # then
    assert response.status_code == 200
    assert error in str(response.context["form"].errors[field])
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_edits_an_endpoint(alpha_admin_client, merchant_a):
    # given
    endpoint = endpoint_for(merchant_a)
    secret = endpoint.secret

    # when
    response = alpha_admin_client.post(
        reverse("console:webhook_edit", args=[endpoint.pk]),
        form(url="https://8.8.4.4/new", events=["case.decided"], description="New"),
    )

    # then
    assert response.status_code == 302
    assert response.url == reverse("console:webhook", args=[endpoint.pk])
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "https://8.8.4.4/new",
        "New",
        ["case.decided"],
    )
    assert endpoint.secret == secret


def test_it_disables_and_enables_an_endpoint(alpha_admin_client, merchant_a, frozen):
    # given
    endpoint = endpoint_for(merchant_a)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=3)

    # when
    alpha_admin_client.post(reverse("console:webhook_disable", args=[endpoint.pk]))
    disabled = state(endpoint)
    page = alpha_admin_client.get(reverse("console:webhook", args=[endpoint.pk]))
    alpha_admin_client.post(reverse("console:webhook_enable", args=[endpoint.pk]))

    # then
    assert (disabled["enabled"], disabled["disabled_reason"]) == (False, "by_staff")
    assert disabled["disabled_at"] == NOW
    assert "Disabled by staff" in page.content.decode()
    assert 'id="enable-endpoint"' in page.content.decode()
    enabled = state(endpoint)
    assert (enabled["enabled"], enabled["disabled_at"]) == (True, None)
    assert enabled["consecutive_failures"] == 0
    actions_done = AuditEvent.objects.order_by("pk").values_list("action", flat=True)
    assert list(actions_done)[-2:] == [
        "webhook_endpoint.disabled",
        "webhook_endpoint.enabled",
    ]


def test_it_shows_the_delivery_log_with_the_answer_of_each_message(
    alpha_admin_client, merchant_a, settings
):
    # given: one message refused with a 500, one delivered
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as server:
        endpoint = endpoint_for(merchant_a, server.url())
        server.statuses = [500]
        refused, delivered = emit(merchant_a, "k:1")[0], emit(merchant_a, "k:2")[0]
        outbox.deliver_one(outbox.claim(1)[0])
        outbox.deliver_one(outbox.claim(1)[0])

    # when
    response = alpha_admin_client.get(reverse("console:webhook", args=[endpoint.pk]))

    # then
    rows = {row["message"].pk: row["message"] for row in response.context["rows"]}
    assert (rows[refused.pk].last_status, rows[refused.pk].status) == (500, "pending")
    assert (rows[delivered.pk].last_status, rows[delivered.pk].status) == (200, "sent")
    html = response.content.decode()
    assert webhooks.webhook_id(refused) in html
    assert "<code>500</code>" in html and "Refused: HTTP 500" in html


def test_it_pages_the_delivery_log(alpha_admin_client, merchant_a):
    # given
    from recours.console.webhook_views import DELIVERIES_PAGE_SIZE

    endpoint = endpoint_for(merchant_a)
    for number in range(DELIVERIES_PAGE_SIZE + 2):
        emit(merchant_a, f"case:RC-{number}:opened")
    url = reverse("console:webhook", args=[endpoint.pk])

    # when
    first, second = (
        alpha_admin_client.get(url),
        alpha_admin_client.get(url, {"page": 2}),
    )

    # then
    assert len(first.context["rows"]) == DELIVERIES_PAGE_SIZE
    assert len(second.context["rows"]) == 2
    assert 'rel="next"' in first.content.decode()


def test_it_redelivers_a_message(alpha_admin_client, merchant_a, frozen):
    # given: a message that failed for good
    endpoint = endpoint_for(merchant_a)
    [message] = emit(merchant_a, "case:RC-1:opened")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status="failed", attempts=14, next_attempt_at=NOW
    )

    # when
    response = alpha_admin_client.post(
        reverse("console:webhook_redeliver", args=[message.pk]), follow=True
    )

    # then
    assert response.redirect_chain[-1][0] == reverse(
        "console:webhook", args=[endpoint.pk]
    )
    assert "The message is queued" in response.content.decode()
    after = state(message)
    assert (after["status"], after["attempts"], after["next_attempt_at"]) == (
        "pending",
        14,
        NOW,
    )
    assert after["dedupe_key"] == message.dedupe_key


def test_it_refuses_to_redeliver_to_a_disabled_endpoint(alpha_admin_client, merchant_a):
    # given
    endpoint = endpoint_for(merchant_a)
    [message] = emit(merchant_a, "case:RC-1:opened")
    OutboxMessage.objects.filter(pk=message.pk).update(status="failed")
    actions.disable_endpoint(ACTOR, endpoint.pk, organization_id=None)
    before = state(message)

    # when
    response = alpha_admin_client.post(
        reverse("console:webhook_redeliver", args=[message.pk]), follow=True
    )

    # then
    assert "Enable the endpoint before delivering to it again" in (
        response.content.decode()
    )
    assert state(message) == before


def test_it_hides_another_organizations_endpoint_and_messages(
    beta_admin_client, merchant_a
):
    # given
    endpoint = endpoint_for(merchant_a)
    [message] = emit(merchant_a, "case:RC-1:opened")
    OutboxMessage.objects.filter(pk=message.pk).update(status="failed")
    endpoint_before, message_before = state(endpoint), state(message)
    audit_before = AuditEvent.objects.count()

    # when
    responses = [
        beta_admin_client.get(reverse("console:webhook", args=[endpoint.pk])),
        beta_admin_client.get(reverse("console:webhook_edit", args=[endpoint.pk])),
        beta_admin_client.post(
            reverse("console:webhook_edit", args=[endpoint.pk]), form()
        ),
        beta_admin_client.post(reverse("console:webhook_disable", args=[endpoint.pk])),
        beta_admin_client.post(reverse("console:webhook_redeliver", args=[message.pk])),
    ]
    listing = beta_admin_client.get(reverse("console:webhooks")).content.decode()

    # then
    assert [r.status_code for r in responses] == [404] * 5
    assert URL not in listing
    assert state(endpoint) == endpoint_before
    assert state(message) == message_before
    assert AuditEvent.objects.count() == audit_before


def test_it_hides_the_platforms_endpoint_messages_about_a_merchant(
    alpha_admin_client, merchant_a, platform
):
    # given: the platform's endpoint received merchant A's event
    platform_endpoint = endpoint_for(platform)
    [message] = emit(merchant_a, "case:RC-1:opened")
    assert message.endpoint == platform_endpoint

    # when
    page = alpha_admin_client.get(
        reverse("console:webhook", args=[platform_endpoint.pk])
    )
    redeliver = alpha_admin_client.post(
        reverse("console:webhook_redeliver", args=[message.pk])
    )

    # then
    assert (page.status_code, redeliver.status_code) == (404, 404)


def test_it_refuses_a_form_without_its_csrf_token(alpha_admin, merchant_a):
    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(alpha_admin)
    endpoint = endpoint_for(merchant_a)

    # when
    responses = [
        client.post(reverse("console:webhook_add"), form()),
        client.post(reverse("console:webhook_disable", args=[endpoint.pk])),
    ]

    # then
    assert [r.status_code for r in responses] == [403, 403]
    assert WebhookEndpoint.objects.count() == 1
    assert state(endpoint)["enabled"] is True


@pytest.mark.parametrize("name", ["webhook_disable", "webhook_enable"])
def test_it_changes_an_endpoint_only_on_post(alpha_admin_client, merchant_a, name):
    # given
    endpoint = endpoint_for(merchant_a)

    # when
    response = alpha_admin_client.get(reverse(f"console:{name}", args=[endpoint.pk]))

    # then
    assert response.status_code == 405
