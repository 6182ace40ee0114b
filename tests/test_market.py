"""Rules of DOMAIN 3.1 (market expansion), one test per rule, named after it and its clause."""

import datetime as dt
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.agents import AgentTier
from models.approvals import ApprovalRequest
from models.audit import AuditEntry
from models.market import AgentPlan, MarketExpansionPlan, MarketResearch, PromotionCampaign
from models.org import Employee
from portal import approvals, market
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit


def research(**fields) -> MarketResearch:
    values = {"topic": "华东渠道调研", "author": person("sales_clerk"), "period_start": local_today(),
              "period_end": local_today(), "methods": ["interview"], "findings": "县级市场空间大", **fields}
    return MarketResearch(**values).save()


def plan(**fields) -> MarketExpansionPlan:
    values = {"year": local_today().year + 1, "title": "年度市场拓展计划", "drafted_by": person("sales_clerk"),
              "targets": "新增客户 50 家", "regions": ["浙江", "江苏"], "customer_groups": "中小商超",
              "approaches": "展会与线上推广", "schedule": "一季度调研，二季度推广", "owner_unit": unit("BR-SALES"),
              **fields}
    return MarketExpansionPlan(**values).save()


def campaign(**fields) -> PromotionCampaign:
    values = {"theme": "春季新品发布会", "content": "新品展示", "channels": ["launch_event"], "start": local_today(),
              "end": local_today(), "budget": Decimal(10000), "expected_result": "意向客户 20 家",
              "owner_unit": unit("BR-SALES"), **fields}
    return PromotionCampaign(**values).save()


def test_research_names_its_methods_BRD_3_1_2(db):
    with pytest.raises(ValidationError) as raised:
        research(methods=[])
    assert "methods" in fields_of(raised)
    with pytest.raises(ValidationError):
        research(methods=["astrology"])
    assert research(methods=["questionnaire", "data_analysis"]).methods == ["questionnaire", "data_analysis"]


def test_research_period_ends_after_it_starts_BRD_3_1_1(db):
    with pytest.raises(ValidationError) as raised:
        research(period_end=local_today() - dt.timedelta(days=1))
    assert "period_end" in fields_of(raised)


def test_research_report_goes_to_the_department_manager_BRD_3_1_3(db):
    report = research()
    request_id = approvals.submit(report, actor("sales_clerk"))
    raw = ApprovalRequest._get_collection().find_one({"_id": request_id})
    assert [step["approver"] for step in raw["steps"]] == [person("sales_head").pk]


def test_expansion_plan_states_targets_regions_groups_approaches_schedule_BRD_3_2_2(db):
    with pytest.raises(ValidationError) as raised:
        MarketExpansionPlan(year=2030, title="计划", drafted_by=person("sales_clerk")).save()
    assert {"targets", "regions", "customer_groups", "approaches", "schedule"} <= fields_of(raised)


def test_expansion_plan_goes_to_department_manager_then_branch_leader_BRD_3_2_3(db):
    draft = plan()
    assert draft.number.startswith("JH-")
    request_id = approvals.submit(draft, actor("sales_clerk"))
    raw = ApprovalRequest._get_collection().find_one({"_id": request_id})
    assert [step["approver"] for step in raw["steps"]] == [person("sales_head").pk, person("branch_head").pk]
    approvals.decide(request_id, actor("sales_head"), "approve", "同意")
    assert MarketExpansionPlan.objects(pk=draft.pk).first().status == "pending"
    with pytest.raises(Refused):
        approvals.decide(request_id, actor("sales_head"), "approve", "再次同意")
    approvals.decide(request_id, actor("branch_head"), "approve", "批准")
    assert MarketExpansionPlan.objects(pk=draft.pk).first().status == "approved"


def test_a_plan_drafted_by_the_department_manager_goes_up_a_level_BRD_3_2_3(db):
    draft = plan(drafted_by=person("sales_head"))
    raw = ApprovalRequest._get_collection().find_one({"_id": approvals.submit(draft, actor("sales_head"))})
    assert person("sales_head").pk not in [step["approver"] for step in raw["steps"]]


def test_campaign_ends_after_it_starts_BRD_3_3_1(db):
    with pytest.raises(ValidationError) as raised:
        campaign(end=local_today() - dt.timedelta(days=1))
    assert "end" in fields_of(raised)


def test_finished_campaign_records_actual_cost_and_effect_BRD_3_3_3(db):
    with pytest.raises(ValidationError) as raised:
        campaign(status="finished")
    assert "actual_cost" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        campaign(status="finished", actual_cost=Decimal(9000))
    assert "evaluation" in fields_of(raised)
    assert campaign(status="finished", actual_cost=Decimal(9000), evaluation="新增 12 家").status == "finished"


def agent() -> Employee:
    return Employee(employee_no="A9001", name="何代理", owner_unit=unit("BR-SALES"), staff_kind="agent",
                    agent_tier=AgentTier.objects.first()).save()


def test_each_agent_has_one_local_plan_per_campaign_MIC_營銷活動策劃_2(db):
    who = agent()
    with pytest.raises(ValidationError) as raised:
        campaign(agent_plans=[AgentPlan(agent=who, plan="社区推广"), AgentPlan(agent=who, plan="门店推广")])
    assert "agent_plans" in fields_of(raised)


def test_agents_report_the_effect_in_their_region_MIC_營銷活動策劃_3(db):
    who = agent()
    item = campaign(agent_plans=[AgentPlan(agent=who, region="宁波", plan="社区推广")])
    me = approvals.Actor(who.pk, who.name, "agent", frozenset({"Employee"}))
    market.report_feedback(item, me, "到场 80 人，成交 12 单", local_today())
    line = PromotionCampaign.objects(pk=item.pk).first().agent_plans[0]
    assert line.feedback == "到场 80 人，成交 12 单" and line.reported_on == local_today()
    assert AuditEntry.objects(record_id=str(item.pk), changes__field="agent_plans.feedback").first() is not None
    with pytest.raises(Refused):
        market.report_feedback(item, actor("sales_rep"), "不是我的活动", local_today())
    with pytest.raises(Refused):
        market.report_feedback(item, me, "   ", local_today())
