"""Conduct screens (DOMAIN 3.8): leave requests, attendance with its monthly summary, violations and their measures,
gift declarations."""

from __future__ import annotations

from flask import abort, request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.common import PERIOD_FORMATS, choice_label, period_bounds
from models.conduct import (
    MEASURES,
    VIOLATION_CATEGORIES,
    VIOLATION_STATUSES,
    AttendanceRecord,
    GiftDeclaration,
    LeaveRequest,
    Violation,
)
from portal import conduct, scope, settings, uploads
from portal.compat import PortalMongoInterface
from portal.modelview import STAMPS, ScopedModelView, input_field
from views.approvals import ApprovableView
from views.org import my_employee


class LeaveRequestView(ApprovableView):
    """Leave requests: submitted before the first day, approved by the department head."""

    datamodel = PortalMongoInterface(LeaveRequest)
    class_permission_name = "LeaveRequest"
    export_audited = True  # personal data (DOMAIN 3.8)
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("FSS 4(1)1", "FSS 4(1)2")
    list_title = show_title = _l("Leave requests")
    add_title = _l("New leave request")
    edit_title = _l("Edit leave request")
    list_columns = ["employee", "kind", "start", "end", "days", "status"]
    search_columns = ["employee", "kind", "start", "end", "status"]
    order_columns = ["start", "end", "kind", "status"]
    base_order = ("start", "desc")
    add_columns = edit_columns = ["employee", "kind", "start", "end", "days", "reason", "handover"]
    description_columns = {"employee": _l("Filled in with you unless you keep leave for your unit."),
                           "days": _l("Leave blank to count the weekdays of the period.")}
    show_fieldsets = [
        (_l("Leave"), {"fields": ["employee", "kind", "start", "end", "days", "reason", "handover"]}),
        (_l("Approval"), {"fields": ["status", "submitted_at", "decided_at"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class AttendanceRecordView(ScopedModelView):
    """Attendance: one record per employee and day, its status derived from the working day and approved leave
    (FSS 4(1)1); clerks and heads keep their unit's, HR all, everyone reads their own; a monthly summary."""

    route_base = "/attendance"
    datamodel = PortalMongoInterface(AttendanceRecord)
    class_permission_name = "AttendanceRecord"
    export_audited = True  # personal data (DOMAIN 3.8)
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    unit_from = "employee"
    regulation_clauses = ("FSS 4(1)1",)
    list_template = "portal/conduct/attendance_list.html"
    list_title = show_title = _l("Attendance")
    add_title = _l("New attendance record")
    edit_title = _l("Edit attendance record")
    list_columns = ["date", "employee", "check_in", "check_out", "status"]
    search_columns = ["employee", "date", "status", "owner_unit"]
    order_columns = ["date", "status"]
    base_order = ("date", "desc")
    add_columns = edit_columns = ["employee", "date", "check_in", "check_out", "note"]
    description_columns = {
        "check_in": _l("24-hour clock, e.g. 08:55; leave blank when there was none."),
        "check_out": _l("24-hour clock, e.g. 18:05; leave blank when there was none."),
    }
    show_fieldsets = [
        (_l("Day"), {"fields": ["employee", "date", "check_in", "check_out", "note"]}),
        (_l("Derived"), {"fields": ["status", "late", "left_early", "leave", "owner_unit"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.date.data = settings.local_today()

    def list_context(self) -> dict:
        return {"summary_link": self.appbuilder.sm.has_access("can_summary", self.class_permission_name)}

    @expose("/summary/")
    @has_access
    def summary(self):
        """Days, normal, late, early leave, absent and on leave per employee for a month, within the user's scope."""
        month = request.args.get("month", "", type=str).strip()[:7] or f"{settings.local_today():%Y-%m}"
        bounds = period_bounds("month", month)
        rows = conduct.monthly_summary(self.scope_raw(), *bounds) if bounds else []
        return self.render_template("portal/conduct/attendance_summary.html", title=gettext("Monthly attendance"),
                                    month=month, rows=rows, error=None if bounds else PERIOD_FORMATS["month"])


class HeadScopedView(ScopedModelView):
    """Records seen by their person, the heads of the units above them and the roles that see all; a Clerk's unit
    gives no access (DOMAIN 3.8)."""

    @classmethod
    def scope_for_user(cls):
        return conduct.own_or_headed(cls.scope_owner_field, cls.scope_all_roles)

    def sees(self, raw: dict) -> bool:
        return conduct.sees_own_or_headed(raw, self.scope_owner_field, self.scope_all_roles)


class ViolationView(HeadScopedView):
    """Violations and their measures (MIC 違規處理, FSS 4): HR records and decides, a demotion is applied to the
    person's record, the person acknowledges and reports a warning's correction. Only HR, the heads above the
    person, Auditor and the person see them."""

    route_base = "/violations"
    datamodel = PortalMongoInterface(Violation)
    class_permission_name = "Violation"
    export_audited = True  # disciplinary records (DOMAIN 3.8)
    scope_owner_field = "person"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    unit_from = "person"
    regulation_clauses = ("MIC 違規處理/違規行為界定/1", "MIC 違規處理/違規行為界定/2", "MIC 違規處理/違規行為界定/3",
                          "MIC 違規處理/違規處理措施/1", "MIC 違規處理/違規處理措施/2", "MIC 違規處理/違規處理措施/3",
                          "FSS 4(1)2", "FSS 4(4)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Violations")
    add_title = _l("Record a violation")
    edit_title = _l("Edit violation")
    list_columns = ["number", "person", "occurred_on", "category", "measure", "status"]
    search_columns = ["number", "person", "occurred_on", "category", "measure", "status", "owner_unit"]
    order_columns = ["number", "occurred_on", "category", "measure", "status"]
    base_order = ("occurred_on", "desc")
    add_columns = edit_columns = ["person", "occurred_on", "category", "description", "evidence", "measure",
                                  "correction_deadline", "fine_amount", "new_position", "new_tier"]
    description_columns = {
        "person": _l("An employee or an agent."),
        "evidence": _l("Scans or photos (PDF, JPG or PNG), each with what it shows."),
        "correction_deadline": _l("Warning: the day by which the person must have corrected the behaviour."),
        "fine_amount": _l("Fine: the amount, according to how serious the offence is."),
        "new_position": _l("Demotion of an employee: the new position."),
        "new_tier": _l("Downgrade of an agent: the new, lower tier."),
    }
    show_fieldsets = [
        (_l("Violation"), {"fields": ["number", "person", "owner_unit", "occurred_on", "category", "description"]}),
        (_l("Measure"), {"fields": ["measure", "correction_deadline", "fine_amount", "new_position", "new_tier",
                                    "previous_position", "previous_tier", "status", "decided_by", "decided_at"]}),
        (_l("Acknowledgement and correction"), {"fields": ["acknowledged_at", "correction_report",
                                                           "correction_reported_at", "confirmed_by", "confirmed_at",
                                                           "confirmation_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_update(self, item):
        if item.status != "recorded":
            raise ValidationError(gettext("A decided violation can no longer be edited."))
        super().pre_update(item)

    def pre_delete(self, item):
        if item.status != "recorded":
            raise ValidationError(gettext("A decided violation cannot be deleted."))

    def show_context(self, item) -> dict:
        mine = item.person is not None and item.person.pk == scope.current_employee_id()
        overdue = (item.measure == "warning" and item.status in ("decided", "acknowledged")
                   and item.correction_deadline is not None and item.correction_deadline < settings.local_today())
        return {
            "banners": [{"style": "danger", "text": gettext("The correction deadline (%(date)s) has passed.",
                                                            date=f"{item.correction_deadline:%Y-%m-%d}")}]
            if overdue else [],
            "actions": [
                self.button("decide", _l("Decide: fix the measure"), "fa-gavel", "primary",
                            when=item.status == "recorded"),
                self.button("acknowledge", _l("I have read the decision"), "fa-check", "success",
                            when=mine and item.status == "decided"),
                self.button("report", _l("Report my correction"), "fa-flag", when=mine and item.measure == "warning"
                            and item.status == "acknowledged",
                            fields=[input_field("text", _l("What you corrected"), "textarea")]),
                self.button("confirm", _l("Confirm the correction"), "fa-check-circle", "success",
                            when=not mine and item.status == "correction_reported",
                            fields=[input_field("note", _l("Note"))]),
            ],
            "related": [{"title": gettext("Evidence"), "icon": "fa-paperclip", "rows": [
                {"link": url_for("ViolationView.evidence", pk=item.pk, line=n) if line.file else None,
                 "cells": [line.file.filename if line.file else gettext("(no file)"), line.description or ""]}
                for n, line in enumerate(item.evidence or [])]}],
        }

    @expose("/decide/<pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        return self.run_action(pk, "decide", lambda item, actor: conduct.decide(item, actor),
                               gettext("Decided: the person has been told."))

    @expose("/acknowledge/<pk>", methods=["POST"])
    @has_access
    def acknowledge(self, pk):
        return self.run_action(pk, "acknowledge", lambda item, actor: conduct.acknowledge(item.pk, actor))

    @expose("/report/<pk>", methods=["POST"])
    @has_access
    def report(self, pk):
        return self.run_action(pk, "report", lambda item, actor: conduct.report_correction(
            item.pk, actor, request.form.get("text", "", type=str)), gettext("Reported: HR will confirm it."))

    @expose("/confirm/<pk>", methods=["POST"])
    @has_access
    def confirm(self, pk):
        return self.run_action(pk, "confirm", lambda item, actor: conduct.confirm_correction(
            item.pk, actor, request.form.get("note", "", type=str)))

    @expose("/evidence/<pk>/<int:line>")
    @has_access
    def evidence(self, pk, line):
        item = self.get_item(pk)
        if item is None or not 0 <= line < len(item.evidence or []) or item.evidence[line].file is None:
            abort(404)
        return uploads.attachment_response(item.evidence[line].file)

    @expose("/mine/")
    @has_access
    def mine(self):
        """The signed-in person's own disciplinary records."""
        return self.render_template(
            "portal/conduct/my_violations.html", title=gettext("My disciplinary records"),
            rows=conduct.my_violations(scope.current_employee_id()), today=settings.local_today(),
            label=choice_label, categories=VIOLATION_CATEGORIES, measures=MEASURES, statuses=VIOLATION_STATUSES)


class GiftDeclarationView(HeadScopedView):
    """Gifts and favours offered by customers or partners and how they were handled (FSS 4(4)1): everyone declares
    their own, heads see their units', HR and Auditor all."""

    route_base = "/gift-declarations"
    datamodel = PortalMongoInterface(GiftDeclaration)
    class_permission_name = "GiftDeclaration"
    export_audited = True  # personal data (FSS 4(4))
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("FSS 4(4)1", "FSS 4(4)2")
    list_title = show_title = _l("Gift declarations")
    add_title = _l("Declare a gift")
    edit_title = _l("Edit gift declaration")
    list_columns = ["offered_on", "employee", "giver", "item", "value", "handling"]
    search_columns = ["employee", "giver", "item", "offered_on", "handling", "owner_unit"]
    order_columns = ["offered_on", "value", "handling"]
    base_order = ("offered_on", "desc")
    add_columns = edit_columns = ["employee", "giver", "item", "value", "offered_on", "handling", "handed_to", "note"]
    description_columns = {"employee": _l("Yourself; HR may declare for someone else."),
                           "handling": _l("Gifts from customers are not kept (FSS 4(4)1): refuse, return or hand "
                                          "them in.")}
    show_fieldsets = [
        (_l("Gift"), {"fields": ["employee", "owner_unit", "giver", "item", "value", "offered_on"]}),
        (_l("Handling"), {"fields": ["handling", "handed_to", "note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.employee.data = my_employee()
        form.offered_on.data = settings.local_today()

    def may_change(self, item) -> bool:
        """HR and Admin, or the person who declared it (a head only reads their staff's declarations)."""
        if scope.role_names() & self.scope_all_roles:
            return True
        stored = GiftDeclaration._get_collection().find_one({"_id": item.pk}, {"employee": 1}) if item.pk else None
        return stored is None or stored.get("employee") == scope.current_employee_id()

    def place(self, item) -> None:
        if not scope.role_names() & self.scope_all_roles:
            me = my_employee()
            if me is None:
                raise scope.ScopeDenied(gettext("Your login is not linked to an employee record."))
            item.employee = me  # everyone declares their own
        item.owner_unit = item.employee.owner_unit if item.employee is not None else None

    def pre_update(self, item):
        self.check_actor(item)
        super().pre_update(item)

    def pre_delete(self, item):
        self.check_actor(item)
