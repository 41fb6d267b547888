"""Benchmark the integrity detectors over a large history against hand-written SQL.

Run from the repository root (PostgreSQL only; the database name must
contain "bench": it is dropped and re-created, and dropped at the end):

    DATABASE_URL=postgres://postgres@localhost:5432/recours_bench_detectors \
        .venv/bin/python bench/detectors.py [--orders 1000000] [--rounds 2]

What it does, in one run:

1. Migrates a throwaway database and bulk-loads, with COPY through psycopg
   (one connection per table, foreign-key triggers off for the load), a
   dealer's history: `--orders` paid orders of coins and bars (half by card,
   half from the wallet), each with its line, payment, checkout entry, two
   postings, item, holding, stock and purchase moves, and for half of them
   the reservation they were checked out from; wallet top-ups (two postings
   each) until there are 5 postings per order; sell-backs (2 %), partial
   refunds (1 % of card payments), deferred transfers still awaited, stock.
   Then VACUUM ANALYZE, as autovacuum would soon after.
2. Plants a few inconsistencies of every kind the detectors look for.
3. In `--rounds` rounds, alternating which goes first: every detector of
   `recours.integrity.detectors.DETECTORS`, timed one by one, and the
   hand-written pass (one SQL query per kind, same findings).
4. Asserts that ours found every planted inconsistency and that both arms
   found exactly the same findings; prints per-detector timings, the ratio,
   EXPLAIN ANALYZE of our slowest detector's main query, and drops the
   database.

Only the ratio within one run means something (see BENCHMARKS.md).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import (  # bench/ is not a package
    close_database_connections,
    postgres_database_name,
    recreate_postgres,
)

REPO_DIR = Path(__file__).resolve().parent.parent
ORG = 2  # the dealer; 1 is the platform
BRIT, BAR = 1, 2
PRICES_MINOR = {BRIT: 250_000, BAR: 1_200_000}
BUYBACK_MINOR = {BRIT: 225_000, BAR: 1_100_000}
TOP_UP_MINOR = 1_000_000
COPY_CHUNK_ROWS = 20_000
POSTINGS_PER_ORDER = 5
NOW = datetime.now(UTC)
BASE = NOW - timedelta(days=730)
STOCKED_AT = (BASE - timedelta(days=1)).isoformat()
N = r"\N"

TABLES = {
    "accounts_customer": "id, customer_number, name, email, phone, language, "
    "created_at, organization_id",
    "commerce_item": "id, serial, created_at, item_type_id",
    "commerce_holding": "id, since, customer_id, organization_id, item_id",
    "commerce_holdingmove": "id, reason, actor_label, created_at, entry_id, "
    "from_customer_id, order_id, to_customer_id, item_id",
    "commerce_order": "id, reference, invoice_reference, status, total_minor, "
    "currency, placed_at, customer_id, organization_id, terminal_id, external_id",
    "commerce_orderline": "id, description, quantity, unit_price_minor, currency, "
    "contingent_id, item_id, order_id",
    "commerce_payment": "id, method, provider, provider_payment_id, status, "
    "amount_minor, captured_minor, refunded_minor, currency, created_at, order_id, "
    "due_at, external_id",
    "commerce_importedrefund": "id, amount_minor, currency, refunded_at, "
    "external_id, payment_id",
    "ledger_journalentry": "id, created_at, kind, memo, actor_label, about, "
    "corrects_id, organization_id",
    "ledger_posting": "id, amount_minor, currency, account_id, entry_id",
    "commerce_reservation": "id, status, created_at, expires_at, customer_id, "
    "order_id, organization_id",
    "commerce_reservationline": "id, quantity, is_active, contingent_id, item_id, "
    "reservation_id",
    "ledger_ledgeraccount": "id, kind, currency, balance_minor, created_at, "
    "customer_id, organization_id",
}


# --- Loading with COPY. -------------------------------------------------------


class Copier:
    """One COPY per table, each on its own connection, fed in chunks; the
    server parses one table while Python generates the rows of another."""

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self.connections = {}
        self.copies = {}
        self.buffers: dict[str, list[str]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        for table, columns in TABLES.items():
            connection = psycopg.connect(conninfo)
            # Foreign keys are checked by triggers; the generator keeps them.
            connection.execute("SET session_replication_role = replica")
            cursor = connection.cursor()
            self.connections[table] = connection
            copy = cursor.copy(f"COPY {table} ({columns}) FROM STDIN")
            self.copies[table] = (copy, copy.__enter__())

    def row(self, table: str, *values: object) -> None:
        buffer = self.buffers[table]
        buffer.append("\t".join(map(str, values)))
        if len(buffer) >= COPY_CHUNK_ROWS:
            self.flush(table)

    def flush(self, table: str) -> None:
        buffer = self.buffers[table]
        if buffer:
            self.copies[table][1].write("\n".join(buffer) + "\n")
            self.counts[table] += len(buffer)
            buffer.clear()

    def close(self) -> None:
        for table, (copy, _writer) in self.copies.items():
            self.flush(table)
            copy.__exit__(None, None, None)
            self.connections[table].commit()
            self.connections[table].close()

    def abort(self) -> None:
        for connection in self.connections.values():
            connection.close()


def luhn_serial(index: int) -> str:
    from recours.commerce.serials import luhn_check_digit

    payload = f"BR-{index:07d}"
    return payload + luhn_check_digit(payload)


def serial_of(item_type: int, index: int) -> str:
    return luhn_serial(index) if item_type == BRIT else f"BAR-{index:07d}"


class History:
    """Generates the dealer's history row by row, with ids assigned here."""

    def __init__(self, copier: Copier, orders: int, rng: random.Random) -> None:
        self.out = copier
        self.orders = orders
        self.rng = rng
        self.customers = max(orders // 10, 10)
        self.payable = self.customers + 1
        self.clearing = self.customers + 2
        self.balances: dict[int, int] = defaultdict(int)
        self.next_id: dict[str, int] = defaultdict(int)
        self.step_seconds = 730 * 86400 / (orders + 1)
        self.planted: dict[str, set] = defaultdict(set)

    def new_id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table]

    def moment(self, index: int) -> str:
        return (BASE + timedelta(seconds=index * self.step_seconds)).isoformat()

    def wallet(self, customer: int) -> int:
        return customer  # wallet account ids are the customer ids

    # Building blocks.

    def entry(self, when: str, kind: str, memo: str, about: str,
              postings: list[tuple[int, int]]) -> int:  # fmt: skip
        entry_id = self.new_id("entry")
        self.out.row("ledger_journalentry", entry_id, when, kind, memo, "bench",
                     about, N, ORG)  # fmt: skip
        for account, amount in postings:
            self.out.row("ledger_posting", self.new_id("posting"), amount, "EUR",
                         account, entry_id)  # fmt: skip
            self.balances[account] += amount
        return entry_id

    def item(self, item_type: int, serial: str, holder: object, since: str) -> int:
        item_id = self.new_id("item")
        self.out.row("commerce_item", item_id, serial, STOCKED_AT, item_type)
        self.out.row("commerce_holding", item_id, since, holder, ORG, item_id)
        self.move(item_id, "stocked", STOCKED_AT, N, N, N, N)
        return item_id

    def move(self, item_id, reason, when, entry, from_customer, order,
             to_customer) -> int:  # fmt: skip
        move_id = self.new_id("move")
        self.out.row("commerce_holdingmove", move_id, reason, "bench", when, entry,
                     from_customer, order, to_customer, item_id)  # fmt: skip
        return move_id

    def order(self, customer, status, total, when, *, item=None, price=0) -> int:
        order_id = self.new_id("order")
        self.out.row("commerce_order", order_id, f"CO-{order_id:08d}",
                     f"INV-{order_id:08d}", status, total, "EUR", when, customer,
                     ORG, N, "")  # fmt: skip
        if item is not None:
            self.out.row("commerce_orderline", self.new_id("line"), f"item {item}",
                         1, price, "EUR", N, item, order_id)  # fmt: skip
        return order_id

    def payment(self, order_id, method, status, amount, captured, when, *,
                refunded=0, due_at=N) -> int:  # fmt: skip
        payment_id = self.new_id("payment")
        provider_id = f"pi_{payment_id}" if method == "card" else ""
        self.out.row("commerce_payment", payment_id, method, "", provider_id, status,
                     amount, captured, refunded, "EUR", when, order_id, due_at, "")  # fmt: skip
        return payment_id

    def checkout_entry(self, order_id, customer, method, price, when) -> int:
        source = self.wallet(customer) if method == "wallet" else self.clearing
        return self.entry(when, "checkout", f"CO-{order_id:08d}",
                          f"commerce.order:{order_id}",
                          [(source, -price), (self.payable, price)])  # fmt: skip

    def reservation(self, customer, status, when, expires, order_id, item,
                    active: bool) -> int:  # fmt: skip
        reservation_id = self.new_id("reservation")
        self.out.row("commerce_reservation", reservation_id, status, when, expires,
                     customer, order_id, ORG)  # fmt: skip
        self.out.row("commerce_reservationline", self.new_id("reservation_line"), 1,
                     "t" if active else "f", N, item, reservation_id)  # fmt: skip
        return reservation_id

    # The history.

    def customers_rows(self) -> None:
        for customer in range(1, self.customers + 1):
            self.out.row("accounts_customer", customer, f"C{100000 + customer}",
                         f"Customer {customer}", f"c{customer}@example.test", "",
                         "fr", STOCKED_AT, ORG)  # fmt: skip

    def regular_order(self, index: int, plant: str | None) -> None:
        customer = self.rng.randint(1, self.customers)
        item_type = BRIT if index % 2 else BAR
        price = PRICES_MINOR[item_type]
        method = "card" if self.rng.random() < 0.5 else "wallet"
        when = self.moment(index)
        delivered = plant != "undelivered_order"
        holder = customer if delivered and plant != "vanished_holding" else N
        item = self.item(item_type, serial_of(item_type, index),
                         holder, when if holder != N else STOCKED_AT)  # fmt: skip
        status = "fulfilled" if index % 5 == 0 else "paid"
        order_id = self.order(customer, status, price, when, item=item, price=price)
        refunded = 100_000 if method == "card" and index % 100 == 7 else 0
        payment = self.payment(order_id, method, "captured", price, price, when,
                               refunded=refunded)  # fmt: skip
        if refunded:
            self.out.row("commerce_importedrefund", self.new_id("refund"), refunded,
                         "EUR", when, f"R-{payment}", payment)  # fmt: skip
        entry = self.checkout_entry(order_id, customer, method, price, when)
        if delivered:
            self.move(item, "purchase", when, entry, N, order_id, customer)
        if index % 2 == 0 and plant is None:
            self.reservation(customer, "checked_out", when, when, order_id, item,
                             active=False)  # fmt: skip
        if plant == "undelivered_order":
            self.planted["undelivered_order"].add((order_id, item))
        if plant == "vanished_holding":
            self.planted["vanished_holding"].add(item)
        if index % 50 == 25 or plant == "unpaid_sell_back":
            self.sell_back(index, item, item_type, customer, plant)

    def sell_back(self, index, item, item_type, customer, plant) -> None:
        later = self.moment(min(index + 1000, self.orders))
        entry = N
        if plant != "unpaid_sell_back":
            buyback = BUYBACK_MINOR[item_type]
            entry = self.entry(later, "sell_back", f"item {item}",
                               f"commerce.item:{item}",
                               [(self.payable, -buyback),
                                (self.wallet(customer), buyback)])  # fmt: skip
        # COPY wrote the holding as the buyer's: fix_holdings_after_sell_backs
        # puts the item back in stock after the load.
        move = self.move(item, "sell_back", later, entry, customer, N, N)
        if plant == "unpaid_sell_back":
            self.planted["unpaid_sell_back"].add(move)

    def top_ups(self, count: int) -> None:
        for index in range(count):
            customer = index % self.customers + 1
            when = self.moment(index * self.orders // max(count, 1))
            self.entry(when, "top_up", f"TR-{index}",
                       f"commerce.top_up:{customer}:TR-{index}",
                       [(self.wallet(customer), TOP_UP_MINOR),
                        (self.clearing, -TOP_UP_MINOR)])  # fmt: skip

    def extras(self) -> None:
        """Stock, awaited transfers, and the plants that need rows of their own."""
        now = NOW.isoformat()
        for index in range(max(self.orders // 100, 4)):
            self.item(BRIT, luhn_serial(self.orders + index), N, STOCKED_AT)
        for index in range(max(self.orders // 1000, 2)):
            self.deferred(self.orders * 2 + index, NOW + timedelta(days=2))
        for index in range(2):
            payment = self.deferred(self.orders * 3 + index, NOW - timedelta(days=10))
            self.planted["overdue_deferred"].add(payment)
        self.plant_rows(now)

    def deferred(self, serial_index: int, due_at: datetime) -> int:
        customer = self.rng.randint(1, self.customers)
        item = self.item(BAR, serial_of(BAR, serial_index), N, STOCKED_AT)
        when = (due_at - timedelta(hours=72)).isoformat()
        price = PRICES_MINOR[BAR]
        order_id = self.order(customer, "pending", price, when, item=item, price=price)
        payment = self.payment(order_id, "bank_transfer", "pending", price, 0, when,
                               due_at=due_at.isoformat())  # fmt: skip
        # Awaiting its transfer: checked out, its line still holding the item.
        self.reservation(customer, "checked_out", when, when, order_id, item,
                         active=True)  # fmt: skip
        return payment

    def plant_rows(self, now: str) -> None:
        for index in range(2):
            self.plant_sold_twice(index)
            self.plant_capture_without_order(now)
            self.plant_stale_reservation(index)
            self.plant_over_refund(now)
        # Two fail the format, two the check digit.
        for serial in ["BR-123", "BR-12X45678", bad_luhn(11), bad_luhn(12)]:
            item = self.item(BRIT, serial, N, STOCKED_AT)
            self.planted["bad_serial"].add((item, serial))
        for customer in (3, 4):  # the drift is added when the accounts are written
            self.planted["balance_drift"].add((self.wallet(customer), 1))

    def plant_sold_twice(self, index: int) -> None:
        """A second paid order of an item another customer already received."""
        original = 3 + index * 2  # odd: a BRIT, delivered, never sold back
        customer = self.customers - index
        price = PRICES_MINOR[BRIT]
        when = NOW.isoformat()
        order_id = self.order(customer, "paid", price, when, item=original,
                              price=price)  # fmt: skip
        self.payment(order_id, "card", "captured", price, price, when)
        self.checkout_entry(order_id, customer, "card", price, when)
        self.planted["sold_twice"].add((original, order_id))

    def plant_capture_without_order(self, when: str) -> None:
        customer = self.rng.randint(1, self.customers)
        price = PRICES_MINOR[BRIT]
        order_id = self.order(customer, "cancelled", price, when)
        payment = self.payment(order_id, "card", "captured", price, price, when)
        self.checkout_entry(order_id, customer, "card", price, when)
        self.planted["capture_without_order"].add(payment)

    def plant_stale_reservation(self, index: int) -> None:
        customer = self.rng.randint(1, self.customers)
        item = self.item(BAR, serial_of(BAR, self.orders * 4 + index), N, STOCKED_AT)
        expired = (NOW - timedelta(days=2)).isoformat()
        reservation = self.reservation(customer, "active", expired, expired, N, item,
                                       active=True)  # fmt: skip
        self.planted["stale_reservation"].add(reservation)

    def plant_over_refund(self, when: str) -> None:
        customer = self.rng.randint(1, self.customers)
        price = PRICES_MINOR[BRIT]
        order_id = self.order(customer, "cancelled", price, when)
        payment = self.payment(order_id, "card", "captured", price, price, when,
                               refunded=price)  # fmt: skip
        for part in range(2):
            self.out.row("commerce_importedrefund", self.new_id("refund"),
                         price * 2 // 3, "EUR", when, f"R-{payment}-{part}", payment)  # fmt: skip
        self.checkout_entry(order_id, customer, "card", price, when)
        self.planted["over_refunded"].add(payment)

    def accounts(self) -> None:
        drift = {account for account, _difference in self.planted["balance_drift"]}
        for customer in range(1, self.customers + 1):
            account = self.wallet(customer)
            if self.balances[account] < 0:
                # A heavy wallet buyer topped up once more (a wallet cannot
                # go below zero: a check constraint says so).
                self.entry(NOW.isoformat(), "top_up", f"TR-extra-{customer}",
                           f"commerce.top_up:{customer}:TR-extra-{customer}",
                           [(account, TOP_UP_MINOR - self.balances[account]),
                            (self.clearing, self.balances[account] - TOP_UP_MINOR)])  # fmt: skip
            balance = self.balances[account] + (1 if account in drift else 0)
            self.out.row("ledger_ledgeraccount", account, "wallet", "EUR", balance,
                         STOCKED_AT, customer, ORG)  # fmt: skip
        for account, kind in ((self.payable, "merchant_payable"),
                              (self.clearing, "provider_clearing")):  # fmt: skip
            self.out.row("ledger_ledgeraccount", account, kind, "EUR",
                         self.balances[account], STOCKED_AT, N, ORG)  # fmt: skip


def bad_luhn(index: int) -> str:
    good = luhn_serial(index)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def load_history(conninfo: str, orders: int, seed: int) -> History:
    """Generate and COPY the whole history; returns what was planted."""
    create_catalogue()
    copier = Copier(conninfo)
    history = History(copier, orders, random.Random(seed))
    try:
        history.customers_rows()
        plants = plan_plants(orders)
        for index in range(1, orders + 1):
            history.regular_order(index, plants.get(index))
            if index % 100_000 == 0:
                progress(f"  {index:,} orders generated")
        extra_postings = POSTINGS_PER_ORDER * orders - history.next_id["posting"]
        history.top_ups(max(extra_postings // 2 - 20, 0))
        history.extras()
        history.accounts()
        copier.close()
    except BaseException:
        copier.abort()
        raise
    fix_holdings_after_sell_backs(conninfo)
    history.counts = dict(copier.counts)
    return history


def plan_plants(orders: int) -> dict[int, str]:
    """Regular orders to break, far from sell-back (50k+25), refund (100k+7)
    and reservation (even) indexes: odd numbers ending in 1, 3 or 9."""
    kinds = ["undelivered_order"] * 2 + ["vanished_holding"] * 2
    kinds += ["unpaid_sell_back"] * 3
    spacing = orders // (len(kinds) + 1)
    plants = {}
    for k, kind in enumerate(kinds):
        index = spacing * (k + 1) // 10 * 10 + 1
        plants[index] = kind
    return plants


def fix_holdings_after_sell_backs(conninfo: str) -> None:
    """A sold-back item is in stock: COPY wrote its holding as the buyer's,
    so set it here (one UPDATE over 2 % of the holdings)."""
    import psycopg

    with psycopg.connect(conninfo) as connection:
        connection.execute("""
            UPDATE commerce_holding h SET customer_id = NULL, since = m.created_at
            FROM commerce_holdingmove m
            WHERE m.item_id = h.item_id AND m.reason = 'sell_back'""")


def create_catalogue() -> None:
    from recours.accounts.models import Organization
    from recours.commerce.models import ItemType

    Organization.objects.create(id=1, name="Platform", slug="platform",
                                kind=Organization.Kind.PLATFORM)  # fmt: skip
    Organization.objects.create(id=ORG, name="Bench dealer", slug="bench-dealer",
                                kind=Organization.Kind.MERCHANT)  # fmt: skip
    ItemType.objects.create(
        id=BRIT, organization_id=ORG, code="BRIT-1OZ", name="Britannia 1 oz",
        serial_pattern=r"BR-[0-9]{8}", check_digit=ItemType.CheckDigit.LUHN,
        price_minor=PRICES_MINOR[BRIT], buyback_price_minor=BUYBACK_MINOR[BRIT],
    )  # fmt: skip
    ItemType.objects.create(
        id=BAR, organization_id=ORG, code="BAR-100G", name="Bar 100 g",
        serial_pattern=r"BAR-[0-9]{7}", check_digit=ItemType.CheckDigit.NONE,
        price_minor=PRICES_MINOR[BAR], buyback_price_minor=BUYBACK_MINOR[BAR],
    )  # fmt: skip


def after_load(conninfo: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo, autocommit=True) as connection:
        for table in [*TABLES, "accounts_organization", "commerce_itemtype"]:
            query = sql.SQL(
                "SELECT setval(pg_get_serial_sequence({name}, 'id'), "
                "(SELECT coalesce(max(id), 1) FROM {table}))"
            ).format(name=sql.Literal(table), table=sql.Identifier(table))
            connection.execute(query)
        connection.execute("VACUUM ANALYZE")


# --- The hand-written pass. ---------------------------------------------------

HAND_WRITTEN = {
    "unpaid_sell_back": """
        SELECT m.id FROM commerce_holdingmove m
        WHERE m.reason = 'sell_back' AND m.from_customer_id IS NOT NULL
          AND m.to_customer_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM ledger_posting p
                JOIN ledger_ledgeraccount a ON a.id = p.account_id
                WHERE p.entry_id = m.entry_id AND a.kind = 'wallet'
                  AND a.customer_id = m.from_customer_id AND p.amount_minor > 0)
          AND NOT EXISTS (SELECT 1 FROM ledger_journalentry e
                WHERE e.about = 'commerce.holdingmove:' || m.id)""",
    # sold_twice and undelivered_order share their "delivered" test.
    "paid_lines": """
        WITH paid AS MATERIALIZED (
          SELECT l.item_id, l.order_id, o.customer_id, i.item_type_id
          FROM commerce_orderline l
          JOIN commerce_order o ON o.id = l.order_id
          JOIN commerce_item i ON i.id = l.item_id
          WHERE o.status IN ('paid', 'fulfilled')),
        twice AS (SELECT item_id FROM paid GROUP BY item_id
                  HAVING count(DISTINCT order_id) > 1),
        delivered AS (
          SELECT p.order_id, p.item_id FROM paid p
          JOIN commerce_holdingmove m
            ON m.item_id = p.item_id AND m.to_customer_id = p.customer_id
          UNION
          SELECT p.order_id, p.item_id FROM paid p
          JOIN commerce_holdingmove m
            ON m.order_id = p.order_id AND m.to_customer_id = p.customer_id
           AND m.reason IN ('correction', 'replacement')
          JOIN commerce_item r
            ON r.id = m.item_id AND r.item_type_id = p.item_type_id)
        SELECT p.item_id, p.order_id, t.item_id IS NOT NULL,
               d.order_id IS NOT NULL, p.customer_id IS NOT NULL
        FROM paid p
        LEFT JOIN twice t ON t.item_id = p.item_id
        LEFT JOIN delivered d ON d.order_id = p.order_id AND d.item_id = p.item_id
        WHERE t.item_id IS NOT NULL OR d.order_id IS NULL""",
    "bad_serial": """
        SELECT i.id, i.serial FROM commerce_item i
        JOIN commerce_itemtype t ON t.id = i.item_type_id
        CROSS JOIN LATERAL (
          SELECT regexp_replace(i.serial, '[^0-9]', '', 'g') AS d) s
        WHERE i.serial !~ ('^(?:' || t.serial_pattern || ')$')
           OR (t.check_digit = 'luhn' AND (length(s.d) < 2 OR (
             SELECT sum(CASE WHEN k % 2 = 0
                 THEN v * 2 - CASE WHEN v > 4 THEN 9 ELSE 0 END ELSE v END) % 10
             FROM unnest(string_to_array(reverse(s.d), NULL)::int[])
                  WITH ORDINALITY AS x(v, k)) <> 0))""",
    "capture_without_order": """
        SELECT p.id FROM commerce_payment p
        JOIN commerce_order o ON o.id = p.order_id
        WHERE p.status = 'captured' AND p.captured_minor > p.refunded_minor
          AND o.status NOT IN ('paid', 'fulfilled')
          AND NOT (o.status = 'pending' AND EXISTS (SELECT 1 FROM commerce_payment q
                   WHERE q.order_id = o.id AND q.status = 'pending'))""",
    "over_refunded": """
        SELECT p.id FROM commerce_payment p
        JOIN (SELECT payment_id, sum(amount_minor) AS total
              FROM commerce_importedrefund GROUP BY payment_id) r
          ON r.payment_id = p.id
        WHERE r.total > p.captured_minor""",
    "overdue_deferred": """
        SELECT id FROM commerce_payment
        WHERE status = 'pending' AND due_at < now() - interval '1 hour'""",
    "balance_drift": """
        SELECT a.id, a.balance_minor - coalesce(s.total, 0)
        FROM ledger_ledgeraccount a
        LEFT JOIN (SELECT account_id, sum(amount_minor) AS total
                   FROM ledger_posting GROUP BY account_id) s
          ON s.account_id = a.id
        WHERE a.balance_minor <> coalesce(s.total, 0)""",
    "stale_reservation": """
        SELECT r.id FROM commerce_reservation r
        WHERE (r.status = 'active' AND r.expires_at < now() - interval '1 hour')
           OR (r.status <> 'active' AND EXISTS (SELECT 1
               FROM commerce_reservationline l
               WHERE l.reservation_id = r.id AND l.is_active)
             -- a checkout awaiting its bank transfer holds its items rightly
             AND NOT (r.status = 'checked_out' AND EXISTS (SELECT 1
               FROM commerce_order o JOIN commerce_payment q ON q.order_id = o.id
               WHERE o.id = r.order_id AND o.status = 'pending'
                 AND q.status = 'pending')))""",
    "vanished_holding": """
        SELECT h.item_id, last.id FROM commerce_holding h
        JOIN (SELECT DISTINCT ON (item_id) item_id, id, to_customer_id
              FROM commerce_holdingmove
              ORDER BY item_id, created_at DESC, id DESC) last
          ON last.item_id = h.item_id
        WHERE last.to_customer_id IS NOT NULL
          AND h.customer_id IS DISTINCT FROM last.to_customer_id""",
}


def hand_written_pass(cursor) -> tuple[dict[str, set], dict[str, float]]:
    findings: dict[str, set] = {}
    seconds: dict[str, float] = {}
    for name, query in HAND_WRITTEN.items():
        started = time.perf_counter()
        cursor.execute(query)
        rows = cursor.fetchall()
        seconds[name] = time.perf_counter() - started
        if name == "paid_lines":
            findings.update(split_paid_lines(rows))
        else:
            findings[name] = {row if len(row) > 1 else row[0] for row in rows}
    return findings, seconds


def split_paid_lines(rows) -> dict[str, set]:
    """(item, order, sold twice?, delivered?, has customer?) rows into the
    two kinds, with ours' fingerprints: sold twice (item, *orders) when one
    of the item's lines is undelivered; undelivered (order, item)."""
    orders_by_item: dict[int, list] = defaultdict(list)
    waiting: set[int] = set()
    undelivered = set()
    for item, order, twice, delivered, has_customer in rows:
        if twice:
            orders_by_item[item].append(order)
            if not delivered:
                waiting.add(item)
        elif has_customer and not delivered:
            undelivered.add((order, item))
    sold_twice = {(item, *sorted(orders_by_item[item])) for item in waiting}
    return {"sold_twice": sold_twice, "undelivered_order": undelivered}


# --- Our detectors. -----------------------------------------------------------


def our_pass() -> tuple[dict[str, set], dict[str, float]]:
    from recours.integrity.detectors import DETECTORS

    findings: dict[str, set] = {}
    seconds: dict[str, float] = {}
    for kind, detector in DETECTORS.items():
        started = time.perf_counter()
        found = list(detector())
        seconds[str(kind)] = time.perf_counter() - started
        findings[str(kind)] = {
            finding.ids if len(finding.ids) > 1 else finding.ids[0] for finding in found
        }
    return findings, seconds


def first_id(ids: object) -> object:
    return ids[0] if isinstance(ids, tuple) else ids


def check(ours: dict[str, set], hand: dict[str, set], history: History) -> dict:
    """Every planted inconsistency found; both arms agree. Returns extras."""
    for kind, planted in history.planted.items():
        # A plant is named by the first id of its finding (the move, the
        # item, the payment…); the rest (last move, other orders) is found.
        found = {first_id(ids) for ids in ours[kind]}
        missing = {ids for ids in planted if first_id(ids) not in found}
        assert not missing, (kind, missing)
    for kind in ours:
        assert ours[kind] == hand[kind], (kind, ours[kind] ^ hand[kind])
    return {kind: len(ours[kind]) - len(history.planted.get(kind, ()))
            for kind in ours}  # fmt: skip


# --- EXPLAIN. -----------------------------------------------------------------


def explain_detector(kind: str) -> str:
    """EXPLAIN ANALYZE of the queries the detector runs (captured, re-run)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recours.integrity.detectors import DETECTORS

    with CaptureQueriesContext(connection) as queries:
        list(DETECTORS[kind]())
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + slowest["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return f"-- {kind} ({len(queries.captured_queries)} statements), slowest:\n{plan}"


# --- Main. --------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def heartbeat(stop: threading.Event, label: list[str]) -> None:
    started = time.monotonic()
    while not stop.wait(15):
        progress(f"  … {label[0]} ({time.monotonic() - started:.0f} s)")


def measure(args) -> tuple[dict, dict, dict, dict]:
    from django.db import connection

    ours_seconds: dict[str, list[float]] = defaultdict(list)
    hand_seconds: dict[str, list[float]] = defaultdict(list)
    ours = hand = {}
    for round_index in range(args.rounds):
        order = ("ours", "hand") if round_index % 2 == 0 else ("hand", "ours")
        for arm in order:
            started = time.perf_counter()
            if arm == "ours":
                ours, seconds = our_pass()
                target = ours_seconds
            else:
                with connection.cursor() as cursor:
                    hand, seconds = hand_written_pass(cursor)
                target = hand_seconds
            for name, value in seconds.items():
                target[name].append(value)
            target["total"].append(time.perf_counter() - started)
            progress(f"  round {round_index + 1}: {arm} "
                     f"{target['total'][-1]:.1f} s")  # fmt: skip
    return ours, hand, ours_seconds, hand_seconds


def print_results(args, history, loaded_s, ours_s, hand_s, extras, plan, load):
    import django

    median = statistics.median
    counts = history.counts
    print(f"\n`DATABASE_URL=… .venv/bin/python bench/detectors.py "
          f"{' '.join(sys.argv[1:])}` — Python {sys.version.split()[0]}, Django "
          f"{django.get_version()}, {os.cpu_count()} CPUs; {counts['commerce_order']:,} "
          f"orders, {counts['ledger_posting']:,} postings, "
          f"{counts['ledger_journalentry']:,} entries, "
          f"{counts['commerce_holdingmove']:,} moves, {counts['commerce_item']:,} "
          f"items, {counts['commerce_reservation']:,} reservations, loaded in "
          f"{loaded_s:.0f} s; {args.rounds} interleaved round(s); load average "
          f"(1 min) {load}.\n")  # fmt: skip
    print(
        "| detector | ours (median s) | hand-written (median s) | findings "
        "(planted + other) |"
    )
    print("|---|---|---|---|")
    for kind in ours_s:
        if kind == "total":
            continue
        hand_key = kind if kind in hand_s else "paid_lines"
        planted = len(history.planted.get(kind, ()))
        print(f"| {kind} | {median(ours_s[kind]):.2f} | "
              f"{median(hand_s[hand_key]):.2f}"
              f"{' (shared)' if hand_key == 'paid_lines' else ''} | "
              f"{planted} + {extras[kind]} |")  # fmt: skip
    total_ours, total_hand = median(ours_s["total"]), median(hand_s["total"])
    print(f"| **all** | **{total_ours:.1f}** | **{total_hand:.1f}** | |")
    print(f"\nRatio ours / hand-written (median totals): "
          f"**{total_ours / total_hand:.2f}x**; per round: "
          + ", ".join(f"{o / h:.2f}x" for o, h in
                      zip(ours_s["total"], hand_s["total"], strict=True)))  # fmt: skip
    print(f"\n```\n{plan}\n```")


def run(args, conninfo: str) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    load_start = os.getloadavg()[0]
    progress("migrating…")
    call_command("migrate", interactive=False, verbosity=0)
    stop, label = threading.Event(), ["loading"]
    beat = threading.Thread(target=heartbeat, args=(stop, label), daemon=True)
    beat.start()
    try:
        started = time.perf_counter()
        progress(f"loading {args.orders:,} orders with COPY…")
        history = load_history(conninfo, args.orders, args.seed)
        label[0] = "VACUUM ANALYZE"
        progress("VACUUM ANALYZE…")
        after_load(conninfo)
        loaded_s = time.perf_counter() - started
        label[0] = "detecting"
        ours, hand, ours_s, hand_s = measure(args)
    finally:
        stop.set()
    extras = check(ours, hand, history)
    load_end = os.getloadavg()[0]
    slowest = max((k for k in ours_s if k != "total"),
                  key=lambda k: statistics.median(ours_s[k]))  # fmt: skip
    plan = explain_detector(slowest)
    load = f"{load_start:.2f} at start, {load_end:.2f} after the rounds"
    print_results(args, history, loaded_s, ours_s, hand_s, extras, plan, load)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000,
                        help="paid orders to load (5 postings each); 100000 "
                             "runs in about a minute")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per arm, alternating which goes first")  # fmt: skip
    parser.add_argument("--seed", type=int, default=20_261_129)
    args = parser.parse_args()
    if args.orders < 1000 or args.rounds < 1:
        parser.error("need --orders >= 1000 and --rounds >= 1")
    return args


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(REPO_DIR))
    conninfo = os.environ.get("DATABASE_URL", "")
    name = postgres_database_name(conninfo)
    if name is None:
        raise SystemExit("set DATABASE_URL=postgres://…/recours_bench_detectors")
    var_dir = os.environ.get("RECOURS_VAR_DIR") or tempfile.mkdtemp(prefix="bench-")
    os.makedirs(var_dir, exist_ok=True)
    os.environ.update(DJANGO_SETTINGS_MODULE="recours.settings", DEBUG="false",
                      RECOURS_VAR_DIR=var_dir, LOG_LEVEL="WARNING")  # fmt: skip
    recreate_postgres(conninfo, name, create=True)
    try:
        run(args, conninfo)
    except KeyboardInterrupt:
        progress("interrupted: dropping the database")
    finally:
        close_database_connections()
        recreate_postgres(conninfo, name, create=False)


if __name__ == "__main__":
    main()
