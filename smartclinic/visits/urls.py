from django.urls import path

from smartclinic.visits import views

app_name = "visits"

urlpatterns = [
    # The doctor's station.
    path("staff/doctor/", views.station, name="station"),
    path("staff/doctor/call-next/", views.station_call_next, name="station_call_next"),
    path("staff/doctor/tickets/<uuid:ticket_id>/recall/", views.station_recall, name="station_recall"),
    path("staff/doctor/tickets/<uuid:ticket_id>/skip/", views.station_skip, name="station_skip"),
    path("staff/doctor/tickets/<uuid:ticket_id>/start/", views.station_start, name="station_start"),
    path("staff/doctor/tickets/<uuid:ticket_id>/transfer/", views.station_transfer, name="station_transfer"),
    path("staff/doctor/tickets/<uuid:ticket_id>/record/", views.station_record, name="station_record"),
    path("staff/doctor/visits/<uuid:encounter_id>/", views.station_visit, name="station_visit"),
    # The clinic's day list.
    path("staff/visits/", views.visit_log_page, name="visit_log"),
    path("staff/visits/export.csv", views.visit_log_export, name="visit_log_export"),
    # The patient's visit summaries.
    path("me/visits/", views.my_visits, name="my_visits"),
    path("visits/<uuid:encounter_id>/", views.visit_summary, name="summary"),
]
