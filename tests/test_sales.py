"""Rules of DOMAIN 3.3 (sales): contracts, orders, plans, work reports; one test per rule, named after its clause."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.approvals import Notification
from models.customers import Customer
from models.sales import Allocation, ClientProgressReport, SalesPlan, WorkReport
from models.settings import Setting
from portal import approvals, reminders, sales
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit
from tests.sales_kit import agent, contract, order, product, reload, stock


def walk(request_id, *usernames):
    for username in usernames:
        approvals.decide(request_id, username if not isinstance(username, str) else actor(username), "approve")
    return approvals.load(request_id)


# ---- contracts ------------------------------------------------------------------------------------------
def test_an_unapproved_contract_cannot_be_signed_SOC_3_3_DSC_3_3_2(db):
    draft = contract(status="draft")
    with pytest.raises(Refused):
        sales.sign(draft.pk, actor("sales_rep"), local_today())
    request_id = approvals.submit(draft, actor("sales_rep"))
    assert reload(draft).status == "pending"
    with pytest.raises(Refused):  # still in legal review
        sales.sign(draft.pk, actor("sales_rep"), local_today())
    assert walk(request_id, "legal")["state"] == "approved"
    signed = sales.sign(draft.pk, actor("sales_rep"), local_today())
    assert signed["status"] == "signed"


def test_legal_reviews_every_contract_and_compliance_reviews_a_major_one_DSC_6_4_3(db):
    small = approvals.load(approvals.submit(contract(status="draft", amount="100000"), actor("sales_rep")))
    assert [(s["role"], s["state"]) for s in small["steps"]] == [("Legal", "current")]
    big = approvals.load(approvals.submit(contract(status="draft", amount="800000"), actor("sales_rep")))
    assert [(s["role"], s["state"]) for s in big["steps"]] == [("Legal", "current"), ("Legal", "waiting")]
    walk(big["_id"], "legal")
    with pytest.raises(Refused):  # the compliance review is another person's
        approvals.decide(big["_id"], actor("legal"), "approve")
    assert walk(big["_id"], actor("auditor", "Legal"))["state"] == "approved"


def test_on_signing_operations_and_finance_are_told_DSC_3_3_3(db):
    approved = contract(status="approved")
    sales.sign(approved.pk, actor("sales_clerk"), local_today())
    told = {n.recipient for n in Notification.objects(kind="contract_signed", link__contains=str(approved.pk))}
    assert person("finance").pk in told and person("sales_rep").pk in told
    operations = {e.pk for e in person("finance").__class__.objects(staff_kind="operations")}
    assert operations and operations <= told


def test_a_signed_contract_executes_then_completes_or_is_terminated_with_a_reason_FSS_3_4_4(db):
    signed = contract(status="signed")
    with pytest.raises(Refused):
        sales.complete(signed.pk, actor("sales_clerk"))
    sales.start_execution(signed.pk, actor("sales_clerk"))
    with pytest.raises(Refused):
        sales.terminate(signed.pk, actor("sales_clerk"), "")
    assert sales.terminate(signed.pk, actor("sales_clerk"), "客户破产")["status"] == "terminated"
    with pytest.raises(Refused):
        sales.start_execution(signed.pk, actor("sales_clerk"))


def test_contracts_ending_within_the_window_are_up_for_renewal_and_reminded_once_SOC_3_5(db):
    ending = contract(end=local_today() + dt.timedelta(days=10))
    later = contract(end=local_today() + dt.timedelta(days=90))
    query = sales.renewal_query(local_today())
    found = {c["_id"] for c in ending._get_collection().find(query)}
    assert ending.pk in found and later.pk not in found
    first = [s for s in reminders.run()[0] if s.kind == "contract_renewal"]
    assert ending.number in [s.title for s in first]
    assert not [s for s in reminders.run()[0] if s.kind == "contract_renewal" and s.title == ending.number]
    told = {n.recipient for n in Notification.objects(kind="contract_renewal", link__contains=str(ending.pk))}
    assert told == {person("sales_rep").pk, person("sales_head").pk}


def test_an_outsourcing_contract_has_a_team_and_its_progress_reports_fall_due_SOC_3_4(db):
    with pytest.raises(ValidationError) as raised:
        contract(kind="outsourcing")
    assert "team_leader" in fields_of(raised)
    service = contract(kind="outsourcing", team_leader=person("sales_clerk"), report_every_days=30,
                       start=local_today() - dt.timedelta(days=40))
    assert service.pk in {r["_id"] for r in sales.reports_due(local_today())}
    ClientProgressReport(contract=service, period_start=service.start, period_end=local_today(),
                         sales_figures=Decimal(1000), market_feedback="稳定").save()
    assert service.pk not in {r["_id"] for r in sales.reports_due(local_today())}
    with pytest.raises(ValidationError) as raised:
        ClientProgressReport(contract=contract(), period_start=local_today(), period_end=local_today(),
                             sales_figures=Decimal(1), market_feedback="x").save()
    assert "contract" in fields_of(raised)


# ---- orders ----------------------------------------------------------------------------------------------
def test_order_totals_amounts_and_gross_profit_are_derived_BRD_4_3_1(db):
    a, b, c = product("100.00", "60.00"), product("20.00", "5.00"), product("3.50", "1.00")
    placed = order([(a, 2, "100.00"), (b, 10, "20.00"), (c, 4, "3.50")])
    assert [line.amount for line in placed.lines] == [Decimal("200.00"), Decimal("200.00"), Decimal("14.00")]
    assert placed.total == Decimal("414.00") and placed.cost_total == Decimal("174.00")
    assert placed.gross_profit == Decimal("240.00") and not placed.needs_price_approval


def test_the_price_list_is_the_sellers_tier_price_or_the_standard_price_MIC_各級代理_1(db):
    item = product("100.00", tier_price="80.00")
    by_agent = order([(item, 1, "85.00")], seller=agent())
    assert by_agent.lines[0].floor_price == Decimal("80.00") and not by_agent.lines[0].below_floor
    by_staff = order([(item, 1, "85.00")])
    assert by_staff.lines[0].floor_price == Decimal("100.00") and by_staff.lines[0].below_floor
    assert by_staff.discount == Decimal("15.00")


def test_an_under_priced_line_blocks_confirmation_until_the_department_head_approves_MIC_產品定價_2(db):
    item = product("100.00", tier_price="80.00")
    stock(item, 10)
    cheap = order([(item, 2, "70.00")], seller=agent())
    with pytest.raises(Refused):
        sales.confirm(cheap.pk, actor("sales_clerk"))
    request_id = approvals.submit(reload(cheap), actor("agent"))
    with pytest.raises(Refused):  # waiting for the head
        sales.confirm(cheap.pk, actor("sales_clerk"))
    raw = approvals.load(request_id)
    assert raw["steps"][0]["kind"] == "unit_head" and raw["amount"] == 2000  # ¥20.00 below, in fen
    assert raw["steps"][0]["approver"] == person("branch_head").pk  # the head of the agent team's branch
    walk(request_id, "branch_head")
    assert sales.confirm(cheap.pk, actor("sales_clerk"))["stage"] == "confirmed"


def test_an_order_at_list_price_needs_no_approval_and_cannot_be_submitted_MIC_產品定價_2(db):
    item = product("100.00")
    stock(item, 5)
    fair = order([(item, 1, "100.00")])
    with pytest.raises(Refused):
        approvals.submit(fair, actor("sales_rep"))
    assert sales.confirm(fair.pk, actor("sales_clerk"))["stage"] == "confirmed"


def test_confirmation_reserves_stock_all_or_nothing_DSC_3_4_2(db):
    plenty, scarce = product(), product()
    row_a, row_b = stock(plenty, 10), stock(scarce, 1, reorder=2)
    assert reload(row_b).replenish  # below the reorder level already
    wanting = order([(plenty, 4, "100.00"), (scarce, 3, "100.00")])
    with pytest.raises(Refused) as refused:
        sales.confirm(wanting.pk, actor("sales_clerk"))
    assert "1" in str(refused.value.message) and reload(row_a).available == 10  # nothing kept back
    fits = order([(plenty, 4, "100.00"), (scarce, 1, "100.00")])
    confirmed = sales.confirm(fits.pk, actor("sales_clerk"))
    assert reload(row_a).available == 6 and reload(row_a).reserved == 4 and reload(row_b).available == 0
    assert sorted(r["quantity"] for r in confirmed["reservations"]) == [1, 4]
    sales.cancel(fits.pk, actor("sales_clerk"), "客户取消")
    assert reload(row_a).available == 10 and reload(row_a).reserved == 0 and reload(row_b).available == 1


def test_concurrent_confirmations_never_take_the_same_unit_DSC_3_4_2(db):
    item = product()
    row = stock(item, 9)
    orders = [order([(item, 3, "100.00")]) for _ in range(8)]
    outcomes = []

    def confirm(one):
        try:
            sales.confirm(one.pk, actor("sales_clerk"))
            outcomes.append("ok")
        except Refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=confirm, args=(one,)) for one in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 3 and reload(row).available == 0 and reload(row).reserved == 9


def test_a_confirmed_order_moves_through_its_stages_and_is_paid_by_finance_DSC_3_4_1(db):
    item = product()
    stock(item, 5)
    placed = order([(item, 1, "100.00")])
    with pytest.raises(Refused):
        sales.record_payment(placed.pk, actor("finance"), local_today())  # not confirmed yet
    sales.confirm(placed.pk, actor("sales_clerk"))
    assert sales.advance(placed.pk, actor("sales_clerk"), "in_production")["stage"] == "in_production"
    with pytest.raises(Refused):
        sales.advance(placed.pk, actor("sales_clerk"), "closed")
    with pytest.raises(Refused):
        sales.record_payment(placed.pk, actor("finance"), local_today() + dt.timedelta(days=1))
    assert sales.record_payment(placed.pk, actor("finance"), local_today())["paid_on"] is not None
    with pytest.raises(Refused):
        sales.record_payment(placed.pk, actor("finance"), local_today())
    note = sales.add_tracking(placed.pk, actor("sales_clerk"), "已排产，预计周五发货")
    assert note["tracking"][-1]["text"] == "已排产，预计周五发货"


def test_an_order_under_a_contract_is_with_that_contracts_customer_BRD_4_3_1(db):
    other = Customer.objects(name="苏州百汇商城").first()
    with pytest.raises(ValidationError) as raised:
        order([(product(), 1, "100.00")], contract=contract(), customer=other)
    assert "contract" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        order([(product(), 1, "100.00")], contract=contract(status="draft"))
    assert "contract" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        order([])
    assert "lines" in fields_of(raised)


# ---- plans and reports -----------------------------------------------------------------------------------
def plan(**fields) -> SalesPlan:
    values = {"period_kind": "month", "period": f"{local_today():%Y-%m}", "drafted_by": person("sales_clerk"),
              "amount_target": Decimal(100000), "strategy": "主推新品", "action_plan": "每周拜访", **fields}
    return SalesPlan(**values).save()


def test_a_sales_plan_goes_to_the_department_head_then_the_branch_leader_BRD_4_1_3(db):
    raw = approvals.load(approvals.submit(plan(), actor("sales_clerk")))
    assert [s.get("approver_name") for s in raw["steps"]] == ["张伟", "李志强"]
    assert walk(raw["_id"], "sales_head", "branch_head")["state"] == "approved"


def test_a_sales_plan_names_a_valid_period_and_allocates_at_most_its_target_BRD_4_1_2(db):
    with pytest.raises(ValidationError) as raised:
        plan(period="2026-13")
    assert "period" in fields_of(raised)
    assert plan(period_kind="quarter", period="2026-q3").period == "2026-Q3"
    with pytest.raises(ValidationError) as raised:
        plan(allocations=[Allocation(salesperson=person("sales_rep"), amount_target=Decimal(80000)),
                          Allocation(team=unit("BR-SALES"), amount_target=Decimal(30000))])
    assert "allocations" in fields_of(raised)
    with pytest.raises(ValidationError):
        plan(allocations=[Allocation(salesperson=person("sales_rep"), team=unit("BR-SALES"),
                                     amount_target=Decimal(1))])


def test_a_work_report_is_set_against_the_records_and_acknowledged_by_the_superior_FSS_2_5_1(db):
    report = WorkReport(salesperson=person("sales_rep"), period_kind="month", period=f"{local_today():%Y-%m}",
                        customers_developed=9, negotiations=1, contracts_signed=0, summary="本月总结").save()
    figures = sales.work_figures(report)
    assert set(figures) == {"customers_developed", "negotiations", "contracts_signed"}
    with pytest.raises(ValidationError) as raised:
        WorkReport(salesperson=person("sales_rep"), period_kind="month", period=report.period,
                   customers_developed=0, negotiations=0, contracts_signed=0, summary="重复").save()
    assert "period" in fields_of(raised)
    with pytest.raises(Refused):
        sales.acknowledge(report.pk, actor("sales_rep"), "")
    assert sales.acknowledge(report.pk, actor("sales_head"), "继续保持")["reviewed_by"] == "张伟"
    with pytest.raises(Refused):
        sales.acknowledge(report.pk, actor("sales_head"), "again")


def test_the_renewal_window_is_a_setting_SOC_3_5(db):
    ending = contract(end=local_today() + dt.timedelta(days=45))
    assert ending.pk not in {c["_id"] for c in ending._get_collection().find(sales.renewal_query(local_today()))}
    Setting.objects(key="contract_renewal_days").update_one(set__value="60")
    assert ending.pk in {c["_id"] for c in ending._get_collection().find(sales.renewal_query(local_today()))}


# ---- review findings, each with its regression test -------------------------------------------------------
def test_a_confirmed_or_paid_order_is_neither_deleted_nor_cancelled_DSC_3_4_1(as_role, db):
    item = product()
    row = stock(item, 10)
    placed = order([(item, 4, "100.00")], seller="sales_clerk")
    sales.confirm(placed.pk, actor("sales_clerk"))
    clerk = as_role("Clerk")
    clerk.post_form(f"/orders/delete/{placed.pk}", {}, "/resetmypassword/form")
    assert reload(placed) is not None and reload(row).reserved == 4
    sales.record_payment(placed.pk, actor("finance"), local_today())
    with pytest.raises(Refused):
        sales.cancel(placed.pk, actor("sales_clerk"), "客户退货")


def test_confirmation_prices_the_lines_with_todays_price_list_MIC_產品定價_2(db):
    item = product("100.00")
    stock(item, 5)
    placed = order([(item, 1, "100.00")])
    item.standard_price = Decimal("150.00")
    item.save()
    with pytest.raises(Refused):
        sales.confirm(placed.pk, actor("sales_clerk"))


def test_customer_service_follows_an_order_but_does_not_change_it(as_role, db):
    item = product()
    stock(item, 5)
    placed = order([(item, 1, "100.00")])  # cs_owner: service_clerk of another department
    service = as_role("service_clerk")
    assert service.get(f"/orders/show/{placed.pk}").status_code == 200
    response = service.post_form(f"/orders/cancel/{placed.pk}", {"reason": "x"}, f"/orders/show/{placed.pk}")
    assert response.status_code == 422 and reload(placed).stage == "pending_review"
    response = service.post_form(f"/orders/track/{placed.pk}", {"text": "已告知客户"}, f"/orders/show/{placed.pk}")
    assert response.status_code == 302 and reload(placed).tracking[-1].text == "已告知客户"


def test_a_refused_signing_keeps_no_file_SOC_3_3(as_role, db):
    import io

    draft = contract(status="draft")
    rep = as_role("Employee")
    data = {"signed_on": f"{local_today():%Y-%m-%d}", "signed_file": (io.BytesIO(b"%PDF-1.4 test"), "s.pdf")}
    data["csrf_token"] = rep.token(f"/contracts/show/{draft.pk}")
    response = rep.client.post(f"/contracts/sign/{draft.pk}", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and reload(draft).signed_file is None
