"""The patient booking pages through Django's test client: choose, pick a slot, confirm (once,
whatever the number of submits), see, cancel, confirm a waitlist offer, rebook after a suspension,
the waitlist; errors shown in the request's language; query budgets of the list pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation
from django.utils.html import escape

from smartclinic.booking.choices import AppointmentStatus, WaitlistStatus
from smartclinic.booking.errors import (
    BookingBlocked,
    CancelTooLate,
    DuplicateBooking,
    NotOpenYet,
    SlotFull,
    SlotsStillAvailable,
    TooManyAppointments,
)
from smartclinic.booking.models import Appointment, PersonQuota, WaitlistEntry, person_key_for
from smartclinic.booking.services import appointment_book, appointment_cancel, clinic_session_suspend
from smartclinic.booking.tests.conftest import fresh, slots_of
from smartclinic.booking.waitlist import waitlist_join
from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.core.models import IdempotencyRecord
from smartclinic.identity.choices import Role
from smartclinic.identity.models import Dependant
from smartclinic.scheduling.models import ClinicSession, Slot

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="token" value="([^"]+)"')


def signed_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def in_language(message, language: str) -> str:
    with translation.override(language):
        return escape(str(message))


def html_of(response) -> str:
    return response.content.decode()


def token_of(response) -> str:
    match = TOKEN.search(html_of(response))
    assert match, "the confirm page carries no idempotency token"
    return match.group(1)


def book_through_the_page(client: Client, slot: Slot, **fields):
    page = client.get(f"/book/slot/{slot.public_id}/")
    assert page.status_code == 200
    data = {"token": token_of(page), "patient": "self", **fields}
    return client.post(f"/book/slot/{slot.public_id}/", data)


@pytest.fixture
def full_session(make_department, make_doctor, make_session, patient):
    """NK tomorrow: one doctor, one slot of one place, taken by someone else."""
    department = make_department(code="NK", name="内科")
    session = make_session(make_doctor(department, name="王医生"), department, end=dt.time(8, 15), per_slot=1)
    holder_user, holder = patient()
    taken = appointment_book(actor=Actor.of(holder_user), member=holder, slot=fresh(slots_of(session)[0]))
    return {"department": department, "session": session, "taken": taken, "holder": holder_user}


# --- who may come in --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/book/", "/book/doctors/", "/book/help/", "/appointments/", "/waitlist/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("path", ["/book/", "/book/department/NK/", "/appointments/", "/waitlist/"])
def test_a_patient_without_a_bound_card_is_sent_to_bind_it(make_user, make_department, path):
    make_department(code="NK")
    client = signed_in(make_user())

    response = client.get(path, follow=True)

    assert response.redirect_chain == [("/me/card/", 302)]
    assert "请先绑定校园卡" in html_of(response)


# --- choose -----------------------------------------------------------------------------------


def test_departments_are_listed_with_location_and_opening_hours(clinic, patient, make_department):
    make_department(code="KQ", name="口腔科", location="门诊楼二层", opening_hours="周一至周五 8:00–17:00")
    client = signed_in(patient()[0])

    html = html_of(client.get("/book/"))

    assert 'href="/book/department/NK/"' in html and 'href="/book/department/KQ/"' in html
    assert "门诊楼二层" in html and "周一至周五 8:00–17:00" in html
    assert 'aria-current="page" data-testid="way-department"' in html


def test_doctors_are_listed_with_title_specialties_and_next_free_slot(clinic, patient):
    doctor = clinic["doctor"]
    doctor.specialties = ["感冒", "胃炎"]
    doctor.save(update_fields=["specialties"])
    first = clinic["slots"][0]
    client = signed_in(patient()[0])

    html = html_of(client.get("/book/doctors/"))

    assert doctor.name in html and "主治医师" in html
    assert "感冒" in html and "胃炎" in html
    assert f"{timezone.localtime(first.starts_at):%H:%M}" in html
    assert f'href="/book/doctor/{doctor.public_id}/?date={clinic["session"].date.isoformat()}"' in html


def test_help_me_choose_ranks_departments_and_doctors_with_reasons(make_department, make_doctor, make_session, patient):
    ent = make_department(code="EBH", name="耳鼻喉科")
    internal = make_department(code="NK", name="内科")
    throat = make_doctor(ent, name="李咽", specialties=["咽炎"])
    session = make_session(throat, ent)
    make_session(make_doctor(internal, name="赵内", specialties=["感冒"]), internal)
    client = signed_in(patient()[0])

    form = client.get("/book/help/")
    response = client.get("/book/help/", {"complaint": "嗓子疼，咳嗽两天", "symptoms": ["cough"]})

    assert 'value="cough"' in html_of(form) and "咳嗽" in html_of(form)
    html = html_of(response)
    assert 'data-testid="recommended-department-NK"' in html and 'data-testid="recommended-department-EBH"' in html
    assert "您选择了“咳嗽” → 内科" in html
    assert 'href="/book/department/EBH/"' in html
    assert f'href="/book/doctor/{throat.public_id}/?date={session.date.isoformat()}"' in html
    assert "最早可约" in html
    assert re.search(r'value="cough"[^>]*checked', html)  # the ticked symptom stays ticked


def test_help_me_choose_needs_a_complaint_or_a_symptom(patient):
    client = signed_in(patient()[0], language="en")

    html = html_of(client.get("/book/help/", {"complaint": "  "}))

    assert "Describe how you feel or tick at least one symptom." in html
    assert 'data-testid="recommended-departments"' not in html


def test_help_me_choose_is_in_english_for_english_readers(make_department, patient):
    make_department(code="NK", name="内科", name_en="Internal Medicine")
    client = signed_in(patient()[0], language="en")

    html = html_of(client.get("/book/help/", {"complaint": "xyzzy"}))

    assert "Internal Medicine" in html and "general practice" in html
    assert 'lang="en"' in html


# --- pick a slot ------------------------------------------------------------------------------


def test_department_slots_show_fourteen_days_and_the_slots_of_the_first_day_with_sessions(clinic, patient):
    client = signed_in(patient()[0])
    session = clinic["session"]

    html = html_of(client.get("/book/department/nk/"))

    assert len(re.findall(r"data-testid=\"day-\d", html)) == 14
    assert f'href="?date={session.date.isoformat()}"' in html
    assert f'aria-current="date" data-testid="day-{session.date.isoformat()}"' in html
    assert html.count('data-state="bookable"') == 4
    assert "¥10.00" in html
    assert f'href="/book/slot/{clinic["slots"][0].public_id}/"' in html
    assert "余 2 个" in html


def test_a_day_without_sessions_says_so(clinic, patient):
    client = signed_in(patient()[0])
    today = clock.today().isoformat()

    html = html_of(client.get("/book/department/NK/", {"date": today}))

    assert 'data-testid="no-slots"' in html
    assert f'aria-current="date" data-testid="day-{today}"' in html


def test_a_date_outside_the_booking_horizon_falls_back_to_the_first_day_with_sessions(clinic, patient):
    client = signed_in(patient()[0])

    response = client.get("/book/department/NK/", {"date": "2001-01-01"})

    assert response.status_code == 200
    assert f'aria-current="date" data-testid="day-{clinic["session"].date.isoformat()}"' in html_of(response)


def test_unknown_department_and_doctor_are_404(patient):
    client = signed_in(patient()[0])

    assert client.get("/book/department/XX/").status_code == 404
    assert client.get("/book/doctor/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/book/slot/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_slots_not_yet_released_say_when_booking_opens(clinic, patient):
    opens_at = clock.now() + dt.timedelta(hours=5)
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(opens_at=opens_at)
    client = signed_in(patient()[0])

    html = html_of(client.get(f"/book/doctor/{clinic['doctor'].public_id}/", {"date": clinic["session"].date}))

    assert html.count('data-state="not_open"') == 4
    assert 'data-testid="slot-book"' not in html
    local = timezone.localtime(opens_at)
    assert f"{local:%H:%M}" in html and "开放预约" in html


def test_slots_close_before_they_start(clinic, patient):
    client = signed_in(patient()[0])
    first = clinic["slots"][0]

    with time_machine.travel(first.starts_at - dt.timedelta(minutes=25)):
        html = html_of(client.get("/book/department/NK/", {"date": clinic["session"].date}))

    assert html.count('data-state="closed"') == 1
    assert html.count('data-state="bookable"') == 3


def test_a_fully_booked_session_offers_its_waitlist(full_session, patient):
    client = signed_in(patient()[0])

    html = html_of(client.get("/book/department/NK/", {"date": full_session["session"].date}))

    assert 'data-state="full"' in html and "约满" in html
    assert 'data-testid="waitlist-join-session"' in html
    assert 'data-testid="waitlist-join-day"' in html
    assert f'name="session" value="{full_session["session"].public_id}"' in html


# --- confirm and book -------------------------------------------------------------------------


def test_booking_through_the_confirm_page(clinic, patient):
    user, member = patient()
    client = signed_in(user)
    slot = clinic["slots"][1]

    page = client.get(f"/book/slot/{slot.public_id}/")
    response = client.post(f"/book/slot/{slot.public_id}/", {"token": token_of(page), "patient": "self"}, follow=True)

    appointment = Appointment.objects.get()
    assert response.redirect_chain == [(f"/appointments/{appointment.public_id}/", 302)]
    assert appointment.member == member and appointment.slot == slot and appointment.status == "booked"
    assert Slot.objects.get(pk=slot.pk).booked == 1
    html = html_of(response)
    assert "预约成功" in html
    assert "内科" in html and "¥10.00" in html and clinic["doctor"].name in html
    confirm_html = html_of(page)
    assert "¥10.00" in confirm_html and 'data-testid="cancel-deadline"' in confirm_html
    deadline = slot.starts_at - dt.timedelta(minutes=clinic["department"].cancel_cutoff_minutes)
    assert f"{timezone.localtime(deadline):%H:%M}" in confirm_html


def test_submitting_the_same_form_twice_books_once(clinic, patient):
    user, _ = patient()
    client = signed_in(user)
    slot = clinic["slots"][0]
    page = client.get(f"/book/slot/{slot.public_id}/")
    data = {"token": token_of(page), "patient": "self"}

    first = client.post(f"/book/slot/{slot.public_id}/", data)
    second = client.post(f"/book/slot/{slot.public_id}/", data, follow=True)

    appointment = Appointment.objects.get()
    assert first["Location"] == f"/appointments/{appointment.public_id}/"
    assert second.redirect_chain == [(f"/appointments/{appointment.public_id}/", 302)]
    assert "已经预约过" in html_of(second)
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert IdempotencyRecord.objects.filter(user=user).count() == 1


def test_each_rendering_of_the_confirm_page_carries_a_fresh_token(clinic, patient):
    client = signed_in(patient()[0])
    path = f"/book/slot/{clinic['slots'][0].public_id}/"

    assert token_of(client.get(path)) != token_of(client.get(path))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_full_slot_is_refused_on_the_page_in_the_readers_language(full_session, patient, language):
    user, _ = patient()
    slot = slots_of(full_session["session"])[0]

    response = book_through_the_page(signed_in(user, language), slot)

    assert response.status_code == 422
    assert in_language(SlotFull.message, language) in html_of(response)
    assert Appointment.objects.count() == 1


def test_a_second_booking_in_the_department_that_day_is_refused(clinic, patient):
    user, _ = patient()
    client = signed_in(user)
    book_through_the_page(client, clinic["slots"][0])

    response = book_through_the_page(client, clinic["slots"][2])

    assert response.status_code == 422
    assert in_language(DuplicateBooking.message, "zh-hans") in html_of(response)
    assert Appointment.objects.count() == 1


def test_the_live_appointment_limit_is_explained(clinic, patient, make_department, make_doctor, make_session, settings):
    settings.BOOKING_MAX_LIVE_APPOINTMENTS = 1
    other = make_department(code="KQ", name="口腔科")
    other_slot = slots_of(make_session(make_doctor(other), other))[0]
    user, _ = patient()
    client = signed_in(user, "en")
    book_through_the_page(client, other_slot)

    response = book_through_the_page(client, clinic["slots"][0])

    with translation.override("en"):
        expected = escape(str(TooManyAppointments.message) % {"limit": 1})
    assert expected in html_of(response)


def test_a_no_show_block_is_explained_with_its_end(clinic, patient):
    user, member = patient()
    until = clock.now() + dt.timedelta(days=20)
    PersonQuota.objects.create(person_key=person_key_for(member=member, dependant=None), blocked_until=until)
    client = signed_in(user)

    response = book_through_the_page(client, clinic["slots"][0])
    listing = html_of(client.get("/appointments/"))

    shown = formats.date_format(timezone.localtime(until), "Y-m-d H:i")
    with translation.override("zh-hans"):
        expected = escape(str(BookingBlocked.message) % {"until": shown})
    assert expected in html_of(response)
    assert 'data-testid="blocked-until"' in listing
    assert Appointment.objects.count() == 0


def test_booking_before_release_says_when_it_opens(clinic, patient):
    opens_at = clock.now() + dt.timedelta(hours=3)
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(opens_at=opens_at)
    user, _ = patient()
    client = signed_in(user)
    slot = clinic["slots"][0]

    page = client.get(f"/book/slot/{slot.public_id}/")
    response = client.post(f"/book/slot/{slot.public_id}/", {"token": "t-1", "patient": "self"})

    assert 'data-testid="slot-unavailable"' in html_of(page) and 'data-testid="book-submit"' not in html_of(page)
    prefix = in_language(NotOpenYet.message, "zh-hans").split("%")[0]
    assert prefix in html_of(response)
    assert Appointment.objects.count() == 0


def test_a_staff_member_books_for_a_family_member(clinic, patient):
    user, member = patient(kind="staff")
    child = Dependant.objects.create(owner=member, name="张小小", relation="child")
    client = signed_in(user)
    slot = clinic["slots"][0]

    page = client.get(f"/book/slot/{slot.public_id}/")
    assert 'data-testid="patient-choice"' in html_of(page) and "张小小" in html_of(page)
    client.post(f"/book/slot/{slot.public_id}/", {"token": token_of(page), "patient": str(child.public_id)})

    appointment = Appointment.objects.get()
    assert appointment.dependant == child
    assert "张小小" in html_of(client.get("/appointments/"))


def test_a_student_cannot_pick_someone_elses_family_member(clinic, patient):
    _, staff = patient(kind="staff")
    child = Dependant.objects.create(owner=staff, name="别人家", relation="child")
    user, _ = patient()
    client = signed_in(user)

    response = client.post(
        f"/book/slot/{clinic['slots'][0].public_id}/", {"token": "t-2", "patient": str(child.public_id)}
    )

    assert response.status_code == 422
    assert Appointment.objects.count() == 0


# --- my appointments --------------------------------------------------------------------------


def test_my_appointments_shows_the_booking_and_cancels_it(clinic, patient):
    user, _ = patient()
    client = signed_in(user)
    book_through_the_page(client, clinic["slots"][0])
    appointment = Appointment.objects.get()

    listing = html_of(client.get("/appointments/"))
    response = client.post(f"/appointments/{appointment.public_id}/cancel/", {"next": "/appointments/"}, follow=True)

    assert 'data-testid="section-upcoming"' in listing and 'data-testid="cancel-confirm"' in listing
    assert 'data-testid="live-count">1 / 3' in listing
    assert response.redirect_chain == [("/appointments/", 302)]
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert Slot.objects.get(pk=clinic["slots"][0].pk).booked == 0
    html = html_of(response)
    assert "预约已取消" in html
    assert 'data-testid="live-count">0 / 3' in html
    assert 'data-testid="section-past"' in html and 'data-status="cancelled"' in html


def test_after_the_deadline_the_cancel_button_gives_way_to_the_reason(clinic, patient):
    user, member = patient()
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))
    client = signed_in(user, "en")

    with time_machine.travel(clinic["slots"][0].starts_at - dt.timedelta(minutes=60)):
        listing = html_of(client.get("/appointments/"))
        response = client.post(f"/appointments/{appointment.public_id}/cancel/", follow=True)

    assert 'data-testid="cancel-confirm"' not in listing
    assert 'data-testid="cancel-closed"' in listing and "contact the clinic" in listing
    prefix = in_language(CancelTooLate.message, "en").split("%")[0]
    assert prefix in html_of(response)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_other_peoples_appointments_are_not_found(clinic, patient):
    owner, member = patient()
    appointment = appointment_book(actor=Actor.of(owner), member=member, slot=fresh(clinic["slots"][0]))
    stranger = signed_in(patient()[0])

    assert stranger.get(f"/appointments/{appointment.public_id}/").status_code == 404
    assert stranger.post(f"/appointments/{appointment.public_id}/cancel/").status_code == 404
    assert stranger.post(f"/appointments/{appointment.public_id}/rebook/").status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_cancel_is_post_only(clinic, patient):
    user, member = patient()
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))

    assert signed_in(user).get(f"/appointments/{appointment.public_id}/cancel/").status_code == 405


def test_a_waitlist_offer_is_confirmed_from_my_appointments(full_session, patient, settings):
    settings.WAITLIST_CONFIRM_MINUTES = 15
    user, member = patient()
    waitlist_join(
        actor=Actor.of(user), member=member, department=full_session["department"], date=full_session["session"].date
    )
    appointment_cancel(actor=Actor.of(full_session["holder"]), appointment=full_session["taken"])
    offer = Appointment.objects.get(member=member)
    client = signed_in(user)

    listing = html_of(client.get("/appointments/"))
    response = client.post(f"/appointments/{offer.public_id}/confirm/", {"next": "/appointments/"}, follow=True)

    assert 'data-testid="section-action"' in listing and 'data-testid="offer-confirm"' in listing
    assert "待确认" in listing
    offer.refresh_from_db()
    assert offer.hold_expires_at is None
    assert WaitlistEntry.objects.get(member=member).status == WaitlistStatus.BOOKED
    assert 'data-testid="offer-confirm"' not in html_of(response)


def test_after_a_suspension_the_patient_rebooks_the_offered_slot_in_one_action(
    clinic, patient, make_doctor, make_session
):
    user, member = patient()
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))
    other = make_session(make_doctor(clinic["department"], name="备选医生"), clinic["department"], period="afternoon")
    clinic_session_suspend(actor=Actor.system(), session=clinic["session"], reason="医生外出")
    client = signed_in(user)

    listing = html_of(client.get("/appointments/"))
    response = client.post(f"/appointments/{appointment.public_id}/rebook/", follow=True)

    assert 'data-testid="rebook"' in listing and "备选医生" in listing and "医生外出" in listing
    new = Appointment.objects.get(rescheduled_from=appointment)
    assert new.session == other and new.status == AppointmentStatus.BOOKED
    assert response.redirect_chain == [(f"/appointments/{new.public_id}/", 302)]
    assert 'data-testid="rebook"' not in html_of(client.get("/appointments/"))


# --- waitlist ---------------------------------------------------------------------------------


def test_joining_and_leaving_the_waitlist(full_session, patient):
    user, member = patient()
    client = signed_in(user)
    date = full_session["session"].date.isoformat()

    joined = client.post(
        "/waitlist/",
        {"department": "NK", "date": date, "session": str(full_session["session"].public_id)},
        follow=True,
    )

    entry = WaitlistEntry.objects.get(member=member)
    assert entry.session == full_session["session"] and entry.status == WaitlistStatus.WAITING
    assert joined.redirect_chain == [("/waitlist/", 302)]
    html = html_of(joined)
    assert "第 1 位" in html and 'data-testid="waitlist-leave"' in html

    left = client.post(f"/waitlist/{entry.public_id}/leave/", follow=True)

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.CANCELLED
    assert 'data-testid="waitlist-leave"' not in html_of(left)


def test_joining_the_waitlist_while_places_are_free_is_explained(clinic, patient):
    client = signed_in(patient()[0])
    back = f"/book/department/NK/?date={clinic['session'].date.isoformat()}"

    response = client.post(
        "/waitlist/", {"department": "NK", "date": clinic["session"].date.isoformat(), "next": back}, follow=True
    )

    assert response.redirect_chain == [(back, 302)]
    assert in_language(SlotsStillAvailable.message, "zh-hans") in html_of(response)
    assert not WaitlistEntry.objects.exists()


def test_the_waitlist_does_not_send_people_off_site(full_session, patient):
    client = signed_in(patient()[0])

    response = client.post("/waitlist/", {"department": "NK", "date": "bad", "next": "https://evil.example/"})

    assert response["Location"] == "/book/"


def test_someone_elses_waitlist_entry_is_not_found(full_session, patient):
    owner, member = patient()
    entry = waitlist_join(
        actor=Actor.of(owner), member=member, department=full_session["department"], date=full_session["session"].date
    )

    assert signed_in(patient()[0]).post(f"/waitlist/{entry.public_id}/leave/").status_code == 404
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.WAITING


# --- navigation -------------------------------------------------------------------------------


def test_profile_and_top_bar_link_to_booking_and_my_appointments(patient):
    client = signed_in(patient()[0])

    html = html_of(client.get("/me/"))

    assert 'data-testid="book-link"' in html and 'href="/book/"' in html
    assert 'data-testid="nav-appointments"' in html and 'href="/appointments/"' in html
    assert "预约挂号" in html and "我的预约" in html


# --- query budgets ----------------------------------------------------------------------------


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_the_slot_list_runs_a_flat_number_of_queries(
    make_department, make_doctor, make_session, patient, django_assert_max_num_queries
):
    department = make_department(code="NK", name="内科")
    make_session(make_doctor(department), department)
    client = signed_in(patient()[0])
    path = "/book/department/NK/"
    small = _queries(client, path)

    for _ in range(5):
        doctor = make_doctor(department)
        make_session(doctor, department, end=dt.time(11, 0))
        make_session(doctor, department, start=dt.time(14, 0), end=dt.time(17, 0), period="afternoon")

    assert _queries(client, path) == small
    with django_assert_max_num_queries(8):
        client.get(path)


def test_the_doctor_slot_list_and_choosers_run_few_queries(clinic, patient, django_assert_max_num_queries):
    client = signed_in(patient()[0])

    for path in (f"/book/doctor/{clinic['doctor'].public_id}/", "/book/", "/book/doctors/"):
        with django_assert_max_num_queries(9):
            client.get(path)


def test_my_appointments_runs_a_flat_number_of_queries(
    make_department, make_doctor, make_session, patient, django_assert_max_num_queries
):
    user, member = patient()
    client = signed_in(user)
    codes = ["NK", "KQ", "YK"]
    sessions = [make_session(make_doctor(d), d) for d in (make_department(code=c) for c in codes)]
    appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(sessions[0])[0]))
    small = _queries(client, "/appointments/")

    for session in sessions[1:]:
        booked = appointment_book(actor=Actor.of(user), member=member, slot=fresh(slots_of(session)[0]))
    appointment_cancel(actor=Actor.of(user), appointment=booked)

    assert _queries(client, "/appointments/") == small
    with django_assert_max_num_queries(8):
        client.get("/appointments/")


def test_english_readers_see_the_english_department_names(make_department, patient):
    make_department(code="NK", name="内科", name_en="Internal Medicine")
    client = signed_in(patient()[0], language="en")

    html = html_of(client.get("/book/"))

    assert "Internal Medicine" in html and "内科" not in html


# --- the clinic suspends a session (posted from the staff session list) ------------------------


def test_a_manager_suspending_a_session_cancels_its_appointments_and_says_how_many(
    clinic, patient, make_user, make_doctor, make_session
):
    booked = []
    for slot in clinic["slots"][:2]:
        user, member = patient()
        booked.append(appointment_book(actor=Actor.of(user), member=member, slot=fresh(slot)))
    make_session(make_doctor(clinic["department"], name="备选医生"), clinic["department"], period="afternoon")
    client = signed_in(make_user(Role.MANAGER))

    response = client.post(
        f"/staff/sessions/{clinic['session'].public_id}/suspend/", {"reason": "医生外出培训"}, follow=True
    )

    assert response.redirect_chain == [(f"/staff/sessions/?date={clinic['session'].date.isoformat()}", 302)]
    assert f"已停诊（{clinic['doctor'].name}）：2 个预约已取消" in html_of(response)
    for appointment in booked:
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED_BY_CLINIC
        assert appointment.rebook_offer is not None
    assert ClinicSession.objects.get(pk=clinic["session"].pk).status == "suspended"


@pytest.mark.parametrize("persona", [Role.PATIENT, Role.NURSE, Role.DOCTOR, Role.CASHIER])
def test_only_those_allowed_may_suspend_a_session(clinic, patient, make_user, persona):
    user, member = patient()
    appointment = appointment_book(actor=Actor.of(user), member=member, slot=fresh(clinic["slots"][0]))

    response = signed_in(make_user(persona)).post(
        f"/staff/sessions/{clinic['session'].public_id}/suspend/", {"reason": "外出"}
    )

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    assert ClinicSession.objects.get(pk=clinic["session"].pk).status == "open"
