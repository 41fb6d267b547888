"""Forms of the customer pages: they parse what was typed; the domain judges it."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from recours.cases.intake import DESCRIPTION_MAX_LENGTH
from recours.cases.models import ContactChannel, PaymentStarted, Problem

ACCEPTED_FILES = (
    ".pdf,.png,.jpg,.jpeg,.webp,application/pdf,image/png,image/jpeg,image/webp"
)

# Where a domain error names a field by its Report name, the form calls it this.
FIELD_BY_REPORT_NAME = {"terminal_code": "terminal", "files": "attachments"}


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; their content is checked by cases.evidence."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED_FILES}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, list | tuple) else [data]
        return [
            super(MultipleFileField, self).clean(one, initial) for one in uploads if one
        ]


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input: the wall-clock time where the operator is
    (settings.TIME_ZONE), whatever time zone is active, returned in UTC."""

    # What a datetime-local input sends; typed text where a browser has no
    # date picker.
    input_formats = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d/%m/%Y %H:%M",
    ]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "widget",
            forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        # The parent would read it in the active time zone; the customer
        # means the local time of the kiosks and shops.
        where = ZoneInfo(settings.TIME_ZONE)
        for input_format in self.input_formats:
            try:
                local = datetime.strptime(str(value).strip(), input_format).replace(
                    tzinfo=where
                )
            except ValueError:
                continue
            return local.astimezone(UTC)
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class OpenChoiceField(forms.ChoiceField):
    """Radio buttons whose value the domain judges: a choice that was open
    when the page was drawn and is not any more gets the domain's message
    ("no longer open, reload the page"), not "select a valid choice"."""

    def valid_value(self, value: str) -> bool:
        return True


def counted_textarea(rows: int) -> forms.Textarea:
    """A text area whose characters report.js counts against the domain's
    limit as the customer types (no maxlength: it would cut a paste silently)."""
    return forms.Textarea(
        attrs={
            "rows": rows,
            "data-max-length": DESCRIPTION_MAX_LENGTH,
            # report.js fills in {count}, {max} and {over}.
            "data-count-text": _("{count} of {max} characters"),
            "data-over-text": _("{count} of {max} characters: {over} too many"),
        }
    )


class PortalForm(forms.Form):
    # Errors about a group of fields (e.g. "give at least one identifier") are
    # shown beside the group: name -> (id of the group's element, its last field).
    groups: dict[str, tuple[str, str]] = {}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: dict[str, list[str]] = {}

    def add_domain_errors(self, fields: dict[str, list[str]]) -> None:
        """Show a domain action's InvalidInput messages next to the fields they name."""
        for name, messages in fields.items():
            name = FIELD_BY_REPORT_NAME.get(name, name)
            if name in self.errors:
                continue  # the form already said what is wrong with it
            if name in self.fields:
                for message in messages:
                    self.add_error(name, message)
            else:
                self.group_errors.setdefault(name, []).extend(messages)

    def error_summary(self) -> list[tuple[str, object]]:
        """(anchor, message) for every error, in the order of the page."""
        summary: list[tuple[str, object]] = [
            ("#main", m) for m in self.non_field_errors()
        ]
        for name, messages in self.group_errors.items():
            if name not in self.groups:
                summary += [("#main", message) for message in messages]
        for field in self:
            anchor = field.auto_id
            if isinstance(field.field.widget, forms.RadioSelect):
                anchor += "_0"
            summary += [(f"#{anchor}", message) for message in field.errors]
            for name, (group_id, last_field) in self.groups.items():
                if last_field == field.name:
                    messages = self.group_errors.get(name, [])
                    summary += [(f"#{group_id}", message) for message in messages]
        return summary


class TerminalSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    terminal = forms.CharField(required=False, max_length=30)


