"""The dashboards of DOMAIN 7 "Reports", declared on portal.reports: sales (BRD 4(4)), income (DSC 5(2)3),
customers (DSC 7(1)3), receivables aging (FSS 3(7)4), budget against actual (DSC 5(1)3), complaint handling
(BRD 5(1)), after-sales quality (FSS 3(6)3), satisfaction trends (BRD 5(4)3), appraisal grades (BRD 6) and training
completion (BRD 7(4)).

Each function runs a fixed number of MongoDB aggregations over the records in the user's scope (the raw filter of
the named view's `scope_raw()`), whatever the number of records: `$facet` puts several breakdowns of one collection
into one round-trip, and names are read once per referenced collection for the rows shown. Money is stored in fen
(models.common.MoneyField): sums are exact and divided by 100 here. A later area declares its own dashboard in its
own module the same way (`reports.register(Dashboard(...))`) and grants its permission in ROLE_TABLE.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bson import ObjectId
from flask_babel import lazy_gettext as _l

from models.appraisal import GRADES, Appraisal
from models.audit import AuditEntry
from models.common import choice_label, from_fen, utcnow
from models.customers import (
    CLASSES,
    COMPLAINT_CATEGORIES,
    COMPLAINT_STATUSES,
    CUSTOMER_STATUSES,
    SEVERITIES,
    SOURCES,
    Complaint,
    Customer,
    SurveyResponse,
)
from models.finance import BUDGET_CATEGORIES, Budget
from models.org import Employee
from models.products import TICKET_KINDS, AfterSalesTicket, Product
from models.receivables import AGING_BUCKETS, INCOME_SOURCES
from models.receivables import IncomeRecord as Income
from models.sales import SOLD_STAGES, SalesOrder
from models.training import ASSESSMENT_STATUSES, ATTENDED, TrainingAssessment, TrainingSession
from portal import appraisal_boards, finance, receivables, settings
from portal.reports import Chart, Column, Dashboard, Panel, Params, change, day, one_place, percent, register

TOP = 30  # rows of a breakdown by person, product or customer; the rest are one "all others" row
DAY_MS = 86_400_000
EPOCH = dt.datetime(1970, 1, 1)
OPEN_COMPLAINT = ["open", "in_progress"]
ANSWERED = ["answered", "closed"]
RESOLVED = ["resolved", "closed"]
SATISFIED = ["very_satisfied", "satisfied"]
SCORES = {"very_satisfied": 5, "satisfied": 4, "neutral": 3, "dissatisfied": 2, "very_dissatisfied": 1}
OTHERS = _l("All others")
NONE_GIVEN = _l("(not given)")
NO_CUSTOMER = _l("(no customer: remittances and other income)")

MONTH = Column("month", _l("Month"))
AMOUNT = Column("amount", _l("Amount (CNY)"), "money")
PROFIT = Column("profit", _l("Gross profit (CNY)"), "money")
MARGIN = Column("margin", _l("Margin"), "percent")
VOLUME = Column("volume", _l("Volume"), "int")
ORDERS = Column("orders", _l("Orders"), "int")
SHARE = Column("share", _l("Share"), "percent")
PREVIOUS = Column("previous", _l("Previous period (CNY)"), "money")
CHANGE = Column("change", _l("Change"), "percent")
COUNT = Column("count", _l("Count"), "int")


# ---- shared pieces ------------------------------------------------------------------------------------------------
def _one(document, pipeline: list) -> dict:
    """The single result document of a `$facet` aggregation (one round-trip)."""
    return next(iter(document._get_collection().aggregate(pipeline)), {}) or {}


def _all(document, pipeline: list) -> list[dict]:
    return list(document._get_collection().aggregate(pipeline))


def _names(document, ids, *fields: str) -> dict:
    """id -> display name of the referenced records a panel shows (one query, even when there are none)."""
    wanted = [i for i in dict.fromkeys(ids) if i is not None]
    rows = document._get_collection().find({"_id": {"$in": wanted}}, dict.fromkeys(fields, 1))
    return {r["_id"]: " ".join(str(r.get(f) or "") for f in fields).strip() or "?" for r in rows}


def months(start: dt.date, end: dt.date) -> list[str]:
    """Every month of the period as 2026-01.

    >>> months(dt.date(2025, 11, 20), dt.date(2026, 2, 1))
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    out, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _shift(params: Params) -> int:
    """The company's offset from UTC in milliseconds (at the start of the period), to put stored UTC moments into
    the company's months: mongomock has no `timezone` for $dateToString, and adding it keeps both stores alike."""
    offset = settings.zone().utcoffset(dt.datetime(params.start.year, params.start.month, params.start.day))
    return int(offset.total_seconds() * 1000) if offset else 0


def _month_of(field: str, shift: int = 0) -> dict:
    """The month (2026-01) of a date field; `shift` moves a UTC moment into the company's clock first."""
    date = f"${field}" if not shift else {"$subtract": [f"${field}", -shift]}
    return {"$dateToString": {"format": "%Y-%m", "date": date}}


def _moments(params: Params) -> dict:
    """The period as stored UTC moments: from the company's midnight of the first day to that after the last."""
    return {"$gte": settings.from_local(day(params.start)),
            "$lt": settings.from_local(day(params.end + dt.timedelta(days=1)))}


def _days(params: Params) -> dict:
    """The period on a DateField (stored as midnight)."""
    return {"$gte": day(params.start), "$lte": day(params.end)}


def _count_if(condition) -> dict:
    return {"$sum": {"$cond": [condition, 1, 0]}}


def _in(field: str, values) -> dict:
    return {"$in": [f"${field}", list(values)]}


def _with_others(rows: list[dict], total: dict, sums: tuple[str, ...]) -> list[dict]:
    """`rows` (the TOP largest, as the aggregation kept them) and one "all others" row for what they leave of `total`:
    the table always adds up to the total."""
    rest = {s: total[s] - sum((r.get(s) or 0 for r in rows), type(total[s])(0)) for s in sums}
    return [*rows, {"label": str(OTHERS), **rest}] if any(rest.values()) else rows


