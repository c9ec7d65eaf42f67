"""What campaigns tell the apps above them (conversions reads campaigns; a
campaign never imports it)."""

from __future__ import annotations

from django.dispatch import Signal

# A campaign was duplicated into a new draft: sent inside the duplicating
# transaction with `original` and `copy`, so that what another app keeps per
# campaign (conversion goals) is copied with it, or not at all.
campaign_duplicated = Signal()
