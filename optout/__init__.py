"""The 080 opt-out list: entries and their history, its API and console, and the
query dispatch uses to drop opted-out numbers. Knows nothing of campaigns."""
