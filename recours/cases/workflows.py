"""Case workflows declared as data (ARCHITECTURE.md 5).

A workflow lists its states and its transitions. A state says which team's
queue holds the case, whether the service-level clock stops while in it, and
its deadline: when it falls (a duration from entering the state, or a moment
computed from the case), an optional reminder before it, and the transition
the system takes when it passes. A transition says who may take it (staff
roles, the customer, the system), a guard that must hold, the payload it needs,
who hears of it and the webhook event it sends. The engine (cases.engine)
applies this; the console draws it; tests walk it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from recours.accounts.models import Role

if TYPE_CHECKING:
    from recours.cases.models import Case

# Parties that take transitions besides staff roles.
CUSTOMER = "customer"
SYSTEM = "system"
# Expiry that keeps the state: the priority goes up and the team lead is told.
ESCALATE = "escalate"
# The due action of a reminder that comes before a state's deadline.
REMIND = "remind"

PLATFORM = frozenset({Role.AGENT, Role.TECHNICIAN, Role.MEDIATOR, Role.ADMIN})
MERCHANT = frozenset({Role.MERCHANT_AGENT, Role.MERCHANT_ADMIN})
EVERY_STAFF = PLATFORM | MERCHANT
DECIDERS = frozenset({Role.MEDIATOR, Role.ADMIN})
ONLY_CUSTOMER = frozenset({CUSTOMER})
ONLY_SYSTEM = frozenset({SYSTEM})

# Who hears of a transition: the case's customer on their channel, the
# merchant organization at its notification addresses.
TO_CUSTOMER = "customer"
TO_MERCHANT = "merchant"


@dataclass(frozen=True)
class Deadline:
    """When a state's time runs out and what the system does then.

    The deadline falls either a number of calendar days after entering the
    state (`days_setting` names the setting) or at a moment read from the case
    (`at`: an SLA counted from creation, a date a mediator chose). With
    `remind_days_setting`, `reminder` (a notice template, to `remind_party`)
    goes out that many days before, without changing state. `then` says what
    expiry does, for people ("review").
    """

    expiry: str
    days_setting: str = ""
    at: Callable[["Case"], datetime | None] | None = None
    remind_days_setting: str = ""
    reminder: str = ""
    remind_party: str = TO_CUSTOMER
    then: object = ""

    def __post_init__(self) -> None:
        assert bool(self.days_setting) != (self.at is not None), "days or at"
        assert bool(self.remind_days_setting) == bool(self.reminder)

    def duration(self) -> timedelta | None:
        if not self.days_setting:
            return None
        return timedelta(days=getattr(settings, self.days_setting))

    def remind_before(self) -> timedelta | None:
        if not self.remind_days_setting:
            return None
        return timedelta(days=getattr(settings, self.remind_days_setting))

    def falls_at(self, case: "Case", entered_at: datetime) -> datetime | None:
        duration = self.duration()
        if duration is not None:
            return entered_at + duration
        assert self.at is not None
        return self.at(case)

    def describe(self) -> str:
        """A short text for diagrams and pages: "5 days → review"."""
        duration = self.duration()
        if duration is None:
            return str(self.then)
        count = duration.days
        when = ngettext("%(count)s day", "%(count)s days", count) % {"count": count}
        return f"{when} → {self.then}"


@dataclass(frozen=True)
class State:
    name: str
    label: object
    deadline: Deadline | None = None
    # The queue the case joins on entering; "" keeps the case's team.
    team: str = ""
    is_final: bool = False
    # The service-level clock stops while the case waits on the customer.
    pauses_sla: bool = False


@dataclass(frozen=True)
class Transition:
    name: str
    source: frozenset[str]
    target: str
    by: frozenset[str]
    label: object = ""
    guard: Callable[["Case"], bool] | None = None
    # What the action must carry: "" (nothing), "answer", "decision",
    # "documents" or "carried_out"; a staff member moves a case by hand only
    # through transitions that need nothing.
    payload: str = ""
    # (notice template, party) pairs sent when the transition is taken.
    notify: tuple[tuple[str, str], ...] = ()
    # The webhook events sent to the organization's endpoints.
    events: tuple[str, ...] = ()

    def admits(self, case: "Case") -> bool:
        return self.guard is None or self.guard(case)


@dataclass(frozen=True)
class Workflow:
    name: str
    label: object
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    # Kinds that start elsewhere than `initial`: a shop out of business has
    # nobody to answer, so its claim goes straight to review.
    starts: tuple[tuple[str, str], ...] = ()

    def first_state(self, kind: str) -> str:
        return dict(self.starts).get(kind, self.initial)

    def state(self, name: str) -> State:
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    def available(self, case: "Case", party: str) -> list[Transition]:
        """The transitions `party` (a role, "customer" or "system") may take now."""
        return [
            transition
            for transition in self.transitions
            if case.status in transition.source
            and party in transition.by
            and transition.admits(case)
        ]

    def named(self, case: "Case", name: str, party: str) -> Transition | None:
        """The transition called `name` open to `party` now; of several with
        one name, the first whose guard holds (a merchant's refusal goes to
        the customer, or to review after a cancellation)."""
        for transition in self.available(case, party):
            if transition.name == name:
                return transition
        return None

    def may(self, case: "Case", name: str, party: str) -> bool:
        """Whether `party` may take some transition called `name` from the
        case's state, whatever its guard (the payload it carries decides)."""
        return any(
            transition.name == name
            and case.status in transition.source
            and party in transition.by
            for transition in self.transitions
        )

    def targets(self, source: str, role: str) -> list[str]:
        """States a staff role may move a case to by hand (no payload needed)."""
        return [
            transition.target
            for transition in self.transitions
            if source in transition.source
            and role in transition.by
            and not transition.payload
            and transition.guard is None
        ]

    def by_hand(self, source: str, target: str, role: str) -> Transition | None:
        for transition in self.transitions:
            if (
                source in transition.source
                and transition.target == target
                and role in transition.by
                and not transition.payload
                and transition.guard is None
            ):
                return transition
        return None

    def expiry(self, state_name: str) -> Transition | None:
        """The system transition a passed deadline takes (None: it escalates)."""
        deadline = self.state(state_name).deadline
        if deadline is None or deadline.expiry == ESCALATE:
            return None
        for transition in self.transitions:
            if transition.name == deadline.expiry and state_name in transition.source:
                return transition
        raise KeyError(
            f"{self.name}: no transition {deadline.expiry} from {state_name}"
        )


