import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models.constants import OnConflict
from django.template.loader import render_to_string
from django.utils import translation

from recours.core import clock, worker
from recours.core.worker import skip_locked
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
    `.body.txt`; SMS uses the body only. A second call with the same key
    returns the first row, so retried actions do not queue twice.
    `about_reference` is what logs and the console call `about` ("RC-…").
    """
    assert transaction.get_connection().in_atomic_block, "enqueue outside a transaction"
    assert channel in Channel.values
    with translation.override(language):
        subject = render_to_string(f"notifications/{template}.subject.txt", context)
        body = render_to_string(f"notifications/{template}.body.txt", context)
    now = clock.now()
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        channel=channel,
        recipient=recipient,
        subject=" ".join(subject.split())[:200],
        body=body.strip(),
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


def claim(batch_size: int = CLAIM_BATCH_SIZE) -> list[OutboxMessage]:
    """Lease a few due messages; rows leased by a live worker are skipped."""
    now = clock.now()
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
    lease_until = clock.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    renewed = OutboxMessage.objects.filter(
        pk=message.pk,
        lease_token=message.lease_token,
        status=OutboxMessage.Status.PENDING,
    ).update(lease_until=lease_until, next_attempt_at=lease_until)
    return renewed == 1


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
    mine = OutboxMessage.objects.filter(pk=message.pk, lease_token=message.lease_token)
    mine.update(
        attempts=attempts,
        status=OutboxMessage.Status.SENT,
        sent_at=clock.now(),
        lease_token="",
        last_error="",
    )
    log.info(
        "outbox %s sent by %s for %s, attempt %s",
        message.pk, message.channel, message.about_reference or "-", attempts,
        extra=log_fields(message, attempts),
    )  # fmt: skip


def record_failure(message: OutboxMessage, attempts: int, error: Exception) -> None:
    """Back off, or give up for good after OUTBOX_MAX_ATTEMPTS (an ERROR line:
    nobody else will notice a message that silently stopped trying)."""
    final = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    backoff = min(BACKOFF_SECONDS_MAX, 2**attempts * 5)
    OutboxMessage.objects.filter(pk=message.pk, lease_token=message.lease_token).update(
        attempts=attempts,
        status=OutboxMessage.Status.FAILED if final else OutboxMessage.Status.PENDING,
        next_attempt_at=clock.now() + timedelta(seconds=backoff),
        lease_token="",
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
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
