"""Bulk inserts and the stored JSON of file rows: the fast paths give what
the plain ones give."""

from __future__ import annotations

import json

from django.db import connection, transaction
from hypothesis import example, given
from hypothesis import strategies as st

from audiences.files.validation import _encode_values
from dispatch.actions import _insert
from dispatch.models import Message
from tests.support.campaigns import phone, segment_campaign, sending_project


@given(st.lists(st.text(), max_size=6))
@example([])
@example([""])
@example(['say "hi"', "back\\slash", "line\nbreak", "\x1f", "쿠폰 ①"])
def test_file_row_values_are_the_json_a_plain_dump_writes(cells):
    expected = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
    assert _encode_values(cells) == expected
    assert json.loads(_encode_values(cells)) == cells


def test_insert_rows_inserts_every_row_across_statements_and_counts_only_new_ones(db):
    project = sending_project()
    campaign = segment_campaign(project)
    project_id = Message._meta.get_field("project").get_db_prep_value(project.pk, connection)
    rows = [
        (
            campaign.outbox_id,
            phone(i)[1:],
            project_id,
            None,
            phone(i),
            "",
            "body",
            "",
            "SMS",
            4,
            "queued",
            "",
            "",
            0,
            "",
            "",
            "",
        )
        for i in range(1202)
    ]
    with transaction.atomic():
        assert _insert(rows) == 1202
        # Recipients already there are ignored, across statement boundaries.
        assert _insert(rows[:10] + rows[600:602] + rows[-5:]) == 0
    assert Message.objects.filter(outbox_id=campaign.outbox_id).count() == 1202
