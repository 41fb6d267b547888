"""What the console shows of a buyer-protection claim: the countdown to the
next deadline, the merchant's answer, the decision, the open document
requests, who reads each timeline line, and which claim forms a member gets.

Pages only read here; the actions are recours.cases.protection's.
"""

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from recours.accounts.models import Membership
from recours.cases import protection, queries, workflows
from recours.cases.models import Audience, Case, CaseEvent, DocumentRequest
from recours.console.claim_forms import (
    DecisionForm,
    DocumentsForm,
    EvidenceForm,
    MerchantAnswerForm,
    amount_text,
)
from recours.core import clock
from recours.core.money import Money
from recours.core.templatetags.money import money

# Who reads a line, as the timeline says it ("Visible to: …").
READERS: dict[str, object] = {
    Audience.EVERYONE: gettext_lazy("customer, merchant, platform"),
    Audience.STAFF: gettext_lazy("merchant, platform"),
    Audience.CUSTOMER_PLATFORM: gettext_lazy("customer, platform"),
    Audience.PLATFORM: gettext_lazy("platform"),
}
# The countdown of the states where someone must act by a date: (while it
# runs, once it passed). "count" is the days left, "date" the deadline.
COUNTDOWNS = {
    "awaiting_merchant": (
        ngettext_lazy(
            "Answer within %(count)d day (by %(date)s)",
            "Answer within %(count)d days (by %(date)s)",
            "count",
        ),
        gettext_lazy("The answer was due by %(date)s."),
    ),
    "awaiting_customer": (
        ngettext_lazy(
            "The customer has %(count)d day left to answer (until %(date)s)",
            "The customer has %(count)d days left to answer (until %(date)s)",
            "count",
        ),
        gettext_lazy("The customer's time to answer ended on %(date)s."),
    ),
    "waiting_documents": (
        ngettext_lazy(
            "Documents due within %(count)d day (by %(date)s)",
            "Documents due within %(count)d days (by %(date)s)",
            "count",
        ),
        gettext_lazy("The documents were due by %(date)s."),
    ),
}


def readers(event: CaseEvent) -> object:
    return READERS.get(event.audience, event.audience)


def when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def days_left(deadline: datetime, now: datetime) -> int:
    """Calendar days from today to the deadline's day, in the operator's time
    zone, as people count to a date ("by the 9th" is 7 days on the 2nd); on
    the day itself, 1."""
    days = (timezone.localdate(deadline) - timezone.localdate(now)).days
    return max(1, days)


def countdown(case: Case, now: datetime) -> dict[str, Any] | None:
    """The claim's deadline as staff read it ("Answer within 5 days (by …)"),
    and whether it passed; None when the state has nothing to count down."""
    phrases = COUNTDOWNS.get(case.status)
    if case.deadline_at is None or phrases is None or not queries.is_protection(case):
        return None
    running, passed = phrases
    overdue = case.deadline_at <= now
    values = {"count": days_left(case.deadline_at, now), "date": when(case.deadline_at)}
    text = (passed if overdue else running) % values
    return {"text": text, "overdue": overdue, "at": case.deadline_at}


# The summary box


def answer_summary(case: Case) -> dict[str, Any] | None:
    answer = case.merchant_answer
    if answer is None:
        return None
    event = (
        case.events.filter(type=CaseEvent.Type.MERCHANT_ANSWER)
        .prefetch_related("attachments")
        .order_by("-created_at", "-pk")
        .first()
    )
    amount = full = None
    if answer.amount_minor is not None:
        amount = Money(answer.amount_minor, answer.currency)
    if answer.full_amount_minor is not None:
        full = Money(answer.full_amount_minor, answer.currency)
    return {
        "answer": answer,
        "amount": amount,
        "full": full,
        "attachments": list(event.attachments.all()) if event else [],
    }


def decision_summary(case: Case) -> dict[str, Any] | None:
    decision = case.decision_made
    if decision is None:
        return None
    amount = None
    if decision.amount_minor is not None:
        amount = Money(decision.amount_minor, decision.currency)
    return {"decision": decision, "amount": amount}


def visible_requests(case: Case, membership: Membership) -> list[DocumentRequest]:
    """Open requests this member may read: a merchant never learns what the
    platform asked the customer alone."""
    requests = queries.open_requests(case)
    if not membership.is_platform:
        requests = requests.filter(party=DocumentRequest.Party.MERCHANT)
    return list(requests)


def summary(case: Case, membership: Membership, now: datetime) -> dict[str, Any]:
    requests = visible_requests(case, membership)
    return {
        "countdown": countdown(case, now),
        "answer": answer_summary(case),
        "decision": decision_summary(case),
        "requests": [
            {"request": request, "overdue": request.due_at <= now}
            for request in requests
        ],
        "asked_merchant": any(
            request.party == DocumentRequest.Party.MERCHANT for request in requests
        ),
    }


