"""Training rules (DOMAIN 5; BRD 7, FSS 5, MIC 培訓管理): needs raised once (also by the appraisal), plans through the
approval engine, the attendance sheet, scores with retakes and certificates, the HR training board, each employee's
training record and what the appraisal reads of it. No Flask here: callers pass an `Actor`.

Every change after creation is one conditional update, audited (`audit.guarded_change`), so two people marking
the same sheet or entering the same score at once give one result, and a trainee gets one certificate.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bson import ObjectId
from flask_babel import lazy_gettext as _l
from mongoengine import NotUniqueError, Q, ValidationError
from pymongo.errors import DuplicateKeyError

from models.common import choice_label, from_fen, next_number, utcnow
from models.org import Employee, OrgUnit
from models.training import (
    ATTENDANCE_MARKS,
    ATTENDED,
    CERTIFICATE_PREFIX,
    LIVE_NEEDS,
    TrainingAssessment,
    TrainingFeedback,
    TrainingNeed,
    TrainingPlan,
    TrainingSession,
    closed_key,
    need_key,
    pass_key,
)
from portal import approvals, audit, hr, notify, reminders, scope, settings
from portal.approvals import Actor, Refused
from portal.compat import flatten_errors

SESSION_PATH = "/training-sessions/show/{id}"
ASSESSMENT_PATH = "/training-assessments/show/{id}"
SCORED = ("passed", "failed")
PERCENT = Decimal("0.1")
ALL_SEEING = frozenset({"Admin", "Auditor", "HR"})  # read every trainee's attendance, results and feedback
TALLY_SIGNS = {"present": "✓", "late": "◷", "absent": "✗"}  # the audit trail's tally reads alike in every language


class SheetRefused(Refused):
    """A sheet (attendance, scores) with bad rows: nothing was saved; `cells` maps each row's key (an employee id
    as text) to what is wrong with it, to be shown on that row."""

    def __init__(self, message, cells: dict[str, object]):
        super().__init__(message)
        self.cells = cells


def percent(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` in percent with one decimal, or None when there is nothing to count.

    >>> percent(2, 3)
    Decimal('66.7')
    >>> percent(0, 0) is None
    True
    """
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_UP)


# ---- needs (BRD 7(1), FSS 6(4)3) ------------------------------------------------------------------------------
def raise_need(employee, topic: str, source: str = "appraisal", reference: str | None = None,
               priority: str = "medium", description: str | None = None) -> TrainingNeed:
    """Record that `employee` (an Employee or its id) needs training on `topic`; when the same need (topic and
    reference) is still open or planned for them, return that one instead of a duplicate. The appraisal calls this
    for the weaknesses it finds (FSS 6(4)3); `reference` names where the need came from (e.g. the appraisal)."""
    person = employee if isinstance(employee, Employee) else Employee.objects(pk=employee).first()
    if person is None:
        raise Refused(_l("This employee does not exist."))
    key = need_key(person.pk, None, topic, reference)
    existing = TrainingNeed.objects(live_key=key).first()
    if existing is not None:
        return existing
    need = TrainingNeed(employee=person, topic=topic, source=source, reference=reference, priority=priority,
                        description=description)
    try:
        return need.save()
    except (NotUniqueError, ValidationError):
        existing = TrainingNeed.objects(live_key=key).first()  # raised at the same moment elsewhere
        if existing is None:
            raise
        return existing


def close_need(need_id, actor: Actor, outcome: str, note: str = "", now: dt.datetime | None = None) -> dict:
    """Mark an open or planned need as met, or drop it with a reason; audited."""
    now = now or utcnow()
    note = (note or "").strip()[:1000]
    if outcome not in ("met", "dropped"):
        raise Refused(_l("A need is closed as met or dropped."))
    if outcome == "dropped" and not note:
        raise Refused(_l("Say why the need is dropped."))
    _before, after = audit.guarded_change(TrainingNeed, need_id, "status", LIVE_NEEDS,
                                          {"status": outcome, "live": False, "live_key": closed_key(need_id),
                                           "closed_by": actor.name,
                                           "closed_at": now, "closing_note": note or None}, actor.username, now)
    if after is None:
        raise Refused(_l("This need is already closed."))
    return after


def plan_addressing(need_id) -> dict | None:
    """A submitted or approved plan that addresses this need (its id and title), or None: such a need stays, as the
    plan under approval or in force names it (one query)."""
    return TrainingPlan._get_collection().find_one({"needs": need_id, "status": {"$in": ["pending", "approved"]}},
                                                   {"title": 1})


