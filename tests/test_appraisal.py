"""Rules of DOMAIN 6 (performance appraisal), one test per rule, named after its clause."""

import datetime as dt
import hashlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from mongoengine import ValidationError

from models.appraisal import (
    STATES,
    Appraisal,
    AppraisalCycle,
    Feedback360,
    GradeBand,
    ImprovementPlan,
    KpiTemplate,
)
from models.approvals import Notification
from models.common import period_bounds, utcnow
from models.org import Employee
from models.settings import DEFAULTS, Setting
from models.training import TrainingNeed
from portal import appraisal, reminders
from portal.appraisal import ScoresRefused
from portal.approvals import Refused
from portal.settings import local_today
from seeds import kpi_templates
from tests.approvals_kit import NUMBERS, actor, fields_of, person, unit

TODAY = local_today()
PERIOD = "2031-03"  # no demo appraisal in that month
SALES = ("sales_completion", "profit", "customer_development", "contract_execution", "expense_control")


@pytest.fixture
def keep_appraisals(db):
    """Put the appraisals back as they were: `close_expired` and the reminders also reach the demo's."""
    collection = Appraisal._get_collection()
    rows = list(collection.find())
    yield
    collection.delete_many({})
    collection.insert_many(rows)


@pytest.fixture
def no_kpis(monkeypatch):
    """Actuals stay manual: the tests type them (portal.kpis is tested on its own)."""
    monkeypatch.setattr(appraisal, "_propose", lambda *args: {})


def cycle(unit_code: str = "BR-SALES", kind: str = "month", period: str = PERIOD, **fields) -> AppraisalCycle:
    end = period_bounds(kind, period)[1]
    values = {"name": f"测试考核 {period}", "period_kind": kind, "period": period, "owner_unit": unit(unit_code),
              "self_due": end + dt.timedelta(days=5), "evaluation_due": end + dt.timedelta(days=10),
              "review_due": end + dt.timedelta(days=15), "appeal_days": 7, **fields}
    return AppraisalCycle(**values).save()


def launched(unit_code: str = "BR-SALES", **fields) -> AppraisalCycle:
    item = cycle(unit_code, **fields)
    appraisal.launch(item.pk, actor("hr"))
    return item


def of(username: str, item: AppraisalCycle) -> Appraisal:
    return Appraisal.objects(cycle=item, employee=person(username)).first()


def scores(value: str = "80", keys=SALES) -> dict:
    return dict.fromkeys(keys, value)


def reviewed(username: str = "sales_clerk", finals: str = "80", item: AppraisalCycle | None = None) -> Appraisal:
    """An appraisal of `username` taken through self-assessment, evaluation and review (by `sales_head`)."""
    target = of(username, item or launched())
    keys = [line.key for line in target.lines]
    appraisal.submit_self(target.pk, actor(username), scores("85", keys), "自评")
    appraisal.evaluate(target.pk, actor("sales_head"), scores("80", keys), "上级评价")
    appraisal.review(target.pk, actor("sales_head"), scores(finals, keys), "部门审核")
    return target.reload()


def given_feedback(username: str = "sales_clerk", finals: str = "80", item: AppraisalCycle | None = None) -> Appraisal:
    target = reviewed(username, finals, item)
    appraisal.give_feedback(target.pk, actor("sales_head"), "逐项沟通了得分")
    return target.reload()


def later(days: int) -> dt.datetime:
    return utcnow() + dt.timedelta(days=days)


# ---- templates (BRD 6(2), FSS 6(1), DSC 4(2)1) ---------------------------------------------------------------------
def weights(staff_kind: str) -> dict:
    found = KpiTemplate.objects(staff_kind=staff_kind, active=True).first()
    return {line.key: int(line.weight) for line in found.indicators}


def test_the_templates_of_market_sales_and_service_staff_carry_the_weights_of_BRD_6_2_1_to_3(db):
    assert weights("market_expansion") == {"research": 20, "expansion_plan": 30, "new_customers": 20,
                                           "promotion_effect": 15, "customer_data": 15}
    assert weights("sales") == {"sales_completion": 50, "profit": 20, "customer_development": 15,
                                "contract_execution": 10, "expense_control": 5}
    assert weights("customer_service") == {"timeliness": 30, "satisfaction": 30, "archive_quality": 20,
                                           "return_visits": 15, "suggestions": 5}
    assert {t.staff_kind for t in KpiTemplate.objects} == {"market_expansion", "sales", "customer_service",
                                                          "field_sales"}


def test_the_field_sales_template_has_result_process_teamwork_and_growth_indicators_FSS_6_1(db):
    found = KpiTemplate.objects(staff_kind="field_sales").first()
    assert sum(weights("field_sales").values()) == 100 and len(found.indicators) == 10
    by_key = {line.key: line for line in found.indicators}
    assert {line.category for line in found.indicators} == {"result", "process", "teamwork", "growth"}
    assert (by_key["teamwork"].measure, by_key["teamwork"].source) == ("qualitative", "peer_rating")
    assert (by_key["growth"].measure, by_key["growth"].source) == ("qualitative", "training_pass_rate")
    assert (by_key["sales_amount"].rule, by_key["visits"].source) == ("percent_of_target", "visit_count")
    assert all(line.standard for line in found.indicators)