# The forms a member gets


def may(case: Case, membership: Membership, name: str) -> bool:
    return workflows.for_kind(case.kind).may(case, name, membership.role)


def documents_due_default() -> date:
    today = timezone.localtime(clock.now()).date()
    return today + timedelta(days=settings.PROTECTION_DOCUMENTS_DAYS)


def amount_options(case: Case) -> dict[str, Any]:
    """What a form with a refund amount needs: the currency and the order's total."""
    return {
        "currency": protection.currency_of(case),
        "full": protection.full_amount(case),
    }


def default_forms(case: Case, membership: Membership) -> dict[str, Any]:
    """The claim's forms this member may use now, unbound; none on an incident."""
    if not queries.is_protection(case):
        return {}
    amounts = amount_options(case)
    full = protection.full_amount(case)
    prefilled = {"amount": amount_text(full)} if full is not None else {}
    forms: dict[str, Any] = {}
    if may(case, membership, "merchant_answer"):
        forms["answer_form"] = MerchantAnswerForm(
            prefix="answer", initial=prefilled, **amounts
        )
    if may(case, membership, "request_documents"):
        forms["documents_form"] = DocumentsForm(
            prefix="documents", initial={"due_date": documents_due_default()}
        )
    if may(case, membership, "decide"):
        forms["decide_form"] = DecisionForm(
            prefix="decide",
            initial={**prefilled, "destination": protection.Destination.ORIGINAL},
            **amounts,
        )
    if not membership.is_platform and not queries.is_final(case):
        forms["evidence_form"] = EvidenceForm(prefix="evidence")
    return forms


def may_mark_carried_out(case: Case, membership: Membership) -> bool:
    decision = case.decision_made
    return (
        decision is not None
        and decision.carried_out_at is None
        and may(case, membership, "decision_paid")
    )


def context(case: Case, membership: Membership, now: datetime) -> dict[str, Any]:
    if not queries.is_protection(case):
        return {"claim": None}
    return {
        "claim": summary(case, membership, now),
        "may_mark_carried_out": may_mark_carried_out(case, membership),
    }


# Timeline titles of the claim's own lines


def transition_label(case: Case, name: str) -> object:
    for transition in workflows.for_kind(case.kind).transitions:
        if transition.name == name:
            return transition.label
    return name


def money_of(case: Case, amount_minor: object) -> Money | None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        return None
    return Money(amount_minor, protection.currency_of(case))


PARTY_NAMES: dict[str, object] = {
    DocumentRequest.Party.CUSTOMER: gettext_lazy("the customer"),
    DocumentRequest.Party.MERCHANT: gettext_lazy("the merchant"),
}


def parties_text(parties: list[str]) -> str:
    if len(parties) > 1:
        return _("the customer and the merchant")
    return str(PARTY_NAMES.get(parties[0], parties[0])) if parties else ""


def event_title(case: Case, event: CaseEvent) -> str:
    """A claim line's title with what it carries; "" for any other line."""
    data = event.data
    if event.type == CaseEvent.Type.MERCHANT_ANSWER:
        answer = choice_label(protection.Answer, data.get("answer"))
        amount = money_of(case, data.get("amount_minor"))
        if amount is None:
            return _("The merchant's answer: %(answer)s") % {"answer": answer}
        return _("The merchant's answer: %(answer)s, %(amount)s") % {
            "answer": answer, "amount": money(amount),
        }  # fmt: skip
    if event.type == CaseEvent.Type.DECISION:
        outcome = choice_label(protection.Outcome, data.get("outcome"))
        amount = money_of(case, data.get("amount_minor"))
        if amount is None:
            return _("Decision: %(outcome)s") % {"outcome": outcome}
        return _("Decision: %(outcome)s, %(amount)s") % {
            "outcome": outcome, "amount": money(amount),
        }  # fmt: skip
    if event.type == CaseEvent.Type.CUSTOMER_RESPONSE:
        option = transition_label(case, data.get("option", ""))
        return _("The customer's answer: “%(option)s”") % {"option": option}
    if event.type == CaseEvent.Type.DOCUMENTS_REQUESTED:
        return documents_title(data)
    return ""


def documents_title(data: dict) -> str:
    parties = parties_text(list(data.get("parties", [])))
    try:
        due_at = datetime.fromisoformat(data.get("due_at", ""))
    except (TypeError, ValueError):
        return _("Documents requested from %(parties)s") % {"parties": parties}
    return _("Documents requested from %(parties)s, by %(date)s") % {
        "parties": parties, "date": when(due_at),
    }  # fmt: skip


def choice_label(choices: Any, value: object) -> object:
    try:
        return choices(value).label
    except ValueError:
        return value or ""
