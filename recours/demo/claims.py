"""Buyer protection in the demo (issue 13, seed 004): protected orders, and
claims in every state of the process, played through the real actions.

1. Some online orders of the kiosk operator (its online shop posts the towns'
   passes and badges) and of the ticketing venue (e-tickets) were protected at
   checkout (commerce.protection.enrolment). Each claim gets an order of its
   own, shaped to its story before anything reads it: placed some days before
   the claim, protected, and cancelled with its refund still owed when the
   claim is about a missing refund.
2. Each claim is opened with cases.protection.open_claim and played move by
   move, each under clock.at(its moment): the shop's answer, the customer's
   choice, messages to the readers chosen, document requests, evidence, the
   mediator's decision. Before each move, and at the end, whatever deadlines
   the worker would have applied meanwhile are applied by the worker's own
   function (cases.deadlines.expire_one): the shop's last-day reminder, a
   silent shop's claim forwarded to review, a silent customer's claim closed.
3. Then the protections live their month through the commerce jobs, each at
   its moment: the day-23 reminders, a few customers saying all went well,
   and the windows that passed ending as expired.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import F

from recours.accounts.models import Membership
from recours.cases import (
    conversation,
    deadlines,
    engine,
    evidence,
    protection,
    workflows,
)
from recours.cases.access import staff_actor
from recours.cases.evidence import CheckedFile
from recours.cases.models import Audience, Case, Problem
from recours.commerce import protection as protections
from recours.commerce.models import Order, Payment
from recours.core import clock
from recours.demo import claim_data, data

Answer = protection.Answer
Outcome = protection.Outcome
Destination = protection.Destination
CUSTOMER = protection.Party.CUSTOMER
MERCHANT = protection.Party.MERCHANT

# Shops whose online orders may be protected, and the share of buyers who opt in.
SHOPS = (data.KIOSKS, data.TICKETS)
CHECKOUT_PROTECTED_SHARE = 0.45
# Of the protections reminded on day 23, the share whose customer then says
# all went well (which ends the protection early).
CONFIRMED_SHARE = 0.25
# How long before the claim its order was placed, in days, by problem.
ORDER_AGE_DAYS: dict[str, tuple[float, float]] = {
    Problem.NOT_RECEIVED: (3.0, 12.0),
    Problem.REFUND_NOT_RECEIVED: (10.0, 24.0),
    Problem.MERCHANT_CLOSED: (5.0, 20.0),
}
# The worker's loop comes by this long after a deadline passes.
WORKER_LAG = timedelta(minutes=2)
DEADLINE_STEPS_MAX = 10
LATEST_STEP_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Move:
    """One thing someone does to a claim, some days after it was opened."""

    verb: (
        str  # answer, respond, evidence, message, note, assign, documents, decide, paid
    )
    days: tuple[float, float]
    who: str = ""  # a staff username; "" for the customer
    what: str = ""  # the answer, option, audience, outcome or assignee
    text: str = ""  # a key of claim_data.TEXTS
    share: float = 1.0  # of the order total, for a refund
    file: str = ""  # a key of claim_data.FILES
    parties: frozenset[str] = frozenset()  # asked for documents
    due_days: int = 0  # to send documents
    destination: str = ""  # of a decided refund


@dataclass(frozen=True)
class Plan:
    """A claim's story: where it ends up, which shop, what went wrong, when
    it was opened (days ago, lowest and highest), and what happened since."""

    name: str
    state: str
    shop: str
    problem: str
    opened: tuple[float, float]
    moves: tuple[Move, ...] = ()
    # A missing refund that was in fact paid (the customer overlooked it).
    refunded: bool = False


def answer(what: str, days: tuple[float, float], who: str, text: str,
           share: float = 1.0, file: str = "") -> Move:  # fmt: skip
    return Move("answer", days, who, what, text, share, file)


def respond(option: str, days: tuple[float, float], text: str) -> Move:
    return Move("respond", days, what=option, text=text)


def message(audience: str, days: tuple[float, float], who: str, text: str) -> Move:
    return Move("message", days, who, audience, text)


def documents(parties: set[str], days: tuple[float, float], text: str,
              due_days: int) -> Move:  # fmt: skip
    return Move("documents", days, "mediateur", text=text,
                parties=frozenset(parties), due_days=due_days)  # fmt: skip


def decide(outcome: str, days: tuple[float, float], text: str, share: float = 1.0,
           destination: str = "") -> Move:  # fmt: skip
    return Move("decide", days, "mediateur", outcome, text, share,
                destination=destination)  # fmt: skip


def assign(days: tuple[float, float]) -> Move:
    return Move("assign", days, "mediateur", "mediateur")


K, T = data.KIOSKS, data.TICKETS
NOT_RECEIVED, REFUND = Problem.NOT_RECEIVED, Problem.REFUND_NOT_RECEIVED
PLANS = (
    # Waiting for the shop: the kiosk operator's staff (the `marchand` login)
    # have five to answer, two of them due within a day.
    Plan("new", "awaiting_merchant", K, NOT_RECEIVED, (0.1, 0.4)),
    Plan("with_evidence", "awaiting_merchant", K, NOT_RECEIVED, (1.0, 2.0), (
        Move("evidence", (0.1, 0.5), text="evidence_order_confirmation",
             file="order_confirmation"),
    )),
    Plan("shop_checking", "awaiting_merchant", K, REFUND, (2.5, 3.2), (
        message(Audience.STAFF, (0.8, 1.5), "marchand", "k_staff_checking_refund"),
    )),
    Plan("due_tomorrow", "awaiting_merchant", K, NOT_RECEIVED, (4.1, 4.4), (
        Move("note", (3.0, 3.5), "marchand", text="k_note_tracking"),
    )),
    Plan("due_today", "awaiting_merchant", K, NOT_RECEIVED, (4.55, 4.75)),
    Plan("tickets_new", "awaiting_merchant", T, NOT_RECEIVED, (0.5, 1.5)),
    # Waiting for the customer, after each kind of answer.
    Plan("full_refund", "awaiting_customer", K, NOT_RECEIVED, (6.0, 9.0), (
        answer(Answer.REFUND, (1.0, 2.0), "marchand", "k_answer_full"),
    )),
    Plan("partial_refund", "awaiting_customer", K, NOT_RECEIVED, (5.0, 8.0), (
        answer(Answer.REFUND, (1.0, 3.0), "marchand-admin", "k_answer_partial",
               share=0.5),
    )),
    Plan("refund_after_return", "awaiting_customer", K, NOT_RECEIVED, (10.0, 14.0), (
        answer(Answer.REFUND_AFTER_RETURN, (2.0, 4.0), "marchand",
               "k_answer_after_return", file="proof_of_posting"),
    )),
    Plan("no_refund", "awaiting_customer", K, NOT_RECEIVED, (3.0, 5.0), (
        answer(Answer.NO_REFUND, (0.5, 1.5), "marchand", "k_answer_no_refund_posted",
               file="proof_of_posting"),
    )),
    # Answered 19 days ago: the customer was reminded, one day is left.
    Plan("answer_needed", "awaiting_customer", T, NOT_RECEIVED, (21.6, 21.9), (
        answer(Answer.REFUND, (2.2, 2.4), "billetterie", "t_answer_full"),
    )),
    # In review, by each road that leads there.
    Plan("silent_shop", "review", K, NOT_RECEIVED, (6.0, 8.0), (
        assign((5.1, 5.3)),
        message(Audience.EVERYONE, (5.4, 5.9), "mediateur",
                "review_no_answer_everyone"),
    )),
    Plan("partial_refused", "review", K, NOT_RECEIVED, (8.0, 12.0), (
        answer(Answer.REFUND, (1.0, 2.0), "marchand", "k_answer_partial", share=0.6),
        respond("refuse_partial", (3.0, 5.0), "customer_refuse_partial"),
        message(Audience.CUSTOMER_PLATFORM, (5.5, 7.0), "mediateur",
                "review_customer_only"),
    )),
    Plan("refused_after_cancellation", "review", T, REFUND, (4.0, 7.0), (
        answer(Answer.NO_REFUND, (1.0, 2.0), "billetterie",
               "t_answer_refund_already_made"),
        message(Audience.STAFF, (2.5, 3.5), "mediateur",
                "review_staff_transfer_proof"),
    )),
    Plan("no_refund_disputed", "review", K, NOT_RECEIVED, (9.0, 12.0), (
        answer(Answer.NO_REFUND, (1.0, 2.0), "marchand", "k_answer_no_refund_delivered"),
        respond("disagree", (3.0, 6.0), "customer_disagree"),
        assign((6.5, 8.0)),
    )),
    Plan("refund_missing", "review", T, NOT_RECEIVED, (10.0, 13.0), (
        answer(Answer.REFUND, (1.0, 2.0), "billetterie", "t_answer_full"),
        respond("refund_not_received", (8.0, 9.5), "customer_refund_missing"),
    )),
    # The shop out of business: nobody to answer, straight to review.
    Plan("shop_closed", "review", T, Problem.MERCHANT_CLOSED, (1.0, 3.0), (
        Move("note", (0.2, 0.8), "mediateur", text="note_merchant_closed"),
        message(Audience.EVERYONE, (0.85, 0.95), "mediateur",
                "review_merchant_closed_everyone"),
    )),
    # Documents requested: from the shop; from both, the customer has sent hers.
    Plan("documents_from_shop", "waiting_documents", K, NOT_RECEIVED, (9.0, 11.0), (
        answer(Answer.NO_REFUND, (1.0, 2.0), "marchand-admin",
               "k_answer_no_refund_delivered"),
        respond("disagree", (3.0, 4.0), "customer_disagree"),
        documents({MERCHANT}, (4.5, 5.5), "documents_merchant_proof", 7),
    )),
    Plan("documents_half_sent", "waiting_documents", T, NOT_RECEIVED, (7.0, 9.0), (
        documents({CUSTOMER, MERCHANT}, (5.3, 5.8), "documents_both", 8),
        Move("evidence", (6.2, 6.8), text="evidence_bank_statement",
             file="bank_statement"),
    )),
    # Decided, waiting to be carried out.
    Plan("decided_refund", "decided", K, NOT_RECEIVED, (12.0, 14.0), (
        assign((5.2, 5.5)),
        documents({CUSTOMER}, (5.6, 6.0), "documents_customer_statement", 5),
        Move("evidence", (6.5, 7.5), text="evidence_bank_statement",
             file="bank_statement"),
        decide(Outcome.REFUND, (8.0, 9.0), "decision_refund_original",
               destination=Destination.ORIGINAL),
    )),
    Plan("decided_store_credit", "decided", T, NOT_RECEIVED, (10.0, 13.0), (
        answer(Answer.REFUND, (1.0, 2.0), "billetterie", "t_answer_partial",
               share=0.5),
        respond("refuse_partial", (3.0, 4.0), "customer_refuse_partial"),
        message(Audience.EVERYONE, (4.5, 5.5), "mediateur", "review_both_sides"),
        decide(Outcome.REFUND, (6.0, 7.0), "decision_store_credit", share=0.8,
               destination=Destination.STORE_CREDIT),
    )),
    Plan("decided_replacement", "decided", K, NOT_RECEIVED, (9.0, 12.0), (
        answer(Answer.NO_REFUND, (1.0, 2.0), "marchand", "k_answer_no_refund_posted"),
        respond("disagree", (2.5, 4.0), "customer_disagree"),
        message(Audience.PLATFORM, (4.5, 5.0), "mediateur",
                "platform_only_replacement"),
        decide(Outcome.REPLACEMENT, (5.5, 7.0), "decision_replacement"),
    )),
    # Closed, each way a claim ends.
    Plan("refund_received", "closed", K, NOT_RECEIVED, (8.0, 15.0), (
        answer(Answer.REFUND, (1.0, 2.0), "marchand", "k_answer_full"),
        respond("refund_received", (3.0, 6.0), "customer_refund_received"),
    )),
    Plan("no_refund_accepted", "closed", T, NOT_RECEIVED, (12.0, 18.0), (
        answer(Answer.NO_REFUND, (0.5, 1.5), "billetterie",
               "t_answer_no_refund_resent"),
        respond("accept", (1.6, 3.0), "customer_accept"),
    )),
    Plan("customer_silent", "closed", K, NOT_RECEIVED, (24.0, 26.0), (
        answer(Answer.REFUND, (0.8, 1.5), "marchand-admin", "k_answer_full"),
    )),
    Plan("decision_carried_out", "closed", T, NOT_RECEIVED, (15.0, 20.0), (
        assign((5.2, 5.6)),
        decide(Outcome.REFUND, (7.0, 8.0), "decision_refund_original",
               destination=Destination.ORIGINAL),
        Move("paid", (9.0, 11.0), "mediateur"),
    )),
    Plan("decided_no_refund", "closed", K, REFUND, (15.0, 20.0), (
        answer(Answer.NO_REFUND, (1.0, 2.0), "marchand", "k_answer_refund_already_made"),
        documents({MERCHANT}, (2.5, 3.5), "documents_merchant_transfer", 7),
        Move("evidence", (4.0, 5.0), "marchand", text="evidence_transfer_proof",
             file="transfer_order"),
        decide(Outcome.NO_REFUND, (6.0, 8.0), "decision_no_refund"),
    ), refunded=True),
)  # fmt: skip
CLAIM_COUNT = len(PLANS)


@dataclass
class Claim:
    plan: Plan
    order: Order
    opened_at: datetime
    case: Case | None = None


class ClaimBuilder:
    """Protects orders and plays the claims for a DemoBuilder that has
    written its staff and orders."""

    def __init__(self, builder) -> None:  # type: ignore[no-untyped-def]
        self.builder = builder
        self.now: datetime = builder.now
        self.latest = self.now - LATEST_STEP_MARGIN
        self.rng = random.Random(f"{builder.seed}:claims")
        self.staff: dict[str, Membership] = builder.staff
        self.claims: list[Claim] = []
        self.files: dict[str, CheckedFile] = {}

    # -- protected orders

    def protect_orders(self) -> list[Order]:
        """Opt-ins at checkout, then an order for each claim; returns the
        protected orders."""
        shops = {self.builder.organizations[key].pk: key for key in SHOPS}
        online = [
            draft.order
            for draft in self.builder.drafts
            if draft.order.organization_id in shops
            and draft.order.terminal_id is None
            and draft.order.customer_id is not None
            and draft.captured_minor > 0
            and draft.order.status != Order.Status.CANCELLED
        ]
        protected = [o for o in online if self.rng.random() < CHECKOUT_PROTECTED_SHARE]
        for order in protected:
            enrol(order, order.placed_at)
        free = [order for order in online if order not in protected]
        for plan in PLANS:
            candidates = [o for o in free if shops[o.organization_id] == plan.shop]
            order = self.rng.choice(candidates)
            free.remove(order)
            self.claims.append(self.shape(plan, order))
        orders = protected + [claim.order for claim in self.claims]
        Order.objects.bulk_update(orders, ORDER_FIELDS, batch_size=500)
        return orders

    def shape(self, plan: Plan, order: Order) -> Claim:
        """Fit the order to the claim's story: placed some days before it,
        protected at checkout, cancelled with its refund owed if it is about
        a refund; its payments move with it."""
        opened_at = self.now - timedelta(days=self.rng.uniform(*plan.opened))
        placed_at = opened_at - timedelta(
            days=self.rng.uniform(*ORDER_AGE_DAYS[plan.problem])
        )
        assert opened_at - placed_at < timedelta(days=settings.PROTECTION_DAYS)
        payments = Payment.objects.filter(order=order)
        shift = F("created_at") + (placed_at - order.placed_at)
        if plan.problem == REFUND:
            order.status = Order.Status.CANCELLED
            refunded = F("captured_minor") if plan.refunded else 0
            payments.update(created_at=shift, refunded_minor=refunded)
        else:
            order.status = Order.Status.PAID
            payments.update(created_at=shift)
        order.placed_at = placed_at
        enrol(order, placed_at)
        return Claim(plan, order, opened_at)

    # -- claims

    def play_claims(self) -> list[Case]:
        return [self.play(claim) for claim in self.claims]

    def play(self, claim: Claim) -> Case:
        """Open the claim and play its moves, each at its moment, with the
        deadlines that passed in between; check it ends where its plan says."""
        plan, order = claim.plan, claim.order
        assert order.customer is not None
        language = order.customer.language
        texts = claim_data.DESCRIPTIONS[plan.shop, plan.problem]
        description = self.rng.choice(texts.get(language, texts["fr"]))
        with clock.at(claim.opened_at):
            case = protection.open_claim(
                order, plan.problem, description, [], language=language
            )
        moments = [
            claim.opened_at + timedelta(days=self.rng.uniform(*move.days))
            for move in plan.moves
        ]
        assert moments == sorted(moments), plan.name
        assert all(moment < self.latest for moment in moments), plan.name
        for move, moment in zip(plan.moves, moments, strict=True):
            run_deadlines(case, moment)
            with clock.at(moment):
                self.run(move, case)
        run_deadlines(case, self.latest)
        case.refresh_from_db()
        assert case.status == plan.state, (plan.name, case.status)
        claim.case = case
        return case

    def run(self, move: Move, case: Case) -> None:
        if not move.who:
            self.run_customer(move, case)
            return
        membership = self.staff[move.who]
        STAFF_MOVES[move.verb](self, move, case, membership)

    def run_customer(self, move: Move, case: Case) -> None:
        body = claim_data.text(move.text, case.language)
        if move.verb == "respond":
            protection.customer_respond(case, move.what, body)
        elif move.verb == "evidence":
            protection.add_evidence(case, self.attached(move), body)
        else:
            raise ValueError(move.verb)

    def answer(self, move: Move, case: Case, membership: Membership) -> None:
        amount = None
        if move.what != Answer.NO_REFUND:
            amount = part_of(case, move.share)
        protection.merchant_answer(
            membership, staff_actor(membership), case, answer=move.what,
            amount_minor=amount, message=claim_data.text(move.text, case.language),
            files=self.attached(move),
        )  # fmt: skip

    def decide(self, move: Move, case: Case, membership: Membership) -> None:
        refund = move.what == Outcome.REFUND
        protection.decide(
            membership, staff_actor(membership), case, outcome=move.what,
            amount_minor=part_of(case, move.share) if refund else None,
            destination=move.destination,
            reason=claim_data.text(move.text, case.language),
        )  # fmt: skip

    def request(self, move: Move, case: Case, membership: Membership) -> None:
        today = clock.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date()
        protection.request_documents(
            membership, staff_actor(membership), case, parties=set(move.parties),
            message=claim_data.text(move.text, case.language),
            due_date=today + timedelta(days=move.due_days),
        )  # fmt: skip

    def evidence(self, move: Move, case: Case, membership: Membership) -> None:
        protection.add_evidence(
            case, self.attached(move), claim_data.text(move.text, case.language),
            membership=membership, actor=staff_actor(membership),
        )  # fmt: skip

    def message(self, move: Move, case: Case, membership: Membership) -> None:
        body = claim_data.text(move.text, case.language)
        conversation.post_message(
            membership, staff_actor(membership), case, body, move.what
        )

    def note(self, move: Move, case: Case, membership: Membership) -> None:
        body = claim_data.text(move.text, case.language)
        conversation.add_note(membership, staff_actor(membership), case, body)

    def assign(self, move: Move, case: Case, membership: Membership) -> None:
        assignee = self.staff[move.what].user
        conversation.assign(membership, staff_actor(membership), case, assignee)

    def paid(self, move: Move, case: Case, membership: Membership) -> None:
        protection.mark_carried_out(membership, staff_actor(membership), case)

    def attached(self, move: Move) -> list[CheckedFile]:
        """The move's file, checked as an upload would be."""
        if not move.file:
            return []
        if move.file not in self.files:
            name, title, lines = claim_data.FILES[move.file]
            upload = SimpleUploadedFile(
                name, pdf_bytes(title, lines), "application/pdf"
            )
            self.files[move.file] = evidence.check_one(upload)
        return [self.files[move.file]]

    # -- the protections' month

    def play_protections(self) -> dict[str, int]:
        """The day-23 reminders, the customers who said all went well, and the
        windows that passed, in the order they happened, each by its job."""
        claimed = {claim.order.pk for claim in self.claims}
        orders = list(
            Order.objects.filter(
                organization__slug__in=[spec.slug for spec in data.ORGANIZATIONS],
                protection_started_at__isnull=False,
            ).order_by("pk")
        )
        happenings: list[tuple[datetime, int, str, Order]] = []
        for order in orders:
            happenings.extend(self.happenings(order, order.pk in claimed))
        counts = {"reminded": 0, "confirmed": 0, "expired": 0}
        for moment, _pk, what, order in sorted(happenings, key=lambda h: h[:2]):
            with clock.at(moment):
                counts[what] += LIFE_JOBS[what](order)
        return counts

    def happenings(
        self, order: Order, claimed: bool
    ) -> list[tuple[datetime, int, str, Order]]:
        reminder_at, ends_at = order.protection_reminder_at, order.protection_ends_at
        assert reminder_at is not None and ends_at is not None
        found = []
        if reminder_at + WORKER_LAG <= self.latest:
            found.append((reminder_at + WORKER_LAG, order.pk, "reminded", order))
            confirmed_at = reminder_at + timedelta(hours=self.rng.uniform(2, 72))
            if (
                not claimed
                and self.rng.random() < CONFIRMED_SHARE
                and confirmed_at < min(ends_at, self.latest)
            ):
                found.append((confirmed_at, order.pk, "confirmed", order))
        if ends_at + WORKER_LAG <= self.latest:
            found.append((ends_at + WORKER_LAG, order.pk, "expired", order))
        return found


