import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from recours.accounts.models import Membership, Organization, Role
from recours.core.models import AuditEvent

STRONG = "a long enough passphrase"


@pytest.fixture(autouse=True)
def fast_hashers(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def create_admin(**options):
    output = io.StringIO()
    call_command("createadmin", stdout=output, **options)
    return output.getvalue()


def test_it_creates_a_platform_admin_and_the_platform(db):
    # when
    output = create_admin(username="root", email="Root@Example.org", password=STRONG)

    # then
    user = get_user_model().objects.get(username="root")
    assert user.is_staff
    assert user.is_superuser
    assert user.email == "root@example.org"
    assert user.check_password(STRONG)
    platform = Organization.objects.get(kind="platform")
    assert (platform.slug, platform.name) == ("platform", "Recours")
    assert user.membership.organization == platform
    assert user.membership.role == Role.ADMIN
    assert AuditEvent.objects.filter(action="membership.created").count() == 1
    assert "root" in output


def test_it_joins_the_existing_platform(platform):
    # when
    create_admin(
        username="root", email="root@example.org", password=STRONG, org_name="Ignored"
    )

    # then
    assert Organization.objects.filter(kind="platform").get() == platform
    assert Membership.objects.get(user__username="root").organization == platform


def test_it_names_a_new_platform_as_asked(db):
    # when
    create_admin(
        username="root",
        email="root@example.org",
        password=STRONG,
        org_slug="ops",
        org_name="Opérations",
    )

    # then
    platform = Organization.objects.get(kind="platform")
    assert (platform.slug, platform.name) == ("ops", "Opérations")


@pytest.mark.parametrize("password", ["short", "password123", ""])
def test_it_refuses_a_weak_password(db, password):
    # when
    with pytest.raises(CommandError, match="Password refused"):
        create_admin(username="root", email="root@example.org", password=password)

    # then
    assert not get_user_model().objects.exists()
    assert not Organization.objects.exists()


def test_it_refuses_a_missing_password_without_a_terminal(db, monkeypatch):
    # given
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    # when
    with pytest.raises(CommandError, match="--password"):
        create_admin(username="root", email="root@example.org")

    # then
    assert not get_user_model().objects.exists()


def test_it_asks_for_the_password_in_a_terminal(db, monkeypatch):
    # given
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: STRONG)

    # when
    create_admin(username="root", email="root@example.org")

    # then
    assert get_user_model().objects.get(username="root").check_password(STRONG)


def test_it_refuses_two_different_passwords(db, monkeypatch):
    # given
    answers = iter([STRONG, STRONG + "!"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    # when
    with pytest.raises(CommandError, match="differ"):
        create_admin(username="root", email="root@example.org")

    # then
    assert not get_user_model().objects.exists()


def test_it_refuses_an_existing_username(db):
    # given
    create_admin(username="root", email="root@example.org", password=STRONG)

    # when
    with pytest.raises(CommandError, match="already exists"):
        create_admin(username="root", email="other@example.org", password=STRONG)

    # then
    assert get_user_model().objects.count() == 1


def test_it_refuses_a_bad_email(db):
    # when
    with pytest.raises(CommandError, match="e-mail"):
        create_admin(username="root", email="not-an-address", password=STRONG)

    # then
    assert not get_user_model().objects.exists()


def test_the_demo_refuses_a_database_with_another_platform(db):
    # given
    create_admin(username="root", email="root@example.org", password=STRONG)

    # when
    with pytest.raises(CommandError, match="not the demo's"):
        call_command("demo", reset=True, stdout=io.StringIO())

    # then
    assert Organization.objects.count() == 1
    assert get_user_model().objects.count() == 1
