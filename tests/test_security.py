"""Authentication and sessions (SECURITY.md F1, F5, F6, F7, F9 and section 2)."""

import os
import time

import pytest

from models.users import PortalUser
from portal.passwords import password_problem
from portal.security import SESSION_SEEN, SESSION_START
from tests.conftest import TEST_PASSWORD, Browser


def test_html_login_is_throttled_per_ip(browser, throttled):
    codes = [browser.login("nobody-here", "wrong password").status_code for _ in range(4)]
    assert 429 not in codes[:3] and codes[3] == 429


def test_json_login_is_throttled_too__F5(browser, throttled):
    body = {"username": "nobody-here", "password": "wrong password", "provider": "db"}
    codes = [browser.client.post("/api/v1/security/login", json=body).status_code for _ in range(4)]
    assert codes[3] == 429 and 429 not in codes[:3]


def test_failed_logins_lock_the_account_temporarily(app, browser, make_user):
    user = make_user("Employee")
    for _ in range(app.config["LOGIN_LOCKOUT_FAILURES"]):
        browser.login(user.username, "wrong password")
    stored = PortalUser.objects(pk=user.pk).first()
    assert stored.locked_until is not None
    response = browser.login(user.username, TEST_PASSWORD)  # even the right password, while locked
    assert "/login" in response.headers.get("Location", "/login") or response.status_code == 200
    assert browser.get("/employeeview/list/").status_code == 302


def test_failure_counter_is_atomic_and_reset_by_a_success(app, browser, make_user):
    user = make_user("Employee")
    browser.login(user.username, "wrong password")
    browser.login(user.username, "wrong password")
    assert PortalUser.objects(pk=user.pk).first().fail_login_count == 2
    browser.login(user.username, TEST_PASSWORD)
    assert PortalUser.objects(pk=user.pk).first().fail_login_count == 0


def test_login_messages_do_not_reveal_whether_a_user_exists(browser, make_user):
    user = make_user("Employee")
    token = browser.token("/login/")
    known = browser.client.post("/login/", data={"username": user.username, "password": "wrong password",
                                                 "csrf_token": token}, follow_redirects=True).data
    unknown = browser.client.post("/login/", data={"username": "no-such-user-anywhere", "password": "wrong pw",
                                                   "csrf_token": token}, follow_redirects=True).data
    assert b"Invalid login" in known and b"Invalid login" in unknown


def test_a_deactivated_user_loses_access_on_the_next_request__F1(app, make_user, signed_in):
    user = make_user("Employee")
    session = signed_in(user)
    assert session.get("/users/userinfo/").status_code == 200
    PortalUser.objects(pk=user.pk).update_one(set__active=False)
    assert session.get("/users/userinfo/").status_code == 302


def test_logout_ends_every_copy_of_the_session__F9(app, make_user, signed_in):
    user = make_user("Employee")
    session = signed_in(user)
    copy = Browser(app)
    cookie = session.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    copy.client.set_cookie(cookie.key, cookie.value)
    assert copy.get("/users/userinfo/").status_code == 200
    session.get("/logout/")
    assert copy.get("/users/userinfo/").status_code == 302


@pytest.mark.parametrize(("key", "age"), [(SESSION_SEEN, lambda c: c["SESSION_IDLE_MINUTES"] * 60),
                                           (SESSION_START, lambda c: c["SESSION_MAX_HOURS"] * 3600)],
                         ids=["idle", "absolute"])
def test_sessions_expire_when_idle_and_after_the_absolute_maximum(app, make_user, signed_in, key, age):
    session = signed_in(make_user("Employee"))
    with session.client.session_transaction() as s:
        s[key] = time.time() - age(app.config) - 1
    assert session.get("/users/userinfo/").status_code == 302


