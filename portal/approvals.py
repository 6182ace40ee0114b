"""The approval engine (DOMAIN 4). Routes are data; approvers are resolved from the org tree at submission;
every change of a request is one conditional single-document update that also appends to its history, so
concurrent clicks produce exactly one decision. No Flask here: callers pass an `Actor`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bson import ObjectId
from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.approvals import (
    APPROVER_KINDS,
    APPROVER_ROLES,
    DOC_TRANSITIONS,
    EDITABLE_STATUSES,
    ApprovalDelegation,
    ApprovalRequest,
    ApprovalRoute,
    HistoryEntry,
    StepState,
)
from models.common import choice_label, money, utcnow
from models.org import Employee, OrgUnit
from models.users import PortalUser
from portal import audit, notify, settings
from portal.compat import flatten_errors

URGE_INTERVAL = dt.timedelta(hours=1)
ALL_SEEING = frozenset({"Admin", "Auditor"})
BRANCH_KINDS = frozenset({"branch", "center", "company"})
REQUEST_PATH = "/approvals/request/{id}"


@dataclass(frozen=True)
class Actor:
    """Who acts: their Employee id (None when the login is not linked), display name, login and roles."""

    employee_id: ObjectId | None
    name: str
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)


class Refused(Exception):
    """Why an action was not taken, in words fit to show the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Handler:
    """What the engine needs to know about one kind of approvable document."""

    document: type
    all_roles: frozenset[str]
    on_submit: Callable | None = None  # after the document is claimed; may raise Refused to undo the submit
    on_approved: Callable | None = None  # after the final approval: on_approved(doc_id, now)
    prepare: Callable | None = None  # before a submit is checked: brings derived fields up to date (prepare(doc))


HANDLERS: dict[str, Handler] = {}


def register(document, all_roles: Iterable[str] = (), on_submit=None, on_approved=None, prepare=None) -> None:
    """Make a document class approvable; `all_roles` may open every request of that kind."""
    HANDLERS[document.__name__] = Handler(document, frozenset(all_roles) | ALL_SEEING, on_submit, on_approved,
                                          prepare)


def step_title(label: str | None, kind: str | None, role: str | None) -> str:
    """A step's name: its own label, else the role or the kind of approver, translated."""
    if label:
        return label
    if kind == "role" and role:
        return choice_label(APPROVER_ROLES, role)
    return choice_label(APPROVER_KINDS, kind)


# ---- resolution of approvers ---------------------------------------------------------------------
def unit_chain(unit_id) -> list[dict]:
    """The unit and every unit above it, nearest first (two reads)."""
    units = OrgUnit._get_collection()
    own = units.find_one({"_id": unit_id}, {"ancestors": 1, "head": 1, "kind": 1, "name": 1})
    if own is None:
        return []
    above = {u["_id"]: u for u in units.find({"_id": {"$in": own.get("ancestors") or []}},
                                              {"head": 1, "kind": 1, "name": 1})}
    return [own, *(above[a] for a in reversed(own.get("ancestors") or []) if a in above)]


def _applies(step, amount, doc=None) -> bool:
    if step.condition == "always":
        return True
    if step.condition == "over_credit_limit":  # the document says whether its customer is over the limit
        return bool(getattr(doc, "over_credit_limit", False))
    threshold = settings.get(step.threshold_setting) if step.threshold_setting else step.threshold
    value = money(amount or 0)
    return value > money(threshold) if step.condition == "amount_above" else value <= money(threshold)


_ROLE_IDS: dict[tuple[str, str], ObjectId] = {}  # (database.collection, role name) -> the role's id


def _role_id(role: str):
    roles = PortalUser._fields["roles"].field.document_type._get_collection()
    key = (roles.full_name, role)  # per database: one process may serve (or test, or bench) more than one
    if key not in _ROLE_IDS:
        found = roles.find_one({"name": role}, {"_id": 1})
        if found is None:
            return None
        _ROLE_IDS[key] = found["_id"]
    return _ROLE_IDS[key]


