from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from recours.cases import intake, notices
from recours.cases.evidence import check_files
from recours.cases.intake import Report, create_case, expected_response_hours
from recours.cases.models import Attachment, Case, CaseEvent
from recours.commerce.models import Order
from recours.core.audit import Actor
from recours.core.errors import InvalidInput
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case, file_claim, png_bytes, protected_order


def nothing_written() -> bool:
    return not (
        Case.objects.exists()
        or CaseEvent.objects.exists()
        or AuditEvent.objects.exists()
        or OutboxMessage.objects.exists()
    )


@pytest.fixture
def order(merchant_a, customer_a, kiosk):
    return Order.objects.create(
        organization=merchant_a,
        customer=customer_a,
        terminal=kiosk,
        reference="ORD-0001",
        invoice_reference="FAC-2026-0042",
        status="paid",
        total_minor=2350,
        placed_at=NOW,
    )


def test_it_links_the_kiosk_order_and_customer(
    frozen, platform, order, kiosk, customer_a
):
    # when
    case = file_case(
        terminal_code="alpha-gare-01",
        invoice_reference="fac-2026-0042",
        customer_number="",
    )

    # then
    assert case.terminal == kiosk
    assert case.order == order
    assert case.customer == customer_a
    assert case.organization == order.organization
    assert case.unmatched is False
    assert case.given_invoice_reference == "fac-2026-0042"


def test_it_links_the_customer_by_number(frozen, platform, customer_a):
    # when
    case = file_case(customer_number="C-10001")

    # then
    assert case.customer == customer_a
    assert case.order is None
    assert case.organization == customer_a.organization
    assert case.unmatched is False


def test_it_keeps_a_report_that_matches_nothing_for_the_platform(
    frozen, platform, customer_a
):
    # when
    case = file_case(customer_number="C-99999", phone="06 00 00 00 01")

    # then
    assert case.unmatched is True
    assert case.customer is None
    assert case.organization == platform
    assert case.given_customer_number == "C-99999"
    assert case.given_phone == "+33600000001"


TECHNICAL = {"item_missing": {"item_number": "MAP-0042", "happened_at": NOW}}


@pytest.mark.parametrize(
    ("problem", "payment_started", "kind", "priority", "team", "hours"),
    [
        ("payment_failed", "yes", "payment_incident", "high", "agent", 8),
        ("payment_failed", "no", "payment_incident", "normal", "agent", 24),
        ("charged_twice", "", "payment_incident", "high", "agent", 8),
        ("item_missing", "", "item_missing", "high", "technician", 8),
        ("question", "", "question", "normal", "agent", 24),
        ("suggestion", "", "suggestion", "low", "agent", 72),
        # Not protected: the merchant's incident, not a buyer protection claim.
        ("not_received", "", "order_issue", "normal", "merchant", 24),
    ],
)
def test_it_triages_and_sets_the_first_deadline(
    frozen, platform, customer_a, problem, payment_started, kind, priority, team, hours
):
    # when
    case = file_case(problem=problem, payment_started=payment_started,
                     **TECHNICAL.get(problem, {}))  # fmt: skip

    # then
    case.refresh_from_db()
    assert (case.kind, case.priority, case.team) == (kind, priority, team)
    assert case.created_at == NOW
    assert case.due_at == NOW + timedelta(hours=hours)
    assert case.due_action == "escalate"
    assert expected_response_hours(case) == hours


def test_it_opens_a_claim_on_a_protected_order_with_the_merchants_five_days(
    frozen, platform, customer_a
):
    # given
    order = protected_order(customer_a)

    # when
    case = file_case(problem="not_received", order_reference=order.reference)

    # then: the merchant is reminded the day before its 5 calendar days end
    assert (case.kind, case.status, case.team) == (
        "not_received",
        "awaiting_merchant",
        "merchant",
    )
    assert case.deadline_at == NOW + timedelta(days=5)
    assert (case.due_at, case.due_action) == (NOW + timedelta(days=4), "remind")
    assert expected_response_hours(case) == 5 * 24


def test_it_refuses_a_claim_after_the_protection_window(frozen, platform, customer_a):
    # given: an order placed 31 days ago, protected for 30
    order = protected_order(customer_a, days_ago=31)

    # when
    with pytest.raises(InvalidInput) as raised:
        file_case(problem="not_received", order_reference=order.reference)

    # then
    assert "order" in raised.value.fields
    assert not Case.objects.exists()


def test_it_starts_each_workflow_in_its_initial_state(frozen, platform, customer_a):
    assert file_case(problem="payment_failed").status == "received"
    assert file_claim(protected_order(customer_a)).status == "awaiting_merchant"
    closed_shop = protected_order(customer_a, reference="CMD-2026-0043")
    assert file_claim(closed_shop, "merchant_closed").status == "review"


