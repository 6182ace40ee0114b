"""Training screens (DOMAIN 5): needs, annual plans, sessions with the attendance and scores sheets, assessments
with printable certificates, trainees' feedback, the HR training board with each employee's training record, and
"My trainings"."""

from __future__ import annotations

import datetime as dt

from bson import ObjectId
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.fields import QuerySelectField, QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget, Select2Widget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from mongoengine import Q, ValidationError
from wtforms import SelectField
from wtforms import validators as wtv

from models.common import choice_label
from models.files import Attachment
from models.org import Employee
from models.training import (
    ASSESSMENT_METHODS,
    ASSESSMENT_STATUSES,
    ATTENDANCE_MARKS,
    ATTENDED,
    LIVE_NEEDS,
    NEED_STATUSES,
    RATINGS,
    SESSION_KINDS,
    SESSION_STATUSES,
    TrainingAssessment,
    TrainingFeedback,
    TrainingNeed,
    TrainingPlan,
    TrainingSession,
    ref_id,
)
from portal import registry, scope, settings, training, uploads
from portal.approvals import Refused
from portal.compat import FilterEqual, FilterNotEqual, PortalMongoInterface, register_lookup
from portal.modelview import STAMPS, ScopedModelView, input_field
from portal.scope import ScopeFilter
from views.approvals import APPROVAL, ApprovableView
from views.org import my_employee

ALL_SEEING = training.ALL_SEEING
_RECORD_CLAUSES = ("MIC 培訓管理/培訓記錄與反饋/1", "BRD 7(4)3", "FSS 6(1)4")


def _fmt_rate(value) -> str:
    return "—" if value is None else f"{value} %"


def _fmt_local(value) -> str:
    local = settings.to_local(value) if isinstance(value, dt.datetime) else None
    return f"{local:%Y-%m-%d %H:%M}" if local else ""


