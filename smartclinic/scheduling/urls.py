from django.urls import path

from smartclinic.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("staff/sessions/", views.session_day, name="session_day"),
]
