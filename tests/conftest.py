"""Fixtures: one app per test session (mongomock, or PORTAL_TEST_MONGODB_URI), clients signed in as any role."""

from __future__ import annotations

import os
import re

import pytest

from portal.config import TestConfig
from tests.browser import chrome, live_server, web  # noqa: F401  (the browser test kit, tests/browser.py)

DEMO_PASSWORD = TestConfig.DEMO_PASSWORD
ROLE_USERS = {  # a demo account for each role
    "Admin": "admin", "DeptHead": "sales_head", "Clerk": "sales_clerk", "HR": "hr", "Finance": "finance",
    "Legal": "legal", "Employee": "sales_rep", "Auditor": "auditor",
}
_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str = "/login/") -> str:
    match = _CSRF.search(client.get(url).data)
    assert match, f"no CSRF token on {url}"
    return match.group(1).decode()


@pytest.fixture(scope="session")
def app():
    from portal import create_app
    from tests.sample import SampleUnitsView, SampleView

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # each worker its own database on a shared server
    application = create_app(TestConfig, **({"MONGODB_DB": f"{TestConfig.MONGODB_DB}_{worker}"} if worker else {}))
    application.appbuilder.add_view(SampleView, "Sample", category="Tests")  # before the first request
    application.appbuilder.add_view(SampleUnitsView, "Sample units", category="Tests")
    yield application


# Collections the db fixture leaves alone: permissions and menu, the append-only log, the number series.
UNTOUCHED = {"permission", "permission_view", "view_menu", "role", "group", "register_user", "audit_log", "counters"}


def _documents():
    """One Document class per collection the portal stores business data in."""
    from mongoengine.base import _document_registry

    found = {}
    for document in _document_registry.values():
        meta = getattr(document, "_meta", {})
        if meta.get("abstract") or not getattr(document, "_is_document", False):
            continue
        name = document._get_collection_name()
        if name and name not in UNTOUCHED:
            found.setdefault(name, document)
    return list(found.values())


@pytest.fixture
def db(app):
    """Give a test the database; afterwards remove what it added and put back the reference rows it may change
    (routes, settings, units, stock, products, tiers, customers, employees, regulations)."""
    from models.agents import AgentTier
    from models.approvals import ApprovalRoute
    from models.customers import Customer
    from models.org import Employee, OrgUnit
    from models.products import Product, StockItem
    from models.regulations import Regulation
    from models.settings import Setting

    kept_whole = (ApprovalRoute, Setting, StockItem, Product, AgentTier, Customer, Employee, Regulation)
    added = [d for d in _documents() if d not in kept_whole]
    before = {doc: set(doc._get_collection().distinct("_id")) for doc in added}
    kept = {doc: list(doc._get_collection().find()) for doc in kept_whole}
    units = {u["_id"]: u for u in OrgUnit._get_collection().find()}
    yield
    for document in added:
        document._get_collection().delete_many({"_id": {"$nin": list(before[document])}})
    for document, rows in kept.items():
        document._get_collection().delete_many({})
        if rows:
            document._get_collection().insert_many(rows)
    for unit_id, unit in units.items():  # tests move heads around
        OrgUnit._get_collection().replace_one({"_id": unit_id}, unit)


SECURITY = {"user", "role", "permission_view", "permission", "view_menu", "group"}  # permissions and menu


@pytest.fixture
def throttled(app):
    """Lower the per-IP login limit for one test, with a clean limiter."""
    limiter = app.appbuilder.sm.limiter
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    yield
    app.config["LOGIN_RATE_LIMIT"] = "100000 per minute"
    limiter.reset()


@pytest.fixture
def counter(app, monkeypatch):
    """Round-trips to the embedded store, by collection (PERFORMANCE.md). The process's timed memories (the
    navbar's delegations, the clause titles) last the whole test, so a slow machine cannot add a refresh to one of
    two measurements."""
    from portal import registry
    from portal.perf import MongomockCounter
    from views import approvals as approval_views

    monkeypatch.setattr(approval_views, "DELEGATORS_TTL", 10**9)
    monkeypatch.setattr(registry, "_TTL_SECONDS", 10**9)
    if app.config["PORTAL_STORE"] != "embedded":
        pytest.skip("the mongomock counter measures the embedded store; `portal bench` measures a server")
    rt = MongomockCounter().install()
    yield rt
    rt.uninstall()


