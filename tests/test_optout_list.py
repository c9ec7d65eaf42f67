"""The opt-out list's actions and queries: bulk changes, history, events,
concurrency and the enforcement query dispatch uses."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from audiences.models import Customer
from optout.actions import do_opt_in, do_opt_out, do_set_optout_policy
from optout.models import OptOut, OptOutChange, Source
from optout.queries import (
    applies_to,
    exclude_opted_out,
    number_history,
    opted_out_numbers,
    optouts,
    sendable,
)
from projects.models import AuditLog
from webhooks.models import WebhookEvent

A = "+821011112222"
B = "+821033334444"
C = "+821055556666"


def events(project) -> list[tuple[str, dict, str]]:
    return [
        (e.type, e.data, e.ordering_key)
        for e in WebhookEvent.objects.filter(project=project).order_by("id")
    ]


def test_opting_out_reports_changed_unchanged_and_invalid_numbers(world):
    do_opt_out(world.acme, [A], Source.API)
    result = do_opt_out(world.acme, [A, B, "010-5555-6666", " ", B, 821012345678], Source.API)
    assert result.changed == [B]
    assert result.unchanged == [A]
    assert [(i.index, i.phone_number, i.code) for i in result.invalid] == [
        (2, "010-5555-6666", "phone_not_e164"),
        (3, " ", "phone_missing"),
        (5, "821012345678", "phone_missing"),
    ]
    assert "+821055556666" in result.invalid[0].message
    assert opted_out_numbers(world.acme, [A, B, C]) == {A, B}


def test_each_change_writes_history_and_publishes_one_event(world):
    do_opt_out(world.acme, [A, B], Source.CONSOLE, world.carol)
    do_opt_out(world.acme, [A], Source.API)  # no-op: nothing new
    do_opt_in(world.acme, [A, C], Source.API)  # C was never on the list: no-op for C
    assert events(world.acme) == [
        ("ReportSMSUnsubscribed", {"phoneNumber": A, "subscribed": False}, A),
        ("ReportSMSUnsubscribed", {"phoneNumber": B, "subscribed": False}, B),
        ("ReportSMSUnsubscribed", {"phoneNumber": A, "subscribed": True}, A),
    ]
    history = [(h.subscribed, h.source, h.actor_label) for h in number_history(world.acme, A)]
    assert history == [(True, "api", "system"), (False, "console", "carol@acme.test")]
    assert not OptOut.objects.filter(project=world.acme, phone_number=A).exists()


def test_console_changes_are_audited_with_the_person(world):
    do_opt_out(world.acme, [A, B], Source.CONSOLE, world.carol)
    do_opt_in(world.acme, [A], Source.CONSOLE, world.carol)
    do_opt_in(world.acme, [A], Source.CONSOLE, world.carol)  # nothing changed: no entry
    entries = AuditLog.objects.filter(project=world.acme, action__startswith="optout.")
    assert sorted((e.action, e.actor_label, e.target) for e in entries) == [
        ("optout.added", "carol@acme.test", "2 numbers"),
        ("optout.removed", "carol@acme.test", A),
    ]


def test_the_list_and_its_events_belong_to_one_project(world):
    do_opt_out(world.acme, [A], Source.API)
    result = do_opt_out(world.bolt, [A], Source.API)
    assert result.changed == [A]
    assert opted_out_numbers(world.bolt, [A, B]) == {A}
    do_opt_in(world.bolt, [A], Source.API)
    assert opted_out_numbers(world.acme, [A]) == {A}
    assert len(events(world.acme)) == 1


def test_a_large_batch_is_applied_in_chunks_in_order(world):
    numbers = [f"+8210{n:08d}" for n in range(10_000_000, 10_001_200)]
    result = do_opt_out(world.acme, numbers, Source.IMPORT, world.alice)
    assert result.changed == numbers
    assert OptOut.objects.filter(project=world.acme).count() == 1200
    keys = list(
        WebhookEvent.objects.filter(project=world.acme)
        .order_by("id")
        .values_list("ordering_key", flat=True)
    )
    assert keys == numbers


@pytest.mark.django_db(transaction=True)
def test_simultaneous_opt_outs_of_one_number_make_one_entry_one_history_row_one_event():
    from tests.support.processes import make_project

    acme = make_project("Acme")
    barrier = threading.Barrier(4)
    results = []

    def opt_out():
        try:
            barrier.wait()
            results.append(do_opt_out(acme, [A], Source.API))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=opt_out) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r.changed) for r in results) == [0, 0, 0, 1]
    assert OptOut.objects.filter(project=acme).count() == 1
    assert OptOutChange.objects.filter(project=acme).count() == 1
    assert WebhookEvent.objects.filter(project=acme).count() == 1


# --- enforcement --------------------------------------------------------------


def customers(project, *numbers):
    for i, number in enumerate(numbers):
        Customer.objects.create(project=project, user_id=f"u{i}", phone_number=number)
    return Customer.objects.filter(project=project).order_by("user_id")


def test_exclude_opted_out_drops_listed_numbers_in_one_query(world, django_assert_num_queries):
    recipients = customers(world.acme, A, B, C)
    do_opt_out(world.acme, [B], Source.API)
    do_opt_out(world.bolt, [C], Source.API)  # another project's list does not count
    with django_assert_num_queries(1):
        remaining = list(
            exclude_opted_out(recipients, world.acme).values_list("phone_number", flat=True)
        )
    assert remaining == [A, C]


def test_an_opt_out_after_the_query_is_built_still_applies_when_it_is_read(world):
    recipients = exclude_opted_out(customers(world.acme, A, B), world.acme)
    do_opt_out(world.acme, [A], Source.CALL_080)
    assert list(recipients.values_list("phone_number", flat=True)) == [B]


def test_the_list_applies_to_promotional_messages_only_by_default(world):
    recipients = customers(world.acme, A, B)
    do_opt_out(world.acme, [A], Source.API)
    assert applies_to(world.acme, is_promotional=True)
    assert not applies_to(world.acme, is_promotional=False)
    informational = sendable(recipients, world.acme, is_promotional=False)
    promotional = sendable(recipients, world.acme, is_promotional=True)
    assert list(informational.values_list("phone_number", flat=True)) == [A, B]
    assert list(promotional.values_list("phone_number", flat=True)) == [B]


def test_the_project_setting_applies_the_list_to_every_message(world):
    recipients = customers(world.acme, A, B)
    do_opt_out(world.acme, [A], Source.API)
    assert do_set_optout_policy(world.acme, True, world.alice)
    assert not do_set_optout_policy(world.acme, True, world.alice)
    assert applies_to(world.acme, is_promotional=False)
    assert not applies_to(world.bolt, is_promotional=False)
    informational = sendable(recipients, world.acme, is_promotional=False)
    assert list(informational.values_list("phone_number", flat=True)) == [B]
    assert AuditLog.objects.filter(action="optout.policy_changed").count() == 1


def test_opted_out_numbers_answers_for_a_batch(world):
    do_opt_out(world.acme, [A, C], Source.API)
    batch = [f"+8210{n:08d}" for n in range(20_000_000, 20_001_000)] + [A, B, C]
    assert opted_out_numbers(world.acme, batch) == {A, C}


def test_the_list_is_searched_by_digits_including_national_format(world):
    do_opt_out(world.acme, [A, B], Source.API)
    assert [o.phone_number for o in optouts(world.acme, query="3333")] == [B]
    assert [o.phone_number for o in optouts(world.acme, query="010-1111")] == [A]
    assert [o.phone_number for o in optouts(world.acme, query="+8210")] == [B, A]