def test_seeding_again_never_overwrites_a_template_hr_has_edited_BRD_6_2(db):
    found = KpiTemplate.objects(staff_kind="sales").first()
    name = found.name
    try:
        found.name = "销售人员考核模板（HR 修订）"
        found.save()
        assert kpi_templates.load() == {"kpi templates created": 0}
        assert KpiTemplate.objects(pk=found.pk).first().name == "销售人员考核模板（HR 修订）"
    finally:
        found.reload()
        found.name = name
        found.save()


def test_weights_that_do_not_total_exactly_100_are_refused_next_to_the_indicators_DSC_4_2_1(db):
    draft = kpi_templates.template("sales")
    draft.active = False
    draft.validate()
    draft.indicators[0].weight = Decimal("45")
    with pytest.raises(ValidationError) as raised:
        draft.validate()
    assert fields_of(raised) == {"indicators"} and "95" in str(raised.value)
    draft.indicators[0].weight = Decimal("55.5")
    with pytest.raises(ValidationError, match="100"):
        draft.validate()


# ---- totals and grades (BRD 6(1)1, FSS 6(3)1) -----------------------------------------------------------------------
def test_totals_are_weighted_and_rounded_half_up_and_grades_follow_the_cycles_bands_BRD_6_1_1():
    lines = [{"weight": 50, "final_score": Decimal("80.01")}, {"weight": 50, "final_score": Decimal("80.00")}]
    assert appraisal.total_of(lines) == Decimal("80.01")  # 80.005: half up, not to even
    assert appraisal.total_of([*lines, {"weight": 0, "final_score": None}]) is None  # a score still missing
    strict = [GradeBand(grade=g, minimum=Decimal(m)) for g, m in (("A", 95), ("B", 85), ("C", 75), ("D", 65),
                                                                   ("E", 0))]
    assert appraisal.grade_of(Decimal("84.50")) == "B" and appraisal.grade_of(Decimal("84.50"), strict) == "C"
    assert appraisal.grade_of(Decimal("90")) == "A" and appraisal.grade_of(Decimal("59.99")) == "E"


def test_a_sales_employee_scoring_90_80_70_100_60_totals_84_50_and_grade_B_BRD_6_2_2(db, no_kpis):
    item = of("sales_clerk", launched())
    appraisal.submit_self(item.pk, actor("sales_clerk"), scores("90"))
    # completion 90 %; profit 80,000 of 100,000; 7 of 10 new customers; every contract on time; 10,000 spent of 6,000
    actuals = {"sales_completion": "90", "profit": "80000", "customer_development": "7", "contract_execution": "100",
               "expense_control": "10000"}
    appraisal.evaluate(item.pk, actor("sales_head"), {}, "", actuals=actuals)  # blank scores: what the rules give
    item.reload()
    assert [line.superior_score for line in item.lines] == [Decimal(s) for s in ("90", "80", "70", "100", "60")]
    appraisal.review(item.pk, actor("sales_head"), {})  # blank finals: the superior's scores
    item.reload()
    assert (item.total, item.grade, item.state) == (Decimal("84.50"), "B", "feedback")


def test_bands_give_each_grade_once_from_the_top_down_to_zero_BRD_6_1_1(db):
    bad = AppraisalCycle(name="x", period_kind="month", period=PERIOD, owner_unit=unit("BR-SALES"),
                         self_due=dt.date(2031, 4, 5), evaluation_due=dt.date(2031, 4, 8),
                         review_due=dt.date(2031, 4, 12),
                         bands=[GradeBand(grade="A", minimum=Decimal(90)), GradeBand(grade="B", minimum=Decimal(95))])
    with pytest.raises(ValidationError) as raised:
        bad.validate()
    assert fields_of(raised) == {"bands"}


# ---- launching a cycle (BRD 6(3), FSS 6(2)) --------------------------------------------------------------------------
def test_launching_makes_one_snapshot_per_active_employee_and_launching_again_nothing_new_BRD_6_3(db, no_kpis):
    leaver = Employee.objects(owner_unit=unit("BR-SALES"), employee_no__startswith="E01").first()
    leaver.status = "left"
    leaver.save()
    Employee.objects(pk=person("sales_rep").pk).update_one(set__status="probation")
    staff = Employee.objects(owner_unit=unit("BR-SALES"), status__in=["active", "probation"]).count()
    item = cycle()
    first = appraisal.launch(item.pk, actor("hr"))
    assert first["created"] == staff and first["existing"] == 0 and first["without_template"] == []
    assert of("sales_rep", item) is not None and Appraisal.objects(cycle=item, employee=leaver).first() is None
    assert appraisal.launch(item.pk, actor("hr")) == {"created": 0, "existing": staff, "recomputed": 0,
                                                      "without_template": [], "in_other_cycles": [],
                                                      "months_open": []}
    item.reload()
    assert (item.status, item.appraisals) == ("open", staff)
    mine = of("sales_clerk", item)
    assert (mine.appraiser.pk, mine.state, mine.step_due) == (person("sales_head").pk, "self_assessment",
                                                             item.self_due)
    assert [line.key for line in mine.lines] == list(SALES) and mine.template_name == "销售人员考核模板"
    template = KpiTemplate.objects(staff_kind="sales").first()
    name = template.indicators[0].name
    try:  # a later edit of the template never changes a launched appraisal
        template.indicators[0].name = "销售额完成率（新）"
        template.save()
        assert Appraisal.objects(pk=mine.pk).first().lines[0].name == name
    finally:
        template.reload()
        template.indicators[0].name = name
        template.save()
    with pytest.raises(Refused, match="HR"):
        appraisal.launch(item.pk, actor("sales_head"))


