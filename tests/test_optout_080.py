"""A call to the project's 080 number, through the real sandbox carrier and
the live console, changes the list with source 080."""

from __future__ import annotations

import pytest

from channels.models import OptOutNumber
from optout.models import OptOutChange
from optout.queries import opted_out_numbers
from tests.support.processes import make_project
from webhooks.models import WebhookEvent

CALLER = "+821099998888"


@pytest.mark.processes
def test_calling_the_080_number_opts_out_and_back_in(sandbox_carrier, live_server):
    acme = make_project("Acme")
    bolt = make_project("Bolt")
    OptOutNumber.objects.create(number="+82801234567", project=acme)
    OptOutNumber.objects.create(number="+82807654321", project=bolt)
    sandbox_carrier.configure(console_url=live_server.url)

    answer = sandbox_carrier.call_080("+82801234567", CALLER, "optout")
    assert answer["consoleStatus"] == 200
    assert opted_out_numbers(acme, [CALLER]) == {CALLER}
    assert opted_out_numbers(bolt, [CALLER]) == set()

    # A second call is a no-op: no history row, no event.
    sandbox_carrier.call_080("+82801234567", CALLER, "optout")
    sandbox_carrier.call_080("+82801234567", CALLER, "optin")
    assert opted_out_numbers(acme, [CALLER]) == set()

    history = OptOutChange.objects.filter(project=acme).order_by("id")
    assert [(h.subscribed, h.source, h.actor_label) for h in history] == [
        (False, "080", "080 call (sandbox)"),
        (True, "080", "080 call (sandbox)"),
    ]
    events = WebhookEvent.objects.filter(project=acme).order_by("id")
    assert [(e.type, e.data, e.ordering_key) for e in events] == [
        ("ReportSMSUnsubscribed", {"phoneNumber": CALLER, "subscribed": False}, CALLER),
        ("ReportSMSUnsubscribed", {"phoneNumber": CALLER, "subscribed": True}, CALLER),
    ]
    assert not WebhookEvent.objects.filter(project=bolt).exists()
