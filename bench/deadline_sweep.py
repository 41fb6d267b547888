"""Benchmark the worker's deadline sweep: 1,000 due cases among many open ones.

Run from the repository root (PostgreSQL only; the database name must contain
"bench": one database per size is made from it, e.g. recours_bench_o10000,
and both are dropped at the end):

    DATABASE_URL=postgres://postgres@localhost:5432/recours_bench \
        .venv/bin/python bench/deadline_sweep.py           # 10k vs 1M open
    DATABASE_URL=… .venv/bin/python bench/deadline_sweep.py --quick  # 10k vs 100k

The claim measured (issue 13): sweeping 1,000 due cases among 1M open ones
takes at most twice as long as among 10k open ones.

What it does, in one run:

1. One child process per size migrates its own throwaway database and makes
   four template cases through the real actions, one per way a deadline
   expires (escalation, to review, resolved for silence, closed: see
   recours.testing.deadlines), then multiplies them in SQL: one
   `INSERT … SELECT … FROM generate_series` per table copies every concrete
   column of a template (read from the models, so columns added later follow)
   with its own reference and dates. `--open` cases in all, of which `--due`
   have a deadline in the past, spread evenly over the table; the others fall
   due in the next 20 days. Each copy also gets its template's timeline lines,
   audit events and outbox messages (marked sent), as an open case has them.
   Then VACUUM ANALYZE, as autovacuum would soon after such a load.
2. One warm-up sweep per size, not timed but profiled: each SQL statement
   timed by kind. Then `--runs` rounds alternating which size goes first. Before each sweep, not timed: the due cases are put back
   as their templates are (with their past deadline), every row the previous
   sweep inserted is deleted, and the touched tables are vacuumed. The timed
   sweep calls the worker's deadline job, found by its name in
   `recours.core.worker.JOBS`, through the worker's own `Loop.run_job` (one
   pooled connection per call), until it returns 0; it includes every
   timeline line, audit event and outbox message the job writes.
3. Not timed: EXPLAIN (ANALYZE, BUFFERS) of the job's due query (the first
   `SELECT … FOR UPDATE` on cases_case it sends) with all due cases in place.
4. Prints the table, the statements and the plans; drops the databases.

Only the ratio within one run means something (see BENCHMARKS.md).
"""

import argparse
import contextlib
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import postgres_database_name, recreate_postgres  # bench/ is no package

REPO_DIR = Path(__file__).resolve().parent.parent
CREATED_SPREAD = timedelta(days=30)
OPEN_DUE_SPREAD = timedelta(days=20)
TARGET_RATIO_MAX = 2.0
PREFIX = "RB-"  # references of the copies: "RB-000000042"
CHILD_REPLY_TIMEOUT_SECONDS = 3600


# --- Child process: one per size, on its own database. ----------------------


def child_main(pipe, database_url: str, var_dir: str) -> None:
    os.environ.update(DJANGO_SETTINGS_MODULE="recours.settings", DEBUG="false",
                      DATABASE_URL=database_url, RECOURS_VAR_DIR=var_dir,
                      LOG_LEVEL="WARNING", DB_POOL_MIN_SIZE="1",
                      DB_POOL_MAX_SIZE="2")  # fmt: skip
    sys.path.insert(0, str(REPO_DIR))
    import django

    django.setup()
    arm = Arm()
    while True:
        command, args = pipe.recv()
        if command == "close":
            pipe.send(("ok", None))
            return
        try:
            pipe.send(("ok", getattr(arm, command)(*args)))
        except Exception:
            pipe.send(("error", traceback.format_exc()))


def quote(name: str) -> str:
    from django.db import connection

    return connection.ops.quote_name(name)


