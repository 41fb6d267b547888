from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from recours.accounts.actions import (
    authenticate_api_key,
    check_code,
    create_admin,
    create_api_key,
    issue_code,
)
from recours.accounts.models import ApiKey, VerificationCode, hash_api_key
from recours.core.audit import Actor
from recours.core.errors import Conflict
from recours.core.models import AuditEvent
from recours.testing import NOW, statements


def test_it_creates_a_key_and_stores_only_its_hash(merchant_a):
    # when
    key, secret = create_api_key(Actor(label="admin"), merchant_a, "ERP")

    # then
    key.refresh_from_db()
    assert secret.startswith("rk_")
    assert key.key_hash == hash_api_key(secret)
    assert secret not in {key.prefix, key.key_hash, key.name}
    assert secret.startswith(key.prefix)
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.organization_id) == ("api_key.created", merchant_a.pk)


def test_it_authenticates_a_live_key_and_refuses_others(merchant_a):
    # given
    key, secret = create_api_key(Actor(label="admin"), merchant_a, "ERP")

    # when / then
    assert authenticate_api_key(secret) == key
    assert authenticate_api_key(secret + "x") is None
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=NOW)
    assert authenticate_api_key(secret) is None


def test_it_touches_last_use_at_most_once_a_minute(merchant_a):
    # given
    with time_machine.travel(NOW, tick=False) as traveller:
        key, secret = create_api_key(Actor(label="admin"), merchant_a, "ERP")
        authenticate_api_key(secret)

        # when
        traveller.shift(timedelta(seconds=30))
        authenticate_api_key(secret)
        key.refresh_from_db()
        after_30_seconds = key.last_used_at
        traveller.shift(timedelta(seconds=31))
        authenticate_api_key(secret)
        key.refresh_from_db()

    # then
    assert after_30_seconds == NOW
    assert key.last_used_at == NOW + timedelta(seconds=61)


def test_it_finds_a_key_in_one_select_without_ordering(merchant_a):
    # given: a key used a moment ago, so its last use is not written again
    with time_machine.travel(NOW, tick=False):
        key, secret = create_api_key(Actor(label="admin"), merchant_a, "ERP")
        authenticate_api_key(secret)

        # when
        with statements() as sent:
            found = authenticate_api_key(secret)

    # then: key_hash is unique, so no ORDER BY to compile and run
    assert found == key
    assert found.organization == merchant_a
    assert len(sent) == 1, sent
    assert "ORDER BY" not in sent[0]


def test_it_issues_six_digit_codes_and_long_link_tokens(db):
    # when
    code = issue_code("case:RC-1", "sms")
    token = issue_code("case:RC-1", "link")

    # then
    assert code.isdigit() and len(code) == 6
    assert len(token) >= 32
    stored = set(VerificationCode.objects.values_list("code_hash", flat=True))
    assert stored == {hash_api_key(code), hash_api_key(token)}


@time_machine.travel(NOW, tick=False)
def test_it_accepts_a_code_once_for_its_subject_only(db):
    # given
    code = issue_code("case:RC-1", "sms")

    # when / then
    assert check_code("case:RC-2", code) is False
    assert check_code("case:RC-1", code) is True
    assert check_code("case:RC-1", code) is False


def test_it_counts_wrong_guesses_and_locks_at_five(db):
    with time_machine.travel(NOW, tick=False):
        # given
        code = issue_code("case:RC-1", "sms")
        for _ in range(5):
            check_code("case:RC-1", "not-it")

        # when / then
        assert check_code("case:RC-1", code) is False
        assert VerificationCode.objects.get().attempts == 5


def test_it_refuses_an_expired_code(db, settings):
    with time_machine.travel(NOW, tick=False) as traveller:
        # given
        code = issue_code("case:RC-1", "sms")

        # when
        traveller.shift(timedelta(seconds=settings.VERIFICATION_CODE_TTL_SECONDS))

        # then
        assert check_code("case:RC-1", code) is False


def test_it_creates_an_admin_and_the_platform_with_their_audit_events(db):
    # when
    membership, created = create_admin(
        Actor.system("test"), " root ", "Root@Example.org", "a long enough passphrase"
    )

    # then
    assert created is True
    assert membership.user.username == "root"
    assert membership.organization.is_platform
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {"organization.created", "membership.created"}


def test_it_creates_no_admin_when_the_platform_slug_is_taken(merchant_a):
    # given: a merchant holds the slug the platform would take
    merchant_a.slug = "platform"
    merchant_a.save()

    # when
    with pytest.raises(Conflict, match="--org-slug"):
        create_admin(
            Actor.system("test"), "root", "root@example.org", "a long passphrase"
        )

    # then
    assert not get_user_model().objects.filter(username="root").exists()
    assert not AuditEvent.objects.exists()
