"""What `portal bench` visits, and as whom (PERFORMANCE.md "The benchmark", step 2).

Every registered list page (users, roles and groups included); the show page of one record of a handful of views (a
record of the demo itself, so the same one at every scale) and one person's training record; every other page of the
menu without parameters (the approval inbox, the appraisal and training boards, the self-service pages, ...); every
dashboard of portal.reports; the home page of each role; the approve action on a claim (its first step) and on a
leave request (its only step), each time on a new request; one CSV export and one page of the JSON API with a JWT.
Each is visited by the demo account of the first role of ROLE_ORDER that may open it (ROLES names the role that works
with a page where that is another one). A page that no role opens is returned apart: the bench fails on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

ROLE_USERS = {"Clerk": "sales_clerk", "DeptHead": "sales_head", "HR": "hr", "Finance": "finance", "Legal": "legal",
              "Auditor": "auditor", "Employee": "sales_rep", "Admin": "admin"}
ROLE_ORDER = tuple(ROLE_USERS)  # who visits a page: the first of these that may open it
TRAINING_RECORD = "/training-board/employee/<pk>"  # one person's training record, as HR (the demo's sales_rep)
SELF_SERVICE_ORDER = ("Employee", *ROLE_ORDER[:-2], "Admin")  # "my ..." pages
ROLES = {"/approvals/inbox/": ("DeptHead",), "/notifications/": ("DeptHead",), "/appraisal-team/": ("DeptHead",),
         "/appraisal-review/": ("DeptHead",), "/appraisal-board/": ("HR",), "/training-board/": ("HR",),
         TRAINING_RECORD: ("HR",), "/receivables/aging/": ("Finance",),
         "/remittances/balances/": ("Finance",), "/users/userinfo/": ("Employee",)}
SHOW_VIEWS = ("CustomerView", "SalesOrderView", "EmployeeView", "ExpenseClaimView", "ComplaintView",
              "ReceivableView", "ContractView", "AppraisalView")
SKIPPED_ENDPOINTS = {"UtilView.back", "AuthDBView.login", "AuthDBView.logout", "health", "LocaleView.index",
                     "PortalResetPasswordView.this_form_get", "PortalResetMyPasswordView.this_form_get",
                     "UserInfoEditView.this_form_get",
                     "TrainingBoardView.person"}  # the board's search form: a redirect to a record, visited as such
KINDS = {"/approvals/inbox/": "inbox", "/appraisals/mine/": "my_appraisals", "/appraisal-team/": "board",
         "/appraisal-review/": "board", "/appraisal-board/": "board", "/training-board/": "board",
         TRAINING_RECORD: "board"}  # the budgets file's page kinds; any other page is "page"
BARE = {"/approvals": "approval_requests", "/notifications": "notifications", "/appraisal-": "appraisals",
        "/training-board": "training_assessments", "/reports": "sales_orders", "/sales-analysis": "sales_orders",
        "/import": "import_jobs", "/regulations": "regulations"}  # what a page without a model view mostly reads
APPROVED = ("ExpenseClaim", "LeaveRequest")
EXPORT_URL, EXPORT_VIEW, API_URL = "/orders/export/csv/", "SalesOrderView", "/api/v1/customers/"
EMPTY_LIST = b"No records found"  # FAB's list widget, in English (the bench's locale)
_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


class BenchError(Exception):
    """The bench cannot run as asked (a database it did not make, an unknown profile); the message says why."""


@dataclass
class Page:
    """One thing the bench does: a request as a role, the status it must answer, and what it is compared with."""

    kind: str
    key: str  # names the page in the table and in the budgets file
    url: str
    role: str
    collection: str  # the bare read it is compared with
    expected: int = 200
    view: object = None  # the list's (or export's) view, for its budget
    prepare: Callable | None = None  # a POST: returns (url, form) for a fresh target each time
    headers: dict = field(default_factory=dict)  # a request without the session cookie (the API's JWT)


class Visitor:
    """A test client signed in through the login form as a demo account."""

    def __init__(self, app, username: str, password: str):
        self.app = app
        self.client = app.test_client()
        self.username, self.password = username, password
        token = self.token("/login/")
        response = self.client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
        if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
            raise BenchError(f"{username} could not sign in ({response.status_code})")

    def token(self, url: str) -> str:
        match = _CSRF.search(self.client.get(url).data)
        if not match:
            raise BenchError(f"no CSRF token on {url}")
        return match.group(1).decode()

    def request(self, page: Page, form: tuple | None = None):
        if form is not None:
            return self.client.post(form[0], data=form[1])
        if page.headers:
            return self.app.test_client(use_cookies=False).get(page.url, headers=page.headers)
        return self.client.get(page.url)


def collection_of(view) -> str | None:
    datamodel = getattr(view, "datamodel", None)
    return datamodel.obj._get_collection_name() if datamodel is not None else None


def _role_for(visitors: dict, url: str, order=ROLE_ORDER, rows: bool = False) -> str | None:
    """The first role of `order` that may open the page; with `rows`, the first whose list is not empty (else the
    first that may open it), so that no list is measured empty."""
    denials = logging.getLogger("flask_appbuilder.security.decorators")  # each refused try logs a warning
    level = denials.level
    denials.setLevel(logging.ERROR)
    opened = None
    try:
        for role in order:
            response = visitors[role].client.get(url)
            if response.status_code == 200:
                if not rows or EMPTY_LIST not in response.data:
                    return role
                opened = opened or role
        return opened
    finally:
        denials.setLevel(level)


def plan(app, visitors: dict, page_size: int, demo_ids: dict, only: str | None = None) -> tuple[list[Page], list[str]]:
    """Every page the bench visits, with its role, and the pages no role could open. The approvals come first: what
    they change (the head's inbox, Finance's) is then the same for every page after them, at every scale. `only`:
    just the pages whose key contains it (a quicker run while working on one page)."""
    def wanted(key: str) -> bool:
        return only is None or only in key

    views = {type(v).__name__: v for v in app.appbuilder.baseviews}
    unopened: list[str] = []
    pages = [Page("approve", f"/approvals/request/<id>/approve ({document})", "", "DeptHead", "approval_requests",
                  expected=302, prepare=_next_approval(visitors["DeptHead"], document)) for document in APPROVED]
    pages += _lists(views, visitors, page_size, wanted, unopened) + _shows(views, visitors, demo_ids, wanted, unopened)
    pages += _menu_pages(app, views, visitors, wanted, unopened) + _dashboards(views, visitors, wanted, unopened)
    pages += [Page("home", f"/ ({role})", "/", role, "notifications") for role in ROLE_ORDER]  # what each must act on
    pages.append(Page("export", EXPORT_URL, EXPORT_URL, "Clerk", "sales_orders", view=views.get(EXPORT_VIEW)))
    if wanted(API_URL):
        pages.append(Page("api", API_URL, API_URL, "Clerk", "customers", headers=_jwt(app, visitors["Clerk"])))
    return [p for p in pages if wanted(p.key)], unopened


def _lists(views: dict, visitors: dict, page_size: int, wanted: Callable, unopened: list) -> list[Page]:
    from flask_appbuilder import ModelView

    pages = []
    for view in sorted((v for v in views.values() if isinstance(v, ModelView)), key=lambda v: v.route_base):
        key = f"{view.route_base}/list/"
        if not wanted(key):
            continue
        url = f"{key}?psize_{type(view).__name__}={page_size}"
        role = _role_for(visitors, url, rows=True)
        if role is None:
            unopened.append(key)
        else:
            pages.append(Page("list", key, url, role, collection_of(view), view=view))
    return pages


def _shows(views: dict, visitors: dict, demo_ids: dict, wanted: Callable, unopened: list) -> list[Page]:
    """A record of each of SHOW_VIEWS, and a person's training record (the demo's sales rep, who has one)."""
    pages = []
    for name in SHOW_VIEWS:
        view = views.get(name)
        key = f"{view.route_base}/show/<pk>" if view is not None else name
        if not wanted(key):
            continue
        collection = collection_of(view) if view is not None else None
        for pk in demo_ids.get(collection, ())[:5]:
            url = f"{view.route_base}/show/{pk}"
            role = _role_for(visitors, url)
            if role is not None:
                pages.append(Page("show", key, url, role, collection))
                break
        else:
            unopened.append(key)
    if wanted(TRAINING_RECORD):
        from models.org import Employee

        person = Employee.objects(employee_no="E0011").only("id").first()  # sales_rep, trained in the demo
        url = TRAINING_RECORD.replace("<pk>", str(person.pk)) if person is not None else TRAINING_RECORD
        role = _role_for(visitors, url, ROLES[TRAINING_RECORD] + ROLE_ORDER) if person is not None else None
        if role is None:
            unopened.append(TRAINING_RECORD)
        else:
            pages.append(Page(KINDS[TRAINING_RECORD], TRAINING_RECORD, url, role, "training_assessments"))
    return pages


def _menu_pages(app, views: dict, visitors: dict, wanted: Callable, unopened: list) -> list[Page]:
    """Every other page without parameters that a registered view answers (not its list, add form or API)."""
    pages = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.arguments or "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS or rule.rule == "/":
            continue
        owner = views.get(rule.endpoint.split(".")[0])
        if owner is None or rule.rule.endswith(("/list/", "/add")) or "/api/" in rule.rule or not wanted(rule.rule):
            continue
        order = ROLES.get(rule.rule, ()) + (SELF_SERVICE_ORDER if rule.rule.endswith("/mine/") else ROLE_ORDER)
        role = _role_for(visitors, rule.rule, order)
        if role is None:
            unopened.append(rule.rule)
        else:
            bare = collection_of(owner) or next((c for p, c in BARE.items() if rule.rule.startswith(p)), "employees")
            pages.append(Page(KINDS.get(rule.rule, "page"), rule.rule, rule.rule, role, bare))
    return pages


def _dashboards(views: dict, visitors: dict, wanted: Callable, unopened: list) -> list[Page]:
    from portal import reports

    pages = []
    by_permission = {getattr(v, "class_permission_name", None): v for v in views.values()}
    for key, board in reports.DASHBOARDS.items():
        url = f"/reports/{key}/"
        if not wanted(url):
            continue
        role = _role_for(visitors, url)
        if role is None:
            unopened.append(url)
        else:
            first = next((collection_of(by_permission[s]) for s in board.scopes if s in by_permission), None)
            pages.append(Page("dashboard", url, url, role, first or "sales_orders"))
    return pages


def _next_approval(visitor: Visitor, document: str) -> Callable:
    """Each call: the oldest request of this kind waiting at its first step for the sales head, and the CSRF token
    read from its page, as the form to POST."""

    def prepare() -> tuple[str, dict]:
        from models.approvals import ApprovalRequest
        from models.org import Employee

        head = Employee.objects(employee_no="E0003").only("id").first()
        waiting = ApprovalRequest._get_collection().find_one(
            {"state": "pending", "current_approver": head.pk, "document": document, "round": 1, "current": 0},
            {"_id": 1}, sort=[("_id", 1)])
        if waiting is None:
            raise BenchError(f"no {document} is waiting for sales_head any more: seed more (bench_seed)")
        url = f"/approvals/request/{waiting['_id']}"
        return f"{url}/approve", {"comment": "同意", "csrf_token": visitor.token(url)}

    return prepare


def _jwt(app, visitor: Visitor) -> dict:
    response = app.test_client(use_cookies=False).post(
        "/api/v1/security/login", json={"username": visitor.username, "password": visitor.password,
                                         "provider": "db", "refresh": False})
    if response.status_code != 200:
        raise BenchError(f"the API login failed ({response.status_code})")
    return {"Authorization": f"Bearer {response.json['access_token']}"}