def plan_approved(plan_id, now: dt.datetime) -> None:
    """Once a plan is approved, the open needs it addresses are planned (and name the plan); audited."""
    raw = TrainingPlan._get_collection().find_one({"_id": plan_id}, {"needs": 1}) or {}
    for need_id in raw.get("needs") or []:
        audit.guarded_change(TrainingNeed, need_id, "status", ["open"], {"status": "planned", "plan": plan_id},
                             audit.current_actor(), now)


def plan_progress(plan: TrainingPlan) -> list[dict]:
    """Each course of the plan with its sessions held and planned, and the cost of those held (one query)."""
    counts: dict[int, dict] = {}
    for raw in TrainingSession._get_collection().find({"plan": plan.pk}, {"course_no": 1, "status": 1, "cost": 1}):
        row = counts.setdefault(raw.get("course_no"), {"held": 0, "planned": 0, "cost": Decimal("0")})
        if raw.get("status") in ("held", "planned"):
            row[raw["status"]] += 1
        if raw.get("status") == "held":
            row["cost"] += from_fen(raw.get("cost") or 0)
    return [{"no": n, "course": course, **counts.get(n, {"held": 0, "planned": 0, "cost": Decimal("0")})}
            for n, course in enumerate(plan.courses or [], start=1)]


# ---- sessions: the attendance sheet (BRD 7(3)3) ----------------------------------------------------------------
def _session(session_id, fields: dict) -> dict:
    raw = TrainingSession._get_collection().find_one({"_id": session_id}, fields)
    if raw is None:
        raise Refused(_l("This session no longer exists."))
    return raw


def _tally(lines) -> str:
    """Attendance as the audit trail keeps it: how many present (✓), late (◷) and absent (✗), in signs rather than
    words, so that the trail reads the same whatever the reader's language.

    >>> _tally([{"status": "present"}, {"status": "present"}, {"status": "absent"}])
    '✓ 2 · ◷ 0 · ✗ 1'
    """
    counts = {key: 0 for key, _label in ATTENDANCE_MARKS}
    for line in lines or []:
        if line.get("status") in counts:
            counts[line["status"]] += 1
    return " · ".join(f"{TALLY_SIGNS[key]} {n}" for key, n in counts.items())


def _with_results(session_id) -> set:
    """The people who have an assessment attempt or have given feedback in this session (two queries)."""
    return {*TrainingAssessment._get_collection().distinct("employee", {"session": session_id}),
            *TrainingFeedback._get_collection().distinct("employee", {"session": session_id})}


def mark_attendance(session_id, actor: Actor, marks: dict, notes: dict | None = None,
                    now: dt.datetime | None = None) -> dict:
    """Take every participant's attendance at once (BRD 7(3)3): one conditional update, which also moves the
    session to held. `marks` maps each participant's id (text) to present, late or absent; a participant without
    one is answered on their row and nothing is saved. Refused for a cancelled session, one that has not started,
    or one whose participants changed since the sheet was read."""
    now = now or utcnow()
    notes = notes or {}
    raw = _session(session_id, {"participants": 1, "status": 1, "start": 1, "attendance": 1, "kind": 1,
                                 "title": 1})
    if raw.get("status") == "cancelled":
        raise Refused(_l("This session is cancelled."))
    if raw.get("start") is not None and raw["start"] > now:
        raise Refused(_l("Attendance is taken once the session has started."))
    participants = raw.get("participants") or []
    if not participants:
        raise Refused(_l("The session has no participants yet: add them first."))
    allowed = {key for key, _label in ATTENDANCE_MARKS}
    lines, cells = [], {}
    for person in participants:
        mark = str(marks.get(str(person)) or "").strip()
        if mark not in allowed:
            cells[str(person)] = _l("Mark present, late or absent.")
        note = str(notes.get(str(person)) or "").strip()[:300]
        lines.append({"employee": person, "status": mark, **({"note": note} if note else {})})
    if cells:
        raise SheetRefused(_l("Mark every participant; nothing was saved."), cells)
    absent = [line["employee"] for line in lines if line["status"] not in ATTENDED]
    kept = set(absent) & _with_results(session_id) if absent else set()
    if kept:
        names = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find({"_id": {"$in": list(kept)}},
                                                                                     {"name": 1})}
        raise SheetRefused(_l("Correct the rows marked; nothing was saved."), {
            str(person): _l("%(name)s already has assessment results or feedback in this session, so they attended: "
                            "mark them present or late.", name=names.get(person, "")) for person in kept})
    _before, after = audit.guarded_change(
        TrainingSession, session_id, "status", ["planned", "held"],
        {"attendance": lines, "status": "held", "attendance_taken_at": now, "attendance_taken_by": actor.name},
        actor.username, now, extra_condition={"participants": participants})
    if after is None:
        raise Refused(_l("The session changed while you were marking it: open the sheet again."))
    audit.record_state(TrainingSession, after, "attendance", _tally(raw.get("attendance")), _tally(lines),
                       actor.username)
    if raw.get("kind") == "onboarding":
        attended = [line["employee"] for line in lines if line["status"] in ATTENDED]
        hr.onboarding_training_attended(attended, settings.local_today(raw.get("start") or now), raw.get("title", ""))
    return after


