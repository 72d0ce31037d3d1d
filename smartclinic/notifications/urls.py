from django.urls import path

from smartclinic.notifications import views

app_name = "notifications"

urlpatterns = [
    path("me/messages/", views.inbox, name="inbox"),
    path("me/messages/read-all/", views.inbox_read_all, name="inbox_read_all"),
    path("me/messages/<uuid:message_id>/", views.message_detail, name="message_detail"),
    path("me/notifications/", views.preferences_page, name="preferences"),
    path("staff/notifications/deliveries/", views.delivery_log, name="delivery_log"),
    path(
        "staff/notifications/deliveries/<uuid:delivery_id>/requeue/",
        views.delivery_requeue_page,
        name="delivery_requeue",
    ),
]