def test_moving_a_launched_cycles_due_dates_moves_the_steps_waiting_for_them_BRD_6_3(db, no_kpis):
    item = launched()
    mine = of("sales_clerk", item)
    appraisal.submit_self(mine.pk, actor("sales_clerk"), scores())
    item.reload()
    item.self_due += dt.timedelta(days=2)
    item.evaluation_due += dt.timedelta(days=3)
    item.review_due += dt.timedelta(days=4)
    item.save()
    assert appraisal.follow_cycle_dates(item.pk) == Appraisal.objects(cycle=item).count()
    assert (mine.reload().step_due, of("sales_rep", item).step_due) == (item.evaluation_due, item.self_due)


def test_employees_without_a_template_are_listed_not_skipped_agents_included_BRD_6_3(db, no_kpis):
    item = cycle("BR-EAST")
    result = appraisal.launch(item.pk, actor("hr"))
    missing = {e.employee_no for e in result["without_template"]}
    assert {NUMBERS["agent"], NUMBERS["hr"], NUMBERS["finance"], NUMBERS["branch_head"]} <= missing
    assert NUMBERS["sales_rep"] not in missing and NUMBERS["service_clerk"] not in missing
    assert {e.employee_no for e in item.reload().without_template} == missing
    assert of("agent", item) is None and of("service_clerk", item).template_name == "客户服务人员考核模板"


def test_the_annual_result_of_monthly_staff_is_the_mean_of_their_twelve_closed_months_FSS_6_2(db, no_kpis):
    totals = [Decimal("83.34")] * 11 + [Decimal("83.40")]  # mean 83.345: half up gives 83.35
    for month, total in enumerate(totals, start=1):
        month_cycle = cycle(period=f"2031-{month:02d}", status="closed")
        Appraisal(cycle=month_cycle, employee=person("sales_clerk"), period_kind="month", period=month_cycle.period,
                  state="closed", total=total, grade=appraisal.grade_of(total), owner_unit=unit("BR-SALES")).save()
    still_open = cycle(period="2030-12")  # another year, and not closed: neither counts
    Appraisal(cycle=still_open, employee=person("sales_clerk"), period_kind="month", period="2030-12",
              state="department_review", total=Decimal("10"), owner_unit=unit("BR-SALES")).save()
    year = cycle(kind="year", period="2031")
    appraisal.launch(year.pk, actor("hr"))
    annual = of("sales_clerk", year)
    assert [m.period for m in annual.monthly_totals] == [f"2031-{m:02d}" for m in range(1, 13)]
    assert (annual.total, annual.grade, annual.state, annual.lines) == (Decimal("83.35"), "B", "feedback", [])
    assert of("sales_head", year).state == "self_assessment"  # no monthly results: scored on the template


# ---- the flow (BRD 6(4)) ---------------------------------------------------------------------------------------------
def test_the_flow_is_a_state_machine_that_refuses_out_of_order_steps_BRD_6_4(db, no_kpis):
    assert {state for allowed, to in appraisal.MOVES.values() for state in (*allowed, to) if state} <= {
        key for key, _label in STATES}
    item = of("sales_clerk", launched())
    boss = actor("sales_head")
    refused = [
        lambda: appraisal.evaluate(item.pk, boss, scores()),
        lambda: appraisal.review(item.pk, boss, scores()),
        lambda: appraisal.give_feedback(item.pk, boss, "提前反馈"),
        lambda: appraisal.acknowledge(item.pk, actor("sales_clerk")),
        lambda: appraisal.appeal(item.pk, actor("sales_clerk"), "不同意"),
        lambda: appraisal.decide_appeal(item.pk, actor("branch_head"), "dismissed", "维持"),
        lambda: appraisal.apply_results(item.pk, actor("hr")),
    ]
    for step in refused:
        with pytest.raises(Refused, match="at the step “Self-assessment”"):
            step()
    appraisal.submit_self(item.pk, actor("sales_clerk"), scores())
    with pytest.raises(Refused, match="“Superior evaluation”"):
        appraisal.submit_self(item.pk, actor("sales_clerk"), scores())
    with pytest.raises(Refused, match="“Superior evaluation”"):
        appraisal.review(item.pk, boss, scores())
    assert [(s.from_state, s.to_state) for s in item.reload().history] == [
        (None, "self_assessment"), ("self_assessment", "superior_evaluation")]


