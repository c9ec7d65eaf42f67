"""Property: for any body, audience and clock time, a promotional message as
dispatched starts with (광고) and the company name, ends with the opt-out
line, never goes to an opted-out number, never leaves between 21:00 and 08:00
in the recipient's zone without night-time consent, never from an
unapproved number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from audiences.models import Customer
from campaigns.materialise import materialise_chunk
from campaigns.models import Campaign
from channels.gateways import console as console_backend
from channels.models import Gateway, SenderNumber
from dispatch import pipeline
from dispatch.models import Message
from optout.actions import do_opt_out
from tests.support.campaigns import add_customers, phone, segment_campaign, sending_project

ZONES = ["Asia/Seoul", "America/New_York", "Europe/London", ""]
bodies = (
    st.lists(
        st.sampled_from([*"가나다라 abcXYZ012.,!{}", "{{ name }}", "{{ userId }}", "똠햏"]),
        min_size=1,
        max_size=60,
    )
    .map("".join)
    .filter(str.strip)
)


class Rollback(Exception):
    pass


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=bodies,
    minutes=st.integers(min_value=0, max_value=7 * 24 * 60),
    opted_out=st.sets(st.integers(min_value=0, max_value=5)),
    zones=st.lists(st.sampled_from(ZONES), min_size=6, max_size=6),
    consents=st.lists(st.booleans(), min_size=6, max_size=6),
    sender_ok=st.booleans(),
)
def test_promotional_dispatch_is_compliant_for_any_body_audience_and_clock(
    db, body, minutes, opted_out, zones, consents, sender_ok
):
    clock = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=minutes)
    console_backend.outbox.clear()
    try:
        with transaction.atomic():
            gateway = Gateway.objects.create(name="Property console", backend="console")
            project = sending_project("Prop", gateway=gateway)
            add_customers(project, 6)
            for i, (zone, consent) in enumerate(zip(zones, consents, strict=True)):
                Customer.objects.filter(project=project, user_id=f"u{i}").update(
                    time_zone=zone, night_consent=consent
                )
            do_opt_out(project, [phone(i) for i in opted_out], "api")
            try:
                campaign = segment_campaign(project, body=body, is_promotional=True)
            except Exception:
                raise Rollback from None  # not valid Liquid: refused at compose time
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
            while materialise_chunk(campaign.pk):
                pass
            if not sender_ok:
                SenderNumber.objects.filter(project=project).update(status="suspended")
            pipeline.send_batch(campaign.outbox_id, now=clock)
            event(f"sent {len(console_backend.outbox)}")
            _check(project, campaign, clock, opted_out, zones, consents, sender_ok)
            raise Rollback
    except Rollback:
        pass
    finally:
        console_backend.outbox.clear()


def _check(project, campaign, clock, opted_out, zones, consents, sender_ok) -> None:
    line = "무료수신거부 " + project.optout_number.display_number
    sent = console_backend.outbox
    if not sender_ok:
        assert sent == []
        return
    for sms in sent:
        i = int(sms.to[-8:]) - 10000000
        assert sms.body.startswith("(광고)" + project.company_name)
        assert sms.body.endswith(line)
        assert i not in opted_out
        assert sms.sender == "+8215881234"
        local = clock.astimezone(ZoneInfo(zones[i] or project.time_zone))
        assert consents[i] or 8 <= local.hour < 21
    # Nobody eligible was left out (render errors aside).
    eligible = {
        i
        for i in range(6)
        if i not in opted_out
        and (
            consents[i] or 8 <= clock.astimezone(ZoneInfo(zones[i] or project.time_zone)).hour < 21
        )
    }
    rendered = set(
        Message.objects.filter(outbox_id=campaign.outbox_id)
        .exclude(skip_reason="render_error")
        .values_list("phone_number", flat=True)
    )
    assert {int(s.to[-8:]) - 10000000 for s in sent} == {
        i for i in eligible if phone(i) in rendered
    }
