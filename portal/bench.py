"""`portal bench` (PERFORMANCE.md "The benchmark"; issue 10 item 2): seed a profile, visit every main page as the role
that uses it, measure, and hold each page to its budget.

1. A data set of the profile (portal.bench_seed) goes into a database of its own: a fresh embedded store, or, with
   MONGODB_URI, the database `<name>_bench` on that server, which the bench creates, marks and drops (it refuses a
   database of that name that it did not make).
2. The pages of portal.bench_pages are visited through the Flask test client, as the demo account of their role:
   once to warm the session, then `repeat` times measured.
3. Per page: database round-trips (the mongomock counter, or pymongo's command listener on a server), documents
   built, HTML bytes, p50 and p95 of the visits, and the ratio of the page's time to a bare pymongo read of the same
   collection (a page of rows, or one row for a record's page) measured right after each visit. Round-trips and
   documents are split into permissions and menu, and data.
4. portal.bench_budget checks the budgets. With `scale` > 1 the data set then grows to `scale` times as many worlds
   and every page is visited again: its data round-trips must not change. On a server every distinct query the
   visits sent is explained (portal.bench_explain).

The result is a `Report`; the command prints its table and exits 1 when a page is over budget, answers another
status than expected, grows with the data or has a bad plan.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from portal import bench_budget, bench_pages, bench_seed
from portal.bench_pages import BenchError, Page, Visitor
from portal.perf import DocCounter, MongomockCounter

__all__ = ["BenchError", "Report", "run", "table", "write_json"]

SECURITY = frozenset({"role", "permission_view", "permission", "view_menu", "group", "register_user"})
SECURITY_DOCUMENTS = frozenset({"PortalUser", "User", "Role", "Permission", "PermissionView", "ViewMenu", "Group",
                                "RegisterUser"})
SIZED = ("org_units", "employees", "customers", "sales_orders", "approval_requests", "receivables", "complaints",
         "appraisals", "training_assessments", "budgets", "audit_log", "notifications")
MARKER = {"_id": "portal bench"}


@dataclass
class Measure:
    """What one page cost: the most over its visits for the counts, each visit's time and its bare read's."""

    page: Page
    status: int | None = None
    security_round_trips: int = 0
    data_round_trips: int = 0
    security_documents: int = 0
    documents: int = 0
    html_bytes: int = 0
    rows: int = 0  # table rows shown (<tr>); an export's lines
    select_rows: int = 0  # a list's search form: the rows of its small selects
    times: list = field(default_factory=list)
    bare_times: list = field(default_factory=list)
    by_collection: dict = field(default_factory=dict)
    status_at_scale: int | None = None
    data_round_trips_at_scale: int | None = None
    documents_at_scale: int | None = None
    select_rows_at_scale: int | None = None
    by_collection_at_scale: dict | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.times) if self.times else 0.0

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else 0.0

    @property
    def ratio(self) -> float:
        bare = statistics.median(self.bare_times) if self.bare_times else 0.0
        return self.p50 / bare if bare else 0.0

    def as_dict(self) -> dict:
        names = ("status", "security_round_trips", "data_round_trips", "security_documents", "documents",
                 "html_bytes", "rows", "select_rows", "status_at_scale", "data_round_trips_at_scale",
                 "documents_at_scale", "select_rows_at_scale", "by_collection", "by_collection_at_scale")
        return {"kind": self.page.kind, "page": self.page.key, "url": self.page.url, "role": self.page.role,
                "expected": self.page.expected, "round_trips": self.security_round_trips + self.data_round_trips,
                **{name: getattr(self, name) for name in names}, "p50_ms": round(self.p50 * 1000, 2),
                "p95_ms": round(self.p95 * 1000, 2), "bare_collection": self.page.collection,
                "ratio": round(self.ratio, 1)}


@dataclass
class Report:
    """A whole run: the data set, every page's measure, and what failed."""

    profile: str
    store: str
    scale: int
    repeat: int
    page_size: int
    budgets: dict
    sizes: dict = field(default_factory=dict)
    sizes_at_scale: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    plans: list[dict] | None = None  # explain, on a server

    def as_dict(self) -> dict:
        return {"profile": self.profile, "store": self.store, "scale": self.scale, "repeat": self.repeat,
                "page_size": self.page_size, "sizes": self.sizes, "sizes_at_scale": self.sizes_at_scale,
                "seconds": self.seconds, "pages": [m.as_dict() for m in self.measures], "plans": self.plans,
                "failures": self.failures}


