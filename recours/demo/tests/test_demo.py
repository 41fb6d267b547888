"""The demo command, run once for the module: it takes a few seconds."""

import copy
import io
import re
from datetime import datetime, timedelta

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from recours.accounts.models import Customer, Membership, Organization, Role
from recours.cases import engine, workflows
from recours.cases.access import visible_cases
from recours.cases.models import (
    Audience,
    Case,
    CaseEvent,
    Decision,
    DocumentRequest,
    MerchantAnswer,
)
from recours.commerce import serials
from recours.commerce.models import (
    Contingent,
    Event,
    HoldingMove,
    Item,
    Order,
    OrderLine,
    Payment,
    Terminal,
)
from recours.console.views import TO_ANSWER_CASES
from recours.core import clock
from recours.core.models import AuditEvent
from recours.demo import build, claims, data, money
from recours.integrity.models import Anomaly
from recours.ledger.models import JournalEntry
from recours.notifications.models import OutboxMessage

FAST_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker):
    """Load the demo once, committed, and delete it when the module is done."""
    output = io.StringIO()
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        call_command("demo", stdout=output)
    yield output.getvalue()
    with django_db_blocker.unblock(), transaction.atomic():
        build.delete_demo_data()


@pytest.fixture
def fast_hashers(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def counts() -> dict[str, int]:
    models = (
        Organization,
        Terminal,
        Customer,
        Order,
        Payment,
        Case,
        CaseEvent,
        AuditEvent,
        OutboxMessage,
        Membership,
    )
    return {model.__name__: model.objects.count() for model in models}


def bulk_orders():
    """The orders written as facts of the past (the money demo's have lines)."""
    return Order.objects.filter(lines__isnull=True)


def reported_cases():
    """Cases customers reported (the detectors open integrity cases too)."""
    return Case.objects.exclude(kind="integrity")


def protection_claims():
    return Case.objects.filter(kind__in=workflows.PROTECTION_KINDS)


REPORTED_COUNT = build.CASE_COUNT + claims.CLAIM_COUNT


def test_it_creates_the_stated_counts(demo_output, db):
    # given the demo loaded once for this module

    # then
    assert Organization.objects.filter(kind="platform").count() == 1
    assert Organization.objects.filter(kind="merchant").count() == 3
    assert Terminal.objects.count() == 12
    assert Customer.objects.count() == 200
    assert bulk_orders().count() == 1000
    assert reported_cases().count() == REPORTED_COUNT
    assert not Order.objects.filter(payments__isnull=True).exists()
    assert Payment.objects.count() >= 1000


def test_it_puts_most_kiosks_on_the_kiosk_operator(demo_output, db):
    # when
    operator = Organization.objects.get(slug="bornes-territoires")

    # then
    assert operator.terminals.count() > Terminal.objects.count() / 2
    assert Order.objects.filter(terminal__isnull=False).exists()
    assert Order.objects.filter(terminal__isnull=True).exists()


def test_it_gives_every_role_a_login(demo_output, db, fast_hashers):
    # when
    memberships = Membership.objects.select_related("user", "organization")

    # then
    assert {m.role for m in memberships} == set(Role.values)
    for membership in memberships:
        assert membership.user.check_password(data.DEMO_PASSWORD)
        assert membership.is_platform == membership.organization.is_platform
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff
    assert admin.is_superuser
    assert not get_user_model().objects.get(username="agent").is_superuser
    merchant = Membership.objects.get(user__username="marchand").organization
    assert merchant.slug == "bornes-territoires"


def test_it_prints_progress_urls_and_logins(demo_output):
    # then
    assert "Customers" in demo_output
    assert "200" in demo_output
    assert "/console/" in demo_output
    assert "/status/" in demo_output
    for spec in data.STAFF:
        assert re.search(
            rf"^\s+{re.escape(spec.username)}\s+{spec.role}\s",
            demo_output,
            re.MULTILINE,
        )
    assert data.DEMO_PASSWORD in demo_output
    assert "Protected orders" in demo_output
    assert re.search(r"^\s+marchand\s+console, To answer: \d+ claims", demo_output,
                     re.MULTILINE)  # fmt: skip


def test_it_stores_phones_in_e164(demo_output, db):
    # given
    phones = list(Customer.objects.exclude(phone="").values_list("phone", flat=True))
    phones += list(
        Case.objects.exclude(contact_phone="").values_list("contact_phone", flat=True)
    )
    phones += list(
        Case.objects.exclude(given_phone="").values_list("given_phone", flat=True)
    )

    # then
    assert len(phones) > 150
    for phone in phones:
        number = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(number), phone
        assert phone == phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164
        )