def role_holders(role: str, exclude: Iterable = ()) -> list[ObjectId]:
    """Employees whose active login holds `role`, except `exclude`."""
    role_id = _role_id(role)
    if role_id is None:
        return []
    skip = set(exclude)
    rows = PortalUser._get_collection().find({"roles": role_id, "active": True, "employee": {"$ne": None}},
                                             {"employee": 1})
    return [r["employee"] for r in rows if r["employee"] not in skip]


def resolve_steps(route: ApprovalRoute, doc, requester_id, submitter_id=None) -> list[dict]:
    """The steps of `route` that apply to `doc`, each with its approver found in the org tree. Neither the
    requester nor whoever submits for them (maker and checker) approves: their step goes one level up."""
    makers = {requester_id, submitter_id} - {None}
    chain = unit_chain(getattr(doc.owner_unit, "pk", None))
    amount = doc.approval_amount()
    steps, assigned = [], []
    for rs in route.steps:
        if not _applies(rs, amount, doc):
            continue
        base = {"label": rs.label or "", "kind": rs.approver, "role": rs.role, "time_limit_hours": rs.time_limit_hours,
                "state": "waiting"}
        if rs.approver == "role":
            if not role_holders(rs.role, exclude=makers):
                raise Refused(_l("Nobody but you holds the role %(role)s: step %(step)s cannot be decided.",
                                 role=choice_label(APPROVER_ROLES, rs.role), step=len(steps) + 1))
            steps.append(base)
            continue
        approver, note = _person_for(rs, chain, makers)
        if approver is None:
            raise Refused(_l("Step %(step)s has no approver: no unit above %(unit)s has a head. Ask HR to set one.",
                             step=len(steps) + 1, unit=chain[0]["name"] if chain else "?"))
        if approver in assigned:  # the same person already approves an earlier step: they decide once
            steps.append({**base, "approver": approver, "state": "skipped", "note": "same_approver"})
            continue
        assigned.append(approver)
        steps.append({**base, "approver": approver, "note": note})
    if not any(s["state"] == "waiting" for s in steps):
        raise Refused(_l("No step of route %(route)s applies to this document.", route=route.code))
    names = {e["_id"]: e["name"] for e in Employee._get_collection().find(
        {"_id": {"$in": [s["approver"] for s in steps if s.get("approver")]}}, {"name": 1})}
    for step in steps:
        if step.get("approver"):
            step["approver_name"] = names.get(step["approver"], "")
    return steps


def _person_for(rs, chain: list[dict], makers: set) -> tuple[ObjectId | None, str | None]:
    """The approver of an org-tree or named step; a maker never approves: the step goes one level up."""
    if rs.approver == "person" and rs.person is not None and rs.person.pk not in makers:
        return rs.person.pk, None
    start = 0
    if rs.approver == "branch_head":
        start = next((i for i, u in enumerate(chain) if u.get("kind") in BRANCH_KINDS), len(chain))
    moved = False
    for unit in chain[start:]:
        head = unit.get("head")
        if head is not None and head not in makers:
            return head, ("moved_up" if moved else None)
        moved = moved or head in makers
    return None, None


# ---- the document side: status changes are conditional updates ----------------------------------
def transition(document_class, doc_id, action: str, now: dt.datetime, extra: dict | None = None) -> bool:
    """Apply one transition of DOC_TRANSITIONS to a document; False when it is not in a source state."""
    sources, target = DOC_TRANSITIONS[action]
    before = document_class._get_collection().find_one_and_update(
        {"_id": doc_id, "status": {"$in": sorted(sources)}},
        {"$set": {"status": target, "updated_at": now, **(extra or {})}, "$inc": {"version": 1}})
    if before is None:
        return False
    audit.record_state(document_class, before, "status", before.get("status"), target, audit.current_actor())
    return True


def _requester_id(doc, actor: Actor):
    value = doc._data.get(doc.requester_field)
    if value is not None and not isinstance(value, ObjectId):
        value = getattr(value, "pk", None) or getattr(value, "id", None)
    return value or actor.employee_id


