"""Rules of DOMAIN 3.6 for expense standards, expense plans and fund reconciliations, one test per rule, named
after its clause."""

import datetime as dt
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.finance import (
    ExpenseClaim,
    ExpenseItem,
    ExpensePlan,
    ExpenseStandard,
    FundReconciliation,
    PlanLine,
    flag_items,
)
from models.org import Position
from portal import approvals, finance
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, budget_line, fields_of, person, unit
from tests.sales_kit import tier

YEAR = local_today().year
JAN_1, JAN_2, JAN_3 = dt.date(YEAR, 1, 1), dt.date(YEAR, 1, 2), dt.date(YEAR, 1, 3)  # never in the future


def standard(cap, per="item", category="office", **fields) -> ExpenseStandard:
    return ExpenseStandard(category=category, per=per, cap=Decimal(cap), **fields).save()


def claim(claimant, line, *items, plan=None, save=True) -> ExpenseClaim:
    """`items`: (date, amount) or (date, amount, reason)."""
    document = ExpenseClaim(claimant=claimant, title="测试报销", budget=line, plan=plan, items=[
        ExpenseItem(date=day, purpose="办公用品", amount=Decimal(amount), invoice_no="INV-1",
                    excess_reason=rest[0] if rest else None) for day, amount, *rest in items])
    return document.save() if save else document


def plan_of(username="sales_rep", period=f"{YEAR}-Q1", lines=None, kind="quarter", **fields) -> ExpensePlan:
    """A first-quarter plan (the demo's plans are monthly, so they never cover the same period)."""
    lines = lines or [PlanLine(category="office", amount=Decimal("1000"), planned_on=JAN_2, purpose="办公用品"),
                      PlanLine(category="travel", amount=Decimal("2000"), planned_on=JAN_3, purpose="客户拜访")]
    return ExpensePlan(salesperson=person(username), period_kind=kind, period=period, lines=lines, **fields).save()


def approved_plan(username="sales_rep", **fields) -> ExpensePlan:
    plan = plan_of(username, **fields)
    approvals.decide(approvals.submit(plan, actor(username)), actor("sales_head"), "approve")
    return plan.reload()


def graded(make_employee, grade: str):
    """A new salesperson of 销售部 on a position of `grade`."""
    post = Position(name=f"测试岗位 {grade}", owner_unit=unit("BR-SALES"), grade=grade).save()
    return make_employee(unit("BR-SALES"), position=post, staff_kind="sales")


# ---- expense standards (MIC 財務管理/費用管理/1, SOC 6.4) -------------------------------------------------------
def test_an_item_above_its_standard_is_flagged_and_needs_a_reason__MIC_財務管理_費用管理_1(db):
    standard("500")
    line = budget_line(category="office")
    with pytest.raises(ValidationError) as refused:
        claim(person("sales_rep"), line, (JAN_1, "300"), (JAN_1, "620"))
    assert "¥500.00 per item" in _flat(refused)["items-1-excess_reason"]  # shown next to that item's reason
    saved = claim(person("sales_rep"), line, (JAN_1, "300"), (JAN_1, "620", "客户急需，当地唯一供应商"))
    saved.reload()
    assert [(i.over_cap, i.cap, i.cap_per) for i in saved.items] == [(False, None, None),
                                                                     (True, Decimal("500.00"), "item")]
    assert saved.over_standard and saved.items[1].excess_reason == "客户急需，当地唯一供应商"


def test_a_day_cap_counts_the_items_of_one_date_and_flags_the_item_that_takes_it_over__SOC_6_4(db):
    standard("1000", per="day")
    document = claim(person("sales_rep"), budget_line(category="office"), (JAN_1, "600"), (JAN_2, "900"),
                     (JAN_1, "500", "两场客户会议"), (JAN_1, "100", "同上"))
    # 1 Jan: 600, then 1,100 (over: flagged), then 1,200 (flagged); 2 Jan alone stays under the cap
    assert [i.over_cap for i in document.items] == [False, False, True, True]
    assert {i.cap_per for i in document.items if i.over_cap} == {"day"}


def test_a_trip_cap_counts_the_whole_claim__SOC_6_4(db):
    standard("1000", per="trip")
    line = budget_line(category="office")
    assert not claim(person("sales_rep"), line, (JAN_1, "600"), (JAN_2, "400")).over_standard  # exactly the cap
    with pytest.raises(ValidationError, match="per trip"):
        claim(person("sales_rep"), line, (JAN_1, "600"), (JAN_2, "400.01"))


def test_the_narrowest_cap_names_the_flag(db):
    items = [ExpenseItem(date=JAN_1, amount=Decimal("700")), ExpenseItem(date=JAN_1, amount=Decimal("400"))]
    flag_items(items, {"item": (Decimal("600"), None), "day": (Decimal("1000"), None)})
    assert [(i.over_cap, i.cap_per) for i in items] == [(True, "item"), (True, "day")]


