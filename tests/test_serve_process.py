"""`recours serve` for real: gunicorn and a worker on a fresh SQLite database.

Ready once the worker has stamped its heartbeat, request counts added up over
gunicorn's processes, and SIGTERM stops every process it started.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from recours.testing.servers import free_port

RECOURS = str(Path(sys.executable).parent / "recours")


def environment(tmp_path: Path, port: int) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_FILE")
        and k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "PROMETHEUS_MULTIPROC_DIR")
    }
    return {
        **inherited,
        "RECOURS_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'serve.sqlite3'}",
        "BIND": f"127.0.0.1:{port}",
        "WORKER_IDLE_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }


def descendants(pid: int) -> set[int]:
    """Every live process below pid (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # a zombie has already stopped
            parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(condition, what: str, log: Path, timeout_seconds: float = 60) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_it_serves_is_ready_counts_requests_and_stops_on_sigterm(tmp_path):
    # given: the README's steps on a fresh database
    port = free_port()
    env = environment(tmp_path, port)
    for step in (
        ["migrate", "--no-input", "-v", "0"],
        ["collectstatic", "--no-input", "-v", "0"],
    ):
        subprocess.run([RECOURS, *step], env=env, check=True, timeout=300)
    log = tmp_path / "serve.log"
    with log.open("ab") as output:
        serve = subprocess.Popen(
            [RECOURS, "serve", "--web-workers", "2"],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    children: set[int] = set()
    try:
        # when
        wait_for(lambda: get(base + "/readyz")[0] == 200, "/readyz", log)
        statuses = [get(base + "/")[0] for _ in range(10)]
        _status, metrics = get(base + "/metrics")
        children = descendants(serve.pid)

        # then: pages answer, and the 10 requests were counted across processes
        assert statuses == [200] * 10
        assert json.loads(get(base + "/readyz")[1]) == {"status": "ok"}
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.decode().splitlines()
            if line.startswith('recours_http_requests_total{method="GET",status="200"}')
        )
        assert counted >= 10
        assert len(children) >= 4  # gunicorn, its 2 workers, the worker
    finally:
        # when: serve is told to stop, as docker stop or systemd would
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)

    # then: nothing it started is left running
    left_running = alive(children)
    for pid in left_running:
        os.kill(pid, signal.SIGKILL)  # so a failure leaves no stray server
    assert left_running == set()
    assert serve.returncode == 0
