"""HR rules (DOMAIN 3.7; DSC 4, SOC 4.1, SOC 5.2, BRD 7(5)): a recruitment plan against the candidates hired, a
candidate's decision (offer, rejection, withdrawal), the hire that makes exactly one employee and one login, the
onboarding checklist's status, who sees career plans and the employee's own goals, answering employees' feedback,
and the area's reminders. No Flask here: the hire is given the security manager that creates logins."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from bson import ObjectId
from flask_babel import lazy_gettext as _l
from mongoengine import NotUniqueError, OperationError, Q, ValidationError

from models.common import utcnow
from models.confidentiality import ConfidentialityAgreement
from models.hr import Award, Candidate, CareerPlan, EmployeeFeedback, Onboarding, RecruitmentPlan
from models.org import STAFF_KINDS, Employee, OrgUnit, Position
from models.users import PortalUser
from portal import approvals, audit, notify, reminders, scope, settings
from portal.approvals import Actor, Refused
from portal.compat import flatten_errors

CANDIDATE_PATH = "/candidates/show/{id}"
ONBOARDING_PATH = "/onboarding/show/{id}"
CAREER_PATH = "/career-plans/show/{id}"
FEEDBACK_PATH = "/employee-feedback/show/{id}"
EMPLOYEE_PATH = "/employeeview/show/{id}"
HIRE_STALE = dt.timedelta(minutes=10)  # a hire that claimed its candidate and never finished (the process died)
HIRE_STAFF_KINDS = tuple(kind for kind in STAFF_KINDS if kind[0] != "agent")  # agents join the agent network
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I to misread
ONBOARDING_STATUSES = {"complete": _l("Complete"), "incomplete": _l("Incomplete")}


def _id(value):
    """The id of a reference, whether it is an id, a DBRef or a loaded document."""
    return getattr(value, "pk", None) or getattr(value, "id", None) or value


# ---- recruitment plans (DSC 4(1)1) --------------------------------------------------------------------------------
def _line_of(lines: list, position, title) -> int | None:
    """The opening a candidate applied for: the same post, else the same title."""
    title = (title or "").strip().lower()
    for index, line in enumerate(lines):
        if position is not None and _id(line._data.get("position")) == position:
            return index
    for index, line in enumerate(lines):
        if title and (line.title or "").strip().lower() == title:
            return index
    return None


def plan_progress(plan: RecruitmentPlan) -> list[dict]:
    """Per opening: headcount, candidates hired and candidates still in the process, from one aggregation over the
    plan's candidates. Candidates of no opening make an "other" row; the last row is the total."""
    lines = list(plan.lines or [])
    rows = [{"label": str(line), "headcount": line.headcount or 0, "hired": 0, "open": 0} for line in lines]
    other = {"label": None, "headcount": 0, "hired": 0, "open": 0}
    if plan.pk is not None:
        for found in Candidate._get_collection().aggregate([
                {"$match": {"plan": plan.pk, "decision": {"$in": ["pending", "offer", "hiring", "hired"]}}},
                {"$group": {"_id": {"position": "$position", "title": "$position_title", "decision": "$decision"},
                            "n": {"$sum": 1}}}]):
            key = found["_id"]
            index = _line_of(lines, key.get("position"), key.get("title"))
            row = rows[index] if index is not None else other
            row["hired" if key.get("decision") == "hired" else "open"] += found["n"]
    if other["hired"] or other["open"]:
        rows.append(other)
    rows.append({"label": "total", **{k: sum(r[k] for r in rows) for k in ("headcount", "hired", "open")}})
    return rows


# ---- a candidate's decision (SOC 4.1, DSC 4(1)2) -------------------------------------------------------------------
def _decided(candidate_id, actor: Actor, allowed, sets: dict, now, refusal, extra=None) -> dict:
    """Move the decision in one conditional update; the decision and its reason (or the offer's note) are audited."""
    _before, after = audit.guarded_change(Candidate, candidate_id, "decision", allowed,
                                          {**sets, "decided_by": actor.name, "decided_at": now}, actor.username, now,
                                          extra_condition=extra)
    if after is None:
        raise Refused(refusal)
    if sets.get("decision_reason"):
        audit.record_state(Candidate, after, "decision_reason", None, sets["decision_reason"], actor.username)
    return after


