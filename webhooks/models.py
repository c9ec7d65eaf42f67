"""A project's webhook endpoint, the events owed to it (an outbox written in the
same transaction as the change they report) and every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from console.lib.signing import new_secret
from projects.models import Project
from webhooks.messages import describe


class WebhookEndpoint(models.Model):
    project = models.OneToOneField(
        Project,
        on_delete=models.CASCADE,
        related_name="webhook_endpoint",
        verbose_name=_("project"),
    )
    url = models.URLField(_("URL"), max_length=2000)
    secret = models.CharField(max_length=100, default=new_secret, verbose_name=_("secret"))
    # After a rotation the old secret still signs (as a second signature)
    # until this moment, so receivers can switch over without losing events.
    previous_secret = models.CharField(
        max_length=100, blank=True, verbose_name=_("previous secret")
    )
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("previous secret expires at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery made at `now`: the current one and,
        during the grace period after a rotation, the previous one."""
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            secrets.append(self.previous_secret)
        return secrets


class WebhookEvent(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    # Sent as `requestId` and `webhook-id`: the same on every retry, so a
    # receiver can drop repeats. The integer id orders events.
    request_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("request ID")
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", verbose_name=_("project")
    )
    type = models.CharField(max_length=64, verbose_name=_("type"))
    data = models.JSONField(verbose_name=_("data"))
    # Events with the same key are delivered in the order they were created
    # (for opt-outs: the phone number).
    ordering_key = models.CharField(max_length=255, blank=True, verbose_name=_("ordering key"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("next attempt at")
    )
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    # The run that claimed the event: only that run may record its outcome.
    claimed_by = models.CharField(max_length=32, blank=True, verbose_name=_("claimed by"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    # Why the last attempt failed: a code and its parameters, worded by
    # webhooks.messages in the reader's language. `last_error` is the text
    # that rows written before codes existed (and not converted) still show.
    last_error_code = models.CharField(max_length=40, blank=True, verbose_name=_("last error code"))
    last_error_params = models.JSONField(
        default=dict, blank=True, verbose_name=_("last error parameters")
    )
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    is_test = models.BooleanField(default=False, verbose_name=_("test"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["id"]
        indexes = [
            # "Is an earlier event of this key still pending?" (delivery order).
            models.Index(
                fields=["project", "ordering_key", "status", "id"], name="webhooks_ev_order_idx"
            ),
            # The scan for due events.
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_ev_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.request_id}"

    @property
    def last_error_message(self) -> str:
        if self.last_error_code:
            return describe(self.last_error_code, self.last_error_params)
        return self.last_error

    def payload(self) -> dict:
        """The JSON body POSTed to the endpoint (SPEC §7)."""
        return {"requestId": str(self.request_id), "type": self.type, "data": self.data}


class WebhookAttempt(models.Model):
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="attempts_log", verbose_name=_("event")
    )
    url = models.URLField(max_length=2000, verbose_name=_("URL"))
    attempted_at = models.DateTimeField(auto_now_add=True, verbose_name=_("attempted at"))
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("status code")
    )
    # The receiver's answer, kept only while the operator enables it
    # (settings.WEBHOOK_LOG_RESPONSE_BODY); shown only while it still is.
    response_excerpt = models.CharField(
        max_length=500, blank=True, verbose_name=_("response excerpt")
    )
    error_code = models.CharField(max_length=40, blank=True, verbose_name=_("error code"))
    error_params = models.JSONField(default=dict, blank=True, verbose_name=_("error parameters"))
    # Text of rows written before error codes existed (see error_message).
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("duration (ms)"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.status_code or self.error_code or self.error}"

    @property
    def error_message(self) -> str:
        if self.error_code:
            return describe(self.error_code, self.error_params)
        return self.error
