"""The customer's side of a buyer-protection claim on the case page (seed 004):
the shop's answer, the options that fit it, documents after intake, the
decision, and a timeline that shows only what is meant for the customer."""

import html
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from recours.accounts.models import Role
from recours.cases import conversation, protection
from recours.cases.access import staff_actor
from recours.cases.evidence import check_one
from recours.cases.models import Attachment, Audience, Case, CaseEvent
from recours.core import clock
from recours.portal.views import VERIFIED_KEY
from recours.testing import (
    file_claim,
    make_staff,
    membership,
    png_bytes,
    protected_order,
    snapshot,
)

pytestmark = pytest.mark.django_db

FULL = 12990  # the order's total, in cents
PARTIAL = 5000
OPTION_VALUE = re.compile(r'name="respond-option" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _english_texts():
    with translation.override("en"):
        yield


@pytest.fixture
def mediator(platform):
    return make_staff("claire", platform, Role.MEDIATOR)


@pytest.fixture
def claim(frozen, platform, customer_a) -> Case:
    return file_claim(protected_order(customer_a, total_minor=FULL))


def open_in_session(client, case: Case) -> None:
    """As if the customer had typed the code: the case is verified here."""
    session = client.session
    session[VERIFIED_KEY] = [*session.get(VERIFIED_KEY, []), case.pk]
    session.save()


def answer(case: Case, user, kind: str, amount_minor: int | None = None,
           files: list | None = None) -> Case:  # fmt: skip
    """The merchant's answer, through the real action."""
    member = membership(user)
    return protection.merchant_answer(
        member, staff_actor(member), case, answer=kind, amount_minor=amount_minor,
        message="We sent the refund on Monday.", files=files or [],
    )  # fmt: skip


def to_review(case: Case, user) -> Case:
    case = answer(case, user, protection.Answer.NO_REFUND)
    return protection.customer_respond(case, "disagree")


def page(client, case: Case):
    return client.get(reverse("portal:case", args=[case.reference]))


def text_of(response) -> str:
    """The page as a reader sees it: entities such as ' decoded."""
    return html.unescape(response.content.decode())


def offered(response) -> list[str]:
    return OPTION_VALUE.findall(text_of(response))


def choose(client, case: Case, option: str, **fields):
    data = {"respond-option": option, "respond-message": "", **fields}
    return client.post(reverse("portal:case_respond", args=[case.reference]), data)


def send_documents(client, case: Case, files: list, message: str = ""):
    url = reverse("portal:case_evidence", args=[case.reference])
    return client.post(
        url, {"evidence-attachments": files, "evidence-message": message}
    )


def upload(name: str, content: bytes, content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# What the page shows, state by state


def test_it_shows_the_shops_deadline_while_the_shop_has_not_answered(client, claim):
    # given
    open_in_session(client, claim)

    # when
    response = page(client, claim)

    # then: the deadline, and only the option to end the claim
    body = text_of(response)
    assert response.status_code == 200
    assert "The shop has until" in body
    assert "to answer" in body
    assert "The shop's answer" not in body
    assert offered(response) == ["withdraw"]
    assert "All went well: end my claim." in body


@pytest.mark.parametrize(
    ("kind", "amount_minor", "options"),
    [
        ("refund", None, ["refund_received", "refund_not_received", "withdraw"]),
        (
            "refund",
            PARTIAL,
            ["refund_received", "refund_not_received", "refuse_partial", "withdraw"],
        ),
        (
            "refund_after_return",
            None,
            ["refund_received", "refund_not_received", "withdraw"],
        ),
        ("no_refund", None, ["accept", "disagree", "withdraw"]),
    ],
)
def test_it_shows_the_answer_and_exactly_the_options_that_fit_it(
    client, claim, merchant_a_agent, kind, amount_minor, options
):
    # given
    answer(claim, merchant_a_agent, kind, amount_minor)
    open_in_session(client, claim)

    # when
    response = page(client, claim)

    # then
    body = text_of(response)
    assert sorted(offered(response)) == sorted(options)
    assert "We sent the refund on Monday." in body
    assert "Answer by" in body
    assert "without an answer the case closes" in body
    assert ("partial refund" in body) == (amount_minor is not None)
    if kind != "no_refund":
        assert "50.00" in body if amount_minor else "129.90" in body


def test_it_says_a_partial_refund_and_what_the_order_cost(
    client, claim, merchant_a_agent
):
    # given
    answer(claim, merchant_a_agent, "refund_after_return", PARTIAL)
    open_in_session(client, claim)

    # when
    body = text_of(page(client, claim))

    # then
    assert "Refund after return of the goods" in body
    assert "50.00\u00a0€" in body
    assert "Your order cost 129.90\u00a0€." in body
    assert "I do not accept the partial refund." in body


def test_it_links_the_shops_documents(client, claim, merchant_a_agent):
    # given
    photo = check_one(upload("colis.png", png_bytes()))
    answer(claim, merchant_a_agent, "no_refund", files=[photo])
    open_in_session(client, claim)
    attachment = Attachment.objects.get(case=claim)

    # when
    body = text_of(page(client, claim))
    download = client.get(
        reverse("portal:case_file", args=[claim.reference, attachment.pk])
    )

    # then
    assert "colis.png" in body
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == png_bytes()


def test_it_shows_the_decision_with_its_amount_destination_and_reason(
    client, claim, merchant_a_agent, mediator
):
    # given
    case = to_review(claim, merchant_a_agent)
    member = membership(mediator)
    protection.decide(
        member, staff_actor(member), case, outcome="refund", amount_minor=8000,
        destination="store_credit", reason="The tracking shows no delivery.",
    )  # fmt: skip
    open_in_session(client, case)

    # when
    response = page(client, case)

    # then
    body = text_of(response)
    assert "The platform's decision" in body
    assert "80.00\u00a0€" in body
    assert "As store credit" in body
    assert "The tracking shows no delivery." in body
    assert "The platform's mediator" in body
    assert offered(response) == []  # a decided claim waits for its payment


def test_it_shows_the_documents_asked_of_the_customer_and_their_date(
    client, claim, merchant_a_agent, mediator
):
    # given
    case = to_review(claim, merchant_a_agent)
    member = membership(mediator)
    due = (clock.now() + timedelta(days=7)).date()
    protection.request_documents(
        member, staff_actor(member), case, parties={"customer"},
        message="Please send your bank statement.", due_date=due,
    )  # fmt: skip
    open_in_session(client, case)

    # when
    body = text_of(page(client, case))

    # then
    assert "Documents asked of you" in body
    assert "Please send your bank statement." in body
    assert "Send them by" in body
    assert "9 Mar 2026" in body


# Each option does what it says


@pytest.mark.parametrize(
    ("kind", "amount_minor", "option", "status", "team", "said"),
    [
        ("refund", None, "refund_received", "closed", "merchant", "is closed"),
        ("refund", None, "refund_not_received", "review", "mediator", "review"),
        ("refund", PARTIAL, "refuse_partial", "review", "mediator", "review"),
        ("no_refund", None, "accept", "closed", "merchant", "is closed"),
        ("no_refund", None, "disagree", "review", "mediator", "review"),
        ("refund", None, "withdraw", "closed", "merchant", "is closed"),
    ],
)
def test_each_option_does_what_it_says(
    client, claim, merchant_a_agent, kind, amount_minor, option, status, team, said
):
    # given
    answer(claim, merchant_a_agent, kind, amount_minor)
    open_in_session(client, claim)

    # when
    response = choose(client, claim, option, **{"respond-message": "Merci."})

    # then
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == status
    assert claim.team == team
    line = claim.events.get(type=CaseEvent.Type.CUSTOMER_RESPONSE)
    assert line.data["option"] == option
    assert line.body == "Merci."
    confirmation = text_of(client.get(response["Location"]))
    assert "You answered" in confirmation
    assert said in confirmation
    assert "Your answer: " in confirmation


def test_an_answer_can_carry_files(client, claim, merchant_a_agent):
    # given
    answer(claim, merchant_a_agent, "refund", PARTIAL)
    open_in_session(client, claim)

    # when
    response = choose(
        client, claim, "refuse_partial",
        **{"respond-attachments": [upload("releve.png", png_bytes())]},
    )  # fmt: skip

    # then
    assert response.status_code == 302
    line = claim.events.get(type=CaseEvent.Type.CUSTOMER_RESPONSE)
    assert [a.original_name for a in line.attachments.all()] == ["releve.png"]


def test_a_stale_option_is_refused_cleanly(client, claim, merchant_a_agent):
    # given: the page offered "not received", then the customer answered in
    # another tab
    answer(claim, merchant_a_agent, "refund")
    open_in_session(client, claim)
    assert "refund_not_received" in offered(page(client, claim))
    protection.customer_respond(claim, "refund_received")
    before = snapshot(claim)

    # when
    response = choose(client, claim, "refund_not_received")

    # then
    assert response.status_code == 422
    body = text_of(response)
    assert "Choose one of the options shown." in body
    assert 'href="#id_respond-option' in body  # the error summary
    assert snapshot(claim) == before


def test_an_option_that_does_not_fit_the_answer_is_refused(
    client, claim, merchant_a_agent
):
    # given: a full refund has no partial refund to refuse
    answer(claim, merchant_a_agent, "refund")
    open_in_session(client, claim)
    before = snapshot(claim)

    # when
    response = choose(client, claim, "refuse_partial")

    # then
    assert response.status_code == 422
    assert "This choice is no longer open. Reload the page." in text_of(response)
    assert sorted(offered(response)) == [
        "refund_not_received", "refund_received", "withdraw"
    ]  # fmt: skip
    assert snapshot(claim) == before


def test_no_choice_is_asked_for_again(client, claim, merchant_a_agent):
    # given
    answer(claim, merchant_a_agent, "refund")
    open_in_session(client, claim)
    before = snapshot(claim)

    # when
    response = choose(client, claim, "")

    # then
    assert response.status_code == 422
    assert "Choose one of the answers." in text_of(response)
    assert snapshot(claim) == before


def test_an_answer_with_a_bad_file_writes_nothing(client, claim, merchant_a_agent):
    # given
    answer(claim, merchant_a_agent, "no_refund")
    open_in_session(client, claim)
    before = snapshot(claim)

    # when
    response = choose(
        client, claim, "disagree",
        **{"respond-attachments": [upload("facture.png", b"<html>not an image</html>")]},
    )  # fmt: skip

    # then
    assert response.status_code == 422
    assert "facture.png is not a PDF, PNG, JPEG or WebP file." in text_of(response)
    assert snapshot(claim) == before


def test_an_incident_has_no_options(client, claim, kiosk):
    # given
    from recours.testing import file_case

    incident = file_case(terminal_code=kiosk.code)
    open_in_session(client, incident)

    # when
    response = choose(client, incident, "customer_answered")

    # then
    assert response.status_code == 404
    assert 'name="respond-option"' not in text_of(page(client, incident))


# Documents after intake


def test_the_customer_adds_documents_and_sees_them_on_the_timeline(client, claim):
    # given
    open_in_session(client, claim)

    # when
    response = send_documents(
        client, claim, [upload("releve.png", png_bytes())], "My bank statement."
    )

    # then
    assert response.status_code == 302
    line = claim.events.get(type=CaseEvent.Type.EVIDENCE)
    assert line.audience == Audience.EVERYONE
    assert [a.original_name for a in line.attachments.all()] == ["releve.png"]
    body = text_of(client.get(response["Location"]))
    assert "Your documents were added to your case." in body
    assert "My bank statement." in body
    assert "releve.png" in body
    attachment = line.attachments.get()
    url = reverse("portal:case_file", args=[claim.reference, attachment.pk])
    assert url in body


def test_a_bad_file_is_refused_and_nothing_is_written(client, claim):
    # given
    open_in_session(client, claim)
    before = snapshot(claim)

    # when: one good file, one that only claims to be an image
    response = send_documents(
        client, claim,
        [upload("ok.png", png_bytes()), upload("faux.png", b"%!PS-Adobe fake")],
    )  # fmt: skip

    # then
    assert response.status_code == 422
    body = text_of(response)
    assert "faux.png is not a PDF, PNG, JPEG or WebP file." in body
    assert 'href="#id_evidence-attachments"' in body
    assert snapshot(claim) == before
    assert not Attachment.objects.exists()


def test_more_than_five_files_are_refused(client, claim):
    # given
    open_in_session(client, claim)
    before = snapshot(claim)

    # when
    files = [upload(f"p{number}.png", png_bytes()) for number in range(6)]
    response = send_documents(client, claim, files)

    # then
    assert response.status_code == 422
    assert "You can attach at most 5 files." in text_of(response)
    assert snapshot(claim) == before


def test_nothing_to_add_is_refused(client, claim):
    # given
    open_in_session(client, claim)
    before = snapshot(claim)

    # when
    response = send_documents(client, claim, [])

    # then
    assert response.status_code == 422
    assert "Add a file or a message." in text_of(response)
    assert snapshot(claim) == before


def test_documents_answer_the_mediators_request(
    client, claim, merchant_a_agent, mediator
):
    # given
    case = to_review(claim, merchant_a_agent)
    member = membership(mediator)
    protection.request_documents(
        member, staff_actor(member), case, parties={"customer"},
        message="Please send your bank statement.",
    )  # fmt: skip
    open_in_session(client, case)

    # when
    response = send_documents(client, case, [upload("releve.png", png_bytes())])

    # then
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == "review"
    assert not case.document_requests.filter(answered_at__isnull=True).exists()
    assert "Documents asked of you" not in text_of(page(client, case))


def test_a_closed_case_takes_no_documents(client, claim):
    # given
    protection.customer_respond(claim, "withdraw")
    open_in_session(client, claim)
    before = snapshot(claim)

    # when
    response = send_documents(client, claim, [upload("late.png", png_bytes())])

    # then
    assert response.status_code == 422
    assert "This case is closed." in text_of(response)
    assert snapshot(claim) == before
    assert 'id="evidence"' not in text_of(page(client, claim))


def test_document_uploads_are_rate_limited(client, claim, settings):
    # given
    settings.STATUS_RATE_LIMIT = "2/h"
    open_in_session(client, claim)
    for number in range(2):
        send_documents(client, claim, [], f"Message {number}")

    # when
    response = send_documents(client, claim, [upload("third.png", png_bytes())])

    # then: refused before the files are read
    assert response.status_code == 429
    assert claim.events.filter(type=CaseEvent.Type.EVIDENCE).count() == 2


def test_answers_are_rate_limited(client, claim, merchant_a_agent, settings):
    # given
    settings.STATUS_RATE_LIMIT = "2/h"
    answer(claim, merchant_a_agent, "refund")
    open_in_session(client, claim)
    for _attempt in range(2):
        choose(client, claim, "")

    # when
    response = choose(client, claim, "refund_received")

    # then
    assert response.status_code == 429
    claim.refresh_from_db()
    assert claim.status == "awaiting_customer"


# Who may see what


def test_another_customers_case_is_not_reachable(
    client, claim, customer_a, merchant_a_agent
):
    # given: this browser proved it owns the first claim only
    other = file_claim(protected_order(customer_a, reference="CMD-2026-0099"))
    photo = check_one(upload("theirs.png", png_bytes()))
    answer(other, merchant_a_agent, "refund", files=[photo])
    theirs = Attachment.objects.get(case=other)
    open_in_session(client, claim)
    before = snapshot(other)

    # when
    reads = [
        page(client, other),
        choose(client, other, "refund_received"),
        send_documents(client, other, [upload("x.png", png_bytes())]),
    ]
    own_url_their_file = client.get(
        reverse("portal:case_file", args=[claim.reference, theirs.pk])
    )
    their_file = client.get(
        reverse("portal:case_file", args=[other.reference, theirs.pk])
    )

    # then
    for response in reads:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:status"))
    assert own_url_their_file.status_code == 404
    assert their_file.status_code == 404
    assert snapshot(other) == before


def test_staff_only_lines_never_reach_the_customer(
    client, claim, merchant_a_agent, mediator
):
    # given: lines for each audience, by the shop and by the platform
    shop, platform_member = membership(merchant_a_agent), membership(mediator)
    conversation.add_note(
        shop, staff_actor(shop), claim, "Shop note: customer known to us"
    )
    conversation.post_message(shop, staff_actor(shop), claim,
                              "Shop to platform: tracking attached", Audience.STAFF)  # fmt: skip
    answer(claim, merchant_a_agent, "no_refund")
    case = protection.customer_respond(claim, "disagree")
    conversation.add_note(platform_member, staff_actor(platform_member), case,
                          "Mediator note: shop has many claims")  # fmt: skip
    conversation.post_message(platform_member, staff_actor(platform_member), case,
                              "Platform only: check the carrier", Audience.PLATFORM)  # fmt: skip
    protection.request_documents(
        platform_member, staff_actor(platform_member), case, parties={"merchant"},
        message="Shop, send the delivery proof.",
    )  # fmt: skip
    conversation.post_message(platform_member, staff_actor(platform_member), case,
                              "Hello, we are looking at your claim.",
                              Audience.CUSTOMER_PLATFORM)  # fmt: skip
    open_in_session(client, case)

    # when
    body = text_of(page(client, case))

    # then
    for hidden in (
        "Shop note", "Shop to platform", "Mediator note", "Platform only",
        "Shop, send the delivery proof.", "claire", "alpha_agent",
    ):  # fmt: skip
        assert hidden not in body
    assert "Hello, we are looking at your claim." in body
    assert "The platform's mediator" in body
    assert "The shop" in body
    assert "Status: Under review by the platform" in body
    assert "Your answer: I do not agree with the shop's solution." in body
