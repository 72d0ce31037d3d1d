from django.urls import path

from smartclinic.queueing import views, views_stream

app_name = "queueing"

urlpatterns = [
    # The nurse's station.
    path("staff/queue/", views.station, name="station"),
    path("staff/queue/board/", views.station_board, name="station_board"),
    path("staff/queue/stream/", views_stream.station_stream, name="station_stream"),
    path("staff/queue/doctor/stream/", views_stream.doctor_stream, name="doctor_stream"),
    path("staff/queue/walk-in/", views.station_walk_in, name="station_walk_in"),
    path("staff/queue/tickets/<uuid:ticket_id>/check-in/", views.station_check_in, name="station_check_in"),
    path("staff/queue/tickets/<uuid:ticket_id>/rejoin/", views.station_rejoin, name="station_rejoin"),
    path("staff/queue/tickets/<uuid:ticket_id>/priority/", views.station_priority, name="station_priority"),
    path("staff/queue/tickets/<uuid:ticket_id>/vitals/", views.station_vitals, name="station_vitals"),
    path("staff/queue/tickets/<uuid:ticket_id>/transfer/", views.station_transfer, name="station_transfer"),
    path("staff/queue/scan/<str:code>/", views.station_scan, name="station_scan"),
    # The clinic's check-in code (entrance) and the patient's self check-in.
    path("staff/queue/check-in-code/", views.clinic_code, name="clinic_code"),
    path("queue/check-in/", views.self_check_in, name="self_check_in"),
    # The patient's ticket.
    path("appointments/<uuid:appointment_id>/ticket/", views.ticket_page, name="ticket"),
    path("appointments/<uuid:appointment_id>/ticket/stream/", views_stream.ticket_stream, name="ticket_stream"),
    # Waiting-room screens and their management.
    path("screen/<str:token>/", views.screen_page, name="screen"),
    path("screen/<str:token>/board/", views.screen_board, name="screen_board"),
    path("screen/<str:token>/stream/", views_stream.screen_stream, name="screen_stream"),
    path("staff/screens/", views.screen_list, name="screens"),
    path("staff/screens/<uuid:screen_id>/rotate/", views.screen_rotate, name="screen_rotate"),
    path("staff/screens/<uuid:screen_id>/toggle/", views.screen_toggle, name="screen_toggle"),
]
