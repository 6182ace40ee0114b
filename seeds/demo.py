"""The demo company: a branch, a direct sales center, departments, Chinese-named staff, one account per role."""

import datetime as dt
import random

from models.finance import Budget
from models.org import Employee, OrgUnit, Position
from models.users import PortalUser
from portal import audit

SEED = 2026
# code, name, kind, parent code
UNITS = (
    ("HQ", "华信商贸有限公司", "company", None),
    ("BR-EAST", "华东分公司", "branch", "HQ"),
    ("BR-SALES", "销售部", "department", "BR-EAST"),
    ("BR-CS", "客户服务部", "department", "BR-EAST"),
    ("BR-MKT", "市场拓展部", "department", "BR-EAST"),
    ("BR-OPS", "运营管理部", "department", "BR-EAST"),
    ("BR-FIN", "财务结算部", "department", "BR-EAST"),
    ("BR-HR", "人力资源部", "department", "BR-EAST"),
    ("BR-LEGAL", "法务部", "department", "BR-EAST"),
    ("BR-AGENT", "微商团队", "agent_team", "BR-EAST"),
    ("DSC-SH", "上海直销中心", "center", "HQ"),
    ("DSC-SH-MKT", "市场营销部", "department", "DSC-SH"),
    ("DSC-SH-CS", "客户服务部（直销）", "department", "DSC-SH"),
    ("DSC-SH-OPS", "运营管理部（直销）", "department", "DSC-SH"),
    ("DSC-SH-FIN", "财务结算部（直销）", "department", "DSC-SH"),
)
# username, role, employee no, name, unit, staff kind, heads unit
ACCOUNTS = (
    ("admin", "Admin", "E0001", "王建国", "HQ", "other", None),
    ("gm", "DeptHead", "E0012", "郑国华", "HQ", "other", "HQ"),
    ("branch_head", "DeptHead", "E0002", "李志强", "BR-EAST", "other", "BR-EAST"),
    ("sales_head", "DeptHead", "E0003", "张伟", "BR-SALES", "sales", "BR-SALES"),
    ("service_head", "DeptHead", "E0004", "刘芳", "BR-CS", "customer_service", "BR-CS"),
    ("sales_clerk", "Clerk", "E0005", "陈静", "BR-SALES", "sales", None),
    ("service_clerk", "Clerk", "E0006", "杨丽", "BR-CS", "customer_service", None),
    ("hr", "HR", "E0007", "赵敏", "BR-HR", "hr", "BR-HR"),
    ("finance", "Finance", "E0008", "黄磊", "BR-FIN", "finance", "BR-FIN"),
    ("legal", "Legal", "E0009", "周婷", "BR-LEGAL", "other", "BR-LEGAL"),
    ("auditor", "Auditor", "E0010", "吴刚", "HQ", "other", None),
    ("sales_rep", "Employee", "E0011", "孙浩", "BR-SALES", "field_sales", None),
    ("agent", "Employee", "E0013", "何丽", "BR-AGENT", "agent", None),
)
# agent tiers: name, level, profit share
TIERS = (("一级代理", 1, "0.20"), ("二级代理", 2, "0.15"), ("三级代理", 3, "0.10"))
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏辉玲建华飞鑫波宁晨欣怡浩然子轩雨萱梓涵"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def load(app, staff_per_department: int = 3) -> dict[str, int]:
    """Create or complete the demo data set; re-running changes nothing."""
    audit.set_cli_actor("seed:demo")
    rng = random.Random(SEED)
    units = _units()
    _tiers()
    employees = {}
    for username, _role, number, name, unit, kind, _heads in ACCOUNTS:
        employees[username] = _employee(number, name, units[unit], kind, rng)
    for username, *_rest, heads in ACCOUNTS:
        if heads and units[heads].head is None:
            units[heads].head = employees[username]
            units[heads].save()
    _managers(employees, units)
    number = 100
    for unit in units.values():
        if unit.kind != "department":
            continue
        for _ in range(staff_per_department):
            number += 1
            staff = _employee(f"E{number:04d}", _name(rng), unit, _staff_kind(unit.code), rng)
            if staff.manager is None and unit.head is not None and unit.head != staff:
                staff.manager = unit.head
                staff.save()
    _positions(units)
    _accounts(app, employees)
    _budgets(units, employees)
    _requests(employees)
    _customers(employees, units)
    _sales(employees, units)
    _receivables(employees)
    _expenses(employees, units)
    _risk(employees, units)
    _conduct(employees, units)
    _confidentiality(employees, units)
    _hr(employees, units)
    _training(employees, units)
    _appraisal(employees, units)
    return {"org units": OrgUnit.objects.count(), "employees": Employee.objects.count(),
            "users": PortalUser.objects.count(), "budget lines": Budget.objects.count()}


def _conduct(employees, units) -> None:
    """The sales department's last six working days (a late arrival, an early leave, an absence, an approved leave),
    violations (a warning `sales_rep` has to acknowledge, an agent's fine, one still to decide) and gifts."""
    from decimal import Decimal

    from models.common import utcnow
    from models.conduct import AttendanceRecord, GiftDeclaration, LeaveRequest, Violation
    from portal.settings import local_today

    if Violation.objects.first() is not None:
        return
    today = local_today()
    days = [d for d in (today - dt.timedelta(days=n) for n in range(1, 12)) if d.weekday() < 5][:6]
    rep, clerk, head, agent = (employees[k] for k in ("sales_rep", "sales_clerk", "sales_head", "agent"))
    LeaveRequest(employee=clerk, kind="personal", start=days[2], end=days[1], reason="办理房产过户手续",
                 handover="张伟", status="approved", decided_at=utcnow()).save()
    times = {rep: (("08:52", "18:10"), ("09:17", "18:05"), ("08:58", "17:20"), ("08:49", "18:30"), ("08:55", "18:02"),
                   (None, None)),
             clerk: (("08:45", "18:00"), (None, None), (None, None), ("08:50", "18:15"), ("08:57", "18:01"),
                     ("08:40", "18:20")),
             head: (("08:30", "19:10"), ("08:35", "19:00"), ("08:40", "18:45"), ("08:30", "20:05"), ("09:02", "18:30"),
                    ("08:33", "18:40"))}
    for person, checks in times.items():
        for day, (check_in, check_out) in zip(days, checks, strict=True):
            AttendanceRecord(employee=person, date=day, check_in=check_in, check_out=check_out,
                             note="未打卡，未请假" if not check_in and person == rep else None).save()
    decided = {"status": "decided", "decided_by": "赵敏", "decided_at": utcnow()}
    Violation(person=rep, occurred_on=days[3], category="duty", measure="warning",
              description="连续两周未在系统中登记客户拜访记录，影响团队跟进客户。",
              correction_deadline=today + dt.timedelta(days=14), **decided).save()
    Violation(person=agent, occurred_on=today - dt.timedelta(days=20), category="harm", measure="fine",
              description="在朋友圈发布未经审核、夸大产品功效的宣传内容，损害品牌形象。", fine_amount=Decimal("500.00"),
              **{**decided, "status": "acknowledged"}, acknowledged_at=utcnow()).save()
    service = Employee.objects(owner_unit=units["BR-CS"], pk__ne=employees["service_head"].pk,
                               employee_no__ne=employees["service_clerk"].employee_no).first()
    if service is not None:
        Violation(person=service, occurred_on=days[0], category="law", measure="warning",
                  description="将客户联系方式发给外部人员，违反公司保密规定。",
                  correction_deadline=today + dt.timedelta(days=30)).save()
    for person, giver, item, value, day, handling, handed_to in (
            (rep, "杭州瑞丰贸易有限公司采购部", "中秋月饼礼盒两盒", "368.00", days[4], "handed_in", "人力资源部 赵敏"),
            (head, "宁波海源滤材有限公司", "购物卡", "1000.00", days[2], "refused", None),
            (agent, "上海新源科技有限公司", "微信红包", "200.00", today - dt.timedelta(days=12), "returned", None)):
        GiftDeclaration(employee=person, giver=giver, item=item, value=Decimal(value), offered_on=day,
                        handling=handling, handed_to=handed_to).save()


