"""LOG_FORMAT=json: every log line is one JSON object, with the extra fields."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings

from recours.core.logs import JsonFormatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("recours.outbox")
    return logger.makeRecord(
        "recours.outbox", logging.INFO, __file__, 1, message, args, None, extra=extra
    )


def test_it_formats_a_line_as_json_with_the_case_field():
    # given
    line = record(
        "outbox %s sent by %s for %s, attempt %s",
        7, "sms", "RC-7KQ4-M9XP", 1,
        case="RC-7KQ4-M9XP", channel="sms", message_id=7, attempt=1,
    )  # fmt: skip

    # when
    parsed = json.loads(JsonFormatter().format(line))

    # then
    assert parsed["message"] == "outbox 7 sent by sms for RC-7KQ4-M9XP, attempt 1"
    assert (parsed["level"], parsed["logger"]) == ("INFO", "recours.outbox")
    assert parsed["time"].endswith("+00:00")
    assert (parsed["case"], parsed["channel"]) == ("RC-7KQ4-M9XP", "sms")
    assert (parsed["message_id"], parsed["attempt"]) == (7, 1)
    assert "args" not in parsed and "msg" not in parsed


def test_it_keeps_an_exception_and_a_field_that_is_not_json():
    # given
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        line = record("job %s failed", "outbox", when=object())
        line.exc_info = sys.exc_info()

    # when
    parsed = json.loads(JsonFormatter().format(line))

    # then
    assert "RuntimeError: boom" in parsed["exception"]
    assert parsed["when"].startswith("<object object")
    assert "\n" not in JsonFormatter().format(line)


@pytest.mark.slow
def test_it_writes_every_line_as_json_when_asked(tmp_path):
    # given: a fresh database (DATABASE_URL from the environment is not used)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "RECOURS_VAR_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    run = ["-m", "recours.cli"]
    subprocess.run([sys.executable, *run, "migrate", "-v", "0"], env=env, check=True)

    # when
    result = subprocess.run(
        [sys.executable, *run, "worker", "--once"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(line["message"].startswith("worker started") for line in lines)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
