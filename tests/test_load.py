"""`portal load` (issue 10 item 3): a small bounded run against a real gunicorn on loopback, the check that reads
every request back, the server always stopped; and the two faults the load test found (two first logins of one
account at once; mongomock's conditional updates and reads across threads)."""

from __future__ import annotations

import os
import sys
import threading
from decimal import Decimal

import pytest

from portal import db, load, load_server
from portal.load import Submitted, problems_of

DEMO_ENV_KEYS = ("MONGODB_URI", "PORTAL_SECRET_KEY", "PORTAL_DEMO_PASSWORD", "PORTAL_FILE_KEY")


def test_concurrent_submitting_and_racing_approvals_on_gunicorn_decide_every_request_exactly_once_without_5xx():
    env = {k: v for k, v in os.environ.items() if k not in DEMO_ENV_KEYS}  # the embedded store, no configuration
    try:
        report = load.run(clients=4, requests=5, env=env, deadline=45)
    except load.ServerDidNotStart as exc:
        pytest.skip(f"gunicorn could not start: {exc}")
    assert report.violations == [], "\n".join(report.lines())
    assert (report.store, report.workers, report.threads) == ("embedded", 1, 8)
    assert len(report.submitted) == 20 and report.refused_submissions == 0
    assert report.final_states == {"approved": 12, "rejected": 8}  # of each client's five: Finance rejects a claim,
    # the head a leave request
    # claims: head + Finance (two above 5,000 CNY also the branch leader), leave: head; rejections end a route early
    assert report.races == 34 and sum(report.race_outcomes.values()) == 34
    assert all(outcome.count("302") == 1 for outcome in report.race_outcomes), report.race_outcomes
    assert sum(s.wins for s in report.submitted) == 34
    assert max(report.recorder.statuses) < 500


# ---- the check ----------------------------------------------------------------------------------------------
def entry(action: str, step: int | None) -> dict:
    return {"action": action, "step": step}


def request(state="approved", history=None, steps=("approved", "approved")) -> dict:
    return {"state": state, "steps": [{"state": s} for s in steps],
            "history": history if history is not None else [entry("submit", None), entry("approve", 0),
                                                            entry("approve", 1)]}


def test_the_check_passes_a_request_decided_once_at_every_step():
    claim = Submitted("r1", "claim", "d1", Decimal("120.00"), wins=2)
    assert problems_of(request(), {"status": "approved"}, claim) == []
    rejected = request("rejected", [entry("submit", None), entry("approve", 0), entry("reject", 1)],
                       ("approved", "rejected"))
    assert problems_of(rejected, {"status": "rejected"}, claim) == []


def test_the_check_finds_a_doubled_a_lost_and_an_unfinished_decision():
    claim = Submitted("r1", "claim", "d1", Decimal("120.00"), wins=2)
    doubled = request(history=[entry("submit", None), entry("approve", 0), entry("approve", 0), entry("approve", 1)])
    assert any("decided more than once" in p for p in problems_of(doubled, {"status": "approved"}, claim))
    lost = request(history=[entry("submit", None), entry("approve", 0)])
    assert any("1 decisions in the history, 2 steps decided" in p for p in problems_of(lost, {"status": "approved"},
                                                                                       claim))
    pending = request("pending", [entry("submit", None), entry("approve", 0)], ("approved", "current"))
    found = problems_of(pending, {"status": "pending"}, Submitted("r1", "claim", "d1", Decimal(1), wins=1))
    assert found == ["not final: pending"]
    assert problems_of(request(), {"status": "pending"}, claim) == ["the document is 'pending', the request "
                                                                    "'approved'"]
    twice = Submitted("r1", "claim", "d1", Decimal("120.00"), wins=3)  # a click the history does not show
    assert any("3 clicks went through" in p for p in problems_of(request(), {"status": "approved"}, twice))


# ---- the server is always stopped -----------------------------------------------------------------------------
HEALTHY = ("import http.server, sys\n"
           "class H(http.server.BaseHTTPRequestHandler):\n"
           "    def do_GET(self):\n"
           "        self.send_response(200); self.end_headers(); self.wfile.write(b'{}')\n"
           "    def log_message(self, *args): pass\n"
           "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")


