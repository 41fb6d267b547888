import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from recours.accounts.models import (
    ApiKey,
    Membership,
    Organization,
    Role,
    VerificationCode,
    hash_api_key,
)
from recours.core import clock, ratelimit
from recours.core.audit import Actor, record
from recours.core.errors import Conflict, InvalidInput, NotFound

MAX_CODE_ATTEMPTS = 5


def create_api_key(
    actor: Actor, organization: Organization, name: str
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored or shown again."""
    secret = "rk_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            organization=organization,
            name=name,
            prefix=secret[:11],
            key_hash=hash_api_key(secret),
        )
        record(actor, "api_key.created", key, organization_id=organization.pk)
    return key, secret


def revoke_api_key(actor: Actor, prefix: str) -> ApiKey:
    """Revoke the key with this prefix; revoking it again changes nothing."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(prefix=prefix).first()
        if key is None:
            raise NotFound(f"No API key has the prefix {prefix!r}.")
        if key.revoked_at is None:
            key.revoked_at = clock.now()
            key.save(update_fields=["revoked_at"])
            record(actor, "api_key.revoked", key, organization_id=key.organization_id)
    return key


def authenticate_api_key(secret: str) -> ApiKey | None:
    # key_hash is unique: get() skips the ORDER BY that first() adds and compiles.
    try:
        key = ApiKey.objects.select_related("organization").get(
            key_hash=hash_api_key(secret), revoked_at__isnull=True
        )
    except ApiKey.DoesNotExist:
        key = None
    if key is not None:
        now = clock.now()
        # Touch at most once a minute so reads do not write on every request.
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


# A code the customer types; a link carries a long token instead.
TYPED_CHANNELS = ("sms", "email")
LINK_CHANNEL = "link"


def new_secret(channel: str, digits: int) -> str:
    if channel == LINK_CHANNEL:
        return secrets.token_urlsafe(24)
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def issue_codes(
    subject: str, channels: Sequence[str], *, digits: int = 6
) -> dict[str, str]:
    """End the subject's live codes and links, then create one per channel.

    The new ones are the subject's only live proof; using one ends the others
    (see check_code). Returns each channel's secret, which only the message
    carries. The caller serializes requests for one subject (a row lock).
    """
    now = clock.now()
    expires_at = now + timedelta(seconds=settings.VERIFICATION_CODE_TTL_SECONDS)
    issued = {}
    with transaction.atomic():
        end_live_codes(subject, now)
        for channel in channels:
            issued[channel] = new_secret(channel, digits)
            VerificationCode.objects.create(
                subject=subject,
                code_hash=hash_api_key(issued[channel]),
                channel=channel,
                created_at=now,
                expires_at=expires_at,
            )
    return issued


def issue_code(subject: str, channel: str, *, digits: int = 6) -> str:
    """One code (SMS) or link token, replacing the subject's live ones."""
    return issue_codes(subject, [channel], digits=digits)[channel]


def end_live_codes(subject: str, now: datetime) -> int:
    return VerificationCode.objects.filter(
        subject=subject, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)


def code_request_cap(subject: str, sms_number: str = "") -> str:
    """Count one request for a code to `subject` (a case, a portfolio) against
    its caps, per hour and per day, and per destination number when it goes by
    SMS (SMS pumping); return the name of the cap it passes, or "".

    The counters are atomic, so concurrent requests all count; a request
    refused by one cap is not counted by the caps after it.
    """
    caps = [
        ("hour", subject, settings.ACCESS_CODE_CASE_RATE_LIMIT),
        ("day", subject, settings.ACCESS_CODE_CASE_DAILY_LIMIT),
    ]
    if sms_number:
        # One budget per number, whatever the code opens.
        caps.append(("sms_number", sms_number, settings.SMS_PER_NUMBER_RATE_LIMIT))
    for name, what, rate in caps:
        if ratelimit.hit(f"access-code:{name}:{what}", rate):
            return name
    return ""


def check_code(subject: str, secret: str, *, link: bool = False) -> bool:
    """True once for the subject's live code (or link token) when it matches.

    Only the newest live one of its sort is compared, so a guess is tried
    against one code, and wrong guesses count against it. A match ends every
    live code and link of the subject: each opens the case once, and using one
    ends the other.
    """
    now = clock.now()
    channels = [LINK_CHANNEL] if link else list(TYPED_CHANNELS)
    with transaction.atomic():
        live = (
            VerificationCode.objects.select_for_update()
            .filter(subject=subject, channel__in=channels)
            .filter(used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-pk")
            .first()
        )
        if live is None or live.attempts >= MAX_CODE_ATTEMPTS:
            return False
        if not hmac.compare_digest(live.code_hash, hash_api_key(secret.strip())):
            live.attempts += 1
            live.save(update_fields=["attempts"])
            return False
        end_live_codes(subject, now)
        live.used_at = now
        live.save(update_fields=["used_at"])
    return True


# Staff


def check_new_admin(username: str, email: str) -> tuple[str, str]:
    """Normalize a new administrator's name and address; refuse bad ones."""
    username, email = username.strip(), email.strip().lower()
    if not username:
        raise InvalidInput("The username must not be empty.")
    if get_user_model().objects.filter(username=username).exists():
        raise InvalidInput(f"The user {username!r} already exists.")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"{email!r} is not an e-mail address.") from None
    return username, email


def create_admin(
    actor: Actor,
    username: str,
    email: str,
    password: str,
    *,
    org_slug: str = "platform",
    org_name: str = "Recours",
) -> tuple[Membership, bool]:
    """Create a platform administrator (staff, superuser, role admin).

    Creates the platform organization first if there is none yet. Returns the
    membership and whether the platform was created.
    """
    username, email = check_new_admin(username, email)
    User = get_user_model()
    user = User(username=username, email=email, is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput("Password refused: " + " ".join(error.messages)) from None
    user.set_password(password)
    with transaction.atomic():
        platform, created = platform_organization(actor, org_slug, org_name)
        user.save()
        membership = add_membership(actor, user, platform, Role.ADMIN)
    return membership, created


def platform_organization(
    actor: Actor, slug: str, name: str
) -> tuple[Organization, bool]:
    """The deployment's one platform organization, created if missing."""
    existing = Organization.objects.filter(kind=Organization.Kind.PLATFORM).first()
    if existing is not None:
        return existing, False
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict(
            f"An organization with the slug {slug!r} exists and is not the "
            "platform; choose another --org-slug."
        )
    platform = Organization.objects.create(
        name=name, slug=slug, kind=Organization.Kind.PLATFORM
    )
    record(actor, "organization.created", platform, organization_id=platform.pk,
           data={"kind": platform.kind})  # fmt: skip
    return platform, True


def add_membership(
    actor: Actor, user: User, organization: Organization, role: str
) -> Membership:
    """Make a user staff of an organization; the role must fit its kind."""
    membership = Membership(user=user, organization=organization, role=role)
    try:
        membership.full_clean()
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages)) from None
    with transaction.atomic():
        membership.save()
        record(actor, "membership.created", membership,
               organization_id=organization.pk, data={"role": role})  # fmt: skip
    return membership
