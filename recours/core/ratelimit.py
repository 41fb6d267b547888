"""Fixed-window rate limits counted in the database.

The count is incremented with one atomic upsert, so concurrent requests from
several web workers are all counted; no shared cache server is needed.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from recours.core import clock, proxies
from recours.core.models import RateCounter

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/h" -> (10, 3600)."""
    count_text, _, period = rate.partition("/")
    count = int(count_text)
    assert count > 0
    return count, PERIOD_SECONDS[period]


def window_start(now: datetime, period_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_seconds, tz=now.tzinfo)


def hit(key: str, rate: str) -> bool:
    """Count one request; return True if it is over the limit."""
    limit, period_seconds = parse_rate(rate)
    start = window_start(clock.now(), period_seconds)
    return count_one(key, start) > limit


def count_one(key: str, start: datetime) -> int:
    """Add one to the window's counter, creating it at 1; return the new count.

    One statement (an upsert, PostgreSQL and SQLite >= 3.35): every request of
    an API key updates the same row, and a transaction of several statements
    held that row's lock, or SQLite's write lock, for several round trips.
    """
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    key_column, start_column, count_column = (
        connection.ops.quote_name(name) for name in ("key", "window_start", "count")
    )
    start_value = RateCounter._meta.get_field("window_start").get_db_prep_value(
        start, connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            # Only quoted names are formatted in; the values are parameters.
            f"INSERT INTO {table} ({key_column}, {start_column}, {count_column}) "  # noqa: S608
            f"VALUES (%s, %s, 1) ON CONFLICT ({key_column}, {start_column}) "
            f"DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
            f"RETURNING {count_column}",
            [key, start_value],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind a trusted proxy (settings.TRUSTED_PROXIES) the
    client address that proxy put in X-Forwarded-For (see core.proxies)."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not settings.TRUSTED_PROXIES:
        return remote
    networks = proxies.trusted_networks(tuple(settings.TRUSTED_PROXIES))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return proxies.forwarded_client(remote, forwarded, networks)


def over_limit(request: HttpRequest, name: str, rate: str) -> bool:
    """Count one request of this client address to `name`; True if over `rate`."""
    return hit(f"{name}:{client_address(request)}", rate)


def reached(key: str, rate: str) -> bool:
    """Whether `key` has already used up this window of `rate`; counts nothing.

    It reads the counter hit() writes, so a limit can be checked before a
    request is worth counting (only accepted reports count, say)."""
    limit, period_seconds = parse_rate(rate)
    start = window_start(clock.now(), period_seconds)
    counter = RateCounter.objects.filter(key=key, window_start=start).first()
    return counter is not None and counter.count >= limit


def count(key: str, rate: str) -> None:
    """Count one for `key` (something worth limiting was done)."""
    hit(key, rate)


def address_key(request: HttpRequest, name: str) -> str:
    return f"{name}:{client_address(request)}"


def seconds_left(rate: str) -> int:
    """Seconds until the current window of `rate` ends and the count starts over."""
    _limit, period_seconds = parse_rate(rate)
    now = clock.now()
    end = window_start(now, period_seconds) + timedelta(seconds=period_seconds)
    return max(1, math.ceil((end - now).total_seconds()))


def too_many_requests(request: HttpRequest, rate: str = "") -> HttpResponse:
    """The friendly page a limited visitor sees; with `rate`, how long to wait."""
    context = {}
    if rate:
        wait_seconds = seconds_left(rate)
        context["wait_minutes"] = math.ceil(wait_seconds / 60)
    response = render(request, "429.html", context, status=429)
    if rate:
        response["Retry-After"] = str(wait_seconds)
    return response


def purge_old(now: datetime | None = None) -> int:
    """Worker job: drop windows older than a day."""
    cutoff = (now or clock.now()) - timedelta(days=1)
    deleted, _ = RateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted
