from django.urls import path

from smartclinic.billing import views

app_name = "billing"

urlpatterns = [
    path("pay/appointment/<uuid:appointment_id>/", views.pay_appointment, name="pay_appointment"),
    path("pay/orders/", views.order_list, name="orders"),
    path("pay/orders/<uuid:order_id>/", views.order_page, name="order"),
    path("pay/orders/<uuid:order_id>/wechat/check/", views.wechat_check, name="wechat_check"),
    path("pay/orders/<uuid:order_id>/wechat/stand-in/", views.wechat_standin_pay, name="wechat_standin_pay"),
    path("me/campus-card/", views.card_page, name="card"),
    path("staff/cashier/", views.cashier_home, name="cashier"),
    path("staff/cashier/members/<uuid:member_id>/", views.cashier_member, name="cashier_member"),
    path(
        "staff/cashier/appointments/<uuid:appointment_id>/pay/",
        views.cashier_pay_appointment,
        name="cashier_pay_appointment",
    ),
    path("staff/cashier/orders/<uuid:order_id>/pay/", views.cashier_pay_order, name="cashier_pay_order"),
    path("staff/cashier/members/<uuid:member_id>/top-up/", views.cashier_top_up, name="cashier_top_up"),
    path("staff/cashier/refunds/", views.cashier_refunds, name="cashier_refunds"),
    path(
        "staff/cashier/refunds/<uuid:refund_id>/complete/",
        views.cashier_refund_complete,
        name="cashier_refund_complete",
    ),
    path("staff/reconciliation/", views.reconciliation_page, name="reconciliation"),
    path("staff/reconciliation/<uuid:run_id>/", views.reconciliation_detail, name="reconciliation_detail"),
]