# Service levels: every target is a setting.


def first_response_target(case: "Case") -> timedelta:
    return timedelta(hours=settings.SLA_FIRST_RESPONSE_HOURS[case.priority])


def resolution_target(case: "Case") -> timedelta:
    return timedelta(hours=settings.SLA_RESOLUTION_HOURS[case.priority])


def paused(case: "Case") -> timedelta:
    return timedelta(seconds=case.sla_paused_seconds)


def sla_due(case: "Case") -> datetime:
    """The incident's service-level deadline, counted from its creation with
    the time spent waiting on the customer left out: the first response until
    someone answered, then the resolution."""
    if case.first_response_at is None:
        return case.created_at + first_response_target(case) + paused(case)
    return case.created_at + resolution_target(case) + paused(case)


def documents_due(case: "Case") -> datetime | None:
    return case.documents_due_at


# Guards: the customer's options follow the merchant's answer.


def answered_refund(case: "Case") -> bool:
    answer = case.merchant_answer
    return answer is not None and answer.is_refund


def answered_partial_refund(case: "Case") -> bool:
    answer = case.merchant_answer
    return answer is not None and answer.is_refund and answer.is_partial


def answered_no_refund(case: "Case") -> bool:
    answer = case.merchant_answer
    return answer is not None and not answer.is_refund


def refusal_after_cancellation(case: "Case") -> bool:
    """The customer says no refund came after a cancellation and the merchant
    refuses: nothing is left to agree on, the platform decides."""
    return case.kind == "refund_not_received" and answered_no_refund(case)


def not_refusal_after_cancellation(case: "Case") -> bool:
    return not refusal_after_cancellation(case)


def decision_to_carry_out(case: "Case") -> bool:
    """A refund to pay or a replacement to send keeps the case open until done."""
    decision = case.decision_made
    return decision is not None and decision.outcome != "no_refund"


def decision_without_payment(case: "Case") -> bool:
    decision = case.decision_made
    return decision is not None and decision.outcome == "no_refund"


def states(*names: str) -> frozenset[str]:
    return frozenset(names)


OPEN_INCIDENT = states(
    "received", "triaged", "in_progress", "waiting_customer", "waiting_technical",
    "waiting_merchant",
)  # fmt: skip
STATUS_NOTICE = (("case_status", TO_CUSTOMER),)
SLA = Deadline(ESCALATE, at=sla_due, then=_("service-level target, then escalates"))