# ---- measuring -----------------------------------------------------------------------------------------------------
class Meter:
    """Round-trips (mongomock counter or command listener) and documents built (DocCounter) around one request; on a
    server also the query log for explain, open only while a page is being answered."""

    def __init__(self, counter=None, log=None):
        self.embedded = counter is None
        self.trips = MongomockCounter().install() if self.embedded else counter
        self.documents = DocCounter().install()
        self.log = log

    def start(self) -> None:
        self.trips.reset()
        self.documents.reset()
        if self.log is not None:
            self.log.enabled = True

    def stop(self, lists_security: bool = False) -> tuple[int, int, int, int, dict]:
        """(permission and menu round-trips, data round-trips, their documents, by collection) since start().

        `lists_security`: the page lists users, roles or groups (Admin's pages). Its permissions and menu are then
        what they are on any page, the signed-in user and their roles read once and the user built once; every
        other read and document of those collections is the list's data."""
        if self.log is not None:
            self.log.enabled = False
        by_collection: dict = {}
        for (collection, _op), n in self.trips.by_key().items():
            by_collection[collection] = by_collection.get(collection, 0) + n
        # the signed-in user is read once with the permissions; other reads of `user` (who holds a role) are data
        login = min(1, by_collection.get("user", 0))
        if lists_security:
            security = login + min(1, by_collection.get("role", 0))
        else:
            security = sum(n for c, n in by_collection.items() if c in SECURITY) + login
        built = self.documents.by_class()
        frame = sum(n for c, n in built.items() if c in SECURITY_DOCUMENTS)
        if lists_security:
            frame = min(1, built.get("PortalUser", 0))
        return (security, sum(by_collection.values()) - security, frame,
                sum(n for c, n in built.items() if _is_document(c)) - frame, dict(sorted(by_collection.items())))

    def close(self) -> None:
        self.documents.uninstall()
        if self.embedded:
            self.trips.uninstall()


def _is_document(name: str) -> bool:
    """A top-level document, not an embedded line: what PERFORMANCE.md counts as a document built."""
    from mongoengine.base import _document_registry

    document = _document_registry.get(name)
    return document is None or bool(getattr(document, "_is_document", False))


def _bare(db, page: Page, page_size: int) -> float:
    started = time.perf_counter()
    list(db[page.collection].find({}).limit(1 if page.kind in ("show", "approve") else page_size))
    return time.perf_counter() - started


def visit(pages: list[Page], visitors: dict, meter: Meter, db, repeat: int, page_size: int,
          measures: dict | None = None, at_scale: bool = False) -> dict:
    """Visit each page once to warm the session (not again at scale: the sessions are warm), then `repeat` times
    measured; return the measures by page key and role."""
    measures = {} if measures is None else measures
    for page in pages:
        visitor = visitors[page.role]
        if not at_scale:
            visitor.request(page, page.prepare() if page.prepare else None)
        measure = measures.setdefault((page.key, page.role), Measure(page))
        for _ in range(repeat):
            form = page.prepare() if page.prepare else None  # a new target and its token, before the count starts
            meter.start()
            started = time.perf_counter()
            response = visitor.request(page, form)
            elapsed = time.perf_counter() - started
            counts = meter.stop(page.kind == "list" and page.collection in SECURITY | {"user"})
            _record(measure, response, counts, at_scale)
            if not at_scale:  # times are the profile's; at scale only the counts are checked
                measure.times.append(elapsed)
                measure.bare_times.append(_bare(db, page, page_size))  # back to back with the page
    return measures


def _record(measure: Measure, response, counts: tuple, at_scale: bool) -> None:
    security, data, security_docs, documents, by_collection = counts
    page = measure.page
    selected = sum(m._get_collection().estimated_document_count() for m in bench_budget.small_selects(page.view)) \
        if page.kind == "list" else 0
    if at_scale:
        measure.status_at_scale = _first_wrong(measure.status_at_scale, response.status_code, page.expected)
        measure.data_round_trips_at_scale = max(measure.data_round_trips_at_scale or 0, data)
        measure.documents_at_scale = max(measure.documents_at_scale or 0, documents)
        measure.select_rows_at_scale, measure.by_collection_at_scale = selected, by_collection
        return
    measure.status = _first_wrong(measure.status, response.status_code, page.expected)
    measure.security_round_trips = max(measure.security_round_trips, security)
    measure.data_round_trips = max(measure.data_round_trips, data)
    measure.security_documents = max(measure.security_documents, security_docs)
    measure.documents = max(measure.documents, documents)
    measure.html_bytes = len(response.data)
    measure.rows = response.data.count(b"\n") - 1 if page.kind == "export" else response.data.count(b"<tr")
    measure.select_rows, measure.by_collection = selected, by_collection


