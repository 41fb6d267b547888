"""Many cases whose deadline has passed, for the deadline kill test and
bench/deadline_sweep.py.

Each template case is made by the real actions, so it carries every column a
real case has (including columns added later); a copy differs from its
template only in its reference, its dates and its deadline. The worker's
deadline job is found by its registered name, not by the module it lives in.
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import User

from recours.accounts.models import Customer
from recours.cases.access import staff_actor
from recours.cases.engine import change_status
from recours.cases.models import Case
from recours.core import clock
from recours.core.models import AuditEvent
from recours.core.worker import JOBS, Loop
from recours.notifications.models import OutboxMessage
from recours.testing import file_case, file_claim, membership, protected_order

DEADLINE_JOB = "deadlines"
# A sweep that needs more calls than this is not converging: stop and say so.
SWEEP_CALLS_MAX = 100_000


def expiry_templates(agent: User, customer: Customer) -> dict[str, Case]:
    """One open case per way a deadline passes, by what its expiry does.

    A missed service level escalates (the team lead is told); a protection
    claim reminds its merchant the day before the 5 days end, then goes to
    review (both parties told); a silent customer gets their incident resolved,
    and an unopposed resolution closes (the customer is told, once by SMS).
    The claim that goes to review was opened 4.5 days ago and has had its
    reminder. Call it before any other case is due.
    """
    staff = membership(agent)
    actor = staff_actor(staff)
    silent_customer = file_case(contact_channel="sms", contact_phone="+33612345678")
    for target in ("in_progress", "waiting_customer"):
        change_status(staff, actor, silent_customer, target)
    unopposed = file_case()
    change_status(staff, actor, unopposed, "resolved")
    with clock.at(clock.now() - timedelta(days=4, hours=12)):
        unanswered = file_claim(protected_order(customer, reference="CMD-SILENT"))
    # Its reminder, by the job itself (not through the Loop: this may run
    # inside a test's transaction).
    assert JOBS[DEADLINE_JOB].run() == 1, "only the old claim's reminder is due"
    return {
        "service_level_missed": file_case(),
        "merchant_reminded": file_claim(
            protected_order(customer, reference="CMD-REMIND")
        ),
        "merchant_silent": unanswered,
        "customer_silent": silent_customer,
        "resolution_unopposed": unopposed,
    }


def copy_case(template: Case, reference: str, due_at: datetime) -> Case:
    """An unsaved copy of `template` (every concrete column) with its own
    reference and deadline, and no timeline, audit or outbox rows yet."""
    values = {
        field.attname: getattr(template, field.attname)
        for field in Case._meta.concrete_fields
        if not field.primary_key
    }
    return Case(**{**values, "reference": reference, "due_at": due_at})


def due_copies(
    templates: list[Case], count: int, prefix: str, passed_at: datetime
) -> list[Case]:
    """`count` copies of the templates in turn, saved, each deadline passed at
    or a few seconds before `passed_at`."""
    for template in templates:
        template.refresh_from_db()
    copies = [
        copy_case(templates[number % len(templates)], f"{prefix}{number:05d}",
                  passed_at - timedelta(seconds=number % 60))
        for number in range(count)
    ]  # fmt: skip
    return Case.objects.bulk_create(copies)


def outcome(case: Case) -> dict[str, object]:
    """What applying deadlines did to a copy, as anyone can see it: its state,
    its timeline lines, its audit events and the messages queued about it,
    with its own reference taken out so copies of one template compare equal."""
    case.refresh_from_db()
    messages = OutboxMessage.objects.filter(about=f"cases.case:{case.pk}")
    return {
        "state": (case.status, case.priority, case.team),
        "timeline": sorted(case.events.values_list("type", flat=True)),
        "audit": sorted(
            AuditEvent.objects.filter(
                object_type="cases.case", object_id=str(case.pk)
            ).values_list("action", flat=True)
        ),
        "messages": sorted(
            (channel, recipient, subject.replace(case.reference, "<reference>"))
            for channel, recipient, subject in messages.values_list(
                "channel", "recipient", "subject"
            )
        ),
    }


def sweep_deadlines() -> int:
    """Run the worker's deadline job as the worker does (one connection per
    call) until it finds nothing due; return the items it handled."""
    loop, job = Loop(idle_seconds=0), JOBS[DEADLINE_JOB]
    handled_total = 0
    for _call in range(SWEEP_CALLS_MAX):
        handled = loop.run_job(job)
        assert not loop.failed, f"the {DEADLINE_JOB} job raised (see the log)"
        if handled == 0:
            return handled_total
        handled_total += handled
    raise AssertionError(f"{DEADLINE_JOB} still busy after {SWEEP_CALLS_MAX} calls")