def submit(doc, actor: Actor, now: dt.datetime | None = None) -> ObjectId:
    """Send a draft (or returned) document on its route; return the request id."""
    now = now or utcnow()
    name = type(doc).__name__
    handler = HANDLERS[name]
    if doc.status not in EDITABLE_STATUSES:
        raise Refused(_l("Only a draft or a document returned for revision can be submitted."))
    try:
        if handler.prepare is not None:
            handler.prepare(doc)
        doc.validate()
        doc.check_submittable(settings.local_today(now))
    except ValidationError as exc:
        raise Refused("; ".join(dict.fromkeys(flatten_errors(exc).values()))) from None
    requester = _requester_id(doc, actor)
    if requester is None:
        raise Refused(_l("Your login is not linked to an employee record."))
    route = ApprovalRoute.objects(document=name, active=True).first()
    if route is None:
        raise Refused(_l("There is no active approval route for this kind of document. Ask an administrator."))
    steps = resolve_steps(route, doc, requester, actor.employee_id)
    extra = {"submitted_at": now}
    if doc.requester_field == "requested_by" and doc._data.get("requested_by") is None:
        extra["requested_by"] = requester
    previous = doc.status
    if not transition(type(doc), doc.pk, "submit", now, extra):
        raise Refused(_l("Someone else changed this document a moment ago. Reload it and try again."))
    try:
        if handler.on_submit is not None:
            handler.on_submit(doc)
        request_id = _open(doc, route, steps, requester, actor, now)
    except BaseException:
        type(doc)._get_collection().update_one({"_id": doc.pk, "status": "pending"},
                                               {"$set": {"status": previous}, "$inc": {"version": 1}})
        raise
    return request_id


def _open(doc, route, steps: list[dict], requester, actor: Actor, now) -> ObjectId:
    name = type(doc).__name__
    first = next(i for i, s in enumerate(steps) if s["state"] == "waiting")
    steps[first]["state"] = "current"
    requester_name = (Employee._get_collection().find_one({"_id": requester}, {"name": 1}) or {}).get("name", "")
    collection = ApprovalRequest._get_collection()
    existing = collection.find_one({"document": name, "doc_id": doc.pk}, {"state": 1, "round": 1, "seq": 1, "cc": 1})
    current = steps[first]
    state = {
        "title": doc.approval_title()[:200], "amount": _fen(doc.approval_amount()), "route_code": route.code,
        "requester": requester, "requester_name": requester_name, "submitted_by": actor.username,
        "submitter": actor.employee_id,
        "owner_unit": getattr(doc.owner_unit, "pk", None), "state": "pending",
        "steps": [StepState(**s).to_mongo().to_dict() for s in steps], "current": first,
        "current_approver": current.get("approver"), "current_role": current.get("role") if not
        current.get("approver") else None, "entered_at": now,
        "due_at": now + dt.timedelta(hours=current["time_limit_hours"]), "deciders": [], "closed_at": None,
        "participants": sorted({requester, *(s["approver"] for s in steps if s.get("approver")),
                                *((existing or {}).get("cc") or [])}),
        "updated_at": now, "updated_by": actor.username,
    }
    entry = _raw_entry(_entry(actor, "submit", now, None, None, "", round_no=(existing or {}).get("round", 0) + 1))
    if existing is None:
        request_id = ObjectId()
        collection.insert_one({"_id": request_id, "document": name, "doc_id": doc.pk, "round": 1, "seq": 0,
                               "history": [entry], "cc": [], "created_at": now, "created_by": actor.username,
                               "version": 0, **state})
    else:
        result = collection.update_one(
            {"_id": existing["_id"], "seq": existing["seq"], "state": {"$ne": "pending"}},
            {"$set": state, "$inc": {"seq": 1, "round": 1}, "$push": {"history": entry}})
        if result.modified_count != 1:
            raise Refused(_l("This document is already waiting for approval."))
        request_id = existing["_id"]
    type(doc)._get_collection().update_one({"_id": doc.pk}, {"$set": {"approval": request_id}})
    raw = {"_id": request_id, "title": state["title"], "requester": requester, "requester_name": requester_name,
           "deciders": []}
    notify.post([_step_message(raw, current)], now)
    return request_id


