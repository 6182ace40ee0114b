"""Stock and logistics rules (DOMAIN 3.4): reserving stock for confirmed orders, holding failed batches,
shipping, stock takes, stock alerts, after-sales and the area's reminders. No Flask here.

Every stock movement is one conditional update of one stock row that keeps `available` equal to on hand minus
reserved (zero while held); whoever moves stock then refreshes the row's flags, conditional on its version.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError
from pymongo import ReturnDocument

from models.common import choice_label, utcnow
from models.org import OrgUnit
from models.products import (
    DISPOSALS,
    QC_DISPOSALS,
    TICKET_KINDS,
    TICKET_STATES,
    AfterSalesTicket,
    Product,
    QualityInspection,
    Shipment,
    StockItem,
    StockTake,
    TicketAction,
    stock_flags,
)
from portal import audit, customers, notify, reminders, settings
from portal.approvals import Actor, Refused

STOCK_PATH = "/stock/show/{id}"
TICKET_PATH = "/after-sales/show/{id}"
SHIPMENT_PATH = "/shipments/show/{id}"
ORDER_PATH = "/orders/show/{id}"
ALERT_LIMIT = 200


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time())


# ---- moving stock ------------------------------------------------------------------------------------
def refresh_flags(raw: dict | None) -> None:
    """Set `available` and the replenish and overstock flags of a stock row from what was just written; a newer
    write (another version) refreshes them itself. Flags going off re-arm the row's reminder."""
    if raw is None:
        return
    available, replenish, overstock = stock_flags(raw)
    wanted = {"available": available, "replenish": replenish, "overstock": overstock}
    if not replenish and not overstock:
        wanted["flag_reminded_on"] = None
    if any(raw.get(k) != v for k, v in wanted.items()):
        StockItem._get_collection().update_one({"_id": raw["_id"], "version": raw.get("version")},
                                               {"$set": wanted})


def _move(row_id, condition: dict, inc: dict, sets: dict | None = None) -> dict | None:
    update = {"$inc": {**inc, "version": 1}}
    if sets:
        update["$set"] = sets
    after = StockItem._get_collection().find_one_and_update({"_id": row_id, **condition}, update,
                                                            return_document=ReturnDocument.AFTER)
    refresh_flags(after)
    return after


def release(reservations: list[dict]) -> None:
    """Give reserved units back (a cancelled order, or a confirmation that could not be completed)."""
    for line in reservations:
        quantity = line["quantity"]
        if _move(line["stock_item"], {"held": False}, {"available": quantity, "reserved": -quantity}) is None:
            _move(line["stock_item"], {}, {"reserved": -quantity})


def reserve(lines: list[dict], warehouse: str | None) -> list[dict]:
    """Reserve every stocked line of an order, oldest batches first (DSC 3(4)1); all or nothing."""
    products = {p["_id"]: p for p in Product._get_collection().find(
        {"_id": {"$in": [line["product"] for line in lines]}}, {"code": 1, "name": 1, "unit": 1})}
    taken: list[dict] = []
    try:
        for line in lines:
            product = products.get(line["product"]) or {}
            if product.get("unit") == "service":
                continue  # a service is not kept in stock
            taken.extend(_reserve_line(line["product"], line["quantity"], warehouse, product))
    except Refused:
        release(taken)
        raise
    return taken


def _reserve_line(product_id, quantity: int, warehouse: str | None, product: dict) -> list[dict]:
    where = {"product": product_id, "held": False, "available": {"$gt": 0}}
    if warehouse:
        where["warehouse"] = warehouse
    taken, remaining = [], quantity
    for _attempt in range(5):  # a row another order took meanwhile is read again
        rows = list(StockItem._get_collection().find(where, {"available": 1})
                    .sort([("received_on", 1), ("_id", 1)]).limit(50))
        if sum(r["available"] for r in rows) < remaining:
            break
        for row in rows:
            take = min(row["available"], remaining)
            if _move(row["_id"], {"held": False, "available": {"$gte": take}},
                     {"available": -take, "reserved": take}) is not None:
                taken.append({"stock_item": row["_id"], "product": product_id, "quantity": take})
                remaining -= take
            if remaining == 0:
                return taken
    release(taken)
    have = sum(r["available"] for r in StockItem._get_collection().find(where, {"available": 1}))
    raise Refused(_l("Not enough stock of %(product)s: %(have)s available, %(want)s ordered. Replenish first "
                     "or ship from another warehouse.", product=f"{product.get('code', '')} {product.get('name', '')}",
                     have=have, want=quantity))


