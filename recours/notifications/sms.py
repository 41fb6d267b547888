"""Pluggable SMS senders, chosen by the SMS_BACKEND setting."""

import json
import urllib.request
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction

from recours.core import clock
from recours.notifications.models import SmsMessage


class SmsSender(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> None: ...


class RecordingSender:
    """Keeps messages in the database so the console can show them (demo, tests)."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        try:
            with transaction.atomic():
                SmsMessage.objects.create(
                    to=to,
                    sender=settings.SMS_SENDER,
                    body=body,
                    idempotency_key=idempotency_key,
                    created_at=clock.now(),
                )
        except IntegrityError:
            pass  # Already sent by an earlier attempt: deliver once.


class HttpSender:
    """POSTs {"to", "from", "body"} as JSON to SMS_HTTP_URL (a gateway or relay)."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> None:
        payload = json.dumps({"to": to, "from": settings.SMS_SENDER, "body": body})
        request = urllib.request.Request(  # noqa: S310 (URL checked in settings)
            settings.SMS_HTTP_URL,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
                "Idempotency-Key": idempotency_key,
            },
        )
        timeout = settings.SMS_HTTP_TIMEOUT_SECONDS
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            if response.status >= 300:
                raise RuntimeError(f"SMS gateway answered {response.status}")


def sender() -> SmsSender:
    if settings.SMS_BACKEND == "http":
        return HttpSender()
    return RecordingSender()
