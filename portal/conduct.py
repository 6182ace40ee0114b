"""Conduct rules (DOMAIN 3.8; FSS 4, MIC 違規處理): leave walks the department head's route (FSS 4(1)1); attendance
status derived from the working day and approved leave, with a monthly summary; violations decided by HR,
acknowledged by the person, warnings corrected and confirmed; who sees disciplinary records."""

from __future__ import annotations

import datetime as dt

from bson import ObjectId
from flask_babel import lazy_gettext as _l
from mongoengine import Q, ValidationError

from models.common import utcnow
from models.conduct import AttendanceRecord, LeaveRequest, Violation
from models.org import Employee, OrgUnit
from portal import approvals, audit, notify, reminders, scope, settings
from portal.approvals import Actor, Refused
from portal.compat import flatten_errors

VIOLATION_PATH = "/violations/show/{id}"


# ---- who sees conduct records: one's own, and a head the units they head (not a Clerk's unit) -----------------
def headed_units() -> list:
    """Units the signed-in user heads or deputises for, and every unit below them (read once per request)."""
    from portal.security import request_cache

    cache = request_cache()
    if "conduct.headed" not in cache:
        me = scope.current_employee_id()
        headed = set() if me is None else {u["_id"] for u in OrgUnit._get_collection().find(
            {"$or": [{"head": me}, {"deputy_heads": me}]}, {"_id": 1})}
        if headed:
            headed |= {u["_id"] for u in OrgUnit._get_collection().find({"ancestors": {"$in": list(headed)}},
                                                                        {"_id": 1})}
        cache["conduct.headed"] = sorted(headed)
    return cache["conduct.headed"]


def own_or_headed(owner_field: str, all_roles: frozenset[str]) -> Q | None:
    """The records a user sees (None: all of them): roles in `all_roles` everything, a DeptHead the records of the
    units they head and below, everyone their own. A Clerk's unit gives no access (DOMAIN 3.8, SECURITY.md)."""
    roles = scope.role_names()
    if roles & all_roles:
        return None
    q = Q(pk__in=[])
    if "DeptHead" in roles:
        q |= Q(owner_unit__in=headed_units())
    me = scope.current_employee_id()
    if me is not None:
        q |= Q(**{owner_field: me})
    return q


def sees_own_or_headed(raw: dict, owner_field: str, all_roles: frozenset[str]) -> bool:
    """`own_or_headed` for one raw record already read."""
    roles = scope.role_names()
    if roles & all_roles:
        return True
    if "DeptHead" in roles and raw.get("owner_unit") in set(headed_units()):
        return True
    me = scope.current_employee_id()
    return me is not None and raw.get(owner_field) == me


# ---- attendance (FSS 4(1)1) ------------------------------------------------------------------------------------
def _minutes(value) -> int:
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    hours, _, minutes = str(value).partition(":")
    return int(hours) * 60 + int(minutes)


def attendance_status(check_in: str | None, check_out: str | None, start: dt.time, end: dt.time, grace: int,
                      on_leave: bool) -> tuple[str, bool, bool]:
    """(status, late, left early) of a day: on approved leave first; no check at all is absent; a check-in after
    the start plus the grace minutes (or none) is late; a check-out before the end (or none) is leaving early.

    >>> attendance_status("09:04", "18:00", dt.time(9), dt.time(18), 5, False)
    ('normal', False, False)
    >>> attendance_status("09:20", "17:30", dt.time(9), dt.time(18), 5, False)
    ('late', True, True)
    """
    if on_leave:
        return "leave", False, False
    if not check_in and not check_out:
        return "absent", False, False
    late = not check_in or _minutes(check_in) > _minutes(start) + grace
    early = not check_out or _minutes(check_out) < _minutes(end)
    return ("late" if late else "early_leave" if early else "normal"), late, early


def covering_leave(employee_id, day: dt.date) -> ObjectId | None:
    """The approved leave request of this employee that covers `day`, if any."""
    raw = LeaveRequest._get_collection().find_one(
        {"employee": employee_id, "status": "approved", "start": {"$lte": reminders.day(day)},
         "end": {"$gte": reminders.day(day)}}, {"_id": 1})
    return raw["_id"] if raw else None