def _confidentiality(employees, units) -> None:
    """Confidentiality agreements (the one of `sales_clerk` expires within the reminder window) and the register of
    a trademark that expires soon, a utility patent and a software copyright."""
    from models.confidentiality import ConfidentialityAgreement, IntellectualProperty, months_later
    from portal.settings import local_today

    if ConfidentialityAgreement.objects.first() is not None:
        return
    today = local_today()
    scope = "客户资料、销售策略、价格体系、合同及财务信息"
    penalty = "违约方按上年度收入的 30% 支付违约金，并赔偿公司因此遭受的全部损失"
    for username, signed_on, months in (("sales_rep", months_later(today, -20), 36),
                                        ("sales_clerk", months_later(today + dt.timedelta(days=31), -24), 24),
                                        ("hr", months_later(today, -30), 60), ("agent", months_later(today, -4), 12)):
        ConfidentialityAgreement(employee=employees[username], signed_on=signed_on, term_months=months, scope=scope,
                                 penalty_clause=penalty).save()
    expires = today + dt.timedelta(days=45)
    for kind, title, number, filed_on, expires_on, who in (
            ("trademark", "华信 HUAXIN（第 11 类）", "第 12345678 号", months_later(expires, -120), expires, "legal"),
            ("patent", "一种净水器滤芯快拆结构", "ZL 2021 2 0123456.7", dt.date(2021, 3, 1), dt.date(2031, 2, 28),
             "branch_head"),
            ("copyright", "华信门店管理系统 V1.0", "2023SR0456789", dt.date(2023, 5, 10), dt.date(2073, 12, 31),
             "admin")):
        IntellectualProperty(kind=kind, title=title, number=number, owner="华信商贸有限公司", filed_on=filed_on,
                             status="granted", expires_on=expires_on, responsible=employees[who]).save()


def _tiers() -> None:
    from decimal import Decimal

    from models.agents import AgentTier

    for name, level, share in TIERS:
        if not AgentTier.objects(level=level).first():
            AgentTier(name=name, level=level, profit_share=Decimal(share), price_list=f"{name}价目表").save()


def _units() -> dict[str, OrgUnit]:
    units = {}
    for code, name, kind, parent in UNITS:
        unit = OrgUnit.objects(code=code).first()
        if unit is None:
            unit = OrgUnit(code=code, name=name, kind=kind, parent=units.get(parent)).save()
        units[code] = unit
    return units


def _employee(number, name, unit, kind, rng) -> Employee:
    employee = Employee.objects(employee_no=number).first()
    if employee is None:
        hired = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 2000))
        from models.agents import AgentTier

        tier = AgentTier.objects(level=2).first() if kind == "agent" else None
        employee = Employee(employee_no=number, name=name, owner_unit=unit, staff_kind=kind, status="active",
                            agent_tier=tier,
                            gender=rng.choice(("male", "female")), hire_date=hired,
                            phone=f"13{rng.randrange(100000000, 999999999)}",
                            email=f"{number.lower()}@demo.example").save()
    return employee


def _staff_kind(code: str) -> str:
    return {"BR-SALES": "sales", "BR-CS": "customer_service", "DSC-SH-CS": "customer_service",
            "BR-MKT": "market_expansion", "DSC-SH-MKT": "market_expansion", "BR-FIN": "finance",
            "DSC-SH-FIN": "finance", "BR-HR": "hr", "BR-OPS": "operations",
            "DSC-SH-OPS": "operations"}.get(code, "other")


def _managers(employees, units) -> None:
    """Everyone reports to the head of their unit, heads to the head of the parent unit."""
    for username, employee in employees.items():
        if employee.manager is not None or username == "admin":
            continue
        unit = employee.owner_unit
        boss = unit.head if unit.head and unit.head != employee else (unit.parent.head if unit.parent else None)
        if boss is not None and boss != employee:
            employee.manager = boss
            employee.save()


def _positions(units) -> None:
    for code, title, grade in (("BR-SALES", "销售代表", "P3"), ("BR-SALES", "销售经理", "M2"),
                               ("BR-CS", "客服专员", "P2"), ("BR-HR", "培训专员", "P3"),
                               ("BR-FIN", "结算会计", "P3"), ("BR-LEGAL", "法务专员", "P4")):
        if not Position.objects(name=title, owner_unit=units[code]).first():
            Position(name=title, owner_unit=units[code], grade=grade, duties=[]).save()


def _accounts(app, employees) -> None:
    sm = app.appbuilder.sm
    password = app.config["DEMO_PASSWORD"]
    employee_role = sm.find_role("Employee")
    for username, role, _no, name, *_rest in ACCOUNTS:
        if existing := sm.find_user(username=username):
            _rekey(sm, existing, password)
            continue
        roles = [sm.find_role(role)] + ([employee_role] if role != "Admin" else [])
        user = sm.add_user(username, name[1:] or name, name[0], f"{username}@demo.example", roles, password)
        PortalUser.objects(pk=user.pk).update_one(set__employee=employees[username])


def _rekey(sm, user, password: str) -> None:
    """A demo account still opening with the published password takes the operator's own (portal.startup)."""
    from werkzeug.security import check_password_hash

    from portal.config import DEFAULT_DEMO_PASSWORD

    if password != DEFAULT_DEMO_PASSWORD and check_password_hash(user.password or "", DEFAULT_DEMO_PASSWORD):
        sm.reset_password(user.pk, password)


# unit, kind, category, annual amount (CNY): approved lines of the current year
BUDGETS = (
    ("BR-SALES", "expense", "travel", 60000), ("BR-SALES", "expense", "entertainment", 30000),
    ("BR-SALES", "expense", "business_development", 40000), ("BR-CS", "expense", "customer_service", 20000),
    ("BR-MKT", "expense", "market_expansion", 80000), ("BR-HR", "expense", "training", 50000),
    ("DSC-SH-MKT", "expense", "market_expansion", 60000), ("BR-EAST", "expense", "office", 24000),
)


def _budgets(units, employees) -> None:
    """Approved budget lines for this year, split evenly over the quarters."""
    from decimal import Decimal

    from portal.settings import local_today

    year = local_today().year
    for code, kind, category, amount in BUDGETS:
        if Budget.objects(year=year, owner_unit=units[code], kind=kind, category=category).first():
            continue
        quarter = Decimal(amount) / 4
        Budget(year=year, owner_unit=units[code], kind=kind, category=category, annual_amount=Decimal(amount),
               quarters=[quarter] * 4, status="approved", requested_by=employees["finance"],
               note="演示数据 demo").save()


def _requests(employees) -> None:
    """One claim and one leave request on their way, so that two inboxes are not empty."""
    import datetime as dt
    from decimal import Decimal

    from models.conduct import LeaveRequest
    from models.finance import ExpenseClaim, ExpenseItem
    from portal import approvals
    from portal.settings import local_today

    today = local_today()
    rep, clerk = employees["sales_rep"], employees["service_clerk"]
    if not ExpenseClaim.objects(claimant=rep).first():
        travel = Budget.objects(year=today.year, owner_unit=rep.owner_unit, category="travel").first()
        day = max(today - dt.timedelta(days=2), dt.date(today.year, 1, 1))
        claim = ExpenseClaim(claimant=rep, title="拜访杭州客户差旅", budget=travel, items=[
            ExpenseItem(date=day, place="杭州", purpose="高铁往返", amount=Decimal("356.00"), invoice_no="24330001"),
            ExpenseItem(date=day, place="杭州", purpose="住宿一晚", amount=Decimal("480.00"), invoice_no="24330002"),
        ]).save()
        approvals.submit(claim, approvals.Actor(rep.pk, rep.name, "sales_rep", frozenset({"Employee"})))
    if not LeaveRequest.objects(employee=clerk).first():
        start = today + dt.timedelta(days=7)
        leave = LeaveRequest(employee=clerk, kind="annual", start=start, end=start + dt.timedelta(days=1),
                             reason="家庭事务", handover="客服部同事").save()
        approvals.submit(leave, approvals.Actor(clerk.pk, clerk.name, "service_clerk", frozenset({"Clerk"})))


