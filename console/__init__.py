"""Munja's project package: settings, URLs, the dashboard and shared helpers."""
