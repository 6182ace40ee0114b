"""Dashboards (issue 9 item 2, DOMAIN 7 Reports): the figures of each dashboard on crafted records, the data scope, the
CSV against the table, formulas and markup neutralised, bad filters said next to their field, who may open which
dashboard, and a fixed number of queries at N and at ten times N (PERFORMANCE.md: at most six)."""

from __future__ import annotations

import csv
import datetime as dt
import doctest
import html
import io
import re
from decimal import Decimal

import pytest
from bson import ObjectId

import portal.dashboards as dashboards
from models.audit import AuditEntry
from models.org import OrgUnit
from portal import charts, reports, settings
from portal.security import ROLE_TABLE
from tests.approvals_kit import person, unit
from tests.conftest import ROLE_USERS, data_round_trips

TODAY = dt.date(2026, 6, 30)
D = Decimal


def fen(amount) -> int:
    return int(D(str(amount)) * 100)


def at(date: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A wall-clock moment of the company as stored (UTC)."""
    return settings.from_local(dt.datetime(date.year, date.month, date.day, hour, minute))


def day(date: dt.date) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day)


def insert(document, *rows: dict) -> list:
    return document._get_collection().insert_many([dict(r) for r in rows]).inserted_ids


def run(app, key: str, scopes: dict, today: dt.date = TODAY, **args) -> dict:
    """The dashboard's panels by key, computed as the view does but with the scopes given."""
    board = reports.get(key)
    units = {u["_id"]: u for u in OrgUnit._get_collection().find({}, {"name": 1, "code": 1, "ancestors": 1})}
    with app.test_request_context():
        params = reports.parse_params(board, args, today, units if "unit" in board.filters else None, None)
        assert not params.errors, params.errors
        return {panel.key: panel for panel in board.panels(params, scopes)}


def rows_by(panel, key="label") -> dict:
    return {str(row[key]): row for row in panel.rows}


@pytest.fixture
def place(make_unit):
    """A unit of its own under the demo branch, so that crafted records are the only ones in scope."""
    return make_unit(parent=unit("BR-EAST"), name="报表测试部")


@pytest.fixture
def trail(db):
    """Audit entries a test adds by hand, removed afterwards (the trail is otherwise append-only)."""
    added = []
    yield added
    if added:
        AuditEntry._get_collection().delete_many({"_id": {"$in": added}})


def order(place_id, ordered_on, lines, stage="closed", **fields) -> dict:
    """A sales order as stored: lines of (product, category, quantity, unit price, unit cost), amounts in fen."""
    stored = [{"product": p, "category": c, "quantity": q, "unit_price": fen(price), "amount": fen(price) * q,
               "unit_cost": fen(cost)} for p, c, q, price, cost in lines]
    return {"owner_unit": place_id, "ordered_on": day(ordered_on), "delivery_date": day(ordered_on), "stage": stage,
            "lines": stored, "total": sum(line["amount"] for line in stored), "status": "draft", **fields}


# ---- the figures of each dashboard ---------------------------------------------------------------------------
def test_sales_by_product_region_salesperson_and_customer_with_gross_profit__BRD_4_4_1(app, db, place):
    rep, agent = person("sales_rep").pk, person("agent").pk
    a, b, buyer, other = ObjectId(), ObjectId(), ObjectId(), ObjectId()
    insert(dashboards.Product, {"_id": a, "code": "R-A", "name": "甲"}, {"_id": b, "code": "R-B", "name": "乙"})
    insert(dashboards.Customer, {"_id": buyer, "name": "买家一", "owner_unit": place.pk},
           {"_id": other, "name": "买家二", "owner_unit": place.pk})
    insert(dashboards.SalesOrder,
           order(place.pk, dt.date(2026, 3, 5), [(a, "家电", 2, "100", "60"), (a, "家电", 1, "100", "60")],
                 customer=buyer, salesperson=rep, region="华东"),
           order(place.pk, dt.date(2026, 4, 2), [(b, "耗材", 10, "30", "10")], customer=other, salesperson=agent,
                 region="华南"),
           order(place.pk, dt.date(2026, 4, 9), [(b, "耗材", 99, "30", "10")], stage="cancelled", customer=other,
                 salesperson=agent, region="华南"),  # not sold: not counted
           order(place.pk, dt.date(2025, 12, 31), [(b, "耗材", 5, "30", "10")], customer=other, salesperson=agent,
                 region="华南"))  # before the period
    panels = run(app, "sales", {"SalesOrder": {"owner_unit": place.pk}}, start="2026-01-01", end="2026-06-30")
    product = rows_by(panels["product"])
    assert product["R-A 甲"]["amount"] == D("300.00") and product["R-A 甲"]["profit"] == D("120.00")
    assert product["R-A 甲"]["orders"] == 1  # two lines of one order count one order
    assert product["R-A 甲"]["margin"] == D("40.0") and product["R-A 甲"]["share"] == D("50.0")
    assert product["R-B 乙"]["volume"] == 10 and product["R-B 乙"]["profit"] == D("200.00")
    assert rows_by(panels["region"])["华南"]["amount"] == D("300.00")
    assert rows_by(panels["salesperson"])[person("agent").name]["profit"] == D("200.00")
    assert rows_by(panels["customer"])["买家一"]["share"] == D("50.0")
    months = rows_by(panels["month"], "month")
    assert len(months) == 6 and months["2026-03"]["amount"] == D("300.00") and months["2026-05"]["amount"] == 0
    assert panels["month"].total["amount"] == D("600.00") and panels["month"].total["orders"] == 2
    assert panels["month"].total["margin"] == D("53.3")


def test_a_long_breakdown_ends_with_all_others_so_the_table_adds_up(app, db, place, monkeypatch):
    monkeypatch.setattr(dashboards, "TOP", 2)
    rep = person("sales_rep").pk
    insert(dashboards.SalesOrder, *(order(place.pk, dt.date(2026, 2, 1), [(ObjectId(), "x", 1, str(10 * n), "1")],
                                          customer=ObjectId(), salesperson=rep, region=f"区{n}") for n in (1, 2, 3, 4)))
    panel = run(app, "sales", {"SalesOrder": {"owner_unit": place.pk}}, start="2026-01-01", end="2026-06-30")["product"]
    assert [row["amount"] for row in panel.rows] == [D("40.00"), D("30.00"), D("30.00")]
    assert panel.rows[-1]["label"] == "All others" and panel.rows[-1]["share"] == D("30.0")
    assert sum(row["amount"] for row in panel.rows) == panel.total["amount"]


def test_income_by_customer_with_share_and_change_against_the_previous_period__DSC_5_2_3(app, db, place):
    one, two = ObjectId(), ObjectId()
    insert(dashboards.Customer, {"_id": one, "name": "客户甲", "owner_unit": place.pk},
           {"_id": two, "name": "客户乙", "owner_unit": place.pk})

    def receipt(customer, amount, on, source="order", state="posted"):
        return {"owner_unit": place.pk, "customer": customer, "amount": fen(amount), "received_on": day(on),
                "source": source, "state": state, "account": "基本户"}

    insert(dashboards.Income,
           receipt(one, "300", dt.date(2026, 6, 10)), receipt(one, "100", dt.date(2026, 5, 20)),  # previous: 100
           receipt(two, "100", dt.date(2026, 6, 11), "contract"), receipt(two, "200", dt.date(2026, 5, 2)),
           receipt(None, "100", dt.date(2026, 6, 12), "remittance"),
           receipt(one, "999", dt.date(2026, 6, 13), state="voided"),  # voided: not income
           receipt(one, "777", dt.date(2026, 4, 1)))  # before the previous period
    insert(dashboards.SalesOrder,
           order(place.pk, dt.date(2026, 6, 3), [(ObjectId(), "家电", 1, "500", "1")], customer=one),
           order(place.pk, dt.date(2026, 5, 3), [(ObjectId(), "家电", 1, "250", "1")], customer=one))
    scopes = {"IncomeRecord": {"owner_unit": place.pk}, "SalesOrder": {"owner_unit": place.pk}}
    panels = run(app, "income", scopes, start="2026-06-01", end="2026-06-30")  # previous: 2026-05-02 to 05-31
    customers = rows_by(panels["customer"])
    assert customers["客户甲"]["amount"] == D("300.00") and customers["客户甲"]["previous"] == D("100.00")
    assert customers["客户甲"]["share"] == D("60.0") and customers["客户甲"]["change"] == D("200.0")
    assert customers["客户乙"]["difference"] == D("-100.00") and customers["客户乙"]["change"] == D("-50.0")
    assert panels["customer"].total["amount"] == D("500.00") and panels["customer"].total["previous"] == D("300.00")
    sources = rows_by(panels["source"])
    assert sources["Sales order"]["amount"] == D("300.00") and sources["Agent remittance"]["share"] == D("20.0")
    category = rows_by(panels["category"])["家电"]
    assert (category["amount"], category["previous"], category["change"]) == (D("500.00"), D("250.00"), D("100.0"))


def test_new_dormant_and_lost_customers_per_month__DSC_7_1_3(app, db, place, make_unit, trail):
    elsewhere = make_unit(parent=unit("BR-EAST"))
    ids = insert(dashboards.Customer,
                 {"name": "新客户一", "owner_unit": place.pk, "status": "active", "customer_class": "A",
                  "industry": "零售", "region": "上海", "source": "online", "created_at": at(dt.date(2026, 2, 3))},
                 {"name": "新客户二", "owner_unit": place.pk, "status": "dormant", "customer_class": "B",
                  "region": "上海", "source": "referral", "created_at": at(dt.date(2026, 2, 20))},
                 {"name": "老客户", "owner_unit": place.pk, "status": "lost", "customer_class": "B", "source": "other",
                  "created_at": at(dt.date(2025, 5, 1))},
                 {"name": "别处的客户", "owner_unit": elsewhere.pk, "status": "lost", "source": "other",
                  "created_at": at(dt.date(2026, 2, 1))})

    def moved(record, to, when):
        return {"at": when, "user": "tester", "action": "update", "collection": "customers", "record_id": str(record),
                "changes": [{"field": "status", "old": "active", "new": to}]}

    trail.extend(insert(AuditEntry, moved(ids[1], "dormant", at(dt.date(2026, 3, 4))),
                        moved(ids[2], "lost", at(dt.date(2026, 4, 30), 23, 30)),  # late evening: still April here
                        moved(ids[3], "lost", at(dt.date(2026, 4, 2)))))  # outside the scope
    panels = run(app, "customers", {"Customer": {"owner_unit": place.pk}}, start="2026-01-01", end="2026-06-30")
    flow = rows_by(panels["flow"], "month")
    assert (flow["2026-02"]["new"], flow["2026-03"]["dormant"], flow["2026-04"]["lost"]) == (2, 1, 1)
    assert panels["flow"].total["lost"] == 1 and panels["flow"].total["new"] == 2
    assert rows_by(panels["status"])["Lost"]["count"] == 1
    assert rows_by(panels["customer_class"])["B (regular)"]["share"] == D("66.7")
    assert rows_by(panels["region"])["上海"]["count"] == 2 and rows_by(panels["region"])["(not given)"]["count"] == 1
    assert rows_by(panels["source"])["Online"]["count"] == 1


def test_aging_buckets_by_days_past_due__FSS_3_7_4(app, db, place):
    owner, buyer = person("sales_rep").pk, ObjectId()
    insert(dashboards.Customer, {"_id": buyer, "name": "欠款客户", "owner_unit": place.pk})

    def owed(amount, days_late, state="open"):
        return {"owner_unit": place.pk, "customer": buyer, "owner": owner, "amount": fen(amount),
                "outstanding": fen(amount), "due_date": day(TODAY - dt.timedelta(days=days_late)), "state": state,
                "status": "draft"}

    insert(dashboards.receivables.Receivable, owed("100", -5), owed("200", 0), owed("300", 30), owed("400", 31),
           owed("500", 90), owed("600", 91), owed("700", 180), owed("800", 181), owed("900", 500, state="settled"))
    panels = run(app, "receivables", {"Receivable": {"owner_unit": place.pk}})
    buckets = [(row["amount"], row["share"]) for row in panels["buckets"].rows]
    assert buckets == [(D("300.00"), D("8.3")), (D("300.00"), D("8.3")), (D("900.00"), D("25.0")),
                       (D("1300.00"), D("36.1")), (D("800.00"), D("22.2"))]
    row = rows_by(panels["customer"])["欠款客户"]
    assert row["total"] == D("3600.00") and row["count"] == 8 and row["over_180"] == D("800.00")
    assert panels["owner"].rows[0]["label"] == person("sales_rep").name


def test_budget_against_actual_per_unit_and_category__DSC_5_1_3(app, db, place):
    line, spare = ObjectId(), ObjectId()
    insert(dashboards.Budget,
           {"_id": line, "year": 2026, "owner_unit": place.pk, "unit_name": "报表测试部", "kind": "expense",
            "category": "travel", "annual_amount": fen("1000"), "status": "approved"},
           {"_id": spare, "year": 2026, "owner_unit": place.pk, "unit_name": "报表测试部", "kind": "expense",
            "category": "training", "annual_amount": fen("500"), "status": "approved"},
           {"year": 2026, "owner_unit": place.pk, "unit_name": "报表测试部", "kind": "expense", "category": "rent",
            "annual_amount": fen("9999"), "status": "draft"},  # not approved: not a budget yet
           {"year": 2025, "owner_unit": place.pk, "unit_name": "报表测试部", "kind": "expense", "category": "travel",
            "annual_amount": fen("7777"), "status": "approved"})  # another year
    from models.finance import BudgetIncrease, ExpenseClaim

    insert(ExpenseClaim, {"budget": line, "status": "paid", "total": fen("600")},
           {"budget": line, "status": "approved", "total": fen("150")},
           {"budget": line, "status": "draft", "total": fen("5000")})
    insert(BudgetIncrease, {"budget": line, "status": "approved", "amount": fen("200")})
    panels = run(app, "budget", {"Budget": {"owner_unit": place.pk}}, year="2026")
    unit_row = rows_by(panels["unit"])["报表测试部"]
    assert (unit_row["annual"], unit_row["increased"], unit_row["limit"]) == (D("1500.00"), D("200.00"), D("1700.00"))
    assert (unit_row["committed"], unit_row["actual"], unit_row["variance"]) == (D("750.00"), D("600.00"),
                                                                                  D("1100.00"))
    assert unit_row["used"] == D("35.3")
    travel = rows_by(panels["category"])["Travel"]
    assert travel["limit"] == D("1200.00") and travel["used"] == D("50.0")


def test_complaint_hours_to_answer_and_on_time_rate__BRD_5_1_3(app, db, place):
    def complaint(severity, status, hours=None, on_time=None, received=dt.date(2026, 5, 10), **fields):
        return {"owner_unit": place.pk, "responsible_unit": place.pk, "severity": severity, "status": status,
                "category": "delivery", "received_at": at(received), "handling_hours": hours, "on_time": on_time,
                "due_at": at(received) + dt.timedelta(hours=24), **fields}

    insert(dashboards.Complaint, complaint("high", "answered", 10.0, True),
           complaint("high", "closed", 30.0, False, satisfaction="satisfied"),
           complaint("high", "open", received=dt.date(2026, 6, 1)),  # open past its deadline
           complaint("normal", "in_progress", due_at=dt.datetime(2100, 1, 1)),  # open, not yet due
           complaint("normal", "answered", 5.0, True, received=dt.date(2025, 1, 1)))  # before the period
    panels = run(app, "complaints", {"Complaint": {"owner_unit": place.pk}}, start="2026-01-01", end="2026-06-30")
    high = rows_by(panels["severity"])["High"]
    assert (high["count"], high["answered"], high["hours"], high["on_time_rate"], high["overdue"]) == (
        3, 2, D("20.0"), D("50.0"), 1)
    assert rows_by(panels["severity"])["Normal"]["overdue"] == 0
    category = rows_by(panels["category"])["Delivery"]
    assert (category["on_time"], category["late"], category["open"]) == (1, 1, 2)
    assert rows_by(panels["month"], "month")["2026-05"]["hours"] == D("20.0")
    assert {r["label"]: r["count"] for r in panels["status"].rows} == {"Open": 1, "In progress": 1, "Answered": 1,
                                                                       "Closed": 1}
    assert panels["severity"].total["hours"] == D("20.0") and panels["severity"].total["count"] == 4


def test_after_sales_resolution_days_on_time_rate_and_satisfaction__FSS_3_6_3(app, db, place):
    item = ObjectId()
    insert(dashboards.Product, {"_id": item, "code": "AS-1", "name": "售后件"})

    def ticket(kind, created, status="open", resolved=None, deadline=None, satisfaction=None):
        return {"owner_unit": place.pk, "kind": kind, "product": item, "created_at": created, "status": status,
                "resolved_on": day(resolved) if resolved else None, "deadline": day(deadline or created.date()),
                "satisfaction": satisfaction}

    late_evening = at(dt.date(2026, 3, 1), 23, 30)  # still the 1st in the company's clock (15:30 UTC)
    insert(dashboards.AfterSalesTicket,
           ticket("return", late_evening, "closed", dt.date(2026, 3, 2), dt.date(2026, 3, 8), "very_satisfied"),
           ticket("return", at(dt.date(2026, 3, 3)), "resolved", dt.date(2026, 3, 13), dt.date(2026, 3, 10),
                  "dissatisfied"),
           ticket("return", at(dt.date(2026, 4, 1)), "open"))
    panels = run(app, "after_sales", {"AfterSalesTicket": {"owner_unit": place.pk}}, start="2026-01-01",
                 end="2026-06-30")
    kind = rows_by(panels["kind"])["Quality: return"]
    assert (kind["count"], kind["resolved"], kind["days"], kind["on_time_rate"]) == (3, 2, D("5.5"), D("50.0"))
    assert kind["satisfied"] == D("50.0") and kind["score"] == D("3.5")
    assert rows_by(panels["product"])["AS-1 售后件"]["count"] == 3
    assert rows_by(panels["month"], "month")["2026-03"]["resolved"] == 2


def test_satisfaction_trend_per_month_and_question__BRD_5_4_3(app, db, place):
    def answer(on, *scores):
        return {"owner_unit": place.pk, "answered_on": day(on), "customer": ObjectId(),
                "scores": [{"question": q, "score": s} for q, s in scores]}

    insert(dashboards.SurveyResponse, answer(dt.date(2026, 2, 10), ("质量", 5), ("交付", 3)),
           answer(dt.date(2026, 2, 20), ("质量", 4), ("交付", 2)), answer(dt.date(2026, 3, 1), ("质量", 2)))
    insert(dashboards.Complaint, *({"owner_unit": place.pk, "received_at": at(dt.date(2026, 2, 5)),
                                    "satisfaction": s} for s in ("satisfied", "neutral", "very_satisfied", None)))
    scopes = {name: {"owner_unit": place.pk} for name in ("SurveyResponse", "Complaint", "AfterSalesTicket")}
    panels = run(app, "satisfaction", scopes, start="2026-01-01", end="2026-06-30")
    months = rows_by(panels["surveys"], "month")
    assert (months["2026-02"]["responses"], months["2026-02"]["answers"], months["2026-02"]["score"]) == (2, 4,
                                                                                                       D("3.5"))
    assert months["2026-03"]["score"] == D("2.0") and months["2026-01"]["score"] is None
    assert rows_by(panels["questions"])["质量"]["score"] == D("3.7")
    service = rows_by(panels["service"], "month")["2026-02"]
    assert service["complaints"] == 3 and service["complaints_satisfied"] == D("66.7")


def test_appraisal_grades_against_the_target_distribution__BRD_6_3(app, db, place):
    def appraisal(grade, state="closed", period="2026-03", kind="month"):
        return {"owner_unit": place.pk, "grade": grade, "state": state, "period": period, "period_kind": kind,
                "employee": ObjectId()}

    insert(dashboards.Appraisal, appraisal("A"), appraisal("B"), appraisal("B", "feedback"),
           appraisal("C", period="2026-Q1", kind="quarter"), appraisal("A", "self_assessment"),  # not reviewed yet
           appraisal("E", period="2026-07"), appraisal("E", period="2026", kind="year"))  # ends after the period
    panels = run(app, "appraisal", {"Appraisal": {"owner_unit": place.pk}}, start="2026-01-01", end="2026-06-30")
    grades = rows_by(panels["grades"])
    assert [grades[g]["count"] for g in "ABCDE"] == [1, 2, 1, 0, 0]
    assert grades["B"]["percent"] == D("50.0") and grades["B"]["target"] == D("20")
    assert panels["grades"].total["count"] == 4
    assert rows_by(panels["units"])["报表测试部"]["B"] == 2


def test_training_completion_per_unit_and_assessment_results__BRD_7_4_1(app, db, place):
    people = [ObjectId() for _ in range(4)]
    marks = [{"employee": p, "status": s} for p, s in zip(people, ("present", "late", "absent", "present"),
                                                           strict=True)]
    insert(dashboards.TrainingSession,
           {"owner_unit": place.pk, "start": at(dt.date(2026, 4, 1)), "status": "held", "participants": people,
            "attendance": marks},
           {"owner_unit": place.pk, "start": at(dt.date(2026, 5, 1)), "status": "cancelled", "participants": people},
           {"owner_unit": place.pk, "start": at(dt.date(2026, 5, 9)), "status": "planned", "participants": people[:2]})
    insert(dashboards.TrainingAssessment, *({"owner_unit": place.pk, "assessed_on": day(dt.date(2026, 4, 2)),
                                             "status": s, "employee": p, "attempt": 1}
                                            for s, p in zip(("passed", "passed", "failed", "retake_open"), people,
                                                            strict=True)))
    scopes = {"TrainingSession": {"owner_unit": place.pk}, "TrainingAssessment": {"owner_unit": place.pk}}
    panels = run(app, "training", scopes, start="2026-01-01", end="2026-06-30")
    row = rows_by(panels["unit"])["报表测试部"]
    assert (row["sessions"], row["held"], row["cancelled"], row["participants"], row["attended"]) == (3, 1, 1, 4, 3)
    assert row["completion"] == D("75.0")
    assert {r["label"]: r["share"] for r in panels["results"].rows} == {"Passed": D("50.0"), "Failed": D("25.0"),
                                                                        "Retake open": D("25.0")}


# ---- the framework: filters, charts, declarations -------------------------------------------------------------
@pytest.mark.parametrize("module", [reports, charts, dashboards], ids=["reports", "charts", "dashboards"])
def test_the_examples_in_the_docstrings_hold(app, module):
    with app.test_request_context():
        assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(("args", "field", "message"), [
    ({"start": "2026-13-45"}, "start", "Enter the dates as 2026-01-31."),
    ({"end": "yesterday"}, "end", "Enter the dates as 2026-01-31."),
    ({"start": "2026-05-01", "end": "2026-01-01"}, "end", "The period runs from the start to a later end"),
    ({"start": "1990-01-01", "end": "2026-01-01"}, "end", "over at most ten years"),
    ({"start": "9" * 400}, "start", "Enter the dates"),
    ({"start": "9999-12-20", "end": "9999-12-31"}, "start", "Choose dates between 1900 and 2100."),
    ({"start": "2026-01-01", "end": "9999-12-31"}, "end", "Choose dates between 1900 and 2100."),
    ({"start": "1066-10-14"}, "start", "Choose dates between 1900 and 2100."),
    ({"year": "abc"}, "year", "Write the year as 2026."),
    ({"year": "1800"}, "year", "Write the year as 2026."),
    ({"unit": "$ne"}, "unit", "Choose one of the units in the list."),
    ({"unit": "0" * 24}, "unit", "Choose one of the units in the list."),
], ids=["month-13", "not-a-date", "end-before-start", "over-ten-years", "huge", "year-9999", "end-9999",
        "year-1066", "year-text", "year-1800",
        "unit-operator", "unit-unknown"])
def test_a_bad_filter_is_said_next_to_its_field_and_the_defaults_are_shown(as_role, args, field, message):
    key = "budget" if field == "year" else "sales"
    response = as_role("Admin").get(f"/reports/{key}/", query_string=args)
    assert response.status_code == 200
    page = response.data.decode()
    assert re.search(rf'id="error-{field}">[^<]*{re.escape(message)}', page), page[:200]
    assert 'data-panel="' in page  # the figures of the default filters are still there
    csv_response = as_role("Admin").get(f"/reports/{key}/csv/{'unit' if key == 'budget' else 'month'}",
                                        query_string=args)
    assert csv_response.status_code == 302 and f"/reports/{key}/" in csv_response.headers["Location"]


def test_a_csv_link_with_bad_filters_goes_back_with_the_filters_only(as_role):
    response = as_role("Admin").get("/reports/sales/csv/month", query_string={
        "start": "bad", "key": "x", "_external": "1", "_scheme": "javascript", "_anchor": "x"})
    assert response.status_code == 302 and response.headers["Location"] == "/reports/sales/?start=bad"


def test_a_clerk_may_not_pick_a_unit_outside_their_scope(as_role):
    clerk = as_role("Clerk")
    page = clerk.get("/reports/sales/").data.decode()
    assert str(unit("BR-SALES").pk) in page and str(unit("BR-CS").pk) not in page  # the choices are their units
    page = clerk.get("/reports/sales/", query_string={"unit": str(unit("BR-CS").pk)}).data.decode()
    assert 'id="error-unit"' in page


def test_a_unit_narrows_the_figures_to_it_and_the_units_below(app, db, place, make_unit):
    below = make_unit(parent=place)
    rep = person("sales_rep").pk
    insert(dashboards.SalesOrder, order(below.pk, dt.date(2026, 2, 1), [(ObjectId(), "x", 1, "70", "1")],
                                        salesperson=rep, region="下级区域"),
           order(unit("BR-CS").pk, dt.date(2026, 2, 1), [(ObjectId(), "x", 1, "30", "1")], salesperson=rep,
                 region="旁支区域"))
    panels = run(app, "sales", {"SalesOrder": {}}, start="2026-01-01", end="2026-06-30", unit=str(place.pk))
    assert set(rows_by(panels["region"])) == {"下级区域"}


def test_the_charts_are_drawn_to_scale():
    rows = [{"label": "甲", "a": D("100"), "b": D("-50")}, {"label": "乙", "a": D("50"), "b": None}]
    columns = (reports.Column("label", "L"), reports.Column("a", "A", "money"), reports.Column("b", "B", "money"))
    bars = charts.layout(reports.Panel("p", "P", columns, rows, reports.Chart("bar", "label", ("a", "b"))))
    widths = [r["w"] for r in bars["rects"]]
    assert len(widths) == 3 and widths[0] == pytest.approx(2 * widths[2], rel=0.01)  # 100 against 50
    assert widths[1] == pytest.approx(widths[2], rel=0.01) and bars["rects"][1]["x"] < bars["rects"][0]["x"]
    assert [item["label"] for item in bars["legend"]] == ["A", "B"]
    ring = charts.layout(reports.Panel("p", "P", columns[:2], rows, reports.Chart("donut", "label", ("a",))))
    lengths = [float(r["dash"].split()[0]) for r in ring["rings"]]
    assert lengths[0] == pytest.approx(2 * lengths[1], abs=0.02) and sum(lengths) == pytest.approx(439.82, abs=0.02)
    line = charts.layout(reports.Panel("p", "P", columns[:2], rows, reports.Chart("line", "label", ("a",))))
    assert len(line["circles"]) == 2 and line["circles"][0]["cy"] < line["circles"][1]["cy"]  # 100 above 50
    stacked = charts.layout(reports.Panel("p", "P", columns, rows, reports.Chart("stacked", "label", ("a", "b"))))
    assert len(stacked["rects"]) == 2  # a negative part is not stacked
    empty = charts.layout(reports.Panel("p", "P", columns, [], reports.Chart("bar", "label", ("a",))))
    assert empty["empty"]


def test_every_dashboard_is_declared_within_budget_with_its_permission_and_scopes(app):
    views = {getattr(v, "class_permission_name", None): v for v in app.appbuilder.baseviews}
    granted = {perm for roles in ROLE_TABLE["Dashboards"].values() for perm in roles}
    assert len(reports.DASHBOARDS) >= 10
    for board in reports.DASHBOARDS.values():
        assert board.queries <= reports.QUERY_BUDGET
        assert board.permission_name in granted, f"{board.key}: no role holds {board.permission_name}"
        for name in board.scopes:
            assert hasattr(views.get(name), "scope_raw"), f"{board.key}: {name} is not a scoped view"
    with pytest.raises(ValueError, match="declared twice"):
        reports.register(reports.Dashboard("sales", "x", "x", (), (), lambda p, s: []))
    with pytest.raises(ValueError, match="at most 6 queries"):
        reports.Dashboard("too_many", "x", "x", (), (), lambda p, s: [], queries=7)


def test_every_clause_a_dashboard_names_is_in_the_clause_index(db):
    from models.regulations import Clause

    named = {clause for board in reports.DASHBOARDS.values() for clause in board.clauses}
    known = set(Clause._get_collection().distinct("clause_id", {"clause_id": {"$in": sorted(named)}}))
    assert named - known == set()


def test_the_regulations_page_links_the_dashboards_the_user_may_open(as_role):
    page = as_role("Clerk").get("/regulations/").data.decode()
    assert 'href="/reports/customers/"' in page and 'href="/reports/income/"' not in page
    assert 'href="/reports/income/"' in as_role("Finance").get("/regulations/").data.decode()


# ---- who sees what ------------------------------------------------------------------------------------------------
EVERY = set(reports.DASHBOARDS)
OPENS = {
    "Admin": EVERY, "Auditor": EVERY, "DeptHead": EVERY,
    "Clerk": {"sales", "customers", "receivables", "complaints", "after_sales", "satisfaction"},
    "Finance": {"sales", "income", "receivables", "budget"},
    "HR": {"sales", "appraisal", "training"},  # sales: as an Employee, their own (none)
    "Legal": {"sales"}, "Employee": {"sales"},
}


@pytest.mark.parametrize("role", sorted(OPENS))
def test_each_role_opens_exactly_its_dashboards(as_role, role):
    user = as_role(role)
    index = user.get("/reports/").data.decode()
    assert set(re.findall(r'data-dashboard="(\w+)"', index)) == OPENS[role]
    for key in sorted(EVERY):
        page, table = user.get(f"/reports/{key}/"), user.get(f"/reports/{key}/csv/month")
        assert page.status_code == (200 if key in OPENS[role] else 404), key
        assert table.status_code in ((200, 404) if key in OPENS[role] else (404,)), key


def test_anonymous_visitors_are_sent_to_the_login(browser):
    for url in ("/reports/", "/reports/sales/", "/reports/sales/csv/month"):
        response = browser.get(url)
        assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_unknown_dashboards_and_panels_answer_404(as_role):
    admin = as_role("Admin")
    for url in ("/reports/nothing/", "/reports/sales/csv/nothing", "/reports/$ne/", "/reports/" + "a" * 300 + "/"):
        assert admin.get(url).status_code == 404, url


def test_a_clerk_sees_only_their_units_figures(as_role, db):
    rep = person("sales_rep").pk
    insert(dashboards.SalesOrder,
           order(unit("BR-SALES").pk, dt.date.today() - dt.timedelta(days=3), [(ObjectId(), "x", 1, "11", "1")],
                 salesperson=rep, region="本部门区域"),
           order(unit("BR-CS").pk, dt.date.today() - dt.timedelta(days=3), [(ObjectId(), "x", 1, "22", "1")],
                 salesperson=rep, region="别部门区域"))
    today = settings.local_today()
    window = {"start": f"{today - dt.timedelta(days=30)}", "end": f"{today}"}
    clerk, auditor = as_role("Clerk"), as_role("Auditor")
    mine = clerk.get("/reports/sales/", query_string=window).data.decode()
    assert "本部门区域" in mine and "别部门区域" not in mine
    table = clerk.get("/reports/sales/csv/region", query_string=window).data.decode("utf-8-sig")
    assert "本部门区域" in table and "别部门区域" not in table
    assert "别部门区域" in auditor.get("/reports/sales/", query_string=window).data.decode()
    assert "别部门区域" in as_role("service_head").get("/reports/sales/", query_string=window).data.decode()


def test_an_employee_sees_only_their_own_sales(as_role):
    page = as_role("Employee").get("/reports/sales/").data.decode()
    assert person("sales_rep").name in page and person("agent").name not in page
    assert person("agent").name in as_role("Auditor").get("/reports/sales/").data.decode()


# ---- the CSV is the table, formulas and markup are neutralised ----------------------------------------------------
def _html_table(page: str, panel: str) -> list[list[str]]:
    """The panel's table as the page shows it: raw figures (data-value) for numbers, text otherwise."""
    section = re.search(rf'<table[^>]*data-panel="{panel}".*?</table>', page, re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1) + (
        re.search(r"<tfoot>(.*?)</tfoot>", section, re.S) or re.search("()", "")).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r'<t[dh][^>]*?(?: data-value="([^"]*)")?>(.*?)</t[dh]>', row, re.S)
        rows.append([html.unescape(value) if value else "" if text == "—" else html.unescape(text)
                     for value, text in cells])
    return rows


