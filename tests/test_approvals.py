"""The approval engine (DOMAIN 4): each route of the finance and leave documents, and every rule routes obey."""

import datetime as dt
import threading
from decimal import Decimal

import pytest

from models.approvals import ApprovalDelegation, ApprovalRequest, ApprovalRoute, Notification, RouteStep
from models.finance import ExpenseClaim
from models.settings import Setting
from portal import approvals
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, budget_line, claim, leave, person


def route_of(request_id) -> list[tuple[str, str, str]]:
    raw = approvals.load(request_id)
    return [(s["kind"], s.get("approver_name") or s.get("role"), s["state"]) for s in raw["steps"]]


def walk(request_id, *usernames, action="approve", comment=""):
    for username in usernames:
        approvals.decide(request_id, actor(username), action, comment)
    return approvals.load(request_id)


@pytest.fixture
def line(db):
    return budget_line(annual="50000")


# ---- the routes of DOMAIN 4 --------------------------------------------------------------------------
def test_claim_of_4000_needs_only_the_department_head_then_finance__BRD_8_2_2(line):
    request_id = approvals.submit(claim("sales_rep", 4000, line), actor("sales_rep"))
    assert route_of(request_id) == [("unit_head", "张伟", "current"), ("role", "Finance", "waiting")]
    raw = walk(request_id, "sales_head", "finance")
    assert raw["state"] == "approved"
    assert ExpenseClaim.objects(pk=raw["doc_id"]).first().status == "approved"


def test_claim_of_6000_also_needs_the_branch_leader_then_finance__BRD_8_2_2(line):
    request_id = approvals.submit(claim("sales_rep", 6000, line), actor("sales_rep"))
    assert [s[:2] for s in route_of(request_id)] == [("unit_head", "张伟"), ("branch_head", "李志强"),
                                                      ("role", "Finance")]
    raw = walk(request_id, "sales_head")
    assert raw["state"] == "pending" and raw["current_approver"] == person("branch_head").pk
    raw = walk(request_id, "branch_head", "finance")
    assert raw["state"] == "approved"
    assert [e["action"] for e in approvals.load(request_id)["history"]] == ["submit", "approve", "approve", "approve"]


def test_a_claim_of_exactly_the_threshold_is_not_a_major_expense__BRD_8_2_2(line):
    request_id = approvals.submit(claim("sales_rep", "5000.00", line), actor("sales_rep"))
    assert [s[0] for s in route_of(request_id)] == ["unit_head", "role"]


def test_the_major_expense_threshold_is_a_setting__BRD_8_2_2(line):
    Setting.objects(key="major_expense_threshold").update_one(set__value="3000.00")
    request_id = approvals.submit(claim("sales_rep", 4000, line), actor("sales_rep"))
    assert [s[0] for s in route_of(request_id)] == ["unit_head", "branch_head", "role"]


def test_a_department_heads_claim_goes_to_the_branch_leader__BRD_8_2_1(line):
    request_id = approvals.submit(claim("sales_head", 4000, line), actor("sales_head"))
    raw = approvals.load(request_id)
    assert raw["current_approver"] == person("branch_head").pk
    assert raw["steps"][0]["note"] == "moved_up"
    with pytest.raises(Refused):
        approvals.decide(request_id, actor("sales_head"), "approve")
    assert walk(request_id, "branch_head", "finance")["state"] == "approved"


def test_the_branch_leader_decides_once_when_two_steps_resolve_to_them__BRD_8_2_2(line):
    request_id = approvals.submit(claim("sales_head", 6000, line), actor("sales_head"))
    assert route_of(request_id) == [("unit_head", "李志强", "current"), ("branch_head", "李志强", "skipped"),
                                    ("role", "Finance", "waiting")]
    assert walk(request_id, "branch_head", "finance")["state"] == "approved"


def test_a_branch_leaders_own_claim_goes_to_the_company_head__BRD_8_2_1(db):
    office = budget_line("BR-EAST", annual="20000")
    request_id = approvals.submit(claim("branch_head", 4000, office), actor("branch_head"))
    assert route_of(request_id)[0][:2] == ("unit_head", "郑国华")