# ---- needs (BRD 7(1)) -------------------------------------------------------------------------------------------
class TrainingNeedView(ScopedModelView):
    """Training needs of a person or a whole unit, from questionnaires, interviews and appraisals (BRD 7(1),
    FSS 6(4)3); an approved plan plans them, then they are met or dropped."""

    route_base = "/training-needs"
    datamodel = PortalMongoInterface(TrainingNeed)
    class_permission_name = "TrainingNeed"
    export_audited = True  # needs of named people (BRD 7(1))
    scope_owner_field = "employee"
    scope_all_roles = ALL_SEEING
    unit_from = "employee"
    regulation_clauses = ("BRD 7(1)1", "BRD 7(1)2", "FSS 6(4)3", "MIC 培訓管理/培訓體系建設/2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Training needs")
    add_title = _l("Record a training need")
    edit_title = _l("Edit training need")
    list_columns = ["topic", "employee", "owner_unit", "source", "priority", "status", "plan"]
    search_columns = ["topic", "employee", "owner_unit", "source", "priority", "status"]
    order_columns = ["topic", "source", "priority", "status"]
    base_order = ("created_at", "desc")
    add_columns = edit_columns = ["employee", "owner_unit", "topic", "source", "priority", "reference", "description"]
    label_columns = {"owner_unit": _l("Org unit")}
    description_columns = {
        "employee": _l("The person who needs the training; leave empty for a need of the whole unit."),
        "owner_unit": _l("Filled in with the employee's unit; for a unit's need, the unit."),
        "reference": _l("Where the need was found: the questionnaire, the interview or the appraisal."),
    }
    show_fieldsets = [
        (_l("Need"), {"fields": ["topic", "employee", "owner_unit", "source", "reference", "priority",
                                 "description"]}),
        (_l("Status"), {"fields": ["status", "plan", "closed_by", "closed_at", "closing_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_update(self, item):
        if item.status not in LIVE_NEEDS:
            raise ValidationError(gettext("A closed need can no longer be edited."))
        super().pre_update(item)

    def pre_delete(self, item):
        if item.status != "open" or training.plan_addressing(item.pk) is not None:
            raise ValidationError(gettext("Only an open need that no plan addresses can be deleted."))

    def show_context(self, item) -> dict:
        live = item.status in LIVE_NEEDS
        return {"actions": [
            self.button("met", _l("Mark as met"), "fa-check", "success", when=live,
                        fields=[input_field("note", _l("How it was met (optional)"))]),
            self.button("drop", _l("Drop this need"), "fa-times", "default", when=live,
                        fields=[input_field("note", _l("Why it is dropped"))]),
        ]}

    @expose("/met/<pk>", methods=["POST"])
    @has_access
    def met(self, pk):
        return self.run_action(pk, "met", lambda item, actor: training.close_need(
            item.pk, actor, "met", request.form.get("note", "", type=str)))

    @expose("/drop/<pk>", methods=["POST"])
    @has_access
    def drop(self, pk):
        return self.run_action(pk, "drop", lambda item, actor: training.close_need(
            item.pk, actor, "dropped", request.form.get("note", "", type=str)))


def _live_needs_in_scope():
    """The needs a plan may address: open or planned, and in the user's scope."""
    q = Q(status__in=list(LIVE_NEEDS))
    mine = TrainingNeedView.scope_for_user()
    return q if mine is None else q & mine


def _live_needs() -> list:
    """The plan form's needs with the person and unit each is for, read in one query each (not one per option)."""
    rows = list(TrainingNeed.objects(_live_needs_in_scope()).order_by("-created_at").limit(1000))
    TrainingNeedView.datamodel.prefetch(rows, ["employee", "owner_unit"])
    return rows


# ---- annual plans (BRD 7(2)) ------------------------------------------------------------------------------------
class TrainingPlanView(ApprovableView):
    """A unit's annual training plan: goals and courses (topic, content, method, month, trainer, budget) from its
    needs; the department manager, then the branch leadership approve it (BRD 7(2), FSS 5(1))."""

    route_base = "/training-plans"
    datamodel = PortalMongoInterface(TrainingPlan)
    class_permission_name = "TrainingPlan"
    scope_owner_field = "requested_by"
    scope_all_roles = ALL_SEEING
    regulation_clauses = ("BRD 7(2)1", "BRD 7(2)2", "BRD 7(2)3", "BRD 7(3)2", "FSS 5(1)1", "FSS 5(1)2", "FSS 5(3)1",
                          "FSS 5(3)2", "FSS 5(3)3", "FSS 5(3)4", "DSC 4(1)4", "SOC 4.2",
                          "MIC 培訓管理/培訓體系建設/2", "MIC 培訓管理/培訓實施/2")
    list_title = show_title = _l("Training plans")
    add_title = _l("New training plan")
    edit_title = _l("Edit training plan")
    list_columns = ["year", "owner_unit", "title", "budget_total", "status", "submitted_at"]
    search_columns = ["year", "owner_unit", "title", "status"]
    order_columns = ["year", "title", "budget_total", "status", "submitted_at"]
    base_order = ("year", "desc")
    add_columns = edit_columns = ["year", "owner_unit", "title", "goals", "courses", "needs"]
    add_form_extra_fields = edit_form_extra_fields = {
        "needs": QuerySelectMultipleField(_l("Needs addressed"), query_func=_live_needs, get_pk_func=lambda n: n.pk,
                                          validators=[wtv.Optional()], widget=Select2ManyWidget())}
    label_columns = {"owner_unit": _l("Org unit")}
    description_columns = {
        "owner_unit": _l("The unit the plan is for: its head reviews it, then the branch leader approves it."),
        "courses": _l("One line per course: topic, content, method, kind, month, trainer, budget and how many "
                      "take part."),
        "needs": _l("The open needs of the unit this plan answers; they become planned when it is approved."),
    }
    show_fieldsets = [
        (_l("Plan"), {"fields": ["year", "owner_unit", "title", "goals", "budget_total", "requested_by"]}),
        (_l("Courses"), {"fields": ["courses"]}),
        (_l("Approval"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        form.year.data = settings.local_today().year

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        approved = item.status == "approved"
        rows = [{"link": None, "cells": [f"{row['no']}. {row['course'].topic}", str(row["course"].month or ""),
                                         choice_label(type(row["course"]).method.choices, row["course"].method),
                                         f"¥{row['course'].budget or 0:,.2f}",
                                         gettext("%(held)s held, %(planned)s planned", held=row["held"],
                                                 planned=row["planned"]),
                                         f"¥{row['cost']:,.2f}"]}
                for row in training.plan_progress(item)]
        needs = [{"link": url_for("TrainingNeedView.show", pk=row["_id"]),
                  "cells": [row["topic"], row["who"], choice_label(NEED_STATUSES, row["status"])]}
                 for row in _needs_of(item)]
        context["related"] = [
            {"title": gettext("Courses: sessions held and their cost"), "rows": rows, "icon": "fa-graduation-cap"},
            {"title": gettext("Needs addressed"), "rows": needs, "icon": "fa-lightbulb-o"}]
        context["links"] = [self.link("TrainingSessionView.add", "TrainingSession",
                                      gettext("Schedule a session: %(topic)s", topic=course.topic),
                                      "fa-calendar-plus-o", when=approved, plan=item.pk, course=n)
                            for n, course in enumerate(item.courses or [], start=1)]
        return context


register_lookup("training_plan", TrainingPlan, None, "title", restrict=lambda: TrainingPlanView.scope_for_user())


def _needs_of(item: TrainingPlan) -> list[dict]:
    """The needs a plan addresses with the person (or unit) each is for: two queries, whatever their number."""
    ids = [ref_id(need) for need in item._data.get("needs") or [] if need is not None]
    rows = list(TrainingNeed._get_collection().find({"_id": {"$in": ids}}, {"topic": 1, "employee": 1, "status": 1}))
    people = {e["_id"]: e.get("name", "") for e in Employee._get_collection().find(
        {"_id": {"$in": [r["employee"] for r in rows if r.get("employee")]}}, {"name": 1})}
    for row in rows:
        row["who"] = people.get(row.get("employee")) or gettext("the whole unit")
    return rows


# ---- sessions (BRD 7(3), FSS 5(2)) ------------------------------------------------------------------------------
class TrainingSessionView(ScopedModelView):
    """Training sessions: time, place, content, trainer, participants and materials recorded (BRD 7(3)3); HR takes
    the attendance of all participants on one sheet and enters the scores on another; afterwards the effect and
    the lessons learned (BRD 7(4)). Participants and the trainer read their sessions."""

    route_base = "/training-sessions"
    datamodel = PortalMongoInterface(TrainingSession)
    class_permission_name = "TrainingSession"
    scope_all_roles = ALL_SEEING
    scope_extra_owner_fields = ("participants", "trainer")
    extra_owners_change = False
    unit_from = "plan"
    regulation_clauses = ("BRD 7(3)1", "BRD 7(3)3", "BRD 7(4)1", "BRD 7(4)2", "FSS 5(2)1", "FSS 5(2)2", "FSS 5(2)3",
                          "FSS 5(2)4", "FSS 5(4)1", "SOC 4.2", "DSC 4(1)3", "DSC 4(1)4",
                          "MIC 培訓管理/培訓體系建設/1", "MIC 培訓管理/培訓實施/1", "MIC 培訓管理/培訓記錄與反饋/1")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Training sessions")
    add_title = _l("New training session")
    edit_title = _l("Edit training session")
    list_columns = ["start", "title", "kind", "owner_unit", "place", "headcount", "status"]
    search_columns = ["title", "kind", "status", "owner_unit", "plan", "start", "place"]
    order_columns = ["start", "title", "kind", "status"]
    base_order = ("start", "desc")
    add_columns = edit_columns = ["plan", "course_no", "title", "kind", "owner_unit", "trainer", "trainer_name",
                                  "start", "end", "place", "content", "participants", "materials", "assessment_method",
                                  "pass_mark", "cost", "effect_evaluation", "lessons"]
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "plan": [["status", FilterEqual, "approved"], ["id", ScopeFilter, lambda: TrainingPlanView.scope_for_user()]],
        "participants": [["status", FilterNotEqual, "left"]]}
    label_columns = {"owner_unit": _l("Org unit"), "headcount": _l("Participants")}
    description_columns = {
        "plan": _l("The approved plan this session carries out; leave empty for a session outside the plan."),
        "course_no": _l("The course's line in the plan (1 for the first); title, kind and content come from it when "
                        "left empty."),
        "owner_unit": _l("Taken from the plan; for a session outside the plan, the unit that holds it."),
        "trainer_name": _l("An external trainer or institution, when no member of staff teaches."),
        "pass_mark": _l("Leave empty for the company's pass mark (Approvals → Settings)."),
        "effect_evaluation": _l("After the session: how well it worked (BRD 7(4)1)."),
        "lessons": _l("After the session: what to do differently next time (BRD 7(4)2)."),
        "materials": _l("Handouts, slides or recordings, each with what it is."),
    }
    show_fieldsets = [
        (_l("Session"), {"fields": ["title", "kind", "plan", "course_no", "owner_unit", "trainer", "trainer_name"]}),
        (_l("Time, place and content"), {"fields": ["start", "end", "place", "content"]}),
        (_l("Participants"), {"fields": ["participants"]}),
        (_l("Assessment"), {"fields": ["assessment_method", "pass_mark"]}),
        (_l("Held and evaluated"), {"fields": ["status", "attendance_taken_at", "attendance_taken_by", "cost",
                                               "effect_evaluation", "lessons", "cancel_reason"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        """Opened from a course of a plan: the plan, the course and what the course says."""
        plan = TrainingPlan.objects(pk=training.as_id(request.args.get("plan", type=str)), status="approved").first()
        number = request.args.get("course", type=int)
        if plan is None or number is None or not 1 <= number <= len(plan.courses or []):
            return
        course = plan.courses[number - 1]
        form.plan.data, form.course_no.data, form.owner_unit.data = plan, number, plan.owner_unit
        form.title.data, form.kind.data, form.content.data = course.topic, course.kind, course.content
        form.trainer_name.data = course.trainer

    def pre_update(self, item):
        if item.status == "cancelled":
            raise ValidationError(gettext("A cancelled session can no longer be edited."))
        super().pre_update(item)

    def pre_delete(self, item):
        if item.status != "planned" or item.attendance:
            raise ValidationError(gettext("Only a planned session without attendance can be deleted."))

    def show_context(self, item) -> dict:
        me = scope.current_employee_id()
        full = self.may_change(item)
        seen = training.trainees_seen()  # HR, Admin, Auditor every row; a head their units' trainees; others their own

        def shown(pid) -> bool:
            return seen is None or pid in seen

        people = {p.pk: p for p in item.participants or [] if p is not None}
        marks = {ref_id(m._data.get("employee")): m for m in item.attendance or []}
        attendance = [{"link": None, "cells": [str(person), choice_label(ATTENDANCE_MARKS, getattr(
            marks.get(pid), "status", None)) or gettext("not marked"), getattr(marks.get(pid), "note", None) or ""]}
            for pid, person in people.items() if shown(pid)]
        attempts = [{"link": url_for("TrainingAssessmentView.show", pk=row["_id"]),
                     "cells": [str(people.get(row["employee"], "")), f"#{row['attempt']}",
                               "" if row.get("score") is None else str(row["score"]),
                               choice_label(ASSESSMENT_STATUSES, row.get("status")), row.get("certificate_no") or ""]}
                    for row in TrainingAssessment._get_collection().find({"session": item.pk}).sort(
                        [("employee", 1), ("attempt", 1)]) if shown(row["employee"])]
        feedback = training.feedback_summary([item.pk]).get(item.pk)
        given = {f["session"] for f in TrainingFeedback._get_collection().find(
            {"session": item.pk, "employee": me}, {"session": 1})} if me else set()
        raw = {"_id": item.pk, "status": item.status,
               "attendance": [{"employee": ref_id(m._data.get("employee")), "status": m.status}
                              for m in item.attendance or []]}
        sm, name = self.appbuilder.sm, self.class_permission_name
        links = [
            {"url": url_for("TrainingSessionView.attendance", pk=item.pk), "label": gettext("Attendance sheet"),
             "icon": "fa-check-square-o"} if item.status != "cancelled" and sm.has_access("can_attendance", name)
            else None,
            {"url": url_for("TrainingSessionView.scores", pk=item.pk), "label": gettext("Scores sheet"),
             "icon": "fa-pencil"} if item.status == "held" and sm.has_access("can_scores", name) else None,
            self.link("TrainingFeedbackView.add", "TrainingFeedback", gettext("Give feedback"), "fa-commenting-o",
                      when=training.may_give_feedback(raw, me, given), session=item.pk),
        ]
        banners = []
        if feedback:
            banners.append({"style": "info", "text": gettext(
                "Average feedback %(overall)s of 5 from %(count)s trainees: content %(content)s, trainer "
                "%(trainer)s, usefulness %(usefulness)s.", **feedback)})
        if item.status == "cancelled":
            banners.append({"style": "warning", "text": gettext("Cancelled: %(reason)s", reason=item.cancel_reason)})
        return {"banners": banners, "links": links,
                "actions": [self.button("cancel", _l("Cancel the session"), "fa-ban", "danger",
                                        when=item.status == "planned" and full,
                                        fields=[input_field("reason", _l("Why it is cancelled"))])],
                "related": [{"title": gettext("Attendance"), "rows": attendance, "icon": "fa-users"},
                            {"title": gettext("Assessments"), "rows": attempts, "icon": "fa-certificate"},
                            {"title": gettext("Materials"), "icon": "fa-paperclip", "rows": _materials(item)}]}

    @expose("/cancel/<pk>", methods=["POST"])
    @has_access
    def cancel(self, pk):
        return self.run_action(pk, "cancel", lambda item, actor: training.cancel_session(
            item.pk, actor, request.form.get("reason", "", type=str)),
            gettext("Cancelled: the participants have been told."))

    @expose("/material/<pk>/<int:line>")
    @has_access
    def material(self, pk, line):
        item = self.get_item(pk)
        if item is None or not 0 <= line < len(item.materials or []) or item.materials[line].file is None:
            abort(404)
        return uploads.attachment_response(item.materials[line].file)

    def _sheet_item(self, pk):
        item = self.get_item(pk)
        if item is None or not self.may_change(item):
            abort(404)
        return item

    @expose("/attendance/<pk>", methods=["GET", "POST"])
    @has_access
    def attendance(self, pk):
        """The attendance sheet: every participant marked present, late or absent on one screen, saved at once."""
        item = self._sheet_item(pk)
        people = [p for p in item.participants or [] if p is not None]
        error, cells = None, {}
        marks = {str(ref_id(m._data.get("employee"))): (m.status, m.note) for m in item.attendance or []}
        if request.method == "POST":
            posted = {str(p.pk): request.form.get(f"mark-{p.pk}", "", type=str) for p in people}
            notes = {str(p.pk): request.form.get(f"note-{p.pk}", "", type=str) for p in people}
            try:
                training.mark_attendance(item.pk, scope.actor(), posted, notes)
            except training.SheetRefused as exc:
                error, cells = exc.message, exc.cells
            except Refused as exc:
                error = exc.message
            else:
                flash(gettext("Attendance saved: the session is held."), "success")
                return redirect(url_for("TrainingSessionView.show", pk=item.pk))
            marks = {key: (posted[key], notes[key]) for key in posted}
        rows = [{"key": str(p.pk), "name": p.name, "employee_no": p.employee_no,
                 "mark": marks.get(str(p.pk), (None, None))[0], "note": marks.get(str(p.pk), (None, None))[1] or "",
                 "error": cells.get(str(p.pk))} for p in people]
        page = self.render_template("portal/training/attendance.html", title=gettext("Attendance sheet"), item=item,
                                    rows=rows, error=error, marks=ATTENDANCE_MARKS, when=_fmt_local(item.start))
        return (page, 422) if error else page

    @expose("/scores/<pk>", methods=["GET", "POST"])
    @has_access
    def scores(self, pk):
        """The scores sheet: the open attempt of every trainee on one screen; a bad cell is answered on its row and
        nothing is saved; a fail opens a retake, a pass issues the certificate (FSS 5(4)3)."""
        item = self._sheet_item(pk)
        error, cells, typed = None, {}, {}
        if request.method == "POST":
            typed = {key[6:]: value for key, value in list(request.form.items())[:600]
                     if key.startswith("score-") and isinstance(value, str)}
            try:
                done = training.record_scores(item.pk, scope.actor(), typed)
            except training.SheetRefused as exc:
                error, cells = exc.message, exc.cells
            except Refused as exc:
                error = exc.message
            else:
                flash(gettext("Scores saved: %(passed)s passed, %(failed)s failed (a retake is open for each).",
                              **done), "success")
                return redirect(url_for("TrainingSessionView.scores", pk=item.pk))
        raw = TrainingSession._get_collection().find_one({"_id": item.pk}, {
            "participants": 1, "attendance": 1, "status": 1, "pass_mark": 1, "assessment_method": 1, "owner_unit": 1})
        rows = training.sheet_rows(raw)
        for row in rows:
            row["typed"], row["error"] = typed.get(row["key"], ""), cells.get(row["key"])
        stray = [message for key, message in cells.items() if key not in {row["key"] for row in rows}]
        page = self.render_template(
            "portal/training/scores.html", title=gettext("Scores sheet"), item=item, rows=rows,
            error=error, stray=stray, pass_mark=training.pass_mark_of(raw), when=_fmt_local(item.start),
            method=choice_label(ASSESSMENT_METHODS, raw.get("assessment_method")), marks=ATTENDANCE_MARKS,
            statuses=ASSESSMENT_STATUSES, label=choice_label)
        return (page, 422) if error else page

    @expose("/mine/")
    @has_access
    def mine(self):
        """My trainings: my sessions, my attendance, my results per attempt, open retakes and certificates."""
        me = scope.current_employee_id()
        record = training.employee_record(me) if me else None
        return self.render_template("portal/training/mine.html", title=gettext("My trainings"), record=record,
                                    person=my_employee(), **_record_helpers())


register_lookup("training_session", TrainingSession, None, "title",
                restrict=lambda: TrainingSessionView.scope_for_user())


def _materials(item: TrainingSession) -> list[dict]:
    """The session's files with what each is, their names read in one query."""
    files = [ref_id(line._data.get("file")) for line in item.materials or []]
    names = {a["_id"]: a.get("filename", "") for a in Attachment._get_collection().find(
        {"_id": {"$in": [f for f in files if f is not None]}}, {"filename": 1})} if any(files) else {}
    return [{"link": url_for("TrainingSessionView.material", pk=item.pk, line=n) if names.get(file) else None,
             "cells": [names.get(file) or gettext("(no file)"), line.description or ""]}
            for n, (line, file) in enumerate(zip(item.materials or [], files, strict=True))]


def _record_helpers() -> dict:
    return {"label": choice_label, "marks": ATTENDANCE_MARKS, "kinds": SESSION_KINDS, "statuses": ASSESSMENT_STATUSES,
            "session_statuses": SESSION_STATUSES, "local": _fmt_local}


# ---- assessments and certificates (FSS 5(4)) --------------------------------------------------------------------
class TrainingAssessmentView(ScopedModelView):
    """Every attempt of every trainee, with its score, pass mark and result; a fail opens the next attempt, a pass
    carries the certificate number, printable from here (FSS 5(4)3). Written only by the scores sheet."""

    route_base = "/training-assessments"
    datamodel = PortalMongoInterface(TrainingAssessment)
    class_permission_name = "TrainingAssessment"
    export_audited = True  # exam results (FSS 5(4)3)
    scope_owner_field = "employee"
    scope_all_roles = ALL_SEEING
    exclude_route_methods = {"download", "add", "edit", "delete", "action", "action_post"}
    regulation_clauses = ("FSS 5(4)1", "FSS 5(4)2", "FSS 5(4)3", "BRD 7(4)1", "MIC 培訓管理/培訓實施/3",
                          "MIC 培訓管理/培訓記錄與反饋/1")

    @classmethod
    def scope_for_user(cls):
        """By the trainee, not the session's unit: one's own results; a head's, those of their units' people."""
        return training.trainee_scope()
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Assessments and certificates")
    list_columns = ["session", "employee", "attempt", "method", "score", "pass_mark", "status", "certificate_no"]
    search_columns = ["session", "employee", "status", "certificate_no", "assessed_on"]
    order_columns = ["attempt", "score", "status", "certificate_no"]
    base_order = ("created_at", "desc")
    show_fieldsets = [
        (_l("Assessment"), {"fields": ["session", "employee", "owner_unit", "attempt", "method"]}),
        (_l("Result"), {"fields": ["score", "pass_mark", "passed", "status", "certificate_no", "assessed_on",
                                   "assessed_by"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        printable = item.status == "passed" and item.certificate_no and self.appbuilder.sm.has_access(
            "can_certificate", self.class_permission_name)
        return {"links": [{"url": url_for("TrainingAssessmentView.certificate", pk=item.pk),
                           "label": gettext("Print the certificate"), "icon": "fa-print"} if printable else None],
                "banners": [{"style": "warning", "text": gettext("A retake is open: the trainee is assessed again "
                                                                 "until passed (FSS 5(4)3).")}]
                if item.status == "retake_open" else []}

    @expose("/certificate/<pk>")
    @has_access
    def certificate(self, pk):
        """The printable certificate of a passed assessment (404 for any other)."""
        item = self.get_item(pk)
        if item is None or item.status != "passed" or not item.certificate_no or item.session is None:
            abort(404)
        session = item.session
        return self.render_template("portal/training/certificate.html", title=gettext("Training certificate"),
                                    item=item, session=session, company=training.company_name(),
                                    day=settings.to_local(session.start), kind=choice_label(SESSION_KINDS,
                                                                                             session.kind))


# ---- feedback (BRD 7(4)) ------------------------------------------------------------------------------------------
def _sessions_i_may_rate():
    """Held sessions the signed-in person attended (present or late)."""
    me = scope.current_employee_id()
    if me is None:
        return Q(pk__in=[])
    return Q(__raw__={"status": "held", "attendance": {"$elemMatch": {"employee": me, "status": {"$in": list(
        ATTENDED)}}}})


class AttendedSessionField(QuerySelectField):
    """Offers the held sessions the user attended; a session id sent that is not among them is still read, so that
    the feedback's own rule answers it in words next to the field (BRD 7(4)1) instead of "Not a valid choice"."""

    def _get_data(self):
        data = super()._get_data()
        formdata = self._formdata
        if data is None and isinstance(formdata, str) and ObjectId.is_valid(formdata):
            self._set_data(TrainingSession.objects(pk=formdata).first())
        return self._data

    data = property(_get_data, QuerySelectField._set_data)

    def pre_validate(self, form) -> None:
        """Any existing session passes here; TrainingFeedback.clean says who may rate it."""


def _attended_sessions() -> list:
    return list(TrainingSession.objects(_sessions_i_may_rate()).order_by("-start").limit(200))


def _rating_field(label) -> SelectField:
    return SelectField(label, choices=[(value, text) for value, text in RATINGS], coerce=int,
                       validators=[wtv.InputRequired()], widget=Select2Widget())


class TrainingFeedbackView(ScopedModelView):
    """Trainees rate the sessions they attended (content, trainer, usefulness, 1-5) and comment, once each; only
    those present or late at a held session may (BRD 7(4), MIC 培訓記錄與反饋/2)."""

    route_base = "/training-feedback"
    datamodel = PortalMongoInterface(TrainingFeedback)
    class_permission_name = "TrainingFeedback"
    export_audited = True  # attendees' opinions (BRD 7(4))
    scope_owner_field = "employee"
    scope_all_roles = ALL_SEEING
    exclude_route_methods = {"download", "edit", "delete", "action", "action_post"}
    regulation_clauses = ("BRD 7(4)1", "BRD 7(4)2", "MIC 培訓管理/培訓記錄與反饋/2")

    @classmethod
    def scope_for_user(cls):
        """By the trainee, not the session's unit: one's own feedback; a head's, that of their units' people."""
        return training.trainee_scope()
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Training feedback")
    add_title = _l("Give feedback on a training session")
    list_columns = ["session", "employee", "content_rating", "trainer_rating", "usefulness_rating", "created_at"]
    search_columns = ["session", "employee", "content_rating", "trainer_rating", "usefulness_rating"]
    order_columns = ["content_rating", "trainer_rating", "usefulness_rating", "created_at"]
    base_order = ("created_at", "desc")
    add_columns = ["session", "content_rating", "trainer_rating", "usefulness_rating", "comments"]
    add_form_extra_fields = {"session": AttendedSessionField(_l("Session"), query_func=_attended_sessions,
                                                             get_pk_func=lambda obj: obj.pk, widget=Select2Widget(),
                                                             validators=[wtv.DataRequired()]),
                             "content_rating": _rating_field(_l("Content rating")),
                             "trainer_rating": _rating_field(_l("Trainer rating")),
                             "usefulness_rating": _rating_field(_l("Usefulness rating"))}
    description_columns = {"session": _l("A held session you attended."),
                           "comments": _l("What to keep, what to change (BRD 7(4)2).")}
    show_fieldsets = [
        (_l("Feedback"), {"fields": ["session", "employee", "content_rating", "trainer_rating", "usefulness_rating",
                                     "comments"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        session = training.as_id(request.args.get("session", type=str))
        if session is not None:
            form.session.data = TrainingSession.objects(pk=session).first()

    def place(self, item) -> None:
        """Feedback is always one's own, whoever gives it."""
        me = my_employee()
        if me is None:
            raise scope.ScopeDenied(gettext("Your login is not linked to an employee record."))
        item.employee = me
        item.owner_unit = item.session.owner_unit if item.session is not None else None


# ---- the HR training board and each employee's training record -------------------------------------------------
class TrainingBoardView(BaseView):
    """The HR training board (BRD 7(3-4)): per plan, courses and budget planned against held; per session,
    attendance, pass rates, feedback and open retakes; each employee's training record. HR, Admin and Auditor see
    every unit, a department head the units they head."""

    route_base = "/training-board"
    class_permission_name = "TrainingBoard"
    default_view = "index"
    method_permission_name = {"index": "index", "employee": "employee", "person": "employee"}
    regulation_clauses = ("BRD 7(3)1", "BRD 7(4)1", "BRD 7(4)2", "MIC 培訓管理/培訓記錄與反饋/1",
                          "MIC 培訓管理/培訓記錄與反饋/2")

    @staticmethod
    def units_seen() -> list | None:
        """None when the user sees every unit; else the units they head and those below (their own when heading
        none)."""
        return None if scope.role_names() & ALL_SEEING else scope.visible_units()

    @expose("/")
    @has_access
    def index(self):
        today, error = settings.local_today(), None
        year = request.args.get("year", type=int)
        if year is None or not 2000 <= year <= 2100:
            if request.args.get("year"):
                error = gettext("Write the year as 2026.")
            year = today.year
        unit = training.as_id(request.args.get("unit", "", type=str))
        result = training.board(year, unit, self.units_seen())
        if unit is not None and unit not in {u[0] for u in result["units"]}:
            abort(404)
        return self.render_template("portal/training/board.html", title=gettext("Training board"), year=year,
                                    unit=unit, error=error, board=result, rate=_fmt_rate,
                                    statuses=SESSION_STATUSES, plan_statuses=TrainingPlan.status.choices,
                                    label=choice_label, clauses=registry.clauses_for(self.regulation_clauses))

    @expose("/employee/<pk>")
    @has_access
    def employee(self, pk):
        """One employee's training record: sessions, attendance, scores per attempt, certificates."""
        person_id = training.as_id(pk)
        person = Employee._get_collection().find_one({"_id": person_id}, {"name": 1, "employee_no": 1,
                                                                         "owner_unit": 1}) if person_id else None
        seen = self.units_seen()
        if person is None or (seen is not None and person.get("owner_unit") not in set(seen)):
            abort(404)
        return self.render_template("portal/training/record.html", title=gettext("Training record"), person=person,
                                    record=training.employee_record(person["_id"]),
                                    clauses=registry.clauses_for(_RECORD_CLAUSES), **_record_helpers())


    @expose("/person/")
    @has_access
    def person(self):
        """The board's search form: open the training record of the employee chosen."""
        person_id = training.as_id(request.args.get("employee", "", type=str))
        if person_id is None:
            flash(gettext("Choose an employee first."), "warning")
            return redirect(url_for("TrainingBoardView.index"))
        return redirect(url_for("TrainingBoardView.employee", pk=str(person_id)))


def employee_training_link(employee_id) -> dict | None:
    """A link from an employee's page to their training record, for those who may open it."""
    from flask import current_app

    if not current_app.appbuilder.sm.has_access("can_employee", "TrainingBoard"):
        return None
    return {"url": url_for("TrainingBoardView.employee", pk=str(employee_id)), "label": gettext("Training record"),
            "icon": "fa-graduation-cap"}

