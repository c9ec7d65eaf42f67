"""The Django admin for platform staff: projects, members, invitations, API
tokens (hashes never shown) and the read-only audit log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from projects.actions import do_revoke_api_token
from projects.models import ApiToken, AuditLog, Invitation, Membership, Project
from projects.queries import audit_action_label, invitation_problem


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "phone_number", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "company_name", "business_registration_number", "created_at"]
    search_fields = ["name", "company_name", "business_registration_number", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "phone_number", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__username", "project__name"]
    autocomplete_fields = ["user", "project"]
    list_select_related = ["user", "project"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "project", "role", "invited_by", "created_at", "expires_at", "state"]
    list_filter = ["role"]
    search_fields = ["email", "project__name"]
    # The token hash is not useful to anyone and stays out of the form.
    fields = [
        "project",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    readonly_fields = fields
    list_select_related = ["project", "invited_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Invitations are made in the console, where the link is shown once.
        return False

    @admin.display(description=_("state"))
    def state(self, obj: Invitation) -> str:
        return invitation_problem(obj) or str(_("pending"))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "project",
        "created_by",
        "created_at",
        "last_used_at",
        "active",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "project__name"]
    fields = ["project", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    list_select_related = ["project", "created_by"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Created by project admins, who see the raw token once.
        return False

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(do_revoke_api_token(token, request.user) for token in queryset)
        self.message_user(
            request,
            ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", revoked) % {"n": revoked},
            messages.SUCCESS,
        )


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "project", "actor_label", "action_name", "target"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_label", "target", "project__name", "action"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]

    @admin.display(description=_("action"), ordering="action")
    def action_name(self, obj: AuditLog) -> str:
        return audit_action_label(obj.action)

    # The log is evidence: nobody edits or deletes it, not even staff.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditLog | None = None) -> bool:
        return False