def test_budget_increase_needs_the_department_head__FSS_7_3_2(line):
    from models.finance import BudgetIncrease

    increase = BudgetIncrease(budget=line, amount=Decimal("1000"), reason="展会",
                              requested_by=person("sales_rep")).save()
    request_id = approvals.submit(increase, actor("sales_rep"))
    assert route_of(request_id) == [("unit_head", "张伟", "current")]
    assert walk(request_id, "sales_head")["state"] == "approved"


def test_a_budget_needs_the_branch_leader__SOC_6_1(db):
    from models.finance import Budget

    draft = Budget(year=local_today().year, owner_unit=line_unit(), kind="cost", category="rent",
                   annual_amount=Decimal("1200"), quarters=[Decimal("300")] * 4).save()
    request_id = approvals.submit(draft, actor("finance"))
    assert route_of(request_id) == [("branch_head", "李志强", "current")]
    assert Budget.objects(pk=draft.pk).first().requested_by.pk == person("finance").pk
    walk(request_id, "branch_head")
    assert Budget.objects(pk=draft.pk).first().status == "approved"


def line_unit():
    from tests.approvals_kit import unit

    return unit("BR-SALES")


def test_leave_needs_the_department_head__FSS_4_1_1(db):
    request_id = approvals.submit(leave("sales_rep", local_today() + dt.timedelta(days=3)), actor("sales_rep"))
    assert route_of(request_id) == [("unit_head", "张伟", "current")]
    assert walk(request_id, "sales_head")["state"] == "approved"


def test_leave_cannot_be_submitted_after_it_started__FSS_4_1_1(db):
    late = leave("sales_rep", local_today() - dt.timedelta(days=1))
    with pytest.raises(Refused, match="before it starts"):
        approvals.submit(late, actor("sales_rep"))
    assert late.reload().status == "draft"
    assert not ApprovalRequest.objects(doc_id=late.pk)


def test_leave_starting_today_may_still_be_submitted__FSS_4_1_1(db):
    approvals.submit(leave("sales_rep", local_today()), actor("sales_rep"))


