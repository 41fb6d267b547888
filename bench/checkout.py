"""Benchmark checkout throughput on PostgreSQL against the same transaction in raw SQL.

Run from the repository root (PostgreSQL only; the database name must
contain "bench": it is dropped and re-created, and dropped at the end):

    DATABASE_URL=postgres://postgres@localhost:5432/recours_bench_checkout \
        .venv/bin/python bench/checkout.py [--clients 4 16] [--rounds 5]

What it does, in one run:

1. Migrates a throwaway database and bulk-creates one dealer, funded
   customer wallets (with the top-up entries that explain their balances),
   coins in stock and one active reservation of one coin per checkout to come.
2. Starts client processes (one per concurrent client, each with its own
   database connection, as gunicorn workers would have).
3. For each number of clients and each payment method (wallet, card), runs
   rounds alternating the two arms, each client checking out its own
   reservations (distinct items and customers):
   - ours: `recours.commerce.actions.checkout(actor, reservation, [part])`;
   - raw: the same transaction written by hand through psycopg (lock the
     reservation, the holding and the accounts FOR UPDATE in key order,
     insert order, order line, payment, journal entry, postings, update the
     cached balances and the holding, insert the move and one audit event,
     close the reservation), 17 statements with BEGIN and COMMIT.
   The round's throughput is checkouts / wall-clock seconds of the round.
4. A contention round: many clients submit checkouts of the same few
   reservations (a double-clicked "pay" button, retries): exactly one per
   reservation may succeed, the others must get a conflict.
5. Counts SQL statements per checkout of ours, profiles ours on one client,
   checks the books (cached balances equal postings, one holder per item,
   one order per reservation), prints markdown tables and drops the database.

Only the ratio within one run means something (see BENCHMARKS.md).
"""

import argparse
import contextlib
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import (  # bench/ is not a package
    close_database_connections,
    postgres_database_name,
    recreate_postgres,
)

REPO_DIR = Path(__file__).resolve().parent.parent
PRICE_MINOR = 250_000
WALLET_FUNDS_MINOR = 10**12
CONTENDED_RESERVATIONS = 4
WORKER_START_TIMEOUT_SECONDS = 60
ROUND_TIMEOUT_SECONDS = 300
PROFILE_CHECKOUTS = 100
STATEMENT_SAMPLE_CHECKOUTS = 10
ACTOR_LABEL = "bench"
RAW_STATEMENTS_PER_CHECKOUT = 17


class RawConflict(Exception):
    pass


# --- The raw SQL arm. ---------------------------------------------------------

LOCK_RESERVATION = """
SELECT status, expires_at, customer_id, organization_id
FROM commerce_reservation WHERE id = %s FOR UPDATE"""
ACTIVE_LINES = """
SELECT l.id, l.item_id, i.serial, t.name, t.price_minor, t.currency
FROM commerce_reservationline l
JOIN commerce_item i ON i.id = l.item_id
JOIN commerce_itemtype t ON t.id = i.item_type_id
WHERE l.reservation_id = %s AND l.is_active"""
LOCK_HOLDINGS = """
SELECT id, customer_id FROM commerce_holding
WHERE item_id = ANY(%s) ORDER BY id FOR UPDATE"""
LOCK_ACCOUNTS = """
SELECT id, kind, balance_minor FROM ledger_ledgeraccount
WHERE organization_id = %s AND currency = %s
  AND ((customer_id = %s AND kind = 'wallet')
       OR (customer_id IS NULL AND kind = %s)
       OR (customer_id IS NULL AND kind = 'merchant_payable'))
ORDER BY id FOR UPDATE"""
INSERT_ORDER = """
INSERT INTO commerce_order (reference, invoice_reference, status, total_minor,
  currency, placed_at, customer_id, organization_id, external_id)
VALUES (%s, '', 'paid', %s, %s, %s, %s, %s, '') RETURNING id"""
INSERT_ORDER_LINE = """
INSERT INTO commerce_orderline (description, quantity, unit_price_minor,
  currency, item_id, order_id) VALUES (%s, 1, %s, %s, %s, %s)"""
