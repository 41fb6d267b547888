"""Real `recours worker` processes for tests, on the test database."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from recours.testing.servers import SMTP_BACKEND


def database_url() -> str:
    """The URL of the test database this process is using right now."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{database['NAME']}"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host = database.get("HOST") or "localhost"
    port = database.get("PORT") or 5432
    return f"postgres://{database['USER']}{password}@{host}:{port}/{database['NAME']}"


def worker_env(smtp_port: int, var_dir: Path, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.endswith("_FILE"):
            del env[name]  # Only the values below, never a secret read from elsewhere.
    env.update(
        DJANGO_SETTINGS_MODULE="recours.settings",
        DATABASE_URL=database_url(),
        RECOURS_VAR_DIR=str(var_dir),
        SECRET_KEY="worker-test-" + "x" * 40,
        EMAIL_BACKEND=SMTP_BACKEND,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT_SECONDS="5",
        SMS_BACKEND="record",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "recours.cli", "worker", "--idle-seconds", "0.1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    condition: Callable[[], bool], timeout_seconds: float, what: str, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(
        f"timed out after {timeout_seconds} s waiting for {what}\n"
        f"worker log:\n{log_path.read_text()[-4000:]}"
    )
