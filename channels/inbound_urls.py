"""Callbacks from gateways: delivery reports and 080 calls."""

urlpatterns: list = []
