"""Rules of DOMAIN 3.5 (agent network), one test per rule, named after its clause."""

import datetime as dt
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.agents import ProfitDistribution, Remittance
from models.org import Employee
from portal import agents, approvals
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit
from tests.sales_kit import agent, order, product, reload, tier

PERIOD = f"{local_today():%Y-%m}"


def second_agent() -> Employee:
    return Employee(employee_no="A7001", name="钱代理", owner_unit=unit("BR-AGENT"), staff_kind="agent",
                    agent_tier=tier(1)).save()


def paid(seller, amount: str, day=None):
    placed = order([(product(amount, tier_price="1.00"), 1, amount)], seller=seller, stage="closed",
                   paid_on=day or local_today())
    return placed


def distribution(**fields) -> ProfitDistribution:
    values = {"period_kind": "month", "period": PERIOD, "owner_unit": unit("BR-AGENT"), **fields}
    return ProfitDistribution(**values).save()


def test_an_agent_has_a_tier_MIC_各級代理_1(db):
    with pytest.raises(ValidationError) as raised:
        Employee(employee_no="A7002", name="无级别", owner_unit=unit("BR-AGENT"), staff_kind="agent").save()
    assert "agent_tier" in fields_of(raised)


def test_a_profit_distribution_follows_the_tier_ratios_of_the_periods_paid_sales_MIC_利潤分配_1(db):
    other = second_agent()
    before = {line.agent.pk: line.sales for line in agents.compute_lines(distribution(period="2000-01"),
                                                                         actor("sales_clerk")).lines}
    assert before == {}
    paid(agent(), "1000.00")
    paid(agent(), "500.00")
    paid(other, "2000.00")
    paid(other, "9999.00", day=local_today().replace(day=1) - dt.timedelta(days=1))  # last month: not counted
    order([(product("700.00", tier_price="1.00"), 1, "700.00")], seller=agent())  # not paid: not counted
    shares = agents.compute_lines(distribution(), actor("sales_clerk"))
    lines = {line.agent.pk: line for line in shares.lines}
    mine = agents.paid_sales([agent().pk], *_month())[agent().pk]
    assert lines[agent().pk].ratio == Decimal("0.15") and lines[other.pk].ratio == Decimal("0.20")
    assert lines[agent().pk].sales == Decimal(mine) / 100
    assert lines[other.pk].sales == Decimal("2000.00") and lines[other.pk].amount == Decimal("400.00")
    assert lines[agent().pk].amount == (lines[agent().pk].sales * Decimal("0.15")).quantize(Decimal("0.01"))
    assert shares.amount_total == sum(line.total for line in shares.lines)


def _month():
    today = local_today()
    return today.replace(day=1), today


def test_a_performance_adjustment_needs_its_reason_and_is_kept_on_recompute_MIC_利潤分配_2(db):
    paid(agent(), "1000.00")
    shares = agents.compute_lines(distribution(), actor("sales_clerk"))
    shares.lines[0].adjustment = Decimal("50.00")
    with pytest.raises(ValidationError) as raised:
        shares.save()
    assert "lines" in fields_of(raised)
    shares.lines[0].adjustment_reason = "新客户开发贡献"
    shares.save()
    again = agents.compute_lines(reload(shares), actor("sales_clerk"))
    line = next(line for line in again.lines if line.agent.pk == agent().pk)
    assert line.adjustment == Decimal("50.00") and line.total == line.amount + Decimal("50.00")


def test_a_profit_distribution_is_approved_by_the_department_head_then_finance_MIC_利潤分配_3(db):
    paid(agent(), "1000.00")
    shares = agents.compute_lines(distribution(), actor("sales_clerk"))
    raw = approvals.load(approvals.submit(shares, actor("sales_clerk")))
    assert [(s["kind"], s.get("role")) for s in raw["steps"]] == [("unit_head", None), ("role", "Finance")]
    approvals.decide(raw["_id"], actor("branch_head"), "approve")
    assert agents.my_lines(agent().pk) == []  # not approved yet: nothing to see
    approvals.decide(raw["_id"], actor("finance"), "approve")
    with pytest.raises(Refused):
        agents.compute_lines(reload(shares), actor("sales_clerk"))  # approved: locked
    mine = agents.my_lines(agent().pk)
    assert len(mine) == 1 and mine[0]["sales"] >= Decimal("1000.00") and mine[0]["ratio"] == Decimal("0.15")


def test_each_agent_sees_only_their_own_line_MIC_利潤分配_3(db):
    other = second_agent()
    paid(agent(), "1000.00")
    paid(other, "3000.00")
    shares = agents.compute_lines(distribution(), actor("sales_clerk"))
    ProfitDistribution._get_collection().update_one({"_id": shares.pk}, {"$set": {"status": "approved"}})
    mine = agents.my_lines(other.pk)
    assert [row["sales"] for row in mine] == [Decimal("3000.00")]


def test_finance_verifies_remittances_and_nobody_verifies_their_own_MIC_收入管理_2(db):
    with pytest.raises(ValidationError) as raised:
        Remittance(agent=person("sales_rep"), amount=Decimal(10), remitted_on=local_today(), reference="X").save()
    assert "agent" in fields_of(raised)
    money = Remittance(agent=agent(), amount=Decimal("300.00"), remitted_on=local_today(), reference="ICBC-1",
                       owner_unit=unit("BR-AGENT")).save()
    with pytest.raises(Refused):
        agents.verify(money.pk, actor("agent", "Finance"), True, "")
    with pytest.raises(Refused):
        agents.verify(money.pk, actor("finance"), False, "")  # a rejection says why
    agents.verify(money.pk, actor("finance"), True, "已到账")
    assert reload(money).state == "verified" and reload(money).verified_by == "黄磊"
    with pytest.raises(Refused):
        agents.verify(money.pk, actor("finance"), True, "")


def test_each_agents_balance_is_sold_minus_verified_remittances_MIC_收入管理_1(db):
    before = {r["agent"]["_id"]: r for r in agents.balances([agent().pk])}[agent().pk]
    paid(agent(), "1000.00")
    Remittance(agent=agent(), amount=Decimal("400.00"), remitted_on=local_today(), reference="R1", state="verified",
               owner_unit=unit("BR-AGENT")).save()
    after = {r["agent"]["_id"]: r for r in agents.balances([agent().pk])}[agent().pk]
    assert after["sold"] - before["sold"] == Decimal("1000.00")
    assert after["outstanding"] - before["outstanding"] == Decimal("600.00")


# ---- review findings, each with its regression test -------------------------------------------------------
def test_a_sale_is_shared_out_once_MIC_利潤分配_1(db):
    distribution()
    with pytest.raises(ValidationError) as raised:
        distribution(period_kind="year", period=f"{local_today():%Y}")
    assert "period" in fields_of(raised)
    with pytest.raises(ValidationError):
        distribution(owner_unit=unit("BR-EAST"))  # the team above, same month


def test_a_performance_adjustment_may_be_a_deduction_MIC_利潤分配_2(db):
    paid(agent(), "1000.00")
    shares = agents.compute_lines(distribution(), actor("sales_clerk"))
    line = next(line for line in shares.lines if line.agent.pk == agent().pk)
    line.adjustment, line.adjustment_reason = Decimal("-10.00"), "回款延迟"
    shares.save()
    assert next(x for x in reload(shares).lines if x.agent.pk == agent().pk).total == line.amount - Decimal("10.00")


def test_finance_sees_every_agents_balance_MIC_收入管理_2(as_role, db):
    assert "何丽" in as_role("Finance").get("/remittances/balances/").data.decode()
