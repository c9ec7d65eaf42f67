"""`Idempotency-Key` on POST: the first response is replayed for 24 hours.

The key is claimed by INSERTing an IdempotencyRecord under the unique
(project, key) constraint *before* the view runs, so two concurrent requests
with one key cannot both run: the loser sees the claim and answers 409. When
the view finishes, the record keeps the response; a 5xx drops the claim so the
client may retry. docs/api.md describes the behaviour for integrators.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request

from console.api.errors import ApiError
from projects.models import IdempotencyRecord, Project

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)
# A claim that never got its response (the worker died mid-request) would
# otherwise block the key for a whole day; after this long it is given up.
ABANDONED_AFTER = timedelta(minutes=10)
_CLAIM_ATTEMPTS = 3


class Replay(Exception):
    """Raised instead of running the view: the stored response answers."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


def key_from(request: Request) -> str | None:
    """The request's Idempotency-Key, or None; a bad key is a 400."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not key.strip():
        raise ApiError(
            "idempotency_key_invalid",
            _("The %(header)s header is empty.") % {"header": KEY_HEADER},
            {"header": KEY_HEADER},
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            "idempotency_key_invalid",
            _("The %(header)s header is longer than %(max)d characters.")
            % {"header": KEY_HEADER, "max": MAX_KEY_LENGTH},
            {"header": KEY_HEADER, "maxLength": MAX_KEY_LENGTH, "length": len(key)},
        )
    return key


def fingerprint(request: Request) -> str:
    """Method, path with query string and the exact body bytes."""
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.get_full_path().encode())
    digest.update(b"\0")
    try:
        body = request._request.body
    except RequestDataTooBig:
        raise ApiError(
            "too_large",
            _("The request body is too large to be sent with an %(header)s.")
            % {"header": KEY_HEADER},
            {"header": KEY_HEADER},
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        ) from None
    digest.update(body)
    return digest.hexdigest()


def purge_expired() -> int:
    """Delete records past the retention window (done on the way, per keyed POST)."""
    deleted, _rows = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - RETENTION
    ).delete()
    return deleted


def claim(project: Project, key: str, request_fingerprint: str) -> IdempotencyRecord:
    """Claim the key for this request, or raise Replay / ApiError (409, 422)."""
    purge_expired()
    for _attempt in range(_CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    project=project, key=key, request_fingerprint=request_fingerprint
                )
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(project=project, key=key).first()
        if existing is None:
            continue  # finished with a 5xx or expired meanwhile: claim again
        now = timezone.now()
        expired = existing.created_at < now - RETENTION
        abandoned = existing.status_code is None and existing.created_at < now - ABANDONED_AFTER
        if expired or abandoned:
            # Conditional: of several requests taking over, one deletes, all
            # then race for the INSERT and one wins.
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at=existing.created_at
            ).delete()
            continue
        if existing.request_fingerprint != request_fingerprint:
            raise ApiError(
                "idempotency_key_reused",
                _(
                    "This %(header)s was already used with a different request; "
                    "use a new key for a new request."
                )
                % {"header": KEY_HEADER},
                {"header": KEY_HEADER},
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        if existing.status_code is None:
            break
        raise Replay(replay_response(existing))
    raise ApiError(
        "idempotency_key_in_progress",
        _("A request with this %(header)s is still being processed; retry shortly.")
        % {"header": KEY_HEADER},
        {"header": KEY_HEADER},
        status_code=status.HTTP_409_CONFLICT,
    )


def replay_response(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code,
        content_type=record.content_type or None,
    )
    response[REPLAYED_HEADER] = "true"
    return response


def complete(record: IdempotencyRecord, response: HttpResponseBase) -> None:
    """Keep the response for replay; a server error frees the key instead."""
    if response.status_code >= 500 or response.streaming:
        release(record)
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code,
        response_body=bytes(response.content),
        content_type=response.get("Content-Type", ""),
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()
