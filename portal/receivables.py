"""Receivables and the income ledger (DOMAIN 3.6; DSC 5(2), SOC 6.2, FSS 3(7)): receipts applied to what is owed,
collection actions, the aging report, the bad-debt write-off, the credit exposure behind the credit-limit gate
(DSC 6(2)3) and the reminders of overdue money and unremitted agents' sales."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError
from pymongo import ReturnDocument

from models.common import field_error, from_fen, money, utcnow
from models.customers import Customer
from models.org import Employee
from models.receivables import BUCKET_LIMITS, CollectionAction, IncomeRecord, Receivable
from models.sales import SOLD_STAGES, SalesOrder
from portal import agents, approvals, audit, notify, reminders, settings
from portal.approvals import Actor, Refused
from portal.compat import flatten_errors

RECEIVABLE_PATH = "/receivables/show/{id}"
ORDER_STAGES_BILLABLE = SOLD_STAGES  # an order is billed once it is confirmed


def fen(amount) -> int:
    return int(money(amount) * 100)


def _day(date: dt.date) -> dt.datetime:
    return reminders.day(date)


# ---- receivables -------------------------------------------------------------------------------------------
LEDGER_FIELDS = ("customer", "order", "contract", "amount", "due_date")  # what only Finance changes once raised


def check_receivable(item: Receivable, roles=frozenset()) -> None:
    """What a receivable may claim of its order: the order is confirmed, and its receivables (written-off ones
    included) add up to at most the order's total (SOC 6.2: the ledger matches the sales). Once raised, its
    customer, order, contract, amount and due date are Finance's to correct (anyone else lowering the amount or
    moving the due date would write the debt off without the WRITE-OFF approval); with money received, the
    customer, order and contract no longer change at all (the receipts name them)."""
    stored = Receivable._get_collection().find_one({"_id": item.pk}) if item.pk is not None else None
    if stored is not None:
        current = item.to_mongo().to_dict()
        changed = [f for f in LEDGER_FIELDS if current.get(f) != stored.get(f)]
        if changed and not roles & {"Finance", "Admin"}:
            raise field_error(changed[0], _l("Only Finance corrects this once the receivable is raised: ask them, "
                                             "or ask to write the debt off."))
        linked = [f for f in changed if f in ("customer", "order", "contract")]
        if linked and stored.get("received"):
            raise field_error(linked[0], _l("Money was received against this receivable: void the receipts "
                                            "before moving it to another customer, order or contract."))
    order = item.order
    if order is None:
        return
    if order.stage not in ORDER_STAGES_BILLABLE:
        raise field_error("order", _l("Only a confirmed order is billed."))
    others = Receivable._get_collection().aggregate([
        {"$match": {"order": order.pk, "_id": {"$ne": item.pk}}},
        {"$group": {"_id": None, "fen": {"$sum": "$amount"}}}])
    billed = from_fen(next(iter(others), {}).get("fen", 0))
    if billed + money(item.amount) > money(order.total):
        raise field_error("amount", _l("The order's receivables would come to %(sum)s, more than its total %(total)s.",
                                       sum=f"{billed + money(item.amount):,.2f}", total=f"{money(order.total):,.2f}"))


def unbilled(order) -> Decimal:
    """What of an order's total no receivable claims yet: the amount a new receivable for it starts with."""
    rows = Receivable._get_collection().aggregate([{"$match": {"order": order.pk}},
                                                   {"$group": {"_id": None, "fen": {"$sum": "$amount"}}}])
    return max(money(order.total) - from_fen(next(iter(rows), {}).get("fen", 0)), Decimal("0"))


def add_action(receivable_id, actor: Actor, date, method: str, result: str, now: dt.datetime | None = None) -> dict:
    """Record one collection step (FSS 3(7)2) on an open receivable."""
    now = now or utcnow()
    action = CollectionAction(date=date, method=method or None, result=(result or "").strip() or None,
                              by=actor.name or actor.username)
    try:
        action.validate()
    except ValidationError as exc:
        raise Refused("; ".join(dict.fromkeys(flatten_errors(exc).values()))) from None
    if action.date > settings.local_today(now):
        raise Refused(_l("The date cannot be in the future."))
    _before, after = audit.guarded_change(Receivable, receivable_id, "state", ["open"], {}, actor.username, now,
                                          push={"actions": action.to_mongo().to_dict()})
    if after is None:
        raise Refused(_l("Collection steps are recorded on open receivables only."))
    audit.record_state(Receivable, after, "actions", len(after["actions"]) - 1, len(after["actions"]), actor.username)
    return after


