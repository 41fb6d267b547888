import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.db.models.constants import OnConflict
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import translation

from recours.core import clock, worker
from recours.core.leases import Leasing
from recours.notifications import sms
from recours.notifications.models import Channel, OutboxMessage

log = logging.getLogger("recours.outbox")
CLAIM_BATCH_SIZE = 10
BACKOFF_SECONDS_MAX = 3600


def enqueue(
    *, dedupe_key: str, channel: str, recipient: str, template: str,
    context: dict, language: str, organization_id: int | None = None, about: str = "",
    about_reference: str = "",
) -> OutboxMessage:  # fmt: skip
    """Render a message and queue it in the caller's transaction.

    `template` names a pair `notifications/<template>.subject.txt` and
    `.body.txt`; SMS uses the body only. An e-mail also gets an HTML part when
    `notifications/<template>.body.html` exists. A second call with the same key
    returns the first row, so retried actions do not queue twice.
    `about_reference` is what logs and the console call `about` ("RC-…").
    """
    assert transaction.get_connection().in_atomic_block, "enqueue outside a transaction"
    assert channel in Channel.values
    with translation.override(language):
        subject_text = render_to_string(
            f"notifications/{template}.subject.txt", context
        )
        body = render_to_string(f"notifications/{template}.body.txt", context)
        subject = " ".join(subject_text.split())[:200]
        html_body = ""
        if channel == Channel.EMAIL:
            html_body = render_html(template, {**context, "subject": subject})
    now = clock.now()
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body.strip(),
        html_body=html_body,
        language=language,
        organization_id=organization_id,
        about=about,
        about_reference=about_reference,
        created_at=now,
        next_attempt_at=now,
    )
    if insert_new(message):
        return message
    return OutboxMessage.objects.get(dedupe_key=dedupe_key)


def render_html(template: str, context: dict) -> str:
    """The HTML alternative of an e-mail, or "" when its template has none.

    Templates extend notifications/email_base.html, whose title is `subject`.
    """
    try:
        html = get_template(f"notifications/{template}.body.html")
    except TemplateDoesNotExist:
        return ""
    return html.render(context).strip()


def insert_new(message: OutboxMessage) -> bool:
    """INSERT the message unless its key is queued already; True if it was new.

    One statement for a new key: `INSERT … ON CONFLICT DO NOTHING RETURNING id`
    (`INSERT OR IGNORE … RETURNING` on SQLite) returns the new id, or no row
    when the key exists; only then does the caller read the first row. Every
    report used to pay a SELECT after the INSERT, and get_or_create four round
    trips (SELECT, SAVEPOINT, INSERT, RELEASE). A concurrent insert of the key
    is waited for, as before. `bulk_create(ignore_conflicts=True)` cannot
    return the id, so this is the manager's `_insert`, which `save()` uses.
    """
    fields = [field for field in OutboxMessage._meta.concrete_fields
              if field is not OutboxMessage._meta.pk]  # fmt: skip
    # Not in django-stubs: a private method, stable since Django 4.1 (on_conflict).
    rows = OutboxMessage.objects._insert(  # type: ignore[attr-defined]
        [message],
        fields=fields,
        returning_fields=[OutboxMessage._meta.pk],
        on_conflict=OnConflict.IGNORE,
    )
    if not rows:
        return False
    message.pk = rows[0][0]
    message._state.adding = False
    message._state.db = OutboxMessage.objects.db
    return True


# The outbox's rows are leased as every durable job's (recours.core.leases).
LEASING = Leasing(
    OutboxMessage,
    seconds_setting="OUTBOX_LEASE_SECONDS",
    live=Q(status=OutboxMessage.Status.PENDING),
)


def claim(batch_size: int = CLAIM_BATCH_SIZE) -> list[OutboxMessage]:
    """Lease a few due messages; rows leased by a live worker are skipped."""
    return LEASING.claim(batch_size)


def message_id(dedupe_key: str) -> str:
    """The e-mail Message-ID for a dedupe key, the same on every attempt.

    Keys contain colons, which a Message-ID may not: the mail library cut the
    header at the first one, so every message went out as "<case". A digest
    keeps the ID valid and one-to-one with the key.
    """
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]
    return f"<{digest}@recours>"


