"""The opt-out list in the Django admin, for platform staff: read-only
history; list entries may be searched, and changed only through the console
or API so every change keeps its history row and webhook event."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from optout.models import OptOut, OptOutChange, OptOutPolicy


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OptOut)
class OptOutAdmin(_ReadOnly):
    list_display = ["phone_number", "project", "source", "created_at"]
    list_filter = ["source", "project"]
    search_fields = ["phone_number"]
    list_select_related = ["project"]


@admin.register(OptOutChange)
class OptOutChangeAdmin(_ReadOnly):
    list_display = ["phone_number", "project", "subscribed", "source", "actor_label", "created_at"]
    list_filter = ["source", "subscribed", "project"]
    search_fields = ["phone_number"]
    list_select_related = ["project"]


@admin.register(OptOutPolicy)
class OptOutPolicyAdmin(admin.ModelAdmin):
    list_display = ["project", "applies_to_all_messages", "updated_at"]
    list_select_related = ["project"]
