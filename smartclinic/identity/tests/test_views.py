"""The identity pages through Django's test client: sign-in, profile, card binding, dependants,
the workstation tools, the language switch and the translations behind them."""

from __future__ import annotations

import io
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape

from smartclinic.audit.models import AuditEntry
from smartclinic.identity.choices import MemberKind, Role
from smartclinic.identity.errors import BindingMismatch
from smartclinic.identity.models import Dependant, Member
from smartclinic.identity.roster import ROSTER_COLUMNS

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


def in_language(message, language: str) -> str:
    """A lazy message rendered in ``language``, HTML-escaped as a template would show it."""
    with translation.override(language):
        return escape(str(message))


def signed_in(user, language: str | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language) if language else Client()
    client.force_login(user)
    return client


def bound_member(make_member, user, **fields) -> Member:
    return make_member(account=user, bound_at=timezone.now(), **fields)


# --- sign-in ---------------------------------------------------------------------------------


def test_login_page_renders_the_form_with_stable_field_names(client):
    response = client.get("/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'id="id_username"' in html
    assert 'name="password"' in html and 'id="id_password"' in html
    assert 'lang="zh-hans"' in html
    assert "智慧校医" in html


@pytest.mark.parametrize(
    ("roles", "fields", "home"),
    [
        ((Role.PATIENT,), {}, "/me/"),
        ((Role.NURSE,), {}, "/staff/"),
        ((Role.ADMIN,), {"is_superuser": True, "is_staff": True}, "/admin/"),
    ],
    ids=["patient", "nurse", "admin"],
)
def test_login_redirects_by_role(client, make_user, roles, fields, home):
    user = make_user(*roles, **fields)

    response = client.post("/login/", {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == home


def test_staff_login_page_signs_a_nurse_in_to_the_workstation(client, make_user):
    nurse = make_user(Role.NURSE)

    page = client.get("/staff/login/")
    response = client.post("/staff/login/", {"username": nurse.username, "password": PASSWORD})

    assert page.status_code == 200
    assert response.status_code == 302
    assert response["Location"] == "/staff/"


def test_login_with_a_wrong_password_shows_the_error_and_signs_nobody_in(client, make_user):
    user = make_user()

    response = client.post("/login/", {"username": user.username, "password": "wrong"})

    assert response.status_code == 200
    assert 'data-testid="form-errors"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_honours_a_safe_next_url(client, make_user):
    user = make_user()

    response = client.post(
        "/login/?next=/me/card/", {"username": user.username, "password": PASSWORD, "next": "/me/card/"}
    )

    assert response["Location"] == "/me/card/"


def test_anonymous_visitor_is_sent_to_sign_in(client):
    assert client.get("/").headers["Location"] == "/login/"
    assert client.get("/me/").headers["Location"] == "/login/?next=/me/"


def test_sign_out_is_a_post_and_returns_to_the_right_sign_in_page(make_user):
    patient, nurse = make_user(), make_user(Role.NURSE)
    patient_client, nurse_client = signed_in(patient), signed_in(nurse)

    assert patient_client.get("/logout/").status_code == 405
    assert patient_client.post("/logout/")["Location"] == "/login/"
    assert nurse_client.post("/logout/")["Location"] == "/staff/login/"
    assert patient_client.get("/me/").status_code == 302


# --- profile and card binding -----------------------------------------------------------------


def test_profile_of_an_unbound_account_calls_to_bind_the_card(make_user):
    user = make_user()

    response = signed_in(user).get("/me/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="bind-call"' in html
    assert 'href="/me/card/"' in html
    assert 'data-testid="member"' not in html
    assert 'data-testid="sign-out"' in html


def test_profile_shows_the_bound_member_and_translated_roles(make_user, make_member):
    user = make_user()
    bound_member(
        make_member,
        user,
        number="2024123456",
        name="王芳",
        college="计算机学院",
        class_name="计科2401",
        card_number="C99887766",
    )

    html = signed_in(user).get("/me/").content.decode()

    assert "2024123456" in html and "王芳" in html and "计算机学院" in html and "计科2401" in html
    assert "7766" in html and "C99887766" not in html  # only the card's tail is shown
    assert 'data-testid="bind-call"' not in html
    assert in_language(Role.PATIENT.label, "zh-hans") in html
    assert 'action="/me/card/unbind/"' in html
    assert 'href="/me/dependants/"' not in html  # students register no family members


def test_profile_of_a_staff_member_links_to_dependants(make_user, make_member):
    user = make_user()
    bound_member(make_member, user, kind=MemberKind.STAFF)

    html = signed_in(user).get("/me/").content.decode()

    assert 'href="/me/dependants/"' in html


def test_binding_through_the_page_binds_and_returns_to_the_profile(make_user, make_member):
    user = make_user()
    member = make_member(name="李华")
    client = signed_in(user)

    form = client.get("/me/card/")
    response = client.post(
        "/me/card/", {"member_number": member.number, "name": "李华", "card_number": member.card_number}, follow=True
    )

    assert form.status_code == 200
    for name in ("member_number", "name", "card_number", "national_id_last6"):
        assert f'name="{name}"' in form.content.decode()
    assert response.redirect_chain == [("/me/", 302)]
    member.refresh_from_db()
    assert member.account == user
    html = response.content.decode()
    assert member.number in html
    assert 'data-testid="messages"' in html


def test_binding_with_the_national_id_tail_works(make_user, make_member):
    user = make_user()
    member = make_member(national_id="11010519491231002X")

    response = signed_in(user).post(
        "/me/card/", {"member_number": member.number, "name": member.name, "national_id_last6": "31002x"}
    )

    assert response["Location"] == "/me/"
    member.refresh_from_db()
    assert member.account == user


def test_a_wrong_card_shows_the_error_in_chinese_by_default(make_user, make_member):
    user = make_user()
    member = make_member()

    response = signed_in(user).post(
        "/me/card/", {"member_number": member.number, "name": member.name, "card_number": "WRONG123"}
    )

    html = response.content.decode()
    chinese = in_language(BindingMismatch.message, "zh-hans")
    assert response.status_code == 200
    assert chinese != in_language(BindingMismatch.message, "en")  # the message is translated
    assert chinese in html
    assert 'data-testid="form-errors"' in html
    member.refresh_from_db()
    assert member.account is None


def test_a_wrong_card_shows_the_error_in_english_when_the_browser_asks_for_it(make_user, make_member):
    user = make_user()
    member = make_member()

    response = signed_in(user, language="en").post(
        "/me/card/", {"member_number": member.number, "name": member.name, "card_number": "WRONG123"}
    )

    html = response.content.decode()
    assert in_language(BindingMismatch.message, "en") in html
    assert 'lang="en"' in html


def test_the_language_cookie_wins_over_the_browser_language(make_user, make_member):
    user = make_user()
    member = make_member()
    client = signed_in(user, language="zh-CN")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post("/me/card/", {"member_number": member.number, "name": member.name, "card_number": "WRONG1"})

    assert in_language(BindingMismatch.message, "en") in response.content.decode()


def test_binding_without_card_or_id_tail_asks_for_one(make_user, make_member):
    user = make_user()
    member = make_member()

    response = signed_in(user).post("/me/card/", {"member_number": member.number, "name": member.name})

    assert response.status_code == 200
    assert escape("请输入校园卡号或身份证号后 6 位。") in response.content.decode()


def test_bind_page_of_an_already_bound_account_returns_to_the_profile(make_user, make_member):
    user = make_user()
    bound_member(make_member, user)

    assert signed_in(user).get("/me/card/")["Location"] == "/me/"


def test_unbinding_own_card_from_the_profile(make_user, make_member):
    user = make_user()
    member = bound_member(make_member, user)
    client = signed_in(user)

    assert client.get("/me/card/unbind/").status_code == 405
    response = client.post("/me/card/unbind/", follow=True)

    member.refresh_from_db()
    assert member.account is None
    assert 'data-testid="bind-call"' in response.content.decode()


# --- dependants -----------------------------------------------------------------------------


def test_staff_member_adds_and_removes_a_dependant(make_user, make_member):
    user = make_user()
    owner = bound_member(make_member, user, kind=MemberKind.STAFF, name="赵老师")
    client = signed_in(user)

    empty = client.get("/me/dependants/")
    response = client.post(
        "/me/dependants/", {"name": "赵小宝", "relation": "child", "gender": "", "birth_date": "2018-05-01"}
    )

    assert 'data-testid="dependants-empty"' in empty.content.decode()
    assert response["Location"] == "/me/dependants/"
    dependant = Dependant.objects.get(owner=owner)
    assert (dependant.name, dependant.relation, dependant.active) == ("赵小宝", "child", True)
    page = client.get("/me/dependants/").content.decode()
    assert "赵小宝" in page
    assert f'action="/me/dependants/{dependant.public_id}/remove/"' in page

    client.post(f"/me/dependants/{dependant.public_id}/remove/")

    dependant.refresh_from_db()
    assert dependant.active is False
    assert "赵小宝" not in client.get("/me/dependants/").content.decode()


def test_a_student_cannot_add_dependants_and_sees_why(make_user, make_member):
    user = make_user()
    owner = bound_member(make_member, user, kind=MemberKind.STUDENT)

    response = signed_in(user, language="en").post("/me/dependants/", {"name": "Someone", "relation": "parent"})

    assert response.status_code == 200
    assert "Only staff members with a bound card can register family members." in response.content.decode()
    assert not Dependant.objects.filter(owner=owner).exists()


def test_dependants_page_without_a_bound_card_sends_to_binding(make_user):
    assert signed_in(make_user()).get("/me/dependants/")["Location"] == "/me/card/"


# --- workstation ----------------------------------------------------------------------------


def test_patient_cannot_open_the_workstation_tools(make_user):
    client = signed_in(make_user())

    denied = client.get("/staff/members/")
    assert denied.status_code == 403
    assert 'data-testid="error-403"' in denied.content.decode()
    assert client.get("/staff/roster/import/").status_code == 403
    assert client.get("/staff/")["Location"] == "/me/"


def test_staff_home_lists_only_the_tools_the_role_allows(make_user):
    nurse_html = signed_in(make_user(Role.NURSE)).get("/staff/").content.decode()
    manager_html = signed_in(make_user(Role.MANAGER)).get("/staff/").content.decode()

    assert 'data-testid="tile-members"' in nurse_html
    assert 'data-testid="tile-roster"' not in nurse_html
    assert 'data-testid="tile-admin"' not in nurse_html
    assert 'data-testid="role-nurse"' in nurse_html
    assert 'data-testid="tile-roster"' in manager_html
    assert 'data-testid="nav-roster"' in manager_html


def test_nurse_searches_a_member_and_unbinds_the_card(make_user, make_member):
    nurse = make_user(Role.NURSE)
    student = make_user()
    member = bound_member(make_member, student, name="陈静", college="医学院")
    client = signed_in(nurse)

    page = client.get("/staff/members/", {"q": member.number})

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="member-row"' in html
    assert member.number in html and "陈静" in html and "医学院" in html and student.username in html
    assert f'action="/staff/members/{member.public_id}/unbind/"' in html

    response = client.post(f"/staff/members/{member.public_id}/unbind/", {"q": member.number})

    assert response["Location"] == f"/staff/members/?q={member.number}"
    member.refresh_from_db()
    assert member.account is None
    entry = AuditEntry.objects.filter(action="identity.card_unbound").get()
    assert entry.new_values["by_staff"] is True
    assert entry.actor_id == nurse.pk


def test_a_doctor_can_search_but_sees_no_unbind_button(make_user, make_member):
    doctor = make_user(Role.DOCTOR)
    member = bound_member(make_member, make_user())

    html = signed_in(doctor).get("/staff/members/", {"q": member.number}).content.decode()

    assert 'data-testid="member-row"' in html
    assert 'data-testid="member-unbind"' not in html
    assert signed_in(doctor).post(f"/staff/members/{member.public_id}/unbind/").status_code == 403


def test_search_without_a_match_says_so(make_user):
    html = signed_in(make_user(Role.NURSE), language="en").get("/staff/members/", {"q": "nobody"}).content.decode()

    assert 'data-testid="member-none"' in html
    assert "nobody" in html


def test_member_search_page_keeps_to_its_query_budget(make_user, make_member, django_assert_max_num_queries):
    nurse = make_user(Role.NURSE)
    for index in range(15):
        bound_member(make_member, make_user(), name=f"林{index:02d}")
    client = signed_in(nurse)

    # session, user, the user's and the groups' permissions, the search: not one per row.
    with django_assert_max_num_queries(5):
        response = client.get("/staff/members/", {"q": "林"})

    assert response.content.decode().count('data-testid="member-row"') == 15


def test_roster_import_page_shows_counts_and_rejected_rows(make_user):
    manager = make_user(Role.MANAGER)
    csv = (
        "number,kind,name,card_number,college\n"
        "2025000001,student,周一,C2025000001,文学院\n"
        "2025000002,robot,周二,C2025000002,文学院\n"
    ).encode()
    upload = io.BytesIO(csv)
    upload.name = "roster.csv"
    client = signed_in(manager, language="en")

    form = client.get("/staff/roster/import/")
    response = client.post("/staff/roster/import/", {"file": upload})

    assert 'enctype="multipart/form-data"' in form.content.decode()
    html = response.content.decode()
    assert 'data-testid="count-added">1<' in html
    assert 'data-testid="count-rejected">1<' in html
    assert 'data-testid="rejected-row"' in html and "2025000002" in html
    assert Member.objects.filter(number="2025000001").exists()


def test_roster_help_names_every_column(make_user):
    html = signed_in(make_user(Role.MANAGER)).get("/staff/roster/import/").content.decode()

    for column in ROSTER_COLUMNS:
        assert f"<code>{column}</code>" in html


def test_admin_member_list_links_to_the_import_page(make_user):
    admin = make_user(Role.ADMIN, is_superuser=True, is_staff=True)
    client = signed_in(admin)

    change_list = client.get("/admin/identity/member/")
    import_page = client.get("/admin/identity/member/import/")

    assert 'href="/admin/identity/member/import/"' in change_list.content.decode()
    assert import_page.status_code == 200
    assert 'enctype="multipart/form-data"' in import_page.content.decode()


def test_admin_import_page_imports_and_shows_the_report(make_user):
    admin = make_user(Role.ADMIN, is_superuser=True, is_staff=True)
    upload = io.BytesIO(b"number,kind,name,card_number\n2026000001,staff,Ada,C2026000001\n2026000002,staff,,C2\n")
    upload.name = "roster.csv"

    response = signed_in(admin, language="en").post("/admin/identity/member/import/", {"file": upload})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="count-added">1<' in html
    assert "name is empty" in html
    assert Member.objects.filter(number="2026000001", kind=MemberKind.STAFF).exists()


# --- language and static assets -------------------------------------------------------------


def test_language_switch_sets_the_cookie_and_returns_to_the_page(make_user):
    client = signed_in(make_user())

    chinese = client.get("/me/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    english = client.get("/me/").content.decode()

    assert 'action="/i18n/setlang/"' in chinese and 'name="next" value="/me/"' in chinese
    assert response["Location"] == "/me/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Sign out" in english and 'lang="en"' in english
    assert "退出" in chinese


def test_error_pages_are_the_clinic_s_own(client):
    missing = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    with translation.override("zh-hans"):
        crashed = render_to_string("500.html")  # as Django renders it: no request, no context processors

    assert missing.status_code == 404
    assert 'data-testid="error-404"' in missing.content.decode()
    assert "Page not found" in missing.content.decode()
    assert 'data-testid="error-500"' in crashed and "/static/css/app.css" in crashed


def test_the_stylesheet_is_served_locally():
    response = Client().get("/static/css/app.css")

    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"mobile-first" in body


def test_pages_load_nothing_from_the_internet(make_user):
    client = signed_in(make_user())

    for path in ("/me/", "/me/card/"):
        html = client.get(path).content.decode()
        assert "http://" not in html and "https://" not in html and 'src="//' not in html


def test_every_message_is_translated_to_chinese():
    po_path = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    catalog = polib.pofile(str(po_path))

    assert [entry.msgid for entry in catalog.untranslated_entries()] == []
    assert [entry.msgid for entry in catalog.fuzzy_entries()] == []
    compiled = polib.mofile(str(po_path.with_suffix(".mo")))
    assert {entry.msgid for entry in compiled if entry.msgid} == {entry.msgid for entry in catalog.translated_entries()}
