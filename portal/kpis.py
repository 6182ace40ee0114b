"""Indicator actuals proposed from the portal's own ledgers (issue 8; BRD 6(2)2-3, FSS 6(1)1-2, FSS 6(1)4).

`propose(source, employee_ids, start, end)` reads one ledger for every employee at once: one aggregation per
source whatever the number of employees (sales completion: two, the orders and the plans). `records(...)` lists
the rows behind one employee's figure, so the appraiser sees what the proposal was computed from.

The period is `start` to `end` inclusive, in the company's calendar: a date field counts from `start` to `end`, a
moment (stored as UTC) from `start` 00:00 to the end of `end` in the company's time zone. Money is CNY as Decimal
with two places (the ledgers store whole fen); a rate is a percentage with two places, rounded half up. A rate with
nothing to rate (nothing due, nothing planned) proposes nothing, so the line stays manual; a count or an amount
proposes 0 when the ledger has no row. `manual`, `peer_rating` (the 360 answers, averaged by portal.appraisal) and
unknown sources propose nothing. Bases are language-neutral figures ("3 / 4", "90000.00 / 100000.00").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bson import ObjectId

from models.common import CENT, choice_label, from_fen, period_bounds, utcnow
from models.customers import SATISFACTION, Complaint, Customer, CustomerVisit, Negotiation, ReturnVisit
from models.org import OrgUnit
from models.receivables import Receivable
from models.sales import SOLD_STAGES, Contract, SalesOrder, SalesPlan
from models.training import TrainingAssessment, TrainingSession
from portal import settings
from portal.settings import from_local

SIGNED = ("signed", "executing", "completed", "terminated")  # contracts that were signed, whatever came after
SATISFIED = ("very_satisfied", "satisfied")
COARSER = {"month": 0, "quarter": 1, "year": 2}


@dataclass(frozen=True)
class Proposal:
    value: Decimal  # the actual: a percentage, a count or CNY, per source
    basis: str  # language-neutral figures, e.g. "90000.00 / 100000.00" or "3 / 4"


@dataclass(frozen=True)
class Source:
    """How one indicator source reads its ledger: all employees at once, and one employee's rows."""

    propose: Callable[[list, dt.date, dt.date], dict]
    records: Callable[[ObjectId, dt.date, dt.date, int], list[dict]]


# ---- helpers ------------------------------------------------------------------------------------------------
def _day(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day)  # a DateField as MongoDB keeps it


def _days(start: dt.date, end: dt.date) -> dict:
    """A date field within [start, end]."""
    return {"$gte": _day(start), "$lte": _day(end)}


def _moments(start: dt.date, end: dt.date) -> dict:
    """A stored (UTC) moment within the company's days `start` to `end`."""
    return {"$gte": from_local(_day(start)), "$lt": from_local(_day(end + dt.timedelta(days=1)))}


def _ids(employee_ids: list) -> dict:
    """The ids as ObjectIds, each mapped to the value the caller gave (the keys of the answer)."""
    out = {}
    for given in employee_ids or []:
        value = getattr(given, "pk", given)  # an Employee, an ObjectId or its text
        if isinstance(value, ObjectId):
            out[value] = given
        elif isinstance(value, str) and ObjectId.is_valid(value):
            out[ObjectId(value)] = given
    return out


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


def _yuan(fen: int | None) -> str:
    return f"{from_fen(fen or 0):.2f}"


def _label_yuan(fen: int | None) -> str:
    return f"{from_fen(fen or 0):,.2f}"


def _date(value: Any) -> str:
    return f"{value:%Y-%m-%d}" if isinstance(value, dt.date) else "—"


def _local_date(value: Any) -> str:
    return f"{settings.to_local(value):%Y-%m-%d}" if isinstance(value, dt.datetime) else "—"


def _flag(condition: dict) -> dict:
    return {"$sum": {"$cond": [condition, 1, 0]}}