def deduct(reservations: list[dict], today: dt.date) -> None:
    """Take reserved units out of stock as they ship; a held batch does not ship (MIC 產品質量控制/3)."""
    done: list[dict] = []
    for line in reservations:
        quantity = line["quantity"]
        moved = _move(line["stock_item"], {"held": False, "reserved": {"$gte": quantity}},
                      {"quantity": -quantity, "reserved": -quantity})
        if moved is None:
            for back in done:
                _move(back["stock_item"], {}, {"quantity": back["quantity"], "reserved": back["quantity"]})
            row = StockItem._get_collection().find_one({"_id": line["stock_item"]}, {"batch": 1, "held": 1}) or {}
            if row.get("held"):
                raise Refused(_l("Batch %(batch)s failed its inspection and is held: it cannot ship until its "
                                 "disposal is recorded.", batch=row.get("batch") or "—"))
            raise Refused(_l("The stock reserved for this order is no longer there. Cancel the order and confirm it "
                             "again."))
        done.append(line)
    StockItem._get_collection().update_many({"_id": {"$in": [line["stock_item"] for line in done]}},
                                            {"$set": {"last_shipped_on": _day(today)}})


# ---- quality: holds (MIC 產品質量控制) ------------------------------------------------------------------
def _set_hold(row_id, held: bool) -> None:
    collection = StockItem._get_collection()
    for _attempt in range(5):
        raw = collection.find_one({"_id": row_id})
        if raw is None or bool(raw.get("held")) == held:
            return
        raw["held"] = held
        available = stock_flags(raw)[0]
        if collection.update_one({"_id": row_id, "version": raw.get("version")},
                                 {"$set": {"held": held, "available": available}, "$inc": {"version": 1}}
                                 ).modified_count:
            return
    raise Refused(_l("The stock of this batch is changing right now. Try again."))


def check_stock_edit(item) -> bool:
    """A row with units reserved for orders keeps its product, warehouse and batch; returns whether they change
    (a row moved onto a failed batch is then held)."""
    stored = StockItem._get_collection().find_one({"_id": item.pk}) or {}
    moved = (stored.get("product") != getattr(item.product, "pk", None) or stored.get("warehouse") != item.warehouse
             or (stored.get("batch") or "") != (item.batch or ""))
    if stored.get("reserved") and moved:
        raise ValidationError(str(_l("Units of this row are reserved for orders: its product, warehouse and batch "
                                     "stay as they are.")))
    return moved


def check_inspection_edit(item) -> None:
    """A failed inspection is not turned into a pass: its disposal is recorded, or a new inspection after rework."""
    stored = QualityInspection._get_collection().find_one({"_id": item.pk}, {"result": 1, "batch": 1, "product": 1})
    if stored and stored.get("result") == "fail" and (
            item.result != "fail" or item.batch != stored.get("batch") or item.product.pk != stored.get("product")):
        raise ValidationError(str(_l("A failed inspection stays as it is: record its disposal, or a new inspection "
                                     "after rework.")))


def in_use(product_id) -> bool:
    """Whether orders, stock, inspections or tickets refer to a product (it is then set off sale, not deleted)."""
    from models.sales import SalesOrder

    return any(document._get_collection().find_one(query, {"_id": 1}) is not None for document, query in (
        (SalesOrder, {"lines.product": product_id}), (StockItem, {"product": product_id}),
        (QualityInspection, {"product": product_id}), (AfterSalesTicket, {"product": product_id})))


def open_failures(product_id, batch: str) -> int:
    return QualityInspection._get_collection().count_documents(
        {"product": product_id, "batch": batch, "result": "fail", "disposal": None})


def apply_inspection(inspection) -> int:
    """After an inspection is saved: a failed, undisposed batch is held in every warehouse; returns units held."""
    rows = list(StockItem._get_collection().find({"product": inspection.product.pk, "batch": inspection.batch},
                                                 {"quantity": 1}))
    hold = open_failures(inspection.product.pk, inspection.batch) > 0
    for row in rows:
        _set_hold(row["_id"], hold)
    held = sum(r.get("quantity") or 0 for r in rows) if hold else 0
    QualityInspection._get_collection().update_one({"_id": inspection.pk}, {"$set": {"held_quantity": held}})
    return held