def _fen(amount):
    return None if amount is None else int(money(amount) * 100)


def _entry(actor: Actor, action: str, now, step_index, step: dict | None, comment: str, on_behalf=None,
           round_no: int | None = None) -> dict:
    entry = {"at": now, "actor": actor.employee_id, "actor_name": actor.name or actor.username, "action": action,
             "comment": (comment or "").strip()[:2000], "step": step_index}
    if step is not None:
        entry.update(step_label=step.get("label") or "", step_kind=step.get("kind"), step_role=step.get("role"))
    if on_behalf is not None:
        entry["on_behalf_of_name"] = on_behalf[1]
    if round_no is not None:
        entry["round"] = round_no
    return entry


def _raw_entry(entry: dict) -> dict:
    return HistoryEntry(**entry).to_mongo().to_dict()


def history_entry(actor: Actor, action: str, now, step_index, step: dict | None, round_no: int) -> dict:
    """A history entry as stored, for services that push it with their own conditional update."""
    return _raw_entry(_entry(actor, action, now, step_index, step, "", round_no=round_no))


# ---- authority ---------------------------------------------------------------------------------------
def _existing(request_id) -> dict:
    raw = load(request_id)
    if raw is None:
        raise Refused(_l("No such request."))
    return raw


def load(request_id) -> dict | None:
    """A request as stored; a request already read in this call is passed through (its `seq` guards writes)."""
    if isinstance(request_id, dict):
        return request_id
    try:
        oid = ObjectId(str(request_id))
    except Exception:
        return None
    return ApprovalRequest._get_collection().find_one({"_id": oid})


def delegators_for(employee_id, today: dt.date) -> list[ObjectId]:
    """Managers whose approvals `employee_id` receives today as their deputy (DSC 2(2)2)."""
    if employee_id is None:
        return []
    day = dt.datetime.combine(today, dt.time())
    rows = ApprovalDelegation._get_collection().find(
        {"deputy": employee_id, "active": True, "start": {"$lte": day}, "end": {"$gte": day}}, {"delegator": 1})
    return [r["delegator"] for r in rows]


def authority(raw: dict, actor: Actor, today: dt.date | None = None) -> tuple[ObjectId, str] | None:
    """May `actor` decide the current step? Returns None when they act for themselves, (id, name) of the
    manager they act for as deputy, and raises Refused with the reason otherwise."""
    if raw.get("state") != "pending":
        raise Refused(_l("This request is no longer waiting for a decision."))
    me = actor.employee_id
    if me is None:
        raise Refused(_l("Your login is not linked to an employee record."))
    if me == raw["requester"] or me == raw.get("submitter"):
        raise Refused(_l("Nobody approves their own request."))
    if me in (raw.get("deciders") or []):
        raise Refused(_l("You have already decided a step of this request; another person decides this one."))
    step = raw["steps"][raw["current"]]
    if step.get("approver") is not None:
        if step["approver"] == me:
            return None
        if step["approver"] in delegators_for(me, today or settings.local_today()):
            return step["approver"], step.get("approver_name", "")
    elif step.get("role") in actor.roles:
        return None
    raise Refused(_l("This step is waiting for someone else."))


def may_view(raw: dict, actor: Actor) -> bool:
    """Requester, approvers, deputies, CC'd people and the roles that see every request of the kind."""
    handler = HANDLERS.get(raw.get("document"))
    if actor.roles & (handler.all_roles if handler else ALL_SEEING):
        return True
    if actor.employee_id is not None and actor.employee_id in (raw.get("participants") or []):
        return True
    try:
        authority(raw, actor)
    except Refused:
        return False
    return True


