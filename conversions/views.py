"""The public end of tracked links (`/l/<code>` redirects and records the
click), and the compose screen's conversion goals step: the goals are this
app's, so their step is too; it answers like the campaign's other steps."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from campaigns.views import editable_campaign, form_errors, problem_messages, step_saved
from conversions.actions import GoalsProblem, do_follow_link, do_set_campaign_goals
from conversions.forms import GoalsForm
from projects.access import project_view
from projects.models import Project


@never_cache
@require_safe
def follow_link(request: HttpRequest, code: str) -> HttpResponse:
    """302 to the URL the marketer wrote; 404 for anything not genuine. A
    HEAD (link previews, crawlers checking the target) redirects without
    counting a click."""
    url = do_follow_link(code, record=request.method == "GET")
    if url is None:
        raise Http404("unknown link")
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@project_view()
@require_POST
def save_campaign_goals(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = editable_campaign(request, project, campaign_id)
    form = GoalsForm(request.POST)
    if not form.is_valid():
        return step_saved(request, campaign, "goals", form_errors(form))
    try:
        do_set_campaign_goals(campaign, request.user, form.cleaned_data["goals"])
    except GoalsProblem as exc:
        return step_saved(request, campaign, "goals", problem_messages(exc))
    return step_saved(request, campaign, "goals")
