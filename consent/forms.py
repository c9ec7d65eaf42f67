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