def test_the_server_is_stopped_when_the_load_fails(monkeypatch):
    monkeypatch.setattr(load_server, "gunicorn_command", lambda port, *_: [sys.executable, "-c", HEALTHY, str(port)])
    with pytest.raises(RuntimeError, match="a client failed"), load_server.gunicorn(dict(os.environ), 1, 1) as server:
        assert server.base.startswith("http://127.0.0.1:")
        pid = server.pid
        raise RuntimeError("a client failed")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped


def test_a_server_that_does_not_start_is_reported_with_its_last_lines(monkeypatch):
    monkeypatch.setattr(load_server, "gunicorn_command", lambda *_: [
        sys.executable, "-c", "import sys; print('error: PORTAL_SECRET_KEY is not set'); sys.exit(4)"])
    with pytest.raises(load.ServerDidNotStart, match="exited with code 4: error: PORTAL_SECRET_KEY is not set"), \
            load_server.gunicorn(dict(os.environ), 1, 1):
        pass


def test_the_production_command_is_gthread_on_loopback_with_the_wsgi_app():
    command = load_server.gunicorn_command(8123, 4, 2)
    assert command[1:3] == ["-m", "gunicorn"] and command[-1] == "wsgi:app"
    assert "--bind" in command and command[command.index("--bind") + 1] == "127.0.0.1:8123"
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert command[command.index("--workers") + 1] == "4" and command[command.index("--threads") + 1] == "2"


def test_the_load_server_gets_cookies_over_http_and_no_server_uri_on_the_embedded_store():
    env = load.server_env("embedded", {"MONGODB_URI": "mongodb://db.example/portal", "PATH": "/bin"})
    assert "MONGODB_URI" not in env and env["PORTAL_SECURE_COOKIES"] == "false" and env["PATH"] == "/bin"
    assert env["PORTAL_LOGIN_RATE_LIMIT"] == "100000 per minute"  # forty logins from one address in a second
    assert load.server_env("mongodb", {"MONGODB_URI": "mongodb://db.example/portal"})["MONGODB_URI"]


# ---- what the load test found --------------------------------------------------------------------------------
def test_two_first_logins_of_one_account_at_once_keep_both_sessions(app, make_user):
    from flask import session

    from models.users import PortalUser
    from portal.security import SESSION_NONCE, _on_login

    user = make_user("Employee")
    first_tab, second_tab = PortalUser.objects(pk=user.pk).first(), PortalUser.objects(pk=user.pk).first()
    assert not first_tab.session_nonce  # both read before either signed in
    nonces = []
    for tab in (first_tab, second_tab):
        with app.test_request_context("/login/"):
            _on_login(app, tab)
            nonces.append(session[SESSION_NONCE])
    stored = PortalUser._get_collection().find_one({"_id": user.pk})["session_nonce"]
    assert nonces == [stored, stored]  # before: the second login's nonce replaced the first, signing it out


def test_the_embedded_store_applies_a_conditional_update_once_however_threads_interleave():
    import mongomock

    db.serialize_embedded_store()  # db.connect does it for the embedded store; here also when the suite uses a server
    collection = mongomock.MongoClient().load_test.requests
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # a thread switch almost anywhere: without the lock most trials decide twice
    try:
        trials = [_four_clicks_at_once(collection) for _ in range(60)]
    finally:
        sys.setswitchinterval(previous)
    assert trials == [(1, 1, 31, [])] * 60  # one winner, seq + 1, one history entry more, no error


def _four_clicks_at_once(collection) -> tuple[int, int, int, list[str]]:
    collection.delete_many({})
    collection.insert_one({"_id": 1, "seq": 0, "history": [{"step": i, "x": list(range(20))} for i in range(30)]})
    barrier, won, errors = threading.Barrier(4), [], []

    def click():
        barrier.wait()
        try:
            list(collection.find({}))  # a page reading the request while others decide it
            decision = {"$inc": {"seq": 1}, "$push": {"history": {"step": 99}}}
            won.append(collection.update_one({"_id": 1, "seq": 0}, decision).modified_count)
        except Exception as exc:  # e.g. "dictionary changed size during iteration"
            errors.append(repr(exc))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = collection.find_one({"_id": 1})
    return sum(won), stored["seq"], len(stored["history"]), errors