def test_it_writes_emails_to_reserved_domains_only(demo_output, db):
    # given
    emails = list(Customer.objects.values_list("email", flat=True))
    emails += list(
        Case.objects.exclude(contact_email="").values_list("contact_email", flat=True)
    )

    # then
    for email in emails:
        assert email.rsplit("@", 1)[1] in data.EMAIL_DOMAINS, email


def test_it_never_refunds_more_than_was_captured(demo_output, db):
    # when
    payments = list(Payment.objects.all())

    # then
    for payment in payments:
        assert (
            0
            <= payment.refunded_minor
            <= payment.captured_minor
            <= payment.amount_minor
        )
        assert isinstance(payment.amount_minor, int)
    assert any(p.refunded_minor for p in payments)
    assert any(p.status == "failed" for p in payments)
    assert sum(p.status == "captured" for p in payments) > 0.8 * len(payments)


def test_it_keeps_provider_ids_and_never_card_numbers(demo_output, db):
    # when
    payments = list(Payment.objects.all())

    # then
    for payment in payments:
        if payment.method == "card":
            assert payment.provider_payment_id.startswith("pi_")
        text = f"{payment.provider} {payment.provider_payment_id}"
        assert not re.search(r"\d{12,}", text), text


def scheduled_at(case: Case, workflow: workflows.Workflow) -> datetime:
    """When the case's deadline was last set: on entering its state, or (a
    deadline that escalates) at the last escalation or, for a service level,
    the first response,
    which start a fresh window (engine.responded, deadlines.escalate)."""
    events = list(case.events.all())
    moves = [e.created_at for e in events if e.type == CaseEvent.Type.STATUS]
    moment = moves[-1] if moves else case.created_at
    deadline = workflow.state(case.status).deadline
    if deadline is None or deadline.expiry != workflows.ESCALATE:
        return moment
    restarts = [e.created_at for e in events if e.type == CaseEvent.Type.ESCALATED]
    # A first response moves a service level counted from the report only.
    if case.first_response_at is not None and deadline.at is workflows.sla_due:
        restarts.append(case.first_response_at)
    return max([moment, *restarts])


def expected_deadline(case: Case) -> tuple[object, object, str]:
    """(deadline_at, due_at, due_action) as engine.schedule sets them, after
    the reminder the worker sent, if it did."""
    workflow = workflows.for_kind(case.kind)
    expected = copy.copy(case)
    moment = scheduled_at(case, workflow)
    engine.schedule(expected, moment)
    reminded = any(
        e.type == CaseEvent.Type.REMINDER and e.created_at >= moment
        for e in case.events.all()
    )
    if reminded:
        deadline = workflow.state(case.status).deadline
        assert deadline is not None
        expected.due_at, expected.due_action = expected.deadline_at, deadline.expiry
    return expected.deadline_at, expected.due_at, expected.due_action


def test_it_keeps_every_deadline_consistent_with_the_status(demo_output, db):
    # when
    cases = list(Case.objects.select_related("answer").prefetch_related("events"))

    # then
    for case in cases:
        workflow = workflows.for_kind(case.kind)
        if workflow.state(case.status).is_final:
            assert case.due_at is None
            assert case.due_action == ""
            assert case.deadline_at is None
            continue
        assert (case.deadline_at, case.due_at, case.due_action) == expected_deadline(
            case
        ), case.reference


def test_it_moves_cases_through_their_workflows(demo_output, db):
    # when
    statuses = set(Case.objects.values_list("status", flat=True))

    # then
    assert {
        "received",
        "in_progress",
        "waiting_customer",
        "resolved",
        "closed",
        "awaiting_merchant",
        "review",
    } <= statuses
    assert CaseEvent.objects.filter(type="reply").exists()
    assert CaseEvent.objects.filter(type="note").exists()
    assert Case.objects.filter(assignee__isnull=False).exists()
    assert Case.objects.filter(unmatched=True).exists()
    assert Case.objects.filter(contact_channel="sms").exists()
    assert Case.objects.filter(contact_channel="email").exists()
    assert Case.objects.filter(language="en").exists()
    assert len(set(Case.objects.values_list("kind", flat=True))) >= 6


def test_it_spreads_history_over_the_last_month(demo_output, db):
    # given
    now = build.clock.now()

    # then
    for case in reported_cases().prefetch_related("events"):
        assert (now - case.created_at).days <= 30
        assert case.updated_at >= case.created_at
        for event in case.events.all():
            assert case.created_at <= event.created_at < now
        audit = AuditEvent.objects.filter(
            object_type="cases.case", object_id=str(case.pk)
        )
        assert audit.filter(action="case.created", created_at=case.created_at).exists()
        assert OutboxMessage.objects.filter(about=f"cases.case:{case.pk}").exists()
    ages = [(now - c.created_at).days for c in reported_cases()]
    assert max(ages) >= 14
    assert min(ages) <= 1


