"""Console screens of the SMS channel settings page (project admins only):
register the webhook URL, see and rotate the signing secret, send a test
event, read the delivery log."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from projects.access import project_view
from projects.models import Project, Role
from webhooks import queries
from webhooks.actions import (
    TEST_PHONE_NUMBER,
    do_register_webhook,
    do_rotate_webhook_secret,
    do_send_test_event,
)
from webhooks.forms import WebhookUrlForm
from webhooks.models import WebhookEndpoint

LOG_PAGE_SIZE = 20


def _log_context(request: HttpRequest, project: Project) -> dict:
    status = request.GET.get("status", "all")
    if status not in queries.LOG_FILTERS:
        status = "all"
    page = Paginator(queries.delivery_log(project, status), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return {
        "project": project,
        "page": page,
        "status_filter": status,
        "log_filters": queries.LOG_FILTERS,
        "counts": queries.status_counts(project),
        "attempts_shown": queries.ATTEMPTS_SHOWN,
        # Answers are shown only while the operator keeps them (older rows
        # may hold some from before the setting was turned off).
        "show_response_body": settings.WEBHOOK_LOG_RESPONSE_BODY,
    }


@project_view(Role.ADMIN)
def sms_settings(request: HttpRequest, project: Project) -> HttpResponse:
    endpoint = queries.endpoint_of(project)
    form = WebhookUrlForm(request.POST or None, initial={"url": endpoint.url if endpoint else ""})
    if request.method == "POST" and form.is_valid():
        created = endpoint is None
        do_register_webhook(project, form.cleaned_data["url"], request.user)
        messages.success(
            request,
            _("The webhook is registered.") if created else _("The webhook URL is saved."),
        )
        return redirect("sms_settings", project_id=project.id)
    grace_until = None
    if endpoint and endpoint.previous_secret_expires_at:
        grace_until = endpoint.previous_secret_expires_at
        if grace_until <= timezone.now():
            grace_until = None
    context = {
        "form": form,
        "endpoint": endpoint,
        "rotation_grace_until": grace_until,
        "max_age_hours": f"{settings.WEBHOOK_MAX_AGE_HOURS:g}",
        "test_phone_number": TEST_PHONE_NUMBER,
        **_log_context(request, project),
    }
    return render(
        request, "webhooks/sms_settings.html", context, status=400 if form.errors else 200
    )


@project_view(Role.ADMIN)
@require_GET
def delivery_log(request: HttpRequest, project: Project) -> HttpResponse:
    """The log alone, for htmx's live refresh and its pagination."""
    return render(request, "webhooks/_delivery_log.html", _log_context(request, project))


@project_view(Role.ADMIN)
def rotate_secret(request: HttpRequest, project: Project) -> HttpResponse:
    get_object_or_404(WebhookEndpoint, project=project)
    if request.method != "POST":
        return render(
            request,
            "projects/confirm.html",
            {
                "title": _("Rotate the signing secret"),
                "question": _(
                    "Make a new signing secret? Deliveries are signed with the new secret from "
                    "now on, and also with the old one for the next 24 hours so your receiver "
                    "can switch over without rejecting events."
                ),
                "button": _("Rotate secret"),
                "cancel_url": reverse("sms_settings", args=[project.id]),
            },
        )
    do_rotate_webhook_secret(project, request.user)
    messages.success(request, _("The signing secret was rotated."))
    return redirect("sms_settings", project_id=project.id)


@project_view(Role.ADMIN)
@require_POST
def send_test_event(request: HttpRequest, project: Project) -> HttpResponse:
    try:
        do_send_test_event(project, request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("A test event is on its way; its delivery shows in the log below.")
        )
    return redirect(reverse("sms_settings", args=[project.id]) + "#delivery-log")
