"""Appraisal boards (DOMAIN 6): My team for every manager, the department review with its calibration against
the target grade distribution, and HR's cycle board. Scores show only within the appraisal scope (the employee,
their managers up the tree, HR, Admin, Auditor); the figures come from portal.appraisal_boards in a fixed number
of queries."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from models.appraisal import CYCLE_STATUSES, GRADES, STATES, Appraisal
from models.common import choice_label
from portal import appraisal, registry, scope, settings
from portal import appraisal_boards as boards
from portal.approvals import Refused

ALL_SEEING = frozenset({"Admin", "HR", "Auditor"})
SORT_LABELS = (("superior", _l("Superior total, highest first")), ("superior_asc", _l("Superior total, lowest first")),
               ("final", _l("Proposed final total, highest first")), ("name", _l("Employee no.")))
FORM_LIMIT = 5000  # form fields read from one calibration post


def scope_where() -> dict:
    """The user's appraisal scope as a raw filter ({} when they see every appraisal)."""
    q = appraisal.appraisal_scope()
    return {} if q is None else Appraisal.objects(q)._query


def appraisal_list_url(**filters) -> str | None:
    """The appraisal list filtered by equal-to filters on the columns it can search (None without that list)."""
    view = next((v for v in current_app.appbuilder.baseviews if type(v).__name__ == "AppraisalView"), None)
    if view is None:
        return None
    searchable = set(view.search_columns or [])
    args = {f"_flt_0_{column}": value for column, value in filters.items() if column in searchable}
    return url_for("AppraisalView.list", **args)


def appraisal_url(pk) -> str:
    return url_for("AppraisalView.show", pk=str(pk))


class _Board(BaseView):
    """What the three pages share: the cycle and unit asked for, the user's units, the helpers of the templates."""

    default_view = "index"

    def cycle_and_units(self):
        """(cycles, the cycle asked for or the latest open one, every org unit); an unknown cycle answers 404."""
        rows = boards.cycles()
        cycle, found = boards.pick_cycle(rows, request.args.get("cycle", "", type=str)
                                         or request.form.get("cycle", "", type=str))
        if not found:
            abort(404)
        return rows, cycle, boards.org_units()

    @staticmethod
    def allowed_units(units: dict) -> set | None:
        """None when the user sees every unit's appraisals; else the units they head and those below."""
        if scope.role_names() & ALL_SEEING:
            return None
        return boards.in_charge(units, scope.current_employee_id())

    @staticmethod
    def chosen_unit(units: dict, allowed: set | None):
        """The unit asked for (`?unit=`): its id and subtree; none asked: (None, the allowed units). A unit that is
        not one or outside the user's units answers 404."""
        text = request.args.get("unit", "", type=str) or request.form.get("unit", "", type=str)
        if not text:
            return None, allowed
        unit_id = boards.as_id(text)
        if unit_id is None or unit_id not in units or (allowed is not None and unit_id not in allowed):
            abort(404)
        tree = boards.subtree(units, unit_id)
        return unit_id, tree if allowed is None else tree & allowed

    def render_board(self, template: str, **kwargs):
        return self.render_template(template, states=STATES, grades=GRADES, label=choice_label,
                                    cycle_statuses=CYCLE_STATUSES, appraisal_url=appraisal_url,
                                    list_url=appraisal_list_url,
                                    clauses=registry.clauses_for(self.regulation_clauses), **kwargs)


class AppraisalTeamView(_Board):
    """My team (BRD 6(4)2, SOC 5.1): a manager's reports in one cycle side by side, with the self and superior
    scores per indicator, the step each is at and what waits for them."""

    route_base = "/appraisal-team"
    class_permission_name = "AppraisalTeam"
    regulation_clauses = ("BRD 6(4)1", "BRD 6(4)2", "SOC 5.1")

    @expose("/")
    @has_access
    def index(self):
        cycles, cycle, units = self.cycle_and_units()
        me, today = scope.current_employee_id(), settings.local_today()
        result = boards.team(cycle, me, scope_where(), units, today,
                             reviews="DeptHead" in scope.role_names()) if cycle and me else None
        return self.render_board("portal/appraisal/boards/team.html", title=gettext("My team"), cycles=cycles,
                                 cycle=cycle, result=result, linked=me is not None)


