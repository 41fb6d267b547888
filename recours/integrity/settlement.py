"""Provider settlement reports against our payments.

A settlement file is the provider's CSV of payments and refunds, one line
each: provider_payment_id, type (payment or refund), amount (e.g. 12.50),
currency, date (YYYY-MM-DD). Its lines are summed per provider payment id
and compared with our payments in a few queries, both ways: lines with no
payment or a different amount, and card captures of the file's dates that
the file does not have.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from recours.accounts.models import Organization
from recours.commerce.models import Payment
from recours.core.errors import InvalidInput
from recours.core.money import Money
from recours.integrity.detectors import PAYMENT_FIELDS, Finding, payment_finding
from recours.integrity.models import AnomalyKind

COLUMNS = ("provider_payment_id", "type", "amount", "currency", "date")
TYPES = ("payment", "refund")
QUERY_CHUNK_SIZE = 500
LINE_COUNT_MAX = 1_000_000


@dataclass
class Settled:
    """One provider payment id's lines, summed."""

    currency: str
    paid_minor: int = 0
    refunded_minor: int = 0
    lines: list[int] = field(default_factory=list)


@dataclass
class Settlement:
    by_payment: dict[str, Settled]
    first_date: date
    last_date: date


def read(lines: Iterable[str]) -> Settlement:
    """Parse the file; refuse it whole, naming the line, if one is wrong."""
    reader = csv.DictReader(lines)
    missing = set(COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise InvalidInput(
            _("The settlement file lacks the columns: %(columns)s.")
            % {"columns": ", ".join(sorted(missing))}
        )
    by_payment: dict[str, Settled] = {}
    dates: list[date] = []
    for number, row in enumerate(reader, start=2):
        if number > LINE_COUNT_MAX:
            raise InvalidInput(_("The settlement file has too many lines."))
        add_line(by_payment, dates, number, row)
    if not dates:
        raise InvalidInput(_("The settlement file has no lines."))
    return Settlement(by_payment, min(dates), max(dates))


def add_line(
    by_payment: dict[str, Settled], dates: list[date], number: int, row: dict
) -> None:
    try:
        currency = row["currency"].strip().upper()
        amount = Money.parse(row["amount"], currency)
        dates.append(date.fromisoformat(row["date"].strip()))
    except (ValueError, AttributeError):
        raise InvalidInput(
            _("Settlement line %(line)s: the amount, currency or date is not valid.")
            % {"line": number}
        ) from None
    kind = (row["type"] or "").strip().lower()
    payment_id = (row["provider_payment_id"] or "").strip()
    if kind not in TYPES or not payment_id:
        raise InvalidInput(
            _(
                "Settlement line %(line)s: the type must be payment or refund, "
                "with a provider payment id."
            )
            % {"line": number}
        )
    settled = by_payment.setdefault(payment_id, Settled(currency))
    if kind == "payment":
        settled.paid_minor += amount.amount_minor
    else:
        settled.refunded_minor += amount.amount_minor
    settled.lines.append(number)


def payments_for(ids: list[str]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(ids), QUERY_CHUNK_SIZE):
        chunk = ids[start : start + QUERY_CHUNK_SIZE]
        rows = Payment.objects.filter(provider_payment_id__in=chunk).values(
            *PAYMENT_FIELDS
        )
        found.update((row["provider_payment_id"], row) for row in rows)
    return found


def mismatches(settlement: Settlement, organization: Organization) -> list[Finding]:
    """Every way the file and our payments disagree, as findings."""
    payments = payments_for(sorted(settlement.by_payment))
    findings: list[Finding] = []
    for payment_id, settled in sorted(settlement.by_payment.items()):
        row = payments.get(payment_id)
        if row is None:
            findings.append(unknown_payment(payment_id, settled, organization))
        else:
            findings.extend(differences(row, settled))
    findings.extend(missing_from_file(settlement))
    return findings


def unknown_payment(
    payment_id: str, settled: Settled, organization: Organization
) -> Finding:
    return Finding(
        AnomalyKind.SETTLEMENT_MISMATCH,
        ("unknown_payment", payment_id),
        organization.pk,
        None,
        {
            "reason": "unknown_payment",
            "provider_payment_id": payment_id,
            "settled_minor": settled.paid_minor,
            "settled_refunds_minor": settled.refunded_minor,
            "currency": settled.currency,
            "lines": settled.lines,
        },
    )


def differences(row: dict, settled: Settled) -> list[Finding]:
    """A payment whose capture or refunds differ from the provider's lines."""
    evidence = {
        "settled_minor": settled.paid_minor,
        "settled_refunds_minor": settled.refunded_minor,
        "settled_currency": settled.currency,
        "lines": settled.lines,
    }
    found = []
    if (
        settled.currency != row["currency"]
        or settled.paid_minor != (row["captured_minor"])
    ):
        found.append(settlement_finding(row, "amount_differs", evidence))
    if settled.refunded_minor > row["refunded_minor"]:
        found.append(settlement_finding(row, "refund_missing", evidence))
    elif settled.refunded_minor < row["refunded_minor"]:
        found.append(settlement_finding(row, "refund_not_settled", evidence))
    return found


def settlement_finding(row: dict, reason: str, evidence: dict) -> Finding:
    return payment_finding(
        AnomalyKind.SETTLEMENT_MISMATCH, row, reason, reason=reason, **evidence
    )


def card_captures_between(first: date, last: date) -> QuerySet[Payment]:
    return Payment.objects.filter(
        method=Payment.Method.CARD,
        status=Payment.Status.CAPTURED,
        created_at__date__gte=first,
        created_at__date__lte=last,
    ).exclude(provider_payment_id="")


def missing_from_file(settlement: Settlement) -> list[Finding]:
    """Card captures of the file's days that the provider does not list."""
    ours = card_captures_between(settlement.first_date, settlement.last_date)
    listed = set(settlement.by_payment)
    rows = ours.values(*PAYMENT_FIELDS).iterator(chunk_size=QUERY_CHUNK_SIZE)
    return [
        settlement_finding(row, "not_in_settlement", {})
        for row in rows
        if row["provider_payment_id"] not in listed
    ]


def unsettled_refunds_minor(details: dict) -> int:
    """What a `refund_missing` finding's correction gives back."""
    return int(details["settled_refunds_minor"]) - int(details["refunded_minor"])
