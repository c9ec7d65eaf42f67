"""REST API of campaigns: the Send API, messages and campaigns."""
