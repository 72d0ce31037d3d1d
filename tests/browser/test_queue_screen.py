"""The queue in a real browser: the waiting-room screen shows a call the moment it is made,
with the name masked, and says it aloud in Chinese; it reconnects by itself and misses no call.
The nurse's station updates live. Screenshots go to var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from smartclinic.core.actor import Actor
from smartclinic.identity.choices import Role
from smartclinic.queueing import services
from smartclinic.queueing.models import Ticket, Vitals
from smartclinic.queueing.presenters import mask_name
from smartclinic.queueing.testing import ClinicNow, clinic_now
from tests.browser.conftest import _new_context

SCREEN = {"viewport": {"width": 1920, "height": 1080}}
STATION = {"viewport": {"width": 1440, "height": 900}}
# Records what the page asks the browser to say (headless Chromium has no voices to speak with).
SPEECH_STUB = """
window.__spoken = [];
window.speechSynthesis.speak = function (utterance) {
  window.__spoken.push({ text: utterance.text, lang: utterance.lang });
};
"""


@pytest.fixture
def clinic(transactional_db: None) -> ClinicNow:
    return clinic_now(patients_per_doctor=5, check_in=4)


@pytest.fixture
def screen_page(browser: Any, live_server: Any) -> Iterator[Any]:
    context, offsite = _new_context(browser, live_server, locale="zh-CN", **SCREEN)
    context.add_init_script(SPEECH_STUB)
    page = context.new_page()
    yield page
    context.close()
    assert offsite == [], f"the page tried to load assets from the internet: {offsite}"


def spoken(page: Any) -> list[dict[str, str]]:
    return page.evaluate("window.__spoken")


def test_the_screen_shows_and_says_a_call_at_once(screen_page, clinic: ClinicNow, screenshot_dir: Path):
    page = screen_page
    page.goto(f"/screen/{clinic.screen_token}/")
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("screen-row")).to_have_count(2)
    assert spoken(page) == []

    called = services.ticket_call_next(actor=Actor.system(reason="test"), doctor=clinic.doctors[0])

    masked = mask_name(called.member.name)
    expect(page.get_by_test_id("call-code")).to_have_text(called.code, timeout=3000)
    expect(page.get_by_test_id("call-name")).to_have_text(masked)
    expect(page.get_by_test_id("call-text")).to_have_text(f"请 {called.code} 号 {masked} 到 3 诊室就诊")
    page.wait_for_function("window.__spoken.length > 0", timeout=3000)
    said = spoken(page)[0]
    assert said["lang"] == "zh-CN"
    assert said["text"] == f"请 {called.code.replace('-', ' ')} 号 {masked.replace('*', '某')} 到 3 诊室就诊"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in said["text"])
    # The board follows: the called patient is in the room, the next three are listed.
    expect(page.locator(".chip-now.is-called")).to_contain_text(called.code)
    html = page.content()
    assert called.member.name not in html  # never the full name on a public screen

    # A second doctor calls while the first patient is still on the banner.
    other = services.ticket_call_next(actor=Actor.system(reason="test"), doctor=clinic.doctors[1])
    expect(page.get_by_test_id("call-code")).to_have_text(other.code, timeout=3000)
    expect(page.get_by_test_id("call-text")).to_contain_text("到 5 诊室就诊")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_dir / "queue-screen.png"))


def test_the_screen_reconnects_and_misses_no_call(screen_page, clinic: ClinicNow, settings):
    # Streams end every second here (a proxy timeout, a network cut) and the browser comes back
    # after 0.2 s with Last-Event-ID: every call still arrives, once, in order.
    settings.QUEUE_STREAM_MAX_SECONDS = 1
    settings.QUEUE_STREAM_RETRY_MS = 200
    page = screen_page
    page.goto(f"/screen/{clinic.screen_token}/")
    expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    actor = Actor.system(reason="test")

    codes = []
    for _ in range(3):
        ticket = services.ticket_call_next(actor=actor, doctor=clinic.doctors[0])
        codes.append(ticket.code)
        services.ticket_start(actor=actor, ticket=ticket)
        page.wait_for_timeout(700)  # calls land before, during and after reconnects
    page.wait_for_function(f"window.__spoken.length >= {2 * len(codes)}", timeout=8000)
    page.wait_for_timeout(1500)

    said = [entry["text"] for entry in spoken(page)]
    # Each call is said twice (as a person at the desk would), none lost, none replayed twice.
    assert [text.split(" 号")[0].removeprefix("请 ").replace(" ", "-") for text in said] == [
        code for code in codes for _ in range(2)
    ]
    expect(page.get_by_test_id("call-code")).to_have_text(codes[-1])


def test_the_nurse_station_updates_live(browser: Any, live_server: Any, clinic: ClinicNow, screenshot_dir: Path):
    from smartclinic.identity.models import User

    nurse = User.objects.create_user(username="nurse-zhou", password="pw-Secret-123")
    from django.contrib.auth.models import Group

    nurse.groups.add(Group.objects.get(name=Role.NURSE))
    actor = Actor.system(reason="test")
    waiting = Ticket.objects.filter(status="waiting", doctor=clinic.doctors[0]).first()
    assert waiting is not None
    services.ticket_set_priority(
        actor=actor,
        ticket=Ticket.objects.filter(status="arrived", doctor=clinic.doctors[1]).order_by("-number").first(),
        priority=2,
        reason="高热 39.6 °C",
    )
    context, offsite = _new_context(browser, live_server, locale="zh-CN", **STATION)
    page = context.new_page()
    try:
        page.goto("/staff/login/")
        page.fill("#id_username", "nurse-zhou")
        page.fill("#id_password", "pw-Secret-123")
        page.get_by_test_id("login-submit").click()
        page.goto("/staff/queue/")
        expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
        expect(page.get_by_test_id("queue")).to_have_count(2)

        # The doctor calls: the station shows it without a reload.
        called = services.ticket_call_next(actor=actor, doctor=clinic.doctors[0])
        expect(page.locator(f'[data-testid="in-room"][data-code="{called.code}"]')).to_be_visible(timeout=3000)

        # Check-in by search, as at the desk.
        page.fill("#id_q", waiting.member.name)
        page.get_by_test_id("checkin-search-submit").click()
        page.get_by_test_id("result-check-in").first.click()
        expect(page.get_by_test_id("messages")).to_contain_text(waiting.code)
        expect(page.locator(f'[data-testid="line-row"][data-code="{waiting.code}"]')).to_be_visible()
        assert Ticket.objects.get(pk=waiting.pk).status == "arrived"
        page.screenshot(path=str(screenshot_dir / "nurse-station.png"), full_page=True)

        # Vitals from the row's pop-over form.
        row = page.locator(f'[data-testid="line-row"][data-code="{waiting.code}"]')
        row.get_by_test_id("vitals-menu").locator("summary").click()
        row.locator("input[name=temperature_c]").fill("38.2")
        row.locator("input[name=systolic_mmhg]").fill("121")
        row.locator("input[name=diastolic_mmhg]").fill("79")
        row.locator("input[name=pulse_bpm]").fill("96")
        page.screenshot(path=str(screenshot_dir / "nurse-station-vitals.png"))
        row.get_by_test_id("vitals-save").click()
        expect(page.get_by_test_id("messages")).to_contain_text(waiting.code)
        assert Vitals.objects.get(ticket=waiting).pulse_bpm == 96
    finally:
        context.close()
    assert offsite == []


def test_the_patient_sees_the_ticket_on_the_phone(phone: Any, clinic: ClinicNow, screenshot_dir: Path):
    from smartclinic.identity.models import User

    ticket = Ticket.objects.filter(status="arrived", doctor=clinic.doctors[0]).order_by("-number").first()
    assert ticket is not None
    user = User.objects.create_user(username="li-hua", password="pw-Secret-123")
    ticket.member.account = user
    ticket.member.bound_at = ticket.created_at
    ticket.member.save(update_fields=["account", "bound_at"])

    phone.goto("/login/")
    phone.fill("#id_username", "li-hua")
    phone.fill("#id_password", "pw-Secret-123")
    phone.get_by_test_id("login-submit").click()
    phone.goto(f"/appointments/{ticket.appointment.public_id}/ticket/")
    expect(phone.get_by_test_id("ticket-code")).to_have_text(ticket.code)
    expect(phone.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
    ahead = int(phone.get_by_test_id("ticket-ahead").inner_text())

    services.ticket_call_next(actor=Actor.system(reason="test"), doctor=clinic.doctors[0])

    expect(phone.get_by_test_id("ticket-ahead")).to_have_text(str(ahead - 1), timeout=5000)
    phone.screenshot(path=str(screenshot_dir / "phone-ticket.png"), full_page=True)