ORDER_FIELDS = [
    "placed_at",
    "status",
    "protection_started_at",
    "protection_ends_at",
    "protection_reminder_at",
]
STAFF_MOVES: dict[str, Callable[[ClaimBuilder, Move, Case, Membership], None]] = {
    "answer": ClaimBuilder.answer,
    "decide": ClaimBuilder.decide,
    "documents": ClaimBuilder.request,
    "evidence": ClaimBuilder.evidence,
    "message": ClaimBuilder.message,
    "note": ClaimBuilder.note,
    "assign": ClaimBuilder.assign,
    "paid": ClaimBuilder.paid,
}


def confirm(order: Order) -> int:
    protections.confirm(order)
    return 1


# Each job handles whatever is due at the moment it runs: the order it is
# run for (and any other due at the same instant).
LIFE_JOBS: dict[str, Callable[[Order], int]] = {
    "reminded": lambda _order: protections.send_due_reminders(),
    "confirmed": confirm,
    "expired": lambda _order: protections.expire_due(),
}


def to_try() -> list[tuple[str, str]]:
    """Who to log in as and what to try with the claims (the command's last
    lines)."""
    soon = clock.now() + timedelta(days=1)
    claims = Case.objects.filter(kind__in=workflows.PROTECTION_KINDS)
    kiosks = claims.filter(organization__slug=slug_of(K), status="awaiting_merchant")
    mediation = claims.filter(status__in=("review", "waiting_documents", "decided"))
    partial = (
        claims.filter(organization__slug=slug_of(K), status="awaiting_customer",
                      answer__amount_minor__lt=F("answer__full_amount_minor"))
        .order_by("created_at")
        .first()
    )  # fmt: skip
    lines = [
        ("marchand", f"console, To answer: {kiosks.count()} claims to answer "
         f"({kiosks.filter(deadline_at__lt=soon).count()} due within a day); "
         "answer one with a partial refund"),
        ("mediateur", f"console, Mediation: {mediation.count()} claims in review, "
         "waiting for documents or decided; ask for documents, decide"),
        ("billetterie", "console: only Scènes de Loire's claims and none of the "
         "platform's internal notes"),
    ]  # fmt: skip
    if partial is not None:
        lines.append(("a customer", f"{settings.SITE_URL}/status/ with "
                      f"{partial.reference}: accept or refuse a partial refund "
                      "(the code arrives by e-mail, printed by the server)"))  # fmt: skip
    return lines


