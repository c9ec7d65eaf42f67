"""Properties of the notice schedule for any sequence of consent changes and
any clock (Art. 50 ⑦ ⑧): every change is followed by exactly one pending
result notice due within 14 days (changes before it goes are combined into
it), and no consenting user passes the date their two-year reminder is due
without one scheduled (or its impossibility recorded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiences.actions import do_track
from audiences.models import Customer
from audiences.track import parse_track
from consent.actions import do_schedule_reminders
from consent.models import Notice
from consent.schedule import RESULT_DEADLINE, reminder_due_at
from optout.actions import do_opt_in, do_opt_out
from optout.models import Source as OptOutSource
from projects.models import Project

checked = settings(
    database=None,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
START = datetime(2025, 1, 1, tzinfo=UTC)
PHONE = "+821012345678"

steps = st.lists(
    st.tuples(
        # How far the clock moves first: minutes to three years.
        st.one_of(
            st.integers(0, 60 * 24).map(lambda m: timedelta(minutes=m)),
            st.integers(0, 3 * 365).map(lambda d: timedelta(days=d)),
        ),
        st.one_of(
            st.tuples(st.sampled_from(["promotional", "night", "optout"]), st.booleans()),
            st.just(("send", None)),
        ),
    ),
    min_size=1,
    max_size=12,
)


def send_due(project: Project, now: datetime) -> None:
    """What the send core will do: every due notice whose time came is sent."""
    Notice.objects.filter(project=project, state="due", superseded=False, due_at__lte=now).update(
        state="sent", sent_at=now
    )


def change(project: Project, what: str, value: bool, now: datetime) -> None:
    if what == "optout":
        action = do_opt_out if value else do_opt_in
        # The opt-out list stamps its changes with the wall clock: move it to ours.
        with patch("optout.actions.timezone.now", return_value=now):
            action(project, [PHONE], OptOutSource.API)
        return
    key = {"promotional": "promotionalConsent", "night": "nightConsent"}[what]
    batch = parse_track({"userAttributes": [{"userId": "u", key: value}]}, now)
    do_track(project, batch, now)


@pytest.mark.django_db
@checked
@given(
    steps=steps,
    zone=st.sampled_from(["Asia/Seoul", "America/Los_Angeles", "Pacific/Apia", ""]),
    phone=st.booleans(),
)
def test_every_change_gets_one_pending_notice_and_no_consent_goes_unreminded(steps, zone, phone):
    with transaction.atomic():
        project = Project.objects.create(name="P", company_name="P Ltd")
        customer = Customer.objects.create(
            project=project, user_id="u", phone_number=PHONE if phone else "", time_zone=zone
        )
        now = START
        # When the changes since the last sent result notice began.
        first_unnotified: datetime | None = None
        for advance, (what, value) in steps:
            now += advance
            if what == "send":
                send_due(project, now)
                if not Notice.objects.filter(
                    customer=customer, kind="result", superseded=False, state="due"
                ).exists():
                    first_unnotified = None
            else:
                before = Notice.objects.filter(customer=customer).count()
                customer.refresh_from_db()
                if what == "optout":
                    was = Customer.objects.filter(pk=customer.pk).exists() and bool(
                        project.optouts.filter(phone_number=PHONE).exists()
                    )
                else:
                    was = getattr(customer, f"{what}_consent")
                change(project, what, value, now)
                if was != value and (what != "optout" or phone):
                    first_unnotified = first_unnotified or now
                    pending = Notice.objects.filter(
                        customer=customer, kind="result", superseded=False
                    ).exclude(state="sent")
                    assert pending.count() == 1
                    notice = pending.get()
                    assert notice.facts["changes"][what] is value
                    if phone:
                        assert notice.state == "due"
                        assert notice.due_at <= first_unnotified + RESULT_DEADLINE
                        assert notice.due_at > first_unnotified
                    else:
                        assert (notice.state, notice.reason) == ("impossible", "no_phone_number")
                else:
                    assert Notice.objects.filter(customer=customer).count() == before
            # The daily scheduler, run at this moment for the day ahead.
            until = now + timedelta(days=1)
            do_schedule_reminders(project, until, now)
            customer.refresh_from_db()
            if customer.promotional_consent:
                last = (
                    Notice.objects.filter(customer=customer, kind="reminder", state="sent")
                    .order_by("-sent_at")
                    .first()
                )
                anchor = customer.promotional_consent_at
                if last is not None and last.sent_at > anchor:
                    anchor = last.sent_at
                if reminder_due_at(anchor, zone, now) <= until:
                    reminder = Notice.objects.get(
                        customer=customer,
                        kind="reminder",
                        superseded=False,
                        state__in=["due", "impossible"],
                    )
                    assert reminder.facts["anchorAt"] == anchor.isoformat()
                    assert (
                        reminder.facts["consentAt"] == customer.promotional_consent_at.isoformat()
                    )
                    expected = "due" if phone else "impossible"
                    assert reminder.state == expected
        transaction.set_rollback(True)
