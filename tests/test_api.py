"""The JSON API (issue 9 item 5): JWT only, the forms' validation, scope and audit, typed filters and sorting on
allowed fields, JSON errors, the role x resource x method matrix, the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from models.audit import AuditEntry
from models.customers import Customer
from models.finance import Budget
from models.org import OrgUnit
from models.products import Product
from models.users import PortalUser
from portal.security import PORTAL_ROLES, role_permissions
from tests.conftest import DEMO_PASSWORD, ROLE_USERS, TEST_PASSWORD, Browser, data_round_trips
from tests.sample import Sample

ZERO = "0" * 24
LOGIN = "/api/v1/security/login"


class Api:
    """A test client that calls the API with a bearer token (and no session cookie)."""

    def __init__(self, app, token: str | None, language: str = "en"):
        self.client = app.test_client(use_cookies=False)
        self.headers = {"Accept-Language": language, **({"Authorization": f"Bearer {token}"} if token else {})}

    def call(self, method: str, url: str, **kw):
        return self.client.open(url, method=method, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def get(self, url, **kw):
        return self.call("GET", url, **kw)

    def post(self, url, json=None, **kw):
        return self.call("POST", url, json=json, **kw)

    def put(self, url, json=None, **kw):
        return self.call("PUT", url, json=json, **kw)

    def patch(self, url, json=None, **kw):
        return self.call("PATCH", url, json=json, **kw)

    def delete(self, url, **kw):
        return self.call("DELETE", url, **kw)


def login(app, username: str, password: str = DEMO_PASSWORD, refresh: bool = False):
    return app.test_client(use_cookies=False).post(LOGIN, json={"username": username, "password": password,
                                                                "provider": "db", "refresh": refresh})


@pytest.fixture
def api(app, db):
    """Return an Api signed in (JWT) as a role's demo account, a username or a user made with make_user."""

    def _api(who, language: str = "en") -> Api:
        if isinstance(who, PortalUser):
            username, password = who.username, TEST_PASSWORD
        else:
            username, password = ROLE_USERS.get(who, who), DEMO_PASSWORD
        response = login(app, username, password)
        assert response.status_code == 200, response.json
        return Api(app, response.json["access_token"], language)

    return _api


def _customer(code: str) -> Customer:
    return Customer.objects(code=code).first()


def _unit(code: str) -> OrgUnit:
    return OrgUnit.objects(code=code).first()


# ---- authentication: JWT only, throttled login, no cookie ----------------------------------------------------------
def test_jwt_login_gives_a_token_that_opens_the_api(api):
    response = api("Clerk").get("/api/v1/customers/")
    assert response.status_code == 200 and response.is_json
    assert response.json["count"] == 4 and {c["code"] for c in response.json["items"]} >= {"KH-2026-0001"}


def test_a_session_cookie_alone_opens_no_read_and_no_write(app, as_role):
    browser = as_role("Admin")
    token = browser.token("/resetmypassword/form")
    customer = _customer("KH-2026-0002")
    before = Customer.objects.count()
    calls = [("GET", "/api/v1/customers/", None), ("GET", f"/api/v1/customers/{customer.pk}", None),
             ("POST", "/api/v1/customers/", {"name": "cookie only", "csrf_token": token}),
             ("PATCH", f"/api/v1/customers/{customer.pk}", {"name": "cookie only", "version": customer.version}),
             ("DELETE", f"/api/v1/customers/{customer.pk}", None), ("GET", "/api/v1/openapi.json", None)]
    for method, url, body in calls:
        response = browser.client.open(url, method=method, json=body, headers={"X-CSRFToken": token})
        assert response.status_code == 401 and response.is_json, (method, url, response.status_code)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert Customer.objects.count() == before and _customer("KH-2026-0002").name == customer.name