def derive_attendance(record: AttendanceRecord) -> None:
    """Set a record's status from its check times, the working day's settings and approved leave."""
    if record.employee is None or record.date is None:
        return
    leave = covering_leave(record.employee.pk, record.date)
    record.leave = LeaveRequest.objects(pk=leave).first() if leave else None
    record.status, record.late, record.left_early = attendance_status(
        record.check_in, record.check_out, settings.get("work_start"), settings.get("work_end"),
        settings.get("attendance_grace_minutes"), leave is not None)


def leave_approved(leave_id, now: dt.datetime) -> None:
    """Days already recorded within a leave approved after them become "on approved leave" (derived again, audited)."""
    raw = LeaveRequest._get_collection().find_one({"_id": leave_id}, {"employee": 1, "start": 1, "end": 1})
    if raw is None:
        return
    for record in AttendanceRecord.objects(employee=raw["employee"], date__gte=raw["start"], date__lte=raw["end"],
                                           status__ne="leave"):
        record.save()


def _count(condition: dict) -> dict:
    return {"$sum": {"$cond": [condition, 1, 0]}}


def monthly_summary(where: dict, start: dt.date, end: dt.date, limit: int = 2000) -> list[dict]:
    """Per employee in `where` (a raw scope filter): days recorded, normal, late, early leave, absent and on leave
    between `start` and `end`. One aggregation and one read of the names, whatever the number of employees."""
    period = {"date": {"$gte": reminders.day(start), "$lte": reminders.day(end)}}
    rows = list(AttendanceRecord._get_collection().aggregate([
        {"$match": {"$and": [where, period]} if where else period},
        {"$group": {"_id": "$employee", "days": {"$sum": 1},
                    "normal": _count({"$eq": ["$status", "normal"]}), "late": _count({"$eq": ["$late", True]}),
                    "early_leave": _count({"$eq": ["$left_early", True]}),
                    "absent": _count({"$eq": ["$status", "absent"]}), "leave": _count({"$eq": ["$status", "leave"]})}},
        {"$limit": limit}]))
    people = {e["_id"]: e for e in Employee._get_collection().find({"_id": {"$in": [r["_id"] for r in rows]}},
                                                                   {"name": 1, "employee_no": 1})}
    for row in rows:
        person = people.get(row["_id"]) or {}
        row["name"], row["employee_no"] = person.get("name", ""), person.get("employee_no", "")
    return sorted(rows, key=lambda r: r["employee_no"])


# ---- violations (MIC 違規處理, FSS 4) -----------------------------------------------------------------------------
def _errors(exc: ValidationError) -> str:
    return "; ".join(dict.fromkeys(flatten_errors(exc).values()))


def decide(violation: Violation, actor: Actor, now: dt.datetime | None = None) -> dict:
    """HR fixes the measure (MIC 違規處理措施); a demotion or downgrade is applied to the person's record at once,
    audited, and the person is told to read and acknowledge the decision."""
    now = now or utcnow()
    if violation.status != "recorded":
        raise Refused(_l("This violation is already decided."))
    if violation.person is not None and violation.person.pk == actor.employee_id:
        raise Refused(_l("Nobody decides on their own violation."))
    try:
        violation.validate()  # the measure's own field, and a warning's deadline still in the future
    except ValidationError as exc:
        raise Refused(_errors(exc)) from None
    person = Employee._get_collection().find_one({"_id": violation.person.pk}, {"position": 1, "agent_tier": 1})
    sets = {"status": "decided", "decided_by": actor.name, "decided_at": now}
    field, new = _demotion(violation)
    if field:
        sets[f"previous_{'tier' if field == 'agent_tier' else 'position'}"] = person.get(field)
    _before, after = audit.guarded_change(Violation, violation.pk, "status", ["recorded"], sets, actor.username, now)
    if after is None:
        raise Refused(_l("This violation is already decided."))
    if field:
        audit.guarded_change(Employee, person["_id"], field, [person.get(field)], {field: new}, actor.username, now)
    notify.post([([person["_id"]], "violation_decided", {"title": after.get("number") or ""},
                  VIOLATION_PATH.format(id=violation.pk))], now)
    return after


def _demotion(violation: Violation) -> tuple[str | None, ObjectId | None]:
    """The field of the person's record a demotion changes, and its new value."""
    if violation.measure != "demotion":
        return None, None
    if violation.new_tier is not None:
        return "agent_tier", violation.new_tier.pk
    return "position", violation.new_position.pk


