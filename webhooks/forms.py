"""The webhook URL form of the SMS settings page; the rules live in
webhooks.actions.validate_webhook_url."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.actions import URL_MAX_LENGTH, validate_webhook_url


class WebhookUrlForm(forms.Form):
    url = forms.CharField(
        label=_("Webhook URL"),
        max_length=URL_MAX_LENGTH,
        required=False,
        help_text=_(
            "Every addition to or removal from the opt-out list is POSTed here, signed. "
            "http:// or https:// only; redirects are not followed."
        ),
        widget=forms.URLInput(
            attrs={"placeholder": "https://example.com/munja-webhook", "autocomplete": "off"}
        ),
    )

    def clean_url(self) -> str:
        return validate_webhook_url(self.cleaned_data["url"])
