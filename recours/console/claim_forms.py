"""Forms of a buyer-protection claim in the console: the merchant's answer,
evidence, a mediator's document request and decision.

They parse what was typed (amounts with Money.parse, never floats); the
actions in recours.cases.protection judge it.
"""

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from recours.cases.evidence import MAX_FILES
from recours.cases.models import Decision, DocumentRequest, MerchantAnswer
from recours.console.forms import MESSAGE_MAX_LENGTH
from recours.core.money import Money, minor_digits
from recours.core.templatetags.money import money

ACCEPTED_FILES = (
    ".pdf,.png,.jpg,.jpeg,.webp,application/pdf,image/png,image/jpeg,image/webp"
)
FILES_HELP = _("PDF, PNG, JPEG or WebP, 10 MB each, 5 at most.")
# An amount field accepts digits and one separator: "129.90" or "129,90".
AMOUNT_MAX_LENGTH = 20
AMOUNT_EXAMPLE_MINOR = 4990


def amount_text(amount: Money) -> str:
    """An amount as a person types it in this language: 129,90 in French,
    129.90 in English; no grouping, so that Money.parse reads it back."""
    digits = minor_digits(amount.currency)
    sign = "-" if amount.amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount.amount_minor), 10**digits)
    if digits == 0:
        return f"{sign}{whole}"
    separator = formats.get_format("DECIMAL_SEPARATOR")
    return f"{sign}{whole}{separator}{fraction:0{digits}d}"


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; recours.cases.evidence checks their content."""

    def __init__(self, **kwargs) -> None:
        attrs = {"accept": ACCEPTED_FILES, "data-max-files": MAX_FILES}
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("help_text", FILES_HELP)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, list | tuple) else [data]
        return [
            super(MultipleFileField, self).clean(one, initial) for one in uploads if one
        ]


def message_field(label, help_text, required_message) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MESSAGE_MAX_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": required_message},
    )


def amount_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=AMOUNT_MAX_LENGTH,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class RefundAmountForm(forms.Form):
    """A form with an amount in the claim's currency, read only when the
    choice in `choice_name` is a refund."""

    choice_name = ""
    without_amount: tuple[str, ...] = ()
    amount_help = _("The order's total is %(total)s.")

    def __init__(
        self, *args, currency: str, full: Money | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        field = self.fields["amount"]
        field.label = _("Refund amount (%(currency)s)") % {"currency": currency}
        if full is not None:
            field.help_text = self.amount_help % {"total": money(full)}

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        cleaned["amount_minor"] = None
        if cleaned.get(self.choice_name) in (None, "", *self.without_amount):
            return cleaned
        text = (cleaned.get("amount") or "").strip()
        example = amount_text(Money(AMOUNT_EXAMPLE_MINOR, self.currency))
        if not text:
            self.add_error("amount", _("Give the amount of the refund."))
            return cleaned
        try:
            cleaned["amount_minor"] = Money.parse(text, self.currency).amount_minor
        except ValueError:
            self.add_error(
                "amount",
                _("Write the amount in %(currency)s as digits, such as %(example)s.")
                % {"currency": self.currency, "example": example},
            )
        return cleaned


class MerchantAnswerForm(RefundAmountForm):
    choice_name = "answer"
    without_amount = (MerchantAnswer.Kind.NO_REFUND,)
    amount_help = _(
        "The order's total is %(total)s. A smaller amount is a partial refund, "
        "which the customer may refuse."
    )

    answer = forms.ChoiceField(
        label=_("Will you refund the customer?"),
        choices=MerchantAnswer.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose your answer.")},
    )
    amount = amount_field()
    message = message_field(
        _("Message to the customer"),
        _("Explain your answer. The customer and the platform read it."),
        _("Write a message to the customer."),
    )
    attachments = MultipleFileField(label=_("Evidence (optional)"), required=False)


class DecisionForm(RefundAmountForm):
    choice_name = "outcome"
    without_amount = (Decision.Outcome.NO_REFUND, Decision.Outcome.REPLACEMENT)

    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=Decision.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the decision.")},
    )
    amount = amount_field()
    destination = forms.ChoiceField(
        label=_("The refund goes"),
        required=False,
        choices=Decision.Destination.choices,
        widget=forms.RadioSelect,
    )
    reason = message_field(
        _("Reason"),
        _("Shown to the customer and to the merchant."),
        _("Write the reason for the decision."),
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        refund = cleaned.get("outcome") == Decision.Outcome.REFUND
        if refund and not cleaned.get("destination"):
            self.add_error("destination", _("Choose where the refund goes."))
        return cleaned


class DocumentsForm(forms.Form):
    parties = forms.MultipleChoiceField(
        label=_("Ask for documents from"),
        choices=DocumentRequest.Party.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose who should send documents.")},
    )
    message = message_field(
        _("Which documents, and why"),
        _("Read by the parties you ask, and by the platform."),
        _("Say which documents you need."),
    )
    due_date = forms.DateField(
        label=_("Due by"),
        help_text=_("The case comes back to review on that day if nothing came."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={
            "required": _("Choose the date."),
            "invalid": _("Choose a date such as 2026-03-15."),
        },
    )


class EvidenceForm(forms.Form):
    attachments = MultipleFileField(label=_("Files"), required=False)
    message = forms.CharField(
        label=_("Message (optional)"),
        required=False,
        max_length=MESSAGE_MAX_LENGTH,
        help_text=_("The customer and the platform read it with the files."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if not cleaned.get("attachments") and not cleaned.get("message", "").strip():
            self.add_error("attachments", _("Add a file or a message."))
        return cleaned
