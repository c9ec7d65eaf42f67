"""Console screens for campaigns: the list, the compose screen (audience →
content → test send → conversion goals → timing, each step saving the draft
with htmx), and the campaign page with its live progress, pause, resume and
cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from audiences.queries import customer_by_user_id
from campaigns import actions, compose, test_sends
from campaigns.forms import AudienceForm, ContentForm, TestNumberForm, TimingForm
from campaigns.models import Campaign, TestNumber
from campaigns.queries import campaign_progress, messages_to_number, night_hold_waiting
from campaigns.rules import allowed_actions
from channels.forms import TestSmsForm
from channels.queries import SenderNotAllowed, approved_senders, default_sender
from channels.views import channels_context
from console.lib.compliance import DEFAULT_TIME_ZONE, resolve_time_zone
from dispatch.models import Message
from projects.access import load_membership, project_view
from projects.models import Membership, Project, Role

S = Campaign.Status
LIVE_STATUSES = (S.SCHEDULED, S.SENDING, S.PAUSED)
SAVED_EVENT = "campaign-saved"
REPORT_WAIT = timedelta(minutes=30)


def _campaign(project: Project, campaign_id: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related(
            "project", "segment", "audience_file", "sender_number", "outbox__stats"
        ),
        project=project,
        pk=campaign_id,
    )


def editable_campaign(request: HttpRequest, project: Project, campaign_id: int) -> Campaign:
    """The campaign for a compose write: marketers and admins only (403 for
    viewers, with the reason), and only before it starts."""
    load_membership(request, project.id, Role.MARKETER)
    return _campaign(project, campaign_id)


# --- the list ------------------------------------------------------------------


@project_view()
def campaign_list(request: HttpRequest, project: Project) -> HttpResponse:
    """The project's campaigns, newest first; archived ones only when asked
    for (`?archived=1`), instead of the others."""
    archived = request.GET.get("archived") == "1"
    campaigns = Campaign.objects.filter(
        project=project, archived_at__isnull=not archived
    ).select_related("segment", "audience_file", "outbox__stats")
    page = Paginator(campaigns, 50).get_page(request.GET.get("page"))
    rows = [(campaign, _percent(campaign)) for campaign in page]
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "project": project,
            "page": page,
            "rows": rows,
            "archived": archived,
            "can_edit": request.membership.can(Role.MARKETER),
        },
    )


def _percent(campaign: Campaign) -> int:
    stats = getattr(campaign, "stats", None)
    if stats is None or not stats.recipients:
        return 0
    return round(100 * (stats.recipients - max(stats.queued, 0)) / stats.recipients)


@project_view(Role.MARKETER)
@require_POST
def campaign_new(request: HttpRequest, project: Project) -> HttpResponse:
    name = _("Campaign of %(date)s") % {
        "date": timezone.localtime(timezone.now(), resolve_time_zone(project.time_zone)).strftime(
            "%Y-%m-%d %H:%M"
        )
    }
    campaign = actions.do_create_draft(project, request.user, name)
    if sender := default_sender(project):
        actions.do_update_campaign(campaign, request.user, sender_number=sender)
    return redirect("campaign_compose", project_id=project.id, campaign_id=campaign.pk)


# --- compose -------------------------------------------------------------------


def _forms(campaign: Campaign, data: Any = None) -> dict[str, Any]:
    project = campaign.project
    audience = ""
    if campaign.segment_id:
        audience = f"segment:{campaign.segment_id}"
    elif campaign.audience_file_id:
        audience = f"file:{campaign.audience_file_id}"
    zone = campaign.time_zone or project.time_zone or DEFAULT_TIME_ZONE
    timing_initial: dict[str, Any] = {"when": "now", "time_zone": zone}
    if campaign.scheduled_at:
        local = campaign.scheduled_at.astimezone(resolve_time_zone(zone))
        timing_initial.update(when="later", send_at=local.replace(tzinfo=None))
    return {
        "audience_form": AudienceForm(
            project=project, initial={"name": campaign.name, "audience": audience}
        ),
        "content_form": ContentForm(
            senders=approved_senders(project),
            initial={
                "sender_number": campaign.sender_number_id,
                "is_promotional": campaign.is_promotional,
                "file_consent_confirmed": campaign.file_consent_confirmed,
                "title": campaign.title,
                "body": campaign.body,
            },
        ),
        "timing_form": TimingForm(initial=timing_initial),
        "test_number_form": TestNumberForm(),
    }


def _test_targets(project: Project) -> dict[str, Any]:
    return {
        "member_phones": Membership.objects.filter(project=project)
        .exclude(phone_number="")
        .select_related("user")
        .order_by("user__email"),
        "test_numbers": TestNumber.objects.filter(project=project),
    }


@project_view()
@never_cache
def campaign_compose(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """The compose screen; viewers see it read-only. A campaign that has
    started has nothing left to compose: its page instead."""
    campaign = _campaign(project, campaign_id)
    if campaign.status not in actions.EDITABLE:
        return redirect("campaign_detail", project_id=project.id, campaign_id=campaign.pk)
    zone = campaign.time_zone or project.time_zone or DEFAULT_TIME_ZONE
    context = {
        "project": project,
        "campaign": campaign,
        "zone": zone,
        "scheduled_local": _local(campaign.scheduled_at, zone),
        "can_edit": request.membership.can(Role.MARKETER),
        "allowed": allowed_actions(campaign.status),
        "sample_url": reverse("audience_file_sample", args=[project.id]),
        # Said by compose.js when an auto-save gets no answer it can show.
        "not_saved_message": _(
            "Not saved (%(reason)s). Your changes are still in the form: save again."
        ),
        "offline_message": _("the server could not be reached"),
        **_forms(campaign),
        **_test_targets(project),
    }
    return render(request, "campaigns/compose.html", context)


def step_saved(
    request: HttpRequest,
    campaign: Campaign,
    step: str,
    errors: list[str] | None = None,
    *,
    form: Any = None,
    partial: bool = False,
) -> HttpResponse:
    """Answer a step save: the step's status line for htmx (and an event the
    other steps listen to), else back to the compose page. With `form`, each
    field's errors also go next to the field (an htmx out-of-band swap that
    clears the fields now valid); `partial` says the valid fields were saved
    and only the ones named were not."""
    errors = errors or []
    if not request.htmx:
        for error in errors:
            messages.error(request, error)
        if not errors or partial:
            messages.success(request, _("The draft is saved."))
        url = reverse("campaign_compose", args=[campaign.project_id, campaign.pk])
        return redirect(f"{url}#step-{step}")
    response = render(
        request,
        "campaigns/_save_status.html",
        {
            "errors": errors,
            "partial": partial,
            "saved_at": timezone.now(),
            "step": step,
            "field_errors": _field_errors(form) if form is not None else [],
        },
    )
    if not errors or partial:
        trigger_client_event(response, SAVED_EVENT, {"step": step})
    return response


def form_errors(form: Any) -> list[str]:
    """Every error of the form, each named by its field's label, so that no
    error is shown without saying which field it is about."""
    named = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = str(field.label) if field is not None and field.label else ""
        named += [f"{label}: {error}" if label else str(error) for error in errors]
    return named


def _field_errors(form: Any) -> list[tuple[str, list[str]]]:
    """(id of the field's error list, its errors) for every field of the form
    the compose screen shows an error list beside; empty lists clear it."""
    return [
        (form[name].auto_id, [str(e) for e in form.errors.get(name, [])])
        for name in form.fields
        if name in FIELD_ERROR_SLOTS
    ]


# The fields the compose screen has an error list beside (compose.html).
FIELD_ERROR_SLOTS = frozenset(
    {
        "name",
        "audience",
        "sender_number",
        "is_promotional",
        "file_consent_confirmed",
        "title",
        "body",
    }
)


def problem_messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc)]


@project_view()
@require_POST
def save_audience(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """Save the name and the audience; a field that does not validate (an
    empty name) does not stop the other from being saved, and is named."""
    campaign = editable_campaign(request, project, campaign_id)
    form = AudienceForm(request.POST, project=project)
    valid = form.is_valid()
    changes: dict[str, Any] = {}
    if "name" in form.cleaned_data:
        changes["name"] = form.cleaned_data["name"]
    if "audience" in form.cleaned_data:
        changes["segment"], changes["audience_file"] = form.chosen()
    return _save_step(request, campaign, "audience", form, changes, valid)


def _save_step(
    request: HttpRequest,
    campaign: Campaign,
    step: str,
    form: Any,
    changes: dict[str, Any],
    valid: bool,
) -> HttpResponse:
    """Save the fields of a step that validated and say what was not saved."""
    errors = [] if valid else form_errors(form)
    if errors:
        # Only what the user changed counts as saved beside an error.
        changes = {k: v for k, v in changes.items() if getattr(campaign, k) != v}
    if not changes:
        return step_saved(request, campaign, step, errors, form=form)
    try:
        actions.do_update_campaign(campaign, request.user, **changes)
    except (actions.CampaignProblem, SenderNotAllowed) as exc:
        return step_saved(request, campaign, step, errors + problem_messages(exc), form=form)
    return step_saved(request, campaign, step, errors, form=form, partial=bool(errors))


@project_view()
def audience_count(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """The saved audience's live size (htmx, after each save)."""
    campaign = _campaign(project, campaign_id)
    size = compose.audience_size(
        project,
        campaign.segment,
        campaign.audience_file,
        is_promotional=campaign.is_promotional,
    )
    return render(
        request,
        "campaigns/_audience_count.html",
        {"project": project, "campaign": campaign, "size": size},
    )


@project_view()
@require_GET
def readiness(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """What still stops the saved campaign from going (htmx, after each save)."""
    campaign = _campaign(project, campaign_id)
    return render(
        request, "campaigns/_readiness.html", {"missing": compose.blocking_problems(campaign)}
    )


@project_view()
@require_POST
def save_content(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = editable_campaign(request, project, campaign_id)
    form = ContentForm(request.POST, senders=approved_senders(project))
    valid = form.is_valid()
    changes = {
        name: form.cleaned_data[name]
        for name in ("sender_number", "is_promotional", "file_consent_confirmed", "title", "body")
        if name in form.cleaned_data
    }
    return _save_step(request, campaign, "content", form, changes, valid)


@project_view()
@require_POST
def preview(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """The live preview of the content as typed (or as saved, for viewers,
    whose form is disabled), for the chosen recipient. Read-only."""
    campaign = _campaign(project, campaign_id)
    post = request.POST
    typed = "body" in post
    result = compose.build_preview(
        project,
        body=post.get("body", "") if typed else campaign.body,
        title=post.get("title", "") if typed else campaign.title,
        is_promotional=bool(post.get("is_promotional")) if typed else campaign.is_promotional,
        segment=campaign.segment,
        audience_file=campaign.audience_file,
        data=campaign.data,
        recipient_query=post.get("recipient", ""),
    )
    return render(
        request,
        "campaigns/_preview.html",
        {"project": project, "campaign": campaign, "preview": result},
    )


@project_view()
@require_POST
def test_send(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """Send the saved message, rendered for the chosen recipient, to the
    chosen member phones and test numbers."""
    campaign = editable_campaign(request, project, campaign_id)
    targets = _test_targets(project)
    members = {str(m.pk): m.phone_number for m in targets["member_phones"]}
    saved = {str(n.pk): n.phone_number for n in targets["test_numbers"]}
    numbers = [members[k] for k in request.POST.getlist("member") if k in members]
    numbers += [saved[k] for k in request.POST.getlist("test_number") if k in saved]
    recipient = compose.pick_recipient(
        project,
        campaign.segment,
        campaign.audience_file,
        request.POST.get("recipient", ""),
        is_promotional=campaign.is_promotional,
    )
    errors: list[str] = []
    sent: list[test_sends.TestSend] = []
    if isinstance(recipient, str):
        errors.append(recipient)
    else:
        try:
            sent = actions.do_send_campaign_test(
                campaign, request.user, numbers, recipient.context if recipient else {}
            )
        except (actions.CampaignProblem, ValidationError) as exc:
            errors = problem_messages(exc)
    context = {"project": project, "campaign": campaign, "errors": errors, "sent": sent}
    if not request.htmx:
        for error in errors:
            messages.error(request, error)
        if sent:
            messages.success(request, _("The test message is queued."))
        url = reverse("campaign_compose", args=[project.id, campaign.pk])
        return redirect(f"{url}#step-test")
    # htmx swaps only 2xx answers: errors come back as 200 with the messages.
    return render(request, "campaigns/_test_send_result.html", context)


@project_view(Role.MARKETER)
@require_GET
def test_send_status(
    request: HttpRequest, project: Project, campaign_id: int, message_id: str
) -> HttpResponse:
    campaign = _campaign(project, campaign_id)
    message = test_sends.find_test_send(project, message_id)
    if message is None:
        raise Http404
    return render(
        request,
        "campaigns/_test_send_status.html",
        {"project": project, "campaign": campaign, "message": message},
    )


# --- the Channels page's test SMS ---------------------------------------------------


@project_view(Role.ADMIN)
@require_POST
def send_test_sms(request: HttpRequest, project: Project) -> HttpResponse:
    """The Channels page's test SMS: through the send core's test outbox;
    with errors, the page again with the form's errors."""
    form = TestSmsForm(request.POST, senders=list(approved_senders(project)))
    if form.is_valid():
        try:
            test_sends.do_send_test_sms(
                project,
                request.user,
                sender_number=form.cleaned_data["sender_number"],
                to=form.cleaned_data["to"],
                body=form.cleaned_data["body"],
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("The test SMS is queued."))
            return redirect("channels", project_id=project.id)
    context = channels_context(request, project, test_form=form)
    return render(request, "channels/channels.html", context, status=400)


@project_view(Role.ADMIN)
@require_GET
def test_sms_status(request: HttpRequest, project: Project, message_id: int) -> HttpResponse:
    message = test_sends.find_test_send(project, message_id)
    if message is None:
        raise Http404
    return render(
        request, "channels/_test_sms_status.html", {"project": project, "message": message}
    )


def _test_numbers_partial(
    request: HttpRequest, project: Project, campaign: Campaign, form: TestNumberForm
) -> HttpResponse:
    if not request.htmx:
        for error in form_errors(form):
            messages.error(request, error)
        url = reverse("campaign_compose", args=[project.id, campaign.pk])
        return redirect(f"{url}#step-test")
    context = {
        "project": project,
        "campaign": campaign,
        "can_edit": True,
        "test_number_form": form,
        **_test_targets(project),
    }
    return render(request, "campaigns/_test_targets.html", context)


@project_view()
@require_POST
def add_test_number(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = editable_campaign(request, project, campaign_id)
    form = TestNumberForm(request.POST)
    if form.is_valid():
        actions.do_add_test_number(
            project, request.user, form.cleaned_data["phone_number"], form.cleaned_data["label"]
        )
        form = TestNumberForm()
    return _test_numbers_partial(request, project, campaign, form)


@project_view()
@require_POST
def remove_test_number(
    request: HttpRequest, project: Project, campaign_id: int, number_id: int
) -> HttpResponse:
    campaign = editable_campaign(request, project, campaign_id)
    number = get_object_or_404(TestNumber, project=project, pk=number_id)
    actions.do_remove_test_number(number, request.user)
    return _test_numbers_partial(request, project, campaign, TestNumberForm())


@project_view()
@require_POST
@never_cache
def review(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """The timing step: check the time, keep the zone, and show the summary
    to confirm (or what is missing). `confirm` sends or schedules."""
    campaign = editable_campaign(request, project, campaign_id)
    if campaign.status not in actions.EDITABLE:
        # A page from before the start (the browser's Back) must not offer
        # to send it again: say what it is now and show its page.
        messages.error(
            request,
            _("This campaign is already %(status)s: nothing was sent again.")
            % {"status": campaign.get_status_display()},
        )
        url = reverse("campaign_detail", args=[project.id, campaign.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    form = TimingForm(request.POST)
    errors: list[str] = []
    if not form.is_valid():
        errors = form_errors(form)
    elif form.cleaned_data["time_zone"] != campaign.time_zone:
        try:
            actions.do_update_campaign(
                campaign, request.user, time_zone=form.cleaned_data["time_zone"]
            )
        except actions.CampaignProblem as exc:
            errors = problem_messages(exc)
    problems = compose.blocking_problems(campaign)
    if not errors and not problems and request.POST.get("confirm"):
        return _launch(request, campaign, form.cleaned_data)
    context = {
        "project": project,
        "campaign": campaign,
        "errors": errors,
        "problems": problems,
        "timing": form.cleaned_data if not errors else None,
        "post": request.POST,
        "preview": compose.campaign_preview(campaign),
        "goals": list(campaign.goals.all()),
        "standalone": not request.htmx,
        "night": None if errors else _night_hold(campaign, form.cleaned_data["at"]),
    }
    if not request.htmx:
        return render(request, "campaigns/review.html", context, status=422 if errors else 200)
    return render(request, "campaigns/_review.html", context)


def _night_hold(campaign: Campaign, at: datetime | None) -> dict[str, Any] | None:
    """Who would wait for the morning if the campaign went at `at` (now when
    None), with the release times in the display zone."""
    hold = compose.night_hold(campaign, at or timezone.now())
    if hold is None:
        return None
    zone = campaign.time_zone or campaign.project.time_zone or DEFAULT_TIME_ZONE
    return {
        "held": hold.held,
        "from": _local(hold.first_release, zone),
        "until": _local(hold.last_release, zone),
        "zone": zone,
        "zones": [(release_zone, count) for _r, release_zone, count in hold.releases],
    }


def _launch(request: HttpRequest, campaign: Campaign, timing: dict[str, Any]) -> HttpResponse:
    try:
        if timing["at"] is not None:
            done = actions.do_schedule_campaign(campaign, timing["at"], request.user)
            success = _("The campaign is scheduled.")
        else:
            done = actions.do_start_campaign(campaign, request.user)
            success = _("The campaign is sending.")
    except (actions.CampaignProblem, SenderNotAllowed) as exc:
        done, success = False, ""
        messages.error(request, str(exc))
    else:
        if not done:
            messages.error(request, _("The campaign has already started or was cancelled."))
    if done:
        messages.success(request, success)
    url = reverse("campaign_detail", args=[campaign.project_id, campaign.pk])
    if not done:
        url = reverse("campaign_compose", args=[campaign.project_id, campaign.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@project_view()
@require_POST
def unschedule(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = editable_campaign(request, project, campaign_id)
    if actions.do_unschedule_campaign(campaign, request.user):
        messages.success(request, _("The campaign is no longer scheduled; it is a draft again."))
    return redirect("campaign_compose", project_id=project.id, campaign_id=campaign.pk)


# --- the campaign page ------------------------------------------------------------


@project_view()
@never_cache
def campaign_detail(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = _campaign(project, campaign_id)
    zone = campaign.time_zone or project.time_zone or DEFAULT_TIME_ZONE
    context = {
        "project": project,
        "campaign": campaign,
        "zone": zone,
        "scheduled_local": _local(campaign.scheduled_at, zone),
        "goals": list(campaign.goals.all()),
        # Counted once per page, not on every refresh of the progress.
        "night_forecast": (
            _night_hold(campaign, campaign.scheduled_at)
            if campaign.status == S.SCHEDULED and campaign.scheduled_at
            else None
        ),
        **_progress_context(request, campaign),
    }
    return render(request, "campaigns/campaign_detail.html", context)


def _local(moment: datetime | None, zone: str) -> datetime | None:
    """The wall-clock time of `moment` in `zone`, naive so that templates
    do not move it into the display zone."""
    if moment is None:
        return None
    return moment.astimezone(resolve_time_zone(zone)).replace(tzinfo=None)


def _still_reporting(campaign: Campaign, progress: dict[str, Any]) -> bool:
    """A completed campaign whose delivery reports are still coming in (for
    half an hour at most): the page keeps refreshing."""
    if campaign.status != S.COMPLETED or campaign.finished_at is None:
        return False
    recent = timezone.now() - campaign.finished_at < REPORT_WAIT
    return recent and progress["delivered"] + progress["failed"] < progress["sent"]


def _progress_context(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    progress = campaign_progress(campaign)
    skipped = [
        (label, progress["skipped"][reason])
        for reason, label in _skip_labels()
        if progress["skipped"][reason]
    ]
    return {
        "project": campaign.project,
        "campaign": campaign,
        "progress": progress,
        "skipped": skipped,
        "skipped_total": sum(count for _label, count in skipped),
        "live": campaign.status in LIVE_STATUSES or _still_reporting(campaign, progress),
        "night_waiting": _night_waiting(campaign),
        "can_edit": request.membership.can(Role.MARKETER),
        # The buttons: only what the transition table allows now.
        "allowed": allowed_actions(campaign.status),
    }


def _night_waiting(campaign: Campaign) -> dict[str, Any] | None:
    waiting = night_hold_waiting(campaign)
    if waiting is None:
        return None
    zone = campaign.time_zone or campaign.project.time_zone or DEFAULT_TIME_ZONE
    return {
        **waiting,
        "from": _local(waiting["from"], zone),
        "until": _local(waiting["until"], zone),
        "zone": zone,
    }


def _skip_labels() -> list[tuple[str, str]]:
    return [(choice.value, choice.label) for choice in Message.SkipReason]


@project_view()
@require_GET
def campaign_progress_partial(
    request: HttpRequest, project: Project, campaign_id: int
) -> HttpResponse:
    campaign = _campaign(project, campaign_id)
    return render(request, "campaigns/_progress.html", _progress_context(request, campaign))


def _control(request: HttpRequest, project: Project, campaign_id: int, verb: str) -> HttpResponse:
    campaign = editable_campaign(request, project, campaign_id)
    action = {
        "pause": actions.do_pause_campaign,
        "resume": actions.do_resume_campaign,
        "cancel": actions.do_cancel_campaign,
    }[verb]
    if not action(campaign, request.user):
        messages.error(
            request,
            _("Nothing changed: the campaign is %(status)s.")
            % {"status": Campaign.objects.get(pk=campaign.pk).get_status_display()},
        )
    campaign = _campaign(project, campaign_id)
    if request.htmx:
        return render(request, "campaigns/_progress.html", _progress_context(request, campaign))
    return redirect("campaign_detail", project_id=project.id, campaign_id=campaign.pk)


@project_view()
@require_POST
def pause(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    return _control(request, project, campaign_id, "pause")


@project_view()
@require_POST
def resume(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    return _control(request, project, campaign_id, "resume")


@project_view()
@require_POST
def cancel(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    return _control(request, project, campaign_id, "cancel")


# --- one user's messages (on the user's page) ---------------------------------------

MESSAGES_PER_PAGE = 20


@project_view()
@require_GET
def customer_messages(request: HttpRequest, project: Project, user_id: str) -> HttpResponse:
    """The messages sent to a user's phone number, newest first, paged: a
    section of the user's page (htmx), or a page of its own without it."""
    customer = customer_by_user_id(project, user_id)
    if customer is None:
        raise Http404
    page = None
    if customer.phone_number:
        page = Paginator(
            messages_to_number(project.pk, customer.phone_number), MESSAGES_PER_PAGE
        ).get_page(request.GET.get("page"))
    context = {"project": project, "customer": customer, "page": page}
    if request.htmx:
        return render(request, "campaigns/_customer_messages.html", context)
    return render(request, "campaigns/customer_messages.html", context)


# --- delete, archive, duplicate -------------------------------------------------------


def _confirm(
    request: HttpRequest, title: str, question: str, button: str, cancel_url: str
) -> HttpResponse:
    return render(
        request,
        "projects/confirm.html",
        {"title": title, "question": question, "button": button, "cancel_url": cancel_url},
    )


@project_view(Role.MARKETER)
@never_cache
def campaign_delete(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """A draft can be deleted, after a confirmation (GET asks, POST deletes)."""
    campaign = _campaign(project, campaign_id)
    back = reverse("campaign_compose", args=[project.id, campaign.pk])
    if campaign.status != S.DRAFT:
        messages.error(
            request,
            _("Only a draft can be deleted; this campaign is %(status)s.")
            % {"status": campaign.get_status_display()},
        )
        return redirect("campaign_detail", project_id=project.id, campaign_id=campaign.pk)
    if request.method != "POST":
        return _confirm(
            request,
            _("Delete draft"),
            _("Delete the draft %(name)s with its content and goals? This cannot be undone.")
            % {"name": campaign.name},
            _("Delete"),
            back,
        )
    if not actions.do_delete_draft(campaign, request.user):
        messages.error(request, _("The campaign is no longer a draft; it was not deleted."))
        return redirect("campaign_detail", project_id=project.id, campaign_id=campaign.pk)
    messages.success(request, _("The draft %(name)s was deleted.") % {"name": campaign.name})
    return redirect("campaigns", project_id=project.id)


@project_view(Role.MARKETER)
@never_cache
def campaign_archive(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """A completed or cancelled campaign can be archived (GET asks, POST does)."""
    campaign = _campaign(project, campaign_id)
    detail = reverse("campaign_detail", args=[project.id, campaign.pk])
    if request.method != "POST":
        if campaign.status not in actions.ARCHIVABLE:
            messages.error(request, _("Only a completed or cancelled campaign can be archived."))
            return redirect(detail)
        return _confirm(
            request,
            _("Archive campaign"),
            _(
                "Archive %(name)s? It leaves the campaign list (the Archived filter shows it); "
                "its page and statistics stay."
            )
            % {"name": campaign.name},
            _("Archive"),
            detail,
        )
    if actions.do_archive_campaign(campaign, request.user):
        messages.success(request, _("%(name)s is archived.") % {"name": campaign.name})
        return redirect("campaigns", project_id=project.id)
    messages.error(
        request,
        _("Only a completed or cancelled campaign can be archived, once; this one is %(status)s.")
        % {"status": campaign.get_status_display()},
    )
    return redirect(detail)


@project_view(Role.MARKETER)
@require_POST
def campaign_unarchive(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = _campaign(project, campaign_id)
    if actions.do_unarchive_campaign(campaign, request.user):
        messages.success(
            request, _("%(name)s is back in the campaign list.") % {"name": campaign.name}
        )
    return redirect("campaign_detail", project_id=project.id, campaign_id=campaign.pk)


@project_view(Role.MARKETER)
@require_POST
def campaign_duplicate(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    """A new draft with the same audience, content and goals, opened in compose."""
    campaign = _campaign(project, campaign_id)
    try:
        copy = actions.do_duplicate_campaign(campaign, request.user)
    except actions.CampaignProblem as exc:
        messages.error(request, str(exc))
        return redirect("campaign_detail", project_id=project.id, campaign_id=campaign.pk)
    messages.success(
        request,
        _("%(copy)s is a new draft with the audience, content and goals of %(name)s.")
        % {"copy": copy.name, "name": campaign.name},
    )
    return redirect("campaign_compose", project_id=project.id, campaign_id=copy.pk)
