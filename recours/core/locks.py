"""Row locks taken in one order, so that two transactions never deadlock.

Two checkouts that lock the same wallet and item in opposite orders would
wait on each other forever; locking every set of rows in primary-key order
makes the second one wait for the first instead. On SQLite a write
transaction already holds the whole database (BEGIN IMMEDIATE), so the lock
clause is a no-op there.
"""

from collections.abc import Sequence

from django.db import models


def lock_rows[M: models.Model](
    queryset: models.QuerySet[M], *, no_key: bool = False
) -> list[M]:
    """Lock the rows of `queryset` FOR UPDATE, lowest primary key first.

    Call it inside `transaction.atomic()`; the locks last until the
    transaction ends. `no_key` takes the weaker FOR NO KEY UPDATE lock (on
    PostgreSQL), which still excludes other writers of the rows but lets
    other transactions insert rows that reference them (a foreign key check
    takes FOR KEY SHARE, which FOR UPDATE would block).
    """
    return list(queryset.select_for_update(no_key=no_key).order_by("pk"))


def lock_row[M: models.Model](
    model: type[M], pk: int, *, related: Sequence[str] = ()
) -> M:
    """Lock one row by primary key; raises `model.DoesNotExist`.

    `related` foreign keys are read in the same statement, without locking
    their rows.
    """
    rows = model._default_manager.select_for_update(of=("self",))
    if related:
        rows = rows.select_related(*related)
    return rows.get(pk=pk)
