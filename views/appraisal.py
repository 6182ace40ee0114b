"""Performance appraisal screens (DOMAIN 6): KPI templates, cycles and their launch, the appraisal's page with its
indicators side by side and one form for whoever acts now, 360-degree requests (colleagues in the portal, customers
through a one-time link without an account), improvement plans, "My appraisal" and the appeal desk."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.utils.limit import Limit
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from mongoengine import Q, ValidationError
from werkzeug.routing import BuildError
from wtforms import validators as wtv

from models.appraisal import (
    CATEGORIES,
    MEASURES,
    NEEDS_PLAN,
    RATER_KINDS,
    STATES,
    Appraisal,
    AppraisalCycle,
    Feedback360,
    ImprovementPlan,
    KpiTemplate,
)
from models.common import choice_label, field_error
from models.org import Employee
from portal import appraisal, scope, settings
from portal.approvals import Refused
from portal.compat import PortalMongoInterface, format_local
from portal.modelview import STAMPS, PortalModelView, ScopedModelView, input_field

_TEMPLATE_CLAUSES = ("BRD 6(1)1", "BRD 6(2)1", "BRD 6(2)2", "BRD 6(2)3", "FSS 6(1)1", "FSS 6(1)2", "FSS 6(1)3",
                     "FSS 6(1)4", "FSS 6(3)1", "SOC 5.1", "DSC 4(2)1")
_FLOW_CLAUSES = ("BRD 6(3)", "BRD 6(4)1", "BRD 6(4)2", "BRD 6(4)3", "BRD 6(4)4", "BRD 6(4)5", "FSS 6(2)",
                 "FSS 6(3)1", "FSS 6(3)2", "FSS 6(3)3", "FSS 6(4)1", "FSS 6(4)2", "FSS 6(4)3", "SOC 5.1", "SOC 5.2",
                 "DSC 4(2)2", "DSC 4(2)3")
_SHEETS = {"submit_self": "assess", "evaluate": "evaluate", "review": "review", "decide_appeal": "decide"}


def _num(value, places: bool = True) -> str:
    """A score or figure for the sheet: two places (or as typed for weights), blank for none."""
    if not isinstance(value, (int, float, Decimal)):
        return ""  # none yet (or a field the stored record does not have)
    value = Decimal(str(value))
    return f"{value:,.2f}" if places else f"{value.normalize():f}"


def _typed(prefix: str) -> dict:
    """The cells of one column of a posted sheet: {indicator key: text}."""
    return {key[len(prefix):]: value for key, value in list(request.form.items())[:600]
            if key.startswith(prefix) and isinstance(value, str)}


def _names_of(people: list, most: int = 20) -> str:
    """Names for a message: the first `most`, then how many more."""
    names = ", ".join(str(p) for p in people[:most])
    return names if len(people) <= most else f"{names} (+{len(people) - most})"


def _employee_names(ids) -> dict:
    return {e["_id"]: e.get("name", "") for e in Employee._get_collection().find({"_id": {"$in": list(set(ids))}},
                                                                                {"name": 1})}


# ---- KPI templates (BRD 6(2), FSS 6(1)) --------------------------------------------------------------------------
class KpiTemplateView(PortalModelView):
    """Indicators and weights per staff kind (BRD 6(2), FSS 6(1)): HR keeps them, everyone reads the standards they
    are appraised against (BRD 6(1)1). The weights total exactly 100; a launched appraisal keeps its own copy."""

    route_base = "/kpi-templates"
    datamodel = PortalMongoInterface(KpiTemplate)
    class_permission_name = "KpiTemplate"
    regulation_clauses = _TEMPLATE_CLAUSES
    show_template = "portal/record_show.html"
    list_title = show_title = _l("KPI templates")
    add_title = _l("New KPI template")
    edit_title = _l("Edit KPI template")
    list_columns = ["name", "staff_kind", "active", "clauses", "updated_at"]
    search_columns = ["name", "staff_kind", "active"]
    order_columns = ["name", "staff_kind", "updated_at"]
    base_order = ("staff_kind", "asc")
    add_columns = edit_columns = ["name", "staff_kind", "active", "clauses", "indicators"]
    description_columns = {
        "indicators": _l("One line per indicator: a key (a-z, 0-9, _), its name, category, weight, quantitative or "
                         "qualitative, where its actual comes from, the target and how the actual becomes a score. "
                         "The weights total exactly 100. Appraisals already launched keep the version they started "
                         "with."),
        "active": _l("One active template per staff kind: launching a cycle uses it."),
    }
    show_fieldsets = [
        (_l("Template"), {"fields": ["name", "staff_kind", "active", "clauses"]}),
        (_l("Indicators"), {"fields": ["indicators"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


# ---- cycles (BRD 6(3), FSS 6(2), SOC 5.1) ------------------------------------------------------------------------
class AppraisalCycleView(PortalModelView):
    """An appraisal round for a unit and the units below it: period, due dates, appeal window and grade bands. HR
    launches it: one appraisal per active employee from the template of their staff kind; employees without a
    template are listed on the cycle (BRD 6(3), FSS 6(2))."""

    route_base = "/appraisal-cycles"
    datamodel = PortalMongoInterface(AppraisalCycle)
    class_permission_name = "AppraisalCycle"
    regulation_clauses = ("BRD 6(3)", "FSS 6(2)", "SOC 5.1", "DSC 4(2)1")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Appraisal cycles")
    add_title = _l("New appraisal cycle")
    edit_title = _l("Edit appraisal cycle")
    list_columns = ["name", "period_kind", "period", "owner_unit", "self_due", "status", "appraisals"]
    search_columns = ["name", "period_kind", "period", "owner_unit", "status"]
    order_columns = ["name", "period", "self_due", "status"]
    base_order = ("period", "desc")
    add_columns = edit_columns = ["name", "period_kind", "period", "owner_unit", "self_due", "evaluation_due",
                                  "review_due", "appeal_days", "bands"]
    label_columns = {"owner_unit": _l("Org unit (and the units below)")}
    description_columns = {
        "period": _l("2026-05 for a month, 2026-Q2 for a quarter, 2026 for a year."),
        "owner_unit": _l("Everyone active in this unit and the units below it is appraised; leave empty for the "
                         "whole company."),
        "self_due": _l("Monthly: within the first ten days of the next month; annual: within the first ten days of "
                       "January (BRD 6(3))."),
        "bands": _l("Leave empty for the default bands: A from 90, B from 80, C from 70, D from 60, E below."),
    }
    show_fieldsets = [
        (_l("Cycle"), {"fields": ["name", "period_kind", "period", "start", "end", "owner_unit", "status"]}),
        (_l("Due dates"), {"fields": ["self_due", "evaluation_due", "review_due", "appeal_days"]}),
        (_l("Grade bands"), {"fields": ["bands"]}),
        (_l("Launch"), {"fields": ["launched_at", "launched_by", "appraisals"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        """Last month's monthly cycle, due in the first ten days of this one (BRD 6(3))."""
        today = settings.local_today()
        last = today.replace(day=1) - dt.timedelta(days=1)
        form.period_kind.data, form.period.data = "month", f"{last:%Y-%m}"
        form.self_due.data = today.replace(day=5) if today.day <= 5 else today
        form.evaluation_due.data = form.self_due.data + dt.timedelta(days=3)
        form.review_due.data = form.self_due.data + dt.timedelta(days=5)
        form.appeal_days.data = 7

    def pre_update(self, item):
        stored = AppraisalCycle._get_collection().find_one({"_id": item.pk}) or {}
        if stored.get("status", "planned") != "planned":
            unit = getattr(item.owner_unit, "pk", None)
            bands = [(b.grade, Decimal(str(b.minimum))) for b in item.bands or []]
            before = [(b.get("grade"), Decimal(str(b.get("minimum")))) for b in stored.get("bands") or []]
            if (item.period_kind, (item.period or "").strip().upper(), unit) != (
                    stored.get("period_kind"), stored.get("period"), stored.get("owner_unit")) or \
                    (bands and bands != before):
                raise ValidationError(gettext("Once launched, a cycle keeps its period, its unit and its grade "
                                              "bands; the due dates may still change."))

    def post_update(self, item):
        if item.status != "planned":
            appraisal.follow_cycle_dates(item.pk)

    def pre_delete(self, item):
        if item.status != "planned":
            raise ValidationError(gettext("A launched cycle cannot be deleted."))

    def show_context(self, item) -> dict:
        people = [p for p in item.without_template or [] if p is not None]
        waiting = [p for p in item.months_open or [] if p is not None]
        states = {row["_id"]: row["n"] for row in Appraisal._get_collection().aggregate([
            {"$match": {"cycle": item.pk}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}])}
        return {
            "actions": [
                self.button("launch", _l("Launch: create the appraisals"), "fa-rocket", "primary",
                            when=item.status in ("planned", "open")),
                self.button("close", _l("Close the cycle"), "fa-lock", when=item.status == "open"),
            ],
            "links": [{"url": url_for("AppraisalView.list", _flt_0_cycle=str(item.pk)),
                       "label": gettext("The appraisals of this cycle"), "icon": "fa-list"}
                      if item.status != "planned" else None],
            "related": [
                {"title": gettext("Progress by step"), "icon": "fa-tasks",
                 "rows": [{"link": None, "cells": [choice_label(STATES, key), str(states[key])]}
                          for key, _label in STATES if key in states]},
                {"title": gettext("Employees without a template (not appraised)"), "icon": "fa-user-times",
                 "rows": [{"link": url_for("EmployeeView.show", pk=p.pk),
                           "cells": [str(p), choice_label(Employee.staff_kind.choices, p.staff_kind)]}
                          for p in people]},
                *([{"title": gettext("Monthly appraisals still open: no annual result yet (FSS 6(2))"),
                    "icon": "fa-hourglass-half",
                    "rows": [{"link": url_for("EmployeeView.show", pk=p.pk), "cells": [str(p)]} for p in waiting]}]
                  if item.period_kind == "year" else [])],
        }

    @expose("/launch/<pk>", methods=["POST"])
    @has_access
    def launch(self, pk):
        def call(item, actor):
            result = appraisal.launch(item.pk, actor)
            flash(gettext("%(created)s appraisals created, %(existing)s existed already; %(missing)s employees have "
                          "no template for their staff kind and are listed on the cycle.",
                          created=result["created"], existing=result["existing"],
                          missing=len(result["without_template"])), "info")
            if result["in_other_cycles"]:
                flash(gettext("Already appraised for this period in another cycle, so not again here: %(names)s.",
                              names=_names_of(result["in_other_cycles"])), "warning")
            if result["months_open"]:
                flash(gettext("Monthly appraisals of the year still open, so no annual result yet: %(names)s. "
                              "Launch the cycle again once they are closed.",
                              names=_names_of(result["months_open"])), "warning")
            if result["recomputed"]:
                flash(gettext("%(n)s annual results recomputed from the months closed since.",
                              n=result["recomputed"]), "info")

        return self.run_action(pk, "launch", call, gettext("The cycle is launched."))

    @expose("/close/<pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        return self.run_action(pk, "close", lambda item, actor: appraisal.close_cycle(item.pk, actor),
                               gettext("The cycle is closed."))


