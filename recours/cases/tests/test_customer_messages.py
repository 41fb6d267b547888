"""What the customer reads in a status message and a reply: the staff's words, once."""

import pytest

from recours.cases.access import staff_actor
from recours.cases.conversation import reply
from recours.cases.engine import change_status
from recours.cases.intake import promised_response
from recours.notifications.models import OutboxMessage
from recours.notifications.templatetags.sms import GSM7, GSM7_EXTENSION
from recours.testing import file_case, membership

REASON = "Please send a copy of your bank statement."

pytestmark = pytest.mark.usefixtures("frozen", "platform", "customer_a")


def ask_for_documents(agent, case, reason: str = REASON) -> OutboxMessage:
    staff = membership(agent)
    change_status(staff, staff_actor(staff), case, "in_progress")
    change_status(staff, staff_actor(staff), case, "waiting_customer", reason)
    return OutboxMessage.objects.filter(dedupe_key__contains=":case_status:").latest(
        "pk"
    )


def test_it_puts_the_reason_staff_gave_in_the_status_e_mail(agent):
    # given
    case = file_case(language="en")

    # when
    message = ask_for_documents(agent, case)

    # then
    assert "Message from our team:\n" + REASON in message.body
    assert "is now: Waiting for you." in message.body


def test_it_puts_the_reason_in_the_status_sms_in_the_gsm_alphabet(agent, settings):
    # given: a French customer, and staff who pasted typographic quotes
    settings.LANGUAGE_CODE = "fr"
    case = file_case(contact_channel="sms", contact_phone="+33611223344", language="fr")

    # when
    message = ask_for_documents(
        agent, case, "Envoyez \u00ab le relevé \u00bb d\u2019ici vendredi"
    )

    # then: one GSM-7 SMS part, no UCS-2 character (no-break space, curly quote)
    assert 'Envoyez " le relevé " d\'ici vendredi' in message.body
    assert all(c in GSM7 or c in GSM7_EXTENSION for c in message.body)
    assert len(message.body) <= 320


def test_it_leaves_the_status_message_as_it_was_without_a_reason(agent):
    # given
    case = file_case(language="en")

    # when
    message = ask_for_documents(agent, case, reason="  ")

    # then
    assert "Message from our team" not in message.body


def test_it_says_hello_once_in_a_reply_that_starts_with_hello(agent):
    # given
    case = file_case(language="en")
    staff = membership(agent)

    # when
    reply(staff, staff_actor(staff), case, "Hello, we found your payment.")

    # then
    message = OutboxMessage.objects.filter(dedupe_key__contains=":reply:").get()
    assert message.body.count("Hello,") == 1


def test_it_repeats_the_first_promise_after_the_deadline_moved(agent):
    # given: payment started, high priority: 8 hours promised
    case = file_case()
    staff = membership(agent)

    # when: the work starts, the deadline becomes the resolution target
    change_status(staff, staff_actor(staff), case, "in_progress")
    case.refresh_from_db()

    # then
    assert promised_response(case) == {"hours": 8, "days": None}
