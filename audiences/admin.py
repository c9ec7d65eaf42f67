"""Back office for customers and their events (platform staff).

Counting a table of millions for every changelist page is slow, so the full
result count is off; lookups of projects and customers are raw ids for the
same reason.
"""

from __future__ import annotations

from django.contrib import admin

from audiences.models import Customer, CustomerTag, Event


class CustomerTagInline(admin.TabularInline):
    model = CustomerTag
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["user_id", "project", "phone_number", "name", "created_at", "last_seen_at"]
    list_filter = ["project"]
    list_select_related = ["project"]
    search_fields = ["=user_id", "=phone_number", "name"]
    raw_id_fields = ["project"]
    readonly_fields = ["created_at", "last_seen_at"]
    show_full_result_count = False
    inlines = [CustomerTagInline]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["type", "customer", "project", "created_at", "received_at"]
    list_filter = ["project"]
    list_select_related = ["customer", "project"]
    search_fields = ["=customer__user_id", "=type"]
    raw_id_fields = ["project", "customer"]
    readonly_fields = ["received_at"]
    show_full_result_count = False
