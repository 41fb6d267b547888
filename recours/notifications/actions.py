"""State changes of the outbox: sending again the messages that ran out of attempts.

Consoles and commands call these; each is one transaction with its audit events.
`organization_id` scopes an action to one organization's messages (merchant
staff); None means every organization's (platform staff, the command line).
"""

import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from recours.core import audit, clock
from recours.core.audit import Actor
from recours.core.errors import Conflict, NotFound
from recours.notifications.models import OutboxMessage

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
