"""How the console names states: the workflows' labels, read by staff.

The workflows label states for the customer ("Waiting for you"); staff read
the same state from the other side of the counter.
"""

from django.utils.translation import gettext_lazy as _

from recours.cases import workflows

STAFF_LABELS = {
    "waiting_customer": _("Waiting for the customer"),
    "awaiting_customer": _("Waiting for the customer's answer"),
    "awaiting_merchant": _("Waiting for the merchant's answer"),
}


def status_label(kind: str, status: str) -> object:
    if status in STAFF_LABELS:
        return STAFF_LABELS[status]
    try:
        return workflows.for_kind(kind).state(status).label
    except KeyError:
        # A state no longer declared: show its name rather than fail.
        return status


def workflow_status_label(workflow: workflows.Workflow, status: str) -> object:
    return STAFF_LABELS.get(status, workflow.state(status).label)


def all_workflows() -> list[workflows.Workflow]:
    return list(workflows.ALL)


def status_groups() -> list[tuple[object, list[tuple[str, object]]]]:
    """(group label, [(state, label)]): each workflow's own states, then the
    states every workflow shares, so that no state is listed twice."""
    every = all_workflows()
    names_by_workflow = [[state.name for state in w.states] for w in every]
    shared = [
        name
        for name in names_by_workflow[0]
        if all(name in names for names in names_by_workflow)
    ]
    groups: list[tuple[object, list[tuple[str, object]]]] = []
    for workflow in every:
        own = [
            (state.name, workflow_status_label(workflow, state.name))
            for state in workflow.states
            if state.name not in shared
        ]
        groups.append((workflow.label, own))
    if shared:
        groups.append(
            (
                _("Every workflow"),
                [(name, workflow_status_label(every[0], name)) for name in shared],
            )
        )
    return groups


def allowed_targets(kind: str, status: str, role: str) -> list[tuple[str, object]]:
    """The states this role may move the case to, labelled, without repeats."""
    workflow = workflows.for_kind(kind)
    targets: list[tuple[str, object]] = []
    for target in workflow.targets(status, role):
        if target not in (name for name, _label in targets):
            targets.append((target, workflow_status_label(workflow, target)))
    return targets


def final_statuses() -> list[str]:
    return sorted(
        {state.name for w in all_workflows() for state in w.states if state.is_final}
    )


# A resolved case waits only for its automatic closing: nothing left to do.
DONE_STATUSES = ("resolved",)


def not_open_statuses() -> list[str]:
    """What the queue's "Open cases" leaves out: resolved and closed cases."""
    return sorted({*final_statuses(), *DONE_STATUSES})
