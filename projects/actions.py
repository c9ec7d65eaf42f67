"""Everything that writes projects, members, tokens and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.models import ApiToken, AuditLog, Invitation, Membership, Project, Role
from projects.queries import invitation_problem, pending_invitations

TOKEN_PREFIX = "mj_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def actor_label_for(actor: object) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, ApiToken):
        return f"API token {actor.prefix}"
    email = getattr(actor, "email", "") or getattr(actor, "username", "")
    if getattr(actor, "is_staff", False) and not actor.memberships.exists():
        return f"platform staff {email}"
    return str(email)


def record_audit(
    project: Project | None,
    actor: object,
    action: str,
    target: object = "",
    **detail: object,
) -> AuditLog:
    """Append to the audit log. `actor` is a user, an ApiToken or None (system)."""
    return AuditLog.objects.create(
        project=project,
        actor=actor if isinstance(actor, AbstractBaseUser) else None,
        actor_label=actor_label_for(actor),
        action=action,
        target=str(target)[:200],
        detail=detail,
    )


@transaction.atomic
def do_create_project(
    name: str, company_name: str, owner: AbstractBaseUser | None = None, **fields: object
) -> Project:
    project = Project.objects.create(name=name, company_name=company_name, **fields)
    if owner is not None:
        Membership.objects.create(project=project, user=owner, role=Role.ADMIN)
    record_audit(project, owner, "project.created", project.name)
    return project


@transaction.atomic
def do_create_api_token(project: Project, name: str, actor: object) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        project=project,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(raw),
        created_by=actor if isinstance(actor, AbstractBaseUser) else None,
    )
    record_audit(project, actor, "api_token.created", token)
    return token, raw


@transaction.atomic
def do_revoke_api_token(token: ApiToken, actor: object) -> bool:
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if changed:
        record_audit(token.project, actor, "api_token.revoked", token)
    return bool(changed)


# --- Members and invitations -------------------------------------------------------

INVITATION_LIFETIME = timedelta(days=7)


def _admin_count_locked(project: Project) -> int:
    # Locks the admin rows so two admins demoting each other at the same moment
    # cannot leave the project with none.
    return len(
        list(
            Membership.objects.select_for_update()
            .filter(project=project, role=Role.ADMIN)
            .values_list("pk", flat=True)
        )
    )


@transaction.atomic
def do_invite_member(
    project: Project, email: str, role: str, actor: object
) -> tuple[Invitation, str]:
    """Create an invitation; the raw token (part of the link) is returned once."""
    email = email.strip().lower()
    if Membership.objects.filter(project=project, user__email__iexact=email).exists():
        raise ValidationError(
            {"email": _("%(email)s is already a member of this project.") % {"email": email}}
        )
    if pending_invitations(project).filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": _(
                    "%(email)s already has a pending invitation; revoke it to send a new one."
                )
                % {"email": email}
            }
        )
    raw = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=project,
        email=email,
        role=Role(role),
        token_hash=hash_token(raw),
        invited_by=actor if isinstance(actor, AbstractBaseUser) else None,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    record_audit(project, actor, "member.invited", email, role=invitation.role)
    return invitation, raw


@transaction.atomic
def do_revoke_invitation(invitation: Invitation, actor: object) -> bool:
    changed = Invitation.objects.filter(pk=invitation.pk, revoked_at=None, accepted_at=None).update(
        revoked_at=timezone.now()
    )
    if changed:
        record_audit(invitation.project, actor, "invitation.revoked", invitation.email)
    return bool(changed)


@transaction.atomic
def do_accept_invitation(invitation: Invitation, user: AbstractBaseUser) -> Membership:
    """Join the invitation's project with its role. The conditional UPDATE makes
    a link usable once even when two tabs accept it at the same moment."""
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    if Membership.objects.filter(project=invitation.project, user=user).exists():
        raise ValidationError(_("You are already a member of this project."))
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).update(accepted_at=timezone.now())
    if not claimed:
        raise ValidationError(_("This invitation has already been used."))
    membership = Membership.objects.create(
        project=invitation.project, user=user, role=invitation.role
    )
    record_audit(invitation.project, user, "member.joined", user.email, role=invitation.role)
    return membership


@transaction.atomic
def do_sign_up_and_accept(invitation: Invitation, password: str) -> AbstractBaseUser:
    """Create the invited person's account (email fixed by the invitation) and join."""
    User = get_user_model()
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(_("An account with this email exists; log in to accept."))
    user = User.objects.create_user(
        username=invitation.email, email=invitation.email, password=password
    )
    do_accept_invitation(invitation, user)
    return user


@transaction.atomic
def do_change_member_role(membership: Membership, role: str, actor: object) -> bool:
    role = Role(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return False
    if membership.role == Role.ADMIN and _admin_count_locked(membership.project) <= 1:
        raise ValidationError(
            _("%(email)s is the last admin of this project; make someone else admin first.")
            % {"email": membership.user.email}
        )
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    record_audit(
        membership.project, actor, "member.role_changed", membership.user.email, old=old, new=role
    )
    return True


@transaction.atomic
def do_remove_member(membership: Membership, actor: object) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.ADMIN and _admin_count_locked(membership.project) <= 1:
        raise ValidationError(
            _("%(email)s is the last admin of this project and cannot be removed.")
            % {"email": membership.user.email}
        )
    email = membership.user.email
    membership.delete()
    record_audit(membership.project, actor, "member.removed", email, role=membership.role)


def do_set_member_phone(membership: Membership, phone_number: str) -> None:
    """The member's own number for test sends; the form has checked it is E.164."""
    Membership.objects.filter(pk=membership.pk).update(phone_number=phone_number)
    membership.phone_number = phone_number
