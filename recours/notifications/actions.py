"""State changes of the outbox: sending again the messages that ran out of
attempts; webhook endpoints and redelivering their messages.

Consoles and commands call these; each is one transaction with its audit events.
`organization_id` scopes an action to one organization's messages (merchant
staff); None means every organization's (platform staff, the command line).
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, InvalidInput, NotFound
from recours.notifications import webhooks
from recours.notifications.models import Channel, OutboxMessage, WebhookEndpoint

log = logging.getLogger("recours.outbox")
# "Re-send all" takes at most this many at once; the rest wait for the next call.
RESEND_BATCH_MAX = 500


def in_scope(organization_id: int | None) -> QuerySet[OutboxMessage]:
    messages = OutboxMessage.objects.all()
    if organization_id is None:
        return messages
    return messages.filter(organization_id=organization_id)


def failed_messages(organization_id: int | None = None) -> QuerySet[OutboxMessage]:
    """Messages that ran out of attempts, newest first."""
    return (
        in_scope(organization_id)
        .filter(status=OutboxMessage.Status.FAILED)
        .order_by("-created_at", "-pk")
    )


def resend(
    actor: Actor, message_id: int, *, organization_id: int | None = None
) -> OutboxMessage:
    """Queue one failed message again; refuse any other (it is on its way or sent)."""
    with transaction.atomic():
        message = (
            in_scope(organization_id).select_for_update().filter(pk=message_id).first()
        )
        if message is None:
            raise NotFound(_("There is no such message."))
        if message.status != OutboxMessage.Status.FAILED:
            raise Conflict(
                _(
                    "Only an undelivered message can be sent again; this one is %(status)s."
                )
                % {"status": message.get_status_display()}
            )
        requeue(actor, message)
    return message


def resend_all(
    actor: Actor, *, organization_id: int | None = None
) -> list[OutboxMessage]:
    """Queue again every failed message in scope (RESEND_BATCH_MAX at most)."""
    with transaction.atomic():
        failed = list(
            in_scope(organization_id)
            .select_for_update()
            .filter(status=OutboxMessage.Status.FAILED)
            .order_by("pk")[:RESEND_BATCH_MAX]
        )
        for message in failed:
            requeue(actor, message)
    return failed


def requeue(actor: Actor, message: OutboxMessage) -> None:
    """Back to pending with a fresh set of attempts, due now; caller holds the lock.

    last_error stays, so staff still see why it failed until it is delivered.
    """
    failed_attempts = message.attempts
    message.status = OutboxMessage.Status.PENDING
    message.attempts = 0
    message.next_attempt_at = clock.now()
    message.lease_token = ""
    message.lease_until = None
    message.save(
        update_fields=[
            "status",
            "attempts",
            "next_attempt_at",
            "lease_token",
            "lease_until",
        ]
    )
    audit.record(
        actor, "outbox.resent", message, organization_id=message.organization_id,
        data={"about": message.about_reference, "failed_attempts": failed_attempts},
    )  # fmt: skip
    log.info(
        "outbox %s for %s queued again by %s",
        message.pk, message.about_reference or "-", actor.label,
        extra={"case": message.about_reference, "channel": message.channel,
               "message_id": message.pk},
    )  # fmt: skip


# Webhook endpoints and their delivery log


def endpoints_in_scope(organization_id: int | None) -> QuerySet[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.select_related("organization")
    if organization_id is None:
        return endpoints
    return endpoints.filter(organization_id=organization_id)


def check_endpoint(url: str, description: str, event_types: list[str]) -> None:
    """Refuse an endpoint Recours could not or should not deliver to."""
    errors: dict[str, list[str]] = {}
    try:
        WebhookEndpoint._meta.get_field("url").clean(url, None)
    except ValidationError as error:
        errors["url"] = list(error.messages)
    else:
        if problem := webhooks.url_problem(url):
            errors["url"] = [problem]
    if len(description) > 200:
        errors["description"] = [_("Keep the description to 200 characters.")]
    if not event_types or not set(event_types) <= set(webhooks.EVENT_TYPES):
        errors["event_types"] = [_("Choose at least one event.")]
    if errors:
        raise InvalidInput(_("Please correct the fields shown."), fields=errors)


def create_endpoint(
    actor: Actor, organization_id: int, *, url: str, description: str,
    event_types: list[str],
) -> WebhookEndpoint:  # fmt: skip
    """A new, enabled endpoint with a fresh secret (the caller shows it once)."""
    check_endpoint(url, description, event_types)
    now = clock.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization_id=organization_id,
            url=url,
            description=description,
            event_types=ordered(event_types),
            secret=webhooks.new_secret(),
            created_at=now,
            updated_at=now,
        )
        audit.record(actor, "webhook_endpoint.created", endpoint,
                     organization_id=organization_id,
                     data={"url": url, "event_types": endpoint.event_types})  # fmt: skip
    return endpoint


def ordered(event_types: list[str]) -> list[str]:
    return [name for name in webhooks.EVENT_TYPES if name in event_types]


def locked_endpoint(organization_id: int | None, endpoint_id: int) -> WebhookEndpoint:
    """Lock an endpoint in scope; another organization's does not exist."""
    endpoint = (
        endpoints_in_scope(organization_id)
        .select_for_update(of=("self",))
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        raise NotFound(_("There is no such endpoint."))
    return endpoint


def update_endpoint(
    actor: Actor, endpoint_id: int, *, organization_id: int | None, url: str,
    description: str, event_types: list[str],
) -> WebhookEndpoint:  # fmt: skip
    """Change where and what an endpoint receives; queued messages follow the URL."""
    check_endpoint(url, description, event_types)
    with transaction.atomic():
        endpoint = locked_endpoint(organization_id, endpoint_id)
        endpoint.url = url
        endpoint.description = description
        endpoint.event_types = ordered(event_types)
        endpoint.updated_at = clock.now()
        endpoint.save(update_fields=["url", "description", "event_types", "updated_at"])
        audit.record(actor, "webhook_endpoint.updated", endpoint,
                     organization_id=endpoint.organization_id,
                     data={"url": url, "event_types": endpoint.event_types})  # fmt: skip
    return endpoint


def disable_endpoint(
    actor: Actor, endpoint_id: int, *, organization_id: int | None
) -> WebhookEndpoint:
    with transaction.atomic():
        endpoint = locked_endpoint(organization_id, endpoint_id)
        if not endpoint.enabled:
            raise Conflict(_("This endpoint is already disabled."))
        webhooks.disable(actor, endpoint, WebhookEndpoint.DisabledReason.BY_STAFF)
    return endpoint


def enable_endpoint(
    actor: Actor, endpoint_id: int, *, organization_id: int | None
) -> WebhookEndpoint:
    """Enable again, with a clean slate of failures; messages that failed while
    it was disabled stay in its log, to redeliver one by one."""
    with transaction.atomic():
        endpoint = locked_endpoint(organization_id, endpoint_id)
        if endpoint.enabled:
            raise Conflict(_("This endpoint is already enabled."))
        endpoint.enabled = True
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.consecutive_failures = 0
        endpoint.updated_at = clock.now()
        endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason",
                                     "consecutive_failures", "updated_at"])  # fmt: skip
        audit.record(actor, "webhook_endpoint.enabled", endpoint,
                     organization_id=endpoint.organization_id)  # fmt: skip
    return endpoint


