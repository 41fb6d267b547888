import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from recours.core import clock
from recours.core.errors import Conflict
from recours.core.models import IdempotencyRecord

Result = tuple[int, Any]


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    scope: str, key: str, payload: Any, action: Callable[[], Result]
) -> Result:
    """Run `action` once per (scope, key); repeat calls get the first result.

    1. Look for a stored answer; same payload returns it, another payload is a conflict.
    2. Otherwise run the action and store its answer in the same transaction.
    3. If a concurrent request stored first, our transaction (with the action's
       writes) rolls back on the unique key and we return the stored answer.
    """
    digest = fingerprint(payload)
    try:
        with transaction.atomic():
            stored = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
            if stored is None:
                status_code, body = action()
                IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    fingerprint=digest,
                    status_code=status_code,
                    body=body,
                    created_at=clock.now(),
                )
                return status_code, body
    except IntegrityError:
        stored = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if stored is None:
            raise
    if stored.fingerprint != digest:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_key_reused",
        )
    return stored.status_code, stored.body
