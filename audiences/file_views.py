"""Console screens for audience files: list and upload, one file's result
(progress, errors by row and column, downloads), and the sample file."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from audiences.api.file_views import XLSX_TYPE
from audiences.files import exports
from audiences.files.actions import (
    AudienceFileInUse,
    UploadRefused,
    check_upload_size,
    do_delete_audience_file,
    do_upload_audience_file,
)
from audiences.files.messages import with_messages
from audiences.files.queries import audience_files
from audiences.models import AudienceFile
from console.lib.liquid import LiquidError
from projects.access import project_view
from projects.models import Project, Role


def _file(project: Project, file_id: object) -> AudienceFile:
    return get_object_or_404(AudienceFile, project=project, pk=file_id)


def _download(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@project_view()
def audience_files_page(request: HttpRequest, project: Project) -> HttpResponse:
    context = {
        "project": project,
        "files": audience_files(project)[:200],
        "can_upload": request.membership.can(Role.MARKETER),
        "max_size": filesizeformat(settings.AUDIENCE_FILE_MAX_BYTES),
        "max_rows": f"{settings.AUDIENCE_FILE_MAX_ROWS:,}",
    }
    return render(request, "audiences/files.html", context)


@project_view(Role.MARKETER)
@require_POST
def upload_audience_file(request: HttpRequest, project: Project) -> HttpResponse:
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise UploadRefused("file_missing", _("Choose a csv or xlsx file to upload."))
        check_upload_size(upload.size)
        audience_file = do_upload_audience_file(project, request.user, upload)
    except UploadRefused as exc:
        messages.error(request, exc.message)
        return redirect("audience_files", project_id=project.id)
    return redirect("audience_file", project_id=project.id, file_id=audience_file.id)


@project_view()
def audience_file_page(request: HttpRequest, project: Project, file_id: str) -> HttpResponse:
    audience_file = _file(project, file_id)
    context = {
        "project": project,
        "file": audience_file,
        "errors": with_messages(audience_file.errors),
        "more_errors": audience_file.error_count - len(audience_file.errors),
        # The corrected file rewrites national numbers only; the page must not
        # tell the user to upload it as it is while other errors remain.
        "uncorrected": max(audience_file.error_count - audience_file.correctable, 0),
        "can_upload": request.membership.can(Role.MARKETER),
    }
    return render(request, "audiences/file_detail.html", context)


@project_view()
def audience_file_status(request: HttpRequest, project: Project, file_id: str) -> HttpResponse:
    """The progress fragment htmx polls while the file validates; once done it
    tells htmx to reload the page with the result."""
    audience_file = _file(project, file_id)
    response = render(
        request, "audiences/_file_progress.html", {"project": project, "file": audience_file}
    )
    if audience_file.status != AudienceFile.Status.VALIDATING:
        response["HX-Refresh"] = "true"
    return response


@project_view()
def audience_file_errors(request: HttpRequest, project: Project, file_id: str) -> HttpResponse:
    audience_file = _file(project, file_id)
    stem = audience_file.name.rsplit(".", 1)[0]
    return _download(exports.error_report(audience_file), f"{stem}-errors.csv")


@project_view()
def audience_file_corrected(request: HttpRequest, project: Project, file_id: str) -> HttpResponse:
    audience_file = _file(project, file_id)
    if not audience_file.correctable:
        messages.error(request, _("This file has no national-format number to correct."))
        return redirect("audience_file", project_id=project.id, file_id=audience_file.id)
    stem = audience_file.name.rsplit(".", 1)[0]
    return _download(exports.corrected_file(audience_file), f"{stem}-corrected.csv")


@project_view()
def audience_file_sample(request: HttpRequest, project: Project) -> HttpResponse:
    body = request.GET.get("body", "")
    try:
        exports.sample_columns(body)
    except LiquidError as exc:
        messages.error(request, _("The message is not valid Liquid: %(reason)s") % {"reason": exc})
        return redirect("audience_files", project_id=project.id)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(exports.sample_xlsx(body), content_type=XLSX_TYPE)
        response["Content-Disposition"] = 'attachment; filename="audience-sample.xlsx"'
        return response
    return _download(exports.sample_csv(body), "audience-sample.csv")


@project_view(Role.MARKETER)
@never_cache
def audience_file_delete(request: HttpRequest, project: Project, file_id: str) -> HttpResponse:
    """Delete a file no campaign uses, after a confirmation (GET asks, POST
    deletes); a file in use stays, and the page says which campaign has it."""
    audience_file = _file(project, file_id)
    page = reverse("audience_file", args=[project.id, audience_file.id])
    if request.method != "POST":
        return render(
            request,
            "projects/confirm.html",
            {
                "title": _("Delete audience file"),
                "question": _("Delete %(name)s and its %(rows)s rows? This cannot be undone.")
                % {"name": audience_file.name, "rows": f"{audience_file.rows:,}"},
                "button": _("Delete"),
                "cancel_url": page,
            },
        )
    try:
        do_delete_audience_file(audience_file, request.user)
    except AudienceFileInUse as exc:
        messages.error(request, str(exc))
        return redirect(page)
    messages.success(request, _("%(name)s was deleted.") % {"name": audience_file.name})
    return redirect("audience_files", project_id=project.id)