def _month_rows(params: Params, found: dict, blank: dict) -> list[dict]:
    """One row per month of the period, the months without records filled from `blank`."""
    return [{"month": m, **found.get(m, blank)} for m in months(params.start, params.end)]


# ---- sales by period, product, region, salesperson and customer (BRD 4(4)1-2) ----------------------------------------
_SALES_KEYS = {"month": {"$dateToString": {"format": "%Y-%m", "date": "$ordered_on"}}, "product": "$lines.product",
               "region": "$region", "salesperson": "$salesperson", "customer": "$customer"}
_LIMITED = ("product", "region", "salesperson", "customer")


def _sales_facet(key) -> list:
    """Sales of one breakdown: per (key, order) first, so that an order counts once, then per key."""
    return [{"$group": {"_id": {"k": key, "o": "$_id"}, "amount": {"$sum": "$lines.amount"},
                        "volume": {"$sum": "$lines.quantity"},
                        "cost": {"$sum": {"$multiply": ["$lines.unit_cost", "$lines.quantity"]}}}},
            {"$group": {"_id": "$_id.k", "amount": {"$sum": "$amount"}, "volume": {"$sum": "$volume"},
                        "cost": {"$sum": "$cost"}, "orders": {"$sum": 1}}},
            {"$sort": {"amount": -1}}]


def _sales_row(raw: dict, whole: Decimal) -> dict:
    amount, cost = from_fen(raw.get("amount", 0)), from_fen(raw.get("cost", 0))
    return {"key": raw.get("_id"), "amount": amount, "profit": amount - cost, "margin": percent(amount - cost, amount),
            "volume": raw.get("volume", 0), "orders": raw.get("orders", 0), "share": percent(amount, whole)}


def sales(params: Params, scopes: dict) -> list[Panel]:
    """Confirmed to closed orders of the period: one aggregation with five facets, then the names of the products,
    salespeople and customers shown (BRD 4(4)1: revenue, volume, profit, customer distribution, product sales)."""
    match = params.where(scopes["SalesOrder"], {"stage": {"$in": list(SOLD_STAGES)}, "ordered_on": _days(params)})
    facets = {name: _sales_facet(key) + ([{"$limit": TOP}] if name in _LIMITED else [])
              for name, key in _SALES_KEYS.items()}
    facets["total"] = [{"$group": {"_id": None, "amount": {"$sum": "$lines.amount"},
                                   "volume": {"$sum": "$lines.quantity"},
                                   "cost": {"$sum": {"$multiply": ["$lines.unit_cost", "$lines.quantity"]}}}}]
    found = _one(SalesOrder, [{"$match": match}, {"$unwind": "$lines"}, {"$facet": facets}])
    total_raw = (found.get("total") or [{}])[0]
    whole = from_fen(total_raw.get("amount", 0))
    rows = {name: [_sales_row(r, whole) for r in found.get(name) or []] for name in _SALES_KEYS}
    labels = {"product": _names(Product, [r["key"] for r in rows["product"]], "code", "name"),
              "salesperson": _names(Employee, [r["key"] for r in rows["salesperson"]], "name"),
              "customer": _names(Customer, [r["key"] for r in rows["customer"]], "name")}
    orders = sum(r["orders"] for r in rows["month"])  # an order falls in one month
    total = {**_sales_row({**total_raw, "orders": orders}, whole), "label": _l("Total")}
    for name, line in rows.items():
        for row in line:
            row["label"] = labels[name].get(row["key"], "?") if name in labels else (row["key"] or str(NONE_GIVEN))
    by_month = {r["key"]: r for r in rows["month"]}
    zero = {"amount": Decimal("0"), "profit": Decimal("0"), "margin": None, "volume": 0, "orders": 0}
    month_rows = _month_rows(params, by_month, zero)
    for row in month_rows:
        row["label"] = row["month"]
    money_sums = ("amount", "profit", "volume")
    figures = (AMOUNT, PROFIT, MARGIN, VOLUME, ORDERS)

    def breakdown(name, title, label, chart):
        line = _with_others(rows[name], total, money_sums) if name in _LIMITED else rows[name]
        for row in line:
            row.setdefault("share", percent(row.get("amount"), whole))
            row.setdefault("margin", percent(row.get("profit"), row.get("amount")))
        return Panel(name, title, (Column("label", label), *figures, SHARE), line, chart, total=total)

    return [
        Panel("month", _l("Sales by month"), (Column("label", _l("Month")), *figures), month_rows,
              Chart("line", "label", ("amount", "profit"), limit=121), total=total),
        breakdown("product", _l("Sales by product"), _l("Product"), Chart("bar", "label", ("amount", "profit"))),
        breakdown("region", _l("Sales by region"), _l("Region"), Chart("bar", "label", ("amount", "profit"))),
        breakdown("salesperson", _l("Sales by salesperson"), _l("Salesperson"),
                  Chart("bar", "label", ("amount", "profit"))),
        breakdown("customer", _l("Sales by customer"), _l("Customer"), Chart("bar", "label", ("amount",))),
    ]


register(Dashboard(
    "sales", _l("Sales"), _l("Sales amount, volume and gross profit by month, product, region, salesperson and "
                             "customer, over the confirmed orders of the period in your scope."),
    ("BRD 4(4)1", "BRD 4(4)2", "MIC 產品管理/產品選擇/2"), ("SalesOrder",), sales, ("period", "unit"), queries=5,
    icon="fa-bar-chart"))


# ---- income by source, product category and customer, with shares and change (DSC 5(2)3) -----------------------
def _by_period(params: Params, date_field: str, amount: str) -> dict:
    """$sum of `amount` in this period and in the previous one, for a group."""
    this = {"$gte": [f"${date_field}", day(params.start)]}
    return {"amount": {"$sum": {"$cond": [this, amount, 0]}}, "previous": {"$sum": {"$cond": [this, 0, amount]}}}


