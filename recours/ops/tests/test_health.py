from datetime import timedelta

import pytest
from django.db import OperationalError
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.urls import reverse

from recours.core import health, heartbeat, worker
from recours.core.models import WorkerHeartbeat


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch):
    # Both are per-process caches; each test starts as a newly started process.
    monkeypatch.setattr(health, "_all_migrations_applied", False)
    monkeypatch.setattr(heartbeat, "_last_beat_monotonic", None)


def test_it_answers_healthz_without_touching_the_database(client):
    # given: no database fixture, so any query would raise

    # when
    response = client.get(reverse("ops:healthz"))

    # then
    assert response.status_code == 200
    assert response.content == b"ok"


def test_it_answers_probes_on_an_address_outside_allowed_hosts(db, settings):
    # given: a load balancer probes the process by its own address
    settings.ALLOWED_HOSTS = ["recours.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    heartbeat.beat()
    probe = Client(HTTP_HOST="10.0.0.7:8000")

    # when
    health_response = probe.get("/healthz")
    ready_response = probe.get("/readyz")

    # then
    assert health_response.status_code == 200
    assert ready_response.status_code == 200


def test_it_is_ready_when_the_database_migrations_and_a_worker_are_fine(db, client):
    # given
    heartbeat.beat()

    # when
    response = client.get(reverse("ops:readyz"))

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_is_not_ready_when_no_worker_ever_ran(db, client):
    # when
    response = client.get(reverse("ops:readyz"))

    # then
    assert response.status_code == 503
    assert response.json()["problems"] == {"worker": "no worker has ever run"}


def test_it_is_not_ready_when_the_worker_was_last_seen_too_long_ago(
    db, client, frozen, settings
):
    # given
    settings.READY_WORKER_MAX_AGE_SECONDS = 120
    heartbeat.beat()
    frozen.shift(timedelta(seconds=121))

    # when
    response = client.get(reverse("ops:readyz"))

    # then
    assert response.status_code == 503
    assert response.json()["problems"] == {"worker": "no worker seen for 121 s"}


def test_it_is_not_ready_when_a_migration_is_unapplied(db, client):
    # given: the database says core's latest migration never ran
    heartbeat.beat()
    latest = (
        MigrationRecorder.Migration.objects.filter(app="core").order_by("name").last()
    )
    assert latest is not None
    latest.delete()

    # when
    response = client.get(reverse("ops:readyz"))

    # then
    assert response.status_code == 503
    problems = response.json()["problems"]
    assert list(problems) == ["migrations"]
    assert f"core.{latest.name}" in problems["migrations"]


def test_it_checks_migrations_once_they_were_all_applied(
    db, client, django_assert_max_num_queries
):
    # given
    heartbeat.beat()
    client.get(reverse("ops:readyz"))

    # when: the database check and the heartbeat read, nothing more
    with django_assert_max_num_queries(2):
        response = client.get(reverse("ops:readyz"))

    # then
    assert response.status_code == 200


class UnreachableDatabase:
    def cursor(self):
        raise OperationalError("connection refused")


def test_it_is_not_ready_when_the_database_is_unreachable(db, client, monkeypatch):
    # given
    monkeypatch.setattr(health, "connection", UnreachableDatabase())

    # when
    response = client.get(reverse("ops:readyz"))

    # then
    assert response.status_code == 503
    assert response.json()["problems"] == {
        "database": "database unreachable: OperationalError"
    }


def test_it_registers_the_heartbeat_as_a_worker_job():
    # then
    assert worker.JOBS["heartbeat"].run is heartbeat.beat


def test_it_stamps_the_heartbeat_at_most_every_ten_seconds(db, frozen, monkeypatch):
    # given
    clock = iter([1000.0, 1005.0, 1011.0])
    monkeypatch.setattr(heartbeat, "monotonic", lambda: next(clock))

    # when: three beats, 5 s then 6 s apart
    heartbeat.beat()
    first = WorkerHeartbeat.objects.get().seen_at
    frozen.shift(timedelta(seconds=5))
    heartbeat.beat()
    second = WorkerHeartbeat.objects.get().seen_at
    frozen.shift(timedelta(seconds=6))
    handled = heartbeat.beat()

    # then: the second beat wrote nothing; the third did, and handled nothing
    assert second == first
    assert WorkerHeartbeat.objects.get().seen_at == first + timedelta(seconds=11)
    assert handled == 0
