"""Build the demo data set, step by step (see the `demo` command).

Organizations, staff, kiosks, customers, orders and payments are written in
bulk: they are plain facts about the past. Cases go through the real actions
(create_case, assign, reply, add_note, change_status, customer_message) so that
their timelines, audit events and outbox messages are what production makes.
"""

import random
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from faker import Faker

from recours.accounts.models import Customer, Membership, Organization, VerificationCode
from recours.accounts.phones import to_e164
from recours.cases import conversation, engine, intake
from recours.cases.access import staff_actor
from recours.cases.intake import Report
from recours.cases.models import Attachment, Case, ContactChannel, Problem, Team
from recours.commerce import serials
from recours.commerce.models import Order, Payment, Terminal
from recours.core import append_only, clock
from recours.core.audit import Actor
from recours.core.models import AuditEvent
from recours.core.references import ALPHABET
from recours.demo import data, money
from recours.notifications.models import OutboxMessage, SmsMessage

PARIS = ZoneInfo("Europe/Paris")
ORDER_DAYS = 120
BULK_BATCH_SIZE = 500
# Cases are left at least this long before "now", so nothing is in the future.
LATEST_STEP_MARGIN = timedelta(minutes=5)


def user_model():
    return get_user_model()


# ---------------------------------------------------------------- presence


def demo_organizations():
    return Organization.objects.filter(slug__in=data.DEMO_SLUGS)


def demo_data_present() -> bool:
    demo_users = user_model().objects.filter(
        username__in=data.STAFF_USERNAMES,
        membership__organization__slug__in=data.DEMO_SLUGS,
    )
    return demo_organizations().exists() or demo_users.exists()


def conflicts() -> list[str]:
    """Rows that are not demo data but would collide with it; empty if none."""
    problems = []
    platform = (
        Organization.objects.filter(kind=Organization.Kind.PLATFORM)
        .exclude(slug__in=data.DEMO_SLUGS)
        .first()
    )
    if platform is not None:
        problems.append(
            f"a platform organization that is not demo data already exists "
            f"({platform.name}, slug {platform.slug})"
        )
    users = (
        user_model()
        .objects.filter(username__in=data.STAFF_USERNAMES)
        .exclude(membership__organization__slug__in=data.DEMO_SLUGS)
    )
    for username in users.values_list("username", flat=True):
        problems.append(f"the user {username!r} exists and is not demo data")
    codes = [spec.code for spec in data.TERMINALS]
    terminals = Terminal.objects.filter(code__in=codes).exclude(
        organization__slug__in=data.DEMO_SLUGS
    )
    for code in terminals.values_list("code", flat=True):
        problems.append(f"the kiosk {code} exists and is not demo data")
    return problems


def delete_demo_data() -> dict[str, int]:
    """Delete every row the demo made (or that hangs off its organizations).

    Children go before parents because most foreign keys PROTECT. The caller
    holds the transaction; a row another app keeps pointing at raises
    ProtectedError and rolls everything back.
    """
    organization_ids = list(demo_organizations().values_list("pk", flat=True))
    users = user_model().objects.filter(
        membership__organization_id__in=organization_ids
    )
    user_ids = list(users.values_list("pk", flat=True))
    cases = Case.objects.filter(organization_id__in=organization_ids)
    references = list(cases.values_list("reference", flat=True))
    deleted = {
        "cases": cases.count(),
        "orders": Order.objects.filter(organization_id__in=organization_ids).count(),
        "customers": Customer.objects.filter(
            organization_id__in=organization_ids
        ).count(),
        "users": len(user_ids),
        "organizations": len(organization_ids),
    }
    delete_case_traces(references)
    files = [
        attachment.file for attachment in Attachment.objects.filter(case__in=cases)
    ]
    # The evidence files on disk go once their rows are gone for good.
    transaction.on_commit(partial(delete_files, files))
    money.delete_money_data(organization_ids)
    OutboxMessage.objects.filter(organization_id__in=organization_ids).delete()
    # The audit trail is append-only; the demo's own is erased with its data.
    append_only.erase(
        AuditEvent.objects.filter(
            Q(organization_id__in=organization_ids) | Q(actor_id__in=user_ids)
        )
    )
    cases.delete()
    Payment.objects.filter(order__organization_id__in=organization_ids).delete()
    Order.objects.filter(organization_id__in=organization_ids).delete()
    Terminal.objects.filter(organization_id__in=organization_ids).delete()
    Customer.objects.filter(organization_id__in=organization_ids).delete()
    Membership.objects.filter(organization_id__in=organization_ids).delete()
    user_model().objects.filter(pk__in=user_ids).delete()
    Organization.objects.filter(pk__in=organization_ids).delete()
    return deleted


