"""The KPI templates of DOMAIN 6: market expansion, sales and customer service with the weights of BRD 6(2)1-3, and
field sales (FSS 6(1), weights chosen by HR). Seeded once per staff kind: a template HR has edited (or replaced) is
never touched again. Other staff kinds get no template, so a cycle lists those employees instead."""

from decimal import Decimal

from models.appraisal import Indicator, KpiTemplate

# key, name, category, weight, measure, source, target, rule, standard
TEMPLATES = {
    "market_expansion": ("市场拓展人员考核模板", "BRD 6(2)1", (
        ("research", "市场调研完成情况", "result", 20, "quantitative", "manual", None, "score_is_actual",
         "按期完成月度调研计划并提交调研报告为 100 分；按完成比例计分"),
        ("expansion_plan", "拓展计划完成情况", "result", 30, "quantitative", "manual", None, "score_is_actual",
         "拓展计划各项任务全部按期完成为 100 分；按完成比例计分"),
        ("new_customers", "新客户开发数量", "result", 20, "quantitative", "new_customers", 5, "percent_of_target",
         "每月开发新客户 5 家为 100 分；按实际数占目标的比例计分，最高 100 分"),
        ("promotion_effect", "推广活动效果", "process", 15, "qualitative", "manual", None, "judgement",
         "活动按计划执行、效果评估达到预期为 100 分；由上级综合评定"),
        ("customer_data", "客户信息收集质量", "process", 15, "qualitative", "manual", None, "judgement",
         "客户档案完整、准确、及时更新为 100 分；由上级抽查评定"),
    )),
    "sales": ("销售人员考核模板", "BRD 6(2)2", (
        ("sales_completion", "销售目标完成率", "result", 50, "quantitative", "sales_completion", None,
         "score_is_actual", "已回款订单金额达到计划分配目标为 100 分；按完成率计分，最高 100 分"),
        ("profit", "利润达成情况", "result", 20, "quantitative", "gross_profit", 100000, "percent_of_target",
         "月度毛利达到 100,000 元为 100 分；按实际毛利占目标的比例计分"),
        ("customer_development", "客户开发与维护", "process", 15, "quantitative", "new_customers", 10,
         "percent_of_target", "每月开发新客户 10 家为 100 分；老客户维护情况由上级在评价中说明"),
        ("contract_execution", "合同执行情况", "process", 10, "quantitative", "contract_execution", None,
         "score_is_actual", "合同按期履行完毕的比例即为得分"),
        ("expense_control", "费用控制", "process", 5, "quantitative", "manual", 6000, "lower_is_better",
         "月度费用不超过 6,000 元为 100 分；超出时按 预算 ÷ 实际 计分"),
    )),
    "customer_service": ("客户服务人员考核模板", "BRD 6(2)3", (
        ("timeliness", "咨询与投诉处理及时性", "result", 30, "quantitative", "complaint_timeliness", None,
         "score_is_actual", "在规定时限内答复的投诉比例即为得分"),
        ("satisfaction", "客户满意度", "result", 30, "quantitative", "satisfaction", None, "score_is_actual",
         "经手投诉的客户满意比例即为得分"),
        ("archive_quality", "客户档案管理质量", "process", 20, "qualitative", "manual", None, "judgement",
         "档案完整、分类准确、按时归档为 100 分；由上级抽查评定"),
        ("return_visits", "回访计划完成率", "process", 15, "quantitative", "return_visit_completion", None,
         "score_is_actual", "已完成回访占计划回访的比例即为得分"),
        ("suggestions", "客户建议收集与反馈", "teamwork", 5, "quantitative", "manual", 3, "percent_of_target",
         "每月收集并转交有效建议 3 条为 100 分"),
    )),
    "field_sales": ("业务人员考核模板", "FSS 6(1)1-4", (
        ("sales_amount", "销售额", "result", 30, "quantitative", "sales_amount", 50000, "percent_of_target",
         "月度已回款销售额达到 50,000 元为 100 分；按比例计分"),
        ("profit", "利润", "result", 15, "quantitative", "gross_profit", 15000, "percent_of_target",
         "月度毛利达到 15,000 元为 100 分；按比例计分"),
        ("new_customers", "新客户数量", "result", 10, "quantitative", "new_customers", 3, "percent_of_target",
         "每月开发新客户 3 家为 100 分"),
        ("satisfaction", "客户满意度", "result", 10, "quantitative", "satisfaction", None, "score_is_actual",
         "经手投诉的客户满意比例即为得分"),
        ("visits", "客户拜访次数", "process", 5, "quantitative", "visit_count", 20, "percent_of_target",
         "每月完成客户拜访 20 次为 100 分"),
        ("negotiations", "谈判成功率", "process", 5, "quantitative", "negotiation_count", 4, "percent_of_target",
         "每月达成意向的谈判 4 次为 100 分"),
        ("contract_timeliness", "合同签订及时性", "process", 5, "quantitative", "contract_execution", None,
         "score_is_actual", "合同按期履行完毕的比例即为得分"),
        ("receivables", "应收账款回收率", "process", 10, "quantitative", "receivable_recovery", None,
         "score_is_actual", "到期应收款的回收比例即为得分"),
        ("teamwork", "团队协作", "teamwork", 5, "qualitative", "peer_rating", None, "score_is_actual",
         "与其他部门的配合及对团队的贡献，取上级、同事和客户 360 度评分的平均值"),
        ("growth", "个人能力提升", "growth", 5, "qualitative", "training_pass_rate", None, "judgement",
         "参加培训并通过考核、掌握新知识与技能；参考培训通过率，由上级结合 360 度评分评定"),
    )),
}


def template(staff_kind: str) -> KpiTemplate:
    """The seed template of a staff kind, unsaved."""
    name, clauses, rows = TEMPLATES[staff_kind]
    return KpiTemplate(name=name, staff_kind=staff_kind, clauses=clauses, active=True, indicators=[
        Indicator(key=key, name=title, category=category, weight=Decimal(weight), measure=measure, source=source,
                  target=None if target is None else Decimal(target), rule=rule, standard=standard)
        for key, title, category, weight, measure, source, target, rule, standard in rows])


def load() -> dict[str, int]:
    """Create the template of each seeded staff kind that has none yet (idempotent; never overwrites HR's edits)."""
    created = 0
    for staff_kind in TEMPLATES:
        if KpiTemplate.objects(staff_kind=staff_kind).only("id").first() is None:
            template(staff_kind).save()
            created += 1
    return {"kpi templates created": created}
