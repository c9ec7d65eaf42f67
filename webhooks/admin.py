"""Webhooks in the back office: each project's endpoint and the outbox with
its delivery log, read-only, plus "deliver again" for failed events. The
signing secret is not shown here; project admins see it on their page."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webhooks.actions import do_redeliver_webhook_events
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("project", "url", "updated_at")
    search_fields = ("project__name", "url")
    fields = ("project", "url", "created_at", "updated_at")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = (
        "attempted_at",
        "url",
        "status_code",
        "duration_ms",
        "response_excerpt",
        "error_message",
        "next_attempt_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = (
        "request_id",
        "project",
        "type",
        "ordering_key",
        "status",
        "attempts",
        "next_attempt_at",
        "is_test",
        "created_at",
    )
    list_filter = ("status", "is_test", "type")
    search_fields = ("request_id", "ordering_key", "project__name")
    list_select_related = ("project",)
    readonly_fields = (
        "request_id",
        "project",
        "type",
        "data",
        "ordering_key",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "delivered_at",
        "last_error_message",
        "is_test",
        "created_at",
    )
    fields = readonly_fields
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    @admin.action(description=_("Deliver the selected failed events again"))
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        count = do_redeliver_webhook_events(queryset, request.user)
        messages.success(
            request, gettext("%(count)d failed events will be delivered again.") % {"count": count}
        )
