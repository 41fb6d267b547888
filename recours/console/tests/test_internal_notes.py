"""Internal notes: a platform note is for platform staff only; a merchant's
note is read by its own staff and by the platform."""

from django.urls import reverse

from recours.cases.access import staff_actor
from recours.cases.conversation import add_note
from recours.cases.models import Audience
from recours.cases.queries import timeline_for
from recours.testing import membership

PLATFORM_NOTE = "Refund suspected fraud; do not tell the merchant yet."
MERCHANT_NOTE = "Our technician checked the cash box of the kiosk."


def note(user, case, body):
    member = membership(user)
    return add_note(member, staff_actor(member), case, body)


def page(client, case) -> str:
    response = client.get(reverse("console:case", args=[case.reference]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_merchant_agent_does_not_read_the_platform_note(
    case_a, agent, merchant_a_agent, alpha_client
):
    # given
    note(agent, case_a, PLATFORM_NOTE)
    note(merchant_a_agent, case_a, MERCHANT_NOTE)

    # when
    html = page(alpha_client, case_a)

    # then
    assert PLATFORM_NOTE not in html
    assert MERCHANT_NOTE in html


def test_platform_staff_read_both_notes(case_a, agent, merchant_a_agent, agent_client):
    # given
    note(agent, case_a, PLATFORM_NOTE)
    note(merchant_a_agent, case_a, MERCHANT_NOTE)

    # when
    html = page(agent_client, case_a)

    # then
    assert PLATFORM_NOTE in html
    assert MERCHANT_NOTE in html


def test_a_note_takes_its_audience_from_its_author(case_a, agent, merchant_a_agent):
    # when
    platform_note = note(agent, case_a, PLATFORM_NOTE)
    merchant_note = note(merchant_a_agent, case_a, MERCHANT_NOTE)

    # then
    assert (platform_note.audience, platform_note.is_public) == (
        Audience.PLATFORM,
        False,
    )
    assert (merchant_note.audience, merchant_note.is_public) == (Audience.STAFF, False)


def test_the_merchant_timeline_keeps_public_lines_and_drops_platform_ones(
    case_a, agent, merchant_a_agent
):
    # given
    platform_note = note(agent, case_a, PLATFORM_NOTE)

    # when
    lines = list(timeline_for(membership(merchant_a_agent), case_a))

    # then
    assert platform_note not in lines
    assert [line.type for line in lines] == ["created"]
    assert lines[0].audience == Audience.EVERYONE


def test_the_page_marks_a_platform_note_and_says_who_reads_a_new_one(
    case_a, agent, merchant_a_agent, agent_client, alpha_client
):
    # given
    platform_note = note(agent, case_a, PLATFORM_NOTE)
    merchant_note = note(merchant_a_agent, case_a, MERCHANT_NOTE)

    # when
    platform_html = page(agent_client, case_a)
    merchant_html = page(alpha_client, case_a)

    # then
    platform_line = platform_html.split(f'id="event-{platform_note.pk}"')[1]
    merchant_line = platform_html.split(f'id="event-{merchant_note.pk}"')[1]
    assert "Platform only" in platform_line.split("</li>")[0]
    assert "Platform only" not in merchant_line.split("</li>")[0]
    assert "Only platform staff will read this note" in platform_html
    assert "Your team and the platform will read this note" in merchant_html
