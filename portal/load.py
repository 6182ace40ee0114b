"""`portal load` (issue 10 item 3): employees submit expense claims and leave requests through their forms while
approvers decide them from their inboxes, every decision clicked twice at the same moment from two sessions of
the approver, against gunicorn on loopback; then the Auditor reads every request back through the JSON API.

Proved for every request submitted: it ends in exactly one final state (approved or rejected) and its document
with it; its history holds one submission and one decision per step it went through, none lost, none doubled;
each double click had exactly one winner; and no answer was a 5xx.

The embedded store lives inside its one process, so several gunicorn workers would be several databases: it gets
one worker with threads. A server (MONGODB_URI) gets several workers, as in production; the demo company is seeded
into it first (`--staging`: never point this at a production database).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal.config import DEFAULT_DEMO_PASSWORD
from portal.load_server import ROOT, Client, Recorder, ServerDidNotStart, gunicorn, percentile

__all__ = ["Report", "ServerDidNotStart", "run", "server_env"]

SUBMITTERS = ("sales_rep", "sales_clerk", "service_clerk")  # demo accounts: two units, three routes
APPROVERS = ("sales_head", "service_head", "branch_head", "finance")  # every step of those routes
MAJOR = Decimal("5200.00")  # above major_expense_threshold (5,000 CNY): the branch leader's step too (BRD 8(2)2)
MAX_CLIENTS, MAX_REQUESTS = 32, 200
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_REQUEST = re.compile(r"/approvals/request/([0-9a-f]{24})")
_STATE = re.compile(r'class="label label-(success|danger|warning|default)"')
_ROUTE = re.compile(r'<table class="table table-condensed portal-route">.*?<tbody>(.*?)</tbody>', re.S)


@dataclass
class Submitted:
    request_id: str
    kind: str  # "claim" or "leave"
    doc_id: str
    amount: Decimal
    reject_at: str = ""  # "first" or "last": the step whose approver rejects it (with a reason); "": approved
    wins: int = 0  # decisions that went through, counted by the clients
    final: str = ""  # as the winner's next page showed it


@dataclass
class Report:
    clients: int
    requests: int
    store: str
    workers: int
    threads: int
    seconds: float = 0.0
    submitted: list[Submitted] = field(default_factory=list)
    refused_submissions: int = 0
    races: int = 0
    race_outcomes: Counter = field(default_factory=Counter)
    final_states: Counter = field(default_factory=Counter)
    recorder: Recorder = field(default_factory=Recorder)

    @property
    def violations(self) -> list[str]:
        return self.recorder.violations

    @property
    def http_calls(self) -> int:
        return sum(len(v) for v in self.recorder.latencies.values())

    def lines(self) -> list[str]:
        """The report as `portal load` prints it."""
        decided = sum(s.wins for s in self.submitted)
        out = [f"store {self.store}, gunicorn {self.workers} worker(s) x {self.threads} threads; {self.clients} "
               f"submitting clients x {self.requests} requests, approvers {', '.join(APPROVERS)} with two sessions "
               "each clicking at once",
               f"{len(self.submitted)} submitted ({self.refused_submissions} refused), final: "
               + (", ".join(f"{k} {v}" for k, v in sorted(self.final_states.items())) or "none"),
               f"{decided} decisions from {self.races} double clicks ({dict(sorted(self.race_outcomes.items()))})",
               f"{self.http_calls} HTTP calls in {self.seconds:.1f} s: {self.http_calls / self.seconds:.1f} calls/s, "
               f"{(len(self.submitted) + decided) / self.seconds:.2f} submissions+decisions/s",
               f"statuses {dict(sorted(self.recorder.statuses.items()))}",
               f"{'operation':<16}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"]
        for name, values in sorted(self.recorder.latencies.items()):
            out.append(f"{name:<16}{len(values):>7}{percentile(values, .5) * 1000:>9.0f}"
                       f"{percentile(values, .95) * 1000:>9.0f}{max(values) * 1000:>9.0f}")
        out.append(f"violations: {len(self.violations)}")
        out += [f"  {v}" for v in self.violations[:50]]
        return out


def server_env(store: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the gunicorn under load: the operator's, with the login limit out of the way of 20
    logins a second from one address, cookies over plain http on loopback, and no server URI for the embedded
    store."""
    env = dict(os.environ if environ is None else environ)
    env.update(PORTAL_LOGIN_RATE_LIMIT="100000 per minute", PORTAL_SECURE_COOKIES="false", PYTHONUNBUFFERED="1")
    if store == "embedded":
        env.pop("MONGODB_URI", None)
    return env