def test_missing_forged_refresh_and_deactivated_tokens_are_401(app, api, make_user):
    from flask_jwt_extended import create_access_token

    user = make_user("Clerk")
    tokens = login(app, user.username, TEST_PASSWORD, refresh=True).json
    with app.app_context():
        app.config["JWT_SECRET_KEY"], secret = "another key of at least thirty-two bytes!", app.config.get(
            "JWT_SECRET_KEY")
        forged = create_access_token(identity=str(user.pk))
        app.config["JWT_SECRET_KEY"] = secret
    for token in (None, "garbage", forged, tokens["refresh_token"]):
        response = Api(app, token).get("/api/v1/customers/")
        assert response.status_code == 401 and "message" in response.json, token
    assert Api(app, tokens["access_token"]).get("/api/v1/customers/").status_code == 200
    PortalUser.objects(pk=user.pk).update_one(set__active=False)
    assert Api(app, tokens["access_token"]).get("/api/v1/customers/").status_code == 401  # F1 on the API too


def test_a_password_reset_or_a_logout_ends_the_tokens_as_it_ends_the_sessions__F1(app, api, make_user):
    user = make_user("Clerk")
    tokens = login(app, user.username, TEST_PASSWORD, refresh=True).json
    refreshed = Api(app, tokens["refresh_token"]).post("/api/v1/security/refresh")
    assert refreshed.status_code == 200
    assert Api(app, refreshed.json["access_token"]).get("/api/v1/customers/").status_code == 200
    with app.app_context():
        app.appbuilder.sm.reset_password(str(user.pk), "An0ther-long-passphrase!")
    for token in (tokens["access_token"], refreshed.json["access_token"]):
        assert Api(app, token).get("/api/v1/customers/").status_code == 401
    assert Api(app, tokens["refresh_token"]).post("/api/v1/security/refresh").status_code == 401
    fresh = login(app, user.username, "An0ther-long-passphrase!").json["access_token"]
    assert Api(app, fresh).get("/api/v1/customers/").status_code == 200
    with app.app_context():
        app.appbuilder.sm.end_sessions(PortalUser.objects.get(pk=user.pk))  # what a logout does
    assert Api(app, fresh).get("/api/v1/customers/").status_code == 401


def test_a_user_who_must_choose_their_own_password_gets_403_with_a_message(app, api, make_user):
    user = make_user("Clerk")
    app.appbuilder.sm.require_password_change(user)
    response = api(user).get("/api/v1/customers/")
    assert response.status_code == 403 and "password" in response.json["message"]


# ---- data scope (DOMAIN 1, SECURITY.md 2) --------------------------------------------------------------------------
def test_another_units_record_is_404_on_get_update_and_delete(api):
    customer = _customer("KH-2026-0002")  # 销售部
    clerk = api("service_clerk")  # 客户服务部
    url = f"/api/v1/customers/{customer.pk}"
    assert clerk.get(url).status_code == 404
    assert clerk.put(url, json={"name": "taken", "version": customer.version}).status_code == 404
    assert clerk.patch(url, json={"name": "taken", "version": customer.version}).status_code == 404
    assert clerk.delete(url).status_code == 404
    assert _customer("KH-2026-0002").name == customer.name
    assert api("sales_clerk").get(url).status_code == 200


def test_a_clerk_lists_only_their_units_subtree(api):
    assert api("service_clerk").get("/api/v1/customers/").json["count"] == 0
    assert api("sales_clerk").get("/api/v1/customers/").json["count"] == Customer.objects(
        owner_unit=_unit("BR-SALES")).count()
    budgets = api("sales_clerk").get("/api/v1/budgets/?page_size=100").json["items"]
    assert budgets and {b["owner_unit"] for b in budgets} == {str(_unit("BR-SALES").pk)}


def test_a_record_cannot_be_created_or_moved_outside_the_scope(api):
    clerk = api("sales_clerk")
    body = {"year": 2031, "owner_unit": str(_unit("BR-CS").pk), "kind": "expense", "category": "travel",
            "annual_amount": "1000.00", "quarters": [250, "250", 250.0, "250.00"]}
    response = clerk.post("/api/v1/budgets/", json=body)
    assert response.status_code == 400 and "owner_unit" in response.json["errors"]
    assert not Budget.objects(year=2031).count()
    created = clerk.post("/api/v1/budgets/", json={**body, "owner_unit": str(_unit("BR-SALES").pk)})
    assert created.status_code == 201, created.json
    moved = clerk.patch(f"/api/v1/budgets/{created.json['id']}", json={"owner_unit": str(_unit("BR-CS").pk),
                                                                       "version": created.json["version"]})
    assert moved.status_code == 400 and "owner_unit" in moved.json["errors"]
    assert Budget.objects(pk=created.json["id"]).first().owner_unit.code == "BR-SALES"