def offer(candidate: Candidate, actor: Actor, note: str = "", now: dt.datetime | None = None) -> dict:
    """Make an offer: only after the CV screening passed and at least one interview was held (SOC 4.1)."""
    now = now or utcnow()
    today = settings.local_today(now)
    if candidate.decision != "pending":
        raise Refused(_l("Only a candidate still pending can get an offer."))
    if candidate.screening != "pass":
        raise Refused(_l("An offer needs a passed CV screening first."))
    if not candidate.interviews_held(today):
        raise Refused(_l("An offer needs at least one interview held first."))
    sets = {"decision": "offer", "decision_reason": (note or "").strip()[:1000] or None}
    return _decided(candidate.pk, actor, ["pending"], sets, now,
                    _l("Someone changed this candidate a moment ago. Reload the page and check the screening and "
                       "interviews."),
                    {"screening": "pass", "interviews.date": {"$lte": reminders.day(today)}})


def reject(candidate: Candidate, actor: Actor, reason: str, now: dt.datetime | None = None) -> dict:
    """Reject a candidate still in the process; the reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Give the reason for the rejection."))
    sets = {"decision": "rejected", "decision_reason": reason[:1000]}
    return _decided(candidate.pk, actor, ["pending", "offer"], sets, now or utcnow(),
                    _l("Only a candidate still in the process can be rejected."))


def withdraw(candidate: Candidate, actor: Actor, reason: str = "", now: dt.datetime | None = None) -> dict:
    """Record that the candidate withdrew (or declined the offer)."""
    sets = {"decision": "withdrawn", "decision_reason": (reason or "").strip()[:1000] or None}
    return _decided(candidate.pk, actor, ["pending", "offer"], sets, now or utcnow(),
                    _l("Only a candidate still in the process can withdraw."))


# ---- the hire: one employee, one login, one onboarding checklist (SOC 4.1) -----------------------------------------
class HireRefused(Refused):
    """A hire that was not made; `field` names the input of the hire form the message belongs to."""

    def __init__(self, field: str, message):
        super().__init__(message)
        self.field = field


@dataclass
class Hired:
    """What a hire made; the password exists only here, to be shown once to HR."""

    employee: Employee
    username: str
    password: str
    onboarding: Onboarding


def initial_password(username: str = "") -> str:
    """A random password of three groups of five characters (about 88 bits), shown once and never stored."""
    while True:
        password = "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(5)) for _ in range(3))
        if not username or username.lower() not in password.lower():
            return password


def _reference(document_class, value, field: str, message, required: bool = True):
    text = str(_id(value) or "").strip()
    if not text:
        if required:
            raise HireRefused(field, message)
        return None
    found = document_class.objects(pk=text).first() if ObjectId.is_valid(text) else None
    if found is None:
        raise HireRefused(field, message)
    return found


def _hire_date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        day = dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise HireRefused("hire_date", _l("Give the first working day as 2026-05-20.")) from None
    if not 2000 <= day.year <= 2100:
        raise HireRefused("hire_date", _l("Give the first working day as 2026-05-20."))
    return day


def _new_employee(raw: dict, data: dict) -> tuple[Employee, str, str]:
    """The employee the hire will create, checked, and the login's user name and e-mail."""
    number = (data.get("employee_no") or "").strip()
    if not number or len(number) > 32:
        raise HireRefused("employee_no", _l("Give the new employee's number (at most 32 characters)."))
    if Employee.objects(employee_no=number).only("id").first() is not None:
        raise HireRefused("employee_no", _l("Employee no. %(number)s is already taken.", number=number))
    unit = _reference(OrgUnit, data.get("unit"), "unit", _l("Choose the unit the employee joins."))
    position = _reference(Position, data.get("position"), "position", _l("Choose a position from the list."), False)
    manager = _reference(Employee, data.get("manager"), "manager", _l("Choose a manager from the list."), False)
    if manager is None:
        head = reminders.unit_heads([unit.pk]).get(unit.pk)
        manager = Employee.objects(pk=head).first() if head is not None else None
    kind = (data.get("staff_kind") or "").strip()
    if kind not in dict(HIRE_STAFF_KINDS):
        raise HireRefused("staff_kind", _l("Choose the staff kind."))
    username = (data.get("username") or "").strip()
    if not USERNAME.match(username):
        raise HireRefused("username", _l("A user name has 3 to 64 letters, digits, dots, dashes or underscores."))
    if PortalUser.objects(username__iexact=username).only("id").first() is not None:
        raise HireRefused("username", _l("The user name %(name)s is already taken.", name=username))
    email = (data.get("email") or "").strip()
    if email and PortalUser.objects(email__iexact=email).only("id").first() is not None:
        raise HireRefused("email", _l("Another login already uses this e-mail address."))
    employee = Employee(employee_no=number, name=raw.get("name"), phone=raw.get("phone"), email=email or None,
                        owner_unit=unit, position=position, manager=manager, status="probation", staff_kind=kind,
                        hire_date=_hire_date(data.get("hire_date")))
    try:
        employee.validate()
    except ValidationError as exc:
        field, message = next(iter(flatten_errors(exc).items()))
        raise HireRefused({"owner_unit": "unit"}.get(field, field), message) from None
    if not email:
        raise HireRefused("email", _l("A login needs an e-mail address."))
    return employee, username, email


