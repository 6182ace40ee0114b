"""Sales screens (DOMAIN 3.3): sales plans, contracts with renewals and client progress reports, the order
ledger, work reports and the sales analysis."""

from __future__ import annotations

import datetime as dt

from flask import abort, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.common import choice_label, money
from models.products import SHIPMENT_STATES, TICKET_STATES, AfterSalesTicket, Shipment
from models.sales import (
    CONTRACT_STATUSES,
    LIVE_CONTRACT,
    ORDER_STAGES,
    SOLD_STAGES,
    ClientProgressReport,
    Contract,
    SalesOrder,
    SalesPlan,
    WorkReport,
)
from portal import registry, sales, scope, settings, uploads
from portal.approvals import Refused
from portal.compat import AttachmentField, PortalMongoInterface, register_lookup
from portal.modelview import STAMPS, ScopedModelView, input_field
from views.approvals import APPROVAL, ApprovableView
from views.customers import ADDERS, _from_args, _me


def _contract_directory():
    return ContractView.scope_for_user()


def _order_directory():
    return SalesOrderView.scope_for_user()


register_lookup("contract", Contract, "number", "subject", restrict=_contract_directory)
register_lookup("order", SalesOrder, "number", "number", restrict=_order_directory)


def _date_arg(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.form.get(name, "", type=str).strip())
    except ValueError:
        return None


def _rows(view: str, raws, *cells) -> list[dict]:
    """Rows of a related panel: the first cell links to the record."""
    return [{"link": url_for(f"{view}.show", pk=raw["_id"]), "cells": [cell(raw) for cell in cells]} for raw in raws]


def _credit_banners(item, amount) -> list[dict]:
    """A contract or order that takes its customer over the credit limit says so (DSC 6(2)3)."""
    if not item.over_credit_limit:
        return []
    limit = getattr(item.customer, "credit_limit", None)
    return [{"style": "success" if item.status == "approved" else "warning", "text": gettext(
        "The customer already owes ¥%(owed)s; with this ¥%(amount)s they go over their credit limit of ¥%(limit)s: "
        "the department head approves first (DSC 6(2)3).", owed=f"{money(item.credit_exposure):,.2f}",
        amount=f"{money(amount):,.2f}", limit=f"{money(limit):,.2f}" if limit is not None else "-")}]


def _yuan(fen) -> str:
    from models.common import from_fen

    return f"¥{from_fen(fen or 0):,.2f}"


ADDERS.extend([
    ("ContractView.add", _l("Contract"), "fa-file-text-o", "Contract"),
    ("SalesOrderView.add", _l("Order"), "fa-shopping-cart", "SalesOrder"),
    ("AfterSalesTicketView.add", _l("After-sales problem"), "fa-wrench", "AfterSalesTicket"),
])


