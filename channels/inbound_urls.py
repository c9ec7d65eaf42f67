"""Callbacks from gateways: delivery reports and 080 calls (under /inbound/)."""

from django.urls import path

from channels import inbound

app_name = "inbound"

urlpatterns = [
    path("<slug:backend>/reports", inbound.delivery_reports, name="delivery_reports"),
    path("<slug:backend>/080", inbound.optout_call, name="optout_call"),
]