def cancel_session(session_id, actor: Actor, reason: str, now: dt.datetime | None = None) -> dict:
    """Cancel a planned session with a reason; its participants are told."""
    now = now or utcnow()
    reason = (reason or "").strip()[:1000]
    if not reason:
        raise Refused(_l("Say why the session is cancelled."))
    _before, after = audit.guarded_change(TrainingSession, session_id, "status", ["planned"],
                                          {"status": "cancelled", "cancel_reason": reason}, actor.username, now)
    if after is None:
        raise Refused(_l("Only a planned session (no attendance taken) can be cancelled."))
    audit.record_state(TrainingSession, after, "cancel_reason", None, reason, actor.username)
    start = settings.to_local(after.get("start"))
    notify.post([(after.get("participants") or [], "training_cancelled",
                  {"title": after.get("title", ""), "date": f"{start:%Y-%m-%d %H:%M}" if start else ""},
                  SESSION_PATH.format(id=session_id))], now)
    return after


# ---- assessments: scores, retakes, certificates (FSS 5(4)3) ---------------------------------------------------
def pass_mark_of(session_raw: dict) -> int:
    """The session's own pass mark, else the company's (`training_pass_mark`)."""
    own = session_raw.get("pass_mark")
    mark = int(own) if own is not None else int(settings.get("training_pass_mark"))
    return min(max(mark, 0), 100)


def sheet_rows(session_raw: dict) -> list[dict]:
    """One row per participant for the scores sheet: their attendance, attempts so far, and what may be entered
    now (`state`: first, retake, passed, absent or unmarked). The attendance mark is read first: only those present
    or late are assessed, at the first attempt as at a retake. A failed last attempt whose retake was never opened
    (a save cut short) gets its retake opened here. Two queries (and a write for such a retake)."""
    participants = session_raw.get("participants") or []
    marks = {line.get("employee"): line.get("status") for line in session_raw.get("attendance") or []}
    people = {e["_id"]: e for e in Employee._get_collection().find({"_id": {"$in": participants}},
                                                                   {"name": 1, "employee_no": 1})}
    attempts: dict = {}
    for row in TrainingAssessment._get_collection().find({"session": session_raw["_id"]}).sort("attempt", 1):
        attempts.setdefault(row["employee"], []).append(row)
    rows = []
    for person in participants:
        mine = attempts.get(person, [])
        passed = next((a for a in mine if a.get("status") == "passed"), None)
        retake = next((a for a in mine if a.get("status") == "retake_open"), None)
        mark = marks.get(person)
        if passed is not None:
            state = "passed"
        elif mark not in ATTENDED:
            state = "absent" if mark == "absent" else "unmarked"
        elif mine:
            state = "retake"
            if retake is None:
                retake = _reopen_retake(session_raw, person, mine)
        else:
            state = "first"
        info = people.get(person) or {}
        rows.append({"key": str(person), "employee": person, "name": info.get("name", ""),
                     "employee_no": info.get("employee_no", ""), "mark": mark, "attempts": mine, "state": state,
                     "open": retake if state == "retake" else None, "passed": passed,
                     "attempt": retake["attempt"] if retake else (len(mine) + 1 if state != "passed" else None)})
    return rows


def _reopen_retake(session_raw: dict, person, mine: list[dict]) -> dict | None:
    """Open the retake after a failed last attempt that has none (its save was cut short); whoever opens it first
    wins. The open attempt, or None when a later attempt exists that is not open."""
    last = max(a.get("attempt") or 0 for a in mine)
    if next((a for a in mine if a.get("attempt") == last), {}).get("status") != "failed":
        return None
    with contextlib.suppress(NotUniqueError):
        TrainingAssessment(session=session_raw["_id"], employee=person, attempt=last + 1, status="retake_open",
                           owner_unit=session_raw.get("owner_unit"),
                           method=session_raw.get("assessment_method") or "exam").save()
    opened = TrainingAssessment._get_collection().find_one({"session": session_raw["_id"], "employee": person,
                                                            "attempt": last + 1})
    if opened is None or opened.get("status") != "retake_open":
        return None
    mine.append(opened)
    return opened