def test_each_step_is_taken_by_the_person_the_flow_names_BRD_6_4_1_to_3(db, no_kpis):
    item = of("sales_clerk", launched())
    with pytest.raises(Refused, match="Only the employee"):
        appraisal.submit_self(item.pk, actor("sales_rep"), scores())  # a peer
    appraisal.submit_self(item.pk, actor("sales_clerk"), scores())
    for who in ("sales_clerk", "service_head", "hr"):  # the employee, another unit's head, HR
        with pytest.raises(Refused, match="superior or a head above"):
            appraisal.evaluate(item.pk, actor(who), scores())
    appraisal.evaluate(item.pk, actor("branch_head"), scores())  # a head above the superior may evaluate
    for who in ("sales_clerk", "hr", "service_head"):
        with pytest.raises(Refused, match="head of the employee's department"):
            appraisal.review(item.pk, actor(who), {})
    appraisal.review(item.pk, actor("sales_head"), {})
    with pytest.raises(Refused, match="superior or the reviewer"):
        appraisal.give_feedback(item.pk, actor("branch_head"), "面谈")
    assert item.reload().reviewer.pk == person("sales_head").pk and item.reviewed_by == "张伟"


def test_an_actual_other_than_the_records_needs_a_reason_FSS_6_3_1(db, monkeypatch):
    clerk = person("sales_clerk").pk
    monkeypatch.setattr(appraisal, "_propose", lambda source, ids, start, end: {
        clerk: SimpleNamespace(value=Decimal("90"), basis="90000.00 / 100000.00")} if source == "sales_completion"
        else {})
    item = of("sales_clerk", launched())
    line = item.lines[0]
    assert (line.proposed, line.actual, line.basis) == (Decimal("90"), Decimal("90"), "90000.00 / 100000.00")
    appraisal.submit_self(item.pk, actor("sales_clerk"), scores())
    with pytest.raises(ScoresRefused) as raised:
        appraisal.evaluate(item.pk, actor("sales_head"), scores(), actuals={"sales_completion": "95"})
    assert set(raised.value.cells) == {"sales_completion"} and "90.00" in str(raised.value.cells["sales_completion"])
    assert item.reload().state == "superior_evaluation" and item.lines[0].actual == Decimal("90")  # nothing saved
    appraisal.evaluate(item.pk, actor("sales_head"), scores(), actuals={"sales_completion": "95"},
                       reasons={"sales_completion": "月底一笔回款系统未及时登记"})
    first = item.reload().lines[0]
    assert (first.actual, first.proposed, first.override_reason) == (Decimal("95"), Decimal("90"),
                                                                      "月底一笔回款系统未及时登记")


def test_bad_score_cells_are_answered_per_indicator_and_nothing_is_saved_BRD_6_4_1(db, no_kpis):
    item = of("sales_clerk", launched())
    typed = {**scores(), "sales_completion": "abc", "profit": "101", "expense_control": ""}
    with pytest.raises(ScoresRefused) as raised:
        appraisal.submit_self(item.pk, actor("sales_clerk"), typed)
    assert set(raised.value.cells) == {"sales_completion", "profit", "expense_control"}
    item.reload()
    assert item.state == "self_assessment" and all(line.self_score is None for line in item.lines)


def test_feedback_opens_the_appeal_window_and_an_appeal_after_it_is_refused_BRD_6_4_4(db, no_kpis):
    item = given_feedback()
    assert item.appeal_until == TODAY + dt.timedelta(days=7) and item.interview_notes == "逐项沟通了得分"
    with pytest.raises(Refused, match="already been held"):
        appraisal.give_feedback(item.pk, actor("sales_head"), "再次面谈")
    with pytest.raises(Refused, match="appeal window closed"):
        appraisal.appeal(item.pk, actor("sales_clerk"), "销售额统计有误", now=later(8))
    with pytest.raises(Refused, match="Say why"):
        appraisal.appeal(item.pk, actor("sales_clerk"), "  ")
    appraisal.appeal(item.pk, actor("sales_clerk"), "销售额统计有误")
    assert item.reload().state == "appeal" and item.appealed_at is not None
    assert Notification.objects(recipient=person("hr").pk, kind="appraisal_appeal").count() == 1


def test_an_appeal_is_decided_by_hr_or_a_head_above_the_reviewer_who_may_adjust_the_scores_BRD_6_4_4(db, no_kpis):
    item = given_feedback(finals="75")
    assert (item.total, item.grade) == (Decimal("75.00"), "C")
    appraisal.appeal(item.pk, actor("sales_clerk"), "合同执行率统计有误")
    for who in ("sales_clerk", "sales_head", "service_head"):  # the employee, the reviewer, a head elsewhere
        with pytest.raises(Refused, match="decides an appeal"):
            appraisal.decide_appeal(item.pk, actor(who), "upheld", "调整")
    with pytest.raises(Refused, match="upheld or dismissed"):
        appraisal.decide_appeal(item.pk, actor("branch_head"), "maybe", "调整")
    appraisal.decide_appeal(item.pk, actor("branch_head"), "upheld", "核实后上调", scores("85"))
    item.reload()
    assert (item.state, item.total, item.grade, item.appeal_outcome) == ("closed", Decimal("85.00"), "B", "upheld")
    assert item.appeal_decided_by == "李志强"
    other = given_feedback(item=launched(period="2031-04"))
    appraisal.appeal(other.pk, actor("sales_clerk"), "不同意")
    appraisal.decide_appeal(other.pk, actor("hr"), "dismissed", "评分有据，维持原结果")
    assert (other.reload().state, other.total) == ("closed", Decimal("80.00"))


