"""`Authorization: Bearer <project token>`: the token names its project."""

from __future__ import annotations

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
        now = timezone.now()
        # Written at most once a minute so that a busy integration does not
        # turn every read into a write.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return (None, token)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
