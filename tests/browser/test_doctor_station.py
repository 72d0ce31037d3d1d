"""The doctor's station in a real browser: a doctor signs in, sees the checked-in patients in
calling order, calls the next one, starts the visit, picks an ICD-10 diagnosis by typing Chinese,
orders a medicine from the price list and finishes; the patient then reads the visit summary on
the phone."""

# ruff: noqa: F811 - fixtures imported from the visits and booking test packages are parameters here
from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from smartclinic.booking.tests.conftest import make_department, make_doctor, make_session, patient  # noqa: F401
from smartclinic.core.actor import Actor
from smartclinic.outbox.models import OutboxMessage
from smartclinic.queueing.choices import Priority, TicketStatus
from smartclinic.queueing.models import Ticket
from smartclinic.queueing.services import ticket_set_priority
from smartclinic.visits.choices import EncounterStatus
from smartclinic.visits.models import ClinicalOrder, Encounter
from smartclinic.visits.tests.conftest import clinic, queue_patient  # noqa: F401
from tests.browser.test_identity_pages import PASSWORD, assert_fits_the_screen, sign_in


def line_codes(page: Any) -> list[str]:
    return page.get_by_test_id("line-row").get_by_test_id("ticket-code").all_inner_texts()


def test_a_doctor_sees_the_line_calls_starts_diagnoses_orders_and_finishes(
    desktop, phone, clinic, queue_patient, screenshot_dir: Path
):
    first = queue_patient(clinic.session, name="陈一")
    second = queue_patient(clinic.session, name="林二")
    urgent = queue_patient(clinic.session, name="黄三")
    ticket_set_priority(actor=Actor.system(), ticket=urgent, priority=Priority.URGENT, reason="高热 39.5℃")
    queue_patient(clinic.colleague_session, name="别人的病人")

    sign_in(desktop, clinic.doctor.user.username, path="/staff/login/")
    desktop.wait_for_url("**/staff/")
    desktop.goto("/staff/doctor/")

    expect(desktop.get_by_test_id("station-doctor")).to_contain_text("王医生")
    assert line_codes(desktop) == [urgent.code, first.code, second.code]
    expect(desktop.get_by_text("别人的病人")).to_have_count(0)
    desktop.screenshot(path=str(screenshot_dir / "desktop-doctor-station-line.png"), full_page=True)

    desktop.get_by_test_id("call-next").click()
    called = desktop.get_by_test_id("called")
    expect(called.get_by_test_id("ticket-code")).to_have_text(urgent.code)
    assert line_codes(desktop) == [first.code, second.code]
    expect(desktop.get_by_test_id("call-next")).to_be_disabled()  # one called patient at a time

    called.get_by_test_id("start").click()
    form = desktop.get_by_test_id("record-form")
    expect(form).to_be_visible()
    expect(desktop.get_by_test_id("record-patient")).to_contain_text("黄三")
    assert Ticket.objects.get(pk=urgent.pk).status == TicketStatus.IN_VISIT

    desktop.fill("#id_chief_complaint", "发热、咽痛1天")
    desktop.fill("#id_advice", "多饮水，注意休息；3天不退热请复诊。")
    search = desktop.get_by_test_id("dx-search")
    search.click()
    search.press_sequentially("上呼吸道", delay=30)
    option = desktop.locator('[data-testid="dx-option"][data-code="J06.9"]')
    expect(option).to_be_visible()
    expect(option).to_contain_text("急性上呼吸道感染")
    desktop.screenshot(path=str(screenshot_dir / "desktop-doctor-station-icd10.png"), full_page=True)
    option.click()
    expect(desktop.locator('[data-testid="dx-item"][data-code="J06.9"]')).to_be_visible()
    expect(search).to_have_value("")

    desktop.get_by_test_id("order-item").select_option("MED-IBU-SR")
    desktop.get_by_test_id("order-quantity").fill("1")
    desktop.get_by_test_id("order-add").click()
    line = desktop.locator('[data-testid="order-line"][data-code="MED-IBU-SR"]')
    expect(line).to_be_visible()
    expect(desktop.get_by_test_id("orders-total")).to_have_text("¥15.80")
    # Adding the order saved the record: the picked diagnosis and the complaint are still there.
    expect(desktop.locator('[data-testid="dx-item"][data-code="J06.9"]')).to_be_visible()
    expect(desktop.locator("#id_chief_complaint")).to_have_value("发热、咽痛1天")
    desktop.screenshot(path=str(screenshot_dir / "desktop-doctor-station-record.png"), full_page=True)

    desktop.get_by_test_id("finish").click()
    expect(desktop.get_by_test_id("no-record")).to_be_visible()
    expect(desktop.get_by_test_id("done")).to_contain_text(urgent.code)
    expect(desktop.get_by_test_id("call-next")).to_be_enabled()
    desktop.screenshot(path=str(screenshot_dir / "desktop-doctor-station-finished.png"), full_page=True)

    # The nurse checks another patient in: the line updates live (queueing's stream), no reload.
    desktop.evaluate("window.__same_page = true")
    late = queue_patient(clinic.session, name="周四")
    expect(desktop.locator(f'[data-testid="line-row"][data-ticket="{late.public_id}"]')).to_be_visible(timeout=15_000)
    assert desktop.evaluate("window.__same_page === true")

    encounter = Encounter.objects.get(ticket=urgent)
    assert encounter.status == EncounterStatus.CLOSED
    assert list(encounter.diagnoses.values_list("code__code", "primary")) == [("J06.9", True)]
    assert Ticket.objects.get(pk=urgent.pk).status == TicketStatus.DONE
    assert ClinicalOrder.objects.get(encounter=encounter).billing_order_id is not None
    assert OutboxMessage.objects.filter(name="visits.visit_finished").count() == 1

    # The patient's visit summary, on the phone.
    patient_user = urgent.member.account
    phone.goto("/login/")
    phone.fill("#id_username", patient_user.username)
    phone.fill("#id_password", PASSWORD)
    phone.get_by_test_id("login-submit").click()
    phone.wait_for_url("**/me/")
    phone.goto("/me/visits/")
    phone.get_by_test_id("my-visit").first.click()
    phone.wait_for_url(f"**/visits/{encounter.public_id}/")
    expect(phone.get_by_test_id("summary-diagnoses")).to_contain_text("急性上呼吸道感染")
    expect(phone.get_by_test_id("summary-advice")).to_contain_text("多饮水")
    expect(phone.get_by_test_id("summary-total")).to_have_text("¥15.80")
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-visit-summary.png"), full_page=True)