class SalesPlanView(ApprovableView):
    """Monthly, quarterly and annual sales plans: targets, regions, categories, strategy and actions, broken down
    to teams and salespeople; department head, then branch leader (BRD 4(1))."""

    route_base = "/sales-plans"
    datamodel = PortalMongoInterface(SalesPlan)
    class_permission_name = "SalesPlan"
    scope_owner_field = "drafted_by"
    regulation_clauses = ("BRD 4(1)1", "BRD 4(1)2", "BRD 4(1)3", "BRD 4(4)3")
    list_title = show_title = _l("Sales plans")
    add_title = _l("New sales plan")
    edit_title = _l("Edit sales plan")
    list_columns = ["period", "period_kind", "owner_unit", "amount_target", "volume_target", "drafted_by", "status"]
    search_columns = ["period", "period_kind", "owner_unit", "status", "drafted_by"]
    order_columns = ["period", "amount_target", "status"]
    base_order = ("period", "desc")
    add_columns = edit_columns = ["period_kind", "period", "drafted_by", "amount_target", "volume_target", "regions",
                                  "categories", "strategy", "action_plan", "allocations"]
    label_columns = {"owner_unit": _l("Unit")}
    description_columns = {"period": _l("2026-05 for a month, 2026-Q2 for a quarter, 2026 for a year."),
                           "allocations": _l("The targets of teams or salespeople; together at most the plan's.")}
    show_fieldsets = [
        (_l("Plan"), {"fields": ["period_kind", "period", "owner_unit", "drafted_by", "amount_target",
                                 "volume_target", "regions", "categories"]}),
        (_l("Strategy"), {"fields": ["strategy", "action_plan"]}),
        (_l("Allocations"), {"fields": ["allocations"]}),
        (_l("Approval"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        progress = sales.plan_progress(item)
        rows = []
        for line in item.allocations or []:
            done = (progress.get("by_unit", {}).get(line.team.pk) if line.team is not None
                    else progress.get("by_person", {}).get(getattr(line.salesperson, "pk", None)))
            target = money(line.amount_target)
            done = money(done or 0)
            rows.append({"link": None, "cells": [str(line.team or line.salesperson or ""), f"¥{target:,.2f}",
                                                 f"¥{done:,.2f}",
                                                 f"{100 * done / target:.0f} %" if target else "—"]})
        context["related"] = [{"title": gettext("Sold so far against the allocations"), "rows": rows,
                               "icon": "fa-bar-chart"}]
        return context


class ContractView(ApprovableView):
    """Contracts: drafted, reviewed by Legal (and for major contracts by compliance) before signing, signed and
    passed to operations and finance, executed, completed or terminated; outsourcing contracts carry their team
    and client progress reports (SOC 3.3-3.5, DSC 3(3), FSS 3(4), BRD 4(2)3)."""

    route_base = "/contracts"
    datamodel = PortalMongoInterface(Contract)
    class_permission_name = "Contract"
    scope_owner_field = "owner"
    scope_extra_owner_fields = ("team_leader", "team_members")  # the outsourcing team reads its contract
    extra_owners_change = False
    scope_all_roles = frozenset({"Admin", "Auditor", "Legal", "Finance"})
    regulation_clauses = ("SOC 3.3", "SOC 3.4", "SOC 3.5", "DSC 3(3)2", "DSC 3(3)3", "BRD 4(2)3", "FSS 3(4)1",
                          "FSS 3(4)2", "FSS 3(4)3", "FSS 3(4)4", "DSC 6(4)3")
    list_title = show_title = _l("Contracts")
    add_title = _l("Draft a contract")
    edit_title = _l("Edit contract")
    list_columns = ["number", "customer", "kind", "subject", "amount", "start", "end", "status"]
    search_columns = ["number", "customer", "kind", "subject", "status", "owner", "start", "end", "owner_unit"]
    order_columns = ["number", "amount", "start", "end", "status"]
    base_order = ("number", "desc")
    add_columns = edit_columns = ["customer", "kind", "subject", "amount", "payment_terms", "delivery_terms", "start",
                                  "end", "liabilities", "file", "owner", "team_leader", "team_members",
                                  "report_every_days"]
    label_columns = {"owner_unit": _l("Unit")}
    description_columns = {
        "file": _l("The draft as PDF, for Legal's review."),
        "team_leader": _l("Outsourcing service only: the dedicated team that delivers the service (SOC 3.4)."),
        "report_every_days": _l("Outsourcing service only: how often the client gets a progress report."),
    }
    show_fieldsets = [
        (_l("Contract"), {"fields": ["number", "customer", "kind", "subject", "amount", "start", "end", "owner",
                                     "owner_unit"]}),
        (_l("Terms"), {"fields": ["payment_terms", "delivery_terms", "liabilities", "file"]}),
        (_l("Outsourcing team"), {"fields": ["team_leader", "team_members", "report_every_days"]}),
        (_l("Review and signing"), {"fields": [*APPROVAL, "signed_on", "signed_file", "closed_on",
                                               "termination_reason"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        customer = _from_args("customer", "customer")
        if customer is not None:
            form.customer.data = customer

    def pre_add(self, item):
        super().pre_add(item)
        sales.refresh_credit(item)

    def pre_update(self, item):
        self.check_actor(item)
        super().pre_update(item)
        sales.refresh_credit(item)

    def pre_delete(self, item):
        self.check_actor(item)
        super().pre_delete(item)

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        today = settings.local_today()
        window = settings.get("contract_renewal_days")
        banners = []
        if item.status in LIVE_CONTRACT and item.end and item.end <= today + dt.timedelta(days=window):
            banners.append({"style": "warning", "text": gettext("Ends on %(date)s: negotiate the renewal with the "
                                                                "client (SOC 3.5).", date=f"{item.end:%Y-%m-%d}")})
        if item.status not in LIVE_CONTRACT | {"completed", "terminated"}:
            banners += _credit_banners(item, item.amount)
        context["banners"] = banners
        context["links"] = [self.link("SalesOrderView.add", "SalesOrder", _l("New order under this contract"),
                                      "fa-shopping-cart", item.status in LIVE_CONTRACT, contract=item.pk),
                            self.link("ClientProgressReportView.add", "ClientProgressReport",
                                      _l("New progress report"), "fa-line-chart",
                                      item.kind == "outsourcing" and item.status in LIVE_CONTRACT, contract=item.pk)]
        context["actions"] = [
            self.button("sign", _l("Signed"), "fa-pencil", "primary", when=item.status == "approved",
                        fields=[input_field("signed_on", _l("Signed on"), "date", value=f"{today:%Y-%m-%d}"),
                                input_field("signed_file", _l("Signed copy"), "file")]),
            self.button("execute", _l("Start execution"), "fa-play", when=item.status == "signed"),
            self.button("complete", _l("Completed"), "fa-flag-checkered", "success",
                        when=item.status == "executing"),
            self.button("terminate", _l("Terminate"), "fa-ban", "danger", when=item.status in LIVE_CONTRACT,
                        fields=[input_field("reason", _l("Reason"))]),
        ]
        orders = SalesOrder._get_collection().find({"contract": item.pk}, {"number": 1, "ordered_on": 1, "total": 1,
                                                                          "stage": 1}).sort("ordered_on", -1).limit(50)
        context["related"] = [{"title": gettext("Orders under this contract"), "icon": "fa-shopping-cart",
                               "rows": _rows("SalesOrderView", orders, lambda r: r.get("number"),
                                             lambda r: f"{r['ordered_on']:%Y-%m-%d}", lambda r: _yuan(r.get("total")),
                                             lambda r: choice_label(ORDER_STAGES, r.get("stage")))}]
        if item.kind == "outsourcing":
            reports = (ClientProgressReport._get_collection().find({"contract": item.pk})
                       .sort("period_end", -1).limit(50))
            context["related"].append({"title": gettext("Progress reports to the client"), "icon": "fa-line-chart",
                                       "rows": _rows("ClientProgressReportView", reports,
                                                     lambda r: f"{r['period_start']:%Y-%m-%d} – "
                                                               f"{r['period_end']:%Y-%m-%d}",
                                                     lambda r: _yuan(r.get("sales_figures")),
                                                     lambda r: f"{r['sent_on']:%Y-%m-%d}" if r.get("sent_on") else
                                                     gettext("not sent"))})
        return context

    @expose("/sign/<pk>", methods=["POST"])
    @has_access
    def sign(self, pk):
        def signing(item, actor):
            if item.status != "approved":
                raise Refused(gettext("Only a contract approved by Legal can be signed."))
            upload = request.files.get("signed_file")
            stored = None
            if upload is not None and upload.filename:
                try:
                    stored = uploads.store_upload("signed_file", upload, AttachmentField.ALLOWED, actor.username)
                except ValidationError as exc:
                    raise Refused(exc.message) from None
            sales.sign(item.pk, actor, _date_arg("signed_on"), signed_file=stored.pk if stored else None)

        return self.run_action(pk, "sign", signing, gettext("Signed: operations and finance have been told."))

    @expose("/execute/<pk>", methods=["POST"])
    @has_access
    def execute(self, pk):
        return self.run_action(pk, "execute", lambda item, actor: sales.start_execution(item.pk, actor))

    @expose("/complete/<pk>", methods=["POST"])
    @has_access
    def complete(self, pk):
        return self.run_action(pk, "complete", lambda item, actor: sales.complete(item.pk, actor))

    @expose("/terminate/<pk>", methods=["POST"])
    @has_access
    def terminate(self, pk):
        return self.run_action(pk, "terminate", lambda item, actor: sales.terminate(
            item.pk, actor, request.form.get("reason", "", type=str)))

    @expose("/file/<pk>/<which>")
    @has_access
    def file(self, pk, which):
        item = self.get_item(pk)
        attachment = getattr(item, which, None) if item is not None and which in ("file", "signed_file") else None
        if attachment is None:
            abort(404)
        return uploads.attachment_response(attachment)

    @expose("/follow-up/")
    @has_access
    def follow_up(self):
        """Contracts up for renewal (SOC 3.5) and progress reports to clients falling due (SOC 3.4)."""
        today = settings.local_today()
        where = self.scope_raw()
        renewals = list(Contract._get_collection().find({"$and": [sales.renewal_query(today), where]} if where
                                                        else sales.renewal_query(today),
                                                        {"number": 1, "subject": 1, "end": 1, "status": 1,
                                                         "amount": 1}).sort("end", 1).limit(200))
        return self.render_template("portal/sales/follow_up.html", title=gettext("Renewals and reports due"),
                                    renewals=renewals, reports=sales.reports_due(today, where), today=today,
                                    window=settings.get("contract_renewal_days"), status_label=lambda v: choice_label(
                                        CONTRACT_STATUSES, v), yuan=_yuan)


class ClientProgressReportView(ScopedModelView):
    """The outsourcing team's regular reports to the client: sales, market feedback, issues (SOC 3.4)."""

    route_base = "/client-reports"
    datamodel = PortalMongoInterface(ClientProgressReport)
    class_permission_name = "ClientProgressReport"
    scope_owner_field = "author"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance", "Legal"})
    regulation_clauses = ("SOC 3.4",)
    list_title = show_title = _l("Client progress reports")
    add_title = _l("New progress report")
    edit_title = _l("Edit progress report")
    list_columns = ["contract", "period_start", "period_end", "sales_figures", "sent_on", "author"]
    search_columns = ["contract", "period_end", "sent_on", "author"]
    order_columns = ["period_start", "period_end", "sent_on"]
    base_order = ("period_end", "desc")
    add_columns = edit_columns = ["contract", "period_start", "period_end", "sales_figures", "market_feedback",
                                  "issues", "sent_on", "author"]
    show_fieldsets = [
        (_l("Report"), {"fields": ["contract", "period_start", "period_end", "sales_figures", "sent_on", "author"]}),
        (_l("Content"), {"fields": ["market_feedback", "issues"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.author.data = _me()
        contract = _from_args("contract", "contract")
        if contract is not None:
            form.contract.data = contract


class SalesOrderView(ApprovableView):
    """The order ledger (BRD 4(3)): lines priced from the seller's price list; a price below it needs the
    department head (MIC 產品定價/2); confirmation reserves stock (DSC 3(4)); shipments and tracking notes follow
    the order to its customer (FSS 3(5))."""

    route_base = "/orders"
    datamodel = PortalMongoInterface(SalesOrder)
    class_permission_name = "SalesOrder"
    scope_owner_field = "salesperson"
    scope_extra_owner_fields = ("cs_owner",)  # customer service follows the order and adds tracking notes
    extra_owners_change = False
    extra_owner_actions = frozenset({"track"})
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    regulation_clauses = ("BRD 4(3)1", "BRD 4(3)2", "BRD 4(3)3", "DSC 3(3)1", "DSC 3(4)1", "DSC 3(4)2", "FSS 3(5)1",
                          "FSS 3(5)2", "FSS 3(5)3", "MIC 產品管理/產品定價/2", "MIC 微商團隊組織架構/各級代理/1")
    list_title = show_title = _l("Orders")
    add_title = _l("New order")
    edit_title = _l("Edit order")
    list_columns = ["number", "ordered_on", "customer", "salesperson", "total", "delivery_date", "stage", "status"]
    search_columns = ["number", "customer", "contract", "salesperson", "stage", "status", "ordered_on",
                      "delivery_date", "region", "owner_unit"]
    order_columns = ["number", "ordered_on", "total", "delivery_date", "stage"]
    base_order = ("number", "desc")
    add_columns = edit_columns = ["customer", "contract", "salesperson", "cs_owner", "ordered_on", "delivery_date",
                                  "warehouse", "lines"]
    label_columns = {"owner_unit": _l("Unit"), "gross_profit": _l("Gross profit (CNY)")}
    formatters_columns = {"gross_profit": lambda value: "" if value is None else f"{value:,.2f}"}
    description_columns = {
        "lines": _l("A price below the salesperson's price list (their agent tier's, or the standard price) needs "
                    "the department head's approval before the order is confirmed."),
        "cs_owner": _l("Gets the tracking number when the order ships."),
        "warehouse": _l("Leave empty to take stock from any warehouse."),
    }
    show_fieldsets = [
        (_l("Order"), {"fields": ["number", "customer", "contract", "salesperson", "cs_owner", "owner_unit",
                                  "region", "ordered_on", "delivery_date", "warehouse"]}),
        (_l("Lines"), {"fields": ["lines", "total", "cost_total", "gross_profit", "discount"]}),
        (_l("Progress"), {"fields": ["stage", "status", "confirmed_at", "paid_on", "cancel_reason", "tracking"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.salesperson.data = _me()
        form.ordered_on.data = settings.local_today()
        contract = _from_args("contract", "contract")
        customer = _from_args("customer", "customer")
        if contract is not None:
            form.contract.data = contract
            customer = customer or contract.customer
        if customer is not None:
            form.customer.data = customer

    def pre_add(self, item):
        super().pre_add(item)
        sales.refresh_credit(item)

    def pre_update(self, item):
        sales.check_order_edit(item)
        self.check_actor(item)
        super().pre_update(item)
        sales.refresh_credit(item)

    def pre_delete(self, item):
        if item.stage != "pending_review" or item.status == "pending":
            raise ValidationError(gettext("Only an order pending review can be deleted; cancel it instead."))
        self.check_actor(item)

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        context["can_submit"] = context["can_submit"] and item.needs_approval
        banners = _credit_banners(item, item.total) if item.stage == "pending_review" else []
        if item.needs_price_approval and item.stage == "pending_review":
            banners.append({"style": "warning" if item.status != "approved" else "success", "text": gettext(
                "%(n)s line(s) are below the price list by ¥%(amount)s in all: the department head approves "
                "the price before the order is confirmed.", n=sum(1 for line in item.lines if line.below_floor),
                amount=f"{money(item.discount):,.2f}")})
        context["banners"] = banners
        pending = item.stage == "pending_review"
        context["actions"] = [
            self.button("confirm", _l("Confirm the order"), "fa-check", "primary", when=pending),
            self.button("produce", _l("In production"), "fa-industry", when=item.stage == "confirmed"),
            self.button("close", _l("Close the order"), "fa-flag-checkered", "success", when=item.stage == "delivered"),
            self.button("track", _l("Add a tracking note"), "fa-comment", when=item.stage != "cancelled",
                        fields=[input_field("text", _l("Progress, problem or what the customer was told"))]),
            self.button("pay", _l("Mark paid"), "fa-money", "success",
                        when=item.paid_on is None and item.stage not in ("pending_review", "cancelled"),
                        fields=[input_field("paid_on", _l("Paid on"), "date",
                                            value=f"{settings.local_today():%Y-%m-%d}")]),
            self.button("cancel", _l("Cancel the order"), "fa-ban", "danger",
                        when=item.stage in ("pending_review", "confirmed", "in_production"),
                        fields=[input_field("reason", _l("Reason"))]),
        ]
        shipments = Shipment._get_collection().find({"order": item.pk}, {"number": 1, "tracking_no": 1, "status": 1,
                                                                        "shipped_at": 1}).limit(20)
        tickets = AfterSalesTicket._get_collection().find({"order": item.pk}, {"number": 1, "kind": 1,
                                                                              "status": 1}).limit(50)
        context["related"] = [
            {"title": gettext("Shipments"), "icon": "fa-truck",
             "rows": _rows("ShipmentView", shipments, lambda r: r.get("number"), lambda r: r.get("tracking_no") or "",
                           lambda r: choice_label(SHIPMENT_STATES, r.get("status")))},
            {"title": gettext("After-sales tickets"), "icon": "fa-wrench",
             "rows": _rows("AfterSalesTicketView", tickets, lambda r: r.get("number"),
                           lambda r: choice_label(TICKET_STATES, r.get("status")))},
        ]
        context["links"] = [self.link("ShipmentView.add", "Shipment", _l("Prepare the shipment"), "fa-truck",
                                      item.stage in ("confirmed", "in_production"), order=item.pk),
                             self.link("AfterSalesTicketView.add", "AfterSalesTicket", _l("Log an after-sales problem"),
                                       "fa-wrench", item.stage in ("shipped", "delivered", "closed"),
                                       customer=item.customer.pk if item.customer else "", order=item.pk),
                             self.link("ReceivableView.add", "Receivable", _l("Raise a receivable"),
                                       "fa-hourglass-half", item.stage in SOLD_STAGES and item.paid_on is None,
                                       order=item.pk)]
        return context

    @expose("/confirm/<pk>", methods=["POST"])
    @has_access
    def confirm(self, pk):
        return self.run_action(pk, "confirm", lambda item, actor: sales.confirm(item.pk, actor),
                               gettext("Confirmed: the stock is reserved for this order."))

    @expose("/produce/<pk>", methods=["POST"])
    @has_access
    def produce(self, pk):
        return self.run_action(pk, "produce", lambda item, actor: sales.advance(item.pk, actor, "in_production"))

    @expose("/close/<pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        return self.run_action(pk, "close", lambda item, actor: sales.advance(item.pk, actor, "closed"))

    @expose("/track/<pk>", methods=["POST"])
    @has_access
    def track(self, pk):
        return self.run_action(pk, "track", lambda item, actor: sales.add_tracking(
            item.pk, actor, request.form.get("text", "", type=str)))

    @expose("/pay/<pk>", methods=["POST"])
    @has_access
    def pay(self, pk):
        return self.run_action(pk, "pay", lambda item, actor: sales.record_payment(item.pk, actor,
                                                                                   _date_arg("paid_on")))

    @expose("/cancel/<pk>", methods=["POST"])
    @has_access
    def cancel(self, pk):
        return self.run_action(pk, "cancel", lambda item, actor: sales.cancel(
            item.pk, actor, request.form.get("reason", "", type=str)))


class WorkReportView(ScopedModelView):
    """Salespeople's regular reports to their superior, next to what the records say (FSS 2(5))."""

    route_base = "/work-reports"
    datamodel = PortalMongoInterface(WorkReport)
    class_permission_name = "WorkReport"
    scope_owner_field = "salesperson"
    unit_from = "salesperson"
    regulation_clauses = ("FSS 2(5)1", "FSS 2(5)2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Work reports")
    add_title = _l("New work report")
    edit_title = _l("Edit work report")
    list_columns = ["period", "salesperson", "customers_developed", "negotiations", "contracts_signed",
                    "receivables", "reviewed_by"]
    search_columns = ["period", "salesperson", "period_kind", "owner_unit"]
    order_columns = ["period", "customers_developed", "contracts_signed"]
    base_order = ("period", "desc")
    add_columns = edit_columns = ["salesperson", "period_kind", "period", "customers_developed", "negotiations",
                                  "contracts_signed", "receivables", "summary", "lessons", "improvements"]
    description_columns = {"period": _l("2026-05 for a month, 2026-Q2 for a quarter, 2026 for a year.")}
    show_fieldsets = [
        (_l("Report"), {"fields": ["salesperson", "period_kind", "period", "customers_developed", "negotiations",
                                   "contracts_signed", "receivables"]}),
        (_l("Review"), {"fields": ["summary", "lessons", "improvements"]}),
        (_l("Superior"), {"fields": ["reviewed_by", "review_comment", "reviewed_at"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.salesperson.data = _me()
        form.period.data = f"{settings.local_today():%Y-%m}"

    def pre_update(self, item):
        if item.reviewed_by:
            raise ValidationError(gettext("This report is acknowledged and can no longer be edited."))
        super().pre_update(item)

    def show_context(self, item) -> dict:
        figures = sales.work_figures(item)
        rows = [{"link": None, "cells": [str(WorkReport._fields[key].verbose_name), getattr(item, key), value]}
                for key, value in figures.items()]
        return {"related": [{"title": gettext("Reported, and what the records show"), "rows": rows,
                             "icon": "fa-balance-scale"}],
                "actions": [self.button("acknowledge", _l("Acknowledge"), "fa-check", "primary",
                                        when=not item.reviewed_by and item.salesperson is not None
                                        and item.salesperson.pk != scope.current_employee_id(),
                                        fields=[input_field("comment", _l("Comment"))])]}

    @expose("/acknowledge/<pk>", methods=["POST"])
    @has_access
    def acknowledge(self, pk):
        return self.run_action(pk, "acknowledge", lambda item, actor: sales.acknowledge(
            item.pk, actor, request.form.get("comment", "", type=str)))


class SalesAnalysisView(BaseView):
    """Sales amount, volume and gross profit by month, product, region and salesperson (BRD 4(4)), computed by
    MongoDB over the orders the user may see; charts are drawn on the server, no internet needed."""

    route_base = "/sales-analysis"
    class_permission_name = "SalesAnalysis"
    regulation_clauses = ("BRD 4(4)1", "BRD 4(4)2", "MIC 產品管理/產品選擇/2")
    default_view = "analysis"

    @expose("/")
    @has_access
    def analysis(self):
        today = settings.local_today()
        start, end, error = self._period(today)
        result = sales.analysis(start, end, SalesOrderView.scope_raw())
        return self.render_template("portal/sales/analysis.html", title=gettext("Sales analysis"), start=start,
                                    end=end, error=error, result=result, breakdowns=sales.BREAKDOWNS,
                                    clauses=registry.clauses_for(self.regulation_clauses))

    @staticmethod
    def _period(today: dt.date) -> tuple[dt.date, dt.date, str | None]:
        """The period asked for (`?start=&end=`), the year so far by default; a bad date is said, not a 500."""
        default = (today.replace(month=1, day=1), today)
        try:
            start = dt.date.fromisoformat(request.args.get("start", "", type=str) or f"{default[0]}")
            end = dt.date.fromisoformat(request.args.get("end", "", type=str) or f"{default[1]}")
        except ValueError:
            return (*default, gettext("Enter the dates as 2026-01-31."))
        if end < start or (end - start).days > 3700 or start.year < 1900:
            return (*default, gettext("The period runs from the start to a later end, over at most ten years."))
        return start, end, None