# ---- validation: the forms' own, 400 with errors by field, in the user's language -------------------------------
def test_a_customer_without_a_name_is_400_with_the_field_error(api):
    before = Customer.objects.count()
    response = api("Clerk").post("/api/v1/customers/", json={"kind": "company", "source": "other"})
    assert response.status_code == 400 and response.json["errors"]["name"] == ["This field is required."]
    chinese = api("Clerk", language="zh-CN").post("/api/v1/customers/", json={"kind": "company"})
    assert chinese.json["message"] == "请更正以下错误。"
    assert all("\u4e00" <= ch <= "\u9fff" for ch in chinese.json["errors"]["name"][0][:2])  # WTForms' own zh
    assert Customer.objects.count() == before


def test_a_budget_with_a_bad_amount_is_400_and_nothing_is_written(api):
    before = Budget.objects.count()
    body = {"year": 2031, "owner_unit": str(_unit("BR-SALES").pk), "kind": "expense", "category": "travel"}
    for amount, status in (("abc", 400), (True, 400), ("-5", 400), ("1e999", 400), ({"$gt": 0}, 400)):
        response = api("Clerk").post("/api/v1/budgets/", json={**body, "annual_amount": amount})
        assert response.status_code == status and "annual_amount" in response.json["errors"], (amount, response.json)
    assert Budget.objects.count() == before


def test_lines_and_embedded_records_are_validated_cell_by_cell(api):
    body = {"name": "lines", "lines": [{"day": "2026-01-01", "amount": "1"}, {"day": "nope", "amount": "x"}],
            "address": {"city": "c" * 41}}
    response = api("Admin").post("/api/v1/samples/", json=body)
    errors = response.json["errors"]
    assert response.status_code == 400 and {"lines-1-day", "lines-1-amount", "address-city"} <= set(errors)
    assert not Sample.objects(name="lines").count()


def test_malformed_bodies_and_wrong_types_are_400_never_500(api):
    admin = api("Admin")
    url = "/api/v1/samples/"
    assert admin.post(url, data="{not json", content_type="application/json").status_code == 400
    assert admin.post(url, data='{"name": NaN}', content_type="application/json").status_code == 400
    assert admin.post(url, data="[1, 2]", content_type="application/json").status_code == 400
    assert admin.post(url, data="[" * 100000 + "]" * 100000, content_type="application/json").status_code in (
        400, 413)
    assert admin.post(url, data="name=x", content_type="application/x-www-form-urlencoded").status_code == 415
    assert admin.post(url, json={"name": "x" * (1024 * 1024)}).status_code == 413
    for body in ({"name": 5}, {"name": "x", "count": "many"}, {"name": "x", "count": 10**30},
                 {"name": "x", "flag": "yes"}, {"name": "x", "unit": "not-an-id"}, {"name": "x", "tags": "a"},
                 {"name": "x", "lines": {"day": "2026-01-01"}}, {"name": "x", "at": "yesterday"},
                 {"name": "x", "surprise": 1}, {"name": "x", "lines": [{"day": "2026-01-01", "amount": 1, "z": 1}]},
                 {"name": "x", "count": "99999999999999999999999"}, {"name": "x", "count": 2**64},
                 {"name": "x", "at": "9999-12-31T20:00:00Z"}, {"name": "x", "ratio": "1e400"},
                 {"name": "x", "ratio": "NaN"}):
        response = admin.post(url, json=body)
        assert response.status_code == 400 and response.json["errors"], body
    assert not Sample.objects.count()


