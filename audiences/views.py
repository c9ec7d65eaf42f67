"""Console screens for customers ("Users"): the searchable list and one user's page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from audiences.actions import do_delete_customer
from audiences.forms import CustomerSearchForm
from audiences.models import Customer
from audiences.queries import customer_by_user_id, customer_events, customer_page
from audiences.signals import customer_page_sections, extra_fields
from optout.queries import is_opted_out, number_history
from projects.access import project_view
from projects.models import Project, Role


@project_view()
def customer_list(request: HttpRequest, project: Project) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    page = customer_page(
        project, data.get("q") or "", before=data.get("before"), after=data.get("after")
    )
    context = {"form": form, "page": page, "query": data.get("q") or ""}
    return render(request, "audiences/customer_list.html", context, status=200 if data else 400)


@project_view()
def customer_detail(request: HttpRequest, project: Project, user_id: str) -> HttpResponse:
    customer = customer_by_user_id(project, user_id)
    if customer is None:
        raise Http404
    can_delete = request.membership.can(Role.MARKETER)
    if request.method == "POST" or "delete" in request.GET:
        if not can_delete:
            raise PermissionDenied(_("Only marketers and admins may delete a user."))
        if request.method == "POST":
            do_delete_customer(project, customer, request.user)
            messages.success(
                request, _("User %(user_id)s was deleted.") % {"user_id": customer.user_id}
            )
            return redirect("customers", project_id=project.id)
        return render(
            request,
            "projects/confirm.html",
            {
                "title": _("Delete user"),
                "question": _(
                    "Delete %(user_id)s with their tags and events? This cannot be undone."
                )
                % {"user_id": customer.user_id},
                "button": _("Delete"),
                "cancel_url": reverse("customer", args=[project.id, customer.user_id]),
            },
        )
    try:
        page = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        page = 1
    events, has_older = customer_events(customer, page)
    timeline = [(event, json.dumps(event.data, ensure_ascii=False)) for event in events]
    context = {
        "customer": customer,
        "tags": sorted(customer.tags.all(), key=lambda tag: tag.key),
        "timeline": timeline,
        "page": page,
        "has_older": has_older,
        "can_delete": can_delete,
        "opted_out": bool(customer.phone_number) and is_opted_out(project, customer.phone_number),
        "optout_change": (
            number_history(project, customer.phone_number).first()
            if customer.phone_number
            else None
        ),
        # Sections of higher apps (the consent history), which audiences does not know.
        "extra_sections": extra_fields(
            customer_page_sections,
            sender=Customer,
            project=project,
            customer=customer,
            request=request,
        ),
    }
    return render(request, "audiences/customer_detail.html", context)
