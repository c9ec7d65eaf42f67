"""The consent page's notice settings: a switch and a text per notice kind."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class NoticeSettingsForm(forms.Form):
    result_enabled = forms.BooleanField(label=_("Send result notices"), required=False)
    reminder_enabled = forms.BooleanField(label=_("Send two-year reminders"), required=False)
    result_text = forms.CharField(
        label=_("Result notice text"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )
    reminder_text = forms.CharField(
        label=_("Reminder text"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )


class ConsentChangeForm(forms.Form):
    """A member changes a user's consents on the user's page."""

    promotional = forms.BooleanField(label=_("Promotional messages"), required=False)
    night = forms.BooleanField(label=_("Night-time messages (21:00–08:00)"), required=False)
