from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recours.accounts.actions import authenticate_api_key, create_api_key
from recours.accounts.models import ApiKey
from recours.core.audit import Actor
from recours.core.models import AuditEvent


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("apikey", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_it_creates_a_key_and_prints_its_secret_once(merchant_a):
    # when
    stdout, stderr = run("create", "--org", "alpha", "--name", "ERP")

    # then
    secret = stdout.strip()
    key = ApiKey.objects.get()
    assert authenticate_api_key(secret) == key
    assert (key.organization, key.name) == (merchant_a, "ERP")
    assert "not be shown again" in stderr
    assert key.prefix in stderr
    assert secret not in stderr
    assert AuditEvent.objects.get().action == "api_key.created"


def test_it_never_shows_a_secret_again(merchant_a):
    # given
    secret = run("create", "--org", "alpha", "--name", "ERP")[0].strip()

    # when
    stdout, stderr = run("list", "--org", "alpha")

    # then
    assert secret not in stdout + stderr
    assert secret[:11] in stdout


def test_it_lists_the_keys_of_one_organization(merchant_a, merchant_b):
    # given
    key_a, _ = create_api_key(Actor.system(), merchant_a, "ERP Alpha")
    key_b, _ = create_api_key(Actor.system(), merchant_b, "ERP Beta")

    # when
    stdout, _ = run("list", "--org", "alpha")
    everything, _ = run("list")

    # then
    assert key_a.prefix in stdout
    assert key_b.prefix not in stdout
    assert key_a.prefix in everything
    assert key_b.prefix in everything


def test_it_revokes_a_key_by_prefix(merchant_a):
    # given
    key, secret = create_api_key(Actor.system(), merchant_a, "ERP")

    # when
    stdout, _ = run("revoke", key.prefix)

    # then
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert authenticate_api_key(secret) is None
    assert key.prefix in stdout
    assert "revoked" in run("list", "--org", "alpha")[0]
    audit = AuditEvent.objects.get(action="api_key.revoked")
    assert (audit.object_id, audit.organization_id) == (str(key.pk), merchant_a.pk)


def test_it_revokes_a_key_only_once(merchant_a):
    # given
    key, _ = create_api_key(Actor.system(), merchant_a, "ERP")
    run("revoke", key.prefix)
    first_revocation = ApiKey.objects.get().revoked_at

    # when
    run("revoke", key.prefix)

    # then
    assert ApiKey.objects.get().revoked_at == first_revocation
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "--org", "nowhere", "--name", "ERP"), "nowhere"),
        (("create", "--org", "alpha", "--name", " "), "--name"),
        (("create", "--org", "alpha", "--name", "x" * 101), "--name"),
        (("list", "--org", "nowhere"), "nowhere"),
        (("revoke", "rk_nothing"), "rk_nothing"),
    ],
)
def test_it_refuses_what_it_cannot_find_or_store(merchant_a, args, message):
    # when
    with pytest.raises(CommandError, match=message):
        run(*args)

    # then
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()
