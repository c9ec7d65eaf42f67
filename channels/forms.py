"""Console forms for the Channels page. They collect input; the checks that
matter (E.164, documents, duplicates, approved senders) live in the actions,
whose errors are put back on these fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from channels.actions import DOCUMENT_FIELDS
from channels.models import SenderNumber
from channels.uploads import ACCEPT_ATTRIBUTE, ALLOWED_TYPES_TEXT


def _document_field(label: str, help_text: str) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}),
    )


class ActionErrorsMixin:
    """Put an action's ValidationError(dict) back onto the form's fields."""

    def add_action_errors(self, error: ValidationError) -> None:
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(None if field == NON_FIELD_ERRORS else target, message)


class SenderNumberForm(ActionErrorsMixin, forms.Form):
    # Fields are optional here so that the action reports every problem at once.

    number = forms.CharField(
        label=_("Sender number"),
        max_length=20,
        required=False,
        help_text=_("In E.164 format, e.g. +8225551234 for 02-555-1234."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    owner_type = forms.ChoiceField(
        label=_("Owner"),
        choices=SenderNumber.OwnerType.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    owner_name = forms.CharField(label=_("Owner name"), max_length=100, required=False)
    is_company_number = forms.BooleanField(
        label=_("This is the company's own number"), required=False, initial=True
    )
    label = forms.CharField(label=_("Label"), max_length=100, required=False)
    telecom_certificate = _document_field(
        _("Telecom subscription certificate"), _("Always required.")
    )
    business_registration = _document_field(
        _("Business registration certificate"), _("Required when the owner is a company.")
    )
    employment_certificate = _document_field(
        _("Employment certificate"),
        _("One of these two is required when the number is not the company's own."),
    )
    power_of_attorney = _document_field(_("Power of attorney"), "")

    def documents(self) -> list[tuple[str, object]]:
        field_to_kind = {field: kind for kind, field in DOCUMENT_FIELDS.items()}
        return [
            (field_to_kind[field], upload)
            for field, upload in self.files.items()
            if field in field_to_kind and upload
        ]

    @staticmethod
    def allowed_types() -> str:
        return ALLOWED_TYPES_TEXT


class TestSmsForm(ActionErrorsMixin, forms.Form):
    # A plain field with a select widget: a number that is not offered still
    # reaches the action, which says why it may not send.
    sender_number = forms.CharField(label=_("From"), widget=forms.Select, required=False)
    to = forms.CharField(
        label=_("To"),
        max_length=20,
        required=False,
        help_text=_("In E.164 format, e.g. +821012345678."),
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: object, senders: list[SenderNumber], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Only approved numbers are offered; the action checks again on send.
        self.fields["sender_number"].widget.choices = [
            (str(s.pk), f"{s.display_number} {s.label}".strip()) for s in senders
        ]
