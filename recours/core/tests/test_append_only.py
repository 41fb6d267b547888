"""History is append-only: the ORM and the database both refuse changes."""

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from recours.core.append_only import (
    AppendOnlyError,
    AppendOnlyModel,
    erase,
    erasing,
    guarded_tables,
)
from recours.core.audit import Actor, record
from recours.core.models import AuditEvent, RateCounter
from recours.testing import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    counter = RateCounter.objects.create(key="k", window_start=NOW)
    with transaction.atomic():
        return record(Actor.system(), "counter.touched", counter)


def raw(sql: str, params: tuple = ()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def reason(event) -> str:
    return AuditEvent.objects.values_list("reason", flat=True).get(pk=event.pk)


@pytest.mark.parametrize(
    "change",
    [
        lambda e: AuditEvent.objects.filter(pk=e.pk).update(reason="rewritten"),
        lambda e: AuditEvent.objects.filter(pk=e.pk).delete(),
        lambda e: AuditEvent.objects.bulk_update([e], ["reason"]),
        lambda e: e.delete(),
    ],
    ids=["update", "queryset delete", "bulk_update", "instance delete"],
)
def test_the_orm_refuses_to_change_history(event, change):
    # when / then
    with pytest.raises(AppendOnlyError, match=r"core\.AuditEvent is append-only"):
        change(event)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "sql",
    ["UPDATE core_auditevent SET reason = 'rewritten'", "DELETE FROM core_auditevent"],
    ids=["update", "delete"],
)
def test_the_database_refuses_raw_sql_that_changes_history(event, sql):
    # when / then
    with pytest.raises(IntegrityError, match="append-only"):
        raw(sql)
    assert reason(event) == ""


def test_erasing_allows_deleting_rows_but_never_rewriting_them(event):
    # when / then
    with erasing(), pytest.raises(IntegrityError, match="append-only"):
        raw("UPDATE core_auditevent SET reason = 'rewritten'")
    assert reason(event) == ""
    with erasing():
        raw("DELETE FROM core_auditevent")
    assert not AuditEvent.objects.exists()


def test_erase_deletes_through_the_orm_and_the_guard_comes_back(event):
    # when
    deleted = erase(AuditEvent.objects.filter(pk=event.pk))

    # then
    assert deleted == 1
    again = record(Actor.system(), "counter.touched", RateCounter.objects.get())
    with pytest.raises(IntegrityError):
        raw("DELETE FROM core_auditevent WHERE id = %s", (again.pk,))


def test_every_append_only_model_has_its_database_triggers():
    # given
    tables = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel)
    }

    # then: a migration that rebuilds a table on SQLite drops its triggers
    assert "core_auditevent" in tables
    assert tables <= set(guarded_tables())
