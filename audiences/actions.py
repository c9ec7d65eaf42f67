"""Everything that writes customers, their tags and events.

`do_track()` stores one Track call in a handful of queries whatever its size
(one select and one insert for the customers, one upsert and one delete for
the tags, one insert for the events, one bulk update for the customers'
attributes and last-seen times), because ingest speed is a product target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from audiences.models import Customer, CustomerTag, Event
from audiences.signals import (
    ConsentFlagChange,
    consents_changed,
    customers_changed,
    events_tracked,
)
from audiences.track import AttributeItem, ConsentInput, TrackBatch
from projects.actions import actor_label_for, record_audit
from projects.models import Project


@dataclass
class TrackResult:
    created_users: int = 0
    event_ids: list[int] = field(default_factory=list)


@transaction.atomic
def do_track(
    project: Project, batch: TrackBatch, now: datetime | None = None, actor: object = None
) -> TrackResult:
    """Store the valid items of a Track call: attributes first, then tags, then events.

    A subject not seen before becomes a customer. Consent changes are told
    (`consents_changed`, once per call, only when a flag or its date changed)
    inside the transaction; `events_tracked` and then `customers_changed` (the
    users created or whose attributes, tags or events changed) go out once it
    commits.
    `actor` is who made the call (the API token), for the consent history.
    """
    now = now or timezone.now()
    result = TrackResult()
    user_ids = batch.user_ids()
    if not user_ids:
        return result
    customers, result.created_users, created = _customers_for(project, user_ids)
    changed: dict[int, Customer] = {}
    changed_fields: set[str] = set()
    consent_changes: list[ConsentFlagChange] = []

    for item in batch.attributes:
        customer = customers[item.user_id]
        fields = _apply_attributes(customer, item, now, consent_changes)
        if fields:
            changed[customer.pk] = customer
            changed_fields |= fields
    if changed:
        _update_customers(list(changed.values()), sorted(changed_fields))
    if consent_changes:
        consents_changed.send(
            sender=Customer,
            project=project,
            changes=consent_changes,
            source="track",
            actor_label=actor_label_for(actor) if actor is not None else "",
            at=now,
        )

    _store_tags(customers, batch)

    if batch.events:
        events = [
            Event(
                project=project,
                customer=customers[item.user_id],
                type=item.type,
                data=item.data,
                created_at=item.created_at or now,
            )
            for item in batch.events
        ]
        Event.objects.bulk_create(events)
        result.event_ids = [event.pk for event in events]
        _move_last_seen(events)
        event_ids = result.event_ids
        transaction.on_commit(
            lambda: events_tracked.send(sender=Customer, project=project, event_ids=event_ids)
        )
    touched = set(changed) | set(created)
    touched.update(customers[item.user_id].pk for item in (*batch.tags, *batch.events))
    if touched:
        customer_ids = sorted(touched)
        transaction.on_commit(
            lambda: customers_changed.send(
                sender=Customer, project=project, customer_ids=customer_ids, at=now
            )
        )
    return result


# Django's bulk_update builds a CASE WHEN per field and row, which cost more
# than everything else in a Track call; one prepared UPDATE run with
# executemany does the same work for a fraction of it.
def _update_customers(customers: list[Customer], field_names: list[str]) -> None:
    meta = Customer._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    rows = [
        [field.get_db_prep_save(getattr(customer, field.attname), connection) for field in fields]
        + [customer.pk]
        for customer in customers
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _move_last_seen(events: list[Event]) -> None:
    """last_seen_at becomes the newest event's time; the condition in SQL keeps
    it from moving backwards even when calls about one user overlap."""
    newest: dict[int, datetime] = {}
    for event in events:
        customer = event.customer
        if customer.last_seen_at is None or event.created_at > customer.last_seen_at:
            customer.last_seen_at = event.created_at
            newest[customer.pk] = event.created_at
    if not newest:
        return
    field = Customer._meta.get_field("last_seen_at")
    quote = connection.ops.quote_name
    column, table = quote(field.column), quote(Customer._meta.db_table)
    sql = (
        f"UPDATE {table} SET {column} = %s "
        f"WHERE {quote(Customer._meta.pk.column)} = %s AND ({column} IS NULL OR {column} < %s)"
    )
    rows = []
    for pk, seen in newest.items():
        value = field.get_db_prep_save(seen, connection)
        rows.append([value, pk, value])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _customers_for(
    project: Project, user_ids: list[str]
) -> tuple[dict[str, Customer], int, list[int]]:
    """The project's customers by user id, creating the ones not seen before;
    how many were created, and their ids."""
    # Locked in pk order (PostgreSQL) so two calls about the same users queue
    # instead of overwriting each other's attributes; SQLite's IMMEDIATE
    # transactions already serialise writers.
    # Only there: SQLite's planner would honour ORDER BY pk by walking the whole
    # project index (100-230 events/s with 1,000,000 users) instead of looking
    # the ids up in the unique (project, user_id) index.
    rows = Customer.objects.select_for_update().filter(project=project, user_id__in=user_ids)
    if connection.vendor == "postgresql":
        rows = rows.order_by("pk")
    existing = {customer.user_id: customer for customer in rows}
    missing = [user_id for user_id in user_ids if user_id not in existing]
    if not missing:
        return existing, 0, []
    new = [Customer(project=project, user_id=user_id) for user_id in missing]
    try:
        with transaction.atomic():
            Customer.objects.bulk_create(new)
    except IntegrityError:
        pass  # a concurrent call created some of them: take whichever row won
    else:
        if all(customer.pk is not None for customer in new):
            existing.update((customer.user_id, customer) for customer in new)
            return existing, len(new), [customer.pk for customer in new]
    Customer.objects.bulk_create(
        [Customer(project=project, user_id=user_id) for user_id in missing],
        ignore_conflicts=True,
    )
    for customer in Customer.objects.select_for_update().filter(
        project=project, user_id__in=missing
    ):
        existing[customer.user_id] = customer
    return existing, len(missing), [existing[user_id].pk for user_id in missing]


def _apply_attributes(
    customer: Customer,
    item: AttributeItem,
    now: datetime,
    consent_changes: list[ConsentFlagChange],
) -> set[str]:
    """Set the item's attributes on the customer; the names of the fields that
    changed. Consent changes are appended to `consent_changes`."""
    changed = set()
    for name, value in item.fields.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.add(name)
    for flag, consent in item.consents.items():
        changed |= _apply_consent(customer, flag, consent, now, consent_changes)
    return changed


def _apply_consent(
    customer: Customer,
    flag: str,
    consent: ConsentInput,
    now: datetime,
    consent_changes: list[ConsentFlagChange],
) -> set[str]:
    """Consent keeps the date it was given: re-sending `true` does not move it;
    an explicit date wins; withdrawing clears it."""
    date_field = f"{flag}_at"
    before = (getattr(customer, flag), getattr(customer, date_field))
    if consent.granted:
        at = consent.at or (before[1] if before[0] and before[1] else now)
        after = (True, at)
    else:
        after = (False, None)
    if after == before:
        return set()
    setattr(customer, flag, after[0])
    setattr(customer, date_field, after[1])
    consent_changes.append(ConsentFlagChange(customer, flag, before[0], after[0], after[1]))
    return {flag, date_field}


def _store_tags(customers: dict[str, Customer], batch: TrackBatch) -> None:
    # Later items win over earlier ones for the same user and key.
    final: dict[tuple[int, str], str | None] = {}
    for item in batch.tags:
        customer_id = customers[item.user_id].pk
        for key, value in item.tags.items():
            final[customer_id, key] = value
    upserts = [
        CustomerTag(customer_id=customer_id, key=key, value=value)
        for (customer_id, key), value in final.items()
        if value is not None
    ]
    if upserts:
        CustomerTag.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["customer", "key"],
            update_fields=["value"],
        )
    deletions: dict[int, list[str]] = {}
    for (customer_id, key), value in final.items():
        if value is None:
            deletions.setdefault(customer_id, []).append(key)
    if deletions:
        condition = Q()
        for customer_id, keys in deletions.items():
            condition |= Q(customer_id=customer_id, key__in=keys)
        CustomerTag.objects.filter(condition).delete()


@transaction.atomic
def do_delete_customer(project: Project, customer: Customer, actor: object) -> None:
    """Delete a customer with their tags and events (cascade), and say so in the audit log."""
    if customer.project_id != project.pk:
        raise ValueError("customer belongs to another project")
    events = Event.objects.filter(customer=customer).count()
    user_id = customer.user_id
    customer.delete()
    record_audit(project, actor, "customer.deleted", user_id, events=events)


@transaction.atomic
def do_set_consents(
    project: Project,
    customer: Customer,
    *,
    promotional: bool,
    night: bool,
    actor: object,
    now: datetime | None = None,
) -> list[ConsentFlagChange]:
    """A member changes a user's consents on the console: the same rules as
    the Track API (a consent kept keeps its date; withdrawing clears it),
    told (`consents_changed`, source "console", the member as the actor)
    only when a flag changed. Returns the changes."""
    if customer.project_id != project.pk:
        raise ValueError("customer belongs to another project")
    now = now or timezone.now()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes: list[ConsentFlagChange] = []
    fields: set[str] = set()
    for flag, granted in (("promotional_consent", promotional), ("night_consent", night)):
        fields |= _apply_consent(customer, flag, ConsentInput(granted, None), now, changes)
    if fields:
        customer.save(update_fields=sorted(fields))
        consents_changed.send(
            sender=Customer,
            project=project,
            changes=changes,
            source="console",
            actor_label=actor_label_for(actor),
            at=now,
        )
        record_audit(
            project,
            actor,
            "customer.consents_changed",
            customer.user_id,
            promotional=promotional,
            night=night,
        )
    return changes