# expense standards: category, cap applies per, cap (CNY), staff grade, agent tier level, note
STANDARDS = (
    ("travel", "item", "1000.00", None, None, "单张交通、住宿票据"),
    ("travel", "day", "1200.00", None, None, "每人每天合计"),
    ("travel", "day", "1800.00", "M2", None, "经理级每人每天合计"),
    ("entertainment", "item", "800.00", None, None, "每次业务招待"),
    ("entertainment", "item", "2000.00", "M2", None, "经理级每次业务招待"),
    ("communication", "trip", "300.00", None, None, "每次报销的通讯费"),
    ("logistics", "item", "500.00", None, 2, "二级代理每票物流费"),
)
# demo accounts acting in the expense demo, with the role they act in
EXPENSE_ACTORS = {"sales_rep": "Employee", "sales_head": "DeptHead", "finance": "Finance"}


def _expenses(employees, units) -> None:
    """Expense standards; an approved expense plan of `sales_rep` with a paid claim under it and a pending one whose
    dinner is above its standard, with the reason; a reviewed bank reconciliation and a cash count with an
    explained difference waiting for Finance's review."""
    from decimal import Decimal

    from models.agents import AgentTier
    from models.finance import ExpenseClaim, ExpenseStandard, PlanLine
    from portal import approvals, finance

    if ExpenseStandard.objects.first():
        return
    for title, username in (("销售经理", "sales_head"), ("销售代表", "sales_rep")):
        if employees[username].position is None:
            employees[username].position = Position.objects(name=title, owner_unit=units["BR-SALES"]).first()
            employees[username].save()
    for category, per, cap, grade, level, note in STANDARDS:
        ExpenseStandard(category=category, per=per, cap=Decimal(cap), grade=grade, note=note,
                        agent_tier=AgentTier.objects(level=level).first() if level else None).save()
    actors = {name: approvals.Actor(employees[name].pk, employees[name].name, name, frozenset({"Employee", role}))
              for name, role in EXPENSE_ACTORS.items()}
    rep, today = employees["sales_rep"], _today()
    plan = _expense_plan(rep, today, [
        PlanLine(category="travel", amount=Decimal(2000), planned_on=today.replace(day=5), purpose="客户拜访"),
        PlanLine(category="entertainment", amount=Decimal(3000), planned_on=today.replace(day=10),
                 purpose="瑞丰年度合作洽谈招待"),
        PlanLine(category="communication", amount=Decimal(300), planned_on=today.replace(day=1), purpose="本月通讯费")])
    approvals.decide(approvals.submit(plan, actors["sales_rep"]), actors["sales_head"], "approve", "同意")
    plan.reload()  # approved by the engine
    travel = _expense_claim(rep, "宁波新客户拜访差旅", "travel", plan, (
        ("宁波", "高铁往返", "286.00", "24330101", None), ("宁波", "住宿一晚", "450.00", "24330102", None)))
    request_id = approvals.submit(travel, actors["sales_rep"])
    for approver in ("sales_head", "finance"):
        approvals.decide(request_id, actors[approver], "approve")
    finance.pay(ExpenseClaim.objects(pk=travel.pk).first(), actors["finance"])
    dinner = _expense_claim(rep, "瑞丰年度合作洽谈招待", "entertainment", plan, (
        ("杭州", "客户招待晚宴", "1260.00", "24330201", "瑞丰总经理一行六人来访，洽谈年度合同续签"),
        ("杭州", "会谈茶歇", "180.00", "24330202", None)))
    approvals.submit(dinner, actors["sales_rep"])
    _reconciliations(employees, units, actors["finance"])


def _today():
    from portal.settings import local_today

    return local_today()


def _expense_plan(rep, today, lines):
    from models.finance import ExpensePlan

    return ExpensePlan(salesperson=rep, period_kind="month", period=f"{today:%Y-%m}", lines=lines,
                       note="本月重点：瑞丰续签、宁波新客户").save()


def _expense_claim(rep, title, category, plan, items):
    """A claim of yesterday's receipts (today's on the first of a month) on the unit's line of `category`."""
    from decimal import Decimal

    from models.finance import ExpenseClaim, ExpenseItem

    today = _today()
    day = max(today - dt.timedelta(days=1), today.replace(day=1))
    line = Budget.objects(year=today.year, owner_unit=rep.owner_unit, category=category).first()
    return ExpenseClaim(claimant=rep, title=title, budget=line, plan=plan, items=[
        ExpenseItem(date=day, place=place, purpose=purpose, amount=Decimal(amount), invoice_no=invoice,
                    excess_reason=reason) for place, purpose, amount, invoice, reason in items]).save()


def _reconciliations(employees, units, reviewer) -> None:
    """Last month's bank reconciliation, reviewed; today's cash count, short by ¥120 and explained, still open."""
    from decimal import Decimal

    from models.finance import FundReconciliation
    from portal import finance

    today, office = _today(), units["BR-FIN"]
    preparer = Employee.objects(owner_unit=office, pk__ne=employees["finance"].pk).first() or employees["finance"]
    bank = FundReconciliation(account_kind="bank", account="工商银行杭州分行 基本户 尾号 6621",
                              reconciled_on=today.replace(day=1) - dt.timedelta(days=1),
                              book_balance=Decimal("1286540.32"), actual_balance=Decimal("1286540.32"),
                              prepared_by=preparer, owner_unit=office).save()
    if preparer.pk != reviewer.employee_id:
        finance.review_reconciliation(bank, reviewer, "与银行对账单一致")
    FundReconciliation(account_kind="cash", account="库存现金（财务结算部保险柜）", reconciled_on=today,
                       book_balance=Decimal("8650.00"), actual_balance=Decimal("8530.00"), prepared_by=preparer,
                       owner_unit=office, explanation="员工借支备用金 120 元未及时入账，借条已附，次日补记").save()


