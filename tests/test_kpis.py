"""Indicator actuals proposed from the portal's ledgers (issue 8): one test per source, named after the clause whose
indicator it feeds, with the period's edges, the no-denominator case and the fixed number of queries."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from models.appraisal import KPI_SOURCES
from models.customers import Complaint, Contact, Customer, CustomerVisit, Negotiation, ReturnVisit
from models.org import Employee
from models.receivables import Receivable
from models.sales import Allocation, SalesPlan
from models.training import TrainingAssessment, TrainingSession
from portal import kpis
from portal.kpis import Proposal
from portal.settings import from_local
from tests.approvals_kit import person, unit
from tests.conftest import data_round_trips
from tests.sales_kit import buyer, contract, order, product

START, END = dt.date(2021, 5, 1), dt.date(2021, 5, 31)  # a past month no demo record falls in
BEFORE, LAST, AFTER = dt.date(2021, 4, 30), END, dt.date(2021, 6, 1)
_SEQ = itertools.count(1)


def ids(*usernames):
    return [person(u).pk for u in usernames]


def propose(source, *usernames, start=START, end=END):
    """The proposals by username."""
    found = kpis.propose(source, ids(*usernames), start, end)
    return {u: found.get(person(u).pk) for u in usernames}


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A moment on the company's clock, as stored (UTC)."""
    return from_local(dt.datetime(day.year, day.month, day.day, hour, minute))


# ---- data builders -----------------------------------------------------------------------------------------------
def plan(period_kind="month", period="2021-05", status="approved", **targets) -> SalesPlan:
    lines = [Allocation(salesperson=person(u), amount_target=Decimal(v)) for u, v in targets.items()]
    return SalesPlan(period_kind=period_kind, period=period, drafted_by=person("sales_clerk"),
                     amount_target=sum((Decimal(v) for v in targets.values()), Decimal(0)), strategy="主推新品",
                     action_plan="每周拜访重点客户", allocations=lines, status=status).save()


def paid(seller: str, quantity: int, paid_on: dt.date | None, item=None):
    """An order of `quantity` x 100.00 (cost 60.00 each), paid on `paid_on` (None: not paid)."""
    return order([(item or product(), quantity, "100.00")], seller=seller, ordered_on=BEFORE - dt.timedelta(days=9),
                 delivery_date=BEFORE, stage="closed", status="draft", paid_on=paid_on)


def customer(owner: str, created_at: dt.datetime) -> Customer:
    return Customer(name=f"绍兴新客户{next(_SEQ)}有限公司", owner=person(owner), created_at=created_at,
                    contacts=[Contact(name="钱进", phone="13900001111")]).save()


def visit(owner: str, at: dt.datetime, status="done") -> CustomerVisit:
    done = {"outcome": "介绍新品，客户有意向", "intention": "high"} if status == "done" else {}
    return CustomerVisit(customer=buyer(), owner=person(owner), purpose="新品推介", planned_at=at, place="客户公司",
                         status=status, **done).save()


def negotiation(owner: str, held_on: dt.date) -> Negotiation:
    return Negotiation(customer=buyer(), owner=person(owner), held_on=held_on, participants="双方采购与销售",
                       proposal="年度框架协议", consensus="价格下调 2 个百分点", next_actions="起草合同").save()


def ended(owner: str, end: dt.date, status: str, closed_on: dt.date | None = None):
    return contract(owner=person(owner), start=dt.date(2021, 1, 1), end=end, status=status, closed_on=closed_on)


def receivable(owner: str, due: dt.date, amount: str, received: str = "0") -> Receivable:
    return Receivable(customer=buyer(), owner=person(owner), amount=Decimal(amount), received=Decimal(received),
                      due_date=due).save()


def complaint(handler: str, **fields) -> Complaint:
    fields.setdefault("received_at", local(dt.date(2021, 5, 1), 9))
    return Complaint(customer=buyer(), content="到货包装破损", responsible_unit=unit("BR-CS"), handler=person(handler),
                     owner_unit=unit("BR-CS"), **fields).save()