# ---- rules every route obeys ------------------------------------------------------------------------
def test_nobody_approves_their_own_request__DOMAIN_4(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    with pytest.raises(Refused, match="own request"):
        approvals.decide(request_id, actor("sales_rep", "DeptHead", "Finance"), "approve")


def test_a_step_is_decided_only_by_its_approver__DOMAIN_4(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    with pytest.raises(Refused, match="someone else"):
        approvals.decide(request_id, actor("service_head"), "approve")


def test_nobody_decides_two_steps_of_one_request__DOMAIN_4(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    walk(request_id, "sales_head")
    with pytest.raises(Refused, match="already decided"):
        approvals.decide(request_id, actor("sales_head", "Finance"), "approve")


def test_reject_without_a_reason_is_refused_and_with_one_is_final__DOMAIN_4(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    with pytest.raises(Refused, match="reason"):
        approvals.decide(request_id, actor("sales_head"), "reject", "   ")
    assert approvals.load(request_id)["state"] == "pending"
    raw = walk(request_id, "sales_head", action="reject", comment="发票不合规")
    assert raw["state"] == "rejected"
    document = ExpenseClaim.objects(pk=raw["doc_id"]).first()
    assert document.status == "rejected" and not document.editable
    with pytest.raises(Refused):
        approvals.submit(document, actor("sales_rep"))


def test_return_needs_a_reason_and_resubmission_restarts_the_route__DOMAIN_4(line):
    document = claim("sales_rep", 6000, line)
    request_id = approvals.submit(document, actor("sales_rep"))
    walk(request_id, "sales_head")
    with pytest.raises(Refused, match="reason"):
        approvals.decide(request_id, actor("branch_head"), "return", "")
    walk(request_id, "branch_head", action="return", comment="请补充行程单")
    document.reload()
    assert document.status == "returned" and document.editable
    document.title = "客户拜访差旅（补充行程单）"
    document.save()
    assert approvals.submit(document, actor("sales_rep")) == request_id
    raw = approvals.load(request_id)
    assert raw["round"] == 2 and raw["current"] == 0 and raw["deciders"] == []
    assert walk(request_id, "sales_head", "branch_head", "finance")["state"] == "approved"


def test_return_to_an_earlier_step_asks_that_approver_again__DOMAIN_4(line):
    request_id = approvals.submit(claim("sales_rep", 6000, line), actor("sales_rep"))
    walk(request_id, "sales_head")
    approvals.decide(request_id, actor("branch_head"), "return", "金额请部门经理再核", to_step=0)
    raw = approvals.load(request_id)
    assert raw["state"] == "pending" and raw["current"] == 0 and raw["deciders"] == []
    assert walk(request_id, "sales_head", "branch_head", "finance")["state"] == "approved"


def test_withdraw_only_by_the_requester_before_the_first_decision(line):
    first = claim("sales_rep", 100, line)
    request_id = approvals.submit(first, actor("sales_rep"))
    with pytest.raises(Refused):
        approvals.withdraw(request_id, actor("sales_head"))
    approvals.withdraw(request_id, actor("sales_rep"))
    assert first.reload().status == "withdrawn"
    second = approvals.submit(claim("sales_rep", 6000, line, title="第二笔"), actor("sales_rep"))
    walk(second, "sales_head")
    with pytest.raises(Refused, match="already decided"):
        approvals.withdraw(second, actor("sales_rep"))


def test_add_sign_puts_an_extra_approver_after_the_current_one(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    approvals.add_sign(request_id, actor("sales_head"), person("service_head").pk, "请客服部会签")
    assert [s[1] for s in route_of(request_id)] == ["张伟", "刘芳", "Finance"]
    with pytest.raises(Refused):  # the requester cannot be added
        approvals.add_sign(request_id, actor("sales_head"), person("sales_rep").pk)
    assert walk(request_id, "sales_head", "service_head", "finance")["state"] == "approved"


def test_transfer_hands_the_current_step_to_another_approver(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    approvals.transfer(request_id, actor("sales_head"), person("service_head").pk, "出差中，请代审")
    with pytest.raises(Refused):
        approvals.decide(request_id, actor("sales_head"), "approve")
    walk(request_id, "service_head")
    assert approvals.load(request_id)["current_role"] == "Finance"


def test_cc_lets_people_follow_and_notifies_them(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    approvals.copy_to(request_id, actor("sales_rep"), [person("sales_clerk").pk], "供参考")
    assert person("sales_clerk").pk in approvals.load(request_id)["cc"]
    assert Notification.objects(recipient=person("sales_clerk").pk, kind="cc").count() == 1
    assert approvals.may_view(approvals.load(request_id), actor("sales_clerk"))
    assert not approvals.may_view(approvals.load(request_id), actor("service_clerk"))


def test_urge_reminds_the_approver_at_most_once_an_hour(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    now = dt.datetime(2030, 1, 1, 9, 0)
    approvals.urge(request_id, actor("sales_rep"), now=now)
    with pytest.raises(Refused, match="less than an hour"):
        approvals.urge(request_id, actor("sales_rep"), now=now + dt.timedelta(minutes=59))
    approvals.urge(request_id, actor("sales_rep"), now=now + dt.timedelta(minutes=61))
    assert Notification.objects(recipient=person("sales_head").pk, kind="urged").count() == 2
    with pytest.raises(Refused):
        approvals.urge(request_id, actor("sales_clerk"), now=now + dt.timedelta(hours=3))


def test_a_deputy_approves_on_behalf_of_the_head_within_the_delegation__DSC_2_2_2(line):
    today = local_today()
    ApprovalDelegation(delegator=person("sales_head"), deputy=person("service_head"), start=today,
                       end=today + dt.timedelta(days=3), reason="年假").save()
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    assert request_id in [r["_id"] for r in approvals.inbox(actor("service_head"), today)]
    walk(request_id, "service_head", comment="代张伟审批")
    raw = approvals.load(request_id)
    assert raw["steps"][0]["decided_by_name"] == person("service_head").name
    assert raw["steps"][0]["on_behalf_of_name"] == person("sales_head").name
    assert raw["history"][-1]["on_behalf_of_name"] == person("sales_head").name
    with pytest.raises(Refused, match="already decided"):  # the head cannot decide the next step either
        approvals.decide(request_id, actor("sales_head", "Finance"), "approve")


def test_a_deputy_outside_the_delegation_window_cannot_decide__DSC_2_2_2(line):
    today = local_today()
    ApprovalDelegation(delegator=person("sales_head"), deputy=person("service_head"),
                       start=today + dt.timedelta(days=5), end=today + dt.timedelta(days=9)).save()
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    with pytest.raises(Refused):
        approvals.decide(request_id, actor("service_head"), "approve")


def test_twenty_concurrent_approvals_of_one_step_give_exactly_one_decision__DOMAIN_4(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    head = actor("sales_head")
    barrier = threading.Barrier(20)
    outcomes = []

    def click():
        barrier.wait()
        try:
            approvals.decide(request_id, head, "approve")
            outcomes.append("ok")
        except Refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    raw = approvals.load(request_id)
    assert outcomes.count("ok") == 1 and outcomes.count("refused") == 19
    assert [e["action"] for e in raw["history"]].count("approve") == 1
    assert raw["current_role"] == "Finance"


def test_routes_are_data_an_admin_adds_a_step_without_code__DOMAIN_4(line):
    route = ApprovalRoute.objects(code="EXPENSE").first()
    route.steps.insert(1, RouteStep(label="法务复核", approver="role", role="Legal", condition="amount_above",
                                    threshold=Decimal("200")))
    route.save()
    request_id = approvals.submit(claim("sales_rep", 300, line), actor("sales_rep"))
    assert [s[1] for s in route_of(request_id)] == ["张伟", "Legal", "Finance"]
    assert walk(request_id, "sales_head", "legal", "finance")["state"] == "approved"


def test_a_route_validates_its_steps():
    from mongoengine import ValidationError

    with pytest.raises(ValidationError):
        ApprovalRoute(code="X", name="x", document="ExpenseClaim", active=False,
                      steps=[RouteStep(approver="role")]).validate()


def test_decisions_notify_the_requester_and_the_next_approvers(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))

    def told(username, kind):
        return Notification.objects(recipient=person(username).pk, kind=kind,
                                    link=approvals.REQUEST_PATH.format(id=request_id)).count()

    assert told("sales_head", "waiting") == 1
    walk(request_id, "sales_head")
    assert (told("finance", "waiting"), told("sales_rep", "decided")) == (1, 1)
    walk(request_id, "finance")
    assert told("sales_rep", "approved") == 1


# ---- found in review: each stays fixed --------------------------------------------------------------------
def test_no_withdraw_after_a_decision_in_a_later_round(line):
    document = claim("sales_rep", 100, line)
    request_id = approvals.submit(document, actor("sales_rep"))
    approvals.decide(request_id, actor("sales_head"), "return", "补充说明")
    approvals.submit(document.reload(), actor("sales_rep"))
    walk(request_id, "sales_head")
    with pytest.raises(Refused, match="already decided"):
        approvals.withdraw(request_id, actor("sales_rep"))
    assert approvals.load(request_id)["history"][-1]["round"] == 2


def test_whoever_submits_for_a_colleague_does_not_approve_it__maker_checker(line):
    document = claim("sales_rep", 100, line)
    request_id = approvals.submit(document, actor("sales_head"))  # the head files his employee's claim
    raw = approvals.load(request_id)
    assert raw["current_approver"] == person("branch_head").pk and raw["submitter"] == person("sales_head").pk
    with pytest.raises(Refused, match="own request"):
        approvals.decide(request_id, actor("sales_head"), "approve")
    assert request_id not in [r["_id"] for r in approvals.inbox(actor("sales_head"), local_today())]


def test_a_cc_reader_cannot_copy_the_request_on(line):
    request_id = approvals.submit(claim("sales_rep", 100, line), actor("sales_rep"))
    approvals.copy_to(request_id, actor("sales_rep"), [person("sales_clerk").pk])
    with pytest.raises(Refused):
        approvals.copy_to(request_id, actor("sales_clerk"), [person("service_clerk").pk])