def data_round_trips(counter) -> int:
    """Round-trips outside permissions and menu."""
    return sum(n for coll, n in counter.by_collection().items() if coll not in SECURITY)


def list_budget(app, url: str, role: str) -> int:
    """The most data round-trips a list page may cost (PERFORMANCE.md): count and page, one query per reference
    column and per small select of the search form, the Clerk's scope (my unit, the units below), the navbar."""
    view = next(v for v in app.appbuilder.baseviews if getattr(v, "route_base", "") == url.rsplit("/", 2)[0])
    references = sum(1 for c in view.list_columns if view.datamodel.is_relation(c))
    selects = sum(1 for c in view.search_columns if view.datamodel.is_relation(c)
                  and not view.datamodel.is_lookup_relation(c))
    return 2 + references + selects + (2 if role == "Clerk" else 0) + 2


class Browser:
    """A test client that signs in through the login form, with CSRF on, as a person would."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def login(self, username: str, password: str = DEMO_PASSWORD):
        token = csrf_token(self.client, "/login/")
        return self.client.post("/login/", data={"username": username, "password": password, "csrf_token": token})

    def token(self, url: str) -> str:
        return csrf_token(self.client, url)

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, data=None, **kw):
        return self.client.post(url, data=data or {}, **kw)

    def post_form(self, url: str, data: dict, form_url: str | None = None, **kw):
        """POST a form with the CSRF token taken from the page that shows it."""
        return self.client.post(url, data={**data, "csrf_token": self.token(form_url or url)}, **kw)


@pytest.fixture
def browser(app, db):
    return Browser(app)


@pytest.fixture
def as_role(app, db):
    """Return a signed-in Browser for a role name (or a username)."""

    def _as(role_or_user: str) -> Browser:
        b = Browser(app)
        response = b.login(ROLE_USERS.get(role_or_user, role_or_user))
        assert response.status_code == 302 and "/login" not in response.headers["Location"], "login failed"
        return b

    return _as


TEST_PASSWORD = "correct horse battery"
_counter = {"n": 0}


def _next(prefix: str) -> str:
    _counter["n"] += 1
    return f"{prefix}{_counter['n']:05d}"


@pytest.fixture
def make_unit(db):
    """Return a factory that saves an OrgUnit; override any field by keyword."""
    from models.org import OrgUnit

    def _make(parent=None, **fields):
        code = fields.pop("code", _next("T-U"))
        return OrgUnit(code=code, name=fields.pop("name", f"测试部门 {code}"), kind=fields.pop("kind", "department"),
                       parent=parent, **fields).save()

    return _make


@pytest.fixture
def make_employee(db):
    """Return a factory that saves an Employee in a unit."""
    from models.org import Employee

    def _make(unit, **fields):
        number = fields.pop("employee_no", _next("T"))
        return Employee(employee_no=number, name=fields.pop("name", f"测试员工{number}"), owner_unit=unit,
                        status="active", **fields).save()

    return _make


@pytest.fixture
def make_user(app, db):
    """Return a factory that creates a login holding `roles`, linked to `employee`, with TEST_PASSWORD."""
    from models.users import PortalUser

    def _make(*roles, employee=None, username=None, password=TEST_PASSWORD):
        sm = app.appbuilder.sm
        name = username or _next("user")
        user = sm.add_user(name, "Test", "User", f"{name}@example.test", [sm.find_role(r) for r in roles], password)
        assert user, "add_user failed"
        if employee is not None:
            PortalUser.objects(pk=user.pk).update_one(set__employee=employee)
        return PortalUser.objects(pk=user.pk).first()

    return _make


@pytest.fixture
def signed_in(app, db):
    """Return a Browser signed in as the given user object (made with make_user)."""

    def _signed_in(user, password=TEST_PASSWORD) -> Browser:
        b = Browser(app)
        response = b.login(user.username, password)
        assert response.status_code == 302 and "/login" not in response.headers["Location"]
        return b

    return _signed_in
