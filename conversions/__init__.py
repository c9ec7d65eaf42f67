"""Conversion goals of campaigns, attributed as events arrive (SPEC §8)."""
