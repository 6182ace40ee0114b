"""Expense standards, expense plans and fund reconciliations as their users work them: journeys, refusals shown in
place, scope, every page rendering, and the round-trip budgets of the lists and the plan's page."""

import datetime as dt
from decimal import Decimal

import pytest

from models.finance import ExpenseClaim, ExpensePlan, ExpenseStandard, FundReconciliation, PlanLine
from portal import approvals
from portal.settings import local_today
from tests.approvals_kit import actor, budget_line, person, unit
from tests.conftest import data_round_trips

YEAR = local_today().year
JAN_2 = dt.date(YEAR, 1, 2)
FORM = "/resetmypassword/form"  # a page with a CSRF token for readers, whose record pages have no forms


def text(response) -> str:
    return response.data.decode()


def claim_form(line, amount="620.00", **extra) -> dict:
    return {"claimant": str(person("sales_rep").pk), "title": "办公用品采购", "budget": str(line.pk),
            "items-0-date": JAN_2.isoformat(), "items-0-purpose": "打印机硒鼓", "items-0-amount": amount,
            "items-0-invoice_no": "INV-88", **extra}


def plan_of(username="sales_rep") -> ExpensePlan:
    return ExpensePlan(salesperson=person(username), period_kind="quarter", period=f"{YEAR}-Q1", lines=[
        PlanLine(category="office", amount=Decimal("1000"), planned_on=JAN_2, purpose="办公用品")]).save()


def reconciliation(book="1000.00", actual="950.00", **fields) -> FundReconciliation:
    return FundReconciliation(account_kind="cash", account="库存现金 测试", reconciled_on=local_today(),
                              book_balance=Decimal(book), actual_balance=Decimal(actual),
                              prepared_by=person("finance"), owner_unit=unit("BR-FIN"), **fields).save()


# ---- journeys ----------------------------------------------------------------------------------------------
def test_finance_sets_a_standard_and_a_claimant_explains_the_excess_next_to_the_item__MIC_費用管理_1(as_role, db):
    finance_user = as_role("Finance")
    response = finance_user.post_form("/expense-standards/add", {"category": "office", "per": "item",
                                                                 "cap": "500.00", "active": "y"})
    assert response.status_code == 302, text(response)
    assert ExpenseStandard.objects(category="office").first().cap == Decimal("500.00")
    rep = as_role("Employee")
    assert rep.get("/expense-standards/list/").status_code == 200  # everyone reads the standards
    assert rep.get("/expense-standards/add").status_code == 302  # only Finance keeps them
    line = budget_line(category="office")
    refused = rep.post_form("/expenseclaimview/add", claim_form(line))
    page = text(refused)
    assert refused.status_code == 200 and not ExpenseClaim.objects(budget=line).first()
    assert "above the standard of ¥500.00 per item" in page and 'value="打印机硒鼓"' in page
    response = rep.post_form("/expenseclaimview/add", claim_form(line, **{"items-0-excess_reason": "原装硒鼓缺货"}))
    assert response.status_code == 302, text(response)
    saved = ExpenseClaim.objects(budget=line).first()
    assert saved.over_standard and saved.items[0].cap == Decimal("500.00")
    page = text(rep.get(f"/expenseclaimview/show/{saved.pk}"))
    assert "Above the standard" in page and "原装硒鼓缺货" in page
    assert "Items above the expense standard of their category: 1." in page


def test_a_salesperson_plans_the_head_approves_and_claims_are_set_against_the_plan__FSS_7_1_2(as_role, db):
    rep = as_role("Employee")
    response = rep.post_form("/expense-plans/add", {
        "salesperson": str(person("sales_rep").pk), "period_kind": "quarter", "period": f"{YEAR}-q1",
        "lines-0-category": "office", "lines-0-amount": "1000.00", "lines-0-planned_on": JAN_2.isoformat(),
        "lines-0-purpose": "办公用品", "note": "一季度"})
    assert response.status_code == 302, text(response)
    plan = ExpensePlan.objects(salesperson=person("sales_rep"), period=f"{YEAR}-Q1").first()
    assert plan.total == Decimal("1000.00") and plan.number.startswith("FY-")
    assert rep.post_form(f"/expense-plans/submit/{plan.pk}", {}, f"/expense-plans/show/{plan.pk}").status_code == 302
    head = as_role("sales_head")
    page = f"/approvals/request/{plan.reload().approval}"
    assert head.post_form(f"{page}/approve", {"comment": "同意"}, page).status_code == 302
    assert plan.reload().status == "approved"
    assert f"/expenseclaimview/add?plan={plan.pk}" in text(rep.get(f"/expense-plans/show/{plan.pk}"))
    assert plan.number in text(rep.get(f"/expenseclaimview/add?plan={plan.pk}"))
    line = budget_line(category="office")
    response = rep.post_form("/expenseclaimview/add", claim_form(line, amount="400.00", plan=str(plan.pk)))
    assert response.status_code == 302, text(response)
    document = ExpenseClaim.objects(plan=plan).first()
    approvals.submit(document, actor("sales_rep"))
    page = text(rep.get(f"/expense-plans/show/{plan.pk}"))
    assert "Planned and claimed" in page and "400.00" in page and "600.00" in page  # pending; left of 1,000


