"""A membership's role fits its organization's kind, in validation and in the
database; platform access follows the organization."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from recours.accounts.actions import add_membership
from recours.accounts.models import Membership, Organization, Role
from recours.core.audit import Actor
from recours.core.errors import InvalidInput
from recours.testing import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    # The refusals are read in English.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def new_user(username: str = "someone"):
    return get_user_model().objects.create_user(username=username)


@pytest.mark.parametrize(
    "organization,role",
    [("platform", Role.MERCHANT_AGENT), ("merchant_a", Role.AGENT)],
)
def test_validation_refuses_a_role_of_the_other_kind(request, organization, role):
    # given
    membership = Membership(
        user=new_user(), organization=request.getfixturevalue(organization), role=role
    )

    # when / then
    with pytest.raises(ValidationError, match="does not fit"):
        membership.full_clean()


def test_validation_accepts_a_fitting_role(platform, merchant_a):
    Membership(user=new_user("a"), organization=platform, role=Role.ADMIN).full_clean()
    Membership(
        user=new_user("b"), organization=merchant_a, role=Role.MERCHANT_ADMIN
    ).full_clean()


def test_the_action_refuses_a_role_of_the_other_kind(merchant_a):
    # given
    user = new_user()

    # when
    with pytest.raises(InvalidInput, match="does not fit"):
        add_membership(Actor.system("test"), user, merchant_a, Role.ADMIN)

    # then
    assert not Membership.objects.exists()


@pytest.mark.parametrize(
    "organization,role",
    [("platform", Role.MERCHANT_ADMIN), ("merchant_a", Role.FINANCE)],
)
def test_the_database_refuses_an_insert_that_skips_validation(
    request, organization, role
):
    # given
    user = new_user()

    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=user, organization=request.getfixturevalue(organization), role=role
        )

    # then
    assert not Membership.objects.exists()


def test_the_database_refuses_an_update_to_a_misfit(merchant_a, merchant_a_agent):
    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=merchant_a_agent).update(role=Role.ADMIN)

    # then
    assert Membership.objects.get(user=merchant_a_agent).role == Role.MERCHANT_AGENT


def test_the_database_refuses_a_move_to_an_organization_of_the_other_kind(
    platform, merchant_a_agent
):
    # when
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=merchant_a_agent).update(organization=platform)

    # then
    assert merchant_a_agent.membership.organization.slug == "alpha"


def test_the_kind_of_an_organization_with_staff_cannot_change(
    merchant_a, merchant_a_agent
):
    # when
    merchant_a.kind = Organization.Kind.PLATFORM
    with pytest.raises(ValidationError, match="cannot change"):
        merchant_a.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=merchant_a.pk).update(kind="platform")

    # then
    merchant_a.refresh_from_db()
    assert merchant_a.kind == Organization.Kind.MERCHANT


def test_the_kind_of_an_organization_without_staff_can_change(merchant_a):
    # when
    Organization.objects.filter(pk=merchant_a.pk).update(kind="platform")

    # then
    merchant_a.refresh_from_db()
    assert merchant_a.is_platform


def test_platform_access_follows_the_organization(platform, merchant_a):
    # given
    staff = make_staff("x", platform, Role.AGENT)
    merchant_staff = make_staff("y", merchant_a, Role.MERCHANT_ADMIN)

    # when / then
    assert staff.membership.is_platform is True
    assert merchant_staff.membership.is_platform is False


def test_the_admin_refuses_a_role_of_the_other_kind(client, merchant_a):
    # given
    admin = get_user_model().objects.create_superuser(username="root", password="x")
    user = new_user()
    client.force_login(admin)

    # when
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"user": user.pk, "organization": merchant_a.pk, "role": Role.ADMIN},
    )

    # then
    assert response.status_code == 200
    assert "does not fit the organization" in response.content.decode()
    assert not Membership.objects.filter(user=user).exists()