def delete_files(files: list[FieldFile]) -> None:
    for file in files:
        file.delete(save=False)


def delete_case_traces(references: list[str], chunk_size: int = 200) -> None:
    """Access codes and recorded SMS are keyed by "case:<reference>…"."""
    for start in range(0, len(references), chunk_size):
        chunk = references[start : start + chunk_size]
        VerificationCode.objects.filter(
            subject__in=[f"case:{reference}" for reference in chunk]
        ).delete()
        keys = Q()
        for reference in chunk:
            keys |= Q(idempotency_key__startswith=f"case:{reference}:")
        SmsMessage.objects.filter(keys).delete()


# ---------------------------------------------------------------- customers


@dataclass(frozen=True)
class CustomerRow:
    organization: str
    customer_number: str
    name: str
    email: str
    phone: str
    language: str


def customer_rows(seed: int) -> list[CustomerRow]:
    """The demo's customers: the same seed gives the same people."""
    rng = random.Random(f"{seed}:customers")
    french = Faker("fr_FR")
    french.seed_instance(seed)
    english = Faker("en_GB")
    english.seed_instance(seed)
    numbers: set[str] = set()
    phones: set[str] = set()
    rows = []
    for organization, count in data.CUSTOMERS_BY_MERCHANT.items():
        for _index in range(count):
            language = "en" if rng.random() < data.ENGLISH_SHARE else "fr"
            fake = english if language == "en" else french
            first, last = fake.first_name(), fake.last_name()
            phone = ""
            if rng.random() < 0.92:
                phone = unique(phones, partial(mobile, rng, language))
            rows.append(
                CustomerRow(
                    organization=organization,
                    customer_number=unique(
                        numbers, partial(customer_number, rng, organization)
                    ),
                    name=f"{first} {last}",
                    email=email_address(rng, first, last),
                    phone=phone,
                    language=language,
                )
            )
    return rows


def unique(seen: set[str], draw: Callable[[], str], attempts_max: int = 1000) -> str:
    for _attempt in range(attempts_max):
        value = draw()
        if value not in seen:
            seen.add(value)
            return value
    raise RuntimeError("could not draw a unique value")


def customer_number(rng: random.Random, organization: str) -> str:
    if organization == data.KIOSKS:
        return f"BT{rng.randint(100_000, 999_999)}"
    if organization == data.COINS:
        return f"ADH-{rng.randint(10_000, 99_999)}"
    return f"SDL{rng.randint(1_000_000, 9_999_999)}"


def mobile(rng: random.Random, language: str) -> str:
    """A valid mobile number in E.164: French (+336, +337) or British (+447)."""
    while True:
        if language == "en":
            text = "+447" + rng.choice("1245789") + digits(rng, 8)
        else:
            text = "+33" + rng.choice("67") + digits(rng, 8)
        try:
            return to_e164(text)
        except ValueError:
            continue  # Not every +337… block is allocated; draw again.


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def email_address(rng: random.Random, first: str, last: str) -> str:
    """Reserved example.* domains, so a demo never writes to a real mailbox."""
    local = f"{ascii_slug(first)}.{ascii_slug(last)}"
    if rng.random() < 0.4:
        local += str(rng.randint(1, 99))
    return f"{local}@{rng.choice(data.EMAIL_DOMAINS)}"


def national(phone: str) -> str:
    """How a French customer types their number: "06 12 34 56 78"."""
    if not phone.startswith("+33"):
        return phone
    rest = "0" + phone[3:]
    return " ".join(rest[i : i + 2] for i in range(0, len(rest), 2))


# ---------------------------------------------------------------- orders


@dataclass
class PaymentDraft:
    method: str
    status: str
    amount_minor: int
    captured_minor: int = 0
    refunded_minor: int = 0
    delay_seconds: int = 30


@dataclass
class OrderDraft:
    order: Order
    payments: list[PaymentDraft] = field(default_factory=list)

    @property
    def captured_minor(self) -> int:
        return sum(payment.captured_minor for payment in self.payments)

    def has(self, status: str, method: str | None = None) -> bool:
        return any(
            payment.status == status and method in (None, payment.method)
            for payment in self.payments
        )


def card_payments(
    rng: random.Random, amount: int, duplicates: bool
) -> list[PaymentDraft]:
    """Mostly one capture; some declines (retried or not); a few double charges."""
    draw = rng.random()
    if draw < 0.07:
        return [PaymentDraft("card", "failed", amount)]
    if draw < 0.13:
        return [
            PaymentDraft("card", "failed", amount),
            PaymentDraft("card", "captured", amount, amount, delay_seconds=95),
        ]
    captured = PaymentDraft("card", "captured", amount, amount)
    if duplicates and draw < 0.16:
        # The kiosk retried a payment the provider had already captured.
        return [captured, PaymentDraft("card", "captured", amount, amount, 0, 130)]
    return [captured]