def test_a_record_with_as_many_lines_as_allowed_can_still_be_updated(api):
    admin = api("Admin")
    lines = [{"day": "2026-01-01", "amount": str(n + 1)} for n in range(200)]
    created = admin.post("/api/v1/samples/", json={"name": "full", "lines": lines})
    assert created.status_code == 201, created.json
    again = admin.patch(f"/api/v1/samples/{created.json['id']}",
                        json={"version": created.json["version"], "lines": lines[:3]})
    assert again.status_code == 200 and len(again.json["lines"]) == 3
    too_many = admin.patch(f"/api/v1/samples/{created.json['id']}",
                           json={"version": again.json["version"], "lines": lines + lines[:1]})
    assert too_many.status_code == 400 and "lines" in too_many.json["errors"]


def test_read_only_columns_sent_back_are_ignored(api):
    admin = api("Admin")
    created = admin.post("/api/v1/samples/", json={"name": "round trip", "amount": 3}).json
    again = admin.put(f"/api/v1/samples/{created['id']}", json={**created, "name": "again"})
    assert again.status_code == 200 and again.json["name"] == "again" and again.json["amount"] == "3.00"


# ---- audit and version (SECURITY.md: integrity) --------------------------------------------------------------------
def test_create_update_delete_through_the_api_leave_audit_entries_naming_the_api_user(api):
    clerk = api("Clerk")
    created = clerk.post("/api/v1/customers/", json={"name": "接口客户", "kind": "company", "source": "other"})
    assert created.status_code == 201, created.json
    record_id = created.json["id"]
    assert created.headers["Location"].endswith(f"/api/v1/customers/{record_id}")
    assert created.json["owner"] == str(PortalUser.objects(username="sales_clerk").first().employee.pk)
    changed = clerk.patch(f"/api/v1/customers/{record_id}", json={"region": "上海", "version": 0})
    assert changed.status_code == 200 and changed.json["region"] == "上海" and changed.json["version"] == 1
    assert clerk.delete(f"/api/v1/customers/{record_id}").status_code == 204
    entries = list(AuditEntry.objects(collection="customers", record_id=record_id).order_by("at"))
    assert [(e.action, e.user) for e in entries] == [("create", "sales_clerk"), ("update", "sales_clerk"),
                                                     ("delete", "sales_clerk")]
    assert {"region"} <= {c.field for c in entries[1].changes}


def test_a_stale_version_is_409_and_a_missing_one_400(api):
    customer = _customer("KH-2026-0003")
    clerk = api("Clerk")
    url = f"/api/v1/customers/{customer.pk}"
    assert clerk.patch(url, json={"region": "杭州"}).status_code == 400
    assert clerk.patch(url, json={"region": "杭州", "version": customer.version}).status_code == 200
    stale = clerk.patch(url, json={"region": "宁波", "version": customer.version})  # the version read before
    assert stale.status_code == 409 and "Someone else changed" in stale.json["message"]
    assert clerk.put(url, json={"name": customer.name, "version": customer.version}).status_code == 409
    assert _customer("KH-2026-0003").region == "杭州"


def test_a_concurrent_save_between_read_and_write_is_409(app, api, monkeypatch):
    from portal import api as service

    customer = _customer("KH-2026-0003")
    original = service._save

    def racing(view, form, item, is_new):  # someone saves the record after the API read it
        Customer.objects(pk=item.pk).update_one(inc__version=1)
        return original(view, form, item, is_new)

    monkeypatch.setattr(service, "_save", racing)
    response = api("Clerk").patch(f"/api/v1/customers/{customer.pk}", json={"region": "x",
                                                                          "version": customer.version})
    assert response.status_code == 409


def test_delete_refused_by_the_views_rule_is_422(api):
    from models.agents import AgentTier

    tier = AgentTier.objects.first()
    assert Product.objects(tier_prices__tier=tier.pk).first() is not None  # products have prices for it
    response = api("HR").delete(f"/api/v1/agent-tiers/{tier.pk}")
    assert response.status_code == 422 and AgentTier.objects(pk=tier.pk).count() == 1