def parse_score(text: str) -> tuple[Decimal | None, object | None]:
    """(score, None) for a score typed as 85 or 85.5; (None, message) otherwise.

    >>> parse_score("85.5")
    (Decimal('85.5'), None)
    >>> parse_score("105")[1] is not None
    True
    """
    try:
        score = Decimal(text.strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None, _l("Enter a number.")
    if not score.is_finite():
        return None, _l("Enter a number.")
    if not Decimal(0) <= score <= Decimal(100):
        return None, _l("Enter a score between 0 and 100.")
    if score != score.quantize(PERCENT):
        return None, _l("Give the score with at most one decimal place.")
    return score.quantize(PERCENT), None


def record_scores(session_id, actor: Actor, scores: dict, now: dt.datetime | None = None) -> dict:
    """Enter the scores of the participants' open attempts at once (FSS 5(4)). Every cell is checked first (the
    attendance mark, the score, the attempt to write and the retake a fail would open): a bad one is answered on
    its row and nothing is saved. A pass issues the certificate; a fail opens the retake (the next attempt) until
    passed. Returns how many passed and failed."""
    now = now or utcnow()
    raw = _session(session_id, {"participants": 1, "attendance": 1, "status": 1, "pass_mark": 1, "owner_unit": 1,
                                "assessment_method": 1, "title": 1})
    if raw.get("status") != "held":
        raise Refused(_l("Scores are entered once attendance has been taken (the session is held)."))
    rows = {row["key"]: row for row in sheet_rows(raw)}
    mark = pass_mark_of(raw)
    cells: dict[str, object] = {}
    todo = []
    for key, text in scores.items():
        text = str(text or "").strip()[:20]
        if not text:
            continue
        row = rows.get(key)
        if row is None:
            cells[key] = _l("Only participants of this session are assessed.")
        elif row["state"] == "passed":
            cells[key] = _l("%(name)s has passed: no further score is entered.", name=row["name"])
        elif row["state"] not in ("first", "retake"):
            cells[key] = _l("Only those who attended (present or late) are assessed.")
        elif row["state"] == "retake" and row["open"] is None:
            cells[key] = _l("The attempts of %(name)s changed meanwhile: open the sheet again.", name=row["name"])
        else:
            score, problem = parse_score(text)
            problem = problem or _attempt_problem(raw, row, score, mark, actor)
            if problem is not None:
                cells[key] = problem
            else:
                todo.append((row, score))
    if cells:
        raise SheetRefused(_l("Some scores need correcting; nothing was saved."), cells)
    if not todo:
        raise Refused(_l("Enter at least one score."))
    done = {"passed": 0, "failed": 0}
    for row, score in todo:
        passed = _score(raw, row, score, mark, actor, now)
        done["passed" if passed else "failed"] += 1
    return done


def _attempt_docs(session: dict, row: dict, score: Decimal, mark: int, actor: Actor,
                  today: dt.date) -> tuple[dict, TrainingAssessment | None, TrainingAssessment | None]:
    """What a score writes: the fields of the attempt, the first attempt to create (None for a retake, which is
    filled in) and the retake a fail opens (None for a pass). Nothing is saved, no certificate number taken."""
    passed = score >= mark
    sets = {"score": float(score), "pass_mark": mark, "passed": passed, "status": "passed" if passed else "failed",
            "method": session.get("assessment_method") or "exam", "assessed_on": reminders.day(today),
            "assessed_by": actor.name}
    attempt = row["open"]["attempt"] if row["open"] is not None else 1
    first = None
    if row["open"] is None:
        first = TrainingAssessment(session=session["_id"], employee=row["employee"], attempt=1,
                                   owner_unit=session.get("owner_unit"),
                                   **{k: v for k, v in sets.items() if k not in ("score", "assessed_on")},
                                   score=score, assessed_on=today)
    retake = None if passed else TrainingAssessment(session=session["_id"], employee=row["employee"],
                                                    attempt=attempt + 1, owner_unit=session.get("owner_unit"),
                                                    status="retake_open", method=sets["method"])
    return sets, first, retake


def _attempt_problem(session: dict, row: dict, score: Decimal, mark: int, actor: Actor):
    """Why this score cannot be written (in words for its row), or None: the attempt and the retake it would open
    are validated, and the retake's number must still be free."""
    _sets, first, retake = _attempt_docs(session, row, score, mark, actor, settings.local_today())
    attempt = row["open"]["attempt"] if row["open"] is not None else 1
    if any((a.get("attempt") or 0) > attempt for a in row["attempts"]):
        return _l("The attempts of %(name)s changed meanwhile: open the sheet again.", name=row["name"])
    for document in (first, retake):
        if document is None:
            continue
        try:
            document.validate()
        except ValidationError as exc:
            return next(iter(flatten_errors(exc).values()))
    return None


def _score(session: dict, row: dict, score: Decimal, mark: int, actor: Actor, now: dt.datetime) -> bool:
    """One attempt's score: the first attempt is created, a retake's open record is filled in by a conditional
    update (its score audited); a pass takes the next certificate number in the same write (so a trainee never gets
    two), a fail opens the next attempt."""
    today = settings.local_today(now)
    sets, first, retake = _attempt_docs(session, row, score, mark, actor, today)
    passed = sets["passed"]
    if passed:
        sets["certificate_no"] = next_number(CERTIFICATE_PREFIX, today.year)
        sets["pass_key"] = pass_key(session["_id"], row["employee"])
    race = Refused(_l("Someone else entered a score for %(name)s at the same moment: open the sheet again.",
                      name=row["name"]))
    try:
        if first is not None:
            if passed:
                first.certificate_no = sets["certificate_no"]
            try:
                first.save()
            except NotUniqueError:
                raise race from None
        else:
            try:
                _before, after = audit.guarded_change(TrainingAssessment, row["open"]["_id"], "status",
                                                      ["retake_open"], sets, actor.username, now)
            except DuplicateKeyError:
                raise race from None
            if after is None:
                raise race
            audit.record_state(TrainingAssessment, after, "score", None, str(score), actor.username)
        if retake is not None:
            with contextlib.suppress(NotUniqueError):  # opened already by whoever entered the same fail
                retake.save()
    except ValidationError as exc:
        raise Refused(_l("The score of %(name)s could not be saved: %(problem)s", name=row["name"],
                         problem=next(iter(flatten_errors(exc).values())))) from None
    return passed


def retakes_due(limit: int = 5000, fresh: bool = True, where: dict | None = None) -> list[dict]:
    """Open retakes (with `fresh`: those nobody has been reminded of yet), with the session's title and the
    trainee's name (three queries)."""
    due = list(TrainingAssessment._get_collection().find(
        {"status": "retake_open", **({"retake_reminded": {"$ne": True}} if fresh else {}), **(where or {})},
        {"session": 1, "employee": 1, "attempt": 1, "retake_reminded": 1}).limit(limit))
    if not due:
        return []
    titles = {s["_id"]: s.get("title", "") for s in TrainingSession._get_collection().find(
        {"_id": {"$in": list({d["session"] for d in due})}}, {"title": 1})}
    names = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find(
        {"_id": {"$in": list({d["employee"] for d in due})}}, {"name": 1})}
    for row in due:
        row["title"], row["name"] = titles.get(row["session"], ""), names.get(row["employee"], "")
    return due


