"""Top-level URLs: the console screens, the Django admin, the API and inbound callbacks."""

from django.contrib import admin
from django.urls import include, path

from console import views

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<uuid:project_id>/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    # Pages without the console's icon link (the Django admin) still get one.
    path("favicon.ico", views.favicon),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("v1/", include("console.api.urls")),
    path("inbound/", include("channels.inbound_urls")),
    path("", include("projects.urls")),
    path("", include("channels.urls")),
    path("", include("audiences.urls")),
    path("", include("audiences.segment_urls")),
    path("", include("audiences.file_urls")),
    path("", include("optout.urls")),
    path("", include("consent.urls")),
    path("", include("webhooks.urls")),
    path("", include("campaigns.urls")),
    path("", include("journeys.urls")),
    path("", include("stats.urls")),
    path("", include("conversions.urls")),
]

# JSON errors under /v1/ even when they happen outside the API views.
handler400 = "console.api.errors.handler400"
handler403 = "console.api.errors.handler403"
handler404 = "console.api.errors.handler404"
handler500 = "console.api.errors.handler500"