# ---- permissions and field scope -----------------------------------------------------------------------------------
def test_an_employee_cannot_create_what_the_ui_does_not_let_them_add__403(api):
    before = Product.objects.count()
    employee = api("Employee")
    response = employee.post("/api/v1/products/", json={"code": "X-1", "name": "x"})
    assert response.status_code == 403 and response.is_json
    assert Product.objects.count() == before
    assert employee.get("/api/v1/products/").status_code == 200  # reading the range is allowed
    assert employee.get("/api/v1/compensation-profiles/").status_code == 403


def test_contacts_stay_masked_in_the_api__DSC_7_1_2(api):
    customer = _customer("KH-2026-0001")
    shown = api("Finance").get(f"/api/v1/customers/{customer.pk}").json["contacts"][0]
    assert shown["phone"] != "13812345678" and "*" in shown["phone"] and "*" in shown["email"]
    listed = next(c for c in api("Finance").get("/api/v1/customers/").json["items"] if c["code"] == "KH-2026-0001")
    assert "13812345678" not in str(listed)
    assert api("Employee").get(f"/api/v1/customers/{customer.pk}").json["contacts"][0]["phone"] == "13812345678"


def test_a_masked_contact_left_as_read_keeps_the_stored_value(api):
    customer = _customer("KH-2026-0001")
    head = api("Clerk")  # sales_clerk: not the owner, not a head: sees the contacts masked
    read = head.get(f"/api/v1/customers/{customer.pk}").json
    assert "*" in read["contacts"][0]["phone"]
    response = head.patch(f"/api/v1/customers/{customer.pk}", json={"contacts": read["contacts"],
                                                                    "needs": "更多", "version": read["version"]})
    assert response.status_code == 200, response.json
    stored = _customer("KH-2026-0001")
    assert stored.contacts[0].phone == "13812345678" and stored.needs == "更多"


def test_an_awards_bonus_is_shown_only_to_those_who_may_read_it__SOC_5_2(api):
    awards = api("service_clerk").get("/api/v1/awards/").json["items"]
    by_title = {a["title"]: a for a in awards}
    assert all("bonus" not in a for a in awards)
    assert by_title["sales_champion"]["bonus_shown"] is None  # someone else's
    assert by_title["service_star"]["bonus_shown"] == "2000.00"  # their own
    assert {a["bonus_shown"] for a in api("HR").get("/api/v1/awards/").json["items"]} >= {"5000.00", "2000.00"}


# ---- filters and sorting: typed, allow-listed (SECURITY.md F3, F10) -------------------------------------------------
@pytest.fixture
def samples(db):
    sales, service = _unit("BR-SALES"), _unit("BR-CS")
    rows = [("alpha", "junior", "10.00", dt.date(2026, 1, 5), True, 1, ["red"], sales),
            ("beta", "senior", "20.50", dt.date(2026, 2, 5), False, 2, ["blue"], service),
            ("Gamma", "senior", "30.00", dt.date(2026, 3, 5), False, 3, ["red", "blue"], sales)]
    return [Sample(name=n, level=lv, amount=Decimal(a), day=d, flag=f, count=c, tags=t, unit=u, owner_unit=sales,
                   at=dt.datetime(2026, 1, c, 12)).save() for n, lv, a, d, f, c, t, u in rows]


@pytest.mark.parametrize(("query", "names"), [
    ("name=alpha", ["alpha"]),
    ("name__contains=AM", ["Gamma"]),
    ("level=senior", ["beta", "Gamma"]),
    ("amount__gte=20.5", ["beta", "Gamma"]),
    ("amount__lt=20.5", ["alpha"]),
    ("day__gt=2026-02-05", ["Gamma"]),
    ("day=2026-02-05", ["beta"]),
    ("at__lte=2026-01-02T12:00:00Z", ["alpha", "beta"]),
    ("flag=true", ["alpha"]),
    ("count__gte=2&level=senior", ["beta", "Gamma"]),
    ("tags=red", ["alpha", "Gamma"]),
    ("sort=amount&order=desc", ["Gamma", "beta", "alpha"]),
    ("sort=name&order=asc&page_size=1&page=2", ["alpha"]),
])
def test_typed_filters_and_sorting_on_allowed_fields(api, samples, query, names):
    response = api("Admin").get(f"/api/v1/samples/?{query}")
    assert response.status_code == 200, response.json
    got = [r["name"] for r in response.json["items"]]
    assert (got if "sort=" in query else sorted(got)) == (names if "sort=" in query else sorted(names))


