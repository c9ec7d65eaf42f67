"""Issue 13's acceptance flow in headless Chromium, with every real part
running: the live console, a django-q2 cluster subprocess (the journey
runner, the move between versions and the send pipeline run there, not in
this process) and the sandbox carrier subprocess.

Build a journey with a condition split (its branch written in the split's
form) and a wait-for-event branch → see a validation error and fix it →
dry-run it for a user → publish and activate → trigger it through the Track
API over real HTTP with an API token → watch the users move on the graph
(its counters refresh by themselves) → edit it live: shorten a delay with
the re-time choice and remove the node a user waits in, moving that user →
see the move finish and the counts on the graph add up.
"""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import expect

from audiences.models import Customer
from channels.actions import (
    do_add_optout_pool_numbers,
    do_assign_optout_number,
    do_set_project_gateway,
    sandbox_gateway,
)
from channels.models import SenderNumber
from dispatch.models import Message
from journeys.graph import node_map
from journeys.models import Journey, Run, VersionMigration
from tests.support.browser import DELIVERY_TIMEOUT_MS, log_in
from tests.support.processes import REQUEST_TIMEOUT
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.processes]


def _runner_schedule() -> None:
    """The minute's runner schedule, as migration journeys/0002 creates it
    (a transactional test's flush may have removed that row)."""
    from django.utils import timezone
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="journeys.run_due",
        defaults={
            "func": "journeys.tasks.run_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def _insert(page, source: str, port: str, kind: str) -> str:
    """Insert a node of `kind` on the edge (source, port); its key."""
    page.click(f'a.insert[data-from="{source}"][data-port="{port}"]')
    page.wait_for_selector("#insert-form")
    page.select_option("#id_kind", kind)
    page.click("#insert-node")
    page.wait_for_selector(f'#node-panel[data-kind="{kind}"]')
    return page.locator("#node-panel").get_attribute("data-node")


def _open(page, key: str) -> None:
    page.click(f'a.node-link[data-node="{key}"]')
    page.wait_for_selector(f'#node-panel[data-node="{key}"]')


def _save(page) -> None:
    page.click("#node-save")
    page.wait_for_selector("#node-saved")


def _counter(page, key: str):
    return page.locator(f'#journey-counts text[data-node="{key}"]')


def _diagnose(journey: Journey, qcluster) -> str:
    return (
        f"runs: {list(Run.objects.filter(journey=journey).values('node', 'state', 'version__number', 'due_at'))}\n"  # noqa: E501
        f"migrations: {list(VersionMigration.objects.values('moved', 'exited', 'finished_at'))}\n"
        f"messages: {list(Message.objects.values('phone_number', 'status', 'body'))}\n"
        f"qcluster:\n{qcluster.process.output()[-3000:]}"
    )


def test_build_try_activate_trigger_watch_and_edit_a_live_journey(
    page, world, live_server, qcluster, sandbox_carrier
):
    acme = world.acme
    do_add_optout_pool_numbers(["+82801234567"], world.staff)
    do_assign_optout_number(acme, world.staff)
    do_set_project_gateway(acme, sandbox_gateway(), world.staff)
    SenderNumber.objects.create(
        project=acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=acme.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    Customer.objects.create(
        project=acme, user_id="kim", name="김철수", phone_number="+821011112222"
    )
    Customer.objects.create(
        project=acme, user_id="lee", name="이영희", phone_number="+821033334444"
    )
    _runner_schedule()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda dialog: dialog.accept())

    # --- build ----------------------------------------------------------------------
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{acme.id}/journeys/")
    page.fill("#journey-name", "Cart reminder")
    page.click("#new-journey")
    page.wait_for_selector("#journey-svg")
    journey = Journey.objects.get(project=acme)

    # A condition split after the trigger: big carts (entry-event data) first.
    split = _insert(page, "start", "next", "split")
    page.click('button[name=op][value="add_condition:0"]')
    page.wait_for_selector("#node-unsaved")
    page.fill("#id_b0-label", "big cart")
    page.fill("#id_b0-c0-field", "total")
    page.select_option("#id_b0-c0-op", "gt")
    page.fill("#id_b0-c0-value", "50000")
    _save(page)
    # Big carts wait an hour, then get a message.
    pause = _insert(page, split, "b0", "delay")
    page.fill("#id_label", "Pause")
    _save(page)
    hello = _insert(page, pause, "next", "send")
    page.fill("#id_label", "Hello")
    page.select_option("#id_sender_number_id", index=1)
    page.fill("#id_body", "{{ name }}님, 장바구니 {{ entry_event.data.cartId }}")
    _save(page)
    # The others wait a day for a purchase of the same cart (else the message).
    wait = _insert(page, split, "else", "wait_event")
    # A new wait-for-event has no event yet: a problem on its field.
    expect(page.locator('#node-problems li[data-field="config.event"]')).to_have_count(1)
    expect(
        page.locator(f'#journey-problems li[data-node="{wait}"][data-field="config.event"]')
    ).to_have_count(1)
    expect(page.locator(f'g.node.has-problem[data-node="{wait}"]')).to_have_count(1)
    page.fill("#id_label", "Purchase?")
    page.fill("#id_event", "purchase")
    page.fill("#id_match_field", "cartId")
    page.fill("#id_amount", "1")
    page.select_option("#id_unit", "86400")
    page.select_option("#id_next_event", "end")
    page.select_option("#id_next_timeout", hello)
    _save(page)
    expect(page.locator(f'#journey-problems li[data-node="{wait}"]')).to_have_count(0)
    # The trigger's missing event is the last problem.
    _open(page, "start")
    page.fill("#id_event", "cart_abandoned")
    _save(page)
    expect(page.locator("#journey-valid")).to_be_visible()
    graph = journey.versions.get().graph
    assert node_map(graph)[split]["config"]["branches"] == [
        {"label": "big cart", "entry_data": [{"field": "total", "op": "gt", "value": 50000}]}
    ]
    assert node_map(graph)[split]["next"] == {"b0": pause, "else": wait}

    # --- dry run for kim ------------------------------------------------------------
    page.click("#journey-dryrun-link")
    page.fill("#id_user_id", "kim")
    page.fill("#id_data", '{"cartId": "c-1", "total": 60000}')
    page.click("#dryrun-submit")
    result = page.locator("#dryrun-result")
    expect(result.locator(f'li.dry-step[data-node="{split}"]')).to_have_attribute("data-port", "b0")
    expect(result).to_contain_text("김철수님, 장바구니 c-1")

    # --- publish, activate, trigger over the Track API ----------------------------------
    page.goto(f"/p/{acme.id}/journeys/{journey.pk}/publish/")
    page.click("#publish")
    page.click("#journey-activate")
    expect(page.locator("#journey-status")).to_have_attribute("data-status", "active")
    response = requests.post(
        live_server.url + reverse("api_track", args=[acme.id]),
        json={
            "events": [
                {
                    "subjectType": "user",
                    "subjectId": "kim",
                    "type": "cart_abandoned",
                    "data": {"cartId": "c-1", "total": 60000},
                },
                {
                    "subjectType": "user",
                    "subjectId": "lee",
                    "type": "cart_abandoned",
                    "data": {"cartId": "c-2", "total": 9000},
                },
            ]
        },
        headers={"Authorization": f"Bearer {world.acme_token}"},
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code in (200, 202), response.text

    # The graph follows without a reload: kim waits in the pause, lee for a purchase.
    try:
        expect(_counter(page, split)).to_have_attribute(
            "data-port-b0", "1", timeout=DELIVERY_TIMEOUT_MS
        )
        expect(_counter(page, split)).to_have_attribute("data-port-else", "1")
        expect(_counter(page, pause)).to_have_attribute("data-waiting", "1")
        expect(_counter(page, wait)).to_have_attribute("data-waiting", "1")
    except AssertionError:
        pytest.fail("the users never showed on the graph\n" + _diagnose(journey, qcluster))
    expect(_counter(page, "start")).to_have_attribute("data-entered", "2")
    assert Run.objects.get(customer__user_id="lee").node == wait

    # --- edit it live ---------------------------------------------------------------
    page.click("#journey-edit")
    page.wait_for_selector("#journey-publish-link")
    _open(page, pause)
    page.fill("#id_amount", "1")
    page.select_option("#id_unit", "60")
    _save(page)
    _open(page, wait)
    page.click("#node-delete")
    page.wait_for_selector("#journey-valid")
    expect(page.locator(f'g.node[data-node="{wait}"]')).to_have_count(0)
    page.click("#journey-publish-link")
    changed = page.locator(f'#diff-changed li[data-node="{pause}"]')
    expect(changed).to_contain_text("1 user waiting here")
    changed.locator("input[value=retime]").check()
    removed = page.locator(f'#diff-removed li[data-node="{wait}"]')
    expect(removed).to_contain_text("1 user waiting here")
    page.select_option(f"#choice-{wait}", f"move:{hello}")
    page.click("#publish")
    page.wait_for_selector("#migration-slot")

    # The move runs in the cluster; the page shows it end, then both users
    # reach the message (kim when the shortened pause is over) and the exit.
    try:
        expect(page.locator("#migration-status")).to_have_attribute(
            "data-finished", "true", timeout=DELIVERY_TIMEOUT_MS
        )
        expect(page.locator("#migration-status")).to_have_attribute("data-moved", "2")
        expect(_counter(page, hello)).to_have_attribute(
            "data-port-sent", "2", timeout=DELIVERY_TIMEOUT_MS
        )
        expect(_counter(page, "end")).to_have_attribute(
            "data-entered", "2", timeout=DELIVERY_TIMEOUT_MS
        )
    except AssertionError:
        pytest.fail("the live edit never finished\n" + _diagnose(journey, qcluster))
    journey.refresh_from_db()
    assert journey.live_version.number == 2
    # The counts add up: nobody waits anywhere, both users passed the message
    # and left by the exit, kim through the re-timed pause.
    counters = page.locator("#journey-counts text.node-counters")
    waiting = [counters.nth(i).get_attribute("data-waiting") for i in range(counters.count())]
    assert all(value in (None, "0") for value in waiting), waiting
    expect(_counter(page, pause)).to_have_attribute("data-port-next", "1")
    expect(_counter(page, "end")).to_have_attribute("data-exited-exit-node", "2")
    # The message node counts both arrivals: kim's by the pause, lee's by
    # the move from the removed wait.
    expect(_counter(page, hello)).to_have_attribute("data-entered", "2")
    expect(_counter(page, hello)).to_have_attribute("data-moved-in", "1")
    runs = Run.objects.filter(journey=journey)
    assert {(r.customer.user_id, r.state, r.version.number) for r in runs} == {
        ("kim", Run.State.ENDED, 2),
        ("lee", Run.State.ENDED, 2),
    }
    bodies = sorted(Message.objects.filter(project=acme).values_list("body", flat=True))
    assert bodies == ["김철수님, 장바구니 c-1", "이영희님, 장바구니 c-2"]
    assert not errors, errors
