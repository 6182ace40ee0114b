"""What needs someone's action now, defined once: behind `portal remind` (which tells each item once) and the home
page (which lists what is still open for the signed-in user), so that the two never disagree (issue 9 item 1).

A `Source` reads the records that are due with ONE query definition and turns the rows, in a fixed number of
queries whatever their number, into `Due` items naming the people who must act. `run()` claims each item with a
conditional update of its stamp before telling its people, so running the command twice (or on two hosts at once)
tells nobody twice; `due_for()` lists the same items for one person without claiming and regardless of the stamp:
the reminder says it once, the home page shows it until it is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from flask_babel import lazy_gettext as _l

from models.approvals import ApprovalRequest
from models.common import utcnow
from models.org import Employee, OrgUnit
from models.users import PortalUser
from portal import approvals, notify, settings


@dataclass
class Sent:
    """One reminder that went out, for the command's report."""

    kind: str
    title: str
    recipients: int
    detail: str


@dataclass
class Due:
    """One record that needs someone's action now, with who must act and how `run()` claims its reminder."""

    kind: str  # the notification kind (notify.MESSAGES); also the home page's group
    title: str  # how the command's report names the record (its number or a name)
    people: tuple  # Employee ids of whoever must act: no None, no repeats
    params: dict  # the message's parameters
    link: str  # the record's page
    record: ObjectId  # the record whose stamp is claimed
    stamp: str  # the field that says the reminder went out...
    value: Any  # ...for this value
    reminded: bool  # told already: run() skips it, the home page still shows it
    when: dt.datetime | None = None  # when it fell due, on the company's clock (a date: its midnight)
    detail: str = ""
    claim: dict = field(default_factory=dict)  # the condition of the claim, when not "stamp != value"
    update: dict = field(default_factory=dict)  # more to write with the claim (an approval's history entry)
    document: type | None = None  # where the record is, when not in its source's collection

    def text(self) -> str:
        """The message in the current language."""
        return notify.text(self.kind, self.params)


def item(raw: dict, kind: str, people: Iterable, params: dict, link: str, *, title: str, stamp: str, value,
         when=None, episode: bool = False, detail: str = "") -> Due:
    """A Due item for the record `raw` (read with its `stamp`). `episode`: the stamp is set once and stays until
    whoever ends the episode empties it, instead of being compared with `value`. `when`: a stored date, or a
    stored time given through `local()`."""
    reminded = raw.get(stamp) is not None if episode else raw.get(stamp) == value
    return Due(kind, title, tuple(dict.fromkeys(p for p in people if p is not None)), params, link, raw["_id"],
               stamp, value, reminded, when, detail, {stamp: None} if episode else {})


@dataclass(frozen=True)
class Person:
    """Whom the home page asks for, with what sources need to read only records that person may act on."""

    id: ObjectId
    roles: frozenset  # the roles of their active login whose holders sources tell (MINE_ROLES)
    units: tuple  # units whose nearest head they may be: the units they head and every unit below
    reports: tuple  # people they may be the head of: their direct reports and everyone in `units`

    def among(self, *ids) -> list:
        return [self.id, *ids]


MINE_ROLES = ("HR", "Legal")  # roles whose holders sources tell as such (approval steps of a role: see _my_approvals)


def person_context(person_id: ObjectId) -> Person:
    """The person's roles, the units they head (and below) and the people who report to them: four queries."""
    logins = PortalUser._get_collection().find({"employee": person_id, "active": True}, {"roles": 1})
    held = {getattr(r, "id", r) for login in logins for r in login.get("roles") or []}
    roles = frozenset(role for role in MINE_ROLES if approvals._role_id(role) in held)
    collection = OrgUnit._get_collection()
    headed = [u["_id"] for u in collection.find({"head": person_id}, {"_id": 1})]
    below = collection.find({"ancestors": {"$in": headed}}, {"_id": 1}) if headed else []
    units = [*headed, *(u["_id"] for u in below)]
    reports = [e["_id"] for e in Employee._get_collection().find(
        {"$or": [{"manager": person_id}, *([{"owner_unit": {"$in": units}}] if units else [])]}, {"_id": 1})]
    return Person(person_id, roles, tuple(dict.fromkeys(units)), tuple(r for r in reports if r != person_id))