class ReportForm(PortalForm):
    groups = {"identifier": ("identify", "invoice_reference")}

    terminal = forms.CharField(required=False, max_length=30)
    order_reference = forms.CharField(
        label=_("Order or transaction reference"),
        required=False,
        max_length=40,
        help_text=_(
            "If you ordered online, the reference on your order confirmation; "
            "for a transaction, its reference in your account."
        ),
    )
    payment_started = forms.ChoiceField(
        label=_("Did the payment start?"),
        choices=PaymentStarted.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    customer_number = forms.CharField(
        label=_("Customer number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    invoice_reference = forms.CharField(
        label=_("Invoice reference"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    problem = forms.ChoiceField(
        label=_("What happened?"),
        choices=Problem.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what happened.")},
    )
    # Only for a missing item or a transaction in a wrong state (seed 000): the
    # technical team needs the item, the transaction and the moment.
    item_number = forms.CharField(
        label=_("Item number"),
        required=False,
        max_length=60,
        help_text=_("As shown in your portfolio or on the certificate."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
    happened_at = LocalDateTimeField(
        label=_("When did it happen?"),
        required=False,
        help_text=_("Date and time, as closely as you know them."),
        error_messages={
            "invalid": _("Give the date and the time, for example 27/02/2026 14:05.")
        },
    )
    # No max_length: a browser's maxlength cuts a pasted comment silently. The
    # domain says how long it is; report.js counts as the customer types.
    description = forms.CharField(
        label=_("Your comment"),
        required=False,
        help_text=_(
            "Date and time, amount, what the screen showed: anything that helps."
        ),
        widget=counted_textarea(rows=5),
    )
    attachments = MultipleFileField(
        label=_("Attachments (optional)"),
        required=False,
        help_text=_("Photos or scans: PDF, PNG, JPEG or WebP, 10 MB each, 5 at most."),
    )
    contact_channel = forms.ChoiceField(
        label=_("How should we contact you?"),
        choices=ContactChannel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose SMS or e-mail.")},
    )
    contact_phone = forms.CharField(
        label=_("Mobile number for SMS"),
        required=False,
        max_length=30,
        help_text=_(
            "If you chose SMS. Leave empty to use the phone number given above."
        ),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    contact_email = forms.CharField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        help_text=_("If you chose e-mail."),
        widget=forms.TextInput(attrs={"type": "email", "autocomplete": "email"}),
    )


class ReferenceForm(PortalForm):
    reference = forms.CharField(
        label=_("Case reference"),
        max_length=40,
        help_text=_("As written in the acknowledgement, for example RC-7KQ4-M9XP."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": _("Type the reference of your case.")},
    )


class CodeForm(PortalForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        help_text=_("The 6 digits we sent you."),
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}
        ),
        error_messages={"required": _("Type the code we sent you.")},
    )


class MessageForm(PortalForm):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a message first.")},
    )


class RespondForm(PortalForm):
    """The customer's answer to a claim: one of the options that fit it now."""

    option = OpenChoiceField(
        label=_("Your answer"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one of the answers.")},
    )
    message = forms.CharField(
        label=_("Your message (optional)"),
        required=False,
        widget=counted_textarea(rows=3),
    )
    attachments = MultipleFileField(
        label=_("Documents (optional)"),
        required=False,
        help_text=_("PDF, PNG, JPEG or WebP, 10 MB each, 5 at most."),
    )

    def __init__(self, options: list[tuple[str, str]], *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "respond")
        super().__init__(*args, **kwargs)
        option = self.fields["option"]
        assert isinstance(option, forms.ChoiceField)
        option.choices = options


class EvidenceForm(PortalForm):
    """Files (and a word) the customer adds to an open case after intake."""

    attachments = MultipleFileField(
        label=_("Documents"),
        required=False,
        help_text=_("PDF, PNG, JPEG or WebP, 10 MB each, 5 at most."),
    )
    message = forms.CharField(
        label=_("A few words about them (optional)"),
        required=False,
        widget=counted_textarea(rows=2),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("prefix", "evidence")
        super().__init__(*args, **kwargs)


class CustomerNumberForm(PortalForm):
    customer_number = forms.CharField(
        label=_("Customer number"),
        max_length=40,
        help_text=_("As written on your invoices and in your account."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": _("Type your customer number.")},
    )


class ProtectionForm(PortalForm):
    """The buyer-protection feedback form of the reminder's link (seed 004):
    all went well, one of the three claims, or another request."""

    CONFIRMED = "confirmed"
    OTHER = "other"
    CLAIMS = (
        Problem.NOT_RECEIVED,
        Problem.REFUND_NOT_RECEIVED,
        Problem.MERCHANT_CLOSED,
    )

    option = forms.ChoiceField(
        label=_("How did your order go?"),
        choices=[
            (CONFIRMED, _("All went well: I want to end my buyer protection.")),
            (Problem.NOT_RECEIVED, _("I did not receive my order.")),
            (
                Problem.REFUND_NOT_RECEIVED,
                _("I did not receive my refund after a cancellation."),
            ),
            (Problem.MERCHANT_CLOSED, _("The shop has gone out of business.")),
            (OTHER, _("I have another request.")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one answer.")},
    )
    description = forms.CharField(
        label=_("Describe what happened"),
        required=False,
        help_text=_(
            "Not needed if all went well. Otherwise: what you ordered, what you "
            "were told, the dates."
        ),
        widget=counted_textarea(rows=5),
    )
    attachments = MultipleFileField(
        label=_("Documents (optional)"),
        required=False,
        help_text=_(
            "The order confirmation, a cancellation or a message from the shop: "
            "PDF, PNG, JPEG or WebP, 10 MB each, 5 at most."
        ),
    )

    def clean(self) -> dict | None:
        data = super().clean() or {}
        chosen = data.get("option")
        if chosen and chosen != self.CONFIRMED and not data.get("description"):
            self.add_error("description", _("Tell us in a few words what happened."))
        return data