def test_a_reference_filter_takes_an_id(api, samples):
    unit = _unit("BR-CS")
    assert [r["name"] for r in api("Admin").get(f"/api/v1/samples/?unit={unit.pk}").json["items"]] == ["beta"]


@pytest.mark.parametrize("query", [
    "secret=x", "sort=secret", "sort=level", "order=asc", "sort=name&order=sideways", "email=a@b.c",
    "level=boss", "amount__gte=lots", "amount__gte=1e999999999", "day=31/31/31", "flag=perhaps", "unit=nope",
    "count__gte=1.5", "name__regex=.*", "name=a&name=b", "page=0", "page=abc", "page_size=0", "page_size=-1",
    "name[$ne]=x", "$where=1",
])
def test_filters_and_sorts_not_allowed_are_400(api, samples, query):
    response = api("Admin").get(f"/api/v1/samples/?{query}")
    assert response.status_code == 400 and response.is_json and response.json["message"]


def test_operator_injection_in_a_filter_or_a_body_has_no_effect__F10(api, samples):
    admin = api("Admin")
    assert admin.get('/api/v1/samples/?name={"$ne": null}').json["count"] == 0  # a text like any other
    assert admin.get("/api/v1/samples/?name__contains=.*").json["count"] == 0  # regex characters are escaped
    response = admin.patch(f"/api/v1/samples/{samples[0].pk}", json={"name": {"$ne": None}, "version": 0})
    assert response.status_code == 400 and "name" in response.json["errors"]
    response = admin.post("/api/v1/samples/", json={"name": "x", "owner_unit": {"$ne": None}})
    assert response.status_code == 400 and "owner_unit" in response.json["errors"]
    assert Sample.objects(name="alpha").count() == 1 and Sample.objects.count() == 3


def test_page_size_is_capped(api, samples):
    response = api("Admin").get("/api/v1/samples/?page_size=5000")
    assert response.status_code == 200 and response.json["page_size"] == 100


def test_list_round_trips_do_not_grow_with_the_data(api, counter, db):
    sales = _unit("BR-SALES")
    clerk = api("Clerk")

    def measured() -> int:
        counter.reset()
        assert clerk.get("/api/v1/budgets/?page_size=100").status_code == 200
        return data_round_trips(counter)

    def add(n, start):
        for i in range(n):
            Budget(year=2040 + (start + i) // 14, owner_unit=sales, kind="expense", category=[
                c[0] for c in Budget.category.choices][(start + i) % 14], annual_amount=Decimal(100),
                   quarters=[Decimal(25)] * 4).save()

    add(5, 0)
    small = measured()
    add(45, 5)
    assert measured() == small
    admin = api("Admin")
    counter.reset()
    assert admin.get("/api/v1/customers/").status_code == 200
    assert data_round_trips(counter) <= 6


# ---- errors are JSON; unknown resources, methods not offered -------------------------------------------------------
def test_errors_are_json_for_unknown_resources_ids_and_methods(api):
    admin = api("Admin")
    assert admin.get("/api/v1/no-such-thing/").status_code == 404
    assert admin.get("/api/v1/customers/not-an-id").status_code == 404
    assert admin.get(f"/api/v1/customers/{ZERO}").status_code == 404
    assert admin.get("/api/v1/customers/" + "f" * 25).status_code == 404
    entry = AuditEntry.objects.first()
    for method, url in (("POST", "/api/v1/audit-log/"), ("DELETE", f"/api/v1/audit-log/{entry.pk}"),
                        ("PATCH", f"/api/v1/audit-log/{entry.pk}"), ("PUT", "/api/v1/customers/")):
        response = admin.call(method, url, json={})
        assert response.status_code == 405 and response.is_json, (method, url)
    assert AuditEntry.objects(pk=entry.pk).count() == 1