@dataclass(eq=False)
class Source:
    """One kind of record that needs someone's action, and the reminder about it.

    `where(now)` is the one definition of "due now" (the stamp left out); `items(now, rows)` names, for the rows
    read, who must act (a fixed number of queries, never one per row). `fresh(now)` narrows the command's read to
    records not reminded yet, where a query can say so. A source with a reading of several queries gives
    `rows(now, fresh, where)` instead of `where`. Called like a function, it sends what is new: `source(now)`.

    `mine(person)` narrows the home page's read to records on which that person may be among the people who act:
    a condition every such record meets (the people are still checked item by item), False when the person can be
    none of them, None to read everything due.
    """

    name: str
    document: type  # the collection whose stamp is claimed
    kinds: dict  # kind -> heading on the home page
    items: Callable[[dt.datetime, list[dict]], list[Due]]
    where: Callable[[dt.datetime], dict] | None = None
    fields: dict | None = None
    fresh: Callable[[dt.datetime], dict] | None = None
    rows: Callable[[dt.datetime, bool, dict | None], list[dict]] | None = None
    mine: Callable[[Person], dict | bool | None] | None = None
    pages: dict = field(default_factory=dict)  # kind -> the list of such records, for a long group
    sort: tuple | None = None
    limit: int = 5000

    def read(self, now: dt.datetime, fresh: bool = False, where: dict | None = None) -> list[dict]:
        """The rows due now (with `fresh`, those not reminded yet where a query can tell): one query."""
        if self.rows is not None:
            return self.rows(now, fresh, where)
        parts = [self.where(now), *([self.fresh(now)] if fresh and self.fresh else []), *([where] if where else [])]
        cursor = self.document._get_collection().find(parts[0] if len(parts) == 1 else {"$and": parts}, self.fields)
        if self.sort:
            cursor = cursor.sort(*self.sort)
        return list(cursor.limit(self.limit))

    def due(self, now: dt.datetime, fresh: bool = False, where: dict | None = None,
            person: Person | None = None) -> list[Due]:
        """The items due now; with `person`, only those on which that person must act."""
        if person is not None and self.mine is not None:
            mine = self.mine(person)
            if mine is False:
                return []
            if mine:
                where = {"$and": [where, mine]} if where else mine
        rows = self.read(now, fresh, where)
        items = self.items(now, rows) if rows else []
        return items if person is None else [due for due in items if person.id in due.people]

    def __call__(self, now: dt.datetime, where: dict | None = None) -> list[Sent]:
        return tell(self.document, self.due(now, fresh=True, where=where), now)


def tell(document, items: Iterable[Due], now: dt.datetime) -> list[Sent]:
    """Claim each item not reminded yet with one conditional update (stamp != value → value), then tell the
    people of those claimed, in one write. A second run, or a run on another host at the same moment, tells
    nobody twice."""
    messages, out = [], []
    for due in items:
        if due.reminded:
            continue
        claimed = (due.document or document)._get_collection().update_one(
            {"_id": due.record, **(due.claim or {due.stamp: {"$ne": due.value}})},
            {"$set": {due.stamp: due.value}, **due.update})
        if claimed.modified_count:
            messages.append((list(due.people), due.kind, due.params, due.link))
            out.append(Sent(due.kind, due.title, len(due.people), due.detail))
    notify.post(messages, now)
    return out


SOURCES: list = []  # Sources, and jobs of the same run that act instead of telling (appraisal.close_expired)


def sources() -> list[Source]:
    return [s for s in SOURCES if isinstance(s, Source)]


