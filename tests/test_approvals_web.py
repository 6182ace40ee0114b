"""Approval screens: inbox with bulk approve, request page and its forms, my requests, navbar counts, the bell,
delegations, e-mail to a local SMTP server, `portal remind`, and the round-trip budgets of PERFORMANCE.md."""

import datetime as dt
import re
import socket

import pytest

from models.approvals import ApprovalDelegation, ApprovalRequest, Notification
from models.audit import AuditEntry
from portal import approvals, notify, reminders
from portal.settings import local_today
from tests.approvals_kit import actor, budget_line, claim, leave, person
from tests.conftest import SECURITY, data_round_trips


@pytest.fixture
def waiting(db):
    """A claim of sales_rep waiting for sales_head."""
    return approvals.submit(claim("sales_rep", 800, budget_line()), actor("sales_rep"))


def test_the_inbox_lists_what_waits_for_me_oldest_first_and_bulk_approves(as_role, waiting):
    second = approvals.submit(leave("sales_rep", local_today() + dt.timedelta(days=2)), actor("sales_rep"))
    head = as_role("DeptHead")
    page = head.get("/approvals/inbox/").data.decode()
    assert page.index(str(waiting)) < page.index(str(second))
    response = head.post_form("/approvals/bulk", {"request_id": [str(waiting), str(second)], "comment": "同意"},
                              form_url="/approvals/inbox/")
    assert response.status_code == 302
    assert approvals.load(waiting)["current_role"] == "Finance"
    assert approvals.load(second)["state"] == "approved"
    assert str(waiting) not in head.get("/approvals/inbox/").data.decode()


def test_reject_without_a_reason_is_shown_next_to_the_reason_field(as_role, waiting):
    head = as_role("DeptHead")
    url = f"/approvals/request/{waiting}"
    response = head.post_form(f"{url}/reject", {"comment": " "}, form_url=url)
    page = response.data.decode()
    assert response.status_code == 422
    field_then_error = r'id="comment-reject"[^>]*>.*?</textarea>\s*<div class="text-danger portal-field-error"'
    assert re.search(field_then_error, page, re.S)
    assert approvals.load(waiting)["state"] == "pending"
    response = head.post_form(f"{url}/reject", {"comment": "缺少发票"}, form_url=url)
    assert response.status_code == 302 and approvals.load(waiting)["state"] == "rejected"


def test_the_request_page_shows_route_history_and_only_my_actions(as_role, waiting):
    url = f"/approvals/request/{waiting}"
    page = as_role("DeptHead").get(url).data.decode()
    assert "张伟" in page and "Finance" in page and "Your decision" in page
    rep_page = as_role("Employee").get(url).data.decode()
    assert "Your decision" not in rep_page and "Urge the approver" in rep_page and "Withdraw" in rep_page
    assert as_role("service_clerk").get(url).status_code == 404
    assert as_role("Auditor").get(url).status_code == 200
    assert as_role("DeptHead").get("/approvals/request/not-an-id").status_code == 404


def test_my_requests_say_where_each_one_stands(as_role, waiting):
    page = as_role("Employee").get("/approvals/mine/").data.decode()
    assert "张伟" in page and "Step 1" in page


def test_department_heads_see_their_count_in_the_navbar_and_everyone_a_bell(as_role, waiting):
    head_page = as_role("DeptHead").get("/regulations/").data.decode()
    waiting_count = approvals.inbox_count(actor("sales_head"))
    assert waiting_count >= 1
    assert re.search(rf'portal-nav-inbox.*?<span class="badge portal-badge">{waiting_count}</span>', head_page, re.S)
    assert re.search(r'portal-nav-bell.*?<span class="badge portal-badge">\d+</span>', head_page, re.S)


def test_opening_a_notification_marks_it_read_and_goes_to_the_request(as_role, waiting):
    head = as_role("DeptHead")
    row = Notification.objects(recipient=person("sales_head").pk, kind="waiting").order_by("-created_at").first()
    page = head.get("/notifications/").data.decode()
    assert "asks for your approval" in page
    response = head.get(f"/notifications/open/{row.pk}")
    assert response.headers["Location"].endswith(f"/approvals/request/{waiting}")
    assert Notification.objects(pk=row.pk).first().read_at is not None
    assert as_role("Employee").get(f"/notifications/open/{row.pk}").status_code == 404  # not theirs


