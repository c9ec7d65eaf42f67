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
from audiences.segments import EVENT_DATA_OPS
from channels.queries import approved_senders
from journeys.conditions import VALUELESS_OPS
from journeys.graph import KINDS, MAX_VARIANTS, kind_labels, ports_of
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


NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
# The entry-event data operators, as the segment editor names them.
OP_LABELS = {"eq": _("is"), "neq": _("is not"), "gt": _("is greater than"), "lt": _("is less than")}


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

    # A template that draws the config fields (the generic field list if empty).
    config_template: ClassVar[str] = ""

    def __init__(self, *args: Any, node: dict, others: list[str], project: Project, **kw: Any):
        self.node, self.project, self.others = node, project, others
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


def _typed(text: str) -> Any:
    """A condition's value as typed: a number stays a number ("80" → 80),
    true/false a boolean, "quoted" text a text; anything else is text."""
    text = (text or "").strip()
    if NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def _untyped(value: Any) -> str:
    """The text a value is typed as (the inverse of _typed)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value if _typed(value) == value else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _count(data: Any, name: str, limit: int) -> int:
    try:
        value = int(data.get(name) or 0)
    except (TypeError, ValueError):
        value = 0
    return max(0, min(value, limit))


def _within(path: str, prefix: str) -> bool:
    """Whether a problem's field path is `prefix` or inside it."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


# --- rows of event-data conditions --------------------------------------------------
# A split branch's entry-event conditions and a trigger's or a wait-for-event's
# `where` are the same list of `{field, op, value}` (docs/journeys.md), edited
# as the same rows: a data field path, an operator, a value typed as _typed
# types it. A form holds one set of rows per prefix ("b0-", "where-").

MAX_CONDITIONS = 20
CONDITION_PARTS = ("field", "op", "value")


def _empty_condition() -> dict[str, str]:
    return {"field": "", "op": "eq", "value": ""}


def _op_and_indexes(op: str) -> tuple[str, list[int]]:
    """A row button's value (`remove_condition:0:2`) as its verb and indexes."""
    verb, _sep, rest = op.partition(":")
    return verb, [int(part) for part in rest.split(":") if part.isdigit()]


def conditions_from_config(where: Any) -> list[dict[str, str]]:
    """Stored conditions as the texts of their rows."""
    return [
        {
            "field": str(condition.get("field", "")),
            "op": str(condition.get("op", "eq")),
            "value": _untyped(condition.get("value")),
        }
        for condition in (where if isinstance(where, list) else [])
        if isinstance(condition, dict)
    ]


def conditions_from_data(data: Any, prefix: str) -> list[dict[str, str]]:
    """The posted rows under `prefix`, as many as its count says."""
    return [
        {
            "field": data.get(f"{prefix}c{j}-field", ""),
            "op": data.get(f"{prefix}c{j}-op", "eq"),
            "value": data.get(f"{prefix}c{j}-value", ""),
        }
        for j in range(_count(data, prefix + "conditions", MAX_CONDITIONS))
    ]


def conditions_as_data(conditions: list[dict[str, str]], prefix: str) -> dict[str, str]:
    """Rows as the posted data they are drawn from (the inverse of conditions_from_data)."""
    data = {prefix + "conditions": str(len(conditions))}
    for j, condition in enumerate(conditions):
        for name in CONDITION_PARTS:
            data[f"{prefix}c{j}-{name}"] = condition[name]
    return data


def rearrange_conditions(conditions: list[dict[str, str]], verb: str, indexes: list[int]) -> bool:
    """Add a row, or remove the row at indexes[0]; False when `verb` is neither."""
    if verb == "add_condition" and len(conditions) < MAX_CONDITIONS:
        conditions.append(_empty_condition())
        return True
    if verb == "remove_condition" and indexes and indexes[0] < len(conditions):
        del conditions[indexes[0]]
        return True
    return False


