from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("smartclinic.identity.urls")),
    path("", include("smartclinic.booking.urls")),
    path("", include("smartclinic.scheduling.urls")),
    path("", include("smartclinic.billing.urls")),
    path("", include("smartclinic.queueing.urls")),
    path("", include("smartclinic.visits.urls")),
    path("", include("smartclinic.feedback.urls")),
    path("", include("smartclinic.interop.urls")),
    path("", include("smartclinic.notifications.urls")),
]