# ---- decisions ---------------------------------------------------------------------------------------
def _commit(raw: dict, sets: dict, entries: list[dict], now, actor: Actor, add_to_set: dict | None = None) -> None:
    """The one atomic write of a change: only if nobody changed the request since it was read."""
    entries = [{"round": raw.get("round", 1), **e} for e in entries]
    update = {"$set": {**sets, "updated_at": now, "updated_by": actor.username}, "$inc": {"seq": 1},
              "$push": {"history": {"$each": [_raw_entry(e) for e in entries]}}}
    if add_to_set:
        update["$addToSet"] = add_to_set
    result = ApprovalRequest._get_collection().update_one({"_id": raw["_id"], "seq": raw["seq"]}, update)
    if result.modified_count != 1:
        raise Refused(_l("Someone acted on this request a moment ago. Reload it to see where it stands."))


def decide(request_id, actor: Actor, action: str, comment: str = "", to_step: int | None = None,
           now: dt.datetime | None = None) -> dict:
    """Approve, reject (final) or return (to the requester, or to an earlier step) the current step."""
    if action not in ("approve", "reject", "return"):
        raise Refused(_l("Unknown action."))
    now = now or utcnow()
    raw = _existing(request_id)
    on_behalf = authority(raw, actor, settings.local_today(now))
    if action != "approve" and not (comment or "").strip():
        raise Refused(_l("Give a reason: the requester needs to know why."))
    index = raw["current"]
    steps = [dict(s) for s in raw["steps"]]
    step = steps[index]
    step.update(decided_by=actor.employee_id, decided_by_name=actor.name, decided_at=now,
                on_behalf_of=on_behalf[0] if on_behalf else None,
                on_behalf_of_name=on_behalf[1] if on_behalf else None)
    entry = _entry(actor, action, now, index, step, comment, on_behalf)
    sets: dict = {"steps": steps}
    if action == "approve":
        step["state"] = "approved"
        deciders = [*raw.get("deciders", []), actor.employee_id, *([on_behalf[0]] if on_behalf else [])]
        sets["deciders"] = deciders
        following = next((i for i in range(index + 1, len(steps)) if steps[i]["state"] == "waiting"), None)
        if following is not None:
            sets.update(_enter(steps, following, now))
            _commit(raw, sets, [entry], now, actor)
            notify.post([_step_message({**raw, "deciders": deciders}, steps[following]),
                         ([raw["requester"]], "decided", message_params(raw, actor, step, comment), _link(raw))], now)
            return {**raw, **sets}
        sets.update(state="approved", current=-1, current_approver=None, current_role=None, closed_at=now)
    elif action == "reject":
        step["state"] = "rejected"
        sets.update(state="rejected", current=-1, current_approver=None, current_role=None, closed_at=now)
    elif to_step is not None and 0 <= to_step < index and steps[to_step]["state"] == "approved":
        return _return_to_step(raw, steps, to_step, actor, entry, now, comment)
    elif to_step is not None:
        raise Refused(_l("A request can only go back to a step that was already approved."))
    else:
        step["state"] = "returned"
        sets.update(state="returned", current=-1, current_approver=None, current_role=None, closed_at=now)
    _commit(raw, sets, [entry], now, actor)
    _close_document(raw, action, now)
    kind = {"approve": "approved", "reject": "rejected", "return": "returned"}[action]
    notify.post([([raw["requester"]], kind, message_params(raw, actor, step, comment), _link(raw))], now)
    return {**raw, **sets}


def _return_to_step(raw, steps, target: int, actor, entry, now, comment) -> dict:
    steps[raw["current"]].update(state="waiting", decided_by=None, decided_by_name=None, decided_at=None,
                                 on_behalf_of=None, on_behalf_of_name=None)
    for i in range(target, raw["current"]):
        if steps[i]["state"] != "skipped":
            steps[i].update(state="waiting", decided_by=None, decided_by_name=None, decided_at=None,
                            on_behalf_of=None, on_behalf_of_name=None)
    keep = [x for s in steps[:target] if s["state"] == "approved" for x in (s.get("decided_by"), s.get("on_behalf_of"))
            if x is not None]
    sets = {"steps": steps, "deciders": keep, **_enter(steps, target, now)}
    _commit(raw, sets, [entry], now, actor)
    notify.post([_step_message({**raw, "deciders": keep}, steps[target], "returned", {"comment": comment})], now)
    return {**raw, **sets}


