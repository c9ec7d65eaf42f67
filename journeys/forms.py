"""The builder's side-panel forms: one per node kind (its config, its label
and where each port leads), the settings form, and the insert form. A form
turns typed values into the node JSON of docs/journeys.md; whether the graph
as a whole is valid is journeys.graph.validate's to say, after saving."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext_lazy as _

from audiences.models import Segment
from channels.queries import approved_senders
from journeys.graph import KINDS, kind_labels, ports_of
from projects.models import Project

UNITS = (("60", _("minutes")), ("3600", _("hours")), ("86400", _("days")))
WEEKDAYS = (
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
)


def _json_field(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
    )


def _parse_json(value: str, *, default: Any) -> Any:
    value = (value or "").strip()
    if not value:
        return default
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc.msg}) from None


def _dump(value: Any) -> str:
    if value in (None, [], {}):
        return ""
    return json.dumps(value, ensure_ascii=False)


def _split_duration(seconds: Any) -> tuple[int | None, str]:
    if not isinstance(seconds, int) or seconds <= 0:
        return None, "3600"
    for unit in ("86400", "3600", "60"):
        if seconds % int(unit) == 0:
            return seconds // int(unit), unit
    return seconds // 60, "60"


class NodeForm(forms.Form):
    """The fields every node has: its label and its ports' next nodes."""

    kind: ClassVar[str] = ""
    label = forms.CharField(label=_("Label"), required=False, max_length=100)

    def __init__(self, *args: Any, node: dict, others: list[str], project: Project, **kw: Any):
        self.node, self.project = node, project
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        kw.setdefault("initial", {})
        kw["initial"].update(self.initial_from(config), label=node.get("label", ""))
        nexts = node.get("next") if isinstance(node.get("next"), dict) else {}
        super().__init__(*args, **kw)
        self.ports = ports_of(node)
        for port in self.ports:
            self.fields[f"next_{port}"] = forms.ChoiceField(
                label=_("Then (%(port)s)") % {"port": port},
                required=False,
                choices=[("", _("— end here —"))] + [(key, key) for key in others],
                initial=nexts.get(port) or "",
            )
        self.setup()

    def setup(self) -> None:
        return

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {}

    def config(self) -> dict[str, Any]:
        return {}

    def updated_node(self) -> dict[str, Any]:
        """The node with this form's values (call after is_valid)."""
        node = dict(self.node)
        node["label"] = self.cleaned_data.get("label", "")
        node["config"] = self.config()
        node["next"] = {
            port: self.cleaned_data.get(f"next_{port}") or None for port in ports_of(node)
        }
        return node

    def port_fields(self) -> list[forms.BoundField]:
        return [self[f"next_{port}"] for port in self.ports]

    def config_fields(self) -> list[forms.BoundField]:
        return [f for f in self if f.name != "label" and not f.name.startswith("next_")]


class TriggerForm(NodeForm):
    kind = "trigger"
    type = forms.ChoiceField(
        label=_("Enter users"),
        choices=(
            ("event", _("when they do an event")),
            ("segment", _("when they enter a segment")),
            ("schedule", _("on a schedule")),
        ),
    )
    event = forms.CharField(label=_("Event"), required=False, max_length=255)
    where = _json_field(
        _("Event data conditions (JSON)"),
        _('A list such as [{"field": "total", "op": "gt", "value": 50000}]'),
    )
    segment_id = forms.TypedChoiceField(
        label=_("Segment"), required=False, coerce=int, empty_value=None
    )
    enter_current_members = forms.BooleanField(
        label=_("Current members enter at activation"), required=False
    )
    cron = forms.CharField(label=_("Cron expression"), required=False, max_length=100)
    time_zone = forms.CharField(label=_("Time zone"), required=False, max_length=64)
    catch_up_minutes = forms.IntegerField(
        label=_("Catch-up window (minutes)"), required=False, min_value=0
    )

    def setup(self) -> None:
        segments = Segment.objects.filter(project=self.project).order_by("name")
        self.fields["segment_id"].choices = [("", _("— none —"))] + [
            (s.pk, s.name) for s in segments
        ]

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {
            "type": config.get("type", "event"),
            "event": config.get("event", ""),
            "where": _dump(config.get("where")),
            "segment_id": config.get("segment_id") or "",
            "enter_current_members": bool(config.get("enter_current_members")),
            "cron": config.get("cron", ""),
            "time_zone": config.get("time_zone", "Asia/Seoul"),
            "catch_up_minutes": config.get("catch_up_minutes", 60),
        }

    def clean_where(self) -> Any:
        return _parse_json(self.cleaned_data["where"], default=[])

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["type"]
        if kind == "event":
            return {
                "type": kind,
                "event": data["event"].strip(),
                "where": data["where"],
                "segment_id": data["segment_id"],
            }
        if kind == "segment":
            return {
                "type": kind,
                "segment_id": data["segment_id"],
                "enter_current_members": data["enter_current_members"],
            }
        return {
            "type": kind,
            "cron": data["cron"].strip(),
            "time_zone": data["time_zone"].strip() or "Asia/Seoul",
            "segment_id": data["segment_id"],
            "catch_up_minutes": 60
            if data["catch_up_minutes"] is None
            else data["catch_up_minutes"],
        }


