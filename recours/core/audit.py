from dataclasses import dataclass
from typing import Any

from django.db import transaction

from recours.core import clock
from recours.core.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff user, a customer, an API key or the worker."""

    label: str
    user_id: int | None = None
    organization_id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(label=label)


def record(
    actor: Actor,
    action: str,
    obj: Any,
    *,
    organization_id: int | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event; must run inside the action's transaction."""
    assert transaction.get_connection().in_atomic_block, "audit outside a transaction"
    return AuditEvent.objects.create(
        created_at=clock.now(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        organization_id=organization_id,
        reason=reason,
        data=data or {},
    )