def test_a_grade_d_or_e_cannot_close_without_an_improvement_plan_DSC_4_2_3(keep_appraisals, no_kpis):
    item = given_feedback(finals="55")
    assert item.grade == "E"
    with pytest.raises(Refused, match="improvement plan"):
        appraisal.acknowledge(item.pk, actor("sales_clerk"))
    assert [s.title for s in appraisal.close_expired(later(8)) if "2031-03" in s.title] == []  # waits for its plan
    appraisal.appeal(item.pk, actor("sales_clerk"), "不同意")
    with pytest.raises(Refused, match="improvement plan"):
        appraisal.decide_appeal(item.pk, actor("branch_head"), "dismissed", "维持")
    ImprovementPlan(appraisal=item, mentor=person("sales_head"), goals="三个月内完成率 80%", actions="每周复盘",
                    review_on=TODAY + dt.timedelta(days=60)).save()
    appraisal.decide_appeal(item.pk, actor("branch_head"), "dismissed", "维持")
    assert item.reload().state == "closed"


def test_the_window_over_without_an_appeal_closes_the_appraisal_BRD_6_4_4(keep_appraisals, no_kpis):
    item = given_feedback()
    assert [s for s in appraisal.close_expired(later(3)) if s.title.endswith(PERIOD)] == []
    closed = [s for s in appraisal.close_expired(later(8)) if s.title.endswith(PERIOD)]
    assert [(s.kind, s.title) for s in closed] == [("appraisal_closed", f"陈静 {PERIOD}")]
    assert item.reload().state == "closed" and item.history[-1].by == "portal remind"
    assert [s for s in appraisal.close_expired(later(8)) if s.title.endswith(PERIOD)] == []


def test_an_acknowledged_result_closes_and_hr_applies_bonus_and_recommendation_FSS_6_4_1_and_2(db, no_kpis):
    item = given_feedback(finals="95")
    appraisal.acknowledge(item.pk, actor("sales_clerk"))
    with pytest.raises(Refused, match="HR applies"):
        appraisal.apply_results(item.pk, actor("sales_head"))
    Setting.objects(key="appraisal_bonus_percent_a").update_one(set__value="160", upsert=True,
                                                                set__kind=DEFAULTS["appraisal_bonus_percent_a"][0])
    appraisal.apply_results(item.pk, actor("hr"))
    item.reload()
    assert (item.state, item.grade, item.bonus_coefficient, item.recommendation) == (
        "applied", "A", Decimal("1.60"), "promotion")


def test_weak_indicators_raise_training_needs_when_results_are_applied_FSS_6_4_3(db, no_kpis):
    target = of("sales_clerk", launched())
    appraisal.submit_self(target.pk, actor("sales_clerk"), scores())
    appraisal.evaluate(target.pk, actor("sales_head"), scores())
    appraisal.review(target.pk, actor("sales_head"), {**scores("70"), "sales_completion": "55"})  # 62.50: D
    appraisal.give_feedback(target.pk, actor("sales_head"), "面谈")
    ImprovementPlan(appraisal=target, mentor=person("sales_head"), goals="提升完成率", actions="陪访",
                    review_on=TODAY + dt.timedelta(days=30)).save()
    appraisal.acknowledge(target.pk, actor("sales_clerk"))
    appraisal.apply_results(target.pk, actor("hr"))
    target.reload()
    assert (target.grade, target.bonus_coefficient, target.recommendation) == ("D", Decimal("0.80"), "coaching")
    needs = TrainingNeed.objects(source="appraisal", reference__startswith=f"{target.pk}:")
    assert [(n.reference, n.topic, n.employee.pk) for n in needs] == [
        (f"{target.pk}:sales_completion", "销售目标完成率", person("sales_clerk").pk)]


