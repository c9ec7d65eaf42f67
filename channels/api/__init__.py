"""REST API for sender numbers."""
