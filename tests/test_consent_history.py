"""Consent history: every change of a consent, and of a known user's number
on the opt-out list, recorded with what, when, where from and who; shown on
the user's page and in the API; exportable as csv."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.models import Customer
from consent.actions import do_record_initial_history
from consent.models import ConsentChange, Notice, Source
from optout.actions import do_opt_in, do_opt_out
from optout.models import Source as OptOutSource
from tests.support.world import PASSWORD
from tests.test_track_api import event, track

ROOT = Path(__file__).resolve().parents[1]


def attributes(user_id="u1", **fields):
    return {"userAttributes": [{"userId": user_id, **fields}]}


def history(customer):
    return list(ConsentChange.objects.filter(customer=customer).order_by("id"))


def test_a_consent_given_through_track_is_recorded_with_its_token(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        attributes(
            phoneNumber="+821012345678",
            promotionalConsent=True,
            promotionalConsentAt="2025-03-01T00:00:00Z",
        ),
    )
    customer = Customer.objects.get(project=world.acme, user_id="u1")
    (change,) = history(customer)
    assert (change.field, change.old, change.new) == ("promotional", False, True)
    assert change.consent_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert change.source == Source.TRACK
    assert change.actor_label.startswith("API token ")


def test_resending_the_same_consent_records_nothing(client, world):
    body = attributes(promotionalConsent=True, nightConsent=True)
    track(client, world.acme, world.acme_token, body)
    track(client, world.acme, world.acme_token, body)
    track(client, world.acme, world.acme_token, {"events": [event("u1")]})
    customer = Customer.objects.get(project=world.acme, user_id="u1")
    assert [(c.field, c.new) for c in history(customer)] == [
        ("promotional", True),
        ("night", True),
    ]


def test_a_withdrawal_then_a_new_consent_are_two_entries_in_order(client, world):
    track(client, world.acme, world.acme_token, attributes(promotionalConsent=True))
    track(client, world.acme, world.acme_token, attributes(promotionalConsent=False))
    track(client, world.acme, world.acme_token, attributes(nightConsent=True))
    customer = Customer.objects.get(project=world.acme, user_id="u1")
    assert [(c.field, c.old, c.new) for c in history(customer)] == [
        ("promotional", False, True),
        ("promotional", True, False),
        ("night", False, True),
    ]


def test_a_track_call_that_changes_consents_records_them_in_a_few_statements(client, world):
    users = [{"userId": f"u{i}", "promotionalConsent": True} for i in range(100)]
    with CaptureQueriesContext(connection) as few:
        track(client, world.acme, world.acme_token, {"userAttributes": users[:2]})
    with CaptureQueriesContext(connection) as many:
        track(client, world.acme, world.acme_token, {"userAttributes": users[2:]})
    assert ConsentChange.objects.filter(project=world.acme).count() == 100
    # Set-based: 98 users cost no more statements than 2.
    assert len(many.captured_queries) <= len(few.captured_queries)


def test_an_optout_of_a_known_number_is_in_that_users_history(world):
    known = Customer.objects.create(project=world.acme, user_id="k", phone_number="+821011112222")
    twin = Customer.objects.create(project=world.bolt, user_id="k", phone_number="+821011112222")
    do_opt_out(world.acme, ["+821011112222", "+821099998888"], OptOutSource.CALL_080,
               actor_label="080 call (nhn)")  # fmt: skip
    do_opt_in(world.acme, ["+821011112222"], OptOutSource.CONSOLE, world.alice)
    assert [(c.field, c.old, c.new, c.source, c.actor_label) for c in history(known)] == [
        ("optout", False, True, "080", "080 call (nhn)"),
        ("optout", True, False, "console", "alice@acme.test"),
    ]
    # Another project's user with the same number is not touched, nor unknown numbers.
    assert history(twin) == []
    assert ConsentChange.objects.count() == 2


def test_a_bulk_optout_costs_a_few_statements_per_batch_not_one_per_row(world):
    numbers = [f"+8210{i:08d}" for i in range(1200)]
    Customer.objects.bulk_create(
        Customer(project=world.acme, user_id=f"u{i}", phone_number=number)
        for i, number in enumerate(numbers)
    )
    with CaptureQueriesContext(connection) as queries:
        do_opt_out(world.acme, numbers, OptOutSource.IMPORT, world.alice)
    assert ConsentChange.objects.filter(field="optout", source="import").count() == 1200
    # 3 chunks of 500: a handful of statements each, nowhere near 1200 (the
    # opt-out list's own statements, webhook events included, are not ours).
    ours = [
        query["sql"]
        for query in queries.captured_queries
        if "consent_" in query["sql"] or 'FROM "audiences_customer"' in query["sql"]
    ]
    assert 3 <= len(ours) <= 15


def test_an_optout_rolls_back_with_its_history_when_the_transaction_fails(world):
    import pytest
    from django.db import transaction

    Customer.objects.create(project=world.acme, user_id="k", phone_number="+821011112222")
    with pytest.raises(RuntimeError), transaction.atomic():
        do_opt_out(world.acme, ["+821011112222"], OptOutSource.API)
        raise RuntimeError("boom")
    assert ConsentChange.objects.count() == 0
    assert Notice.objects.count() == 0


def test_the_api_user_resource_lists_the_history_newest_first(client, world):
    track(client, world.acme, world.acme_token, attributes(promotionalConsent=True))
    track(client, world.acme, world.acme_token, attributes(promotionalConsent=False))
    response = client.get(
        reverse("api_user", args=[world.acme.id, "u1"]),
        HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
    )
    assert response.status_code == 200
    entries = response.json()["consentHistory"]
    assert [(e["field"], e["old"], e["new"], e["source"]) for e in entries] == [
        ("promotional", True, False, "track"),
        ("promotional", False, True, "track"),
    ]
    assert entries[1]["consentAt"] is not None
    assert entries[0]["by"].startswith("API token ")


def test_the_users_page_shows_the_history_and_the_pending_notice(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        attributes(phoneNumber="+821012345678", promotionalConsent=True),
    )
    assert client.login(username=world.dave.username, password=PASSWORD)
    response = client.get(reverse("customer", args=[world.acme.id, "u1"]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="consent-history"' in page
    assert 'data-field="promotional" data-new="true"' in page
    assert 'data-kind="result" data-state="due"' in page
    # A viewer sees no consent form.
    assert 'id="consent-change"' not in page


def test_a_member_changes_consent_on_the_users_page_recorded_as_console(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        attributes(phoneNumber="+821012345678", promotionalConsent=True),
    )
    customer_url = reverse("customer", args=[world.acme.id, "u1"])
    assert client.login(username=world.carol.username, password=PASSWORD)
    assert 'id="consent-change"' in client.get(customer_url).content.decode()
    url = reverse("consent_change", args=[world.acme.id, "u1"])
    response = client.post(url, {"night": "on"})  # promotional unticked: withdrawn
    assert response.status_code == 302 and response["Location"] == customer_url
    customer = Customer.objects.get(user_id="u1")
    assert (customer.promotional_consent, customer.night_consent) == (False, True)
    latest = ConsentChange.objects.order_by("-id")[:2]
    assert {(c.field, c.new, c.source, c.actor_label) for c in latest} == {
        ("promotional", False, "console", world.carol.email),
        ("night", True, "console", world.carol.email),
    }
    (notice,) = Notice.objects.filter(customer=customer, superseded=False, kind="result")
    assert notice.facts["changes"] == {"promotional": False, "night": True}
    # The same state again changes nothing.
    client.post(url, {"night": "on"})
    assert ConsentChange.objects.count() == 3


def test_a_viewer_may_not_change_consent(client, world):
    track(client, world.acme, world.acme_token, attributes(promotionalConsent=True))
    assert client.login(username=world.dave.username, password=PASSWORD)
    url = reverse("consent_change", args=[world.acme.id, "u1"])
    assert client.post(url, {}).status_code == 403
    assert Customer.objects.get(user_id="u1").promotional_consent


def test_the_history_exports_as_csv_with_neutralised_cells(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        attributes(user_id="=cmd", phoneNumber="+821012345678", promotionalConsent=True),
    )
    assert client.login(username=world.dave.username, password=PASSWORD)
    response = client.get(reverse("consent_history_csv", args=[world.acme.id]))
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "userId,phoneNumber,field,old,new,consentAt,changedAt,source,by"
    assert lines[1].startswith("'=cmd,'+821012345678,promotional,false,true,")
    one = client.get(reverse("consent_history_csv", args=[world.acme.id]) + "?user=%3Dcmd")
    assert len(b"".join(one.streaming_content).decode().splitlines()) == 2
    missing = client.get(reverse("consent_history_csv", args=[world.acme.id]) + "?user=nobody")
    assert missing.status_code == 404


def test_another_projects_member_cannot_export_the_history(client, world):
    assert client.login(username=world.bob.username, password=PASSWORD)
    response = client.get(reverse("consent_history_csv", args=[world.acme.id]))
    assert response.status_code in (403, 404)


def test_existing_users_get_one_entry_from_their_current_flags(world):
    at = datetime(2024, 1, 2, tzinfo=UTC)
    given = Customer.objects.create(
        project=world.acme,
        user_id="g",
        promotional_consent=True,
        promotional_consent_at=at,
        night_consent=True,
        night_consent_at=at,
    )
    refused = Customer.objects.create(project=world.acme, user_id="r")
    assert do_record_initial_history(world.acme) == 3
    assert [(c.field, c.old, c.new, c.consent_at, c.source) for c in history(given)] == [
        ("promotional", None, True, at, "migration"),
        ("night", None, True, at, "migration"),
    ]
    assert [(c.field, c.new) for c in history(refused)] == [("promotional", False)]


def test_the_data_migration_writes_the_same_entries_set_based(world):
    import importlib

    migration = importlib.import_module("consent.migrations.0002_history_from_current_flags")
    at = datetime(2024, 1, 2, tzinfo=UTC)
    given = Customer.objects.create(
        project=world.acme, user_id="g", promotional_consent=True, promotional_consent_at=at
    )
    migration.forwards(None, connection.schema_editor())
    (change,) = history(given)
    assert (change.field, change.old, change.new, change.consent_at) == (
        "promotional",
        None,
        True,
        at,
    )
    assert change.changed_at == at and change.source == "migration"


def test_audiences_and_optout_never_import_consent():
    for app in ("audiences", "optout"):
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                assert not any(name.split(".")[0] == "consent" for name in names), path
