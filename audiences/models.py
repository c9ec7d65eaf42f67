"""A project's customers ("users" in FlareLane's API), their tags and events."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Project


class Customer(models.Model):
    """One of the project's end users, identified by the project's own `userId`."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="customers")
    user_id = models.CharField(_("user ID"), max_length=255)
    phone_number = models.CharField(_("phone number"), max_length=20, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("email"), blank=True)
    dob = models.DateField(_("date of birth"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    # Promotional messages need consent (Information and Communications
    # Network Act Art. 50); night-time (21:00–08:00) promotions need their own.
    promotional_consent = models.BooleanField(_("promotional consent"), default=False)
    promotional_consent_at = models.DateTimeField(null=True, blank=True)
    night_consent = models.BooleanField(_("night-time consent"), default=False)
    night_consent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["project", "user_id"], name="one_customer_per_user_id")
        ]
        indexes = [models.Index(fields=["project", "phone_number"])]

    def __str__(self) -> str:
        return self.user_id


class CustomerTag(models.Model):
    """A free-form `key: value` tag; one row a tag so segments can use an index."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tags")
    key = models.CharField(max_length=255)
    value = models.CharField(max_length=1024)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "key"], name="one_value_per_tag_key")
        ]
        indexes = [models.Index(fields=["key", "value"])]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Event(models.Model):
    """Something a customer did (`type`, with free-form `data`), as tracked."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("event"), max_length=255)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("happened at"), db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "type", "customer"]),
            models.Index(fields=["customer", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} by {self.customer_id}"


class Segment(models.Model):
    """A saved audience definition (see audiences/segments.py), evaluated in SQL
    each time it is counted or used, so it always reflects the current users.
    Who created or changed it is in the audit log."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("name"), max_length=200)
    definition = models.JSONField(_("definition"), default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_segment_per_name")
        ]

    def __str__(self) -> str:
        return self.name
