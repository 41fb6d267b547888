"""Fixed-window rate limits counted in the database.

The count is incremented with an atomic UPDATE, so concurrent requests from
several web workers are all counted; no shared cache server is needed.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

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
    now = timezone.now()
    start = window_start(now, period_seconds)
    with transaction.atomic():
        updated = RateCounter.objects.filter(key=key, window_start=start).update(
            count=F("count") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=key, window_start=start, count=1)
            except IntegrityError:
                RateCounter.objects.filter(key=key, window_start=start).update(
                    count=F("count") + 1
                )
        count = RateCounter.objects.get(key=key, window_start=start).count
    return count > limit


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR as the WSGI server saw it: behind a proxy, have the proxy set it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(request: HttpRequest, name: str, rate: str) -> bool:
    """Count one request of this client address to `name`; True if over `rate`."""
    return hit(f"{name}:{client_address(request)}", rate)


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """The friendly page a limited visitor sees."""
    return render(request, "429.html", status=429)


def purge_old(now: datetime | None = None) -> int:
    """Worker job: drop windows older than a day."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    deleted, _ = RateCounter.objects.filter(window_start__lt=cutoff).delete()
    return deleted
