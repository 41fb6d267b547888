"""Outbound webhooks, signed as the Standard Webhooks specification says.

`emit()` runs in the caller's transaction and writes one outbox row per
enabled endpoint that takes the event (invariant 9); the outbox worker
delivers them with `WebhookTransport`:

1. The message is POSTed to the endpoint's URL with the headers
   `webhook-id` (the same on every attempt of one message, so receivers drop
   a second copy), `webhook-timestamp` and `webhook-signature`, signed with
   the `standardwebhooks` library and the endpoint's secret.
2. Every attempt is written to the endpoint's delivery log (`WebhookAttempt`).
3. A 2xx answer delivers the message; anything else (a redirect included:
   they are never followed) is retried with exponential backoff until
   WEBHOOK_RETRY_HOURS after the event, then the message fails for good.
4. WEBHOOK_DISABLE_AFTER_FAILURES messages in a row that failed for good
   disable the endpoint, and its organization is told by e-mail.

Endpoints reach only public addresses unless WEBHOOK_ALLOW_PRIVATE is set:
the address is checked once connected, so a name that resolves elsewhere at
delivery time (DNS rebinding) is refused as well.
"""

import base64
import hashlib
import http.client
import ipaddress
import json
import logging
import math
import secrets
import socket
import ssl
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from standardwebhooks import Webhook

from recours.accounts.models import Organization, Role
from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.locks import lock_row
from recours.notifications import outbox
from recours.notifications.models import (
    Channel,
    OutboxMessage,
    WebhookAttempt,
    WebhookEndpoint,
)

log = logging.getLogger("recours.webhooks")

# The events an endpoint can choose (ARCHITECTURE.md 2, issue 13).
EVENT_TYPES = (
    "case.opened",
    "case.merchant_answered",
    "case.forwarded_to_review",
    "case.documents_requested",
    "case.decided",
    "case.resolved",
    "case.closed",
    "protection.ended",
)
EVENT_LABELS = {
    "case.opened": gettext_lazy("A case was opened"),
    "case.merchant_answered": gettext_lazy("The merchant answered a case"),
    "case.forwarded_to_review": gettext_lazy("A case went to platform review"),
    "case.documents_requested": gettext_lazy("A mediator asked for documents"),
    "case.decided": gettext_lazy("A mediator decided a case"),
    "case.resolved": gettext_lazy("An incident was resolved"),
    "case.closed": gettext_lazy("A case was closed"),
    "protection.ended": gettext_lazy("An order's buyer protection ended"),
}
# Who hears that an endpoint was disabled when the organization gave no address.
ENDPOINT_ADMIN_ROLES = (Role.MERCHANT_ADMIN, Role.ADMIN)
SECRET_BYTES = 32
BACKOFF_SECONDS_FIRST = 30
BACKOFF_SECONDS_MAX = 6 * 3600
# An endpoint's answer is read up to this many bytes, for the log only.
RESPONSE_BYTES_MAX = 1024
USER_AGENT = "Recours-Webhooks/1"


class EndpointDisabled(Exception):
    """The endpoint was disabled after the message was queued: not sent."""


class Refused(Exception):
    """The endpoint answered, but not with a 2xx."""


class AddressNotAllowed(Exception):
    """The URL leads to a private or loopback address (WEBHOOK_ALLOW_PRIVATE)."""


