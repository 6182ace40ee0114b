"""Customer rules (DOMAIN 3.2): who sees a contact's phone, complaint deadlines and handling, the customer's
timeline, survey analysis, and the area's reminders. No Flask here except the signed-in user's scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import DateField, ValidationError

from models.common import choice_label, field_error, utcnow
from models.customers import (
    COMPLAINT_STATUSES,
    INQUIRY_TOPICS,
    OPEN_COMPLAINT,
    RETURN_METHODS,
    SATISFACTION,
    VISIT_STATUSES,
    Complaint,
    Customer,
    CustomerVisit,
    HandlingStep,
    Inquiry,
    Negotiation,
    ReturnVisit,
    SurveyResponse,
    is_masked,
    mask_email,
    mask_phone,
)
from models.org import OrgUnit
from portal import audit, notify, reminders, scope, settings
from portal.approvals import Actor, Refused
from portal.compat import format_local

CONTACT_PERMISSION = ("can_contacts", "Customer")  # "rights on the area": a role an Admin grants it to
COMPLAINT_PATH = "/complaints/show/{id}"
CUSTOMER_PATH = "/customers/show/{id}"
VISIT_PATH = "/customer-visits/show/{id}"
RETURN_VISIT_PATH = "/return-visits/show/{id}"


def _id(value):
    return getattr(value, "pk", getattr(value, "id", value))


# ---- confidentiality (DSC 7(1)2) ------------------------------------------------------------------------
def headed_subtree() -> set:
    """Units the signed-in user heads or deputises for, and every unit below them (one read per request)."""
    from portal.security import request_cache

    cache = request_cache()
    if "headed" not in cache:
        me = scope.current_employee_id()
        cache["headed"] = set() if me is None else {
            u["_id"] for u in OrgUnit._get_collection().find(
                {"$or": [{"head": me}, {"deputy_heads": me}]}, {"_id": 1})}
        if cache["headed"]:
            cache["headed"] |= {u["_id"] for u in OrgUnit._get_collection().find(
                {"ancestors": {"$in": list(cache["headed"])}}, {"_id": 1})}
    return cache["headed"]


def may_see_contacts(customer, has_access) -> bool:
    """Full contacts for the owner, the dedicated owner, the heads over the owner's unit, Admin, and roles
    holding `can_contacts` on Customer; everyone else sees them masked. Reads ids only (no dereferencing),
    so a list page pays at most two queries for any number of rows."""
    roles = scope.role_names()
    if "Admin" in roles or has_access(*CONTACT_PERMISSION):
        return True
    me = scope.current_employee_id()
    data = customer._data
    if me is not None and me in (_id(data.get("owner")), _id(data.get("key_owner"))):
        return True
    return "DeptHead" in roles and _id(data.get("owner_unit")) in headed_subtree()


def mask_contacts(customer) -> None:
    """Hide phone and e-mail in this copy, which can then no longer be saved (Customer.clean refuses it)."""
    for contact in customer.contacts or []:
        contact.phone, contact.email = mask_phone(contact.phone), mask_email(contact.email)
    customer._contacts_masked = True


HAND_OVER_FIELDS = ("owner", "key_account", "key_owner")


def refuse_hand_over(changed) -> None:
    """Someone who sees a customer's contacts masked may not hand the customer over (the form and the import),
    or anyone could make themselves its owner and read the numbers. `changed`: the fields being changed."""
    handed_over = set(HAND_OVER_FIELDS) & set(changed)
    if handed_over:
        raise field_error(sorted(handed_over)[0], _l("Only the owner, the dedicated owner or their department "
                                                     "head can hand this customer over."))


def restore_contacts(customer) -> None:
    """After an edit by someone who saw masked contacts: a value left as shown keeps the stored one. They may
    not hand the customer over (`refuse_hand_over`)."""
    refuse_hand_over(customer._get_changed_fields())
    customer._contacts_masked = False
    stored = (Customer._get_collection().find_one({"_id": customer.pk}, {"contacts": 1}) or {}).get("contacts") or []
    for index, contact in enumerate(customer.contacts or []):
        for name, mask in (("phone", mask_phone), ("email", mask_email)):
            value = getattr(contact, name)
            if is_masked(value):
                original = _original(stored, index, contact.name, name, mask, value)
                if original is not None:
                    setattr(contact, name, original)  # else Customer.clean asks for the full value


def _original(stored: list[dict], index: int, person: str, name: str, mask, value: str) -> str | None:
    """The stored value a masked one stands for: the only stored contact whose value masks to it, else the
    one of the same name, else the one in the same row; None when that still leaves a doubt."""
    candidates = [c for c in stored if c.get(name) and mask(c[name]) == value]
    for narrow in (lambda c: True, lambda c: c.get("name") == person,
                   lambda c: index < len(stored) and c is stored[index]):
        candidates = [c for c in candidates if narrow(c)]
        if len({c[name] for c in candidates}) == 1:
            return candidates[0][name]
    return None


def guard_import(customer, stored: dict, has_access) -> None:
    """An imported row over the stored customer `stored` (raw), for a user who would see its contacts masked:
    what the form does for them. A phone or e-mail on file is kept whatever the file says (compared and written
    as stored, so that a dry run's "unchanged" cannot confirm a guessed number), and the customer cannot be
    handed over (`refuse_hand_over`, raised as a ValidationError on that field)."""
    if may_see_contacts(Customer._from_son(stored), has_access):
        return
    kept = stored.get("contacts") or []
    for index, contact in enumerate(customer.contacts or []):
        for name in ("phone", "email"):
            if index < len(kept) and kept[index].get(name):
                setattr(contact, name, kept[index][name])
    new = customer.to_mongo()
    refuse_hand_over(f for f in HAND_OVER_FIELDS if (new.get(f) or None) != (stored.get(f) or None))


def mark_verified(customer_id, actor: Actor, today: dt.date) -> None:
    """The owner has re-checked the file (BRD 5(2)3)."""
    at = dt.datetime.combine(today, dt.time())
    raw = Customer._get_collection().find_one_and_update(
        {"_id": customer_id}, {"$set": {"last_verified_on": at, "updated_at": utcnow(), "updated_by": actor.username},
                               "$unset": {"verify_reminded_on": ""}, "$inc": {"version": 1}},
        projection={"name": 1, "code": 1})
    if raw is None:
        raise Refused(_l("This customer no longer exists."))
    audit.record_state(Customer, raw, "last_verified_on", "", today.isoformat(), actor.username)


# ---- complaints (BRD 5(1), DSC 3(5)2, MIC 客戶投訴處理) ------------------------------------------------
def apply_deadline(complaint, actor: Actor) -> None:
    """The response time follows the severity's setting when the complaint is new or its severity changes;
    a new complaint's log starts with its receipt."""
    new = complaint._created or complaint.pk is None
    if complaint.response_hours is None or new or "severity" in complaint._get_changed_fields():
        complaint.response_hours = settings.get(f"complaint_hours_{complaint.severity or 'normal'}")
    if new and not complaint.log:
        complaint.log = [HandlingStep(**_log_entry(actor, "received", "", utcnow()))]


def check_editable(complaint, roles) -> None:
    """A closed complaint is read-only (reopen it first); Admin may still correct it."""
    if complaint.status == "closed" and "Admin" not in roles:
        raise ValidationError(str(_l("A closed complaint is read-only; reopen it to change it.")))


def complaint_received(complaint, actor: Actor, now: dt.datetime | None = None) -> None:
    """Pass a new complaint to its handler and the head of the department concerned (BRD 5(1)2)."""
    now = now or utcnow()
    unit = OrgUnit._get_collection().find_one({"_id": _id(complaint.responsible_unit)}, {"head": 1}) or {}
    people = [p for p in (_id(complaint.handler), unit.get("head")) if p is not None and p != actor.employee_id]
    notify.post([(people, "complaint_assigned", _complaint_params(complaint.number, complaint.due_at),
                  COMPLAINT_PATH.format(id=complaint.pk))], now)


def _complaint_params(number, due_at) -> dict:
    local = settings.to_local(due_at)
    return {"title": number or "", "due": f"{local:%Y-%m-%d %H:%M}" if local else ""}


def _log_entry(actor: Actor, action: str, note: str, now) -> dict:
    return {"at": now, "by": actor.name, "action": action, "note": note}


def _step(complaint_id, actor: Actor, action: str, note: str, allowed: tuple[str, ...], sets: dict,
          now: dt.datetime, refusal) -> dict:
    """One change of a complaint: conditional on its status, with its log line, in one write."""
    before, after = audit.guarded_change(Complaint, complaint_id, "status", allowed, sets, actor.username, now,
                                         push={"log": _log_entry(actor, action, note, now)})
    if before is None:
        raise Refused(_l("This complaint no longer exists."))
    if after is None:
        raise Refused(refusal)
    return after


def log_step(complaint_id, actor: Actor, note: str, now: dt.datetime | None = None) -> dict:
    """A handling step (investigation, contact with the customer): the complaint is then in progress."""
    note = (note or "").strip()
    if not note:
        raise Refused(_l("Describe the handling step."))
    return _step(complaint_id, actor, "note", note[:5000], OPEN_COMPLAINT, {"status": "in_progress"},
                 now or utcnow(), _l("This complaint is already answered; reopen it to add steps."))


def answer(complaint_id, actor: Actor, result: str, now: dt.datetime | None = None) -> dict:
    """The customer has the outcome: the handling time and whether it was in time are recorded (BRD 5(1)3)."""
    now = now or utcnow()
    result = (result or "").strip()
    if not result:
        raise Refused(_l("Write the result given to the customer."))
    raw = Complaint._get_collection().find_one({"_id": complaint_id}, {"received_at": 1, "due_at": 1})
    if raw is None:
        raise Refused(_l("This complaint no longer exists."))
    hours = Decimal((now - raw["received_at"]).total_seconds() / 3600).quantize(Decimal("0.1"), ROUND_HALF_UP)
    on_time = raw.get("due_at") is None or now <= raw["due_at"]
    return _step(complaint_id, actor, "answer", result[:5000], OPEN_COMPLAINT,
                 {"status": "answered", "result": result[:5000], "answered_at": now, "handling_hours": float(hours),
                  "on_time": on_time}, now, _l("This complaint is already answered."))


def close(complaint_id, actor: Actor, satisfaction: str, note: str = "", now: dt.datetime | None = None) -> dict:
    """Closed once the follow-up has asked the customer how satisfied they are with the resolution (SOC 7.3)."""
    if satisfaction not in dict(SATISFACTION):
        raise Refused(_l("Record the customer's satisfaction with the resolution before closing."))
    now = now or utcnow()
    return _step(complaint_id, actor, "close", (note or "").strip()[:5000] or choice_label(SATISFACTION, satisfaction),
                 ("answered",), {"status": "closed", "satisfaction": satisfaction, "closed_at": now}, now,
                 _l("Only an answered complaint can be closed."))


def reopen(complaint_id, actor: Actor, note: str, now: dt.datetime | None = None) -> dict:
    """The customer is not satisfied: back in progress, with the reason in the log."""
    note = (note or "").strip()
    if not note:
        raise Refused(_l("Say why the complaint is reopened."))
    return _step(complaint_id, actor, "reopen", note[:5000], ("answered", "closed"),
                 {"status": "in_progress", "closed_at": None, "satisfaction": None, "overdue_reminded_at": None},
                 now or utcnow(),
                 _l("Only an answered or closed complaint can be reopened."))


# ---- the customer's timeline (DSC 7(1)1, SOC 7.1) -------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One kind of record on a customer's timeline."""

    document: type
    label: object
    date_field: str
    icon: str
    title: object  # raw document -> one line
    state: object = None  # raw document -> a short status, or None


def _date(value) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time()) if isinstance(value, dt.date) else None


