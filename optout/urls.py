from django.urls import path
from django.utils.translation import gettext_lazy as _

from console.placeholder import placeholder

urlpatterns = [
    path("p/<uuid:project_id>/optouts/", placeholder(_("Opt-outs")), name="optouts"),
]