INCIDENT = Workflow(
    name="incident",
    label=_("Incidents"),
    initial="received",
    states=(
        State("received", _("Received"), SLA),
        State("triaged", _("Triaged"), SLA),
        State("in_progress", _("In progress"), SLA),
        State(
            "waiting_customer",
            _("Waiting for you"),
            Deadline(
                "resolve_for_silence",
                days_setting="WAITING_CUSTOMER_DAYS",
                then=_("resolved"),
            ),
            pauses_sla=True,
        ),
        State(
            "waiting_technical", _("With the technical team"), SLA, team="technician"
        ),
        State("waiting_merchant", _("Waiting for the merchant"), SLA, team="merchant"),
        State(
            "resolved",
            _("Resolved"),
            Deadline("close", days_setting="RESOLVED_CLOSE_DAYS", then=_("closed")),
        ),
        State("closed", _("Closed"), is_final=True),
    ),
    transitions=(
        Transition("triage", states("received"), "triaged", PLATFORM, _("Triage")),
        Transition(
            "start",
            OPEN_INCIDENT - {"in_progress"} | {"resolved"},
            "in_progress",
            EVERY_STAFF,
            _("Work on it"),
        ),
        Transition(
            "ask_customer",
            states("triaged", "in_progress"),
            "waiting_customer",
            EVERY_STAFF,
            _("Ask the customer"),
            notify=STATUS_NOTICE,
        ),
        Transition(
            "to_technical",
            states("triaged", "in_progress"),
            "waiting_technical",
            PLATFORM,
            _("Hand to the technical team"),
        ),
        Transition(
            "to_merchant",
            states("triaged", "in_progress"),
            "waiting_merchant",
            PLATFORM,
            _("Ask the merchant"),
        ),
        Transition(
            "customer_answered",
            states("waiting_customer"),
            "in_progress",
            ONLY_CUSTOMER,
            _("The customer answered"),
        ),
        Transition(
            "resolve",
            OPEN_INCIDENT,
            "resolved",
            EVERY_STAFF,
            _("Resolve"),
            notify=STATUS_NOTICE,
            events=("case.resolved",),
        ),
        Transition(
            "resolve_for_silence",
            states("waiting_customer"),
            "resolved",
            ONLY_SYSTEM,
            _("No answer from the customer"),
            notify=STATUS_NOTICE,
            events=("case.resolved",),
        ),
        Transition(
            "close",
            states("resolved"),
            "closed",
            EVERY_STAFF | ONLY_SYSTEM,
            _("Close"),
            notify=STATUS_NOTICE,
            events=("case.closed",),
        ),
    ),
)

TO_BOTH = (("forwarded_to_review", TO_CUSTOMER), ("forwarded_to_review", TO_MERCHANT))
CLOSED_NOTICE = (("case_closed", TO_CUSTOMER), ("case_closed", TO_MERCHANT))
DECISION_NOTICE = (("decision", TO_CUSTOMER), ("decision", TO_MERCHANT))
PROTECTION_OPEN = states(
    "awaiting_merchant", "awaiting_customer", "review", "waiting_documents"
)

