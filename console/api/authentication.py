"""`Authorization: Bearer <project token>`: the token names its project."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from projects.actions import hash_token
from projects.models import ApiToken

BEARER_HINT = "Authorization: Bearer <token>"


class ProjectTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != self.keyword.lower() or not raw or " " in raw:
            raise exceptions.AuthenticationFailed(
                _("Send the token as '%(hint)s'.") % {"hint": BEARER_HINT},
                code="malformed_authorization",
            )
        try:
            token = ApiToken.objects.select_related("project").get(token_hash=hash_token(raw))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed(
                _("The API token is not valid."), code="invalid_token"
            ) from None
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("The API token has been revoked; ask a project admin for a new one."),
                code="token_revoked",
            )
        note_token_use(token)
        return (None, token)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def note_token_use(token: ApiToken) -> bool:
    """Record that the token was used, at most once per
    `API_TOKEN_USE_RECORD_SECONDS`; True when this call wrote.

    A read must not become a write: on SQLite every write queues for the one
    write lock, so a busy integration (or a long write of another project)
    would make plain GETs wait for it. The in-memory check skips the write
    for almost every request; the conditional UPDATE lets only one of several
    processes racing past that check write, and never moves the time back.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.API_TOKEN_USE_RECORD_SECONDS)
    if token.last_used_at is not None and token.last_used_at >= stale_before:
        return False
    written = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before))
        .update(last_used_at=now)
    )
    return bool(written)
