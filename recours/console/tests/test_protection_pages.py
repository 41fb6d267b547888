"""Buyer protection in the console: the merchant's answer (full, partial, no
refund) with its countdown, the mediator's document requests and decision,
three-party messages, and the queues a claim sits in."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recours.accounts.models import Role
from recours.cases.models import (
    Attachment,
    Audience,
    CaseEvent,
    Decision,
    DocumentRequest,
    MerchantAnswer,
)
from recours.testing import (
    client_for,
    file_claim,
    make_staff,
    png_bytes,
    protected_order,
    snapshot,
)

MESSAGE = "Nous vous remboursons, le colis est perdu."


@pytest.fixture
def mediator(platform):
    return make_staff("mediator", platform, Role.MEDIATOR)


@pytest.fixture
def mediator_client(mediator):
    return client_for(mediator)


@pytest.fixture
def order(frozen, platform, customer_a):
    """A protected order of merchant A for 129.90 EUR, placed 3 days ago."""
    return protected_order(customer_a, total_minor=12990)


@pytest.fixture
def claim(order):
    """The customer says the order never came: the merchant has 5 days."""
    return file_claim(order)


@pytest.fixture
def in_review(frozen, platform, customer_a):
    """The shop went out of business: the claim starts in review."""
    order = protected_order(customer_a, reference="CMD-2026-0043")
    return file_claim(order, "merchant_closed")


def page(client, case) -> str:
    response = client.get(reverse("console:case", args=[case.reference]))
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def post(client, name: str, case, data: dict):
    return client.post(reverse(f"console:{name}", args=[case.reference]), data)


def answer(client, case, **fields):
    data = {"answer-answer": "refund", "answer-amount": "129.90",
            "answer-message": MESSAGE, **fields}  # fmt: skip
    return post(client, "answer", case, data)


def listed(client, tab: str) -> list[str]:
    response = client.get(reverse("console:queue"), {"team": tab})
    assert response.status_code == 200
    return [row["case"].reference for row in response.context["rows"]]


def field_errors(html: str, field_id: str) -> str:
    """The HTML of the field whose input has this id, up to the input."""
    return html[: html.index(f'id="{field_id}"')].rsplit('class="field', 1)[1]


# The merchant's answer


def test_it_prefills_the_order_total_and_counts_down_five_days(alpha_client, claim):
    # when
    html = page(alpha_client, claim)

    # then
    assert 'id="answer-form"' in html
    assert 'name="answer-amount" value="129.90"' in html
    assert "Refund amount (EUR)" in html
    assert "The order&#x27;s total is 129.90\u00a0€." in html
    assert "Answer within 5 days (by " in html


def test_it_answers_a_claim_with_a_full_refund(alpha_client, claim):
    # when
    response = answer(alpha_client, claim)

    # then
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "awaiting_customer"
    recorded = MerchantAnswer.objects.get(case=claim)
    assert (recorded.kind, recorded.amount_minor, recorded.message) == (
        "refund", 12990, MESSAGE,
    )  # fmt: skip
    assert not recorded.is_partial
    html = page(alpha_client, claim)
    summary = html[html.index('id="claim-answer"') :]
    assert "The full amount" in summary.split("</dl>")[0]
    assert "The customer has 20 days left to answer" in html


def test_it_answers_a_partial_refund_after_return_with_evidence(alpha_client, claim):
    # given
    proof = SimpleUploadedFile("retour.png", png_bytes(), content_type="image/png")

    # when
    response = answer(
        alpha_client, claim, **{"answer-answer": "refund_after_return",
                                "answer-amount": "50,00", "answer-attachments": [proof]},
    )  # fmt: skip

    # then
    assert response.status_code == 302
    recorded = MerchantAnswer.objects.get(case=claim)
    assert (recorded.kind, recorded.amount_minor, recorded.full_amount_minor) == (
        "refund_after_return", 5000, 12990,
    )  # fmt: skip
    assert recorded.is_partial
    event = claim.events.get(type=CaseEvent.Type.MERCHANT_ANSWER)
    assert [a.original_name for a in event.attachments.all()] == ["retour.png"]
    html = page(alpha_client, claim)
    summary = html[html.index('id="claim-answer"') :].split("</dl>")[0]
    assert "Partial refund, of 129.90\u00a0€" in summary
    assert "50.00\u00a0€" in summary
    assert "retour.png" in summary


def test_it_answers_no_refund_without_an_amount(alpha_client, claim):
    # when: the amount left in the field is ignored for "no refund"
    response = answer(alpha_client, claim, **{"answer-answer": "no_refund",
                                              "answer-amount": "n/a"})  # fmt: skip

    # then
    assert response.status_code == 302
    recorded = MerchantAnswer.objects.get(case=claim)
    assert (recorded.kind, recorded.amount_minor) == ("no_refund", None)
    claim.refresh_from_db()
    assert claim.status == "awaiting_customer"


def test_it_refuses_an_amount_above_the_order_and_writes_nothing(alpha_client, claim):
    # given
    before = snapshot(claim)
    proof = SimpleUploadedFile("retour.png", png_bytes(), content_type="image/png")

    # when
    response = answer(
        alpha_client,
        claim,
        **{"answer-amount": "200.00", "answer-attachments": [proof]},
    )

    # then
    assert response.status_code == 422
    html = response.content.decode()
    message = "The amount cannot be more than the order&#x27;s 129.90 EUR."
    assert message in field_errors(html, "id_answer-amount")
    assert 'id="error-summary"' in html
    assert snapshot(claim) == before
    assert not MerchantAnswer.objects.exists()
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12.345", "Write the amount in EUR as digits, such as 49.90."),
        ("", "Give the amount of the refund."),
    ],
)
def test_it_refuses_an_amount_it_cannot_read(alpha_client, claim, typed, expected):
    # given
    before = snapshot(claim)

    # when
    response = answer(alpha_client, claim, **{"answer-amount": typed})

    # then
    assert response.status_code == 422
    assert expected in field_errors(response.content.decode(), "id_answer-amount")
    assert snapshot(claim) == before


def test_it_refuses_an_answer_without_a_message(alpha_client, claim):
    # given
    before = snapshot(claim)

    # when
    response = answer(alpha_client, claim, **{"answer-message": "  "})

    # then
    assert response.status_code == 422
    html = response.content.decode()
    assert "Write a message to the customer." in field_errors(html, "id_answer-message")
    assert snapshot(claim) == before


def test_it_refuses_a_file_that_is_not_a_document(alpha_client, claim):
    # given
    before = snapshot(claim)
    fake = SimpleUploadedFile("facture.pdf", b"<html>", content_type="application/pdf")

    # when
    response = answer(alpha_client, claim, **{"answer-attachments": [fake]})

    # then
    assert response.status_code == 422
    html = response.content.decode()
    assert "facture.pdf is not a PDF, PNG, JPEG or WebP file." in field_errors(
        html, "id_answer-attachments"
    )
    assert snapshot(claim) == before
    assert not MerchantAnswer.objects.exists()


def test_evidence_needs_a_file_or_a_message(alpha_client, claim):
    # given
    before = snapshot(claim)

    # when
    response = post(alpha_client, "evidence", claim, {"evidence-message": " "})

    # then
    assert response.status_code == 422
    html = response.content.decode()
    assert "Add a file or a message." in field_errors(html, "id_evidence-attachments")
    assert snapshot(claim) == before


def test_another_merchant_gets_a_404(beta_client, claim):
    # given
    before = snapshot(claim)

    # when
    responses = [
        beta_client.get(reverse("console:case", args=[claim.reference])),
        answer(beta_client, claim),
        post(beta_client, "evidence", claim, {"evidence-message": "Voici."}),
    ]

    # then
    assert [response.status_code for response in responses] == [404] * 3
    assert snapshot(claim) == before


def test_the_countdown_says_when_the_answer_is_overdue(alpha_client, claim, frozen):
    # given: six days without the worker's sweep
    frozen.shift(timedelta(days=6))

    # when
    html = page(alpha_client, claim)
    queue = alpha_client.get(reverse("console:queue"), {"team": "to_answer"})

    # then: said in words, not by colour alone
    countdown = html[html.index('id="claim-countdown"') :].split("</p>")[0]
    assert "Overdue" in countdown
    assert "The answer was due by" in countdown
    row = queue.content.decode().split(f'id="case-{claim.reference}"')[1]
    assert "The answer was due by" in row.split("</tr>")[0]


def test_the_queue_row_counts_down_the_answer(alpha_client, claim):
    # when
    response = alpha_client.get(reverse("console:queue"), {"team": "to_answer"})

    # then
    row = response.content.decode().split(f'id="case-{claim.reference}"')[1]
    assert "Answer within 5 days (by " in row.split("</tr>")[0]


# Queues


def test_a_claim_in_review_is_the_mediators_not_the_merchants(
    alpha_client, mediator_client, claim, in_review
):
    # when
    to_answer = listed(alpha_client, "to_answer")
    mediation = listed(mediator_client, "mediator")
    merchant_tab = listed(mediator_client, "merchant")

    # then
    assert to_answer == [claim.reference]
    assert mediation == [in_review.reference]
    assert merchant_tab == [claim.reference]


def test_merchant_staff_never_get_the_mediation_tab(alpha_client, in_review):
    # when
    response = alpha_client.get(reverse("console:queue"), {"team": "mediator"})

    # then: the whole queue instead, without a mediation tab
    assert response.context["tab"] == "all"
    assert 'id="tab-mediator"' not in response.content.decode()


# Mediation


def test_a_merchant_sees_neither_the_decide_nor_the_documents_form(
    alpha_client, in_review
):
    # given
    before = snapshot(in_review)

    # when
    html = page(alpha_client, in_review)
    decided = post(alpha_client, "decide", in_review, {
        "decide-outcome": "no_refund", "decide-reason": "Nous décidons.",
    })  # fmt: skip
    asked = post(alpha_client, "request_documents", in_review, {
        "documents-parties": ["customer"], "documents-message": "Facture ?",
        "documents-due_date": "2026-03-10",
    })  # fmt: skip

    # then
    assert 'id="decide-form"' not in html
    assert 'id="documents-form"' not in html
    assert 'id="answer-form"' not in html
    assert (decided.status_code, asked.status_code) == (403, 403)
    assert snapshot(in_review) == before
    assert not Decision.objects.exists()


def test_a_mediator_asks_the_merchant_for_documents_and_gets_them(
    mediator_client, alpha_client, in_review
):
    # given: the form proposes the default due date (10 days)
    html = page(mediator_client, in_review)
    assert 'name="documents-due_date" value="2026-03-12"' in html

    # when
    response = post(mediator_client, "request_documents", in_review, {
        "documents-parties": ["merchant"],
        "documents-message": "Merci d'envoyer la preuve d'expédition.",
        "documents-due_date": "2026-03-09",
    })  # fmt: skip

    # then
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == "waiting_documents"
    request = DocumentRequest.objects.get(case=in_review)
    assert request.party == "merchant"
    merchant_html = page(alpha_client, in_review)
    requests = merchant_html[merchant_html.index('id="claim-requests"') :]
    assert "preuve d&#x27;expédition" in requests.split("</ul>")[0]
    assert "Documents due within 7 days (by " in merchant_html

    # when: the merchant sends the document
    proof = SimpleUploadedFile("bordereau.pdf", b"%PDF-1.4\n%%EOF",
                               content_type="application/pdf")  # fmt: skip
    sent = post(alpha_client, "evidence", in_review, {
        "evidence-attachments": [proof], "evidence-message": "Le bordereau.",
    })  # fmt: skip

    # then
    assert sent.status_code == 302
    request.refresh_from_db()
    assert request.answered_at is not None
    in_review.refresh_from_db()
    assert in_review.status == "review"
    assert "bordereau.pdf" in page(mediator_client, in_review)


def test_a_merchant_does_not_see_what_was_asked_of_the_customer_alone(
    mediator_client, alpha_client, in_review
):
    # given
    post(mediator_client, "request_documents", in_review, {
        "documents-parties": ["customer"], "documents-message": "Votre relevé ?",
        "documents-due_date": "2026-03-09",
    })  # fmt: skip

    # when
    html = page(alpha_client, in_review)

    # then
    assert "Votre relevé" not in html
    assert 'id="claim-requests"' not in html


def test_a_mediator_decides_a_partial_refund_then_marks_it_paid(
    mediator_client, alpha_client, in_review
):
    # given: the decision form proposes the full amount
    html = page(mediator_client, in_review)
    assert 'name="decide-amount" value="129.90"' in html

    # when
    response = post(mediator_client, "decide", in_review, {
        "decide-outcome": "refund", "decide-amount": "80.00",
        "decide-destination": "store_credit",
        "decide-reason": "Une partie de la commande a été livrée.",
    })  # fmt: skip

    # then
    assert response.status_code == 302
    decision = Decision.objects.get(case=in_review)
    assert (decision.outcome, decision.amount_minor, decision.destination) == (
        "refund", 8000, "store_credit",
    )  # fmt: skip
    in_review.refresh_from_db()
    assert in_review.status == "decided"
    merchant_html = page(alpha_client, in_review)
    summary = merchant_html[merchant_html.index('id="claim-decision"') :]
    assert "Une partie de la commande a été livrée." in summary
    assert "80.00\u00a0€ · As store credit" in summary
    assert 'id="carried-out-form"' not in merchant_html
    mediator_html = page(mediator_client, in_review)
    assert 'id="carried-out-form"' in mediator_html
    # The generic status form does not close it behind the decision's back.
    assert 'id="status-form"' not in mediator_html

    # when
    paid = post(mediator_client, "carried_out", in_review, {})

    # then
    assert paid.status_code == 302
    in_review.refresh_from_db()
    decision.refresh_from_db()
    assert in_review.status == "closed"
    assert decision.carried_out_at is not None


def test_a_mediator_decides_no_refund_and_the_case_closes(mediator_client, in_review):
    # when
    response = post(mediator_client, "decide", in_review, {
        "decide-outcome": "no_refund", "decide-amount": "129.90",
        "decide-reason": "La commande a été livrée.",
    })  # fmt: skip

    # then
    assert response.status_code == 302
    decision = Decision.objects.get(case=in_review)
    assert (decision.outcome, decision.amount_minor) == ("no_refund", None)
    in_review.refresh_from_db()
    assert in_review.status == "closed"


def test_a_decision_needs_a_reason_and_a_destination(mediator_client, in_review):
    # given
    before = snapshot(in_review)

    # when
    response = post(mediator_client, "decide", in_review, {
        "decide-outcome": "refund", "decide-amount": "129.90",
    })  # fmt: skip

    # then
    assert response.status_code == 422
    html = response.content.decode()
    assert "Write the reason for the decision." in html
    assert "Choose where the refund goes." in html
    assert snapshot(in_review) == before


# Three-party messages


def test_a_merchant_may_write_to_everyone_or_to_staff_only(alpha_client, claim):
    # when
    html = page(alpha_client, claim)

    # then
    form = html[html.index('id="reply-form"') :].split("</form>")[0]
    assert 'value="everyone"' in form
    assert 'value="staff"' in form
    assert 'value="platform"' not in form
    assert 'value="customer_platform"' not in form


@pytest.mark.parametrize("audience", ["platform", "customer_platform"])
def test_a_merchant_cannot_post_a_platform_message(alpha_client, claim, audience):
    # given
    before = snapshot(claim)

    # when
    response = post(alpha_client, "reply", claim, {
        "reply-audience": audience, "reply-body": "Entre nous.",
    })  # fmt: skip

    # then
    assert response.status_code == 422
    assert "You cannot write to these readers." in response.content.decode()
    assert snapshot(claim) == before


def test_a_mediator_writes_to_the_customer_behind_the_merchants_back(
    mediator_client, alpha_client, in_review
):
    # when
    response = post(mediator_client, "reply", in_review, {
        "reply-audience": "customer_platform", "reply-body": "Avez-vous un reçu ?",
    })  # fmt: skip

    # then
    assert response.status_code == 302
    event = in_review.events.get(type=CaseEvent.Type.MESSAGE)
    assert event.audience == Audience.CUSTOMER_PLATFORM
    mediator_html = page(mediator_client, in_review)
    line = mediator_html.split(f'id="event-{event.pk}"')[1].split("</li>")[0]
    assert "Visible to: customer, platform" in line
    assert "Avez-vous un reçu ?" not in page(alpha_client, in_review)


def test_each_line_says_who_reads_it(alpha_client, claim):
    # given
    post(alpha_client, "reply", claim, {
        "reply-audience": "staff", "reply-body": "Pour la plateforme et nous.",
    })  # fmt: skip

    # when
    html = page(alpha_client, claim)

    # then
    created = claim.events.get(type=CaseEvent.Type.CREATED)
    message = claim.events.get(type=CaseEvent.Type.MESSAGE)
    created_line = html.split(f'id="event-{created.pk}"')[1].split("</li>")[0]
    message_line = html.split(f'id="event-{message.pk}"')[1].split("</li>")[0]
    assert "Visible to: customer, merchant, platform" in created_line
    assert "Visible to: merchant, platform" in message_line