def _op_choices(op: str) -> list[tuple[str, Any]]:
    choices: list[tuple[str, Any]] = [(name, OP_LABELS[name]) for name in EVENT_DATA_OPS]
    if op and op not in OP_LABELS and len(op) <= 30:
        # A stored operator the builder does not offer stays as it is, so that
        # saving the node changes nothing; the validator names it.
        choices.append((op, op))
    return choices


def add_condition_fields(form: forms.Form, prefix: str, conditions: list[dict[str, str]]) -> None:
    """The rows' fields: a hidden count, then a field, an operator and a value per row."""
    form.fields[prefix + "conditions"] = forms.IntegerField(
        widget=forms.HiddenInput, required=False, initial=len(conditions)
    )
    for j, condition in enumerate(conditions):
        c = f"{prefix}c{j}-"
        form.fields[c + "field"] = forms.CharField(
            label=_("Data field"),
            required=False,
            max_length=100,
            initial=condition["field"],
            widget=forms.TextInput(
                attrs={"placeholder": _("e.g. total"), "spellcheck": "false", "autocomplete": "off"}
            ),
        )
        form.fields[c + "op"] = forms.ChoiceField(
            label=_("Operator"), choices=_op_choices(condition["op"]), initial=condition["op"]
        )
        form.fields[c + "value"] = forms.CharField(
            label=_("Value"), required=False, max_length=255, initial=condition["value"]
        )


def cleaned_conditions(form: forms.Form, prefix: str, count: int) -> list[dict[str, Any]]:
    """The rows as stored conditions (call from clean()). A row left empty is
    dropped; a half-filled one is an error that names the row."""
    data = form.cleaned_data
    conditions = []
    for j in range(count):
        c = f"{prefix}c{j}-"
        field = (data.get(c + "field") or "").strip()
        op = data.get(c + "op") or "eq"
        text = (data.get(c + "value") or "").strip()
        if not field and not text:
            continue
        if not field:
            form.add_error(c + "field", _("Condition %(n)s: field is required") % {"n": j + 1})
            continue
        if not text and op not in VALUELESS_OPS:
            form.add_error(c + "value", _("Condition %(n)s: value is required") % {"n": j + 1})
            continue
        condition: dict[str, Any] = {"field": field, "op": op}
        if text or op not in VALUELESS_OPS:
            condition["value"] = _typed(data.get(c + "value") or "")
        conditions.append(condition)
    return conditions


def condition_block(
    form: Any, prefix: str, path: str, count: int, *, ops_suffix: str, texts: dict[str, Any]
) -> dict[str, Any]:
    """What templates/journeys/_data_conditions.html draws: the rows' bound
    fields and the validator's problems inside each (`path[j]`), the add and
    remove buttons' values (`add_condition<suffix>`, `remove_condition<suffix>:j`)
    and the block's texts (legend, add, empty)."""
    rows = [
        {
            "index": j,
            "number": j + 1,
            "field": form[f"{prefix}c{j}-field"],
            "op": form[f"{prefix}c{j}-op"],
            "value": form[f"{prefix}c{j}-value"],
            "path": f"{path}[{j}]",
            "remove": f"remove_condition{ops_suffix}:{j}",
            "problems": form.problems_at(f"{path}[{j}]"),
        }
        for j in range(count)
    ]
    return {
        "count": form[prefix + "conditions"],
        "rows": rows,
        "add": f"add_condition{ops_suffix}",
        **texts,
    }


class InlineProblems:
    """A node form that shows the validator's problems beside the rows their
    path points into; the rest go above the form."""

    problems: list[Any]

    def problems_at(self, prefix: str) -> list[Any]:
        return [p for p in self.problems if _within(p.field, prefix)]

    def show_problems(self, problems: list[Any]) -> list[Any]:
        """Keep the node's problems to show beside their rows; the rest (to
        show above the form) are returned."""
        self.problems = problems
        return [p for p in problems if not self.shows_inline(p.field)]

    def shows_inline(self, path: str) -> bool:
        raise NotImplementedError