def _first_wrong(old: int | None, new: int, expected: int) -> int:
    """The status to report over several visits: the first unexpected one, else the expected one."""
    return old if old not in (None, expected) else new


# ---- the run -------------------------------------------------------------------------------------------------------
def server_database(uri: str, default_name: str) -> tuple[str, str]:
    """The URI of the bench's own database on the server of `uri`, and its name: `<name>_bench`.

    >>> server_database("mongodb://u:p@db1,db2/portal?replicaSet=rs0", "x")
    ('mongodb://u:p@db1,db2/portal_bench?replicaSet=rs0', 'portal_bench')
    >>> server_database("mongodb://localhost", "portal")
    ('mongodb://localhost/portal_bench', 'portal_bench')
    """
    match = re.match(r"^(mongodb(?:\+srv)?://[^/?]*)(?:/([^?]*))?(\?.*)?$", uri)
    if match is None:
        raise BenchError("MONGODB_URI is not a mongodb:// or mongodb+srv:// address")
    prefix, name, options = match.group(1), match.group(2) or default_name, match.group(3) or ""
    return f"{prefix}/{name}_bench{options}", f"{name}_bench"


def claim_database(client, name: str) -> None:
    """Make `name` the bench's: refuse a database of that name the bench did not create, drop one an interrupted run
    left behind, and mark the new one."""
    if name in client.list_database_names():
        if client[name]["bench_marker"].find_one(MARKER) is None:
            raise BenchError(f"database {name} exists and was not made by `portal bench`: it is left alone; drop it "
                             "yourself or set PORTAL_DB_NAME to another name")
        client.drop_database(name)
    client[name]["bench_marker"].insert_one({**MARKER, "note": "made by portal bench; dropped when it ends"})


def _bench_app(uri: str | None, name: str, password: str):
    """The portal on the bench's database, seeded with the demo; its accounts get this run's own password."""
    from cryptography.fernet import Fernet

    from portal import approvals, create_app
    from portal.config import Config

    # The approval engine remembers role ids per database; the bench's database is dropped and seeded again on
    # each run, so its roles are new documents with new ids under the same database name.
    approvals._ROLE_IDS.clear()
    return create_app(Config, MONGODB_URI=uri, MONGODB_DB=name, SEED_DEMO=True, DEMO_PASSWORD=password,
                      FILE_KEY=Config.FILE_KEY or Fernet.generate_key().decode(),  # a throw-away database's files
                      SECRET_KEY=secrets.token_hex(32), SECRET_KEY_FROM_ENV=True, SESSION_COOKIE_SECURE=False,
                      LOGIN_RATE_LIMIT="1000000 per minute", BABEL_DEFAULT_LOCALE="en")


def run(profile: str = "XS", repeat: int = 5, budgets_path: str | None = None, page_size: int = 25, scale: int = 1,
        uri: str | None = None, db_name: str = "portal", echo: Callable = print, only: str | None = None) -> Report:
    """Seed, visit, measure and check (see the module docstring). `uri`: a MongoDB server; None: the embedded store.
    `only`: visit just the pages whose key contains this text.

    It connects the process's mongoengine to the bench's database and leaves it there: run it in a process of its
    own (the command does), not inside one that serves or tests the portal."""
    if profile not in bench_seed.PROFILES:
        raise BenchError(f"unknown profile {profile!r}: one of {', '.join(bench_seed.PROFILES)}")
    budgets = bench_budget.load(budgets_path)
    counter = log = client = None
    name = f"{db_name}_bench"
    if uri:
        from pymongo import MongoClient, monitoring
        from pymongo.errors import PyMongoError

        from portal.bench_explain import QueryLog
        from portal.db import redacted
        from portal.perf import CommandCounter

        uri, name = server_database(uri, db_name)
        client = MongoClient(uri, serverSelectionTimeoutMS=5000)
        try:
            claim_database(client, name)
        except PyMongoError as exc:
            client.close()
            raise BenchError(f"MongoDB at {redacted(uri)} did not answer: {exc.__class__.__name__}") from None
        counter, log = CommandCounter(), QueryLog()
        monitoring.register(counter)  # before the app's client exists: pymongo gives them to every new client
        monitoring.register(log)
    try:
        clock = time.perf_counter()
        password = secrets.token_urlsafe(18)
        app = _bench_app(uri, name, password)
        report = Report(profile, app.config["PORTAL_STORE"], scale, repeat, page_size,
                        {**budgets, "page_size": page_size})
        report.seconds["app"] = round(time.perf_counter() - clock, 1)
        _run(app, report, password, Meter(counter, log), echo, only)
    finally:
        if client is not None:
            client.drop_database(name)
            client.close()
    return report


