"""The Channels page's list of recent test SMS. The page belongs to channels,
which may not read the send core; its template asks the test-SMS producer
(`campaigns.test_sends`) through this tag instead."""

from __future__ import annotations

from django import template

from campaigns.test_sends import TestSend, recent_test_sends
from projects.models import Project

register = template.Library()


@register.simple_tag
def recent_test_sms(project: Project, limit: int = 5) -> list[TestSend]:
    return recent_test_sends(project, limit)
