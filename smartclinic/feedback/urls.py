from django.urls import path

from smartclinic.feedback import views

app_name = "feedback"

urlpatterns = [
    path("visits/<uuid:visit_id>/evaluate/", views.evaluate_page, name="evaluate"),
    path("staff/evaluations/", views.doctor_evaluations_page, name="doctor_evaluations"),
    path("staff/evaluations/<uuid:evaluation_id>/reply/", views.evaluation_reply_page, name="reply"),
    path("staff/complaints/", views.complaint_list_page, name="complaints"),
    path("staff/complaints/<uuid:case_id>/follow-up/", views.complaint_follow_up_page, name="follow_up"),
]
