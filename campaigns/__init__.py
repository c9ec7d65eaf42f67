"""Campaigns: one-off SMS sends to an audience, and the dispatch pipeline that
delivers them (materialise → claim batches → gateway → delivery reports).
Uses audiences, optout and channels; none of them knows of campaigns."""
