"""The appraisal boards (DOMAIN 6; BRD 6(3), BRD 6(4)2-3, SOC 5.1): My team, the department review with its
calibration against the target grade distribution, and HR's cycle board.

Every function reads a fixed number of queries whatever the number of appraisals: the cycles, the org tree, one
query (or aggregation) over the appraisals and one over the names they refer to. The caller passes the user's
scope as a raw MongoDB filter (`scope_where`, {} for everyone), so nothing here needs a request.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from bson import ObjectId

from models.appraisal import GRADES, SCORE_PLACES, STATES, Appraisal, AppraisalCycle, AppraisalLine, score_ceiling
from models.org import Employee, OrgUnit
from models.settings import DEFAULTS, Setting
from portal import appraisal, approvals

STATE_KEYS = tuple(key for key, _label in STATES)
WORKING = ("self_assessment", "superior_evaluation", "department_review", "feedback", "appeal")  # a step to take
REVIEWED = ("feedback", "appeal", "closed", "applied")  # the final total is fixed
TARGET_KEYS = {grade: f"appraisal_target_share_{grade.lower()}" for grade in GRADES}
ROW_LIMIT = 2000  # appraisals read for one page: a unit of more people is narrowed with the unit filter
OVERDUE_LIMIT = 200
ROW_FIELDS = {"employee": 1, "appraiser": 1, "owner_unit": 1, "state": 1, "step_due": 1, "lines": 1, "total": 1,
              "grade": 1, "template_name": 1}
NOBODY = ("", "", None)
TENTH = Decimal("0.1")


def as_id(value) -> ObjectId | None:
    """An id typed in a URL or form, or None when it is not one."""
    return ObjectId(value) if isinstance(value, str) and ObjectId.is_valid(value) else None


def decimal(value) -> Decimal | None:
    """A stored number (mongoengine keeps DecimalField as a float) as a Decimal with two places."""
    if value is None:
        return None
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(SCORE_PLACES)


# ---- the org tree and the cycles ------------------------------------------------------------------------------
def org_units() -> dict:
    """Every org unit by id (one query): name, code, ancestors, head and deputies."""
    fields = {"name": 1, "code": 1, "ancestors": 1, "head": 1, "deputy_heads": 1, "parent": 1}
    return {u["_id"]: u for u in OrgUnit._get_collection().find({}, fields)}


def subtree(units: dict, root) -> set:
    """`root` and every unit below it."""
    return {uid for uid, u in units.items() if uid == root or root in (u.get("ancestors") or [])}


def headed(units: dict, person) -> set:
    """The units `person` heads or deputises for."""
    if person is None:
        return set()
    return {uid for uid, u in units.items() if u.get("head") == person or person in (u.get("deputy_heads") or [])}


def in_charge(units: dict, person) -> set:
    """The units `person` heads and every unit below them: whose appraisals a head sees."""
    found: set = set()
    for root in headed(units, person):
        found |= subtree(units, root)
    return found


def unit_choices(units: dict, allowed: set | None) -> list[tuple]:
    """(id, code, name) of the units a user may pick, by code."""
    return sorted(((uid, u.get("code", ""), u.get("name", "")) for uid, u in units.items()
                   if allowed is None or uid in allowed), key=lambda row: row[1])


def chain_of(units: dict, unit_id) -> list[dict]:
    """A unit and the units above it, nearest first, from the tree already read."""
    unit = units.get(unit_id)
    if unit is None:
        return []
    return [unit, *(units[a] for a in reversed(unit.get("ancestors") or []) if a in units)]


def appraisal_heads(units: dict, raw: dict) -> set:
    """The heads of one appraisal (portal.appraisal.heads_of_chain): never a deputy of the unit its employee
    heads."""
    return appraisal.heads_of_chain(chain_of(units, raw.get("owner_unit")), raw.get("employee"))


def head_for(units: dict, unit_id, employee_id, dept_heads: set):
    """Who reviews an employee of `unit_id`: the nearest head above them holding the DeptHead role that the review
    needs, never the employee themself (None: nobody up the tree holds it)."""
    return appraisal.reviewing_head(chain_of(units, unit_id), employee_id, dept_heads)


def cycles() -> list[dict]:
    """Every appraisal cycle, the latest period first (one query)."""
    fields = {"name": 1, "period": 1, "period_kind": 1, "status": 1, "start": 1, "end": 1, "bands": 1,
              "owner_unit": 1, "without_template": 1, "review_due": 1}
    return list(AppraisalCycle._get_collection().find({}, fields).sort([("end", -1), ("period", -1)]).limit(300))


def pick_cycle(rows: list[dict], requested: str | None) -> tuple[dict | None, bool]:
    """The cycle asked for, else the latest open one, else the latest. (cycle, found): an id that names no cycle
    answers (None, False)."""
    if requested:
        wanted = as_id(requested)
        match = next((c for c in rows if c["_id"] == wanted), None)
        return match, match is not None
    return next((c for c in rows if c.get("status") == "open"), rows[0] if rows else None), True


def names(ids) -> dict:
    """Employee id -> (name, employee no., org unit) of the people a page mentions (one query)."""
    wanted = [i for i in dict.fromkeys(ids) if i is not None]  # queried even when empty: a fixed count
    rows = Employee._get_collection().find({"_id": {"$in": wanted}}, {"name": 1, "employee_no": 1, "owner_unit": 1})
    return {r["_id"]: (r.get("name", ""), r.get("employee_no", ""), r.get("owner_unit")) for r in rows}


def target_shares() -> dict[str, int]:
    """The target distribution in percent per grade (settings appraisal_target_share_a..e; one query)."""
    keys = list(TARGET_KEYS.values())
    stored = {r["key"]: r.get("value") for r in Setting._get_collection().find({"key": {"$in": keys}},
                                                                               {"key": 1, "value": 1})}
    out = {}
    for grade, key in TARGET_KEYS.items():
        default = DEFAULTS[key][1]
        try:
            out[grade] = int(str(stored.get(key, default)).strip())
        except ValueError:
            out[grade] = int(default)
    return out


# ---- the figures of one appraisal -----------------------------------------------------------------------------
def lines_of(raw: dict) -> list[AppraisalLine]:
    return [AppraisalLine._from_son(line) for line in raw.get("lines") or []]


def totals(raw: dict, lines: list[AppraisalLine]) -> dict:
    """Self, superior and final totals of one appraisal (None while a score is missing)."""
    final = decimal(raw.get("total")) if raw.get("state") in REVIEWED else None
    return {"self": appraisal.total_of(lines, "self_score"), "superior": appraisal.total_of(lines, "superior_score"),
            "final": final if final is not None else appraisal.total_of(lines, "final_score")}


def step_row(raw: dict, today: dt.date) -> dict:
    due = raw.get("step_due")
    due = due.date() if isinstance(due, dt.datetime) else due
    return {"step_due": due, "overdue": bool(due and due < today and raw.get("state") in WORKING)}


def distribution(grades: list[str | None], shares: dict[str, int]) -> dict:
    """Counts and percents per grade against the target shares (percent): what the calibration compares.

    >>> d = distribution(["A", "B", "B", "C", None], {"A": 10, "B": 20, "C": 40, "D": 20, "E": 10})
    >>> [(r["grade"], r["count"], str(r["percent"]), str(r["target_count"])) for r in d["rows"]][:3]
    [('A', 1, '25.0', '0.4'), ('B', 2, '50.0', '0.8'), ('C', 1, '25.0', '1.6')]
    >>> d["graded"], d["ungraded"]
    (4, 1)
    """
    graded = [g for g in grades if g in GRADES]
    n = len(graded)
    rows = []
    for grade in GRADES:
        count = graded.count(grade)
        share = Decimal(shares.get(grade, 0))
        percent = (Decimal(count) * 100 / n).quantize(TENTH, ROUND_HALF_UP) if n else Decimal("0.0")
        target_count = (share * n / 100).quantize(TENTH, ROUND_HALF_UP)
        rows.append({"grade": grade, "count": count, "percent": percent, "target": share,
                     "target_count": target_count, "gap": Decimal(count) - target_count,
                     "over": n > 0 and percent > share})
    return {"rows": rows, "graded": n, "ungraded": len(grades) - n}


# ---- My team --------------------------------------------------------------------------------------------------
def team(cycle: dict, me, scope_where: dict, units: dict, today: dt.date, reviews: bool = True) -> dict:
    """My team for one cycle: the appraisals whose appraiser is `me` or whose unit `me` heads (never my own head's,
    when I deputise for them), side by side, in groups of the same template (their indicator columns). Two
    queries: the appraisals and the names. `reviews`: the user holds the DeptHead role the review needs."""
    mine = headed(units, me)
    where = {"$and": [{"cycle": cycle["_id"], "employee": {"$ne": me}},
                      {"$or": [{"appraiser": me}, {"owner_unit": {"$in": sorted(mine)}}]}, scope_where or {}]}
    rows = [raw for raw in Appraisal._get_collection().find(where, ROW_FIELDS).limit(ROW_LIMIT)
            if raw.get("appraiser") == me or me in appraisal_heads(units, raw)]
    who = names(r.get("employee") for r in rows)
    groups: dict = {}
    for raw in rows:
        lines = lines_of(raw)
        name, number, _unit = who.get(raw.get("employee"), NOBODY)
        row = {"id": raw["_id"], "name": name, "employee_no": number, "state": raw.get("state"),
               "unit": (units.get(raw.get("owner_unit")) or {}).get("name", ""), "grade": raw.get("grade"),
               "totals": totals(raw, lines), **step_row(raw, today),
               "scores": {line.key: (line.self_score, line.superior_score) for line in lines},
               "action": _my_action(raw, me, units, reviews)}
        group = groups.setdefault(raw.get("template_name") or "", {"template": raw.get("template_name") or "",
                                                                    "indicators": {}, "rows": []})
        for line in lines:
            group["indicators"].setdefault(line.key, (line.name, line.weight))
        group["rows"].append(row)
    for group in groups.values():
        group["rows"].sort(key=lambda r: (STATE_KEYS.index(r["state"]) if r["state"] in STATE_KEYS else 99,
                                          r["employee_no"]))
        group["indicators"] = [(key, name, weight) for key, (name, weight) in group["indicators"].items()]
    waiting = sum(1 for g in groups.values() for r in g["rows"] if r["action"])
    return {"groups": sorted(groups.values(), key=lambda g: g["template"]), "count": len(rows), "waiting": waiting,
            "heads": bool(mine), "more": len(rows) >= ROW_LIMIT}


def _my_action(raw: dict, me, units: dict, reviews: bool) -> str | None:
    """What the appraisal waits for from `me`: "evaluate" (its appraiser, or a head above), "review" (a head above
    holding the DeptHead role), else None."""
    state = raw.get("state")
    if state not in ("superior_evaluation", "department_review"):
        return None
    heads_it = me in appraisal_heads(units, raw)
    if state == "superior_evaluation" and (raw.get("appraiser") == me or heads_it):
        return "evaluate"
    if state == "department_review" and heads_it and reviews and raw.get("employee") != me:
        return "review"
    return None


# ---- department review with calibration -----------------------------------------------------------------------
SORTS = ("superior", "superior_asc", "final", "name")


def review(cycle: dict, unit_ids: set, scope_where: dict, me, today: dt.date, typed: dict | None = None,
           sort: str = "superior") -> dict:
    """The department review of `unit_ids` in one cycle: the appraisals waiting for it (with the final scores
    proposed: typed on the form, else the final, else the superior's), and the grade distribution of the unit
    from those proposed totals and the totals already fixed, against the target shares. Three queries."""
    where = {"$and": [{"cycle": cycle["_id"], "owner_unit": {"$in": sorted(unit_ids)}, "employee": {"$ne": me}},
                      scope_where or {}]}
    raws = list(Appraisal._get_collection().find(where, ROW_FIELDS).limit(ROW_LIMIT))
    who = names(r.get("employee") for r in raws)
    bands, typed = cycle.get("bands") or None, typed or {}
    pending, grades, later = [], [], 0
    for raw in raws:
        state = raw.get("state")
        if state in REVIEWED:
            grades.append(raw.get("grade"))
        elif state == "department_review":
            row = _review_row(raw, who, bands, typed.get(str(raw["_id"]), {}), today)
            pending.append(row)
            grades.append(row["grade"])
        else:
            later += 1
    pending.sort(key=_sort_key(sort))
    return {"rows": pending, "distribution": distribution(grades, target_shares()), "not_yet": later,
            "reviewed": sum(1 for r in raws if r.get("state") in REVIEWED), "more": len(raws) >= ROW_LIMIT}


def _review_row(raw: dict, who: dict, bands: list | None, typed: dict, today: dt.date) -> dict:
    lines = lines_of(raw)
    sums = totals(raw, lines)
    cells, errors = [], {}
    for line in lines:
        proposal = line.final_score if line.final_score is not None else line.superior_score
        text = typed.get(line.key)
        if text is None:
            text = "" if proposal is None else f"{proposal}"
            value = proposal
        else:
            value, error = appraisal.parse_score(text, score_ceiling(line.rule))
            if error:
                errors[line.key] = str(error)
        line.final_score = value
        cells.append({"key": line.key, "name": line.name, "weight": line.weight, "self": line.self_score,
                      "superior": line.superior_score, "text": text})
    proposed = None if errors else appraisal.total_of(lines, "final_score")
    name, number, _unit = who.get(raw.get("employee"), NOBODY)
    return {"id": raw["_id"], "name": name, "employee_no": number, "template": raw.get("template_name") or "",
            "self": sums["self"], "superior": sums["superior"], "proposed": proposed,
            "grade": appraisal.grade_of(proposed, bands) if proposed is not None else None, "cells": cells,
            "errors": errors, **step_row(raw, today)}


def _sort_key(sort: str):
    def number(value) -> Decimal:
        return value if value is not None else Decimal("-1")

    if sort == "name":
        return lambda r: (r["employee_no"], str(r["id"]))
    if sort == "superior_asc":
        return lambda r: (number(r["superior"]), r["employee_no"])
    if sort == "final":
        return lambda r: (-number(r["proposed"]), r["employee_no"])
    return lambda r: (-number(r["superior"]), r["employee_no"])


# ---- the HR cycle board ---------------------------------------------------------------------------------------
def board(cycle: dict, unit_ids: set | None, scope_where: dict, units: dict, today: dt.date) -> dict:
    """HR's cycle board: counts per org unit and state (the progress matrix) and per unit and grade, from one
    aggregation; the overdue steps with who must act (one query) and the names (one query)."""
    match: dict = {"cycle": cycle["_id"]}
    if unit_ids is not None:
        match["owner_unit"] = {"$in": sorted(unit_ids)}
    where = {"$and": [match, scope_where]} if scope_where else match
    counts = list(Appraisal._get_collection().aggregate([
        {"$match": where},
        {"$group": {"_id": {"unit": "$owner_unit", "state": "$state", "grade": "$grade"}, "n": {"$sum": 1}}}]))
    late = {"state": {"$in": list(WORKING)}, "step_due": {"$lt": dt.datetime.combine(today, dt.time())}}
    overdue_raw = list(Appraisal._get_collection().find(
        {"$and": [where, late]},
        {"employee": 1, "appraiser": 1, "owner_unit": 1, "state": 1, "step_due": 1, "feedback_at": 1})
        .sort("step_due", 1).limit(OVERDUE_LIMIT + 1))
    dept_heads = set(approvals.role_holders("DeptHead")) if overdue_raw else set()
    actors = [_who_acts(raw, units, dept_heads) for raw in overdue_raw]
    missing = list(cycle.get("without_template") or [])
    who = names([*(r.get("employee") for r in overdue_raw), *(a for a in actors if a is not None), *missing])
    matrix, grade_rows = _matrix(counts, units)
    overdue = [{"id": raw["_id"], "employee": who.get(raw.get("employee"), NOBODY)[0],
                "unit": (units.get(raw.get("owner_unit")) or {}).get("name", ""), "state": raw.get("state"),
                "days": (today - step_row(raw, today)["step_due"]).days, **step_row(raw, today),
                "actor": who.get(actor, NOBODY)[0] if actor is not None else None}
               for raw, actor in zip(overdue_raw[:OVERDUE_LIMIT], actors, strict=False)]
    grades = [g for row in grade_rows for g, n in row["grades"].items() for _ in range(n)]
    return {"matrix": matrix, "states": {s: sum(r["states"].get(s, 0) for r in matrix) for s in STATE_KEYS},
            "total": sum(r["total"] for r in matrix), "grade_rows": grade_rows,
            "distribution": distribution(grades, target_shares()), "overdue": overdue,
            "more_overdue": len(overdue_raw) > OVERDUE_LIMIT,
            "without_template": [{"id": pk, "name": who[pk][0], "employee_no": who[pk][1]} for pk in missing
                                 if pk in who and (unit_ids is None or who[pk][2] in unit_ids)]}


def _matrix(counts: list[dict], units: dict) -> tuple[list[dict], list[dict]]:
    by_unit: dict = {}
    for row in counts:
        key = row["_id"]
        unit = by_unit.setdefault(key.get("unit"), {"states": {}, "grades": {g: 0 for g in GRADES}, "total": 0})
        unit["states"][key.get("state")] = unit["states"].get(key.get("state"), 0) + row["n"]
        unit["total"] += row["n"]
        if key.get("grade") in GRADES and key.get("state") in REVIEWED:
            unit["grades"][key["grade"]] += row["n"]
    rows = sorted(({"unit": uid, "name": (units.get(uid) or {}).get("name", ""),
                    "code": (units.get(uid) or {}).get("code", ""), **figures} for uid, figures in by_unit.items()),
                  key=lambda r: r["code"])
    grade_rows = [{"unit": r["unit"], "name": r["name"], "code": r["code"], "grades": r["grades"],
                   "graded": sum(r["grades"].values()), "total": r["total"]} for r in rows]
    return rows, grade_rows


def _who_acts(raw: dict, units: dict, dept_heads: set):
    """Who must take an overdue step: the employee (self-assessment, acknowledging the feedback), the appraiser
    (evaluation, the feedback interview), the nearest head above holding the DeptHead role (department review); an
    appeal is HR's or the head's above the reviewer (None: said in words)."""
    state = raw.get("state")
    if state == "self_assessment" or (state == "feedback" and raw.get("feedback_at")):
        return raw.get("employee")
    if state in ("superior_evaluation", "feedback"):
        return raw.get("appraiser")
    if state == "department_review":
        return head_for(units, raw.get("owner_unit"), raw.get("employee"), dept_heads)
    return None
