"""Prometheus metrics: request counts, and business gauges read from the database.

Request counts are counted in each web process. gunicorn runs several worker
processes, so `recours serve` sets PROMETHEUS_MULTIPROC_DIR and prometheus_client
keeps each process's counts in files there, which a scrape adds up. Without the
variable (tests, `runserver`) the counts live in this process's memory.

Cases, outbox and deadline figures are counted in the database at scrape time:
they are the same whichever process answers, and nothing has to be incremented
inside the domain code (which must not import this face).
"""

import os
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from recours.cases.models import Case
from recours.core import clock
from recours.notifications.models import Channel, OutboxMessage

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# In-process registry, used only when PROMETHEUS_MULTIPROC_DIR is not set.
REQUESTS_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "recours_http_requests",
    "HTTP requests answered, by method and status code.",
    ["method", "status"],
    registry=REQUESTS_REGISTRY,
)


def count_request(method: str, status: int) -> None:
    # An unknown method would otherwise let any client add label values.
    label = method if method in KNOWN_METHODS else "other"
    REQUESTS.labels(method=label, status=str(status)).inc()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class RegistryCollector(Collector):
    """Forwards another registry's metrics, so one scrape shows both."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def age_seconds(moment: datetime | None, now: datetime) -> float:
    if moment is None or moment > now:
        return 0.0
    return (now - moment).total_seconds()


class DatabaseCollector(Collector):
    """Business figures counted with a few aggregate queries per scrape."""

    def collect(self) -> Iterator[Metric]:
        now = clock.now()
        yield self.cases_opened()
        yield from self.outbox_backlog(now)
        yield from self.outbox_outcomes()
        yield self.deadline_lag(now)

    def cases_opened(self) -> Metric:
        family = CounterMetricFamily(
            "recours_cases_opened",
            "Cases opened since the start, by kind.",
            labels=["kind"],
        )
        rows = Case.objects.values("kind").annotate(total=Count("pk")).order_by("kind")
        for row in rows:
            family.add_metric([row["kind"]], row["total"])
        return family

    def outbox_backlog(self, now: datetime) -> Iterator[Metric]:
        pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
        summary = pending.aggregate(count=Count("pk"), oldest=Min("created_at"))
        yield GaugeMetricFamily(
            "recours_outbox_pending_messages",
            "Messages waiting in the outbox to be delivered.",
            value=summary["count"],
        )
        yield GaugeMetricFamily(
            "recours_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting in the outbox (0 if none).",
            value=age_seconds(summary["oldest"], now),
        )

    def outbox_outcomes(self) -> Iterator[Metric]:
        delivered = CounterMetricFamily(
            "recours_outbox_delivered",
            "Messages delivered, by channel.",
            labels=["channel"],
        )
        # A gauge, not a counter: a re-send moves a failed message back to pending.
        failed = GaugeMetricFamily(
            "recours_outbox_failed_messages",
            "Messages that ran out of attempts and were not delivered, by channel.",
            labels=["channel"],
        )
        counts = {
            (row["channel"], row["status"]): row["total"]
            for row in OutboxMessage.objects.values("channel", "status")
            .annotate(total=Count("pk"))
            .order_by()
        }
        for channel in Channel.values:
            delivered.add_metric([channel], counts.get((channel, "sent"), 0))
            failed.add_metric([channel], counts.get((channel, "failed"), 0))
        yield delivered
        yield failed

    def deadline_lag(self, now: datetime) -> Metric:
        oldest = Case.objects.filter(due_at__lte=now).aggregate(oldest=Min("due_at"))
        return GaugeMetricFamily(
            "recours_deadline_lag_seconds",
            "How long the oldest passed case deadline has waited to be applied (0 if none).",
            value=age_seconds(oldest["oldest"], now),
        )


def scrape() -> bytes:
    """The text exposition of every metric, for one scrape."""
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(RegistryCollector(REQUESTS_REGISTRY))
    registry.register(DatabaseCollector())
    return generate_latest(registry)