def _income_row(raw: dict, whole: Decimal) -> dict:
    now, before = from_fen(raw.get("amount", 0)), from_fen(raw.get("previous", 0))
    return {"key": raw.get("_id"), "amount": now, "previous": before, "difference": now - before,
            "change": change(now, before), "share": percent(now, whole)}


def income(params: Params, scopes: dict) -> list[Panel]:
    """Receipts of the income ledger by source and by customer, and sales by product category, each against the
    period of the same length before it: two aggregations and one read of customer names."""
    before_start, _before_end = params.previous
    span = {"$gte": day(before_start), "$lte": day(params.end)}
    sums = _by_period(params, "received_on", "$amount")
    found = _one(Income, [
        {"$match": params.where(scopes["IncomeRecord"], {"state": "posted", "received_on": span})},
        {"$facet": {"source": [{"$group": {"_id": "$source", **sums}}],
                    "customer": [{"$group": {"_id": "$customer", **sums}}, {"$sort": {"amount": -1, "previous": -1}},
                                 {"$limit": TOP}],
                    "total": [{"$group": {"_id": None, **sums}}]}}])
    categories = _all(SalesOrder, [
        {"$match": params.where(scopes["SalesOrder"], {"stage": {"$in": list(SOLD_STAGES)}, "ordered_on": span})},
        {"$unwind": "$lines"},
        {"$group": {"_id": "$lines.category", **_by_period(params, "ordered_on", "$lines.amount")}},
        {"$sort": {"amount": -1}}])
    total_raw = (found.get("total") or [{}])[0]
    whole = from_fen(total_raw.get("amount", 0))
    total = {**_income_row(total_raw, whole), "label": _l("Total")}
    sources = sorted((_income_row(r, whole) for r in found.get("source") or []), key=lambda r: -r["amount"])
    for row in sources:
        row["label"] = choice_label(INCOME_SOURCES, row["key"])
    customers = [_income_row(r, whole) for r in found.get("customer") or []]
    names = _names(Customer, [r["key"] for r in customers], "name")
    for row in customers:
        row["label"] = names.get(row["key"], "?") if row["key"] else str(NO_CUSTOMER)
    customers = _with_others(customers, total, ("amount", "previous", "difference"))
    for row in customers:
        row.setdefault("change", change(row["amount"], row["previous"]))
        row.setdefault("share", percent(row["amount"], whole))
    sold_whole = sum((from_fen(r.get("amount", 0)) for r in categories), Decimal("0"))
    category_rows = [_income_row(r, sold_whole) for r in categories]
    for row in category_rows:
        row["label"] = row["key"] or str(NONE_GIVEN)
    sold_total = {"label": _l("Total"), "amount": sold_whole,
                  "previous": sum((r["previous"] for r in category_rows), Decimal("0"))}
    sold_total |= {"difference": sold_total["amount"] - sold_total["previous"],
                   "change": change(sold_total["amount"], sold_total["previous"]),
                   "share": percent(sold_whole, sold_whole)}
    difference = Column("difference", _l("Change (CNY)"), "money")
    return [
        Panel("source", _l("Income by source"), (Column("label", _l("Source")), AMOUNT, SHARE, PREVIOUS, CHANGE),
              sources, Chart("donut", "label", ("amount",)), _l("Posted receipts of the income ledger."), total),
        Panel("category", _l("Sales by product category"),
              (Column("label", _l("Product category")), AMOUNT, SHARE, PREVIOUS, CHANGE), category_rows,
              Chart("bar", "label", ("amount", "previous")), _l("Order lines of confirmed orders, by order date."),
              sold_total),
        Panel("customer", _l("Income by customer"),
              (Column("label", _l("Customer")), AMOUNT, SHARE, PREVIOUS, difference, CHANGE), customers,
              Chart("bar", "label", ("amount", "previous")), _l("Each customer's share of the period's income and "
                                                                 "its change against the previous period."), total),
    ]


register(Dashboard(
    "income", _l("Income analysis"), _l("Income by source and by customer with each customer's share, and sales by "
                                        "product category, each against the period of the same length before."),
    ("DSC 5(2)3", "DSC 5(2)2"), ("IncomeRecord", "SalesOrder"), income, ("period", "unit"), queries=4,
    icon="fa-money"))


# ---- customers by class, industry, region, source and status; new, dormant and lost (DSC 7(1)3) --------------------
_CUSTOMER_FACETS = {"customer_class": CLASSES, "industry": None, "region": None, "source": SOURCES,
                    "status": CUSTOMER_STATUSES}


