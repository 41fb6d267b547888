"""API keys: `Authorization: Bearer <secret>` or `X-API-Key: <secret>`.

The key's organization scopes everything the request can see or create.
"""

import math

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.security import APIKeyHeader, HttpBearer

from recours.accounts.actions import authenticate_api_key
from recours.accounts.models import ApiKey
from recours.core import clock, ratelimit

# Our secrets are 46 characters; anything much longer is not worth hashing.
SECRET_LENGTH_MAX = 200
# Per key, for every request. Overridden by the API_RATE_LIMIT setting.


def key_from_secret(secret: str | None) -> ApiKey | None:
    """Return the live key with this secret, counting the request against its limit."""
    if not secret or len(secret) > SECRET_LENGTH_MAX:
        return None
    key = authenticate_api_key(secret.strip())
    if key is None:
        return None
    rate = settings.API_RATE_LIMIT
    if ratelimit.hit(f"api-key:{key.pk}", rate):
        raise Throttled(wait=seconds_to_next_window(rate))
    return key


def seconds_to_next_window(rate: str) -> int:
    _limit, period_seconds = ratelimit.parse_rate(rate)
    now = clock.now()
    start = ratelimit.window_start(now, period_seconds)
    elapsed = (now - start).total_seconds()
    return max(1, math.ceil(period_seconds - elapsed))


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return key_from_secret(token)


class HeaderKey(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return key_from_secret(key)


def request_key(request: HttpRequest) -> ApiKey:
    """The key the request was authenticated with (set by ninja)."""
    key = request.auth  # type: ignore[attr-defined]
    assert isinstance(key, ApiKey)
    return key
