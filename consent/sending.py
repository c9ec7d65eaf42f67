"""Consent notices as a producer of the send core (SPEC §10, §12).

`hand_over(project, now)`: the project's due notices, a batch per
transaction, are rendered (the project's Liquid text, the facts of each
notice), handed to the project's consent outbox of the day
(`dispatch.actions.do_enqueue_messages`, dedupe key `n<notice id>`) and
marked `queued` with that outbox IN THE SAME TRANSACTION. A crash loses or
repeats nothing: either the batch committed (the notices are queued and the
core owns their messages) or nothing of it did (the notices are still due).
Two runs at once cannot both take a notice: the batch is read under the
write lock (SQLite: IMMEDIATE transactions; PostgreSQL: FOR UPDATE SKIP
LOCKED) and only notices still `due` are marked.

The outbox is informational: not promotional (no `(광고)` label), outside
the frequency cap and not counted toward it, reaching numbers on the opt-out
list (a withdrawal must still be confirmed: `ignores_optout_list`), and held
at night whatever the recipient's night-time consent (`never_at_night`):
notices are due at 10:00, and one that is late (an outage) still never goes
between 21:00 and 08:00.

`sync_outcomes()`: what became of the messages flows back to the notices
(sent, delivered, failed; a number the core found invalid makes the notice
impossible; a message the core cancelled, e.g. its sender was suspended,
makes the notice due again, for a new outbox). Set-based: one read and a few
UPDATEs per 500 notices.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from channels.queries import default_sender
from consent.actions import phone_problem
from consent.models import NOTICE_KEY_PREFIX, PRODUCER, Notice, notice_key
from consent.queries import NoticeConfig, due_notices, notice_config
from consent.texts import REMINDER, RESULT, result_words, withdraw_words
from console.lib.compliance import resolve_time_zone
from console.lib.liquid import TemplateProblem, compile_template, render
from console.lib.sms import cp949_length, sms_kind
from dispatch.actions import NewMessage, do_create_outbox, do_enqueue_messages, do_seal_outbox
from dispatch.checks import check_outgoing_message
from dispatch.models import Message, Outbox
from projects.models import Project

logger = logging.getLogger(__name__)

# Notices per UPDATE/IN list: well under SQLite's bound-parameter limit.
CHUNK = 500
# A SENT notice waits this long for its delivery report before the sync stops looking.
REPORT_WAIT_DAYS = 3

State = Notice.State


def batch_size() -> int:
    return settings.CONSENT_NOTICE_BATCH_SIZE


# --- the outbox -----------------------------------------------------------------------


def _day_of(project: Project, now: datetime) -> str:
    return now.astimezone(resolve_time_zone(project.time_zone)).date().isoformat()


def notice_outbox(project: Project, sender_id: int, now: datetime) -> Outbox:
    """The project's open consent outbox of the day (in the project's zone)
    for this sender, created when missing; earlier days' (or another
    sender's) consent outboxes are sealed, so they close once empty."""
    day = _day_of(project, now)
    keep = None
    for outbox in (
        Outbox.objects.filter(project=project, producer_kind=PRODUCER, sealed_at__isnull=True)
        .exclude(status=Outbox.Status.CLOSED)
        .order_by("-pk")
    ):
        if keep is None and outbox.producer_id == day and outbox.sender_number_id == sender_id:
            keep = outbox
        else:
            do_seal_outbox(outbox.pk)
    if keep is not None:
        return keep
    return do_create_outbox(
        project,
        producer_kind=PRODUCER,
        producer_id=day,
        sender_number_id=sender_id,
        is_promotional=False,
        frequency_cap=0,
        counts_towards_cap=False,
        ignores_optout_list=True,
        never_at_night=True,
        status=Outbox.Status.OPEN,
    )


# --- rendering ------------------------------------------------------------------------


def _local_date(iso: str | None, zone_name: str, fallback: datetime) -> str:
    moment = datetime.fromisoformat(iso) if iso else fallback
    return moment.astimezone(resolve_time_zone(zone_name)).date().isoformat()


