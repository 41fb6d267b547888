"""Benchmark `POST /api/v1/cases` over HTTP against a bare Django + ninja endpoint.

Run from the repository root (needs Debian's `wrk`: apt-get install wrk):

    .venv/bin/python bench/http_intake.py
    .venv/bin/python bench/http_intake.py --databases sqlite --rounds 3 --seconds 5
    # Older code, same benchmark (a git worktree of that commit):
    .venv/bin/python bench/http_intake.py --code /tmp/h6-before

For each database (PostgreSQL on localhost:5432 and a SQLite file):

1. Creates throwaway databases: for PostgreSQL `recours_bench_http` and
   `recours_bench_http_bare` (dropped first and at the end); for SQLite two
   files in a fresh RECOURS_VAR_DIR under /tmp.
2. Migrates Recours (from --code) and seeds it with bench/intake.py's seed
   (1 platform, 3 merchants, 12 kiosks, 2,000 customers, 10,000 orders), creates
   a platform API key and writes 2,000 report bodies in intake.py's mix
   (invoice + kiosk, customer number, phone, order reference, unknown invoice).
   Migrates the bare app (bench/bare) in its own database on the same server.
3. Starts gunicorn, 2 sync workers each, on free ports: Recours and bare.
4. wrk, 16 connections, one thread: a warm-up run per side, then rounds of
   --seconds each, interleaved (bare, ours, ours, bare, ...), so both sides
   share the machine's noise. Every request POSTs the next body; with
   --idempotency-keys each also carries a distinct Idempotency-Key.
5. Prints the median requests/s of each side, their ratio, and the medians of
   the rounds' p50 and p99 latencies, with the machine and versions.

Servers run in their own process groups and are stopped in a `finally`.
The API rate limit is raised for the run (API_RATE_LIMIT): every request is
still counted, none is refused.
"""

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
WRK_SCRIPT = BENCH_DIR / "post_reports.lua"
POSTGRES_URL = "postgres://postgres@localhost:5432/recours_bench_http"
BODIES = 2000
WARMUP_SECONDS = 3
SERVER_START_TIMEOUT_SECONDS = 30
SERVER_STOP_TIMEOUT_SECONDS = 10
WORKERS = 2
STATEMENT_SAMPLE_POSTS = 20
ERROR_COUNTS = (
    "status_errors",
    "connect_errors",
    "read_errors",
    "write_errors",
    "timeouts",
)


@dataclass
class Side:
    name: str
    port: int
    api_key: str
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0


# --- Databases. --------------------------------------------------------------