def slug_of(key: str) -> str:
    return next(spec.slug for spec in data.ORGANIZATIONS if spec.key == key)


def enrol(order: Order, placed_at: datetime) -> None:
    """Protected at checkout: the columns enrolment gives an order placed then."""
    for name, value in protections.enrolment(placed_at, placed_at).items():
        setattr(order, name, value)


def part_of(case: Case, share: float) -> int | None:
    """A share of the order's total in whole euros, less than the total; None
    (the full amount, as the form pre-fills it) for a share of 1."""
    if share >= 1:
        return None
    assert case.order is not None
    total = case.order.total_minor
    amount = total * round(share * 100) // 100 // 100 * 100
    return amount if 0 < amount < total else max(1, total // 2)


def run_deadlines(case: Case, until: datetime) -> None:
    """Apply the claim's deadlines that passed before `until`, each a moment
    after it fell, as the worker's deadline job does (reminders included)."""
    for _step in range(DEADLINE_STEPS_MAX):
        due_at = Case.objects.values_list("due_at", flat=True).get(pk=case.pk)
        if due_at is None or due_at + WORKER_LAG > until:
            return
        with clock.at(due_at + WORKER_LAG), transaction.atomic():
            deadlines.expire_one(engine.locked(case))
    raise RuntimeError(f"{case.reference}: deadlines keep falling before {until}")


def pdf_bytes(title: str, lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with a title and a few lines (Helvetica, Windows-1252)."""
    commands = ["BT", "/F1 16 Tf", "72 760 Td", f"({pdf_text(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        commands += ["0 -24 Td", f"({pdf_text(line)}) Tj"]
    stream = "\n".join([*commands, "ET"]).encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        b"/Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