def _customers(employees, units) -> None:
    """A few customers with contact history, an overdue complaint, visits due and a survey with answers."""
    import datetime as dt
    from decimal import Decimal

    from models.common import utcnow
    from models.customers import (
        Complaint,
        Contact,
        Customer,
        CustomerVisit,
        Inquiry,
        Measure,
        Negotiation,
        ReturnVisit,
        SatisfactionSurvey,
        Score,
        SurveyResponse,
    )
    from models.market import MarketResearch, PromotionCampaign
    from portal import customers
    from portal.approvals import Actor
    from portal.settings import local_today

    if Customer.objects(name="杭州瑞丰贸易有限公司").first():
        return
    now, today = utcnow(), local_today()
    rep, clerk, head, service = (employees[k] for k in ("sales_rep", "sales_clerk", "sales_head", "service_clerk"))
    ruifeng = Customer(name="杭州瑞丰贸易有限公司", kind="company", industry="批发零售", region="浙江杭州",
                       source="exhibition", contacts=[Contact(name="王海涛", title="采购经理", phone="13812345678",
                                                              email="wang@ruifeng.example")],
                       needs="季度补货，关注价格与交期", customer_class="A", status="active", owner=rep,
                       key_account=True,
                       key_owner=head, credit_rating="AA", credit_limit=Decimal(200000), last_verified_on=today).save()
    Customer(name="苏州百汇商城", kind="company", industry="商超", region="江苏苏州", source="referral",
             contacts=[Contact(name="李娜", title="店长", phone="13987654321")], customer_class="B", status="prospect",
             owner=clerk, last_verified_on=today).save()
    Customer(name="上海新源科技有限公司", kind="company", industry="科技", region="上海", source="online",
             contacts=[Contact(name="陈晓", phone="02161234567", email="chen@xinyuan.example")], customer_class="B",
             status="active", owner=clerk, last_verified_on=today - dt.timedelta(days=200)).save()
    Customer(name="张建军", kind="person", region="浙江宁波", source="peer", customer_class="C", status="lead",
             owner=rep, last_verified_on=today).save()
    Inquiry(customer=ruifeng, channel="phone", topic="price", content="批量采购是否有阶梯价格？",
            answer="单次订货满 500 件享 95 折，已发送价目表。", handled_by=service, owner_unit=service.owner_unit,
            received_at=now - dt.timedelta(days=3)).save()
    complaint = Complaint(customer=ruifeng, channel="phone", received_at=now - dt.timedelta(hours=30),
                          content="上批货物有 3 箱外包装破损", category="delivery", severity="high",
                          responsible_unit=units["BR-SALES"], handler=service, owner_unit=service.owner_unit)
    customers.apply_deadline(complaint, Actor(service.pk, service.name, "service_clerk"))
    complaint.save()
    visit = CustomerVisit(customer=ruifeng, owner=rep, purpose="介绍新品并了解下季度需求", place="瑞丰公司会议室",
                          planned_at=now - dt.timedelta(days=10), status="done", outcome="客户对新品兴趣较高，希望试用",
                          intention="high", next_step="寄送样品", owner_unit=rep.owner_unit).save()
    Negotiation(customer=ruifeng, owner=rep, visit=visit, held_on=today - dt.timedelta(days=10),
                participants="孙浩；王海涛", proposal="新品试销方案", price=Decimal("86.50"),
                delivery_time="下单后 7 天",
                consensus="先试销 200 件", next_actions="一周内寄送样品并报价", owner_unit=rep.owner_unit).save()
    CustomerVisit(customer=ruifeng, owner=rep, purpose="样品试用反馈", place="瑞丰公司",
                  planned_at=now + dt.timedelta(days=3), owner_unit=rep.owner_unit).save()
    ReturnVisit(customer=ruifeng, owner=service, planned_on=today, method="phone", owner_unit=service.owner_unit).save()
    survey = SatisfactionSurvey(title=f"{today.year}年客户满意度调查", period_start=today.replace(month=1, day=1),
                                period_end=today.replace(month=12, day=31), method="phone",
                                questions=["产品质量", "交货及时", "服务态度"], owner_unit=service.owner_unit,
                                measures=[Measure(problem="交货偶有延迟", measure="与物流商约定时效",
                                                  state="in_progress",
                                                  responsible=units["BR-OPS"])]).save()
    for customer, scores in ((ruifeng, (5, 3, 4)), (Customer.objects(name="苏州百汇商城").first(), (4, 4, 5))):
        SurveyResponse(survey=survey, customer=customer, answered_on=today,
                       scores=[Score(question=q, score=n)
                               for q, n in zip(survey.questions, scores, strict=True)]).save()
    author = Employee.objects(owner_unit=units["BR-MKT"]).first()
    if author is not None:
        MarketResearch(topic="华东地区小家电渠道调研", author=author, period_start=today - dt.timedelta(days=60),
                       period_end=today - dt.timedelta(days=30), methods=["questionnaire", "industry_report"],
                       findings="线上渠道占比持续上升，县级市场空间较大", owner_unit=author.owner_unit).save()
        PromotionCampaign(theme="春季新品发布会", content="新品展示与订货会", channels=["launch_event", "online"],
                          start=today + dt.timedelta(days=20), end=today + dt.timedelta(days=21), budget=Decimal(30000),
                          expected_result="新增意向客户 20 家", organizer=author, owner_unit=author.owner_unit).save()


# code, name, category, unit, standard price, unit cost, tier-1/2/3 prices
PRODUCTS = (
    ("P-1001", "净水器 A100", "家电", "piece", "1280.00", "760.00", ("980.00", "1050.00", "1120.00")),
    ("P-1002", "滤芯套装 F20", "耗材", "set", "168.00", "72.00", ("128.00", "138.00", "148.00")),
    ("P-2001", "空气净化器 K7", "家电", "piece", "2380.00", "1450.00", ("1880.00", "1980.00", "2080.00")),
    ("P-3001", "有机茶礼盒", "食品", "box", "298.00", "150.00", ("228.00", "248.00", "268.00")),
    ("S-0001", "门店代运营服务（月）", "服务", "service", "30000.00", "21000.00", ()),
)