def _retake_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Each open retake is reminded once to HR and to the trainee (FSS 5(4)3: re-test until passed)."""
    hr = approvals.role_holders("HR")
    return [reminders.item(row, "training_retake", (*hr, row.get("employee")),
                           {"title": row["title"], "name": row["name"]}, ASSESSMENT_PATH.format(id=row["_id"]),
                           title=row["title"], stamp="retake_reminded", value=True) for row in rows]


retake_reminders = reminders.Source(
    "retake_reminders", TrainingAssessment, {"training_retake": _l("Training retakes open")}, _retake_items,
    rows=lambda now, fresh, where: retakes_due(fresh=fresh, where=where),
    pages={"training_retake": "/training-assessments/list/?_flt_0_status=retake_open"},
    mine=lambda person: None if "HR" in person.roles else {"employee": person.id})


# ---- feedback (BRD 7(4)) ----------------------------------------------------------------------------------------
def feedback_summary(session_ids: list) -> dict:
    """Per session: how many gave feedback and the average of each rating and of all three (one aggregation)."""
    out = {}
    for row in TrainingFeedback._get_collection().aggregate([
            {"$match": {"session": {"$in": list(session_ids)}}},
            {"$group": {"_id": "$session", "count": {"$sum": 1}, "content": {"$avg": "$content_rating"},
                        "trainer": {"$avg": "$trainer_rating"}, "usefulness": {"$avg": "$usefulness_rating"}}}]):
        averages = {k: _rating(row[k]) for k in ("content", "trainer", "usefulness")}
        overall = _rating((row["content"] + row["trainer"] + row["usefulness"]) / 3)
        out[row["_id"]] = {"count": row["count"], **averages, "overall": overall}
    return out


def _rating(value) -> Decimal:
    return Decimal(str(value)).quantize(PERCENT, rounding=ROUND_HALF_UP)


def may_give_feedback(session_raw: dict, employee_id, given: set) -> bool:
    """Whether this person may still rate the session: it was held, they were present or late, not yet rated."""
    if session_raw.get("status") != "held" or employee_id is None or session_raw["_id"] in given:
        return False
    return any(line.get("employee") == employee_id and line.get("status") in ATTENDED
               for line in session_raw.get("attendance") or [])


# ---- whose results a user reads (DOMAIN 1) ---------------------------------------------------------------------
def trainees_seen() -> set | None:
    """The people whose attendance, assessments and feedback the signed-in user reads (None: everyone). HR, Admin
    and Auditor read everyone's; a department head those of the people of the units they head (by the trainee's
    own unit, as the board does) and their own; everyone else, Clerks included, their own only. Read once per
    request: two or three queries for a head, none otherwise."""
    from portal.conduct import headed_units
    from portal.security import request_cache

    roles = scope.role_names()
    if roles & ALL_SEEING:
        return None
    cache = request_cache()
    if "training.trainees" not in cache:
        me = scope.current_employee_id()
        seen = {me} if me is not None else set()
        units = headed_units() if "DeptHead" in roles else []
        if units:
            seen |= set(Employee._get_collection().distinct("_id", {"owner_unit": {"$in": units}}))
        cache["training.trainees"] = seen
    return cache["training.trainees"]


def trainee_scope(field: str = "employee") -> Q | None:
    """`trainees_seen()` as the query of a view whose records belong to a trainee (None: all of them)."""
    seen = trainees_seen()
    return None if seen is None else Q(**{f"{field}__in": sorted(seen)})


# ---- the HR training board (BRD 7(3-4), MIC 培訓記錄與反饋) -------------------------------------------------------
def _assessment_figures(session_ids: list) -> dict:
    """Per session: people assessed and passed at their first attempt, people assessed and passed at all, and open
    retakes (one aggregation)."""
    def flag(condition):
        return {"$max": {"$cond": [condition, 1, 0]}}

    first = {"$eq": ["$attempt", 1]}
    scored = {"$or": [{"$eq": ["$status", "passed"]}, {"$eq": ["$status", "failed"]}]}
    passed = {"$eq": ["$status", "passed"]}
    rows = TrainingAssessment._get_collection().aggregate([
        {"$match": {"session": {"$in": list(session_ids)}}},
        {"$group": {"_id": {"session": "$session", "employee": "$employee"},
                    "first_scored": flag({"$and": [first, scored]}), "first_passed": flag({"$and": [first, passed]}),
                    "scored": flag(scored), "passed": flag(passed),
                    "retake": flag({"$eq": ["$status", "retake_open"]})}},
        {"$group": {"_id": "$_id.session", "first_scored": {"$sum": "$first_scored"},
                    "first_passed": {"$sum": "$first_passed"}, "scored": {"$sum": "$scored"},
                    "passed": {"$sum": "$passed"}, "retakes": {"$sum": "$retake"}}}])
    return {row["_id"]: row for row in rows}


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The company's calendar year as stored (UTC) moments: [start, end)."""
    return settings.from_local(dt.datetime(year, 1, 1)), settings.from_local(dt.datetime(year + 1, 1, 1))


