"""The approval routes of DOMAIN 4, loaded once; after that they are data an Admin edits in the portal."""

from models.approvals import ApprovalRoute, RouteStep

# code, document, name, clauses, steps: (label, approver kind, role, condition, threshold setting, hours)
ROUTES = (
    ("EXPENSE", "ExpenseClaim", "报销审批 Expense claim", ["BRD 8(2)1", "BRD 8(2)2", "BRD 8(2)3", "FSS 7(2)3"], (
        ("", "unit_head", None, "always", None, 48),
        ("", "branch_head", None, "amount_above", "major_expense_threshold", 48),
        ("财务审核 Finance review", "role", "Finance", "always", None, 72),
    )),
    ("BUDGET-INCREASE", "BudgetIncrease", "追加预算 Budget increase", ["FSS 7(3)2"], (
        ("", "unit_head", None, "always", None, 48),
    )),
    ("EXPENSE-PLAN", "ExpensePlan", "费用预算计划 Expense plan", ["FSS 7(1)2"], (
        ("", "unit_head", None, "always", None, 48),
    )),
    ("BUDGET", "Budget", "预算审批 Budget", ["SOC 6.1", "DSC 5(1)1"], (
        ("", "branch_head", None, "always", None, 120),
    )),
    ("LEAVE", "LeaveRequest", "请假审批 Leave", ["FSS 4(1)1"], (
        ("", "unit_head", None, "always", None, 24),
    )),
    ("RESEARCH", "MarketResearch", "调研报告 Market research report", ["BRD 3(1)3"], (
        ("", "unit_head", None, "always", None, 72),
    )),
    ("EXPANSION-PLAN", "MarketExpansionPlan", "市场拓展计划 Market expansion plan", ["BRD 3(2)3"], (
        ("部门经理审核 Department review", "unit_head", None, "always", None, 72),
        ("分公司领导审批 Branch approval", "branch_head", None, "always", None, 120),
    )),
    ("SALES-PLAN", "SalesPlan", "销售计划 Sales plan", ["BRD 4(1)3"], (
        ("部门经理审核 Department review", "unit_head", None, "always", None, 72),
        ("分公司领导审批 Branch approval", "branch_head", None, "always", None, 120),
    )),
    ("CONTRACT", "Contract", "合同审核 Contract review", ["SOC 3.3", "DSC 3(3)2", "DSC 6(4)3"], (
        ("法务审核 Legal review", "role", "Legal", "always", None, 72),
        ("合规审查 Compliance review", "role", "Legal", "amount_above", "major_contract_threshold", 72),
        ("超信用额度审批 Over the credit limit", "unit_head", None, "over_credit_limit", None, 48),
    )),
    ("PRICE", "SalesOrder", "低于价格表或超信用额度审批 Price below the list or over the credit limit",
     ["MIC 產品管理/產品定價/2", "DSC 6(2)3"], (
        ("", "unit_head", None, "always", None, 24),
    )),
    ("WRITE-OFF", "Receivable", "坏账核销 Bad-debt write-off", ["SOC 6.2", "FSS 3(7)3"], (
        ("", "unit_head", None, "always", None, 72),
        ("财务审核 Finance review", "role", "Finance", "always", None, 72),
    )),
    ("PROFIT-SHARE", "ProfitDistribution", "利润分配 Profit distribution", ["MIC 財務管理/利潤分配/1"], (
        ("", "unit_head", None, "always", None, 72),
        ("财务审核 Finance review", "role", "Finance", "always", None, 72),
    )),
    ("RECRUITMENT-PLAN", "RecruitmentPlan", "招聘计划 Recruitment plan", ["DSC 4(1)1", "SOC 4.1"], (
        ("", "unit_head", None, "always", None, 72),
    )),
    ("TRAINING-PLAN", "TrainingPlan", "培训计划 Training plan", ["BRD 7(2)3", "FSS 5(1)1"], (
        ("部门经理审核 Department review", "unit_head", None, "always", None, 72),
        ("分公司领导审批 Branch approval", "branch_head", None, "always", None, 120),
    )),
)


def load() -> dict[str, int]:
    """Create the routes whose code does not exist yet; an Admin's later edits are never overwritten."""
    created = 0
    for code, document, name, clauses, steps in ROUTES:
        if ApprovalRoute.objects(code=code).first():
            continue
        ApprovalRoute(code=code, document=document, name=name, clauses=clauses, active=True, steps=[
            RouteStep(label=label, approver=kind, role=role, condition=condition, threshold_setting=setting,
                      time_limit_hours=hours)
            for label, kind, role, condition, setting, hours in steps]).save()
        created += 1
    return {"routes created": created, "routes": ApprovalRoute.objects.count()}
