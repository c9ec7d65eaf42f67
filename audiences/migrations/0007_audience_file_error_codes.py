"""Audience-file errors were stored as sentences in the language of the
worker that validated the file; they are now a code and its parameters,
worded when read (audiences.files.messages). This converts the stored
errors it can: every code whose message needs nothing but the row and column,
and the English sentences of the others (phone-number messages were always
English). Any other error keeps its `message`, which is still shown."""

import re

from django.db import migrations

# Codes whose message needs no parameter beyond the row and column.
_WITHOUT_PARAMS = {
    "header_missing",
    "header_empty",
    "cell_without_header",
    "no_rows",
    "phone_missing",
    "phone_column_position",
}

_ENGLISH = [
    ("phone_not_e164", r"'(?P<value>.*)' is not in E\.164 format: only digits may follow the \+\.",
     {"not_digits": True}),
    ("phone_not_e164",
     r"'(?P<value>.*)' is not in E\.164 format \(\+ country code and number\)\."
     r"(?: Write it as (?P<suggestion>\S+)\.)?", {}),
    ("phone_invalid", r"'(?P<value>.*)' is not a (?:valid )?phone number\.", {}),
    ("phone_duplicate", r"(?P<phone>\S+) is already on row (?P<first>\d+)\.", {}),
    ("header_duplicate",
     r"Column \d+ repeats the name '(?P<name>.*)' of column (?P<first>\d+)\.", {}),
    ("too_many_rows", r"The file has more than (?P<limit>[\d,]+) rows; .*", {}),
    ("file_empty", r"The file is empty\.", {}),
    ("file_empty", r"The file has no rows\.", {"what": "no_rows"}),
    ("file_empty", r"The workbook has no sheet\.", {"what": "no_sheet"}),
]  # fmt: skip
_INTEGERS = {"first", "limit"}


def parse_legacy(code, message):
    """The parameters of a stored error, or None when they cannot be told."""
    if code in _WITHOUT_PARAMS:
        return {}
    for candidate, pattern, fixed in _ENGLISH:
        if candidate != code:
            continue
        match = re.fullmatch(pattern, message or "", re.DOTALL)
        if match:
            params = {k: v for k, v in match.groupdict().items() if v is not None}
            for name in _INTEGERS & params.keys():
                params[name] = int(params[name].replace(",", ""))
            return {**params, **fixed}
    return None


def convert_errors(apps, schema_editor):
    AudienceFile = apps.get_model("audiences", "AudienceFile")
    files = AudienceFile.objects.exclude(errors=[]).only("pk", "errors")
    for audience_file in files.iterator(chunk_size=100):
        changed = False
        errors = []
        for error in audience_file.errors:
            if "params" not in error:
                params = parse_legacy(error.get("code"), error.get("message"))
                if params is not None:
                    error = {k: v for k, v in error.items() if k != "message"}
                    error["params"] = params
                    changed = True
            errors.append(error)
        if changed:
            AudienceFile.objects.filter(pk=audience_file.pk).update(errors=errors)


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0006_paging_indexes"),
    ]

    operations = [
        migrations.RunPython(convert_errors, migrations.RunPython.noop),
    ]