def _claim(candidate_id, actor: Actor, now: dt.datetime):
    """Take the candidate from "offer" to "hiring" in one conditional update (or take over a hire that died half-way),
    so that a second click or a concurrent one is refused before anything is created. Returns the employee a hire
    that died half-way left on the candidate (None when there is none)."""
    sets = {"decision": "hiring", "hiring_since": now}
    _before, after = audit.guarded_change(Candidate, candidate_id, "decision", ["offer"], sets, actor.username, now)
    if after is None:
        _before, after = audit.guarded_change(Candidate, candidate_id, "decision", ["hiring"], sets, actor.username,
                                              now, extra_condition={"hiring_since": {"$lt": now - HIRE_STALE}})
    if after is None:
        raise Refused(_l("This candidate is already being hired or was hired: reload the page."))
    return after.get("employee")


def _undo_dead_hire(candidate_id, employee_id, now: dt.datetime) -> None:
    """Remove what a hire that died half-way made (its employee, their login and onboarding checklist), so that the
    hire taking over makes the one employee. Refused when that employee is in use elsewhere by now."""
    employee = Employee.objects(pk=employee_id).first()
    if employee is not None:
        for user in PortalUser.objects(employee=employee_id):
            user.delete()
        for onboarding in Onboarding.objects(employee=employee_id):
            onboarding.delete()
        try:
            employee.delete()
        except OperationError:
            raise Refused(_l("The interrupted hire of this candidate left employee no. %(number)s, which is in use "
                             "by now: finish that hire by hand.", number=employee.employee_no)) from None
    Candidate._get_collection().update_one({"_id": candidate_id, "decision": "hiring", "hiring_since": now},
                                           {"$set": {"employee": None}})


def _link_employee(candidate_id, employee_id, now: dt.datetime) -> None:
    """Name the new employee on the candidate as soon as it exists, so that a hire taking over after a crash finds
    it; refused when another hire has taken the candidate over meanwhile."""
    done = Candidate._get_collection().update_one({"_id": candidate_id, "decision": "hiring", "hiring_since": now},
                                                  {"$set": {"employee": employee_id}})
    if not done.modified_count:
        raise Refused(_l("This candidate is already being hired or was hired: reload the page."))


def hireable(decision: str | None, hiring_since: dt.datetime | None, now: dt.datetime) -> bool:
    """A candidate with an offer, or one whose hire died half-way (claimed longer than HIRE_STALE ago)."""
    return decision == "offer" or (decision == "hiring" and hiring_since is not None
                                   and hiring_since < now - HIRE_STALE)


def _check_hireable(raw: dict | None, now: dt.datetime) -> None:
    if raw is None:
        raise Refused(_l("This candidate no longer exists."))
    if hireable(raw.get("decision"), raw.get("hiring_since"), now):
        return
    if raw.get("decision") in ("hiring", "hired"):
        raise Refused(_l("This candidate is already being hired or was hired: reload the page."))
    raise Refused(_l("Make the candidate an offer before hiring them."))