def test_session_cookie_flags(app, make_user):
    user = make_user("Employee")
    b = Browser(app)
    response = b.login(user.username, TEST_PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    import importlib

    import portal.config

    os.environ["MONGODB_URI"] = "mongodb://db.example:27017/portal"
    try:
        assert importlib.reload(portal.config).Config.SESSION_COOKIE_SECURE is True  # with a server: HTTPS only
    finally:
        del os.environ["MONGODB_URI"]
        importlib.reload(portal.config)


@pytest.mark.parametrize(("password", "admin", "ok"), [
    ("short1", False, False), ("12345678", False, False), ("password1", False, False),
    ("aaaaaaaaaaaa", False, False), ("blue-river7", False, True), ("blue-river7", True, False),
    ("correct horse battery staple", True, True), ("长江黄河都是好地方", False, True),
    ("x" * 300, False, False),
])
def test_password_policy_length_and_common_passwords_no_composition_rules(app, password, admin, ok):
    with app.test_request_context():
        assert (password_problem(password, "someone", is_admin=admin) is None) is ok


def test_passwords_are_hashed_with_a_modern_algorithm(make_user):
    user = make_user("Employee")
    assert user.password.startswith(("scrypt:", "pbkdf2:sha256:")) and TEST_PASSWORD not in user.password


def test_changing_ones_password_requires_the_current_one__F9(app, make_user, signed_in):
    user = make_user("Employee")
    session = signed_in(user)
    url = "/resetmypassword/form"
    wrong = session.post_form(url, {"old_password": "not it", "password": "new-pass-phrase-1",
                                    "conf_password": "new-pass-phrase-1"})
    assert wrong.status_code == 200 and b"current password is not correct" in wrong.data
    weak = session.post_form(url, {"old_password": TEST_PASSWORD, "password": "12345678", "conf_password": "12345678"})
    assert b"too common" in weak.data
    other = signed_in(user)  # a second session of the same user
    ok = session.post_form(url, {"old_password": TEST_PASSWORD, "password": "new-pass-phrase-1",
                                 "conf_password": "new-pass-phrase-1"})
    assert ok.status_code == 302
    assert session.get("/users/userinfo/").status_code == 200  # this session goes on
    assert other.get("/users/userinfo/").status_code == 302  # the other one ends
    assert Browser(app).login(user.username, "new-pass-phrase-1").status_code == 302


def test_a_password_an_administrator_set_is_replaced_at_the_next_page(app, make_user, signed_in, as_role):
    user = make_user("Employee")
    admin = as_role("Admin")
    url = f"/resetpassword/form?pk={user.pk}"
    reset = admin.post_form(url, {"password": "admin-chose-this-1", "conf_password": "admin-chose-this-1"})
    assert reset.status_code == 302 and PortalUser.objects(pk=user.pk).get().must_change_password
    assert admin.get("/users/userinfo/").status_code == 200  # the administrator is not gated
    session = Browser(app)
    assert session.login(user.username, "admin-chose-this-1").status_code == 302
    for path in ("/users/userinfo/", "/", "/approvals/inbox/"):
        gated = session.get(path)
        assert gated.status_code == 302 and gated.headers["Location"].endswith("/resetmypassword/form"), path
    assert session.get("/lang/zh").status_code == 302 and session.get("/resetmypassword/form").status_code == 200
    mine = {"old_password": "admin-chose-this-1", "password": "my-own-phrase-22", "conf_password": "my-own-phrase-22"}
    ok = session.post_form("/resetmypassword/form", mine)
    assert ok.status_code == 302 and not PortalUser.objects(pk=user.pk).get().must_change_password
    assert session.get("/users/userinfo/").status_code == 200


def test_self_registration_is_off(browser):
    assert browser.get("/register/").status_code == 404


@pytest.mark.parametrize("target", ["//evil.example/", "\\\\evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site__F6(app, make_user, target):
    user = make_user("Employee")
    b = Browser(app)
    token = b.token("/login/")
    response = b.client.post(f"/login/?next={target}",
                             data={"username": user.username, "password": TEST_PASSWORD, "csrf_token": token})
    from urllib.parse import urljoin, urlparse

    assert urlparse(urljoin("http://localhost/login/", response.headers["Location"])).netloc == "localhost"


def test_security_headers_are_set(browser):
    response = browser.get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'nonce-" in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", ["/sampleview/add", "/employeeview/list/", "/orgunitview/list/", "/regulations/"])
def test_every_script_tag_carries_the_nonce(as_role, url):
    page = as_role("Admin").get(url)
    nonce = page.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    html = page.data.decode()
    assert len(nonce) > 10 and html.count("<script") == html.count(f'nonce="{nonce}"') > 0


def test_a_post_without_csrf_token_is_refused(as_role):
    admin = as_role("Admin")
    from models.org import OrgUnit

    unit = OrgUnit.objects(code="BR-LEGAL").first()
    assert admin.post(f"/orgunitview/delete/{unit.pk}").status_code == 400
    assert OrgUnit.objects(pk=unit.pk).count() == 1


def test_only_admin_administers_users_and_roles(as_role, make_user):
    target = make_user("Employee")
    for role in ("HR", "DeptHead", "Clerk", "Employee", "Auditor", "Finance", "Legal"):
        b = as_role(role)
        assert b.get("/users/list/").status_code == 302
        assert b.get(f"/users/edit/{target.pk}").status_code == 302
        assert b.get("/roles/list/").status_code == 302


def test_a_user_cannot_grant_themselves_a_role_through_their_own_forms(app, make_user, signed_in):
    from flask_appbuilder.security.mongoengine.models import Role

    user = make_user("Employee")
    session = signed_in(user)
    admin_role = Role.objects(name="Admin").first()
    session.post_form("/userinfoeditview/form", {"first_name": "X", "last_name": "Y", "roles": str(admin_role.pk)})
    session.post_form(f"/users/edit/{user.pk}", {"roles": str(admin_role.pk)}, form_url="/userinfoeditview/form")
    assert [r.name for r in PortalUser.objects(pk=user.pk).first().roles] == ["Employee"]


def test_user_administration_sets_created_by_and_is_audited__F7(as_role, app):
    from flask_appbuilder.security.mongoengine.models import Role

    from models.audit import AuditEntry

    admin = as_role("Admin")
    role = Role.objects(name="Employee").first()
    data = {"first_name": "新", "last_name": "员工", "username": "new_hire_1", "active": "y",
            "email": "new_hire_1@example.test", "roles": str(role.pk), "password": "a long pass phrase",
            "conf_password": "a long pass phrase"}
    assert admin.post_form("/users/add", data).status_code == 302
    created = PortalUser.objects(username="new_hire_1").first()
    assert created.created_by is not None and created.created_by.username == "admin"
    assert created.must_change_password  # the administrator chose it: replaced at the first login
    entries = AuditEntry.objects(collection="user", record_id=str(created.pk))
    assert entries.count() == 1 and entries[0].user == "admin"
    assert not [c for c in entries[0].changes if c.field in ("password", "session_nonce")]
    created.delete()


def test_an_admin_password_needs_twelve_characters(as_role):
    from flask_appbuilder.security.mongoengine.models import Role

    admin = as_role("Admin")
    role = Role.objects(name="Admin").first()
    data = {"first_name": "A", "last_name": "B", "username": "new_admin_1", "active": "y",
            "email": "new_admin_1@example.test", "roles": str(role.pk), "password": "blue-river7",
            "conf_password": "blue-river7"}
    response = admin.post_form("/users/add", data)
    assert response.status_code == 200 and b"at least 12 characters" in response.data
    assert PortalUser.objects(username="new_admin_1").count() == 0


def test_removing_a_permission_never_leaves_a_dangling_id_in_a_role(app, as_role):
    from flask_appbuilder.security.mongoengine.models import Role

    sm = app.appbuilder.sm
    with app.app_context():
        pv = sm.add_permission_view_menu("can_ghost", "GhostView")
        clerk = Role.objects(name="Clerk").first()
        sm.add_permission_role(clerk, pv)
        sm.del_permission_view_menu("can_ghost", "GhostView")  # FAB's Mongo manager would leave the id behind
    raw = Role._get_collection().find_one({"name": "Clerk"})
    assert pv.pk not in [getattr(p, "id", p) for p in raw["permissions"]]
    assert as_role("Clerk").get("/employeeview/list/").status_code == 200


def test_the_missing_manager_methods_exist(app):
    sm = app.appbuilder.sm
    with app.app_context():
        assert sm.get_public_role().name == "Public"
        clerk = sm.find_role("Clerk")
        assert len(sm.get_db_role_permissions(clerk.id)) == len(clerk.permissions)
        assert sm.find_roles_permission_view_menus("can_list", [clerk.id])
        group = sm.add_group("sales-team", roles=[clerk])
        assert sm.find_group("sales-team") == group
        group.delete()