def written_off(receivable_id, now: dt.datetime) -> None:
    """The write-off was approved (department head, then Finance; SOC 6.2, FSS 3(7)3): the debt leaves the open
    receivables."""
    _before, after = audit.guarded_change(Receivable, receivable_id, "state", ["open"],
                                          {"state": "written_off", "written_off_at": now}, "approval", now)
    if after is None:  # settled in the meantime: nothing is left to write off
        return
    people = [after.get("owner"), *approvals.role_holders("Finance")]
    notify.post([(people, "written_off", {"title": after.get("number") or ""},
                  RECEIVABLE_PATH.format(id=after["_id"]))], now)


# ---- receipts ------------------------------------------------------------------------------------------------
def apply_receipt(item: IncomeRecord, now: dt.datetime | None = None) -> None:
    """Lower the receivable a new receipt pays by its amount, in one conditional update that refuses to go below
    zero (two people posting the last payment at once: one of them is refused)."""
    if item.receivable is None:
        return
    now = now or utcnow()
    collection = Receivable._get_collection()
    amount = fen(item.amount)
    after = collection.find_one_and_update(
        {"_id": item.receivable.pk, "state": "open", "outstanding": {"$gte": amount}},
        {"$inc": {"received": amount, "outstanding": -amount, "version": 1},
         "$set": {"updated_at": now, "updated_by": audit.current_actor()}}, return_document=ReturnDocument.AFTER)
    if after is None:
        raw = collection.find_one({"_id": item.receivable.pk}, {"state": 1, "outstanding": 1}) or {}
        if raw.get("state") != "open":
            raise field_error("receivable", _l("This receivable is no longer open."))
        raise field_error("amount", _l("Only %(left)s is outstanding on this receivable.",
                                       left=f"{from_fen(raw.get('outstanding', 0)):,.2f}"))
    audit.record_state(Receivable, after, "received", from_fen(after["received"] - amount),
                       from_fen(after["received"]), audit.current_actor())
    if after["outstanding"] == 0:
        _settle(after, settings.local_today(now), now)


def _settle(raw: dict, today: dt.date, now: dt.datetime) -> None:
    audit.guarded_change(Receivable, raw["_id"], "state", ["open"], {"state": "settled", "settled_on": _day(today)},
                         audit.current_actor(), now, extra_condition={"outstanding": 0})
    if raw.get("order") is None:
        return
    order = SalesOrder._get_collection().find_one({"_id": raw["order"]}, {"total": 1, "paid_on": 1})
    rows = list(Receivable._get_collection().find({"order": raw["order"]}, {"amount": 1, "state": 1}))
    if order and order.get("paid_on") is None and all(r["state"] == "settled" for r in rows) \
            and sum(r["amount"] for r in rows) >= (order.get("total") or 0):
        audit.guarded_change(SalesOrder, raw["order"], "paid_on", [None], {"paid_on": _day(today)},
                             audit.current_actor(), now)  # paid in full: the order is paid (MIC 收入管理/1)


