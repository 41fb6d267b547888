"""Case workflows declared as data (ARCHITECTURE.md 5).

A workflow lists its states, the transitions with the roles allowed to take
them, and the deadline each state sets with what its expiry does. The console
shows it, actions enforce it, and tests walk it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Role

if TYPE_CHECKING:
    from recours.cases.models import Case

ESCALATE = "escalate"
RESOLVE_FOR_SILENCE = "resolve_for_silence"
CLOSE = "close"
TO_REVIEW = "to_review"

PLATFORM = frozenset({Role.AGENT, Role.TECHNICIAN, Role.MEDIATOR, Role.ADMIN})
MERCHANT = frozenset({Role.MERCHANT_AGENT, Role.MERCHANT_ADMIN})
EVERY_STAFF = PLATFORM | MERCHANT
DECIDERS = frozenset({Role.MEDIATOR, Role.ADMIN})


@dataclass(frozen=True)
class Deadline:
    """How long a state may last, counted from entering it, and what expiry does."""

    duration: Callable[["Case"], timedelta]
    action: str


@dataclass(frozen=True)
class State:
    name: str
    label: object
    deadline: Deadline | None = None
    is_final: bool = False


@dataclass(frozen=True)
class Transition:
    source: frozenset[str]
    target: str
    roles: frozenset[str]


@dataclass(frozen=True)
class Workflow:
    name: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]

    def state(self, name: str) -> State:
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    def targets(self, source: str, role: str) -> list[str]:
        return [
            transition.target
            for transition in self.transitions
            if source in transition.source and role in transition.roles
        ]

    def allows(self, source: str, target: str, role: str) -> bool:
        return target in self.targets(source, role)

    def due_at(
        self, case: "Case", state_name: str, now: datetime
    ) -> tuple[datetime | None, str]:
        deadline = self.state(state_name).deadline
        if deadline is None:
            return None, ""
        return now + deadline.duration(case), deadline.action


def first_response(case: "Case") -> timedelta:
    return timedelta(hours=settings.SLA_FIRST_RESPONSE_HOURS[case.priority])


def resolution(case: "Case") -> timedelta:
    # Resolution targets are five times the first-response target.
    return 5 * first_response(case)


def days(count: int) -> Callable[["Case"], timedelta]:
    return lambda case: timedelta(days=count)


def merchant_answer(case: "Case") -> timedelta:
    return timedelta(days=settings.PROTECTION_MERCHANT_ANSWER_DAYS)


def states(*names: str) -> frozenset[str]:
    return frozenset(names)


INCIDENT = Workflow(
    name="incident",
    initial="received",
    states=(
        State("received", _("Received"), Deadline(first_response, ESCALATE)),
        State("triaged", _("Triaged"), Deadline(first_response, ESCALATE)),
        State("in_progress", _("In progress"), Deadline(resolution, ESCALATE)),
        State(
            "waiting_customer",
            _("Waiting for you"),
            Deadline(days(14), RESOLVE_FOR_SILENCE),
        ),
        State(
            "waiting_technical",
            _("With the technical team"),
            Deadline(resolution, ESCALATE),
        ),
        State(
            "waiting_merchant",
            _("Waiting for the merchant"),
            Deadline(resolution, ESCALATE),
        ),
        State("resolved", _("Resolved"), Deadline(days(7), CLOSE)),
        State("closed", _("Closed"), is_final=True),
    ),
    transitions=(
        Transition(states("received"), "triaged", PLATFORM),
        Transition(
            states(
                "received",
                "triaged",
                "waiting_customer",
                "waiting_technical",
                "waiting_merchant",
                "resolved",
            ),
            "in_progress",
            EVERY_STAFF,
        ),
        Transition(states("triaged", "in_progress"), "waiting_customer", EVERY_STAFF),
        Transition(states("triaged", "in_progress"), "waiting_technical", PLATFORM),
        Transition(states("triaged", "in_progress"), "waiting_merchant", PLATFORM),
        Transition(
            states(
                "received",
                "triaged",
                "in_progress",
                "waiting_customer",
                "waiting_technical",
                "waiting_merchant",
            ),
            "resolved",
            EVERY_STAFF,
        ),
        Transition(states("resolved"), "closed", EVERY_STAFF),
    ),
)

PROTECTION = Workflow(
    name="protection",
    initial="awaiting_merchant",
    states=(
        State(
            "awaiting_merchant",
            _("Waiting for the merchant"),
            Deadline(merchant_answer, TO_REVIEW),
        ),
        State(
            "awaiting_customer", _("Waiting for your answer"), Deadline(days(20), CLOSE)
        ),
        State(
            "review", _("Under review by the platform"), Deadline(resolution, ESCALATE)
        ),
        State(
            "waiting_documents", _("Documents requested"), Deadline(days(10), TO_REVIEW)
        ),
        State("resolved", _("Resolved"), Deadline(days(7), CLOSE)),
        State("closed", _("Closed"), is_final=True),
    ),
    transitions=(
        Transition(states("awaiting_merchant"), "awaiting_customer", EVERY_STAFF),
        Transition(
            states("awaiting_merchant", "awaiting_customer"), "review", EVERY_STAFF
        ),
        Transition(states("review"), "waiting_documents", DECIDERS),
        Transition(states("waiting_documents"), "review", DECIDERS),
        Transition(states("review", "awaiting_customer"), "resolved", DECIDERS),
        Transition(states("resolved"), "closed", EVERY_STAFF),
    ),
)

BY_KIND = {
    "payment_incident": INCIDENT,
    "item_missing": INCIDENT,
    "integrity": INCIDENT,
    "question": INCIDENT,
    "suggestion": INCIDENT,
    "not_received": PROTECTION,
    "refund_not_received": PROTECTION,
}

# Where an expired deadline sends the case, by action; ESCALATE keeps the state.
EXPIRY_TARGET = {RESOLVE_FOR_SILENCE: "resolved", CLOSE: "closed", TO_REVIEW: "review"}


def for_kind(kind: str) -> Workflow:
    return BY_KIND[kind]