def _sales(employees, units) -> None:
    """Products with tier prices, stock in two warehouses (one batch held after a failed inspection), carriers,
    suppliers, contracts (one signed, one outsourcing under way, one draft), a year of orders, a shipment on its
    way, an after-sales ticket, agents with remittances, a sales plan and a work report."""
    import datetime as dt
    from decimal import Decimal

    from models.agents import AgentTier, Remittance
    from models.customers import Customer
    from models.products import (
        AfterSalesTicket,
        Evaluation,
        LogisticsPartner,
        Product,
        QualityInspection,
        Quote,
        Shipment,
        StockItem,
        Supplier,
        TierPrice,
    )
    from models.sales import Allocation, ClientProgressReport, Contract, OrderLine, SalesOrder, SalesPlan, WorkReport
    from portal import products
    from portal.settings import local_today

    if Product.objects(code="P-1001").first():
        return
    today = local_today()
    tiers = list(AgentTier.objects.order_by("level"))
    goods = {}
    for code, name, category, unit, price, cost, tier_prices in PRODUCTS:
        prices = [TierPrice(tier=t, price=Decimal(p)) for t, p in zip(tiers, tier_prices, strict=False)]
        goods[code] = Product(code=code, name=name, category=category, unit=unit, standard_price=Decimal(price),
                              unit_cost=Decimal(cost), quality_standard="GB/T 30307" if category == "家电" else "",
                              tier_prices=prices).save()
    ops = units["BR-OPS"]
    for code, warehouse, batch, quantity, reorder, maximum in (
            ("P-1001", "杭州仓", "B2601", 120, 30, 400), ("P-1001", "上海仓", "B2602", 12, 20, 200),
            ("P-1002", "杭州仓", "B2601", 900, 200, 800), ("P-2001", "杭州仓", "B2603", 40, 10, 100),
            ("P-3001", "上海仓", "T2601", 60, 20, 150)):
        StockItem(product=goods[code], warehouse=warehouse, batch=batch, quantity=quantity, reorder_level=reorder,
                  max_level=maximum, owner_unit=ops, received_on=today - dt.timedelta(days=120),
                  last_shipped_on=None if code == "P-3001" else today - dt.timedelta(days=5)).save()
    inspector = Employee.objects(owner_unit=ops).first() or employees["sales_clerk"]
    failed = QualityInspection(product=goods["P-2001"], batch="B2603", stage="outgoing", inspector=inspector,
                               inspected_on=today - dt.timedelta(days=2), result="fail",
                               defects="抽检 5 台中 2 台噪音超标", owner_unit=ops).save()
    products.apply_inspection(failed)
    Supplier(name="宁波海源滤材有限公司", contact_person="林涛", phone="0574-88886666", products=[goods["P-1002"]],
             selected_by="tender", quotes=[Quote(product=goods["P-1002"], price=Decimal("65.00"),
                                                 quoted_on=today - dt.timedelta(days=60))],
             evaluations=[Evaluation(evaluated_on=today - dt.timedelta(days=30), score=4, quality_score=4,
                                     notes="交期稳定")]).save()
    carrier = LogisticsPartner(name="顺丰速运", contact_person="王强", phone="95338",
                               service_scope="全国快递、大件物流",
                               tracking_url="https://www.sf-express.com/",
                               evaluations=[Evaluation(evaluated_on=today - dt.timedelta(days=20), score=5)]).save()
    LogisticsPartner(name="德邦物流", service_scope="大件零担", evaluations=[]).save()

    rep, clerk, agent = (employees[k] for k in ("sales_rep", "sales_clerk", "agent"))
    service = employees["service_clerk"]
    ruifeng = Customer.objects(name="杭州瑞丰贸易有限公司").first()
    xinyuan = Customer.objects(name="上海新源科技有限公司").first()
    signed = Contract(customer=ruifeng, kind="sales", subject="2026 年度净水器及滤芯供货合同", amount=Decimal(600000),
                      payment_terms="每批货到后 30 天内付款", delivery_terms="杭州仓发货，运费由供方承担",
                      start=today.replace(month=1, day=1), end=today + dt.timedelta(days=20),
                      liabilities="逾期交货每日按货值 0.05% 计违约金", owner=rep, status="signed",
                      signed_on=today.replace(month=1, day=1)).save()
    outsourcing = Contract(customer=xinyuan, kind="outsourcing", subject="门店代运营服务", amount=Decimal(360000),
             payment_terms="按月结算", delivery_terms="派驻 3 人销售团队", start=today - dt.timedelta(days=75),
             end=today + dt.timedelta(days=290), liabilities="未达服务标准按月费 10% 扣减", owner=clerk,
             status="executing", signed_on=today - dt.timedelta(days=80), team_leader=clerk,
             team_members=[rep], report_every_days=30).save()
    ClientProgressReport(contract=outsourcing, period_start=today - dt.timedelta(days=75),
                         period_end=today - dt.timedelta(days=45), sales_figures=Decimal(85000),
                         market_feedback="门店客流回升，新品接受度高", sent_on=today - dt.timedelta(days=43),
                         author=clerk).save()
    Contract(customer=ruifeng, kind="sales", subject="空气净化器试销合同", amount=Decimal(48000),
             payment_terms="预付 30%，到货后付清", delivery_terms="到店交付", start=today,
             end=today + dt.timedelta(days=180),
             liabilities="质量问题包退换", owner=rep).save()

    def order(number_days, seller, customer, lines, stage, paid=True, contract=None):
        ordered = today - dt.timedelta(days=number_days)
        return SalesOrder(customer=customer, contract=contract, salesperson=seller, cs_owner=service,
                          ordered_on=ordered,
                          delivery_date=ordered + dt.timedelta(days=7), warehouse="杭州仓", stage=stage,
                          lines=[OrderLine(product=goods[c], quantity=q, unit_price=Decimal(p)) for c, q, p in lines],
                          paid_on=ordered + dt.timedelta(days=20) if paid and stage in ("delivered", "closed") else None
                          ).save()

    for days, seller, lines in ((300, rep, (("P-1001", 20, "1280.00"), ("P-1002", 40, "168.00"))),
                                (240, rep, (("P-2001", 5, "2380.00"),)), (200, agent, (("P-1001", 8, "1050.00"),)),
                                (150, rep, (("P-1002", 100, "168.00"),)), (110, agent, (("P-3001", 30, "248.00"),)),
                                (80, rep, (("P-1001", 10, "1280.00"), ("P-3001", 20, "298.00"))),
                                (45, agent, (("P-1002", 50, "138.00"), ("P-1001", 5, "1050.00"))),
                                (30, rep, (("P-2001", 3, "2380.00"),))):
        order(days, seller, ruifeng if seller == rep else xinyuan, lines, "closed", contract=signed if seller == rep
              else None)
    shipped = order(6, rep, ruifeng, (("P-1001", 6, "1280.00"),), "shipped", paid=False, contract=signed)
    Shipment(order=shipped, warehouse="杭州仓", carrier=carrier, tracking_no="SF1234567890", status="shipped",
             shipped_at=shipped.created_at, owner_unit=shipped.owner_unit).save()
    order(1, rep, ruifeng, (("P-1001", 10, "1150.00"),), "pending_review", paid=False, contract=signed)  # below list
    AfterSalesTicket(customer=ruifeng, order=SalesOrder.objects(stage="closed", salesperson=rep).first(),
                     product=goods["P-1001"], kind="exchange", description="一台净水器出水口漏水", handler=service,
                     deadline=today - dt.timedelta(days=1), owner_unit=service.owner_unit).save()
    Remittance(agent=agent, amount=Decimal("8400.00"), remitted_on=today - dt.timedelta(days=180),
               reference="ICBC-2026-0311", account="公司基本户", state="verified", verified_by="黄磊",
               owner_unit=agent.owner_unit).save()
    Remittance(agent=agent, amount=Decimal("7440.00"), remitted_on=today - dt.timedelta(days=2),
               reference="ICBC-2026-1120", account="公司基本户", owner_unit=agent.owner_unit).save()
    period = f"{today:%Y-%m}"
    SalesPlan(period_kind="month", period=period, drafted_by=clerk, owner_unit=units["BR-SALES"],
              amount_target=Decimal(200000), volume_target=300, regions=["浙江", "江苏"], categories=["家电", "耗材"],
              strategy="以老带新，主推净水器套装", action_plan="每周拜访 10 家重点客户",
              allocations=[Allocation(salesperson=rep, amount_target=Decimal(120000)),
                           Allocation(salesperson=clerk, amount_target=Decimal(60000))]).save()
    last_month = (today.replace(day=1) - dt.timedelta(days=1))
    WorkReport(salesperson=rep, period_kind="month", period=f"{last_month:%Y-%m}", customers_developed=2,
               negotiations=3, contracts_signed=1, receivables=Decimal(18000), summary="重点跟进瑞丰年度合同执行",
               lessons="样品寄送要提前").save()


def _receivables(employees) -> None:
    """Receivables in every aging state (the order on its way, a contract instalment 45 days late with a receipt and
    a call, a debt past 180 days ready for a write-off request, one settled), and the verified remittances in the
    income ledger."""
    from decimal import Decimal

    from models.agents import Remittance
    from models.customers import Customer
    from models.receivables import CollectionAction, IncomeRecord, Receivable
    from models.sales import Contract, SalesOrder
    from portal import receivables
    from portal.settings import local_today

    if Receivable.objects.first() is not None:
        return
    today = local_today()
    rep, finance = employees["sales_rep"], employees["finance"]
    ruifeng = Customer.objects(name="杭州瑞丰贸易有限公司").first()
    xinyuan = Customer.objects(name="上海新源科技有限公司").first()
    signed = Contract.objects(customer=ruifeng, status__in=["signed", "executing"]).first()
    on_its_way = SalesOrder.objects(stage="shipped").first()
    closed = SalesOrder.objects(stage="closed", customer=ruifeng).order_by("-ordered_on").first()

    def receipt(owed, amount, days_ago, reference):
        record = IncomeRecord(source="order" if owed.order else "contract", receivable=owed, amount=Decimal(amount),
                              received_on=today - dt.timedelta(days=days_ago), account="公司基本户",
                              reference=reference, recorded_by=finance)
        record.validate()
        receivables.apply_receipt(record)
        record.save()

    Receivable(customer=ruifeng, order=on_its_way, owner=rep, amount=on_its_way.total,
               due_date=today + dt.timedelta(days=24), terms="货到 30 天付款").save()
    late = Receivable(customer=ruifeng, contract=signed, owner=rep, amount=Decimal(36000),
                      due_date=today - dt.timedelta(days=45), terms="年度合同第三期款", actions=[
                          CollectionAction(date=today - dt.timedelta(days=20), method="phone",
                                           result="对方财务称月底前安排付款", by=rep.name)]).save()
    receipt(late, "10000.00", 15, "ICBC-2026-1107")
    Receivable(customer=xinyuan, owner=rep, amount=Decimal(12000), due_date=today - dt.timedelta(days=200),
               terms="样机款", write_off_reason="客户已注销，经律师函及诉讼确认无可执行财产", actions=[
                   CollectionAction(date=today - dt.timedelta(days=150), method="letter", result="催款函已签收，未回复",
                                    by=rep.name),
                   CollectionAction(date=today - dt.timedelta(days=60), method="legal", result="法院终结执行程序",
                                    by=rep.name)]).save()
    if closed is not None:
        paid = Receivable(customer=ruifeng, order=closed, contract=closed.contract, owner=rep, amount=closed.total,
                          due_date=closed.ordered_on + dt.timedelta(days=30)).save()
        receipt(paid, f"{paid.amount:.2f}", 20, "ICBC-2026-1029")
    for remitted in Remittance.objects(state="verified"):
        IncomeRecord(source="remittance", remittance=remitted, amount=remitted.amount, received_on=remitted.remitted_on,
                     account=remitted.account or "公司基本户", reference=remitted.reference, recorded_by=finance).save()