INSERT_PAYMENT = """
INSERT INTO commerce_payment (method, provider, provider_payment_id, status,
  amount_minor, captured_minor, refunded_minor, currency, created_at, order_id,
  external_id) VALUES (%s, '', %s, 'captured', %s, %s, 0, %s, %s, %s, '')"""
INSERT_ENTRY = """
INSERT INTO ledger_journalentry (created_at, kind, memo, actor_label, about,
  organization_id) VALUES (%s, 'checkout', %s, %s, %s, %s) RETURNING id"""
INSERT_POSTINGS = """
INSERT INTO ledger_posting (amount_minor, currency, account_id, entry_id)
VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)"""
MOVE_BALANCES = """
UPDATE ledger_ledgeraccount a SET balance_minor = a.balance_minor + v.amount
FROM (VALUES (%s::bigint, %s::bigint), (%s::bigint, %s::bigint)) v(id, amount)
WHERE a.id = v.id"""
GIVE_HOLDINGS = """
UPDATE commerce_holding SET customer_id = %s, since = %s WHERE id = ANY(%s)"""
INSERT_MOVE = """
INSERT INTO commerce_holdingmove (reason, actor_label, created_at, entry_id,
  from_customer_id, order_id, to_customer_id, item_id)
VALUES ('purchase', %s, %s, %s, NULL, %s, %s, %s)"""
INSERT_AUDIT = """
INSERT INTO core_auditevent (created_at, actor_label, action, object_type,
  object_id, organization_id, reason, data)
VALUES (%s, %s, 'commerce.order_paid', 'commerce.order', %s, %s, '', %s)"""
CLOSE_LINES = """
UPDATE commerce_reservationline SET is_active = false
WHERE reservation_id = %s AND is_active"""
CLOSE_RESERVATION = """
UPDATE commerce_reservation SET status = 'checked_out', order_id = %s
WHERE id = %s"""


def raw_checkout(connection, reservation_id: int, method: str, provider_id: str):
    """The checkout of one coin, by hand: 17 statements with BEGIN/COMMIT."""
    from psycopg.types.json import Jsonb

    from recours.core.references import new_reference

    now = time_now()
    with connection.transaction(), connection.cursor() as cursor:
        status, expires_at, customer_id, organization_id = cursor.execute(
            LOCK_RESERVATION, (reservation_id,)
        ).fetchone()
        if status != "active" or expires_at <= now:
            raise RawConflict(status)
        ((_line_id, item_id, serial, type_name, price, currency),) = cursor.execute(
            ACTIVE_LINES, (reservation_id,)
        ).fetchall()
        holdings = cursor.execute(LOCK_HOLDINGS, ([item_id],)).fetchall()
        if any(holder is not None for _id, holder in holdings):
            raise RawConflict("already_sold")
        source_kind = "wallet" if method == "wallet" else "provider_clearing"
        accounts = cursor.execute(
            LOCK_ACCOUNTS, (organization_id, currency, customer_id, source_kind)
        ).fetchall()
        by_kind = {kind: (pk, balance) for pk, kind, balance in accounts}
        source, balance = by_kind[source_kind]
        payable, _balance = by_kind["merchant_payable"]
        if source_kind == "wallet" and balance < price:
            raise RawConflict("insufficient_balance")
        reference = new_reference("CO")
        (order_id,) = cursor.execute(
            INSERT_ORDER, (reference, price, currency, now, customer_id,
                           organization_id),
        ).fetchone()  # fmt: skip
        description = f"{type_name} {serial}"
        cursor.execute(INSERT_ORDER_LINE, (description, price, currency, item_id,
                                           order_id))  # fmt: skip
        cursor.execute(INSERT_PAYMENT, (method, provider_id, price, price, currency,
                                        now, order_id))  # fmt: skip
        (entry_id,) = cursor.execute(
            INSERT_ENTRY, (now, reference, ACTOR_LABEL, f"commerce.order:{order_id}",
                           organization_id),
        ).fetchone()  # fmt: skip
        cursor.execute(INSERT_POSTINGS, (-price, currency, source, entry_id,
                                         price, currency, payable, entry_id))  # fmt: skip
        cursor.execute(MOVE_BALANCES, (source, -price, payable, price))
        cursor.execute(GIVE_HOLDINGS, (customer_id, now, [h[0] for h in holdings]))
        cursor.execute(INSERT_MOVE, (ACTOR_LABEL, now, entry_id, order_id,
                                     customer_id, item_id))  # fmt: skip
        cursor.execute(INSERT_AUDIT, (now, ACTOR_LABEL, str(order_id), organization_id,
                                      Jsonb({"methods": [method], "entry": entry_id})))  # fmt: skip
        cursor.execute(CLOSE_LINES, (reservation_id,))
        cursor.execute(CLOSE_RESERVATION, (order_id, reservation_id))
    return order_id


