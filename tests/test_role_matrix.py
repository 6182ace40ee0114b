"""Role x route matrix (SECURITY.md 2): every rule of the URL map, for every role and anonymous, is allowed
exactly when the role table says so. Deny by default: a new view without an entry fails here."""

import pytest

from portal.security import ADMIN_ONLY_VIEWS, PORTAL_ROLES, ROLE_TABLE, role_permissions
from tests.conftest import ROLE_USERS, Browser

DUMMY = {"pk": "000000000000000000000000", "name": "no-such-action", "filename": "x", "locale": "en",
         "provider": "db"}
TEST_VIEWS = {"Sample"}  # registered by the tests themselves
JWT_ONLY = {"/api/v1/security/refresh"}  # needs a refresh token, never a browser session
JWT_ONLY_ENDPOINTS = "portal_api."  # the JSON API (views/api.py): a session cookie alone is always 401


def protected_routes(app):
    """(rule, endpoint, view, permission name or None for public) for every rule of the URL map."""
    views = {v.blueprint.name: v for v in app.appbuilder.baseviews if getattr(v, "blueprint", None)}
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("appbuilder."):
            continue
        blueprint, _, method = rule.endpoint.rpartition(".")
        view = views.get(blueprint)
        permission = None
        if view is not None:
            func = getattr(view, method, None)
            name = getattr(func, "_permission_name", None)
            name = (getattr(view, "method_permission_name", None) or {}).get(method, name)
            if name is not None and hasattr(func, "_urls"):
                permission = "can_" + name
        out.append((rule, view, permission))
    return out


def url_for_rule(rule) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = url.replace(f"<{arg}>", DUMMY.get(arg, "x")).replace(f"<string:{arg}>", DUMMY.get(arg, "x"))
        url = url.replace(f"<path:{arg}>", "x").replace(f"<int:{arg}>", "0")
    return url


def test_every_view_with_a_protected_route_is_in_the_role_table(app):
    names = {view.class_permission_name for _, view, perm in protected_routes(app) if perm and view is not None}
    missing = names - set(ROLE_TABLE) - ADMIN_ONLY_VIEWS - TEST_VIEWS
    assert not missing, f"views missing from ROLE_TABLE (or ADMIN_ONLY_VIEWS): {sorted(missing)}"


@pytest.mark.parametrize("role", [*PORTAL_ROLES, None])
def test_role_route_matrix(app, db, role):
    browser = Browser(app)
    if role is not None:
        assert browser.login(ROLE_USERS[role]).status_code == 302
    granted = set() if role is None else role_permissions(app.appbuilder, role)
    if role not in (None, "Admin", "Employee"):  # every demo account but admin also holds Employee
        granted |= role_permissions(app.appbuilder, "Employee")
    token = browser.token("/login/" if role is None else "/resetmypassword/form")
    wrong = []
    for rule, view, permission in protected_routes(app):
        if "/logout" in rule.rule:
            continue
        if rule.rule in JWT_ONLY or rule.endpoint.startswith(JWT_ONLY_ENDPOINTS):
            expected = False
        elif permission is None:
            expected = True  # public route (login, language, health, actions check their own permission)
        elif role is None:
            expected = False
        else:
            expected = role == "Admin" or (permission, view.class_permission_name) in granted
        method = "GET" if "GET" in rule.methods else "POST"
        url = url_for_rule(rule)
        response = browser.client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        denied = response.status_code in (302, 401, 403) and (
            "/login/" in response.headers.get("Location", "") or response.status_code in (401, 403))
        if denied == expected:
            wrong.append((method, url, response.status_code, "expected allowed" if expected else "expected denied"))
    assert not wrong, wrong


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    ("Employee", ["Employees", "Regulations"], ["Audit log", "List Users", "Positions"]),
    ("Auditor", ["Audit log", "Employees"], ["List Users"]),
    ("HR", ["Positions", "Org units"], ["Audit log", "List Users"]),
    ("Admin", ["List Users", "Audit log", "Org units"], []),
])
def test_each_demo_account_sees_only_its_menus(app, db, role, shown, hidden):
    browser = Browser(app)
    browser.login(ROLE_USERS[role])
    page = browser.get("/").data.decode()
    assert all(label in page for label in shown), shown
    assert not [label for label in hidden if label in page]