def test_a_grade_or_tier_standard_takes_precedence_over_the_general_one__MIC_財務管理_費用管理_1(db, make_employee):
    manager, rep = graded(make_employee, "Z9"), graded(make_employee, "Z1")  # grades of new people only
    standard("500")
    standard("1500", grade="Z9")
    line = budget_line(category="office")
    assert not claim(manager, line, (JAN_1, "1200")).over_standard  # the grade's cap, not the general one
    with pytest.raises(ValidationError, match=r"¥500\.00"):
        claim(rep, line, (JAN_1, "1200"))  # no standard of grade Z1: the general one applies
    agents_line = budget_line("BR-AGENT", category="office")
    standard("800", agent_tier=tier(2))
    assert claim(person("agent"), agents_line, (JAN_1, "700")).over_standard is False  # the tier's cap
    with pytest.raises(ValidationError, match=r"¥800\.00"):
        claim(person("agent"), agents_line, (JAN_1, "900"))
    graded_agent = make_employee(unit("BR-AGENT"), staff_kind="agent", agent_tier=tier(2),
                                 position=manager.position)
    with pytest.raises(ValidationError, match=r"¥800\.00"):
        claim(graded_agent, agents_line, (JAN_1, "900"))  # the tier's cap, although grade Z9 allows 1,500


def test_every_item_belongs_to_the_budget_lines_category__MIC_財務管理_費用管理_1(db):
    standard("100", category="training")  # another category's standard does not apply
    document = claim(person("sales_rep"), budget_line(category="office"), (JAN_1, "900"))
    assert document.category == "office" and not document.over_standard


def test_a_retired_standard_no_longer_applies__MIC_財務管理_費用管理_1(db):
    standard("100", active=False)
    assert not claim(person("sales_rep"), budget_line(category="office"), (JAN_1, "900")).over_standard


def test_a_standard_is_for_a_grade_or_a_tier_and_not_twice_for_the_same_group__MIC_財務管理_費用管理_1(db):
    with pytest.raises(ValidationError) as both:
        ExpenseStandard(category="office", per="item", cap=Decimal(1), grade="P3", agent_tier=tier(2)).save()
    assert "agent_tier" in fields_of(both)
    with pytest.raises(ValidationError) as unknown:
        standard("1", grade="NO-SUCH-GRADE")
    assert "grade" in fields_of(unknown)
    standard("10", grade="p3")  # grades are compared as the positions write them
    assert ExpenseStandard.objects(category="office").first().grade == "P3"
    with pytest.raises(ValidationError) as twice:
        standard("20", grade="P3")
    assert "per" in fields_of(twice)


def test_a_claim_save_costs_the_same_queries_for_one_item_or_many__MIC_財務管理_費用管理_1(db, counter):
    standard("50")
    standard("5000", grade="P3")  # a grade's standard: the claimant's position is read as well
    line, plan = budget_line(category="office"), approved_plan()
    costs = []
    for count in (1, 12):
        document = claim(person("sales_rep"), line, *[(JAN_1, "60", "同一供应商")] * count, plan=plan, save=False)
        counter.reset()
        document.save()
        costs.append(dict(counter.by_collection()))
    assert costs[0] == costs[1], costs
    assert sum(costs[0].values()) <= 5, costs  # standards, position, the claim, its audit entry


# ---- expense plans (FSS 7(1)2) ----------------------------------------------------------------------------
def test_an_expense_plan_itemises_amount_date_and_purpose_within_its_period__FSS_7_1_2(db):
    plan = plan_of()
    assert plan.number.startswith("FY-") and plan.total == Decimal("3000.00")
    assert plan.owner_unit.pk == unit("BR-SALES").pk
    with pytest.raises(ValidationError) as outside:
        plan_of(period=f"{YEAR}-Q2")  # the lines are dated in January
    assert "lines-0-planned_on" in _flat(outside)
    with pytest.raises(ValidationError) as bad:
        plan_of(period="May")
    assert "period" in fields_of(bad)
    with pytest.raises(ValidationError) as empty:
        ExpensePlan(salesperson=person("sales_rep"), period_kind="quarter", period=f"{YEAR}-Q3", lines=[]).save()
    assert "lines" in fields_of(empty)
    with pytest.raises(ValidationError) as twice:
        plan_of()
    assert "period" in fields_of(twice)  # one plan per salesperson and period


def _flat(raised) -> dict:
    from portal.compat import flatten_errors

    return flatten_errors(raised.value)


def test_an_expense_plan_is_approved_by_the_department_head__FSS_7_1_2(db):
    plan = plan_of()
    request_id = approvals.submit(plan, actor("sales_rep"))
    raw = approvals.load(request_id)
    assert raw["route_code"] == "EXPENSE-PLAN" and [s["approver"] for s in raw["steps"]] == [person("sales_head").pk]
    with pytest.raises(Refused):
        approvals.decide(request_id, actor("finance"), "approve")
    approvals.decide(request_id, actor("sales_head"), "approve")
    assert plan.reload().status == "approved"