def _own(violation_id, actor: Actor) -> dict:
    raw = Violation._get_collection().find_one({"_id": violation_id}, {"person": 1, "measure": 1, "number": 1})
    if raw is None:
        raise Refused(_l("This violation no longer exists."))
    if raw.get("person") != actor.employee_id:
        raise Refused(_l("Only the person concerned can do this."))
    return raw


def acknowledge(violation_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The person confirms they have read the decision."""
    now = now or utcnow()
    _own(violation_id, actor)
    _before, after = audit.guarded_change(Violation, violation_id, "status", ["decided"],
                                          {"status": "acknowledged", "acknowledged_at": now}, actor.username, now)
    if after is None:
        raise Refused(_l("Only a decided violation can be acknowledged, once."))
    return after


def report_correction(violation_id, actor: Actor, text: str, now: dt.datetime | None = None) -> dict:
    """The person reports how a warning was corrected (MIC 違規處理措施/1); HR and their head are asked to confirm."""
    now = now or utcnow()
    raw = _own(violation_id, actor)
    text = (text or "").strip()
    if raw.get("measure") != "warning":
        raise Refused(_l("Only a warning asks for a correction."))
    if not text:
        raise Refused(_l("Say what you corrected."))
    _before, after = audit.guarded_change(Violation, violation_id, "status", ["acknowledged"],
                                          {"status": "correction_reported", "correction_report": text[:2000],
                                           "correction_reported_at": now}, actor.username, now)
    if after is None:
        raise Refused(_l("Acknowledge the decision first; a correction is reported once."))
    people = [*approvals.role_holders("HR", exclude=[actor.employee_id]), reminders.head_of(actor.employee_id)]
    notify.post([(people, "correction_reported", {"title": after.get("number") or ""},
                  VIOLATION_PATH.format(id=violation_id))], now)
    return after


def confirm_correction(violation_id, actor: Actor, note: str, now: dt.datetime | None = None) -> dict:
    """HR or the person's head confirms the reported correction; never the person themselves."""
    now = now or utcnow()
    raw = Violation._get_collection().find_one({"_id": violation_id}, {"person": 1})
    if raw is None:
        raise Refused(_l("This violation no longer exists."))
    if raw.get("person") == actor.employee_id:
        raise Refused(_l("Someone else confirms the correction of your own warning."))
    _before, after = audit.guarded_change(Violation, violation_id, "status", ["correction_reported"],
                                          {"status": "corrected", "confirmed_by": actor.name, "confirmed_at": now,
                                           "confirmation_note": (note or "").strip()[:1000]}, actor.username, now)
    if after is None:
        raise Refused(_l("There is no reported correction to confirm."))
    return after


def my_violations(employee_id, limit: int = 200) -> list[dict]:
    """The person's own disciplinary records, newest first (one query)."""
    if employee_id is None:
        return []
    return list(Violation._get_collection().find(
        {"person": employee_id}, {"number": 1, "occurred_on": 1, "category": 1, "measure": 1, "status": 1,
                                 "correction_deadline": 1}).sort("occurred_on", -1).limit(limit))


def _violation_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Warnings past their correction deadline and not corrected: the person and their head, once."""
    heads = reminders.heads_of(raw.get("person") for raw in rows)
    return [reminders.item(raw, "violation_overdue", (raw.get("person"), heads.get(raw.get("person"))),
                           {"title": raw.get("number") or "", "date": f"{raw['correction_deadline']:%Y-%m-%d}"},
                           VIOLATION_PATH.format(id=raw["_id"]), title=raw.get("number") or "",
                           stamp="correction_reminded", value=True, when=raw["correction_deadline"]) for raw in rows]


violation_reminders = reminders.Source(
    "violation_reminders", Violation, {"violation_overdue": _l("Warnings past their correction deadline")},
    _violation_items,
    where=lambda now: {"measure": "warning", "status": {"$in": ["decided", "acknowledged"]},
                       "correction_deadline": {"$lt": reminders.day(settings.local_today(now))}},
    fields={"number": 1, "person": 1, "correction_deadline": 1, "correction_reminded": 1},
    fresh=lambda now: {"correction_reminded": {"$ne": True}}, sort=("correction_deadline", 1),
    pages={"violation_overdue": "/violations/list/"},
    mine=lambda person: {"person": {"$in": person.among(*person.reports)}})


approvals.register(LeaveRequest, all_roles={"HR"}, on_approved=leave_approved)
reminders.SOURCES.extend([violation_reminders])