def payments_for(
    rng: random.Random, method: str, amount: int, duplicates: bool = False
) -> list[PaymentDraft]:
    if method == "card":
        return card_payments(rng, amount, duplicates)
    if method == "wallet" and rng.random() < 0.03:
        return [PaymentDraft("wallet", "failed", amount)]
    return [PaymentDraft(method, "captured", amount, amount)]


def placed_at(
    rng: random.Random, now: datetime, days_max: int = ORDER_DAYS
) -> datetime:
    """A moment in the last `days_max` days, in French opening hours."""
    day = (now - timedelta(days=rng.uniform(0, days_max))).astimezone(PARIS).date()
    moment = time(rng.randint(7, 20), rng.randint(0, 59), rng.randint(0, 59))
    local = datetime.combine(day, moment, tzinfo=PARIS)
    return min(local, now - timedelta(minutes=rng.randint(20, 90)))


def order_status(draft: OrderDraft, fulfilled: bool) -> str:
    if draft.captured_minor == 0:
        return Order.Status.CANCELLED
    return Order.Status.FULFILLED if fulfilled else Order.Status.PAID


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Step:
    """One thing staff or the customer does to a case, some hours after the last."""

    verb: str  # assign, note, reply, status, customer
    who: str = ""  # staff username; "" for the customer
    text: str = ""
    target: str = ""  # status target, or assignee username
    hours: tuple[float, float] = (1, 24)


@dataclass
class Track:
    """The simulated moments that end up on the case row."""

    created_at: datetime
    last_at: datetime
    status: str
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


INCIDENT_SCENARIOS = {
    # scenario: (how many, age of the case in days: lowest, highest)
    "new": (10, (0.05, 0.8)),
    "assigned": (4, (0.2, 1.5)),
    "in_progress": (9, (1, 4)),
    "waiting_customer": (6, (2, 9)),
    "customer_answered": (3, (3, 8)),
    "waiting_technical": (4, (1, 4)),
    "resolved": (7, (1.5, 5)),
    "closed": (9, (8, 30)),
}
PROBLEM_COUNTS = (
    (Problem.PAYMENT_FAILED, 12),
    (Problem.NO_RECEIPT, 6),
    (Problem.CHANGE_NOT_RETURNED, 5),
    (Problem.CHARGED_TWICE, 6),
    (Problem.ITEM_MISSING, 7),
    (Problem.QUESTION, 7),
    (Problem.SUGGESTION, 4),
    # On orders without buyer protection: the shop's incidents (order_issue);
    # the protection claims are played by recours.demo.claims.
    (Problem.NOT_RECEIVED, 3),
    (Problem.REFUND_NOT_RECEIVED, 2),
)
ORDER_PROBLEMS = {Problem.NOT_RECEIVED, Problem.REFUND_NOT_RECEIVED}
KIOSK_PROBLEMS = {
    Problem.PAYMENT_FAILED,
    Problem.NO_RECEIPT,
    Problem.CHANGE_NOT_RETURNED,
    Problem.CHARGED_TWICE,
}
TECHNICAL_PROBLEMS = KIOSK_PROBLEMS | {Problem.ITEM_MISSING}
UNMATCHED_COUNT = 7
CASE_COUNT = sum(count for _problem, count in PROBLEM_COUNTS)
SCENARIO_COUNT = sum(count for count, _ages in INCIDENT_SCENARIOS.values())
assert SCENARIO_COUNT == CASE_COUNT


