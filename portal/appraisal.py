"""Performance appraisal rules (DOMAIN 6; BRD 6, FSS 6, SOC 5, DSC 4(2)): launching a cycle, the review flow of
BRD 6(4) as an explicit state machine, totals and grades, 360-degree inputs with one-time customer links, the annual
result of monthly-appraised staff, results that act (bonus, recommendation, training needs), who sees an appraisal,
and the reminders of `portal remind`. No Flask here: callers pass an `Actor`.

Every step is one conditional update of the appraisal (on its state and version), audited, that also appends a
Step to its history: two people clicking at once give one result, and a step out of order is refused in words.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bson import ObjectId
from flask_babel import lazy_gettext as _l
from mongoengine import NotUniqueError, Q
from pymongo import ReturnDocument

from models.appraisal import (
    DEFAULT_BANDS,
    HUNDRED,
    NEEDS_PLAN,
    RATER_KINDS,
    SCORE_PLACES,
    STATES,
    Appraisal,
    AppraisalCycle,
    AppraisalLine,
    Feedback360,
    ImprovementPlan,
    KpiTemplate,
    MonthTotal,
    Step,
    score_ceiling,
)
from models.audit import FieldChange
from models.common import choice_label, utcnow
from models.org import Employee, OrgUnit
from portal import approvals, audit, notify, reminders, scope, settings
from portal.approvals import Actor, Refused

ALL_SEEING = frozenset({"Admin", "HR", "Auditor"})
PATH = "/appraisals/show/{id}"
FEEDBACK_PATH = "/appraisal-360/show/{id}"
PLAN_PATH = "/improvement-plans/show/{id}"
ANONYMOUS_360 = "360"  # what the appraisal's stamps name when a 360 answer updates it: never the rater
WEAK_SCORE = Decimal("60")  # a final score below this raises a training need (FSS 6(4)3)
SCHEDULER = Actor(None, "portal remind", "cli:remind")

# The review flow of BRD 6(4): action -> (the steps it may be taken at, the step it leads to; None: it stays).
MOVES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "submit_self": (("self_assessment",), "superior_evaluation"),  # BRD 6(4)1
    "evaluate": (("superior_evaluation",), "department_review"),  # BRD 6(4)2
    "review": (("department_review",), "feedback"),  # BRD 6(4)3
    "give_feedback": (("feedback",), None),  # BRD 6(4)4: the interview, which opens the appeal window
    "acknowledge": (("feedback",), "closed"),
    "appeal": (("feedback",), "appeal"),
    "decide_appeal": (("appeal",), "closed"),
    "close_expired": (("feedback",), "closed"),  # the window is over and nobody appealed
    "apply_results": (("closed",), "applied"),  # BRD 6(4)5
    "refresh_actuals": (("self_assessment", "superior_evaluation"), None),
    "invite": (("self_assessment", "superior_evaluation"), None),  # SOC 5.1, FSS 6(3)3
}
RATING_STATES = ("self_assessment", "superior_evaluation", "department_review")  # 360 answers still count


class ScoresRefused(Refused):
    """A score sheet with bad cells: nothing was saved; `cells` maps an indicator's key to what is wrong, `inputs`
    the form input that is wrong ("self-visits", "actual-visits", "final-total") to its message, so that each
    message stands next to its own input."""

    def __init__(self, message, cells: dict[str, object], inputs: dict[str, object] | None = None):
        super().__init__(message)
        self.cells = cells
        self.inputs = inputs if inputs is not None else {}


# ---- numbers ---------------------------------------------------------------------------------------------------
def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _get(line, name: str):
    return line.get(name) if isinstance(line, dict) else getattr(line, name, None)


def total_of(lines, field: str = "final_score") -> Decimal | None:
    """sum(weight x score) / 100, rounded half up to two places; None while a score is missing.

    >>> total_of([{"weight": 50, "final_score": 90}, {"weight": 20, "final_score": 80},
    ...           {"weight": 15, "final_score": 70}, {"weight": 10, "final_score": 100},
    ...           {"weight": 5, "final_score": 60}])
    Decimal('84.50')
    >>> total_of([{"weight": 100, "final_score": None}]) is None
    True
    """
    if not lines:
        return None
    total = Decimal("0")
    for line in lines:
        score = _get(line, field)
        if score is None:
            return None
        total += Decimal(str(_get(line, "weight") or 0)) * Decimal(str(score))
    return (total / HUNDRED).quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def _band(band) -> tuple[str, Decimal]:
    if isinstance(band, tuple):
        return band[0], Decimal(str(band[1]))
    return _get(band, "grade"), Decimal(str(_get(band, "minimum")))


def grade_of(total, bands=None) -> str | None:
    """The grade of the highest band whose minimum the total reaches (the cycle's bands; default A >= 90 ...).

    >>> grade_of(Decimal("84.50"))
    'B'
    >>> grade_of(Decimal("59.99"))
    'E'
    """
    if total is None:
        return None
    rows = sorted((_band(b) for b in bands or DEFAULT_BANDS), key=lambda row: row[1], reverse=True)
    return next((grade for grade, minimum in rows if Decimal(str(total)) >= minimum), rows[-1][0])


def rated_by_360(line) -> bool:
    """Qualitative lines (and any fed by the 360-degree rating) take the 360 average (FSS 6(3)2-3)."""
    return _get(line, "measure") == "qualitative" or _get(line, "source") == "peer_rating"


def score_for(line) -> Decimal | None:
    """The score a line's data proposes: by its rule from the actual (FSS 6(3)1), or the 360 average.

    >>> score_for({"measure": "quantitative", "rule": "percent_of_target", "actual": 7, "target": 10})
    Decimal('70.00')
    >>> score_for({"measure": "quantitative", "rule": "lower_is_better", "actual": 10000, "target": 6000})
    Decimal('60.00')
    """
    if rated_by_360(line) or _get(line, "rule") == "judgement":
        return _dec(_get(line, "rating_360"))
    actual, target, rule = _get(line, "actual"), _get(line, "target"), _get(line, "rule")
    if actual is None:
        return None
    actual = Decimal(str(actual))
    target = Decimal(str(target)) if target is not None else None
    if rule == "score_is_actual":
        value = actual
    elif rule in ("percent_of_target", "percent_of_target_capped_120") and target:
        value = actual * HUNDRED / target
    elif rule == "lower_is_better" and target:
        value = HUNDRED if actual <= 0 else target * HUNDRED / actual
    else:
        return None
    return min(max(value, Decimal("0")), score_ceiling(rule)).quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


def parse_score(text: str, ceiling: Decimal = HUNDRED) -> tuple[Decimal | None, object | None]:
    """(score, None) for a score typed as 85 or 85.5; (None, message) otherwise.

    >>> parse_score("85,5")
    (Decimal('85.50'), None)
    >>> parse_score("101")[1] is not None
    True
    """
    value, problem = _number(text)
    if problem is None and not Decimal("0") <= value <= ceiling:
        problem = _l("Give a score between 0 and %(most)s.", most=ceiling)
    return (None, problem) if problem is not None else (value, None)


def _number(text: str) -> tuple[Decimal | None, object | None]:
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None, _l("Enter a number.")
    # adjusted() reads the exponent without arithmetic: 1e999999999 would overflow abs() or quantize()
    if not value.is_finite() or value.adjusted() >= 12:
        return None, _l("Enter a number.")
    try:
        if value != value.quantize(SCORE_PLACES):
            return None, _l("Give at most two decimal places.")
        return value.quantize(SCORE_PLACES), None
    except ArithmeticError:  # a value too small for two places (1e-999999999)
        return None, _l("Give at most two decimal places.")


def parse_actual(text: str) -> tuple[Decimal | None, object | None]:
    """An actual value typed by the superior: a number of 0 or more with at most two decimals."""
    value, problem = _number(text)
    if problem is None and value < 0:
        problem = _l("An actual value is 0 or more.")
    return (None, problem) if problem is not None else (value, None)


# ---- who stands where ------------------------------------------------------------------------------------------
def _chain(unit_id) -> list[dict]:
    """A unit and every unit above it, nearest first, with heads and deputies (two reads)."""
    units = OrgUnit._get_collection()
    own = units.find_one({"_id": unit_id}, {"ancestors": 1, "head": 1, "deputy_heads": 1}) if unit_id else None
    if own is None:
        return []
    ancestors = own.get("ancestors") or []
    above = {u["_id"]: u for u in units.find({"_id": {"$in": ancestors}}, {"head": 1, "deputy_heads": 1})}
    return [own, *(above[a] for a in reversed(ancestors) if a in above)]


def _heads(units: list[dict]) -> set:
    return {p for u in units for p in (u.get("head"), *(u.get("deputy_heads") or [])) if p is not None}


def heads_of_chain(chain: list[dict], employee) -> set:
    """The heads of an appraisal: the head and deputies of each unit of `chain` (the employee's unit and those
    above it, nearest first) from the first unit the employee does not head, the employee excluded. A deputy of
    the unit a head leads is that head's subordinate, never a head above them."""
    start = 0
    while employee is not None and start < len(chain) and chain[start].get("head") == employee:
        start += 1
    return _heads(chain[start:]) - {employee}


def _appraisal_heads(raw: dict) -> set:
    return heads_of_chain(_chain(raw.get("owner_unit")), raw.get("employee"))


@dataclass
class People:
    """Who stands where around one appraisal, read once for a page or a step (a fixed number of queries)."""

    heads: set  # heads and deputies of the units above the employee (heads_of_chain)
    above_reviewer: set  # heads of the units above the reviewer's unit: they (or HR) decide an appeal
    has_plan: bool  # an improvement plan exists for the appraisal


def people(raw: dict) -> People:
    state = raw.get("state")
    heads = _appraisal_heads(raw) if state not in ("closed", "applied") else set()
    above: set = set()
    if state == "appeal":
        unit = (Employee._get_collection().find_one({"_id": raw.get("reviewer")}, {"owner_unit": 1}) or {}) \
            if raw.get("reviewer") else {}
        above = heads_of_chain(_chain(unit.get("owner_unit"))[1:], raw.get("reviewer"))
    plan = raw.get("grade") in NEEDS_PLAN and state in ("feedback", "appeal") and \
        ImprovementPlan._get_collection().find_one({"appraisal": raw["_id"]}, {"_id": 1}) is not None
    return People(heads, above, bool(plan))


def refusal(action: str, raw: dict, actor: Actor, who: People, today: dt.date):
    """Why `actor` may not take `action` on this appraisal now, in words; None when they may."""
    allowed, _to = MOVES[action]
    if raw.get("state") not in allowed:
        return _l("Not possible now: this appraisal is at the step “%(step)s”.",
                  step=choice_label(STATES, raw.get("state")))
    me = actor.employee_id
    employee = me is not None and me == raw.get("employee")
    superior = me is not None and not employee and (me == raw.get("appraiser") or me in who.heads)
    hr = "HR" in actor.roles and not employee
    if action == "submit_self" and not employee:
        return _l("Only the employee fills in their self-assessment.")
    if action == "evaluate" and not superior:
        return _l("Only the employee's superior or a head above them evaluates.")
    if action in ("refresh_actuals", "invite") and not (superior or hr):
        return _l("Only the employee's superior, a head above them or HR does this.")
    if action == "review":
        if employee or me not in who.heads:
            return _l("Only the head of the employee's department or of a unit above it reviews, never the "
                      "employee.")
        if "DeptHead" not in actor.roles:
            return _l("You head a unit above this employee, but your account lacks the DeptHead role that the "
                      "department review needs: ask the administrator to grant it.")
    if action == "give_feedback":
        if employee or me is None or me not in (raw.get("appraiser"), raw.get("reviewer")):
            return _l("The superior or the reviewer holds the feedback interview.")
        if raw.get("feedback_at"):
            return _l("The feedback interview has already been held.")
    if action in ("acknowledge", "appeal"):
        if not employee:
            return _l("Only the employee acknowledges or appeals their result.")
        if not raw.get("feedback_at"):
            return _l("The feedback interview has not been held yet.")
        until = raw.get("appeal_until")
        if action == "appeal" and until is not None and today > until.date():
            return _l("The appeal window closed on %(date)s.", date=f"{until:%Y-%m-%d}")
        if action == "acknowledge" and raw.get("grade") in NEEDS_PLAN and not who.has_plan:
            return plan_needed(raw.get("grade"))
    if action == "decide_appeal" and (employee or me is None or me == raw.get("reviewer")
                                      or not (hr or me in who.above_reviewer)):
        return _l("HR or a head above the reviewer decides an appeal, never the employee or the reviewer.")
    if action == "apply_results" and not hr:
        return _l("HR applies the results.")
    return None


def plan_needed(grade):
    return _l("Grade %(grade)s needs an improvement plan before the appraisal can close (DSC 4(2)3).", grade=grade)


def allowed_actions(raw: dict, actor: Actor, who: People, today: dt.date) -> set[str]:
    """Every action `actor` may take on this appraisal now (what its page offers)."""
    return {a for a in MOVES if a != "close_expired" and refusal(a, raw, actor, who, today) is None}


# ---- reading and moving one appraisal --------------------------------------------------------------------------
def as_id(value) -> ObjectId | None:
    if isinstance(value, ObjectId):
        return value
    return ObjectId(value) if isinstance(value, str) and ObjectId.is_valid(value) else None


def _load(appraisal_id) -> dict:
    raw = Appraisal._get_collection().find_one({"_id": as_id(appraisal_id)})
    if raw is None:
        raise Refused(_l("This appraisal no longer exists."))
    return raw


def _checked(action: str, appraisal_id, actor: Actor, now: dt.datetime) -> tuple[dict, People]:
    raw = _load(appraisal_id)
    who = people(raw)
    problem = refusal(action, raw, actor, who, settings.local_today(now))
    if problem is not None:
        raise Refused(problem)
    return raw, who


def _cycle(raw: dict) -> dict:
    return AppraisalCycle._get_collection().find_one({"_id": raw.get("cycle")}) or {}


def _lines(raw: dict) -> list[AppraisalLine]:
    return [AppraisalLine._from_son(line) for line in raw.get("lines") or []]


def _stored(lines: list[AppraisalLine]) -> list[dict]:
    return [line.to_mongo().to_dict() for line in lines]


def _day(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return reminders.day(value.date() if isinstance(value, dt.datetime) else value)


def _move(raw: dict, action: str, actor: Actor, sets: dict, now: dt.datetime, comment: str = "",
          extra: dict | None = None) -> dict:
    """Take one step: a conditional update on the state and version that appends the Step, audited."""
    allowed, to = MOVES[action]
    to = to or raw["state"]
    step = Step(at=now, by=(actor.name or actor.username)[:64], from_state=raw["state"], to_state=to,
                comment=(comment or "")[:2000] or None).to_mongo().to_dict()
    _before, after = audit.guarded_change(Appraisal, raw["_id"], "state", allowed, {"state": to, **sets},
                                          actor.username, now, push={"history": step},
                                          extra_condition={"version": raw.get("version", 0), **(extra or {})})
    if after is None:
        raise Refused(_l("Someone else changed this appraisal meanwhile: reload the page and try again."))
    return after


def title_of(raw: dict, name: str | None = None) -> str:
    if name is None:
        name = (Employee._get_collection().find_one({"_id": raw.get("employee")}, {"name": 1}) or {}).get("name", "")
    return f"{name} {raw.get('period') or ''}".strip()


def _tell(people_ids, kind: str, raw: dict, date, now: dt.datetime, title: str | None = None) -> None:
    params = {"title": title or title_of(raw), "date": f"{date:%Y-%m-%d}" if date else ""}
    notify.post([(list(people_ids), kind, params, PATH.format(id=raw["_id"]))], now)


def reviewing_head(chain: list[dict], employee, dept_heads: set):
    """Who the department review falls to: the nearest head above the employee (from the first unit they do not
    head) whose account holds the DeptHead role that review() needs; None when nobody up the tree holds it."""
    start = 0
    while employee is not None and start < len(chain) and chain[start].get("head") == employee:
        start += 1
    return next((u["head"] for u in chain[start:] if u.get("head") and u["head"] != employee
                 and u["head"] in dept_heads), None)


def _reviewer_of(raw: dict) -> ObjectId | None:
    return reviewing_head(_chain(raw.get("owner_unit")), raw.get("employee"), set(approvals.role_holders("DeptHead")))


# ---- score sheets ------------------------------------------------------------------------------------------------
def _scores(lines, typed: dict, fallback=None) -> tuple[dict, dict]:
    """Each line's score from what was typed (blank: `fallback(line)`), and the cells that are wrong."""
    values, cells = {}, {}
    for line in lines:
        text = str((typed or {}).get(line.key) or "").strip()[:20]
        ceiling = score_ceiling(line.rule)
        if not text:
            value = fallback(line) if fallback else None
            if value is None:
                cells[line.key] = _l("Give a score between 0 and %(most)s.", most=ceiling)
            else:
                values[line.key] = value
            continue
        value, problem = parse_score(text, ceiling)
        if problem is not None:
            cells[line.key] = problem
        else:
            values[line.key] = value
    return values, cells


def _refuse_cells(*columns: tuple[str, dict]) -> None:
    """Refuse a sheet with bad cells, given as (input column, {indicator key: message}) pairs: the column names the
    form input ("self", "superior", "actual", "final", "score") each message belongs next to."""
    cells: dict = {}
    inputs: dict = {}
    for column, found in columns:
        for key, message in found.items():
            cells.setdefault(key, message)
            inputs[f"{column}-{key}"] = message
    if cells:
        raise ScoresRefused(_l("Some cells need correcting; nothing was saved."), cells, inputs)


def submit_self(appraisal_id, actor: Actor, scores: dict, comment: str = "", now: dt.datetime | None = None) -> dict:
    """The employee rates themself on every indicator (BRD 6(4)1); then it is the superior's turn."""
    now = now or utcnow()
    raw, _who = _checked("submit_self", appraisal_id, actor, now)
    lines = _lines(raw)
    values, cells = _scores(lines, scores)
    _refuse_cells(("self", cells))
    for line in lines:
        line.self_score = values[line.key]
    due = _cycle(raw).get("evaluation_due")
    after = _move(raw, "submit_self", actor, {"lines": _stored(lines), "self_comment": _text(comment, 5000),
                                              "step_due": _day(due)}, now, comment)
    superior = raw.get("appraiser") or reminders.head_of(raw["employee"])
    _tell([superior], "appraisal_evaluate", raw, due, now)
    return after


def _text(value, size: int) -> str | None:
    return str(value or "").strip()[:size] or None


def evaluate(appraisal_id, actor: Actor, scores: dict, comment: str = "", actuals: dict | None = None,
             reasons: dict | None = None, now: dt.datetime | None = None) -> dict:
    """The superior's evaluation (BRD 6(4)2): actuals (a value other than the records' needs a reason) and a score
    per indicator (blank: the score the rule gives, or the 360 average); then the department review."""
    now = now or utcnow()
    raw, _who = _checked("evaluate", appraisal_id, actor, now)
    lines = _lines(raw)
    cells: dict = {}
    for line in lines:
        text = str((actuals or {}).get(line.key) or "").strip()[:20]
        if text:
            value, problem = parse_actual(text)
            if problem is not None:
                cells[line.key] = problem
                continue
            line.actual = value
        if line.proposed is not None and line.actual is not None and line.actual != line.proposed:
            reason = _text((reasons or {}).get(line.key), 1000) or line.override_reason
            if not reason:
                cells[line.key] = _l("The records give %(proposed)s: say why the actual differs.",
                                     proposed=f"{line.proposed}")
                continue
            line.override_reason = reason
        else:
            line.override_reason = None
    values, more = _scores(lines, scores, fallback=score_for)
    _refuse_cells(("actual", cells), ("superior", more))
    for line in lines:
        line.superior_score = values[line.key]
    due = _cycle(raw).get("review_due")
    after = _move(raw, "evaluate", actor, {"lines": _stored(lines), "superior_comment": _text(comment, 5000),
                                           "step_due": _day(due)}, now, comment)
    _tell([_reviewer_of(raw)], "appraisal_review", raw, due, now)
    return after


def review(appraisal_id, actor: Actor, finals: dict, comment: str = "", now: dt.datetime | None = None) -> dict:
    """The department review (BRD 6(4)3): the head fixes the final scores (blank: the superior's); total and grade
    follow from the cycle's bands; then the feedback interview."""
    now = now or utcnow()
    raw, _who = _checked("review", appraisal_id, actor, now)
    lines = _lines(raw)
    values, cells = _scores(lines, finals, fallback=lambda line: line.superior_score)
    _refuse_cells(("final", cells))
    for line in lines:
        line.final_score = values[line.key]
    cycle = _cycle(raw)
    total = total_of(lines)
    today = settings.local_today(now)
    due = max(cycle["review_due"].date(), today) if cycle.get("review_due") else today
    after = _move(raw, "review", actor, {"lines": _stored(lines), "total": _float(total),
                                         "grade": grade_of(total, cycle.get("bands")),
                                         "review_comment": _text(comment, 5000), "reviewed_by": actor.name[:64],
                                         "reviewer": actor.employee_id, "step_due": _day(due)}, now, comment)
    _tell([p for p in (raw.get("appraiser"),) if p != actor.employee_id], "appraisal_reviewed", raw, None, now)
    return after


def give_feedback(appraisal_id, actor: Actor, notes: str, now: dt.datetime | None = None) -> dict:
    """The feedback interview (BRD 6(4)4, DSC 4(2)3): its notes; the appeal window opens for `appeal_days`."""
    now = now or utcnow()
    notes = _text(notes, 5000)
    if not notes:
        raise Refused(_l("Write down what was said in the feedback interview."))
    raw, _who = _checked("give_feedback", appraisal_id, actor, now)
    until = settings.local_today(now) + dt.timedelta(days=int(_cycle(raw).get("appeal_days") or 7))
    after = _move(raw, "give_feedback", actor, {"interview_notes": notes, "feedback_at": now,
                                                "appeal_until": _day(until), "step_due": _day(until)},
                  now, extra={"feedback_at": None})
    audit.record_state(Appraisal, after, "feedback_at", "", f"{now:%Y-%m-%d %H:%M}", actor.username)
    _tell([raw["employee"]], "appraisal_result", raw, until, now)
    return after


def acknowledge(appraisal_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The employee accepts the result; the appraisal closes (grade D or E only with an improvement plan)."""
    now = now or utcnow()
    raw, _who = _checked("acknowledge", appraisal_id, actor, now)
    return _move(raw, "acknowledge", actor, {"acknowledged_at": now, "step_due": None}, now)


def appeal(appraisal_id, actor: Actor, reason: str, now: dt.datetime | None = None) -> dict:
    """The employee appeals within the window (BRD 6(4)4); HR or a head above the reviewer decides."""
    now = now or utcnow()
    reason = _text(reason, 5000)
    if not reason:
        raise Refused(_l("Say why you disagree with the result."))
    raw, _who = _checked("appeal", appraisal_id, actor, now)
    due = settings.local_today(now) + dt.timedelta(days=int(_cycle(raw).get("appeal_days") or 7))
    after = _move(raw, "appeal", actor, {"appeal_reason": reason, "appealed_at": now, "step_due": _day(due)},
                  now, reason)
    deciders = set(approvals.role_holders("HR", exclude=[raw["employee"]])) | people(after).above_reviewer
    _tell(deciders - {raw["employee"], raw.get("reviewer")}, "appraisal_appeal", raw, due, now)
    return after


def decide_appeal(appraisal_id, actor: Actor, outcome: str, decision: str, finals: dict | None = None,
                  now: dt.datetime | None = None) -> dict:
    """Decide an appeal: upheld adjusts the final scores (blank: unchanged) and recomputes total and grade;
    dismissed leaves them. Either way the appraisal closes (grade D or E only with an improvement plan)."""
    now = now or utcnow()
    if outcome not in ("upheld", "dismissed"):
        raise Refused(_l("Choose whether the appeal is upheld or dismissed."))
    decision = _text(decision, 5000)
    if not decision:
        raise Refused(_l("Give the reasons for the decision."))
    raw, _who = _checked("decide_appeal", appraisal_id, actor, now)
    sets: dict = {"appeal_outcome": outcome, "appeal_decision": decision, "appeal_decided_by": actor.name[:64],
                  "step_due": None}
    grade = raw.get("grade")
    if outcome == "upheld":
        total, grade, more = _adjusted(raw, finals or {})
        sets.update(more, total=_float(total), grade=grade)
    if grade in NEEDS_PLAN and ImprovementPlan._get_collection().find_one({"appraisal": raw["_id"]}) is None:
        raise Refused(plan_needed(grade))
    after = _move(raw, "decide_appeal", actor, sets, now, decision)
    _tell([raw["employee"]], "appraisal_decided", raw, None, now)
    return after


def _adjusted(raw: dict, finals: dict) -> tuple[Decimal | None, str | None, dict]:
    """Total, grade and the changed fields of an upheld appeal; an annual result of months adjusts its total."""
    bands = _cycle(raw).get("bands")
    lines = _lines(raw)
    if not lines:
        text = str(finals.get("total") or "").strip()
        total = _dec(raw.get("total"))
        if text:
            total, problem = parse_score(text)
            _refuse_cells(("final", {"total": problem} if problem is not None else {}))
        return total, grade_of(total, bands), {}
    values, cells = _scores(lines, finals, fallback=lambda line: line.final_score)
    _refuse_cells(("final", cells))
    for line in lines:
        line.final_score = values[line.key]
    total = total_of(lines)
    return total, grade_of(total, bands), {"lines": _stored(lines)}


def close_expired(now: dt.datetime | None = None) -> list[reminders.Sent]:
    """Close the appraisals whose appeal window is over without an appeal (D and E wait for their plan)."""
    now = now or utcnow()
    today = settings.local_today(now)
    rows = list(Appraisal._get_collection().find(
        {"state": "feedback", "feedback_at": {"$ne": None}, "appeal_until": {"$lt": reminders.day(today)}},
        {"state": 1, "version": 1, "grade": 1, "employee": 1, "period": 1}).limit(5000))
    if not rows:
        return []
    planned = {p["appraisal"] for p in ImprovementPlan._get_collection().find(
        {"appraisal": {"$in": [r["_id"] for r in rows]}}, {"appraisal": 1})}
    names = _names([r["employee"] for r in rows])
    out = []
    for raw in rows:
        if raw.get("grade") in NEEDS_PLAN and raw["_id"] not in planned:
            continue
        try:
            _move(raw, "close_expired", SCHEDULER, {"step_due": None}, now)
        except Refused:
            continue  # acknowledged or appealed at this very moment
        out.append(reminders.Sent("appraisal_closed", title_of(raw, names.get(raw["employee"], "")), 0, ""))
    return out


def _names(ids) -> dict:
    return {e["_id"]: e.get("name", "") for e in Employee._get_collection().find({"_id": {"$in": list(set(ids))}},
                                                                                {"name": 1})}


def apply_results(appraisal_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """HR applies a closed result (BRD 6(4)5, FSS 6(4), DSC 4(2)2): the bonus coefficient of the grade
    (`appraisal_bonus_percent_*`), a recommendation (A: promotion; D, E: coaching) and a training need for each
    indicator scored below 60 (FSS 6(4)3)."""
    from portal import training  # the training area, imported when results are applied

    now = now or utcnow()
    raw, _who = _checked("apply_results", appraisal_id, actor, now)
    grade = raw.get("grade") or "C"
    percent = Decimal(int(settings.get(f"appraisal_bonus_percent_{grade.lower()}")))
    recommendation = "promotion" if grade == "A" else "coaching" if grade in NEEDS_PLAN else "none"
    after = _move(raw, "apply_results", actor, {"bonus_coefficient": _float(percent / HUNDRED),
                                                "recommendation": recommendation, "applied_at": now}, now)
    for line in _lines(raw):
        if line.final_score is not None and line.final_score < WEAK_SCORE:
            training.raise_need(raw["employee"], line.name, source="appraisal", reference=f"{raw['_id']}:{line.key}",
                                priority="high" if line.final_score < 40 else "medium",
                                description=f"{raw.get('period') or ''} {line.name}: {line.final_score} / 100")
    return after


# ---- actuals from the portal's ledgers (portal.kpis) ------------------------------------------------------------
def kpis_available() -> bool:
    return importlib.util.find_spec("portal.kpis") is not None


def _propose(source: str, employee_ids: list, start: dt.date, end: dt.date) -> dict:
    """{employee id: Proposal} for a data source; {} for manual lines or while the KPI module is absent."""
    if source in ("manual", "peer_rating") or not employee_ids or not kpis_available():
        return {}
    from portal import kpis

    return kpis.propose(source, list(employee_ids), start, end)


def _proposed(line: AppraisalLine, proposal) -> None:
    """Put a fresh proposal on a line; an actual nobody overrode follows it."""
    old = line.proposed
    follows = line.actual is None or line.actual == old
    line.proposed = _dec(proposal.value) if proposal is not None else None
    line.basis = str(proposal.basis)[:500] if proposal is not None else None
    if follows:
        line.actual, line.override_reason = line.proposed, None


def refresh_actuals(appraisal_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """Propose the actuals again from the records (before the superior's evaluation)."""
    now = now or utcnow()
    raw, _who = _checked("refresh_actuals", appraisal_id, actor, now)
    cycle = _cycle(raw)
    lines = _lines(raw)
    for source in {line.source for line in lines}:
        found = _propose(source, [raw["employee"]], cycle.get("start").date(), cycle.get("end").date())
        for line in lines:
            if line.source == source and source not in ("manual", "peer_rating"):
                _proposed(line, found.get(raw["employee"]))
    after = _move(raw, "refresh_actuals", actor, {"lines": _stored(lines)}, now)
    audit.record_state(Appraisal, after, "lines.actual", "", "refreshed from the records", actor.username)
    return after


def records(raw: dict, key: str, limit: int = 50) -> list[dict] | None:
    """The records behind a line's proposed actual; None when the line or the KPI module does not exist."""
    line = next((line for line in raw.get("lines") or [] if line.get("key") == key), None)
    if line is None or not kpis_available():
        return None
    if line.get("source") in ("manual", "peer_rating"):
        return []
    from portal import kpis

    cycle = _cycle(raw)
    return kpis.records(line["source"], raw["employee"], cycle["start"].date(), cycle["end"].date(), limit)


# ---- launching a cycle (BRD 6(3), FSS 6(2)) ----------------------------------------------------------------------
def _subtree(unit_id) -> list:
    if unit_id is None:
        return [u["_id"] for u in OrgUnit._get_collection().find({}, {"_id": 1})]
    return [u["_id"] for u in OrgUnit._get_collection().find({"$or": [{"_id": unit_id}, {"ancestors": unit_id}]},
                                                             {"_id": 1})]


def _superiors(staff: list[dict]) -> dict:
    """Each employee's appraiser: their manager, else the nearest head above them (one read of the tree)."""
    units = {u["_id"]: u for u in OrgUnit._get_collection().find({}, {"ancestors": 1, "head": 1})}
    out = {}
    for person in staff:
        if person.get("manager") and person["manager"] != person["_id"]:
            out[person["_id"]] = person["manager"]
            continue
        unit = units.get(person.get("owner_unit")) or {}
        chain = [unit, *(units.get(a) or {} for a in reversed(unit.get("ancestors") or []))]
        out[person["_id"]] = next((u["head"] for u in chain if u.get("head") and u["head"] != person["_id"]), None)
    return out


def annual_from_months(employee_ids: list, year: int, bands=None) -> dict:
    """The annual result of monthly-appraised staff (FSS 6(2)): per employee with closed (or applied) monthly
    appraisals in `year`, their months, the mean of their totals (half up) and its grade. One query."""
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    found: dict = {}
    for row in Appraisal._get_collection().find(
            {"employee": {"$in": list(employee_ids)}, "period_kind": "month", "period": {"$in": months},
             "state": {"$in": ["closed", "applied"]}, "total": {"$ne": None}},
            {"employee": 1, "period": 1, "total": 1, "grade": 1}):
        found.setdefault(row["employee"], {})[row["period"]] = row  # one per month
    out = {}
    for employee, by_month in found.items():
        rows = [by_month[m] for m in sorted(by_month)]
        mean = (sum((Decimal(str(r["total"])) for r in rows), Decimal("0")) / len(rows)).quantize(
            SCORE_PLACES, rounding=ROUND_HALF_UP)
        out[employee] = {"monthly_totals": [MonthTotal(period=r["period"], total=_dec(r["total"]),
                                                       grade=r.get("grade")) for r in rows],
                         "total": mean, "grade": grade_of(mean, bands)}
    return out


def _snapshot(template: KpiTemplate, employee_id, proposals: dict) -> list[AppraisalLine]:
    lines = []
    for ind in template.indicators:
        line = AppraisalLine(key=ind.key, name=ind.name, category=ind.category, weight=ind.weight,
                             measure=ind.measure, source=ind.source, target=ind.target, rule=ind.rule,
                             standard=ind.standard)
        _proposed(line, (proposals.get(ind.source) or {}).get(employee_id))
        lines.append(line)
    return lines


def launch(cycle_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """Create one appraisal per active employee (probation included, agents too) of the cycle's unit and the units
    below it, from the active template of their staff kind, as a snapshot with the actuals the records propose; a
    year cycle gives monthly-appraised staff their annual result instead (FSS 6(2)), once every monthly appraisal
    of theirs that year is closed. Launching again adds whoever is new (and recomputes an annual result nobody has
    acknowledged or appealed yet); an employee already appraised for the same period in another cycle counts as
    existing. Returns the counts and the people left out: without a template, appraised in another cycle, with
    months still open."""
    now = now or utcnow()
    if not actor.roles & {"HR", "Admin"}:
        raise Refused(_l("HR launches appraisal cycles."))
    cycle = AppraisalCycle._get_collection().find_one({"_id": as_id(cycle_id)})
    if cycle is None:
        raise Refused(_l("This cycle no longer exists."))
    if cycle.get("status") == "closed":
        raise Refused(_l("This cycle is closed."))
    staff = list(Employee._get_collection().find(
        {"owner_unit": {"$in": _subtree(cycle.get("owner_unit"))}, "status": {"$in": ["active", "probation"]}},
        {"name": 1, "staff_kind": 1, "manager": 1, "owner_unit": 1}).limit(20000))
    collection = Appraisal._get_collection()
    existing = set(collection.distinct("employee", {"cycle": cycle["_id"]}))
    # one appraisal per employee and period, whichever cycle it came from
    elsewhere = set(collection.distinct("employee", {
        "period_kind": cycle.get("period_kind"), "period": cycle.get("period"), "cycle": {"$ne": cycle["_id"]},
        "employee": {"$in": [p["_id"] for p in staff]}})) - existing
    templates = {t.staff_kind: t for t in KpiTemplate.objects(active=True)}
    start, end = cycle["start"].date(), cycle["end"].date()
    months_open: set = set()
    annual: dict = {}
    recomputed = 0
    if cycle.get("period_kind") == "year":
        months_open = months_still_open([p["_id"] for p in staff], start.year)
        annual = annual_from_months([p["_id"] for p in staff if p["_id"] not in months_open], start.year,
                                    cycle.get("bands"))
        recomputed = _recompute_annual(cycle, annual, actor, now)
    left_out = existing | elsewhere | months_open
    scored = [p for p in staff if p["_id"] not in annual and p["_id"] not in months_open
              and p.get("staff_kind") in templates]
    without = [p["_id"] for p in staff if p["_id"] not in annual and p["_id"] not in months_open
               and p.get("staff_kind") not in templates]
    todo = [p for p in staff if p["_id"] not in left_out and p["_id"] not in without]
    proposals = {source: _propose(source, [p["_id"] for p in scored if p["_id"] not in left_out
                                           and any(i.source == source for i in templates[p["staff_kind"]].indicators)],
                                  start, end)
                 for source in {i.source for t in templates.values() for i in t.indicators}}
    superiors = _superiors(todo)
    created, clash, asked = 0, 0, []
    for person in todo:
        item = _new_appraisal(cycle, person, superiors.get(person["_id"]), templates, annual, proposals, actor, now)
        try:
            item.save()
        except NotUniqueError:
            clash += 1  # launched at the same moment elsewhere
            continue
        created += 1
        if item.state == "self_assessment":
            asked.append(person["_id"])
    count = collection.count_documents({"cycle": cycle["_id"]})
    audit.guarded_change(AppraisalCycle, cycle["_id"], "status", ["planned", "open"],
                         {"status": "open", "launched_at": cycle.get("launched_at") or now,
                          "launched_by": cycle.get("launched_by") or actor.name[:64], "appraisals": count,
                          "without_template": without, "months_open": sorted(months_open)}, actor.username, now)
    if asked:
        params = {"title": cycle.get("name", ""), "date": f"{cycle['self_due']:%Y-%m-%d}"}
        notify.post([(asked, "appraisal_self", params, "/appraisals/mine/")], now)
    named = {p.pk: p for p in Employee.objects(pk__in=[*without, *elsewhere, *months_open]).order_by("employee_no")}
    return {"created": created, "existing": len(existing) + len(elsewhere) + clash, "recomputed": recomputed,
            "without_template": [p for p in named.values() if p.pk in set(without)],
            "in_other_cycles": [p for p in named.values() if p.pk in elsewhere],
            "months_open": [p for p in named.values() if p.pk in months_open]}


def months_still_open(employee_ids: list, year: int) -> set:
    """The employees with a monthly appraisal of `year` not closed yet (one query): no annual result for them
    until it is (FSS 6(2))."""
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    return set(Appraisal._get_collection().distinct("employee", {
        "employee": {"$in": list(employee_ids)}, "period_kind": "month", "period": {"$in": months},
        "state": {"$nin": ["closed", "applied"]}}))


def _recompute_annual(cycle: dict, annual: dict, actor: Actor, now: dt.datetime) -> int:
    """An annual result of months still at the feedback step (nobody acknowledged or appealed it) follows the
    months closed since the launch; returns how many changed."""
    changed = 0
    for raw in Appraisal._get_collection().find(
            {"cycle": cycle["_id"], "state": "feedback", "employee": {"$in": list(annual)},
             "monthly_totals.0": {"$exists": True}},
            {"employee": 1, "monthly_totals": 1, "total": 1, "grade": 1, "version": 1, "state": 1}):
        result = annual[raw["employee"]]
        months = [m.to_mongo().to_dict() for m in result["monthly_totals"]]
        before = [(m.get("period"), _dec(m.get("total"))) for m in raw.get("monthly_totals") or []]
        if before == [(m["period"], _dec(m["total"])) for m in months] and raw.get("grade") == result["grade"]:
            continue
        step = Step(at=now, by=(actor.name or actor.username)[:64], from_state="feedback", to_state="feedback",
                    comment=f"{len(months)} / 12").to_mongo().to_dict()
        _before, after = audit.guarded_change(
            Appraisal, raw["_id"], "state", ["feedback"],
            {"monthly_totals": months, "total": _float(result["total"]), "grade": result["grade"]}, actor.username,
            now, push={"history": step}, extra_condition={"version": raw.get("version", 0)})
        if after is not None:
            audit.record_state(Appraisal, after, "total", _dec(raw.get("total")), _dec(result["total"]),
                               actor.username)
            changed += 1
    return changed


def _new_appraisal(cycle: dict, person: dict, superior, templates: dict, annual: dict, proposals: dict,
                   actor: Actor, now: dt.datetime) -> Appraisal:
    common = {"cycle": cycle["_id"], "employee": person["_id"], "appraiser": superior,
              "staff_kind": person.get("staff_kind"), "period_kind": cycle.get("period_kind"),
              "period": cycle.get("period"), "owner_unit": person.get("owner_unit")}
    result = annual.get(person["_id"])
    if result is not None:  # the mean of the year's months, not a new scoring (FSS 6(2))
        return Appraisal(**common, lines=[], monthly_totals=result["monthly_totals"], total=result["total"],
                         grade=result["grade"], state="feedback", step_due=cycle.get("review_due"),
                         history=[Step(at=now, by=actor.name[:64], to_state="feedback")])
    template = templates[person["staff_kind"]]
    return Appraisal(**common, template_name=template.name, lines=_snapshot(template, person["_id"], proposals),
                     state="self_assessment", step_due=cycle.get("self_due"),
                     history=[Step(at=now, by=actor.name[:64], to_state="self_assessment")])


def follow_cycle_dates(cycle_id) -> int:
    """After HR moves a launched cycle's due dates, the appraisals waiting at a step (and the 360 requests still
    open) take the new dates; returns how many appraisals changed."""
    cycle = AppraisalCycle._get_collection().find_one({"_id": as_id(cycle_id)})
    if cycle is None:
        return 0
    collection, changed = Appraisal._get_collection(), 0
    for state, field in (("self_assessment", "self_due"), ("superior_evaluation", "evaluation_due"),
                         ("department_review", "review_due")):
        changed += collection.update_many({"cycle": cycle["_id"], "state": state, "step_due": {"$ne": cycle[field]}},
                                          {"$set": {"step_due": cycle[field]}}).modified_count
    asked = collection.distinct("_id", {"cycle": cycle["_id"], "state": {"$in": list(RATING_STATES)}})
    Feedback360._get_collection().update_many({"appraisal": {"$in": asked}, "submitted_at": None},
                                              {"$set": {"expires_on": cycle["review_due"]}})
    return changed


def close_cycle(cycle_id, actor: Actor, now: dt.datetime | None = None) -> dict:
    """HR closes an open cycle once every appraisal in it is closed or applied."""
    now = now or utcnow()
    if "HR" not in actor.roles:
        raise Refused(_l("HR closes appraisal cycles."))
    open_ones = Appraisal._get_collection().count_documents({"cycle": as_id(cycle_id),
                                                            "state": {"$nin": ["closed", "applied"]}})
    if open_ones:
        raise Refused(_l("%(count)s appraisals of this cycle are not closed yet.", count=open_ones))
    _before, after = audit.guarded_change(AppraisalCycle, as_id(cycle_id), "status", ["open"], {"status": "closed"},
                                          actor.username, now)
    if after is None:
        raise Refused(_l("Only an open cycle can be closed."))
    return after


# ---- 360-degree inputs (SOC 5.1, FSS 6(3)2-3) --------------------------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite(appraisal_id, actor: Actor, kind: str, rater_id=None, customer_name: str | None = None,
           now: dt.datetime | None = None) -> str | None:
    """Ask a colleague (peer or superior) or a customer to rate the appraisal's qualitative indicators; a customer
    answers through a one-time link without an account, valid until the review is due. Returns the link's token
    (customers only): it is stored as its SHA-256, so it can be shown this once."""
    now = now or utcnow()
    if kind not in {k for k, _label in RATER_KINDS}:
        raise Refused(_l("Choose who is asked: a peer, a superior or a customer."))
    raw, _who = _checked("invite", appraisal_id, actor, now)
    if not any(rated_by_360(line) for line in raw.get("lines") or []):
        raise Refused(_l("This appraisal has no qualitative indicator to rate."))
    rater, name, token = None, None, None
    if kind == "customer":
        name = _text(customer_name, 120)
        if not name:
            raise Refused(_l("Give the customer's name."))
        token = secrets.token_urlsafe(24)
    else:
        rater = Employee._get_collection().find_one({"_id": as_id(rater_id), "status": {"$ne": "left"}}, {"_id": 1})
        if rater is None:
            raise Refused(_l("Choose the colleague who is asked."))
        rater = rater["_id"]
        if rater == raw["employee"]:
            raise Refused(_l("The employee does not rate themself here: that is the self-assessment."))
        if Feedback360._get_collection().find_one({"appraisal": raw["_id"], "rater": rater}, {"_id": 1}):
            raise Refused(_l("This colleague has already been asked."))
    expires = _cycle(raw).get("review_due")
    item = Feedback360(appraisal=raw["_id"], employee=raw["employee"], kind=kind, rater=rater, customer_name=name,
                       token_hash=token_hash(token) if token else None, expires_on=expires.date() if expires else None,
                       invited_by=actor.username, owner_unit=raw.get("owner_unit")).save()
    if rater is not None:
        notify.post([([rater], "appraisal_360", {"title": title_of(raw), "date": f"{expires:%Y-%m-%d}" if expires
                                                 else ""}, FEEDBACK_PATH.format(id=item.pk))], now)
    return token


def _rating_rows(lines: list[dict], typed: dict) -> list[dict]:
    rows, cells = [], {}
    for line in lines:
        if not rated_by_360(line):
            continue
        text = str((typed or {}).get(line["key"]) or "").strip()[:20]
        value, problem = parse_score(text) if text else (None, _l("Give a score between 0 and %(most)s.",
                                                                     most=HUNDRED))
        if problem is not None:
            cells[line["key"]] = problem
        else:
            rows.append({"key": line["key"], "score": float(value)})
    _refuse_cells(("score", cells))
    return rows


def rating_form(feedback_raw: dict) -> tuple[dict | None, list[dict]]:
    """The appraisal a 360 request is about (its state, period, employee) and the lines the rater scores."""
    raw = Appraisal._get_collection().find_one({"_id": feedback_raw.get("appraisal")},
                                                {"lines": 1, "state": 1, "period": 1, "employee": 1})
    return raw, [line for line in (raw or {}).get("lines") or [] if rated_by_360(line)]


def _answer(feedback: dict, ratings: dict, comment: str, now: dt.datetime) -> dict:
    if feedback.get("submitted_at"):
        raise Refused(_l("This rating has already been given: each request is answered once."))
    expires = feedback.get("expires_on")
    if expires is not None and settings.local_today(now) > expires.date():
        raise Refused(_l("This request expired on %(date)s.", date=f"{expires:%Y-%m-%d}"))
    raw, lines = rating_form(feedback)
    if raw is None or raw.get("state") not in RATING_STATES:
        raise Refused(_l("This appraisal no longer takes ratings."))
    rows = _rating_rows(lines, ratings)
    collection = Feedback360._get_collection()
    # the stamps and the audit trail name nobody: an appraised Auditor reads the log (ratings, comment and rater
    # are kept out of it by Feedback360.audit_exclude)
    done = collection.find_one_and_update(
        {"_id": feedback["_id"], "submitted_at": None},
        {"$set": {"ratings": rows, "comment": _text(comment, 2000), "submitted_at": now, "updated_at": now,
                  "updated_by": ANONYMOUS_360}, "$inc": {"version": 1}}, return_document=ReturnDocument.AFTER)
    if done is None:
        raise Refused(_l("This rating has already been given: each request is answered once."))
    audit.record("update", Feedback360._from_son(done), [FieldChange(field="submitted_at", old="",
                                                                     new=f"{now:%Y-%m-%d %H:%M}")],
                 note=f"by {ANONYMOUS_360}", user=ANONYMOUS_360)
    _apply_360(raw, now)
    return done


def answer_360(feedback_id, actor: Actor, ratings: dict, comment: str = "", now: dt.datetime | None = None) -> dict:
    """The invited colleague rates each qualitative indicator 0-100, once; the averages feed the appraisal."""
    now = now or utcnow()
    feedback = Feedback360._get_collection().find_one({"_id": as_id(feedback_id)})
    if feedback is None:
        raise Refused(_l("This request no longer exists."))
    if actor.employee_id is None or feedback.get("rater") != actor.employee_id:
        raise Refused(_l("Only the colleague who was asked gives this rating."))
    return _answer(feedback, ratings, comment, now)


def feedback_by_token(token: str) -> dict | None:
    """The customer request a link's token opens, or None (an unknown or malformed token)."""
    if not isinstance(token, str) or not 16 <= len(token) <= 100:
        return None
    return Feedback360._get_collection().find_one({"token_hash": token_hash(token), "kind": "customer"})


def answer_by_token(token: str, ratings: dict, comment: str = "", now: dt.datetime | None = None) -> dict:
    """A customer answers through their one-time link (no account); used, expired or unknown links are refused."""
    now = now or utcnow()
    feedback = feedback_by_token(token)
    if feedback is None:
        raise Refused(_l("This link is not valid."))
    return _answer(feedback, ratings, comment, now)


def min_360_answers() -> int:
    """How many 360 answers must be in before the appraisee sees the averages (`appraisal_360_min_answers`, at least
    2: with one, the average is that colleague's answer)."""
    try:
        return max(2, int(settings.get("appraisal_360_min_answers")))
    except (TypeError, ValueError):
        return 3


def ratings_360(appraisal_ids: list) -> dict:
    """{appraisal id: {indicator key: average of the answers given}} (one aggregation)."""
    out: dict = {}
    for row in Feedback360._get_collection().aggregate([
            {"$match": {"appraisal": {"$in": list(appraisal_ids)}, "submitted_at": {"$ne": None}}},
            {"$unwind": "$ratings"},
            {"$group": {"_id": {"appraisal": "$appraisal", "key": "$ratings.key"},
                        "score": {"$avg": "$ratings.score"}}}]):
        out.setdefault(row["_id"]["appraisal"], {})[row["_id"]["key"]] = _dec(row["score"])
    return out


def _apply_360(raw: dict, now: dt.datetime) -> None:
    """Put the 360 averages on the appraisal's qualitative lines (the stamps name nobody)."""
    averages = ratings_360([raw["_id"]]).get(raw["_id"], {})
    sets = {f"lines.{n}.rating_360": _float(averages[line["key"]]) for n, line in enumerate(raw.get("lines") or [])
            if rated_by_360(line) and line["key"] in averages}
    if sets:
        audit.guarded_change(Appraisal, raw["_id"], "state", RATING_STATES, sets, ANONYMOUS_360, now)


# ---- improvement plans (DSC 4(2)3) -------------------------------------------------------------------------------
def plan_refusal(appraisal_raw: dict | None, actor: Actor, heads: set | None = None):
    """Why `actor` may not draw up (or change) an improvement plan for this appraisal; None when they may.
    `heads`: the heads of the employee's unit and above, when the caller has read them already."""
    if appraisal_raw is None:
        return _l("Choose the appraisal the plan follows.")
    if not appraisal_raw.get("grade"):
        return _l("An improvement plan follows a reviewed appraisal: this one has no grade yet.")
    me = actor.employee_id
    if me is not None and me == appraisal_raw.get("employee"):
        return _l("The plan is drawn up by the superior, a head above or HR, not by the employee.")
    if "HR" in actor.roles or "Admin" in actor.roles:
        return None
    if heads is None:
        heads = _appraisal_heads(appraisal_raw)
    if me is not None and (me == appraisal_raw.get("appraiser") or me in heads):
        return None
    return _l("The plan is drawn up by the superior, a head above or HR, not by the employee.")


# ---- who sees what (DOMAIN 6: the employee, their managers up the tree, HR, Admin, Auditor) ---------------------
@dataclass(frozen=True)
class Grant:
    """What heading (or deputising for) one unit opens: the records of `units` (the unit and those below it),
    except those of `boss`, the head of that unit, in `boss_units` (the units from theirs up to this one that they
    head): a deputy is their head's subordinate and sees nothing of the head's appraisal."""

    units: frozenset
    boss: object
    boss_units: frozenset

    def q(self) -> Q:
        opened = Q(owner_unit__in=sorted(self.units))
        if self.boss is None or not self.boss_units:
            return opened
        return opened & (Q(employee__ne=self.boss) | Q(owner_unit__nin=sorted(self.boss_units)))

    def opens(self, raw: dict) -> bool:
        unit = raw.get("owner_unit")
        return unit in self.units and not (raw.get("employee") == self.boss and unit in self.boss_units)


def grants_of(units: dict, me) -> list[Grant]:
    """The grants of `me` over an org tree already read ({id: unit with ancestors, head, deputy_heads})."""
    if me is None:
        return []
    out = []
    for uid, unit in units.items():
        if unit.get("head") != me and me not in (unit.get("deputy_heads") or []):
            continue
        below = frozenset(u for u, row in units.items() if u == uid or uid in (row.get("ancestors") or []))
        boss = unit.get("head")
        if boss is None or boss == me:
            out.append(Grant(below, None, frozenset()))
            continue
        # the units whose chain up to this one the boss heads throughout: their appraisal stays closed to `me`
        boss_units = frozenset(u for u in below if all(
            (units.get(a) or {}).get("head") == boss for a in _path(units, u, uid)))
        out.append(Grant(below, boss, boss_units))
    return out


def _path(units: dict, unit_id, top) -> list:
    """`unit_id` and the units above it up to `top`, nearest first."""
    ancestors = list(reversed((units.get(unit_id) or {}).get("ancestors") or []))
    return [unit_id, *ancestors[:ancestors.index(top) + 1]] if top in ancestors else [unit_id]


def _grants() -> list[Grant]:
    """The signed-in user's grants (two reads at most, once per request)."""
    from portal.security import request_cache

    cache = request_cache()
    if "appraisal.grants" not in cache:
        me = scope.current_employee_id()
        collection = OrgUnit._get_collection()
        direct = [] if me is None else [u["_id"] for u in collection.find(
            {"$or": [{"head": me}, {"deputy_heads": me}]}, {"_id": 1})]
        units = {u["_id"]: u for u in collection.find(
            {"$or": [{"_id": {"$in": direct}}, {"ancestors": {"$in": direct}}]},
            {"ancestors": 1, "head": 1, "deputy_heads": 1})} if direct else {}
        cache["appraisal.grants"] = grants_of(units, me)
    return cache["appraisal.grants"]


def _granted_q(grants: list[Grant]) -> Q | None:
    q = None
    for grant in grants:
        q = grant.q() if q is None else q | grant.q()
    return q


def _own_or_granted(q: Q) -> Q:
    granted = _granted_q(_grants())
    return q if granted is None else q | granted


def appraisal_scope() -> Q | None:
    """The appraisals the signed-in user may see (None: all): their own, those they appraise, those of the units
    they head and below, except their own head's. A Clerk's unit gives no access: a peer sees nothing of a
    colleague's scores."""
    if scope.role_names() & ALL_SEEING:
        return None
    me = scope.current_employee_id()
    if me is None:
        return Q(pk__in=[])
    return _own_or_granted(Q(employee=me) | Q(appraiser=me))


def sees(raw: dict) -> bool:
    """`appraisal_scope` for one raw appraisal already read."""
    if scope.role_names() & ALL_SEEING:
        return True
    me = scope.current_employee_id()
    return me is not None and (me in (raw.get("employee"), raw.get("appraiser"))
                               or any(grant.opens(raw) for grant in _grants()))


def feedback_scope() -> Q | None:
    """The 360 requests the user may see: the one asked, the one who asked, the heads above, HR, Admin and Auditor;
    never those about oneself, so that the appraisee cannot learn who said what."""
    me = scope.current_employee_id()
    if scope.role_names() & ALL_SEEING:
        return None if me is None else Q(employee__ne=me)
    if me is None:
        return Q(pk__in=[])
    return _own_or_granted(Q(rater=me) | Q(invited_by=audit.current_actor())) & Q(employee__ne=me)


def plan_scope() -> Q | None:
    """The improvement plans the user may see: their own, those they mentor or appraise, the units they head
    (except their own head's)."""
    if scope.role_names() & ALL_SEEING:
        return None
    me = scope.current_employee_id()
    if me is None:
        return Q(pk__in=[])
    return _own_or_granted(Q(employee=me) | Q(mentor=me) | Q(appraiser=me))


# ---- reminders (`portal remind`, BRD 6(3)) -------------------------------------------------------------------------
STEP_STATES = (*RATING_STATES, "feedback", "appeal")  # the steps somebody must take by a due date


def _step_where(now: dt.datetime) -> dict:
    """Appraisals past their step's due date (a feedback step only until the interview is held)."""
    return {"step_due": {"$lt": reminders.day(settings.local_today(now))}, "state": {"$in": list(STEP_STATES)},
            "$or": [{"state": {"$ne": "feedback"}}, {"feedback_at": None}]}


def _step_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """Each step past its due date, to whoever must act: the employee (self-assessment), the superior (evaluation,
    feedback interview), the head (department review), HR (an appeal). Once per step."""
    names = _names([r["employee"] for r in rows])
    chains = _chains(raw.get("owner_unit") for raw in rows if raw["state"] in ("superior_evaluation",
                                                                                 "department_review"))
    roles = reminders.holders([*(["DeptHead"] if any(r["state"] == "department_review" for r in rows) else []),
                               *(["HR"] if any(r["state"] == "appeal" for r in rows) else [])])
    dept_heads = set(roles.get("DeptHead", []))

    def who(raw):
        state, chain = raw["state"], chains.get(raw.get("owner_unit"), [])
        if state == "self_assessment":
            return [raw["employee"]]
        if state == "superior_evaluation":
            return [raw.get("appraiser") or next((u["head"] for u in chain if u.get("head")
                                                  and u["head"] != raw["employee"]), None)]
        if state == "department_review":
            return [reviewing_head(chain, raw["employee"], dept_heads)]
        if state == "feedback":
            return [raw.get("appraiser"), raw.get("reviewer")]
        return [p for p in roles.get("HR", []) if p != raw["employee"]]

    out = []
    for raw in rows:
        date, title = raw.get("step_due"), title_of(raw, names.get(raw["employee"], ""))
        out.append(reminders.item(raw, "appraisal_overdue", who(raw), {"title": title,
                                                                        "date": f"{date:%Y-%m-%d}" if date else ""},
                                  PATH.format(id=raw["_id"]), title=title, stamp="reminded_for", value=raw["state"],
                                  when=date))
        out[-1].claim = {"state": raw["state"], "reminded_for": {"$ne": raw["state"]}}
    return out


def _chains(unit_ids) -> dict:
    """`_chain` for many units: two queries."""
    ids = [u for u in dict.fromkeys(unit_ids) if u is not None]
    if not ids:
        return {}
    units = OrgUnit._get_collection()
    own = {u["_id"]: u for u in units.find({"_id": {"$in": ids}}, {"ancestors": 1, "head": 1, "deputy_heads": 1})}
    wanted = list({a for u in own.values() for a in u.get("ancestors") or []} - own.keys())
    known = {**own, **{u["_id"]: u for u in units.find({"_id": {"$in": wanted}}, {"head": 1, "deputy_heads": 1})}}
    return {uid: [u, *(known[a] for a in reversed(u.get("ancestors") or []) if a in known)] for uid, u in own.items()}


def _my_steps(person: reminders.Person) -> dict | None:
    """HR acts on every appeal; anyone else on their own appraisal, as appraiser or reviewer, or in a unit they
    head (the superior's and the department head's steps go up the unit's chain)."""
    if "HR" in person.roles:
        return None
    return {"$or": [{"employee": person.id}, {"appraiser": person.id}, {"reviewer": person.id},
                    {"owner_unit": {"$in": list(person.units)}}]}


step_reminders = reminders.Source(
    "step_reminders", Appraisal, {"appraisal_overdue": _l("Appraisal steps past their due date")}, _step_items,
    where=_step_where, fields={"employee": 1, "appraiser": 1, "reviewer": 1, "owner_unit": 1, "period": 1, "state": 1,
                               "step_due": 1, "reminded_for": 1}, sort=("step_due", 1),
    fresh=lambda now: {"$or": [{"state": state, "reminded_for": {"$ne": state}} for state in STEP_STATES]},
    pages={"appraisal_overdue": "/appraisals/mine/"}, mine=_my_steps)


def _plan_items(now: dt.datetime, rows: list[dict]) -> list[reminders.Due]:
    """An improvement plan past its review date with no outcome: its mentor and the superior, once."""
    names = _names([p["employee"] for p in rows])
    out = []
    for raw in rows:
        date = raw.get("review_on")
        out.append(reminders.item(raw, "improvement_review_due", (raw.get("mentor"), raw.get("appraiser")),
                                  {"title": names.get(raw["employee"], ""), "date": f"{date:%Y-%m-%d}" if date else ""},
                                  PLAN_PATH.format(id=raw["_id"]), title=names.get(raw["employee"], ""),
                                  stamp="reminded", value=True, when=date))
    return out


plan_reminders = reminders.Source(
    "plan_reminders", ImprovementPlan, {"improvement_review_due": _l("Improvement plans due for review")},
    _plan_items, where=lambda now: {"outcome": "open",
                                    "review_on": {"$lt": reminders.day(settings.local_today(now))}},
    fields={"employee": 1, "mentor": 1, "appraiser": 1, "review_on": 1, "reminded": 1},
    fresh=lambda now: {"reminded": {"$ne": True}}, sort=("review_on", 1),
    pages={"improvement_review_due": "/improvement-plans/list/"},
    mine=lambda person: {"$or": [{"mentor": person.id}, {"appraiser": person.id}]})


reminders.SOURCES.extend([step_reminders, close_expired, plan_reminders])
