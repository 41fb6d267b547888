import re
from datetime import timedelta

from recours.cases.actions import check_access_code, send_access_code
from recours.cases.tests.factories import file_case
from recours.notifications.models import OutboxMessage


def sent_code(case) -> str:
    message = OutboxMessage.objects.filter(dedupe_key__contains=":code:").latest("pk")
    assert message.recipient == case.contact_address
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_it_texts_a_code_to_an_sms_case(frozen, platform, customer_a):
    # given
    case = file_case(
        contact_channel="sms", contact_email="", contact_phone="+33612345678"
    )

    # when
    channel = send_access_code(case)

    # then
    message = OutboxMessage.objects.get(dedupe_key__contains=":code:")
    code = sent_code(case)
    assert channel == "sms"
    assert message.channel == "sms"
    assert code in message.body
    assert code not in message.dedupe_key


def test_it_mails_a_code_and_a_link_to_an_email_case(frozen, platform, customer_a):
    # given
    case = file_case()

    # when
    send_access_code(case, link_base="https://help.example.org")

    # then
    message = OutboxMessage.objects.get(dedupe_key__contains=":code:")
    link = re.search(
        r"https://help\.example\.org/status/open/(\S+)/(\S+)/", message.body
    )
    assert link is not None
    assert link.group(1) == case.reference
    assert check_access_code(case, link.group(2)) is True
    assert check_access_code(case, sent_code(case)) is True


def test_it_accepts_a_code_once(frozen, platform, customer_a):
    # given
    case = file_case()
    send_access_code(case)
    code = sent_code(case)

    # when / then
    assert check_access_code(case, f" {code} ") is True
    assert check_access_code(case, code) is False


def test_it_refuses_an_expired_code(frozen, platform, customer_a, settings):
    # given
    case = file_case()
    send_access_code(case)
    code = sent_code(case)

    # when
    frozen.shift(timedelta(seconds=settings.VERIFICATION_CODE_TTL_SECONDS))

    # then
    assert check_access_code(case, code) is False


def test_it_accepts_a_code_just_before_expiry(frozen, platform, customer_a, settings):
    # given
    case = file_case()
    send_access_code(case)
    frozen.shift(timedelta(seconds=settings.VERIFICATION_CODE_TTL_SECONDS - 1))

    # when / then
    assert check_access_code(case, sent_code(case)) is True


def test_it_locks_after_5_wrong_attempts(frozen, platform, customer_a):
    # given
    case = file_case()
    send_access_code(case)
    code = sent_code(case)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert check_access_code(case, wrong) is False

    # when / then
    assert check_access_code(case, code) is False


def test_it_accepts_after_4_wrong_attempts(frozen, platform, customer_a):
    # given
    case = file_case()
    send_access_code(case)
    code = sent_code(case)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        check_access_code(case, wrong)

    # when / then
    assert check_access_code(case, code) is True


def test_it_does_not_open_another_case_with_a_code(frozen, platform, customer_a):
    # given
    case = file_case()
    other = file_case()
    send_access_code(case)

    # when / then
    assert check_access_code(other, sent_code(case)) is False
