"""The compose screen's conversion goals step: up to five goals of a campaign."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _

from conversions.models import MAX_GOALS_PER_CAMPAIGN, MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS

HOUR = 3600
DAY = 86400
UNITS = {"hours": HOUR, "days": DAY}


class GoalsForm(forms.Form):
    """Up to five conversion goals, one numbered row each: event name,
    attribution window (1 hour to 30 days), optional amount and quantity
    fields of the event's data. Empty rows are ignored."""

    ROWS = range(1, MAX_GOALS_PER_CAMPAIGN + 1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in self.ROWS:
            self.fields[f"event_{i}"] = forms.CharField(max_length=100, required=False)
            self.fields[f"window_{i}"] = forms.IntegerField(required=False)
            self.fields[f"unit_{i}"] = forms.ChoiceField(
                choices=[("hours", _("hours")), ("days", _("days"))], required=False
            )
            self.fields[f"amount_{i}"] = forms.CharField(max_length=100, required=False)
            self.fields[f"quantity_{i}"] = forms.CharField(max_length=100, required=False)

    @classmethod
    def initial_for(cls, goals: list[Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for i, goal in enumerate(goals, start=1):
            days = goal.window_seconds % DAY == 0
            initial.update(
                {
                    f"event_{i}": goal.event_name,
                    f"window_{i}": goal.window_seconds // (DAY if days else HOUR),
                    f"unit_{i}": "days" if days else "hours",
                    f"amount_{i}": goal.revenue_field,
                    f"quantity_{i}": goal.quantity_field,
                }
            )
        return initial

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "number": i,
                **{name: self[f"{name}_{i}"] for name in ("event", "window", "unit")},
                "amount": self[f"amount_{i}"],
                "quantity": self[f"quantity_{i}"],
            }
            for i in self.ROWS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        goals: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i in self.ROWS:
            event = (data.get(f"event_{i}") or "").strip()
            amount = (data.get(f"amount_{i}") or "").strip()
            quantity = (data.get(f"quantity_{i}") or "").strip()
            window = data.get(f"window_{i}")
            if not event:
                if amount or quantity or window:
                    self.add_error(
                        f"event_{i}",
                        _("Goal %(n)d: name the event, or clear the row.") % {"n": i},
                    )
                continue
            if event in seen:
                self.add_error(
                    f"event_{i}",
                    _("Goal %(n)d: %(event)s is already a goal.") % {"n": i, "event": event},
                )
                continue
            seen.add(event)
            unit = data.get(f"unit_{i}") or "hours"
            seconds = (window or 0) * UNITS[unit]
            if not MIN_WINDOW_SECONDS <= seconds <= MAX_WINDOW_SECONDS:
                self.add_error(
                    f"window_{i}",
                    _("Goal %(n)d: the window must be between 1 hour and 30 days.") % {"n": i},
                )
                continue
            if quantity and not amount:
                self.add_error(
                    f"quantity_{i}",
                    _("Goal %(n)d: a quantity field multiplies an amount field; name one.")
                    % {"n": i},
                )
                continue
            goals.append(
                {
                    "event_name": event,
                    "window_seconds": seconds,
                    "revenue_field": amount,
                    "quantity_field": quantity,
                }
            )
        data["goals"] = goals
        return data
