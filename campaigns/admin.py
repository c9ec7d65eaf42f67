"""Campaigns in the Django admin: read-mostly lists for platform staff."""

from __future__ import annotations

from django.contrib import admin

from campaigns.models import Campaign, Price


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "status", "scheduled_at", "started_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["name", "project__name"]
    raw_id_fields = ["segment", "audience_file", "sender_number", "created_by", "outbox"]
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


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ["kind", "amount", "currency"]
