"""Read-only questions about projects: members, invitations, tokens, the audit log."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.models import ApiToken, AuditLog, Invitation, Membership, Project

# Readable names for audit actions. Actions recorded by other apps that are not
# listed here are shown by their code, so nothing is ever hidden.
AUDIT_ACTION_LABELS = {
    "project.created": _("Project created"),
    "member.invited": _("Member invited"),
    "member.joined": _("Member joined"),
    "member.role_changed": _("Member's role changed"),
    "member.removed": _("Member removed"),
    "invitation.revoked": _("Invitation revoked"),
    "api_token.created": _("API token created"),
    "api_token.revoked": _("API token revoked"),
    "sender_number.registered": _("Sender number registered"),
    "sender_number.approved": _("Sender number approved"),
    "sender_number.rejected": _("Sender number rejected"),
    "sender_number.suspended": _("Sender number suspended"),
    "sender_number.default_set": _("Default sender number set"),
    "optout_number.assigned": _("080 number assigned"),
    "optout_number.pool_added": _("080 numbers added to the pool"),
    "sms_channel.gateway_set": _("Gateway set"),
    "test_sms.sent": _("Test SMS sent"),
    "customer.deleted": _("User deleted"),
    "segment.created": _("Segment created"),
    "segment.changed": _("Segment changed"),
    "segment.deleted": _("Segment deleted"),
    "audience_file.uploaded": _("Audience file uploaded"),
    "optout.added": _("Numbers added to the opt-out list"),
    "optout.removed": _("Numbers removed from the opt-out list"),
    "optout.policy_changed": _("Opt-out policy changed"),
    "webhook.registered": _("Webhook registered"),
    "webhook.url_changed": _("Webhook URL changed"),
    "webhook.secret_rotated": _("Webhook secret rotated"),
    "webhook.test_sent": _("Webhook test event sent"),
    "webhook.redelivered": _("Webhook event sent again"),
}


def audit_action_label(action: str) -> str:
    return str(AUDIT_ACTION_LABELS.get(action, action))


def members_of(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__email")


def pending_invitations(project: Project) -> QuerySet[Invitation]:
    return project.invitations.filter(
        accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def invitation_problem(invitation: Invitation) -> str | None:
    """Why this invitation cannot be accepted, or None when it can."""
    if invitation.revoked_at is not None:
        return str(_("This invitation was revoked by a project admin."))
    if invitation.accepted_at is not None:
        return str(_("This invitation has already been used."))
    if invitation.expires_at <= timezone.now():
        return str(_("This invitation expired; ask a project admin for a new one."))
    return None


def api_tokens_of(project: Project) -> QuerySet[ApiToken]:
    return project.api_tokens.select_related("created_by")


def audit_entries(project: Project, action: str = "") -> QuerySet[AuditLog]:
    entries = project.audit_log.all()
    if action:
        entries = entries.filter(action=action)
    return entries


def audit_actions_in_use(project: Project) -> list[tuple[str, str]]:
    codes = project.audit_log.order_by("action").values_list("action", flat=True).distinct()
    return [(code, audit_action_label(code)) for code in codes]
