"""HR screens (DOMAIN 3.7): recruitment plans, candidates and the hire, onboarding checklists, compensation profiles,
awards, career plans and employees' feedback, with the self-service pages "My awards", "My career plan" and
"My feedback"."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from mongoengine import ValidationError
from wtforms import validators as wtv

from models.common import choice_label, field_error, from_fen, utcnow
from models.hr import (
    AWARD_TITLES,
    FEEDBACK_STATUSES,
    FEEDBACK_TOPICS,
    Award,
    Candidate,
    CareerPlan,
    CompensationProfile,
    EmployeeFeedback,
    Onboarding,
    RecruitmentPlan,
)
from models.org import Employee, Position
from portal import hr, scope, settings, uploads
from portal.compat import AttachmentField, PortalMongoInterface, format_money, register_lookup
from portal.modelview import STAMPS, PortalModelView, ScopedModelView, input_field
from views.approvals import APPROVAL, ApprovableView
from views.org import my_employee

_MONEY = {c: format_money for c in ("budget", "base_salary", "performance_pay_base", "bonus", "bonus_shown")}


class ResumeWidget:
    """A file input for a resume (PDF, Word or a scan) that keeps the file already stored."""

    def __call__(self, field, **kwargs):
        keep = field.sign(field.attachment.pk) if field.attachment is not None else ""
        current = (f'<div class="small text-muted"><i class="fa fa-paperclip"></i> {escape(field.attachment.filename)}'
                   "</div>") if field.attachment is not None else ""
        accept = ",".join(f".{ext}" for ext in sorted(field.ALLOWED))
        return Markup(f'<input type="hidden" name="{field.name}" value="{escape(keep)}">'
                      f'<input type="file" class="form-control input-sm" id="{field.id}" name="{field.name}" '
                      f'accept="{accept}">{current}')


class ResumeField(AttachmentField):
    """A resume: PDF, DOC or DOCX, or a JPG or PNG scan; stored encrypted like every attachment."""

    widget = ResumeWidget()
    ALLOWED = frozenset({"pdf", "doc", "docx", "jpg", "jpeg", "png"})


def _plan_choices():
    """Approved recruitment plans the user may open, newest first."""
    where = RecruitmentPlanView.scope_for_user()
    query = RecruitmentPlan.objects(status="approved")
    return list((query.filter(where) if where is not None else query).order_by("-start").limit(200))


def _plan_field():
    return QuerySelectField(_l("Recruitment plan"), query_func=_plan_choices, get_pk_func=lambda p: p.pk,
                            allow_blank=True, blank_text=_l("(none)"), validators=[wtv.Optional()],
                            widget=Select2Widget())


def _file_row(endpoint: str, pk, attachment) -> dict:
    return {"link": url_for(endpoint, pk=pk), "cells": [attachment.filename]}


# ---- recruitment plans (DSC 4(1)1, SOC 4.1) ----------------------------------------------------------------------
class RecruitmentPlanView(ApprovableView):
    """A unit's hiring plan: openings with headcount and requirements, channels, timeline and budget; approved by
    the head of the unit (DSC 4(1)1, SOC 4.1). Its page shows the candidates hired against each opening."""

    route_base = "/recruitment-plans"
    datamodel = PortalMongoInterface(RecruitmentPlan)
    line_references = (("lines", "position", Position),)
    class_permission_name = "RecruitmentPlan"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("DSC 4(1)1", "DSC 4(1)2", "SOC 4.1")
    show_template = "portal/hr/plan_show.html"
    list_title = show_title = _l("Recruitment plans")
    add_title = _l("New recruitment plan")
    edit_title = _l("Edit recruitment plan")
    list_columns = ["number", "title", "owner_unit", "start", "end", "budget", "status"]
    search_columns = ["number", "title", "owner_unit", "status", "start", "end"]
    order_columns = ["number", "title", "start", "end", "budget", "status"]
    base_order = ("start", "desc")
    add_columns = edit_columns = ["title", "owner_unit", "lines", "channels", "start", "end", "budget", "note"]
    label_columns = {"owner_unit": _l("Hiring unit")}
    formatters_columns = _MONEY
    description_columns = {
        "owner_unit": _l("The head of this unit approves the plan."),
        "lines": _l("One line per post: a position of the organization, or the title of a new post; how many people "
                    "and what they need to bring."),
        "channels": _l("Where the openings are advertised (DSC 4(1)2)."),
    }
    show_fieldsets = [
        (_l("Plan"), {"fields": ["number", "title", "owner_unit", "channels", "start", "end", "budget", "note"]}),
        (_l("Openings"), {"fields": ["lines"]}),
        (_l("Approval"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        context["progress"] = hr.plan_progress(item)
        context["links"] = [self.link("CandidateView.add", "Candidate", _l("New candidate for this plan"),
                                      "fa-user-plus", when=item.status == "approved", plan=item.pk)]
        return context


# a candidate list's search names a plan by its number or title, among the plans the user may open
register_lookup("recruitment_plan", RecruitmentPlan, "number", "title",
                restrict=lambda: RecruitmentPlanView.scope_for_user())


# ---- candidates and the hire (DSC 4(1)2, SOC 4.1) ----------------------------------------------------------------
class CandidateView(ScopedModelView):
    """Applicants and their way through screening, written test, interviews and background check to the decision
    (SOC 4.1, DSC 4(1)2). The unit's clerks and head see their unit's candidates, HR all; HR hires."""

    route_base = "/candidates"
    datamodel = PortalMongoInterface(Candidate)
    line_references = (("interviews", "interviewer", Employee),)
    class_permission_name = "Candidate"
    export_audited = True  # applicants' personal data (DOMAIN 3.7)
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    unit_from = "plan"
    regulation_clauses = ("SOC 4.1", "DSC 4(1)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Candidates")
    add_title = _l("New candidate")
    edit_title = _l("Edit candidate")
    list_columns = ["number", "name", "position", "position_title", "owner_unit", "channel", "screening",
                    "test_score", "decision"]
    search_columns = ["number", "name", "plan", "owner_unit", "channel", "screening", "background_check", "decision"]
    order_columns = ["number", "name", "test_score", "decision", "created_at"]
    base_order = ("created_at", "desc")
    add_columns = edit_columns = ["name", "phone", "email", "plan", "owner_unit", "position", "position_title",
                                  "channel", "resume", "screening", "screening_note", "test_score", "interviews",
                                  "background_check", "background_note"]
    add_form_extra_fields = edit_form_extra_fields = {"plan": _plan_field(), "resume": ResumeField(_l("Resume"))}
    label_columns = {"owner_unit": _l("Hiring unit")}
    description_columns = {
        "plan": _l("An approved plan of your units; the candidate then belongs to its unit."),
        "owner_unit": _l("Without a plan: the unit that hires."),
        "resume": _l("PDF, Word (DOC, DOCX) or a JPG or PNG scan."),
        "interviews": _l("One line per interview: date, interviewer, round, score and notes."),
    }
    show_fieldsets = [
        (_l("Candidate"), {"fields": ["number", "name", "phone", "email", "plan", "owner_unit", "position",
                                      "position_title", "channel", "resume"]}),
        (_l("Selection"), {"fields": ["screening", "screening_note", "test_score", "interviews", "background_check",
                                      "background_note"]}),
        (_l("Hiring decision"), {"fields": ["decision", "decision_reason", "decided_by", "decided_at", "employee"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        """Opened from a plan's page: the plan comes filled in."""
        wanted = request.args.get("plan", "", type=str)
        if wanted:
            form.plan.data = next((p for p in _plan_choices() if str(p.pk) == wanted), None)

    def pre_update(self, item):
        if item.decision in ("hiring", "hired"):
            raise ValidationError(gettext("A hired candidate's record is kept as it was."))
        super().pre_update(item)

    def pre_delete(self, item):
        if item.decision in ("hiring", "hired"):
            raise ValidationError(gettext("A hired candidate's record is kept as it was."))

    def show_context(self, item) -> dict:
        today = settings.local_today()
        pending, offered = item.decision == "pending", item.decision == "offer"
        banners = []
        if pending and item.screening != "pass":
            banners.append({"style": "info", "text": gettext("An offer needs a passed CV screening.")})
        if pending and not item.interviews_held(today):
            banners.append({"style": "info", "text": gettext("An offer needs at least one interview held.")})
        if (pending or offered) and item.background_check != "clear":
            banners.append({"style": "warning" if item.background_check == "concerns" else "info",
                            "text": gettext("Background check: %(state)s.", state=choice_label(
                                type(item).background_check.choices, item.background_check))})
        if item.decision == "hired" and item.employee is not None:
            banners.append({"style": "success", "text": gettext("Hired as %(employee)s.", employee=str(item.employee))})
        reason = [input_field("reason", _l("Reason"), "textarea")]
        context = {"banners": banners, "actions": [
            self.button("offer", _l("Make an offer"), "fa-handshake-o", "primary", when=pending,
                        fields=[input_field("note", _l("Offer terms or note"))]),
            self.button("reject", _l("Reject"), "fa-times", "danger", when=pending or offered, fields=reason),
            self.button("withdraw", _l("Candidate withdrew"), "fa-sign-out", when=pending or offered,
                        fields=[input_field("reason", _l("Why (optional)"))]),
        ], "links": [self.hire_link(item) if hr.hireable(item.decision, item.hiring_since, utcnow()) else None]}
        if item.resume is not None:
            context["related"] = [{"title": gettext("Resume"), "icon": "fa-paperclip",
                                   "rows": [_file_row("CandidateView.resume", item.pk, item.resume)]}]
        return context

    def hire_link(self, item):
        if not self.appbuilder.sm.has_access("can_hire", self.class_permission_name):
            return None
        return {"url": url_for("CandidateView.hire", pk=item.pk), "label": gettext("Hire…"), "icon": "fa-user-plus"}

    @expose("/offer/<pk>", methods=["POST"])
    @has_access
    def offer(self, pk):
        return self.run_action(pk, "offer", lambda item, actor: hr.offer(item, actor, request.form.get(
            "note", "", type=str)), gettext("Offer made."))

    @expose("/reject/<pk>", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self.run_action(pk, "reject", lambda item, actor: hr.reject(item, actor, request.form.get(
            "reason", "", type=str)), gettext("Candidate rejected."))

    @expose("/withdraw/<pk>", methods=["POST"])
    @has_access
    def withdraw(self, pk):
        return self.run_action(pk, "withdraw", lambda item, actor: hr.withdraw(item, actor, request.form.get(
            "reason", "", type=str)), gettext("Recorded: the candidate withdrew."))

    @expose("/resume/<pk>")
    @has_access
    def resume(self, pk):
        item = self.get_item(pk)
        if item is None or item.resume is None:
            abort(404)
        return uploads.attachment_response(item.resume)

    @expose("/hire/<pk>", methods=["GET", "POST"])
    @has_access
    def hire(self, pk):
        """HR's hire form: employee no., unit, position, manager, first day, staff kind and login; the result page
        shows the initial password once."""
        item = self.get_item(pk)
        if item is None:
            abort(404)
        if request.method == "GET" and not hr.hireable(item.decision, item.hiring_since, utcnow()):
            flash(gettext("Only a candidate with an offer can be hired."), "warning")
            return redirect(url_for("CandidateView.show", pk=pk))
        values, errors = hr.hire_defaults(item, settings.local_today()), {}
        if request.method == "POST":
            values = {k: request.form.get(k, "", type=str)[:200] for k in values}
            try:
                hired = hr.hire(item.pk, scope.actor(), values, self.appbuilder.sm)
            except hr.HireRefused as exc:
                errors[exc.field] = str(exc.message)
            except hr.Refused as exc:
                errors["__all__"] = str(exc.message)
            else:
                response = make_response(self.render_template(
                    "portal/hr/hired.html", title=gettext("Hired"), candidate=item, hired=hired))
                response.headers["Cache-Control"] = "no-store"  # the password is shown once, never cached
                return response
        page = self.render_template("portal/hr/hire.html", title=gettext("Hire %(name)s", name=item.name),
                                    candidate=item, values=values, errors=errors, choices=hr.hire_choices())
        return (page, 422) if errors else page


# ---- onboarding (SOC 4.1, DSC 4(1)3) -------------------------------------------------------------------------------
class OnboardingView(ScopedModelView):
    """New hires' checklists: labour contract, staff handbook, onboarding training and the confidentiality agreement
    (read from the agreements HR keeps); complete when every item is done (SOC 4.1, DSC 4(1)3)."""

    route_base = "/onboarding"
    datamodel = PortalMongoInterface(Onboarding)
    list_summary_queries = 1  # the employees' confidentiality agreements, one query for the page
    class_permission_name = "Onboarding"
    export_audited = True  # personal data (DOMAIN 3.7)
    scope_unit_field = None  # HR, Auditor and the new hire only
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("SOC 4.1", "DSC 4(1)3")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Onboarding")
    add_title = _l("New onboarding checklist")
    edit_title = _l("Edit onboarding checklist")
    list_columns = ["employee", "hire_date", "contract_signed_on", "handbook_issued_on", "training_done_on",
                    "agreement", "status"]
    search_columns = ["employee", "hire_date", "items_done", "contract_signed_on"]
    order_columns = ["hire_date", "contract_signed_on", "handbook_issued_on", "training_done_on"]
    base_order = ("hire_date", "desc")
    add_columns = ["employee", "hire_date", "contract_signed_on", "contract_term_months", "handbook_issued_on",
                   "training_done_on", "training_note", "note"]
    edit_columns = add_columns[1:]
    label_columns = {"agreement": _l("Confidentiality agreement signed on"), "status": _l("Status")}
    formatters_columns = {"agreement": lambda row: f"{row['signed_on']:%Y-%m-%d}" if row else "",
                          "status": lambda key: str(hr.ONBOARDING_STATUSES.get(key, ""))}
    description_columns = {
        "contract_term_months": _l("The contract ends this many months after it was signed."),
        "training_note": _l("Ticked with the session when the person is marked present at an onboarding training "
                            "session; enter it by hand for training held elsewhere (DSC 4(1)3)."),
    }
    show_fieldsets = [
        (_l("New hire"), {"fields": ["employee", "owner_unit", "candidate", "hire_date", "status"]}),
        (_l("Labour contract"), {"fields": ["contract_signed_on", "contract_term_months", "contract_ends_on"]}),
        (_l("Handbook and training"), {"fields": ["handbook_issued_on", "training_done_on", "training_note"]}),
        (_l("Confidentiality agreement"), {"fields": ["agreement"]}),
        (_l("Note"), {"fields": ["note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prepare_rows(self, rows):
        hr.attach_status(rows)

    def prefill_add(self, form) -> None:
        form.hire_date.data = settings.local_today()

    def show_context(self, item) -> dict:
        if item.status == "complete":
            banners = [{"style": "success", "text": gettext("Onboarding complete.")}]
        else:
            banners = [{"style": "warning", "text": gettext("Still missing: %(items)s.", items=gettext(", ").join(
                str(label) for label in hr.missing(item)))}]
        rows = []
        if item.agreement is not None and self.appbuilder.sm.has_access("can_show", "ConfidentialityAgreement"):
            rows = [{"link": url_for("ConfidentialityAgreementView.show", pk=item.agreement["_id"]),
                     "cells": [gettext("Signed on %(date)s", date=f"{item.agreement['signed_on']:%Y-%m-%d}"),
                               gettext("in force until %(date)s", date=f"{item.agreement['expires_on']:%Y-%m-%d}")
                               if item.agreement.get("expires_on") else ""]}]
        links = [self.link("ConfidentialityAgreementView.add", "ConfidentialityAgreement",
                           _l("Record the confidentiality agreement"), "fa-lock", when=item.agreement is None)]
        return {"banners": banners, "links": links,
                "related": [{"title": gettext("Confidentiality agreement"), "icon": "fa-lock", "rows": rows}]}


# ---- compensation (DSC 4(3)) ---------------------------------------------------------------------------------------
class CompensationProfileView(ScopedModelView):
    """Pay per employee: base salary, performance pay base, bonus, social insurance and housing fund (DSC 4(3)).
    HR and Admin keep it, Auditor reads it; nobody else, not even the employee, on any route."""

    route_base = "/compensation"
    datamodel = PortalMongoInterface(CompensationProfile)
    class_permission_name = "CompensationProfile"
    export_audited = True  # pay (DSC 4(3))
    scope_unit_field = None  # no unit and no person sees it:
    scope_owner_field = None  # even a role given by mistake finds nothing
    scope_all_roles = hr.PRIVATE_PAY
    regulation_clauses = ("DSC 4(3)1", "DSC 4(3)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Compensation")
    add_title = _l("New compensation profile")
    edit_title = _l("Edit compensation profile")
    list_columns = ["employee", "owner_unit", "base_salary", "performance_pay_base", "bonus", "social_insurance",
                    "housing_fund", "effective_from"]
    search_columns = ["employee", "owner_unit", "effective_from", "social_insurance", "housing_fund"]
    order_columns = ["base_salary", "performance_pay_base", "bonus", "effective_from"]
    base_order = ("effective_from", "desc")
    add_columns = ["employee", "base_salary", "performance_pay_base", "bonus", "social_insurance", "housing_fund",
                   "effective_from", "note"]
    edit_columns = add_columns[1:]
    formatters_columns = _MONEY
    description_columns = {
        "base_salary": _l("Set by position and grade (DSC 4(3)1)."),
        "social_insurance": _l("Statutory social insurance is paid (DSC 4(3)2)."),
        "housing_fund": _l("The housing provident fund is paid (DSC 4(3)2)."),
    }
    show_fieldsets = [
        (_l("Employee"), {"fields": ["employee", "owner_unit", "effective_from"]}),
        (_l("Pay"), {"fields": ["base_salary", "performance_pay_base", "bonus"]}),
        (_l("Benefits"), {"fields": ["social_insurance", "housing_fund", "note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


# ---- awards (SOC 5.2, DSC 4(4)1) -----------------------------------------------------------------------------------
class AwardView(PortalModelView):
    """Honour titles and their reasons (SOC 5.2, DSC 4(4)1): HR awards them, everyone reads them; the bonus is
    shown only to HR, Auditor and the person honoured."""

    route_base = "/awards"
    datamodel = PortalMongoInterface(Award)
    class_permission_name = "Award"
    export_audited = True  # bonuses (SOC 5.2)
    regulation_clauses = ("SOC 5.2", "DSC 4(4)1")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Awards")
    add_title = _l("New award")
    edit_title = _l("Edit award")
    list_columns = ["awarded_on", "employee", "team", "title", "period", "bonus_shown"]
    search_columns = ["employee", "team", "title", "period", "awarded_on"]  # never the bonus: it would tell it
    order_columns = ["awarded_on", "title", "period"]
    base_order = ("awarded_on", "desc")
    add_columns = edit_columns = ["title", "other_title", "employee", "team", "period_kind", "period", "awarded_on",
                                  "reason", "bonus"]
    label_columns = {"bonus_shown": _l("Bonus (CNY)")}
    formatters_columns = _MONEY
    description_columns = {
        "other_title": _l("For another honour: its name."),
        "team": _l("For an outstanding team: the unit honoured (the employee may stay empty)."),
        "period": _l("2026-05 for a month, 2026-Q2 for a quarter, 2026 for a year."),
    }
    show_fieldsets = [
        (_l("Honour"), {"fields": ["title", "other_title", "employee", "team", "period_kind", "period", "awarded_on",
                                   "reason", "bonus_shown"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    @property
    def show_history(self) -> bool:
        """The history holds the bonus: only those who read amounts see it."""
        return hr.reads_pay()

    def prepare_rows(self, rows):
        hr.show_bonus(rows)

    def prefill_add(self, form) -> None:
        form.awarded_on.data = settings.local_today()
        form.period.data = str(settings.local_today().year)

    @expose("/mine/")
    @has_access
    def mine(self):
        """The signed-in person's honours and their team's."""
        return self.render_template("portal/hr/my_awards.html", title=gettext("My awards"),
                                    rows=hr.my_awards(scope.current_employee_id()), titles=AWARD_TITLES,
                                    label=choice_label, me=scope.current_employee_id(),
                                    money=lambda fen: format_money(from_fen(fen)))


# ---- career plans (BRD 7(5)) ---------------------------------------------------------------------------------------
class CareerPlanView(ScopedModelView):
    """Personal career plans (BRD 7(5)): goals, path, opportunities (promotion, rotation, training), mentor and
    review date. The employee reads theirs and writes their goals; their managers and HR keep the plan."""

    route_base = "/career-plans"
    datamodel = PortalMongoInterface(CareerPlan)
    class_permission_name = "CareerPlan"
    export_audited = True  # personal data (BRD 7(5))
    scope_owner_field = "employee"
    scope_all_roles = hr.CAREER_ALL
    unit_from = "employee"
    extra_owner_actions = frozenset({"goals"})
    regulation_clauses = ("BRD 7(5)1", "BRD 7(5)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Career plans")
    add_title = _l("New career plan")
    edit_title = _l("Edit career plan")
    list_columns = ["employee", "owner_unit", "target_position", "mentor", "review_date"]
    search_columns = ["employee", "owner_unit", "mentor", "review_date"]
    order_columns = ["review_date"]
    base_order = ("review_date", "asc")
    add_columns = ["employee", "goals", "target_position", "target_grade", "path", "opportunities", "mentor",
                   "review_date", "review_note"]
    edit_columns = add_columns[1:]
    description_columns = {
        "goals": _l("What the employee wants to achieve; the employee may rewrite it from the plan's page."),
        "path": _l("The steps towards the target: posts, skills, experience."),
        "opportunities": _l("Promotion, rotation and training offered along the plan (BRD 7(5)2)."),
    }
    show_fieldsets = [
        (_l("Plan"), {"fields": ["employee", "owner_unit", "goals"]}),
        (_l("Path"), {"fields": ["target_position", "target_grade", "path", "opportunities", "mentor"]}),
        (_l("Review"), {"fields": ["review_date", "review_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    @classmethod
    def scope_for_user(cls):
        return hr.career_scope()

    def may_change(self, item) -> bool:
        return hr.keeps_career_plan(item.to_mongo().to_dict())

    def place(self, item) -> None:
        super().place(item)
        if not self.may_change(item):
            raise field_error("employee", gettext("You keep the career plans of the people who report to you."))

    def pre_update(self, item):
        self.check_actor(item)
        super().pre_update(item)

    def pre_delete(self, item):
        self.check_actor(item)

    def show_context(self, item) -> dict:
        mine = item.employee is not None and item.employee.pk == scope.current_employee_id()
        overdue = item.review_date is not None and item.review_date < settings.local_today()
        return {"banners": [{"style": "warning", "text": gettext("The review was due on %(date)s.",
                                                                 date=f"{item.review_date:%Y-%m-%d}")}]
                if overdue else [],
                "actions": [self.button("goals", _l("Update my goals"), "fa-flag", "primary", when=mine,
                                        fields=[input_field("goals", _l("My goals"), "textarea", value=item.goals)])]}

    @expose("/goals/<pk>", methods=["POST"])
    @has_access
    def goals(self, pk):
        return self.run_action(pk, "goals", lambda item, actor: hr.update_goals(item, actor, request.form.get(
            "goals", "", type=str)), gettext("Your goals are saved."))

    @expose("/mine/")
    @has_access
    def mine(self):
        """The signed-in person's own plan, or a page that says there is none yet."""
        me = scope.current_employee_id()
        plan = CareerPlan.objects(employee=me).only("id").first() if me is not None else None
        if plan is not None:
            return redirect(url_for("CareerPlanView.show", pk=plan.pk))
        return self.render_template("portal/hr/my_career.html", title=gettext("My career plan"))


# ---- employees' feedback (DSC 4(4)2) -------------------------------------------------------------------------------
class EmployeeFeedbackView(ScopedModelView):
    """Employees' opinions and practical difficulties, named or anonymous, answered by HR (DSC 4(4)2). An anonymous
    submission keeps no trace of its author; a named one is seen by its author with the reply."""

    route_base = "/employee-feedback"
    datamodel = PortalMongoInterface(EmployeeFeedback)
    class_permission_name = "EmployeeFeedback"
    export_audited = True  # personal data (DSC 4(4)2)
    scope_unit_field = None
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("DSC 4(4)2",)
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Employee feedback")
    add_title = _l("Give feedback")
    edit_title = _l("Edit feedback")
    list_columns = ["number", "created_at", "topic", "anonymous", "employee", "status", "handler"]
    search_columns = ["number", "topic", "status", "anonymous", "handler"]
    order_columns = ["number", "created_at", "topic", "status"]
    base_order = ("created_at", "desc")
    add_columns = ["topic", "content", "anonymous"]
    edit_columns = ["topic"]  # HR may file it under another topic; what was written stays as written
    label_columns = {"created_at": _l("Submitted at")}
    description_columns = {
        "anonymous": _l("Tick to send it without your name: it is not linked to you anywhere, so nobody (you "
                        "included) can see later who sent it, and no reply can reach you."),
    }
    show_fieldsets = [
        (_l("Feedback"), {"fields": ["number", "created_at", "topic", "content", "anonymous", "employee"]}),
        (_l("Handling"), {"fields": ["status", "handler", "reply", "replied_at"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def place(self, item) -> None:
        """Everyone sends their own feedback, or none at all when anonymous."""
        if item.anonymous:
            item.employee = None
            return
        me = my_employee()
        if me is None:
            raise scope.ScopeDenied(gettext("Your login is not linked to an employee record: send it anonymously."))
        item.employee = me

    def pre_update(self, item):
        pass  # only the topic can change; the author stays as stored

    def post_add(self, item):
        hr.feedback_received(item)
        if item.anonymous:
            flash(gettext("Sent anonymously: it is not linked to you, so it will not appear under My feedback."),
                  "info")

    def show_context(self, item) -> dict:
        open_ = item.status != "closed"
        return {"actions": [
            self.button("take", _l("Take in hand"), "fa-hand-paper-o", when=item.status == "open"),
            self.button("reply", _l("Reply"), "fa-reply", "primary", when=open_,
                        fields=[input_field("reply", _l("Reply"), "textarea", value=item.reply or "")]),
            self.button("close", _l("Close"), "fa-check", when=open_),
        ]}

    @expose("/take/<pk>", methods=["POST"])
    @has_access
    def take(self, pk):
        return self.run_action(pk, "take", hr.take_feedback, gettext("Taken in hand."))

    @expose("/reply/<pk>", methods=["POST"])
    @has_access
    def reply(self, pk):
        return self.run_action(pk, "reply", lambda item, actor: hr.reply_feedback(item, actor, request.form.get(
            "reply", "", type=str)), gettext("Reply sent."))

    @expose("/close/<pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        return self.run_action(pk, "close", hr.close_feedback, gettext("Closed."))

    @expose("/mine/")
    @has_access
    def mine(self):
        """The feedback the signed-in person sent under their name, with HR's replies."""
        return self.render_template("portal/hr/my_feedback.html", title=gettext("My feedback"),
                                    rows=hr.my_feedback(scope.current_employee_id()), topics=FEEDBACK_TOPICS,
                                    statuses=FEEDBACK_STATUSES, label=choice_label, to_local=settings.to_local,
                                    can_add=self.appbuilder.sm.has_access("can_add", self.class_permission_name))

