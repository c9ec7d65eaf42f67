"""Outgoing webhooks: a project's endpoint, the events it is owed, and their
signed, retried, ordered delivery. Knows nothing of what the events mean."""