PROTECTION = Workflow(
    name="protection",
    label=_("Buyer protection"),
    initial="awaiting_merchant",
    starts=(("merchant_closed", "review"),),
    states=(
        State(
            "awaiting_merchant",
            _("Waiting for the merchant"),
            Deadline(
                "forward",
                days_setting="PROTECTION_MERCHANT_ANSWER_DAYS",
                remind_days_setting="PROTECTION_REMINDER_BEFORE_DAYS",
                reminder="deadline_approaching",
                remind_party=TO_MERCHANT,
                then=_("platform review"),
            ),
            team="merchant",
        ),
        State(
            "awaiting_customer",
            _("Waiting for your answer"),
            Deadline(
                "close_for_silence",
                days_setting="PROTECTION_CUSTOMER_ANSWER_DAYS",
                remind_days_setting="PROTECTION_REMINDER_BEFORE_DAYS",
                reminder="answer_needed",
                then=_("closed"),
            ),
            team="merchant",
        ),
        State(
            "review",
            _("Under review by the platform"),
            Deadline(
                ESCALATE,
                days_setting="PROTECTION_REVIEW_DAYS",
                then=_("escalates"),
            ),
            team="mediator",
        ),
        State(
            "waiting_documents",
            _("Documents requested"),
            Deadline(
                "documents_overdue",
                at=documents_due,
                then=_("the date the mediator set, then review"),
            ),
            team="mediator",
        ),
        State(
            "decided",
            _("Decided"),
            Deadline(
                ESCALATE,
                days_setting="PROTECTION_DECISION_PAYMENT_DAYS",
                then=_("escalates"),
            ),
            team="mediator",
        ),
        State("closed", _("Closed"), is_final=True),
    ),
    transitions=(
        Transition(
            "merchant_answer",
            states("awaiting_merchant"),
            "awaiting_customer",
            MERCHANT | DECIDERS,
            _("Answer the claim"),
            guard=not_refusal_after_cancellation,
            payload="answer",
            notify=(("merchant_answered", TO_CUSTOMER),),
            events=("case.merchant_answered",),
        ),
        Transition(
            "merchant_answer",
            states("awaiting_merchant"),
            "review",
            MERCHANT | DECIDERS,
            _("Answer the claim"),
            guard=refusal_after_cancellation,
            payload="answer",
            notify=(("merchant_answered", TO_CUSTOMER), *TO_BOTH),
            events=("case.merchant_answered", "case.forwarded_to_review"),
        ),
        Transition(
            "forward",
            states("awaiting_merchant"),
            "review",
            ONLY_SYSTEM,
            _("No answer from the merchant in time"),
            notify=TO_BOTH,
            events=("case.forwarded_to_review",),
        ),
        Transition(
            "refund_received",
            states("awaiting_customer"),
            "closed",
            ONLY_CUSTOMER,
            _("Yes, I received the refund."),
            guard=answered_refund,
            notify=CLOSED_NOTICE,
            events=("case.closed",),
        ),
        Transition(
            "refund_not_received",
            states("awaiting_customer"),
            "review",
            ONLY_CUSTOMER,
            _("No, I did not receive the refund."),
            guard=answered_refund,
            notify=TO_BOTH,
            events=("case.forwarded_to_review",),
        ),
        Transition(
            "refuse_partial",
            states("awaiting_customer"),
            "review",
            ONLY_CUSTOMER,
            _("I do not accept the partial refund."),
            guard=answered_partial_refund,
            notify=TO_BOTH,
            events=("case.forwarded_to_review",),
        ),
        Transition(
            "accept",
            states("awaiting_customer"),
            "closed",
            ONLY_CUSTOMER,
            _("All right. I cancel the buyer protection."),
            guard=answered_no_refund,
            notify=CLOSED_NOTICE,
            events=("case.closed",),
        ),
        Transition(
            "disagree",
            states("awaiting_customer"),
            "review",
            ONLY_CUSTOMER,
            _("I do not agree with the shop's solution."),
            guard=answered_no_refund,
            notify=TO_BOTH,
            events=("case.forwarded_to_review",),
        ),
        Transition(
            "close_for_silence",
            states("awaiting_customer"),
            "closed",
            ONLY_SYSTEM,
            _("No answer from the customer in time"),
            notify=CLOSED_NOTICE,
            events=("case.closed",),
        ),
        Transition(
            "request_documents",
            states("review"),
            "waiting_documents",
            DECIDERS,
            _("Ask for documents"),
            payload="documents",
            events=("case.documents_requested",),
        ),
        Transition(
            "documents_received",
            states("waiting_documents"),
            "review",
            DECIDERS | ONLY_SYSTEM,
            _("Documents received"),
        ),
        Transition(
            "documents_overdue",
            states("waiting_documents"),
            "review",
            ONLY_SYSTEM,
            _("Documents not sent in time"),
        ),
        Transition(
            "decide",
            states("review"),
            "decided",
            DECIDERS,
            _("Decide"),
            guard=decision_to_carry_out,
            payload="decision",
            notify=DECISION_NOTICE,
            events=("case.decided",),
        ),
        Transition(
            "decide",
            states("review"),
            "closed",
            DECIDERS,
            _("Decide"),
            guard=decision_without_payment,
            payload="decision",
            notify=DECISION_NOTICE,
            events=("case.decided", "case.closed"),
        ),
        Transition(
            "decision_paid",
            states("decided"),
            "closed",
            DECIDERS | ONLY_SYSTEM,
            _("Refund paid or replacement sent"),
            # Carried out through protection.carry_out, which records when.
            payload="carried_out",
            notify=CLOSED_NOTICE,
            events=("case.closed",),
        ),
        Transition(
            "withdraw",
            PROTECTION_OPEN,
            "closed",
            ONLY_CUSTOMER,
            _("All went well: end my claim."),
            notify=CLOSED_NOTICE,
            events=("case.closed",),
        ),
    ),
)

ALL = (INCIDENT, PROTECTION)
PROTECTION_KINDS = ("not_received", "refund_not_received", "merchant_closed")
BY_KIND = {
    "payment_incident": INCIDENT,
    "item_missing": INCIDENT,
    "integrity": INCIDENT,
    "question": INCIDENT,
    "suggestion": INCIDENT,
    "order_issue": INCIDENT,
    **dict.fromkeys(PROTECTION_KINDS, PROTECTION),
}


def for_kind(kind: str) -> Workflow:
    return BY_KIND[kind]