def _group(document: Any, match: dict, person: str, sums: dict) -> dict:
    """One aggregation: per employee named in `person`, the given sums."""
    rows = document._get_collection().aggregate([{"$match": match}, {"$group": {"_id": f"${person}", **sums}}])
    return {row["_id"]: row for row in rows}


def _rows(document: Any, match: dict, newest: str, fields: dict, limit: int) -> list[dict]:
    return list(document._get_collection().find(match, fields).sort([(newest, -1), ("_id", -1)]).limit(limit))


def _row(raw: dict, label: str, endpoint: str) -> dict:
    return {"label": label[:200], "endpoint": endpoint, "pk": str(raw["_id"])}


def _names(document: Any, ids: Iterable, field: str = "name") -> dict:
    ids = list({i for i in ids if i is not None})
    return {r["_id"]: r.get(field, "") for r in document._get_collection().find({"_id": {"$in": ids}}, {field: 1})} \
        if ids else {}


def _rates(document: Any, person: str, match: Callable, done: dict, employee_ids: list, start: dt.date,
           end: dt.date) -> dict:
    """A percentage per employee with something to rate: the records of `match` meeting `done` out of all of
    them (one aggregation); the basis is "done / all"."""
    ids = _ids(employee_ids)
    if not ids:
        return {}
    groups = _group(document, match(ids, start, end), person, {"done": _flag(done), "n": {"$sum": 1}})
    out = {}
    for key, given in ids.items():
        row = groups.get(key)
        if row and row["n"]:
            out[given] = Proposal(_percent(row["done"], row["n"]), f"{row['done']} / {row['n']}")
    return out


