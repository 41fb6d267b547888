"""Benchmark report intake and outbox delivery against bare baselines.

Run from the repository root:

    .venv/bin/python bench/intake.py [--n 300] [--emails 500]
    DATABASE_URL=postgres://postgres@localhost:5432/recours_bench \
        .venv/bin/python bench/intake.py

What it does, in one process and one run:

1. Starts a counting SMTP sink (aiosmtpd) in a child process on 127.0.0.1.
2. Points Recours at a fresh RECOURS_VAR_DIR under /tmp and a throwaway
   database (a SQLite file there, or the PostgreSQL database named in
   DATABASE_URL, which must contain "bench" and is dropped and re-created),
   migrates it and bulk-seeds commerce data so matching has rows to search.
3. Intake: times `create_case()` against a bare `Case.objects.create()` of an
   equivalent row, rotating which arm goes first on each iteration so all
   arms share the machine's noise; a third arm times validation + matching
   alone (read-only) to show where the action's time goes.
4. Delivery: queues e-mails in the outbox, then alternates rounds of
   `deliver_due()` loops with rounds of the same messages sent straight
   through Django's SMTP backend (`send_now()`, one connection per message,
   as the outbox does), and reads both rates.
5. Prints a markdown table, then drops the database and the directory.

The numbers are only meaningful as ratios within one run (see BENCHMARKS.md).
"""

import argparse
import math
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent
WARMUP_CALLS = 10
STATEMENT_SAMPLE_CALLS = 20
OUTBOX_ROUND_SIZE = 50
SINK_START_TIMEOUT_SECONDS = 10
DELIVERY_LOOP_CALLS_MAX = 10_000


@dataclass
class Seed:
    platform: object = None
    merchants: list = field(default_factory=list)
    terminals: list = field(default_factory=list)
    customers: list = field(default_factory=list)
    orders: list = field(default_factory=list)


# --- The SMTP sink, in its own process so it does not share our GIL. -------


class CountingHandler:
    def __init__(self, counter) -> None:
        self.counter = counter

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_sink(counter, stop, ready) -> None:
    from aiosmtpd.controller import Controller

    port = free_port()
    # A fixed server name: otherwise aiosmtpd asks the resolver on each connection.
    controller = Controller(
        CountingHandler(counter), hostname="127.0.0.1", port=port,
        server_hostname="sink.bench.invalid",
    )  # fmt: skip
    controller.start()
    ready.send(port)
    stop.wait()
    controller.stop()


class Sink:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.counter = context.Value("q", 0)
        self.stop_event = context.Event()
        receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=run_sink, args=(self.counter, self.stop_event, sender), daemon=True
        )
        self.process.start()
        if not receiver.poll(SINK_START_TIMEOUT_SECONDS):
            raise SystemExit("the SMTP sink did not start")
        self.port = receiver.recv()

    @property
    def received(self) -> int:
        return self.counter.value

    def close(self) -> None:
        self.stop_event.set()
        self.process.join(SINK_START_TIMEOUT_SECONDS)


# --- Environment and throwaway database. ------------------------------------