def _enter(steps: list[dict], index: int, now) -> dict:
    """Make step `index` the current one; returns the request fields that say so."""
    step = steps[index]
    step["state"] = "current"
    return {"current": index, "current_approver": step.get("approver"),
            "current_role": None if step.get("approver") else step.get("role"), "entered_at": now,
            "due_at": now + dt.timedelta(hours=step.get("time_limit_hours") or 48)}


def _close_document(raw: dict, action: str, now) -> None:
    handler = HANDLERS[raw["document"]]
    extra = {"decided_at": now} if action in ("approve", "reject") else {}
    if transition(handler.document, raw["doc_id"], action, now, extra) and action == "approve" \
            and handler.on_approved is not None:
        handler.on_approved(raw["doc_id"], now)


def _own_pending(request_id, actor: Actor, not_yours) -> dict:
    """A pending request of `actor` (withdraw and urge are the requester's), or Refused."""
    raw = load(request_id)
    if raw is None or raw.get("state") != "pending":
        raise Refused(_l("This request is no longer waiting for a decision."))
    if actor.employee_id is None or actor.employee_id != raw["requester"]:
        raise Refused(not_yours)
    return raw


def decided_this_round(raw: dict) -> bool:
    """Has anyone approved, returned or rejected a step since the last submission?"""
    round_no = raw.get("round", 1)
    return any(e.get("action") in ("approve", "return", "reject") and e.get("round", 1) == round_no
               for e in raw.get("history", []))


def withdraw(request_id, actor: Actor, comment: str = "", now: dt.datetime | None = None) -> dict:
    """The requester takes a request back before anyone has decided it; the document is editable again."""
    now = now or utcnow()
    raw = _own_pending(request_id, actor, _l("Only the requester can withdraw a request."))
    if decided_this_round(raw):
        raise Refused(_l("Someone has already decided a step: the request can no longer be withdrawn."))
    index = raw["current"]
    steps = [dict(s) for s in raw["steps"]]
    sets = {"steps": steps, "state": "withdrawn", "current": -1, "current_approver": None, "current_role": None,
            "closed_at": now}
    _commit(raw, sets, [_entry(actor, "withdraw", now, index, steps[index], comment)], now, actor)
    _close_document(raw, "withdraw", now)
    notify.post([_step_message(raw, steps[index], "withdrawn", message_params(raw, actor, steps[index], comment))], now)
    return {**raw, **sets}


def eligible_people(raw: dict) -> list[tuple[ObjectId, str]]:
    """Who may take over or be added to the current step: active logins holding DeptHead (or the step's
    role), minus the requester and everyone who already decided a step. (id, name) pairs by name."""
    step = raw["steps"][raw["current"]]
    roles = ["DeptHead"] + ([step["role"]] if step.get("role") else [])
    exclude = {raw["requester"], raw.get("submitter"), *(raw.get("deciders") or []), step.get("approver")}
    ids = {e for role in roles for e in role_holders(role, exclude)}
    rows = Employee._get_collection().find({"_id": {"$in": sorted(ids)}, "status": {"$ne": "left"}}, {"name": 1})
    return sorted(((r["_id"], r["name"]) for r in rows), key=lambda p: p[1])


def _target(raw: dict, employee_id, actor: Actor) -> tuple[ObjectId, str]:
    try:
        oid = ObjectId(str(employee_id))
    except Exception:
        raise Refused(_l("Choose a person.")) from None
    if oid == actor.employee_id:
        raise Refused(_l("Choose someone other than yourself."))
    match = next((p for p in eligible_people(raw) if p[0] == oid), None)
    if match is None:
        raise Refused(_l("That person cannot take this step: they are the requester, have already decided a "
                         "step, or hold no approver role."))
    return match