class WhereRowsForm(InlineProblems, NodeForm):
    """A node whose event's data conditions (`config.where`) are rows."""

    config_template: ClassVar[str] = "journeys/_where_fields.html"
    where_prefix: ClassVar[str] = "where-"

    def setup(self) -> None:
        super().setup()
        node = self.node
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        self.where_rows = (
            conditions_from_data(self.data, self.where_prefix)
            if self.is_bound
            else conditions_from_config(config.get("where"))
        )
        self.problems = []
        add_condition_fields(self, self.where_prefix, self.where_rows)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.where = cleaned_conditions(self, self.where_prefix, len(self.where_rows))
        return data

    def rearranged(self, op: str) -> dict[str, Any] | None:
        """The posted data with a condition row added or removed (None: not
        a row button of this form)."""
        verb, indexes = _op_and_indexes(op)
        rows = conditions_from_data(self.data, self.where_prefix)
        if not rearrange_conditions(rows, verb, indexes):
            return None
        data = {k: v for k, v in self.data.items() if k != "op"}
        data.update(conditions_as_data(rows, self.where_prefix))
        return data

    def config_fields(self) -> list[forms.BoundField]:
        return [f for f in super().config_fields() if not f.name.startswith(self.where_prefix)]

    def where_block(self) -> dict[str, Any]:
        return condition_block(
            self,
            self.where_prefix,
            "config.where",
            len(self.where_rows),
            ops_suffix="",
            texts={
                "legend": _("Event data conditions"),
                "add_label": _("+ Data condition"),
                "empty": _("No condition on the event's data: every such event counts."),
            },
        )

    def shows_inline(self, path: str) -> bool:
        return path.startswith("config.where[")