def _run(app, report: Report, password: str, meter: Meter, echo: Callable, only: str | None) -> None:
    import mongoengine

    from portal import audit, settings
    from views import approvals as approval_views

    db = mongoengine.get_db()
    audit.set_cli_actor("cli:bench")
    approval_views.DELEGATORS_TTL = 10**9  # the navbar's minute of memory must not run out in the middle of a page
    clock = time.perf_counter()
    with app.app_context():  # only around the seeding: a context held over the visits would share `g` between them
        today = settings.local_today()
        bench_seed.fill_gaps(today)
        bench_seed.pending_requests(2 * (report.repeat + 2) + 2, today)  # two visits a run, warm and measured
        template = bench_seed.Template(db)
        first = template.plan(bench_seed.PROFILES[report.profile])
        template.seed(first)
    report.sizes = {name: db[name].estimated_document_count() for name in SIZED}
    report.seconds["seed"] = round(time.perf_counter() - clock, 1)
    echo(f"{report.profile} on the {report.store} store: {_line(report.sizes)} "
         f"(app {report.seconds['app']} s, seed {report.seconds['seed']} s)")
    visitors = {role: Visitor(app, username, password) for role, username in bench_pages.ROLE_USERS.items()}
    demo_ids = {name: sorted(r["_id"] for r in rows) for name, rows in template.docs.items()}
    try:
        clock = time.perf_counter()
        pages, unopened = bench_pages.plan(app, visitors, report.page_size, demo_ids, only)
        if not pages and not unopened:
            raise BenchError(f"no page's name contains {only!r}")
        measures = visit(pages, visitors, meter, db, report.repeat, report.page_size)
        report.seconds["visits"] = round(time.perf_counter() - clock, 1)
        if report.scale > 1:
            clock = time.perf_counter()
            with app.app_context():
                template.seed(template.plan(bench_seed.PROFILES[report.profile], report.scale), first.worlds)
            report.sizes_at_scale = {name: db[name].estimated_document_count() for name in SIZED}
            echo(f"x{report.scale}: {_line(report.sizes_at_scale)}")
            visit(pages, visitors, meter, db, 1, report.page_size, measures, at_scale=True)
            report.seconds["at_scale"] = round(time.perf_counter() - clock, 1)
    finally:
        meter.close()
    report.measures = list(measures.values())
    report.failures = [f"{key}: no role could open it" for key in unopened]
    report.failures += bench_budget.check(report.measures, report.budgets)
    if meter.log is not None:
        from portal.bench_explain import explain_all

        sizes = {name: db[name].estimated_document_count() for name in db.list_collection_names()}
        report.plans = explain_all(db, meter.log, sizes, sortable_columns(app))
        report.failures += [f"plan: {p['command']} {p['collection']} {p['query']}: {problem}"
                            for p in report.plans for problem in p["problems"]]


def sortable_columns(app) -> dict[str, set[str]]:
    """The stored field names each collection's lists let people sort by."""
    out: dict[str, set[str]] = {}
    for view in app.appbuilder.baseviews:
        collection = bench_pages.collection_of(view)
        if collection is None:
            continue
        fields = view.datamodel.obj._fields
        for column in getattr(view, "order_columns", None) or ():
            if column in fields:
                out.setdefault(collection, set()).add(fields[column].db_field)
    return out


def _line(sizes: dict) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in sizes.items())


# ---- output --------------------------------------------------------------------------------------------------------
COLUMNS = ("kind", "page", "role", "status", "round-trips", "data", "budget", "docs", "budget", "bytes", "p50 ms",
           "p95 ms", "ratio", "data at scale")


def table(report: Report) -> list[str]:
    """The report as aligned text, one line per page."""
    rows = [COLUMNS]
    for m in report.measures:
        trips, documents, _source = bench_budget.allowance(m, report.budgets)
        rows.append((m.page.kind, m.page.key, m.page.role, str(m.status),
                     str(m.security_round_trips + m.data_round_trips), str(m.data_round_trips), _or_dash(trips),
                     str(m.documents), _or_dash(documents), f"{m.html_bytes:,}", f"{m.p50 * 1000:.1f}",
                     f"{m.p95 * 1000:.1f}", f"{m.ratio:.1f}", _or_dash(m.data_round_trips_at_scale)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _or_dash(value) -> str:
    return "-" if value is None else str(value)


def write_json(report: Report, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report.as_dict(), handle, ensure_ascii=False, indent=1, default=str)
