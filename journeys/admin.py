"""Journeys in the Django admin: read-only lists for platform staff (the
console's builder is where journeys are made and changed)."""

from __future__ import annotations

from django.contrib import admin

from journeys.models import Journey, JourneyVersion, NodeCounter, Run, Step


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class VersionInline(admin.TabularInline):
    model = JourneyVersion
    fields = ["number", "state", "published_at", "published_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Journey)
class JourneyAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "status", "live_version", "activated_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name"]
    inlines = [VersionInline]


@admin.register(JourneyVersion)
class JourneyVersionAdmin(ReadOnlyAdmin):
    list_display = ["journey", "number", "state", "published_at"]
    list_filter = ["state"]


class StepInline(admin.TabularInline):
    model = Step
    fields = ["number", "node", "kind", "port", "detail", "at", "version"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "journey", "customer", "node", "step", "state", "due_at", "end_reason"]
    list_filter = ["state", "end_reason"]
    raw_id_fields = ["journey", "customer", "version", "entry_event", "project"]
    inlines = [StepInline]


@admin.register(Step)
class StepAdmin(ReadOnlyAdmin):
    list_display = ["run", "number", "node", "kind", "port", "at"]
    list_filter = ["kind"]
    raw_id_fields = ["run", "version"]


@admin.register(NodeCounter)
class NodeCounterAdmin(ReadOnlyAdmin):
    list_display = ["journey", "version", "node", "metric", "value"]