def run(now: dt.datetime | None = None) -> tuple[list[Sent], tuple[int, int]]:
    """Every source once, then the e-mails still owed; returns what was sent and (mailed, mail failures)."""
    now = now or utcnow()
    sent = [entry for source in SOURCES for entry in source(now)]
    return sent, notify.deliver()


def pending(now: dt.datetime | None = None) -> list[tuple[Source, Due]]:
    """Every item due now, reminded or not, with its source: what `portal remind --dry-run` prints."""
    now = now or utcnow()
    return [(source, due) for source in sources() for due in source.due(now)]


def person_of(who) -> ObjectId | None:
    """An Employee id from an id, a login linked to one, or a user name."""
    if who is None or isinstance(who, ObjectId):
        return who
    if isinstance(who, str):
        raw = PortalUser._get_collection().find_one({"username": who}, {"employee": 1})
        return (raw or {}).get("employee")
    employee = who._data.get("employee") if hasattr(who, "_data") else getattr(who, "employee", None)
    return getattr(employee, "pk", getattr(employee, "id", employee))


def due_for(who, now: dt.datetime | None = None) -> list[Due]:
    """The items `who` (an Employee id, a login or a user name) must act on now, reminded or not: the home page's
    list and `portal remind --dry-run --user`. The same sources and people as `run()`, only not claimed, and each
    source reads only records that person may act on (a fixed number of queries, settings read once)."""
    person_id = person_of(who)
    if person_id is None:
        return []
    now = now or utcnow()
    person = person_context(person_id)
    with settings.snapshot():
        return [due for source in sources() for due in source.due(now, person=person)]


# ---- who must act: batched, a fixed number of queries for any number of rows -------------------------------
def head_of(employee_id) -> ObjectId | None:
    """The person an employee reports to: their manager, else the head of their unit, else of the unit above."""
    return heads_of([employee_id]).get(employee_id)


def unit_chains(unit_ids: Iterable) -> dict:
    """Each unit and every unit above it, nearest first, with heads (two queries for any number of units)."""
    ids = [u for u in dict.fromkeys(unit_ids) if u is not None]
    if not ids:
        return {}
    collection = OrgUnit._get_collection()
    fields = {"ancestors": 1, "head": 1, "kind": 1, "name": 1}
    own = {u["_id"]: u for u in collection.find({"_id": {"$in": ids}}, fields)}
    wanted = {a for u in own.values() for a in u.get("ancestors") or []} - own.keys()
    known = {**own, **({u["_id"]: u for u in collection.find({"_id": {"$in": list(wanted)}}, fields)}
                       if wanted else {})}
    return {uid: [u, *(known[a] for a in reversed(u.get("ancestors") or []) if a in known)] for uid, u in own.items()}


def heads_of(employee_ids: Iterable) -> dict:
    """`head_of` for many employees at once: three queries."""
    ids = [e for e in dict.fromkeys(employee_ids) if e is not None]
    if not ids:
        return {}
    people = list(Employee._get_collection().find({"_id": {"$in": ids}}, {"manager": 1, "owner_unit": 1}))
    chains = unit_chains(p.get("owner_unit") for p in people if not p.get("manager") or p["manager"] == p["_id"])
    out = {}
    for person in people:
        me = person["_id"]
        if person.get("manager") and person["manager"] != me:
            out[me] = person["manager"]
            continue
        out[me] = next((u["head"] for u in chains.get(person.get("owner_unit"), [])
                        if u.get("head") and u["head"] != me), None)
    return out


def unit_heads(unit_ids) -> dict:
    """Each unit's head, or the head of the nearest unit above it that has one."""
    chains = unit_chains(unit_ids)
    return {unit: next((u["head"] for u in chains.get(unit, []) if u.get("head")), None) for unit in unit_ids}


def holders(roles: Iterable) -> dict:
    """Each role's holders (employees with an active login), one query per role."""
    return {role: approvals.role_holders(role) for role in dict.fromkeys(r for r in roles if r)}