def test_it_refuses_a_second_run_without_reset(demo_output, db):
    # given
    before = counts()

    # when
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", stdout=io.StringIO())

    # then
    assert counts() == before


def test_it_replaces_the_data_with_reset(demo_output, db, fast_hashers):
    # given
    names_before = set(Customer.objects.values_list("name", flat=True))

    # when
    call_command("demo", reset=True, seed=7, stdout=io.StringIO())

    # then
    assert Organization.objects.count() == 4
    assert Customer.objects.count() == 200
    assert bulk_orders().count() == 1000
    assert reported_cases().count() == REPORTED_COUNT
    assert Membership.objects.count() == len(data.STAFF)
    assert set(protection_claims().values_list("status", flat=True)) == {
        state.name for state in workflows.PROTECTION.states
    }
    assert set(Customer.objects.values_list("name", flat=True)) != names_before


def test_it_gives_the_same_customers_for_the_same_seed(demo_output, db):
    # when
    first = build.customer_rows(data.DEFAULT_SEED)
    again = build.customer_rows(data.DEFAULT_SEED)
    other = build.customer_rows(7)

    # then
    assert [row.name for row in first] == [row.name for row in again]
    assert first == again
    assert [row.name for row in first] != [row.name for row in other]
    stored = set(Customer.objects.values_list("customer_number", "name"))
    assert stored == {(row.customer_number, row.name) for row in first}


def test_it_stocks_coins_whose_serials_pass_their_check_digits(demo_output, db):
    # when
    items = list(Item.objects.select_related("item_type"))

    # then
    assert len(items) == sum(spec.stock for spec in money.COINS)
    assert {item.item_type.check_digit for item in items} == {"luhn", "mod97", "none"}
    for item in items:
        kind = item.item_type
        assert (
            serials.serial_problem(kind.serial_pattern, kind.check_digit, item.serial)
            is None
        ), item.serial


def test_it_builds_wallets_through_the_real_actions_in_the_past(demo_output, db):
    # given
    now = build.clock.now()
    entries = JournalEntry.objects.all()

    # then: top-ups, purchases and sell-backs, each balanced, all in the past
    assert {"top_up", "sell_back"} <= set(entries.values_list("kind", flat=True))
    assert HoldingMove.objects.filter(reason="purchase").exists()
    assert max(entries.values_list("created_at", flat=True)) < now
    assert (now - min(entries.values_list("created_at", flat=True))).days >= 60
    for entry in entries.prefetch_related("postings"):
        assert sum(p.amount_minor for p in entry.postings.all()) == 0


def test_it_sells_seats_of_an_event_with_contingents(demo_output, db):
    # when
    event = Event.objects.get(name=money.EVENT_NAME)

    # then
    assert event.sessions.count() == len(money.SESSION_DAYS_AHEAD)
    assert Contingent.objects.filter(session__event=event).count() == 8
    assert OrderLine.objects.filter(contingent__session__event=event).exists()


def test_the_detectors_find_every_planted_fault(demo_output, db):
    # when
    kinds = set(Anomaly.objects.values_list("kind", flat=True))

    # then: each with its integrity case and, where one exists, a correction
    assert {
        "vanished_holding",
        "unpaid_sell_back",
        "balance_drift",
        "stale_reservation",
    } <= kinds
    for anomaly in Anomaly.objects.select_related("case"):
        assert anomaly.case.kind == "integrity"
    restore = Anomaly.objects.get(kind="vanished_holding").corrections.get()
    assert restore.kind == "restore_holding"
    for fault in (money.VANISHED, money.UNPAID, money.DRIFT, money.STALE):
        assert fault in demo_output


# Buyer protection


def entered_by(status: str) -> set[str]:
    """The transitions that brought the claims now in `status` there."""
    names = set()
    for case in protection_claims().filter(status=status):
        moves = case.events.filter(type=CaseEvent.Type.STATUS)
        last = moves.order_by("-created_at", "-pk").first()
        names.add(last.data["transition"] if last else "opened")
    return names


def test_it_has_a_claim_in_every_state_of_the_protection_process(demo_output, db):
    # when
    states = set(protection_claims().values_list("status", flat=True))

    # then
    assert states == {state.name for state in workflows.PROTECTION.states}
    assert protection_claims().count() == claims.CLAIM_COUNT


