"""The back office for platform staff: sender-number review, the 080 number
pool, gateways and each project's SMS channel. Every change goes through
channels.actions so the audit log and the status rules hold here too."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels.actions import (
    do_add_optout_pool_numbers,
    do_approve_sender_number,
    do_assign_optout_number,
    do_reject_sender_number,
    do_set_project_gateway,
    do_suspend_sender_number,
    optout_number_error,
)
from channels.models import Gateway, OptOutNumber, SenderNumber, SenderNumberDocument, SmsChannel


class SenderNumberDocumentInline(admin.TabularInline):
    model = SenderNumberDocument
    extra = 0
    can_delete = False
    fields = ("kind", "download", "content_type", "size", "uploaded_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("file"))
    def download(self, document: SenderNumberDocument) -> str:
        url = reverse(
            "sender_document",
            args=[document.sender_number.project_id, document.sender_number_id, document.pk],
        )
        return format_html('<a href="{}">{}</a>', url, document.original_name)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (shown to the project)"), widget=forms.Textarea(attrs={"rows": 3})
    )


def _review_with_reason(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[SenderNumber],
    *,
    action_name: str,
    title: str,
    do_review: object,
) -> HttpResponse | None:
    """The intermediate page asking for the reason, then the review itself."""
    form = ReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_bound and form.is_valid():
        for sender in queryset:
            modeladmin.review(request, do_review, sender, form.cleaned_data["reason"])
        return None
    return TemplateResponse(
        request,
        "admin/channels/reason_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "senders": queryset,
            "action_name": action_name,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        },
    )


# The statuses each review may start from (channels.actions enforces the same).
REVIEW_FROM = {
    "approve": (SenderNumber.Status.PENDING, SenderNumber.Status.SUSPENDED),
    "reject": (SenderNumber.Status.PENDING,),
    "suspend": (SenderNumber.Status.APPROVED,),
}
REVIEW_LABELS = {"approve": _("approve"), "reject": _("reject"), "suspend": _("suspend")}


@admin.register(SenderNumber)
class SenderNumberAdmin(admin.ModelAdmin):
    list_display = (
        "formatted_number",
        "project",
        "owner_name",
        "owner_type",
        "status",
        "is_default",
        "created_at",
    )
    list_filter = ("status", "owner_type")
    search_fields = ("number", "owner_name", "label", "project__name", "project__company_name")
    list_select_related = ("project",)
    inlines = [SenderNumberDocumentInline]
    actions = ["approve", "reject_with_reason", "suspend_with_reason"]
    fields = (
        "project",
        "number",
        "owner_type",
        "owner_name",
        "is_company_number",
        "label",
        "status",
        "status_reason",
        "is_default",
        "registered_by",
        "reviewed_by",
        "reviewed_at",
        "created_at",
    )
    readonly_fields = fields

    change_form_template = "admin/channels/sendernumber/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Registrations come from the project with their documents.
        return False

    def get_urls(self) -> list:
        review = path(
            "<path:object_id>/review/",
            self.admin_site.admin_view(self.review_view),
            name="channels_sendernumber_review",
        )
        return [review, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        sender = self.get_object(request, object_id)
        reviews = []
        if sender is not None:
            reviews = [verb for verb, allowed in REVIEW_FROM.items() if sender.status in allowed]
        context = {**(extra_context or {}), "reviews": reviews, "reason_form": ReasonForm()}
        return super().change_view(request, object_id, form_url, extra_context=context)

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Approve, reject or suspend from the sender number's own page; a
        rejection or suspension needs the reason the project will read."""
        sender = self.get_object(request, object_id)
        if sender is None or not self.has_change_permission(request, sender):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        back = reverse("admin:channels_sendernumber_change", args=[sender.pk])
        verb = request.POST.get("review", "")
        if verb == "approve":
            self.review(request, do_approve_sender_number, sender)
            return HttpResponseRedirect(back)
        do_review = {"reject": do_reject_sender_number, "suspend": do_suspend_sender_number}.get(
            verb
        )
        if do_review is None:
            self.message_user(
                request, gettext("Unknown review %(verb)r.") % {"verb": verb}, messages.ERROR
            )
            return HttpResponseRedirect(back)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request,
                gettext("Give the reason the project will read before you %(verb)s.")
                % {"verb": REVIEW_LABELS[verb]},
                messages.ERROR,
            )
            return HttpResponseRedirect(back)
        self.review(request, do_review, sender, form.cleaned_data["reason"])
        return HttpResponseRedirect(back)

    @admin.display(description=_("number"), ordering="number")
    def formatted_number(self, sender: SenderNumber) -> str:
        return sender.display_number

    def review(self, request: HttpRequest, do_review: object, sender: SenderNumber, *args) -> None:
        try:
            do_review(sender, request.user, *args)
        except ValidationError as exc:
            for message in exc.messages:
                self.message_user(request, message, messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("%(number)s is now %(status)s.")
                % {"number": sender.display_number, "status": sender.get_status_display()},
                messages.SUCCESS,
            )

    @admin.action(description=_("Approve selected sender numbers"))
    def approve(self, request: HttpRequest, queryset: QuerySet[SenderNumber]) -> None:
        for sender in queryset:
            self.review(request, do_approve_sender_number, sender)

    @admin.action(description=_("Reject selected sender numbers (with a reason)"))
    def reject_with_reason(
        self, request: HttpRequest, queryset: QuerySet[SenderNumber]
    ) -> HttpResponse | None:
        return _review_with_reason(
            self,
            request,
            queryset,
            action_name="reject_with_reason",
            title=gettext("Reject sender numbers"),
            do_review=do_reject_sender_number,
        )

    @admin.action(description=_("Suspend selected sender numbers (with a reason)"))
    def suspend_with_reason(
        self, request: HttpRequest, queryset: QuerySet[SenderNumber]
    ) -> HttpResponse | None:
        return _review_with_reason(
            self,
            request,
            queryset,
            action_name="suspend_with_reason",
            title=gettext("Suspend sender numbers"),
            do_review=do_suspend_sender_number,
        )


