"""The staff session list and the suspension form through Django's test client: who may see and
who may suspend, and what the page shows. (That a suspension cancels the session's appointments is
booking's business: smartclinic/booking/tests/test_views.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from smartclinic.core import clock
from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.scheduling.choices import SessionStatus
from smartclinic.scheduling.models import ClinicSession, Department, Doctor, Slot
from smartclinic.scheduling.services import session_create_one_off

pytestmark = pytest.mark.django_db


def signed_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def html_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def day(make_user):
    """Tomorrow: NK with two doctors (one session each), KQ with one; two places of Dr 王's taken."""
    date = clock.today() + dt.timedelta(days=1)

    def session(department: Department, name: str, **kwargs) -> ClinicSession:
        doctor = Doctor.objects.create(user=make_user(Role.DOCTOR), name=name, title="attending")
        doctor.departments.set([department])
        created = session_create_one_off(
            actor=Actor.system(),
            doctor=doctor,
            department=department,
            date=date,
            period="morning",
            start=dt.time(8, 0),
            end=dt.time(9, 0),
            per_slot=2,
            walkin_percent=25,
            **kwargs,
        )
        ClinicSession.objects.filter(pk=created.pk).update(opens_at=clock.now() - dt.timedelta(hours=1))
        created.refresh_from_db()
        return created

    nk = Department.objects.create(code="NK", name="内科", location="门诊一楼")
    kq = Department.objects.create(code="KQ", name="口腔科", sort_order=5)
    wang = session(nk, "王医生")
    li = session(nk, "李医生")
    zhao = session(kq, "赵医生")
    Slot.objects.filter(pk=Slot.objects.filter(session=wang).order_by("starts_at").values("pk")[:1]).update(booked=2)
    return {"date": date, "wang": wang, "li": li, "zhao": zhao}


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(client):
    response = client.get("/staff/sessions/")

    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/?next=")


@pytest.mark.parametrize("persona", [Role.PATIENT, Role.CASHIER])
def test_people_without_the_permission_are_refused(make_user, day, persona):
    client = signed_in(make_user(persona))

    assert client.get("/staff/sessions/").status_code == 403
    response = client.post(f"/staff/sessions/{day['wang'].public_id}/suspend/", {"reason": "外出"})

    assert response.status_code == 403
    assert ClinicSession.objects.get(pk=day["wang"].pk).status == SessionStatus.OPEN


def test_a_nurse_sees_the_days_sessions_per_department_but_cannot_suspend(make_user, day):
    client = signed_in(make_user(Role.NURSE))

    response = client.get("/staff/sessions/", {"date": day["date"].isoformat()})

    html = html_of(response)
    assert response.status_code == 200
    assert html.index('data-testid="session-department-NK"') < html.index('data-testid="session-department-KQ"')
    assert html.count('data-testid="session-row"') == 3
    assert "王医生" in html and "李医生" in html and "赵医生" in html and "门诊一楼" in html
    # 4 slots of 2 places, a quarter kept for walk-ins: 6 online places and 2 walk-in places.
    assert 'data-testid="session-booked">2 / 6<' in html
    assert "0 / 2" in html
    assert 'data-testid="suspend-form"' not in html
    assert client.post(f"/staff/sessions/{day['wang'].public_id}/suspend/", {"reason": "外出"}).status_code == 403


def test_the_list_filters_by_department_and_moves_by_day(make_user, day):
    client = signed_in(make_user(Role.NURSE))

    html = html_of(client.get("/staff/sessions/", {"date": day["date"].isoformat(), "department": "KQ"}))
    today = html_of(client.get("/staff/sessions/"))

    assert html.count('data-testid="session-row"') == 1 and "赵医生" in html
    assert f'href="?date={(day["date"] + dt.timedelta(days=1)).isoformat()}&amp;department=KQ"' in html
    assert 'data-testid="sessions-empty"' in today


def test_a_manager_suspends_a_session_and_sees_it_suspended(make_user, day):
    client = signed_in(make_user(Role.MANAGER))
    page = html_of(client.get("/staff/sessions/", {"date": day["date"].isoformat()}))

    response = client.post(
        f"/staff/sessions/{day['wang'].public_id}/suspend/",
        {"reason": "医生外出培训", "return_department": "NK"},
        follow=True,
    )

    assert page.count('data-testid="suspend-form"') == 3
    assert response.redirect_chain == [(f"/staff/sessions/?date={day['date'].isoformat()}&department=NK", 302)]
    session = ClinicSession.objects.get(pk=day["wang"].pk)
    assert session.status == SessionStatus.SUSPENDED and session.suspend_reason == "医生外出培训"
    html = html_of(response)
    assert "已停诊（王医生）：0 个预约已取消" in html
    assert 'data-status="suspended"' in html and "医生外出培训" in html
    assert ClinicSession.objects.get(pk=day["li"].pk).status == SessionStatus.OPEN


def test_a_suspension_needs_a_reason(make_user, day):
    client = signed_in(make_user(Role.MANAGER), "en")

    response = client.post(f"/staff/sessions/{day['wang'].public_id}/suspend/", {"reason": "  "}, follow=True)

    assert "Give the reason for suspending the session" in html_of(response)
    assert ClinicSession.objects.get(pk=day["wang"].pk).status == SessionStatus.OPEN


def test_suspending_twice_is_explained_not_an_error_page(make_user, day):
    client = signed_in(make_user(Role.MANAGER), "en")
    client.post(f"/staff/sessions/{day['wang'].public_id}/suspend/", {"reason": "外出"})

    response = client.post(f"/staff/sessions/{day['wang'].public_id}/suspend/", {"reason": "外出"}, follow=True)

    assert response.status_code == 200
    assert "This session has been suspended by the clinic." in html_of(response)


def test_the_workstation_links_to_the_sessions_only_when_permitted(make_user):
    nurse = html_of(signed_in(make_user(Role.NURSE)).get("/staff/"))
    cashier = html_of(signed_in(make_user(Role.CASHIER)).get("/staff/"))

    assert 'data-testid="tile-sessions"' in nurse and 'data-testid="nav-sessions"' in nurse
    assert 'data-testid="tile-sessions"' not in cashier and 'data-testid="nav-sessions"' not in cashier


def test_the_session_list_runs_a_flat_number_of_queries(make_user, day, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(make_user(Role.MANAGER))
    path = f"/staff/sessions/?date={day['date'].isoformat()}"
    with CaptureQueriesContext(connection) as before:
        client.get(path)
    extra = Department.objects.create(code="YK", name="眼科")
    for n in range(4):
        doctor = Doctor.objects.create(user=make_user(Role.DOCTOR), name=f"眼科{n}", title="resident")
        doctor.departments.set([extra])
        session_create_one_off(
            actor=Actor.system(),
            doctor=doctor,
            department=extra,
            date=day["date"],
            period="afternoon",
            start=dt.time(14, 0),
            end=dt.time(17, 0),
        )

    with CaptureQueriesContext(connection) as after:
        client.get(path)

    assert len(after) == len(before)
    with django_assert_max_num_queries(10):
        client.get(path)