def test_the_csv_holds_the_table_and_neutralises_formulas__SECURITY_2(as_role, db):
    today = settings.local_today()
    rep = person("sales_rep").pk
    insert(dashboards.SalesOrder,
           order(unit("BR-SALES").pk, today, [(ObjectId(), "x", 2, "12.5", "1")], salesperson=rep,
                 region="=HYPERLINK(\"http://evil.example\")"),
           order(unit("BR-SALES").pk, today, [(ObjectId(), "x", 1, "7", "1")], salesperson=rep,
                 region="<script>alert(1)</script>"))
    admin = as_role("Admin")
    window = {"start": f"{today}", "end": f"{today}"}
    page = admin.get("/reports/sales/", query_string=window).data.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    response = admin.get("/reports/sales/csv/region", query_string=window)
    assert response.headers["Content-Type"].startswith("text/csv") and "attachment" in response.headers[
        "Content-Disposition"]
    sheet = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header = re.search(r'<table[^>]*data-panel="region".*?<thead>(.*?)</thead>', page, re.S).group(1)
    assert sheet[0] == [html.unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", header)]
    shown = _html_table(page, "region")
    assert [row[0] for row in sheet[1:]] == ["'" + row[0] if row[0].startswith("=") else row[0] for row in shown]
    assert [row[1:] for row in sheet[1:]] == [row[1:] for row in shown]
    assert ["'=HYPERLINK(\"http://evil.example\")", "25.00"] in [row[:2] for row in sheet]


def test_a_csv_download_is_recorded_in_the_audit_trail(as_role, trail):
    before = AuditEntry.objects(collection="dashboards", action="export").count()
    response = as_role("Finance").get("/reports/income/csv/customer", query_string={"start": "2026-01-01",
                                                                                     "end": "2026-06-30"})
    assert response.status_code == 200
    entry = AuditEntry.objects(collection="dashboards", action="export").order_by("-at").first()
    trail.append(entry.pk)
    assert AuditEntry.objects(collection="dashboards", action="export").count() == before + 1
    assert (entry.user, entry.record_id) == ("finance", "income") and "Income by customer" in entry.record_label
    assert "start=2026-01-01, end=2026-06-30" in entry.note


# ---- round-trips: a fixed number whatever the volume (PERFORMANCE.md) -----------------------------------------------
def _volume(n: int, place_id) -> None:
    """`n` more records in every collection the dashboards read, dated within the default period."""
    today = settings.local_today()
    when, on = at(today - dt.timedelta(days=2)), day(today - dt.timedelta(days=2))
    rep, customer = person("sales_rep").pk, ObjectId()
    common = {"owner_unit": place_id}
    insert(dashboards.SalesOrder, *(order(place_id, today - dt.timedelta(days=2), [(ObjectId(), f"类{i % 7}", 1, "9",
                                                                                   "1")],
                                          customer=ObjectId(), salesperson=rep, region=f"区{i}") for i in range(n)))
    insert(dashboards.Income, *({**common, "customer": ObjectId(), "amount": 100 + i, "received_on": on,
                                 "source": "order", "state": "posted"} for i in range(n)))
    insert(dashboards.Customer, *({**common, "name": f"量{n}-{i}", "status": "active", "industry": f"业{i}",
                                   "created_at": when} for i in range(n)))
    insert(dashboards.receivables.Receivable, *({**common, "customer": ObjectId(), "owner": ObjectId(),
                                                 "outstanding": 100, "amount": 100, "state": "open",
                                                 "due_date": on} for i in range(n)))
    insert(dashboards.Budget, *({**common, "year": today.year, "owner_unit": ObjectId(), "kind": "expense",
                                 "category": "travel", "annual_amount": 100, "status": "approved"} for i in range(n)))
    insert(dashboards.Complaint, *({**common, "received_at": when, "severity": "high", "category": "other",
                                    "status": "answered", "handling_hours": 3.0, "on_time": True} for i in range(n)))
    insert(dashboards.AfterSalesTicket, *({**common, "created_at": when, "kind": "return", "product": ObjectId(),
                                           "status": "open", "deadline": on} for i in range(n)))
    insert(dashboards.SurveyResponse, *({**common, "answered_on": on, "customer": ObjectId(), "survey": customer,
                                         "scores": [{"question": f"问{i}", "score": 4}]} for i in range(n)))
    insert(dashboards.Appraisal, *({**common, "state": "closed", "grade": "B", "period_kind": "month",
                                    "period": f"{today - dt.timedelta(days=40):%Y-%m}", "employee": ObjectId()}
                                   for i in range(n)))
    insert(dashboards.TrainingSession, *({**common, "start": when, "status": "held", "participants": [rep]}
                                         for i in range(n)))
    insert(dashboards.TrainingAssessment, *({**common, "assessed_on": on, "status": "passed", "employee": ObjectId(),
                                             "attempt": 1} for i in range(n)))


@pytest.mark.parametrize("key", sorted(EVERY))
def test_a_dashboard_costs_the_same_queries_at_n_and_ten_times_n(app, counter, as_role, db, place, key):
    auditor = as_role("Auditor")  # sees everything: no scope queries, only the dashboard's own and the navbar's
    _volume(10, place.pk)
    auditor.get("/reports/")
    counter.reset()
    auditor.get("/reports/")
    frame = data_round_trips(counter)  # the navbar's counts
    auditor.get(f"/reports/{key}/")
    counter.reset()
    assert auditor.get(f"/reports/{key}/").status_code == 200
    at_n, first = data_round_trips(counter), counter.by_collection()
    _volume(90, place.pk)
    counter.reset()
    assert auditor.get(f"/reports/{key}/").status_code == 200
    assert data_round_trips(counter) == at_n, (first, counter.by_collection())
    assert at_n - frame == reports.get(key).queries <= reports.QUERY_BUDGET, first


@pytest.mark.parametrize("key", ["sales", "complaints"])
def test_a_clerks_dashboard_adds_only_the_scope_lookup(counter, as_role, db, place, key):
    clerk = as_role("Clerk")
    _volume(10, unit("BR-SALES").pk)
    clerk.get(f"/reports/{key}/")
    counter.reset()
    clerk.get(f"/reports/{key}/")
    at_n = data_round_trips(counter)
    _volume(90, unit("BR-SALES").pk)
    counter.reset()
    clerk.get(f"/reports/{key}/")
    assert data_round_trips(counter) == at_n <= reports.get(key).queries + 2 + 2  # + navbar + my units


def test_the_page_follows_the_users_language(app, as_role):
    from flask_babel import force_locale, gettext

    user = as_role("Auditor")
    for language in ("zh", "en"):
        user.get(f"/lang/{language}")
        page = user.get("/reports/sales/").data.decode()
        with app.test_request_context(), force_locale(language):
            show, title = gettext("Show"), str(reports.get("sales").title)
        assert f"</i> {show}</button>" in page and f"</i> {title}</h2>" in page
    assert show == "Show"


def test_role_users_cover_the_roles_of_the_table():
    assert set(OPENS) == set(ROLE_USERS)