def _counts(document: Any, person: str, match: Callable, employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """A count per employee of the records of `match` (one aggregation), 0 for those the ledger has none of."""
    ids = _ids(employee_ids)
    groups = _group(document, match(ids, start, end), person, {"n": {"$sum": 1}}) if ids else {}
    out = {}
    for key, given in ids.items():
        number = (groups.get(key) or {}).get("n", 0)
        out[given] = Proposal(Decimal(number), str(number))
    return out


# ---- orders paid (BRD 6(2)2, FSS 6(1)1) -----------------------------------------------------------------------
def _paid(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"salesperson": {"$in": list(ids)}, "stage": {"$in": list(SOLD_STAGES)}, "paid_on": _days(start, end)}


def _paid_orders(ids: dict, start: dt.date, end: dt.date) -> dict:
    return _group(SalesOrder, _paid(ids, start, end), "salesperson",
                  {"fen": {"$sum": "$total"}, "cost": {"$sum": "$cost_total"}, "n": {"$sum": 1}})


def sales_amount(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """The totals of the employee's orders paid in the period (`paid_on` in [start, end]; an order counts once,
    in the period it was paid in full), CNY; basis "amount (orders)". No paid order: 0."""
    ids = _ids(employee_ids)
    groups = _paid_orders(ids, start, end) if ids else {}
    out = {}
    for key, given in ids.items():
        row = groups.get(key) or {"fen": 0, "n": 0}
        out[given] = Proposal(from_fen(row["fen"]), f"{_yuan(row['fen'])} ({row['n']})")
    return out


def gross_profit(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Total less cost (the unit costs on the order lines) of the employee's orders paid in the period, CNY;
    basis "total - cost (orders)". No paid order: 0."""
    ids = _ids(employee_ids)
    groups = _paid_orders(ids, start, end) if ids else {}
    out = {}
    for key, given in ids.items():
        row = groups.get(key) or {"fen": 0, "cost": 0, "n": 0}
        out[given] = Proposal(from_fen(row["fen"] - row["cost"]),
                              f"{_yuan(row['fen'])} - {_yuan(row['cost'])} ({row['n']})")
    return out


def _order_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int, profit: bool = False) -> list:
    rows = _rows(SalesOrder, _paid([employee_id], start, end), "paid_on",
                 {"number": 1, "total": 1, "cost_total": 1}, limit)
    if profit:
        return [_row(r, f"{r.get('number') or ''} · {_label_yuan((r.get('total') or 0) - (r.get('cost_total') or 0))}"
                        f" ({_label_yuan(r.get('total'))} - {_label_yuan(r.get('cost_total'))})", "SalesOrderView.show")
                for r in rows]
    return [_row(r, f"{r.get('number') or ''} · {_label_yuan(r.get('total'))}", "SalesOrderView.show") for r in rows]


def plan_periods(start: dt.date, end: dt.date) -> list[str]:
    """Every month, quarter and year written as a plan's period that lies wholly inside [start, end]."""
    found = []
    for year in range(start.year, end.year + 1):
        names = [("year", f"{year}")] + [("quarter", f"{year}-Q{q}") for q in range(1, 5)] + \
            [("month", f"{year}-{m:02d}") for m in range(1, 13)]
        for kind, name in names:
            bounds = period_bounds(kind, name)
            if bounds is not None and start <= bounds[0] and bounds[1] <= end:
                found.append(name)
    return found


def _allocated(ids: Iterable, start: dt.date, end: dt.date) -> list:
    periods = plan_periods(start, end)
    if not periods:
        return []
    return list(SalesPlan._get_collection().aggregate([
        {"$match": {"status": "approved", "period": {"$in": periods}, "allocations.salesperson": {"$in": list(ids)}}},
        {"$unwind": "$allocations"},
        {"$match": {"allocations.salesperson": {"$in": list(ids)}}},
        {"$group": {"_id": {"p": "$allocations.salesperson", "k": "$period_kind", "period": "$period"},
                    "fen": {"$sum": "$allocations.amount_target"}}}]))


def _covers(kind: str, periods: set, start: dt.date, end: dt.date) -> bool:
    """Whether plans of `kind` for `periods` cover every day of [start, end] (they lie inside it already)."""
    bounds = sorted(b for b in (period_bounds(kind, p) for p in periods) if b is not None)
    day = start
    for first, last in bounds:
        if first != day:
            return False
        day = last + dt.timedelta(days=1)
    return bool(bounds) and day == end + dt.timedelta(days=1)


def _targets(rows: list, start: dt.date, end: dt.date) -> dict:
    """Per employee, the allocations of the coarsest plan kind whose plans cover the whole period: an annual plan
    and its monthly breakdown are not added up, and two monthly plans of a quarter are not its target."""
    found: dict = {}
    for row in rows:
        person, kind = row["_id"]["p"], row["_id"].get("k") or "month"
        kinds = found.setdefault(person, {})
        periods, fen = kinds.get(kind, (set(), 0))
        kinds[kind] = (periods | {row["_id"]["period"]}, fen + row["fen"])
    out = {}
    for person, kinds in found.items():
        covering = [(COARSER.get(kind, 0), fen) for kind, (periods, fen) in kinds.items()
                    if _covers(kind, periods, start, end)]
        if covering:
            out[person] = max(covering)[1]
    return out


def sales_completion(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Orders paid in the period (as sales_amount) against the employee's allocation (`amount_target` of the
    allocation naming them) in the approved sales plans whose period lies wholly inside [start, end], in percent.
    When plans of several kinds qualify (an annual plan and its months), the coarsest kind is used; plans that
    leave part of the period uncovered (two monthly plans of a quarter) are no target. No allocation (or an
    allocation of 0), or no plan kind covering the whole period: no proposal. Two aggregations: the orders and the
    plans."""
    ids = _ids(employee_ids)
    if not ids:
        return {}
    targets = _targets(_allocated(ids, start, end), start, end)
    sold = _paid_orders(ids, start, end)
    out = {}
    for key, given in ids.items():
        target = targets.get(key) or 0
        if target:
            fen = (sold.get(key) or {}).get("fen", 0)
            out[given] = Proposal(_percent(fen, target), f"{_yuan(fen)} / {_yuan(target)}")
    return out


def _completion_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    periods = plan_periods(start, end)
    plans = _rows(SalesPlan, {"status": "approved", "period": {"$in": periods},
                              "allocations.salesperson": employee_id},
                  "period", {"period": 1, "period_kind": 1, "owner_unit": 1, "allocations": 1}, limit) \
        if periods else []
    if plans:
        coarsest = max(COARSER.get(p.get("period_kind") or "month", 0) for p in plans)
        plans = [p for p in plans if COARSER.get(p.get("period_kind") or "month", 0) == coarsest]
    units = _names(OrgUnit, [p.get("owner_unit") for p in plans])
    out = []
    for plan in plans:
        fen = sum(line.get("amount_target") or 0 for line in plan.get("allocations") or []
                  if line.get("salesperson") == employee_id)
        out.append(_row(plan, f"{plan.get('period', '')} {units.get(plan.get('owner_unit'), '')} · "
                              f"{_label_yuan(fen)}", "SalesPlanView.show"))
    left = limit - len(out)
    return out + _order_rows(employee_id, start, end, left) if left > 0 else out


# ---- customers, visits, negotiations (BRD 6(2)2, FSS 6(1)1-2) --------------------------------------------------
def _new_customers(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"owner": {"$in": list(ids)}, "created_at": _moments(start, end)}


def new_customers(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Customer files the employee owns that were created in the period (`created_at`, company time)."""
    return _counts(Customer, "owner", _new_customers, employee_ids, start, end)


def _new_customer_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(Customer, _new_customers([employee_id], start, end), "created_at", {"code": 1, "name": 1}, limit)
    return [_row(r, f"{r.get('code') or ''} {r.get('name', '')}".strip(), "CustomerView.show") for r in rows]


def _visits(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"owner": {"$in": list(ids)}, "status": "done", "planned_at": _moments(start, end)}


def visit_count(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Customer visits the employee is responsible for, done, at a time (`planned_at`) within the period."""
    return _counts(CustomerVisit, "owner", _visits, employee_ids, start, end)


def _visit_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(CustomerVisit, _visits([employee_id], start, end), "planned_at", {"customer": 1, "planned_at": 1},
                 limit)
    names = _names(Customer, [r.get("customer") for r in rows])
    return [_row(r, f"{_local_date(r.get('planned_at'))} {names.get(r.get('customer'), '')}", "CustomerVisitView.show")
            for r in rows]


def _negotiations(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"owner": {"$in": list(ids)}, "held_on": _days(start, end)}


def negotiation_count(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Negotiations the employee was responsible for, held (`held_on`) in the period."""
    return _counts(Negotiation, "owner", _negotiations, employee_ids, start, end)


def _negotiation_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(Negotiation, _negotiations([employee_id], start, end), "held_on", {"customer": 1, "held_on": 1},
                 limit)
    names = _names(Customer, [r.get("customer") for r in rows])
    return [_row(r, f"{_date(r.get('held_on'))} {names.get(r.get('customer'), '')}", "NegotiationView.show")
            for r in rows]


# ---- contracts and receivables (BRD 6(2)2, FSS 6(1)2) ----------------------------------------------------------
def _contracts(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"owner": {"$in": list(ids)}, "status": {"$in": list(SIGNED)}, "end": _days(start, end)}


def contract_execution(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Of the employee's signed contracts whose `end` falls in the period (signed, executing, completed or
    terminated), those completed on or before their end (`closed_on` <= `end`), in percent; one still executing
    or terminated counts as not executed on time. None ending in the period: no proposal."""
    on_time = {"$and": [{"$eq": ["$status", "completed"]}, {"$lte": ["$closed_on", "$end"]}]}
    return _rates(Contract, "owner", _contracts, on_time, employee_ids, start, end)


def _contract_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(Contract, _contracts([employee_id], start, end), "end", {"number": 1, "end": 1, "closed_on": 1,
                                                                           "status": 1}, limit)
    return [_row(r, f"{r.get('number') or ''} · {_date(r.get('end'))} → "
                    f"{_date(r.get('closed_on')) if r.get('status') == 'completed' else '—'}", "ContractView.show")
            for r in rows]


def _receivables(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"owner": {"$in": list(ids)}, "due_date": _days(start, end)}


def receivable_recovery(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """What has been received so far (`received`) against the amounts of the employee's receivables that fell due
    in the period (`due_date` in [start, end]; open, settled or written off: a written-off debt was not
    recovered), in percent; basis "received / due" in CNY. Nothing due in the period: no proposal."""
    ids = _ids(employee_ids)
    if not ids:
        return {}
    groups = _group(Receivable, _receivables(ids, start, end), "owner",
                    {"received": {"$sum": "$received"}, "due": {"$sum": "$amount"}})
    out = {}
    for key, given in ids.items():
        row = groups.get(key)
        if row and row["due"]:
            basis = f"{_yuan(row['received'])} / {_yuan(row['due'])}"
            out[given] = Proposal(_percent(row["received"], row["due"]), basis)
    return out


def _receivable_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(Receivable, _receivables([employee_id], start, end), "due_date",
                 {"number": 1, "amount": 1, "received": 1}, limit)
    return [_row(r, f"{r.get('number') or ''} · {_label_yuan(r.get('received'))} / {_label_yuan(r.get('amount'))}",
                 "ReceivableView.show") for r in rows]


# ---- customer service (BRD 6(2)3) -------------------------------------------------------------------------------
def _complaints_due(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    window = _moments(start, end)
    overdue = {"$gte": window["$gte"], "$lt": min(window["$lt"], utcnow())}
    return {"handler": {"$in": list(ids)},
            "$or": [{"answered_at": window}, {"answered_at": None, "due_at": overdue}]}


def complaint_timeliness(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Of the complaints the employee handles that were answered in the period (`answered_at`, company time) or
    are still unanswered although their deadline (`due_at`) passed within it, those answered in time (`on_time`,
    set when answered), in percent: a complaint left unanswered counts against the handler. None: no proposal."""
    return _rates(Complaint, "handler", _complaints_due, {"$eq": ["$on_time", True]}, employee_ids, start, end)


def _complaint_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(Complaint, _complaints_due([employee_id], start, end), "due_at",
                 {"number": 1, "answered_at": 1, "on_time": 1}, limit)
    return [_row(r, f"{r.get('number') or ''} · {_local_date(r.get('answered_at'))} "
                    f"{'✓' if r.get('on_time') is True else '✗'}", "ComplaintView.show") for r in rows]


def _rated(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"handler": {"$in": list(ids)}, "closed_at": _moments(start, end),
            "satisfaction": {"$in": [key for key, _label in SATISFACTION]}}


def satisfaction(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Of the complaints the employee handled that were closed in the period (`closed_at`, when the customer's
    satisfaction is recorded), those rated satisfied or very satisfied, in percent. None rated: no proposal."""
    happy = {"$or": [{"$eq": ["$satisfaction", key]} for key in SATISFIED]}
    return _rates(Complaint, "handler", _rated, happy, employee_ids, start, end)


def _satisfaction_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(Complaint, _rated([employee_id], start, end), "closed_at", {"number": 1, "satisfaction": 1}, limit)
    return [_row(r, f"{r.get('number') or ''} · {choice_label(SATISFACTION, r.get('satisfaction'))}",
                 "ComplaintView.show") for r in rows]


def _return_visits(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"owner": {"$in": list(ids)}, "planned_on": _days(start, end), "status": {"$ne": "cancelled"}}


def return_visit_completion(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Of the employee's return visits planned for the period (`planned_on`; cancelled ones left out, as in the
    department's rate of portal.customers.return_visit_rate), those done, in percent. None planned: no proposal."""
    done = {"$eq": ["$status", "done"]}
    return _rates(ReturnVisit, "owner", _return_visits, done, employee_ids, start, end)


def _return_visit_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(ReturnVisit, _return_visits([employee_id], start, end), "planned_on",
                 {"customer": 1, "planned_on": 1, "done_on": 1, "status": 1}, limit)
    names = _names(Customer, [r.get("customer") for r in rows])
    return [_row(r, f"{_date(r.get('planned_on'))} {names.get(r.get('customer'), '')} → "
                    f"{_date(r.get('done_on')) if r.get('status') == 'done' else '—'}", "ReturnVisitView.show")
            for r in rows]


# ---- training (FSS 6(1)4) ---------------------------------------------------------------------------------------
def _assessments(ids: Iterable, start: dt.date, end: dt.date) -> dict:
    return {"employee": {"$in": list(ids)}, "status": {"$in": ["passed", "failed"]}, "assessed_on": _days(start, end)}


def training_pass_rate(employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """Of the employee's assessment attempts scored in the period (`assessed_on`; first attempts and retakes
    alike, open retakes left out), those passed, in percent: a pass at the retake after a fail gives 1 / 2.
    Nothing scored: no proposal."""
    passed = {"$eq": ["$status", "passed"]}
    return _rates(TrainingAssessment, "employee", _assessments, passed, employee_ids, start, end)


def _assessment_rows(employee_id: ObjectId, start: dt.date, end: dt.date, limit: int) -> list:
    rows = _rows(TrainingAssessment, _assessments([employee_id], start, end), "assessed_on",
                 {"session": 1, "attempt": 1, "score": 1, "status": 1}, limit)
    titles = _names(TrainingSession, [r.get("session") for r in rows], "title")
    return [_row(r, f"{titles.get(r.get('session'), '')} #{r.get('attempt') or ''} · {r.get('score', '')} "
                    f"{'✓' if r.get('status') == 'passed' else '✗'}", "TrainingAssessmentView.show") for r in rows]


# ---- the table (keys of models.appraisal.KPI_SOURCES) --------------------------------------------------------------
SOURCES: dict[str, Source | None] = {
    "manual": None,
    "sales_completion": Source(sales_completion, _completion_rows),
    "sales_amount": Source(sales_amount, _order_rows),
    "gross_profit": Source(gross_profit, lambda e, s, t, n: _order_rows(e, s, t, n, profit=True)),
    "new_customers": Source(new_customers, _new_customer_rows),
    "visit_count": Source(visit_count, _visit_rows),
    "negotiation_count": Source(negotiation_count, _negotiation_rows),
    "contract_execution": Source(contract_execution, _contract_rows),
    "receivable_recovery": Source(receivable_recovery, _receivable_rows),
    "complaint_timeliness": Source(complaint_timeliness, _complaint_rows),
    "return_visit_completion": Source(return_visit_completion, _return_visit_rows),
    "satisfaction": Source(satisfaction, _satisfaction_rows),
    "training_pass_rate": Source(training_pass_rate, _assessment_rows),
    "peer_rating": None,  # the 360 answers, averaged by portal.appraisal.ratings_360
}


def propose(source: str, employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """{employee id: Proposal} for the employees the ledger of `source` has a figure for in [start, end]; the
    same number of queries for one employee as for a thousand. Ids are returned as they were given."""
    found = SOURCES.get(source)
    if found is None or not employee_ids or start is None or end is None or end < start:
        return {}
    return found.propose(list(employee_ids), start, end)


def records(source: str, employee_id: Any, start: dt.date, end: dt.date, limit: int = 50) -> list[dict]:
    """The rows behind one employee's proposal, newest first, at most `limit`: [{"label", "endpoint", "pk"}], the
    endpoint being the FAB show page of the record (sales completion: the plans, then the orders)."""
    found = SOURCES.get(source)
    key = next(iter(_ids([employee_id])), None)
    if found is None or key is None or start is None or end is None or end < start or limit <= 0:
        return []
    return found.records(key, start, end, min(int(limit), 500))