def board(year: int, unit_id=None, units_seen: list | None = None) -> dict:
    """The HR training board for `year`: per plan, courses planned against held and budget against cost; per
    session, participants, attendance rate, pass rates (first attempt and overall), average feedback and open
    retakes. `unit_id` narrows to one unit and the units below it; `units_seen` (None: all) is the user's scope.
    Five queries whatever the number of plans, sessions, assessments and feedback."""
    units = {u["_id"]: u for u in OrgUnit._get_collection().find({}, {"name": 1, "code": 1, "ancestors": 1})}
    allowed = set(units) if units_seen is None else set(units_seen)
    if unit_id is not None:
        allowed &= {uid for uid, u in units.items() if uid == unit_id or unit_id in (u.get("ancestors") or [])}
    where = {"owner_unit": {"$in": sorted(allowed)}}
    plans = list(TrainingPlan._get_collection().find(
        {**where, "year": year}, {"title": 1, "owner_unit": 1, "status": 1, "courses.budget": 1,
                                  "courses.topic": 1}).sort("owner_unit", 1).limit(500))
    start, end = year_bounds(year)
    sessions = list(TrainingSession._get_collection().find(
        {**where, "$or": [{"start": {"$gte": start, "$lt": end}}, {"plan": {"$in": [p["_id"] for p in plans]}}]},
        {"title": 1, "plan": 1, "course_no": 1, "start": 1, "status": 1, "participants": 1, "attendance": 1,
         "cost": 1, "owner_unit": 1}).sort("start", 1).limit(2000))
    ids = [s["_id"] for s in sessions]
    figures, feedback = _assessment_figures(ids), feedback_summary(ids)
    session_rows = [_session_row(s, figures.get(s["_id"], {}), feedback.get(s["_id"]), units) for s in sessions]
    plan_rows = [_plan_row(p, [s for s in session_rows if s["plan"] == p["_id"]], units) for p in plans]
    held = [s for s in session_rows if s["status"] == "held"]
    totals = {"sessions": len(session_rows), "held": len(held),
              "participants": sum(s["participants"] for s in held),
              "attended": sum(s["attended"] for s in held),
              "attendance_rate": percent(sum(s["attended"] for s in held), sum(s["participants"] for s in held)),
              "pass_rate": percent(sum(s["passed"] for s in held), sum(s["assessed"] for s in held)),
              "retakes": sum(s["retakes"] for s in session_rows)}
    return {"plans": plan_rows, "sessions": session_rows, "totals": totals,
            "units": sorted(((uid, u.get("code", ""), u.get("name", "")) for uid, u in units.items()
                             if units_seen is None or uid in set(units_seen)), key=lambda r: r[1])}


