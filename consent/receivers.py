"""What consent hears from the apps below it: consent changes (audiences),
opt-out list changes (optout), and the user resource and page being built,
which it completes with the history."""

from __future__ import annotations

import logging
from datetime import datetime

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from audiences.models import Customer
from audiences.signals import (
    ConsentFlagChange,
    consents_changed,
    customer_described,
    customer_page_sections,
)
from consent.actions import do_record_consent_changes, do_record_list_changes
from consent.models import Source
from consent.queries import customer_history, customer_notices
from optout.models import OptOutChange
from optout.signals import list_changed
from projects.models import Project

HISTORY_ON_PAGE = 50
logger = logging.getLogger(__name__)


def record_consent_changes(
    sender: object,
    *,
    project: Project,
    changes: list[ConsentFlagChange],
    source: str,
    actor_label: str,
    at: datetime,
    **kwargs: object,
) -> None:
    do_record_consent_changes(project, changes, Source(source), actor_label, at)


def record_list_changes(
    sender: object,
    *,
    project: Project,
    numbers: list[str],
    subscribed: bool,
    source: str,
    actor_label: str,
    at: datetime,
    **kwargs: object,
) -> None:
    # optout's sources ("080", "api", "console", "import") are ours too.
    do_record_list_changes(project, numbers, subscribed, Source(source), actor_label, at)


def history_item(change: object) -> dict[str, object]:
    return {
        "field": change.field,
        "old": change.old,
        "new": change.new,
        "consentAt": change.consent_at.isoformat() if change.consent_at else None,
        "changedAt": change.changed_at.isoformat(),
        "source": change.source,
        "by": change.actor_label,
    }


def describe_customer(
    sender: object, *, project: Project, customer: Customer, **kwargs: object
) -> dict[str, object]:
    return {"consentHistory": [history_item(change) for change in customer_history(customer)]}


def _can_change(request: HttpRequest) -> bool:
    from projects.models import Role

    membership = getattr(request, "membership", None)
    return membership is not None and membership.can(Role.MARKETER)


def customer_page_section(
    sender: object, *, project: Project, customer: Customer, request: HttpRequest, **kwargs: object
) -> SafeString:
    history = list(customer_history(customer)[: HISTORY_ON_PAGE + 1])
    return render_to_string(
        "consent/customer_history.html",
        {
            "project": project,
            "customer": customer,
            "history": history[:HISTORY_ON_PAGE],
            "more": len(history) > HISTORY_ON_PAGE,
            "notices": customer_notices(customer)[:10],
            "can_change": _can_change(request),
        },
        request=request,
    )


def send_on_worker_start(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """A worker (re)started: a hand-over its predecessor was running died
    with it. Enqueue the notice task instead of waiting for the next minute."""
    from django.conf import settings
    from django_q.tasks import async_task

    if settings.Q_CLUSTER.get("sync"):
        return
    try:
        async_task("consent.tasks.send_notices")
    except Exception:
        logger.exception("could not enqueue the consent notice task")


def connect() -> None:
    from django_q.signals import post_spawn

    post_spawn.connect(send_on_worker_start, dispatch_uid="consent.worker_started")
    consents_changed.connect(
        record_consent_changes, sender=Customer, dispatch_uid="consent.record_consent_changes"
    )
    list_changed.connect(
        record_list_changes, sender=OptOutChange, dispatch_uid="consent.record_list_changes"
    )
    customer_described.connect(
        describe_customer, sender=Customer, dispatch_uid="consent.describe_customer"
    )
    customer_page_sections.connect(
        customer_page_section, sender=Customer, dispatch_uid="consent.customer_page_section"
    )