def hire(candidate_id, actor: Actor, data: dict, accounts, now: dt.datetime | None = None) -> Hired:
    """Hire a candidate with an offer: exactly one Employee (on probation), one login with the Employee role linked
    to it, and the onboarding checklist; the candidate is marked hired. The candidate is claimed first, so a
    second or concurrent hire is refused; if anything fails after the claim, what was made is removed and the
    claim released. `accounts` is the security manager (add_user, find_role)."""
    now = now or utcnow()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: the claim is matched on it
    raw = Candidate._get_collection().find_one({"_id": candidate_id}, {"decision": 1, "hiring_since": 1, "name": 1,
                                                                       "phone": 1, "employee": 1})
    _check_hireable(raw, now)
    checked = None  # a typing error is answered before the candidate is claimed...
    if raw.get("employee") is None:
        checked = _new_employee(raw, data)
    left_behind = _claim(candidate_id, actor, now)
    made: list = []
    try:
        if left_behind is not None:  # ...unless a dead hire's employee, login and number are to go first
            _undo_dead_hire(candidate_id, left_behind, now)
            checked = None
        employee, username, email = checked or _new_employee(raw, data)
        try:
            employee.save()
        except NotUniqueError:
            raise HireRefused("employee_no", _l("Employee no. %(number)s was taken a moment ago.",
                                                number=employee.employee_no)) from None
        made.append(employee)
        _link_employee(candidate_id, employee.pk, now)
        password = initial_password(username)
        name = employee.name or username
        user = accounts.add_user(username, name[1:] or name, name[:1], email, [accounts.find_role("Employee")],
                                 password)
        if not user:
            raise HireRefused("username", _l("The login could not be created: the user name or e-mail was taken a "
                                             "moment ago. Choose another."))
        made.append(user)
        user.employee = employee
        user.must_change_password = True  # HR saw this password: the new hire replaces it at their first login
        user.save()
        onboarding = Onboarding(employee=employee, candidate=candidate_id, hire_date=employee.hire_date).save()
        made.append(onboarding)
        _decided(candidate_id, actor, ["hiring"],
                 {"decision": "hired", "employee": employee.pk, "hiring_since": None}, now,
                 _l("This candidate is already being hired or was hired: reload the page."))
    except BaseException:
        for document in reversed(made):
            document.delete()
        kept = left_behind if left_behind is not None and Employee.objects(pk=left_behind).only("id").first() else None
        audit.guarded_change(Candidate, candidate_id, "decision", ["hiring"], {"decision": "offer",
                                                                              "hiring_since": None, "employee": kept},
                             actor.username, utcnow(), extra_condition={"hiring_since": now})
        raise
    if employee.manager is not None:
        notify.post([([employee.manager.pk], "new_hire", {"title": employee.name, "date": f"{employee.hire_date}"},
                      EMPLOYEE_PATH.format(id=employee.pk))], now)
    return Hired(employee, username, password, onboarding)


def hire_defaults(candidate: Candidate, today: dt.date) -> dict:
    """What the hire form starts with: the candidate's unit, post and address, today as the first day."""
    return {"employee_no": "", "unit": str(_id(candidate._data.get("owner_unit")) or ""),
            "position": str(_id(candidate._data.get("position")) or ""), "manager": "", "hire_date": today.isoformat(),
            "staff_kind": "", "username": "", "email": candidate.email or ""}


def hire_choices() -> dict:
    """The hire form's lists: units, positions and the people who head a unit (the usual managers); three small
    queries."""
    units = list(OrgUnit.objects(active__ne=False).only("name", "code", "head", "deputy_heads").limit(1000))
    heads = {_id(h) for u in units for h in [u._data.get("head"), *(u._data.get("deputy_heads") or [])] if h}
    managers = Employee.objects(pk__in=list(heads)).only("name", "employee_no")
    return {"unit": [(str(u.pk), str(u)) for u in units],
            "position": [(str(p.pk), f"{p.name} ({p.grade})" if p.grade else p.name)
                         for p in Position.objects.only("name", "grade").limit(1000)],
            "manager": sorted(((str(m.pk), str(m)) for m in managers), key=lambda pair: pair[1]),
            "staff_kind": [(k, str(label)) for k, label in HIRE_STAFF_KINDS]}


