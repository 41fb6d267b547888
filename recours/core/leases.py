"""Leases: how a durable job works on its rows from any number of workers.

A job (the outbox, deadlines, refund attempts) keeps its work in rows with a
due time and two lease columns, `lease_token` (CharField, blank) and
`lease_until` (nullable DateTimeField). Working on a row goes in three steps,
none of which holds a row lock across an outbound call:

1. `claim` locks a small batch of due rows (`SELECT … FOR UPDATE SKIP LOCKED`
   where the database has it), stamps them with a fresh token and a lease, and
   commits at once. The lease also pushes the due time to its end, so the rows
   of a worker killed mid-batch come due again exactly when its lease expires.
2. Before each outbound call, `renew` extends the lease of that one row, and
   says False when another worker took it meanwhile (our lease had expired):
   then we leave the row alone.
3. `settle` records the outcome only if our token still holds the row, and
   clears the lease.

A job built this way delivers at least once: a worker killed between its
outbound call and `settle` leaves the row to be done again, so every outbound
call must be safe to repeat (an idempotency key, a stable message id).
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q

from recours.core import clock
from recours.core.worker import skip_locked

TOKEN_BYTES = 8


@dataclass(frozen=True)
class Leasing[M: models.Model]:
    """The leasing of one model's rows.

    `seconds_setting` names the setting that holds the lease length (read at
    each call, never at import). `live` is what makes a row workable at all
    (e.g. still pending); `due_field` holds when it is next due.
    """

    model: type[M]
    seconds_setting: str
    due_field: str = "next_attempt_at"
    live: Q = field(default_factory=Q)

    def lease_until(self) -> datetime:
        return clock.now() + timedelta(seconds=getattr(settings, self.seconds_setting))

    def claim(
        self, batch_size: int, among: models.QuerySet[M] | None = None
    ) -> list[M]:
        """Lease up to `batch_size` due rows, earliest first, in a transaction of
        its own; rows leased by a live worker are not due, so they are skipped.

        `among` narrows the rows (the model's default manager otherwise).
        """
        assert batch_size > 0
        rows = self.model._default_manager.all() if among is None else among
        token = secrets.token_hex(TOKEN_BYTES)
        with transaction.atomic():
            due = list(
                rows.select_for_update(skip_locked=skip_locked())
                .filter(self.live, **{f"{self.due_field}__lte": clock.now()})
                .order_by(self.due_field, "pk")[:batch_size]
            )
            lease_until = self.lease_until()
            self.model._default_manager.filter(pk__in=[row.pk for row in due]).update(
                lease_token=token, lease_until=lease_until,
                **{self.due_field: lease_until},
            )  # fmt: skip
        for row in due:
            self.stamp(row, token, lease_until)
        return due

    def stamp(self, row: M, token: str, lease_until: datetime | None) -> None:
        row.lease_token = token  # type: ignore[attr-defined]
        row.lease_until = lease_until  # type: ignore[attr-defined]
        if lease_until is not None:
            setattr(row, self.due_field, lease_until)

    def ours(self, row: M) -> models.QuerySet[M]:
        """The row, only while our token holds it."""
        token = row.lease_token  # type: ignore[attr-defined]
        assert token, "the row was not claimed"
        return self.model._default_manager.filter(pk=row.pk, lease_token=token)

    def renew(self, row: M) -> bool:
        """Extend our lease just before an outbound call; False if the row is no
        longer ours (another worker took it) or no longer live.

        A batch can outlast the lease it was claimed with (a slow server), and
        then a second worker may claim its last rows: renewing row by row means
        only the holder of the current token makes the call.
        """
        lease_until = self.lease_until()
        renewed = (
            self.ours(row)
            .filter(self.live)
            .update(lease_until=lease_until, **{self.due_field: lease_until})
        )
        if renewed == 1:
            self.stamp(row, row.lease_token, lease_until)  # type: ignore[attr-defined]
        return renewed == 1

    def settle(self, row: M, **fields: Any) -> bool:
        """Write the outcome `fields` and end the lease, if our token still holds
        the row; False (nothing written) when another worker took it."""
        settled = self.ours(row).update(lease_token="", lease_until=None, **fields)
        return settled == 1
