"""Customers (the project's users), their tags and events, segments and audience files.

Knows nothing of campaigns.
"""
