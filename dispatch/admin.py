"""The send core in the Django admin: read-mostly lists for platform staff."""

from __future__ import annotations

from django.contrib import admin

from dispatch.models import Message, Outbox, OutboxStats, SendingPolicy


class StatsInline(admin.StackedInline):
    model = OutboxStats
    can_delete = False
    readonly_fields = [f.name for f in OutboxStats._meta.fields]


@admin.register(Outbox)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "producer_kind", "producer_id", "status", "created_at"]
    list_filter = ["status", "producer_kind"]
    raw_id_fields = ["project", "sender_number"]
    inlines = [StatsInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "outbox", "status", "skip_reason", "kind", "sent_at"]
    list_filter = ["status", "skip_reason", "kind"]
    search_fields = ["=phone_number", "=provider_message_id"]
    raw_id_fields = ["outbox", "project"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SendingPolicy)
class SendingPolicyAdmin(admin.ModelAdmin):
    list_display = ["project", "frequency_cap", "frequency_window_hours"]
