"""The workflows page: every workflow drawn, with its states and transitions
in tables, which say in words what the diagram shows."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from recours.accounts.models import Membership
from recours.cases import workflows
from recours.cases.models import Kind
from recours.console import diagrams
from recours.console.views import render_console, staff_required


def kinds_of(workflow: Any) -> list[str]:
    """The kinds of case that follow this workflow, as the queue names them."""
    found = []
    for value, label in Kind.choices:
        try:
            follows = workflows.for_kind(value) is workflow
        except KeyError:
            # A kind without a workflow yet is shown under none.
            follows = False
        if follows:
            found.append(str(label))
    return found


def entry(workflow: Any) -> dict[str, Any]:
    return {
        "name": workflow.name,
        "label": workflow.label,
        "kinds": kinds_of(workflow),
        "svg": diagrams.workflow_svg(workflow),
        "states": diagrams.state_rows(workflow),
        "transitions": diagrams.transition_rows(workflow),
    }


@require_GET
@staff_required
def workflows_page(request: HttpRequest, membership: Membership) -> HttpResponse:
    context = {"entries": [entry(workflow) for workflow in workflows.ALL]}
    return render_console(request, membership, "console/workflows.html", context)