def test_notifications_follow_the_readers_language(as_role, waiting):
    head = as_role("DeptHead")
    head.get("/lang/zh")
    assert "请您审批" in head.get("/notifications/").data.decode()


def test_a_manager_names_a_deputy_only_for_themselves__DSC_2_2_2(as_role, db):
    head = as_role("DeptHead")
    today = local_today()
    data = {"delegator": str(person("branch_head").pk), "deputy": str(person("sales_head").pk),
            "start": today.isoformat(), "end": today.isoformat(), "active": "y"}
    head.post_form("/approvaldelegationview/add", data)
    assert not ApprovalDelegation.objects(delegator=person("branch_head").pk)
    data = {**data, "delegator": str(person("sales_head").pk), "deputy": str(person("service_head").pk)}
    assert head.post_form("/approvaldelegationview/add", data).status_code == 302
    assert ApprovalDelegation.objects(delegator=person("sales_head").pk).count() == 1
    assert "刘芳" in as_role("service_head").get("/approvaldelegationview/list/").data.decode()


def test_notifications_are_emailed_when_smtp_is_set(db):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Sink

    received = []

    class Inbox(Sink):
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd.Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = notify.MAIL
    try:
        notify.configure({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": False,
                          "MAIL_FROM": "portal@example.test", "PUBLIC_URL": "https://portal.example.test"})
        request_id = approvals.submit(claim("sales_rep", 300, budget_line()), actor("sales_rep"))
    finally:
        notify.MAIL = saved
        controller.stop()
    assert [e.rcpt_tos for e in received] == [[person("sales_head").email]]
    body = received[0].content.decode()
    assert f"https://portal.example.test/approvals/request/{request_id}" in body
    assert Notification.objects(recipient=person("sales_head").pk).order_by("-created_at").first().email_state == "sent"


