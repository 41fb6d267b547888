"""Row locks taken in one order, so that two transactions never deadlock.

Two checkouts that lock the same wallet and item in opposite orders would
wait on each other forever; locking every set of rows in primary-key order
makes the second one wait for the first instead. On SQLite a write
transaction already holds the whole database (BEGIN IMMEDIATE), so the lock
clause is a no-op there.
"""

from django.db import models


def lock_rows[M: models.Model](queryset: models.QuerySet[M]) -> list[M]:
    """Lock the rows of `queryset` FOR UPDATE, lowest primary key first.

    Call it inside `transaction.atomic()`; the locks last until the
    transaction ends.
    """
    return list(queryset.select_for_update().order_by("pk"))


def lock_row[M: models.Model](model: type[M], pk: int) -> M:
    """Lock one row by primary key; raises `model.DoesNotExist`."""
    return model._default_manager.select_for_update().get(pk=pk)
