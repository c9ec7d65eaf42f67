"""The compose screen's forms, one per step, and the test-number form."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import lru_cache
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audiences.models import AudienceFile, Segment
from campaigns.compose import local_time_to_utc
from channels.actions import phone_error
from channels.models import SenderNumber
from dispatch.checks import title_problem
from projects.models import Project


@lru_cache(maxsize=1)
def time_zone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


class AudienceForm(forms.Form):
    """Name and audience: one choice among the project's segments and its
    valid audience files, as `segment:<id>` or `file:<uuid>`."""

    name = forms.CharField(label=gettext_lazy("Campaign name"), max_length=200)
    audience = forms.ChoiceField(label=gettext_lazy("Audience"), required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.segments = {str(s.pk): s for s in Segment.objects.filter(project=project)}
        self.files = {
            str(f.pk): f
            for f in AudienceFile.objects.filter(
                project=project, status=AudienceFile.Status.VALID
            ).order_by("-created_at")
        }
        self.fields["audience"].choices = [
            ("", _("Choose an audience…")),
            (
                _("Segments"),
                [(f"segment:{pk}", s.name) for pk, s in self.segments.items()],
            ),
            (
                _("Audience files"),
                [
                    (f"file:{pk}", _("%(name)s (%(rows)s rows)") % {"name": f.name, "rows": f.rows})
                    for pk, f in self.files.items()
                ],
            ),
        ]

    def chosen(self) -> tuple[Segment | None, AudienceFile | None]:
        kind, _sep, key = self.cleaned_data["audience"].partition(":")
        if kind == "segment":
            return self.segments[key], None
        if kind == "file":
            return None, self.files[key]
        return None, None


class ContentForm(forms.Form):
    sender_number = forms.ModelChoiceField(
        label=gettext_lazy("Sender number"),
        queryset=SenderNumber.objects.none(),
        required=False,
        empty_label=None,
    )
    is_promotional = forms.BooleanField(label=gettext_lazy("Promotional message"), required=False)
    file_consent_confirmed = forms.BooleanField(
        label=gettext_lazy("Every number in this file consented to promotional messages"),
        required=False,
    )
    title = forms.CharField(label=gettext_lazy("Title (LMS)"), max_length=100, required=False)
    body = forms.CharField(
        label=gettext_lazy("Message (Liquid)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, senders: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sender_number"].queryset = senders

    def clean_body(self) -> str:
        # A browser submits a textarea's line breaks as CRLF (HTML form
        # encoding), though the person typed one line break: store LF, as the
        # live preview (htmx sends the textarea's LF value) and the byte
        # count see it. Liquid keeps whatever line breaks a body holds.
        return self.cleaned_data["body"].replace("\r\n", "\n").replace("\r", "\n")

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        problem = title_problem(title)
        if problem:
            raise forms.ValidationError(problem)
        return title


class TestNumberForm(forms.Form):
    phone_number = forms.CharField(label=gettext_lazy("Phone number"), max_length=20)
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)

    __test__ = False  # not a pytest test class, despite its name

    def clean_phone_number(self) -> str:
        value = self.cleaned_data["phone_number"].strip()
        error = phone_error(value)
        if error:
            raise forms.ValidationError(error)
        return value


class TimingForm(forms.Form):
    when = forms.ChoiceField(
        label=gettext_lazy("When"),
        choices=[("now", gettext_lazy("Send now")), ("later", gettext_lazy("Schedule"))],
        widget=forms.RadioSelect,
        initial="now",
    )
    send_at = forms.DateTimeField(
        label=gettext_lazy("Date and time"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
    )
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in time_zone_names()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["at"] = None
        if data.get("when") != "later" or "time_zone" not in data:
            return data
        local: datetime | None = data.get("send_at")
        if local is None:
            if "send_at" not in self.errors:
                self.add_error("send_at", _("Choose the date and time to send at."))
            return data
        try:
            at = local_time_to_utc(local, data["time_zone"])
        except ValueError:
            self.add_error(
                "send_at",
                _("%(time)s does not exist in %(zone)s (the clocks skip it).")
                % {"time": f"{local:%Y-%m-%d %H:%M}", "zone": data["time_zone"]},
            )
            return data
        if at <= timezone.now():
            self.add_error("send_at", _("The time must be in the future."))
            return data
        data["at"] = at
        return data