def _average(raw) -> str:
    scores = [s.get("score") for s in raw.get("scores") or [] if s.get("score")]
    return f"{sum(scores) / len(scores):.1f}" if scores else ""


TIMELINE = [  # later areas (orders, contracts, after-sales tickets) add theirs
    Source(Inquiry, _l("Inquiry"), "received_at", "fa-question-circle",
           lambda r: f"{choice_label(INQUIRY_TOPICS, r.get('topic'))}: {(r.get('content') or '')[:80]}",
           lambda r: str(_l("Answered")) if r.get("answer") else str(_l("Open"))),
    Source(Complaint, _l("Complaint"), "received_at", "fa-exclamation-triangle",
           lambda r: f"{r.get('number') or ''} {(r.get('content') or '')[:80]}",
           lambda r: choice_label(COMPLAINT_STATUSES, r.get("status"))),
    Source(CustomerVisit, _l("Visit"), "planned_at", "fa-handshake-o",
           lambda r: (r.get("purpose") or "")[:80], lambda r: choice_label(VISIT_STATUSES, r.get("status"))),
    Source(Negotiation, _l("Negotiation"), "held_on", "fa-comments",
           lambda r: f"{(r.get('proposal') or '')[:60]} → {(r.get('consensus') or '')[:40]}"),
    Source(ReturnVisit, _l("Return visit"), "planned_on", "fa-phone",
           lambda r: f"{choice_label(RETURN_METHODS, r.get('method'))} {(r.get('findings') or '')[:70]}".strip(),
           lambda r: choice_label(VISIT_STATUSES, r.get("status"))),
    Source(SurveyResponse, _l("Survey answer"), "answered_on", "fa-star",
           lambda r: str(_l("Average score %(score)s", score=_average(r))), None),
]