def configure_environment(var_dir: str, smtp_port: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "recours.settings"
    os.environ["RECOURS_VAR_DIR"] = var_dir
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    os.environ["SMTP_HOST"] = "127.0.0.1"
    os.environ["SMTP_PORT"] = str(smtp_port)
    os.environ["SMTP_STARTTLS"] = "false"
    os.environ["SMTP_SSL"] = "false"
    os.environ["SMTP_USER"] = ""
    os.environ["SMTP_PASSWORD"] = ""
    os.environ["SMTP_TIMEOUT_SECONDS"] = "10"


def postgres_database_name(url: str) -> str | None:
    """The database to create and drop, or None for the default SQLite file."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit("DATABASE_URL must be a postgres:// URL (or unset for SQLite)")
    name = parts.path.lstrip("/")
    # We drop this database: refuse anything that does not look throwaway.
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: use a name like recours_bench")
    return name


def maintenance_conninfo(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path="/postgres").geturl()


def recreate_postgres(url: str, name: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_conninfo(url), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        if create:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def close_database_connections() -> None:
    from django.apps import apps
    from django.db import connections

    if not apps.ready:
        return
    for connection in connections.all():
        connection.close()
        # PostgreSQL runs with psycopg's pool, which keeps sessions open.
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()


# --- Seed data. --------------------------------------------------------------


def seed(customers_count: int, orders_count: int, rng: random.Random) -> Seed:
    """Bulk-create one platform, 3 merchants, 12 kiosks, customers and orders."""
    from django.utils import timezone

    from recours.accounts.models import Customer, Organization
    from recours.commerce.models import Order, Terminal

    data = Seed()
    data.platform = Organization.objects.create(
        name="Bench platform", slug="bench-platform", kind=Organization.Kind.PLATFORM
    )
    data.merchants = Organization.objects.bulk_create(
        Organization(name=f"Merchant {i}", slug=f"merchant-{i}",
                     kind=Organization.Kind.MERCHANT)
        for i in range(3)
    )  # fmt: skip
    data.terminals = Terminal.objects.bulk_create(
        Terminal(organization=data.merchants[i % 3], code=f"KIOSK-{i:03d}",
                 name=f"Kiosk {i}", location=f"Hall {i}")
        for i in range(12)
    )  # fmt: skip
    data.customers = Customer.objects.bulk_create(
        (
            Customer(organization=data.merchants[i % 3], customer_number=f"C{100000 + i}",
                     name=f"Customer {i}", email=f"customer{i}@example.test",
                     phone=f"+3361{i:07d}")
            for i in range(customers_count)
        ),
        batch_size=500,
    )  # fmt: skip
    now = timezone.now()
    orders = []
    for i in range(orders_count):
        customer = rng.choice(data.customers)
        kiosks = [
            t for t in data.terminals if t.organization_id == customer.organization_id
        ]
        orders.append(
            Order(organization_id=customer.organization_id, customer=customer,
                  terminal=rng.choice(kiosks), reference=f"ORD-{i:07d}",
                  invoice_reference=f"INV-{i:07d}", status=Order.Status.PAID,
                  total_minor=rng.randint(100, 50_000),
                  placed_at=now - timedelta(minutes=rng.randint(1, 60 * 24 * 60)))
        )  # fmt: skip
    data.orders = Order.objects.bulk_create(orders, batch_size=1000)
    return data


def refresh_statistics() -> None:
    """Give PostgreSQL's planner the statistics autovacuum would gather soon.

    Without them the plans of the first minute after a bulk load differ from
    a live database's, and autovacuum may kick in halfway through the run.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def make_report(data: Seed, rng: random.Random, index: int):
    """A realistic mix: invoice, customer number, phone, order reference, unknown."""
    from recours.cases.intake import Report

    order = rng.choice(data.orders)
    customer = rng.choice(data.customers)
    kiosk = next(t for t in data.terminals if t.pk == order.terminal_id)
    roll = rng.random()
    email = rng.random() < 0.8
    report = Report(
        problem="payment_failed", contact_channel="email" if email else "sms",
        contact_email=f"reporter{index}@example.test" if email else "",
        contact_phone="" if email else "06 12 34 56 78", payment_started="yes",
        description="Le paiement a échoué au kiosque, pas de reçu et pas de monnaie. "
        * rng.randint(1, 4),
    )  # fmt: skip
    if roll < 0.4:
        report.invoice_reference, report.terminal_code = (
            order.invoice_reference,
            kiosk.code,
        )
    elif roll < 0.6:
        report.customer_number = customer.customer_number.lower()
    elif roll < 0.75:
        report.problem, report.phone = "not_received", customer.phone
    elif roll < 0.9:
        report.problem, report.order_reference = "charged_twice", order.reference
    else:
        report.invoice_reference, report.terminal_code = f"INV-X{index}", kiosk.code
    return report


# --- Measurements. -----------------------------------------------------------


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    function()
    return (time.perf_counter_ns() - started) / 1e6


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with `fraction` at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def statements(function: Callable[[], object]) -> int:
    """How many SQL statements a call runs (outside any timed region)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured.captured_queries)


def bare_row(template) -> dict:
    """The columns of a case create_case just wrote, with a fresh reference."""
    from django.utils import timezone

    from recours.cases.models import Case
    from recours.core.references import new_reference

    row = {f.attname: getattr(template, f.attname) for f in Case._meta.concrete_fields}
    del row["id"]
    now = timezone.now()
    row.update(reference=new_reference("RB"), created_at=now, updated_at=now)
    return row


def validate_and_match(report) -> None:
    from recours.cases.intake import clean_report
    from recours.commerce.lookups import match_identifiers

    cleaned, terminal = clean_report(report, None)
    match_identifiers(customer_number=cleaned.customer_number, phone_e164=cleaned.phone,
                      invoice_reference=cleaned.invoice_reference,
                      order_reference=cleaned.order_reference, terminal=terminal)  # fmt: skip


def measure_intake(data: Seed, n: int, rng: random.Random) -> dict:
    """Alternate the arms' order each iteration so they share the noise."""
    from recours.cases.intake import create_case
    from recours.cases.models import Case
    from recours.core.audit import Actor

    actor = Actor(label="customer")
    reports = [make_report(data, rng, i) for i in range(WARMUP_CALLS + n)]
    samples = [make_report(data, rng, i) for i in range(STATEMENT_SAMPLE_CALLS)]
    last = None
    for report in reports[:WARMUP_CALLS]:
        last = create_case(actor, report, [])
        validate_and_match(report)
        Case.objects.create(**bare_row(last))
    ours, bare, matching = [], [], []
    for index, report in enumerate(reports[WARMUP_CALLS:]):
        row = bare_row(last)
        created: list = []
        arms = [
            (ours, lambda r=report, out=created: out.append(create_case(actor, r, []))),
            (matching, lambda r=report: validate_and_match(r)),
            (bare, lambda row=row: Case.objects.create(**row)),
        ]
        # Rotate who goes first so no arm always runs on a cold or warm cache.
        shift = index % len(arms)
        for arm_samples, run in arms[shift:] + arms[:shift]:
            arm_samples.append(timed(run))
        last = created[0]
    return {
        "ours": ours, "bare": bare, "matching": matching,
        # Statement counts vary with what the report names: keep the spread.
        "ours_statements": [statements(lambda r=r: create_case(actor, r, []))
                            for r in samples],
        "bare_statements": [statements(lambda: Case.objects.create(**bare_row(last)))],
    }  # fmt: skip


def queue_emails(count: int, prefix: str) -> None:
    """Queue acknowledgements of existing cases, rendered by the real templates."""
    from django.db import transaction

    from recours.cases.models import Case
    from recours.cases.notices import status_url
    from recours.notifications.outbox import enqueue

    cases = list(
        Case.objects.filter(reference__startswith="RC-").order_by("pk")[:count]
    )
    with transaction.atomic():
        for index in range(count):
            case = cases[index % len(cases)]
            enqueue(dedupe_key=f"bench:{prefix}:{index}", channel="email",
                    recipient=f"customer{index}@example.test",
                    template="case_acknowledged.email",
                    context={"case": case, "status_url": status_url(case), "hours": 24},
                    language="fr", organization_id=case.organization_id,
                    about=f"cases.case:{case.pk}")  # fmt: skip


def deliver_round(size: int) -> int:
    """Call deliver_due() until `size` messages went out; return how many did."""
    from recours.notifications.outbox import deliver_due

    delivered = 0
    for _call in range(DELIVERY_LOOP_CALLS_MAX):
        if delivered >= size:
            break
        handled = deliver_due()
        if handled == 0:
            break
        delivered += handled
    return delivered


def direct_copies(prefix: str) -> list:
    """In-memory copies of the queued e-mails, never saved, for the baseline."""
    from recours.notifications.models import OutboxMessage

    copies = []
    for message in OutboxMessage.objects.filter(
        dedupe_key__startswith=f"bench:{prefix}:"
    ):
        message.pk = None
        message.dedupe_key = message.dedupe_key.replace(prefix, "direct", 1)
        copies.append(message)
    return copies


def measure_delivery(emails: int) -> dict:
    """Rounds of OUTBOX_ROUND_SIZE messages, alternating which arm goes first."""
    from recours.notifications.models import OutboxMessage
    from recours.notifications.outbox import send_now

    # The intake left acknowledgements pending: mark them sent, as a live
    # outbox would have, so the table holds finished rows the index skips.
    OutboxMessage.objects.filter(status="pending").update(status="sent")
    queue_emails(WARMUP_CALLS, "warmup")
    warmup_statements = statements(lambda: deliver_round(WARMUP_CALLS))
    queue_emails(emails, "bench")
    copies = direct_copies("bench")
    for message in direct_copies("warmup"):
        send_now(message)
    ours_rates, direct_rates, ours_ms, direct_ms, delivered = [], [], 0.0, 0.0, 0
    for index, start in enumerate(range(0, emails, OUTBOX_ROUND_SIZE)):
        chunk = copies[start : start + OUTBOX_ROUND_SIZE]
        outcome = {}

        def run_ours(chunk=chunk, outcome=outcome) -> None:
            outcome["ours"] = deliver_round(len(chunk))

        def run_direct(chunk=chunk) -> None:
            for message in chunk:
                send_now(message)

        arms = [("ours", run_ours), ("direct", run_direct)]
        if index % 2:
            arms.reverse()
        times = {name: timed(run) for name, run in arms}
        delivered += outcome["ours"]
        ours_ms += times["ours"]
        direct_ms += times["direct"]
        ours_rates.append(outcome["ours"] / times["ours"] * 1000)
        direct_rates.append(len(chunk) / times["direct"] * 1000)
    return {
        "delivered": delivered, "direct_sent": len(copies),
        "ours_rate": delivered / ours_ms * 1000, "direct_rate": len(copies) / direct_ms * 1000,
        "ours_rates": ours_rates, "direct_rates": direct_rates,
        "statements": warmup_statements, "warmup": WARMUP_CALLS,
        "sent_rows": OutboxMessage.objects.filter(dedupe_key__startswith="bench:bench:",
                                                  status="sent").count(),
    }  # fmt: skip


# --- Report. -----------------------------------------------------------------


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return f"PostgreSQL {version} (psycopg {__import__('psycopg').__version__}, pool)"


def spread(counts: list[int]) -> str:
    mean = statistics.mean(counts)
    if min(counts) == max(counts):
        return f"{mean:.0f}"
    return f"{mean:.1f} ({min(counts)}-{max(counts)})"


def command_line() -> str:
    prefix = "DATABASE_URL=… " if os.environ.get("DATABASE_URL") else ""
    return prefix + " ".join([".venv/bin/python", "bench/intake.py", *sys.argv[1:]])


def print_table(
    args, seeded: str, intake: dict, delivery: dict, sink_count: int, load: str
) -> None:
    ours, bare, matching = intake["ours"], intake["bare"], intake["matching"]
    median_ours, median_bare = statistics.median(ours), statistics.median(bare)
    p95_ours, p95_bare = percentile(ours, 0.95), percentile(bare, 0.95)
    median_matching = statistics.median(matching)
    rounds = len(delivery["ours_rates"])
    print(f"### {database_label()}\n")
    print(f"`{command_line()}` — Python {sys.version.split()[0]}, Django {__import__('django').__version__}, "
          f"{os.cpu_count()} CPUs; {seeded}; intake n={args.n} per arm "
          f"(+{WARMUP_CALLS} warm-up); delivery {args.emails} e-mails per arm in "
          f"{rounds} alternating round(s) of {OUTBOX_ROUND_SIZE}; SMTP sink received "
          f"{sink_count}; load average (1 min) {load}.\n")  # fmt: skip
    print("| measure | ours | baseline | ratio ours/baseline |")
    print("|---|---|---|---|")
    print(
        f"| intake, median per call | `create_case()` {median_ours:.2f} ms | "
        f"bare `Case.objects.create()` {median_bare:.2f} ms | "
        f"{median_ours / median_bare:.1f}x |"
    )
    print(
        f"| intake, p95 per call | {p95_ours:.2f} ms | {p95_bare:.2f} ms | "
        f"{p95_ours / p95_bare:.1f}x |"
    )
    print(
        f"| of which validation + matching (read-only arm), median | "
        f"{median_matching:.2f} ms | — | {median_matching / median_ours:.0%} "
        f"of `create_case()` |"
    )
    print(
        f"| SQL statements per call (mean, min-max of {STATEMENT_SAMPLE_CALLS}) | "
        f"{spread(intake['ours_statements'])} | "
        f"{spread(intake['bare_statements'])} | — |"
    )
    print(
        f"| delivery, messages/s over the run | `deliver_due()` loop "
        f"{delivery['ours_rate']:.0f}/s | direct SMTP `send_now()` "
        f"{delivery['direct_rate']:.0f}/s | "
        f"{delivery['ours_rate'] / delivery['direct_rate']:.2f}x |"
    )
    print(
        f"| delivery, median of per-round rates | "
        f"{statistics.median(delivery['ours_rates']):.0f}/s | "
        f"{statistics.median(delivery['direct_rates']):.0f}/s | "
        f"{statistics.median(delivery['ours_rates']) / statistics.median(delivery['direct_rates']):.2f}x |"
    )
    print(f"| SQL statements per {delivery['warmup']} messages delivered | "
          f"{delivery['statements']} | 0 | — |")  # fmt: skip
    print()


def print_plans(data: Seed) -> None:
    """The plans of the matching lookups, as create_case runs them."""
    from recours.accounts.models import Customer
    from recours.commerce.lookups import same_text
    from recours.commerce.models import Order

    order, customer = data.orders[len(data.orders) // 2], data.customers[-1]
    lookups = {
        "order by invoice reference (same_text)": Order.objects.filter(
            same_text("invoice_reference", order.invoice_reference.lower())
        ),
        "order by order reference (same_text)": Order.objects.filter(
            same_text("reference", order.reference.lower())
        ),
        "customer by number (same_text)": Customer.objects.filter(
            same_text("customer_number", customer.customer_number.lower())
        ),
    }
    print("```")
    for label, queryset in lookups.items():
        print(f"-- {label}")
        print(queryset.order_by("pk").explain(), end="\n\n")
    print("```")


def check_delivery(delivery: dict, emails: int, sink_count: int) -> None:
    expected = 2 * delivery["warmup"] + 2 * emails
    assert delivery["delivered"] == emails, delivery["delivered"]
    assert delivery["sent_rows"] == emails, delivery["sent_rows"]
    assert sink_count == expected, (sink_count, expected)


def run(args, sink: Sink) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    load_at_start = os.getloadavg()[0]
    rng = random.Random(args.seed)
    call_command("migrate", interactive=False, verbosity=0)
    data = seed(args.customers, args.orders, rng)
    refresh_statistics()
    seeded = (f"seeded 1 platform, {len(data.merchants)} merchants, "
              f"{len(data.terminals)} kiosks, {len(data.customers)} customers, "
              f"{len(data.orders)} orders")  # fmt: skip
    intake = measure_intake(data, args.n, rng)
    delivery = measure_delivery(args.emails)
    # Let the sink finish counting the last message it acknowledged.
    time.sleep(0.2)
    sink_count = sink.received
    check_delivery(delivery, args.emails, sink_count)
    # Other work on the machine shows up here: read it beside the ratios.
    load = f"{load_at_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    print_table(args, seeded, intake, delivery, sink_count, load)
    if args.explain:
        print_plans(data)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="create_case calls per arm")
    parser.add_argument("--emails", type=int, default=500, help="e-mails per arm")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20_260_509, help="random seed")
    parser.add_argument(
        "--explain", action="store_true", help="also print the matching query plans"
    )
    args = parser.parse_args()
    if args.n < 20 or args.emails < OUTBOX_ROUND_SIZE or args.customers < 1:
        parser.error("need --n >= 20, --emails >= 50 and --customers >= 1")
    return args


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(REPO_DIR))
    database_url = os.environ.get("DATABASE_URL", "")
    database_name = postgres_database_name(database_url)
    var_dir = tempfile.mkdtemp(prefix="recours-bench-", dir="/tmp")
    sink = Sink()
    try:
        configure_environment(var_dir, sink.port)
        if database_name:
            recreate_postgres(database_url, database_name, create=True)
        run(args, sink)
    finally:
        close_database_connections()
        if database_name:
            recreate_postgres(database_url, database_name, create=False)
        sink.close()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