def time_now():
    from recours.core import clock

    return clock.now()


# --- Our arm. -----------------------------------------------------------------


def payment_part(method: str, provider_id: str):
    from recours.commerce.actions import PaymentPart
    from recours.core.money import Money

    return PaymentPart(method, Money(PRICE_MINOR, "EUR"), provider_id)


def our_checkout(reservation_id: int, method: str, provider_id: str) -> int:
    from recours.commerce.actions import checkout
    from recours.commerce.models import Reservation
    from recours.core.audit import Actor

    # What a view or the API would do: load the reservation, then check out.
    reservation = Reservation.objects.select_related(
        "customer__organization", "organization"
    ).get(pk=reservation_id)
    order = checkout(
        Actor(ACTOR_LABEL), reservation, [payment_part(method, provider_id)]
    )
    return order.pk


# --- Client processes. --------------------------------------------------------


def client_main(pipe, database_url: str) -> None:
    """One client: set up Django and a raw connection, then run tasks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    import django

    django.setup()
    import psycopg

    raw = psycopg.connect(database_url)
    pipe.send("ready")
    while True:
        task = pipe.recv()
        if task is None:
            break
        pipe.send(run_task(raw, *task))
    raw.close()
    close_database_connections()


def run_task(raw, arm: str, method: str, reservation_ids: list[int]) -> dict:
    from recours.core.errors import Conflict

    outcome = {"ok": 0, "conflicts": 0, "errors": []}
    for reservation_id in reservation_ids:
        provider_id = ""
        if method == "card":
            provider_id = f"pi_{arm}_{reservation_id}_{time.monotonic_ns()}"
        try:
            if arm == "ours":
                our_checkout(reservation_id, method, provider_id)
            else:
                raw_checkout(raw, reservation_id, method, provider_id)
            outcome["ok"] += 1
        except (Conflict, RawConflict):
            outcome["conflicts"] += 1
        except Exception as error:  # reported, and fails the run
            outcome["errors"].append(repr(error))
    return outcome


class Clients:
    """`count` client processes, each with a pipe; stopped in `close`."""

    def __init__(self, count: int, database_url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        for _index in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=client_main, args=(child, database_url), daemon=True
            )
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)
        for pipe in self.pipes:
            if not pipe.poll(WORKER_START_TIMEOUT_SECONDS):
                raise SystemExit("a client process did not start")
            pipe.recv()

    def run(self, arm: str, method: str, batches: list[list[int]]) -> dict:
        """Hand each client its batch at once; return totals and wall time."""
        started = time.perf_counter()
        for pipe, batch in zip(self.pipes, batches, strict=True):
            pipe.send((arm, method, batch))
        outcomes = []
        for pipe in self.pipes:
            if not pipe.poll(ROUND_TIMEOUT_SECONDS):
                raise SystemExit("a client did not finish its round in time")
            outcomes.append(pipe.recv())
        seconds = time.perf_counter() - started
        errors = [error for outcome in outcomes for error in outcome["errors"]]
        if errors:
            raise SystemExit(f"{arm} checkout failed: {errors[:3]}")
        return {
            "ok": sum(outcome["ok"] for outcome in outcomes),
            "conflicts": sum(outcome["conflicts"] for outcome in outcomes),
            "seconds": seconds,
        }

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(BrokenPipeError, OSError):
                pipe.send(None)
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)


# --- Seed data. ---------------------------------------------------------------


class World:
    def __init__(self) -> None:
        self.organization = None
        self.reservation_ids: list[int] = []
        self.next = 0

    def take(self, count: int) -> list[int]:
        ids = self.reservation_ids[self.next : self.next + count]
        if len(ids) != count:
            raise SystemExit("not enough reservations seeded")
        self.next += count
        return ids


def seed(customers_count: int, reservations_count: int) -> World:
    """Bulk-create a dealer, funded wallets, coins in stock and reservations."""
    from recours.accounts.models import Customer, Organization
    from recours.commerce.models import ItemType
    from recours.core import clock
    from recours.ledger.models import AccountKind, LedgerAccount

    world = World()
    now = clock.now()
    organization = Organization.objects.create(
        name="Bench dealer", slug="bench-dealer", kind=Organization.Kind.MERCHANT
    )
    world.organization = organization
    customers = Customer.objects.bulk_create(
        (Customer(organization=organization, customer_number=f"C{100000 + i}",
                  name=f"Customer {i}", email=f"customer{i}@example.test")
         for i in range(customers_count)), batch_size=1000,
    )  # fmt: skip
    accounts = {
        kind: LedgerAccount.objects.create(
            organization=organization, kind=kind, currency="EUR", created_at=now
        )
        for kind in (AccountKind.MERCHANT_PAYABLE, AccountKind.PROVIDER_CLEARING)
    }
    fund_wallets(organization, customers, accounts[AccountKind.PROVIDER_CLEARING])
    item_type = ItemType.objects.create(
        organization=organization, code="BRIT-1OZ", name="Britannia 1 oz",
        price_minor=PRICE_MINOR, buyback_price_minor=PRICE_MINOR * 9 // 10,
    )  # fmt: skip
    world.reservation_ids = reserve_coins(item_type, customers, reservations_count)
    return world


def fund_wallets(organization, customers, clearing) -> None:
    """One wallet per customer with a top-up entry that explains its balance."""
    from recours.core import clock
    from recours.ledger.models import (
        AccountKind,
        JournalEntry,
        LedgerAccount,
        Posting,
    )

    now = clock.now()
    wallets = LedgerAccount.objects.bulk_create(
        (LedgerAccount(organization=organization, customer=customer,
                       kind=AccountKind.WALLET, currency="EUR",
                       balance_minor=WALLET_FUNDS_MINOR, created_at=now)
         for customer in customers), batch_size=1000,
    )  # fmt: skip
    entries = JournalEntry.objects.bulk_create(
        (JournalEntry(organization=organization, created_at=now, kind="top_up",
                      memo=f"TR-{wallet.pk}", actor_label=ACTOR_LABEL,
                      about=f"commerce.top_up:{wallet.customer_id}:TR-{wallet.pk}")
         for wallet in wallets), batch_size=1000,
    )  # fmt: skip
    postings = []
    for wallet, entry in zip(wallets, entries, strict=True):
        postings.append(Posting(entry=entry, account=wallet,
                                amount_minor=WALLET_FUNDS_MINOR, currency="EUR"))  # fmt: skip
        postings.append(Posting(entry=entry, account=clearing,
                                amount_minor=-WALLET_FUNDS_MINOR, currency="EUR"))  # fmt: skip
    Posting.objects.bulk_create(postings, batch_size=2000)
    LedgerAccount.objects.filter(pk=clearing.pk).update(
        balance_minor=-WALLET_FUNDS_MINOR * len(wallets)
    )


def reserve_coins(item_type, customers, count: int) -> list[int]:
    """`count` coins in stock, each in one active reservation; reservation i
    belongs to customer i modulo the customers, so a round's clients never
    share a wallet."""
    from recours.commerce.models import (
        Holding,
        HoldingMove,
        Item,
        Reservation,
        ReservationLine,
    )
    from recours.core import clock

    now = clock.now()
    items = Item.objects.bulk_create(
        (Item(item_type=item_type, serial=f"BR-{i:08d}", created_at=now)
         for i in range(count)), batch_size=2000,
    )  # fmt: skip
    Holding.objects.bulk_create(
        (Holding(item=item, organization_id=item_type.organization_id, since=now)
         for item in items), batch_size=2000,
    )  # fmt: skip
    HoldingMove.objects.bulk_create(
        (HoldingMove(item=item, reason=HoldingMove.Reason.STOCKED,
                     actor_label=ACTOR_LABEL, created_at=now)
         for item in items), batch_size=2000,
    )  # fmt: skip
    reservations = Reservation.objects.bulk_create(
        (Reservation(organization_id=item_type.organization_id,
                     customer=customers[i % len(customers)], created_at=now,
                     expires_at=now + timedelta(days=1))
         for i in range(count)), batch_size=2000,
    )  # fmt: skip
    ReservationLine.objects.bulk_create(
        (ReservationLine(reservation=reservation, item=item)
         for reservation, item in zip(reservations, items, strict=True)),
        batch_size=2000,
    )  # fmt: skip
    return [reservation.pk for reservation in reservations]


def refresh_statistics() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- Measurements. ------------------------------------------------------------


def split(ids: list[int], clients: int) -> list[list[int]]:
    """Client c gets ids c, c + clients, …: at any moment the clients work on
    neighbouring reservations, hence on different customers."""
    return [ids[c::clients] for c in range(clients)]


def measure_level(clients: Clients, world: World, method: str, args) -> dict:
    """Rounds alternating the arms (ours first on even rounds)."""
    count = len(clients.pipes)
    rates: dict[str, list[float]] = {"ours": [], "raw": []}
    for round_index in range(args.rounds):
        arms = ("ours", "raw") if round_index % 2 == 0 else ("raw", "ours")
        for arm in arms:
            ids = world.take(count * args.per_client)
            result = clients.run(arm, method, split(ids, count))
            assert result["ok"] == len(ids), result
            rates[arm].append(result["ok"] / result["seconds"])
        print(f"  {count} clients, {method}, round {round_index + 1}: "
              f"ours {rates['ours'][-1]:.0f}/s, raw {rates['raw'][-1]:.0f}/s",
              file=sys.stderr, flush=True)  # fmt: skip
    return rates


def measure_contention(clients: Clients, world: World, method: str, args) -> dict:
    """Every client submits every one of a few reservations: one wins each."""
    count = len(clients.pipes)
    totals = {arm: {"ok": 0, "conflicts": 0, "rates": []} for arm in ("ours", "raw")}
    for round_index in range(args.rounds):
        arms = ("ours", "raw") if round_index % 2 == 0 else ("raw", "ours")
        for arm in arms:
            ids = world.take(CONTENDED_RESERVATIONS)
            result = clients.run(arm, method, [list(ids)] * count)
            assert result["ok"] == len(ids), (arm, result)
            assert result["conflicts"] == len(ids) * (count - 1), (arm, result)
            totals[arm]["ok"] += result["ok"]
            totals[arm]["conflicts"] += result["conflicts"]
            attempts = result["ok"] + result["conflicts"]
            totals[arm]["rates"].append(attempts / result["seconds"])
    print(f"  contention, {count} clients, {method}: done", file=sys.stderr)
    return totals


def count_statements(world: World) -> list[int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for reservation_id in world.take(STATEMENT_SAMPLE_CHECKOUTS):
        with CaptureQueriesContext(connection) as queries:
            our_checkout(reservation_id, "wallet", "")
        counts.append(len(queries.captured_queries))
    return counts


def profile_ours(world: World) -> tuple[str, dict]:
    """Sequential checkouts under cProfile, with the time spent waiting on
    the database measured apart by an execute wrapper."""
    import cProfile
    import io
    import pstats

    from django.db import connection

    waited = {"seconds": 0.0, "statements": 0}

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waited["seconds"] += time.perf_counter() - started
            waited["statements"] += 1

    ids = world.take(PROFILE_CHECKOUTS)
    started = time.perf_counter()
    with connection.execute_wrapper(timing):
        for reservation_id in ids[: PROFILE_CHECKOUTS // 2]:
            our_checkout(reservation_id, "wallet", "")
    plain_seconds = time.perf_counter() - started
    profiler = cProfile.Profile()
    with connection.execute_wrapper(timing):
        profiler.enable()
        for reservation_id in ids[PROFILE_CHECKOUTS // 2 :]:
            our_checkout(reservation_id, "wallet", "")
        profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).sort_stats("cumulative")
    stats.print_stats(r"recours/(commerce|ledger|core)/", 25)
    per_checkout_ms = plain_seconds * 1000 / (PROFILE_CHECKOUTS // 2)
    return text.getvalue(), {
        "per_checkout_ms": per_checkout_ms,
        # The wrapper ran for both halves: halve to compare with the plain one.
        "sql_ms": waited["seconds"] * 1000 / PROFILE_CHECKOUTS,
        "statements": waited["statements"] / PROFILE_CHECKOUTS,
    }


def raw_single_client(world: World, database_url: str) -> float:
    import psycopg

    ids = world.take(PROFILE_CHECKOUTS // 2)
    with psycopg.connect(database_url) as raw:
        started = time.perf_counter()
        for reservation_id in ids:
            raw_checkout(raw, reservation_id, "wallet", "")
        return (time.perf_counter() - started) * 1000 / len(ids)


def check_books() -> dict:
    """Cached balances equal postings, one holder per item, one paid order
    per checked-out reservation, every entry balanced."""
    from django.db import connection

    checks = {
        "accounts whose cached balance differs from their postings": """
            SELECT count(*) FROM ledger_ledgeraccount a WHERE a.balance_minor <>
              (SELECT coalesce(sum(amount_minor), 0) FROM ledger_posting p
               WHERE p.account_id = a.id)""",
        "unbalanced entries": """
            SELECT count(*) FROM (SELECT entry_id FROM ledger_posting
              GROUP BY entry_id HAVING sum(amount_minor) <> 0) e""",
        "checked-out reservations without a paid order": """
            SELECT count(*) FROM commerce_reservation r
            LEFT JOIN commerce_order o ON o.id = r.order_id
            WHERE r.status = 'checked_out' AND o.status IS DISTINCT FROM 'paid'""",
        "coins sold with no purchase move": """
            SELECT count(*) FROM commerce_holding h WHERE h.customer_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM commerce_holdingmove m
              WHERE m.item_id = h.item_id AND m.reason = 'purchase'
              AND m.to_customer_id = h.customer_id)""",
        "items with two purchase moves": """
            SELECT count(*) FROM (SELECT item_id FROM commerce_holdingmove
              WHERE reason = 'purchase' GROUP BY item_id HAVING count(*) > 1) i""",
    }
    found = {}
    with connection.cursor() as cursor:
        for label, query in checks.items():
            cursor.execute(query)
            found[label] = cursor.fetchone()[0]
    return found


# --- Report. ------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_results(args, levels, contention, statements, profile, raw_ms, books,
                  load) -> None:  # fmt: skip
    print(f"\n`{command_line()}` — {machine()}; {args.rounds} interleaved rounds per "
          f"arm, {args.per_client} checkouts per client per round; load average "
          f"(1 min) {load}.\n")  # fmt: skip
    print(
        "| clients | payment | ours, checkouts/s (median) | raw SQL, checkouts/s "
        "(median) | ratio ours/raw (median of rounds) | range of round ratios |"
    )
    print("|---|---|---|---|---|---|")
    for (count, method), rates in levels.items():
        ratios = [o / r for o, r in zip(rates["ours"], rates["raw"], strict=True)]
        print(f"| {count} | {method} | {median(rates['ours']):.0f} | "
              f"{median(rates['raw']):.0f} | **{median(ratios):.2f}x** | "
              f"{min(ratios):.2f}-{max(ratios):.2f} |")  # fmt: skip
    print(
        "\n| contention | payment | arm | attempts/s (median) | successes | conflicts |"
    )
    print("|---|---|---|---|---|---|")
    for (count, method), totals in contention.items():
        for arm in ("ours", "raw"):
            t = totals[arm]
            print(f"| {count} clients on {CONTENDED_RESERVATIONS} reservations | "
                  f"{method} | {arm} | {median(t['rates']):.0f} | {t['ok']} | "
                  f"{t['conflicts']} |")  # fmt: skip
    print(f"\nSQL statements per checkout (ours, wallet, {len(statements)} sampled, "
          f"BEGIN/COMMIT/SAVEPOINT included): {statistics.mean(statements):.1f} "
          f"({min(statements)}-{max(statements)}); raw SQL: "
          f"{RAW_STATEMENTS_PER_CHECKOUT}.")  # fmt: skip
    print(f"One client, sequential, wallet: ours {profile['per_checkout_ms']:.2f} ms "
          f"per checkout, of which {profile['sql_ms']:.2f} ms waiting on "
          f"{profile['statements']:.1f} statements; raw SQL {raw_ms:.2f} ms.")  # fmt: skip
    print("Books after the run: " + ", ".join(f"{k}: {v}" for k, v in books.items()))
    if args.profile:
        print("\n```\n" + profile["text"].strip() + "\n```")


def machine() -> str:
    import django

    return (f"Python {sys.version.split()[0]}, Django {django.get_version()}, "
            f"{os.cpu_count()} CPUs, PostgreSQL "
            f"{server_version()}")  # fmt: skip


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0].split()[0]


def command_line() -> str:
    return "DATABASE_URL=… .venv/bin/python bench/checkout.py " + " ".join(sys.argv[1:])


# --- Main. --------------------------------------------------------------------


def needed_reservations(args) -> int:
    measured = sum(args.clients) * args.per_client * args.rounds * 2 * 2
    contended = len(args.methods) * CONTENDED_RESERVATIONS * args.rounds * 2
    return measured + contended + STATEMENT_SAMPLE_CHECKOUTS + PROFILE_CHECKOUTS * 2


def run(args, database_url: str) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    load_start = os.getloadavg()[0]
    print("migrating and seeding…", file=sys.stderr, flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    customers = max(args.clients) * args.per_client + 1
    world = seed(customers, needed_reservations(args))
    refresh_statistics()
    close_database_connections()
    levels, contention = {}, {}
    for count in args.clients:
        print(f"starting {count} clients…", file=sys.stderr, flush=True)
        clients = Clients(count, database_url)
        try:
            for method in args.methods:
                levels[(count, method)] = measure_level(clients, world, method, args)
            if count == max(args.clients):
                for method in args.methods:
                    contention[(count, method)] = measure_contention(
                        clients, world, method, args
                    )
        finally:
            clients.close()
    load_end = os.getloadavg()[0]
    statements = count_statements(world)
    text, profile = profile_ours(world)
    profile["text"] = text
    raw_ms = raw_single_client(world, database_url)
    books = check_books()
    assert not any(books.values()), books
    load = f"{load_start:.2f} at start, {load_end:.2f} at end of the rounds"
    print_results(args, levels, contention, statements, profile, raw_ms, books, load)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 16],
                        help="concurrent client processes, one level each")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=5, help="rounds per arm")
    parser.add_argument("--per-client", type=int, default=25,
                        help="checkouts per client per round")  # fmt: skip
    parser.add_argument("--methods", nargs="+", default=["wallet", "card"],
                        choices=["wallet", "card"])  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile's top functions of ours")  # fmt: skip
    args = parser.parse_args()
    if min(args.clients) < 2 or args.rounds < 1 or args.per_client < 1:
        parser.error("need --clients >= 2, --rounds >= 1, --per-client >= 1")
    return args


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(REPO_DIR))
    database_url = os.environ.get("DATABASE_URL", "")
    name = postgres_database_name(database_url)
    if name is None:
        raise SystemExit("set DATABASE_URL=postgres://…/recours_bench_checkout")
    var_dir = os.environ.get("RECOURS_VAR_DIR") or tempfile.mkdtemp(prefix="bench-")
    os.makedirs(var_dir, exist_ok=True)
    os.environ.update(DJANGO_SETTINGS_MODULE="recours.settings", DEBUG="false",
                      RECOURS_VAR_DIR=var_dir, LOG_LEVEL="WARNING",
                      # one connection per client process is enough
                      DB_POOL_MIN_SIZE="1", DB_POOL_MAX_SIZE="2")  # fmt: skip
    recreate_postgres(database_url, name, create=True)
    try:
        run(args, database_url)
    except KeyboardInterrupt:
        print("interrupted: stopping clients and dropping the database",
              file=sys.stderr)  # fmt: skip
    finally:
        close_database_connections()
        recreate_postgres(database_url, name, create=False)


if __name__ == "__main__":
    main()