def check_throwaway(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    # We drop these databases: refuse anything that does not look throwaway.
    if "bench" not in name:
        raise SystemExit(
            f"refusing to drop {name!r}: use a name like recours_bench_http"
        )
    return name


def recreate_postgres(url: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    name = check_throwaway(url)
    admin_url = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        if create:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


# --- Preparing Recours (runs in a child process, on the measured code). ------


def prepare(customers: int, orders: int, seed_value: int) -> None:
    """Migrate, seed, create a key, write the bodies; print the key's secret."""
    import django
    from django.core.management import call_command

    django.setup()
    import intake  # bench/intake.py, on the path the parent gave us

    from recours.accounts.actions import create_api_key
    from recours.accounts.models import Organization
    from recours.core.audit import Actor

    call_command("migrate", interactive=False, verbosity=0)
    rng = random.Random(seed_value)
    data = intake.seed(customers, orders, rng)
    intake.refresh_statistics()
    platform_org = Organization.objects.get(kind=Organization.Kind.PLATFORM)
    _key, secret = create_api_key(Actor(label="bench"), platform_org, "bench")
    fields = ("problem", "contact_channel", "terminal_code", "order_reference",
              "customer_number", "phone", "invoice_reference", "contact_email",
              "contact_phone", "description", "language")  # fmt: skip
    path = Path(os.environ["RECOURS_VAR_DIR"]) / "bodies.jsonl"
    with path.open("w") as out:
        for index in range(BODIES):
            report = intake.make_report(data, rng, index)
            body = {name: getattr(report, name) for name in fields}
            if report.payment_started:
                body["payment_started"] = report.payment_started
            out.write(json.dumps(body, ensure_ascii=False) + "\n")
    print(json.dumps({"secret": secret, "statements": count_statements(secret, path)}))


def count_statements(secret: str, bodies: Path) -> list[int]:
    """SQL statements of each of the first POSTs, in process (not timed)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")
    counts = []
    for line in bodies.read_text().splitlines()[:STATEMENT_SAMPLE_POSTS]:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/v1/cases", line, content_type="application/json"
            )
        assert response.status_code == 201, response.content
        counts.append(len(captured.captured_queries))
    return counts


def child_environment(code_dir: Path, var_dir: Path, database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=f"{code_dir}{os.pathsep}{BENCH_DIR}",
        DJANGO_SETTINGS_MODULE="recours.settings",
        RECOURS_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url,
        DEBUG="false",
        LOG_LEVEL="WARNING",
        API_RATE_LIMIT="1000000000/m",
    )
    return env


def bare_environment(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(BENCH_DIR),
        DJANGO_SETTINGS_MODULE="bare.settings",
        BARE_DATABASE_URL=database_url,
    )
    return env


def prepare_recours(args, env: dict) -> dict:
    command = [sys.executable, __file__, "--prepare", "--customers",
               str(args.customers), "--orders", str(args.orders)]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=env["PYTHONPATH"].split(os.pathsep)[0],
                          check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare_bare(env: dict) -> None:
    command = [sys.executable, "-m", "django", "migrate", "--verbosity", "0"]
    subprocess.run(command, env=env, cwd=BENCH_DIR, check=True)


# --- Servers. ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(app: str, port: int, env: dict, cwd: Path, log: Path):
    command = [str(VENV_BIN / "gunicorn"), app, "--workers", str(WORKERS),
               "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
               "--error-logfile", str(log), "--log-level", "warning"]  # fmt: skip
    # Its own process group, so stopping it stops its workers too.
    return subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)


def wait_listening(port: int, process) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"gunicorn on port {port} exited with {process.returncode}"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1),
        ):
            return
        time.sleep(0.2)
    raise SystemExit(f"gunicorn on port {port} did not start")


def stop(process) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(SERVER_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- Load. ---------------------------------------------------------------------


def wrk(args, side: Side, bodies: Path, seconds: int, tag: str) -> dict:
    command = ["wrk", "--threads", "1", "--connections", str(args.connections),
               "--duration", f"{seconds}s", "--timeout", "10s",
               "--script", str(WRK_SCRIPT), f"http://127.0.0.1:{side.port}/api/v1/cases",
               "--", str(bodies), side.api_key,
               "1" if args.idempotency_keys else "0", tag]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def record(side: Side, result: dict) -> None:
    side.rps.append(result["rps"])
    side.p50_ms.append(result["p50_us"] / 1000)
    side.p99_ms.append(result["p99_us"] / 1000)
    side.requests += result["requests"]
    side.errors += sum(result[name] for name in ERROR_COUNTS)


def interleaved_rounds(args, bare: Side, ours: Side, bodies: Path, label: str) -> None:
    run = f"{label}-{os.getpid()}-{time.time_ns()}"
    for side in (bare, ours):
        wrk(args, side, bodies, WARMUP_SECONDS, f"{run}-warmup-{side.name}")
    for index in range(args.rounds):
        order = [bare, ours] if index % 2 == 0 else [ours, bare]
        for side in order:
            record(
                side,
                wrk(args, side, bodies, args.seconds, f"{run}-{index}-{side.name}"),
            )


# --- One database. -------------------------------------------------------------


def measure(args, database: str, code_dir: Path) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="recours-http-bench-", dir="/tmp"))
    # Where collectstatic would have put the files: whitenoise warns without it.
    (var_dir / "static").mkdir()
    servers = []
    if database == "postgres":
        ours_url, bare_url = args.postgres_url, args.postgres_url + "_bare"
        version = postgres_version(
            urlsplit(ours_url)._replace(path="/postgres").geturl()
        )
        for url in (ours_url, bare_url):
            recreate_postgres(url, create=True)
    else:
        import sqlite3

        ours_url = f"sqlite:///{var_dir}/recours.sqlite3"
        bare_url = f"sqlite:///{var_dir}/bare.sqlite3"
        version = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    try:
        env = child_environment(code_dir, var_dir, ours_url)
        prepared = prepare_recours(args, env)
        prepare_bare(bare_environment(bare_url))
        ours = Side("ours", free_port(), prepared["secret"])
        bare = Side("bare", free_port(), "")
        servers.append(start_gunicorn("recours.wsgi:application", ours.port, env,
                                      code_dir, var_dir / "ours.log"))  # fmt: skip
        servers.append(start_gunicorn("bare.wsgi:application", bare.port,
                                      bare_environment(bare_url), BENCH_DIR,
                                      var_dir / "bare.log"))  # fmt: skip
        for side, process in zip((ours, bare), servers, strict=True):
            wait_listening(side.port, process)
        load_start = os.getloadavg()[0]
        interleaved_rounds(args, bare, ours, var_dir / "bodies.jsonl", database)
        load_end = os.getloadavg()[0]
        return {"database": database, "version": version, "ours": ours, "bare": bare,
                "load": f"{load_start:.2f} at start, {load_end:.2f} at end",
                "statements": prepared["statements"]}  # fmt: skip
    finally:
        for process in servers:
            stop(process)
        if database == "postgres":
            for url in (ours_url, bare_url):
                recreate_postgres(url, create=False)
        if args.keep:
            print(f"kept {var_dir}", file=sys.stderr)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


# --- Report. -------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def code_label(code_dir: Path) -> str:
    def git(*words: str) -> str:
        done = subprocess.run(["git", "-C", str(code_dir), *words],
                              capture_output=True, text=True, check=False)  # fmt: skip
        return done.stdout.strip()

    dirty = (
        " + uncommitted changes"
        if git("status", "--porcelain", "--", "recours")
        else ""
    )
    return f"{code_dir} at {git('rev-parse', '--short', 'HEAD')}{dirty}"


def versions() -> str:
    from importlib.metadata import version

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True,
                                 check=False).stdout.split(" [")[0].strip()  # fmt: skip
    names = ("django", "django-ninja", "pydantic", "gunicorn", "psycopg")
    packages = ", ".join(f"{name} {version(name)}" for name in names)
    return f"Python {platform.python_version()}, {packages}, {wrk_version}"


def print_header(args, code_dir: Path) -> None:
    print(f"Machine: {cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}")
    print(f"Versions: {versions()}")
    print(f"Code measured: {code_label(code_dir)}")
    keys = (
        "a distinct Idempotency-Key on each request"
        if args.idempotency_keys
        else "no Idempotency-Key"
    )
    print(f"Load: wrk, 1 thread, {args.connections} connections, {args.rounds} interleaved "
          f"rounds of {args.seconds} s per side after a {WARMUP_SECONDS} s warm-up each; "
          f"gunicorn {WORKERS} sync workers per side; {keys}; seeded "
          f"{args.customers} customers, {args.orders} orders")  # fmt: skip
    print(f"Command: .venv/bin/python bench/http_intake.py {' '.join(sys.argv[1:])}\n")


def print_rounds(result: dict) -> None:
    ours, bare = result["ours"], result["bare"]
    print(f"#### {result['version']} — load average (1 min) {result['load']}\n")
    print(
        "| round | rps bare | rps ours | ratio | p50 bare / ours ms | p99 bare / ours ms |"
    )
    print("|---|---|---|---|---|---|")
    for index in range(len(ours.rps)):
        print(f"| {index + 1} | {bare.rps[index]:.0f} | {ours.rps[index]:.0f} | "
              f"{ours.rps[index] / bare.rps[index]:.2f}x | {bare.p50_ms[index]:.1f} / "
              f"{ours.p50_ms[index]:.1f} | {bare.p99_ms[index]:.1f} / "
              f"{ours.p99_ms[index]:.1f} |")  # fmt: skip
    counts = result["statements"]
    print(f"\nrequests: bare {bare.requests} ({bare.errors} errors), "
          f"ours {ours.requests} ({ours.errors} errors); SQL statements per POST "
          f"(ours, first {len(counts)}): mean {statistics.mean(counts):.1f}, "
          f"min {min(counts)}, max {max(counts)}\n")  # fmt: skip


def print_summary(results: list[dict]) -> None:
    print("| database | rps ours | rps bare | ratio ours/bare | p50 ours | p50 bare "
          "| p99 ours | p99 bare | errors ours / bare |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        ours, bare = result["ours"], result["bare"]
        median = statistics.median
        print(f"| {result['version']} | {median(ours.rps):.0f} | {median(bare.rps):.0f} | "
              f"{median(ours.rps) / median(bare.rps):.2f}x | "
              f"{median(ours.p50_ms):.1f} ms | {median(bare.p50_ms):.1f} ms | "
              f"{median(ours.p99_ms):.1f} ms | {median(bare.p99_ms):.1f} ms | "
              f"{ours.errors} / {bare.errors} |")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="postgres,sqlite",
                        help="comma-separated: postgres, sqlite")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10, help="per round and side")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--code", type=Path, default=REPO_DIR,
                        help="the Recours checkout to measure (default: this one)")  # fmt: skip
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--idempotency-keys", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the var dir (logs)")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=20_260_509)
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds < 1 or args.connections < 1:
        parser.error("--rounds, --seconds and --connections must be positive")
    return args


def stop_on_signal(signum: int, _frame: object) -> None:
    # SystemExit unwinds through the `finally` blocks that stop the servers.
    raise SystemExit(128 + signum)


def main() -> None:
    args = parse_args()
    # A background job starts with SIGINT ignored: take both signals ourselves.
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    if args.prepare:
        prepare(args.customers, args.orders, args.seed)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    code_dir = args.code.resolve()
    check_throwaway(args.postgres_url)
    print_header(args, code_dir)
    results = []
    for database in args.databases.split(","):
        results.append(measure(args, database.strip(), code_dir))
        print_rounds(results[-1])
    print_summary(results)


if __name__ == "__main__":
    main()