def test_it_records_the_event_the_audit_and_one_acknowledgement(
    frozen, platform, customer_a
):
    # when
    case = file_case(contact_email="Client@Example.org")

    # then
    events = list(case.events.all())
    assert [(e.type, e.is_public) for e in events] == [("created", True)]
    assert events[0].body == "La borne a refusé ma carte."
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.object_id) == ("case.created", str(case.pk))
    assert audit.organization_id == case.organization_id
    message = OutboxMessage.objects.get()
    assert message.channel == "email"
    assert message.recipient == "client@example.org"
    assert message.dedupe_key == f"case:{case.reference}:ack"
    assert case.reference in message.subject
    assert case.reference in message.body
    assert "8" in message.body  # the promised first-response time, in hours


def test_it_acknowledges_by_sms_on_the_number_given(frozen, platform, customer_a):
    # when
    case = file_case(
        contact_channel="sms", contact_email="", contact_phone="06 12 34 56 78"
    )

    # then
    message = OutboxMessage.objects.get()
    assert case.contact_phone == "+33612345678"
    assert (message.channel, message.recipient) == ("sms", "+33612345678")


def test_it_stores_checked_evidence(frozen, platform, customer_a):
    # given
    checked, errors = check_files([SimpleUploadedFile("ticket.png", png_bytes())])
    assert errors == []

    # when
    case = create_case(
        Actor(label="customer"),
        Report(
            problem="no_receipt",
            contact_channel="email",
            contact_email="a@example.org",
            customer_number="C-10001",
        ),
        checked,
    )

    # then
    attachment = Attachment.objects.get(case=case)
    assert attachment.original_name == "ticket.png"
    assert attachment.content_type == "image/png"
    assert attachment.event == case.events.get()
    assert attachment.file.read() == checked[0].content


def test_it_refuses_invalid_input_naming_each_field_and_writes_nothing(
    frozen, platform
):
    # given
    report = Report(
        problem="nonsense",
        contact_channel="email",
        contact_email="not-an-address",
        payment_started="maybe",
        terminal_code="NOWHERE",
    )

    # when
    with pytest.raises(InvalidInput) as raised:
        create_case(Actor(label="customer"), report, [])

    # then
    assert set(raised.value.fields) == {
        "problem",
        "payment_started",
        "terminal_code",
        "identifier",
        "contact_email",
    }
    assert nothing_written()


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"phone": "12"}, "phone"),
        ({"contact_channel": "pigeon"}, "contact_channel"),
        ({"contact_channel": "sms", "contact_phone": "", "phone": ""}, "contact_phone"),
        ({"contact_channel": "sms", "contact_phone": "abc"}, "contact_phone"),
        ({"description": "x" * 5001}, "description"),
        ({"customer_number": ""}, "identifier"),
    ],
)
def test_it_refuses_each_bad_field(frozen, platform, customer_a, fields, bad_field):
    # when
    with pytest.raises(InvalidInput) as raised:
        file_case(**fields)

    # then
    assert bad_field in raised.value.fields
    assert nothing_written()


def test_it_does_not_offer_another_merchants_kiosk_to_an_api_key(
    frozen, platform, merchant_b, kiosk
):
    # when
    with pytest.raises(InvalidInput) as raised:
        create_case(
            Actor(label="api"),
            Report(
                problem="payment_failed",
                contact_channel="email",
                contact_email="a@example.org",
                customer_number="C-1",
                terminal_code=kiosk.code,
            ),
            [],
            scope=merchant_b,
        )

    # then
    assert set(raised.value.fields) == {"terminal_code"}
    assert nothing_written()


def test_it_rolls_everything_back_when_queueing_fails(
    transactional_db, platform, customer_a, monkeypatch
):
    # given: the last step of the transaction fails
    def broken_enqueue(**kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(notices, "enqueue", broken_enqueue)

    # when
    with pytest.raises(RuntimeError):
        file_case()

    # then: the case, its timeline line and its audit event went with it
    assert nothing_written()


def test_it_draws_another_reference_on_a_collision(
    frozen, platform, customer_a, monkeypatch
):
    # given
    first = file_case()
    drawn = iter([first.reference, "RC-2345-6789"])
    monkeypatch.setattr(intake, "new_reference", lambda prefix: next(drawn))

    # when
    second = file_case()

    # then
    assert second.reference == "RC-2345-6789"
    assert Case.objects.count() == 2
    assert OutboxMessage.objects.count() == 2


def test_it_can_run_inside_a_callers_transaction(frozen, platform, customer_a):
    # given: the API wraps actions in its idempotency transaction
    with transaction.atomic():
        # when
        case = file_case()

    # then
    assert Case.objects.filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    ("problem", "language", "promise"),
    [
        ("payment_failed", "en", "We will answer within 8 hours."),
        ("suggestion", "en", "We will answer within 3 days."),
        ("not_received", "en", "We will answer within 5 days."),
        ("not_received", "fr", "Nous vous répondrons sous 5 jours."),
    ],
)
def test_it_promises_hours_or_from_two_days_on_days(
    frozen, platform, customer_a, problem, language, promise
):
    # given
    order = protected_order(customer_a) if problem == "not_received" else None

    # when
    file_case(problem=problem, language=language,
              order_reference=order.reference if order else "")  # fmt: skip

    # then
    assert promise in OutboxMessage.objects.get().body
