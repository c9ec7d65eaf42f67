"""`Authorization: Bearer <project token>`: the token names its project."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from projects.actions import hash_token
from projects.models import ApiToken


class ProjectTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed(
                "Send the token as 'Authorization: Bearer <token>'."
            )
        try:
            token = ApiToken.objects.select_related("project").get(
                token_hash=hash_token(raw.strip())
            )
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("The API token is not valid.") from None
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The API token has been revoked.")
        now = timezone.now()
        # Written at most once a minute so that a busy integration does not
        # turn every read into a write.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return (None, token)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