def endpoint_messages(endpoint: WebhookEndpoint) -> QuerySet[OutboxMessage]:
    """An endpoint's messages, newest first: its delivery log."""
    return OutboxMessage.objects.filter(endpoint=endpoint).order_by(
        "-created_at", "-pk"
    )


def redeliver(
    actor: Actor, message_id: int, *, organization_id: int | None
) -> OutboxMessage:
    """A new attempt of a webhook message now, with the same webhook-id.

    Retries go on as for the first delivery, until WEBHOOK_RETRY_HOURS after
    the event: a message older than that is tried once.
    """
    with transaction.atomic():
        message = (
            in_scope(organization_id)
            .select_for_update()
            .filter(pk=message_id, channel=Channel.WEBHOOK)
            .first()
        )
        if message is None or message.endpoint_id is None:
            raise NotFound(_("There is no such message."))
        check_redeliverable(message)
        message.status = OutboxMessage.Status.PENDING
        message.next_attempt_at = clock.now()
        message.lease_token = ""
        message.lease_until = None
        message.save(update_fields=["status", "next_attempt_at", "lease_token",
                                    "lease_until"])  # fmt: skip
        audit.record(actor, "webhook.redelivered", message,
                     organization_id=message.organization_id,
                     data={"endpoint": message.endpoint_id,
                           "event_type": message.subject})  # fmt: skip
    return message


def check_redeliverable(message: OutboxMessage) -> None:
    endpoint = WebhookEndpoint.objects.get(messages=message)
    if not endpoint.enabled:
        raise Conflict(_("Enable the endpoint before delivering to it again."))
    in_flight = message.lease_until is not None and message.lease_until > clock.now()
    if message.status == OutboxMessage.Status.PENDING and in_flight:
        raise Conflict(_("This message is being delivered right now."))
