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
    return {"org units": OrgUnit.objects.count(), "employees": Employee.objects.count(),
            "users": PortalUser.objects.count(), "budget lines": Budget.objects.count()}


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