# ---- 360-degree inputs (SOC 5.1, FSS 6(3)2-3) ------------------------------------------------------------------------
def test_peer_superior_and_customer_ratings_are_averaged_into_the_qualitative_lines_FSS_6_3_3(db, no_kpis):
    item = of("sales_rep", launched())
    boss = actor("sales_head")
    assert appraisal.invite(item.pk, boss, "peer", rater_id=person("sales_clerk").pk) is None
    appraisal.invite(item.pk, boss, "superior", rater_id=person("branch_head").pk)
    token = appraisal.invite(item.pk, boss, "customer", customer_name="杭州瑞丰贸易有限公司 王经理")
    with pytest.raises(Refused, match="already been asked"):
        appraisal.invite(item.pk, boss, "peer", rater_id=person("sales_clerk").pk)
    with pytest.raises(Refused, match="self-assessment"):
        appraisal.invite(item.pk, boss, "peer", rater_id=person("sales_rep").pk)
    with pytest.raises(Refused, match="superior, a head above"):
        appraisal.invite(item.pk, actor("sales_clerk"), "peer", rater_id=person("service_clerk").pk)
    asked = {f.rater.pk if f.rater else None: f for f in Feedback360.objects(appraisal=item)}
    appraisal.answer_360(asked[person("sales_clerk").pk].pk, actor("sales_clerk"), {"teamwork": "90", "growth": "80"})
    appraisal.answer_360(asked[person("branch_head").pk].pk, actor("branch_head"), {"teamwork": "70", "growth": "60"})
    appraisal.answer_by_token(token, {"teamwork": "95", "growth": "85"}, "服务很及时")
    lines = {line.key: line for line in item.reload().lines}
    assert (lines["teamwork"].rating_360, lines["growth"].rating_360) == (Decimal("85.00"), Decimal("75.00"))
    assert lines["sales_amount"].rating_360 is None  # quantitative lines take their actual, not opinions
    assert appraisal.score_for(lines["teamwork"]) == Decimal("85.00")  # the superior's proposed score
    assert appraisal.ratings_360([item.pk]) == {item.pk: {"teamwork": Decimal("85.00"), "growth": Decimal("75.00")}}
    assert item.updated_by == appraisal.ANONYMOUS_360  # the appraisal's stamps never name a rater


def test_a_colleague_answers_their_own_request_once_SOC_5_1(db, no_kpis):
    item = of("sales_rep", launched())
    appraisal.invite(item.pk, actor("sales_head"), "peer", rater_id=person("sales_clerk").pk)
    request = Feedback360.objects(appraisal=item).first()
    assert request.employee.pk == person("sales_rep").pk and request.invited_by == "sales_head"
    assert Notification.objects(recipient=person("sales_clerk").pk, kind="appraisal_360",
                                link=appraisal.FEEDBACK_PATH.format(id=request.pk)).count() == 1
    with pytest.raises(Refused, match="Only the colleague"):
        appraisal.answer_360(request.pk, actor("service_clerk"), {"teamwork": "90", "growth": "80"})
    with pytest.raises(ScoresRefused) as raised:
        appraisal.answer_360(request.pk, actor("sales_clerk"), {"teamwork": "900"})
    assert set(raised.value.cells) == {"teamwork", "growth"}
    appraisal.answer_360(request.pk, actor("sales_clerk"), {"teamwork": "90", "growth": "80"})
    with pytest.raises(Refused, match="already been given"):
        appraisal.answer_360(request.pk, actor("sales_clerk"), {"teamwork": "10", "growth": "10"})


def test_a_customer_link_is_kept_as_its_hash_works_once_and_expires_with_the_review_SOC_5_1(db, no_kpis):
    item = of("sales_rep", launched())
    token = appraisal.invite(item.pk, actor("sales_head"), "customer", customer_name="宁波海源 李总")
    stored = Feedback360._get_collection().find_one({"appraisal": item.pk})
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest() and token not in str(stored)
    assert stored["expires_on"].date() == item.cycle.review_due
    with pytest.raises(Refused, match="not valid"):
        appraisal.answer_by_token(token[:-2] + "xx", {"teamwork": "90", "growth": "90"})
    with pytest.raises(Refused, match="expired"):
        appraisal.answer_by_token(token, {"teamwork": "90", "growth": "90"},
                                  now=utcnow() + dt.timedelta(days=(item.cycle.review_due - TODAY).days + 2))
    with pytest.raises(ScoresRefused):
        appraisal.answer_by_token(token, {"teamwork": "x"})
    appraisal.answer_by_token(token, {"teamwork": "90", "growth": "90"})
    with pytest.raises(Refused, match="already been given"):
        appraisal.answer_by_token(token, {"teamwork": "90", "growth": "90"})


# ---- reminders (BRD 6(3)) --------------------------------------------------------------------------------------------
def test_overdue_steps_are_reminded_once_to_whoever_must_act_BRD_6_3(keep_appraisals, no_kpis):
    assert [reminders.SOURCES.count(f) for f in (appraisal.step_reminders, appraisal.close_expired,
                                                 appraisal.plan_reminders)] == [1, 1, 1]
    item = launched()
    mine = of("sales_clerk", item)
    when = utcnow() + dt.timedelta(days=(item.self_due - TODAY).days + 1)
    sent = [s for s in appraisal.step_reminders(when) if s.title == f"陈静 {PERIOD}"]
    assert [(s.kind, s.recipients) for s in sent] == [("appraisal_overdue", 1)]
    assert Notification.objects(recipient=person("sales_clerk").pk, kind="appraisal_overdue").count() == 1
    assert [s for s in appraisal.step_reminders(when) if s.title == f"陈静 {PERIOD}"] == []  # once
    appraisal.submit_self(mine.pk, actor("sales_clerk"), scores())
    when = utcnow() + dt.timedelta(days=(item.evaluation_due - TODAY).days + 1)
    assert [s.title for s in appraisal.step_reminders(when)].count(f"陈静 {PERIOD}") == 1  # the next step: again
    assert Notification.objects(recipient=person("sales_head").pk, kind="appraisal_overdue",
                                link=appraisal.PATH.format(id=mine.pk)).count() == 1


