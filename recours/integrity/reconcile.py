"""Running the detectors: findings become anomalies, each with its case.

A finding seen before (same fingerprint) only moves its anomaly's
`last_seen_at`; a new one opens an `integrity` case for the technical team
with the evidence, and proposes its correction, in one transaction.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from recours.accounts.models import Customer, Organization
from recours.cases.intake import open_integrity_case
from recours.core import clock
from recours.core.audit import Actor
from recours.integrity import actions
from recours.integrity.detectors import DETECTORS, Finding
from recours.integrity.models import Anomaly, AnomalyKind, Schedule
from recours.integrity.settlement import Settlement, mismatches

log = logging.getLogger("recours.integrity")
ACTOR = Actor.system("integrity")
SCHEDULE_NAME = "reconcile"
FINGERPRINT_CHUNK_SIZE = 500


@dataclass(frozen=True)
class Counts:
    found: int
    new: int


Progress = Callable[[str, Counts], None]


def run(
    settlement: Settlement | None = None,
    settlement_organization: Organization | None = None,
    progress: Progress | None = None,
) -> dict[str, Counts]:
    """Run every detector (and the settlement check when a file is given);
    return the counts per anomaly kind."""
    counts: dict[str, Counts] = {}
    for kind, detector in DETECTORS.items():
        counts[kind] = record(detector())
        if progress:
            progress(kind, counts[kind])
    if settlement is not None:
        organization = settlement_organization or platform()
        kind = AnomalyKind.SETTLEMENT_MISMATCH
        counts[kind] = record(mismatches(settlement, organization))
        if progress:
            progress(kind, counts[kind])
    return counts


def platform() -> Organization:
    return Organization.objects.get(kind=Organization.Kind.PLATFORM)


def record(findings: Iterable[Finding]) -> Counts:
    """Anomalies for `findings`: seen again, or new with their case."""
    by_fingerprint = {finding.fingerprint: finding for finding in findings}
    now = clock.now()
    known = mark_seen(list(by_fingerprint), now)
    new = 0
    for fingerprint, finding in by_fingerprint.items():
        if fingerprint not in known:
            new += open_anomaly(finding, now)
    return Counts(found=len(by_fingerprint), new=new)


def mark_seen(fingerprints: list[str], now: datetime) -> set[str]:
    """Move `last_seen_at` of those already known; return their fingerprints."""
    known: set[str] = set()
    for start in range(0, len(fingerprints), FINGERPRINT_CHUNK_SIZE):
        chunk = Anomaly.objects.filter(
            fingerprint__in=fingerprints[start : start + FINGERPRINT_CHUNK_SIZE]
        )
        known.update(chunk.values_list("fingerprint", flat=True))
        chunk.update(last_seen_at=now)
    return known


def open_anomaly(finding: Finding, now: datetime) -> int:
    """1 for a new anomaly; 0 when another run recorded it first."""
    try:
        with transaction.atomic():
            customer = customer_of(finding)
            organization = Organization.objects.get(pk=finding.organization_id)
            title = str(AnomalyKind(finding.kind).label)
            case = open_integrity_case(ACTOR, organization, customer, title,
                                       {"kind": finding.kind, **finding.details})  # fmt: skip
            anomaly = Anomaly.objects.create(
                kind=finding.kind, fingerprint=finding.fingerprint,
                organization=organization, customer=customer,
                details=finding.details, first_seen_at=now, last_seen_at=now,
                case=case,
            )  # fmt: skip
            actions.propose(ACTOR, anomaly)
    except IntegrityError:
        if not Anomaly.objects.filter(fingerprint=finding.fingerprint).exists():
            raise
        return 0
    log.warning("integrity anomaly %s found (case %s)", finding.kind, case.reference)
    return 1


def customer_of(finding: Finding) -> Customer | None:
    if finding.customer_id is None:
        return None
    return Customer.objects.get(pk=finding.customer_id)


def claim_run(now: datetime) -> bool:
    """Move the next run forward if it is due; True if this worker got it."""
    interval = timedelta(minutes=settings.RECONCILE_INTERVAL_MINUTES)
    Schedule.objects.get_or_create(name=SCHEDULE_NAME, defaults={"next_run_at": now})
    claimed = Schedule.objects.filter(name=SCHEDULE_NAME, next_run_at__lte=now).update(
        next_run_at=now + interval
    )
    return claimed == 1


def run_if_due() -> int:
    """Worker job: run the detectors every RECONCILE_INTERVAL_MINUTES; return
    the number of new anomalies. The next run is set before this one starts,
    so a failing run cannot loop."""
    if not claim_run(clock.now()):
        return 0
    counts = run()
    return sum(count.new for count in counts.values())