def timeline(customer_id, limit: int = 50) -> list[dict]:
    """Every contact with the customer, newest first: one query per kind of record."""
    entries = []
    for source in TIMELINE:
        for raw in (source.document._get_collection().find({"customer": customer_id}, {"log": 0, "contacts": 0})
                    .sort(source.date_field, -1).limit(limit)):
            at = _date(raw.get(source.date_field))
            whole_day = isinstance(source.document._fields[source.date_field], DateField)
            entries.append({"source": source, "raw": raw, "at": at, "title": source.title(raw),
                            "when": (f"{at:%Y-%m-%d}" if whole_day else format_local(at)) if at else "",
                            "state": source.state(raw) if source.state else ""})
    entries.sort(key=lambda e: e["at"] or dt.datetime.min, reverse=True)
    return entries[:limit]


# ---- survey analysis (BRD 5(4)3, SOC 7.2) --------------------------------------------------------------
def survey_analysis(survey) -> dict:
    """Per question: answers, average and how many gave each score 1-5; two queries for any number of answers."""
    collection = SurveyResponse._get_collection()
    counts: dict[str, list[int]] = {q: [0] * 5 for q in survey.questions or []}
    for row in collection.aggregate([{"$match": {"survey": survey.pk}}, {"$unwind": "$scores"},
                                     {"$group": {"_id": {"q": "$scores.question", "s": "$scores.score"},
                                                 "n": {"$sum": 1}}}]):
        question, score = row["_id"]["q"], row["_id"]["s"]
        if question in counts and isinstance(score, int) and 1 <= score <= 5:
            counts[question][score - 1] += row["n"]
    rows = []
    for question, dist in counts.items():
        answers = sum(dist)
        average = sum((i + 1) * n for i, n in enumerate(dist)) / answers if answers else None
        rows.append({"question": question, "answers": answers, "average": average, "distribution": dist,
                     "shares": [round(100 * n / answers) if answers else 0 for n in dist]})
    averages = [r["average"] for r in rows if r["average"] is not None]
    return {"responses": collection.count_documents({"survey": survey.pk}), "questions": rows,
            "average": sum(averages) / len(averages) if averages else None,
            "measures_open": sum(1 for m in survey.measures or [] if m.state != "done"),
            "measures_done": sum(1 for m in survey.measures or [] if m.state == "done")}