# title, category, likelihood, impact, response, owner, days to the next review (negative: overdue), status
RISKS = (
    ("单一大客户依赖度过高", "credit", 5, 4, "reduce", "sales_head", -10, "open"),
    ("华东市场价格战导致毛利下滑", "market", 4, 4, "reduce", "sales_head", 60, "open"),
    ("大客户应收账款逾期", "credit", 3, 5, "reduce", "finance", 30, "monitoring"),
    ("代理商违规宣传与跨区销售", "legal", 3, 4, "reduce", "branch_head", 45, "open"),
    ("原材料涨价推高采购成本", "market", 4, 3, "transfer", "finance", 90, "monitoring"),
    ("客户信息泄露", "operational", 2, 5, "reduce", "branch_head", 60, "open"),
    ("主要物流商交货延迟", "operational", 3, 3, "transfer", "service_head", 30, "open"),
    ("合同条款审查不严引发纠纷", "contract", 2, 4, "reduce", "legal", 90, "open"),
    ("广告用语不符合广告法", "legal", 2, 3, "avoid", "legal", 120, "open"),
    ("新品市场接受度低于预期", "market", 3, 2, "accept", "sales_clerk", 30, "open"),
    ("现金收款保管不当", "operational", 1, 4, "reduce", "finance", 180, "open"),
    ("外包服务质量不达标", "contract", 2, 2, "accept", "sales_clerk", 60, "monitoring"),
    ("展会样品损耗", "operational", 1, 2, "accept", "sales_rep", 180, "closed"),
)


def _risk(employees, units) -> None:
    """A dozen risks over the matrix (one with a breached indicator, one past its review), credit assessments of the
    demo customers, two audit findings and compliance reviews of the major contract and of a decision."""
    from decimal import Decimal

    from models.customers import Customer
    from models.risk import AuditFinding, ComplianceReview, CreditAssessment, Indicator, Risk
    from models.sales import Contract
    from portal.settings import local_today

    if Risk.objects(title=RISKS[0][0]).first():
        return
    today = local_today()
    indicators = {
        "大客户应收账款逾期": [Indicator(name="逾期 90 天以上应收（万元）", threshold=Decimal(50), direction="above",
                                         current=Decimal(62))],
        "华东市场价格战导致毛利下滑": [Indicator(name="月度毛利率（%）", threshold=Decimal(25), direction="below",
                                               current=Decimal("27.5"))],
    }
    for title, category, likelihood, impact, response, owner, days, status in RISKS:
        Risk(title=title, category=category, likelihood=likelihood, impact=impact, response=response,
             measures="明确责任人，按月跟踪措施落实情况", owner=employees[owner], status=status,
             review_on=today + dt.timedelta(days=days), indicators=indicators.get(title, [])).save()
    finance = employees["finance"]
    assessments = (("杭州瑞丰贸易有限公司", "A", 150000, 420, None, None),
                   ("杭州瑞丰贸易有限公司", "AA", 1000000, 60, None, None),  # the 600,000 annual contract
                   ("苏州百汇商城", "B", 50000, 30, None, Decimal(30)),
                   ("上海新源科技有限公司", "A", 100000, 90, None, None),
                   ("张建军", "C", 10000, 20, "个人连带责任保证，并以房产抵押", Decimal(50)))
    for name, rating, limit, days, guarantee, prepayment in assessments:
        customer = Customer.objects(name=name).first()
        if customer is not None:
            CreditAssessment(customer=customer, rating=rating, credit_limit=Decimal(limit),
                             required_guarantee=guarantee, prepayment_percent=prepayment,
                             assessed_on=today - dt.timedelta(days=days), assessed_by=finance,
                             valid_until=today - dt.timedelta(days=days) + dt.timedelta(days=365),
                             basis="近两年财务报表、回款记录及行业口碑").save()
    ops = Employee.objects(owner_unit=units["BR-OPS"]).first()
    AuditFinding(area="finance", finding="抽查 20 张费用报销单，其中 3 张缺少发票原件", severity="medium",
                 owner_unit=units["BR-SALES"], responsible=employees["sales_clerk"],
                 corrective_action="补齐发票原件，完善报销初审清单", due_on=today + dt.timedelta(days=14)).save()
    AuditFinding(area="stock", finding="杭州仓上季度盘点差异未附说明即调整账面", severity="high",
                 owner_unit=units["BR-OPS"], responsible=ops, corrective_action="逐项说明差异原因并经复核后过账",
                 due_on=today - dt.timedelta(days=5), status="in_progress").save()
    major = Contract.objects(subject="2026 年度净水器及滤芯供货合同").first()
    if major is not None:
        ComplianceReview(subject_kind="contract", contract=major, reviewer=employees["legal"],
                         opinion="合同主体、付款及违约条款合法有效；不可抗力条款约定不明。", result="conditional",
                         conditions="签署前补充不可抗力及争议解决条款", reviewed_on=major.signed_on or today).save()
    ComplianceReview(subject_kind="decision", decision_title="在宁波设立销售办事处", owner_unit=units["BR-EAST"],
                     reviewer=employees["legal"], opinion="办事处不具独立法人资格，对外签约需经分公司授权。",
                     result="compliant", reviewed_on=today - dt.timedelta(days=7)).save()