class SendForm(NodeForm):
    kind = "send"
    sender_number_id = forms.TypedChoiceField(
        label=_("Sender number"), required=False, coerce=int, empty_value=None
    )
    is_promotional = forms.BooleanField(label=_("Promotional message"), required=False)
    title = forms.CharField(label=_("Title (LMS)"), required=False, max_length=100)
    body = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Liquid: {{ name }}, {{ tags.plan }}, {{ entry_event.data.cartId }}"),
    )
    track_links = forms.BooleanField(label=_("Track links"), required=False)

    def setup(self) -> None:
        self.fields["sender_number_id"].choices = [("", _("— choose —"))] + [
            (s.pk, s.display_number) for s in approved_senders(self.project)
        ]

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {
            "sender_number_id": config.get("sender_number_id") or "",
            "is_promotional": bool(config.get("is_promotional")),
            "title": config.get("title", ""),
            "body": config.get("body", ""),
            "track_links": config.get("track_links", True),
        }

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "sender_number_id": data["sender_number_id"],
            "body": data["body"],
            "title": data["title"],
            "is_promotional": data["is_promotional"],
            "track_links": data["track_links"],
        }


class DurationMixin(forms.Form):
    amount = forms.IntegerField(label=_("Wait"), required=False, min_value=1)
    unit = forms.ChoiceField(label=_("Unit"), choices=UNITS, initial="3600")

    def seconds(self) -> int | None:
        amount = self.cleaned_data.get("amount")
        return None if amount is None else amount * int(self.cleaned_data["unit"])


class DelayForm(DurationMixin, NodeForm):
    kind = "delay"

    def initial_from(self, config: dict) -> dict[str, Any]:
        amount, unit = _split_duration(config.get("seconds"))
        return {"amount": amount, "unit": unit}

    def config(self) -> dict[str, Any]:
        return {"seconds": self.seconds()}


class WaitUntilForm(NodeForm):
    kind = "wait_until"
    time = forms.CharField(label=_("Time of day (HH:MM)"), required=False, max_length=5)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("On weekdays (none: any day)"),
        required=False,
        coerce=int,
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
    )

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {"time": config.get("time", "09:00"), "weekdays": config.get("weekdays", [])}

    def config(self) -> dict[str, Any]:
        return {
            "time": self.cleaned_data["time"].strip(),
            "weekdays": self.cleaned_data["weekdays"],
        }


class WaitEventForm(DurationMixin, NodeForm):
    kind = "wait_event"
    event = forms.CharField(label=_("Event"), required=False, max_length=255)
    where = _json_field(_("Event data conditions (JSON)"))
    match_field = forms.CharField(
        label=_("Same value as the entry event in field"), required=False, max_length=100
    )

    def setup(self) -> None:
        self.fields["amount"].label = _("Time out after")

    def initial_from(self, config: dict) -> dict[str, Any]:
        amount, unit = _split_duration(config.get("timeout_seconds"))
        return {
            "event": config.get("event", ""),
            "where": _dump(config.get("where")),
            "match_field": config.get("match_field", ""),
            "amount": amount,
            "unit": unit,
        }

    def clean_where(self) -> Any:
        return _parse_json(self.cleaned_data["where"], default=[])

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        config: dict[str, Any] = {
            "event": data["event"].strip(),
            "where": data["where"],
            "timeout_seconds": self.seconds(),
        }
        if data["match_field"].strip():
            config["match_field"] = data["match_field"].strip()
        return config


class SplitForm(NodeForm):
    kind = "split"
    branches = _json_field(
        _("Branches (JSON)"),
        _(
            'An ordered list: [{"label": "VIP", "segment": {"match": "all", "conditions": '
            '[…]}, "entry_data": [{"field": "total", "op": "gt", "value": 100}]}]'
        ),
    )

    def setup(self) -> None:
        self.fields["branches"].widget.attrs["rows"] = 6

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {"branches": json.dumps(config.get("branches", []), ensure_ascii=False, indent=1)}

    def clean_branches(self) -> Any:
        return _parse_json(self.cleaned_data["branches"], default=[])

    def config(self) -> dict[str, Any]:
        return {"branches": self.cleaned_data["branches"]}

    def updated_node(self) -> dict[str, Any]:
        # The ports follow the branches: b0…b<n-1> and else.
        node = super().updated_node()
        node["next"] = {
            port: self.data.get(f"next_{port}") or (self.node.get("next") or {}).get(port)
            for port in ports_of(node)
        }
        return node


