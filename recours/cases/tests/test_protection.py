"""Buyer protection walked through time (seed 004): every path of a claim,
asserting at each step the state, the queue, the deadline and who was told."""

from datetime import date, timedelta

import pytest

from recours.cases import protection
from recours.cases.access import staff_actor
from recours.cases.deadlines import expire_due
from recours.cases.evidence import check_one
from recours.cases.models import Audience, Case, CaseEvent, Decision
from recours.core import hooks
from recours.core.errors import Conflict, InvalidInput, PermissionDenied
from recours.notifications.models import OutboxMessage
from recours.notifications.outbox import deliver_due
from recours.testing import (
    NOW,
    file_claim,
    membership,
    png_bytes,
    protected_order,
    snapshot,
)

CUSTOMER = "camille@example.org"
SHOP = ["litiges@alpha.example", "sav@alpha.example"]
ORDER_TOTAL = 12990


@pytest.fixture
def shop(merchant_a):
    merchant_a.notification_emails = "\n".join(SHOP)
    merchant_a.save()
    return merchant_a


@pytest.fixture
def claim(frozen, platform, shop, customer_a):
    return file_claim(protected_order(customer_a, total_minor=ORDER_TOTAL))


# The last outbox row each test has looked at, by case.
SEEN: dict[int, int] = {}


@pytest.fixture(autouse=True)
def _forget_seen():
    SEEN.clear()


def told(case: Case) -> list[tuple[str, str]]:
    """(notice, recipient) queued about the case since the last call, in order."""
    rows = OutboxMessage.objects.filter(
        about=f"cases.case:{case.pk}", pk__gt=SEEN.get(case.pk, 0)
    ).order_by("pk")
    found = [(row.dedupe_key.split(":")[2], row.recipient) for row in rows]
    if rows:
        SEEN[case.pk] = rows.last().pk
    return found


def at(case: Case, status: str, team: str, deadline_days: float | None) -> Case:
    """Reload the case and check its state, queue and deadline (from NOW)."""
    current = Case.objects.get(pk=case.pk)
    assert (current.status, current.team) == (status, team)
    if deadline_days is None:
        assert (current.deadline_at, current.due_at) == (None, None)
    else:
        assert current.deadline_at == NOW + timedelta(days=deadline_days)
    return current


def to_customer(*notices: str) -> list[tuple[str, str]]:
    return [(notice, CUSTOMER) for notice in notices]


def to_shop(notice: str) -> list[tuple[str, str]]:
    return [(notice, address) for address in SHOP]


def answer(user, case: Case, kind: str, amount_minor: int | None = None) -> Case:
    member = membership(user)
    return protection.merchant_answer(
        member, staff_actor(member), case, answer=kind, amount_minor=amount_minor,
        message="Nous vous remboursons.", files=[],
    )  # fmt: skip


def go(frozen, days: float) -> None:
    frozen.move_to(NOW + timedelta(days=days))
    expire_due()


# Opening and the merchant's five days


def test_it_asks_the_merchant_then_forwards_its_silence_to_review(frozen, claim):
    # then: the customer is acknowledged, every merchant address asked
    case = at(claim, "awaiting_merchant", "merchant", 5)
    assert (case.due_at, case.due_action) == (NOW + timedelta(days=4), "remind")
    assert told(case) == to_customer("ack") + to_shop("claim")

    # when: day 4, the merchant is reminded; the state stays
    go(frozen, 4)
    case = at(case, "awaiting_merchant", "merchant", 5)
    assert (case.due_at, case.due_action) == (NOW + timedelta(days=5), "forward")
    assert told(case) == to_shop("deadline_approaching")

    # when: day 5 passes without an answer
    go(frozen, 5 + 1 / 24)
    case = at(case, "review", "mediator", 5 + 1 / 24 + 10)
    assert told(case) == to_customer("forwarded_to_review") + to_shop(
        "forwarded_to_review"
    )
    assert case.events.filter(type=CaseEvent.Type.REMINDER).count() == 1


def test_it_sends_a_claim_against_a_closed_shop_straight_to_review(
    frozen, platform, shop, customer_a
):
    # when
    case = file_claim(protected_order(customer_a), "merchant_closed")

    # then: nobody to ask
    at(case, "review", "mediator", 10)
    assert told(case) == to_customer("ack")


def test_it_refuses_a_claim_outside_the_window_or_twice(
    frozen, platform, shop, customer_a
):
    # given
    late = protected_order(customer_a, reference="CMD-OLD", days_ago=31)
    order = protected_order(customer_a)
    file_claim(order)

    # when / then
    with pytest.raises(InvalidInput) as raised:
        file_claim(late)
    assert "ended on" in raised.value.message or "order" in raised.value.fields
    with pytest.raises(Conflict):
        file_claim(order, "refund_not_received")
    assert Case.objects.count() == 1


