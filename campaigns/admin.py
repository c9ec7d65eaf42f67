"""Campaigns in the Django admin: read-mostly lists for platform staff."""

from __future__ import annotations

from django.contrib import admin

from campaigns.models import Campaign, CampaignStats, Message, Price, SendingPolicy


class StatsInline(admin.StackedInline):
    model = CampaignStats
    can_delete = False
    readonly_fields = [f.name for f in CampaignStats._meta.fields]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "status", "scheduled_at", "started_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["name", "project__name"]
    raw_id_fields = ["segment", "audience_file", "sender_number", "created_by"]
    # The status and its times change only through campaigns.actions (the
    # transition table, with an audit entry), never by a form.
    readonly_fields = [
        "status",
        "status_reason",
        "scheduled_at",
        "started_at",
        "finished_at",
        "materialise_cursor",
        "materialised_at",
        "heartbeat_at",
    ]
    inlines = [StatsInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["phone_number", "campaign", "status", "skip_reason", "kind", "sent_at"]
    list_filter = ["status", "skip_reason", "kind"]
    search_fields = ["=phone_number", "=provider_message_id"]
    raw_id_fields = ["campaign", "project"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SendingPolicy)
class SendingPolicyAdmin(admin.ModelAdmin):
    list_display = ["project", "frequency_cap", "frequency_window_hours"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ["kind", "amount", "currency"]