def hold_if_failed(item) -> None:
    """A stock row of a batch with an open failed inspection starts held."""
    if item.product is not None and item.batch and open_failures(item.product.pk, item.batch):
        item.held = True


def dispose(inspection_id, actor: Actor, disposal: str, note: str, now: dt.datetime | None = None) -> dict:
    """Record what is done with a failed batch (MIC 產品質量控制/3): scrapped or returned units leave stock;
    after rework or a concession the batch can ship again."""
    now = now or utcnow()
    note = (note or "").strip()
    if disposal not in dict(QC_DISPOSALS):
        raise Refused(_l("Choose the disposal."))
    if not note:
        raise Refused(_l("Say who decided the disposal and how."))
    raw = QualityInspection._get_collection().find_one({"_id": inspection_id}, {"product": 1, "batch": 1})
    if raw is None:
        raise Refused(_l("This inspection no longer exists."))
    rows = list(StockItem._get_collection().find({"product": raw["product"], "batch": raw["batch"]}))
    if disposal in ("scrap", "return_to_supplier") and any(r.get("reserved") for r in rows):
        raise Refused(_l("Units of this batch are reserved for confirmed orders. Cancel or re-confirm those orders "
                         "first, so that they take stock from another batch."))
    _before, after = audit.guarded_change(
        QualityInspection, inspection_id, "disposal", [None],
        {"disposal": disposal, "disposal_note": note[:1000], "disposed_by": actor.name, "disposed_at": now},
        actor.username, now, extra_condition={"result": "fail"})
    if after is None:
        raise Refused(_l("Only a failed inspection without a disposal can be disposed of."))
    for row in rows:
        if disposal in ("scrap", "return_to_supplier"):
            StockItem._get_collection().update_one({"_id": row["_id"], "version": row.get("version")},
                                                   {"$set": {"quantity": 0, "available": 0},
                                                    "$inc": {"version": 1}})
        if not open_failures(raw["product"], raw["batch"]):
            _set_hold(row["_id"], False)
        refresh_flags(StockItem._get_collection().find_one({"_id": row["_id"]}))
    return after


# ---- stock takes (MIC 產品庫存管理/2) -----------------------------------------------------------------------
def fill_book(take) -> None:
    """Each line's book quantity is what stock holds now for its product and batch in the take's warehouse."""
    rows = {(r["product"], r.get("batch") or ""): r.get("quantity") or 0 for r in StockItem._get_collection().find(
        {"warehouse": (take.warehouse or "").strip()}, {"product": 1, "batch": 1, "quantity": 1})}
    for line in take.lines or []:
        if line.product is not None:
            line.book_quantity = rows.get((line.product.pk, (line.batch or "").strip()), 0)