def void(record_id, actor: Actor, reason: str, now: dt.datetime | None = None) -> dict:
    """A posted receipt entered by mistake is voided with a reason; what it paid is owed again."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Say why the receipt is voided."))
    _before, after = audit.guarded_change(IncomeRecord, record_id, "state", ["posted"],
                                          {"state": "voided", "void_reason": reason[:2000], "voided_at": now,
                                           "voided_by": actor.username}, actor.username, now)
    if after is None:
        raise Refused(_l("This receipt is already voided."))
    if after.get("receivable") is not None:
        amount = after["amount"]
        due = Receivable._get_collection().find_one_and_update(
            {"_id": after["receivable"]}, {"$inc": {"received": -amount, "outstanding": amount, "version": 1},
                                           "$set": {"updated_at": now, "updated_by": actor.username}},
            return_document=ReturnDocument.AFTER)
        if due is not None:
            audit.record_state(Receivable, due, "received", from_fen(due["received"] + amount),
                               from_fen(due["received"]), actor.username)
            audit.guarded_change(Receivable, due["_id"], "state", ["settled"], {"state": "open", "settled_on": None},
                                 actor.username, now)
            if due.get("order") is not None:
                _unpay(due["order"], actor.username, now)
    return after


def _unpay(order_id, username: str, now: dt.datetime) -> None:
    """The order owes money again: it is no longer paid."""
    before = SalesOrder._get_collection().find_one_and_update(
        {"_id": order_id, "paid_on": {"$ne": None}},
        {"$set": {"paid_on": None, "updated_at": now, "updated_by": username}, "$inc": {"version": 1}})
    if before is not None:
        audit.record_state(SalesOrder, {**before, "paid_on": None}, "paid_on", f"{before['paid_on']:%Y-%m-%d}", None,
                           username)


def book_remittance(raw: dict, actor: Actor, now: dt.datetime) -> None:
    """A remittance Finance verified is income of the ledger (MIC 收入管理/2, DSC 5(2)2)."""
    from models.agents import Remittance

    IncomeRecord(source="remittance", remittance=Remittance._from_son(raw), amount=from_fen(raw["amount"]),
                 received_on=raw["remitted_on"].date(), account=raw.get("account") or "-",
                 reference=raw.get("reference"), recorded_by=actor.employee_id,
                 note=raw.get("finance_note")).save()


# ---- aging (FSS 3(7)4) ---------------------------------------------------------------------------------------
def _bucket_sums(today: dt.date) -> dict:
    """One $sum per aging bucket of the open amounts, by due date."""
    edges = [_day(today - dt.timedelta(days=limit)) for limit, _ in BUCKET_LIMITS]  # not due: due >= today
    sums, newer = {}, None
    for (_limit, bucket), edge in zip(BUCKET_LIMITS, edges, strict=True):
        test = {"$gte": ["$due_date", edge]}
        if newer is not None:
            test = {"$and": [test, {"$lt": ["$due_date", newer]}]}
        sums[bucket] = {"$sum": {"$cond": [test, "$outstanding", 0]}}
        newer = edge
    sums["over_180"] = {"$sum": {"$cond": [{"$lt": ["$due_date", newer]}, "$outstanding", 0]}}
    return sums


def aging(where: dict, today: dt.date, by: str = "customer", limit: int = 500) -> dict:
    """Open receivables by customer or by responsible salesperson, split into aging buckets: one aggregation
    (the `limit` largest balances, one "All others" row summing the rest, and the total of all of them) and one
    read of the names. Returns {"rows": [...], "total": {...}, "buckets": [...]}."""
    key = "customer" if by == "customer" else "owner"
    buckets = [bucket for _limit, bucket in BUCKET_LIMITS] + ["over_180"]
    sums = {name: {"$sum": f"${name}"} for name in ("count", "total", *buckets)}
    order = {"$sort": {"total": -1, "_id": 1}}
    result = next(iter(Receivable._get_collection().aggregate([
        {"$match": {"$and": [where, {"state": "open", "outstanding": {"$gt": 0}}]}},
        {"$group": {"_id": f"${key}", "count": {"$sum": 1}, "total": {"$sum": "$outstanding"},
                    **_bucket_sums(today)}},
        {"$facet": {"rows": [order, {"$limit": limit}],
                    "others": [order, {"$skip": limit}, {"$group": {"_id": None, **sums}}],
                    "total": [{"$group": {"_id": None, **sums}}]}}])), {})
    rows = result.get("rows") or []
    source = Customer if key == "customer" else Employee
    names = {r["_id"]: r for r in source._get_collection().find(
        {"_id": {"$in": [r["_id"] for r in rows]}}, {"name": 1, "number": 1, "employee_no": 1})}

    def figures(raw: dict) -> dict:
        return {"count": raw.get("count", 0), "total": from_fen(raw.get("total", 0)),
                **{b: from_fen(raw.get(b, 0)) for b in buckets}}

    out = [{"id": r["_id"], "name": names.get(r["_id"], {}).get("name", "?"), **figures(r)} for r in rows]
    for others in result.get("others") or []:  # beyond the limit: one row, so that the rows add up to the total
        if others.get("count"):  # (the embedded store groups an empty input into one row of zeros)
            out.append({"id": None, "name": str(_l("All others")), "others": True, **figures(others)})
    total = figures(next(iter(result.get("total") or []), {}))
    return {"rows": out, "total": total, "buckets": buckets}


# ---- credit exposure (DSC 6(2)3) ---------------------------------------------------------------------------
def exposure(customer_id, exclude_order=None) -> Decimal:
    """What a customer owes or will owe: open receivables, plus what no receivable claims yet of their confirmed,
    unpaid orders (an order billed in part counts with the rest)."""
    owed = Receivable._get_collection().aggregate([
        {"$match": {"customer": customer_id, "state": "open"}},
        {"$group": {"_id": None, "fen": {"$sum": "$outstanding"}}}])
    billed = {r["_id"]: r["fen"] for r in Receivable._get_collection().aggregate([
        {"$match": {"customer": customer_id, "order": {"$ne": None}}},
        {"$group": {"_id": "$order", "fen": {"$sum": "$amount"}}}])}
    unpaid = SalesOrder._get_collection().find(
        {"customer": customer_id, "stage": {"$in": list(SOLD_STAGES)}, "paid_on": None,
         "_id": {"$ne": exclude_order}}, {"total": 1})
    unbilled_fen = sum(max((o.get("total") or 0) - billed.get(o["_id"], 0), 0) for o in unpaid)
    return from_fen(next(iter(owed), {}).get("fen", 0) + unbilled_fen)


def credit_check(customer_id, amount, exclude_order=None) -> dict | None:
    """The customer's credit limit against what they owe plus `amount` (None: the customer has no limit)."""
    raw = Customer._get_collection().find_one({"_id": customer_id}, {"credit_limit": 1, "name": 1})
    if raw is None or raw.get("credit_limit") is None:
        return None
    owed = exposure(customer_id, exclude_order)
    limit = from_fen(raw["credit_limit"])
    return {"limit": limit, "exposure": owed, "amount": money(amount or 0),
            "over": owed + money(amount or 0) > limit}


