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
from django.views.decorators.http import require_GET

from audiences.queries import customer_by_user_id
from consent import exports
from consent.actions import do_save_notice_settings
from consent.forms import NoticeSettingsForm
from consent.queries import (
    PAGE_NOTICES,
    customer_history,
    impossible_notices,
    notice_config,
    notice_counts,
    project_history,
    upcoming_notices,
)
from consent.texts import REMINDER, RESULT, NoticeTemplateError, check_notice_template
from projects.access import project_view
from projects.models import Project, Role


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
    if request.method == "POST" and any("problems" in p for p in previews.values()):
        status = 400
    context = {
        "form": form,
        "config": config,
        "previews": [
            (RESULT, form["result_text"], form["result_enabled"], previews[RESULT]),
            (REMINDER, form["reminder_text"], form["reminder_enabled"], previews[REMINDER]),
        ],
        "counts": notice_counts(project),
        "upcoming": upcoming_notices(project)[:PAGE_NOTICES],
        "impossible": impossible_notices(project)[:PAGE_NOTICES],
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
