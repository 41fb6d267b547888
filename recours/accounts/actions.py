import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recours.accounts.models import ApiKey, Organization, VerificationCode, hash_api_key
from recours.core.audit import Actor, record
from recours.core.errors import NotFound

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
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            record(actor, "api_key.revoked", key, organization_id=key.organization_id)
    return key


def authenticate_api_key(secret: str) -> ApiKey | None:
    key = (
        ApiKey.objects.select_related("organization")
        .filter(key_hash=hash_api_key(secret), revoked_at__isnull=True)
        .first()
    )
    if key is not None:
        now = timezone.now()
        # Touch at most once a minute so reads do not write on every request.
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def issue_code(subject: str, channel: str, *, digits: int = 6) -> str:
    """Create a one-time code (SMS) or a long token (magic link); return it."""
    if channel == "link":
        code = secrets.token_urlsafe(24)
    else:
        code = "".join(secrets.choice("0123456789") for _ in range(digits))
    now = timezone.now()
    VerificationCode.objects.create(
        subject=subject,
        code_hash=hash_api_key(code),
        channel=channel,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.VERIFICATION_CODE_TTL_SECONDS),
    )
    return code


def check_code(subject: str, code: str) -> bool:
    """True once for a live, matching code. Wrong guesses count against every live code."""
    now = timezone.now()
    with transaction.atomic():
        live = list(
            VerificationCode.objects.select_for_update()
            .filter(subject=subject, used_at__isnull=True, expires_at__gt=now)
            .filter(attempts__lt=MAX_CODE_ATTEMPTS)
            .order_by("-created_at")
        )
        wanted = hash_api_key(code.strip())
        for candidate in live:
            if hmac.compare_digest(candidate.code_hash, wanted):
                candidate.used_at = now
                candidate.save(update_fields=["used_at"])
                return True
        for candidate in live:
            candidate.attempts += 1
            candidate.save(update_fields=["attempts"])
    return False