def _session_row(raw: dict, fig: dict, feedback: dict | None, units: dict) -> dict:
    participants = raw.get("participants") or []
    members = set(participants)
    attended = sum(1 for line in raw.get("attendance") or []
                   if line.get("status") in ATTENDED and line.get("employee") in members)
    held = raw.get("status") == "held"
    return {"id": raw["_id"], "title": raw.get("title", ""), "plan": raw.get("plan"), "course_no": raw.get("course_no"),
            "start": settings.to_local(raw.get("start")), "status": raw.get("status"),
            "unit": (units.get(raw.get("owner_unit")) or {}).get("name", ""), "participants": len(participants),
            "attended": attended, "attendance_rate": percent(attended, len(participants)) if held else None,
            "first_assessed": fig.get("first_scored", 0), "first_passed": fig.get("first_passed", 0),
            "first_pass_rate": percent(fig.get("first_passed", 0), fig.get("first_scored", 0)),
            "assessed": fig.get("scored", 0), "passed": fig.get("passed", 0),
            "pass_rate": percent(fig.get("passed", 0), fig.get("scored", 0)), "retakes": fig.get("retakes", 0),
            "feedback": feedback, "cost": from_fen(raw["cost"]) if raw.get("cost") is not None else None}


def _plan_row(raw: dict, sessions: list[dict], units: dict) -> dict:
    courses = raw.get("courses") or []
    held = [s for s in sessions if s["status"] == "held"]
    return {"id": raw["_id"], "title": raw.get("title", ""), "status": raw.get("status"),
            "unit": (units.get(raw.get("owner_unit")) or {}).get("name", ""), "courses": len(courses),
            "courses_held": len({s["course_no"] for s in held if s["course_no"]}),
            "sessions": len(sessions), "sessions_held": len(held),
            "budget": sum((from_fen(c.get("budget") or 0) for c in courses), Decimal("0")),
            "cost": sum((s["cost"] or Decimal("0") for s in held), Decimal("0")),
            "participants": sum(s["participants"] for s in held), "attended": sum(s["attended"] for s in held),
            "attendance_rate": percent(sum(s["attended"] for s in held), sum(s["participants"] for s in held)),
            "pass_rate": percent(sum(s["passed"] for s in held), sum(s["assessed"] for s in held))}


