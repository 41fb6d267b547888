import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from recours.core.worker import skip_locked
from recours.notifications import sms
from recours.notifications.models import Channel, OutboxMessage

log = logging.getLogger("recours.outbox")
CLAIM_BATCH_SIZE = 10
BACKOFF_SECONDS_MAX = 3600


def enqueue(
    *, dedupe_key: str, channel: str, recipient: str, template: str,
    context: dict, language: str, organization_id: int | None = None, about: str = "",
) -> OutboxMessage:  # fmt: skip
    """Render a message and queue it in the caller's transaction.

    `template` names a pair `notifications/<template>.subject.txt` and
    `.body.txt`; SMS uses the body only. A second call with the same key
    returns the first row, so retried actions do not queue twice.
    """
    assert transaction.get_connection().in_atomic_block, "enqueue outside a transaction"
    assert channel in Channel.values
    with translation.override(language):
        subject = render_to_string(f"notifications/{template}.subject.txt", context)
        body = render_to_string(f"notifications/{template}.body.txt", context)
    now = timezone.now()
    message, _created = OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "channel": channel,
            "recipient": recipient,
            "subject": " ".join(subject.split())[:200],
            "body": body.strip(),
            "language": language,
            "organization_id": organization_id,
            "about": about,
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    return message


def claim(batch_size: int = CLAIM_BATCH_SIZE) -> list[OutboxMessage]:
    """Lease a few due messages; rows leased by a live worker are skipped."""
    now = timezone.now()
    token = secrets.token_hex(8)
    with transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=skip_locked())
            .filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:batch_size]
        )
        ids = [message.pk for message in due]
        # The lease also pushes next_attempt_at forward, so a killed worker's
        # rows come due again exactly when its lease expires.
        lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        OutboxMessage.objects.filter(pk__in=ids).update(
            lease_token=token, lease_until=lease_until, next_attempt_at=lease_until
        )
    for message in due:
        message.lease_token = token
    return due


def message_id(dedupe_key: str) -> str:
    """The e-mail Message-ID for a dedupe key, the same on every attempt.

    Keys contain colons, which a Message-ID may not: the mail library cut the
    header at the first one, so every message went out as "<case". A digest
    keeps the ID valid and one-to-one with the key.
    """
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]
    return f"<{digest}@recours>"


def send_now(message: OutboxMessage) -> None:
    if message.channel == Channel.EMAIL:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            to=[message.recipient],
            headers={"Message-ID": message_id(message.dedupe_key)},
        )
        email.send()
    else:
        sms.sender().send(
            to=message.recipient, body=message.body, idempotency_key=message.dedupe_key
        )


def renew_lease(message: OutboxMessage) -> bool:
    """Extend our lease just before sending; False if another worker took the row.

    A batch can outlast the lease it was claimed with (a slow mail server), and
    then a second worker may claim its last rows. Renewing row by row means
    only the holder of the current token sends.
    """
    lease_until = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    renewed = OutboxMessage.objects.filter(
        pk=message.pk,
        lease_token=message.lease_token,
        status=OutboxMessage.Status.PENDING,
    ).update(lease_until=lease_until, next_attempt_at=lease_until)
    return renewed == 1


def deliver_one(message: OutboxMessage) -> None:
    """Send, then record the outcome only if our lease still holds the row."""
    mine = OutboxMessage.objects.filter(pk=message.pk, lease_token=message.lease_token)
    attempts = message.attempts + 1
    if not renew_lease(message):
        log.info("outbox %s was claimed by another worker; skipped", message.pk)
        return
    try:
        send_now(message)
    except Exception as error:
        final = attempts >= settings.OUTBOX_MAX_ATTEMPTS
        backoff = min(BACKOFF_SECONDS_MAX, 2**attempts * 5)
        mine.update(
            attempts=attempts,
            status=OutboxMessage.Status.FAILED
            if final
            else OutboxMessage.Status.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=backoff),
            lease_token="",
            last_error=f"{type(error).__name__}: {error}"[:2000],
        )
        log.warning("outbox %s attempt %s failed: %s", message.pk, attempts, error)
        return
    mine.update(
        attempts=attempts,
        status=OutboxMessage.Status.SENT,
        sent_at=timezone.now(),
        lease_token="",
        last_error="",
    )


def deliver_due() -> int:
    """Worker job: deliver a batch of due messages; return how many."""
    batch = claim()
    for message in batch:
        deliver_one(message)
    return len(batch)