def customers(params: Params, scopes: dict) -> list[Panel]:
    """The customer files in scope by class, industry, region, source and status (one aggregation), new files per
    month, and files set dormant or lost per month as the audit trail recorded the change (one aggregation over the
    trail, one read to keep only the files in scope)."""
    where = params.where(scopes["Customer"])
    facets = {name: [{"$group": {"_id": f"${name}", "count": {"$sum": 1}}}, {"$sort": {"count": -1}},
                     {"$limit": TOP}] for name in _CUSTOMER_FACETS}
    facets["new"] = [{"$match": {"created_at": _moments(params)}},
                     {"$group": {"_id": _month_of("created_at", _shift(params)), "count": {"$sum": 1}}}]
    facets["total"] = [{"$group": {"_id": None, "count": {"$sum": 1}}}]
    found = _one(Customer, ([{"$match": where}] if where else []) + [{"$facet": facets}])
    moves = _all(AuditEntry, [
        {"$match": {"collection": Customer._get_collection_name(), "at": _moments(params),
                    "changes": {"$elemMatch": {"field": "status", "new": {"$in": ["dormant", "lost"]}}}}},
        {"$unwind": "$changes"},
        {"$match": {"changes.field": "status", "changes.new": {"$in": ["dormant", "lost"]}}},
        {"$group": {"_id": {"record": "$record_id", "month": _month_of("at", _shift(params)), "to": "$changes.new"}}},
        {"$limit": 5000}])
    ids = {m["_id"]["record"] for m in moves if ObjectId.is_valid(m["_id"]["record"])}
    seen = {r["_id"] for r in Customer._get_collection().find(
        {"$and": [where, {"_id": {"$in": [ObjectId(i) for i in ids]}}]} if where else
        {"_id": {"$in": [ObjectId(i) for i in ids]}}, {"_id": 1})}
    per_month: dict = {}
    for raw in found.get("new") or []:
        per_month.setdefault(raw["_id"], {"new": 0, "dormant": 0, "lost": 0})["new"] = raw["count"]
    for move in moves:
        key = move["_id"]
        if ObjectId.is_valid(key["record"]) and ObjectId(key["record"]) in seen:
            per_month.setdefault(key["month"], {"new": 0, "dormant": 0, "lost": 0})[key["to"]] += 1
    trend = _month_rows(params, per_month, {"new": 0, "dormant": 0, "lost": 0})
    whole = ((found.get("total") or [{}])[0]).get("count", 0)

    def breakdown(name, title, label, chart_kind="bar"):
        rows = []
        for raw in found.get(name) or []:
            text = choice_label(_CUSTOMER_FACETS[name], raw["_id"]) if _CUSTOMER_FACETS[name] else raw["_id"]
            rows.append({"label": text or str(NONE_GIVEN), "count": raw["count"],
                         "share": percent(raw["count"], whole)})
        shown = sum(r["count"] for r in rows)
        if shown < whole:
            rows.append({"label": str(OTHERS), "count": whole - shown, "share": percent(whole - shown, whole)})
        return Panel(name, title, (Column("label", label), COUNT, SHARE), rows,
                     Chart(chart_kind, "label", ("count",)), total={"label": _l("Total"), "count": whole,
                                                                    "share": percent(whole, whole)})

    flows = (MONTH, Column("new", _l("New files"), "int"), Column("dormant", _l("Set dormant"), "int"),
             Column("lost", _l("Set lost"), "int"))
    return [
        Panel("flow", _l("New, dormant and lost customers per month"), flows, trend,
              Chart("line", "month", ("new", "dormant", "lost"), limit=121),
              _l("New: files created in the month. Dormant and lost: files whose status was set so in the month, "
                 "as the audit trail records it."),
              {"month": _l("Total"), **{k: sum(r[k] for r in trend) for k in ("new", "dormant", "lost")}}),
        breakdown("status", _l("Customers by status"), _l("Status"), "donut"),
        breakdown("customer_class", _l("Customers by class"), _l("Class")),
        breakdown("industry", _l("Customers by industry"), _l("Industry")),
        breakdown("region", _l("Customers by region"), _l("Region")),
        breakdown("source", _l("Customers by source"), _l("Source channel")),
    ]


register(Dashboard(
    "customers", _l("Customer analysis"), _l("Customer files by class, industry, region, source and status, and the "
                                             "new, dormant and lost customers of each month."),
    ("DSC 7(1)3", "DSC 7(1)1"), ("Customer",), customers, ("period", "unit"), queries=4, icon="fa-address-book"))


# ---- receivables aging (FSS 3(7)4) ---------------------------------------------------------------------------------
def aging(params: Params, scopes: dict) -> list[Panel]:
    """Open receivables in the five aging buckets, per customer and per salesperson: portal.receivables.aging,
    twice (an aggregation and a read of names each)."""
    where = params.where(scopes["Receivable"])
    labels = dict(AGING_BUCKETS)
    columns = tuple(Column(bucket, labels[bucket], "money") for bucket, _label in AGING_BUCKETS)
    outstanding = Column("total", _l("Outstanding (CNY)"), "money")
    receivable_count = Column("count", _l("Receivables"), "int")
    panels, totals = [], {}
    for by, title, label in (("customer", _l("Aging per customer"), _l("Customer")),
                             ("owner", _l("Aging per salesperson"), _l("Salesperson"))):
        report = receivables.aging(where, params.today, by)
        totals = report["total"]
        rows = [{**r, "label": r["name"]} for r in report["rows"]]
        panels.append(Panel(by, title, (Column("label", label), receivable_count, *columns, outstanding), rows,
                            Chart("stacked", "label", tuple(c.key for c in columns)),
                            total={**report["total"], "label": _l("Total")}))
    whole = totals.get("total", Decimal("0"))
    buckets = [{"label": labels[b], "amount": totals.get(b, Decimal("0")), "share": percent(totals.get(b, 0), whole)}
               for b, _label in AGING_BUCKETS]
    return [Panel("buckets", _l("Open receivables by days past due"),
                  (Column("label", _l("Aging")), Column("amount", _l("Outstanding (CNY)"), "money"), SHARE), buckets,
                  Chart("donut", "label", ("amount",)), _l("As of today; not due, then days past the due date."),
                  {"label": _l("Total"), "amount": whole, "share": percent(whole, whole)}),
            *panels]


register(Dashboard(
    "receivables", _l("Receivables aging"), _l("Open receivables in aging buckets (not due, 1-30, 31-90, 91-180, over "
                                               "180 days past due), per customer and per salesperson."),
    ("FSS 3(7)4", "SOC 6.2"), ("Receivable",), aging, ("unit",), queries=5, icon="fa-hourglass-half"))