# ---- one employee's training file (MIC 培訓記錄與反饋/1) and what the appraisal reads (BRD 7(4)3) ------------------
def employee_record(employee_id, now: dt.datetime | None = None) -> dict:
    """An employee's training file: sessions (upcoming and past, with their own attendance), every attempt with
    its score, open retakes, certificates, and the sessions they may still rate. Three queries."""
    now = now or utcnow()
    sessions = list(TrainingSession._get_collection().find(
        {"participants": employee_id}, {"title": 1, "kind": 1, "start": 1, "end": 1, "place": 1, "status": 1,
                                        "attendance": 1}).sort("start", -1).limit(500))
    by_id = {s["_id"]: s for s in sessions}
    attempts = list(TrainingAssessment._get_collection().find({"employee": employee_id})
                    .sort([("session", 1), ("attempt", 1)]).limit(2000))
    given = {f["session"] for f in TrainingFeedback._get_collection().find({"employee": employee_id},
                                                                         {"session": 1})}
    for session in sessions:
        session["mark"] = next((line.get("status") for line in session.get("attendance") or []
                                if line.get("employee") == employee_id), None)
        session["start_local"] = settings.to_local(session.get("start"))
        session["may_rate"] = may_give_feedback(session, employee_id, given)
        session["rated"] = session["_id"] in given
    for attempt in attempts:
        session = by_id.get(attempt["session"]) or {}
        attempt["title"] = session.get("title", "")
        attempt["start_local"] = session.get("start_local")
    ahead = {s["_id"] for s in sessions if s.get("start") and s["start"] >= now and s.get("status") == "planned"}
    return {"upcoming": [s for s in reversed(sessions) if s["_id"] in ahead],
            "past": [s for s in sessions if s["_id"] not in ahead],
            "attempts": attempts, "retakes": [a for a in attempts if a.get("status") == "retake_open"],
            "certificates": [a for a in attempts if a.get("status") == "passed" and a.get("certificate_no")]}


def training_record(employee_id, start: dt.date, end: dt.date) -> dict:
    """What an employee's training gives the appraisal's growth indicator for a period (BRD 7(4)3, FSS 6(1)4).

    Counts held sessions that started between `start` and `end` (inclusive, company time) which the employee
    attended (present or late):

    - `completed`: how many, and `sessions`: their id, title, kind and date;
    - `assessed`: how many of them the employee has a score in (passed or failed, any attempt);
    - `passed`: how many of them the employee has passed (at any attempt);
    - `pass_rate`: passed / assessed in percent (Decimal, one decimal), None when nothing was assessed;
    - `first_attempt_passed`: how many were passed at the first attempt;
    - `open_retakes`: how many still wait for a retake;
    - `certificates`: the certificate numbers earned in them.

    Two queries, whatever the number of sessions.
    """
    low = settings.from_local(dt.datetime(start.year, start.month, start.day))
    high = settings.from_local(dt.datetime(end.year, end.month, end.day) + dt.timedelta(days=1))
    sessions = list(TrainingSession._get_collection().find(
        {"status": "held", "start": {"$gte": low, "$lt": high},
         "attendance": {"$elemMatch": {"employee": employee_id, "status": {"$in": list(ATTENDED)}}}},
        {"title": 1, "kind": 1, "start": 1}).sort("start", 1))
    ids = [s["_id"] for s in sessions]
    attempts = list(TrainingAssessment._get_collection().find(
        {"employee": employee_id, "session": {"$in": ids}},
        {"session": 1, "attempt": 1, "status": 1, "certificate_no": 1})) if ids else []
    assessed = {a["session"] for a in attempts if a.get("status") in SCORED}
    passed = [a for a in attempts if a.get("status") == "passed"]
    return {"completed": len(sessions),
            "sessions": [{"id": s["_id"], "title": s.get("title", ""), "kind": s.get("kind"),
                          "date": settings.to_local(s["start"]).date()} for s in sessions],
            "assessed": len(assessed), "passed": len({a["session"] for a in passed}),
            "pass_rate": percent(len({a["session"] for a in passed}), len(assessed)),
            "first_attempt_passed": sum(1 for a in passed if a.get("attempt") == 1),
            "open_retakes": sum(1 for a in attempts if a.get("status") == "retake_open"),
            "certificates": sorted(a["certificate_no"] for a in passed if a.get("certificate_no"))}


def company_name() -> str:
    """The company's name for certificates: the root of the org tree."""
    root = OrgUnit._get_collection().find_one({"parent": None, "kind": "company"}, {"name": 1}) or \
        OrgUnit._get_collection().find_one({"parent": None}, {"name": 1}) or {}
    return root.get("name", "")


def mark_label(value) -> str:
    return choice_label(ATTENDANCE_MARKS, value)


def as_id(value) -> ObjectId | None:
    """An id typed in a URL or form, or None when it is not one."""
    return ObjectId(value) if isinstance(value, str) and ObjectId.is_valid(value) else None


approvals.register(TrainingPlan, all_roles={"HR"}, on_approved=plan_approved)
reminders.SOURCES.extend([retake_reminders])