# The merchant's answer and the customer's twenty days


def test_a_full_refund_received_closes_the_claim(frozen, claim, merchant_a_agent):
    # given
    told(claim)
    frozen.move_to(NOW + timedelta(days=1))

    # when: the merchant refunds the full amount (the form's default)
    case = answer(merchant_a_agent, claim, "refund")

    # then
    case = at(case, "awaiting_customer", "merchant", 21)
    assert (case.due_at, case.due_action) == (NOW + timedelta(days=20), "remind")
    assert case.merchant_answer.amount_minor == ORDER_TOTAL
    assert not case.merchant_answer.is_partial
    assert told(case) == to_customer("merchant_answered")
    assert [option for option, _label in protection.customer_options(case)] == [
        "refund_received", "refund_not_received", "withdraw",
    ]  # fmt: skip

    # when: the customer got the money
    frozen.move_to(NOW + timedelta(days=3))
    protection.customer_respond(case, "refund_received", "Merci !")

    # then
    case = at(case, "closed", "merchant", None)
    assert told(case) == to_customer("case_closed") + to_shop("case_closed")


def test_a_partial_refund_can_be_refused(frozen, claim, merchant_a_agent):
    # when
    case = answer(merchant_a_agent, claim, "refund", amount_minor=5000)

    # then: the customer may refuse the partial amount
    assert case.merchant_answer.is_partial
    options = [option for option, _label in protection.customer_options(case)]
    assert options == ["refund_received", "refund_not_received", "refuse_partial",
                       "withdraw"]  # fmt: skip
    told(case)

    # when
    frozen.move_to(NOW + timedelta(days=2))
    protection.customer_respond(case, "refuse_partial", "Il manque 79,90 €.")

    # then
    case = at(case, "review", "mediator", 12)
    assert told(case) == to_customer("forwarded_to_review") + to_shop(
        "forwarded_to_review"
    )
    line = case.events.filter(type=CaseEvent.Type.CUSTOMER_RESPONSE).get()
    assert (line.audience, line.data["option"]) == (Audience.EVERYONE, "refuse_partial")


def test_a_refund_after_return_not_received_goes_to_review(
    frozen, claim, merchant_a_agent
):
    # given
    case = answer(merchant_a_agent, claim, "refund_after_return")
    assert case.merchant_answer.get_kind_display()

    # when
    protection.customer_respond(case, "refund_not_received")

    # then
    at(case, "review", "mediator", 10)


@pytest.mark.parametrize(
    ("option", "status", "team", "days"),
    [("accept", "closed", "merchant", None), ("disagree", "review", "mediator", 10)],
)
def test_a_refusal_is_accepted_or_disputed(
    frozen, claim, merchant_a_agent, option, status, team, days
):
    # given
    case = answer(merchant_a_agent, claim, "no_refund")
    assert [o for o, _l in protection.customer_options(case)] == [
        "accept",
        "disagree",
        "withdraw",
    ]

    # when
    protection.customer_respond(case, option)

    # then
    at(case, status, team, days)


def test_the_customers_silence_closes_the_claim_after_a_reminder(
    frozen, claim, merchant_a_agent
):
    # given
    case = answer(merchant_a_agent, claim, "refund")
    told(case)

    # when: day 19, then day 20
    go(frozen, 19)
    case = at(case, "awaiting_customer", "merchant", 20)
    assert told(case) == to_customer("answer_needed")
    go(frozen, 20)

    # then
    at(case, "closed", "merchant", None)
    assert told(case) == to_customer("case_closed") + to_shop("case_closed")


def test_a_refusal_after_a_cancellation_goes_straight_to_review(
    frozen, platform, shop, customer_a, merchant_a_agent
):
    # given: the customer says the refund after a cancellation never came
    case = file_claim(protected_order(customer_a), "refund_not_received")
    told(case)

    # when: the merchant refuses
    case = answer(merchant_a_agent, case, "no_refund")

    # then: nothing left for the customer to accept
    case = at(case, "review", "mediator", 10)
    assert [o for o, _l in protection.customer_options(case)] == ["withdraw"]
    assert told(case) == (
        to_customer("merchant_answered", "forwarded_to_review")
        + to_shop("forwarded_to_review")
    )