def return_visit(owner: str, planned_on: dt.date, status: str) -> ReturnVisit:
    done = {"done_on": planned_on, "findings": "使用正常，满意"} if status == "done" else {}
    return ReturnVisit(customer=buyer(), owner=person(owner), planned_on=planned_on, status=status, **done).save()


def session(title="产品知识考核") -> TrainingSession:
    return TrainingSession(title=title, kind="product", owner_unit=unit("BR-SALES"), trainer_name="外部讲师 王老师",
                           start=local(dt.date(2021, 5, 8), 9), end=local(dt.date(2021, 5, 8), 12), place="三楼培训室",
                           content="新品参数与卖点", participants=[person("sales_rep"), person("agent")],
                           status="held").save()


def attempt(item: TrainingSession, username: str, number: int, status: str, on: dt.date | None, score="0"):
    return TrainingAssessment(session=item, employee=person(username), attempt=number, status=status,
                              assessed_on=on, score=Decimal(score) if on else None,
                              pass_mark=60 if on else None).save()


# ---- sales (BRD 6(2)2, FSS 6(1)1) ---------------------------------------------------------------------------------
def test_sales_completion_is_paid_orders_against_the_plan_allocation_BRD_6_2_2(db):
    plan(sales_rep=100000, agent=50000)
    plan(status="pending", sales_rep=900000)  # not approved: not a target
    item = product()
    paid("sales_rep", 600, dt.date(2021, 5, 3), item)
    paid("sales_rep", 300, LAST, item)  # the last day counts
    paid("sales_rep", 100, AFTER, item)  # the day after does not
    paid("sales_rep", 100, BEFORE, item)
    paid("sales_rep", 50, None, item)  # not paid
    found = propose("sales_completion", "sales_rep", "agent", "sales_clerk")
    assert found["sales_rep"] == Proposal(Decimal("90.00"), "90000.00 / 100000.00")
    assert found["agent"] == Proposal(Decimal("0.00"), "0.00 / 50000.00")  # a target and nothing sold: 0
    assert found["sales_clerk"] is None  # no allocation: the line stays manual


