"""Everything that writes sender numbers, their documents, the 080 pool, the
SMS channel. Each action records the audit log. (Test SMS are a producer of
the send core: `campaigns.test_sends`.)"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import (
    Gateway,
    OptOutNumber,
    SenderNumber,
    SenderNumberDocument,
    SmsChannel,
)
from channels.uploads import DocumentRejected, check_document
from console.lib.phone import check_e164, suggest_e164
from projects.actions import record_audit
from projects.models import Project

Kind = SenderNumberDocument.Kind
Status = SenderNumber.Status

# The form field (and, camel-cased, the API field) that carries each document.
DOCUMENT_FIELDS: dict[str, str] = {
    Kind.TELECOM_CERTIFICATE: "telecom_certificate",
    Kind.BUSINESS_REGISTRATION: "business_registration",
    Kind.EMPLOYMENT_CERTIFICATE: "employment_certificate",
    Kind.POWER_OF_ATTORNEY: "power_of_attorney",
}
SANDBOX_GATEWAY_NAME = "Sandbox carrier"


def phone_error(value: str) -> str | None:
    """A translated message for a number that is not E.164, with its E.164 form
    when the number is a valid national one; None for a good number."""
    problem = check_e164(value)
    if problem is None:
        return None
    value = (value or "").strip()
    if not value:
        return _("Enter a phone number in E.164 format, e.g. +821012345678.")
    if problem.code == "phone_not_e164" and not value.startswith("+"):
        suggestion = suggest_e164(value)
        if suggestion:
            return _("'%(value)s' is not in E.164 format; write it as %(suggestion)s.") % {
                "value": value,
                "suggestion": suggestion,
            }
        return _("'%(value)s' is not in E.164 format (+ country code and number).") % {
            "value": value
        }
    return _("'%(value)s' is not a valid phone number in E.164 format.") % {"value": value}


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _duplicate(number: str) -> str:
    return _("%(number)s is already registered in this project.") % {"number": number}


def _require_staff(staff: object) -> None:
    # None is the operator at the command line (bootstrap_project).
    if staff is not None and not getattr(staff, "is_staff", False):
        raise PermissionDenied(_("Only platform staff may review sender numbers."))


def _check_registration(
    project: Project,
    number: str,
    owner_type: str,
    owner_name: str,
    is_company_number: bool,
    label: str,
    documents: list[tuple[str, UploadedFile]],
    require_documents: bool,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    problem = phone_error(number)
    if problem:
        _add(errors, "number", problem)
    elif (
        SenderNumber.objects.filter(project=project, number=number)
        .exclude(status=Status.REJECTED)
        .exists()
    ):
        _add(errors, "number", _duplicate(number))
    if owner_type not in SenderNumber.OwnerType.values:
        _add(errors, "owner_type", _("Choose whether the owner is a company or a person."))
    if not owner_name.strip():
        _add(errors, "owner_name", _("Enter the owner's name."))
    elif len(owner_name) > 100:
        _add(errors, "owner_name", _("The owner's name may be at most 100 characters."))
    if len(label) > 100:
        _add(errors, "label", _("The label may be at most 100 characters."))

    present: set[str] = set()
    for kind, upload in documents:
        if kind not in DOCUMENT_FIELDS:
            _add(errors, NON_FIELD_ERRORS, _("Unknown document kind: %(kind)s.") % {"kind": kind})
            continue
        present.add(kind)
        try:
            check_document(upload)
        except DocumentRejected as exc:
            _add(errors, DOCUMENT_FIELDS[kind], str(exc))
    if require_documents:
        if Kind.TELECOM_CERTIFICATE not in present:
            _add(
                errors,
                DOCUMENT_FIELDS[Kind.TELECOM_CERTIFICATE],
                _("Attach the telecom subscription certificate."),
            )
        is_company_owner = owner_type == SenderNumber.OwnerType.COMPANY
        if is_company_owner and Kind.BUSINESS_REGISTRATION not in present:
            _add(
                errors,
                DOCUMENT_FIELDS[Kind.BUSINESS_REGISTRATION],
                _("A company owner needs the business registration certificate."),
            )
        if not is_company_number and not present & {
            Kind.EMPLOYMENT_CERTIFICATE,
            Kind.POWER_OF_ATTORNEY,
        }:
            _add(
                errors,
                DOCUMENT_FIELDS[Kind.EMPLOYMENT_CERTIFICATE],
                _(
                    "The number is not the company's own: attach an employment "
                    "certificate or a power of attorney."
                ),
            )
    return errors


def do_register_sender_number(
    project: Project,
    actor: object,
    *,
    number: str,
    owner_type: str,
    owner_name: str,
    is_company_number: bool = True,
    label: str = "",
    documents: list[tuple[str, UploadedFile]] | None = None,
    require_documents: bool = True,
    provisioned_by_operator: bool = False,
) -> SenderNumber:
    """File a sender-number profile for review (status pending).

    Raises ValidationError(dict of field → messages). The profile and its
    documents are written in one transaction; stored files are removed when it
    fails, so nothing is left half-written. `require_documents=False` is for the
    operator's bootstrap_project command only.
    """
    number = (number or "").strip()
    owner_name = (owner_name or "").strip()
    label = (label or "").strip()
    documents = list(documents or [])
    errors = _check_registration(
        project,
        number,
        owner_type,
        owner_name,
        is_company_number,
        label,
        documents,
        require_documents,
    )
    if errors:
        raise ValidationError(errors)

    stored: list[SenderNumberDocument] = []
    try:
        with transaction.atomic():
            sender = SenderNumber.objects.create(
                project=project,
                number=number,
                owner_type=owner_type,
                owner_name=owner_name,
                is_company_number=is_company_number,
                label=label,
                registered_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            for kind, upload in documents:
                doc_type = check_document(upload)
                document = SenderNumberDocument(
                    sender_number=sender,
                    kind=kind,
                    original_name=(upload.name or "document")[:255],
                    content_type=doc_type.content_type,
                    size=upload.size,
                )
                # Named by its real type, never by the name the client sent.
                document.file.save(f"document.{doc_type.extension}", upload, save=False)
                stored.append(document)
                document.save()
            record_audit(
                project,
                actor,
                "sender_number.registered",
                sender.display_number,
                number=number,
                documents=len(documents),
                provisioned_by_operator=provisioned_by_operator,
            )
    except IntegrityError:
        _remove_files(stored)
        # Another request registered the same number between our check and insert.
        raise ValidationError({"number": [_duplicate(number)]}) from None
    except BaseException:
        _remove_files(stored)
        raise
    return sender


def _remove_files(documents: Iterable[SenderNumberDocument]) -> None:
    for document in documents:
        if document.file.name:
            document.file.storage.delete(document.file.name)


def _transition(
    sender: SenderNumber,
    actor: object,
    *,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str,
    action: str,
    refusal: str,
) -> SenderNumber:
    now = timezone.now()
    with transaction.atomic():
        # Conditional update: of two reviewers acting at once, only one wins.
        changed = SenderNumber.objects.filter(pk=sender.pk, status__in=allowed_from).update(
            status=to,
            status_reason=reason,
            reviewed_by=actor if getattr(actor, "is_authenticated", False) else None,
            reviewed_at=now,
        )
        sender.refresh_from_db()
        if not changed:
            facts = {"number": sender.display_number, "status": sender.get_status_display()}
            raise ValidationError({NON_FIELD_ERRORS: [refusal % facts]})
        record_audit(sender.project, actor, action, sender.display_number, reason=reason)
    return sender


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason; the project will see it.")]})
    return reason


def do_approve_sender_number(sender: SenderNumber, staff: object) -> SenderNumber:
    _require_staff(staff)
    return _transition(
        sender,
        staff,
        allowed_from=(Status.PENDING, Status.SUSPENDED),
        to=Status.APPROVED,
        reason="",
        action="sender_number.approved",
        refusal=_("%(number)s is %(status)s; only a pending or suspended number can be approved."),
    )


def do_reject_sender_number(sender: SenderNumber, staff: object, reason: str) -> SenderNumber:
    _require_staff(staff)
    return _transition(
        sender,
        staff,
        allowed_from=(Status.PENDING,),
        to=Status.REJECTED,
        reason=_reason(reason),
        action="sender_number.rejected",
        refusal=_("%(number)s is %(status)s; only a pending number can be rejected."),
    )


def do_suspend_sender_number(sender: SenderNumber, staff: object, reason: str) -> SenderNumber:
    _require_staff(staff)
    return _transition(
        sender,
        staff,
        allowed_from=(Status.APPROVED,),
        to=Status.SUSPENDED,
        reason=_reason(reason),
        action="sender_number.suspended",
        refusal=_("%(number)s is %(status)s; only an approved number can be suspended."),
    )


@transaction.atomic
def do_set_default_sender(sender: SenderNumber, actor: object) -> SenderNumber:
    if sender.status != Status.APPROVED:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("%(number)s is not approved; only an approved number can be the default.")
                    % {"number": sender.display_number}
                ]
            }
        )
    SenderNumber.objects.filter(project=sender.project, is_default=True).exclude(
        pk=sender.pk
    ).update(is_default=False)
    SenderNumber.objects.filter(pk=sender.pk).update(is_default=True)
    sender.is_default = True
    record_audit(sender.project, actor, "sender_number.default_set", sender.display_number)
    return sender


def optout_number_error(number: str) -> str | None:
    problem = phone_error(number)
    if problem:
        return problem
    if not number.startswith("+8280"):
        return _("%(number)s is not a Korean 080 number (+8280…).") % {"number": number}
    return None


@transaction.atomic
def do_add_optout_pool_numbers(numbers: Iterable[str], staff: object) -> list[OptOutNumber]:
    """Add 080 numbers to the pool; numbers already in it are left as they are.
    Returns the entries created."""
    cleaned = [str(n).strip() for n in numbers if str(n).strip()]
    problems = [p for p in (optout_number_error(n) for n in cleaned) if p]
    if not cleaned:
        problems.append(_("Enter at least one 080 number."))
    if problems:
        raise ValidationError({"numbers": problems})
    existing = set(OptOutNumber.objects.filter(number__in=cleaned).values_list("number", flat=True))
    created = []
    for number in dict.fromkeys(cleaned):
        if number not in existing:
            created.append(OptOutNumber.objects.create(number=number))
    if created:
        record_audit(None, staff, "optout_number.pool_added", ", ".join(o.number for o in created))
    return created


def _ensure_sms_channel(project: Project) -> SmsChannel:
    channel, _created = SmsChannel.objects.get_or_create(project=project)
    return channel


@transaction.atomic
def do_assign_optout_number(
    project: Project, actor: object, number: str | None = None
) -> OptOutNumber:
    """Give the project an 080 number from the pool (the given one, or the first
    free one). A project that has one keeps it. Also creates its SmsChannel."""
    _ensure_sms_channel(project)
    current = OptOutNumber.objects.filter(project=project).first()
    if current is not None:
        return current
    candidates = OptOutNumber.objects.filter(project=None).order_by("number")
    if number:
        entry = OptOutNumber.objects.filter(number=number.strip()).first()
        if entry is None:
            raise ValidationError(
                {"number": [_("%(number)s is not in the 080 number pool.") % {"number": number}]}
            )
        if entry.project_id is not None:
            raise ValidationError(
                {
                    "number": [
                        _("%(number)s is already assigned to another project.")
                        % {"number": entry.display_number}
                    ]
                }
            )
        candidates = candidates.filter(pk=entry.pk)
    for entry in candidates[:20]:
        # Conditional update: two projects never get the same free number.
        if OptOutNumber.objects.filter(pk=entry.pk, project=None).update(
            project=project, assigned_at=timezone.now()
        ):
            entry.refresh_from_db()
            record_audit(project, actor, "optout_number.assigned", entry.display_number)
            return entry
    raise ValidationError(
        {
            NON_FIELD_ERRORS: [
                _("The 080 number pool has no free number; platform staff must add numbers first.")
            ]
        }
    )


@transaction.atomic
def do_set_project_gateway(project: Project, gateway: Gateway | None, actor: object) -> SmsChannel:
    channel = _ensure_sms_channel(project)
    SmsChannel.objects.filter(pk=channel.pk).update(gateway=gateway)
    channel.gateway = gateway
    record_audit(project, actor, "sms_channel.gateway_set", str(gateway or "-"))
    return channel


def sandbox_gateway() -> Gateway:
    gateway, _created = Gateway.objects.get_or_create(
        name=SANDBOX_GATEWAY_NAME, defaults={"backend": Gateway.Backend.SANDBOX}
    )
    return gateway