def _hand_over(request_id, actor: Actor, employee_id, comment: str, now, action: str, kind: str, change) -> dict:
    """Add-sign and transfer: the current approver brings in an eligible person; `change` edits the steps."""
    now = now or utcnow()
    raw = _existing(request_id)
    authority(raw, actor, settings.local_today(now))
    oid, name = _target(raw, employee_id, actor)
    steps = [dict(s) for s in raw["steps"]]
    index = raw["current"]
    sets = {"steps": steps, **change(steps, index, oid, name, now)}
    entry = _entry(actor, action, now, index, steps[index], comment)
    entry["comment"] = f"{name}: {entry['comment']}".rstrip(": ")
    _commit(raw, sets, [entry], now, actor, add_to_set={"participants": oid})
    notify.post([([oid], kind, message_params(raw, actor, steps[index], comment), _link(raw))], now)
    return {**raw, **sets}


def add_sign(request_id, actor: Actor, employee_id, comment: str = "", now: dt.datetime | None = None) -> dict:
    """The current approver adds an approver right after their own step (加签)."""

    def insert(steps, index, oid, name, _now):
        steps.insert(index + 1, StepState(label="", kind="person", approver=oid, approver_name=name, state="waiting",
                                          time_limit_hours=steps[index].get("time_limit_hours") or 48,
                                          note="added").to_mongo().to_dict())
        return {}

    return _hand_over(request_id, actor, employee_id, comment, now, "add_sign", "added", insert)


def transfer(request_id, actor: Actor, employee_id, comment: str = "", now: dt.datetime | None = None) -> dict:
    """Hand the current step to another eligible person (转交); their time limit starts now."""

    def hand(steps, index, oid, name, now):
        steps[index].update(approver=oid, approver_name=name, note="transferred")
        return _enter(steps, index, now)

    return _hand_over(request_id, actor, employee_id, comment, now, "transfer", "transferred", hand)


def copy_to(request_id, actor: Actor, employee_ids: Iterable, comment: str = "",
            now: dt.datetime | None = None) -> list[ObjectId]:
    """CC: let people who need to know follow the request (抄送); the requester or an approver may."""
    now = now or utcnow()
    raw = _existing(request_id)
    if not may_copy(raw, actor):
        raise Refused(_l("Only the requester or an approver can copy a request to others."))
    ids = []
    for value in employee_ids:
        try:
            ids.append(ObjectId(str(value)))
        except Exception:
            raise Refused(_l("Choose a person.")) from None
    found = {e["_id"]: e["name"] for e in Employee._get_collection().find({"_id": {"$in": ids}}, {"name": 1})}
    if not found or len(found) != len(set(ids)):
        raise Refused(_l("Choose a person."))
    new = [i for i in found if i not in (raw.get("cc") or [])]
    if not new:
        raise Refused(_l("They already follow this request."))
    entry = _entry(actor, "cc", now, None, None, ", ".join(found[i] for i in new) + (f": {comment}" if comment else ""))
    _commit(raw, {}, [entry], now, actor, add_to_set={"cc": {"$each": new}, "participants": {"$each": new}})
    notify.post([(new, "cc", message_params(raw, actor, None, comment), _link(raw))], now)
    return new


def may_copy(raw: dict, actor: Actor) -> bool:
    """The requester and the approvers (and their deputies) may copy a request to others; copied people not."""
    me = actor.employee_id
    if me is None:
        return False
    approvers = {s.get(k) for s in raw.get("steps") or [] for k in ("approver", "decided_by")}
    return me in {raw["requester"], raw.get("submitter")} | approvers - {None}


