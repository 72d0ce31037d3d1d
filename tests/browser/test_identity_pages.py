"""The identity journeys in a real browser: sign in on a phone, bind the campus card, see errors
in Chinese, switch to English; a nurse looks a member up and unbinds the card at a workstation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import timezone, translation
from playwright.sync_api import expect

from smartclinic.identity.choices import Role
from smartclinic.identity.errors import BindingMismatch
from smartclinic.identity.models import Member

PASSWORD = "pw-Secret-123"
TEAL = "rgb(10, 101, 96)"  # --c-primary in static/css/app.css


def sign_in(page: Any, username: str, path: str = "/login/") -> None:
    page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_test_id("login-submit").click()


def assert_fits_the_screen(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def test_patient_signs_in_and_binds_the_campus_card_on_a_phone(phone, make_user, make_member, screenshot_dir: Path):
    user = make_user(username="lihua2024")
    member = make_member(name="李华", college="计算机学院", class_name="计科2401")
    stylesheets: list[int] = []
    phone.on("response", lambda response: response.url.endswith("/app.css") and stylesheets.append(response.status))

    sign_in(phone, user.username)

    phone.wait_for_url("**/me/")
    assert stylesheets and set(stylesheets) == {200}
    assert phone.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor") == TEAL
    assert phone.get_attribute("html", "lang") == "zh-hans"
    expect(phone.get_by_test_id("bind-call")).to_be_visible()
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-profile-unbound.png"), full_page=True)

    phone.get_by_test_id("bind-link").click()
    phone.wait_for_url("**/me/card/")
    phone.fill("#id_member_number", member.number)
    phone.fill("#id_name", "李华")
    phone.fill("#id_card_number", member.card_number)
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-card-bind.png"), full_page=True)
    phone.get_by_test_id("card-bind-submit").click()

    phone.wait_for_url("**/me/")
    expect(phone.get_by_test_id("member-number")).to_have_text(member.number)
    expect(phone.get_by_test_id("member-name")).to_have_text("李华")
    expect(phone.get_by_test_id("messages")).to_be_visible()
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-profile-bound.png"), full_page=True)
    member.refresh_from_db()
    assert member.account_id == user.pk


def test_a_wrong_card_number_shows_the_error_in_chinese(phone, make_user, make_member, screenshot_dir: Path):
    user = make_user()
    member = make_member()
    with translation.override("zh-hans"):
        chinese = str(BindingMismatch.message)
    sign_in(phone, user.username, path="/login/?next=/me/card/")
    phone.wait_for_url("**/me/card/")

    phone.fill("#id_member_number", member.number)
    phone.fill("#id_name", member.name)
    phone.fill("#id_card_number", "C0000WRONG")
    phone.get_by_test_id("card-bind-submit").click()

    errors = phone.get_by_test_id("form-errors")
    expect(errors).to_have_text(chinese)
    expect(errors).to_be_in_viewport()
    phone.set_viewport_size({"width": 360, "height": 740})  # the narrowest phones still in use
    assert_fits_the_screen(phone)
    phone.screenshot(path=str(screenshot_dir / "phone-card-bind-error-360.png"), full_page=True)
    assert Member.objects.get(pk=member.pk).account_id is None


def test_switching_the_language_to_english_and_back(phone, make_user, screenshot_dir: Path):
    phone.goto("/login/")
    expect(phone.locator("h1")).to_have_text("登录")

    phone.get_by_test_id("language-en").click()

    expect(phone.locator("h1")).to_have_text("Sign in")
    assert phone.get_attribute("html", "lang") == "en"
    assert phone.url.endswith("/login/")
    expect(phone.get_by_test_id("language-en")).to_have_attribute("aria-pressed", "true")
    phone.screenshot(path=str(screenshot_dir / "phone-login-en.png"), full_page=True)

    user = make_user()
    sign_in(phone, user.username)
    phone.wait_for_url("**/me/")
    expect(phone.get_by_test_id("bind-call")).to_contain_text("Bind your campus card")

    phone.get_by_test_id("language-zh-hans").click()
    expect(phone.get_by_test_id("bind-call")).to_contain_text("绑定校园卡")


def test_nurse_looks_a_member_up_and_unbinds_the_card(desktop, make_user, make_member, screenshot_dir: Path):
    nurse = make_user(Role.NURSE, username="nurse_wang")
    member = make_member(name="陈静", college="医学院", account=make_user(), bound_at=timezone.now())

    sign_in(desktop, nurse.username, path="/staff/login/")
    desktop.wait_for_url("**/staff/")
    expect(desktop.get_by_test_id("tile-roster")).to_have_count(0)
    desktop.get_by_test_id("tile-members").click()
    desktop.fill("#id_q", member.number)
    desktop.get_by_test_id("member-search-submit").click()

    row = desktop.get_by_test_id("member-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("陈静")
    desktop.screenshot(path=str(screenshot_dir / "desktop-member-lookup.png"), full_page=True)
    row.get_by_test_id("member-unbind").click()

    expect(desktop.get_by_test_id("messages")).to_contain_text("陈静")
    expect(desktop.get_by_test_id("member-unbind")).to_have_count(0)
    assert Member.objects.get(pk=member.pk).account_id is None
