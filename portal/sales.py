"""Sales rules (DOMAIN 3.3): the contract's life after Legal's review, the order's way from review to closing,
the renewal and progress-report lists, the sales analysis and the area's reminders. No Flask here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from models.common import choice_label, from_fen, money, utcnow
from models.org import Employee
from models.sales import (
    CONTRACT_STATUSES,
    LIVE_CONTRACT,
    ORDER_STAGES,
    SOLD_STAGES,
    ClientProgressReport,
    Contract,
    SalesOrder,
    SalesPlan,
    TrackingNote,
)
from portal import approvals, audit, customers, notify, products, reminders, settings
from portal.approvals import Actor, Refused

CONTRACT_PATH = "/contracts/show/{id}"
REPORT_DUE_AHEAD = dt.timedelta(days=7)

approvals.register(SalesPlan)
def refresh_credit(doc) -> None:
    """Whether this contract or order takes its customer over the credit limit (DSC 6(2)3): what the customer owes
    now plus this document's amount (an order that is already counted is not counted twice)."""
    from portal import receivables

    if doc.customer is None:
        return
    is_order = isinstance(doc, SalesOrder)
    if is_order and doc.editable:
        doc.price_lines()  # the total as it will be saved
    check = receivables.credit_check(doc.customer.pk, doc.total if is_order else doc.amount,
                                     exclude_order=doc.pk if is_order else None)
    doc.over_credit_limit = bool(check and check["over"])
    doc.credit_exposure = check["exposure"] if check else None


def _persist_credit(doc) -> None:
    """Before a submit: the check as of now, stored so that the route sees it."""
    refresh_credit(doc)
    type(doc)._get_collection().update_one({"_id": doc.pk}, {"$set": {
        "over_credit_limit": doc.over_credit_limit,
        "credit_exposure": None if doc.credit_exposure is None else int(doc.credit_exposure * 100)}})


approvals.register(Contract, all_roles={"Legal"}, prepare=_persist_credit)
approvals.register(SalesOrder, prepare=_persist_credit)



def _yuan(fen) -> str:
    return f"¥{from_fen(fen or 0):,.2f}"


customers.TIMELINE.extend([
    customers.Source(Contract, _l("Contract"), "start", "fa-file-text-o",
                     lambda r: f"{r.get('number') or ''} {(r.get('subject') or '')[:70]} {_yuan(r.get('amount'))}",
                     lambda r: choice_label(CONTRACT_STATUSES, r.get("status"))),
    customers.Source(SalesOrder, _l("Order"), "ordered_on", "fa-shopping-cart",
                     lambda r: f"{r.get('number') or ''} {_yuan(r.get('total'))}",
                     lambda r: choice_label(ORDER_STAGES, r.get("stage"))),
])


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time())


# ---- contracts (SOC 3.3-3.5, DSC 3(3), FSS 3(4)4) ------------------------------------------------------------
def _contract_step(contract_id, action: str, actor: Actor, now, extra: dict, refusal) -> dict:
    sources, target = approvals.DOC_TRANSITIONS[action]
    _before, after = audit.guarded_change(Contract, contract_id, "status", sorted(sources), {"status": target, **extra},
                                          actor.username, now)
    if after is None:
        raise Refused(refusal)
    return after


def sign(contract_id, actor: Actor, signed_on: dt.date | None, now: dt.datetime | None = None,
         signed_file=None) -> dict:
    """Only a contract Legal has approved can be signed (SOC 3.3, DSC 3(3)2); on signing, operations and finance
    get its details to follow it up (DSC 3(3)3)."""
    now = now or utcnow()
    today = settings.local_today(now)
    if signed_on is None:
        raise Refused(_l("Give the date of signing."))
    if signed_on > today:
        raise Refused(_l("The date of signing cannot be in the future."))
    extra = {"signed_on": _day(signed_on), **({"signed_file": signed_file} if signed_file is not None else {})}
    after = _contract_step(contract_id, "sign", actor, now, extra,
                           _l("Only a contract approved by Legal can be signed."))
    finance = approvals.role_holders("Finance")
    operations = [e["_id"] for e in Employee._get_collection().find(
        {"staff_kind": "operations", "status": {"$ne": "left"}}, {"_id": 1}).limit(200)]
    notify.post([([*finance, *operations, after.get("owner"), after.get("team_leader")], "contract_signed",
                  {"title": f"{after.get('number')} {after.get('subject', '')[:60]}", "date": f"{signed_on:%Y-%m-%d}"},
                  CONTRACT_PATH.format(id=contract_id))], now)
    return after


