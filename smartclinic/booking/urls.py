from django.urls import path

from smartclinic.booking import views

app_name = "booking"

urlpatterns = [
    path("book/", views.book_start, name="start"),
    path("book/doctors/", views.book_doctors, name="doctors"),
    path("book/help/", views.book_help, name="help"),
    path("book/department/<str:code>/", views.department_slots, name="department_slots"),
    path("book/doctor/<uuid:doctor_id>/", views.doctor_slots, name="doctor_slots"),
    path("book/slot/<uuid:slot_id>/", views.slot_confirm, name="slot_confirm"),
    path("appointments/", views.appointment_list, name="appointments"),
    path("appointments/<uuid:appointment_id>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<uuid:appointment_id>/cancel/", views.appointment_cancel_page, name="appointment_cancel"),
    path("appointments/<uuid:appointment_id>/confirm/", views.appointment_confirm_page, name="appointment_confirm"),
    path("appointments/<uuid:appointment_id>/rebook/", views.appointment_rebook_page, name="appointment_rebook"),
    path("waitlist/", views.waitlist_page, name="waitlist"),
    path("waitlist/<uuid:entry_id>/leave/", views.waitlist_leave_page, name="waitlist_leave"),
    # The clinic's side of a suspension lives here because it cancels appointments (booking's
    # service); the session list it is posted from is scheduling's page.
    path("staff/sessions/<uuid:session_id>/suspend/", views.session_suspend_page, name="session_suspend"),
]
