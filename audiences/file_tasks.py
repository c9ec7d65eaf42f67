"""Background validation of large audience files (django-q2).

The task takes the file's id and is safe to run twice (see
`do_validate_audience_file`): the database says what is done, the task is
only the trigger.
"""

from __future__ import annotations

from audiences.files.actions import do_validate_audience_file


def validate_audience_file(file_id: str) -> str:
    return do_validate_audience_file(file_id)
