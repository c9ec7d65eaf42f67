"""The demo project `make run` seeds is ready for a first campaign."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from audiences.models import Segment
from audiences.segments import count
from campaigns.models import Price
from channels.queries import default_sender, project_optout_number


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def test_the_demo_has_a_segment_of_consenting_users_a_sender_an_080_number_and_prices(db, data_dir):
    call_command("seed_demo", stdout=io.StringIO())
    segment = Segment.objects.get()
    assert count(segment.project, segment.definition) == 5
    assert segment.project.customers.filter(promotional_consent=True).count() == 5
    assert default_sender(segment.project) is not None
    assert project_optout_number(segment.project) is not None
    assert set(Price.objects.values_list("kind", flat=True)) == {"SMS", "LMS", "INTL"}
    assert (data_dir / "demo.json").exists()
