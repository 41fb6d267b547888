"""Readiness checks for /readyz: database, migrations, worker heartbeat.

Each check returns None when all is well, or a short sentence naming what is
wrong, so the endpoint can list every problem at once.
"""

from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from recours.core import clock, heartbeat

# Migrations do not un-apply themselves while the process runs, so once they
# were all applied the (costly) check is skipped for the life of the process.
_all_migrations_applied = False


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return f"database unreachable: {error.__class__.__name__}"
    return None


def migrations_problem() -> str | None:
    global _all_migrations_applied
    if _all_migrations_applied:
        return None
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
        return f"{len(plan)} migration(s) not applied: {names}"
    _all_migrations_applied = True
    return None


def worker_problem() -> str | None:
    try:
        seen_at = heartbeat.last_seen()
    except DatabaseError as error:
        # The heartbeat table itself may be among the unapplied migrations.
        return f"worker heartbeat unreadable: {error.__class__.__name__}"
    if seen_at is None:
        return "no worker has ever run"
    max_age = timedelta(seconds=settings.READY_WORKER_MAX_AGE_SECONDS)
    age = clock.now() - seen_at
    if age > max_age:
        return f"no worker seen for {int(age.total_seconds())} s"
    return None


def readiness_problems() -> dict[str, str]:
    """Every failing check by name; the later checks need the database."""
    problem = database_problem()
    if problem:
        return {"database": problem}
    problems = {"migrations": migrations_problem(), "worker": worker_problem()}
    return {name: text for name, text in problems.items() if text}