class OptOutNumberForm(forms.ModelForm):
    class Meta:
        model = OptOutNumber
        fields = ("number", "project")

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        problem = optout_number_error(number)
        if problem:
            raise ValidationError(problem)
        return number

    def clean_project(self) -> object:
        project = self.cleaned_data.get("project")
        if project is not None:
            taken = OptOutNumber.objects.filter(project=project).exclude(pk=self.instance.pk)
            if taken.exists():
                raise ValidationError(
                    gettext("%(project)s already has the 080 number %(number)s.")
                    % {"project": project, "number": taken.first().display_number}
                )
        return project


@admin.register(OptOutNumber)
class OptOutNumberAdmin(admin.ModelAdmin):
    """The 080 pool: add numbers, see and make assignments. An assigned number
    stays with its project: it has been printed in that project's messages."""

    form = OptOutNumberForm
    list_display = ("formatted_number", "project", "assigned_at", "created_at")
    list_filter = (("project", admin.EmptyFieldListFilter),)
    search_fields = ("number", "project__name")
    list_select_related = ("project",)

    def get_readonly_fields(self, request: HttpRequest, obj: OptOutNumber | None = None):
        if obj is None:
            return ()
        return ("number", "project", "assigned_at") if obj.project_id else ("number",)

    @admin.display(description=_("080 number"), ordering="number")
    def formatted_number(self, entry: OptOutNumber) -> str:
        return entry.display_number

    def save_model(
        self, request: HttpRequest, obj: OptOutNumber, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            do_add_optout_pool_numbers([obj.number], request.user)
            obj.pk = OptOutNumber.objects.get(number=obj.number).pk
        project = form.cleaned_data.get("project")
        if project is not None:
            do_assign_optout_number(project, request.user, number=obj.number)
        obj.refresh_from_db()


@admin.register(Gateway)
class GatewayAdmin(admin.ModelAdmin):
    list_display = ("name", "backend", "messages_per_second", "is_default")
    list_filter = ("backend",)
    search_fields = ("name",)


@admin.register(SmsChannel)
class SmsChannelAdmin(admin.ModelAdmin):
    list_display = ("project", "gateway")
    list_select_related = ("project", "gateway")
    search_fields = ("project__name",)
    fields = ("project", "gateway")

    def get_readonly_fields(self, request: HttpRequest, obj: SmsChannel | None = None):
        return ("project",) if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: SmsChannel, form: forms.ModelForm, change: bool
    ) -> None:
        channel = do_set_project_gateway(obj.project, obj.gateway, request.user)
        obj.pk = channel.pk
