"""Append-only tables: rows are inserted, never updated or deleted.

Audit events, journal entries, postings and holding moves are history: a
mistake in them is corrected by a new row that references the old one. Two
guards hold this:

- the ORM: `AppendOnlyModel` and its `AppendOnlyQuerySet` refuse `save()` of
  an existing row, `delete()`, `update()` and `bulk_update()` with
  `AppendOnlyError`, before any SQL;
- the database: triggers, added by each table's migration with
  `triggers(table)`, refuse UPDATE and DELETE from raw SQL too (PostgreSQL
  and SQLite alike).

Whole rows may be erased in one sanctioned way only, `erasing()`: the test
database flush and the demo reset use it. It never allows an UPDATE.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from django.db import connection, migrations, models, transaction

_state = threading.local()

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION recours_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('recours.erasing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""


class AppendOnlyError(RuntimeError):
    """Code tried to change or remove history; nothing was written."""


def refuse(what: str, model: type[models.Model]) -> NoReturn:
    raise AppendOnlyError(
        f"{model._meta.label} is append-only: {what} refused; "
        "record a correction as a new row instead"
    )


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        refuse("update()", self.model)

    def delete(self) -> NoReturn:
        refuse("delete()", self.model)

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        refuse("bulk_update()", self.model)

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:
        refuse("update_or_create()", self.model)


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            refuse("saving an existing row", type(self))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        refuse("delete()", type(self))


def is_erasing() -> bool:
    return bool(getattr(_state, "erasing", False))


@contextmanager
def erasing() -> Iterator[None]:
    """Allow DELETE on append-only tables (never UPDATE) inside the block.

    On PostgreSQL the permission is a transaction-local setting that the
    triggers read, so the block runs in a transaction; on SQLite the
    triggers call `recours_erasing()`, which reads this thread's flag.
    """
    _state.erasing = True
    try:
        if connection.vendor != "postgresql":
            yield
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('recours.erasing', 'on', true)")
            yield
            cursor.execute("SELECT set_config('recours.erasing', 'off', true)")
    finally:
        _state.erasing = False


def erase(queryset: models.QuerySet) -> int:
    """Delete the rows of an append-only queryset (demo reset only)."""
    with erasing():
        deleted, _per_model = models.QuerySet.delete(queryset)
    return deleted


def register_sqlite_function(sender: Any, connection: Any, **kwargs: Any) -> None:
    """The SQLite triggers ask `recours_erasing()`; a connection that lacks
    it (the sqlite3 shell) fails every DELETE, which is still a refusal."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "recours_erasing", 0, lambda: int(is_erasing())
        )


def sqlite_triggers(table: str) -> list[str]:
    refused = "SELECT RAISE(ABORT, '{table} is append-only: {op} refused')"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN {refused.format(table=table, op='UPDATE')}; END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN NOT recours_erasing() "
        f"BEGIN {refused.format(table=table, op='DELETE')}; END",
    ]


def postgres_triggers(table: str) -> list[str]:
    return [
        POSTGRES_FUNCTION,
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION recours_append_only()",
    ]


def drop_statements(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"]
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
    ]


def triggers(table: str) -> migrations.RunPython:
    """A migration operation that guards `table` with append-only triggers."""

    def create(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        make = postgres_triggers if vendor == "postgresql" else sqlite_triggers
        for statement in make(table):
            schema_editor.execute(statement, params=None)

    def drop(apps: Any, schema_editor: Any) -> None:
        for statement in drop_statements(schema_editor.connection.vendor, table):
            schema_editor.execute(statement, params=None)

    return migrations.RunPython(create, drop)


def guarded_tables() -> list[str]:
    """The tables that carry append-only triggers in this database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT event_object_table FROM information_schema.triggers "
                "WHERE trigger_name LIKE '%_append_only'"
            )
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE '%_no_update' AND tbl_name IN ("
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE '%_no_delete')"
        )
        return sorted(row[0] for row in cursor.fetchall())