def review_take(take_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """Someone other than the counter checks the count and its explanations (MIC 產品庫存管理/2)."""
    now = now or utcnow()
    take = StockTake.objects(pk=take_id).first()
    if take is None:
        raise Refused(_l("This stock take no longer exists."))
    if take.counted_by is not None and take.counted_by.pk == actor.employee_id:
        raise Refused(_l("The reviewer cannot be the person who counted."))
    for line in take.lines or []:
        if line.variance and not (line.explanation or "").strip():
            raise Refused(_l("Explain every difference before the review (edit the lines)."))
    if not take.lines:
        raise Refused(_l("Count at least one line first."))
    _before, after = audit.guarded_change(StockTake, take.pk, "state", ["counting"],
                                          {"state": "reviewed", "reviewed_by": actor.employee_id}, actor.username,
                                          now, extra_condition={"version": take.version})
    if after is None:
        raise Refused(_l("Only a stock take being counted can be reviewed. Reload it."))
    return after


def load_book(take) -> None:
    """Start a count from the books: a line for every stock row of the warehouse not on the take yet."""
    from models.products import TakeLine

    if take.state != "counting":
        raise Refused(_l("Only a stock take being counted can be filled in."))
    have = {(line.product.pk, line.batch or "") for line in take.lines or [] if line.product is not None}
    rows = list(StockItem.objects(warehouse=take.warehouse).order_by("product", "batch"))
    added = [TakeLine(product=row.product, batch=row.batch or "", book_quantity=row.quantity,
                      counted_quantity=row.quantity) for row in rows if (row.product.pk, row.batch or "") not in have]
    if not added:
        raise Refused(_l("Every stock row of warehouse %(warehouse)s is already on this count.",
                         warehouse=take.warehouse))
    take.lines = [*(take.lines or []), *added]
    take.save()


def post_take(take_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """Book a reviewed count: every line's variance is added to its stock row (a new row when none exists)."""
    now = now or utcnow()
    take = StockTake.objects(pk=take_id).first()
    if take is None:
        raise Refused(_l("This stock take no longer exists."))
    if take.state != "reviewed":
        raise Refused(_l("Only a reviewed stock take can be posted to stock."))
    collection = StockItem._get_collection()
    rows = {(r["product"], r.get("batch") or ""): r for r in collection.find({"warehouse": take.warehouse})}
    new_rows = []
    for line in take.lines:
        row = rows.get((line.product.pk, line.batch or ""))
        if row is not None and line.counted_quantity < (row.get("reserved") or 0):
            raise Refused(_l("%(product)s: after the count fewer units would be on hand than are reserved for "
                             "orders.", product=str(line.product)))
        if row is None and line.counted_quantity:
            fresh = StockItem(product=line.product, warehouse=take.warehouse, batch=line.batch or "",
                              quantity=line.counted_quantity, owner_unit=take.owner_unit, received_on=take.taken_on)
            hold_if_failed(fresh)
            fresh.validate()  # every line is checked before anything is booked
            new_rows.append(fresh)
    _before, after = audit.guarded_change(StockTake, take.pk, "state", ["reviewed"], {"state": "posted"},
                                          actor.username, now)
    if after is None:
        raise Refused(_l("Only a reviewed stock take can be posted to stock."))
    for fresh in new_rows:
        fresh.save()
    for line in take.lines:  # the count replaces the books: the difference to what stock holds now is booked
        row = rows.get((line.product.pk, line.batch or ""))
        change = line.counted_quantity - (row.get("quantity") or 0) if row is not None else 0
        if change:
            _move(row["_id"], {}, {"quantity": change, "available": 0 if row.get("held") else change})
    return after


# ---- shipping (MIC 發貨流程, 物流跟蹤與查詢; DSC 3(4)3) ----------------------------------------------------------
def check_new_shipment(shipment) -> None:
    """A shipment is prepared for a confirmed order that has no other shipment under way."""
    from models.sales import SalesOrder

    order = SalesOrder._get_collection().find_one({"_id": shipment.order.pk}, {"stage": 1, "owner_unit": 1})
    if order is None or order.get("stage") not in ("confirmed", "in_production"):
        raise Refused(_l("Ship only a confirmed order that has not shipped yet."))
    other = Shipment._get_collection().find_one({"order": shipment.order.pk, "status": {"$ne": "cancelled"},
                                                 "_id": {"$ne": shipment.pk}}, {"number": 1})
    if other is not None:
        raise Refused(_l("This order already has shipment %(number)s.", number=other.get("number") or ""))
    if shipment.owner_unit is None:
        shipment.owner_unit = OrgUnit.objects(pk=order.get("owner_unit")).first()


def ship(shipment_id, actor: Actor, tracking_no: str, now: dt.datetime | None = None) -> dict:
    """The goods left: stock goes down, the order is shipped and its customer-service owner gets the tracking
    number (MIC 發貨流程/3)."""
    from models.sales import SalesOrder

    now = now or utcnow()
    tracking_no = (tracking_no or "").strip()[:64]
    if not tracking_no:
        raise Refused(_l("Enter the tracking number."))
    shipment = Shipment._get_collection().find_one({"_id": shipment_id})
    if shipment is None or shipment.get("status") != "preparing":
        raise Refused(_l("Only a shipment being prepared can be shipped."))
    if not shipment.get("carrier"):
        raise Refused(_l("Choose the carrier first (edit the shipment)."))
    _before, order = audit.guarded_change(SalesOrder, shipment["order"], "stage", ["confirmed", "in_production"],
                                          {"stage": "shipped"}, actor.username, now)
    if order is None:
        raise Refused(_l("Ship only a confirmed order that has not shipped yet."))
    try:
        deduct(order.get("reservations") or [], settings.local_today(now))
    except Refused:
        audit.guarded_change(SalesOrder, order["_id"], "stage", ["shipped"], {"stage": _before["stage"]},
                             actor.username, now)
        raise
    SalesOrder._get_collection().update_one({"_id": order["_id"]}, {"$set": {"reservations": []}})
    _b, after = audit.guarded_change(Shipment, shipment_id, "status", ["preparing"],
                                     {"status": "shipped", "tracking_no": tracking_no, "shipped_at": now},
                                     actor.username, now)
    people = [p for p in (order.get("cs_owner"), order.get("salesperson")) if p is not None]
    notify.post([(people[:1] or people, "shipped", {"title": order.get("number") or "", "tracking": tracking_no},
                  ORDER_PATH.format(id=order["_id"]))], now)
    return after


def deliver(shipment_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The customer has the goods: the shipment and its order are delivered."""
    from models.sales import SalesOrder

    now = now or utcnow()
    _b, after = audit.guarded_change(Shipment, shipment_id, "status", ["shipped", "exception"],
                                     {"status": "delivered", "delivered_at": now}, actor.username, now)
    if after is None:
        raise Refused(_l("Only a shipped shipment can be delivered."))
    audit.guarded_change(SalesOrder, after["order"], "stage", ["shipped"], {"stage": "delivered"}, actor.username, now)
    return after


def report_exception(shipment_id, actor: Actor, text: str, now: dt.datetime | None = None) -> dict:
    """Lost, damaged or late: recorded on the shipment and told to the order's customer service (物流跟蹤/2)."""
    from models.sales import SalesOrder

    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise Refused(_l("Describe the exception."))
    raw = Shipment._get_collection().find_one({"_id": shipment_id}, {"exceptions": 1})
    stamped = f"{settings.to_local(now):%Y-%m-%d %H:%M} {actor.name}: {text}"
    joined = "\n".join(p for p in ((raw or {}).get("exceptions"), stamped) if p)[-2000:]
    _b, after = audit.guarded_change(Shipment, shipment_id, "status", ["shipped", "exception"],
                                     {"status": "exception", "exceptions": joined}, actor.username, now)
    if after is None:
        raise Refused(_l("Only a shipment on its way can have an exception."))
    order = SalesOrder._get_collection().find_one({"_id": after["order"]}, {"cs_owner": 1, "number": 1}) or {}
    notify.post([([order.get("cs_owner")], "shipment_exception", {"title": order.get("number") or "", "text": text},
                  SHIPMENT_PATH.format(id=shipment_id))], now)
    return after


def cancel_shipment(shipment_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    _b, after = audit.guarded_change(Shipment, shipment_id, "status", ["preparing"], {"status": "cancelled"},
                                     actor.username, now)
    if after is None:
        raise Refused(_l("Only a shipment being prepared can be cancelled."))
    return after


# ---- after-sales (MIC 售后問題處理流程, DSC 3(5)) -------------------------------------------------------------
def add_ticket_action(ticket_id, actor: Actor, text: str, now: dt.datetime | None = None) -> dict:
    """What was done (return, exchange, support visit): appended, and the ticket is in progress."""
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise Refused(_l("Describe what was done."))
    entry = TicketAction(at=now, by=actor.name, text=text[:2000]).to_mongo().to_dict()
    _b, after = audit.guarded_change(AfterSalesTicket, ticket_id, "status", ["open", "in_progress"],
                                     {"status": "in_progress"}, actor.username, now, push={"actions": entry})
    if after is None:
        raise Refused(_l("This ticket is resolved; reopen it by editing its status to add actions."))
    return after


# ---- stock alerts (DSC 3(4)2, 5(3)2, MIC 產品庫存管理/3) ---------------------------------------------------------
def slow_query(today: dt.date) -> dict:
    cutoff = _day(today - dt.timedelta(days=settings.get("slow_moving_days")))
    return {"quantity": {"$gt": 0}, "$or": [{"last_shipped_on": {"$lt": cutoff}},
                                            {"last_shipped_on": None, "received_on": {"$lt": cutoff}}]}


ALERTS = (  # key, label, query for a day
    ("replenish", _l("Below the reorder level: replenish"), lambda today: {"replenish": True}),
    ("overstock", _l("Above the maximum level"), lambda today: {"overstock": True}),
    ("held", _l("Held after a failed inspection"), lambda today: {"held": True}),
    ("slow", _l("Slow-moving: decide a disposal"), slow_query),
)


def alerts(scope: dict, today: dt.date) -> list[dict]:
    """The four stock alerts in the user's scope: one query each (at most ALERT_LIMIT rows), one for names."""
    out = []
    for key, label, query in ALERTS:
        where = {"$and": [query(today), scope]} if scope else query(today)
        rows = list(StockItem._get_collection().find(where).sort("warehouse", 1).limit(ALERT_LIMIT))
        out.append({"key": key, "label": label, "rows": rows})
    wanted = {r["product"] for alert in out for r in alert["rows"]}
    names = {p["_id"]: f"{p.get('code', '')} {p.get('name', '')}" for p in Product._get_collection().find(
        {"_id": {"$in": list(wanted)}}, {"code": 1, "name": 1})} if wanted else {}
    for alert in out:
        for row in alert["rows"]:
            row["product_name"] = names.get(row["product"], "")
    return out


def disposal_label(value) -> str:
    return choice_label(DISPOSALS, value)


# ---- reminders (DOMAIN 7) ----------------------------------------------------------------------------
STOCK_KINDS = {"stock_low": _l("Stock below its reorder level"), "stock_high": _l("Stock above its maximum level"),
               "stock_slow": _l("Slow-moving stock")}


def _stock_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Rows below reorder level, above maximum or slow-moving: the head of the owning unit, once per episode."""
    today = _day(settings.local_today(now))
    heads = reminders.unit_heads({r.get("owner_unit") for r in rows})
    names = {p["_id"]: p for p in Product._get_collection().find(
        {"_id": {"$in": list({r["product"] for r in rows})}}, {"code": 1, "name": 1})}
    out = []
    for raw in rows:
        product = names.get(raw["product"], {})
        kind = "stock_low" if raw.get("replenish") else "stock_high" if raw.get("overstock") else "stock_slow"
        title = f"{product.get('code', '')} {product.get('name', '')} @ {raw.get('warehouse', '')}"
        out.append(reminders.item(raw, kind, (heads.get(raw.get("owner_unit")),), {"title": title},
                                  STOCK_PATH.format(id=raw["_id"]), title=title, stamp="flag_reminded_on", value=today,
                                  episode=True))
    return out


stock_reminders = reminders.Source(
    "stock_reminders", StockItem, STOCK_KINDS, _stock_items,
    where=lambda now: {"$or": [{"replenish": True}, {"overstock": True}, slow_query(settings.local_today(now))]},
    fields={"product": 1, "warehouse": 1, "owner_unit": 1, "replenish": 1, "overstock": 1, "flag_reminded_on": 1},
    fresh=lambda now: {"flag_reminded_on": None}, pages=dict.fromkeys(STOCK_KINDS, "/stock/alerts/"),
    mine=lambda person: bool(person.units) and {"owner_unit": {"$in": list(person.units)}})


def _ticket_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """After-sales tickets past their deadline (MIC 售后問題處理流程/3): the handler and the unit's head, once."""
    today = reminders.day(settings.local_today(now))
    heads = reminders.unit_heads({raw.get("owner_unit") for raw in rows})
    return [reminders.item(raw, "ticket_overdue", (raw.get("handler"), heads.get(raw.get("owner_unit"))),
                           {"title": raw.get("number") or "", "date": f"{raw['deadline']:%Y-%m-%d}"},
                           TICKET_PATH.format(id=raw["_id"]), title=raw.get("number") or "", stamp="reminded_on",
                           value=today, when=raw["deadline"], episode=True) for raw in rows]


ticket_reminders = reminders.Source(
    "ticket_reminders", AfterSalesTicket, {"ticket_overdue": _l("After-sales tickets past their deadline")},
    _ticket_items,
    where=lambda now: {"status": {"$in": ["open", "in_progress"]},
                       "deadline": {"$lt": reminders.day(settings.local_today(now))}},
    fields={"number": 1, "handler": 1, "owner_unit": 1, "deadline": 1, "reminded_on": 1},
    fresh=lambda now: {"reminded_on": None}, sort=("deadline", 1), pages={"ticket_overdue": "/after-sales/list/"},
    mine=lambda person: {"$or": [{"handler": person.id}, {"owner_unit": {"$in": list(person.units)}}]})


reminders.SOURCES.extend([stock_reminders, ticket_reminders])
customers.TIMELINE.append(customers.Source(
    AfterSalesTicket, _l("After-sales"), "created_at", "fa-wrench",
    lambda r: f"{r.get('number') or ''} {choice_label(TICKET_KINDS, r.get('kind'))}: "
              f"{(r.get('description') or '')[:60]}",
    lambda r: choice_label(TICKET_STATES, r.get("status"))))