def urge(request_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The requester reminds the current approver; at most once per hour."""
    now = now or utcnow()
    raw = _own_pending(request_id, actor, _l("Only the requester can urge the approver."))
    last = raw.get("last_urged_at")
    if last is not None and now - last < URGE_INTERVAL:
        minutes = max(1, int((URGE_INTERVAL - (now - last)).total_seconds() // 60))
        raise Refused(_l("You urged the approver less than an hour ago. Try again in %(minutes)s minutes.",
                         minutes=minutes))
    step = raw["steps"][raw["current"]]
    result = ApprovalRequest._get_collection().update_one(
        {"_id": raw["_id"], "state": "pending", "last_urged_at": last},
        {"$set": {"last_urged_at": now},
         "$push": {"history": _raw_entry(_entry(actor, "urge", now, raw["current"], step, "",
                                                round_no=raw.get("round", 1)))}})
    if result.modified_count != 1:
        raise Refused(_l("Someone acted on this request a moment ago. Reload it to see where it stands."))
    notify.post([_step_message(raw, step, "urged", message_params(raw, actor, step, ""))], now)
    return raw


def append_history(request_id, actor: Actor, action: str, now, comment: str = "") -> None:
    """Record an event after the route has closed (payment, for one); the history only ever grows."""
    raw = ApprovalRequest._get_collection().find_one({"_id": request_id}, {"round": 1}) or {}
    entry = _raw_entry(_entry(actor, action, now, None, None, comment, round_no=raw.get("round", 1)))
    ApprovalRequest._get_collection().update_one({"_id": request_id}, {"$push": {"history": entry}})


# ---- who is told -------------------------------------------------------------------------------------
def message_params(raw: dict, actor: Actor | None, step: dict | None, comment: str) -> dict:
    params = {"title": raw.get("title", ""), "requester": raw.get("requester_name", "")}
    if actor is not None:
        params["actor"] = actor.name or actor.username
    if step is not None:
        params.update(step_label=step.get("label") or "", step_kind=step.get("kind"), step_role=step.get("role"))
    if comment:
        params["comment"] = comment[:300]
    return params


def _link(raw: dict) -> str:
    return REQUEST_PATH.format(id=raw["_id"])


def current_people(raw: dict, step: dict) -> list[ObjectId]:
    if step.get("approver") is not None:
        return [step["approver"]]
    makers = [raw["requester"], raw.get("submitter")]
    return role_holders(step.get("role"), exclude=[*makers, *(raw.get("deciders") or [])])


def _step_message(raw: dict, step: dict, kind: str = "waiting", params: dict | None = None) -> tuple:
    """A message to whoever decides `step` (the approver, or every holder of the step's role)."""
    return current_people(raw, step), kind, {**message_params(raw, None, step, ""), **(params or {})}, _link(raw)


# ---- lists ----------------------------------------------------------------------------------------------
def inbox_query(actor: Actor, delegators: Iterable = ()) -> dict | None:
    """The requests waiting for `actor` (or for the managers they stand in for)."""
    me = actor.employee_id
    if me is None:
        return None
    ors: list[dict] = [{"current_approver": {"$in": [me, *delegators]}}]
    roles = sorted(r for r, _label in APPROVER_ROLES if r in actor.roles)
    if roles:
        ors.append({"current_role": {"$in": roles}})
    return {"state": "pending", "requester": {"$ne": me}, "submitter": {"$ne": me}, "deciders": {"$ne": me},
            "$or": ors}


def inbox(actor: Actor, today: dt.date, limit: int = 200) -> list[dict]:
    query = inbox_query(actor, delegators_for(actor.employee_id, today))
    if query is None:
        return []
    fields = {"history": 0, "participants": 0, "cc": 0}
    return list(ApprovalRequest._get_collection().find(query, fields).sort("entered_at", 1).limit(limit))


def inbox_count(actor: Actor, delegators: Iterable = ()) -> int:
    query = inbox_query(actor, delegators)
    return 0 if query is None else ApprovalRequest._get_collection().count_documents(query)


def my_requests(actor: Actor, limit: int = 200) -> list[dict]:
    if actor.employee_id is None:
        return []
    return list(ApprovalRequest._get_collection().find({"requester": actor.employee_id},
                                                       {"history": 0, "participants": 0})
                .sort("updated_at", -1).limit(limit))
