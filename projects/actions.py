"""Everything that writes projects, members, tokens and the audit log."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from projects.models import ApiToken, AuditLog, Membership, Project, Role

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
