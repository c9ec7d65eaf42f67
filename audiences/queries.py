"""Read-only queries over customers and their events for the console.

Lists page by keyset (`id` below or above a cursor), never by OFFSET over the
whole table, and count at most COUNT_CAP rows, so a project with millions of
customers pages as fast as one with a hundred.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from audiences.models import Customer, Event
from console.lib.phone import DEFAULT_REGION
from projects.models import Project

PAGE_SIZE = 50
EVENTS_PAGE_SIZE = 50
COUNT_CAP = 10_000
_PHONE_LIKE = re.compile(r"^[+\d][\d\s().-]*$")
_COUNTRY_CALLING_CODES = {"KR": "82"}


@dataclass
class CustomerPage:
    customers: list[Customer]
    older_than: int | None  # cursor for the next (older) page, if any
    newer_than: int | None  # cursor for the previous (newer) page, if any
    count: int  # capped at COUNT_CAP
    count_capped: bool


def customer_search(project: Project, query: str = "") -> QuerySet[Customer]:
    """The project's customers matching a user id (prefix), phone number or name."""
    customers = Customer.objects.filter(project=project)
    query = query.strip()
    if not query:
        return customers
    condition = Q(user_id__startswith=query) | Q(name__icontains=query)
    if _PHONE_LIKE.match(query):
        digits = re.sub(r"\D", "", query)
        if query.startswith("+"):
            condition |= Q(phone_number__startswith="+" + digits)
        elif digits.startswith("0") and len(digits) > 1:
            # A national number as people type it (010-1234-…) → its E.164 prefix.
            calling_code = _COUNTRY_CALLING_CODES[DEFAULT_REGION]
            condition |= Q(phone_number__startswith=f"+{calling_code}{digits[1:]}")
        if len(digits) >= 4:
            condition |= Q(phone_number__contains=digits)
    return customers.filter(condition)


def customer_page(
    project: Project,
    query: str = "",
    *,
    before: int | None = None,
    after: int | None = None,
    size: int | None = None,
) -> CustomerPage:
    """One page of customers, newest first, from a keyset cursor."""
    size = size or PAGE_SIZE
    matching = customer_search(project, query)
    if after is not None:
        rows = list(matching.filter(id__gt=after).order_by("id")[: size + 1])
        has_more_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_more_older = True
    else:
        page = matching.filter(id__lt=before) if before is not None else matching
        rows = list(page.order_by("-id")[: size + 1])
        has_more_older = len(rows) > size
        rows = rows[:size]
        has_more_newer = before is not None
    if not rows:
        has_more_older = has_more_newer = False
    if before is None and after is None and not has_more_older:
        count = len(rows)  # the whole result is on this page: no second scan
    else:
        count = matching.order_by()[: COUNT_CAP + 1].count()
    return CustomerPage(
        customers=rows,
        older_than=rows[-1].id if rows and has_more_older else None,
        newer_than=rows[0].id if rows and has_more_newer else None,
        count=min(count, COUNT_CAP),
        count_capped=count > COUNT_CAP,
    )


def customer_by_user_id(project: Project, user_id: str) -> Customer | None:
    return (
        Customer.objects.filter(project=project, user_id=user_id).prefetch_related("tags").first()
    )


def customer_events(
    customer: Customer, page: int = 1, size: int | None = None
) -> tuple[list[Event], bool]:
    """One page of the customer's events, newest first, and whether there are older ones."""
    size = size or EVENTS_PAGE_SIZE
    start = (max(page, 1) - 1) * size
    rows = list(
        Event.objects.filter(customer=customer).order_by("-created_at", "-id")[
            start : start + size + 1
        ]
    )
    return rows[:size], len(rows) > size
