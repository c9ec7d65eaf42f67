"""The notice schedule: result notices after a consent change (Art. 50 ⑦),
two-year reminders (⑧), impossibilities, and the day's selection. Nothing is
sent yet: these are the rows the send core will take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from audiences.actions import do_track
from audiences.models import Customer
from audiences.track import parse_track
from consent.actions import do_schedule_reminders
from consent.models import Notice
from consent.queries import due_notices
from consent.schedule import next_notice_time, reminder_due_at
from optout.actions import do_opt_out
from optout.models import Source as OptOutSource

SEOUL = ZoneInfo("Asia/Seoul")


def set_attributes(project, now, user_id="u1", **fields):
    do_track(project, parse_track({"userAttributes": [{"userId": user_id, **fields}]}, now), now)


def open_results(customer):
    return list(
        Notice.objects.filter(customer=customer, kind="result", superseded=False).exclude(
            state="sent"
        )
    )


def test_the_next_notice_time_is_the_next_10_in_the_users_zone():
    evening = datetime(2026, 3, 2, 22, 30, tzinfo=SEOUL)
    assert next_notice_time(evening, "Asia/Seoul") == datetime(2026, 3, 3, 10, tzinfo=SEOUL)
    morning = datetime(2026, 3, 2, 9, 59, tzinfo=SEOUL)
    assert next_notice_time(morning, "") == datetime(2026, 3, 2, 10, tzinfo=SEOUL)
    new_york = next_notice_time(evening, "America/New_York")
    assert new_york.astimezone(ZoneInfo("America/New_York")).hour == 10


def test_a_reminder_is_due_30_days_before_the_second_anniversary_at_10():
    consent = datetime(2024, 6, 15, 14, 0, tzinfo=SEOUL)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert reminder_due_at(consent, "Asia/Seoul", now) == datetime(2026, 5, 16, 10, tzinfo=SEOUL)
    leap = datetime(2024, 2, 29, 12, tzinfo=SEOUL)
    assert reminder_due_at(leap, "", now) == datetime(2026, 1, 29, 10, tzinfo=SEOUL)
    # Already past (old consent, late scheduler): as soon as the next 10:00.
    late = datetime(2026, 6, 1, 12, tzinfo=SEOUL)
    assert reminder_due_at(consent, "Asia/Seoul", late) == datetime(2026, 6, 2, 10, tzinfo=SEOUL)


def test_a_consent_change_schedules_one_result_notice_the_next_morning(world):
    now = datetime(2026, 3, 2, 22, 30, tzinfo=SEOUL)
    set_attributes(world.acme, now, phoneNumber="+821012345678", promotionalConsent=True)
    customer = Customer.objects.get(user_id="u1")
    (notice,) = open_results(customer)
    assert notice.state == "due"
    assert notice.due_at == datetime(2026, 3, 3, 10, tzinfo=SEOUL)
    assert notice.facts["changes"] == {"promotional": True}
    assert notice.facts["consentAt"] == now.astimezone(UTC).isoformat()


def test_changes_that_cancel_each_other_give_one_notice_of_the_final_state(world):
    now = datetime(2026, 3, 2, 11, 0, tzinfo=SEOUL)
    set_attributes(world.acme, now, phoneNumber="+821012345678", promotionalConsent=True)
    later = now + timedelta(hours=20)  # the next morning, before 10:00
    set_attributes(world.acme, later, promotionalConsent=False, nightConsent=True)
    customer = Customer.objects.get(user_id="u1")
    (notice,) = open_results(customer)
    assert notice.facts["changes"] == {"promotional": False, "night": True}
    # The first change's due time holds: the 14 days run from it.
    assert notice.due_at == datetime(2026, 3, 3, 10, tzinfo=SEOUL)
    assert Notice.objects.filter(customer=customer, superseded=True).count() == 1


def test_a_sent_notice_is_not_combined_with_a_later_change(world):
    now = datetime(2026, 3, 2, 11, 0, tzinfo=SEOUL)
    set_attributes(world.acme, now, phoneNumber="+821012345678", promotionalConsent=True)
    Notice.objects.update(state="sent", sent_at=now + timedelta(days=1))
    set_attributes(world.acme, now + timedelta(days=3), promotionalConsent=False)
    customer = Customer.objects.get(user_id="u1")
    (notice,) = open_results(customer)
    assert notice.facts["changes"] == {"promotional": False}
    assert notice.due_at == datetime(2026, 3, 6, 10, tzinfo=SEOUL)


def test_a_user_without_a_phone_number_gets_an_impossible_notice_with_the_reason(world):
    now = datetime(2026, 3, 2, 11, 0, tzinfo=SEOUL)
    set_attributes(world.acme, now, promotionalConsent=True)
    Customer.objects.create(project=world.acme, user_id="bad", phone_number="01012345678")
    do_opt_out(world.acme, ["01012345678"], OptOutSource.API)  # refused: not E.164
    (notice,) = Notice.objects.all()
    assert (notice.state, notice.reason) == ("impossible", "no_phone_number")
    assert list(due_notices(world.acme, now + timedelta(days=30))) == []


def test_an_invalid_stored_number_makes_the_reminder_impossible(world):
    consent = datetime(2024, 3, 1, tzinfo=UTC)
    Customer.objects.create(
        project=world.acme,
        user_id="bad",
        phone_number="010-1234",
        promotional_consent=True,
        promotional_consent_at=consent,
    )
    now = datetime(2026, 2, 1, tzinfo=UTC)
    assert do_schedule_reminders(world.acme, now + timedelta(days=1), now) == 1
    (notice,) = Notice.objects.all()
    assert (notice.kind, notice.state, notice.reason) == (
        "reminder",
        "impossible",
        "invalid_phone_number",
    )


def test_an_optout_schedules_a_result_notice_for_the_known_user(world):
    Customer.objects.create(project=world.acme, user_id="k", phone_number="+821011112222")
    do_opt_out(world.acme, ["+821011112222"], OptOutSource.CALL_080)
    (notice,) = Notice.objects.all()
    assert notice.kind == "result" and notice.state == "due"
    assert notice.facts["changes"] == {"optout": True}


def test_reminders_are_scheduled_once_and_selected_on_their_day(world):
    consent = datetime(2024, 6, 15, 5, 0, tzinfo=UTC)
    for i in range(3):
        Customer.objects.create(
            project=world.acme,
            user_id=f"c{i}",
            phone_number=f"+82101234567{i}",
            promotional_consent=True,
            promotional_consent_at=consent + timedelta(days=i * 200),
        )
    Customer.objects.create(project=world.acme, user_id="no", phone_number="+821099990000")
    now = datetime(2026, 5, 16, 0, 0, tzinfo=UTC)
    end_of_day = now + timedelta(days=1)
    assert do_schedule_reminders(world.acme, end_of_day, now) == 1
    assert do_schedule_reminders(world.acme, end_of_day, now) == 0  # safe to run again
    (notice,) = due_notices(world.acme, end_of_day)
    assert notice.customer.user_id == "c0"
    assert notice.due_at == datetime(2026, 5, 16, 10, tzinfo=SEOUL)
    assert notice.facts["consentAt"] == consent.isoformat()
    assert list(due_notices(world.acme, end_of_day, kinds=["result"])) == []


def test_the_next_reminder_counts_from_the_last_one_sent(world):
    consent = datetime(2024, 6, 15, 5, 0, tzinfo=UTC)
    Customer.objects.create(
        project=world.acme,
        user_id="c",
        phone_number="+821012345670",
        promotional_consent=True,
        promotional_consent_at=consent,
    )
    now = datetime(2026, 5, 16, 0, 0, tzinfo=UTC)
    do_schedule_reminders(world.acme, now + timedelta(days=1), now)
    sent_at = datetime(2026, 5, 16, 1, 0, tzinfo=UTC)
    Notice.objects.update(state="sent", sent_at=sent_at)
    assert do_schedule_reminders(world.acme, now + timedelta(days=400), now) == 0
    later = datetime(2028, 4, 16, tzinfo=UTC)  # due 2028-04-16 10:00 in Seoul
    assert do_schedule_reminders(world.acme, later + timedelta(days=1), later) == 1
    notice = Notice.objects.get(state="due")
    assert notice.facts["anchorAt"] == sent_at.isoformat()
    assert notice.facts["consentAt"] == consent.isoformat()


def test_withdrawing_consent_supersedes_the_open_reminder(world):
    consent = datetime(2024, 6, 15, 5, 0, tzinfo=UTC)
    Customer.objects.create(
        project=world.acme,
        user_id="u1",
        phone_number="+821012345670",
        promotional_consent=True,
        promotional_consent_at=consent,
    )
    now = datetime(2026, 5, 16, 0, 0, tzinfo=UTC)
    do_schedule_reminders(world.acme, now + timedelta(days=1), now)
    set_attributes(world.acme, now, promotionalConsent=False)
    reminder = Notice.objects.get(kind="reminder")
    assert reminder.superseded and reminder.reason == "consent_withdrawn"
    assert [n.kind for n in due_notices(world.acme, now + timedelta(days=2))] == ["result"]


def test_the_daily_task_schedules_reminders_only_where_they_are_switched_on(world):
    from django.utils import timezone
    from django_q.models import Schedule

    from consent.models import NoticeSettings
    from consent.tasks import schedule_reminders

    assert Schedule.objects.get(name="consent.schedule_reminders").func == (
        "consent.tasks.schedule_reminders"
    )
    old = timezone.now() - timedelta(days=800)
    for project in (world.acme, world.bolt):
        Customer.objects.create(
            project=project,
            user_id="c",
            phone_number="+821012345670",
            promotional_consent=True,
            promotional_consent_at=old,
        )
    NoticeSettings.objects.create(project=world.acme, reminder_enabled=True)
    # Bolt has no 080 number and no settings: its notices are off by default.
    assert schedule_reminders() == {str(world.acme.pk): 1}
    assert schedule_reminders() == {str(world.acme.pk): 0}


def test_an_impossible_reminder_is_replaced_once_the_user_has_a_valid_number(world):
    consent = datetime(2024, 3, 1, tzinfo=UTC)
    customer = Customer.objects.create(
        project=world.acme,
        user_id="later",
        promotional_consent=True,
        promotional_consent_at=consent,
    )
    now = datetime(2026, 2, 1, tzinfo=UTC)
    do_schedule_reminders(world.acme, now + timedelta(days=1), now)
    assert do_schedule_reminders(world.acme, now + timedelta(days=1), now) == 0
    customer.phone_number = "+821012345678"
    customer.save()
    assert do_schedule_reminders(world.acme, now + timedelta(days=1), now) == 1
    (reminder,) = Notice.objects.filter(customer=customer, superseded=False)
    assert reminder.state == "due"
    old = Notice.objects.get(customer=customer, superseded=True)
    assert (old.state, old.reason) == ("impossible", "no_phone_number")