def return_visit_rate(units, start: dt.date, end: dt.date) -> dict:
    """Return visits planned in a period and how many were done: the completion rate of the CS KPI (BRD 5(3)1)."""
    match = {"planned_on": {"$gte": _date(start), "$lte": _date(end)}, "status": {"$ne": "cancelled"}}
    if units is not None:
        match["owner_unit"] = {"$in": list(units)}
    planned = done = 0
    for row in ReturnVisit._get_collection().aggregate([{"$match": match},
                                                        {"$group": {"_id": "$status", "n": {"$sum": 1}}}]):
        planned += row["n"]
        done += row["n"] if row["_id"] == "done" else 0
    return {"planned": planned, "done": done, "rate": round(100 * done / planned) if planned else None}


# ---- reminders (DOMAIN 7; BRD 5(1)3, 5(2)3, 5(3)1) ---------------------------------------------------------
def _complaint_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Complaints past their response deadline: the handler and the responsible department's head, once."""
    heads = {u["_id"]: u.get("head") for u in OrgUnit._get_collection().find(
        {"_id": {"$in": list({raw.get("responsible_unit") for raw in rows})}}, {"head": 1})}
    return [reminders.item(raw, "complaint_overdue", (raw.get("handler"), heads.get(raw.get("responsible_unit"))),
                           _complaint_params(raw.get("number"), raw.get("due_at")),
                           COMPLAINT_PATH.format(id=raw["_id"]), title=raw.get("number") or "",
                           stamp="overdue_reminded_at", value=now, when=reminders.local(raw.get("due_at")),
                           episode=True)
            for raw in rows]


