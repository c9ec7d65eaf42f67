"""The data migrations that turn stored error sentences into codes and
parameters (webhooks.0004, audiences.0007), run on rows written the old way."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

WEBHOOKS_BEFORE = [("webhooks", "0003_webhooks_reconciler_schedule")]
WEBHOOKS_AFTER = [("webhooks", "0004_webhook_error_codes")]
AUDIENCES_BEFORE = [("audiences", "0006_paging_indexes")]
AUDIENCES_AFTER = [("audiences", "0007_audience_file_error_codes")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_stored_webhook_errors_become_codes_and_unknown_texts_stay():
    apps = migrate(WEBHOOKS_BEFORE)
    Project = apps.get_model("projects", "Project")
    Event = apps.get_model("webhooks", "WebhookEvent")
    Attempt = apps.get_model("webhooks", "WebhookAttempt")
    project = Project.objects.create(name="p", company_name="P")
    gave_up = Event.objects.create(
        project=project,
        type="ReportSMSUnsubscribed",
        data={},
        last_error=(
            "72시간 동안 재시도한 후 중단했습니다: 수신 서버가 HTTP 502 응답을 반환했습니다."
        ),
    )
    odd = Event.objects.create(project=project, type="x", data={}, last_error="Something odd")
    Attempt.objects.create(event=gave_up, url="http://x", error="Could not connect: refused")
    try:
        apps = migrate(WEBHOOKS_AFTER)
        Event = apps.get_model("webhooks", "WebhookEvent")
        Attempt = apps.get_model("webhooks", "WebhookAttempt")
        converted = Event.objects.get(pk=gave_up.pk)
        assert (converted.last_error_code, converted.last_error) == ("gave_up", "")
        assert converted.last_error_params == {
            "hours": "72",
            "cause": {"code": "http_status", "params": {"code": 502}},
        }
        kept = Event.objects.get(pk=odd.pk)
        assert (kept.last_error_code, kept.last_error) == ("", "Something odd")
        attempt = Attempt.objects.get()
        assert (attempt.error_code, attempt.error_params) == (
            "connect_failed",
            {"reason": "refused"},
        )
    finally:
        migrate(executor_leaf())


@pytest.mark.django_db(transaction=True)
def test_stored_audience_file_errors_become_codes_and_parameters():
    apps = migrate(AUDIENCES_BEFORE)
    Project = apps.get_model("projects", "Project")
    AudienceFile = apps.get_model("audiences", "AudienceFile")
    project = Project.objects.create(name="p", company_name="P")
    duplicate = "+821012345678 is already on row 1."
    old = [
        {"row": 2, "column": 1, "code": "phone_duplicate", "message": duplicate},
        {"row": 3, "column": 2, "code": "header_empty", "message": "2열에 이름이 없습니다."},
        {"row": 4, "column": 1, "code": "xlsx_unreadable", "message": "Odd words."},
    ]
    audience_file = AudienceFile.objects.create(
        project=project, name="a.csv", format="csv", errors=old, error_count=3
    )
    try:
        apps = migrate(AUDIENCES_AFTER)
        errors = apps.get_model("audiences", "AudienceFile").objects.get(pk=audience_file.pk).errors
        duplicate_params = {"phone": "+821012345678", "first": 1}
        assert errors == [
            {"row": 2, "column": 1, "code": "phone_duplicate", "params": duplicate_params},
            {"row": 3, "column": 2, "code": "header_empty", "params": {}},
            {"row": 4, "column": 1, "code": "xlsx_unreadable", "message": "Odd words."},
        ]
    finally:
        migrate(executor_leaf())


def executor_leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