# ---- onboarding (SOC 4.1, DSC 4(1)3) -------------------------------------------------------------------------------
def agreements_of(employee_ids) -> dict:
    """Each employee's latest confidentiality agreement (id, signed on, in force until): one query."""
    out: dict = {}
    ids = [i for i in employee_ids if i is not None]
    if not ids:
        return out
    for row in ConfidentialityAgreement._get_collection().find(
            {"employee": {"$in": ids}}, {"employee": 1, "signed_on": 1, "expires_on": 1}).sort("signed_on", 1):
        out[row["employee"]] = row
    return out


def attach_status(onboardings) -> list:
    """Give each checklist its employee's confidentiality agreement and its status (one query for any number)."""
    rows = [o for o in onboardings if o is not None]
    found = agreements_of({_id(o._data.get("employee")) for o in rows})
    for row in rows:
        row.agreement = found.get(_id(row._data.get("employee")))
        row.status = "complete" if row.items_done and row.agreement else "incomplete"
    return rows


def missing(onboarding: Onboarding) -> list:
    """What the checklist still lacks, in words (after attach_status)."""
    items = ((onboarding.contract_signed_on, _l("the signed labour contract")),
             (onboarding.handbook_issued_on, _l("the staff handbook")),
             (onboarding.training_done_on, _l("the onboarding training")),
             (onboarding.agreement, _l("the confidentiality agreement")))
    return [label for done, label in items if not done]


def onboarding_training_attended(employee_ids, day: dt.date, title: str) -> int:
    """Tick "onboarding training done" on the checklists of those who attended an onboarding session (present or
    late); a date HR already entered stays. Saved one by one, so the checklist's status and audit trail follow."""
    ticked = 0
    for onboarding in Onboarding.objects(employee__in=list(employee_ids), training_done_on=None):
        onboarding.training_done_on = day
        onboarding.training_note = (title or "")[:500]
        onboarding.save()
        ticked += 1
    return ticked


def _onboarding_read(now: dt.datetime, fresh: bool, where: dict | None = None) -> list[dict]:
    """Checklists still incomplete `onboarding_reminder_days` after the hire date (two queries)."""
    today = settings.local_today(now)
    cutoff = reminders.day(today - dt.timedelta(days=settings.get("onboarding_reminder_days")))
    due = list(Onboarding._get_collection().find(
        {"hire_date": {"$lte": cutoff}, **({"incomplete_reminded": {"$ne": True}} if fresh else {})},
        {"employee": 1, "items_done": 1, "hire_date": 1, "incomplete_reminded": 1}).limit(5000))
    signed = agreements_of({row["employee"] for row in due})
    return [row for row in due if not (row.get("items_done") and row["employee"] in signed)]


def _onboarding_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """HR, once per checklist."""
    hr = approvals.role_holders("HR")
    names = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find(
        {"_id": {"$in": [row["employee"] for row in rows]}}, {"name": 1})}
    return [reminders.item(raw, "onboarding_incomplete", hr, {"title": names.get(raw.get("employee"), ""),
                                                              "date": f"{raw['hire_date']:%Y-%m-%d}"},
                           ONBOARDING_PATH.format(id=raw["_id"]), title=names.get(raw.get("employee"), ""),
                           stamp="incomplete_reminded", value=True, when=raw["hire_date"]) for raw in rows]


onboarding_reminders = reminders.Source(
    "onboarding_reminders", Onboarding, {"onboarding_incomplete": _l("Onboarding checklists still incomplete")},
    _onboarding_items, rows=_onboarding_read, pages={"onboarding_incomplete": "/onboarding/list/"},
    mine=lambda person: "HR" in person.roles and None)


# ---- pay: compensation profiles and award bonuses (DSC 4(3), SOC 5.2) --------------------------------------------
PRIVATE_PAY = frozenset({"Admin", "Auditor", "HR"})  # who reads amounts of pay


def reads_pay() -> bool:
    """Whether the signed-in user may read amounts of pay (HR and Admin keep them, Auditor reads them)."""
    return bool(scope.role_names() & PRIVATE_PAY)


