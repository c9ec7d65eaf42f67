"""Console screens for the SMS channel: the Channels page, sender-number
registration and the protected document download. The page's test-SMS form
posts to the test-SMS producer (`campaigns.test_sends`, its views in
`campaigns.views`), and its list of recent test messages comes from there
through the `test_sms_tags` template tags: channels knows no message."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.actions import do_register_sender_number, do_set_default_sender
from channels.forms import SenderNumberForm, TestSmsForm
from channels.models import SenderNumber, SenderNumberDocument
from channels.queries import approved_senders, project_optout_number
from projects.access import load_membership, project_view
from projects.models import Project, Role


def channels_context(request: HttpRequest, project: Project, **extra: object) -> dict:
    """What the Channels page shows; `extra` replaces parts (a test-SMS form
    with its errors)."""
    context = {
        "project": project,
        "senders": SenderNumber.objects.filter(project=project).prefetch_related("documents"),
        "optout_number": project_optout_number(project),
        "is_admin": request.membership.can(Role.ADMIN),
    }
    if context["is_admin"]:
        context["test_form"] = TestSmsForm(senders=list(approved_senders(project)))
    context.update(extra)
    return context


@project_view()
def channels_page(request: HttpRequest, project: Project) -> HttpResponse:
    return render(request, "channels/channels.html", channels_context(request, project))


@project_view(Role.ADMIN)
def register_sender_number(request: HttpRequest, project: Project) -> HttpResponse:
    form = SenderNumberForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sender = do_register_sender_number(
                project,
                request.user,
                number=data["number"],
                owner_type=data["owner_type"],
                owner_name=data["owner_name"],
                is_company_number=data["is_company_number"],
                label=data["label"],
                documents=form.documents(),
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("%(number)s was filed for review.") % {"number": sender.display_number},
            )
            return redirect("channels", project_id=project.id)
    status = 400 if form.errors else 200
    context = {"form": form, "document_limit_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024)}
    return render(request, "channels/register_sender_number.html", context, status=status)


@project_view(Role.ADMIN)
@require_POST
def set_default_sender(request: HttpRequest, project: Project, sender_id: int) -> HttpResponse:
    sender = get_object_or_404(SenderNumber, project=project, pk=sender_id)
    try:
        do_set_default_sender(sender, request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(number)s is now the default sender.") % {"number": sender.display_number},
        )
    return redirect("channels", project_id=project.id)


@login_required
def sender_document(
    request: HttpRequest, project_id: str, sender_id: int, document_id: int
) -> FileResponse:
    """A document of a sender-number profile, for the project's admins and
    platform staff only; always a download, never rendered by the browser."""
    if not request.user.is_staff:
        load_membership(request, project_id, Role.ADMIN)
    document = get_object_or_404(
        SenderNumberDocument.objects.select_related("sender_number"),
        pk=document_id,
        sender_number_id=sender_id,
        sender_number__project_id=project_id,
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