VARIANT = re.compile(r"^\s*([a-z0-9_]+)\s*[:=]\s*(\d+(?:\.\d+)?)\s*$")


class ABForm(NodeForm):
    kind = "ab"
    variants = forms.CharField(
        label=_("Variants"),
        required=False,
        help_text=_("key:percent, comma separated, e.g. a:50, b:50"),
    )

    def initial_from(self, config: dict) -> dict[str, Any]:
        variants = config.get("variants") or []
        text = ", ".join(
            f"{v.get('key')}:{v.get('percent')}" for v in variants if isinstance(v, dict)
        )
        return {"variants": text}

    def clean_variants(self) -> list[dict[str, Any]]:
        result = []
        for part in (self.cleaned_data["variants"] or "").split(","):
            if not part.strip():
                continue
            match = VARIANT.match(part)
            if not match:
                raise forms.ValidationError(_("Write each variant as key:percent, e.g. a:50."))
            number = float(match.group(2))
            result.append(
                {"key": match.group(1), "percent": int(number) if number.is_integer() else number}
            )
        return result

    def config(self) -> dict[str, Any]:
        return {"variants": self.cleaned_data["variants"]}

    def updated_node(self) -> dict[str, Any]:
        node = super().updated_node()
        node["next"] = {
            port: self.data.get(f"next_{port}") or (self.node.get("next") or {}).get(port)
            for port in ports_of(node)
        }
        return node


class WebhookForm(NodeForm):
    kind = "webhook"
    body = forms.CharField(
        label=_("JSON body (Liquid)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
    )

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {"body": config.get("body", '{"userId": "{{ userId }}"}')}

    def config(self) -> dict[str, Any]:
        return {"body": self.cleaned_data["body"]}


class ExitForm(NodeForm):
    kind = "exit"


NODE_FORMS: dict[str, type[NodeForm]] = {
    form.kind: form
    for form in (
        TriggerForm,
        SendForm,
        DelayForm,
        WaitUntilForm,
        WaitEventForm,
        SplitForm,
        ABForm,
        WebhookForm,
        ExitForm,
    )
}


def default_config(kind: str) -> dict[str, Any]:
    """A new node's config: sensible values the marketer edits."""
    return {
        "send": {"body": "", "is_promotional": False, "track_links": True},
        "delay": {"seconds": 3600},
        "wait_until": {"time": "09:00", "weekdays": []},
        "wait_event": {"event": "", "where": [], "timeout_seconds": 86400},
        "split": {"branches": [{"label": "", "entry_data": []}]},
        "ab": {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]},
        "webhook": {"body": '{"userId": "{{ userId }}"}'},
        "exit": {},
    }.get(kind, {})


class InsertForm(forms.Form):
    kind = forms.ChoiceField(label=_("Node kind"))

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        labels = kind_labels()
        self.fields["kind"].choices = [(k, labels[k]) for k in KINDS if k != "trigger"]