def test_a_claim_may_name_only_an_approved_plan_of_its_claimant__FSS_7_1_2(db):
    line = budget_line(category="office")
    draft = plan_of(kind="year", period=str(YEAR), lines=[PlanLine(category="office", amount=Decimal(1),
                                                                   planned_on=JAN_2, purpose="x")])
    with pytest.raises(ValidationError) as not_approved:
        claim(person("sales_rep"), line, (JAN_1, "10"), plan=draft)
    assert "plan" in fields_of(not_approved)
    theirs = approved_plan("sales_clerk")
    with pytest.raises(ValidationError) as not_mine:
        claim(person("sales_rep"), line, (JAN_1, "10"), plan=theirs)
    assert "plan" in fields_of(not_mine)
    assert claim(person("sales_rep"), line, (JAN_1, "10"), plan=approved_plan()).plan is not None


def test_the_plan_sets_its_claims_against_it_per_category_in_one_aggregation__FSS_7_1_2(db, counter):
    plan = approved_plan()
    office, travel = budget_line(category="office", annual="50000"), budget_line(category="travel", annual="50000")
    claim(person("sales_rep"), office, (JAN_1, "100"), plan=plan)  # a draft: not counted
    pending = claim(person("sales_rep"), office, (JAN_1, "250"), plan=plan)
    approvals.submit(pending, actor("sales_rep"))
    paid = claim(person("sales_rep"), travel, (JAN_1, "2300", "团队差旅"), plan=plan)
    request_id = approvals.submit(paid, actor("sales_rep"))
    for username in ("sales_head", "finance"):
        approvals.decide(request_id, actor(username), "approve")
    finance.pay(paid.reload(), actor("finance"))
    counter.reset()
    rows = {row["category"]: row for row in finance.plan_figures(plan)}
    assert counter.by_collection() == {"expense_claims": 1}
    assert (rows["office"]["planned"], rows["office"]["pending"], rows["office"]["left"]) == (
        Decimal("1000"), Decimal("250"), Decimal("750"))
    assert (rows["travel"]["paid"], rows["travel"]["left"]) == (Decimal("2300"), Decimal("-300"))
    assert (rows[None]["planned"], rows[None]["claimed"]) == (Decimal("3000"), Decimal("2550"))


# ---- fund reconciliations (DSC 5(4)2) ---------------------------------------------------------------------
def reconciliation(book="1000.00", actual="1000.00", preparer="finance", **fields) -> FundReconciliation:
    return FundReconciliation(account="工商银行 基本户 尾号 0001", reconciled_on=local_today(),
                              book_balance=Decimal(book), actual_balance=Decimal(actual),
                              prepared_by=person(preparer), owner_unit=unit("BR-FIN"), **fields).save()


def colleague(make_employee):
    from portal.approvals import Actor

    other = make_employee(unit("BR-FIN"), staff_kind="finance")
    return Actor(other.pk, other.name, "finance2", frozenset({"Finance", "Employee"}))


def test_the_difference_is_the_counted_or_bank_balance_less_the_book_balance__DSC_5_4_2(db):
    assert reconciliation("8650.00", "8530.00").difference == Decimal("-120.00")
    assert reconciliation("-50.00", "0.00").difference == Decimal("50.00")  # an overdrawn book balance is possible


def test_a_difference_stays_open_until_it_is_explained__DSC_5_4_2(db, make_employee):
    short = reconciliation("8650.00", "8530.00")
    reviewer = colleague(make_employee)
    with pytest.raises(Refused, match="not explained"):
        finance.review_reconciliation(short, reviewer)
    assert short.reload().status == "open"
    short.explanation = "备用金借条未入账"
    short.save()
    finance.review_reconciliation(short.reload(), reviewer, "已核对借条")
    assert (short.reload().status, short.reviewed_by, short.review_note) == ("reviewed", reviewer.name, "已核对借条")


def test_the_reviewer_is_not_the_preparer__DSC_5_4_2(db, make_employee):
    balanced = reconciliation()
    with pytest.raises(Refused, match="not the person who prepared it"):
        finance.review_reconciliation(balanced, actor("finance"))
    finance.review_reconciliation(balanced, colleague(make_employee))
    assert balanced.reload().status == "reviewed"


def test_a_reviewed_reconciliation_is_closed__DSC_5_4_2(db, make_employee):
    balanced = reconciliation()
    reviewer = colleague(make_employee)
    finance.review_reconciliation(balanced, reviewer)
    with pytest.raises(Refused, match="already reviewed"):
        finance.review_reconciliation(balanced.reload(), reviewer)
    with pytest.raises(ValidationError):
        finance.check_reconciliation_open(balanced.reload())


def test_a_reconciliation_changed_after_it_was_read_is_not_reviewed__DSC_5_4_2(db, make_employee):
    read = reconciliation("100.00", "90.00", explanation="零钱找错")
    fresh = FundReconciliation.objects(pk=read.pk).first()
    fresh.explanation = ""  # the preparer withdraws the explanation meanwhile
    fresh.save()
    with pytest.raises(Refused, match="a moment ago"):
        finance.review_reconciliation(read, colleague(make_employee))
    assert read.reload().status == "open"