def test_it_walks_every_road_of_the_protection_process(demo_output, db):
    # when
    waiting = list(MerchantAnswer.objects.filter(case__status="awaiting_customer"))
    decided = Decision.objects.filter(case__status="decided")

    # then: every answer waits for the customer, a partial refund among them
    assert {answer.kind for answer in waiting} == set(MerchantAnswer.Kind.values)
    assert any(answer.is_partial for answer in waiting)
    assert {
        "forward",  # the shop's silence
        "refuse_partial",
        "merchant_answer",  # a refusal after a cancellation
        "disagree",
        "refund_not_received",
        "opened",  # a shop out of business starts in review
    } <= entered_by("review")
    assert protection_claims().filter(kind="merchant_closed", status="review").exists()
    assert CaseEvent.objects.filter(
        type=CaseEvent.Type.STATUS, data__transition="documents_received"
    ).exists()
    assert {
        "refund_received",
        "accept",
        "close_for_silence",
        "decision_paid",
        "decide",
    } <= entered_by("closed")
    assert {(d.outcome, d.destination) for d in decided} == {
        (Decision.Outcome.REFUND, Decision.Destination.ORIGINAL),
        (Decision.Outcome.REFUND, Decision.Destination.STORE_CREDIT),
        (Decision.Outcome.REPLACEMENT, ""),
    }
    requests = DocumentRequest.objects.all()
    assert requests.filter(answered_at__isnull=False).exists()
    assert requests.filter(
        answered_at__isnull=True, case__status="waiting_documents"
    ).exists()


def test_it_gives_the_merchant_login_claims_to_answer(demo_output, db):
    # given
    membership = Membership.objects.select_related("organization", "user").get(
        user__username="marchand"
    )
    soon = clock.now() + timedelta(days=1)

    # when: the console's To answer tab
    to_answer = visible_cases(membership).filter(TO_ANSWER_CASES)
    waiting = list(to_answer.filter(status="awaiting_merchant"))

    # then
    assert len(waiting) >= 3
    assert any(case.deadline_at < soon for case in waiting)
    assert any(case.deadline_at > soon for case in waiting)
    for case in waiting:
        assert case.kind in workflows.PROTECTION_KINDS
        assert workflows.PROTECTION.may(case, "merchant_answer", membership.role)


def test_it_tells_merchants_at_their_notification_addresses(demo_output, db):
    # given
    merchants = list(Organization.objects.filter(kind="merchant"))
    sent = set(
        OutboxMessage.objects.filter(
            channel="email", about__startswith="cases.case:"
        ).values_list("recipient", flat=True)
    )

    # then
    for organization in merchants:
        assert organization.notification_addresses
        for address in organization.notification_addresses:
            assert address.rsplit("@", 1)[1] in data.EMAIL_DOMAINS, address
    kiosks = Organization.objects.get(slug="bornes-territoires")
    assert set(kiosks.notification_addresses) <= sent


def test_it_never_offers_or_decides_more_than_the_order(demo_output, db):
    # when
    answers = MerchantAnswer.objects.exclude(kind="no_refund").select_related(
        "case__order"
    )
    refunds = Decision.objects.filter(outcome="refund").select_related("case__order")

    # then
    assert answers.exists()
    assert refunds.exists()
    for owed in [*answers, *refunds]:
        order = owed.case.order
        assert 0 < owed.amount_minor <= order.total_minor, owed.case.reference
        assert owed.currency == order.currency
    assert any(d.amount_minor < d.case.order.total_minor for d in refunds)


def test_it_writes_claim_messages_to_every_audience(demo_output, db):
    # when
    lines = CaseEvent.objects.filter(
        case__kind__in=workflows.PROTECTION_KINDS,
        type__in=(CaseEvent.Type.MESSAGE, CaseEvent.Type.NOTE),
    )

    # then
    assert set(lines.values_list("audience", flat=True)) == set(Audience.values)


def test_it_protects_orders_at_every_stage_of_their_window(demo_output, db):
    # given: the jobs left nothing due (an hour's margin for the test's clock)
    now = clock.now()
    protected = Order.objects.filter(protection_started_at__isnull=False)
    running = protected.filter(
        protection_ended_at__isnull=True, protection_ends_at__gt=now
    )

    # then
    assert running.filter(protection_reminder_at__gt=now).exists()
    assert running.filter(protection_reminder_at__isnull=True).exists()
    assert protected.filter(protection_end_reason="expired").exists()
    assert protected.filter(protection_end_reason="confirmed").exists()
    an_hour_ago = now - timedelta(hours=1)
    assert not protected.filter(protection_reminder_at__lte=an_hour_ago).exists()
    assert not protected.filter(
        protection_ended_at__isnull=True, protection_ends_at__lte=an_hour_ago
    ).exists()
    assert OutboxMessage.objects.filter(
        dedupe_key__endswith=":protection_reminder", created_at__lt=now
    ).exists()
    for case in protection_claims().select_related("order"):
        order = case.order
        assert order.protection_started_at is not None, case.reference
        assert order.protection_ends_at is not None
        assert order.protection_started_at < case.created_at
        assert case.created_at < order.protection_ends_at
