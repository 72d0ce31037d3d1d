"""The booking journeys in a real browser: on a phone, a student lets the clinic suggest a
department for a sore throat and a cough, books a slot of a suggested doctor, finds it under
"my appointments" and cancels it; at a workstation, a manager suspends a session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from smartclinic.booking.choices import AppointmentStatus
from smartclinic.booking.models import Appointment
from smartclinic.booking.services import appointment_book
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot
from smartclinic.scheduling.services import session_create_one_off

PASSWORD = "pw-Secret-123"


def sign_in(page: Any, username: str, path: str = "/login/") -> None:
    page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_test_id("login-submit").click()


def assert_fits_the_screen(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def open_session(
    make_user: Any, department: Department, name: str, title: str, specialties: list[str]
) -> ClinicSession:
    """A doctor with one session tomorrow morning whose booking is already open."""
    doctor = Doctor.objects.create(
        user=make_user(Role.DOCTOR), name=name, title=title, specialties=specialties, room=f"{department.code}-101"
    )
    doctor.departments.set([department])
    session = session_create_one_off(
        actor=Actor.system(reason="test"),
        doctor=doctor,
        department=department,
        date=clock.today() + dt.timedelta(days=1),
        period="morning",
        start=dt.time(8, 0),
        end=dt.time(10, 0),
        slot_minutes=20,
        per_slot=2,
        walkin_percent=20,
    )
    ClinicSession.objects.filter(pk=session.pk).update(opens_at=clock.now() - dt.timedelta(hours=1))
    return session


def campus(make_user: Any) -> dict[str, Any]:
    internal = Department.objects.create(
        code="NK", name="内科", location="门诊楼一层", opening_hours="周一至周日 8:00–21:00", sort_order=1
    )
    ent = Department.objects.create(
        code="EBH", name="耳鼻喉科", location="门诊楼二层 203", opening_hours="周一至周五 8:00–17:00", sort_order=2
    )
    return {
        "internal": internal,
        "ent": ent,
        "sessions": [
            open_session(make_user, internal, "王建国", "associate_chief", ["感冒", "发热", "咳嗽"]),
            open_session(make_user, internal, "陈晓燕", "attending", ["胃炎"]),
            open_session(make_user, ent, "李咽清", "attending", ["咽炎", "扁桃体炎"]),
        ],
    }


def test_a_student_lets_the_clinic_choose_books_and_cancels_on_a_phone(
    phone, make_user, make_member, screenshot_dir: Path
):
    data = campus(make_user)
    user = make_user(username="lihua_book")
    make_member(name="李华", account=user, bound_at=clock.now())

    sign_in(phone, user.username)
    phone.wait_for_url("**/me/")
    expect(phone.get_by_test_id("patient-nav")).to_be_visible()
    phone.get_by_test_id("book-link").click()
    phone.wait_for_url("**/book/")
    expect(phone.get_by_test_id("department-NK")).to_contain_text("门诊楼一层")
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-departments.png"), full_page=True)

    phone.get_by_test_id("way-help").click()
    phone.wait_for_url("**/book/help/")
    phone.fill("#id_complaint", "嗓子疼，咳嗽两天")
    phone.get_by_test_id("symptoms").locator("summary").click()
    phone.get_by_test_id("symptom-cough").click()
    expect(phone.get_by_test_id("symptom-cough").locator("input")).to_be_checked()
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-help-form.png"), full_page=False)
    phone.get_by_test_id("help-submit").click()

    departments = phone.get_by_test_id("recommended-departments")
    expect(departments).to_be_visible()
    first_department = departments.locator(".rank").first
    expect(first_department).to_contain_text("内科")
    expect(departments).to_contain_text("耳鼻喉科")
    expect(first_department.locator(".reasons li").first).to_contain_text("咳嗽")
    doctors = phone.get_by_test_id("recommended-doctor")
    expect(doctors.first).to_contain_text("最早可约")
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-help-result.png"), full_page=True)

    doctors.first.get_by_test_id("doctor-slots-link").click()
    phone.wait_for_url("**/book/doctor/**")
    expect(phone.get_by_test_id("day-picker")).to_be_visible()
    slots = phone.locator('[data-testid="slot"][data-state="bookable"]')
    expect(slots.first).to_be_visible()
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-slots.png"), full_page=True)
    phone.set_viewport_size({"width": 360, "height": 740})
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-slots-360.png"), full_page=False)
    phone.set_viewport_size({"width": 390, "height": 844})

    slots.first.get_by_test_id("slot-book").click()
    phone.wait_for_url("**/book/slot/**")
    expect(phone.get_by_test_id("slot-summary")).to_contain_text("¥")
    expect(phone.get_by_test_id("cancel-deadline")).to_be_visible()
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-confirm.png"), full_page=True)
    phone.get_by_test_id("book-submit").click()

    phone.wait_for_url("**/appointments/*/")
    expect(phone.get_by_test_id("messages")).to_contain_text("预约成功")
    appointment = Appointment.objects.get(member__account=user)
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.session.department == data["internal"]
    assert Slot.objects.get(pk=appointment.slot_id).booked == 1
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-appointment-detail.png"), full_page=True)

    phone.get_by_test_id("nav-appointments").click()
    phone.wait_for_url("**/appointments/")
    upcoming = phone.get_by_test_id("section-upcoming").get_by_test_id("appointment")
    expect(upcoming).to_have_count(1)
    expect(upcoming).to_contain_text("内科")
    expect(phone.get_by_test_id("live-count")).to_have_text("1 / 3")
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-my-appointments.png"), full_page=True)

    upcoming.get_by_test_id("cancel").locator("summary").click()
    upcoming.get_by_test_id("cancel-confirm").click()

    expect(phone.get_by_test_id("messages")).to_contain_text("预约已取消")
    expect(phone.get_by_test_id("upcoming-empty")).to_be_visible()
    expect(phone.get_by_test_id("section-past").get_by_test_id("appointment-status")).to_have_text("已取消")
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-my-appointments-cancelled.png"), full_page=True)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert Slot.objects.get(pk=appointment.slot_id).booked == 0


def test_a_full_day_offers_the_waitlist_on_a_phone(phone, make_user, make_member, screenshot_dir: Path):
    data = campus(make_user)
    session = data["sessions"][2]  # the only ENT session
    for slot in Slot.objects.filter(session=session).select_related("session__department", "session__doctor"):
        for _ in range(slot.capacity):
            holder = make_user()
            member = make_member(account=holder, bound_at=clock.now())
            appointment_book(actor=Actor.of(holder), member=member, slot=slot)
            slot.refresh_from_db()
    user = make_user()
    make_member(name="周婷", account=user, bound_at=clock.now())

    sign_in(phone, user.username, path=f"/login/?next=/book/department/EBH/?date={session.date.isoformat()}")
    phone.wait_for_url("**/book/department/EBH/**")
    expect(phone.locator('[data-testid="slot"][data-state="full"]').first).to_be_visible()
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-book-slots-full.png"), full_page=True)
    phone.get_by_test_id("waitlist-join-day").locator("button").click()

    phone.wait_for_url("**/waitlist/")
    expect(phone.get_by_test_id("waitlist-position")).to_contain_text("1")
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-waitlist.png"), full_page=True)


def test_a_manager_suspends_a_session_at_the_workstation(desktop, make_user, make_member, screenshot_dir: Path):
    data = campus(make_user)
    session = data["sessions"][0]
    patient = make_user()
    member = make_member(account=patient, bound_at=clock.now())
    slot = Slot.objects.select_related("session__department", "session__doctor").filter(session=session).first()
    appointment = appointment_book(actor=Actor.of(patient), member=member, slot=slot)
    manager = make_user(Role.MANAGER, username="manager_liu")

    sign_in(desktop, manager.username, path="/staff/login/")
    desktop.wait_for_url("**/staff/")
    desktop.get_by_test_id("tile-sessions").click()
    desktop.get_by_test_id("next-day").click()
    rows = desktop.get_by_test_id("session-row")
    expect(rows).to_have_count(3)
    desktop.screenshot(path=str(screenshot_dir / "desktop-sessions.png"), full_page=True)

    row = rows.filter(has_text="王建国")
    row.get_by_test_id("suspend").locator("summary").click()
    row.locator("input[name=reason]").fill("医生外出培训")
    desktop.screenshot(path=str(screenshot_dir / "desktop-sessions-suspend.png"), full_page=True)
    row.get_by_test_id("suspend-confirm").click()

    expect(desktop.get_by_test_id("messages")).to_contain_text("王建国")
    expect(desktop.get_by_test_id("session-row").filter(has_text="王建国")).to_have_attribute(
        "data-status", "suspended"
    )
    desktop.screenshot(path=str(screenshot_dir / "desktop-sessions-suspended.png"), full_page=True)
    assert ClinicSession.objects.get(pk=session.pk).status == SessionStatus.SUSPENDED
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED_BY_CLINIC
