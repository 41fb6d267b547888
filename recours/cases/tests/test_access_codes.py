import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from recours.accounts import actions as accounts_actions
from recours.accounts.models import VerificationCode
from recours.cases.access_codes import check_access_code, send_access_code
from recours.core.models import AuditEvent
from recours.notifications.models import OutboxMessage
from recours.testing import NOW, file_case


def sent_code(case) -> str:
    message = OutboxMessage.objects.filter(dedupe_key__contains=":code:").latest("pk")
    assert message.recipient == case.contact_address
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def sent_token(case) -> str:
    message = OutboxMessage.objects.filter(dedupe_key__contains=":code:").latest("pk")
    return re.search(r"/status/open/[^/]+/([^/\s]+)/", message.body).group(1)


def codes_sent() -> int:
    return OutboxMessage.objects.filter(dedupe_key__contains=":code:").count()


def sms_case(phone: str = "+33612345678"):
    return file_case(contact_channel="sms", contact_email="", contact_phone=phone)


def other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


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


@pytest.fixture
def next_codes(monkeypatch):
    """Make the next codes drawn these ones (they are drawn digit by digit)."""

    def use(*codes: str) -> None:
        digits = iter("".join(codes))
        monkeypatch.setattr("secrets.choice", lambda _sequence: next(digits))

    return use


def live_codes(case) -> int:
    return VerificationCode.objects.filter(
        subject=f"case:{case.reference}", used_at__isnull=True, expires_at__gt=NOW
    ).count()


# One live code per case


def test_a_new_code_replaces_the_previous_one(frozen, platform, next_codes):
    # given
    case = sms_case()
    next_codes("111111", "222222")
    send_access_code(case)

    # when
    send_access_code(case)

    # then
    assert live_codes(case) == 1
    assert check_access_code(case, "111111") is False
    assert check_access_code(case, "222222") is True


def test_a_new_email_replaces_the_previous_code_and_link(frozen, platform):
    # given
    case = file_case()
    send_access_code(case)
    old_token = sent_token(case)

    # when
    send_access_code(case)

    # then
    assert live_codes(case) == 2  # the new code and the new link
    assert check_access_code(case, old_token, link=True) is False
    assert check_access_code(case, sent_token(case), link=True) is True


def test_a_guess_counts_against_the_live_code_alone(frozen, platform, next_codes):
    # given: an older code, replaced
    case = sms_case()
    next_codes("111111", "222222")
    send_access_code(case)
    send_access_code(case)

    # when
    refused = check_access_code(case, "111111")

    # then
    assert refused is False
    ended, live = VerificationCode.objects.order_by("pk")
    assert (ended.attempts, live.attempts) == (0, 1)


def test_a_typed_code_is_never_compared_with_the_link(frozen, platform):
    # given
    case = file_case()
    send_access_code(case)

    # when: the link's token typed in the code box
    refused = check_access_code(case, sent_token(case))

    # then
    assert refused is False
    assert check_access_code(case, sent_token(case), link=True) is True


# The magic link and the code each open the case once, and end each other


def test_using_the_link_ends_the_code(frozen, platform):
    # given
    case = file_case()
    send_access_code(case)
    code, token = sent_code(case), sent_token(case)

    # when
    opened = check_access_code(case, token, link=True)

    # then
    assert opened is True
    assert check_access_code(case, code) is False
    assert check_access_code(case, token, link=True) is False


def test_using_the_code_ends_the_link(frozen, platform):
    # given
    case = file_case()
    send_access_code(case)
    code, token = sent_code(case), sent_token(case)

    # when
    opened = check_access_code(case, code)

    # then
    assert opened is True
    assert check_access_code(case, token, link=True) is False
    assert check_access_code(case, code) is False


# Caps


def test_it_caps_code_requests_per_case_per_hour(frozen, platform, settings):
    # given
    settings.ACCESS_CODE_CASE_RATE_LIMIT = "3/h"
    case = sms_case()
    for _ in range(3):
        assert send_access_code(case) == "sms"
    before = (codes_sent(), VerificationCode.objects.count())

    # when
    refused = send_access_code(case)

    # then
    assert refused is None
    assert (codes_sent(), VerificationCode.objects.count()) == before
    assert AuditEvent.objects.filter(action="case.access_code_refused").exists()
    frozen.shift(timedelta(hours=1))
    assert send_access_code(case) == "sms"


def test_it_caps_code_requests_per_case_per_day(frozen, platform, settings):
    # given
    settings.ACCESS_CODE_CASE_RATE_LIMIT = "3/h"
    settings.ACCESS_CODE_CASE_DAILY_LIMIT = "5/d"
    case = file_case()
    for _ in range(3):
        send_access_code(case)
    frozen.shift(timedelta(hours=1))
    for _ in range(2):
        assert send_access_code(case) == "email"
    frozen.shift(timedelta(hours=1))
    before = codes_sent()

    # when
    refused = send_access_code(case)

    # then
    assert refused is None
    assert codes_sent() == before


def test_the_case_cap_does_not_touch_other_cases(frozen, platform, settings):
    # given
    settings.ACCESS_CODE_CASE_RATE_LIMIT = "1/h"
    case, other = file_case(), file_case()
    send_access_code(case)

    # when / then
    assert send_access_code(case) is None
    assert send_access_code(other) == "email"


def test_it_caps_texts_per_phone_number(frozen, platform, settings):
    # given: two cases texting one number
    settings.SMS_PER_NUMBER_RATE_LIMIT = "2/d"
    first, second = sms_case("+33611111111"), sms_case("+33611111111")
    assert send_access_code(first) == "sms"
    assert send_access_code(second) == "sms"
    before = codes_sent()

    # when
    refused = send_access_code(first)

    # then
    assert refused is None
    assert codes_sent() == before
    assert send_access_code(sms_case("+33622222222")) == "sms"


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_leave_one_live_code(platform, settings, monkeypatch):
    # given: a pause between ending the live codes and writing the new one, so
    # that without the case lock two requests would each leave a live code
    settings.ACCESS_CODE_CASE_RATE_LIMIT = "100/h"
    case = sms_case()
    end_live_codes = accounts_actions.end_live_codes

    def slow_end_live_codes(*args):
        ended = end_live_codes(*args)
        time.sleep(0.05)
        return ended

    monkeypatch.setattr(accounts_actions, "end_live_codes", slow_end_live_codes)

    def request_code(_index: int) -> str | None:
        try:
            return send_access_code(case)
        finally:
            connection.close()

    # when
    with ThreadPoolExecutor(max_workers=6) as pool:
        channels = list(pool.map(request_code, range(6)))

    # then
    assert channels == ["sms"] * 6
    live = VerificationCode.objects.filter(
        subject=f"case:{case.reference}", used_at__isnull=True
    ).filter(expires_at__gt=timezone.now())
    assert live.count() == 1