def test_it_refuses_a_bad_answer_and_writes_nothing(
    frozen, claim, merchant_a_agent, merchant_b_agent
):
    # given
    before = snapshot(claim)

    # when / then: above the order, nothing, another shop, no message
    with pytest.raises(InvalidInput) as raised:
        answer(merchant_a_agent, claim, "refund", amount_minor=ORDER_TOTAL + 1)
    assert "amount" in raised.value.fields
    with pytest.raises(InvalidInput):
        answer(merchant_a_agent, claim, "refund", amount_minor=0)
    with pytest.raises(PermissionDenied):
        answer(merchant_b_agent, claim, "refund")
    with pytest.raises(InvalidInput):
        member = membership(merchant_a_agent)
        protection.merchant_answer(member, staff_actor(member), claim, answer="refund",
                                   amount_minor=None, message="  ", files=[])  # fmt: skip
    assert snapshot(claim) == before

    # when: answered once, a second answer is refused
    answer(merchant_a_agent, claim, "refund")
    with pytest.raises(PermissionDenied):
        answer(merchant_a_agent, claim, "no_refund")


def test_a_stale_customer_option_is_refused(frozen, claim, merchant_a_agent):
    # given
    case = answer(merchant_a_agent, claim, "no_refund")
    before = snapshot(case)

    # when / then: "refuse the partial refund" does not fit a refusal
    with pytest.raises(InvalidInput):
        protection.customer_respond(case, "refuse_partial")
    assert snapshot(case) == before


# Mediation


@pytest.fixture
def in_review(frozen, claim):
    go(frozen, 4)
    go(frozen, 5 + 1 / 24)
    case = Case.objects.get(pk=claim.pk)
    told(case)
    return case


def ask(mediator, case: Case, parties: set[str], due: date) -> Case:
    member = membership(mediator)
    return protection.request_documents(
        member, staff_actor(member), case, parties=parties,
        message="Merci d'envoyer la preuve de dépôt du colis.", due_date=due,
    )  # fmt: skip


def test_documents_asked_of_the_merchant_and_sent_return_to_review(
    frozen, in_review, mediator, merchant_a_agent
):
    # when: the mediator asks the merchant, by March 14 (Paris)
    case = ask(mediator, in_review, {"merchant"}, date(2026, 3, 14))

    # then: only the merchant is asked; the case waits until the end of that day
    case = Case.objects.get(pk=case.pk)
    assert (case.status, case.team) == ("waiting_documents", "mediator")
    assert case.deadline_at.isoformat() == "2026-03-14T22:59:00+00:00"
    assert told(case) == to_shop("documents_requested")
    line = case.events.filter(type=CaseEvent.Type.DOCUMENTS_REQUESTED).get()
    assert line.audience == Audience.STAFF

    # when: the merchant sends its proof of posting
    member = membership(merchant_a_agent)
    upload = check_one(_upload("depot.png"))
    protection.add_evidence(case, [upload], "Preuve de dépôt", membership=member,
                            actor=staff_actor(member))  # fmt: skip

    # then: back in review, the request answered
    case = Case.objects.get(pk=case.pk)
    assert (case.status, case.team) == ("review", "mediator")
    assert not case.document_requests.filter(answered_at__isnull=True).exists()


def test_documents_not_sent_in_time_return_to_review(frozen, in_review, mediator):
    # given: both asked; only the customer answers
    case = ask(mediator, in_review, {"customer", "merchant"}, date(2026, 3, 14))
    assert told(case) == to_customer("documents_requested") + to_shop(
        "documents_requested"
    )
    protection.add_evidence(case, [], "Je n'ai rien reçu, voici ma déclaration.")
    assert Case.objects.get(pk=case.pk).status == "waiting_documents"

    # when: the date passes
    frozen.move_to(NOW + timedelta(days=13))
    expire_due()

    # then
    case = Case.objects.get(pk=case.pk)
    assert (case.status, case.team) == ("review", "mediator")
    line = case.events.filter(type=CaseEvent.Type.STATUS).last()
    assert line.data["transition"] == "documents_overdue"


def decide(user, case: Case, **fields) -> Decision:
    member = membership(user)
    defaults = {"outcome": "refund", "amount_minor": None,
                "destination": "original_payment", "reason": "Colis jamais livré."}  # fmt: skip
    return protection.decide(
        member, staff_actor(member), case, **{**defaults, **fields}
    )


