"""The consent page of a project (Compliance → Consent): notice switches and
texts with preview and byte count, the notices due in the next 30 days and
the impossible ones; and the consent history as csv."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audiences.actions import do_set_consents
from audiences.queries import customer_by_user_id
from consent import exports
from consent.actions import do_save_notice_settings
from consent.forms import ConsentChangeForm, NoticeSettingsForm
from consent.models import Notice
from consent.queries import (
    PAGE_NOTICES,
    customer_history,
    impossible_notices,
    notice_config,
    notice_counts,
    notice_statistics,
    notices_in,
    project_history,
    sending_blocked,
    upcoming_notices,
)
from consent.texts import REMINDER, RESULT, NoticeTemplateError, check_notice_template
from projects.access import project_view
from projects.models import Project, Role

STAT_CELLS = ("recipients", "queued", "sent", "delivered", "failed", "skipped", "held_night_time",
              "sent_lms")  # fmt: skip


def _previews(project: Project, texts: dict[str, str], optout_number: str) -> dict[str, dict]:
    previews = {}
    for kind, text in texts.items():
        try:
            preview = check_notice_template(kind, text, project.company_name, optout_number)
        except NoticeTemplateError as error:
            previews[kind] = {"problems": error.problems}
        else:
            previews[kind] = {"preview": preview}
    return previews


@project_view()
def consent_page(request: HttpRequest, project: Project) -> HttpResponse:
    config = notice_config(project)
    initial = {
        "result_enabled": config.result_enabled,
        "reminder_enabled": config.reminder_enabled,
        "result_text": config.result_text,
        "reminder_text": config.reminder_text,
    }
    status = 200
    if request.method == "POST":
        if not request.membership.can(Role.ADMIN):
            raise PermissionDenied(_("Only admins may change the consent notices."))
        form = NoticeSettingsForm(request.POST)
        texts = {
            RESULT: request.POST.get("result_text", ""),
            REMINDER: request.POST.get("reminder_text", ""),
        }
        if form.is_valid() and "save" in request.POST:
            try:
                do_save_notice_settings(
                    project,
                    **form.cleaned_data,
                    optout_number=config.optout_number,
                    actor=request.user,
                )
            except NoticeTemplateError:
                status = 400  # the previews below say why
            else:
                messages.success(request, _("The consent notice settings were saved."))
                return redirect("consent", project_id=project.id)
        elif not form.is_valid():
            status = 400
    else:
        form = NoticeSettingsForm(initial=initial)
        texts = {RESULT: config.result_text, REMINDER: config.reminder_text}
    previews = _previews(project, texts, config.optout_number)
    counts = notice_counts(project)
    statistics = notice_statistics(project)
    if request.method == "POST" and any("problems" in p for p in previews.values()):
        status = 400
    context = {
        "form": form,
        "config": config,
        "previews": [
            (RESULT, form["result_text"], form["result_enabled"], previews[RESULT]),
            (REMINDER, form["reminder_text"], form["reminder_enabled"], previews[REMINDER]),
        ],
        "counts": counts,
        "count_rows": [
            (kind, Notice.Kind(kind).label, counts[kind]) for kind in (RESULT, REMINDER)
        ],
        "upcoming": upcoming_notices(project)[:PAGE_NOTICES],
        "impossible": impossible_notices(project)[:PAGE_NOTICES],
        "sent": notices_in(project, [Notice.State.SENT, Notice.State.DELIVERED])[:PAGE_NOTICES],
        "failed": notices_in(project, [Notice.State.FAILED])[:PAGE_NOTICES],
        "stat_cells": [(name, statistics[name]) for name in STAT_CELLS],
        "blocked": sending_blocked(project),
        "can_edit": request.membership.can(Role.ADMIN),
        "now": timezone.now(),
    }
    return render(request, "consent/consent.html", context, status=status)


@project_view()
@require_GET
def export_history(request: HttpRequest, project: Project) -> HttpResponse:
    """The project's consent history (or one user's, with ?user=) as csv."""
    user_id = request.GET.get("user")
    if user_id:
        customer = customer_by_user_id(project, user_id)
        if customer is None:
            raise Http404
        changes = customer_history(customer).order_by("id")
        filename = "consent-history-user.csv"
    else:
        changes = project_history(project)
        filename = f"consent-history-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse(exports.csv_lines(changes), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@project_view()
@require_POST
def change_consents(request: HttpRequest, project: Project, user_id: str) -> HttpResponse:
    """A member changes a user's promotional and night-time consent; the
    history records it with source "console" and the member."""
    if not request.membership.can(Role.MARKETER):
        raise PermissionDenied(_("Only marketers and admins may change a user's consent."))
    customer = customer_by_user_id(project, user_id)
    if customer is None:
        raise Http404
    form = ConsentChangeForm(request.POST)
    form.is_valid()  # two optional checkboxes: always valid
    changes = do_set_consents(
        project,
        customer,
        promotional=form.cleaned_data["promotional"],
        night=form.cleaned_data["night"],
        actor=request.user,
    )
    if changes:
        messages.success(request, _("The consents were changed; a result notice is scheduled."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("customer", project_id=project.id, user_id=customer.user_id)