def test_the_security_views_have_no_resource(api):
    admin = api("Admin")
    for name in ("user", "users", "role", "roles", "group", "groups"):
        assert admin.get(f"/api/v1/{name}/").status_code == 404


# ---- role x resource x method, with tokens ----------------------------------------------------------------------
def _granted(app, role: str) -> set:
    granted = role_permissions(app.appbuilder, role)
    if role not in ("Admin", "Employee"):  # every demo account but admin also holds Employee
        granted |= role_permissions(app.appbuilder, "Employee")
    return granted


@pytest.mark.parametrize("role", PORTAL_ROLES)
def test_role_resource_method_matrix_with_tokens(app, api, role):
    from portal.api import resources

    with app.test_request_context():
        found = resources()
    client, granted = api(role), _granted(app, role)
    wrong = []
    for name, resource in sorted(found.items()):
        view = resource.view
        for operation, method, url, body in (("list", "GET", f"/api/v1/{name}/", None),
                                             ("add", "POST", f"/api/v1/{name}/", {}),
                                             ("show", "GET", f"/api/v1/{name}/{ZERO}", None),
                                             ("edit", "PATCH", f"/api/v1/{name}/{ZERO}", {}),
                                             ("delete", "DELETE", f"/api/v1/{name}/{ZERO}", None)):
            status = client.call(method, url, json=body).status_code
            if operation not in resource.operations:
                expected = {405}
            elif role == "Admin" or (resource.permission(operation), view.class_permission_name) in granted:
                expected = {200} if operation == "list" else {400, 201} if operation == "add" else {404}
            else:
                expected = {403}
            if status not in expected:
                wrong.append((name, method, status, sorted(expected)))
    assert not wrong, wrong


# ---- the OpenAPI document --------------------------------------------------------------------------------------------
def test_the_openapi_document_describes_every_resource_and_every_answer(app, api):
    from portal.api import resources

    assert Api(app, None).get("/api/v1/openapi.json").status_code == 401
    doc = api("Clerk").get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.0") and doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    with app.test_request_context():
        found = resources()
    for name, resource in found.items():
        assert ("list" in resource.operations) == ("get" in doc["paths"].get(f"/api/v1/{name}/", {})), name
        assert ("delete" in resource.operations) == ("delete" in doc["paths"].get(f"/api/v1/{name}/{{id}}", {}))
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or path == LOGIN:
                continue
            codes = set(operation["responses"])
            assert {"400", "401", "403"} <= codes, (path, method)
            assert ("404" in codes) == ("{id}" in path), (path, method)
            if method in ("put", "patch"):
                assert {"409", "413", "415"} <= codes
    sample = doc["components"]["schemas"]["SamplesInput"]["properties"]
    assert sample["level"]["enum"] == ["junior", "senior"] and sample["name"]["maxLength"] == 40
    assert sample["day"]["format"] == "date" and sample["at"]["format"] == "date-time"
    assert sample["unit"]["pattern"] == "^[0-9a-fA-F]{24}$" and sample["lines"]["items"]["required"] == ["day",
                                                                                                         "amount"]
    assert "name" in doc["components"]["schemas"]["SamplesInput"]["required"]
    assert "version" in doc["components"]["schemas"]["SamplesPatch"]["required"]
    assert "secret" not in doc["components"]["schemas"]["Samples"]["properties"]
    parameters = {p["name"] for p in doc["paths"]["/api/v1/samples/"]["get"]["parameters"]}
    assert {"name", "name__contains", "amount__gte", "day__lt", "flag", "unit", "sort", "order"} <= parameters
    assert "secret" not in parameters and "email" not in parameters


def test_the_browser_login_still_works_next_to_the_api(app, db):
    browser = Browser(app)
    assert browser.login("sales_clerk").status_code == 302
    assert browser.get("/customers/list/").status_code == 200
