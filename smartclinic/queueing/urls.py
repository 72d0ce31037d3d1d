from django.urls import path  # noqa: F401

app_name = "queueing"

urlpatterns: list = []