def run(clients: int = 8, requests: int = 5, env: dict[str, str] | None = None, workers: int | None = None,
        threads: int | None = None, deadline: float = 300) -> Report:
    """Start gunicorn, run the scenario, check every request through the API, stop gunicorn; raises
    ServerDidNotStart. The store follows MONGODB_URI in `env`."""
    env = dict(os.environ if env is None else env)
    store = "mongodb" if env.get("MONGODB_URI") else "embedded"
    workers = workers or (4 if store == "mongodb" else 1)
    threads = threads or (4 if store == "mongodb" else 8)
    report = Report(min(max(clients, 1), MAX_CLIENTS), min(max(requests, 1), MAX_REQUESTS), store, workers, threads)
    password = env.get("PORTAL_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
    if store == "mongodb":
        _seed_demo(env)
    with gunicorn(server_env(store, env), workers, threads) as server:
        started = time.monotonic()
        Scenario(server.base, report, password, env.get("PORTAL_TIMEZONE", "Asia/Shanghai")).play(deadline)
        report.seconds = time.monotonic() - started
        verify(server.base, report, password)
    return report


def _seed_demo(env: dict[str, str]) -> None:
    """Once, before the workers start (four workers seeding at once would race each other)."""
    done = subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", "seed", "--demo"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise ServerDidNotStart(f"portal seed --demo failed: {(done.stderr or done.stdout).strip()[-500:]}")


# ---- the scenario --------------------------------------------------------------------------------------------
class Scenario:
    """Submitting clients and approver desks, run until every request submitted is final or the deadline."""

    def __init__(self, base: str, report: Report, password: str, timezone: str):
        self.base, self.report, self.password = base, report, password
        self.today = dt.datetime.now(ZoneInfo(timezone)).date()
        self.run_tag = f"{int(time.time()) % 100000:05d}"
        self.requests: dict[str, Submitted] = {}
        self.lock = threading.Lock()
        self.submitting_done = threading.Event()

    def play(self, deadline: float) -> None:
        stop_at = time.monotonic() + deadline
        with ThreadPoolExecutor(self.report.clients + len(APPROVERS), thread_name_prefix="load") as pool:
            desks = [pool.submit(self.desk, username, stop_at) for username in APPROVERS]
            submitters = [pool.submit(self.submitter, n) for n in range(self.report.clients)]
            self._finish(submitters)
            self.submitting_done.set()
            self._finish(desks)
        self.report.submitted = list(self.requests.values())

    def _finish(self, futures) -> None:
        """Wait for clients; one that failed (a refused sign-in, the server gone) is a violation, not a traceback."""
        for future in futures:
            try:
                future.result()
            except Exception as exc:
                self.report.recorder.violation(f"a client stopped: {exc.__class__.__name__}: {exc}")

    def browser(self, username: str) -> Client:
        client = Client(self.base, self.report.recorder)
        page = client.get("open login", "/login/")
        answer = client.post("log in", "/login/", {"username": username, "password": self.password,
                                                   "csrf_token": _token(page.body)})
        if "/login" in answer.location or not answer.location:
            raise RuntimeError(f"{username} could not sign in (HTTP {answer.status}); is PORTAL_DEMO_PASSWORD right?")
        client.get("language", "/lang/en", expect=(302,))  # the pages are read in English, whatever PORTAL_LOCALE says
        return client

    # ---- employees --------------------------------------------------------------------------------------------
    def submitter(self, number: int) -> None:
        username = SUBMITTERS[number % len(SUBMITTERS)]
        client = self.browser(username)
        for k in range(self.report.requests):
            tag = f"{self.run_tag}-{number:02d}-{k:03d}"
            if k % 2 == 0:
                amount = MAJOR if k == 0 and number < 2 else Decimal(20 + (number * 37 + k * 11) % 280)
                found = self.claim(client, tag, amount)
            else:
                found = self.leave(client, self.today + dt.timedelta(days=30 + number * MAX_REQUESTS + k))
            if found is not None:
                # two in five are rejected: at the last step after the others approved (a claim: Finance), at the first
                found.reject_at = {2: "last", 3: "first"}.get(k % 5, "")
                with self.lock:
                    self.requests[found.request_id] = found

    def claim(self, client: Client, tag: str, amount: Decimal) -> Submitted | None:
        form = client.get("open form", "/expenseclaimview/add").body
        title = f"负载测试 load {tag}"
        client.post("save form", "/expenseclaimview/add", {
            "claimant": _selected(form, "claimant"), "title": title, "budget": _budget(form), "plan": "__None",
            "items-0-date": self.today.isoformat(), "items-0-purpose": "客户拜访 load test",
            "items-0-amount": f"{amount:.2f}", "items-0-invoice_no": tag, "csrf_token": _token(form)})
        listing = client.get("find record", f"/expenseclaimview/list/?_flt_0_title={_q(title)}").body
        return self.submit(client, "claim", "/expenseclaimview", _only(listing, "/expenseclaimview/show/"), amount)

    def leave(self, client: Client, start: dt.date) -> Submitted | None:
        form = client.get("open form", "/leaverequestview/add").body
        client.post("save form", "/leaverequestview/add", {
            "employee": _selected(form, "employee"), "kind": "annual", "start": start.isoformat(),
            "end": (start + dt.timedelta(days=1)).isoformat(), "reason": "负载测试 load test", "handover": "同事",
            "csrf_token": _token(form)})
        listing = client.get("find record", f"/leaverequestview/list/?_flt_0_start={start}&_flt_0_status=draft").body
        return self.submit(client, "leave", "/leaverequestview", _only(listing, "/leaverequestview/show/"),
                           Decimal(0))

    def submit(self, client: Client, kind: str, base: str, doc_id: str | None, amount: Decimal) -> Submitted | None:
        if doc_id is None:
            self.report.recorder.violation(f"{kind}: the saved record is not in the list")
            return None
        page = client.get("open record", f"{base}/show/{doc_id}").body
        answer = client.post("submit", f"{base}/submit/{doc_id}", {"csrf_token": _token(page)})
        found = _REQUEST.search(answer.location)
        if found is None:  # refused on the record's page (e.g. a budget line used up by earlier runs)
            with self.lock:
                self.report.refused_submissions += 1
            return None
        return Submitted(found.group(1), kind, doc_id, amount)

    # ---- approvers ------------------------------------------------------------------------------------------
    def desk(self, username: str, stop_at: float) -> None:
        """One approver with two sessions: every request of this run in the inbox is decided by both at once."""
        first, second = self.browser(username), self.browser(username)
        with ThreadPoolExecutor(2, thread_name_prefix=f"desk-{username}") as clicks:
            while time.monotonic() < stop_at:
                inbox = first.get("inbox", "/approvals/inbox/").body
                with self.lock:
                    mine = [r for r in dict.fromkeys(_REQUEST.findall(inbox)) if r in self.requests
                            and not self.requests[r].final]
                for request_id in mine:
                    self.race(username, request_id, first, second, clicks)
                if not mine:
                    if self.submitting_done.is_set() and self.outstanding() == 0:
                        return
                    time.sleep(0.2)
        self.report.recorder.violation(f"{username}: deadline reached with {self.outstanding()} requests not final")

    def outstanding(self) -> int:
        with self.lock:
            return sum(1 for s in self.requests.values() if not s.final)

    def race(self, username: str, request_id: str, first: Client, second: Client, clicks) -> None:
        """Two clicks on the same step at the same moment: exactly one may go through."""
        path = f"/approvals/request/{request_id}"
        pages = [c.get("open request", path).body for c in (first, second)]
        tokens = [_token(page) for page in pages]
        step, steps = _current_step(pages[0])
        reject_at = self.requests[request_id].reject_at
        action = "reject" if (reject_at == "first" and step == 1) or (reject_at == "last" and step == steps) \
            else "approve"
        barrier = threading.Barrier(2)

        def click(client: Client, token: str):
            barrier.wait()
            return client.post("decide", f"{path}/{action}", {
                "csrf_token": token, "comment": "负载测试：金额不符 load test" if action == "reject" else ""},
                expect=(302, 404, 422))

        pending = [clicks.submit(click, c, t) for c, t in zip((first, second), tokens, strict=True)]
        answers = [f.result() for f in pending]
        wins = [a for a in answers if a.status == 302]
        with self.lock:
            self.report.races += 1
            self.report.race_outcomes[" + ".join(sorted(str(a.status) for a in answers))] += 1
            self.requests[request_id].wins += len(wins)
        if len(wins) != 1:
            self.report.recorder.violation(f"{request_id}: {len(wins)} of two simultaneous {action} clicks went "
                                           f"through (statuses {[a.status for a in answers]})")
        if wins:
            after = (first if answers[0].status == 302 else second).get("open request", path).body
            state = _STATE.search(after)
            if state and state.group(1) in ("success", "danger"):
                with self.lock:
                    self.requests[request_id].final = "approved" if state.group(1) == "success" else "rejected"


# ---- the check, through the API as the Auditor --------------------------------------------------------------
def verify(base: str, report: Report, password: str) -> None:
    """Every request read back: one final state, its document in the same state, one history entry per step."""
    recorder = report.recorder
    api = Client(base, recorder)
    login = api.call("api login", "POST", "/api/v1/security/login", json_body=json.dumps(
        {"username": "auditor", "password": password, "provider": "db"}).encode())
    if login.status != 200:
        recorder.violation(f"the Auditor could not sign in to the API (HTTP {login.status})")
        return
    bearer = {"Authorization": f"Bearer {json.loads(login.body)['access_token']}"}
    for item in report.submitted:
        raw = api.call("api read", "GET", f"/api/v1/approval-requests/{item.request_id}", headers=bearer)
        resource = "expense-claims" if item.kind == "claim" else "leave-requests"
        doc = api.call("api read", "GET", f"/api/v1/{resource}/{item.doc_id}", headers=bearer)
        if raw.status == 200 and doc.status == 200:
            for problem in problems_of(json.loads(raw.body), json.loads(doc.body), item):
                recorder.violation(f"{item.kind} {item.request_id}: {problem}")
            report.final_states[json.loads(raw.body)["state"]] += 1


def problems_of(raw: dict, document: dict, item: Submitted) -> list[str]:
    """What is wrong with one request as stored (empty: decided exactly once at every step it went through)."""
    found = []
    state, history = raw.get("state"), raw.get("history") or []
    if state not in ("approved", "rejected"):
        found.append(f"not final: {state}")
    if document.get("status") != state:
        found.append(f"the document is {document.get('status')!r}, the request {state!r}")
    if [e["action"] for e in history].count("submit") != 1:
        found.append(f"{[e['action'] for e in history].count('submit')} submissions in the history")
    decisions = [e for e in history if e["action"] in ("approve", "reject", "return")]
    per_step = Counter(e["step"] for e in decisions)
    if any(n != 1 for n in per_step.values()):
        found.append(f"a step decided more than once: {dict(per_step)}")
    steps = [s for s in raw.get("steps") or [] if s.get("state") != "skipped"]
    expected = 1 if item.kind == "leave" else (3 if item.amount > 5000 else 2)
    if len(steps) != expected:  # the seeded routes: head, (branch leader above 5,000 CNY,) Finance; leave: head
        found.append(f"{len(steps)} steps to decide, the route has {expected}")
    gone_through = [s for s in steps if s.get("state") in ("approved", "rejected")]
    if len(decisions) != len(gone_through) or len(decisions) != item.wins:
        found.append(f"{len(decisions)} decisions in the history, {len(gone_through)} steps decided, "
                     f"{item.wins} clicks went through")
    if state == "approved" and len(gone_through) != len(steps):
        found.append("approved with a step never decided")
    if state == "rejected" and [e["action"] for e in decisions][-1:] != ["reject"]:
        found.append("rejected without a rejection last")
    return found


# ---- page reading --------------------------------------------------------------------------------------------
def _token(page: str) -> str:
    found = _CSRF.search(page)
    return found.group(1) if found else ""


def _selected(page: str, name: str) -> str:
    """The value a select of the form has chosen (the user's own employee record)."""
    found = re.search(rf'name="{name}"[^>]*>(.*?)</select>', page, re.S)
    value = re.search(r'<option value="([0-9a-f]{24})" selected', found.group(1)) if found else None
    return value.group(1) if value else ""


def _budget(page: str) -> str:
    """A budget line without expense standards (business development, customer service), else the first offered."""
    found = re.search(r'name="budget"[^>]*>(.*?)</select>', page, re.S)
    options = re.findall(r'<option[^>]*value="([0-9a-f]{24})"[^>]*>([^<]*)', found.group(1)) if found else []
    preferred = [v for v, label in options if "Business development" in label or "Customer service" in label]
    return next(itertools.chain(preferred, (v for v, _label in options)), "")


def _only(listing: str, prefix: str) -> str | None:
    ids = list(dict.fromkeys(re.findall(re.escape(prefix) + r"([0-9a-f]{24})", listing)))
    return ids[0] if len(ids) == 1 else None


def _q(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text)


def _current_step(page: str) -> tuple[int, int]:
    """(number of the current step, number of steps) from the route table of a request page."""
    table = _ROUTE.search(page)
    rows = re.findall(r'<tr class="([^"]*)">\s*<td>(\d+)</td>', table.group(1)) if table else []
    current = next((int(number) for css, number in rows if css == "info"), 0)
    return current, len(rows)