class DepartmentReviewView(_Board):
    """Department review with calibration (BRD 6(4)3, BRD 6(1)1): the appraisals of a unit waiting for the head's
    review, sortable by total; the unit's grade distribution from the proposed finals against the target
    distribution; the head adjusts final scores, recalculates, and confirms each selected appraisal."""

    route_base = "/appraisal-review"
    class_permission_name = "DepartmentReview"
    regulation_clauses = ("BRD 6(4)3", "BRD 6(1)1", "DSC 4(2)2")

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        """"Recalculate" shows the distribution with the scores typed; "Confirm" reviews each selected appraisal
        with them (review() per appraisal: a refusal is shown on its row, the others go through)."""
        typed, comments = self._typed()
        if request.form.get("do") != "confirm":
            return self._page(typed=typed, comments=comments)
        picked = [pk for pk in request.form.getlist("pick")[:500] if boards.as_id(pk)]
        if not picked:
            return self._page(typed, comments, error=gettext("Tick the appraisals to confirm first.")), 422
        done, refusals = self._review_each(picked, typed, comments)
        if done:
            flash(gettext("Reviews confirmed: %(n)s. They go to the feedback interview.", n=done), "success")
        if refusals:
            return self._page(typed, comments, refusals=refusals,
                              error=gettext("Some appraisals were not confirmed: see their rows.")), 422
        return redirect(url_for("DepartmentReviewView.index", cycle=request.form.get("cycle", ""),
                                unit=request.form.get("unit", ""), sort=request.form.get("sort", "")))

    def _page(self, typed=None, comments=None, refusals=None, error=None):
        cycles, cycle, units = self.cycle_and_units()
        allowed = self.allowed_units(units)
        unit_id, unit_ids = self.chosen_unit(units, allowed)
        sort = request.values.get("sort", "", type=str)
        sort = sort if sort in boards.SORTS else "superior"
        result, stray = None, []
        if cycle is not None:
            every = set(units) if unit_ids is None else unit_ids
            result = boards.review(cycle, every, scope_where(), scope.current_employee_id(),
                                   settings.local_today(), typed=typed, sort=sort)
            for row in result["rows"]:
                row["refusal"], cells = (refusals or {}).get(str(row["id"]), (None, {}))
                row["errors"] = {**row["errors"], **cells}
                row["comment"] = (comments or {}).get(str(row["id"]), "")
                row["picked"] = str(row["id"]) in request.form.getlist("pick")
            shown = {str(row["id"]) for row in result["rows"]}
            stray = [message for pk, (message, _cells) in (refusals or {}).items() if pk not in shown]
        # the review is a department head's (portal.appraisal.review): others read the page
        may_confirm = "DeptHead" in scope.role_names() and \
            self.appbuilder.sm.has_access("can_confirm", self.class_permission_name)
        return self.render_board("portal/appraisal/boards/review.html", title=gettext("Department review"),
                                 cycles=cycles, cycle=cycle, unit=unit_id, result=result, sort=sort, sorts=SORT_LABELS,
                                 units=boards.unit_choices(units, allowed), may_confirm=may_confirm, error=error,
                                 stray=stray)

    @staticmethod
    def _typed() -> tuple[dict, dict]:
        """The final scores typed ({appraisal id: {indicator key: text}}) and the comments of the form."""
        typed: dict = {}
        comments: dict = {}
        for number, (name, value) in enumerate(request.form.items(multi=True)):
            if number >= FORM_LIMIT or not isinstance(value, str):
                break
            kind, _, rest = name.partition("-")
            if kind == "final":
                pk, _, key = rest.partition("-")
                typed.setdefault(pk, {})[key] = value[:20]
            elif kind == "comment":
                comments[rest] = value[:5000]
        return typed, comments

    @staticmethod
    def _review_each(picked: list[str], typed: dict, comments: dict) -> tuple[int, dict]:
        actor, done, refusals = scope.actor(), 0, {}
        for pk in dict.fromkeys(picked):
            try:
                appraisal.review(boards.as_id(pk), actor, typed.get(pk, {}), comments.get(pk, ""))
            except appraisal.ScoresRefused as exc:
                refusals[pk] = (str(exc.message), {key: str(message) for key, message in exc.cells.items()})
            except Refused as exc:
                refusals[pk] = (str(exc.message), {})
            else:
                done += 1
        return done, refusals


class AppraisalBoardView(_Board):
    """HR's cycle board (BRD 6(3), DSC 4(2)1): progress per step and org unit, the overdue steps with who must
    act, the grade distribution (chart and table) and the employees left without a template."""

    route_base = "/appraisal-board"
    class_permission_name = "AppraisalBoard"
    regulation_clauses = ("BRD 6(3)", "DSC 4(2)1", "FSS 6(2)")

    @expose("/")
    @has_access
    def index(self):
        cycles, cycle, units = self.cycle_and_units()
        allowed = self.allowed_units(units)
        unit_id, unit_ids = self.chosen_unit(units, allowed)
        result = boards.board(cycle, unit_ids, scope_where(), units, settings.local_today()) if cycle else None
        return self.render_board("portal/appraisal/boards/board.html", title=gettext("Appraisal cycle board"),
                                 cycles=cycles, cycle=cycle, unit=unit_id, result=result,
                                 units=boards.unit_choices(units, allowed))
