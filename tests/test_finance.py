"""Finance (DOMAIN 3.6): money in fen, budget breakdowns, the budget gate, actuals from paid claims, claim forms."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.approvals import ApprovalRequest
from models.audit import AuditEntry
from models.finance import Budget, BudgetIncrease, ExpenseClaim
from portal import approvals, finance
from portal.approvals import Refused
from portal.compat import flatten_errors
from portal.settings import local_today
from tests.approvals_kit import actor, budget_line, claim, person, unit

PDF = b"%PDF-1.4\n% receipt\n"


def test_money_is_stored_as_whole_fen_and_read_as_decimal(db):
    line = budget_line(annual="1234.565")
    raw = Budget._get_collection().find_one({"_id": line.pk})
    assert raw["annual_amount"] == 123457  # half up, in fen: no float anywhere
    assert Budget.objects(pk=line.pk).first().annual_amount == Decimal("1234.57")
    assert Budget.objects(pk=line.pk, annual_amount__gt=Decimal("1234.56")).count() == 1


def test_a_claims_total_is_the_sum_of_its_items(db):
    document = claim("sales_rep", "0.10", budget_line())
    document.items.append(document.items[0].__class__(date=document.items[0].date, purpose="餐费",
                                                      amount=Decimal("0.20")))
    document.save()
    assert document.reload().total == Decimal("0.30")


def test_budget_quarters_must_add_up_to_the_annual_amount__DSC_5_1_2(db):
    line = Budget(year=2026, owner_unit=unit("BR-SALES"), kind="cost", category="rent",
                  annual_amount=Decimal("1000"), quarters=[Decimal("250")] * 3 + [Decimal("200")])
    with pytest.raises(ValidationError) as error:
        line.validate()
    assert "quarters" in flatten_errors(error.value)


def test_budget_months_fill_the_quarters_and_must_match_them__DSC_5_1_2(db):
    line = Budget(year=2026, owner_unit=unit("BR-SALES"), kind="cost", category="rent",
                  annual_amount=Decimal("1200"), months=[Decimal("100")] * 12)
    line.validate()
    assert line.quarters == [Decimal("300.00")] * 4
    line.months = [Decimal("100")] * 11 + [Decimal("99")]
    line.quarters = [Decimal("300")] * 4
    with pytest.raises(ValidationError):
        line.validate()


def test_a_claim_over_its_budget_cannot_be_submitted_until_an_increase_is_approved__FSS_7_3_2(db):
    line = budget_line(annual="5000")
    first = claim("sales_rep", 4000, line)
    approvals.submit(first, actor("sales_rep"))
    second = claim("sales_rep", 1500, line, title="第二次拜访")
    assert finance.excess_for(second) == Decimal("500.00")
    with pytest.raises(finance.BudgetExceeded) as refused:
        approvals.submit(second, actor("sales_rep"))
    assert refused.value.excess == Decimal("500.00")
    assert second.reload().status == "draft"
    increase = BudgetIncrease(budget=line, amount=Decimal("500"), reason="客户增加",
                              requested_by=person("sales_rep")).save()
    increase_request = approvals.submit(increase, actor("sales_rep"))
    with pytest.raises(finance.BudgetExceeded):  # not approved yet
        approvals.submit(second, actor("sales_rep"))
    approvals.decide(increase_request, actor("sales_head"), "approve")
    approvals.submit(second, actor("sales_rep"))
    assert second.reload().status == "pending"


def test_a_rejected_claim_frees_its_budget(db):
    line = budget_line(annual="1000")
    first = claim("sales_rep", 1000, line)
    request_id = approvals.submit(first, actor("sales_rep"))
    approvals.decide(request_id, actor("sales_head"), "reject", "重复报销")
    approvals.submit(claim("sales_rep", 1000, line, title="重新报销"), actor("sales_rep"))


def test_paid_claims_are_the_budgets_actual_spend__DSC_5_1_3(db):
    line = budget_line(annual="10000")
    document = claim("sales_rep", 2500, line)
    request_id = approvals.submit(document, actor("sales_rep"))
    for username in ("sales_head", "finance"):
        approvals.decide(request_id, actor(username), "approve")
    figures = finance.attach_figures([line])[0]
    assert (figures.committed, figures.actual, figures.variance) == (Decimal("2500"), Decimal("0"), Decimal("10000"))
    finance.pay(document.reload(), actor("finance"))
    figures = finance.attach_figures([Budget.objects(pk=line.pk).first()])[0]
    assert (figures.actual, figures.variance, figures.available) == (Decimal("2500"), Decimal("7500"),
                                                                      Decimal("7500"))
    with pytest.raises(Refused):
        finance.pay(document.reload(), actor("finance"))
    assert approvals.load(request_id)["history"][-1]["action"] == "pay"


def test_a_claim_can_only_charge_its_units_budget_lines(db):
    other = budget_line("BR-CS")
    with pytest.raises(ValidationError) as error:
        claim("sales_rep", 100, other)
    assert "budget" in flatten_errors(error.value)


# ---- through the screens ----------------------------------------------------------------------------
def claim_form(line, amount="1200.00", **extra):
    today = local_today()
    return {"claimant": str(person("sales_rep").pk), "title": "展会差旅", "budget": str(line.pk),
            "items-0-date": max(today - dt.timedelta(days=1), dt.date(today.year, 1, 1)).isoformat(),
            "items-0-place": "杭州", "items-0-purpose": "住宿", "items-0-amount": amount, **extra}


def test_a_claimant_files_a_claim_with_a_receipt_and_submits_it__BRD_8_2_3(as_role, db):
    line = budget_line(annual="20000")
    rep = as_role("Employee")
    data = {**claim_form(line), "items-0-receipt": (io.BytesIO(PDF), "发票.pdf")}
    response = rep.post_form("/expenseclaimview/add", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:2000]
    document = ExpenseClaim.objects(budget=line).first()
    assert document.total == Decimal("1200.00") and document.items[0].receipt.filename == "发票.pdf"
    page = rep.get(f"/expenseclaimview/show/{document.pk}").data.decode()
    assert "发票.pdf" in page and "Submit for approval" in page
    receipt = rep.get(f"/expenseclaimview/receipt/{document.pk}/0")
    assert receipt.data == PDF and "attachment" in receipt.headers["Content-Disposition"]
    response = rep.post_form(f"/expenseclaimview/submit/{document.pk}", {},
                             form_url=f"/expenseclaimview/show/{document.pk}")
    assert response.status_code == 302 and "/approvals/request/" in response.headers["Location"]
    assert document.reload().status == "pending"


def test_a_bad_item_is_shown_next_to_its_cell_and_the_input_is_kept(as_role, db):
    line = budget_line()
    rep = as_role("Employee")
    response = rep.post_form("/expenseclaimview/add", claim_form(line, amount="-5"))
    page = response.data.decode()
    assert response.status_code == 200 and not ExpenseClaim.objects(budget=line).first()
    assert 'value="展会差旅"' in page and "portal-lines" in page and "text-danger" in page


def test_a_forged_receipt_reference_is_ignored(as_role, db):
    line = budget_line()
    rep = as_role("Employee")
    response = rep.post_form("/expenseclaimview/add", {**claim_form(line), "items-0-receipt": "forged.value"})
    assert response.status_code == 302
    assert ExpenseClaim.objects(budget=line).first().items[0].receipt is None


def test_the_claim_page_offers_a_budget_increase_for_the_excess__FSS_7_3_2(as_role, db):
    line = budget_line(annual="1000")
    document = claim("sales_rep", 1500, line)
    rep = as_role("Employee")
    page = rep.get(f"/expenseclaimview/show/{document.pk}").data.decode()
    assert "500.00" in page and "/budgetincreaseview/add?" in page
    response = rep.post_form(f"/expenseclaimview/submit/{document.pk}", {},
                             form_url=f"/expenseclaimview/show/{document.pk}", follow_redirects=True)
    assert "over the limit" in response.data.decode() and document.reload().status == "draft"
    form = rep.get(f"/budgetincreaseview/add?budget={line.pk}&amount=500.00&reason=x").data.decode()
    assert 'value="500.00"' in form


def test_an_approved_claim_is_read_only_except_for_an_audited_admin_override__DOMAIN_4(as_role, db):
    line = budget_line()
    document = claim("sales_rep", 300, line)
    request_id = approvals.submit(document, actor("sales_rep"))
    for username in ("sales_head", "finance"):
        approvals.decide(request_id, actor(username), "approve")
    document.reload()
    data = {**claim_form(line, amount="300.00"), "title": "改过的标题", "version": str(document.version)}
    finance_user = as_role("Finance")
    response = finance_user.post_form(f"/expenseclaimview/edit/{document.pk}", data, follow_redirects=True)
    assert "can no longer be edited" in response.data.decode()
    assert document.reload().title == "客户拜访差旅"
    response = as_role("Admin").post_form(f"/expenseclaimview/edit/{document.pk}", data)
    assert response.status_code == 302 and document.reload().title == "改过的标题"
    entry = AuditEntry.objects(record_id=str(document.pk), action="update").order_by("-at").first()
    assert entry.user == "admin" and "Admin override" in entry.note


def test_finance_marks_an_approved_claim_paid(as_role, db):
    document = claim("sales_rep", 300, budget_line())
    request_id = approvals.submit(document, actor("sales_rep"))
    for username in ("sales_head", "finance"):
        approvals.decide(request_id, actor(username), "approve")
    assert as_role("Employee").post_form(f"/expenseclaimview/pay/{document.pk}", {},
                                         form_url="/resetmypassword/form").status_code == 302
    assert document.reload().status == "approved"  # the claimant has no can_pay: refused
    finance_user = as_role("Finance")
    finance_user.post_form(f"/expenseclaimview/pay/{document.pk}", {}, form_url=f"/expenseclaimview/show/{document.pk}")
    assert document.reload().status == "paid" and document.paid_by == "finance"


def test_only_a_never_submitted_draft_can_be_deleted(as_role, db):
    document = claim("sales_rep", 300, budget_line())
    approvals.submit(document, actor("sales_rep"))
    rep = as_role("Employee")
    rep.get(f"/expenseclaimview/delete/{document.pk}")
    assert ExpenseClaim.objects(pk=document.pk).first() is not None
    assert ApprovalRequest.objects(doc_id=document.pk).count() == 1


def test_the_budget_list_shows_derived_spending(as_role, db):
    line = budget_line(annual="8000")
    document = claim("sales_rep", 2000, line)
    request_id = approvals.submit(document, actor("sales_rep"))
    for username in ("sales_head", "finance"):
        approvals.decide(request_id, actor(username), "approve")
    finance.pay(document.reload(), actor("finance"))
    page = as_role("Finance").get(f"/budgetview/show/{line.pk}").data.decode()
    assert "2,000.00" in page and "6,000.00" in page


def test_nobody_pays_their_own_claim(db):
    document = claim("finance", 300, budget_line("BR-FIN"))
    ExpenseClaim._get_collection().update_one({"_id": document.pk}, {"$set": {"status": "approved"}})
    with pytest.raises(Refused, match="own claim"):
        finance.pay(document.reload(), actor("finance"))


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "1e30"])
def test_absurd_numbers_get_a_message_not_an_error(as_role, db, value):
    finance_user = as_role("Finance")
    data = {"year": str(local_today().year), "owner_unit": str(unit("BR-SALES").pk), "kind": "cost",
            "category": "rent", "annual_amount": value, "quarters": ["1", "1", "1", value]}
    response = finance_user.post_form("/budgetview/add", data)
    assert response.status_code == 200 and "Enter" in response.data.decode()
    assert finance_user.get(f"/budgetincreaseview/add?amount={value}").status_code == 200
    assert finance_user.get(f"/budgetview/list/?_flt_0_annual_amount={value}").status_code == 200