def test_an_improvement_plan_past_its_review_date_is_reminded_once_to_mentor_and_superior_DSC_4_2_3(db, no_kpis):
    item = given_feedback(finals="55")
    plan = ImprovementPlan(appraisal=item, mentor=person("branch_head"), goals="提升", actions="辅导",
                           review_on=TODAY - dt.timedelta(days=1)).save()
    sent = [s for s in appraisal.plan_reminders(utcnow()) if s.title == "陈静"]
    assert [(s.kind, s.recipients) for s in sent] == [("improvement_review_due", 2)]
    assert Notification.objects(recipient=person("branch_head").pk, kind="improvement_review_due",
                                link=appraisal.PLAN_PATH.format(id=plan.pk)).count() == 1
    assert [s for s in appraisal.plan_reminders(utcnow()) if s.title == "陈静"] == []


# ---- review findings of issue 8 --------------------------------------------------------------------------------------
@pytest.fixture
def deputy(db):
    """`sales_clerk` deputises for 张伟, the head of 销售部 (the db fixture puts the units back)."""
    unit("BR-SALES").update(push__deputy_heads=person("sales_clerk").pk)
    return person("sales_clerk")


def test_a_deputy_is_no_head_above_the_head_they_deputise_for_H1_BRD_6_4_2_and_3(deputy, no_kpis):
    item = launched()
    boss = of("sales_head", item)
    raw = Appraisal._get_collection().find_one({"_id": boss.pk})
    assert deputy.pk not in appraisal.people(raw).heads and person("branch_head").pk in appraisal.people(raw).heads
    clerk = actor("sales_clerk", "DeptHead")  # even with the role a deputy is the head's subordinate
    appraisal.submit_self(boss.pk, actor("sales_head"), scores())
    with pytest.raises(Refused, match="superior or a head above"):
        appraisal.evaluate(boss.pk, clerk, scores())
    appraisal.evaluate(boss.pk, actor("branch_head"), scores("75"))
    with pytest.raises(Refused, match="head of the employee's department"):
        appraisal.review(boss.pk, clerk, {})
    assert appraisal.review(boss.pk, actor("branch_head"), {})["state"] == "feedback"
    own = Appraisal._get_collection().find_one({"_id": of("sales_clerk", item).pk})
    assert person("sales_head").pk in appraisal.people(own).heads  # the head still stands above the deputy
    units = {u["_id"]: u for u in unit("HQ")._get_collection().find()}
    grants = appraisal.grants_of(units, deputy.pk)
    assert grants and not any(g.opens(raw) for g in grants) and any(g.opens(
        Appraisal._get_collection().find_one({"_id": of("sales_rep", item).pk})) for g in grants)


def test_a_score_of_1e999999999_is_not_a_number_H2_BRD_6_4_1():
    for text in ("1e999999999", "-1e999999999", "1E+999999999", "1e-999999999", "9" * 19, "NaN", "Infinity"):
        value, problem = appraisal.parse_score(text)
        assert value is None and problem is not None, text
        assert appraisal.parse_actual(text)[0] is None, text
    assert str(appraisal.parse_score("1e999999999")[1]) == "Enter a number."
    assert appraisal.parse_score("1e1") == (Decimal("10.00"), None)


def test_no_audit_entry_of_a_360_answer_names_the_rater_M2_FSS_6_3_3(db, no_kpis):
    from models.audit import AuditEntry

    item = of("sales_rep", launched())
    appraisal.invite(item.pk, actor("sales_head"), "peer", rater_id=person("sales_clerk").pk)
    request = Feedback360.objects(appraisal=item).first()
    since = utcnow()
    appraisal.answer_360(request.pk, actor("sales_clerk"), {"teamwork": "90", "growth": "80"}, "乐于分享客户资源")
    rater = person("sales_clerk")
    entries = list(AuditEntry.objects(collection="appraisal_feedback", record_id=str(request.pk))) + \
        list(AuditEntry.objects(at__gte=since))
    assert any(e.action == "update" for e in entries)
    for entry in entries:
        words = " ".join([entry.user, entry.note or "", entry.record_label or "",
                          *(f"{c.field} {c.old} {c.new}" for c in entry.changes)])
        for secret in ("sales_clerk", str(rater.pk), rater.name, rater.employee_no, "乐于分享客户资源", "teamwork"):
            assert secret not in words, (secret, words)
    assert Feedback360._get_collection().find_one({"_id": request.pk})["updated_by"] == appraisal.ANONYMOUS_360


def test_an_employee_appraised_for_the_period_in_another_cycle_is_not_appraised_again_M3_BRD_6_3(db, no_kpis):
    first = launched()
    wider = cycle("BR-EAST", name="华东分公司 2031-03")
    result = appraisal.launch(wider.pk, actor("hr"))
    sales = set(Appraisal.objects(cycle=first).distinct("employee"))
    assert {p.pk for p in result["in_other_cycles"]} == {e.pk for e in sales}
    assert result["existing"] == len(sales)
    assert Appraisal.objects(employee=person("sales_rep"), period_kind="month", period=PERIOD).count() == 1
    assert of("service_clerk", wider) is not None  # the others of the wider scope are appraised there