class Transport:
    """How one channel sends a message, and when a failed one is tried again.

    E-mail and SMS are here; another channel (webhooks) registers its own
    with `register_transport`, from its app's `ready()`.
    """

    def send(self, message: OutboxMessage) -> None:
        raise NotImplementedError

    def retry_at(
        self, message: OutboxMessage, attempts: int, error: Exception
    ) -> datetime | None:
        """When to try again after a failed attempt; None gives up for good."""
        if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            return None
        backoff_seconds = min(BACKOFF_SECONDS_MAX, 2**attempts * 5)
        return clock.now() + timedelta(seconds=backoff_seconds)

    def settled(
        self, message: OutboxMessage, error: Exception | None, final: bool
    ) -> None:
        """Called in the transaction that records an attempt's outcome, only
        while our lease held the row (so once per outcome)."""


class EmailTransport(Transport):
    def send(self, message: OutboxMessage) -> None:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            to=[message.recipient],
            headers={"Message-ID": message_id(message.dedupe_key)},
        )
        if message.html_body:
            email.attach_alternative(message.html_body, "text/html")
        email.send()


class SmsTransport(Transport):
    def send(self, message: OutboxMessage) -> None:
        sms.sender().send(
            to=message.recipient, body=message.body, idempotency_key=message.dedupe_key
        )


TRANSPORTS: dict[str, Transport] = {
    Channel.EMAIL: EmailTransport(),
    Channel.SMS: SmsTransport(),
}


def register_transport(channel: str, transport: Transport) -> None:
    assert channel in Channel.values
    TRANSPORTS[channel] = transport


def send_now(message: OutboxMessage) -> None:
    TRANSPORTS[message.channel].send(message)


def renew_lease(message: OutboxMessage) -> bool:
    """Extend our lease just before sending; False if another worker took the row."""
    return LEASING.renew(message)


def log_fields(message: OutboxMessage, attempt: int) -> dict[str, object]:
    """The structured fields of a delivery's log lines (JSON logs show them)."""
    return {
        "case": message.about_reference,
        "channel": message.channel,
        "message_id": message.pk,
        "attempt": attempt,
    }


def deliver_one(message: OutboxMessage) -> None:
    """Send, then record the outcome only if our lease still holds the row."""
    attempts = message.attempts + 1
    if not renew_lease(message):
        log.info("outbox %s was claimed by another worker; skipped", message.pk)
        return
    try:
        send_now(message)
    except Exception as error:
        record_failure(message, attempts, error)
        return
    record_sent(message, attempts)


def record_sent(message: OutboxMessage, attempts: int) -> None:
    with transaction.atomic():
        held = LEASING.settle(
            message,
            attempts=attempts,
            status=OutboxMessage.Status.SENT,
            sent_at=clock.now(),
            last_error="",
        )
        message.attempts = attempts
        if held:
            TRANSPORTS[message.channel].settled(message, None, final=True)
    log.info(
        "outbox %s sent by %s for %s, attempt %s",
        message.pk, message.channel, message.about_reference or "-", attempts,
        extra=log_fields(message, attempts),
    )  # fmt: skip


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def record_failure(message: OutboxMessage, attempts: int, error: Exception) -> None:
    """Back off, or give up for good when the channel says so (an ERROR line:
    nobody else will notice a message that silently stopped trying)."""
    transport = TRANSPORTS[message.channel]
    retry_at = transport.retry_at(message, attempts, error)
    final = retry_at is None
    status = OutboxMessage.Status.FAILED if final else OutboxMessage.Status.PENDING
    with transaction.atomic():
        held = LEASING.settle(
            message,
            attempts=attempts,
            status=status,
            next_attempt_at=retry_at or clock.now(),
            last_error=describe(error),
        )
        message.attempts = attempts
        if held:
            transport.settled(message, error, final)
    fields = log_fields(message, attempts)
    if final:
        log.error(
            "outbox %s by %s for %s undelivered after %s attempts, given up: %s",
            message.pk, message.channel, message.about_reference or "-", attempts,
            error, extra=fields,
        )  # fmt: skip
        return
    log.warning(
        "outbox %s by %s for %s attempt %s failed: %s",
        message.pk, message.channel, message.about_reference or "-", attempts, error,
        extra=fields,
    )  # fmt: skip


def deliver_due() -> int:
    """Worker job: deliver a batch of due messages; return how many."""
    batch = claim()
    for message in batch:
        # On SIGTERM, stop after the current message, not after the batch (a
        # hung gateway times out on each); the rest come due when leases expire.
        if worker.stop_requested():
            break
        deliver_one(message)
    return len(batch)
