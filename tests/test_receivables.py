"""Rules of DOMAIN 3.6 for receivables and the income ledger, and the credit-limit gate of DSC 6(2)3: one test per
rule, named after its clause."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.agents import Remittance
from models.approvals import ApprovalRoute
from models.org import Employee
from models.receivables import CollectionAction, IncomeRecord, Receivable, aging_bucket
from portal import agents, approvals, receivables, reminders, sales
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person
from tests.sales_kit import agent, buyer, contract, order, product, reload, stock

TODAY = local_today()


def due(amount="1000.00", days_overdue=0, **fields) -> Receivable:
    values = {"customer": buyer(), "owner": person("sales_rep"), "amount": Decimal(amount),
              "due_date": TODAY - dt.timedelta(days=days_overdue), **fields}
    return Receivable(**values).save()


def receipt(receivable: Receivable, amount: str) -> IncomeRecord:
    record = IncomeRecord(source="contract" if receivable.order is None else "order", receivable=receivable,
                          amount=Decimal(amount), received_on=TODAY, account="工行 6222", contract=receivable.contract)
    record.validate()
    receivables.apply_receipt(record)
    return record.save()


def limited(headroom: str):
    """Give the demo customer a credit limit `headroom` above what it already owes in the demo data."""
    customer = buyer()
    customer.credit_limit = receivables.exposure(customer.pk) + Decimal(headroom)
    customer.save()
    return customer


# ---- aging (FSS 3(7)4) ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("overdue", "bucket"), [(-10, "not_due"), (0, "not_due"), (1, "d1_30"), (30, "d1_30"),
                                                 (31, "d31_90"), (90, "d31_90"), (91, "d91_180"), (180, "d91_180"),
                                                 (181, "over_180"), (2000, "over_180")])
def test_aging_buckets_at_their_edges_FSS_3_7_4(overdue, bucket):
    assert aging_bucket(TODAY - dt.timedelta(days=overdue), TODAY) == bucket


def test_the_aging_report_adds_up_open_amounts_per_customer_and_per_salesperson_FSS_3_7_4(db):
    base = receivables.aging({}, TODAY)["total"]
    due("100.00", -5)
    due("200.00", 31)
    due("300.00", 200, owner=person("sales_clerk"))
    settled = due("999.00", 40)
    receipt(settled, "999.00")
    report = receivables.aging({}, TODAY)
    assert report["total"]["not_due"] - base["not_due"] == Decimal("100.00")
    assert report["total"]["d31_90"] - base["d31_90"] == Decimal("200.00")
    assert report["total"]["over_180"] - base["over_180"] == Decimal("300.00")
    assert report["total"]["total"] - base["total"] == Decimal("600.00")  # the settled one is not open
    mine = next(r for r in receivables.aging({"customer": buyer().pk}, TODAY)["rows"])
    assert mine["name"] == buyer().name and mine["total"] >= Decimal("600.00")
    per_person = {r["id"]: r for r in receivables.aging({"customer": buyer().pk}, TODAY, by="owner")["rows"]}
    assert per_person[person("sales_clerk").pk]["over_180"] == Decimal("300.00")


def test_aging_beyond_its_row_limit_shows_all_others_and_the_whole_total_in_one_aggregation__issue_9_4(db, counter):
    for username, amount in (("sales_rep", "300.00"), ("sales_clerk", "200.00"), ("sales_head", "100.00")):
        due(amount, 40, owner=person(username))
    where = {"customer": buyer().pk}
    whole = receivables.aging(where, TODAY, by="owner")
    counter.reset()
    capped = receivables.aging(where, TODAY, by="owner", limit=1)
    assert counter.by_collection().get("receivables") == 1  # rows, the rest and the total: one aggregation
    assert capped["total"] == whole["total"]  # not only the rows shown
    top, others = capped["rows"]
    assert top["id"] == whole["rows"][0]["id"] and others["id"] is None and others["name"] == "All others"
    assert others["count"] == whole["total"]["count"] - top["count"]
    assert top["total"] + others["total"] == whole["total"]["total"]
    assert top["d31_90"] + others["d31_90"] == whole["total"]["d31_90"]


def test_the_aging_page_shows_the_all_others_row_unlinked__issue_9_4(as_role, monkeypatch):
    aging = receivables.aging
    monkeypatch.setattr(receivables, "aging", lambda where, today, by="customer", limit=500: aging(where, today, by, 1))
    page = as_role("Finance").get("/receivables/aging/").data.decode()
    assert 'class="portal-aging-others"><td><em>All others</em></td>' in page


# ---- receipts (SOC 6.2, DSC 5(2)) --------------------------------------------------------------------------
def test_receipts_pay_a_receivable_down_and_settle_it_SOC_6_2(db):
    owed = due("1000.00")
    receipt(owed, "400.00")
    assert reload(owed).received == Decimal("400.00") and reload(owed).outstanding == Decimal("600.00")
    receipt(owed, "600.00")
    assert reload(owed).state == "settled" and reload(owed).settled_on == TODAY


def test_an_order_billed_and_paid_in_full_is_marked_paid_MIC_收入管理_1(db):
    item = product()
    stock(item, 5)
    placed = order([(item, 2, "100.00")])
    sales.confirm(placed.pk, actor("sales_clerk"))
    first = due("150.00", order=reload(placed))
    with pytest.raises(ValidationError) as raised:
        receivables.check_receivable(Receivable(customer=buyer(), order=reload(placed), amount=Decimal("60.00"),
                                                owner=person("sales_rep"), due_date=TODAY))
    assert "amount" in fields_of(raised)  # 150 + 60 is more than the order's 200
    second = due("50.00", order=reload(placed))
    receipt(first, "150.00")
    assert reload(placed).paid_on is None  # 50 still open
    receipt(second, "50.00")
    assert reload(placed).paid_on == TODAY


def test_a_receipt_cannot_exceed_what_is_outstanding_even_when_posted_at_once_SOC_6_2(db):
    owed = due("600.00")
    with pytest.raises(ValidationError) as raised:
        receipt(owed, "600.01")
    assert "amount" in fields_of(raised)
    outcomes = []

    def pay():
        try:
            receipt(owed, "600.00")
            outcomes.append("paid")
        except ValidationError:
            outcomes.append("refused")

    threads = [threading.Thread(target=pay) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("paid") == 1 and reload(owed).outstanding == Decimal("0")
    assert IncomeRecord.objects(receivable=owed).count() == 1


def test_a_voided_receipt_is_owed_again_and_stays_on_the_ledger_DSC_5_2_1(db):
    owed = due("300.00")
    paid = receipt(owed, "300.00")
    assert reload(owed).state == "settled"
    with pytest.raises(Refused):
        receivables.void(paid.pk, actor("finance"), " ")
    receivables.void(paid.pk, actor("finance"), "银行退票")
    assert reload(owed).state == "open" and reload(owed).outstanding == Decimal("300.00")
    assert reload(paid).state == "voided" and reload(paid).void_reason == "银行退票"
    with pytest.raises(Refused):
        receivables.void(paid.pk, actor("finance"), "再次")


def test_the_income_ledger_records_source_customer_and_account_DSC_5_2_2(db):
    with pytest.raises(ValidationError) as raised:
        IncomeRecord(source="order", amount=Decimal("10"), received_on=TODAY, account="工行").save()
    assert "order" in fields_of(raised)
    signed = contract()
    record = IncomeRecord(source="contract", contract=signed, amount=Decimal("10"), received_on=TODAY,
                          account="工行").save()
    assert record.customer.pk == buyer().pk and record.number.startswith("SR-")


def test_a_verified_remittance_is_booked_in_the_income_ledger_MIC_收入管理_2(db):
    paid_in = Remittance(agent=agent(), amount=Decimal("888.00"), remitted_on=TODAY, reference="B-1",
                         account="公司账户").save()
    agents.verify(paid_in.pk, actor("finance"), True, "")
    booked = IncomeRecord.objects(remittance=paid_in).first()
    assert booked is not None and booked.amount == Decimal("888.00") and booked.source == "remittance"


# ---- collection and write-off (FSS 3(7), SOC 6.2) -------------------------------------------------------
def test_collection_steps_are_recorded_with_method_and_result_FSS_3_7_2(db):
    owed = due(days_overdue=10)
    with pytest.raises(Refused):
        receivables.add_action(owed.pk, actor("sales_rep"), TODAY, "pigeon", "x")
    with pytest.raises(Refused):
        receivables.add_action(owed.pk, actor("sales_rep"), TODAY, "phone", " ")
    receivables.add_action(owed.pk, actor("sales_rep"), TODAY, "phone", "客户承诺下周付款")
    steps = reload(owed).actions
    assert len(steps) == 1 and steps[0].method == "phone" and steps[0].by == person("sales_rep").name


def test_a_write_off_needs_steps_taken_and_a_reason_FSS_3_7_3(db):
    owed = due(days_overdue=200)
    with pytest.raises(Refused, match="collection actions"):
        approvals.submit(reload(owed), actor("sales_rep"))
    receivables.add_action(owed.pk, actor("sales_rep"), TODAY, "legal", "法院判决无财产可执行")
    with pytest.raises(Refused, match="reason"):
        approvals.submit(reload(owed), actor("sales_rep"))
    fresh = due(days_overdue=-3, actions=[CollectionAction(date=TODAY, method="phone", result="x")],
                write_off_reason="x")
    with pytest.raises(Refused, match="not overdue"):
        approvals.submit(fresh, actor("sales_rep"))


def test_a_bad_debt_write_off_goes_to_the_department_head_then_finance_SOC_6_2(db):
    owed = due("5000.00", days_overdue=200, write_off_reason="客户破产清算",
               actions=[CollectionAction(date=TODAY, method="legal", result="破产清算，无可分配财产")])
    request_id = approvals.submit(reload(owed), actor("sales_rep"))
    raw = approvals.load(request_id)
    assert [s.get("approver") or s.get("role") for s in raw["steps"]] == [person("sales_head").pk, "Finance"]
    assert not reload(owed).editable
    approvals.decide(request_id, actor("sales_head"), "approve")
    assert reload(owed).state == "open"
    approvals.decide(request_id, actor("finance"), "approve")
    assert reload(owed).state == "written_off" and reload(owed).written_off_at is not None
    assert receivables.aging({"_id": owed.pk}, TODAY)["rows"] == []


def test_overdue_receivables_are_reminded_once_and_escalated_to_the_superior_FSS_3_7_1_and_3(db):
    late = due(days_overdue=3)
    very_late = due(days_overdue=45)
    sent = [s for s in reminders.run()[0] if s.title in (late.number, very_late.number)]
    assert sorted(s.kind for s in sent) == ["receivable_escalated", "receivable_overdue", "receivable_overdue"]
    assert not [s for s in reminders.run()[0] if s.title in (late.number, very_late.number)]
    moved = reload(late)
    moved.due_date = TODAY - dt.timedelta(days=1)
    moved.save()
    assert [s.kind for s in reminders.run()[0] if s.title == late.number] == ["receivable_overdue"]


def test_agents_with_unremitted_sales_are_reminded_once_a_month_MIC_收入管理_1(db):
    Employee._get_collection().update_one({"_id": agent().pk}, {"$set": {"remittance_reminded_for": None}})
    order([(product("500.00", tier_price="1.00"), 1, "500.00")], seller=agent(), stage="closed")
    first = [s for s in reminders.run()[0] if s.kind == "unremitted"]
    assert agent().name in [s.title for s in first]
    assert not [s for s in reminders.run()[0] if s.kind == "unremitted"]


# ---- the credit-limit gate (DSC 6(2)3) ----------------------------------------------------------------------
def test_an_order_over_the_customers_credit_limit_needs_the_department_head_DSC_6_2_3(db):
    limited("1000.00")
    due("800.00")
    item = product()
    stock(item, 10)
    within = order([(item, 1, "100.00")])
    sales.refresh_credit(within)
    assert not within.over_credit_limit
    over = order([(item, 3, "100.00")])  # 800 owed + 300 is over the 1,000
    with pytest.raises(Refused, match="credit limit"):
        sales.confirm(over.pk, actor("sales_clerk"))
    request_id = approvals.submit(reload(over), actor("sales_rep"))
    assert reload(over).over_credit_limit
    assert reload(over).credit_exposure == buyer().credit_limit - Decimal("200.00")
    approvals.decide(request_id, actor("sales_head"), "approve")
    assert sales.confirm(over.pk, actor("sales_clerk"))["stage"] == "confirmed"


def test_a_customer_without_a_limit_or_within_it_is_not_stopped_DSC_6_2_3(db):
    customer = buyer()
    customer.credit_limit = None
    customer.save()
    item = product()
    stock(item, 10)
    free = order([(item, 2, "100.00")])
    assert receivables.credit_check(customer.pk, Decimal("1")) is None and not reload(free).over_credit_limit
    assert sales.confirm(free.pk, actor("sales_clerk"))["stage"] == "confirmed"
    limited("100000.00")
    assert not receivables.credit_check(customer.pk, Decimal("1"))["over"]


def test_a_contract_over_the_credit_limit_adds_the_department_heads_step_DSC_6_2_3(db):
    assert any(s.condition == "over_credit_limit" for s in ApprovalRoute.objects(code="CONTRACT").first().steps)
    limited("20000.00")
    small = approvals.load(approvals.submit(contract(status="draft", amount="10000"), actor("sales_rep")))
    assert [s.get("role") or "head" for s in small["steps"]] == ["Legal"]
    big = approvals.load(approvals.submit(contract(status="draft", amount="30000"), actor("sales_rep")))
    assert [s.get("role") or s.get("approver") for s in big["steps"]] == ["Legal", person("sales_head").pk]


# ---- found by review ---------------------------------------------------------------------------------------
def test_only_finance_corrects_a_raised_receivable_so_nobody_writes_it_off_by_editing_SOC_6_2(db):
    from portal.receivables import check_receivable

    owed = due("10000.00", days_overdue=200)
    receipt(owed, "100.00")
    edited = reload(owed)
    edited.amount = Decimal("100.00")
    with pytest.raises(ValidationError) as raised:
        check_receivable(edited, frozenset({"Clerk"}))
    assert "amount" in fields_of(raised)
    moved = reload(owed)
    moved.due_date = TODAY + dt.timedelta(days=200)
    with pytest.raises(ValidationError):
        check_receivable(moved, frozenset({"DeptHead"}))
    check_receivable(edited, frozenset({"Finance"}))  # Finance corrects a typing mistake
    other = reload(owed)
    other.customer = next(c for c in type(buyer()).objects if c.pk != buyer().pk)
    with pytest.raises(ValidationError) as raised:
        check_receivable(other, frozenset({"Finance"}))  # the receipt names this customer
    assert "customer" in fields_of(raised)


def test_an_order_billed_in_part_still_counts_its_unbilled_rest_DSC_6_2_3(db):
    item = product()
    stock(item, 5)
    placed = order([(item, 1, "100.00")])
    before = receivables.exposure(buyer().pk)
    sales.confirm(placed.pk, actor("sales_clerk"))
    assert receivables.exposure(buyer().pk) == before + Decimal("100.00")
    due("1.00", order=reload(placed))
    assert receivables.exposure(buyer().pk) == before + Decimal("100.00")  # 1 billed + 99 not yet


def test_a_price_approval_does_not_cover_a_credit_limit_passed_later_DSC_6_2_3(db):
    item = product("100.00", tier_price="80.00")
    stock(item, 10)
    cheap = order([(item, 1, "60.00")], seller=agent())
    request_id = approvals.submit(reload(cheap), actor("agent"))
    approvals.decide(request_id, actor("branch_head"), "approve")  # the head of the agent team's branch
    assert reload(cheap).status == "approved" and not reload(cheap).over_credit_limit
    limited("0.00")
    with pytest.raises(Refused, match="did not see"):
        sales.confirm(cheap.pk, actor("sales_clerk"))