class TriggerForm(WhereRowsForm):
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
        super().setup()
        segments = Segment.objects.filter(project=self.project).order_by("name")
        self.fields["segment_id"].choices = [("", _("— none —"))] + [
            (s.pk, s.name) for s in segments
        ]

    def initial_from(self, config: dict) -> dict[str, Any]:
        return {
            "type": config.get("type", "event"),
            "event": config.get("event", ""),
            "segment_id": config.get("segment_id") or "",
            "enter_current_members": bool(config.get("enter_current_members")),
            "cron": config.get("cron", ""),
            "time_zone": config.get("time_zone", "Asia/Seoul"),
            "catch_up_minutes": config.get("catch_up_minutes", 60),
        }

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["type"]
        if kind == "event":
            return {
                "type": kind,
                "event": data["event"].strip(),
                "where": self.where,
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


class WaitEventForm(DurationMixin, WhereRowsForm):
    kind = "wait_event"
    event = forms.CharField(label=_("Event"), required=False, max_length=255)
    match_field = forms.CharField(
        label=_("Same value as the entry event in field"), required=False, max_length=100
    )

    def setup(self) -> None:
        super().setup()
        self.fields["amount"].label = _("Time out after")

    def initial_from(self, config: dict) -> dict[str, Any]:
        amount, unit = _split_duration(config.get("timeout_seconds"))
        return {
            "event": config.get("event", ""),
            "match_field": config.get("match_field", ""),
            "amount": amount,
            "unit": unit,
        }

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        config: dict[str, Any] = {
            "event": data["event"].strip(),
            "where": self.where,
            "timeout_seconds": self.seconds(),
        }
        if data["match_field"].strip():
            config["match_field"] = data["match_field"].strip()
        return config


class RowsForm(InlineProblems, NodeForm):
    """A node form whose config is a list of rows the marketer adds, removes
    and orders (split branches, A/B variants). Its rows are raw texts, read
    from the posted data or the node's config; a press of one of the row
    buttons (`op`) rearranges them and the panel is drawn again, unsaved."""

    max_rows: ClassVar[int] = 20

    def setup(self) -> None:
        for port in self.ports:
            self.fields.pop(f"next_{port}", None)
        self.rows = self.rows_from_data(self.data) if self.is_bound else self.rows_from_node()
        self.problems: list[Any] = []
        self.add_row_fields()

    def target_field(self, label: Any, initial: str | None) -> forms.ChoiceField:
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", _("— end here —"))] + [(key, key) for key in self.others],
            initial=initial or "",
        )

    def rows_from_node(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def rows_from_data(self, data: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def add_row_fields(self) -> None:
        raise NotImplementedError

    def data_from_rows(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        raise NotImplementedError

    def rearranged(self, op: str) -> dict[str, Any] | None:
        """The posted data with the rows rearranged by `op` (None: not an op
        of this form)."""
        verb, indexes = _op_and_indexes(op)
        rows = self.rows_from_data(self.data)
        if not self.rearrange(rows, verb, indexes):
            return None
        data = self.data_from_rows(rows)
        data["label"] = self.data.get("label", "")
        return data

    def rearrange(self, rows: list[dict[str, Any]], verb: str, indexes: list[int]) -> bool:
        index = indexes[0] if indexes else -1
        if verb == "remove" and 0 <= index < len(rows):
            del rows[index]
        elif verb == "up" and 0 < index < len(rows):
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        elif verb == "down" and 0 <= index < len(rows) - 1:
            rows[index + 1], rows[index] = rows[index], rows[index + 1]
        else:
            return False
        return True

    def updated_node(self) -> dict[str, Any]:
        # The ports follow the rows: clean() gathered each row's next node.
        node = dict(self.node)
        node["label"] = self.cleaned_data.get("label", "")
        node["config"] = self.config()
        node["next"] = self.nexts
        return node


class SplitForm(RowsForm):
    """Ordered branches, each a segment (saved, or conditions built as in
    the segment editor) and/or conditions on the entry event's data, each
    with the node it leads to; a user takes the first branch that matches,
    else the else port."""

    kind = "split"
    config_template = "journeys/_split_fields.html"

    def rows_from_node(self) -> list[dict[str, Any]]:
        config = self.node.get("config") if isinstance(self.node.get("config"), dict) else {}
        nexts = self.node.get("next") if isinstance(self.node.get("next"), dict) else {}
        rows = []
        branches = config.get("branches") if isinstance(config.get("branches"), list) else []
        for index, branch in enumerate(branches):
            branch = branch if isinstance(branch, dict) else {}
            segment = branch.get("segment")
            saved = ""
            if isinstance(segment, int) and not isinstance(segment, bool):
                saved, segment = str(segment), None
            elif (
                isinstance(segment, dict)
                and "segment_id" in segment
                and "conditions" not in segment
            ):
                saved, segment = str(segment["segment_id"]), None
            rows.append(
                {
                    "label": str(branch.get("label") or ""),
                    "segment_id": saved,
                    "segment": json.dumps(segment, ensure_ascii=False) if segment else "",
                    "conditions": conditions_from_config(branch.get("entry_data")),
                    "next": nexts.get(f"b{index}") or "",
                }
            )
        self.else_next = nexts.get("else") or ""
        return rows

    def rows_from_data(self, data: Any) -> list[dict[str, Any]]:
        rows = []
        for i in range(_count(data, "branch_count", self.max_rows)):
            p = f"b{i}-"
            rows.append(
                {
                    "label": data.get(p + "label", ""),
                    "segment_id": data.get(p + "segment_id", ""),
                    "segment": data.get(p + "segment", ""),
                    "conditions": conditions_from_data(data, p),
                    "next": data.get(p + "next", ""),
                }
            )
        self.else_next = data.get("next_else", "")
        return rows

    def data_from_rows(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {"branch_count": str(len(rows)), "next_else": self.else_next}
        for i, row in enumerate(rows):
            p = f"b{i}-"
            data.update(
                {
                    p + "label": row["label"],
                    p + "segment_id": row["segment_id"],
                    p + "segment": row["segment"],
                    p + "next": row["next"],
                }
            )
            data.update(conditions_as_data(row["conditions"], p))
        return data

    def add_row_fields(self) -> None:
        segments = [("", _("any user"))] + [
            (str(s.pk), s.name)
            for s in Segment.objects.filter(project=self.project).order_by("name")
        ]
        self.fields["branch_count"] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, initial=len(self.rows)
        )
        for i, row in enumerate(self.rows):
            p = f"b{i}-"
            self.fields[p + "label"] = forms.CharField(
                label=_("Branch name"), required=False, max_length=100, initial=row["label"]
            )
            self.fields[p + "segment_id"] = forms.ChoiceField(
                label=_("Users in the segment"),
                required=False,
                choices=segments,
                initial=row["segment_id"],
            )
            self.fields[p + "segment"] = forms.CharField(
                label=_("Segment conditions (JSON)"),
                required=False,
                initial=row["segment"],
                widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
            )
            add_condition_fields(self, p, row["conditions"])
            self.fields[p + "next"] = self.target_field(_("Then"), row["next"])
        self.fields["next_else"] = self.target_field(_("Then"), self.else_next)
        self.ports = [f"b{i}" for i in range(len(self.rows))] + ["else"]

    def rearrange(self, rows: list[dict[str, Any]], verb: str, indexes: list[int]) -> bool:
        if verb == "add" and len(rows) < self.max_rows:
            rows.append(
                {
                    "label": "",
                    "segment_id": "",
                    "segment": "",
                    "conditions": [_empty_condition()],
                    "next": "",
                }
            )
            return True
        if verb in ("add_condition", "remove_condition") and indexes and indexes[0] < len(rows):
            return rearrange_conditions(rows[indexes[0]]["conditions"], verb, indexes[1:])
        return super().rearrange(rows, verb, indexes)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        branches, nexts = [], {}
        for i, row in enumerate(self.rows):
            p = f"b{i}-"
            branch: dict[str, Any] = {"label": (data.get(p + "label") or "").strip()}
            definition = None
            text = (data.get(p + "segment") or "").strip()
            if text:
                try:
                    definition = json.loads(text)
                except json.JSONDecodeError as exc:
                    self.add_error(
                        p + "segment",
                        _("Not valid JSON: %(error)s") % {"error": exc.msg},
                    )
            built = isinstance(definition, dict) and bool(definition.get("conditions"))
            saved = data.get(p + "segment_id")
            if saved and built:
                self.add_error(
                    p + "segment_id",
                    _("Choose a saved segment or build conditions, not both."),
                )
            elif saved:
                branch["segment"] = int(saved)
            elif built or (definition is not None and not isinstance(definition, dict)):
                branch["segment"] = definition
            entry = cleaned_conditions(self, p, len(row["conditions"]))
            if entry:
                branch["entry_data"] = entry
            branches.append(branch)
            nexts[f"b{i}"] = data.get(p + "next") or None
        nexts["else"] = data.get("next_else") or None
        self.branches, self.nexts = branches, nexts
        return data

    def config(self) -> dict[str, Any]:
        return {"branches": self.branches}

    def shows_inline(self, path: str) -> bool:
        return path.startswith("config.branches[")

    def branch_rows(self) -> list[dict[str, Any]]:
        """Each branch's bound fields and the problems inside it, for the template."""
        result = []
        for i, row in enumerate(self.rows):
            p, path = f"b{i}-", f"config.branches[{i}]"
            conditions = condition_block(
                self,
                p,
                f"{path}.entry_data",
                len(row["conditions"]),
                ops_suffix=f":{i}",
                texts={
                    "legend": _("and the entry event's data"),
                    "add_label": _("+ Entry event condition"),
                    "empty": _("No condition on the entry event."),
                },
            )
            shown = {id(q) for c in conditions["rows"] for q in c["problems"]}
            result.append(
                {
                    "index": i,
                    "number": i + 1,
                    "port": f"b{i}",
                    "path": path,
                    "label": self[p + "label"],
                    "segment_id": self[p + "segment_id"],
                    "segment": self[p + "segment"],
                    "conditions": conditions,
                    "next": self[p + "next"],
                    "problems": [q for q in self.problems_at(path) if id(q) not in shown],
                    "last": i == len(self.rows) - 1,
                }
            )
        return result


class ABForm(RowsForm):
    """Variants with a key (the port's name), a percentage and the node each
    leads to; the percentages add up to 100."""

    kind = "ab"
    config_template = "journeys/_ab_fields.html"
    max_rows = MAX_VARIANTS

    def rows_from_node(self) -> list[dict[str, Any]]:
        config = self.node.get("config") if isinstance(self.node.get("config"), dict) else {}
        nexts = self.node.get("next") if isinstance(self.node.get("next"), dict) else {}
        variants = config.get("variants") if isinstance(config.get("variants"), list) else []
        return [
            {
                "key": str(v.get("key") or ""),
                "percent": _untyped(v.get("percent")),
                "next": nexts.get(str(v.get("key") or "")) or "",
            }
            for v in variants
            if isinstance(v, dict)
        ]

    def rows_from_data(self, data: Any) -> list[dict[str, Any]]:
        return [
            {
                "key": data.get(f"v{i}-key", ""),
                "percent": data.get(f"v{i}-percent", ""),
                "next": data.get(f"v{i}-next", ""),
            }
            for i in range(_count(data, "variant_count", self.max_rows))
        ]

    def data_from_rows(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {"variant_count": str(len(rows))}
        for i, row in enumerate(rows):
            for name in ("key", "percent", "next"):
                data[f"v{i}-{name}"] = row[name]
        return data

    def add_row_fields(self) -> None:
        self.fields["variant_count"] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, initial=len(self.rows)
        )
        for i, row in enumerate(self.rows):
            self.fields[f"v{i}-key"] = forms.CharField(
                label=_("Variant"), required=False, max_length=20, initial=row["key"]
            )
            self.fields[f"v{i}-percent"] = forms.CharField(
                label=_("Percent"),
                required=False,
                max_length=10,
                initial=row["percent"],
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "ab-percent"}),
            )
            self.fields[f"v{i}-next"] = self.target_field(_("Then"), row["next"])
        self.ports = [row["key"] for row in self.rows]

    def rearrange(self, rows: list[dict[str, Any]], verb: str, indexes: list[int]) -> bool:
        if verb == "add" and len(rows) < self.max_rows:
            taken = {row["key"] for row in rows}
            key = next(k for k in "abcdefghijklmnopqrstuvwxyz" if k not in taken)
            rows.append({"key": key, "percent": "0", "next": ""})
            return True
        return super().rearrange(rows, verb, indexes)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        variants, nexts = [], {}
        for i in range(len(self.rows)):
            key = (data.get(f"v{i}-key") or "").strip()
            text = (data.get(f"v{i}-percent") or "").strip()
            percent = _typed(text)
            if not isinstance(percent, int | float) or isinstance(percent, bool):
                self.add_error(f"v{i}-percent", _("Write a percentage, e.g. 50 or 12.5."))
                continue
            variants.append({"key": key, "percent": percent})
            nexts[key] = data.get(f"v{i}-next") or None
        self.variants, self.nexts = variants, nexts
        return data

    def config(self) -> dict[str, Any]:
        return {"variants": self.variants}

    def shows_inline(self, path: str) -> bool:
        return _within(path, "config.variants")

    def total(self) -> str:
        """The percentages' sum as typed ("" when one is not a number)."""
        total = 0.0
        for row in self.rows:
            value = _typed(row["percent"])
            if not isinstance(value, int | float) or isinstance(value, bool):
                return ""
            total += value
        return f"{total:g}"

    def variant_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "index": i,
                "path": f"config.variants[{i}]",
                "key": self[f"v{i}-key"],
                "percent": self[f"v{i}-percent"],
                "next": self[f"v{i}-next"],
                "problems": self.problems_at(f"config.variants[{i}]"),
            }
            for i in range(len(self.rows))
        ]

    def total_problems(self) -> list[Any]:
        return [p for p in self.problems if p.field == "config.variants"]


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
