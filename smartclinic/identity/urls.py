from django.urls import path

from smartclinic.identity import views

app_name = "identity"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.PatientLoginView.as_view(), name="login"),
    path("staff/login/", views.StaffLoginView.as_view(), name="staff_login"),
    path("logout/", views.logout_view, name="logout"),
    path("me/", views.profile, name="profile"),
    path("me/card/", views.card_bind_page, name="card_bind"),
    path("me/card/unbind/", views.card_unbind_page, name="card_unbind"),
    path("me/dependants/", views.dependants_page, name="dependants"),
    path("me/dependants/<uuid:dependant_id>/remove/", views.dependant_remove_page, name="dependant_remove"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/members/", views.staff_members, name="staff_members"),
    path("staff/members/<uuid:member_id>/unbind/", views.staff_member_unbind, name="staff_member_unbind"),
    path("staff/roster/import/", views.roster_import_page, name="roster_import"),
]