def start_execution(contract_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    return _contract_step(contract_id, "execute", actor, now or utcnow(), {},
                          _l("Only a signed contract can start executing."))


def complete(contract_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    return _contract_step(contract_id, "complete", actor, now, {"closed_on": _day(settings.local_today(now))},
                          _l("Only an executing contract can be completed."))


def terminate(contract_id, actor: Actor, reason: str, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Give the reason for terminating the contract."))
    return _contract_step(contract_id, "terminate", actor, now,
                          {"termination_reason": reason[:2000], "closed_on": _day(settings.local_today(now))},
                          _l("Only a signed or executing contract can be terminated."))


def renewal_query(today: dt.date) -> dict:
    """Signed or executing contracts that end within the renewal window, or already ended (SOC 3.5)."""
    return {"status": {"$in": sorted(LIVE_CONTRACT)},
            "end": {"$lte": _day(today + dt.timedelta(days=settings.get("contract_renewal_days")))}}


def reports_due(today: dt.date, scope: dict | None = None, limit: int = 200) -> list[dict]:
    """Live outsourcing contracts whose next progress report to the client falls due within a week (SOC 3.4):
    due = the end of the last reported period (or the start) plus the contract's reporting interval."""
    where = {"kind": "outsourcing", "status": {"$in": sorted(LIVE_CONTRACT)}, **(scope or {})}
    contracts = list(Contract._get_collection().find(where, {"number": 1, "subject": 1, "customer": 1, "start": 1,
                                                             "report_every_days": 1, "team_leader": 1,
                                                             "report_reminded_for": 1}).limit(2000))
    last = {row["_id"]: row["last"] for row in ClientProgressReport._get_collection().aggregate([
        {"$match": {"contract": {"$in": [c["_id"] for c in contracts]}}},
        {"$group": {"_id": "$contract", "last": {"$max": "$period_end"}}}])} if contracts else {}
    out = []
    for raw in contracts:
        since = last.get(raw["_id"]) or raw.get("start")
        if since is None:
            continue
        due = since + dt.timedelta(days=raw.get("report_every_days") or 30)
        if due <= _day(today) + REPORT_DUE_AHEAD:
            out.append({**raw, "last": last.get(raw["_id"]), "due": due.date(), "late": due.date() < today})
    out.sort(key=lambda r: r["due"])
    return out[:limit]


# ---- orders (BRD 4(3), DSC 3(4), MIC 產品定價) --------------------------------------------------------------
def _order(order_id) -> dict:
    raw = SalesOrder._get_collection().find_one({"_id": order_id})
    if raw is None:
        raise Refused(_l("This order no longer exists."))
    return raw


def check_order_edit(item) -> None:
    """Only an order pending review is edited (Admin too: the stock reserved follows the lines); new lines of an
    order whose price was approved need a new approval."""
    from mongoengine import ValidationError

    stored = SalesOrder._get_collection().find_one({"_id": item.pk}, {"stage": 1, "status": 1}) or {}
    if stored.get("stage") != "pending_review":
        raise ValidationError(str(_l("A confirmed order can no longer be edited; add a tracking note instead.")))
    if stored.get("status") == "approved":
        item.status = "draft"  # audited as a status change


def confirm(order_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The order is checked and confirmed (DSC 3(4)1): a price below the seller's price list must be approved
    first (MIC 產品定價/2), and the stock is reserved, all or nothing (DSC 3(4)2)."""
    now = now or utcnow()
    raw = _order(order_id)
    if raw.get("stage") != "pending_review":
        raise Refused(_l("Only an order pending review can be confirmed."))
    current = SalesOrder._from_son(dict(raw))
    current.price_lines()  # today's price list, not the one of when the order was typed
    refresh_credit(current)  # and what the customer owes today
    below = [line for line in current.lines if line.below_floor]
    status = raw.get("status")
    if status == "pending":
        raise Refused(_l("The order is waiting for the department head's approval."))
    if below and status != "approved":
        raise Refused(_l("%(n)s line(s) are below the price list: submit the order for the department head's "
                         "approval before confirming it.", n=len(below)))
    if current.over_credit_limit and status == "approved" and not raw.get("over_credit_limit"):
        raise Refused(_l("The price was approved, but the customer is now over the credit limit, which the department "
                         "head did not see: edit the order and submit it again (DSC 6(2)3)."))
    if current.over_credit_limit and status != "approved":
        raise Refused(_l("The customer would owe %(owed)s, over the credit limit: submit the order for the "
                         "department head's approval before confirming it (DSC 6(2)3).",
                         owed=f"{money(current.credit_exposure) + money(current.total):,.2f}"))
    if status == "rejected":
        raise Refused(_l("The price approval was refused: this order cannot be confirmed."))
    taken = products.reserve(raw.get("lines") or [], raw.get("warehouse"))
    _before, after = audit.guarded_change(
        SalesOrder, order_id, "stage", ["pending_review"],
        {"stage": "confirmed", "confirmed_at": now, "reservations": taken}, actor.username, now,
        extra_condition={"version": raw.get("version"), "status": status})
    if after is None:
        products.release(taken)
        raise Refused(_l("Someone else changed this order a moment ago. Reload it and try again."))
    return after


def advance(order_id, actor: Actor, stage: str, now: dt.datetime | None = None) -> dict:
    """Production started (confirmed → in production) or the order is done (delivered → closed)."""
    sources = {"in_production": ["confirmed"], "closed": ["delivered"]}
    if stage not in sources:
        raise Refused(_l("This step is not possible from the order's page."))
    now = now or utcnow()
    _before, after = audit.guarded_change(SalesOrder, order_id, "stage", sources[stage], {"stage": stage},
                                          actor.username, now)
    if after is None:
        raise Refused(_l("The order is not at the stage this step starts from. Reload it."))
    return after


def cancel(order_id, actor: Actor, reason: str, now: dt.datetime | None = None) -> dict:
    """An order that has not shipped can be cancelled with a reason; its reserved stock is released."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Give the reason for cancelling the order."))
    raw = _order(order_id)
    if raw.get("paid_on"):
        raise Refused(_l("This order is paid: open an after-sales ticket for a return instead of cancelling it."))
    _before, after = audit.guarded_change(SalesOrder, order_id, "stage",
                                          ["pending_review", "confirmed", "in_production"],
                                          {"stage": "cancelled", "cancel_reason": reason[:2000], "reservations": []},
                                          actor.username, now, extra_condition={"version": raw.get("version")})
    if after is None:
        if raw.get("stage") in ("pending_review", "confirmed", "in_production"):
            raise Refused(_l("Someone else changed this order a moment ago. Reload it and try again."))
        raise Refused(_l("An order that has shipped cannot be cancelled; open an after-sales ticket instead."))
    products.release(raw.get("reservations") or [])
    return after


def add_tracking(order_id, actor: Actor, text: str, now: dt.datetime | None = None) -> dict:
    """A note on the order's execution, a problem and how it was settled with the customer (BRD 4(3)2-3)."""
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise Refused(_l("Write the note."))
    entry = TrackingNote(at=now, by=actor.name, text=text[:2000]).to_mongo().to_dict()
    _before, after = audit.guarded_change(SalesOrder, order_id, "stage", [stage for stage, _label in ORDER_STAGES], {},
                                          actor.username, now, push={"tracking": entry})
    if after is None:
        raise Refused(_l("This order no longer exists."))
    return after


def record_payment(order_id, actor: Actor, paid_on: dt.date | None, now: dt.datetime | None = None) -> dict:
    """Finance records when the order was paid in full; paid orders feed the agents' profit shares."""
    now = now or utcnow()
    if paid_on is None:
        raise Refused(_l("Give the date of payment."))
    if paid_on > settings.local_today(now):
        raise Refused(_l("The date of payment cannot be in the future."))
    _before, after = audit.guarded_change(SalesOrder, order_id, "stage", list(SOLD_STAGES), {"paid_on": _day(paid_on)},
                                          actor.username, now, extra_condition={"paid_on": None})
    if after is None:
        raise Refused(_l("Only a confirmed order that is not yet marked paid can be marked paid."))
    audit.record_state(SalesOrder, after, "paid_on", "", f"{paid_on:%Y-%m-%d}", actor.username)
    return after


# ---- sales analysis (BRD 4(4)) -----------------------------------------------------------------------------
BREAKDOWNS = (("month", _l("By month")), ("product", _l("By product")), ("region", _l("By region")),
              ("salesperson", _l("By salesperson")))
_KEYS = {"month": {"y": {"$year": "$ordered_on"}, "m": {"$month": "$ordered_on"}},
         "product": "$lines.product", "region": "$region", "salesperson": "$salesperson"}


def analysis(start: dt.date, end: dt.date, scope: dict) -> dict:
    """Sales amount, volume and gross profit of confirmed orders in a period, by month, product, region and
    salesperson: four aggregations in MongoDB plus one read of names, whatever the number of orders."""
    match = {"stage": {"$in": list(SOLD_STAGES)}, "ordered_on": {"$gte": _day(start), "$lte": _day(end)}}
    if scope:
        match = {"$and": [match, scope]}
    result = {}
    for key, _label in BREAKDOWNS:
        rows = list(SalesOrder._get_collection().aggregate([
            {"$match": match}, {"$unwind": "$lines"},
            {"$group": {"_id": _KEYS[key], "amount": {"$sum": "$lines.amount"}, "volume": {"$sum": "$lines.quantity"},
                        "cost": {"$sum": {"$multiply": ["$lines.unit_cost", "$lines.quantity"]}},
                        "orders": {"$addToSet": "$_id"}}}]))
        result[key] = [{"key": r["_id"], "amount": from_fen(r["amount"]), "volume": r["volume"],
                        "profit": from_fen(r["amount"] - r["cost"]), "orders": len(r["orders"])} for r in rows]
    _name_rows(result)
    totals = {"amount": sum((r["amount"] for r in result["month"]), Decimal("0")),
              "volume": sum(r["volume"] for r in result["month"]),
              "profit": sum((r["profit"] for r in result["month"]), Decimal("0")),
              "orders": sum(r["orders"] for r in result["month"])}
    amount = totals["amount"]
    totals["margin"] = (100 * totals["profit"] / amount).quantize(Decimal("0.1")) if amount else None
    return {"breakdowns": result, "totals": totals}


def _name_rows(result: dict) -> None:
    from models.products import Product

    people = {e["_id"]: e["name"] for e in Employee._get_collection().find(
        {"_id": {"$in": [r["key"] for r in result["salesperson"]]}}, {"name": 1})}
    goods = {p["_id"]: f"{p.get('code', '')} {p.get('name', '')}" for p in Product._get_collection().find(
        {"_id": {"$in": [r["key"] for r in result["product"]]}}, {"code": 1, "name": 1})}
    for row in result["month"]:
        row["label"] = f"{row['key']['y']}-{row['key']['m']:02d}"
    for row in result["product"]:
        row["label"] = goods.get(row["key"], "?")
    for row in result["region"]:
        row["label"] = row["key"] or str(_l("(no region)"))
    for row in result["salesperson"]:
        row["label"] = people.get(row["key"], "?")
    result["month"].sort(key=lambda r: r["label"])
    for key in ("product", "region", "salesperson"):
        result[key].sort(key=lambda r: r["amount"], reverse=True)
    peak = {key: max([r["amount"] for r in rows] + [Decimal("0")]) for key, rows in result.items()}
    for key, rows in result.items():
        for row in rows:
            row["share"] = float(100 * row["amount"] / peak[key]) if peak[key] > 0 else 0.0


def plan_progress(plan) -> dict:
    """What the plan's salespeople and teams sold in its period so far, against their allocation (BRD 4(1)3)."""
    from models.common import period_bounds

    bounds = period_bounds(plan.period_kind, plan.period)
    if bounds is None:
        return {}
    match = {"stage": {"$in": list(SOLD_STAGES)}, "ordered_on": {"$gte": _day(bounds[0]), "$lte": _day(bounds[1])}}
    by_person, by_unit = {}, {}
    for row in SalesOrder._get_collection().aggregate([
            {"$match": match},
            {"$group": {"_id": {"p": "$salesperson", "u": "$owner_unit"}, "amount": {"$sum": "$total"}}}]):
        amount = from_fen(row["amount"])
        by_person[row["_id"].get("p")] = by_person.get(row["_id"].get("p"), Decimal("0")) + amount
        by_unit[row["_id"].get("u")] = by_unit.get(row["_id"].get("u"), Decimal("0")) + amount
    return {"by_person": by_person, "by_unit": by_unit}


def work_figures(report) -> dict:
    """What the records say for a work report's period: customers the salesperson took on, negotiations held,
    contracts signed (FSS 2(5)1), next to what they reported."""
    from models.common import period_bounds
    from models.customers import Customer, Negotiation

    bounds = period_bounds(report.period_kind, report.period)
    if bounds is None or report.salesperson is None:
        return {}
    start, end = _day(bounds[0]), _day(bounds[1] + dt.timedelta(days=1))
    me = report.salesperson.pk
    return {
        "customers_developed": Customer._get_collection().count_documents(
            {"owner": me, "created_at": {"$gte": start, "$lt": end}}),
        "negotiations": Negotiation._get_collection().count_documents(
            {"owner": me, "held_on": {"$gte": start, "$lt": end}}),
        "contracts_signed": Contract._get_collection().count_documents(
            {"owner": me, "signed_on": {"$gte": start, "$lt": end}}),
    }


def acknowledge(report_id, actor: Actor, comment: str, now: dt.datetime | None = None) -> dict:
    """The superior has read the report, with a comment (FSS 2(5)1)."""
    from models.sales import WorkReport

    now = now or utcnow()
    raw = WorkReport._get_collection().find_one({"_id": report_id}, {"salesperson": 1})
    if raw is None:
        raise Refused(_l("This report no longer exists."))
    if raw.get("salesperson") == actor.employee_id:
        raise Refused(_l("Your superior acknowledges your report, not you."))
    _before, after = audit.guarded_change(WorkReport, report_id, "reviewed_by", [None],
                                          {"reviewed_by": actor.name, "review_comment": (comment or "").strip()[:2000],
                                           "reviewed_at": now}, actor.username, now)
    if after is None:
        raise Refused(_l("This report is already acknowledged."))
    return after


# ---- reminders (SOC 3.4, 3.5) ----------------------------------------------------------------------------
def _renewal_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Contracts in the renewal window: their salesperson and the head they report to, once per episode."""
    heads = reminders.heads_of(raw.get("owner") for raw in rows)
    stamp = _day(settings.local_today(now))
    return [reminders.item(raw, "contract_renewal", (raw.get("owner"), heads.get(raw.get("owner"))),
                           {"title": f"{raw.get('number')} {raw.get('subject', '')[:60]}",
                            "date": f"{raw['end']:%Y-%m-%d}"}, CONTRACT_PATH.format(id=raw["_id"]),
                           title=raw.get("number") or "", stamp="renewal_reminded_on", value=stamp, when=raw["end"],
                           episode=True) for raw in rows]


renewal_reminders = reminders.Source(
    "renewal_reminders", Contract, {"contract_renewal": _l("Contracts up for renewal")}, _renewal_items,
    where=lambda now: renewal_query(settings.local_today(now)),
    fields={"number": 1, "subject": 1, "owner": 1, "end": 1, "renewal_reminded_on": 1},
    fresh=lambda now: {"renewal_reminded_on": None}, sort=("end", 1),
    pages={"contract_renewal": "/contracts/follow-up/"},
    mine=lambda person: {"owner": {"$in": person.among(*person.reports)}})


def _reports_read(now: dt.datetime, fresh: bool, where: dict | None) -> list[dict]:
    return reports_due(settings.local_today(now), where, limit=5000)


def _report_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Progress reports to clients falling due: the team leader, once per due date."""
    return [reminders.item(row, "client_report_due", (row.get("team_leader"),),
                           {"title": row.get("number") or "", "date": f"{row['due']:%Y-%m-%d}"},
                           CONTRACT_PATH.format(id=row["_id"]), title=row.get("number") or "",
                           stamp="report_reminded_for", value=_day(row["due"]), when=_day(row["due"]))
            for row in rows]


report_reminders = reminders.Source(
    "report_reminders", Contract, {"client_report_due": _l("Progress reports due to clients")}, _report_items,
    rows=_reports_read, pages={"client_report_due": "/contracts/follow-up/"},
    mine=lambda person: {"team_leader": person.id})


reminders.SOURCES.extend([renewal_reminders, report_reminders])