# ---- budget against actual per unit and category (DSC 5(1)3, BRD 8(3)2) --------------------------------------------
def budget(params: Params, scopes: dict) -> list[Panel]:
    """The year's approved budget lines in scope (one read) with their approved increases, committed and paid
    claims (portal.finance.figures: two aggregations), summed per unit and per category."""
    lines = list(Budget._get_collection().find(
        params.where(scopes["Budget"], {"year": params.year, "status": "approved"}),
        {"owner_unit": 1, "unit_name": 1, "category": 1, "annual_amount": 1}).limit(5000))
    found = finance.figures([b["_id"] for b in lines])
    per_unit: dict = {}
    per_category: dict = {}
    zero = Decimal("0")
    for line in lines:
        figures = found.get(line["_id"], {"increased": zero, "committed": zero, "actual": zero})
        amounts = {"annual": from_fen(line.get("annual_amount") or 0), **figures}
        for key, label, bucket in ((line.get("owner_unit"), line.get("unit_name") or "?", per_unit),
                                   (line.get("category"), choice_label(BUDGET_CATEGORIES, line.get("category")),
                                    per_category)):
            row = bucket.setdefault(key, {"label": label, "annual": zero, "increased": zero, "committed": zero,
                                          "actual": zero})
            for name, value in amounts.items():
                row[name] += value

    def finish(rows):
        for row in rows:
            row["limit"] = row["annual"] + row["increased"]
            row["variance"] = row["limit"] - row["actual"]
            row["used"] = percent(row["actual"], row["limit"])
        return rows

    unit_rows = finish(sorted(per_unit.values(), key=lambda r: -r["annual"]))
    category_rows = finish(sorted(per_category.values(), key=lambda r: -r["annual"]))
    total = finish([{"label": _l("Total"), **{k: sum((r[k] for r in unit_rows), zero)
                                              for k in ("annual", "increased", "committed", "actual")}}])[0]
    columns = (Column("annual", _l("Annual budget (CNY)"), "money"),
               Column("increased", _l("Increases (CNY)"), "money"),
               Column("limit", _l("Limit (CNY)"), "money"), Column("committed", _l("Committed (CNY)"), "money"),
               Column("actual", _l("Actual (CNY)"), "money"), Column("variance", _l("Variance (CNY)"), "money"),
               Column("used", _l("Used"), "percent"))
    note = _l("Actual: paid claims. Committed: claims pending, approved or paid. Variance: limit minus actual.")
    return [Panel("unit", _l("Budget against actual per unit"), (Column("label", _l("Org unit")), *columns), unit_rows,
                  Chart("bar", "label", ("limit", "actual")), note, total),
            Panel("category", _l("Budget against actual per category"), (Column("label", _l("Category")), *columns),
                  category_rows, Chart("bar", "label", ("limit", "actual")), note, total)]


register(Dashboard(
    "budget", _l("Budget against actual"), _l("Each unit's approved budget for the year with its increases, what is "
                                              "committed and what is paid, per unit and per category."),
    ("DSC 5(1)3", "BRD 8(3)2", "FSS 7(3)2"), ("Budget",), budget, ("year", "unit"), queries=4, icon="fa-pie-chart"))


# ---- complaint handling times (BRD 5(1), SOC 7.3) -------------------------------------------------------------------
def _complaint_group(key) -> list:
    return [{"$group": {"_id": key, "count": {"$sum": 1}, "answered": _count_if(_in("status", ANSWERED)),
                        "hours": {"$avg": "$handling_hours"}, "on_time": _count_if({"$eq": ["$on_time", True]}),
                        "late": _count_if({"$eq": ["$on_time", False]})}}]


def _complaint_row(raw: dict, overdue: int = 0) -> dict:
    answered = raw.get("answered", 0)
    return {"key": raw.get("_id"), "count": raw.get("count", 0), "answered": answered,
            "open": raw.get("count", 0) - answered, "hours": one_place(raw.get("hours")),
            "on_time": raw.get("on_time", 0), "late": raw.get("late", 0),
            "on_time_rate": percent(raw.get("on_time", 0), raw.get("on_time", 0) + raw.get("late", 0)),
            "overdue": overdue}


def complaints(params: Params, scopes: dict) -> list[Panel]:
    """Complaints received in the period: hours to answer and the share answered in time per severity, category
    and month, the open ones past their deadline, and the state of all (one aggregation)."""
    found = _one(Complaint, [
        {"$match": params.where(scopes["Complaint"], {"received_at": _moments(params)})},
        {"$facet": {"severity": _complaint_group("$severity"), "category": _complaint_group("$category"),
                    "month": _complaint_group(_month_of("received_at", _shift(params))),
                    "status": [{"$group": {"_id": "$status", "count": {"$sum": 1}}}],
                    "overdue": [{"$match": {"status": {"$in": OPEN_COMPLAINT}, "due_at": {"$lt": utcnow()}}},
                                {"$group": {"_id": {"severity": "$severity", "category": "$category"},
                                            "count": {"$sum": 1}}}]}}])
    overdue = {"severity": {}, "category": {}}
    for raw in found.get("overdue") or []:
        for name in overdue:
            overdue[name][raw["_id"].get(name)] = overdue[name].get(raw["_id"].get(name), 0) + raw["count"]
    order = {"severity": SEVERITIES, "category": COMPLAINT_CATEGORIES}
    rows = {}
    for name, choices in order.items():
        by_key = {r["_id"]: _complaint_row(r, overdue[name].get(r["_id"], 0)) for r in found.get(name) or []}
        rows[name] = [{**by_key[k], "label": str(label)} for k, label in choices if k in by_key]
    blank = _complaint_row({})
    month_rows = _month_rows(params, {r["_id"]: _complaint_row(r) for r in found.get("month") or []}, blank)
    every = rows["severity"]
    total = {**_complaint_row({"count": sum(r["count"] for r in every), "answered": sum(r["answered"] for r in every),
                               "on_time": sum(r["on_time"] for r in every), "late": sum(r["late"] for r in every)},
                              sum(r["overdue"] for r in every)), "label": _l("Total"), "month": _l("Total")}
    hours = [(r["hours"], r["answered"]) for r in every if r["hours"] is not None]
    total["hours"] = one_place(sum(h * n for h, n in hours) / sum(n for _h, n in hours)) if hours else None
    figures = (Column("count", _l("Complaints"), "int"), Column("answered", _l("Answered"), "int"),
               Column("hours", _l("Average hours to answer"), "decimal"),
               Column("on_time_rate", _l("Share answered in time"), "percent"),
               Column("overdue", _l("Open past the deadline"), "int"))
    by_state = {r["_id"]: r["count"] for r in found.get("status") or []}
    states = [{"label": str(label), "count": by_state[k]} for k, label in COMPLAINT_STATUSES if k in by_state]
    stacked = (Column("on_time", _l("Answered in time"), "int"), Column("late", _l("Answered late"), "int"),
               Column("open", _l("Not answered yet"), "int"))
    return [
        Panel("severity", _l("Handling time by severity"), (Column("label", _l("Severity")), *figures),
              rows["severity"], Chart("bar", "label", ("hours",)),
              _l("Hours from receipt to the answer; the deadline comes from the severity's setting."), total),
        Panel("category", _l("Complaints by category"), (Column("label", _l("Category")), *figures, *stacked),
              rows["category"], Chart("stacked", "label", ("on_time", "late", "open")), total=total),
        Panel("month", _l("Handling time by month"), (MONTH, *figures[:4]), month_rows,
              Chart("line", "month", ("hours",), limit=121), total=total),
        Panel("status", _l("Complaints by state"), (Column("label", _l("State")), COUNT), states,
              Chart("donut", "label", ("count",)), total={"label": _l("Total"), "count": total["count"]}),
    ]


