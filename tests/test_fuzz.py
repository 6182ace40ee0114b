"""Malformed input over every route (SECURITY.md F8, F10): no 500 anywhere, whatever a client sends."""

import pytest

from tests.conftest import ROLE_USERS, Browser
from tests.test_role_matrix import protected_routes

BAD_PATH = ["x", "0" * 24, "f" * 25, "$ne", "..%2F..%2Fetc", "a" * 400, "%00"]
BAD_QUERY = [
    "page_{v}=-1", "page_{v}=abc", "psize_{v}=99999999", "psize_{v}=0", "_flt_9_name=1", "_flt_0_name[$ne]=1",
    "_oc_{v}=zzz&_od_{v}=sideways", "_oc_{v}=password&_od_{v}=asc", "_flt_0_owner_unit=bad", "_flt_0_parent=%24ne",
    "_flt_2_hire_date=31/31/31", "_flt_0_at=tomorrow", "q=" + "x" * 3000, "code=<script>", "next=//evil.example",
    "_flt_3_version=NaN", "_flt_0_active=perhaps", "_flt_0_roles=xx",
]
BAD_FORM = {
    "name": "x" * 20000, "code": "\x00\x01", "version": "abc", "parent": "not-an-id", "head": "{'$ne': 1}",
    "deputy_heads": ["bad", "0" * 24], "owner_unit": "ffffffffffffffffffffffff", "hire_date": "2026-13-45",
    "kind": "nonsense", "rowid": ["bad", "0" * 24], "action": "nope", "lines-999999-amount": "x",
    "amount": "1e999", "budget": "1e999999999", "score": "-1e999999999", "weight": "1e999999999",
    "indicators-0-weight": "1e999999999", "bands-0-minimum": "1e999999999", "count": "9" * 50,
    "email": "@@", "password": "", "roles": "bad", "active": "maybe",
}


def _routes(app):
    return [(rule, view) for rule, view, _perm in protected_routes(app) if "/logout" not in rule.rule]


def _fill(rule, value):
    url = rule.rule
    for arg in rule.arguments:
        for form in (f"<{arg}>", f"<string:{arg}>", f"<path:{arg}>", f"<int:{arg}>"):
            url = url.replace(form, value)
    return url


def _hit(browser, method, url, **kw):
    try:
        return browser.client.open(url, method=method, **kw).status_code
    except Exception as exc:  # TESTING propagates errors: any exception is a 500 a user would have seen
        return f"{type(exc).__name__}: {exc}"[:200]


@pytest.mark.parametrize("who", ["Admin", "Clerk", None])
def test_no_route_answers_500_to_malformed_input(app, db, who):
    browser = Browser(app)
    if who:
        browser.login(ROLE_USERS[who])
    token = browser.token("/login/" if who is None else "/resetmypassword/form")
    failures = []
    for rule, view in _routes(app):
        name = view.__class__.__name__ if view is not None else "x"
        methods = [m for m in ("GET", "POST") if m in rule.methods]
        paths = [_fill(rule, v) for v in BAD_PATH] if rule.arguments else [rule.rule]
        for method in methods:
            for path in paths if method == "GET" else paths[:2]:
                kw = {"data": {**BAD_FORM, "csrf_token": token}} if method == "POST" else {}
                status = _hit(browser, method, path, **kw)
                if not isinstance(status, int) or status >= 500:
                    failures.append((method, path[:80], status))
            if not rule.arguments and method == "GET":
                for query in BAD_QUERY:
                    status = _hit(browser, "GET", f"{rule.rule}?{query.format(v=name)}")
                    if not isinstance(status, int) or status >= 500:
                        failures.append(("GET", f"{rule.rule}?{query.format(v=name)}"[:80], status))
    assert not failures, failures[:20]


@pytest.mark.parametrize("body", [
    {"username": {"$ne": None}, "password": {"$ne": None}, "provider": "db"},
    {"username": "admin", "password": {"$gt": ""}, "provider": "db"},
    {"username": ["admin"], "password": ["x"], "provider": "db"},
    {"username": "admin", "password": "x" * 100000, "provider": "db"},
    "not json at all",
])
def test_operator_injection_and_junk_on_the_json_login_have_no_effect__F10(browser, body):
    kw = {"json": body} if not isinstance(body, str) else {"data": body, "content_type": "application/json"}
    response = browser.client.post("/api/v1/security/login", **kw)
    assert response.status_code in (400, 401, 422) and b"access_token" not in response.data


def test_operator_injection_in_the_html_login_has_no_effect__F10(browser):
    token = browser.token("/login/")
    response = browser.client.post("/login/", data={"username": "admin", "password[$ne]": "x", "csrf_token": token})
    assert browser.get("/users/list/").status_code == 302
    assert response.status_code in (200, 302)
