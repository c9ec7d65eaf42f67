"""Console screens for tenancy: logging in, the project switcher, members and
their invitations, API tokens, the audit log and each member's own profile."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from projects import actions, queries, throttle
from projects.access import load_membership, project_view
from projects.forms import (
    ApiTokenForm,
    AuditFilterForm,
    InviteForm,
    LoginForm,
    ProfileForm,
    RoleForm,
    SignUpForm,
)
from projects.models import ApiToken, Invitation, Membership, Project, Role

AUDIT_PAGE_SIZE = 50


# --- Logging in ---------------------------------------------------------------------


def too_many_attempts(request: HttpRequest, wait_seconds: int) -> HttpResponse:
    retry_at = timezone.localtime(timezone.now() + timedelta(seconds=wait_seconds))
    minutes = max(1, -(-wait_seconds // 60))
    message = ngettext(
        "Too many failed log-in attempts. Try again in %(minutes)d minute, after %(time)s.",
        "Too many failed log-in attempts. Try again in %(minutes)d minutes, after %(time)s.",
        minutes,
    ) % {"minutes": minutes, "time": retry_at.strftime("%H:%M")}
    response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(wait_seconds)
    return response


def tries_left_message(username: str, address: str) -> str:
    """What a failed login may still do: tries left, or how long it must wait."""
    left = throttle.attempts_left(username, address)
    if not left:
        minutes = max(1, -(-throttle.seconds_locked(username, address) // 60))
        return ngettext(
            "No tries left: log-in is paused for %(minutes)d minute.",
            "No tries left: log-in is paused for %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
    return ngettext(
        "%(count)d try left before log-in is paused for %(minutes)d minutes.",
        "%(count)d tries left before log-in is paused for %(minutes)d minutes.",
        left,
    ) % {"count": left, "minutes": minutes}


class ThrottledLoginView(auth_views.LoginView):
    """Django's login view with failures counted per username and per address."""

    template_name = "registration/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def _subject(self) -> tuple[str, str]:
        return self.request.POST.get("username", ""), throttle.client_address(self.request)

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wait = throttle.seconds_locked(*self._subject())
        if wait:
            return too_many_attempts(request, wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: LoginForm) -> HttpResponse:
        throttle.clear_username(self._subject()[0])
        return super().form_valid(form)

    def form_invalid(self, form: LoginForm) -> HttpResponse:
        # Only a real check of a password counts, not an empty field.
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            throttle.record_failure(*self._subject())
            form.add_error(None, tries_left_message(*self._subject()))
        return super().form_invalid(form)


login_view = ThrottledLoginView.as_view()
logout_view = auth_views.LogoutView.as_view()


@login_required
def switch_project(request: HttpRequest) -> HttpResponse:
    try:
        project_id = uuid.UUID(request.GET.get("project", ""))
    except ValueError:
        raise Http404 from None
    load_membership(request, project_id, Role.VIEWER)
    return redirect("dashboard", project_id=request.project.id)


# --- Members and invitations -------------------------------------------------------


def _members_page(
    request: HttpRequest,
    project: Project,
    *,
    invite_form: InviteForm | None = None,
    new_invitation: Invitation | None = None,
    new_link: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "projects/members.html",
        {
            "members": queries.members_of(project),
            "invitations": queries.pending_invitations(project),
            "invite_form": invite_form or InviteForm(),
            "role_choices": Role.choices,
            "new_invitation": new_invitation,
            "new_link": new_link,
        },
        status=status,
    )


@project_view(Role.ADMIN)
def members(request: HttpRequest, project: Project) -> HttpResponse:
    return _members_page(request, project)


