"""A configuration error stops a command with one line naming the variable,
not a traceback (the `recours` command and gunicorn under `recours serve`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

RECOURS = str(Path(sys.executable).parent / "recours")


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_FILE") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return {**inherited, "RECOURS_VAR_DIR": str(tmp_path), **variables}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "API_RATE_LIMIT",
            "banana",
            "API_RATE_LIMIT must be a count per s, m, h or d such as 10/h, not 'banana'",
        ),
        (
            "SMTP_PORT",
            "twenty-five",
            "SMTP_PORT must be a whole number, not 'twenty-five'",
        ),
        ("DEBUG", "maybe", "DEBUG must be true or false, not 'maybe'"),
        (
            "PROTECTION_REMINDER_DAY",
            "30",
            "PROTECTION_REMINDER_DAY must be before PROTECTION_DAYS (30), not 30",
        ),
        (
            "LOG_LEVEL",
            "loud",
            "LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not 'LOUD'",
        ),
        (
            "DATABASE_URL",
            "mysql://recours:secret@db/recours",
            "DATABASE_URL must be a sqlite:// or postgres:// URL "
            "(sqlite:///path or postgres://user:password@host:5432/name)",
        ),
        (
            "DATABASE_URL",
            "sqlite:///no/such/dir/recours.sqlite3",
            "DATABASE_URL names a SQLite file in a directory that does not exist "
            "(no/such/dir); an absolute path takes four slashes: "
            "sqlite:////srv/recours/recours.sqlite3",
        ),
        (
            "RECOURS_VAR_DIR",
            "/proc/no-such-dir/var",
            "RECOURS_VAR_DIR must be a writable directory: cannot create "
            "/proc/no-such-dir/var: No such file or directory",
        ),
    ],
)
def test_it_prints_one_line_naming_the_variable(tmp_path, name, value, expected):
    # when
    result = subprocess.run(
        [RECOURS, "check"],
        env=environment(tmp_path, **{name: value}),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # then: no password from the URL either
    assert result.returncode == 2
    assert result.stderr == f"recours: configuration error: {expected}\n"
    assert "secret" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_it_stops_gunicorn_with_one_line_and_no_traceback(tmp_path):
    # when: the web server started the way `recours serve` starts it
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "recours.wsgi:application",
         "--bind", "127.0.0.1:0", "--workers", "2", "--preload"],
        env=environment(tmp_path, API_RATE_LIMIT="banana"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # then
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.count("recours: configuration error: API_RATE_LIMIT") == 1


@pytest.mark.slow
def test_it_stops_serve_before_starting_anything(tmp_path):
    # when
    result = subprocess.run(
        [RECOURS, "serve", "--bind", "127.0.0.1:0"],
        env=environment(tmp_path, SMTP_PORT="0x19"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # then
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "recours: configuration error: SMTP_PORT must be a whole number, not '0x19'"
    ]
