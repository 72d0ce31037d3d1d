from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import translation
from ninja.renderers import JSONRenderer

from smartclinic.booking.models import Appointment, WaitlistEntry
from smartclinic.booking.presenters import slot_out
from smartclinic.booking.schemas import SlotOut
from smartclinic.booking.tests.conftest import slots_of
from smartclinic.core import clock
from smartclinic.core.models import IdempotencyRecord
from smartclinic.identity.models import Dependant
from smartclinic.scheduling.models import ClinicSession, Slot
from smartclinic.scheduling.selectors import slot_list

pytestmark = pytest.mark.django_db


def test_departments_doctors_and_slots_are_public(api, clinic):
    client = api(language="en")
    departments = client.get("/departments").data
    assert [d["code"] for d in departments] == ["NK"]
    doctors = client.get("/doctors?department=NK").data
    assert [d["id"] for d in doctors] == [str(clinic["doctor"].public_id)]
    assert doctors[0]["next_free_slot"]["id"] == str(clinic["slots"][0].public_id)
    assert doctors[0]["rating"] is None
    slots = client.get(f"/slots?department=NK&date={clinic['session'].date}").data
    assert [s["id"] for s in slots] == [str(s.public_id) for s in clinic["slots"]]
    assert slots[0]["remaining"] == 2 and slots[0]["fee"] == 1000 and slots[0]["bookable"] is True
    by_doctor = client.get(f"/slots?doctor={clinic['doctor'].public_id}").data
    assert len(by_doctor) == 4


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_slot_list_is_what_its_schema_says(api, clinic, make_doctor, make_session, language):
    """The slot list is rendered without validating it against ``SlotOut`` each time: it must
    give exactly what the validated answer gives, for every form of the query."""
    other = make_doctor(clinic["department"], title="chief", name="李医生")
    make_session(other, clinic["department"], start=dt.time(9, 0), end=dt.time(9, 30), fee=2500)
    Slot.objects.filter(pk=clinic["slots"][1].pk).update(booked=2)  # full: not bookable
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(opens_at=clock.now() + dt.timedelta(hours=2))
    day = clinic["session"].date
    client = api(language=language)
    now = clock.now()
    for query, slots in [
        (f"department=NK&date={day}", slot_list(department=clinic["department"], date=day)),
        (f"doctor={other.public_id}&date={day}", slot_list(doctor=other, date=day)),
        (
            f"doctor={clinic['doctor'].public_id}",
            slot_list(doctor=clinic["doctor"], date_from=clock.today(), date_to=clock.today() + dt.timedelta(days=14)),
        ),
        ("", slot_list(date_from=clock.today(), date_to=clock.today() + dt.timedelta(days=14))),
    ]:
        with translation.override(language):
            validated = [SlotOut.model_validate(slot_out(slot, now=now)).model_dump() for slot in slots]
        expected = json.loads(JSONRenderer().render(None, validated, response_status=200))  # as ninja renders
        listed = client.get(f"/slots?{query}")
        assert listed.status_code == 200
        assert listed.data == expected, query
        assert len(expected) in (2, 4, 6)
    titles = {s["doctor_title"] for s in client.get(f"/slots?department=NK&date={day}").data}
    assert titles == ({"Attending physician", "Chief physician"} if language == "en" else {"主治医师", "主任医师"})


def test_slots_before_release_say_when_they_open(api, clinic):
    opens_at = (clock.now() + dt.timedelta(days=3)).replace(microsecond=0)
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(opens_at=opens_at)
    listed = api().get(f"/slots?department=NK&date={clinic['session'].date}")
    slot = listed.data[0]
    assert slot["bookable"] is False
    assert dt.datetime.fromisoformat(slot["opens_at"]) == opens_at
    # the micro-cache must not answer "not open yet" once it is (or "open" once it stops)
    closes_at = dt.datetime.fromisoformat(slot["closes_at"])
    assert float(listed["X-Cache-Until"]) == min(opens_at, closes_at).timestamp()