def show_bonus(awards) -> None:
    """Give each award the bonus the reader may see: all of them for HR, Admin and Auditor, else only their own."""
    everyone = reads_pay()
    me = scope.current_employee_id()
    for award in awards:
        mine = me is not None and _id(award._data.get("employee")) == me
        award.bonus_shown = award.bonus if everyone or mine else None


# ---- career plans (BRD 7(5)) -----------------------------------------------------------------------------------------
CAREER_ALL = frozenset({"Admin", "Auditor", "HR"})
MAX_LEVELS = 8


def reports_of(employee_id) -> list:
    """Everyone who reports to `employee_id`, directly or further down the line (one query per level; cached for
    the request)."""
    from portal.security import request_cache

    cache = request_cache()
    key = ("hr.reports", employee_id)
    if key in cache:
        return cache[key]
    found: list = []
    level = [employee_id]
    collection = Employee._get_collection()
    for _depth in range(MAX_LEVELS):
        level = [e["_id"] for e in collection.find({"manager": {"$in": level}, "_id": {"$nin": [employee_id, *found]}},
                                                   {"_id": 1})]
        if not level:
            break
        found.extend(level)
    cache[key] = found
    return found


def career_scope() -> Q | None:
    """The career plans the user sees (None: all): HR, Auditor and Admin all; a head the plans of the units they
    head and below; everyone their own, the plans of the people who report to them and those they mentor."""
    from portal.conduct import headed_units

    roles = scope.role_names()
    if roles & CAREER_ALL:
        return None
    me = scope.current_employee_id()
    q = Q(pk__in=[])
    if "DeptHead" in roles:
        q |= Q(owner_unit__in=headed_units())
    if me is not None:
        q |= Q(employee=me) | Q(mentor=me)
        reports = reports_of(me)
        if reports:
            q |= Q(employee__in=reports)
    return q


def keeps_career_plan(raw: dict) -> bool:
    """Whether the user keeps this plan (HR, Admin, or a manager above the employee): the employee and a mentor
    read it, and the employee writes their own goals."""
    from portal.conduct import headed_units

    roles = scope.role_names()
    if roles & {"Admin", "HR"}:
        return True
    me = scope.current_employee_id()
    if me is None or raw.get("employee") == me:
        return False
    if "DeptHead" in roles and raw.get("owner_unit") in set(headed_units()):
        return True
    return raw.get("employee") in set(reports_of(me))


def update_goals(plan: CareerPlan, actor: Actor, text: str, now: dt.datetime | None = None) -> dict:
    """The employee rewrites their own career goals (BRD 7(5)1); nobody else does it this way."""
    now = now or utcnow()
    text = (text or "").strip()
    if _id(plan._data.get("employee")) != actor.employee_id or actor.employee_id is None:
        raise Refused(_l("Only the employee writes their own goals here."))
    if not text:
        raise Refused(_l("Write your goals."))
    _before, after = audit.guarded_change(CareerPlan, plan.pk, "goals", [plan.goals], {"goals": text[:4000]},
                                          actor.username, now, extra_condition={"employee": actor.employee_id})
    if after is None:
        raise Refused(_l("The plan changed after you opened it. Reload it and write your goals again."))
    return after


def _career_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Career plans past their review date: the employee's manager, once per review date."""
    heads = reminders.heads_of(row.get("employee") for row in rows)
    names = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find(
        {"_id": {"$in": [row["employee"] for row in rows]}}, {"name": 1})}
    return [reminders.item(raw, "career_review_due", (heads.get(raw.get("employee")),),
                           {"title": names.get(raw.get("employee"), ""), "date": f"{raw['review_date']:%Y-%m-%d}"},
                           CAREER_PATH.format(id=raw["_id"]), title=names.get(raw.get("employee"), ""),
                           stamp="review_reminded", value=True, when=raw["review_date"]) for raw in rows]


career_reminders = reminders.Source(
    "career_reminders", CareerPlan, {"career_review_due": _l("Career plans due for review")}, _career_items,
    where=lambda now: {"review_date": {"$lt": reminders.day(settings.local_today(now))}},
    fields={"employee": 1, "review_date": 1, "review_reminded": 1},
    fresh=lambda now: {"review_reminded": {"$ne": True}}, sort=("review_date", 1),
    pages={"career_review_due": "/career-plans/list/"},
    mine=lambda person: bool(person.reports) and {"employee": {"$in": list(person.reports)}})


