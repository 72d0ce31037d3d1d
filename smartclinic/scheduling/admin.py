from django.contrib import admin

from smartclinic.scheduling.models import Department, Doctor


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = ("code", "name", "name_en", "location", "opening_hours", "active")
    search_fields = ("code", "name", "name_en")


@admin.register(Doctor)
class DoctorAdmin(admin.ModelAdmin[Doctor]):
    list_display = ("name", "title", "room", "active")
    list_filter = ("title", "departments", "active")
    search_fields = ("name",)
    filter_horizontal = ("departments",)