register(Dashboard(
    "complaints", _l("Complaint handling"), _l("Hours to answer and the share answered in time, per severity, "
                                               "category and month, and the complaints open past their deadline."),
    ("BRD 5(1)3", "SOC 7.3", "BRD 5(1)1"), ("Complaint",), complaints, ("period", "unit"), queries=2,
    icon="fa-exclamation-triangle"))


# ---- after-sales by kind and product: resolution time, on-time rate, satisfaction (FSS 3(6)3) -----------------------
def _score_of(field: str) -> dict:
    return {"$switch": {"branches": [{"case": {"$eq": [f"${field}", key]}, "then": score}
                                     for key, score in SCORES.items()], "default": None}}


def _ticket_group(key, shift: int) -> list:
    resolved = {"$and": [_in("status", RESOLVED), {"$gt": ["$resolved_on", None]}]}
    local = {"$subtract": ["$created_at", -shift]}
    reported = {"$subtract": [local, {"$mod": [{"$subtract": [local, EPOCH]}, DAY_MS]}]}  # the company's day
    days = {"$divide": [{"$subtract": ["$resolved_on", reported]}, DAY_MS]}
    return [{"$group": {"_id": key, "count": {"$sum": 1}, "resolved": _count_if(resolved),
                        "days": {"$avg": {"$cond": [resolved, {"$max": [0, days]}, None]}},
                        "on_time": _count_if({"$and": [resolved, {"$lte": ["$resolved_on", "$deadline"]}]}),
                        "rated": _count_if(_in("satisfaction", SCORES)),
                        "satisfied": _count_if(_in("satisfaction", SATISFIED)),
                        "score": {"$avg": _score_of("satisfaction")}}}]


def _ticket_row(raw: dict) -> dict:
    return {"key": raw.get("_id"), "count": raw.get("count", 0), "resolved": raw.get("resolved", 0),
            "days": one_place(raw.get("days")), "on_time_rate": percent(raw.get("on_time", 0), raw.get("resolved", 0)),
            "satisfied": percent(raw.get("satisfied", 0), raw.get("rated", 0)), "score": one_place(raw.get("score"))}


def after_sales(params: Params, scopes: dict) -> list[Panel]:
    """After-sales tickets reported in the period per kind, product and month: resolved, days to resolve, resolved
    by the deadline, the customers' satisfaction (one aggregation and one read of product names)."""
    shift = _shift(params)
    found = _one(AfterSalesTicket, [
        {"$match": params.where(scopes["AfterSalesTicket"], {"created_at": _moments(params)})},
        {"$facet": {"kind": _ticket_group("$kind", shift),
                    "product": [*_ticket_group("$product", shift), {"$sort": {"count": -1}}, {"$limit": TOP}],
                    "month": _ticket_group(_month_of("created_at", shift), shift),
                    "total": _ticket_group(None, shift)}}])
    kinds = {r["_id"]: _ticket_row(r) for r in found.get("kind") or []}
    kind_rows = [{**kinds[k], "label": str(label)} for k, label in TICKET_KINDS if k in kinds]
    products = [_ticket_row(r) for r in found.get("product") or []]
    names = _names(Product, [r["key"] for r in products], "code", "name")
    for row in products:
        row["label"] = names.get(row["key"], "?") if row["key"] else str(NONE_GIVEN)
    month_rows = _month_rows(params, {r["_id"]: _ticket_row(r) for r in found.get("month") or []}, _ticket_row({}))
    total = {**_ticket_row((found.get("total") or [{}])[0]), "label": _l("Total"), "month": _l("Total")}
    figures = (Column("count", _l("Tickets"), "int"), Column("resolved", _l("Resolved"), "int"),
               Column("days", _l("Average days to resolve"), "decimal"),
               Column("on_time_rate", _l("Resolved by the deadline"), "percent"),
               Column("satisfied", _l("Satisfied customers"), "percent"),
               Column("score", _l("Satisfaction (1-5)"), "decimal"))
    return [
        Panel("kind", _l("After-sales by kind"), (Column("label", _l("Kind")), *figures), kind_rows,
              Chart("bar", "label", ("count", "resolved")),
              _l("Days from the report to the resolution; the deadline is the after-sales limit of the settings, "
                 "counted from the report."),
              total),
        Panel("product", _l("After-sales by product"), (Column("label", _l("Product")), *figures), products,
              Chart("bar", "label", ("count", "resolved")), total=total),
        Panel("month", _l("After-sales by month"), (MONTH, *figures), month_rows,
              Chart("line", "month", ("count", "resolved"), limit=121), total=total),
    ]


register(Dashboard(
    "after_sales", _l("After-sales quality"), _l("After-sales tickets by kind, product and month: days to resolve, the "
                                                 "share resolved by the deadline and the customers' satisfaction."),
    ("FSS 3(6)3", "FSS 3(6)2", "DSC 3(5)1"), ("AfterSalesTicket",), after_sales, ("period", "unit"), queries=3,
    icon="fa-wrench"))