def execute(sql: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def copy_statement(model, alias: str, overrides: dict[str, str], tail: str) -> str:
    """`INSERT INTO <table> (<every concrete column>) SELECT <alias.column, or
    its override> <tail>`: a template row copied with a few columns changed."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(overrides) - set(columns)
    assert not unknown, f"{model._meta.db_table} has no column {unknown}"
    values = [overrides.get(column, f"{alias}.{quote(column)}") for column in columns]
    return (f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(map(quote, columns))}) SELECT {', '.join(values)} "
            f"{tail}")  # fmt: skip


def shifted(alias: str, column: str) -> str:
    """A template row's time, moved as far as its case's copy was (t → b)."""
    return f"b.created_at + ({alias}.{quote(column)} - t.created_at)"


class Arm:
    """One database with `open_count` open cases, `due_count` of them due."""

    def __init__(self) -> None:
        self.marks: dict[str, int] = {}
        self.due_count = 0

    # Loading.

    def load(self, open_count: int, due_count: int) -> dict:
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        self.due_count = due_count
        self.make_templates()
        self.plan_copies(open_count, due_count)
        self.copy_cases()
        self.copy_history()
        self.marks = self.max_ids()
        execute("VACUUM ANALYZE")
        assert self.due_now() == due_count, self.due_now()
        return {"seconds": time.perf_counter() - started, "sizes": self.sizes()}

    def make_templates(self) -> None:
        from recours.accounts.models import Customer, Organization, Role
        from recours.testing import make_staff
        from recours.testing.deadlines import expiry_templates

        platform = Organization.objects.create(
            name="Bench platform", slug="platform", kind=Organization.Kind.PLATFORM
        )
        merchant = Organization.objects.create(
            name="Bench shop", slug="shop", kind=Organization.Kind.MERCHANT
        )
        customer = Customer.objects.create(
            organization=merchant, customer_number="C-10001", name="Camille Martin",
            email="camille@example.org", phone="+33612345678",
        )  # fmt: skip
        agent = make_staff("bench-agent", platform, Role.AGENT)
        # Someone to tell of a breach, and the merchant's address.
        make_staff("bench-lead", platform, Role.ADMIN)
        make_staff("bench-merchant", merchant, Role.MERCHANT_AGENT)
        templates = list(expiry_templates(agent, customer).values())
        execute("CREATE TABLE bench_template (slot int PRIMARY KEY, case_id bigint)")
        for slot, case in enumerate(templates):
            execute("INSERT INTO bench_template VALUES (%s, %s)", [slot, case.pk])
        self.template_count = len(templates)

    def plan_copies(self, open_count: int, due_count: int) -> None:
        """bench_copy: per copy its number, reference, template, dates; the due
        ones every `stride`-th, cycling through the templates too."""
        stride = open_count // due_count
        start = datetime.now(UTC)
        execute(
            f"""
            CREATE UNLOGGED TABLE bench_copy AS
            WITH g AS (
                SELECT i, (i %% %(stride)s = 0 AND i <= %(stride)s * %(due)s) AS is_due
                FROM generate_series(1, %(open)s) AS i
            )
            SELECT g.i, g.is_due, '{PREFIX}' || to_char(g.i, 'FM000000000') AS reference,
                bt.case_id AS template_id,
                %(start)s - (%(open)s - g.i) * %(created_step)s AS created_at,
                CASE WHEN g.is_due
                    THEN %(start)s - interval '1 minute' - g.i / %(stride)s
                        * interval '1 second'
                    ELSE %(start)s + interval '1 hour' + g.i * %(due_step)s
                END AS due_at
            FROM g JOIN bench_template bt ON bt.slot = CASE WHEN g.is_due
                THEN (g.i / %(stride)s) %% %(templates)s ELSE g.i %% %(templates)s END
            """,  # noqa: S608 (no user input: the prefix is a constant)
            {"stride": stride, "due": due_count, "open": open_count, "start": start,
             "created_step": CREATED_SPREAD / open_count,
             "due_step": OPEN_DUE_SPREAD / open_count,
             "templates": self.template_count},
        )  # fmt: skip

    def copy_cases(self) -> None:
        from recours.cases.models import Case

        execute(copy_statement(
            Case, "t",
            {"reference": "b.reference", "due_at": "b.due_at",
             "created_at": "b.created_at", "updated_at": "b.created_at"},
            "FROM bench_copy b JOIN cases_case t ON t.id = b.template_id ORDER BY b.i",
        ))  # fmt: skip
        execute("""CREATE TABLE bench_due AS SELECT c.id AS case_id, b.template_id,
                   b.due_at FROM bench_copy b JOIN cases_case c USING (reference)
                   WHERE b.is_due""")  # fmt: skip
        execute("ALTER TABLE bench_due ADD PRIMARY KEY (case_id)")

    def copy_history(self) -> None:
        """Each copy's timeline lines, audit events and (sent) outbox messages,
        copied from its template's."""
        from recours.cases.models import CaseEvent
        from recours.core.models import AuditEvent
        from recours.notifications.models import OutboxMessage

        copies = ("FROM bench_copy b JOIN cases_case c USING (reference) "
                  "JOIN cases_case t ON t.id = b.template_id ")  # fmt: skip
        execute(copy_statement(
            CaseEvent, "e",
            {"case_id": "c.id", "created_at": shifted("e", "created_at")},
            copies + "JOIN cases_caseevent e ON e.case_id = t.id ORDER BY b.i, e.id",
        ))  # fmt: skip
        execute(copy_statement(
            AuditEvent, "a",
            {"object_id": "c.id::text", "created_at": shifted("a", "created_at")},
            copies + "JOIN core_auditevent a ON a.object_type = 'cases.case' "
            "AND a.object_id = t.id::text ORDER BY b.i, a.id",
        ))  # fmt: skip
        sent_at = shifted("o", "created_at")
        execute(copy_statement(
            OutboxMessage, "o",
            {"dedupe_key": "replace(o.dedupe_key, t.reference, c.reference)",
             "about": "'cases.case:' || c.id", "about_reference": "c.reference",
             "created_at": sent_at, "next_attempt_at": sent_at, "sent_at": sent_at,
             "status": "'sent'", "attempts": "1", "lease_until": "NULL",
             "lease_token": "''"},
            copies + "JOIN notifications_outboxmessage o "
            "ON o.about = 'cases.case:' || t.id ORDER BY b.i, o.id",
        ))  # fmt: skip

    def max_ids(self) -> dict[str, int]:
        """The highest id of every table with an integer id: rows above it are
        the sweeps' own, deleted before the next one."""
        from django.apps import apps
        from django.db import models

        marks = {}
        for model in apps.get_models(include_auto_created=True):
            pk = model._meta.pk
            if model._meta.managed and isinstance(pk, models.AutoField):
                table = model._meta.db_table
                # Names from the models, quoted: no input reaches this SQL.
                marks[table] = execute(
                    f"SELECT coalesce(max({quote(pk.column)}), 0) FROM {quote(table)}"  # noqa: S608
                )[0][0]
        return marks

    def due_now(self) -> int:
        return execute("SELECT count(*) FROM cases_case WHERE due_at <= now()")[0][0]

    def sizes(self) -> dict[str, object]:
        rows = execute("""SELECT (SELECT count(*) FROM cases_case),
            (SELECT count(*) FROM cases_case WHERE due_at IS NOT NULL),
            (SELECT count(*) FROM cases_caseevent),
            (SELECT count(*) FROM core_auditevent),
            (SELECT count(*) FROM notifications_outboxmessage),
            pg_size_pretty(pg_total_relation_size('cases_case')),
            pg_size_pretty(pg_relation_size('case_due'))""")[0]  # fmt: skip
        names = ("cases", "with deadline", "timeline lines", "audit events",
                 "outbox messages", "cases_case with indexes", "index case_due")  # fmt: skip
        return dict(zip(names, rows, strict=True))

    # Sweeping.

    def reset(self) -> None:
        """Put the due cases back as their templates are, with their past
        deadline, and delete what the last sweep inserted (not timed)."""
        from django.db import connection

        from recours.cases.models import Case
        from recours.core.append_only import erasing

        grown = [table for table, mark in self.max_ids().items()
                 if mark > self.marks[table]]  # fmt: skip
        kept = {"id", "reference", "created_at", "due_at"}
        columns = [f.column for f in Case._meta.concrete_fields
                   if f.column not in kept]  # fmt: skip
        with erasing(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in grown:
                cursor.execute(f"DELETE FROM {quote(table)} WHERE id > %s",  # noqa: S608
                               [self.marks[table]])  # fmt: skip
            assignments = ", ".join(f"{quote(c)} = t.{quote(c)}" for c in columns)
            cursor.execute(f"""UPDATE cases_case c SET {assignments}, due_at = d.due_at
                FROM bench_due d JOIN cases_case t ON t.id = d.template_id
                WHERE c.id = d.case_id""")  # noqa: S608 (column names from the model)
        for table in sorted({"cases_case", *grown}):
            execute(f"VACUUM {quote(table)}")
        assert self.due_now() == self.due_count, self.due_now()

    def sweep(self) -> dict:
        from recours.testing.deadlines import sweep_deadlines

        self.reset()
        started = time.perf_counter()
        handled = sweep_deadlines()
        seconds = time.perf_counter() - started
        assert handled == self.due_count, f"handled {handled} of {self.due_count}"
        assert self.due_now() == 0, f"{self.due_now()} cases still due"
        return {"seconds": seconds, "handled": handled}

    def profile(self) -> dict:
        """One sweep with each statement timed, by kind (the warm-up)."""
        from django.db import connection

        from recours.testing.deadlines import sweep_deadlines

        self.reset()
        times: dict[str, list[float]] = defaultdict(list)

        def timing(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                times[statement_kind(sql)].append(time.perf_counter() - started)

        with connection.execute_wrapper(timing):
            started = time.perf_counter()
            handled = sweep_deadlines()
            seconds = time.perf_counter() - started
        return {"seconds": seconds, "handled": handled,
                "kinds": {k: (len(v), sum(v)) for k, v in times.items()}}  # fmt: skip

    def explain(self) -> str:
        """EXPLAIN ANALYZE of the job's due query, all due cases in place."""
        from django.db import connection, transaction

        from recours.core.worker import JOBS
        from recours.testing.deadlines import DEADLINE_JOB

        self.reset()
        sent: list[tuple[str, object]] = []

        def remember(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            sent.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(remember):
            JOBS[DEADLINE_JOB].run()
        sql, params = next((s, p) for s, p in sent
                           if "FOR UPDATE" in s and '"cases_case"' in s)  # fmt: skip
        self.reset()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        # The select list is every column: shorten it for the reader.
        shown = re.sub(r"^SELECT .*? FROM", "SELECT … FROM",
                       connection.ops.compose_sql(sql, params))  # fmt: skip
        return f"{shown}\n\n{plan}"


def statement_kind(sql: str) -> str:
    """The statement's verb and table: "SELECT cases_case FOR UPDATE"…"""
    verb = sql.lstrip().split(None, 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return verb
    if verb == "SELECT":
        match = re.search(r'\bFROM "(\w+)"', sql)
    else:
        match = re.search(r'^\s*\w+\s+(?:INTO\s+)?"(\w+)"', sql, re.IGNORECASE)
    table = match.group(1) if match else "?"
    extra = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    extra += " COUNT" if verb == "SELECT" and "COUNT(" in sql.upper() else ""
    return f"{verb} {table}{extra}"


# --- Parent: the databases, the children, the rounds, the report. ------------


class Child:
    def __init__(self, database_url: str, var_dir: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(
            target=child_main, args=(child_end, database_url, var_dir), daemon=True
        )
        self.process.start()

    def send(self, command: str, *args: object) -> None:
        self.pipe.send((command, args))

    def receive(self) -> object:
        if not self.pipe.poll(CHILD_REPLY_TIMEOUT_SECONDS):
            raise SystemExit("a child process did not answer")
        status, value = self.pipe.recv()
        if status == "error":
            raise SystemExit(f"child failed:\n{value}")
        return value

    def call(self, command: str, *args: object) -> object:
        self.send(command, *args)
        return self.receive()

    def close(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError, EOFError, SystemExit):
                self.call("close")
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


def size_url(database_url: str, open_count: int) -> str:
    parts = urlsplit(database_url)
    return parts._replace(path=f"{parts.path}_o{open_count}").geturl()


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(children: dict[int, Child], runs: int) -> tuple[dict, dict]:
    """The profiled warm-up sweeps, then the timed runs."""
    seconds: dict[int, list[float]] = {size: [] for size in children}
    sizes = sorted(children)
    profiles = {}
    for size in sizes:
        progress(f"warm-up sweep, profiled, {size:,} open…")
        profiles[size] = children[size].call("profile")
    for run in range(runs):
        order = sizes if run % 2 == 0 else sizes[::-1]
        for size in order:
            result = children[size].call("sweep")
            seconds[size].append(result["seconds"])
        progress(f"run {run + 1}/{runs}: " + ", ".join(
            f"{size:,} open {seconds[size][-1]:.2f} s" for size in sizes))  # fmt: skip
    return seconds, profiles


def machine() -> str:
    import platform

    import django
    import psycopg

    return (f"Python {sys.version.split()[0]}, Django {django.get_version()}, "
            f"psycopg {psycopg.__version__}, {os.cpu_count()} CPUs, "
            f"Linux {platform.release()}")  # fmt: skip


def command_line() -> str:
    return "DATABASE_URL=… .venv/bin/python bench/deadline_sweep.py " + " ".join(
        sys.argv[1:]
    )


def print_results(args, loads, seconds, profiles, plans, load) -> None:
    sizes = sorted(seconds)
    small, large = sizes[0], sizes[-1]
    print(f"\n`{command_line()}` — {machine()}; {args.due:,} due cases per sweep, "
          f"{args.runs} runs per size (after one profiled warm-up), alternating which size "
          f"goes first; load average (1 min) {load}.\n")  # fmt: skip
    print("| open cases | loaded in | median sweep | min - max | per due case "
          "(median) | statements per due case |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for size in sizes:
        values, statements = (
            seconds[size],
            sum(count for count, _s in profiles[size]["kinds"].values()),
        )
        print(f"| {size:,} | {loads[size]['seconds']:.0f} s | "
              f"{statistics.median(values):.3f} s | {min(values):.3f} - "
              f"{max(values):.3f} s | {statistics.median(values) / args.due * 1000:.2f}"
              f" ms | {statements / args.due:.1f} |")  # fmt: skip
    ratio = statistics.median(seconds[large]) / statistics.median(seconds[small])
    run_ratios = [b / a for a, b in zip(seconds[small], seconds[large], strict=True)]
    verdict = "met" if ratio <= TARGET_RATIO_MAX else "NOT met"
    print(f"\nRatio {large:,} / {small:,} open (medians): **{ratio:.2f}x** "
          f"(per-round ratios {min(run_ratios):.2f}x - {max(run_ratios):.2f}x); "
          f"target ≤ {TARGET_RATIO_MAX:.0f}x: {verdict}.\n")  # fmt: skip
    for size in sizes:
        print(f"- {size:,} open: " + ", ".join(
            f"{name} {value:,}" if isinstance(value, int) else f"{name} {value}"
            for name, value in loads[size]["sizes"].items()))  # fmt: skip
    print_profiles(profiles, sizes)
    for size in sizes:
        print(f"\nThe due query, {size:,} open, EXPLAIN (ANALYZE, BUFFERS):\n\n```")
        print(plans[size].strip())
        print("```")


def print_profiles(profiles, sizes) -> None:
    print("\nThe profiled warm-up sweep of each size (not one of the runs): time in SQL by "
          "statement kind (commits are not statements here and are not counted).\n")  # fmt: skip
    kinds = sorted({k for s in sizes for k in profiles[s]["kinds"]},
                   key=lambda k: -profiles[sizes[-1]]["kinds"].get(k, (0, 0))[1])  # fmt: skip
    print("| statement | " + " | ".join(f"{s:,} open: count, total" for s in sizes)
          + " |")  # fmt: skip
    print("|---|" + "---|" * len(sizes))
    for kind in kinds:
        cells = []
        for size in sizes:
            count, total = profiles[size]["kinds"].get(kind, (0, 0.0))
            cells.append(f"{count}, {total * 1000:.0f} ms")
        print(f"| `{kind}` | " + " | ".join(cells) + " |")
    print("| whole sweep | " + " | ".join(
        f"{profiles[s]['seconds'] * 1000:.0f} ms" for s in sizes) + " |")  # fmt: skip


def run(args, database_url: str, var_dir: str) -> None:
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    children = {}
    try:
        for size in args.open:
            children[size] = Child(size_url(database_url, size), f"{var_dir}/{size}")
        for size, child in children.items():
            progress(f"loading {size:,} open cases ({args.due:,} due)…")
            child.send("load", size, args.due)
        loads = {size: child.receive() for size, child in children.items()}
        seconds, profiles = measure(children, args.runs)
        load_end = os.getloadavg()[0]
        progress("EXPLAIN…")
        plans = {size: child.call("explain") for size, child in children.items()}
    finally:
        for child in children.values():
            child.close()
    load = f"{load_start:.2f} at start, {load_end:.2f} at the end of the runs"
    print_results(args, loads, seconds, profiles, plans, load)
    print(f"\nThe whole run took {time.perf_counter() - started:.0f} s.")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, nargs=2, default=[10_000, 1_000_000],
                        metavar=("SMALL", "LARGE"),
                        help="open cases in each database (due ones included)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="10,000 vs 100,000 open, 3 runs: about a minute")  # fmt: skip
    parser.add_argument("--due", type=int, default=1_000,
                        help="cases whose deadline has passed, per database")  # fmt: skip
    parser.add_argument("--runs", type=int, default=None,
                        help="timed sweeps per size (default 5, 3 with --quick)")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.open = [10_000, 100_000]
    if args.runs is None:
        args.runs = 3 if args.quick else 5
    if args.runs < 1 or args.due < 1 or min(args.open) < 2 * args.due:
        parser.error("need --runs >= 1, --due >= 1 and --open >= 2 x --due")
    if args.open[0] == args.open[1]:
        parser.error("the two --open sizes must differ")
    return args


def main() -> None:
    args = parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    name = postgres_database_name(database_url)
    if name is None:
        raise SystemExit(
            "set DATABASE_URL=postgres://…/recours_bench (PostgreSQL only)"
        )
    var_dir = tempfile.mkdtemp(prefix="bench-deadlines-")
    urls = {size: size_url(database_url, size) for size in args.open}
    for size, url in urls.items():
        recreate_postgres(url, f"{name}_o{size}", create=True)
    try:
        run(args, database_url, var_dir)
    except KeyboardInterrupt:
        progress("interrupted: dropping the databases")
    finally:
        for size, url in urls.items():
            recreate_postgres(url, f"{name}_o{size}", create=False)


if __name__ == "__main__":
    main()