def _hr(employees, units) -> None:
    """HR (DOMAIN 3.7): an approved recruitment plan of 销售部 with two openings and four candidates (one with an offer
    ready to hire, one pending, one rejected, one hired whose onboarding is incomplete), compensation profiles of the
    demo accounts, two awards, a career plan for `sales_rep` and two pieces of feedback, one of them anonymous."""
    from decimal import Decimal

    from models.common import utcnow
    from models.hr import (
        Award,
        Candidate,
        CareerPlan,
        CompensationProfile,
        EmployeeFeedback,
        Interview,
        Onboarding,
        PlanLine,
        RecruitmentPlan,
    )
    from portal.settings import local_today

    if RecruitmentPlan.objects.first() is not None:
        return
    today, now = local_today(), utcnow()
    sales, head = units["BR-SALES"], employees["sales_head"]
    rep_post = Position.objects(name="销售代表", owner_unit=sales).first()
    manager_post = Position.objects(name="销售经理", owner_unit=sales).first()
    plan = RecruitmentPlan(
        title="销售部下半年招聘计划", owner_unit=sales, requested_by=head, status="approved", decided_at=now,
        submitted_at=now, start=today - dt.timedelta(days=30), end=today + dt.timedelta(days=60),
        channels=["job_sites", "campus", "referral"], budget=Decimal("20000.00"),
        lines=[PlanLine(position=rep_post, headcount=3,
                        requirements="大专及以上学历，一年以上快消或家电销售经验，能适应出差"),
               PlanLine(title="大客户经理", headcount=1,
                        requirements="五年以上渠道或大客户销售经验，有华东地区客户资源")],
        note="根据下半年华东区域销售目标增补人员").save()
    interview = {"interviewer": head, "round": 1}
    Candidate(name="王小明", phone="13812345678", email="wangxm@example.cn", plan=plan, position=rep_post,
              channel="job_sites", screening="pass", screening_note="三年家电销售经验，业绩稳定", test_score=82,
              interviews=[Interview(date=today - dt.timedelta(days=6), score=85, notes="沟通能力强，熟悉渠道",
                                    **interview)],
              background_check="clear", decision="offer", decided_by=head.name, decided_at=now,
              decision_reason="试用期三个月，月薪 6500 元").save()
    Candidate(name="李娜", phone="13912345678", email="lina@example.cn", plan=plan, position=rep_post, channel="campus",
              screening="pass", test_score=76, background_check="in_progress",
              interviews=[Interview(date=today - dt.timedelta(days=2), score=72, notes="应届生，学习意愿强",
                                    **interview)]).save()
    Candidate(name="赵磊", phone="13712345678", plan=plan, position_title="大客户经理", channel="referral",
              screening="fail", screening_note="大客户销售经验不足两年", decision="rejected",
              decision_reason="经验不符合岗位要求", decided_by=head.name, decided_at=now).save()
    hired_on = today - dt.timedelta(days=10)
    newcomer = Employee.objects(employee_no="E0301").first() or Employee(
        employee_no="E0301", name="陈晨", gender="female", phone="13612345678", email="e0301@demo.example",
        owner_unit=sales, position=rep_post, manager=head, hire_date=hired_on, status="probation",
        staff_kind="sales").save()
    hired = Candidate(name="陈晨", phone="13612345678", email="e0301@demo.example", plan=plan, position=rep_post,
                      channel="referral", screening="pass", test_score=88, background_check="clear",
                      interviews=[Interview(date=hired_on - dt.timedelta(days=14), score=90, notes="表现优秀",
                                            **interview)],
                      decision="hired", decided_by="赵敏", decided_at=now, employee=newcomer).save()
    Onboarding(employee=newcomer, candidate=hired, hire_date=hired_on, contract_signed_on=hired_on,
               contract_term_months=36, handbook_issued_on=hired_on, note="入职培训排在下一期新员工培训").save()
    pay = {"gm": ("30000", "8000", "100000"), "branch_head": ("22000", "6000", "60000"),
           "sales_head": ("15000", "5000", "40000"), "service_head": ("13000", "4000", "30000"),
           "sales_clerk": ("6500", "1500", "8000"), "service_clerk": ("6000", "1500", "8000"),
           "hr": ("9000", "2000", "12000"), "finance": ("9500", "2000", "12000"), "legal": ("11000", "2500", "15000"),
           "auditor": ("10000", "2000", "12000"), "sales_rep": ("5800", "3000", "20000"),
           "admin": ("12000", "2000", "15000")}
    for username, (base, performance, bonus) in pay.items():
        CompensationProfile(employee=employees[username], base_salary=Decimal(base),
                            performance_pay_base=Decimal(performance), bonus=Decimal(bonus),
                            effective_from=dt.date(today.year, 1, 1), note="按岗位和职级核定").save()
    last_year = str(today.year - 1)
    Award(employee=employees["sales_rep"], title="sales_champion", period_kind="year", period=last_year,
          awarded_on=dt.date(today.year, 1, 20), reason="全年销售额 386 万元，居华东分公司第一",
          bonus=Decimal("5000.00")).save()
    Award(employee=employees["service_clerk"], title="service_star", period_kind="year", period=last_year,
          awarded_on=dt.date(today.year, 1, 20), reason="客户满意度 98%，全年零有效投诉",
          bonus=Decimal("2000.00")).save()
    CareerPlan(employee=employees["sales_rep"], goals="两年内成为销售经理，带领三人以上的销售小组",
               target_position=manager_post, target_grade="M2",
               path="先负责杭州区域重点客户，再参加管理培训，轮岗渠道管理",
               opportunities=["promotion", "training", "rotation"], mentor=head,
               review_date=today + dt.timedelta(days=90)).save()
    EmployeeFeedback(topic="difficulty", employee=employees["sales_clerk"], status="answered",
                     content="客户资料需要在三个系统中重复录入，希望能统一。", handler=employees["hr"],
                     reply="已转信息部门评估，计划下季度起统一在本门户录入。", replied_at=now).save()
    EmployeeFeedback(topic="management", anonymous=True,
                     content="周末加班较多但调休难以安排，希望明确调休规则。").save()


def _training(employees, units) -> None:
    """Training (DOMAIN 5): needs of 销售部 (one from last year's appraisal); this year's plan of 销售部 with three
    courses, approved by the department head and the branch leader; a product session held three weeks ago with a
    failed exam whose retake is open, a negotiation session held last week that everyone present passed (with
    certificates), a law session next week with `sales_rep` among the participants; the trainees' feedback."""
    from decimal import Decimal

    from models.training import PlanCourse, TrainingFeedback, TrainingNeed, TrainingPlan, TrainingSession
    from portal import approvals, training
    from portal.settings import from_local

    if TrainingPlan.objects.first() is not None:
        return
    sales, today = units["BR-SALES"], _today()
    rep, clerk, head = employees["sales_rep"], employees["sales_clerk"], employees["sales_head"]
    staff = list(Employee.objects(owner_unit=sales, employee_no__startswith="E01").order_by("employee_no").limit(3))
    actors = {name: approvals.Actor(employees[name].pk, employees[name].name, name, frozenset({"Employee", role}))
              for name, role in (("hr", "HR"), ("sales_head", "DeptHead"), ("branch_head", "DeptHead"))}
    negotiation = training.raise_need(rep, "大客户谈判技巧", source="appraisal", reference="2025 年度绩效考核",
                                      priority="high", description="年度考核中“谈判成功率”得分偏低。")
    products = TrainingNeed(owner_unit=sales, topic="新产品知识", source="questionnaire", priority="medium",
                            reference="2026 年一季度培训需求问卷",
                            description="新上市的 HX 系列滤芯，多数销售人员不熟悉卖点与适用场景。").save()
    TrainingNeed(employee=clerk, topic="合同风险识别", source="interview", priority="medium",
                 reference="部门访谈", description="审核合同时对付款与违约条款把握不准。").save()
    plan = TrainingPlan(year=today.year, owner_unit=sales, title="销售部年度培训计划", requested_by=employees["hr"],
                        goals="提升新产品知识与大客户谈判能力，全员掌握销售相关法律风险；培训合格率不低于 90%。",
                        needs=[negotiation, products], courses=[
                            PlanCourse(topic="新产品知识培训", content="HX 系列滤芯的卖点、适用场景与竞品对比",
                                       method="internal", kind="product", month=3, trainer="张伟",
                                       budget=Decimal("2000.00"), participants=6),
                            PlanCourse(topic="大客户谈判技巧", content="谈判准备、让步策略、促成签约",
                                       method="external", kind="sales_techniques", month=5,
                                       trainer="上海交通大学继续教育学院 王老师", budget=Decimal("8000.00"),
                                       participants=5),
                            PlanCourse(topic="销售相关法律法规", content="合同法、反不正当竞争法与广告法要点",
                                       method="online", kind="law", month=9, trainer="法务部 周婷",
                                       budget=Decimal("1500.00"), participants=8)]).save()
    request_id = approvals.submit(plan, actors["hr"])
    for approver in ("sales_head", "branch_head"):
        approvals.decide(request_id, actors[approver], "approve", "同意")
    plan.reload()

    def session(course_no, days, hours, people, **fields):
        day = today + dt.timedelta(days=days)
        start = from_local(dt.datetime(day.year, day.month, day.day, 9, 0))
        return TrainingSession(plan=plan, course_no=course_no, start=start, end=start + dt.timedelta(hours=hours),
                               participants=people, **fields).save()

    team = [rep, clerk, *staff]
    product = session(1, -21, 3, team, place="分公司三楼培训室", trainer=head, cost=Decimal("1200.00"),
                      effect_evaluation="学员能讲清主要卖点；竞品对比部分讲得太快。",
                      lessons="下次增加分组演练，竞品资料提前发放。")
    deal = session(2, -7, 6, [rep, clerk, *staff[:2]], place="上海交通大学徐汇校区", assessment_method="practice",
                   cost=Decimal("7600.00"), effect_evaluation="模拟谈判效果好，学员反馈实用。")
    session(3, 7, 2, [rep, clerk, head, *staff], place="线上（企业微信直播）")
    marks = {str(p.pk): "present" for p in team}
    if staff:
        marks[str(staff[-1].pk)] = "late"
    training.mark_attendance(product.pk, actors["hr"], marks, {str(staff[-1].pk): "堵车迟到 15 分钟"} if staff else {})
    scores = {str(rep.pk): "88", str(clerk.pk): "92", **{str(p.pk): s for p, s in zip(staff, ("76", "52", "81"),
                                                                                        strict=False)}}
    training.record_scores(product.pk, actors["hr"], scores)
    deal_marks = {str(p.pk): "present" for p in deal.participants}
    if len(staff) > 1:
        deal_marks[str(staff[1].pk)] = "absent"
    training.mark_attendance(deal.pk, actors["hr"], deal_marks)
    training.record_scores(deal.pk, actors["hr"], {str(rep.pk): "85", str(clerk.pk): "90",
                                                   **({str(staff[0].pk): "78"} if staff else {})})
    product.reload()
    deal.reload()  # held now: attendance taken by the service
    for held, person, ratings, comment in (
            (product, rep, (5, 4, 5), "卖点讲得清楚，希望多一些客户案例。"),
            (product, clerk, (4, 4, 4), None),
            (deal, rep, (5, 5, 5), "模拟谈判非常实用。")):
        TrainingFeedback(session=held, employee=person, content_rating=ratings[0], trainer_rating=ratings[1],
                         usefulness_rating=ratings[2], comments=comment).save()


