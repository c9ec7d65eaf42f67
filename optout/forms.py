"""Console forms for the opt-out list."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

# One number a line; commas and semicolons also separate (a pasted row of a
# spreadsheet). Spaces do not: "010 1234 5678" is one (national) number.
_SEPARATORS = re.compile(r"[\n\r,;]+")
MAX_CONSOLE_NUMBERS = 1000


class NumbersForm(forms.Form):
    numbers = forms.CharField(
        label=_("Phone numbers"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "+821012345678"}),
        help_text=_("E.164 (+ country code and number), one per line; up to 1,000 at a time."),
    )

    def clean_numbers(self) -> list[str]:
        numbers = [part.strip() for part in _SEPARATORS.split(self.cleaned_data["numbers"])]
        numbers = [number for number in numbers if number]
        if not numbers:
            raise forms.ValidationError(_("Enter at least one phone number."))
        if len(numbers) > MAX_CONSOLE_NUMBERS:
            raise forms.ValidationError(
                _("%(count)d numbers at once is too many; enter at most 1,000 or use the import.")
                % {"count": len(numbers)}
            )
        return numbers


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
        help_text=_(
            "csv (UTF-8) or xlsx whose first row names a phoneNumber column; "
            "numbers in E.164, e.g. +821012345678."
        ),
    )


class PolicyForm(forms.Form):
    applies_to_all_messages = forms.BooleanField(
        label=_("Apply the opt-out list to every message, not only promotional ones"),
        required=False,
    )