# ---- satisfaction trends (BRD 5(4)3) --------------------------------------------------------------------------------
def satisfaction(params: Params, scopes: dict) -> list[Panel]:
    """Survey scores per month and per question (one aggregation), and the share of satisfied customers among the
    complaints and after-sales tickets rated in each month (one aggregation each)."""
    shift = _shift(params)
    found = _one(SurveyResponse, [
        {"$match": params.where(scopes["SurveyResponse"], {"answered_on": _days(params)})},
        {"$facet": {"responses": [{"$group": {"_id": _month_of("answered_on"), "count": {"$sum": 1}}}],
                    "month": [{"$unwind": "$scores"}, {"$group": {"_id": _month_of("answered_on"),
                                                                  "score": {"$avg": "$scores.score"},
                                                                  "answers": {"$sum": 1}}}],
                    "question": [{"$unwind": "$scores"}, {"$group": {"_id": "$scores.question",
                                                                     "score": {"$avg": "$scores.score"},
                                                                     "answers": {"$sum": 1}}},
                                 {"$sort": {"answers": -1}}, {"$limit": TOP}]}}])
    rated = {}
    for name, document, field, scope_name in (("complaints", Complaint, "received_at", "Complaint"),
                                              ("tickets", AfterSalesTicket, "created_at", "AfterSalesTicket")):
        for raw in _all(document, [
                {"$match": params.where(scopes[scope_name], {field: _moments(params),
                                                             "satisfaction": {"$in": list(SCORES)}})},
                {"$group": {"_id": _month_of(field, shift), "rated": {"$sum": 1},
                            "satisfied": _count_if(_in("satisfaction", SATISFIED))}}]):
            rated.setdefault(raw["_id"], {})[name] = raw
    responses = {r["_id"]: r["count"] for r in found.get("responses") or []}
    per_month = {}
    for raw in found.get("month") or []:
        per_month[raw["_id"]] = {"responses": responses.get(raw["_id"], 0), "answers": raw["answers"],
                                 "score": one_place(raw["score"])}
    blank = {"responses": 0, "answers": 0, "score": None}
    survey_rows = _month_rows(params, per_month, blank)
    questions = [{"label": r["_id"], "answers": r["answers"], "score": one_place(r["score"])}
                 for r in found.get("question") or []]
    mood_rows = []
    for month in months(params.start, params.end):
        got = rated.get(month, {})
        complaints_raw, tickets_raw = got.get("complaints", {}), got.get("tickets", {})
        mood_rows.append({"month": month, "complaints": complaints_raw.get("rated", 0),
                          "complaints_satisfied": percent(complaints_raw.get("satisfied", 0),
                                                          complaints_raw.get("rated", 0)),
                          "tickets": tickets_raw.get("rated", 0),
                          "tickets_satisfied": percent(tickets_raw.get("satisfied", 0), tickets_raw.get("rated", 0))})
    score = Column("score", _l("Average score (1-5)"), "decimal")
    answers = Column("answers", _l("Answers"), "int")
    return [
        Panel("surveys", _l("Survey score by month"),
              (MONTH, Column("responses", _l("Responses"), "int"), answers, score), survey_rows,
              Chart("line", "month", ("score",), limit=121), _l("Every question is scored 1 (poor) to 5 (very good).")),
        Panel("questions", _l("Survey score by question"), (Column("label", _l("Question")), answers, score),
              questions, Chart("bar", "label", ("score",))),
        Panel("service", _l("Satisfied customers after complaints and after-sales"),
              (MONTH, Column("complaints", _l("Complaints rated"), "int"),
               Column("complaints_satisfied", _l("Satisfied after a complaint"), "percent"),
               Column("tickets", _l("Tickets rated"), "int"),
               Column("tickets_satisfied", _l("Satisfied after after-sales"), "percent")), mood_rows,
              Chart("line", "month", ("complaints_satisfied", "tickets_satisfied"), limit=121),
              _l("Satisfied: very satisfied or satisfied, among those rated.")),
    ]


register(Dashboard(
    "satisfaction", _l("Satisfaction trends"), _l("Survey scores per month and per question, and the share of "
                                                  "satisfied customers after complaints and after-sales."),
    ("BRD 5(4)3", "BRD 5(4)1", "SOC 7.3"), ("SurveyResponse", "Complaint", "AfterSalesTicket"), satisfaction,
    ("period", "unit"), queries=4, icon="fa-smile-o"))


# ---- appraisal grade distribution (BRD 6(3), DSC 4(2)) ------------------------------------------------------------
def _periods_within(start: dt.date, end: dt.date) -> dict:
    """The appraisal periods (month, quarter, year, as written on an appraisal) that end inside [start, end].

    >>> found = _periods_within(dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    >>> found["month"][:2], found["quarter"], found["year"]
    (['2026-01', '2026-02'], ['2026-Q1', '2026-Q2'], [])
    """
    ends = {"month": [], "quarter": [], "year": []}
    for month in months(start, end):
        year, number = int(month[:4]), int(month[5:])
        last = (dt.date(year + (number == 12), number % 12 + 1, 1) - dt.timedelta(days=1))
        if last > end:
            continue
        ends["month"].append(month)
        if number % 3 == 0:
            ends["quarter"].append(f"{year}-Q{number // 3}")
        if number == 12:
            ends["year"].append(str(year))
    return ends