complaint_reminders = reminders.Source(
    "complaint_reminders", Complaint, {"complaint_overdue": _l("Complaints past their response deadline")},
    _complaint_items, where=lambda now: {"status": {"$in": list(OPEN_COMPLAINT)}, "due_at": {"$lt": now}},
    fields={"number": 1, "handler": 1, "responsible_unit": 1, "due_at": 1, "overdue_reminded_at": 1},
    fresh=lambda now: {"overdue_reminded_at": None}, sort=("due_at", 1),
    pages={"complaint_overdue": "/complaints/list/"},
    mine=lambda person: {"$or": [{"handler": person.id}, {"responsible_unit": {"$in": list(person.units)}}]})


def _stale(now: dt.datetime) -> dict:
    cutoff = dt.datetime.combine(settings.local_today(now) - dt.timedelta(days=settings.get("customer_verify_days")),
                                 dt.time())
    return {"$or": [{"last_verified_on": {"$lt": cutoff}}, {"last_verified_on": None, "created_at": {"$lt": cutoff}}],
            "status": {"$ne": "lost"}}


def _verify_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Customer files not re-checked for N days: their owner (and dedicated owner) is asked once per period."""
    stamp = dt.datetime.combine(settings.local_today(now), dt.time())
    out = []
    for raw in rows:
        last = raw.get("last_verified_on")
        out.append(reminders.item(raw, "customer_verify", (raw.get("owner"), raw.get("key_owner")),
                                  {"title": f"{raw.get('name')} ({raw.get('code')})",
                                   "date": f"{last:%Y-%m-%d}" if last else "—"}, CUSTOMER_PATH.format(id=raw["_id"]),
                                  title=raw.get("code") or "", stamp="verify_reminded_on", value=stamp, when=last,
                                  episode=True))
    return out


verify_reminders = reminders.Source(
    "verify_reminders", Customer, {"customer_verify": _l("Customer files to re-check")}, _verify_items,
    where=_stale, fields={"name": 1, "code": 1, "owner": 1, "key_owner": 1, "last_verified_on": 1,
                          "verify_reminded_on": 1},
    fresh=lambda now: {"verify_reminded_on": None}, pages={"customer_verify": "/customers/list/"},
    mine=lambda person: {"$or": [{"owner": person.id}, {"key_owner": person.id}]})

_VISITS = ((CustomerVisit, "planned_at", "visit_due", VISIT_PATH),
           (ReturnVisit, "planned_on", "return_visit_due", RETURN_VISIT_PATH))


def _visits_read(now: dt.datetime, fresh: bool, narrow: dict | None) -> list[dict]:
    """Visits due within a day and return visits due by the end of today, not done (one query each)."""
    ends = {CustomerVisit: now + dt.timedelta(hours=24),
            ReturnVisit: dt.datetime.combine(settings.local_today(now), dt.time())}
    out = []
    for document, date_field, _kind, _path in _VISITS:
        where = {"status": "planned", date_field: {"$lte": ends[document]}, **({"reminded_at": None} if fresh else {}),
                 **(narrow or {})}
        out += [{**raw, "_document": document} for raw in document._get_collection().find(
            where, {"owner": 1, "customer": 1, date_field: 1, "reminded_at": 1}).sort(date_field, 1).limit(5000)]
    return out


def _visit_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Their owner, once."""
    names = {c["_id"]: c.get("name", "") for c in Customer._get_collection().find(
        {"_id": {"$in": list({raw.get("customer") for raw in rows})}}, {"name": 1})}
    out = []
    for document, date_field, kind, path in _VISITS:
        for raw in (r for r in rows if r["_document"] is document):
            when, name = raw.get(date_field), names.get(raw.get("customer"), "")
            due = reminders.item(raw, kind, (raw.get("owner"),), {"title": name,
                                                                  "date": f"{when:%Y-%m-%d}" if when else ""},
                                 path.format(id=raw["_id"]), title=name, stamp="reminded_at", value=now,
                                 when=reminders.local(when) if document is CustomerVisit else when, episode=True)
            due.document = document
            out.append(due)
    return out


visit_reminders = reminders.Source(
    "visit_reminders", CustomerVisit, {"visit_due": _l("Customer visits due"),
                                       "return_visit_due": _l("Return visits due")}, _visit_items, rows=_visits_read,
    pages={"visit_due": "/customer-visits/list/?_flt_0_status=planned",
           "return_visit_due": "/return-visits/list/?_flt_0_status=planned"},
    mine=lambda person: {"owner": person.id})


reminders.SOURCES.extend([complaint_reminders, verify_reminders, visit_reminders])
