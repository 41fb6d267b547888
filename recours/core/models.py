from django.conf import settings
from django.db import models

from recours.core.append_only import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """Who did what to which object, when and why. Append-only."""

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    # "customer", "api:<key prefix>", "worker" or "system" when no user acted.
    actor_label = models.CharField(max_length=120)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=60)
    organization_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id", "created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.action} {self.object_type}:{self.object_id} by {self.actor_label}"
        )


class IdempotencyRecord(models.Model):
    """The first answer to a request that carried an Idempotency-Key.

    It is written in the same transaction as the action it answers, so a
    repeated request either finds it or races on the unique key and loses.
    """

    scope = models.CharField(max_length=120)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class RateCounter(models.Model):
    """Requests counted per key in fixed windows (see core.ratelimit)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "window_start"], name="rate_window_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.count}"


class WorkerHeartbeat(models.Model):
    """When a worker last ran its loop, for /readyz (see core.heartbeat).

    One row per name; every worker writes the same "worker" row, because the
    question readiness asks is "is any worker alive?", not "which one?".
    """

    name = models.CharField(max_length=60, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen at {self.seen_at}"