def closed_month(username: str, month: int, total: str = "80", state: str = "closed", year: int = 2031) -> Appraisal:
    item = cycle(period=f"{year}-{month:02d}", status="closed" if state == "closed" else "open")
    return Appraisal(cycle=item, employee=person(username), period_kind="month", period=item.period, state=state,
                     total=Decimal(total), grade=appraisal.grade_of(Decimal(total)),
                     owner_unit=unit("BR-SALES")).save()


def test_the_annual_result_waits_for_open_months_and_follows_them_until_acknowledged_M4_FSS_6_2(db, no_kpis):
    for month in range(1, 12):
        closed_month("sales_clerk", month, "80")
    december = closed_month("sales_clerk", 12, "92", state="department_review")
    for month in range(1, 7):
        closed_month("sales_rep", month, "70")
    year = cycle(kind="year", period="2031")
    result = appraisal.launch(year.pk, actor("hr"))
    assert [p.employee_no for p in result["months_open"]] == [NUMBERS["sales_clerk"]]
    assert of("sales_clerk", year) is None and [p.pk for p in year.reload().months_open] == [person("sales_clerk").pk]
    rep = of("sales_rep", year)
    assert (len(rep.monthly_totals), rep.total, rep.state) == (6, Decimal("70.00"), "feedback")
    Appraisal.objects(pk=december.pk).update_one(set__state="closed")
    closed_month("sales_rep", 7, "91")  # closed since the launch
    result = appraisal.launch(year.pk, actor("hr"))
    assert result["created"] == 1 and result["recomputed"] == 1 and result["months_open"] == []
    clerk = of("sales_clerk", year)
    assert (len(clerk.monthly_totals), clerk.total) == (12, Decimal("81.00"))  # (11 x 80 + 92) / 12
    rep.reload()
    assert (len(rep.monthly_totals), rep.total, rep.grade) == (7, Decimal("73.00"), "C")  # (6 x 70 + 91) / 7
    assert rep.history[-1].comment == "7 / 12" and year.reload().months_open == []
    appraisal.give_feedback(rep.pk, actor("sales_head"), "面谈")
    appraisal.appeal(rep.pk, actor("sales_rep"), "七月之后的业绩未计入")
    closed_month("sales_rep", 8, "100")
    assert appraisal.launch(year.pk, actor("hr"))["recomputed"] == 0  # appealed: the result stands for the decision
    assert len(rep.reload().monthly_totals) == 7


def fin_appraisal(state: str = "superior_evaluation") -> Appraisal:
    """An appraisal in 财务结算部, whose head 黄磊 holds Finance but not DeptHead, appraised by him."""
    staff = Employee.objects(owner_unit=unit("BR-FIN"), employee_no__startswith="E01").order_by("employee_no").first()
    sheet = kpi_templates.template("sales")
    item = cycle("BR-FIN")
    lines = [dict(key=i.key, name=i.name, category=i.category, weight=i.weight, measure=i.measure, source="manual",
                  target=i.target, rule=i.rule, self_score=Decimal(80)) for i in sheet.indicators]
    return Appraisal(cycle=item, employee=staff, appraiser=person("finance"), owner_unit=unit("BR-FIN"),
                     period_kind="month", period=PERIOD, lines=lines, state=state,
                     step_due=item.evaluation_due).save()


def test_a_head_without_the_depthead_role_is_never_asked_to_review_M5_BRD_6_4_3(keep_appraisals, no_kpis):
    item = fin_appraisal()
    appraisal.evaluate(item.pk, actor("finance"), {line.key: "80" for line in item.lines})
    link = appraisal.PATH.format(id=item.pk)
    assert Notification.objects(kind="appraisal_review", link=link).distinct("recipient") == [
        person("branch_head").pk]
    with pytest.raises(Refused, match="lacks the DeptHead role"):
        appraisal.review(item.pk, actor("finance"), {})
    when = utcnow() + dt.timedelta(days=(item.cycle.review_due - TODAY).days + 1)
    appraisal.step_reminders(when)
    assert Notification.objects(kind="appraisal_overdue", link=link).distinct("recipient") == [
        person("branch_head").pk]
    assert appraisal.review(item.pk, actor("branch_head"), {})["state"] == "feedback"


def test_grade_bands_run_a_to_e_with_strictly_falling_minimums_down_to_zero_L1_BRD_6_1_1(db):
    def bands(*rows):
        return [GradeBand(grade=g, minimum=Decimal(m)) for g, m in rows]

    good = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("E", 0))
    for rows in ((("B", 90), ("A", 80), ("C", 70), ("D", 60), ("E", 0)),  # out of order
                 (("A", 90), ("B", 80), ("C", 80), ("D", 60), ("E", 0)),  # two bands from 80
                 (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("E", 10)),  # E above 0
                 (("A", 90), ("B", 80), ("C", 70), ("D", 60)),  # no E
                 (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("E", 0), ("E", 0))):
        with pytest.raises(ValidationError) as raised:
            cycle(bands=bands(*rows))
        assert fields_of(raised) == {"bands"}, rows
    assert [b.grade for b in cycle(bands=bands(*good)).bands] == list("ABCDE")
