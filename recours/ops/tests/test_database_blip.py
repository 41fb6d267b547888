"""The issue's fault run: PostgreSQL connections killed under load, then not a
single web 500 (the pool checks a connection before handing it out).

A real gunicorn (2 sync workers) serves a throwaway database created and
migrated here; a separate connection kills every backend of that database with
pg_terminate_backend, three times, and each time 20 requests to pages that hit
the database must all answer 200. Without the pool's check 5 or 6 of them
were 500s.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from recours.testing.servers import free_port

ROUNDS = 3
REQUESTS_PER_ROUND = 20
SEED = """
from recours.accounts.actions import create_api_key
from recours.accounts.models import Organization
from recours.core.audit import Actor
platform = Organization.objects.create(name="Blip", slug="blip", kind="platform")
print(create_api_key(Actor.system("test"), platform, "blip")[1])
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="kills PostgreSQL backends",
    ),
]


@dataclass
class Server:
    base_url: str
    database: str
    api_key: str
    log_path: Path


def connection_params(database: str) -> dict:
    default = settings.DATABASES["default"]
    return {
        "dbname": database,
        "user": default["USER"],
        "password": default.get("PASSWORD") or None,
        "host": default.get("HOST") or "localhost",
        "port": default.get("PORT") or 5432,
        "autocommit": True,
    }


def admin(sql_statement: sql.Composable, *params: object) -> list[tuple]:
    """Run one statement from a separate connection to the maintenance database."""
    with psycopg.connect(**connection_params("postgres")) as connection:
        cursor = connection.execute(sql_statement, params)
        return cursor.fetchall() if cursor.description else []


def database_url(database: str) -> str:
    params = connection_params(database)
    password = f":{params['password']}" if params["password"] else ""
    return (
        f"postgres://{params['user']}{password}@{params['host']}:{params['port']}"
        f"/{database}"
    )


def server_env(database: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_FILE")}
    env.update(
        DJANGO_SETTINGS_MODULE="recours.settings",
        DATABASE_URL=database_url(database),
        RECOURS_VAR_DIR=str(var_dir),
        SECRET_KEY="blip-test-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        DEBUG="false",
        PROMETHEUS_MULTIPROC_DIR=str(var_dir / "prometheus"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def recours(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "recours.cli", *args],
        env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def fetch(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()[-4000:]
        try:
            if fetch(base_url + "/healthz") == 200:
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer\n{log_path.read_text()[-4000:]}")


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    """gunicorn with 2 sync workers on a freshly migrated throwaway database."""
    database = f"{settings.DATABASES['default']['NAME']}_blip"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(database)
    )
    admin(drop)
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    env = server_env(database, tmp_path / "var")
    (tmp_path / "var" / "prometheus").mkdir(parents=True)
    recours(env, "migrate", "--no-input", "-v", "0")
    recours(env, "collectstatic", "--no-input", "-v", "0")
    api_key = recours(env, "shell", "-v", "0", "-c", SEED).strip()
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "recours.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
            env=env, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url, process, log_path)
        yield Server(base_url, database, api_key, log_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
        admin(drop)


def kill_connections(database: str) -> int:
    rows = admin(
        sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()"
        ),
        database,
    )
    return len(rows)


def requests_round(server: Server) -> list[int]:
    """20 requests to pages that read the database, 4 at a time so both
    gunicorn workers serve some (and hold pooled connections)."""
    api_headers = {"Authorization": f"Bearer {server.api_key}"}
    targets = [
        (server.base_url + "/", {}),
        (server.base_url + "/status/", {}),
        (server.base_url + "/api/v1/cases?limit=5", api_headers),
    ]
    calls = [targets[number % len(targets)] for number in range(REQUESTS_PER_ROUND)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda call: fetch(*call), calls))


def scraped_requests(server: Server) -> dict[str, float]:
    """Requests counted by status, added up over both gunicorn workers."""
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    by_status: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "recours_http_requests_total":
                status = sample.labels["status"]
                by_status[status] = by_status.get(status, 0) + sample.value
    return by_status


def test_it_answers_no_500_after_the_database_connections_are_killed(server):
    # given: both workers have served, so their pools hold connections
    assert requests_round(server) == [200] * REQUESTS_PER_ROUND

    for _round in range(ROUNDS):
        # when: every connection of the database is killed
        assert kill_connections(server.database) >= 1
        statuses = requests_round(server)

        # then: every request still answers
        assert statuses == [200] * REQUESTS_PER_ROUND, server.log_path.read_text()[
            -4000:
        ]

    # and the metrics, added up over both workers, saw every request and no 500
    counted = scraped_requests(server)
    assert counted.get("200", 0) >= (ROUNDS + 1) * REQUESTS_PER_ROUND
    assert "500" not in counted