@require_POST
@project_view(Role.ADMIN)
def invite_member(request: HttpRequest, project: Project) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, raw = actions.do_invite_member(
                project, form.cleaned_data["email"], form.cleaned_data["role"], request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Shown once, in this response only: the raw token is stored nowhere.
            link = request.build_absolute_uri(reverse("invitation", args=[raw]))
            return _members_page(request, project, new_invitation=invitation, new_link=link)
    return _members_page(request, project, invite_form=form, status=400)


@require_POST
@project_view(Role.ADMIN)
def revoke_invitation(request: HttpRequest, project: Project, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, project=project)
    if actions.do_revoke_invitation(invitation, request.user):
        messages.success(
            request, _("The invitation for %(email)s was revoked.") % {"email": invitation.email}
        )
    else:
        messages.error(request, _("That invitation was already used or revoked."))
    return redirect("members", project_id=project.id)


@require_POST
@project_view(Role.ADMIN)
def change_member_role(request: HttpRequest, project: Project, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=membership_id, project=project)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role: Admin, Marketer or Viewer."))
        return redirect("members", project_id=project.id)
    try:
        changed = actions.do_change_member_role(membership, form.cleaned_data["role"], request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("members", project_id=project.id)
    if changed:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": membership.user.email, "role": Role(form.cleaned_data["role"]).label},
        )
    if membership.user_id == request.user.id and form.cleaned_data["role"] != Role.ADMIN:
        # They demoted themselves: the members page is no longer theirs to see.
        return redirect("dashboard", project_id=project.id)
    return redirect("members", project_id=project.id)


@project_view(Role.ADMIN)
def remove_member(request: HttpRequest, project: Project, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, project=project
    )
    if request.method != "POST":
        return render(
            request,
            "projects/confirm.html",
            {
                "title": _("Remove member"),
                "question": _("Remove %(email)s from %(project)s? They lose access at once.")
                % {"email": membership.user.email, "project": project.name},
                "button": _("Remove"),
                "cancel_url": reverse("members", args=[project.id]),
            },
        )
    try:
        actions.do_remove_member(membership, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("members", project_id=project.id)
    messages.success(request, _("%(email)s was removed.") % {"email": membership.user.email})
    if membership.user_id == request.user.id:
        return redirect("home")
    return redirect("members", project_id=project.id)


@project_view(Role.VIEWER)
def my_profile(request: HttpRequest, project: Project) -> HttpResponse:
    """Every member, whatever their role, sets their own number for test sends."""
    membership = request.membership
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            actions.do_set_member_phone(membership, form.cleaned_data["phone_number"])
            messages.success(request, _("Your profile in this project was saved."))
            return redirect("my_profile", project_id=project.id)
        status = 400
    else:
        form = ProfileForm(initial={"phone_number": membership.phone_number})
        status = 200
    return render(request, "projects/profile.html", {"form": form}, status=status)


def _invitation_problem_page(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "projects/invitation_problem.html", {"message": message}, status=status)


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation: join, sign up and join, or log in first."""
    found = (
        Invitation.objects.select_related("project")
        .filter(token_hash=actions.hash_token(token))
        .first()
    )
    if found is None:
        return _invitation_problem_page(
            request,
            _("This invitation link is not valid. Check that you copied all of it."),
            404,
        )
    problem = queries.invitation_problem(found)
    if problem:
        return _invitation_problem_page(request, problem, 410)

    context: dict = {"invitation": found, "role": Role(found.role).label}
    if request.user.is_authenticated:
        if (request.user.email or "").lower() != found.email.lower():
            return _invitation_problem_page(
                request,
                _(
                    "This invitation is for %(invited)s, but you are logged in as %(you)s. "
                    "Log out and open the link again."
                )
                % {"invited": found.email, "you": request.user.email or request.user.username},
                403,
            )
        if request.method == "POST":
            try:
                actions.do_accept_invitation(found, request.user)
            except ValidationError as error:
                return _invitation_problem_page(request, " ".join(error.messages), 409)
            return _joined(request, found)
        return render(request, "projects/invitation_accept.html", context)

    if get_user_model().objects.filter(email__iexact=found.email).exists():
        login_url = reverse("login") + "?" + urlencode({"next": request.path})
        context["login_url"] = login_url
        return render(request, "projects/invitation_login.html", context)

    form = SignUpForm(request.POST or None, email=found.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.do_sign_up_and_accept(found, form.cleaned_data["password1"])
        except ValidationError as error:
            return _invitation_problem_page(request, " ".join(error.messages), 409)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return _joined(request, found)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "projects/invitation_signup.html", {**context, "form": form}, status=status
    )


def _joined(request: HttpRequest, found: Invitation) -> HttpResponse:
    messages.success(
        request,
        _("Welcome to %(project)s. Your role is %(role)s.")
        % {"project": found.project.name, "role": Role(found.role).label},
    )
    return redirect("dashboard", project_id=found.project_id)


# --- API tokens ---------------------------------------------------------------------


@project_view(Role.ADMIN)
def api_tokens(request: HttpRequest, project: Project) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    context: dict = {"form": form, "tokens": queries.api_tokens_of(project)}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            token, raw = actions.do_create_api_token(
                project, form.cleaned_data["name"], request.user
            )
            # Rendered in this response only; afterwards just the prefix is known.
            context.update(new_token=token, raw_token=raw, form=ApiTokenForm())
        else:
            status = 400
    return render(request, "projects/api_tokens.html", context, status=status)


@project_view(Role.ADMIN)
def revoke_api_token(request: HttpRequest, project: Project, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, project=project)
    if request.method != "POST":
        return render(
            request,
            "projects/confirm.html",
            {
                "title": _("Revoke API token"),
                "question": _(
                    "Revoke the token “%(name)s” (%(prefix)s…)? Every request that uses it "
                    "will be refused at once. This cannot be undone."
                )
                % {"name": token.name, "prefix": token.prefix},
                "button": _("Revoke"),
                "cancel_url": reverse("api_tokens", args=[project.id]),
            },
        )
    if actions.do_revoke_api_token(token, request.user):
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    else:
        messages.error(request, _("That token was already revoked."))
    return redirect("api_tokens", project_id=project.id)


# --- Audit log ----------------------------------------------------------------------


@project_view(Role.ADMIN)
def audit_log(request: HttpRequest, project: Project) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, actions=queries.audit_actions_in_use(project))
    action = form.cleaned_data["action"] if form.is_valid() else ""
    page = Paginator(queries.audit_entries(project, action), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    entries = [(entry, queries.audit_action_label(entry.action)) for entry in page]
    return render(
        request,
        "projects/audit_log.html",
        {"form": form, "page": page, "entries": entries, "action": action},
    )
