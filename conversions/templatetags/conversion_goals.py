"""`{% goals_form campaign as goals_form %}`: the compose screen's goals step
form, filled with the campaign's goals. A template tag, so that the
campaigns app (which the conversions app reads) need not import it."""

from __future__ import annotations

from django import template

from campaigns.models import Campaign
from conversions.forms import GoalsForm

register = template.Library()


@register.simple_tag
def goals_form(campaign: Campaign) -> GoalsForm:
    return GoalsForm(initial=GoalsForm.initial_for(list(campaign.goals.all())))