def _appraisal(employees, units) -> None:
    """Performance appraisal (DOMAIN 6): last month's cycle of 销售部 with its appraisals at every step (`sales_rep`
    at the self-assessment with a colleague's 360 rating in, a closed grade-D result with its improvement plan), and
    `sales_clerk`'s twelve closed months of last year with the annual cycle showing their mean (FSS 6(2))."""
    from models.appraisal import Appraisal, AppraisalCycle, Feedback360, ImprovementPlan
    from portal import appraisal, approvals
    from portal.settings import local_today

    if AppraisalCycle.objects.first() is not None:
        return
    today, sales = local_today(), units["BR-SALES"]
    rep, clerk, head = employees["sales_rep"], employees["sales_clerk"], employees["sales_head"]
    actors = {name: approvals.Actor(employees[name].pk, employees[name].name, name, frozenset({"Employee", role}))
              for name, role in (("hr", "HR"), ("sales_head", "DeptHead"), ("sales_clerk", "Clerk"))}
    last = today.replace(day=1) - dt.timedelta(days=1)
    # BRD 6(3): the self-assessment falls due on the 10th; once that is past, the board shows overdue steps
    self_due = today.replace(day=10) if today.day > 10 else today + dt.timedelta(days=3)
    cycle = AppraisalCycle(name=f"销售部 {last:%Y-%m} 月度考核", period_kind="month", period=f"{last:%Y-%m}",
                           owner_unit=sales, self_due=self_due, evaluation_due=self_due + dt.timedelta(days=3),
                           review_due=max(self_due + dt.timedelta(days=7), today + dt.timedelta(days=7)),
                           appeal_days=7).save()
    appraisal.launch(cycle.pk, actors["hr"])
    ids = {row.employee.pk: row.pk for row in Appraisal.objects(cycle=cycle)}
    appraisal.submit_self(ids[clerk.pk], actors["sales_clerk"], dict(zip(
        ("sales_completion", "profit", "customer_development", "contract_execution", "expense_control"),
        ("85", "80", "75", "95", "90"), strict=True)), "本月完成主要目标，新客户开发略有不足。")
    appraisal.invite(ids[rep.pk], actors["sales_head"], "peer", rater_id=clerk.pk)
    asked = Feedback360.objects(appraisal=ids[rep.pk]).first()
    appraisal.answer_360(asked.pk, actors["sales_clerk"], {"teamwork": "88", "growth": "80"}, "乐于分享客户资源。")
    keys = ("sales_completion", "profit", "customer_development", "contract_execution", "expense_control")
    staff = list(Employee.objects(owner_unit=sales, employee_no__startswith="E01").order_by("employee_no"))
    for number, (person, own, given) in enumerate(zip(staff, (
            ("90", "85", "80", "100", "90"), ("88", "85", "82", "95", "85"), ("75", "70", "80", "85", "80")), (
            ("88", "82", "78", "100", "90"), ("86", "84", "80", "90", "80"), ("60", "55", "70", "80", "70")),
            strict=False)):
        me = approvals.Actor(person.pk, person.name, f"demo:{person.employee_no}", frozenset({"Employee"}))
        appraisal.submit_self(ids[person.pk], me, dict(zip(keys, own, strict=True)), "按计划推进客户跟进。")
        appraisal.evaluate(ids[person.pk], actors["sales_head"], dict(zip(keys, given, strict=True)), "整体表现稳定。")
        if number == 0:
            continue  # waits for the department review
        appraisal.review(ids[person.pk], actors["sales_head"], {}, "同意上级评分。")
        appraisal.give_feedback(ids[person.pk], actors["sales_head"], "逐项沟通了得分，约定下月重点跟进大客户。")
        if number == 2:  # grade D: coached under a plan, then closed (DSC 4(2)3)
            ImprovementPlan(appraisal=Appraisal.objects(pk=ids[person.pk]).first(), mentor=head,
                            goals="三个月内销售目标完成率稳定在 80% 以上，毛利率不低于部门平均。",
                            actions="每周与主管复盘客户跟进；参加谈判技巧培训；主管陪同拜访重点客户两次。",
                            review_on=today + dt.timedelta(days=60)).save()
            appraisal.acknowledge(ids[person.pk], me)
    _annual_of_months(clerk, head, sales, today, actors["sales_head"])


def _annual_of_months(clerk, head, sales, today, superior) -> None:
    """Twelve closed monthly appraisals of `clerk` last year and the annual cycle whose result is their mean."""
    from decimal import Decimal

    from models.appraisal import Appraisal, AppraisalCycle, AppraisalLine, Step
    from models.common import utcnow
    from portal import appraisal
    from portal.settings import from_local
    from seeds.kpi_templates import template

    year, now, sheet = today.year - 1, utcnow(), template("sales")
    for month in range(1, 13):
        first = dt.date(year + (month == 12), 1 if month == 12 else month + 1, 1)
        cycle = AppraisalCycle(name=f"销售部 {year}-{month:02d} 月度考核", period_kind="month",
                               period=f"{year}-{month:02d}", owner_unit=sales, self_due=first + dt.timedelta(days=9),
                               evaluation_due=first + dt.timedelta(days=14), review_due=first + dt.timedelta(days=19),
                               status="closed", appraisals=1).save()
        base = 76 + (month * 7) % 13
        lines = []
        for ind, offset in zip(sheet.indicators, (2, -3, 0, 5, -6), strict=True):
            score = Decimal(min(100, base + offset))
            lines.append(AppraisalLine(**{f: getattr(ind, f) for f in ("key", "name", "category", "weight", "measure",
                                                                        "source", "target", "rule", "standard")},
                                       self_score=score, superior_score=score, final_score=score))
        total = appraisal.total_of(lines)
        done = from_local(dt.datetime.combine(first + dt.timedelta(days=19), dt.time(17)))
        Appraisal(cycle=cycle, employee=clerk, appraiser=head, template_name=sheet.name, staff_kind="sales",
                  period_kind="month", period=cycle.period, lines=lines, state="closed", total=total,
                  grade=appraisal.grade_of(total), reviewer=head, reviewed_by=head.name, feedback_at=done,
                  acknowledged_at=done, owner_unit=sales,
                  history=[Step(at=done, by=head.name, from_state="feedback", to_state="closed")]).save()
    annual = AppraisalCycle(name=f"销售部 {year} 年度考核", period_kind="year", period=str(year), owner_unit=sales,
                            self_due=dt.date(year + 1, 1, 10), evaluation_due=dt.date(year + 1, 1, 15),
                            review_due=dt.date(year + 1, 1, 20), status="open", appraisals=1, launched_at=now,
                            launched_by="赵敏").save()
    result = appraisal.annual_from_months([clerk.pk], year, annual.bands)[clerk.pk]
    item = Appraisal(cycle=annual, employee=clerk, appraiser=head, staff_kind="sales", period_kind="year",
                     period=str(year), lines=[], monthly_totals=result["monthly_totals"], total=result["total"],
                     grade=result["grade"], state="feedback", step_due=annual.review_due, owner_unit=sales,
                     history=[Step(at=now, by="赵敏", to_state="feedback")]).save()
    appraisal.give_feedback(item.pk, superior, "全年十二个月考核结果稳定，年度结果为各月总分的平均值。")