def test_an_annual_plan_and_its_months_are_not_added_up_BRD_6_2_2(db):
    plan(sales_rep=100000)
    plan(period="2021-04", sales_rep=80000)
    plan(period_kind="year", period="2021", sales_rep=1200000)
    paid("sales_rep", 900, dt.date(2021, 5, 3))
    year = kpis.propose("sales_completion", ids("sales_rep"), dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert year[person("sales_rep").pk] == Proposal(Decimal("7.50"), "90000.00 / 1200000.00")
    plan(period="2021-06", sales_rep=120000)
    quarter = kpis.propose("sales_completion", ids("sales_rep"), dt.date(2021, 4, 1), dt.date(2021, 6, 30))
    assert quarter[person("sales_rep").pk] == Proposal(Decimal("30.00"), "90000.00 / 300000.00")  # April to June
    assert kpis.plan_periods(dt.date(2021, 4, 1), dt.date(2021, 6, 30)) == ["2021-Q2", "2021-04", "2021-05",
                                                                             "2021-06"]


def test_sales_completion_proposes_nothing_unless_the_plans_cover_the_whole_period_L5_BRD_6_2_2(db):
    plan(period="2021-04", sales_rep=80000, agent=50000)
    plan(sales_rep=100000, agent=50000)  # May
    plan(period="2021-06", agent=50000)  # June: the agent only
    paid("sales_rep", 900, dt.date(2021, 5, 3))
    found = propose("sales_completion", "sales_rep", "agent", start=dt.date(2021, 4, 1), end=dt.date(2021, 6, 30))
    assert found["sales_rep"] is None  # 2 of the quarter's 3 monthly plans: no target, the line stays manual
    assert found["agent"] == Proposal(Decimal("0.00"), "0.00 / 150000.00")  # three months: the whole quarter
    plan(period_kind="quarter", period="2021-Q2", sales_rep=300000)
    found = propose("sales_completion", "sales_rep", start=dt.date(2021, 4, 1), end=dt.date(2021, 6, 30))
    assert found["sales_rep"] == Proposal(Decimal("30.00"), "90000.00 / 300000.00")  # the quarter's own plan
    assert propose("sales_completion", "sales_rep")["sales_rep"] == Proposal(Decimal("90.00"),
                                                                           "90000.00 / 100000.00")  # May alone


def test_sales_amount_and_gross_profit_are_those_of_paid_orders_FSS_6_1_1(db):
    item = product(price="100.00", cost="60.00")
    paid("sales_rep", 600, dt.date(2021, 5, 3), item)
    paid("sales_rep", 300, LAST, item)
    paid("sales_rep", 100, AFTER, item)
    amount = propose("sales_amount", "sales_rep", "agent")
    assert amount["sales_rep"] == Proposal(Decimal("90000.00"), "90000.00 (2)")
    assert amount["agent"] == Proposal(Decimal("0.00"), "0.00 (0)")  # an amount is 0 when nothing was paid
    profit = propose("gross_profit", "sales_rep", "agent")
    assert profit["sales_rep"] == Proposal(Decimal("36000.00"), "90000.00 - 54000.00 (2)")
    assert profit["agent"].value == Decimal("0.00")


def test_new_customers_visits_and_negotiations_count_in_the_company_calendar_FSS_6_1_1_FSS_6_1_2(db):
    customer("sales_rep", local(dt.date(2021, 5, 1), 0, 5))
    customer("sales_rep", local(LAST, 23, 30))  # late on the last day, company time (15:30 UTC)
    customer("sales_rep", local(AFTER, 0, 10))  # just after midnight: still 31 May in UTC, but June here
    customer("agent", local(BEFORE, 23, 50))
    assert propose("new_customers", "sales_rep", "agent") == {"sales_rep": Proposal(Decimal(2), "2"),
                                                              "agent": Proposal(Decimal(0), "0")}
    visit("sales_rep", local(dt.date(2021, 5, 10), 10))
    visit("sales_rep", local(LAST, 16))
    visit("sales_rep", local(dt.date(2021, 5, 12), 10), status="cancelled")
    visit("sales_rep", local(AFTER, 9))
    visit("agent", local(dt.date(2021, 5, 12), 10), status="planned")  # not done
    assert propose("visit_count", "sales_rep", "agent") == {"sales_rep": Proposal(Decimal(2), "2"),
                                                            "agent": Proposal(Decimal(0), "0")}
    negotiation("sales_rep", LAST)
    negotiation("sales_rep", AFTER)
    negotiation("agent", START)
    negotiation("agent", BEFORE)
    assert propose("negotiation_count", "sales_rep", "agent") == {"sales_rep": Proposal(Decimal(1), "1"),
                                                                  "agent": Proposal(Decimal(1), "1")}


def test_contract_execution_counts_contracts_completed_by_their_end_BRD_6_2_2_FSS_6_1_2(db):
    ended("sales_rep", LAST, "completed", dt.date(2021, 5, 30))  # on time
    ended("sales_rep", dt.date(2021, 5, 15), "completed", dt.date(2021, 5, 20))  # late
    ended("sales_rep", dt.date(2021, 5, 20), "executing")  # not executed by its end
    ended("sales_rep", dt.date(2021, 5, 10), "terminated", dt.date(2021, 5, 5))
    ended("sales_rep", dt.date(2021, 5, 10), "draft")  # never signed: not counted
    ended("sales_rep", AFTER, "completed", dt.date(2021, 5, 30))  # ends after the period
    ended("agent", BEFORE, "completed", BEFORE)
    found = propose("contract_execution", "sales_rep", "agent")
    assert found["sales_rep"] == Proposal(Decimal("25.00"), "1 / 4")
    assert found["agent"] is None  # nothing ended in the period


def test_receivable_recovery_is_collected_against_what_fell_due_FSS_6_1_2(db):
    receivable("sales_rep", LAST, "10000", "8000")
    receivable("sales_rep", START, "5000", "5000")
    receivable("sales_rep", dt.date(2021, 5, 20), "3000")
    receivable("sales_rep", AFTER, "7000")
    receivable("agent", BEFORE, "4000")
    found = propose("receivable_recovery", "sales_rep", "agent")
    assert found["sales_rep"] == Proposal(Decimal("72.22"), "13000.00 / 18000.00")  # 72.222 rounds down
    assert found["agent"] is None


# ---- customer service (BRD 6(2)3) ---------------------------------------------------------------------------------
def test_complaint_timeliness_counts_the_unanswered_past_their_deadline_against_the_handler_BRD_6_2_3(db):
    complaint("service_clerk", answered_at=local(dt.date(2021, 5, 10), 9), on_time=True, status="answered",
              due_at=local(dt.date(2021, 5, 11), 9))
    complaint("service_clerk", answered_at=local(LAST, 23, 30), on_time=False, status="closed",
              due_at=local(dt.date(2021, 5, 30), 9), closed_at=local(LAST, 23, 40), satisfaction="neutral")
    complaint("service_clerk", due_at=local(dt.date(2021, 5, 20), 9))  # never answered, deadline in May
    complaint("service_clerk", answered_at=local(AFTER, 0, 10), on_time=True, status="answered",
              due_at=local(AFTER, 9))  # answered in June
    complaint("service_clerk", received_at=local(dt.date(2021, 6, 2), 9), due_at=local(dt.date(2021, 6, 3), 9))
    found = propose("complaint_timeliness", "service_clerk", "sales_clerk")
    assert found["service_clerk"] == Proposal(Decimal("33.33"), "1 / 3")
    assert found["sales_clerk"] is None  # nothing answered nor due


def test_satisfaction_is_the_share_satisfied_of_complaints_closed_in_the_period_BRD_6_2_3(db):
    for satisfaction, closed in (("very_satisfied", local(dt.date(2021, 5, 5), 9)), ("satisfied", local(LAST, 23)),
                                 ("dissatisfied", local(dt.date(2021, 5, 15), 9)),
                                 ("satisfied", local(AFTER, 0, 30))):
        complaint("service_clerk", status="closed", answered_at=local(dt.date(2021, 5, 2), 9), on_time=True,
                  closed_at=closed, satisfaction=satisfaction)
    complaint("sales_clerk", status="answered", answered_at=local(dt.date(2021, 5, 2), 9), on_time=True)  # not rated
    found = propose("satisfaction", "service_clerk", "sales_clerk")
    assert found["service_clerk"] == Proposal(Decimal("66.67"), "2 / 3")
    assert found["sales_clerk"] is None


def test_return_visit_completion_is_done_against_planned_BRD_6_2_3(db):
    return_visit("service_clerk", START, "done")
    return_visit("service_clerk", LAST, "done")
    return_visit("service_clerk", dt.date(2021, 5, 20), "planned")
    return_visit("service_clerk", dt.date(2021, 5, 25), "cancelled")  # left out, as in the department's rate
    return_visit("service_clerk", AFTER, "done")
    return_visit("sales_clerk", BEFORE, "planned")
    found = propose("return_visit_completion", "service_clerk", "sales_clerk")
    assert found["service_clerk"] == Proposal(Decimal("66.67"), "2 / 3")
    assert found["sales_clerk"] is None


# ---- growth (FSS 6(1)4) -------------------------------------------------------------------------------------------
def test_training_pass_rate_is_passed_of_the_attempts_scored_in_the_period_FSS_6_1_4(db):
    first, later = session(), session("合规考核")
    attempt(first, "sales_rep", 1, "failed", dt.date(2021, 5, 10), "45")
    attempt(first, "sales_rep", 2, "passed", LAST, "75")  # the retake passed on the last day
    attempt(later, "sales_rep", 1, "failed", AFTER, "50")  # scored in June
    attempt(later, "sales_rep", 2, "retake_open", None)  # not scored yet
    attempt(first, "agent", 1, "passed", dt.date(2021, 5, 20), "90")
    found = propose("training_pass_rate", "sales_rep", "agent", "sales_clerk")
    assert found["sales_rep"] == Proposal(Decimal("50.00"), "1 / 2")
    assert found["agent"] == Proposal(Decimal("100.00"), "1 / 1")
    assert found["sales_clerk"] is None


# ---- the interface ------------------------------------------------------------------------------------------------
def test_every_source_of_the_template_is_known_and_manual_ones_propose_nothing(db):
    assert set(kpis.SOURCES) == {key for key, _label in KPI_SOURCES}
    for source in ("manual", "peer_rating", "no_such_source"):
        assert kpis.propose(source, ids("sales_rep"), START, END) == {}
        assert kpis.records(source, person("sales_rep").pk, START, END) == []
    assert kpis.propose("sales_amount", [], START, END) == {}
    assert kpis.propose("sales_amount", ids("sales_rep"), END, START) == {}  # a period that ends before it starts


def test_ids_come_back_as_they_were_given(db):
    given = str(person("sales_rep").pk)
    assert list(kpis.propose("visit_count", [given, "not-an-id"], START, END)) == [given]


SOURCES = [key for key, _label in KPI_SOURCES if kpis.SOURCES.get(key) is not None]
QUERIES = {"sales_completion": 2}  # the orders and the plans; every other source: one aggregation


@pytest.mark.parametrize("source", SOURCES)
def test_a_proposal_costs_the_same_queries_for_one_and_for_twenty_employees(db, counter, source):
    everyone = [e["_id"] for e in Employee._get_collection().find({}, {"_id": 1}).limit(20)]
    assert len(everyone) == 20
    counter.reset()
    kpis.propose(source, everyone[:1], dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    one = data_round_trips(counter)
    counter.reset()
    kpis.propose(source, everyone, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert data_round_trips(counter) == one == QUERIES.get(source, 1), str(counter.by_collection())


def test_records_show_the_rows_behind_a_proposal_newest_first_with_their_page(app, db):
    sales_plan = plan(sales_rep=100000)
    item = product()
    early, late = paid("sales_rep", 600, dt.date(2021, 5, 3), item), paid("sales_rep", 300, LAST, item)
    paid("sales_rep", 100, AFTER, item)
    rows = kpis.records("sales_amount", person("sales_rep").pk, START, END)
    assert rows == [{"label": f"{late.number} · 30,000.00", "endpoint": "SalesOrderView.show", "pk": str(late.pk)},
                    {"label": f"{early.number} · 60,000.00", "endpoint": "SalesOrderView.show", "pk": str(early.pk)}]
    assert kpis.records("sales_amount", person("sales_rep").pk, START, END, limit=1) == rows[:1]
    profit = kpis.records("gross_profit", person("sales_rep").pk, START, END)
    assert profit[0]["label"] == f"{late.number} · 12,000.00 (30,000.00 - 18,000.00)"
    completion = kpis.records("sales_completion", str(person("sales_rep").pk), START, END)
    assert completion[0] == {"label": "2021-05 销售部 · 100,000.00", "endpoint": "SalesPlanView.show",
                             "pk": str(sales_plan.pk)}
    assert [r["pk"] for r in completion[1:]] == [str(late.pk), str(early.pk)]
    assert kpis.records("sales_completion", person("sales_rep").pk, START, END, limit=1) == completion[:1]
    assert kpis.records("sales_amount", person("agent").pk, START, END) == []  # someone else's orders are not theirs


def test_every_record_links_to_a_page_of_the_portal(app, db):
    rep = "sales_rep"
    plan(sales_rep=1000)
    paid(rep, 1, LAST)
    customer(rep, local(LAST, 12))
    visit(rep, local(LAST, 10))
    negotiation(rep, LAST)
    ended(rep, LAST, "completed", LAST)
    receivable(rep, LAST, "100", "100")
    complaint(rep, answered_at=local(LAST, 9), on_time=True, status="closed", closed_at=local(LAST, 10),
              satisfaction="satisfied")
    return_visit(rep, LAST, "done")
    attempt(session(), rep, 1, "passed", LAST, "80")
    for source in SOURCES:
        rows = kpis.records(source, person(rep).pk, START, END)
        assert rows, source
        for row in rows:
            assert row["endpoint"] in app.view_functions, (source, row)
            assert row["label"] and len(row["label"]) <= 200 and row["pk"]
        assert kpis.propose(source, ids(rep), START, END)[person(rep).pk].value > 0, source
    assert kpis.records("satisfaction", person(rep).pk, START, END)[0]["label"].endswith("· Satisfied")
    assert kpis.records("return_visit_completion", person(rep).pk, START, END)[0]["label"] == \
        f"2021-05-31 {buyer().name} → 2021-05-31"