def notice_variables(
    kind: str,
    facts: Mapping[str, object],
    zone_name: str,
    company_name: str,
    optout_number: str,
    now: datetime,
) -> dict[str, str]:
    """The Liquid variables of one notice (consent/texts.py lists them)."""
    values = {
        "company_name": company_name,
        "optout_number": optout_number,
        "withdraw": withdraw_words(optout_number),
    }
    if kind == RESULT:
        values["date"] = _local_date(facts.get("changedAt"), zone_name, now)  # type: ignore[arg-type]
        values["result"] = result_words(facts.get("changes") or {})  # type: ignore[arg-type]
    else:
        values["date"] = _local_date(None, zone_name, now)
        values["consent_date"] = _local_date(facts.get("consentAt"), zone_name, now)  # type: ignore[arg-type]
    return values


class _Renderer:
    """The project's texts compiled once; bodies cached by their variables
    (the day's reminders mostly share a consent date and so a body)."""

    def __init__(self, project: Project, config: NoticeConfig, now: datetime) -> None:
        self.project = project
        self.config = config
        self.now = now
        self.templates = {}
        self.problems: dict[str, str] = {}
        for kind in (RESULT, REMINDER):
            try:
                self.templates[kind] = compile_template(config.text(kind))
            except TemplateProblem as problem:
                self.problems[kind] = problem.message
        self.cache: dict[tuple, tuple[str, str, str, int]] = {}

    def body(self, kind: str, facts: Mapping[str, object], zone: str) -> tuple[str, str, str, int]:
        """(body, "", SMS/LMS, bytes) or ("", why it cannot be sent, "", 0)."""
        changes = facts.get("changes") or {}
        key = (
            kind,
            zone,
            facts.get("changedAt") if kind == RESULT else None,
            facts.get("consentAt") if kind == REMINDER else None,
            tuple(sorted(changes.items())) if kind == RESULT else (),  # type: ignore[union-attr]
        )
        cached = self.cache.get(key)
        if cached is None:
            cached = self._render(kind, facts, zone)
            self.cache[key] = cached
        return cached

    def _render(
        self, kind: str, facts: Mapping[str, object], zone: str
    ) -> tuple[str, str, str, int]:
        if kind in self.problems:
            return "", self.problems[kind], "", 0
        values = notice_variables(
            kind, facts, zone, self.project.company_name, self.config.optout_number, self.now
        )
        try:
            text = render(self.templates[kind], values).strip()
        except TemplateProblem as problem:
            return "", problem.message, "", 0
        problems = check_outgoing_message(text)
        if problems:
            return "", "; ".join(problems.values()), "", 0
        return text, "", sms_kind(text), cp949_length(text)


# --- hand-over ------------------------------------------------------------------------


def hand_over(project: Project, now: datetime | None = None, *, limit: int | None = None) -> int:
    """Hand the project's notices due by `now` to the send core, a batch per
    transaction; at most `limit` (None: all). Returns how many notices left
    the `due` state (queued, impossible or failed)."""
    now = now or timezone.now()
    config = notice_config(project)
    kinds = config.enabled_kinds()
    if not kinds:
        return 0
    sender = default_sender(project)
    if sender is None:
        # They wait (still within their 14 days); the consent page says why.
        return 0
    renderer = _Renderer(project, config, now)
    done = 0
    while limit is None or done < limit:
        size = batch_size() if limit is None else min(batch_size(), limit - done)
        taken = _hand_over_batch(project, sender.pk, renderer, kinds, now, size)
        if not taken:
            break
        done += taken
    return done


def _hand_over_batch(
    project: Project,
    sender_id: int,
    renderer: _Renderer,
    kinds: list[str],
    now: datetime,
    size: int,
) -> int:
    with transaction.atomic():
        rows = list(
            due_notices(project, now, kinds)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list(
                "pk",
                "kind",
                "facts",
                "customer_id",
                "customer__phone_number",
                "customer__time_zone",
            )[:size]
        )
        if not rows:
            return 0
        messages: list[NewMessage] = []
        queued: list[int] = []
        impossible: dict[str, list[int]] = {}
        failed: dict[str, list[int]] = {}
        for pk, kind, facts, customer_id, phone, zone in rows:
            problem = phone_problem(phone)
            if problem:
                impossible.setdefault(problem, []).append(pk)
                continue
            body, error, sms, size = renderer.body(kind, facts, zone)
            if error:
                failed.setdefault(error[:255], []).append(pk)
                continue
            messages.append(
                NewMessage(
                    NOTICE_KEY_PREFIX + str(pk),
                    phone,
                    body,
                    kind=sms,
                    bytes=size,
                    customer_id=customer_id,
                    time_zone=zone,
                )
            )
            queued.append(pk)
        if queued:
            outbox = notice_outbox(project, sender_id, now)
            _mark(queued, State.QUEUED, outbox=outbox)
            do_enqueue_messages(outbox, messages)
        for reason, ids in impossible.items():
            _mark(ids, State.IMPOSSIBLE, reason=reason)
        for error, ids in failed.items():
            _mark(ids, State.FAILED, error=error)
    return len(rows)


