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
)
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
    return {"org units": OrgUnit.objects.count(), "employees": Employee.objects.count(),
            "users": PortalUser.objects.count(), "budget lines": Budget.objects.count()}


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
        employee = Employee(employee_no=number, name=name, owner_unit=unit, staff_kind=kind, status="active",
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
        if sm.find_user(username=username):
            continue
        roles = [sm.find_role(role)] + ([employee_role] if role != "Admin" else [])
        user = sm.add_user(username, name[1:] or name, name[0], f"{username}@demo.example", roles, password)
        PortalUser.objects(pk=user.pk).update_one(set__employee=employees[username])


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
