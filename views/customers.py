"""Customer and service screens (DOMAIN 3.2): the customer file with its timeline, inquiries, complaints,
visits, negotiation minutes, return visits and satisfaction surveys."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from mongoengine import Q

from models.common import utcnow
from models.customers import (
    LOG_ACTIONS,
    SATISFACTION,
    Complaint,
    Customer,
    CustomerVisit,
    Inquiry,
    Negotiation,
    ReturnVisit,
    SatisfactionSurvey,
    Score,
    SurveyResponse,
)
from models.org import Employee
from portal import customers, scope, settings
from portal.approvals import Refused
from portal.compat import LOOKUPS, PortalMongoInterface, register_lookup
from portal.modelview import STAMPS, ScopedModelView

DIRECTORY_ROLES = scope.UNIT_ROLES | {"Admin", "Auditor", "Finance", "Legal"}


def _customer_directory():
    """Which customers a user may pick in a form: the units' clerks and heads (a complaint may concern any
    customer) and the roles that see every file pick from all of them, by name and number only; anyone else
    from the customers they own."""
    if scope.role_names() & DIRECTORY_ROLES:
        return None
    me = scope.current_employee_id()
    return Q(owner=me) | Q(key_owner=me)


register_lookup("customer", Customer, "code", "name", restrict=_customer_directory)


def _me():
    employee_id = scope.current_employee_id()
    return Employee.objects(pk=employee_id).first() if employee_id else None


def _from_args(kind: str, name: str):
    """The record a link names (`?customer=<id>`), if the user may pick it."""
    return LOOKUPS[kind].get(request.args.get(name, "", type=str))


def _overdue_badge(value) -> str:
    return Markup(f'<span class="label label-danger">{escape(gettext("Overdue"))}</span>') if value else ""


class CustomerRecordView(ScopedModelView):
    """A record about one customer: opened from the customer's page (`?customer=<id>`) it starts with that
    customer, and with the current user in `person_field`."""

    person_field: str | None = None
    export_audited = True  # customer data (DOMAIN 3.2): every export is audited
    scope_all_roles = frozenset({"Admin", "Auditor"})

    def prefill_add(self, form) -> None:
        customer = _from_args("customer", "customer")
        if customer is not None and hasattr(form, "customer"):
            form.customer.data = customer
        if self.person_field and getattr(form, self.person_field).data is None:
            getattr(form, self.person_field).data = _me()
        if hasattr(form, "received_at"):
            form.received_at.data = utcnow()

    def pre_add(self, item):
        if self.person_field and getattr(item, self.person_field) is None:
            setattr(item, self.person_field, _me())  # recorded by whoever enters it, unless they name someone
        super().pre_add(item)


# ---- the customer file --------------------------------------------------------------------------------
class CustomerView(ScopedModelView):
    """Customer files, kept by the owner's unit; contacts are confidential (DSC 7(1)2); the page shows every
    contact with the customer, newest first (DSC 7(1)1)."""

    route_base = "/customers"
    datamodel = PortalMongoInterface(Customer)
    class_permission_name = "Customer"
    export_audited = True  # customer files and contacts (DSC 7(1)2)
    export_columns = ["code", "name", "kind", "customer_class", "status", "region", "owner", "key_account",
                      "last_verified_on", "contacts"]  # contacts masked as on the page (prepare_rows)
    scope_owner_field = "owner"
    scope_extra_owner_fields = ("key_owner",)
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance", "Legal"})
    unit_from = "owner"
    regulation_clauses = ("DSC 3(1)1", "DSC 3(1)2", "DSC 7(1)1", "DSC 7(1)2", "BRD 3(4)1", "BRD 3(4)3",
                          "BRD 5(2)1", "BRD 5(2)2", "BRD 5(2)3", "SOC 7.1", "FSS 3(1)1", "FSS 3(1)2",
                          "MIC 營銷管理/客戶開發與維護/1", "MIC 營銷管理/客戶開發與維護/3")
    show_template = "portal/customers/customer_show.html"
    list_title = show_title = _l("Customers")
    add_title = _l("New customer")
    edit_title = _l("Edit customer")
    list_columns = ["code", "name", "kind", "customer_class", "status", "region", "owner", "key_account",
                    "last_verified_on"]
    search_columns = ["code", "name", "kind", "industry", "region", "source", "customer_class", "status", "owner",
                      "key_account", "last_verified_on"]
    order_columns = ["code", "name", "customer_class", "status", "region", "last_verified_on"]
    base_order = ("code", "desc")
    add_columns = edit_columns = ["name", "kind", "industry", "region", "source", "contacts", "needs",
                                  "preferences", "customer_class", "status", "owner", "key_account", "key_owner"]
    description_columns = {
        "owner": _l("The salesperson who looks after the customer; the file belongs to their unit."),
        "key_owner": _l("Key accounts are served by one dedicated person (BRD 3(4)3)."),
        "contacts": _l("Phone and e-mail are shown in full only to the owner, the dedicated owner and their "
                       "department heads; a masked value you leave as it is keeps the number on file."),
    }
    show_fieldsets = [
        (_l("Customer"), {"fields": ["code", "name", "kind", "industry", "region", "source", "status",
                                     "customer_class"]}),
        (_l("Contacts"), {"fields": ["contacts"]}),
        (_l("Needs"), {"fields": ["needs", "preferences"]}),
        (_l("Responsibility"), {"fields": ["owner", "owner_unit", "key_account", "key_owner", "last_verified_on"]}),
        (_l("Credit"), {"fields": ["credit_rating", "credit_limit"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]
    label_columns = {"owner_unit": _l("Unit")}

    def prepare_rows(self, rows):
        has_access = self.appbuilder.sm.has_access
        for row in rows:
            if row.contacts and not customers.may_see_contacts(row, has_access):
                customers.mask_contacts(row)

    def prefill_add(self, form) -> None:
        form.owner.data = _me()

    def pre_add(self, item):
        super().pre_add(item)
        item.last_verified_on = item.last_verified_on or settings.local_today()

    def pre_update(self, item):
        if getattr(item, "_contacts_masked", False):
            customers.restore_contacts(item)
        super().pre_update(item)

    def show_context(self, item) -> dict:
        sm = self.appbuilder.sm
        return {"customer": item, "contacts_masked": getattr(item, "_contacts_masked", False),
                "timeline": self._linked(customers.timeline(item.pk)),
                "can_verify": sm.has_access("can_verify", self.class_permission_name),
                "adders": [(endpoint, label, icon) for endpoint, label, icon, permission in ADDERS
                           if sm.has_access("can_add", permission)],
                "verify_days": settings.get("customer_verify_days"), "today": settings.local_today()}

    def _linked(self, entries: list[dict]) -> list[dict]:
        """Each entry links to its record when the user may open it there; else only its kind, date and state
        are shown."""
        views = {type(v).__name__: v for v in self.appbuilder.baseviews}
        by_document = {getattr(v.datamodel, "obj", None): v for v in views.values()
                       if isinstance(v, ScopedModelView)}
        sm = self.appbuilder.sm
        for entry in entries:
            view = by_document.get(entry["source"].document)
            opens = view is not None and sm.has_access("can_show", view.class_permission_name) and view.sees(
                entry["raw"])
            entry["link"] = url_for(f"{type(view).__name__}.show", pk=entry["raw"]["_id"]) if opens else None
            if not opens:
                entry["title"] = gettext("(kept by another department)")
        return entries

    @expose("/verify/<pk>", methods=["POST"])
    @has_access
    def verify(self, pk):
        """The owner has re-checked the file today (BRD 5(2)3)."""
        item = self.get_item(pk)
        if item is None:
            abort(404)
        customers.mark_verified(item.pk, scope.actor(), settings.local_today())
        flash(gettext("Marked as verified today."), "success")
        return redirect(url_for("CustomerView.show", pk=pk))


# ---- service: inquiries and complaints ------------------------------------------------------------------
class InquiryView(CustomerRecordView):
    """Inquiries by phone, walk-in or online, each logged with its answer (DSC 3(2))."""

    route_base = "/inquiries"
    datamodel = PortalMongoInterface(Inquiry)
    class_permission_name = "Inquiry"
    scope_owner_field = "handled_by"
    person_field = "handled_by"
    unit_from = "handled_by"
    regulation_clauses = ("DSC 3(2)1", "DSC 3(2)2", "DSC 3(2)3", "BRD 5(1)1", "BRD 5(1)2", "DSC 2(2)4")
    list_title = show_title = _l("Inquiries")
    add_title = _l("Record an inquiry")
    edit_title = _l("Edit inquiry")
    list_columns = ["received_at", "customer", "visitor_name", "channel", "topic", "handled_by", "answered"]
    search_columns = ["customer", "visitor_name", "channel", "topic", "handled_by", "received_at", "content"]
    order_columns = ["received_at", "channel", "topic"]
    base_order = ("received_at", "desc")
    add_columns = edit_columns = ["customer", "visitor_name", "channel", "topic", "content", "answer", "handled_by",
                                  "received_at"]
    label_columns = {"answered": _l("Answered")}
    formatters_columns = {"answered": lambda v: gettext("Yes") if v else gettext("No")}
    show_fieldsets = [
        (_l("Inquiry"), {"fields": ["customer", "visitor_name", "channel", "topic", "content", "received_at"]}),
        (_l("Answer"), {"fields": ["answer", "handled_by", "answered_at"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class ComplaintView(CustomerRecordView):
    """Complaints: logged, passed to the responsible department, answered within the time their severity allows,
    closed after the customer's satisfaction is known (BRD 5(1), DSC 3(5)2, SOC 7.3, MIC 客戶投訴處理)."""

    route_base = "/complaints"
    datamodel = PortalMongoInterface(Complaint)
    class_permission_name = "Complaint"
    scope_owner_field = "handler"
    scope_extra_unit_fields = ("responsible_unit",)
    regulation_clauses = ("BRD 5(1)1", "BRD 5(1)2", "BRD 5(1)3", "DSC 3(5)2", "SOC 7.3",
                          "MIC 售后服務管理/客戶投訴處理/1", "MIC 售后服務管理/客戶投訴處理/2",
                          "MIC 售后服務管理/客戶投訴處理/3")
    show_template = "portal/customers/complaint_show.html"
    list_title = show_title = _l("Complaints")
    add_title = _l("Record a complaint")
    edit_title = _l("Edit complaint")
    list_columns = ["number", "received_at", "customer", "severity", "responsible_unit", "status", "due_at",
                    "overdue"]
    search_columns = ["number", "customer", "complainant", "category", "severity", "responsible_unit", "handler",
                      "status", "received_at", "due_at"]
    order_columns = ["number", "received_at", "severity", "status", "due_at"]
    base_order = ("received_at", "desc")
    add_columns = edit_columns = ["customer", "complainant", "channel", "received_at", "content", "category",
                                  "severity", "responsible_unit", "handler", "root_cause", "improvement"]
    label_columns = {"overdue": _l("Overdue")}
    formatters_columns = {"overdue": _overdue_badge}
    description_columns = {"severity": _l("Sets the time to respond (Approvals → Settings)."),
                           "root_cause": _l("Why it happened, so that it does not happen again."),
                           "handler": _l("Told at once, with the head of the responsible department.")}
    show_fieldsets = [
        (_l("Complaint"), {"fields": ["number", "customer", "complainant", "channel", "received_at", "content",
                                      "category", "severity"]}),
        (_l("Handling"), {"fields": ["status", "responsible_unit", "handler", "due_at", "log"]}),
        (_l("Outcome"), {"fields": ["result", "answered_at", "handling_hours", "on_time", "satisfaction",
                                    "closed_at"]}),
        (_l("Analysis"), {"fields": ["root_cause", "improvement"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_add(self, item):
        super().pre_add(item)
        customers.apply_deadline(item, scope.actor())

    def pre_update(self, item):
        customers.check_editable(item, scope.role_names())
        super().pre_update(item)
        customers.apply_deadline(item, scope.actor())

    def post_add(self, item):
        customers.complaint_received(item, scope.actor())

    def show_context(self, item) -> dict:
        return {"complaint": item, "satisfaction_choices": SATISFACTION, "log_actions": dict(LOG_ACTIONS),
                "can_handle": self.appbuilder.sm.has_access("can_handle", self.class_permission_name),
                "handle_error": request.environ.get("portal.handle_error")}

    @expose("/handle/<pk>", methods=["POST"])
    @has_access
    def handle(self, pk):
        """A handling step, the answer, closing or reopening, from the complaint's page."""
        item = self.get_item(pk)
        if item is None:
            abort(404)
        action = request.form.get("action", "", type=str)
        text = request.form.get("text", "", type=str)
        actor = scope.actor()
        try:
            if action == "log":
                customers.log_step(item.pk, actor, text)
            elif action == "answer":
                customers.answer(item.pk, actor, text)
            elif action == "close":
                customers.close(item.pk, actor, request.form.get("satisfaction", "", type=str), text)
            elif action == "reopen":
                customers.reopen(item.pk, actor, text)
            else:
                abort(400)
        except Refused as exc:
            request.environ["portal.handle_error"] = {"action": action, "message": str(exc.message), "text": text}
            return self.show(pk), 422
        flash(gettext("Saved."), "success")
        return redirect(url_for("ComplaintView.show", pk=pk))


# ---- sales: visits and negotiations (FSS 3(2-3)) -------------------------------------------------------------
class CustomerVisitView(CustomerRecordView):
    """Visits planned from the customer file (purpose, time, place, materials) and written up afterwards."""

    route_base = "/customer-visits"
    datamodel = PortalMongoInterface(CustomerVisit)
    class_permission_name = "CustomerVisit"
    scope_owner_field = "owner"
    person_field = "owner"
    unit_from = "owner"
    regulation_clauses = ("FSS 3(2)1", "FSS 3(2)2", "FSS 3(2)4", "BRD 3(4)2", "DSC 3(1)3")
    show_template = "portal/customers/visit_show.html"
    list_title = show_title = _l("Customer visits")
    add_title = _l("Plan a visit")
    edit_title = _l("Edit visit")
    list_columns = ["planned_at", "customer", "owner", "purpose", "status", "intention"]
    search_columns = ["customer", "owner", "status", "intention", "planned_at", "purpose"]
    order_columns = ["planned_at", "status", "intention"]
    base_order = ("planned_at", "desc")
    add_columns = edit_columns = ["customer", "owner", "companions", "purpose", "planned_at", "place", "materials",
                                  "status", "outcome", "intention", "next_step"]
    description_columns = {"planned_at": _l("Format 2026-05-20 14:30, in the company's time zone."),
                           "outcome": _l("After the visit: what was discussed and learned (FSS 3(2)4)."),
                           "status": _l("A visit marked done needs its outcome and the assessed intention.")}
    show_fieldsets = [
        (_l("Plan"), {"fields": ["customer", "owner", "companions", "purpose", "planned_at", "place", "materials"]}),
        (_l("After the visit"), {"fields": ["status", "outcome", "intention", "next_step"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        return {"visit": item,
                "can_minutes": self.appbuilder.sm.has_access("can_add", "Negotiation"),
                "minutes": list(Negotiation.objects(visit=item.pk).only("held_on", "proposal").limit(20))}


register_lookup("visit", CustomerVisit, None, "purpose", restrict=lambda: CustomerVisitView.scope_for_user())


class NegotiationView(CustomerRecordView):
    """Negotiation minutes: proposal, price and delivery, agreed points and next actions (FSS 3(3))."""

    route_base = "/negotiations"
    datamodel = PortalMongoInterface(Negotiation)
    class_permission_name = "Negotiation"
    scope_owner_field = "owner"
    person_field = "owner"
    unit_from = "owner"
    regulation_clauses = ("FSS 3(3)1", "FSS 3(3)2", "FSS 3(3)4", "DSC 3(3)1")
    list_title = show_title = _l("Negotiation minutes")
    add_title = _l("Record negotiation minutes")
    edit_title = _l("Edit negotiation minutes")
    list_columns = ["held_on", "customer", "owner", "proposal", "price"]
    search_columns = ["customer", "owner", "held_on", "proposal", "consensus"]
    order_columns = ["held_on", "price"]
    base_order = ("held_on", "desc")
    add_columns = edit_columns = ["customer", "visit", "owner", "held_on", "participants", "proposal", "price",
                                  "delivery_time", "consensus", "next_actions"]
    show_fieldsets = [
        (_l("Negotiation"), {"fields": ["customer", "visit", "owner", "held_on", "participants"]}),
        (_l("Proposal"), {"fields": ["proposal", "price", "delivery_time"]}),
        (_l("Minutes"), {"fields": ["consensus", "next_actions"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        visit = _from_args("visit", "visit")
        if visit is not None:
            form.visit.data = visit
            form.customer.data = visit.customer
            form.held_on.data = settings.to_local(visit.planned_at).date() if visit.planned_at else None
        form.held_on.data = form.held_on.data or settings.local_today()


class ReturnVisitView(CustomerRecordView):
    """Return visits by phone, e-mail or on site; issues found go to the department concerned and are followed
    to closure (BRD 5(3)); the completion rate feeds the customer-service KPI."""

    route_base = "/return-visits"
    datamodel = PortalMongoInterface(ReturnVisit)
    class_permission_name = "ReturnVisit"
    scope_owner_field = "owner"
    scope_extra_unit_fields = ("forwarded_to",)
    person_field = "owner"
    unit_from = "owner"
    regulation_clauses = ("BRD 5(3)1", "BRD 5(3)2", "BRD 5(3)3", "DSC 3(5)1", "DSC 3(5)3",
                          "MIC 營銷管理/客戶開發與維護/2")
    list_template = "portal/customers/return_visit_list.html"
    list_title = show_title = _l("Return visits")
    add_title = _l("Plan a return visit")
    edit_title = _l("Edit return visit")
    list_columns = ["planned_on", "customer", "owner", "method", "status", "forwarded_to", "follow_up_state"]
    search_columns = ["customer", "owner", "method", "status", "planned_on", "forwarded_to", "follow_up_state"]
    order_columns = ["planned_on", "status", "method"]
    base_order = ("planned_on", "desc")
    add_columns = edit_columns = ["customer", "owner", "planned_on", "method", "status", "done_on", "findings",
                                  "forwarded_to", "follow_up", "follow_up_state"]
    description_columns = {"done_on": _l("Leave blank for today."),
                           "forwarded_to": _l("The department that must act on what the customer said.")}
    show_fieldsets = [
        (_l("Plan"), {"fields": ["customer", "owner", "planned_on", "method", "status", "done_on"]}),
        (_l("Findings"), {"fields": ["findings", "forwarded_to", "follow_up", "follow_up_state"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def list_context(self) -> dict:
        today = settings.local_today()
        units = None if scope.role_names() & self.scope_all_roles else scope.visible_units()
        return {"rate": customers.return_visit_rate(units, today.replace(day=1), today), "month": today}


# ---- satisfaction surveys (BRD 5(4), SOC 7.2) ------------------------------------------------------------------
class SatisfactionSurveyView(ScopedModelView):
    """Surveys with their questions, the analysis of the answers, and the improvement measures followed up."""

    route_base = "/surveys"
    datamodel = PortalMongoInterface(SatisfactionSurvey)
    class_permission_name = "SatisfactionSurvey"
    regulation_clauses = ("BRD 5(4)1", "BRD 5(4)2", "BRD 5(4)3", "SOC 7.2")
    show_template = "portal/customers/survey_show.html"
    list_title = show_title = _l("Satisfaction surveys")
    add_title = _l("New satisfaction survey")
    edit_title = _l("Edit satisfaction survey")
    list_columns = ["title", "period_start", "period_end", "method", "owner_unit"]
    search_columns = ["title", "method", "period_start", "owner_unit"]
    order_columns = ["title", "period_start", "period_end"]
    base_order = ("period_start", "desc")
    add_columns = edit_columns = ["title", "period_start", "period_end", "method", "owner_unit", "questions",
                                  "measures"]
    label_columns = {"owner_unit": _l("Unit")}
    description_columns = {"questions": _l("One question per line; customers score each from 1 to 5."),
                           "measures": _l("What the results call for, who acts, by when, and the effect.")}
    show_fieldsets = [
        (_l("Survey"), {"fields": ["title", "period_start", "period_end", "method", "owner_unit", "questions"]}),
        (_l("Improvement measures"), {"fields": ["measures"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        return {"survey": item, "analysis": customers.survey_analysis(item),
                "can_respond": self.appbuilder.sm.has_access("can_add", "SurveyResponse")}


register_lookup("survey", SatisfactionSurvey, None, "title", restrict=lambda: SatisfactionSurveyView.scope_for_user())


class SurveyResponseView(CustomerRecordView):
    """One customer's scores (1-5) per question of a survey, and their comments."""

    route_base = "/survey-responses"
    datamodel = PortalMongoInterface(SurveyResponse)
    class_permission_name = "SurveyResponse"
    unit_from = "survey"
    regulation_clauses = ("BRD 5(4)1", "SOC 7.2")
    list_title = show_title = _l("Survey responses")
    add_title = _l("Record a survey response")
    edit_title = _l("Edit survey response")
    list_columns = ["survey", "customer", "answered_on"]
    search_columns = ["survey", "customer", "answered_on"]
    order_columns = ["answered_on"]
    base_order = ("answered_on", "desc")
    add_columns = edit_columns = ["survey", "customer", "answered_on", "scores", "comments"]
    description_columns = {"scores": _l("Open the form from the survey's page to get one line per question.")}
    show_fieldsets = [
        (_l("Response"), {"fields": ["survey", "customer", "answered_on", "scores", "comments"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        form.answered_on.data = settings.local_today()
        survey = _from_args("survey", "survey")
        if survey is not None:
            form.survey.data = survey
            form.scores.entries = []
            for question in survey.questions or []:
                form.scores.append_entry(Score(question=question))


# (add endpoint, label, icon, permission) offered on a customer's page
ADDERS = [  # later areas add theirs (contracts, orders, after-sales tickets)
    ("InquiryView.add", _l("Inquiry"), "fa-question-circle", "Inquiry"),
    ("ComplaintView.add", _l("Complaint"), "fa-exclamation-triangle", "Complaint"),
    ("CustomerVisitView.add", _l("Visit"), "fa-handshake-o", "CustomerVisit"),
    ("NegotiationView.add", _l("Negotiation minutes"), "fa-comments", "Negotiation"),
    ("ReturnVisitView.add", _l("Return visit"), "fa-phone", "ReturnVisit"),
]