# ---- employees' feedback (DSC 4(4)2) ---------------------------------------------------------------------------------
def feedback_received(feedback: EmployeeFeedback, now: dt.datetime | None = None) -> None:
    """Tell HR that feedback arrived: its number only, never who sent it."""
    author = None if feedback.anonymous else _id(feedback._data.get("employee"))
    hr = approvals.role_holders("HR", exclude=[author] if author else [])
    notify.post([(hr, "feedback_received", {"title": feedback.number or ""}, FEEDBACK_PATH.format(id=feedback.pk))],
                now)


def take_feedback(feedback: EmployeeFeedback, actor: Actor, now: dt.datetime | None = None) -> dict:
    """A member of HR takes open feedback in hand."""
    now = now or utcnow()
    _before, after = audit.guarded_change(EmployeeFeedback, feedback.pk, "status", ["open"],
                                          {"status": "in_progress", "handler": actor.employee_id}, actor.username, now)
    if after is None:
        raise Refused(_l("Only open feedback can be taken in hand."))
    return after


def reply_feedback(feedback: EmployeeFeedback, actor: Actor, text: str, now: dt.datetime | None = None) -> dict:
    """HR answers; a named submitter is told, an anonymous one cannot be. A later reply replaces the one shown, and
    every reply is kept in the audit trail; a reply written over one that arrived meanwhile is refused."""
    now = now or utcnow()
    text = (text or "").strip()[:4000]
    if not text:
        raise Refused(_l("Write the reply."))
    _before, after = audit.guarded_change(
        EmployeeFeedback, feedback.pk, "status", ["open", "in_progress", "answered"],
        {"status": "answered", "reply": text, "replied_at": now, "handler": actor.employee_id},
        actor.username, now, extra_condition={"reply": feedback.reply})
    if after is None:
        raw = EmployeeFeedback._get_collection().find_one({"_id": feedback.pk}, {"status": 1}) or {}
        if raw.get("status") != "closed":
            raise Refused(_l("Someone replied a moment ago: reload the page and read that reply first."))
        raise Refused(_l("Closed feedback takes no more replies."))
    audit.record_state(EmployeeFeedback, after, "reply", feedback.reply, text, actor.username)
    if not after.get("anonymous") and after.get("employee") is not None:
        notify.post([([after["employee"]], "feedback_answered", {"title": after.get("number") or ""},
                      FEEDBACK_PATH.format(id=feedback.pk))], now)
    return after


def close_feedback(feedback: EmployeeFeedback, actor: Actor, now: dt.datetime | None = None) -> dict:
    """HR closes the matter."""
    now = now or utcnow()
    _before, after = audit.guarded_change(EmployeeFeedback, feedback.pk, "status", ["open", "in_progress", "answered"],
                                          {"status": "closed"}, actor.username, now)
    if after is None:
        raise Refused(_l("This feedback is already closed."))
    return after


def my_awards(employee_id, limit: int = 200) -> list[dict]:
    """A person's honours and those of their unit as a team, newest first (two queries)."""
    if employee_id is None:
        return []
    own = Employee._get_collection().find_one({"_id": employee_id}, {"owner_unit": 1}) or {}
    where = [{"employee": employee_id}]
    if own.get("owner_unit") is not None:
        where.append({"team": own["owner_unit"]})
    fields = {"title": 1, "other_title": 1, "period": 1, "awarded_on": 1, "reason": 1, "bonus": 1, "employee": 1}
    return list(Award._get_collection().find({"$or": where}, fields).sort("awarded_on", -1).limit(limit))


def my_feedback(employee_id, limit: int = 200) -> list[dict]:
    """The feedback someone sent under their name, newest first, with the replies (one query)."""
    if employee_id is None:
        return []
    return list(EmployeeFeedback._get_collection().find(
        {"employee": employee_id, "anonymous": {"$ne": True}},
        {"number": 1, "topic": 1, "content": 1, "status": 1, "reply": 1, "replied_at": 1, "created_at": 1})
        .sort("created_at", -1).limit(limit))


approvals.register(RecruitmentPlan, all_roles={"HR"})
reminders.SOURCES.extend([onboarding_reminders, career_reminders])