def test_a_claim_cannot_name_another_persons_plan__FSS_7_1_2(as_role, db):
    theirs = plan_of("sales_clerk")
    approvals.decide(approvals.submit(theirs, actor("sales_clerk")), actor("sales_head"), "approve")
    clerk = as_role("Clerk")  # keeps claims of the unit, so the colleague's plan is in the select
    response = clerk.post_form("/expenseclaimview/add",
                               claim_form(budget_line(category="office"), amount="10.00", plan=str(theirs.pk)))
    assert response.status_code == 200 and "Choose an expense plan of the claimant." in text(response)


def test_finance_reconciles_another_member_reviews_once_the_difference_is_explained__DSC_5_4_2(
        as_role, db, make_employee, make_user, signed_in):
    preparer = as_role("Finance")
    response = preparer.post_form("/fund-reconciliations/add", {
        "account_kind": "cash", "account": "库存现金 保险柜", "reconciled_on": local_today().isoformat(),
        "book_balance": "1000.00", "actual_balance": "950.00"})
    assert response.status_code == 302, text(response)
    found = FundReconciliation.objects(account="库存现金 保险柜").first()
    assert found.prepared_by.pk == person("finance").pk and found.difference == Decimal("-50.00")
    url = f"/fund-reconciliations/show/{found.pk}"
    page = text(preparer.get(url))
    assert "stays open until it is" in page and "/fund-reconciliations/review/" in page
    refused = preparer.post_form(f"/fund-reconciliations/review/{found.pk}", {"note": "ok"}, url)
    assert refused.status_code == 422 and "not the person who prepared it" in text(refused)
    colleague = signed_in(make_user("Finance", "Employee", employee=make_employee(unit("BR-FIN"))))
    refused = colleague.post_form(f"/fund-reconciliations/review/{found.pk}", {"note": "ok"}, url)
    assert refused.status_code == 422 and "is not explained yet" in text(refused)
    edit = {"account_kind": "cash", "account": "库存现金 保险柜", "reconciled_on": local_today().isoformat(),
            "book_balance": "1000.00", "actual_balance": "950.00", "explanation": "快递费垫付未报销",
            "version": str(found.reload().version)}
    assert preparer.post_form(f"/fund-reconciliations/edit/{found.pk}", edit).status_code == 302
    done = colleague.post_form(f"/fund-reconciliations/review/{found.pk}", {"note": "凭证已核"}, url)
    assert done.status_code == 302 and found.reload().status == "reviewed"
    edit.update(explanation="改过", version=str(found.version))
    response = preparer.post_form(f"/fund-reconciliations/edit/{found.pk}", edit, follow_redirects=True)
    assert "can no longer be changed" in text(response) and found.reload().explanation == "快递费垫付未报销"


def test_the_list_shows_the_difference_in_colour__DSC_5_4_2(as_role, db):
    reconciliation("1000.00", "950.00")
    page = text(as_role("Auditor").get("/fund-reconciliations/list/"))
    assert '<strong class="text-danger">-50.00</strong>' in page
    assert '<strong class="text-success">0.00</strong>' in page  # the demo's bank reconciliation


