"""`recours demo`: fill an empty database with a realistic month of activity."""

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError

from recours.accounts.models import Customer, Organization
from recours.cases.models import Case, CaseEvent
from recours.commerce.models import Item, Order, Payment, Terminal
from recours.core.models import AuditEvent
from recours.demo import build, claims, data, money
from recours.integrity.models import Anomaly
from recours.ledger.models import JournalEntry
from recours.notifications.models import OutboxMessage


@contextlib.contextmanager
def quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Load demo data: a platform, 3 merchants, 12 kiosks, 200 customers, "
        "1,000 orders with payments (some protected by the buyer protection), "
        f"{build.CASE_COUNT} incidents at every stage, {claims.CLAIM_COUNT} "
        "protection claims in every state of the process, a coin dealer's "
        "serialized coins and customers' wallets with history, an event with "
        "sessions and contingents, a few planted inconsistencies that the "
        "integrity detectors then find, and a staff login for every role "
        f"(password {data.DEMO_PASSWORD!r}). Refuses if demo data is "
        "already there unless --reset is given. The cases' acknowledgements and "
        "replies are left pending in the outbox and go out through whatever mail "
        "and SMS settings the worker runs with: `make demo` sets EMAIL_BACKEND to "
        "the console backend, and demo addresses use the reserved example.* "
        "domains."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo's rows first (runs fine when there are none).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=data.DEFAULT_SEED,
            help=f"Random seed; the same seed gives the same data (default "
            f"{data.DEFAULT_SEED}).",
        )

    def handle(self, *args, reset: bool, seed: int, **options) -> None:
        if build.demo_data_present() and not reset:
            raise CommandError(
                "Demo data is already loaded (organization "
                f"{data.ORGANIZATIONS[0].name!r}). Run `recours demo --reset` "
                "to replace it."
            )
        problems = build.conflicts()
        if problems:
            raise CommandError(
                "This database holds data that is not the demo's: "
                + "; ".join(problems)
                + ". Run the demo on an empty database, e.g. with "
                "RECOURS_VAR_DIR=/tmp/recours-demo."
            )
        started = time.monotonic()
        try:
            with transaction.atomic():
                if reset:
                    self.reset()
                builder = build.DemoBuilder(seed)
                self.load(builder)
        except ProtectedError as error:
            raise CommandError(
                f"Cannot delete the demo data: other rows still point at it ({error})."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(f"Demo loaded in {time.monotonic() - started:.1f} s.")
        )
        self.summary()

    def reset(self) -> None:
        deleted = build.delete_demo_data()
        self.step(
            "Deleted the previous demo data",
            ", ".join(f"{count} {name}" for name, count in deleted.items()),
        )

    def load(self, builder: build.DemoBuilder) -> None:
        organizations = builder.create_organizations()
        merchants = sum(not o.is_platform for o in organizations)
        self.step(
            "Organizations", f"{len(organizations)} (1 platform, {merchants} merchants)"
        )
        self.step("Staff", f"{len(builder.create_staff())} logins, every role")
        terminals = builder.create_terminals()
        active = sum(t.is_active for t in terminals)
        self.step("Kiosks", f"{len(terminals)} ({active} in service)")
        customers = builder.create_customers()
        english = sum(c.language == "en" for c in customers)
        self.step("Customers", f"{len(customers)} ({english} English-speaking)")
        orders, payments = builder.create_orders()
        self.step("Orders", f"{len(orders)} over {build.ORDER_DAYS} days")
        failed = sum(p.status == Payment.Status.FAILED for p in payments)
        self.step("Payments", f"{len(payments)} ({failed} failed)")
        protection = claims.ClaimBuilder(builder)
        protected = protection.protect_orders()
        self.step(
            "Protected orders",
            f"{len(protected)} online, at checkout ({claims.CLAIM_COUNT} claimed)",
        )
        cases = builder.create_cases()
        unmatched = sum(c.unmatched for c in cases)
        self.step("Cases", f"{len(cases)} ({unmatched} matching nothing on file)")
        self.load_claims(protection)
        self.load_money(builder)

    def load_claims(self, protection: claims.ClaimBuilder) -> None:
        # The worker logs each deadline it applies; in the demo's past they
        # are not news.
        with quiet("recours.cases"):
            cases = protection.play_claims()
        states = Counter(case.status for case in cases)
        self.step(
            "Claims",
            f"{len(cases)} ("
            + ", ".join(f"{count} {state}" for state, count in states.items())
            + ")",
        )
        lives = protection.play_protections()
        self.step(
            "Protections",
            f"{lives['reminded']} reminded on day 23, {lives['confirmed']} ended "
            f"by the customer, {lives['expired']} past their window",
        )

    def load_money(self, builder: build.DemoBuilder) -> None:
        books = money.MoneyBuilder(builder, builder.staff["finance"])
        coins = books.create_coins()
        self.step("Coins", f"{len(coins)} serialized, {len(money.COINS)} types")
        wallets = books.create_wallets()
        self.step("Wallets", f"{len(wallets)} with top-ups, purchases, sell-backs")
        event = books.create_event()
        self.step("Event", f"{event.name}: {event.sessions.count()} sessions")
        for fault, where in books.plant_faults().items():
            self.step(f"Planted: {fault}", where)
        for kind, found in books.run_detectors().items():
            self.step(f"Anomalies: {kind}", str(found))

    def step(self, label: str, detail: str) -> None:
        self.stdout.write(f"  {label:<32} {detail}")

    def summary(self) -> None:
        self.stdout.write("\nRows:")
        counted = (
            ("organizations", Organization),
            ("staff users", get_user_model()),
            ("kiosks", Terminal),
            ("customers", Customer),
            ("orders", Order),
            ("payments", Payment),
            ("cases", Case),
            ("coins", Item),
            ("journal entries", JournalEntry),
            ("anomalies", Anomaly),
            ("case events", CaseEvent),
            ("audit events", AuditEvent),
            ("outbox messages", OutboxMessage),
        )
        for label, model in counted:
            self.stdout.write(f"  {label:<18} {model.objects.count():>6}")
        self.stdout.write("\nCases by status:")
        for status in sorted(set(Case.objects.values_list("status", flat=True))):
            count = Case.objects.filter(status=status).count()
            self.stdout.write(f"  {status:<18} {count:>6}")
        self.stdout.write("\nOpen:")
        for label, path in (
            ("report a problem", "/"),
            ("follow a case", "/status/"),
            ("my portfolio", "/portfolio/"),
            ("staff console", "/console/"),
            ("admin", "/admin/"),
        ):
            self.stdout.write(f"  {label:<18} {settings.SITE_URL}{path}")
        self.logins()

    def logins(self) -> None:
        names = dict(
            Organization.objects.filter(slug__in=data.DEMO_SLUGS).values_list(
                "slug", "name"
            )
        )
        slugs = {spec.key: spec.slug for spec in data.ORGANIZATIONS}
        self.stdout.write(f"\nLogins (password for all: {data.DEMO_PASSWORD}):")
        self.stdout.write(f"  {'username':<16} {'role':<16} organization")
        for spec in data.STAFF:
            organization = names[slugs[spec.organization]]
            self.stdout.write(f"  {spec.username:<16} {spec.role:<16} {organization}")
        self.stdout.write("\nTry:")
        for who, what in claims.to_try():
            self.stdout.write(f"  {who:<16} {what}")
