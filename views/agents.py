"""Agent network screens (DOMAIN 3.5): tiers, agents, remittances with each agent's balance, and profit
distributions with every agent's own read-only line."""

from __future__ import annotations

from flask import request
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.agents import AgentTier, ProfitDistribution, Remittance
from models.common import field_error
from models.org import Employee
from portal import agents, scope, settings
from portal.approvals import Refused
from portal.compat import FilterEqual, PortalMongoInterface
from portal.modelview import STAMPS, PortalModelView, ScopedModelView, input_field
from views.approvals import APPROVAL, ApprovableView
from views.org import EmployeeView, my_employee


class AgentTierView(PortalModelView):
    """The agent levels, each with its rights, price list and profit share (MIC 各級代理/1, 利潤分配/1)."""

    route_base = "/agent-tiers"
    datamodel = PortalMongoInterface(AgentTier)
    class_permission_name = "AgentTier"
    regulation_clauses = ("MIC 微商團隊組織架構/各級代理/1", "MIC 財務管理/利潤分配/1", "MIC 產品管理/產品定價/2")
    list_title = show_title = _l("Agent tiers")
    add_title = _l("New agent tier")
    edit_title = _l("Edit agent tier")
    list_columns = ["level", "name", "share_percent", "price_list"]
    search_columns = ["name", "level"]
    order_columns = ["level", "name"]
    base_order = ("level", "asc")
    add_columns = edit_columns = ["name", "level", "profit_share", "price_list", "rights"]
    label_columns = {"share_percent": _l("Profit share")}
    description_columns = {"profit_share": _l("A fraction: 0.15 means fifteen percent of the agent's paid sales."),
                           "price_list": _l("The tier's prices are kept on each product.")}
    show_fieldsets = [
        (_l("Tier"), {"fields": ["level", "name", "profit_share", "price_list", "rights"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_delete(self, item):
        from models.products import Product

        if Product.objects(tier_prices__tier=item.pk).only("id").first() is not None:
            raise ValidationError(gettext("Products have prices for this tier: remove them first."))


class AgentView(EmployeeView):
    """Agents: employees of staff kind agent, with their tier, region and upline (MIC 各級代理)."""

    route_base = "/agents"
    class_permission_name = "Agent"
    api_name = "agents"  # the employees collection is /api/v1/employees/ already
    base_filters = [["staff_kind", FilterEqual, "agent"]]
    regulation_clauses = ("MIC 微商團隊組織架構/各級代理/1", "MIC 微商團隊組織架構/各級代理/2",
                          "MIC 微商團隊組織架構/團隊負責人/1")
    list_title = show_title = _l("Agents")
    add_title = _l("New agent")
    edit_title = _l("Edit agent")
    list_columns = ["employee_no", "name", "agent_tier", "region", "upline", "owner_unit", "status"]
    search_columns = ["employee_no", "name", "agent_tier", "region", "owner_unit", "status"]
    order_columns = ["employee_no", "name", "region", "status"]
    add_columns = edit_columns = ["employee_no", "name", "gender", "phone", "email", "owner_unit", "manager",
                                  "hire_date", "status", "agent_tier", "region", "upline"]
    show_fieldsets = [
        (_l("Agent"), {"fields": ["employee_no", "name", "gender", "phone", "email", "hire_date", "status"]}),
        (_l("Agent network"), {"fields": ["agent_tier", "region", "upline", "owner_unit", "manager"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_add(self, item):
        item.staff_kind = "agent"
        super().pre_add(item)


class RemittanceView(ScopedModelView):
    """Sales money agents pay into the company account, verified by Finance (MIC 收入管理); the balances page
    shows what each agent sold and has still to pay in."""

    route_base = "/remittances"
    datamodel = PortalMongoInterface(Remittance)
    class_permission_name = "Remittance"
    scope_owner_field = "agent"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    unit_from = "agent"
    regulation_clauses = ("MIC 財務管理/收入管理/1", "MIC 財務管理/收入管理/2")
    show_template = "portal/record_show.html"
    list_template = "portal/agents/remittance_list.html"
    list_title = show_title = _l("Remittances")
    add_title = _l("Record a remittance")
    edit_title = _l("Edit remittance")
    list_columns = ["number", "agent", "amount", "remitted_on", "reference", "state"]
    search_columns = ["number", "agent", "remitted_on", "state", "reference"]
    order_columns = ["number", "amount", "remitted_on", "state"]
    base_order = ("remitted_on", "desc")
    add_columns = edit_columns = ["agent", "amount", "remitted_on", "reference", "account", "note"]
    show_fieldsets = [
        (_l("Remittance"), {"fields": ["number", "agent", "amount", "remitted_on", "reference", "account", "note"]}),
        (_l("Finance"), {"fields": ["state", "verified_by", "verified_at", "finance_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.agent.data = my_employee()
        form.remitted_on.data = settings.local_today()

    def pre_update(self, item):
        if item.state != "recorded":
            raise ValidationError(gettext("A remittance Finance has checked can no longer be edited."))
        super().pre_update(item)

    def list_context(self) -> dict:
        return {"balances_link": self.appbuilder.sm.has_access("can_balances", self.class_permission_name)}

    def show_context(self, item) -> dict:
        waiting = item.state == "recorded"
        return {"actions": [
            self.button("verify", _l("Verified against the bank"), "fa-check", "success", when=waiting,
                        fields=[input_field("note", _l("Note"))]),
            self.button("reject", _l("Reject"), "fa-times", "danger", when=waiting,
                        fields=[input_field("note", _l("Why"))])]}

    @expose("/verify/<pk>", methods=["POST"])
    @has_access
    def verify(self, pk):
        return self.run_action(pk, "verify", lambda item, actor: agents.verify(
            item.pk, actor, True, request.form.get("note", "", type=str)))

    @expose("/reject/<pk>", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self.run_action(pk, "reject", lambda item, actor: agents.verify(
            item.pk, actor, False, request.form.get("note", "", type=str)))

    @expose("/balances/")
    @has_access
    def balances(self):
        """Sold, remitted and still to pay in, per agent (MIC 收入管理/1)."""
        where = None if scope.role_names() & self.scope_all_roles else AgentView.scope_raw()
        ids = None if not where else [e["_id"] for e in Employee._get_collection().find(
            {"$and": [where, {"staff_kind": "agent"}]}, {"_id": 1}).limit(2000)]
        return self.render_template("portal/agents/balances.html", title=gettext("Agents' balances"),
                                    rows=agents.balances(ids))


class ProfitDistributionView(ApprovableView):
    """Each period's profit shares: derived from the agents' paid orders and their tier ratios, adjusted for
    performance with a reason, approved by the department head and Finance (MIC 利潤分配); every agent sees their
    own line ("My profit shares")."""

    route_base = "/profit-distributions"
    datamodel = PortalMongoInterface(ProfitDistribution)
    class_permission_name = "ProfitDistribution"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    regulation_clauses = ("MIC 財務管理/利潤分配/1", "MIC 財務管理/利潤分配/2", "MIC 財務管理/利潤分配/3")
    list_title = show_title = _l("Profit distributions")
    add_title = _l("New profit distribution")
    edit_title = _l("Edit profit distribution")
    list_columns = ["number", "period", "owner_unit", "sales_total", "amount_total", "status"]
    search_columns = ["number", "period", "owner_unit", "status"]
    order_columns = ["number", "period", "amount_total", "status"]
    base_order = ("period", "desc")
    add_columns = ["period_kind", "period", "owner_unit", "note"]
    edit_columns = ["period_kind", "period", "owner_unit", "lines", "note"]
    label_columns = {"owner_unit": _l("Agent team")}
    description_columns = {
        "lines": _l("Computed from the period's paid orders and each agent's tier; enter only performance "
                    "adjustments and their reasons."),
        "period": _l("2026-05 for a month, 2026-Q2 for a quarter, 2026 for a year."),
    }
    show_fieldsets = [
        (_l("Distribution"), {"fields": ["number", "period_kind", "period", "owner_unit", "sales_total",
                                         "amount_total", "computed_at", "note"]}),
        (_l("Lines"), {"fields": ["lines"]}),
        (_l("Approval"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_add(self, item):
        super().pre_add(item)
        if item.owner_unit is None:
            return  # the model names the missing team
        try:
            agents.derive(item)  # the lines are there from the first save
        except Refused as exc:
            raise field_error("period", exc.message) from None

    def pre_update(self, item):
        super().pre_update(item)
        try:
            agents.derive(item)  # the form brings adjustments and reasons; the figures are derived again
        except Refused as exc:
            raise field_error("period", exc.message) from None

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        context["actions"] = [self.button("compute", _l("Compute from the paid orders"), "fa-calculator",
                                          when=item.editable)]
        return context

    @expose("/compute/<pk>", methods=["POST"])
    @has_access
    def compute(self, pk):
        return self.run_action(pk, "compute", lambda item, actor: agents.compute_lines(item, actor),
                               gettext("The lines are computed from the period's paid orders."))

    @expose("/mine/")
    @has_access
    def mine(self):
        """My own line of every approved distribution, read-only (MIC 利潤分配/3)."""
        return self.render_template("portal/agents/my_shares.html", title=gettext("My profit shares"),
                                    rows=agents.my_lines(scope.current_employee_id()))