def local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored (UTC) time on the company's clock, as a Due item's `when`."""
    return None if value is None else settings.to_local(value).replace(tzinfo=None)


def day(date: dt.date) -> dt.datetime:
    """A local date as stored in a reminder stamp (MongoDB has no date type)."""
    return dt.datetime(date.year, date.month, date.day)


# ---- approvals: steps past their time limit (DOMAIN 4) ---------------------------------------------------------
_SCHEDULER = approvals.Actor(None, "portal remind", "cli:remind")


def _logged(raw: dict, step: dict, action: str, now) -> dict:
    """The history entry of a reminder, pushed by the same update that claims it."""
    return {"$push": {"history": approvals.history_entry(_SCHEDULER, action, now, raw["current"], step,
                                                         raw.get("round", 1))}}


def _approval_items(now: dt.datetime, rows: list[dict]) -> list[Due]:
    """The approver (every holder of the step's role) of each step past its time limit; after
    `approval_escalation_hours` more, their own heads too."""
    escalate_after = dt.timedelta(hours=settings.get("approval_escalation_hours"))
    steps = {raw["_id"]: raw["steps"][raw["current"]] for raw in rows}
    by_role = holders(s.get("role") for s in steps.values() if s.get("approver") is None)
    people = {}
    for raw in rows:
        step = steps[raw["_id"]]
        skip = {raw["requester"], raw.get("submitter"), *(raw.get("deciders") or [])}
        people[raw["_id"]] = ([step["approver"]] if step.get("approver") is not None
                              else [p for p in by_role.get(step.get("role"), []) if p not in skip])
    late = [raw for raw in rows if now >= raw["due_at"] + escalate_after]
    heads = heads_of(p for raw in late for p in people[raw["_id"]])
    out = []
    for raw in rows:
        step, approvers, entered = steps[raw["_id"]], people[raw["_id"]], raw["entered_at"]
        link, params = approvals.REQUEST_PATH.format(id=raw["_id"]), approvals.message_params(raw, None, step, "")
        overdue = item(raw, "overdue", approvers, params, link, title=raw["title"], stamp="reminded_for",
                       value=entered, when=local(raw["due_at"]),
                       detail=approvals.step_title(step.get("label"), step.get("kind"), step.get("role")))
        overdue.claim, overdue.update = {"entered_at": entered, "reminded_for": {"$ne": entered}}, _logged(
            raw, step, "remind", now)
        out.append(overdue)
        if now < raw["due_at"] + escalate_after:
            continue
        above = [h for h in dict.fromkeys(heads.get(a) for a in approvers) if h is not None and h not in approvers]
        approver = step.get("approver_name") or approvals.step_title(None, "role", step.get("role"))
        escalated = item(raw, "escalated", above, {**params, "approver": approver}, link, title=raw["title"],
                         stamp="escalated_for", value=entered, when=local(raw["due_at"] + escalate_after),
                         detail=approver)
        escalated.claim, escalated.update = {"entered_at": entered, "escalated_for": {"$ne": entered}}, _logged(
            raw, step, "escalate", now)
        out.append(escalated)
    return out


def _my_approvals(person: Person) -> dict:
    """Steps of a named approver who is the person or reports to them; role steps (any holder may be either)."""
    return {"$or": [{"current_approver": {"$in": person.among(*person.reports)}}, {"current_role": {"$ne": None}}]}


approval_reminders = Source(
    "approval_reminders", ApprovalRequest,
    {"overdue": _l("Approvals past their time limit"),
     "escalated": _l("Approvals overdue with people who report to you")},
    _approval_items, where=lambda now: {"state": "pending", "due_at": {"$lt": now}}, fields={"history": 0},
    sort=("due_at", 1), pages={"overdue": "/approvals/inbox/"}, mine=_my_approvals)

SOURCES.append(approval_reminders)  # later areas add theirs here