def test_an_unreachable_smtp_server_leaves_the_mail_for_the_next_run(db):
    saved = notify.MAIL
    try:
        notify.configure({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": 9, "SMTP_STARTTLS": False, "SMTP_TIMEOUT": 2})
        approvals.submit(claim("sales_rep", 300, budget_line()), actor("sales_rep"))  # still goes through
    finally:
        notify.MAIL = saved
    row = Notification.objects(recipient=person("sales_head").pk).order_by("-created_at").first()
    assert row.email_state == "failed" and row.email_attempts == 1


def test_remind_tells_the_approver_once_then_escalates_to_their_head(waiting):
    raw = approvals.load(waiting)
    late = raw["due_at"] + dt.timedelta(hours=1)
    sent, _mail = reminders.run(now=late)
    assert [(s.kind, s.recipients) for s in sent if s.title == raw["title"]] == [("overdue", 1)]
    assert reminders.run(now=late)[0] == []  # idempotent
    much_later = raw["due_at"] + dt.timedelta(hours=25)
    sent, _mail = reminders.run(now=much_later)
    assert [s.kind for s in sent if s.title == raw["title"]] == ["escalated"]
    assert Notification.objects(recipient=person("branch_head").pk, kind="escalated",
                                link=approvals.REQUEST_PATH.format(id=waiting)).count() == 1
    assert reminders.run(now=much_later)[0] == []
    assert [e["action"] for e in approvals.load(waiting)["history"]][-2:] == ["remind", "escalate"]


def test_portal_remind_runs_from_the_command_line(app, waiting):
    result = app.test_cli_runner().invoke(args=["portal", "remind"])
    assert result.exit_code == 0 and "reminders" in result.output


# ---- round-trip budgets (PERFORMANCE.md) -----------------------------------------------------------------
@pytest.mark.parametrize("pending", [3, 30])
def test_the_inbox_costs_a_fixed_number_of_round_trips(counter, as_role, db, pending):
    line = budget_line(annual="900000")
    for number in range(pending):
        approvals.submit(claim("sales_rep", 10, line, title=f"票据{number}"), actor("sales_rep"))
    head = as_role("DeptHead")
    head.get("/approvals/inbox/")
    counter.reset()
    assert head.get("/approvals/inbox/").status_code == 200
    # inbox: delegations + requests; navbar: delegations + count + unread bell
    assert data_round_trips(counter) <= 6, counter.by_collection()


@pytest.mark.parametrize(("action", "budget"), [("approve", 4), ("reject", 5), ("return", 5)])
def test_a_decision_stays_within_its_round_trip_budget(counter, as_role, waiting, action, budget):
    """PERFORMANCE.md allows 4: the request read and its conditional update, the notification, one spare. A decision
    that closes the request also moves the document's status, and that state change is audited (DOMAIN 7,
    SECURITY.md), which is the fifth."""
    head = as_role("DeptHead")
    url = f"/approvals/request/{waiting}"
    token = head.token(url)
    counter.reset()
    response = head.post(f"{url}/{action}", data={"comment": "意见", "csrf_token": token})
    assert response.status_code == 302
    assert data_round_trips(counter) <= budget, counter.by_collection()


def test_a_document_status_change_by_the_approval_engine_is_audited__DOMAIN_7(as_role, waiting):
    raw = approvals.load(waiting)
    head = as_role("DeptHead")
    url = f"/approvals/request/{waiting}"
    assert head.post_form(f"{url}/reject", {"comment": "不符合"}, url).status_code == 302
    entries = AuditEntry.objects(collection="expense_claims", record_id=str(raw["doc_id"])).order_by("at")
    states = [(c.old, c.new) for e in entries for c in e.changes if c.field == "status"]
    assert states[-2:] == [("draft", "pending"), ("pending", "rejected")]
    assert entries.order_by("-at").first().user == "sales_head"


def test_the_request_page_costs_a_fixed_number_of_round_trips(counter, as_role, waiting):
    """Request, document and its references, the people for add-sign/transfer/CC, the navbar: a fixed count
    that does not grow with the history."""
    head = as_role("DeptHead")
    url = f"/approvals/request/{waiting}"
    head.get(url)
    counter.reset()
    head.get(url)
    short = data_round_trips(counter)
    for minute in range(0, 600, 61):
        approvals.urge(waiting, actor("sales_rep"), now=dt.datetime(2030, 1, 1) + dt.timedelta(minutes=minute))
    counter.reset()
    head.get(url)
    assert data_round_trips(counter) == short <= 12, counter.by_collection()
    assert len(ApprovalRequest.objects(pk=waiting).first().history) > 10


def test_an_admin_edits_a_route_in_the_portal__DOMAIN_4(as_role, db):
    from models.approvals import ApprovalRoute

    route = ApprovalRoute.objects(code="LEAVE").first()
    admin = as_role("Admin")
    form = admin.get(f"/approvalrouteview/edit/{route.pk}").data.decode()
    assert "steps-0-approver" in form and "steps-0-time_limit_hours" in form
    data = {"code": "LEAVE", "name": route.name, "document": "LeaveRequest", "active": "y",
            "clauses": "FSS 4(1)1", "version": str(route.version),
            "steps-0-approver": "unit_head", "steps-0-condition": "always", "steps-0-time_limit_hours": "24",
            "steps-1-label": "人事备案", "steps-1-approver": "role", "steps-1-role": "HR",
            "steps-1-condition": "always", "steps-1-time_limit_hours": "48"}
    response = admin.post_form(f"/approvalrouteview/edit/{route.pk}", data)
    assert response.status_code == 302, response.data.decode()[-3000:]
    assert [(s.approver, s.role) for s in ApprovalRoute.objects(code="LEAVE").first().steps] == [
        ("unit_head", None), ("role", "HR")]
    bad = {**data, "version": str(route.reload().version), "steps-1-role": ""}
    page = admin.post_form(f"/approvalrouteview/edit/{route.pk}", bad).data.decode()
    assert "Choose the role that approves this step." in page


def test_a_budget_line_is_entered_with_its_quarters(as_role, db):
    from models.finance import Budget

    finance_user = as_role("Finance")
    data = {"year": str(local_today().year), "owner_unit": str(person("sales_head").owner_unit.pk), "kind": "cost",
            "category": "rent", "annual_amount": "1200", "quarters": ["300", "300", "300", "200"], "note": ""}
    page = finance_user.post_form("/budgetview/add", data).data.decode()
    assert "The quarters add up to 1,100.00" in page and 'value="200"' in page
    data["quarters"] = ["300", "300", "300", "abc"]
    assert "Enter every amount as a number" in finance_user.post_form("/budgetview/add", data).data.decode()
    data["quarters"] = ["300", "300", "300", "300"]
    assert finance_user.post_form("/budgetview/add", data).status_code == 302
    line = Budget.objects(category="rent", kind="cost").first()
    assert line.quarters == [300] * 4 and line.status == "draft"


def test_an_employee_asks_for_leave_in_the_portal__FSS_4_1_1(as_role, db):
    from models.conduct import LeaveRequest

    rep = as_role("Employee")
    form = rep.get("/leaverequestview/add").data.decode()
    assert f'value="{person("sales_rep").pk}" selected' in form or "selected" in form
    start = local_today() + dt.timedelta(days=10)
    data = {"employee": str(person("sales_rep").pk), "kind": "annual", "start": start.isoformat(),
            "end": (start + dt.timedelta(days=2)).isoformat(), "reason": "回老家", "handover": ""}
    assert rep.post_form("/leaverequestview/add", data).status_code == 302
    request = LeaveRequest.objects(employee=person("sales_rep").pk, start=start).first()
    response = rep.post_form(f"/leaverequestview/submit/{request.pk}", {},
                             form_url=f"/leaverequestview/show/{request.pk}")
    assert response.status_code == 302 and request.reload().status == "pending"
    page = rep.get(response.headers["Location"]).data.decode()
    assert "回老家" in page  # the request page shows the document


def test_permissions_menu_and_navbar_counts_cost_at_most_four_round_trips(counter, as_role, waiting):
    head = as_role("DeptHead")
    head.get("/regulations/")
    counter.reset()
    head.get("/regulations/")
    navbar = {"approval_requests", "notifications", "approval_delegations"}
    cost = sum(n for coll, n in counter.by_collection().items() if coll in SECURITY | navbar)
    assert cost <= 4, counter.by_collection()


@pytest.mark.parametrize("to_step", ["²", "9" * 5000, "-1", "abc", "1"])
def test_a_strange_return_target_is_refused_cleanly(as_role, waiting, to_step):
    head = as_role("DeptHead")
    url = f"/approvals/request/{waiting}"
    response = head.post_form(f"{url}/return", {"comment": "请修改", "to_step": to_step}, form_url=url)
    assert response.status_code in (302, 422)


def test_bulk_approve_does_not_reveal_requests_outside_my_reach(as_role, waiting):
    clerk = as_role("service_clerk")
    response = clerk.post_form("/approvals/bulk", {"request_id": str(waiting)}, form_url="/resetmypassword/form",
                               follow_redirects=True)
    assert "客户拜访差旅" not in response.data.decode()


def test_nobody_makes_themselves_a_deputy_or_rewrites_someone_elses_delegation__DSC_2_2_2(as_role, db):
    today = local_today().isoformat()
    hr = as_role("HR")
    data = {"delegator": str(person("sales_head").pk), "deputy": str(person("hr").pk), "start": today,
            "end": today, "active": "y"}
    hr.post_form("/approvaldelegationview/add", data)
    assert not ApprovalDelegation.objects(deputy=person("hr").pk)
    mine = ApprovalDelegation(delegator=person("sales_head"), deputy=person("sales_rep"), start=local_today(),
                              end=local_today()).save()
    rep = as_role("Employee")
    forged = {**data, "delegator": str(person("sales_rep").pk), "deputy": str(person("sales_clerk").pk),
              "version": str(mine.version)}
    rep.post_form(f"/approvaldelegationview/edit/{mine.pk}", forged, form_url="/approvaldelegationview/add")
    rep.get(f"/approvaldelegationview/delete/{mine.pk}")
    stored = ApprovalDelegation.objects(pk=mine.pk).first()
    assert stored is not None and stored.delegator.pk == person("sales_head").pk