def test_a_decided_refund_closes_the_case_once_paid(frozen, in_review, mediator):
    # when: a partial refund as store credit
    decision = decide(mediator, in_review, amount_minor=8000,
                      destination="store_credit")  # fmt: skip

    # then: recorded for the refund engine, the case waits for the payment
    assert (decision.amount_minor, decision.currency) == (8000, "EUR")
    assert decision.destination == "store_credit"
    case = Case.objects.get(pk=in_review.pk)
    assert (case.status, case.team) == ("decided", "mediator")
    assert told(case) == to_customer("decision") + to_shop("decision")
    line = case.events.filter(type=CaseEvent.Type.DECISION).get()
    assert (line.body, line.is_public) == ("Colis jamais livré.", True)

    # when: the refund engine says it was paid (a registered handler)
    hooks.emit("refund.succeeded", case_reference=case.reference)

    # then
    case = Case.objects.get(pk=case.pk)
    assert case.status == "closed"
    assert case.decision_made.carried_out_at is not None
    assert told(case) == to_customer("case_closed") + to_shop("case_closed")


@pytest.mark.parametrize(("outcome", "status"), [
    ("no_refund", "closed"), ("replacement", "decided"),
])  # fmt: skip
def test_a_decision_without_money_closes_or_waits_for_the_replacement(
    frozen, in_review, mediator, outcome, status
):
    # when
    decision = decide(mediator, in_review, outcome=outcome, destination="")

    # then
    assert (decision.amount_minor, decision.destination) == (None, "")
    assert Case.objects.get(pk=in_review.pk).status == status


def test_only_a_mediator_decides_and_never_above_the_order(
    frozen, in_review, agent, mediator, merchant_a_agent
):
    # given
    before = snapshot(in_review)

    # when / then
    with pytest.raises(PermissionDenied):
        decide(agent, in_review)
    with pytest.raises(PermissionDenied):
        decide(merchant_a_agent, in_review)
    with pytest.raises(InvalidInput):
        decide(mediator, in_review, amount_minor=ORDER_TOTAL + 1)
    with pytest.raises(InvalidInput):
        decide(mediator, in_review, reason=" ")
    assert snapshot(in_review) == before


def test_the_customer_can_end_a_claim_at_any_time(frozen, claim):
    # when
    protection.customer_respond(claim, "withdraw", "Colis reçu ce matin.")

    # then
    at(claim, "closed", "merchant", None)


def test_claim_mails_reach_a_real_smtp_server(frozen, claim, smtp_server):
    # when: the worker delivers the acknowledgement and the merchant's mails
    deliver_due()

    # then
    recipients = sorted(item.rcpt_tos[0] for item in smtp_server.handler.received)
    assert recipients == sorted([CUSTOMER, *SHOP])
    to_shop_mail = next(
        item.message for item in smtp_server.handler.received
        if item.rcpt_tos == [SHOP[0]]
    )  # fmt: skip
    assert claim.reference in to_shop_mail["Subject"]
    assert claim.order.reference in to_shop_mail.get_body(("plain",)).get_content()


def _upload(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def test_documents_from_a_customer_an_incident_waits_for_wake_it(
    frozen, platform, customer_a, agent
):
    # given
    from recours.cases.engine import change_status
    from recours.testing import file_case, put_in_state

    case = file_case()
    put_in_state(case, "in_progress")
    member = membership(agent)
    change_status(member, staff_actor(member), case, "waiting_customer", "Un ticket ?")

    # when
    protection.add_evidence(case, [check_one(_upload("ticket.png"))])

    # then
    assert Case.objects.get(pk=case.pk).status == "in_progress"
    with pytest.raises(InvalidInput):
        protection.customer_respond(case, "customer_answered")


def test_a_mediators_first_message_leaves_the_review_clock_running(
    frozen, in_review, mediator
):
    # given: in review since day 5 (+1 h), 10 days to decide
    deadline = in_review.deadline_at
    frozen.move_to(NOW + timedelta(days=7))

    # when
    from recours.cases.conversation import post_message

    member = membership(mediator)
    post_message(member, staff_actor(member), in_review, "Nous examinons.",
                 Audience.EVERYONE)  # fmt: skip

    # then
    assert Case.objects.get(pk=in_review.pk).deadline_at == deadline


def test_a_decision_is_carried_out_once_and_never_by_hand(frozen, in_review, mediator):
    # given
    decide(mediator, in_review, outcome="replacement", destination="")
    member = membership(mediator)

    # when / then: the generic status form cannot close it without the record
    from recours.cases.engine import change_status

    with pytest.raises(PermissionDenied):
        change_status(member, staff_actor(member), in_review, "closed")
    protection.mark_carried_out(member, staff_actor(member), in_review)
    with pytest.raises(Conflict):
        protection.mark_carried_out(member, staff_actor(member), in_review)
    assert Case.objects.get(pk=in_review.pk).decision_made.carried_out_at == NOW + (
        timedelta(days=5, hours=1)
    )
