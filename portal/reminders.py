"""`portal remind`: what is overdue, told to whoever must act; idempotent, safe to run from cron on any host.

Each source finds its overdue items and claims each reminder with a conditional update, so running the
command twice (or on two hosts at once) tells nobody twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bson import ObjectId

from models.approvals import ApprovalRequest
from models.common import utcnow
from models.org import Employee
from portal import approvals, notify, settings


@dataclass
class Sent:
    """One reminder that went out, for the command's report."""

    kind: str
    title: str
    recipients: int
    detail: str


def head_of(employee_id) -> ObjectId | None:
    """The person an employee reports to: their manager, else the head of their unit, else of the unit above."""
    person = Employee._get_collection().find_one({"_id": employee_id}, {"manager": 1, "owner_unit": 1})
    if person is None:
        return None
    if person.get("manager") and person["manager"] != employee_id:
        return person["manager"]
    for unit in approvals.unit_chain(person.get("owner_unit")):
        if unit.get("head") and unit["head"] != employee_id:
            return unit["head"]
    return None


def approval_reminders(now: dt.datetime) -> list[Sent]:
    """Steps past their time limit: the approver is reminded; after the escalation hours, their own head too."""
    escalate_after = dt.timedelta(hours=settings.get("approval_escalation_hours"))
    collection = ApprovalRequest._get_collection()
    out = []
    for raw in collection.find({"state": "pending", "due_at": {"$lt": now}},
                               {"history": 0}).sort("due_at", 1).limit(5000):
        step = raw["steps"][raw["current"]]
        entered = raw["entered_at"]
        link = approvals.REQUEST_PATH.format(id=raw["_id"])
        claimed = collection.update_one({"_id": raw["_id"], "entered_at": entered, "reminded_for": {"$ne": entered}},
                                        {"$set": {"reminded_for": entered}, "$push": _logged(raw, step, "remind", now)})
        if claimed.modified_count:
            people = approvals.current_people(raw, step)
            notify.post([(people, "overdue", approvals.message_params(raw, None, step, ""), link)], now)
            out.append(Sent("overdue", raw["title"], len(people), approvals.step_title(
                step.get("label"), step.get("kind"), step.get("role"))))
        if now < raw["due_at"] + escalate_after:
            continue
        claimed = collection.update_one({"_id": raw["_id"], "entered_at": entered, "escalated_for": {"$ne": entered}},
                                        {"$set": {"escalated_for": entered},
                                         "$push": _logged(raw, step, "escalate", now)})
        if claimed.modified_count:
            approvers = approvals.current_people(raw, step)
            heads = [h for h in dict.fromkeys(head_of(a) for a in approvers) if h is not None and h not in approvers]
            params = {**approvals.message_params(raw, None, step, ""),
                      "approver": step.get("approver_name") or approvals.step_title(None, "role", step.get("role"))}
            notify.post([(heads, "escalated", params, link)], now)
            out.append(Sent("escalated", raw["title"], len(heads), params["approver"]))
    return out


_SCHEDULER = approvals.Actor(None, "portal remind", "cli:remind")


def _logged(raw: dict, step: dict, action: str, now) -> dict:
    """The history entry of a reminder, pushed by the same update that claims it."""
    return {"history": approvals.history_entry(_SCHEDULER, action, now, raw["current"], step, raw.get("round", 1))}


def day(date: dt.date) -> dt.datetime:
    """A local date as stored in a reminder stamp (MongoDB has no date type)."""
    return dt.datetime(date.year, date.month, date.day)


def unit_heads(unit_ids) -> dict:
    """Each unit's head, or the head of the nearest unit above it that has one."""
    return {unit: next((u["head"] for u in approvals.unit_chain(unit) if u.get("head")), None) for unit in unit_ids}


def once(now: dt.datetime, document, where: dict, stamp: str, value, fields: dict, message,
         limit: int = 5000) -> list[Sent]:
    """Remind about each record matching `where` once per `value` of its `stamp` field.

    The reminder is claimed by one conditional update (`stamp` != value → value), so a second run, or a run on
    another host at the same moment, tells nobody twice. `message(raw)` gives (people, kind, params, link) of
    the notice; people who are None or named twice are dropped.
    """
    collection = document._get_collection()
    out = []
    for raw in collection.find({"$and": [where, {stamp: {"$ne": value}}]}, fields).limit(limit):
        if not collection.update_one({"_id": raw["_id"], stamp: {"$ne": value}},
                                     {"$set": {stamp: value}}).modified_count:
            continue
        people, kind, params, link = message(raw)
        people = [p for p in dict.fromkeys(people) if p is not None]
        notify.post([(people, kind, params, link)], now)
        out.append(Sent(kind, str(params.get("title", "")), len(people), ""))
    return out


SOURCES = [approval_reminders]  # later areas add theirs here


def run(now: dt.datetime | None = None) -> tuple[list[Sent], tuple[int, int]]:
    """Every source once, then the e-mails still owed; returns what was sent and (mailed, mail failures)."""
    now = now or utcnow()
    sent = [item for source in SOURCES for item in source(now)]
    return sent, notify.deliver()