def new_secret() -> str:
    """A secret in the Standard Webhooks form: "whsec_" and base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# Emitting


def emit(
    organization_id: int, event_type: str, data: dict[str, Any], dedupe_key: str,
    *, about: str = "", about_reference: str = "",
) -> list[OutboxMessage]:  # fmt: skip
    """Queue `event_type` for every enabled endpoint of the organization (and
    of the platform) that takes it, in the caller's transaction.

    `dedupe_key` names the event ("case:RC-…:opened"): emitted twice, it is
    queued once per endpoint, and it gives the message its webhook-id.
    """
    assert transaction.get_connection().in_atomic_block, "emit outside a transaction"
    assert event_type in EVENT_TYPES, event_type
    endpoints = subscribed(organization_id, event_type)
    body = payload(event_type, data)
    return [
        queue(endpoint, event_type, body, dedupe_key, about, about_reference)
        for endpoint in endpoints
    ]


def subscribed(organization_id: int, event_type: str) -> list[WebhookEndpoint]:
    mine_or_platform = Q(organization_id=organization_id) | Q(
        organization__kind=Organization.Kind.PLATFORM
    )
    endpoints = WebhookEndpoint.objects.filter(mine_or_platform, enabled=True)
    # A handful of endpoints per organization: filtered here, since SQLite
    # cannot look inside a JSON list.
    return [e for e in endpoints.order_by("pk") if event_type in e.event_types]


def payload(event_type: str, data: dict[str, Any]) -> str:
    """The body every endpoint receives: {"type", "timestamp", "data"}."""
    timestamp = clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {"type": event_type, "timestamp": timestamp, "data": data}
    return json.dumps(event, cls=DjangoJSONEncoder, ensure_ascii=False)


def queue(
    endpoint: WebhookEndpoint, event_type: str, body: str, dedupe_key: str,
    about: str, about_reference: str,
) -> OutboxMessage:  # fmt: skip
    key = f"webhook:{endpoint.pk}:{dedupe_key}"
    assert len(key) <= 200, key
    now = clock.now()
    message = OutboxMessage(
        dedupe_key=key,
        channel=Channel.WEBHOOK,
        recipient=endpoint.url[:254],
        subject=event_type,
        body=body,
        language="",
        organization_id=endpoint.organization_id,
        about=about,
        about_reference=about_reference,
        endpoint=endpoint,
        created_at=now,
        next_attempt_at=now,
    )
    if outbox.insert_new(message):
        return message
    return OutboxMessage.objects.get(dedupe_key=key)


def webhook_id(message: OutboxMessage) -> str:
    """The message's `webhook-id`: from the event's key, so the same on every
    attempt and on every endpoint that receives the event."""
    event_key = message.dedupe_key.split(":", 2)[2]
    return "msg_" + hashlib.sha256(event_key.encode()).hexdigest()[:32]


# Addresses


def address_allowed(address: str) -> bool:
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return True
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_problem(url: str) -> str:
    """Why an endpoint may not have this URL, or "" when it may.

    A name that does not resolve now is accepted: the address is checked again
    at each delivery, once connected.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Enter an http:// or https:// address.")
    if parts.username or parts.password:
        return _("Leave the user name and password out of the address.")
    try:
        infos = socket.getaddrinfo(parts.hostname, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ""
    if not all(address_allowed(str(info[4][0])) for info in infos):
        return _("This address leads to a private or local network.")
    return ""


def guarded_connection(
    address: tuple[str, int], timeout: float | None = None, *args: Any
) -> socket.socket:
    """socket.create_connection, refusing a peer outside the allowed networks."""
    sock = socket.create_connection(address, timeout, *args)
    peer = str(sock.getpeername()[0])
    if not address_allowed(peer):
        sock.close()
        raise AddressNotAllowed(f"{address[0]} is {peer}, a private address")
    return sock


class GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # http.client sets this per instance; HTTPS connects through it too.
        self._create_connection = guarded_connection


class GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_connection


# Delivering


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    sent_at = clock.now()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    """POST once, never following a redirect; (status, start of the answer)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = GuardedHTTPSConnection(
            parts.hostname, parts.port, timeout=timeout,
            context=ssl.create_default_context(),
        )  # fmt: skip
    else:
        connection = GuardedHTTPConnection(parts.hostname, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body.encode(), headers=headers)
        response = connection.getresponse()
        answer = response.read(RESPONSE_BYTES_MAX).decode(errors="replace")
        if 300 <= response.status < 400:
            answer = f"redirect to {response.getheader('Location', '?')} not followed"
        return response.status, answer
    finally:
        connection.close()


def log_attempt(
    message: OutboxMessage, endpoint: WebhookEndpoint, status: int | None,
    error: str, started: float,
) -> None:  # fmt: skip
    """The delivery log; written whatever becomes of our lease: it happened."""
    WebhookAttempt.objects.create(
        message=message,
        endpoint=endpoint,
        attempted_at=clock.now(),
        response_status=status,
        error=error[:500],
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def deliver(message: OutboxMessage) -> None:
    """One attempt; raises unless the endpoint answered 2xx."""
    assert message.endpoint_id is not None
    endpoint = WebhookEndpoint.objects.get(pk=message.endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled(f"endpoint {endpoint.pk} is disabled")
    headers = signed_headers(endpoint.secret, webhook_id(message), message.body)
    started = time.monotonic()
    try:
        status, answer = post(endpoint.url, message.body, headers)
    except Exception as error:
        log_attempt(message, endpoint, None, outbox.describe(error), started)
        raise
    if not 200 <= status < 300:
        log_attempt(message, endpoint, status, answer, started)
        raise Refused(f"HTTP {status}: {answer[:200]}")
    log_attempt(message, endpoint, status, "", started)


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_SECONDS_MAX, BACKOFF_SECONDS_FIRST * 2 ** (attempts - 1))


def give_up_at(message: OutboxMessage) -> datetime:
    return message.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)


class WebhookTransport(outbox.Transport):
    def send(self, message: OutboxMessage) -> None:
        deliver(message)

    def retry_at(
        self, message: OutboxMessage, attempts: int, error: Exception
    ) -> datetime | None:
        """Exponential backoff, the last attempt exactly WEBHOOK_RETRY_HOURS
        after the event; a disabled endpoint's message is not retried."""
        now = clock.now()
        if isinstance(error, EndpointDisabled) or now >= give_up_at(message):
            return None
        return min(
            now + timedelta(seconds=backoff_seconds(attempts)), give_up_at(message)
        )

    def settled(
        self, message: OutboxMessage, error: Exception | None, final: bool
    ) -> None:
        assert message.endpoint_id is not None
        if error is None:
            WebhookEndpoint.objects.filter(pk=message.endpoint_id).exclude(
                consecutive_failures=0
            ).update(consecutive_failures=0)
        elif final and not isinstance(error, EndpointDisabled):
            count_failure(message)


# Failing endpoints


def count_failure(message: OutboxMessage) -> None:
    """One more message failed for good; disable the endpoint at the limit."""
    assert message.endpoint_id is not None
    endpoint = lock_row(WebhookEndpoint, message.endpoint_id)
    endpoint.consecutive_failures += 1
    endpoint.save(update_fields=["consecutive_failures"])
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if endpoint.enabled and endpoint.consecutive_failures >= limit:
        disable(
            Actor.system("worker"), endpoint, WebhookEndpoint.DisabledReason.FAILING
        )
        tell_disabled(endpoint)


def disable(actor: Actor, endpoint: WebhookEndpoint, reason: str) -> None:
    """Disable a locked endpoint; its queued messages fail without being sent."""
    endpoint.enabled = False
    endpoint.disabled_at = clock.now()
    endpoint.disabled_reason = reason
    endpoint.updated_at = endpoint.disabled_at
    endpoint.save(
        update_fields=["enabled", "disabled_at", "disabled_reason", "updated_at"]
    )
    audit.record(
        actor, "webhook_endpoint.disabled", endpoint,
        organization_id=endpoint.organization_id,
        data={"reason": reason, "consecutive_failures": endpoint.consecutive_failures},
    )  # fmt: skip
    log.warning(
        "webhook endpoint %s of organization %s disabled (%s) after %s failures",
        endpoint.pk, endpoint.organization_id, reason, endpoint.consecutive_failures,
        extra={"endpoint": endpoint.pk, "organization": endpoint.organization_id},
    )  # fmt: skip


def addresses_of(organization: Organization) -> list[str]:
    """The organization's notification addresses, else its administrators'."""
    if organization.notification_addresses:
        return organization.notification_addresses
    admins = get_user_model().objects.filter(
        membership__organization=organization,
        membership__role__in=ENDPOINT_ADMIN_ROLES,
        is_active=True,
    )
    return sorted({user.email for user in admins if user.email})


def tell_disabled(endpoint: WebhookEndpoint) -> None:
    """E-mail the organization that its endpoint was disabled (the outbox)."""
    assert endpoint.disabled_at is not None
    stamp = math.floor(endpoint.disabled_at.timestamp())
    for address in addresses_of(endpoint.organization):
        digest = hashlib.sha256(address.encode()).hexdigest()[:16]
        outbox.enqueue(
            dedupe_key=f"webhook-endpoint:{endpoint.pk}:disabled:{stamp}:{digest}",
            channel=Channel.EMAIL,
            recipient=address,
            template="webhook_endpoint_disabled.email",
            context={
                "endpoint": endpoint,
                "failures": endpoint.consecutive_failures,
                "retry_hours": settings.WEBHOOK_RETRY_HOURS,
                "endpoint_url": f"{settings.SITE_URL}/console/webhooks/{endpoint.pk}/",
            },
            language=settings.LANGUAGE_CODE,
            organization_id=endpoint.organization_id,
            about=f"notifications.webhookendpoint:{endpoint.pk}",
        )
