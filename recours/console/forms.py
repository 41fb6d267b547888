"""Forms of the staff console: they parse what was typed; the domain judges it."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from recours.accounts.models import Organization
from recours.cases.models import Audience, Kind
from recours.commerce.models import Terminal
from recours.console import labels
from recours.integrity.models import Anomaly, AnomalyKind

SEARCH_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500
MESSAGE_MAX_LENGTH = 5000

# Queue status filter values that are not a state name.
OPEN = ""
ANY_STATUS = "any"

AGE_CHOICES = [
    ("", _("Any age")),
    ("lt24h", _("Less than 24 hours")),
    ("1to3d", _("1 to 3 days")),
    ("gt3d", _("More than 3 days")),
    ("overdue", _("Overdue (deadline passed)")),
]


class ConsoleLoginForm(AuthenticationForm):
    """Django's login form, refusing accounts that belong to no organization
    with the words it uses for a wrong password: the page must not tell that
    the password was right."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not hasattr(user, "membership"):
            raise self.get_invalid_login_error()


def status_choices() -> list:
    """Every state of every workflow, grouped, for the queue filter."""
    return [
        (OPEN, _("Open cases")),
        (ANY_STATUS, _("All statuses")),
        *labels.status_groups(),
    ]


class QueueFilterForm(forms.Form):
    """The queue's GET filters; an invalid value is ignored, not refused."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *Kind.choices]
    )
    terminal = forms.ModelChoiceField(
        label=_("Kiosk"),
        required=False,
        queryset=Terminal.objects.none(),
        to_field_name="code",
        empty_label=_("All kiosks"),
    )
    age = forms.ChoiceField(label=_("Age"), required=False, choices=AGE_CHOICES)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        help_text=_("Reference, customer number, name, phone, e-mail or invoice."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args, terminals: QuerySet[Terminal], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = status_choices()  # type: ignore[attr-defined]
        self.fields["terminal"].queryset = terminals  # type: ignore[attr-defined]

    def value(self, name: str):
        """The cleaned value, or the empty value when it was not valid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or ""


class AssignForm(forms.Form):
    ME = "me"
    NOBODY = "nobody"

    assignee = forms.ChoiceField(
        choices=[(ME, _("Assign to me")), (NOBODY, _("Unassign"))],
        widget=forms.HiddenInput,
    )


class StatusForm(forms.Form):
    target = forms.ChoiceField(
        label=_("New status"),
        error_messages={
            "invalid_choice": _("This case cannot move to that status."),
            "required": _("Choose the new status."),
        },
    )
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text=_("Shown in the timeline, also to the customer."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, targets: list[tuple[str, object]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = targets  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=MESSAGE_MAX_LENGTH,
        help_text=_("Only staff see it; the customer never does."),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the note first.")},
    )


class ReplyForm(forms.Form):
    """A message to the readers chosen among those the member may write to.

    A post without a choice is a reply to everyone, as before readers could
    be chosen."""

    audience = forms.ChoiceField(
        label=_("Who reads it"),
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("You cannot write to these readers.")},
    )
    body = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write the reply first.")},
    )

    def __init__(self, *args, audiences: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Audience.choices)
        field = self.fields["audience"]
        field.choices = [(name, labels[name]) for name in audiences]  # type: ignore[attr-defined]
        field.initial = Audience.EVERYONE

    def clean_audience(self) -> str:
        return self.cleaned_data.get("audience") or Audience.EVERYONE


class SmsFilterForm(forms.Form):
    to = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def value(self) -> str:
        return self.cleaned_data.get("to", "") if self.is_valid() else ""


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        help_text=_("Customer number, name, phone or e-mail."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def value(self) -> str:
        return self.cleaned_data.get("q", "").strip() if self.is_valid() else ""


class AnomalyFilterForm(forms.Form):
    """The anomalies list's GET filters; an invalid value is ignored."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *AnomalyKind.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Anomaly.Status.choices],
    )
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        required=False,
        queryset=Organization.objects.none(),
        to_field_name="slug",
        empty_label=_("All organizations"),
    )

    def __init__(self, *args, organizations: QuerySet[Organization], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]

    def value(self, name: str):
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why reject it"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Written on the case, for the technical team."),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the correction is rejected.")},
    )
