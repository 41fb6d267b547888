"""The console's buyer-protection actions: the merchant's answer and evidence,
a mediator's document request, decision and "carried out".

Each view finds the case among those the member may see (404 otherwise),
parses with a form from console.claim_forms, checks uploaded files with
recours.cases.evidence, and calls recours.cases.protection through
views.perform, which shows a refusal on the form that asked.
"""

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from recours.accounts.models import Membership
from recours.cases import protection
from recours.cases.evidence import CheckedFile, check_files
from recours.cases.models import Case
from recours.console import claims
from recours.console.claim_forms import (
    DecisionForm,
    DocumentsForm,
    EvidenceForm,
    MerchantAnswerForm,
)
from recours.console.views import case_or_404, perform, render_case, staff_required


def checked_uploads(form: forms.Form) -> list[CheckedFile]:
    """The form's files checked by content; each refusal is an error on the field."""
    checked, errors = check_files(form.cleaned_data.get("attachments") or [])
    for message in errors:
        form.add_error("attachments", message)
    return checked


def refused(
    request: HttpRequest, membership: Membership, case: Case, name: str, form: Any
) -> HttpResponse:
    return render_case(request, membership, case, {name: form}, 422)


@require_POST
@staff_required
def answer(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = MerchantAnswerForm(
        request.POST, request.FILES, prefix="answer", **claims.amount_options(case)
    )
    valid = form.is_valid()
    files = checked_uploads(form) if valid else []
    if not valid or form.errors:
        return refused(request, membership, case, "answer_form", form)
    data = form.cleaned_data
    return perform(
        request, membership, case, "answer_form", form,
        lambda actor: protection.merchant_answer(
            membership, actor, case, answer=data["answer"],
            amount_minor=data["amount_minor"], message=data["message"], files=files,
        ),
        _("Your answer was sent to the customer."),
    )  # fmt: skip


@require_POST
@staff_required
def evidence(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = EvidenceForm(request.POST, request.FILES, prefix="evidence")
    valid = form.is_valid()
    files = checked_uploads(form) if valid else []
    if not valid or form.errors:
        return refused(request, membership, case, "evidence_form", form)
    message = form.cleaned_data["message"]
    return perform(
        request, membership, case, "evidence_form", form,
        lambda actor: protection.add_evidence(
            case, files, message, membership=membership, actor=actor
        ),
        _("Your documents were added to the case."),
    )  # fmt: skip


@require_POST
@staff_required
def request_documents(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = DocumentsForm(request.POST, prefix="documents")
    if not form.is_valid():
        return refused(request, membership, case, "documents_form", form)
    data = form.cleaned_data
    return perform(
        request, membership, case, "documents_form", form,
        lambda actor: protection.request_documents(
            membership, actor, case, parties=set(data["parties"]),
            message=data["message"], due_date=data["due_date"],
        ),
        _("The documents were asked for."),
    )  # fmt: skip


@require_POST
@staff_required
def decide(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    form = DecisionForm(request.POST, prefix="decide", **claims.amount_options(case))
    if not form.is_valid():
        return refused(request, membership, case, "decide_form", form)
    data = form.cleaned_data
    return perform(
        request, membership, case, "decide_form", form,
        lambda actor: protection.decide(
            membership, actor, case, outcome=data["outcome"],
            amount_minor=data["amount_minor"], destination=data["destination"],
            reason=data["reason"],
        ),
        _("The decision was recorded and sent to both parties."),
    )  # fmt: skip


@require_POST
@staff_required
def carried_out(request: HttpRequest, membership: Membership, reference: str):
    case = case_or_404(membership, reference)
    # Nothing to type: the form only carries a refusal back to the page.
    form = forms.Form(request.POST)
    decision = case.decision_made
    if decision is None or decision.carried_out_at is not None:
        # The action would do nothing and say nothing: say it here.
        form.add_error(None, _("This case has no decision left to carry out."))
        return refused(request, membership, case, "carried_out_form", form)
    return perform(
        request, membership, case, "carried_out_form", form,
        lambda actor: protection.mark_carried_out(membership, actor, case),
        _("The decision is carried out; the case is closed."),
    )  # fmt: skip