def test_open_slots_are_cached_until_their_booking_stops(api, clinic):
    listed = api().get(f"/slots?department=NK&date={clinic['session'].date}")
    closes_at = min(dt.datetime.fromisoformat(s["closes_at"]) for s in listed.data)
    assert all(s["bookable"] for s in listed.data)
    assert float(listed["X-Cache-Until"]) == closes_at.timestamp()
    opens_at = (clock.now() + dt.timedelta(minutes=10)).replace(microsecond=0)
    ClinicSession.objects.filter(pk=clinic["session"].pk).update(opens_at=opens_at)
    before = api().get(f"/slots?department=NK&date={clinic['session'].date}")
    assert not any(s["bookable"] for s in before.data)
    assert float(before["X-Cache-Until"]) == opens_at.timestamp()


def test_unknown_department_is_404(api):
    response = api(language="en").get("/doctors?department=XX")
    assert response.status_code == 404 and response.data["code"] == "core.not_found"


def test_book_list_cancel_through_the_api(api, clinic, patient):
    user, _ = patient()
    client = api(user, language="en")
    slot = clinic["slots"][0]

    created = client.post("/appointments", {"slot_id": str(slot.public_id)})

    assert created.status_code == 201, created.data
    assert created.data["status"] == "booked"
    assert created.data["department"] == "NK" and created.data["fee"] == 1000
    listed = client.get("/appointments").data
    assert [a["id"] for a in listed] == [created.data["id"]]
    assert client.get("/booking/status").data["live_appointments"] == 1
    cancelled = client.post(f"/appointments/{created.data['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.data["status"] == "cancelled"
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_full_slot_is_409_slot_full_in_both_languages(api, clinic, patient):
    slot = clinic["slots"][0]
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    user, _ = patient()
    zh = api(user).post("/appointments", {"slot_id": str(slot.public_id)})
    en = api(user, language="en").post("/appointments", {"slot_id": str(slot.public_id)})
    assert zh.status_code == en.status_code == 409
    assert zh.data["code"] == en.data["code"] == "booking.slot_full"
    assert en.data["message"].startswith("This slot is fully booked")
    assert zh.data["message"] != en.data["message"]


def test_same_department_and_day_twice_is_409_duplicate(api, clinic, patient):
    user, _ = patient()
    client = api(user)
    assert client.post("/appointments", {"slot_id": str(clinic["slots"][0].public_id)}).status_code == 201
    second = client.post("/appointments", {"slot_id": str(clinic["slots"][1].public_id)})
    assert second.status_code == 409 and second.data["code"] == "booking.duplicate"


def test_unbound_account_cannot_book(api, clinic, make_user):
    response = api(make_user()).post("/appointments", {"slot_id": str(clinic["slots"][0].public_id)})
    assert response.status_code == 403 and response.data["code"] == "booking.card_not_bound"
    assert not Appointment.objects.exists()


def test_idempotency_key_returns_the_first_result_and_changes_nothing(api, clinic, patient):
    user, _ = patient()
    client = api(user)
    body = {"slot_id": str(clinic["slots"][0].public_id)}

    first = client.post("/appointments", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/appointments", body, HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert first.data == again.data
    assert Appointment.objects.count() == 1
    assert Slot.objects.get(pk=clinic["slots"][0].pk).booked == 1
    other_body = client.post(
        "/appointments", {"slot_id": str(clinic["slots"][1].public_id)}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other_body.status_code == 422 and other_body.data["code"] == "core.idempotency_key_reused"


def test_idempotency_keys_are_per_user(api, clinic, patient):
    first_user, _ = patient()
    second_user, _ = patient()
    body = {"slot_id": str(clinic["slots"][0].public_id)}
    a = api(first_user).post("/appointments", body, HTTP_IDEMPOTENCY_KEY="same")
    b = api(second_user).post("/appointments", body, HTTP_IDEMPOTENCY_KEY="same")
    assert a.status_code == b.status_code == 201
    assert a.data["id"] != b.data["id"]
    assert IdempotencyRecord.objects.count() == 2


def test_failures_are_not_remembered_by_the_idempotency_key(api, clinic, patient):
    user, _ = patient()
    slot = clinic["slots"][0]
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    client = api(user)
    assert (
        client.post("/appointments", {"slot_id": str(slot.public_id)}, HTTP_IDEMPOTENCY_KEY="retry").status_code == 409
    )
    Slot.objects.filter(pk=slot.pk).update(booked=1)
    assert (
        client.post("/appointments", {"slot_id": str(slot.public_id)}, HTTP_IDEMPOTENCY_KEY="retry").status_code == 201
    )


def test_booking_writes_are_rate_limited_per_person(api, clinic, patient, settings):
    settings.RATE_LIMIT_BOOKING_PER_USER = "3/60"
    user, _ = patient()
    client = api(user)
    slot = str(clinic["slots"][0].public_id)
    statuses = [client.post("/appointments", {"slot_id": slot}).status_code for _ in range(4)]
    assert statuses[:3] == [201, 409, 409]
    limited = client.post("/appointments", {"slot_id": slot})
    assert statuses[3] == 429 and limited.status_code == 429
    assert limited.data["code"] == "core.rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_booking_writes_are_rate_limited_per_address(api, clinic, patient, settings):
    settings.RATE_LIMIT_BOOKING_PER_ADDRESS = "2/60"
    responses = [
        api(patient()[0]).post("/appointments", {"slot_id": str(clinic["slots"][i].public_id)}) for i in range(3)
    ]
    assert [r.status_code for r in responses] == [201, 201, 429]


def test_book_for_a_dependant_through_the_api(api, clinic, patient):
    user, member = patient(kind="staff")
    child = Dependant.objects.create(owner=member, name="张小小", relation="child")
    response = api(user).post(
        "/appointments", {"slot_id": str(clinic["slots"][0].public_id), "dependant_id": str(child.public_id)}
    )
    assert response.status_code == 201
    assert response.data["patient_name"] == "张小小" and response.data["dependant_id"] == str(child.public_id)


def test_reschedule_through_the_api(api, clinic, patient):
    user, _ = patient()
    client = api(user)
    created = client.post("/appointments", {"slot_id": str(clinic["slots"][0].public_id)}).data
    moved = client.post(f"/appointments/{created['id']}/reschedule", {"slot_id": str(clinic["slots"][2].public_id)})
    assert moved.status_code == 200
    assert moved.data["slot_id"] == str(clinic["slots"][2].public_id) and moved.data["id"] != created["id"]


def test_other_peoples_appointments_are_not_found(api, clinic, patient):
    owner, _ = patient()
    stranger, _ = patient()
    created = api(owner).post("/appointments", {"slot_id": str(clinic["slots"][0].public_id)}).data
    for path in (f"/appointments/{created['id']}/cancel", f"/appointments/{created['id']}/reschedule"):
        response = api(stranger).post(path, {"slot_id": str(clinic["slots"][1].public_id)})
        assert response.status_code == 404
    assert api(stranger).get(f"/appointments/{created['id']}").status_code == 404
    assert Appointment.objects.get().status == "booked"


def test_waitlist_through_the_api(api, make_department, make_doctor, make_session, patient):
    department = make_department(code="NK")
    session = make_session(make_doctor(department), department, end=dt.time(8, 15), per_slot=1)
    holder, _ = patient()
    held = api(holder).post("/appointments", {"slot_id": str(slots_of(session)[0].public_id)}).data
    user, _ = patient()
    client = api(user)

    joined = client.post("/waitlist", {"department": "NK", "date": str(session.date)})

    assert joined.status_code == 201 and joined.data["position"] == 1 and joined.data["status"] == "waiting"
    assert client.get("/waitlist").data[0]["id"] == joined.data["id"]
    api(holder).post(f"/appointments/{held['id']}/cancel")
    entry = client.get("/waitlist").data[0]
    assert entry["status"] == "offered" and entry["appointment_id"]
    offer = client.get(f"/appointments/{entry['appointment_id']}").data
    assert offer["confirm_by"] is not None
    confirmed = client.post(f"/appointments/{entry['appointment_id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.data["confirm_by"] is None


def test_leaving_the_waitlist_through_the_api(api, make_department, make_doctor, make_session, patient):
    department = make_department(code="NK")
    session = make_session(make_doctor(department), department, end=dt.time(8, 15), per_slot=1)
    holder, _ = patient()
    api(holder).post("/appointments", {"slot_id": str(slots_of(session)[0].public_id)})
    user, _ = patient()
    client = api(user)
    joined = client.post("/waitlist", {"department": "NK", "date": str(session.date)}).data
    assert client.delete(f"/waitlist/{joined['id']}").status_code == 204
    assert WaitlistEntry.objects.get().status == "cancelled"
    again = client.post("/waitlist", {"department": "NK", "date": str(session.date)}).data
    assert client.delete(f"/waitlist?entry_id={again['id']}").status_code == 204
    assert WaitlistEntry.objects.get(public_id=again["id"]).status == "cancelled"
    client.post("/waitlist", {"department": "NK", "date": str(session.date)})
    assert client.delete("/waitlist").status_code == 204  # every line one waits in
    assert not WaitlistEntry.objects.filter(status="waiting").exists()
    other, _ = patient()
    assert api(other).delete(f"/waitlist?entry_id={again['id']}").status_code == 404


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("patient", False), ("doctor", False), ("nurse", False), ("manager", True), ("admin", True)],
)
def test_only_managers_suspend_sessions(api, clinic, make_user, persona, allowed):
    response = api(make_user(persona)).post(f"/sessions/{clinic['session'].public_id}/suspend", {"reason": "出差"})
    assert response.status_code == (200 if allowed else 403)
    assert ClinicSession.objects.get(pk=clinic["session"].pk).status == ("suspended" if allowed else "open")


def test_recommendation_ranks_departments_and_doctors(api, make_department, make_doctor, make_session, patient):
    ent = make_department(code="EBH", name="耳鼻喉科", name_en="ENT")
    internal = make_department(code="NK", name="内科", name_en="Internal medicine")
    throat = make_doctor(ent, specialties=["咽炎", "扁桃体炎"])
    make_session(throat, ent)
    make_session(make_doctor(internal, specialties=["感冒"]), internal)
    user, _ = patient()

    result = api(user).get("/recommendations?complaint=嗓子疼，吞咽的时候很痛").data

    assert result["fallback"] is False
    assert result["departments"][0]["code"] == "EBH"
    assert result["departments"][0]["reasons"]
    assert result["doctors"][0]["id"] == str(throat.public_id)
    assert result["doctors"][0]["next_free_slot"] is not None


def test_recommendation_falls_back_to_general_practice(api, make_department, patient):
    make_department(code="NK", name="内科", name_en="Internal medicine")
    result = api(patient()[0], language="en").get("/recommendations?complaint=xyzzy").data
    assert result["fallback"] is True
    assert [d["code"] for d in result["departments"]] == ["NK"]
    assert "general practice" in result["departments"][0]["reasons"][0]


def test_symptom_picker_is_localized(api):
    zh = api().get("/symptoms").data
    en = api(language="en").get("/symptoms").data
    assert len(zh) == len(en) >= 60
    assert zh[0]["code"] == en[0]["code"] and zh[0]["label"] != en[0]["label"]


def test_well_rated_doctors_rank_higher_and_say_why(api, make_department, make_doctor, make_session, patient):
    from smartclinic.scheduling.models import Doctor

    ent = make_department(code="EBH", name="耳鼻喉科", name_en="ENT")
    plain = make_doctor(ent, specialties=["咽炎"])
    liked = make_doctor(ent, specialties=["咽炎"])
    for doctor in (plain, liked):
        make_session(doctor, ent)
    Doctor.objects.filter(pk=liked.pk).update(rating_count=10, rating_total=48)
    Doctor.objects.filter(pk=plain.pk).update(rating_count=2, rating_total=10)  # too few to count

    doctors = api(patient()[0], language="en").get("/recommendations?complaint=sore throat").data["doctors"]

    assert [d["id"] for d in doctors[:2]] == [str(liked.public_id), str(plain.public_id)]
    assert "rated 4.8/5 by 10 patients" in doctors[0]["reasons"]
    assert not any("rated" in reason for reason in doctors[1]["reasons"])
    listed = {d["id"]: d for d in api().get("/doctors?department=EBH").data}
    assert (listed[str(liked.public_id)]["rating"], listed[str(liked.public_id)]["rating_count"]) == (4.8, 10)


def test_next_free_slot_skips_slots_whose_booking_has_closed(api, clinic):
    import time_machine

    first, second = clinic["slots"][0], clinic["slots"][1]
    with time_machine.travel(first.starts_at - dt.timedelta(minutes=20), tick=False):  # inside the 30-min stop
        doctor = api().get("/doctors?department=NK").data[0]
    assert doctor["next_free_slot"]["id"] == str(second.public_id)
