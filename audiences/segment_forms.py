"""The segment builder's form: a name and the definition as JSON (the
builder's script writes it; without script it can be edited by hand)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

EMPTY_DEFINITION: dict = {"match": "all", "conditions": []}


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    definition = forms.CharField(
        label=_("Definition (JSON)"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        required=False,
    )

    def clean_definition(self) -> Any:
        return parse_definition(self.cleaned_data["definition"])

    def add_action_errors(self, exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)


def parse_definition(raw: str) -> Any:
    """The JSON text as data; an empty text is the empty definition."""
    if not raw.strip():
        return dict(EMPTY_DEFINITION)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValidationError(
            _("The definition is not valid JSON (line %(line)d, column %(column)d): %(msg)s"),
            params={"line": exc.lineno, "column": exc.colno, "msg": exc.msg},
        ) from None