# ---- reminders (DOMAIN 7; FSS 3(7)1, 3(7)3; MIC 收入管理/1) ----------------------------------------------------
def _receivable_items(kind: str, stamp: str, superior: bool):
    def items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
        today = _day(settings.local_today(now))
        heads = reminders.heads_of(raw.get("owner") for raw in rows) if superior else {}
        return [reminders.item(raw, kind, (heads.get(raw.get("owner")), raw.get("owner")),
                               {"title": raw.get("number") or "", "date": f"{raw['due_date']:%Y-%m-%d}"},
                               RECEIVABLE_PATH.format(id=raw["_id"]), title=raw.get("number") or "", stamp=stamp,
                               value=today, when=raw["due_date"], episode=True) for raw in rows]

    return items


_RECEIVABLE_FIELDS = {"number": 1, "owner": 1, "due_date": 1, "reminded_for": 1, "escalated_for": 1}
_OPEN_RECEIVABLES = "/receivables/list/?_flt_0_state=open"

# Receivables past their due date: the responsible salesperson, once per due date (FSS 3(7)1).
overdue_reminders = reminders.Source(
    "overdue_reminders", Receivable, {"receivable_overdue": _l("Receivables past due")},
    _receivable_items("receivable_overdue", "reminded_for", superior=False),
    where=lambda now: {"state": "open", "due_date": {"$lt": _day(settings.local_today(now))}},
    fields=_RECEIVABLE_FIELDS, fresh=lambda now: {"reminded_for": None}, sort=("due_date", 1),
    pages={"receivable_overdue": _OPEN_RECEIVABLES}, mine=lambda person: {"owner": person.id})

# Receivables overdue longer than `receivable_escalation_days`: the responsible person's superior, once
# (FSS 3(7)3).
escalation_reminders = reminders.Source(
    "escalation_reminders", Receivable, {"receivable_escalated": _l("Receivables escalated to you")},
    _receivable_items("receivable_escalated", "escalated_for", superior=True),
    where=lambda now: {"state": "open", "due_date": {"$lt": _day(settings.local_today(now) - dt.timedelta(
        days=settings.get("receivable_escalation_days")))}},
    fields=_RECEIVABLE_FIELDS, fresh=lambda now: {"escalated_for": None}, sort=("due_date", 1),
    pages={"receivable_escalated": _OPEN_RECEIVABLES},
    mine=lambda person: {"owner": {"$in": person.among(*person.reports)}})


def _owing(now: dt.datetime, fresh: bool, where: dict | None) -> list[dict]:
    """Agents whose confirmed sales exceed what they paid in, with the amount and the month last reminded (four
    queries). `where` narrows to some agents: {"_id": {"$in": [...]}}."""
    only = where["_id"]["$in"] if where else None
    found = [{**r["agent"], "outstanding": r["outstanding"]} for r in agents.balances(only, limit=5000)
             if r["outstanding"] > 0]
    if not found:
        return []
    stamps = {e["_id"]: e.get("remittance_reminded_for") for e in Employee._get_collection().find(
        {"_id": {"$in": [a["_id"] for a in found]}}, {"remittance_reminded_for": 1})}
    month = f"{settings.local_today(now):%Y-%m}"
    rows = [{**a, "remittance_reminded_for": stamps.get(a["_id"])} for a in found]
    return [a for a in rows if not fresh or a["remittance_reminded_for"] != month]


def _remittance_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Agents with unremitted sales: the agent and their team's head, once a month (MIC 收入管理/1)."""
    month = f"{settings.local_today(now):%Y-%m}"
    heads = reminders.heads_of(raw["_id"] for raw in rows)
    return [reminders.item(raw, "unremitted", (raw["_id"], heads.get(raw["_id"])),
                           {"title": raw.get("name") or "", "amount": f"{raw['outstanding']:,.2f}"},
                           "/remittances/balances/", title=raw.get("name") or "", stamp="remittance_reminded_for",
                           value=month) for raw in rows]


remittance_reminders = reminders.Source(
    "remittance_reminders", Employee, {"unremitted": _l("Agents' sales not yet paid in")}, _remittance_items,
    rows=_owing, pages={"unremitted": "/remittances/balances/"},
    mine=lambda person: {"_id": {"$in": person.among(*person.reports)}})


reminders.SOURCES.extend([overdue_reminders, escalation_reminders, remittance_reminders])
approvals.register(Receivable, all_roles={"Finance", "Auditor"}, on_approved=written_off)
