"""Everything that writes segments: create, change (rename or redefine), delete.

Each checks the definition and the name the same way for the console and the
API, and records the change in the project's audit log."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audiences.models import Segment
from audiences.segments import validate_definition
from audiences.signals import segment_redefined
from projects.actions import record_audit
from projects.models import Project


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        {"name": [_("A segment named %(name)s exists already.") % {"name": name}]}
    )


def _check(project: Project, name: str, definition: Any, exclude: int | None = None) -> str:
    name = (name or "").strip()
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = [_("Give the segment a name.")]
    elif len(name) > 200:
        problems["name"] = [_("A segment name has at most 200 characters.")]
    elif Segment.objects.filter(project=project, name=name).exclude(pk=exclude).exists():
        problems["name"] = _name_taken(name).message_dict["name"]
    errors = validate_definition(definition)
    if errors:
        problems["definition"] = [str(error) for error in errors]
    if problems:
        raise ValidationError(problems)
    return name


@transaction.atomic
def do_create_segment(project: Project, actor: object, name: str, definition: Any) -> Segment:
    name = _check(project, name, definition)
    try:
        # A concurrent create of the same name (PostgreSQL does not serialise
        # the check above) lands on the unique constraint.
        with transaction.atomic():
            segment = Segment.objects.create(project=project, name=name, definition=definition)
    except IntegrityError:
        raise _name_taken(name) from None
    record_audit(project, actor, "segment.created", segment.name, segment_id=segment.pk)
    return segment


@transaction.atomic
def do_change_segment(segment: Segment, actor: object, name: str, definition: Any) -> Segment:
    name = _check(segment.project, name, definition, exclude=segment.pk)
    old_name, old_definition = segment.name, segment.definition
    segment.name, segment.definition = name, definition
    segment.save(update_fields=["name", "definition", "updated_at"])
    detail = {"segment_id": segment.pk}
    if old_name != name:
        detail["renamed_from"] = old_name
    record_audit(segment.project, actor, "segment.changed", segment.name, **detail)
    if definition != old_definition:
        project, segment_id = segment.project, segment.pk
        transaction.on_commit(
            lambda: segment_redefined.send(sender=Segment, project=project, segment_id=segment_id)
        )
    return segment


@transaction.atomic
def do_delete_segment(segment: Segment, actor: object) -> None:
    record_audit(segment.project, actor, "segment.deleted", segment.name, segment_id=segment.pk)
    segment.delete()