def _mark(ids: list[int], state: str, **fields: object) -> int:
    """Move notices still `due` to `state`."""
    moved = 0
    for start in range(0, len(ids), CHUNK):
        moved += Notice.objects.filter(pk__in=ids[start : start + CHUNK], state=State.DUE).update(
            state=state, **fields
        )
    return moved


def projects_with_due_notices(now: datetime) -> list[Project]:
    ids = (
        Notice.objects.filter(state=State.DUE, superseded=False, due_at__lte=now)
        .values_list("project_id", flat=True)
        .distinct()
    )
    return list(Project.objects.filter(pk__in=list(ids)))


# --- outcomes -------------------------------------------------------------------------

_S = Message.Status
_R = Message.SkipReason


def _message_field(name: str) -> Subquery:
    """The notice's message's `name`, for an UPDATE of notices."""
    key = Concat(Value(NOTICE_KEY_PREFIX), Cast(OuterRef("pk"), output_field=CharField()))
    return Subquery(
        Message.objects.filter(outbox_id=OuterRef("outbox_id"), dedupe_key=key).values(name)[:1]
    )


def sync_outcomes(now: datetime | None = None) -> dict[str, int]:
    """Copy the outcome of handed-over notices' messages to the notices."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    by_outbox: dict[int, list[int]] = {}
    for pending in (
        Notice.objects.filter(state=State.QUEUED),
        Notice.objects.filter(
            state=State.SENT, sent_at__gte=now - timedelta(days=REPORT_WAIT_DAYS)
        ),
    ):
        for pk, outbox_id in pending.values_list("pk", "outbox_id").iterator(chunk_size=5000):
            if outbox_id is not None:
                by_outbox.setdefault(outbox_id, []).append(pk)
    for outbox_id, ids in by_outbox.items():
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            keys = {notice_key(pk): pk for pk in part}
            groups: dict[tuple[str, str], list[int]] = {}
            for key, status, skip_reason in Message.objects.filter(
                outbox_id=outbox_id, dedupe_key__in=list(keys)
            ).values_list("dedupe_key", "status", "skip_reason"):
                groups.setdefault((status, skip_reason), []).append(keys[key])
            for (status, skip_reason), notice_ids in groups.items():
                state = _apply(notice_ids, status, skip_reason)
                if state:
                    counts[state] = counts.get(state, 0) + len(notice_ids)
    return counts


def _apply(ids: list[int], status: str, skip_reason: str) -> str:
    notices = Notice.objects.filter(pk__in=ids, state__in=[State.QUEUED, State.SENT])
    if status == _S.SENT:
        notices.filter(state=State.QUEUED).update(
            state=State.SENT, sent_at=_message_field("sent_at")
        )
        return State.SENT
    if status == _S.DELIVERED:
        notices.update(
            state=State.DELIVERED,
            sent_at=_message_field("sent_at"),
            delivered_at=_message_field("delivered_at"),
        )
        return State.DELIVERED
    if status == _S.FAILED:
        notices.update(
            state=State.FAILED,
            sent_at=_message_field("sent_at"),
            error=_message_field("error_message"),
        )
        return State.FAILED
    if status != _S.SKIPPED:
        return ""  # queued or sending: nothing to say yet
    if skip_reason == _R.INVALID_NUMBER:
        notices.update(state=State.IMPOSSIBLE, reason=Notice.Reason.INVALID_PHONE_NUMBER)
        return State.IMPOSSIBLE
    if skip_reason == _R.RENDER_ERROR:
        notices.update(state=State.FAILED, error=_message_field("error_message"))
        return State.FAILED
    # Cancelled (its outbox closed, its sender suspended): due again, for a
    # new outbox; the old message was never sent.
    notices.filter(state=State.QUEUED).update(state=State.DUE, outbox=None)
    return State.DUE