# ---- appraisals (BRD 6(4), FSS 6(3-4), SOC 5.1, DSC 4(2)) --------------------------------------------------------
class AppraisalView(ScopedModelView):
    """One employee's appraisal: the indicators with target, proposed and actual values, self, superior, 360 and
    final scores side by side, and the one form of the step at hand for whoever may act. Seen only by the employee,
    their managers up the tree, HR, Admin and Auditor (DOMAIN 6)."""

    route_base = "/appraisals"
    datamodel = PortalMongoInterface(Appraisal)
    class_permission_name = "Appraisal"
    export_audited = True  # appraisal scores (DOMAIN 6)
    exclude_route_methods = {"download", "add", "edit", "delete", "action", "action_post"}
    regulation_clauses = _FLOW_CLAUSES
    show_template = "portal/appraisal/show.html"
    list_title = show_title = _l("Appraisals")
    list_columns = ["employee", "period", "cycle", "state", "step_due", "total", "grade", "appraiser"]
    search_columns = ["employee", "cycle", "period", "period_kind", "state", "grade", "owner_unit", "appraiser"]
    order_columns = ["period", "state", "step_due", "total", "grade"]
    base_order = ("created_at", "desc")
    label_columns = {"owner_unit": _l("Org unit"), "state": _l("Step")}
    show_fieldsets = [
        (_l("Appraisal"), {"fields": ["employee", "owner_unit", "appraiser", "cycle", "period", "template_name",
                                      "state", "step_due"]}),
        (_l("Comments and feedback"), {"fields": ["self_comment", "superior_comment", "review_comment", "reviewed_by",
                                                  "interview_notes", "feedback_at", "acknowledged_at",
                                                  "appeal_until"]}),
        (_l("Appeal"), {"fields": ["appeal_reason", "appealed_at", "appeal_outcome", "appeal_decision",
                                   "appeal_decided_by"], "expanded": False}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    @classmethod
    def scope_for_user(cls):
        return appraisal.appraisal_scope()

    def sees(self, raw: dict) -> bool:
        return appraisal.sees(raw)

    # ---- the record page -------------------------------------------------------------------------------------
    def show_context(self, item) -> dict:
        raw = item.to_mongo().to_dict()
        actor, today = scope.actor(), settings.local_today()
        who = appraisal.people(raw)
        may = appraisal.allowed_actions(raw, actor, who, today)
        mine = actor.employee_id is not None and actor.employee_id == raw.get("employee")
        error = request.environ.get("portal.appraisal_error") or {}
        sheet = next((name for action, name in _SHEETS.items() if action in may
                      and self.appbuilder.sm.has_access(f"can_{name}", self.class_permission_name)), None)
        feedback = list(Feedback360._get_collection().find({"appraisal": item.pk}, {
            "kind": 1, "rater": 1, "customer_name": 1, "submitted_at": 1, "expires_on": 1}))
        plans = list(ImprovementPlan._get_collection().find({"appraisal": item.pk}, {
            "goals": 1, "review_on": 1, "outcome": 1})) if raw.get("grade") else []
        answers = sum(1 for f in feedback if f.get("submitted_at"))
        # the appraisee never sees the live count, and the averages only once enough answers hide each one (M1)
        least = appraisal.min_360_answers() if mine else 0
        hide_360 = mine and answers < least
        context = {"sheet": _sheet_rows(raw, sheet, error, hide_360), "form": _form(item.pk, sheet, error),
                   "state": raw["state"], "state_label": choice_label(STATES, raw["state"]),
                   "total": _num(raw.get("total")), "grade": raw.get("grade"), "answers": answers,
                   "asked": 0 if mine else len(feedback), "hidden_360": hide_360 and bool(feedback) and any(
                       appraisal.rated_by_360(line) for line in raw.get("lines") or []),
                   "min_360": least, "months": raw.get("monthly_totals") or [],
                   "banners": _banners(raw, mine, plans), "links": [self._plan_link(raw, actor, plans, who)],
                   "actions": self._buttons(raw, may), "results": _results(raw, plans)}
        context["related"] = [_steps(raw), *([] if mine else [_answers(feedback)]), *_result_panels(raw, plans)]
        if error and error.get("step") != sheet:  # refused after the step moved on: say why above the sheet
            context["banners"].insert(0, {"style": "danger", "text": error["message"]})
        return context

    def _buttons(self, raw: dict, may: set) -> list:
        kinds = [(k, label) for k, label in RATER_KINDS]
        if not any(appraisal.rated_by_360(line) for line in raw.get("lines") or []):
            may = may - {"invite"}  # nothing qualitative to rate
        colleagues = [] if "invite" not in may else [
            (str(e["_id"]), f"{e['name']} ({e['employee_no']})") for e in Employee._get_collection().find(
                {"owner_unit": raw.get("owner_unit"), "status": {"$ne": "left"}, "_id": {"$ne": raw["employee"]}},
                {"name": 1, "employee_no": 1}).sort("employee_no", 1).limit(100)]
        return [
            self.button("feedback", _l("Record the feedback interview"), "fa-comments", "primary",
                        when="give_feedback" in may,
                        fields=[input_field("notes", _l("What was discussed and agreed"), "textarea")]),
            self.button("acknowledge", _l("I accept the result"), "fa-check", "success", when="acknowledge" in may),
            self.button("appeal", _l("Appeal against the result"), "fa-legal", "warning", when="appeal" in may,
                        fields=[input_field("reason", _l("Why you disagree"), "textarea")]),
            self.button("apply", _l("Apply the results"), "fa-cogs", "primary", when="apply_results" in may),
            self.button("refresh", _l("Propose the actuals again from the records"), "fa-refresh",
                        when="refresh_actuals" in may and appraisal.kpis_available()),
            self.button("invite", _l("Ask for a 360-degree rating"), "fa-users", when="invite" in may,
                        fields=[input_field("kind", _l("Whom to invite"), "select", kinds),
                                input_field("rater", _l("Colleague"), "select", colleagues),
                                input_field("customer_name", _l("or the customer's name"))]),
        ]

    def _plan_link(self, raw: dict, actor, plans: list, who):
        wanted = raw.get("grade") in NEEDS_PLAN and not plans and raw.get("state") != "applied" and \
            appraisal.plan_refusal(raw, actor, who.heads or None) is None
        return self.link("ImprovementPlanView.add", "ImprovementPlan", gettext("Draw up the improvement plan"),
                         "fa-life-ring", when=wanted, appraisal=str(raw["_id"]))

    # ---- the step forms ----------------------------------------------------------------------------------------
    def _sheet(self, pk, step: str, call, done: str):
        """A step's sheet was sent: bad cells come back next to their row with 422 and nothing is saved."""
        item = self.get_item(pk)
        if item is None:
            abort(404)
        try:
            call(item.pk, scope.actor())
        except Refused as exc:
            request.environ["portal.appraisal_error"] = {
                "step": step, "message": str(exc.message),
                "cells": {k: str(v) for k, v in getattr(exc, "cells", {}).items()},
                "inputs": {k: str(v) for k, v in getattr(exc, "inputs", {}).items()}, "form": request.form.to_dict()}
            return self.show(pk), 422
        flash(done, "success")
        return redirect(url_for("AppraisalView.show", pk=pk))

    @expose("/assess/<pk>", methods=["POST"])
    @has_access
    def assess(self, pk):
        return self._sheet(pk, "assess", lambda pid, actor: appraisal.submit_self(
            pid, actor, _typed("self-"), request.form.get("comment", "", type=str)),
            gettext("Your self-assessment is submitted: your superior evaluates next."))

    @expose("/evaluate/<pk>", methods=["POST"])
    @has_access
    def evaluate(self, pk):
        return self._sheet(pk, "evaluate", lambda pid, actor: appraisal.evaluate(
            pid, actor, _typed("superior-"), request.form.get("comment", "", type=str), actuals=_typed("actual-"),
            reasons=_typed("reason-")), gettext("Evaluation saved: the department review follows."))

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review(self, pk):
        return self._sheet(pk, "review", lambda pid, actor: appraisal.review(
            pid, actor, _typed("final-"), request.form.get("comment", "", type=str)),
            gettext("Reviewed: total and grade are fixed; the feedback interview follows."))

    @expose("/decide/<pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        return self._sheet(pk, "decide", lambda pid, actor: appraisal.decide_appeal(
            pid, actor, request.form.get("outcome", "", type=str), request.form.get("decision", "", type=str),
            _typed("final-")), gettext("The appeal is decided and the appraisal is closed."))

    # ---- the buttons -------------------------------------------------------------------------------------------
    @expose("/feedback/<pk>", methods=["POST"])
    @has_access
    def feedback(self, pk):
        return self.run_action(pk, "feedback", lambda item, actor: appraisal.give_feedback(
            item.pk, actor, request.form.get("notes", "", type=str)),
            gettext("Feedback recorded: the employee has been told and may appeal within the window."))

    @expose("/acknowledge/<pk>", methods=["POST"])
    @has_access
    def acknowledge(self, pk):
        return self.run_action(pk, "acknowledge", lambda item, actor: appraisal.acknowledge(item.pk, actor),
                               gettext("Accepted: the appraisal is closed."))

    @expose("/appeal/<pk>", methods=["POST"])
    @has_access
    def appeal(self, pk):
        return self.run_action(pk, "appeal", lambda item, actor: appraisal.appeal(
            item.pk, actor, request.form.get("reason", "", type=str)),
            gettext("Your appeal is filed: HR or the head above the reviewer decides."))

    @expose("/apply/<pk>", methods=["POST"])
    @has_access
    def apply(self, pk):
        return self.run_action(pk, "apply", lambda item, actor: appraisal.apply_results(item.pk, actor),
                               gettext("Results applied: bonus coefficient, recommendation and training needs."))

    @expose("/refresh/<pk>", methods=["POST"])
    @has_access
    def refresh(self, pk):
        return self.run_action(pk, "refresh", lambda item, actor: appraisal.refresh_actuals(item.pk, actor),
                               gettext("The actuals are proposed again from the records."))

    @expose("/invite/<pk>", methods=["POST"])
    @has_access
    def invite(self, pk):
        """Ask a colleague (told in the portal) or a customer (a one-time link, shown here once) for a rating."""
        kind = request.form.get("kind", "", type=str)
        token: dict = {}

        def call(item, actor):
            token["value"] = appraisal.invite(item.pk, actor, kind, rater_id=request.form.get("rater", type=str),
                                              customer_name=request.form.get("customer_name", type=str))

        if kind != "customer":
            return self.run_action(pk, "invite", call, gettext("The colleague has been asked for a rating."))
        item = self.get_item(pk)
        if item is None:
            abort(404)
        try:
            call(item, scope.actor())
        except Refused as exc:
            request.environ["portal.action_error"] = {"action": "invite", "message": str(exc.message),
                                                      "form": request.form.to_dict()}
            return self.show(pk), 422
        request.environ["portal.customer_link"] = url_for("AppraisalFeedbackPage.answer", token=token["value"],
                                                          _external=True)
        return self.show(pk)

    # ---- pages -------------------------------------------------------------------------------------------------
    @expose("/records/<pk>/<key>")
    @has_access
    def records(self, pk, key):
        """The records a line's proposed actual was computed from (portal.kpis)."""
        item = self.get_item(pk)
        raw = item.to_mongo().to_dict() if item is not None else None
        rows = appraisal.records(raw, key[:40]) if raw is not None else None
        if rows is None:
            abort(404)
        line = next(line for line in raw.get("lines") or [] if line.get("key") == key[:40])
        return self.render_template("portal/appraisal/records.html", title=gettext("Records behind an indicator"),
                                    item=item, line=line, rows=[{**row, "url": _record_url(row)} for row in rows])

    @expose("/mine/")
    @has_access
    def mine(self):
        """My appraisal: what I must do now, my appraisals with their results, the ratings colleagues asked of me."""
        me = scope.current_employee_id()
        own = list(Appraisal._get_collection().find({"employee": me}, {
            "period": 1, "period_kind": 1, "state": 1, "step_due": 1, "total": 1, "grade": 1, "feedback_at": 1,
            "appeal_until": 1}).sort("created_at", -1).limit(100)) if me else []
        to_evaluate = list(Appraisal._get_collection().find({"appraiser": me, "state": "superior_evaluation"}, {
            "employee": 1, "period": 1, "step_due": 1}).sort("step_due", 1).limit(100)) if me else []
        asked = list(Feedback360._get_collection().find({"rater": me, "submitted_at": None}, {
            "employee": 1, "expires_on": 1}).limit(100)) if me else []
        names = _employee_names([r["employee"] for r in (*to_evaluate, *asked)])
        today = settings.local_today()
        todo = [row for row in own if row["state"] == "self_assessment" or (
            row["state"] == "feedback" and row.get("feedback_at"))]
        return self.render_template("portal/appraisal/mine.html", title=gettext("My appraisal"), own=own, todo=todo,
                                    to_evaluate=to_evaluate, asked=asked, names=names, today=today,
                                    states=STATES, label=choice_label, num=_num, linked=me is not None)

    @expose("/appeals/")
    @has_access
    def appeals(self):
        """The appeal desk: open appeals in the user's scope, oldest first."""
        rows = list(Appraisal._get_collection().find({**self.scope_raw(), "state": "appeal"}, {
            "employee": 1, "period": 1, "grade": 1, "total": 1, "appeal_reason": 1, "appealed_at": 1,
            "step_due": 1, "reviewed_by": 1}).sort("appealed_at", 1).limit(500))
        names = _employee_names([r["employee"] for r in rows])
        return self.render_template("portal/appraisal/appeals.html", title=gettext("Appeal desk"), rows=rows,
                                    names=names, today=settings.local_today(), num=_num, local=format_local)


def _record_url(row: dict) -> str | None:
    try:
        return url_for(row["endpoint"], pk=row["pk"])
    except (BuildError, KeyError):
        return None


def _form(pk, sheet: str | None, error: dict) -> dict | None:
    if sheet is None:
        return None
    mine = error.get("step") == sheet
    return {"step": sheet, "url": url_for(f"AppraisalView.{sheet}", pk=pk), "error": error.get("message") if mine
            else None, "typed": error.get("form", {}) if mine else {},
            "inputs": error.get("inputs", {}) if mine else {}}


def _sheet_rows(raw: dict, sheet: str | None, error: dict, hide_360: bool = False) -> list[dict]:
    """The indicators side by side, with the input of the step at hand on each row and each bad cell's message
    next to its own input (self, superior, actual, final)."""
    cells = error.get("cells", {}) if error.get("step") == sheet else {}
    inputs = error.get("inputs", {}) if error.get("step") == sheet else {}
    records = appraisal.kpis_available()
    rows = []
    for line in raw.get("lines") or []:
        key = line["key"]
        quantitative = line.get("measure") == "quantitative"
        rows.append({
            "key": key, "name": line.get("name"), "standard": line.get("standard"),
            "weight": _num(line["weight"], False),
            "category": choice_label(CATEGORIES, line.get("category")), "target": _num(line.get("target"), False),
            "measure": choice_label(MEASURES, line.get("measure")), "quantitative": quantitative,
            "proposed": _num(line.get("proposed")), "basis": line.get("basis") or "",
            "records": url_for("AppraisalView.records", pk=raw["_id"], key=key) if records and line.get("source")
            not in ("manual", "peer_rating") and sheet != "assess" else None,
            "actual": _num(line.get("actual")), "reason": line.get("override_reason") or "",
            "self": _num(line.get("self_score")), "superior": _num(line.get("superior_score")),
            "rating_360": "" if hide_360 else _num(line.get("rating_360")), "final": _num(line.get("final_score")),
            "suggested": _num(appraisal.score_for(line) if sheet == "evaluate" else
                              line.get("superior_score") if sheet == "review" else line.get("final_score")),
            "error": cells.get(key),
            "errors": {column: inputs[f"{column}-{key}"] for column in ("actual", "self", "superior", "final")
                       if f"{column}-{key}" in inputs}})
    return rows


def _banners(raw: dict, mine: bool, plans: list) -> list[dict]:
    out = []
    link = request.environ.get("portal.customer_link")
    if link:
        out.append({"style": "success", "text": gettext(
            "Send this link to the customer; it is shown only now and works once: %(link)s", link=link)})
    if raw.get("grade") in NEEDS_PLAN and not plans and raw.get("state") in ("feedback", "appeal", "closed"):
        out.append({"style": "warning", "text": gettext(
            "Grade %(grade)s: an improvement plan is needed before this appraisal can close (DSC 4(2)3).",
            grade=raw["grade"])})
    until = raw.get("appeal_until")
    if mine and raw.get("state") == "feedback" and raw.get("feedback_at") and until is not None:
        out.append({"style": "info", "text": gettext(
            "Read the result and the feedback. Accept it, or appeal until %(date)s.", date=f"{until:%Y-%m-%d}")})
    return out


def _steps(raw: dict) -> dict:
    return {"title": gettext("Flow history"), "icon": "fa-history", "rows": [
        {"link": None, "cells": [format_local(step.get("at")), step.get("by", ""),
                                 f"{choice_label(STATES, step.get('from_state')) or '—'} → "
                                 f"{choice_label(STATES, step.get('to_state'))}", step.get("comment") or ""]}
        for step in raw.get("history") or []]}


def _answers(feedback: list[dict]) -> dict:
    """Who was asked for a 360 rating and whether they answered (never shown to the appraisee)."""
    names = _employee_names([f["rater"] for f in feedback if f.get("rater")]) if feedback else {}
    return {"title": gettext("360-degree ratings asked"), "icon": "fa-users", "rows": [
        {"link": url_for("Feedback360View.show", pk=f["_id"]),
         "cells": [choice_label(RATER_KINDS, f.get("kind")), names.get(f.get("rater")) or f.get("customer_name") or "",
                   format_local(f["submitted_at"]) if f.get("submitted_at") else gettext("waiting")]}
        for f in feedback]}


def _results(raw: dict, plans: list) -> dict | None:
    """What the applied result does (BRD 6(4)5): the bonus coefficient, the recommendation, the plan."""
    if raw.get("state") != "applied":
        return None
    return {"coefficient": _num(raw.get("bonus_coefficient")), "plans": len(plans),
            "recommendation": choice_label(Appraisal.recommendation.choices, raw.get("recommendation"))}


def _result_panels(raw: dict, plans: list) -> list[dict]:
    panels = []
    if plans or raw.get("grade") in NEEDS_PLAN:
        panels.append({"title": gettext("Improvement plan"), "icon": "fa-life-ring", "rows": [
            {"link": url_for("ImprovementPlanView.show", pk=p["_id"]),
             "cells": [(p.get("goals") or "")[:80], f"{p['review_on']:%Y-%m-%d}" if p.get("review_on") else "",
                       choice_label(ImprovementPlan.outcome.choices, p.get("outcome"))]} for p in plans]})
    if raw.get("state") == "applied":
        from models.training import NEED_STATUSES, TrainingNeed

        needs = TrainingNeed._get_collection().find({"source": "appraisal", "reference": {
            "$regex": f"^{raw['_id']}:"}}, {"topic": 1, "status": 1, "priority": 1})
        panels.append({"title": gettext("Training needs raised"), "icon": "fa-graduation-cap", "rows": [
            {"link": url_for("TrainingNeedView.show", pk=n["_id"]),
             "cells": [n.get("topic", ""), choice_label(NEED_STATUSES, n.get("status"))]} for n in needs]})
    return panels


def employee_appraisals_link(employee_id) -> dict | None:
    """A link from an employee's page to their appraisals (the list shows only those the reader may see)."""
    if not current_app.appbuilder.sm.has_access("can_list", "Appraisal"):
        return None
    return {"url": url_for("AppraisalView.list", _flt_0_employee=str(employee_id)), "label": gettext("Appraisals"),
            "icon": "fa-line-chart"}


# ---- 360-degree requests (SOC 5.1, FSS 6(3)2-3) -------------------------------------------------------------------
class Feedback360View(ScopedModelView):
    """Requests for a 360-degree rating: the colleague asked answers here, once; the superior, the heads above, HR
    and Auditor read who said what; the appraisee never sees these records, only the averages on their appraisal."""

    route_base = "/appraisal-360"
    datamodel = PortalMongoInterface(Feedback360)
    class_permission_name = "Feedback360"
    export_audited = True  # 360 ratings (SOC 5.1)
    exclude_route_methods = {"download", "add", "edit", "delete", "action", "action_post"}
    regulation_clauses = ("SOC 5.1", "FSS 6(3)2", "FSS 6(3)3")
    show_template = "portal/appraisal/rate_show.html"
    list_title = show_title = _l("360-degree feedback")
    list_columns = ["employee", "kind", "rater", "customer_name", "expires_on", "submitted_at"]
    search_columns = ["employee", "kind", "rater", "customer_name", "submitted_at"]
    order_columns = ["kind", "expires_on", "submitted_at"]
    base_order = ("created_at", "desc")
    show_fieldsets = [
        (_l("Invitation"), {"fields": ["employee", "kind", "rater", "customer_name", "invited_by", "expires_on",
                                    "submitted_at"]}),
        (_l("Answer"), {"fields": ["ratings", "comment"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    @classmethod
    def scope_for_user(cls):
        return appraisal.feedback_scope()

    def sees(self, raw: dict) -> bool:
        return Feedback360.objects(appraisal.feedback_scope() or Q(), pk=raw.get("_id")).only("id").first() is not None

    def show_context(self, item) -> dict:
        raw = item.to_mongo().to_dict()
        me = scope.current_employee_id()
        if me is None or raw.get("rater") != me or raw.get("submitted_at"):
            return {}
        appraisal_raw, lines = appraisal.rating_form(raw)
        error = request.environ.get("portal.appraisal_error") or {}
        return {"rate": {"url": url_for("Feedback360View.answer", pk=item.pk), "lines": lines,
                         "error": error.get("message"), "cells": error.get("cells", {}),
                         "typed": error.get("form", {}), "open": (appraisal_raw or {}).get("state")
                         in appraisal.RATING_STATES}}

    @expose("/answer/<pk>", methods=["POST"])
    @has_access
    def answer(self, pk):
        item = self.get_item(pk)
        if item is None:
            abort(404)
        try:
            appraisal.answer_360(item.pk, scope.actor(), _typed("score-"), request.form.get("comment", "", type=str))
        except Refused as exc:
            request.environ["portal.appraisal_error"] = {
                "message": str(exc.message), "cells": {k: str(v) for k, v in getattr(exc, "cells", {}).items()},
                "form": request.form.to_dict()}
            return self.show(pk), 422
        flash(gettext("Thank you: your rating is saved."), "success")
        return redirect(url_for("Feedback360View.show", pk=pk))


class AppraisalFeedbackPage(BaseView):
    """The customer's one-time rating page (SOC 5.1, FSS 6(3)3): no login; it shows only the employee's name and
    the qualitative indicators. An unknown, used or expired link gets a page that says so."""

    route_base = "/appraisal-feedback"
    default_view = "answer"
    limits = [Limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=get_remote_address,
                    methods=("POST",))]

    @expose("/<token>", methods=["GET", "POST"])
    def answer(self, token):
        feedback = appraisal.feedback_by_token(token)
        if feedback is None:
            return self._page("unknown", 404)
        raw, lines = appraisal.rating_form(feedback)
        name = _employee_names([feedback.get("employee")]).get(feedback.get("employee"), "")
        expired = feedback.get("expires_on") is not None and settings.local_today() > feedback["expires_on"].date()
        if feedback.get("submitted_at"):
            return self._page("used", 410)
        if expired or raw is None or raw.get("state") not in appraisal.RATING_STATES:
            return self._page("expired", 410)
        error: dict = {}
        if request.method == "POST":
            try:
                appraisal.answer_by_token(token, _typed("score-"), request.form.get("comment", "", type=str))
            except Refused as exc:
                error = {"message": str(exc.message), "cells": {k: str(v) for k, v in getattr(exc, "cells",
                                                                                             {}).items()},
                         "form": request.form.to_dict()}
            else:
                return self._page("thanks", 200, name=name)
        page = self.render_template("portal/appraisal/customer.html", title=gettext("Your feedback"), state="form",
                                    name=name, rate={"url": url_for("AppraisalFeedbackPage.answer", token=token),
                                                     "lines": lines, "error": error.get("message"),
                                                     "cells": error.get("cells", {}), "typed": error.get("form", {}),
                                                     "open": True})
        return (page, 422) if error else page

    def _page(self, state: str, code: int, name: str = ""):
        return self.render_template("portal/appraisal/customer.html", title=gettext("Your feedback"), state=state,
                                    name=name, rate=None), code


# ---- improvement plans (DSC 4(2)3, SOC 5.1, FSS 6(4)2) -------------------------------------------------------------
def _plannable():
    """Reviewed appraisals of grade D or E the user may see: those a plan may follow."""
    q = Q(grade__in=list(NEEDS_PLAN), state__in=["feedback", "appeal", "closed", "applied"])
    mine = appraisal.appraisal_scope()
    return q if mine is None else q & mine


def _plannable_choices() -> list[Appraisal]:
    """The options of a plan's appraisal select, labelled "name period": the employees' names come from one $in
    query instead of one dereference per option (two queries whatever the number of options)."""
    found = list(Appraisal.objects(_plannable()).no_dereference().order_by("-period").limit(500))
    ids = [getattr(item._data.get("employee"), "id", item._data.get("employee")) for item in found]
    people = {e.pk: e for e in Employee.objects(pk__in=[i for i in ids if i is not None]).only("name")}
    for item, pk in zip(found, ids, strict=True):
        if pk in people:
            item._data["employee"] = people[pk]
    return found


class ImprovementPlanView(ScopedModelView):
    """Coaching for a poor result (DSC 4(2)3, SOC 5.1): goals, actions, a mentor and a review date, drawn up by the
    superior, a head above or HR; required before an appraisal of grade D or E can close. The employee, the mentor,
    the superior, the heads above, HR and Auditor read it."""

    route_base = "/improvement-plans"
    datamodel = PortalMongoInterface(ImprovementPlan)
    class_permission_name = "ImprovementPlan"
    export_audited = True  # personal data (DSC 4(2)3)
    regulation_clauses = ("DSC 4(2)3", "SOC 5.1", "FSS 6(4)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Improvement plans")
    add_title = _l("New improvement plan")
    edit_title = _l("Edit improvement plan")
    list_columns = ["employee", "mentor", "review_on", "outcome", "owner_unit"]
    search_columns = ["employee", "mentor", "review_on", "outcome", "owner_unit"]
    order_columns = ["review_on", "outcome"]
    base_order = ("review_on", "desc")
    add_columns = ["appraisal", "goals", "actions", "mentor", "review_on"]
    edit_columns = ["goals", "actions", "mentor", "review_on", "outcome", "outcome_note"]
    add_form_extra_fields = {"appraisal": QuerySelectField(
        _l("Appraisal"), query_func=_plannable_choices, get_pk_func=lambda item: item.pk, allow_blank=False,
        validators=[wtv.DataRequired()], widget=Select2Widget())}
    label_columns = {"owner_unit": _l("Org unit")}
    description_columns = {
        "appraisal": _l("A reviewed appraisal of grade D or E."),
        "goals": _l("What must improve, measurably, by the review date."),
        "actions": _l("Coaching, training and support agreed with the employee."),
        "outcome_note": _l("At the review: what changed (FSS 6(4)2: persistent underperformance may lead to a "
                           "transfer or demotion)."),
    }
    show_fieldsets = [
        (_l("Plan"), {"fields": ["employee", "appraisal", "owner_unit", "mentor", "review_on"]}),
        (_l("Goals and actions"), {"fields": ["goals", "actions"]}),
        (_l("Outcome"), {"fields": ["outcome", "outcome_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    @classmethod
    def scope_for_user(cls):
        return appraisal.plan_scope()

    def sees(self, raw: dict) -> bool:
        return ImprovementPlan.objects(appraisal.plan_scope() or Q(), pk=raw.get("_id")).only("id").first() is not None

    def prefill_add(self, form) -> None:
        pk = appraisal.as_id(request.args.get("appraisal", type=str))
        found = Appraisal.objects(_plannable(), pk=pk).first() if pk else None
        if found is not None:
            form.appraisal.data = found

    def place(self, item) -> None:
        """The plan belongs to its appraisal's unit; only the superior, a head above or HR draws it up."""
        source = Appraisal._get_collection().find_one({"_id": getattr(item.appraisal, "pk", None)}) \
            if item.appraisal is not None else None
        problem = appraisal.plan_refusal(source, scope.actor())
        if problem is not None:
            raise field_error("appraisal", problem)

    def pre_delete(self, item):
        if item.appraisal is not None and item.appraisal.state in ("closed", "applied") \
                and item.appraisal.grade in NEEDS_PLAN:
            raise ValidationError(gettext("The plan of a closed appraisal of grade D or E is kept."))
