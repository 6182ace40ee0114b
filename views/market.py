"""Market expansion screens (DOMAIN 3.1): research reports, the annual expansion plan, promotion campaigns."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from models.market import MarketExpansionPlan, MarketResearch, PromotionCampaign
from portal import market, scope, settings, uploads
from portal.approvals import Refused
from portal.compat import PortalMongoInterface
from portal.modelview import STAMPS, ScopedModelView
from views.approvals import APPROVAL, ApprovableView


class MarketResearchView(ApprovableView):
    """Research on trends, demand and competitors; the report goes to the department manager (BRD 3(1))."""

    route_base = "/market-research"
    datamodel = PortalMongoInterface(MarketResearch)
    class_permission_name = "MarketResearch"
    scope_owner_field = "author"
    regulation_clauses = ("BRD 3(1)1", "BRD 3(1)2", "BRD 3(1)3", "DSC 2(2)3")
    show_template = "portal/market/research_show.html"
    list_title = show_title = _l("Market research")
    add_title = _l("New research report")
    edit_title = _l("Edit research report")
    list_columns = ["topic", "author", "period_start", "period_end", "methods", "status"]
    search_columns = ["topic", "author", "methods", "period_start", "status", "findings"]
    order_columns = ["topic", "period_start", "period_end", "status"]
    base_order = ("period_end", "desc")
    add_columns = edit_columns = ["topic", "author", "period_start", "period_end", "methods", "findings",
                                  "competitors", "report"]
    description_columns = {"author": _l("Filled in with you unless you keep reports for your unit."),
                           "report": _l("The full report as PDF, JPG or PNG.")}
    show_fieldsets = [
        (_l("Research"), {"fields": ["topic", "author", "period_start", "period_end", "methods"]}),
        (_l("Results"), {"fields": ["findings", "competitors", "report"]}),
        (_l("Review"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    @expose("/report/<pk>")
    @has_access
    def report(self, pk):
        item = self.get_item(pk)
        if item is None or item.report is None:
            abort(404)
        return uploads.attachment_response(item.report)


class MarketExpansionPlanView(ApprovableView):
    """The annual plan: targets, regions, customer groups, approaches, schedule (BRD 3(2)); reviewed by the
    department manager, approved by the branch leadership."""

    route_base = "/expansion-plans"
    datamodel = PortalMongoInterface(MarketExpansionPlan)
    class_permission_name = "MarketExpansionPlan"
    scope_owner_field = "drafted_by"
    regulation_clauses = ("BRD 3(2)1", "BRD 3(2)2", "BRD 3(2)3", "DSC 3(1)3")
    list_title = show_title = _l("Market expansion plans")
    add_title = _l("New market expansion plan")
    edit_title = _l("Edit market expansion plan")
    list_columns = ["number", "year", "title", "owner_unit", "drafted_by", "status"]
    search_columns = ["number", "year", "title", "owner_unit", "status", "regions"]
    order_columns = ["number", "year", "title", "status"]
    base_order = ("year", "desc")
    add_columns = edit_columns = ["year", "title", "drafted_by", "targets", "regions", "customer_groups",
                                  "approaches", "schedule", "research"]
    label_columns = {"owner_unit": _l("Unit")}
    description_columns = {"regions": _l("One region per line."),
                           "drafted_by": _l("Filled in with you unless you draft the plan for a colleague.")}
    show_fieldsets = [
        (_l("Plan"), {"fields": ["number", "year", "title", "owner_unit", "drafted_by"]}),
        (_l("Content"), {"fields": ["targets", "regions", "customer_groups", "approaches", "schedule", "research"]}),
        (_l("Approval"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        form.year.data = settings.local_today().year + 1


class PromotionCampaignView(ScopedModelView):
    """Promotions with their plan, and afterwards cost, effect and lessons (BRD 3(3)); agents see the campaigns
    they carry out locally and report their effect (MIC 營銷活動策劃)."""

    route_base = "/campaigns"
    datamodel = PortalMongoInterface(PromotionCampaign)
    class_permission_name = "PromotionCampaign"
    scope_owner_field = "organizer"
    scope_extra_owner_fields = ("agent_plans__agent",)
    regulation_clauses = ("BRD 3(3)1", "BRD 3(3)2", "BRD 3(3)3", "MIC 營銷管理/品牌推廣/1", "MIC 營銷管理/品牌推廣/2",
                          "MIC 營銷管理/營銷活動策劃/1", "MIC 營銷管理/營銷活動策劃/2", "MIC 營銷管理/營銷活動策劃/3")
    show_template = "portal/market/campaign_show.html"
    list_title = show_title = _l("Promotion campaigns")
    add_title = _l("New promotion campaign")
    edit_title = _l("Edit promotion campaign")
    list_columns = ["number", "theme", "channels", "start", "end", "budget", "actual_cost", "status"]
    search_columns = ["number", "theme", "channels", "start", "status", "owner_unit"]
    order_columns = ["number", "theme", "start", "end", "budget", "status"]
    base_order = ("start", "desc")
    add_columns = edit_columns = ["theme", "content", "channels", "start", "end", "budget", "expected_result",
                                  "organizer", "owner_unit", "status", "actual_cost", "evaluation", "lessons",
                                  "agent_plans"]
    label_columns = {"owner_unit": _l("Unit")}
    description_columns = {"actual_cost": _l("After the event."), "evaluation": _l("After the event."),
                           "agent_plans": _l("Each agent's plan for their region; agents add their feedback "
                                             "from the campaign's page.")}
    show_fieldsets = [
        (_l("Plan"), {"fields": ["number", "theme", "content", "channels", "start", "end", "budget",
                                 "expected_result", "organizer", "owner_unit", "status"]}),
        (_l("Review after the event"), {"fields": ["actual_cost", "evaluation", "lessons"]}),
        (_l("Agents' local plans"), {"fields": ["agent_plans"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        me = scope.current_employee_id()
        mine = next((line for line in item.agent_plans or [] if line.agent is not None and line.agent.pk == me), None)
        return {"my_plan": mine,
                "can_feedback": mine is not None and self.appbuilder.sm.has_access("can_feedback",
                                                                                    self.class_permission_name)}

    @expose("/feedback/<pk>", methods=["POST"])
    @has_access
    def feedback(self, pk):
        item = self.get_item(pk)
        if item is None:
            abort(404)
        try:
            market.report_feedback(item, scope.actor(), request.form.get("feedback", "", type=str),
                                   settings.local_today())
        except Refused as exc:
            flash(str(exc.message), "danger")
        else:
            flash(gettext("Thank you: your feedback is recorded."), "success")
        return redirect(url_for("PromotionCampaignView.show", pk=pk))
