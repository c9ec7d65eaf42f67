"""Console screens for the opt-out list: the list with search, add and
remove, one number's history, export, the migration import and the policy."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from console.lib.phone import check_e164
from optout import exports
from optout.actions import (
    ListChange,
    do_opt_in,
    do_opt_out,
    do_set_optout_policy,
    do_upload_optout_import,
)
from optout.forms import ImportForm, NumbersForm, PolicyForm
from optout.imports import ImportRejected, rejection_text, row_problem_text
from optout.models import OptOutImport, Source
from optout.queries import (
    applies_to_all_messages,
    is_opted_out,
    number_history,
    optouts,
    recent_imports,
)
from projects.access import project_view
from projects.models import Project, Role

PAGE_SIZE = 50


def _list_context(request: HttpRequest, project: Project, **extra: object) -> dict:
    query = request.GET.get("q", "").strip()
    entries = optouts(project, query=query).select_related("created_by")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    applies_to_all = applies_to_all_messages(project)
    context = {
        "project": project,
        "page": page,
        "q": query,
        "can_change": request.membership.can(Role.MARKETER),
        "is_admin": request.membership.can(Role.ADMIN),
        "applies_to_all": applies_to_all,
        "numbers_form": NumbersForm(),
        "policy_form": PolicyForm(initial={"applies_to_all_messages": applies_to_all}),
        "invalid": [],
    }
    context.update(extra)
    return context


@project_view()
@require_GET
def optout_list(request: HttpRequest, project: Project) -> HttpResponse:
    return render(request, "optout/optouts.html", _list_context(request, project))


def _summarise(request: HttpRequest, result: ListChange, *, removed: bool) -> None:
    changed, unchanged = len(result.changed), len(result.unchanged)
    if removed:
        text = ngettext(
            "Removed %(count)d number from the list.",
            "Removed %(count)d numbers from the list.",
            changed,
        )
        rest = ngettext("%(count)d was not on it.", "%(count)d were not on it.", unchanged)
    else:
        text = ngettext(
            "Added %(count)d number to the list.", "Added %(count)d numbers to the list.", changed
        )
        rest = ngettext("%(count)d was already on it.", "%(count)d were already on it.", unchanged)
    summary = text % {"count": changed}
    if unchanged:
        summary += " " + rest % {"count": unchanged}
    messages.success(request, summary)


def _change(request: HttpRequest, project: Project, *, removed: bool) -> HttpResponse:
    form = NumbersForm(request.POST)
    if form.is_valid():
        action = do_opt_in if removed else do_opt_out
        result = action(project, form.cleaned_data["numbers"], Source.CONSOLE, request.user)
        _summarise(request, result, removed=removed)
        if not result.invalid:
            return redirect("optouts", project_id=project.id)
        # Keep only the refused lines in the box, each with its reason.
        form = NumbersForm(initial={"numbers": "\n".join(i.phone_number for i in result.invalid)})
        context = _list_context(request, project, numbers_form=form, invalid=result.invalid)
        return render(request, "optout/optouts.html", context, status=400)
    context = _list_context(request, project, numbers_form=form)
    return render(request, "optout/optouts.html", context, status=400)


@project_view(Role.MARKETER)
@require_POST
def add_optouts(request: HttpRequest, project: Project) -> HttpResponse:
    return _change(request, project, removed=False)


@project_view(Role.MARKETER)
@require_POST
def remove_optouts(request: HttpRequest, project: Project) -> HttpResponse:
    return _change(request, project, removed=True)


@project_view()
@require_GET
def optout_history(request: HttpRequest, project: Project) -> HttpResponse:
    number = request.GET.get("number", "").strip()
    problem = check_e164(number) if number else None
    context = {
        "project": project,
        "number": number,
        "problem": problem,
        "changes": number_history(project, number) if number and not problem else [],
        "on_list": bool(number) and not problem and is_opted_out(project, number),
    }
    return render(request, "optout/history.html", context, status=400 if problem else 200)


@project_view()
@require_GET
def export_optouts(request: HttpRequest, project: Project, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404
    entries = optouts(project, query=request.GET.get("q", ""))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"optouts-{stamp}.{fmt}"
    if fmt == "xlsx":
        return FileResponse(
            exports.write_xlsx(entries),
            as_attachment=True,
            filename=filename,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response = StreamingHttpResponse(exports.csv_lines(entries), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@project_view(Role.MARKETER)
def import_optouts(request: HttpRequest, project: Project) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            optout_import = do_upload_optout_import(
                project, form.cleaned_data["file"], request.user
            )
        except ImportRejected as exc:
            form.add_error("file", str(exc))
        else:
            if optout_import.status != OptOutImport.Status.REFUSED:
                return redirect("optout_import", project_id=project.id, import_id=optout_import.id)
            # A small file is read during the request: say what is wrong
            # with it right on the form.
            form.add_error(
                "file", rejection_text(optout_import.error_code, optout_import.error_params)
            )
    status = 400 if form.errors else 200
    context = {
        "project": project,
        "form": form,
        "imports": recent_imports(project),
        "max_rows": settings.OPTOUT_IMPORT_MAX_ROWS,
    }
    return render(request, "optout/import.html", context, status=status)


def _import(project: Project, import_id: object) -> OptOutImport:
    optout_import = OptOutImport.objects.filter(project=project, pk=import_id).first()
    if optout_import is None:
        raise Http404
    return optout_import


def _import_context(project: Project, optout_import: OptOutImport) -> dict:
    return {
        "project": project,
        "optout_import": optout_import,
        "status_url": reverse("optout_import_status", args=[project.id, optout_import.id]),
        "running": optout_import.status == OptOutImport.Status.IMPORTING,
        "progress": optout_import.progress,
        "progress_label": _("Importing… %(progress)s%%") % {"progress": optout_import.progress},
        "refusal": (
            rejection_text(optout_import.error_code, optout_import.error_params)
            if optout_import.error_code
            else ""
        ),
        "invalid": [
            (row, value, row_problem_text(code, value))
            for row, value, code in optout_import.invalid
        ],
    }


@project_view()
@require_GET
def optout_import(request: HttpRequest, project: Project, import_id: str) -> HttpResponse:
    """One import: its progress while it runs, then its report (or why the
    file was refused), in the reader's language."""
    context = _import_context(project, _import(project, import_id))
    return render(request, "optout/import_detail.html", context)


@project_view()
@require_GET
def optout_import_status(request: HttpRequest, project: Project, import_id: str) -> HttpResponse:
    """The progress fragment htmx polls; once done it reloads the page."""
    context = _import_context(project, _import(project, import_id))
    response = render(request, "_progress.html", context)
    if not context["running"]:
        response["HX-Refresh"] = "true"
    return response


@project_view(Role.ADMIN)
@require_POST
def set_policy(request: HttpRequest, project: Project) -> HttpResponse:
    form = PolicyForm(request.POST)
    form.is_valid()  # a checkbox: absent means off, so it is always valid
    value = form.cleaned_data["applies_to_all_messages"]
    if do_set_optout_policy(project, value, request.user):
        if value:
            messages.success(request, _("The opt-out list now applies to every message."))
        else:
            messages.success(request, _("The opt-out list now applies to promotional messages."))
    return redirect("optouts", project_id=project.id)