class DemoBuilder:
    """Writes the demo, one step per method; each returns what it created."""

    def __init__(self, seed: int, now: datetime | None = None) -> None:
        self.seed = seed
        self.now = now or clock.now()
        self.rng = random.Random(seed)
        self.organizations: dict[str, Organization] = {}
        self.staff: dict[str, Membership] = {}
        self.terminals: list[Terminal] = []
        self.customers: list[Customer] = []
        self.drafts: list[OrderDraft] = []
        self.invoice_references: set[str] = set()

    # -- organizations, staff, kiosks

    def create_organizations(self) -> list[Organization]:
        for spec in data.ORGANIZATIONS:
            self.organizations[spec.key] = Organization.objects.create(
                name=spec.name,
                slug=spec.slug,
                kind=spec.kind,
                notification_emails="\n".join(spec.notification_emails),
            )
        return list(self.organizations.values())

    def create_staff(self) -> list[Membership]:
        # One hash for all: hashing is slow on purpose, and they share a password.
        password = make_password(data.DEMO_PASSWORD)
        for spec in data.STAFF:
            is_admin = spec.role == "admin"
            user = user_model().objects.create(
                username=spec.username,
                email=f"{spec.username}@example.org",
                first_name=spec.first_name,
                last_name=spec.last_name,
                password=password,
                is_staff=is_admin,
                is_superuser=is_admin,
            )
            self.staff[spec.username] = Membership.objects.create(
                user=user,
                organization=self.organizations[spec.organization],
                role=spec.role,
            )
        return list(self.staff.values())

    def create_terminals(self) -> list[Terminal]:
        self.terminals = Terminal.objects.bulk_create(
            Terminal(
                organization=self.organizations[spec.organization],
                code=spec.code,
                name=spec.name,
                location=spec.location,
                is_active=spec.is_active,
            )
            for spec in data.TERMINALS
        )
        return self.terminals

    def terminals_of(self, key: str) -> list[Terminal]:
        organization = self.organizations[key]
        return [t for t in self.terminals if t.organization_id == organization.pk]

    # -- customers

    def create_customers(self) -> list[Customer]:
        self.customers = Customer.objects.bulk_create(
            (
                Customer(
                    organization=self.organizations[row.organization],
                    customer_number=row.customer_number,
                    name=row.name,
                    email=row.email,
                    phone=row.phone,
                    language=row.language,
                )
                for row in customer_rows(self.seed)
            ),
            batch_size=BULK_BATCH_SIZE,
        )
        return self.customers

    def customers_of(self, key: str) -> list[Customer]:
        organization = self.organizations[key]
        return [c for c in self.customers if c.organization_id == organization.pk]

    # -- orders and payments

    def create_orders(self) -> tuple[list[Order], list[Payment]]:
        rng = random.Random(f"{self.seed}:orders")
        self.drafts = [
            *self.kiosk_orders(rng, data.ORDERS_BY_MERCHANT[data.KIOSKS]),
            *self.coin_orders(rng, data.ORDERS_BY_MERCHANT[data.COINS]),
            *self.ticket_orders(rng, data.ORDERS_BY_MERCHANT[data.TICKETS]),
        ]
        references: set[str] = set()
        for draft in self.drafts:
            draft.order.reference = unique(references, lambda: order_reference(rng))
        orders = Order.objects.bulk_create(
            [draft.order for draft in self.drafts], batch_size=BULK_BATCH_SIZE
        )
        payments = Payment.objects.bulk_create(
            self.payment_rows(rng), batch_size=BULK_BATCH_SIZE
        )
        return orders, payments

    def payment_rows(self, rng: random.Random) -> Iterable[Payment]:
        for draft in self.drafts:
            for payment in draft.payments:
                assert payment.refunded_minor <= payment.captured_minor
                assert payment.captured_minor <= payment.amount_minor
                provider, provider_id = provider_reference(rng, payment.method)
                yield Payment(
                    order=draft.order,
                    method=payment.method,
                    provider=provider,
                    provider_payment_id=provider_id,
                    status=payment.status,
                    amount_minor=payment.amount_minor,
                    captured_minor=payment.captured_minor,
                    refunded_minor=payment.refunded_minor,
                    currency="EUR",
                    created_at=draft.order.placed_at
                    + timedelta(seconds=payment.delay_seconds),
                )

    def new_order(
        self, key: str, invoice_reference: str, total: int, **fields
    ) -> Order:
        assert invoice_reference not in self.invoice_references
        self.invoice_references.add(invoice_reference)
        return Order(
            organization=self.organizations[key],
            invoice_reference=invoice_reference,
            total_minor=total,
            currency="EUR",
            **fields,
        )

    def kiosk_orders(self, rng: random.Random, count: int) -> list[OrderDraft]:
        """Invoices (canteen, water, crèche, hospital, fines) paid mostly at kiosks."""
        customers, terminals = (
            self.customers_of(data.KIOSKS),
            self.terminals_of(data.KIOSKS),
        )
        drafts, number = [], 4_000
        for _index in range(count):
            _what, lowest, highest = rng.choice(data.KIOSK_INVOICES)
            total = rng.randint(lowest // 10, highest // 10) * 10
            terminal = rng.choice(terminals) if rng.random() < 0.85 else None
            method = "cash" if terminal and rng.random() < 0.35 else "card"
            moment = placed_at(rng, self.now)
            number += rng.randint(1, 40)
            order = self.new_order(
                data.KIOSKS,
                f"FAC-{moment.year}-{number:06d}",
                total,
                customer=rng.choice(customers) if rng.random() < 0.85 else None,
                terminal=terminal,
                placed_at=moment,
                status="",
            )
            draft = OrderDraft(order, payments_for(rng, method, total, duplicates=True))
            order.status = order_status(draft, fulfilled=True)
            drafts.append(draft)
        return drafts

    def coin_orders(self, rng: random.Random, count: int) -> list[OrderDraft]:
        """Gold and silver coins, paid from the member's wallet or by card."""
        customers, terminals = (
            self.customers_of(data.COINS),
            self.terminals_of(data.COINS),
        )
        drafts, number = [], 120_000
        for _index in range(count):
            _name, price, quantity_max = rng.choice(data.COINS_CATALOGUE)
            # Prices follow the metal's price: up to 4 % either way, in whole cents.
            unit = price + rng.randint(-price * 4 // 100, price * 4 // 100)
            total = unit * rng.randint(1, quantity_max)
            number += rng.randint(1, 25)
            order = self.new_order(
                data.COINS,
                f"CO-F{number:07d}",
                total,
                customer=rng.choice(customers),
                terminal=rng.choice(terminals) if rng.random() < 0.05 else None,
                placed_at=placed_at(rng, self.now),
                status="",
            )
            method = "wallet" if rng.random() < 0.55 else "card"
            draft = OrderDraft(order, payments_for(rng, method, total))
            order.status = order_status(draft, fulfilled=rng.random() < 0.9)
            drafts.append(draft)
        return drafts

    def ticket_orders(self, rng: random.Random, count: int) -> list[OrderDraft]:
        """Tickets; a few shows were cancelled, some refunds are still to go."""
        customers = self.customers_of(data.TICKETS)
        terminals = self.terminals_of(data.TICKETS)
        drafts, number = [], 30_000
        for _index in range(count):
            total = (
                rng.choice(data.TICKET_PRICES) * rng.randint(1, 4)
                + data.TICKET_FEE_MINOR
            )
            terminal = rng.choice(terminals) if rng.random() < 0.2 else None
            if terminal is not None:
                method = "cash" if rng.random() < 0.3 else "card"
            else:
                method = "wallet" if rng.random() < 0.08 else "card"
            number += rng.randint(1, 30)
            moment = placed_at(rng, self.now)
            order = self.new_order(
                data.TICKETS,
                f"SDL-{number:06d}",
                total,
                customer=rng.choice(customers) if rng.random() < 0.95 else None,
                terminal=terminal,
                placed_at=moment,
                status="",
            )
            draft = OrderDraft(order, payments_for(rng, method, total))
            order.status = order_status(draft, moment < self.now - timedelta(days=2))
            if draft.captured_minor and rng.random() < 0.08:
                cancel_show(rng, draft)
            drafts.append(draft)
        return drafts

    # -- cases

    def create_cases(self) -> list[Case]:
        """Open the incidents through create_case, then walk many along their
        workflow (the protection claims are recours.demo.claims')."""
        rng = random.Random(f"{self.seed}:cases")
        fake = Faker("fr_FR")
        fake.seed_instance(self.seed + 1)
        plans = self.case_plans(rng)
        unmatched = set(
            rng.sample(
                [
                    i
                    for i, (problem, _s) in enumerate(plans)
                    if problem not in ORDER_PROBLEMS | {Problem.ITEM_MISSING}
                ],
                UNMATCHED_COUNT,
            )
        )
        used: set[int] = set()
        cases = []
        for index, (problem, scenario) in enumerate(plans):
            created_at = self.case_start(rng, problem, scenario)
            if index in unmatched:
                report = self.unmatched_report(rng, fake, problem)
            else:
                report = self.matched_report(rng, fake, problem, created_at, used)
            cases.append(self.play_case(rng, report, scenario, created_at))
        return cases

    def case_plans(self, rng: random.Random) -> list[tuple[str, str]]:
        """Pair each problem with a scenario of its workflow, shuffled."""
        incident = [
            name for name, (n, _a) in INCIDENT_SCENARIOS.items() for _ in range(n)
        ]
        rng.shuffle(incident)
        plans: list[tuple[str, str]] = []
        # Problems the technical team does not handle first, so they never draw it.
        ordered = sorted(PROBLEM_COUNTS, key=lambda item: item[0] in TECHNICAL_PROBLEMS)
        for problem, count in ordered:
            for _index in range(count):
                fits = [
                    i
                    for i, name in enumerate(incident)
                    if name != "waiting_technical" or problem in TECHNICAL_PROBLEMS
                ]
                plans.append((problem, incident.pop(fits[-1])))
        return plans

    def case_start(self, rng: random.Random, problem: str, scenario: str) -> datetime:
        lowest, highest = INCIDENT_SCENARIOS[scenario][1]
        return self.now - timedelta(days=rng.uniform(lowest, highest))

    def matched_report(
        self,
        rng: random.Random,
        fake: Faker,
        problem: str,
        created_at: datetime,
        used: set[int],
    ) -> Report:
        if problem in (Problem.QUESTION, Problem.SUGGESTION):
            asker = rng.choice(self.customers_of(data.KIOSKS))
            active = [t for t in self.terminals_of(data.KIOSKS) if t.is_active]
            terminal = rng.choice(active) if rng.random() < 0.5 else None
            return self.report(
                rng,
                fake,
                problem,
                asker,
                terminal_code=terminal.code if terminal else "",
                customer_number=asker.customer_number,
            )
        draft = self.pick_order(rng, problem, created_at, used)
        order, customer = draft.order, draft.order.customer
        if problem == Problem.ITEM_MISSING:
            extra = {"order_reference": order.reference} if rng.random() < 0.5 else {}
            report = self.report(
                rng,
                fake,
                problem,
                customer,
                **extra,
                customer_number=customer.customer_number if customer else "",
            )
            # A technical report names the coin and when it went missing.
            report.item_number = coin_serial(rng)
            report.happened_at = went_missing_at(rng, order.placed_at, created_at)
            return report
        if problem in ORDER_PROBLEMS:
            if rng.random() < 0.6:
                return self.report(
                    rng, fake, problem, customer, order_reference=order.reference
                )
            return self.report(
                rng, fake, problem, customer, invoice_reference=order.invoice_reference
            )
        assert order.terminal is not None
        return self.report(
            rng,
            fake,
            problem,
            customer,
            terminal_code=order.terminal.code,
            payment_started=rng.choice(["yes", "yes", "unsure"])
            if problem == Problem.PAYMENT_FAILED
            else "yes",
            **kiosk_identifier(rng, order),
        )

    def unmatched_report(self, rng: random.Random, fake: Faker, problem: str) -> Report:
        """Identifiers as mistyped by a customer: they match nothing on file."""
        active = [t for t in self.terminals_of(data.KIOSKS) if t.is_active]
        terminal_code = rng.choice(active).code if problem in KIOSK_PROBLEMS else ""
        kind = rng.choice(["invoice", "customer_number", "phone"])
        identifiers = {}
        if kind == "invoice":
            invoice = unique(
                set(self.invoice_references),
                lambda: f"FAC-{self.now.year}-{rng.randint(900_000, 999_999)}",
            )
            identifiers["invoice_reference"] = invoice.lower().replace("-", " ", 1)
        elif kind == "customer_number":
            identifiers["customer_number"] = f"BT{rng.randint(10_000, 99_999)}"
        else:
            known = {customer.phone for customer in self.customers}
            identifiers["phone"] = national(unique(known, lambda: mobile(rng, "fr")))
        return self.report(
            rng,
            fake,
            problem,
            None,
            terminal_code=terminal_code,
            payment_started="unsure" if problem in KIOSK_PROBLEMS else "",
            **identifiers,
        )

    def report(
        self,
        rng: random.Random,
        fake: Faker,
        problem: str,
        customer: Customer | None,
        **fields: str,
    ) -> Report:
        if customer is not None:
            language, phone, email = customer.language, customer.phone, customer.email
        else:
            language = "en" if rng.random() < data.ENGLISH_SHARE else "fr"
            phone = to_e164(fields["phone"]) if fields.get("phone") else ""
            email = email_address(rng, fake.first_name(), fake.last_name())
        report = Report(
            problem=problem,
            language=language,
            description=rng.choice(data.COMMENTS[problem][language]),
            contact_channel=ContactChannel.EMAIL,
            contact_email=email,
        )
        if phone and rng.random() < 0.45:
            # Typed as people type it; create_case normalizes it to E.164.
            report.contact_channel = ContactChannel.SMS
            report.contact_phone, report.contact_email = national(phone), ""
        for name, value in fields.items():
            setattr(report, name, value)
        return report

    def pick_order(
        self, rng: random.Random, problem: str, created_at: datetime, used: set[int]
    ) -> OrderDraft:
        """An unused order that fits the problem, placed shortly before the report."""
        fits = ORDER_FILTERS[problem]
        window = timedelta(days=25 if problem in ORDER_PROBLEMS else 3)
        candidates = [d for d in self.drafts if d.order.pk not in used and fits(d)]
        if not candidates:
            # A seed may draw too few orders of a kind (double charges): take a paid one.
            fallback = ORDER_FILTERS[
                Problem.NO_RECEIPT
                if problem in KIOSK_PROBLEMS
                else Problem.ITEM_MISSING
            ]
            candidates = [
                d for d in self.drafts if d.order.pk not in used and fallback(d)
            ]
        recent = [
            d
            for d in candidates
            if created_at - window
            <= d.order.placed_at
            <= created_at - timedelta(minutes=5)
        ]
        before = [d for d in candidates if d.order.placed_at < created_at]
        draft = rng.choice(recent or before or candidates)
        used.add(draft.order.pk)
        return draft

    def play_case(
        self, rng: random.Random, report: Report, scenario: str, created_at: datetime
    ) -> Case:
        """Create the case and play its scenario in its simulated past.

        The demo must show a month of history, and history rows (timeline,
        audit, outbox) are never rewritten: each real action runs with the
        clock set to its simulated moment, so its rows are written with it.
        Finally the case's own times are set as simulated; its deadline is
        the one the actions scheduled.
        """
        with clock.at(created_at):
            case = intake.create_case(Actor(label="customer"), report, [])
        track = Track(created_at, created_at, case.status)
        steps = self.script(rng, case, scenario)
        latest = self.now - LATEST_STEP_MARGIN
        for step, moment in zip(
            steps, step_times(rng, steps, created_at, latest), strict=True
        ):
            with clock.at(moment):
                self.run(step, case)
            case.refresh_from_db()
            follow(track, case, moment)
        settle(case, track)
        return case

    def run(self, step: Step, case: Case) -> None:
        if step.verb == "customer":
            conversation.customer_message(case, step.text)
            return
        membership = self.staff[step.who]
        actor = staff_actor(membership)
        if step.verb == "assign":
            conversation.assign(membership, actor, case, self.staff[step.target].user)
        elif step.verb == "note":
            conversation.add_note(membership, actor, case, step.text)
        elif step.verb == "reply":
            conversation.reply(membership, actor, case, step.text)
        elif step.verb == "status":
            engine.change_status(membership, actor, case, step.target, step.text)
        else:
            raise ValueError(step.verb)

    def script(self, rng: random.Random, case: Case, scenario: str) -> list[Step]:
        handler = "agent"
        if case.team == Team.TECHNICIAN:
            handler = "technicien"
        elif case.organization_id == self.organizations[data.KIOSKS].pk and (
            rng.random() < 0.35 and scenario != "waiting_technical"
        ):
            handler = "marchand"
        return incident_script(rng, case, scenario, handler)


def cancel_show(rng: random.Random, draft: OrderDraft) -> None:
    """The show was cancelled: refunded for half the orders, pending for the rest."""
    draft.order.status = Order.Status.CANCELLED
    if rng.random() < 0.5:
        for payment in draft.payments:
            payment.refunded_minor = payment.captured_minor


def order_reference(rng: random.Random) -> str:
    groups = ("".join(rng.choice(ALPHABET) for _ in range(4)) for _ in range(2))
    return "CMD-" + "-".join(groups)


def provider_reference(rng: random.Random, method: str) -> tuple[str, str]:
    """The provider's id of a payment; never anything about the card itself."""
    if method == "card":
        return "stripe", "pi_" + "".join(
            rng.choice(string.ascii_letters + string.digits) for _ in range(24)
        )
    if method == "wallet":
        return "wallet", "wtx_" + "".join(
            rng.choice("0123456789abcdef") for _ in range(20)
        )
    return "", ""


def kiosk_identifier(rng: random.Random, order: Order) -> dict[str, str]:
    customer = order.customer
    choices = ["invoice", "invoice"]
    if customer is not None:
        choices.append("customer_number")
        if customer.phone:
            choices.append("phone")
    choice = rng.choice(choices)
    if choice == "customer_number":
        assert customer is not None
        return {"customer_number": customer.customer_number}
    if choice == "phone":
        assert customer is not None
        return {"phone": national(customer.phone)}
    return {"invoice_reference": order.invoice_reference}


def on_active_kiosk(
    draft: OrderDraft, organization_slug: str = "bornes-territoires"
) -> bool:
    terminal = draft.order.terminal
    return (
        terminal is not None
        and terminal.is_active
        and (draft.order.organization.slug == organization_slug)
    )


ORDER_FILTERS: dict[str, Callable[[OrderDraft], bool]] = {
    Problem.PAYMENT_FAILED: lambda d: on_active_kiosk(d) and d.has("failed", "card"),
    Problem.NO_RECEIPT: lambda d: on_active_kiosk(d) and d.captured_minor > 0,
    Problem.CHANGE_NOT_RETURNED: lambda d: (
        on_active_kiosk(d) and d.has("captured", "cash")
    ),
    Problem.CHARGED_TWICE: lambda d: (
        on_active_kiosk(d) and sum(p.status == "captured" for p in d.payments) == 2
    ),
    Problem.ITEM_MISSING: lambda d: (
        d.order.organization.slug == "comptoir-de-l-or" and d.captured_minor > 0
    ),
    Problem.NOT_RECEIVED: lambda d: (
        d.order.organization.slug == "scenes-de-loire"
        and d.order.protection_started_at is None
        and d.order.terminal is None
        and d.order.customer is not None
        and d.order.status in ("paid", "fulfilled")
    ),
    Problem.REFUND_NOT_RECEIVED: lambda d: (
        d.order.organization.slug == "scenes-de-loire"
        and d.order.protection_started_at is None
        and d.order.status == "cancelled"
        and d.captured_minor > 0
        and all(p.refunded_minor == 0 for p in d.payments)
    ),
}


def coin_serial(rng: random.Random) -> str:
    """A Napoléon's serial as the customer reads it off their certificate."""
    return serials.with_check_digit(f"NAP-{rng.randint(10_000, 99_999)}", "mod97")


def went_missing_at(
    rng: random.Random, placed_at: datetime, reported_at: datetime
) -> datetime:
    if placed_at >= reported_at:
        return reported_at - timedelta(hours=rng.uniform(1, 12))
    return placed_at + (reported_at - placed_at) * rng.uniform(0.3, 0.9)


def text_group(problem: str) -> str:
    if problem in KIOSK_PROBLEMS:
        return data.KIOSK_GROUP
    if problem == Problem.ITEM_MISSING:
        return data.COIN_GROUP
    if problem == Problem.SUGGESTION:
        return data.SUGGESTION_GROUP
    if problem in ORDER_PROBLEMS:
        return data.ORDER_GROUP
    return data.QUESTION_GROUP


def incident_script(
    rng: random.Random, case: Case, scenario: str, handler: str
) -> list[Step]:
    language = "en" if case.language == "en" else "fr"
    group = text_group(case.problem)
    replies = data.REPLIES[group][language]
    assign = Step("assign", handler, target=handler, hours=(0.2, 8))
    reply = Step("reply", handler, rng.choice(replies), hours=(1, 20))
    note = Step("note", handler, rng.choice(data.NOTES[group]), hours=(0.5, 24))
    resolve = Step(
        "status", handler, data.RESOLVED_REASONS[case.problem], "resolved", (4, 48)
    )
    wait = Step(
        "status",
        handler,
        data.WAITING_CUSTOMER_REASONS[group][language],
        "waiting_customer",
        (0.2, 6),
    )
    answer = Step(
        "customer", text=data.CUSTOMER_ANSWERS[group][language], hours=(2, 48)
    )
    scripts = {
        "new": [],
        "assigned": [assign, note],
        "in_progress": [assign, reply],
        "waiting_customer": [assign, reply, wait],
        "customer_answered": [assign, reply, wait, answer],
        "waiting_technical": [
            Step("assign", "agent", target="agent", hours=(0.2, 4)),
            Step("reply", "agent", replies[0], hours=(0.5, 6)),
            Step(
                "status", "agent", data.TECHNICAL_REASON, "waiting_technical", (1, 12)
            ),
            Step("assign", "agent", target="technicien", hours=(0.1, 1)),
            Step("note", "technicien", data.NOTES[group][0], hours=(2, 30)),
        ],
        "resolved": [assign, reply, note, resolve],
        "closed": [
            assign,
            reply,
            resolve,
            Step("status", handler, data.CLOSED_REASON, "closed", (24, 96)),
        ],
    }
    return scripts[scenario]


def step_times(
    rng: random.Random, steps: list[Step], start: datetime, latest: datetime
) -> list[datetime]:
    """Each step some hours after the last, squeezed so the last is before `latest`."""
    delays_hours = [rng.uniform(*step.hours) for step in steps]
    available_hours = max(0.0, (latest - start).total_seconds() / 3600)
    total_hours = sum(delays_hours)
    factor = min(1.0, available_hours / total_hours) if total_hours else 1.0
    moments, moment = [], start
    for delay in delays_hours:
        moment += timedelta(hours=delay * factor)
        moments.append(moment)
    return moments


def follow(track: Track, case: Case, moment: datetime) -> None:
    track.last_at = moment
    if case.status != track.status:
        track.status = case.status
        if case.status == "resolved":
            track.resolved_at = moment
        if case.status == "closed":
            track.closed_at = moment
    if case.first_response_at is not None and track.first_response_at is None:
        track.first_response_at = moment


def settle(case: Case, track: Track) -> None:
    """The case's own times as simulated; its deadline is the one the real
    actions scheduled (engine.schedule) at the moment it entered its state."""
    Case.objects.filter(pk=case.pk).update(
        created_at=track.created_at,
        updated_at=track.last_at,
        first_response_at=track.first_response_at,
        resolved_at=track.resolved_at,
        closed_at=track.closed_at,
    )
    case.refresh_from_db()