# ---- scope -------------------------------------------------------------------------------------------------
def test_plans_are_kept_by_their_person_and_unit_and_only_read_by_finance_and_auditor__FSS_7_1_2(as_role, db):
    plan = plan_of("sales_clerk")
    show = f"/expense-plans/show/{plan.pk}"
    assert as_role("Employee").get(show).status_code == 404  # a colleague's plan
    assert as_role("service_clerk").get(show).status_code == 404  # another department
    assert as_role("sales_head").get(show).status_code == 200
    for role in ("Finance", "Auditor"):
        reader = as_role(role)
        page = text(reader.get(show))
        assert plan.number in page and "Submit for approval" not in page
        reader.post_form(f"/expense-plans/submit/{plan.pk}", {}, FORM)
        form = {"salesperson": str(person("sales_clerk").pk), "period_kind": "quarter", "period": f"{YEAR}-Q1",
                "lines-0-category": "office", "lines-0-amount": "1.00", "lines-0-planned_on": JAN_2.isoformat(),
                "lines-0-purpose": "改", "version": str(plan.reload().version)}
        response = reader.post_form(f"/expense-plans/edit/{plan.pk}", form, FORM)
        assert "You may read this record but not change it." in text(response)
        assert (plan.reload().status, plan.total) == ("draft", Decimal("1000.00"))


def test_reconciliations_are_kept_by_finance_and_read_by_the_auditor__DSC_5_4_2(as_role, db):
    found = reconciliation(explanation="已说明")
    auditor = as_role("Auditor")
    assert auditor.get(f"/fund-reconciliations/show/{found.pk}").status_code == 200
    auditor.post_form(f"/fund-reconciliations/review/{found.pk}", {}, FORM)
    assert found.reload().status == "open"  # no can_review
    for role in ("Employee", "Clerk", "DeptHead"):
        assert as_role(role).get("/fund-reconciliations/list/").status_code == 302


# ---- every page of the area renders for Admin ------------------------------------------------------------
PAGES = ["/expense-standards/list/", "/expense-standards/add", "/expense-plans/list/", "/expense-plans/add",
         "/fund-reconciliations/list/", "/fund-reconciliations/add", "/expenseclaimview/list/",
         "/expenseclaimview/add"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_of_expenses_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


@pytest.mark.parametrize(("document", "route"), [(ExpenseStandard, "expense-standards"),
                                                 (ExpensePlan, "expense-plans"),
                                                 (FundReconciliation, "fund-reconciliations"),
                                                 (ExpenseClaim, "expenseclaimview")])
def test_every_demo_record_page_renders(as_role, db, document, route):
    admin = as_role("Admin")
    rows = list(document._get_collection().find({}, {"_id": 1}).limit(8))
    assert rows, "the demo has records of every kind"
    for raw in rows:
        assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200


def test_bad_input_is_answered_in_place(as_role, db):
    admin = as_role("Admin")
    response = admin.post_form("/expense-plans/add", {"salesperson": str(person("sales_rep").pk),
                                                      "period_kind": "month", "period": "May",
                                                      "lines-0-category": "office", "lines-0-amount": "1e30",
                                                      "lines-0-planned_on": "2026-02-31", "lines-0-purpose": "x"})
    assert response.status_code == 200 and "text-danger" in text(response)
    response = admin.post_form("/fund-reconciliations/add", {"account_kind": "bank", "account": "x",
                                                             "reconciled_on": "2999-01-01", "book_balance": "NaN",
                                                             "actual_balance": "1"})
    assert response.status_code == 200 and not FundReconciliation.objects(account="x").first()
    assert admin.get("/fund-reconciliations/statement/not-an-id").status_code == 404
    assert admin.get("/expenseclaimview/add?plan=not-an-id").status_code == 200


# ---- round-trip budgets (PERFORMANCE.md) -------------------------------------------------------------------
def test_the_plan_page_costs_the_same_for_one_claim_or_many__FSS_7_1_2(counter, as_role, db):
    plan = plan_of()
    approvals.decide(approvals.submit(plan, actor("sales_rep")), actor("sales_head"), "approve")
    line = budget_line(category="office", annual="100000")
    admin, url = as_role("Admin"), f"/expense-plans/show/{plan.pk}"

    def claims(count):
        for _ in range(count):
            document = ExpenseClaim(claimant=person("sales_rep"), title="计划内报销", budget=line, plan=plan.reload(),
                                    items=[_item()]).save()
            approvals.submit(document, actor("sales_rep"))
        admin.get(url)
        counter.reset()
        assert admin.get(url).status_code == 200
        return data_round_trips(counter)

    assert claims(1) == claims(5)


def _item():
    from models.finance import ExpenseItem

    return ExpenseItem(date=JAN_2, purpose="办公用品", amount=Decimal("10.00"), invoice_no="INV-9")