class SettingsForm(forms.Form):
    exit_events = forms.CharField(
        label=_("Exit events"),
        required=False,
        help_text=_(
            "Comma separated; event:field matches the entry event's field, e.g. purchase:cartId"
        ),
    )
    reentry_mode = forms.ChoiceField(
        label=_("Re-entry"),
        choices=[
            ("once", _("once")),
            ("after_end", _("again after the previous run ended")),
            ("cooldown", _("after a cool-down")),
            ("max", _("at most N times")),
            ("keyed", _("concurrent runs keyed by an entry-event field")),
        ],
    )
    cooldown_hours = forms.IntegerField(label=_("Cool-down (hours)"), required=False, min_value=1)
    reentry_max = forms.IntegerField(label=_("At most (times)"), required=False, min_value=1)
    key_field = forms.CharField(label=_("Key field"), required=False, max_length=100)
    frequency_cap = forms.IntegerField(
        label=_("Frequency cap override (messages)"),
        required=False,
        min_value=0,
        help_text=_("Empty: the project's cap."),
    )
    quiet_start = forms.CharField(label=_("Quiet hours from"), required=False, max_length=5)
    quiet_end = forms.CharField(label=_("Quiet hours until"), required=False, max_length=5)
    quiet_mode = forms.ChoiceField(
        label=_("During quiet hours"),
        choices=[("hold", _("hold until they end")), ("skip", _("skip the message"))],
        required=False,
    )
    late_tolerance_minutes = forms.IntegerField(
        label=_("Late tolerance after a pause (minutes)"), required=False, min_value=0
    )
    # The conversion goal, as a campaign's goal row: event, window, amount
    # and quantity fields of the event's data.
    goal_event = forms.CharField(
        label=_("Conversion goal: event"),
        required=False,
        max_length=255,
        help_text=_(
            "Empty: no goal. A user converts once per run, on the journey message "
            "sent last before the event."
        ),
    )
    goal_window = forms.IntegerField(label=_("Attribution window"), required=False, min_value=1)
    goal_unit = forms.ChoiceField(
        label=_("Window unit"),
        choices=[("hours", _("hours")), ("days", _("days"))],
        required=False,
    )
    goal_amount = forms.CharField(label=_("Amount field"), required=False, max_length=100)
    goal_quantity = forms.CharField(label=_("Quantity field"), required=False, max_length=100)

    @classmethod
    def from_settings(cls, settings: dict) -> SettingsForm:
        reentry = settings.get("reentry") or {"mode": "after_end"}
        quiet = settings.get("quiet_hours") or {}
        exits = [
            e.get("event", "") + (f":{e['match_field']}" if e.get("match_field") else "")
            for e in settings.get("exit_events") or []
            if isinstance(e, dict)
        ]
        cooldown = reentry.get("cooldown_seconds")
        goal = settings.get("conversion_goal") or {}
        window = goal.get("window_seconds")
        in_days = isinstance(window, int) and window % 86400 == 0
        return cls(
            initial={
                "exit_events": ", ".join(exits),
                "reentry_mode": reentry.get("mode", "after_end"),
                "cooldown_hours": cooldown // 3600 if isinstance(cooldown, int) else None,
                "reentry_max": reentry.get("max"),
                "key_field": reentry.get("key_field", ""),
                "frequency_cap": settings.get("frequency_cap"),
                "quiet_start": quiet.get("start", ""),
                "quiet_end": quiet.get("end", ""),
                "quiet_mode": quiet.get("mode", "hold"),
                "late_tolerance_minutes": settings.get("late_tolerance_seconds", 3600) // 60,
                "goal_event": goal.get("event", ""),
                "goal_window": (window // (86400 if in_days else 3600))
                if isinstance(window, int)
                else None,
                "goal_unit": "days" if in_days else "hours",
                "goal_amount": goal.get("revenue_field", ""),
                "goal_quantity": goal.get("quantity_field", ""),
            }
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("goal_event") or "").strip() and not data.get("goal_window"):
            self.add_error("goal_window", _("Give the goal's attribution window."))
        return data

    def conversion_goal(self) -> dict[str, Any] | None:
        """The goal's settings; journeys.graph checks the window and fields."""
        data = self.cleaned_data
        event = (data.get("goal_event") or "").strip()
        if not event:
            return None
        unit = 86400 if data.get("goal_unit") == "days" else 3600
        return {
            "event": event,
            "window_seconds": (data.get("goal_window") or 0) * unit,
            "revenue_field": (data.get("goal_amount") or "").strip(),
            "quantity_field": (data.get("goal_quantity") or "").strip(),
        }

    def settings(self, previous: dict) -> dict[str, Any]:
        data = self.cleaned_data
        exits = []
        for part in (data["exit_events"] or "").split(","):
            event, _sep, field = part.strip().partition(":")
            if event.strip():
                entry = {"event": event.strip()}
                if field.strip():
                    entry["match_field"] = field.strip()
                exits.append(entry)
        mode = data["reentry_mode"]
        reentry: dict[str, Any] = {"mode": mode}
        if mode == "cooldown":
            reentry["cooldown_seconds"] = (data["cooldown_hours"] or 0) * 3600
        elif mode == "max":
            reentry["max"] = data["reentry_max"]
        elif mode == "keyed":
            reentry["key_field"] = data["key_field"].strip()
        quiet = None
        if data["quiet_start"].strip() or data["quiet_end"].strip():
            quiet = {
                "start": data["quiet_start"].strip(),
                "end": data["quiet_end"].strip(),
                "mode": data["quiet_mode"] or "hold",
            }
        late = data["late_tolerance_minutes"]
        return {
            "exit_events": exits,
            "reentry": reentry,
            "frequency_cap": data["frequency_cap"],
            "quiet_hours": quiet,
            "late_tolerance_seconds": 3600 if late is None else late * 60,
            "conversion_goal": self.conversion_goal(),
        }


class DryRunForm(forms.Form):
    user_id = forms.CharField(label=_("User ID"), max_length=255)
    event = forms.CharField(label=_("Entry event"), required=False, max_length=255)
    data = _json_field(_("Entry event data (JSON)"), _('e.g. {"cartId": "c-1", "total": 52000}'))

    def clean_data(self) -> dict[str, Any]:
        value = _parse_json(self.cleaned_data["data"], default={})
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The data must be a JSON object."))
        return value