def appraisal(params: Params, scopes: dict) -> list[Panel]:
    """Final grades of the appraisals whose period ends in the chosen period (reviewed onwards), against the target
    distribution of the settings (portal.appraisal_boards.distribution), and per unit: one aggregation and one read
    of the targets."""
    periods = _periods_within(params.start, params.end)
    found = _all(Appraisal, [
        {"$match": params.where(scopes["Appraisal"], {
            "state": {"$in": list(appraisal_boards.REVIEWED)}, "grade": {"$in": list(GRADES)},
            "$or": [{"period_kind": kind, "period": {"$in": names}} for kind, names in periods.items()]})},
        {"$group": {"_id": {"unit": "$owner_unit", "grade": "$grade"}, "count": {"$sum": 1}}}])
    counts = dict.fromkeys(GRADES, 0)
    units: dict = {}
    for raw in found:
        grade, unit = raw["_id"]["grade"], raw["_id"].get("unit")
        counts[grade] += raw["count"]
        row = units.setdefault(unit, {"label": params.unit_names.get(unit, "?"), **dict.fromkeys(GRADES, 0)})
        row[grade] += raw["count"]
    result = appraisal_boards.distribution([g for g in GRADES for _ in range(counts[g])],
                                           appraisal_boards.target_shares())
    grade_rows = [{**r, "label": r["grade"]} for r in result["rows"]]
    unit_rows = sorted(units.values(), key=lambda r: r["label"])
    for row in unit_rows:
        row["count"] = sum(row[g] for g in GRADES)
    graded = result["graded"]
    return [
        Panel("grades", _l("Grade distribution against the target"),
              (Column("label", _l("Rating")), Column("count", _l("Appraisals"), "int"),
               Column("percent", _l("Share"), "percent"), Column("target", _l("Target share"), "percent"),
               Column("target_count", _l("Target count"), "decimal"), Column("gap", _l("Difference"), "decimal")),
              grade_rows, Chart("bar", "label", ("percent", "target")),
              _l("Appraisals whose period ends in the chosen period, from the department review on."),
              {"label": _l("Total"), "count": graded, "percent": percent(graded, graded) if graded else None}),
        Panel("units", _l("Grades per unit"),
              (Column("label", _l("Org unit")), *(Column(g, g, "int") for g in GRADES),
               Column("count", _l("Appraisals"), "int")),
              unit_rows, Chart("stacked", "label", tuple(GRADES)),
              total={"label": _l("Total"), **counts, "count": graded}),
    ]


register(Dashboard(
    "appraisal", _l("Appraisal grades"), _l("The distribution of final grades against the target distribution, and "
                                            "the grades of each unit."),
    ("BRD 6(3)", "DSC 4(2)1", "SOC 5.1"), ("Appraisal",), appraisal, ("period", "unit"), queries=3,
    icon="fa-line-chart"))


# ---- training completion (BRD 7(3-4)) ---------------------------------------------------------------------------
def _session_group(key) -> list:
    held = {"$eq": ["$status", "held"]}
    attended = {"$size": {"$filter": {"input": {"$ifNull": ["$attendance", []]}, "as": "mark",
                                      "cond": {"$in": ["$$mark.status", list(ATTENDED)]}}}}
    return [{"$group": {"_id": key, "sessions": {"$sum": 1}, "held": _count_if(held),
                        "cancelled": _count_if({"$eq": ["$status", "cancelled"]}),
                        "participants": {"$sum": {"$cond": [held, {"$size": {"$ifNull": ["$participants", []]}}, 0]}},
                        "attended": {"$sum": {"$cond": [held, attended, 0]}}}}]


def _session_row(raw: dict) -> dict:
    return {"key": raw.get("_id"), **{k: raw.get(k, 0) for k in ("sessions", "held", "cancelled", "participants",
                                                                 "attended")},
            "completion": percent(raw.get("attended", 0), raw.get("participants", 0))}


def training(params: Params, scopes: dict) -> list[Panel]:
    """Training sessions starting in the period per unit and month: held, cancelled, trainees and how many of them
    attended (one aggregation), and the assessments of the period by result (one aggregation)."""
    found = _one(TrainingSession, [
        {"$match": params.where(scopes["TrainingSession"], {"start": _moments(params)})},
        {"$facet": {"unit": _session_group("$owner_unit"), "month": _session_group(_month_of("start", _shift(params))),
                    "total": _session_group(None)}}])
    results = _all(TrainingAssessment, [
        {"$match": params.where(scopes["TrainingAssessment"], {"assessed_on": _days(params)})},
        {"$group": {"_id": "$status", "count": {"$sum": 1}}}])
    unit_rows = sorted(({**_session_row(r), "label": params.unit_names.get(r["_id"], "?")}
                        for r in found.get("unit") or []), key=lambda r: r["label"])
    month_rows = _month_rows(params, {r["_id"]: _session_row(r) for r in found.get("month") or []}, _session_row({}))
    total = {**_session_row((found.get("total") or [{}])[0]), "label": _l("Total"), "month": _l("Total")}
    assessed = sum(r["count"] for r in results)
    by_status = {r["_id"]: r["count"] for r in results}
    result_rows = [{"label": str(label), "count": by_status[k], "share": percent(by_status[k], assessed)}
                   for k, label in ASSESSMENT_STATUSES if k in by_status]
    figures = (Column("sessions", _l("Sessions"), "int"), Column("held", _l("Sessions held"), "int"),
               Column("cancelled", _l("Cancelled"), "int"), Column("participants", _l("Trainees"), "int"),
               Column("attended", _l("Attended"), "int"), Column("completion", _l("Completion"), "percent"))
    return [
        Panel("unit", _l("Training completion per unit"), (Column("label", _l("Org unit")), *figures), unit_rows,
              Chart("bar", "label", ("completion",)),
              _l("Completion: trainees of the sessions held who attended (present or late)."), total),
        Panel("month", _l("Training per month"), (MONTH, *figures), month_rows,
              Chart("line", "month", ("participants", "attended"), limit=121), total=total),
        Panel("results", _l("Assessment results"), (Column("label", _l("Result")), COUNT, SHARE), result_rows,
              Chart("donut", "label", ("count",)), _l("Every attempt assessed in the period, retakes included."),
              {"label": _l("Total"), "count": assessed, "share": percent(assessed, assessed)}),
    ]


register(Dashboard(
    "training", _l("Training completion"), _l("Sessions held and cancelled, trainees and attendance per unit and "
                                              "month, and the results of the assessments."),
    ("BRD 7(4)1", "BRD 7(3)1", "MIC 培訓管理/培訓記錄與反饋/1"), ("TrainingSession", "TrainingAssessment"), training,
    ("period", "unit"), queries=3, icon="fa-graduation-cap"))
