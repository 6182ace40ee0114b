"""Products, stock and logistics screens (DOMAIN 3.4): the range and its prices, stock with its alerts, stock
takes, suppliers, quality inspections, carriers, shipments and after-sales tickets."""

from __future__ import annotations

import datetime as dt

from flask import request
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from mongoengine import ValidationError

from models.common import field_error
from models.products import (
    QC_DISPOSALS,
    AfterSalesTicket,
    LogisticsPartner,
    Product,
    QualityInspection,
    Shipment,
    StockItem,
    StockTake,
    Supplier,
)
from portal import products, scope, settings
from portal.approvals import Refused
from portal.compat import PortalMongoInterface, register_lookup
from portal.modelview import STAMPS, PortalModelView, ScopedModelView, input_field
from views.customers import CustomerRecordView, _overdue_badge

register_lookup("product", Product, "code", "name")


def _badges(item) -> str:
    """The flags of a stock row as coloured labels."""
    flags = [(item.held, "danger", gettext("Held")), (item.replenish, "warning", gettext("Replenish")),
             (item.overstock, "info", gettext("Overstock")),
             (item.slow_moving(settings.local_today(), _slow_days()), "default", gettext("Slow-moving"))]
    return Markup(" ".join(f'<span class="label label-{style}">{escape(text)}</span>'
                           for on, style, text in flags if on))


def _slow_days() -> int:
    from portal.security import request_cache

    cache = request_cache()
    if "slow_days" not in cache:
        cache["slow_days"] = settings.get("slow_moving_days")
    return cache["slow_days"]


class ProductView(PortalModelView):
    """The product range with standard, tier and cost prices and the quality standard (MIC 產品選擇, 產品定價)."""

    route_base = "/products"
    datamodel = PortalMongoInterface(Product)
    class_permission_name = "Product"
    regulation_clauses = ("MIC 產品管理/產品選擇/1", "MIC 產品管理/產品選擇/2", "MIC 產品管理/產品定價/1",
                          "MIC 產品管理/產品定價/2", "MIC 微商團隊組織架構/各級代理/1")
    list_title = show_title = _l("Products")
    add_title = _l("New product")
    edit_title = _l("Edit product")
    list_columns = ["code", "name", "category", "spec", "unit", "standard_price", "active"]
    search_columns = ["code", "name", "category", "active"]
    order_columns = ["code", "name", "category", "standard_price"]
    base_order = ("code", "asc")
    add_columns = edit_columns = ["code", "name", "category", "spec", "unit", "standard_price", "unit_cost",
                                  "tier_prices", "quality_standard", "active"]
    description_columns = {
        "tier_prices": _l("An agent of this tier may not sell below this price without the department head's "
                          "approval; staff sell at the standard price."),
        "unit_cost": _l("Copied onto order lines to compute gross profit."),
    }
    show_fieldsets = [
        (_l("Product"), {"fields": ["code", "name", "category", "spec", "unit", "quality_standard", "active"]}),
        (_l("Prices"), {"fields": ["standard_price", "unit_cost", "tier_prices"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def pre_delete(self, item):
        if products.in_use(item.pk):
            raise ValidationError(gettext("This product is on orders or in stock: set it off sale instead."))


class StockItemView(ScopedModelView):
    """Stock per product, warehouse and batch, with its replenishment, overstock, slow-moving and hold flags
    (DSC 3(4)2, 5(3)2, MIC 產品庫存管理)."""

    route_base = "/stock"
    datamodel = PortalMongoInterface(StockItem)
    list_summary_queries = 1  # the slow-moving days setting
    class_permission_name = "StockItem"
    regulation_clauses = ("DSC 3(4)2", "DSC 5(3)2", "MIC 產品管理/產品庫存管理/1", "MIC 產品管理/產品庫存管理/3",
                          "MIC 產品管理/產品質量控制/3")
    list_template = "portal/products/stock_list.html"
    list_title = show_title = _l("Stock")
    add_title = _l("New stock row")
    edit_title = _l("Edit stock row")
    list_columns = ["product", "warehouse", "batch", "quantity", "reserved", "available", "reorder_level", "flags",
                    "last_shipped_on"]
    search_columns = ["product", "warehouse", "batch", "replenish", "overstock", "held", "owner_unit"]
    order_columns = ["warehouse", "batch", "quantity", "available", "last_shipped_on"]
    base_order = ("warehouse", "asc")
    add_columns = edit_columns = ["product", "warehouse", "batch", "quantity", "reorder_level", "max_level",
                                  "received_on", "owner_unit", "disposal", "disposal_note"]
    label_columns = {"flags": _l("Flags"), "owner_unit": _l("Unit")}
    formatters_columns = {}
    description_columns = {
        "quantity": _l("Units on hand. Orders reserve stock when they are confirmed and take it when they ship."),
        "disposal": _l("For slow-moving stock: what the company decided (MIC 產品庫存管理/3)."),
    }
    show_fieldsets = [
        (_l("Stock"), {"fields": ["product", "warehouse", "batch", "quantity", "reserved", "available", "held",
                                  "received_on", "last_shipped_on", "owner_unit"]}),
        (_l("Levels"), {"fields": ["reorder_level", "max_level", "replenish", "overstock"]}),
        (_l("Disposal"), {"fields": ["disposal", "disposal_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prepare_rows(self, rows):
        for row in rows:
            row.flags = _badges(row)

    def pre_add(self, item):
        super().pre_add(item)
        item.received_on = item.received_on or settings.local_today()
        products.hold_if_failed(item)
        item.clean()

    def pre_update(self, item):
        moved = products.check_stock_edit(item)
        super().pre_update(item)
        if moved:
            products.hold_if_failed(item)
            item.clean()

    def pre_delete(self, item):
        if item.reserved:
            raise ValidationError(gettext("Units of this row are reserved for orders: it cannot be deleted."))

    def list_context(self) -> dict:
        return {"alerts_link": self.appbuilder.sm.has_access("can_alerts", self.class_permission_name)}

    @expose("/alerts/")
    @has_access
    def alerts(self):
        """What needs a decision: replenish, overstock, held batches, slow-moving stock."""
        return self.render_template("portal/products/stock_alerts.html", title=gettext("Stock alerts"),
                                    alerts=products.alerts(self.scope_raw(), settings.local_today()),
                                    slow_days=settings.get("slow_moving_days"), disposal_label=products.disposal_label)


class StockTakeView(ScopedModelView):
    """Stock takes: book against counted quantity per line, variance derived, reviewed by another person, then
    posted to stock (MIC 產品庫存管理/2)."""

    route_base = "/stock-takes"
    datamodel = PortalMongoInterface(StockTake)
    class_permission_name = "StockTake"
    scope_owner_field = "counted_by"
    regulation_clauses = ("MIC 產品管理/產品庫存管理/2",)
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Stock takes")
    add_title = _l("New stock take")
    edit_title = _l("Edit stock take")
    list_columns = ["number", "warehouse", "taken_on", "counted_by", "reviewed_by", "state", "net_variance"]
    search_columns = ["number", "warehouse", "taken_on", "state", "counted_by"]
    order_columns = ["number", "warehouse", "taken_on", "state"]
    base_order = ("taken_on", "desc")
    add_columns = edit_columns = ["warehouse", "taken_on", "counted_by", "lines", "note"]
    description_columns = {
        "lines": _l("Leave empty and use “Fill in the book quantities” on the stock take's page to start from "
                    "the books. The book quantities are read from stock; review and posting are done from the "
                    "stock take's page."),
    }
    show_fieldsets = [
        (_l("Stock take"), {"fields": ["number", "warehouse", "taken_on", "counted_by", "reviewed_by", "state",
                                       "net_variance", "note"]}),
        (_l("Lines"), {"fields": ["lines"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.taken_on.data = settings.local_today()
        from views.org import my_employee

        form.counted_by.data = my_employee()

    def pre_add(self, item):
        super().pre_add(item)
        products.fill_book(item)

    def pre_update(self, item):
        if item.state != "counting":
            raise ValidationError(gettext("Only a stock take being counted can be edited."))
        super().pre_update(item)
        products.fill_book(item)

    def pre_delete(self, item):
        if item.state == "posted":
            raise ValidationError(gettext("A stock take posted to stock is kept."))

    def show_context(self, item) -> dict:
        counting = item.state == "counting"
        return {"actions": [
            self.button("book", _l("Fill in the book quantities"), "fa-book", when=counting),
            self.button("review", _l("Reviewed"), "fa-eye", "default",
                        when=counting and getattr(item.counted_by, "pk", None) != scope.current_employee_id()),
            self.button("post", _l("Post the variances to stock"), "fa-check", "primary",
                        when=item.state == "reviewed")]}

    @expose("/book/<pk>", methods=["POST"])
    @has_access
    def book(self, pk):
        return self.run_action(pk, "book", lambda item, actor: products.load_book(item))

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review(self, pk):
        return self.run_action(pk, "review", lambda item, actor: products.review_take(item.pk, actor))

    @expose("/post/<pk>", methods=["POST"])
    @has_access
    def post(self, pk):
        return self.run_action(pk, "post", lambda item, actor: products.post_take(item.pk, actor),
                               gettext("The variances are posted to stock."))


class SupplierView(PortalModelView):
    """Suppliers chosen by tender or price inquiry, their quotes and evaluations (DSC 5(3)2, MIC 產品質量控制/2)."""

    route_base = "/suppliers"
    datamodel = PortalMongoInterface(Supplier)
    class_permission_name = "Supplier"
    regulation_clauses = ("DSC 5(3)2", "MIC 產品管理/產品質量控制/2")
    list_title = show_title = _l("Suppliers")
    add_title = _l("New supplier")
    edit_title = _l("Edit supplier")
    list_columns = ["name", "contact_person", "phone", "selected_by", "rating", "active"]
    search_columns = ["name", "selected_by", "active", "products"]
    order_columns = ["name", "selected_by"]
    base_order = ("name", "asc")
    add_columns = edit_columns = ["name", "contact_person", "phone", "address", "products", "selected_by", "quotes",
                                  "evaluations", "active"]
    label_columns = {"rating": _l("Average score")}
    description_columns = {"evaluations": _l("Include the quality of the material supplied.")}
    show_fieldsets = [
        (_l("Supplier"), {"fields": ["name", "contact_person", "phone", "address", "products", "selected_by",
                                     "active"]}),
        (_l("Quotes"), {"fields": ["quotes"]}),
        (_l("Evaluations"), {"fields": ["rating", "evaluations"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class QualityInspectionView(ScopedModelView):
    """Inspections from incoming material to outgoing goods; a failed batch is held in stock until its disposal is
    recorded (MIC 產品質量控制/1, /3)."""

    route_base = "/inspections"
    datamodel = PortalMongoInterface(QualityInspection)
    class_permission_name = "QualityInspection"
    scope_owner_field = "inspector"
    unit_from = "inspector"
    regulation_clauses = ("MIC 產品管理/產品質量控制/1", "MIC 產品管理/產品質量控制/2", "MIC 產品管理/產品質量控制/3")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Quality inspections")
    add_title = _l("Record an inspection")
    edit_title = _l("Edit inspection")
    list_columns = ["number", "inspected_on", "product", "batch", "stage", "result", "disposal", "held_quantity"]
    search_columns = ["number", "product", "batch", "stage", "result", "inspected_on", "supplier"]
    order_columns = ["number", "inspected_on", "batch", "result"]
    base_order = ("inspected_on", "desc")
    add_columns = edit_columns = ["product", "batch", "stage", "supplier", "inspector", "inspected_on", "result",
                                  "defects"]
    description_columns = {"result": _l("A failed batch is held in every warehouse until its disposal is recorded "
                                        "from this page.")}
    show_fieldsets = [
        (_l("Inspection"), {"fields": ["number", "product", "batch", "stage", "supplier", "inspector",
                                       "inspected_on", "result", "defects"]}),
        (_l("Non-conforming goods"), {"fields": ["held_quantity", "disposal", "disposal_note", "disposed_by",
                                                 "disposed_at"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        from views.org import my_employee

        form.inspector.data = my_employee()
        form.inspected_on.data = settings.local_today()

    def pre_update(self, item):
        products.check_inspection_edit(item)
        super().pre_update(item)

    def pre_delete(self, item):
        if item.holding:
            raise ValidationError(gettext("A failed inspection stays until its disposal is recorded."))

    def post_add(self, item):
        products.apply_inspection(item)

    post_update = post_add

    def show_context(self, item) -> dict:
        held = gettext("This batch is held: it cannot ship until its disposal is recorded.")
        return {"banners": [{"style": "danger", "text": held}] if item.holding else [],
                "actions": [self.button("dispose", _l("Record the disposal"), "fa-recycle", "warning",
                                        when=item.holding,
                                        fields=[input_field("disposal", _l("Disposal"), "select", QC_DISPOSALS),
                                                input_field("note", _l("Who decided, and how"))])]}

    @expose("/dispose/<pk>", methods=["POST"])
    @has_access
    def dispose(self, pk):
        form = request.form
        return self.run_action(pk, "dispose", lambda item, actor: products.dispose(
            item.pk, actor, form.get("disposal", "", type=str), form.get("note", "", type=str)))


class LogisticsPartnerView(PortalModelView):
    """Carriers chosen for reliability, evaluated periodically (MIC 物流合作伙伴選擇)."""

    route_base = "/carriers"
    datamodel = PortalMongoInterface(LogisticsPartner)
    class_permission_name = "LogisticsPartner"
    regulation_clauses = ("MIC 物流管理/物流合作伙伴選擇/1", "MIC 物流管理/物流合作伙伴選擇/2")
    list_title = show_title = _l("Carriers")
    add_title = _l("New carrier")
    edit_title = _l("Edit carrier")
    list_columns = ["name", "contact_person", "phone", "service_scope", "rating", "active"]
    search_columns = ["name", "active", "service_scope"]
    order_columns = ["name"]
    base_order = ("name", "asc")
    add_columns = edit_columns = ["name", "contact_person", "phone", "service_scope", "tracking_url", "evaluations",
                                  "active"]
    label_columns = {"rating": _l("Average score")}
    show_fieldsets = [
        (_l("Carrier"), {"fields": ["name", "contact_person", "phone", "service_scope", "tracking_url", "active"]}),
        (_l("Evaluations"), {"fields": ["rating", "evaluations"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class ShipmentView(ScopedModelView):
    """Shipments of confirmed orders: prepared here; shipped, delivered or in trouble from their page. The
    tracking number goes to the order's customer service (MIC 發貨流程, 物流跟蹤與查詢; DSC 3(4)3)."""

    route_base = "/shipments"
    datamodel = PortalMongoInterface(Shipment)
    class_permission_name = "Shipment"
    regulation_clauses = ("DSC 3(4)3", "MIC 物流管理/發貨流程/1", "MIC 物流管理/發貨流程/2", "MIC 物流管理/發貨流程/3",
                          "MIC 物流管理/物流跟蹤與查詢/1", "MIC 物流管理/物流跟蹤與查詢/2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Shipments")
    add_title = _l("Prepare a shipment")
    edit_title = _l("Edit shipment")
    list_columns = ["number", "order", "warehouse", "carrier", "tracking_no", "status", "shipped_at", "delivered_at"]
    search_columns = ["number", "order", "warehouse", "carrier", "tracking_no", "status", "shipped_at"]
    order_columns = ["number", "status", "shipped_at", "delivered_at"]
    base_order = ("number", "desc")
    add_columns = edit_columns = ["order", "warehouse", "carrier", "note"]
    description_columns = {"order": _l("A confirmed order; the shipment takes the stock reserved for it."),
                           "note": _l("Packing, address and delivery instructions for the warehouse.")}
    show_fieldsets = [
        (_l("Shipment"), {"fields": ["number", "order", "warehouse", "carrier", "note", "owner_unit"]}),
        (_l("Tracking"), {"fields": ["status", "tracking_no", "shipped_at", "delivered_at", "exceptions"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        from views.customers import _from_args

        order = _from_args("order", "order")
        if order is not None:
            form.order.data = order
            form.warehouse.data = order.warehouse

    def pre_add(self, item):
        try:
            products.check_new_shipment(item)
        except Refused as exc:
            raise field_error("order", exc.message) from None
        super().pre_add(item)

    def pre_update(self, item):
        if item.status != "preparing":
            raise ValidationError(gettext("Only a shipment being prepared can be edited."))
        try:
            products.check_new_shipment(item)
        except Refused as exc:
            raise field_error("order", exc.message) from None
        super().pre_update(item)

    def show_context(self, item) -> dict:
        moving = item.status in ("shipped", "exception")
        return {"actions": [
            self.button("ship", _l("Shipped"), "fa-truck", "primary", when=item.status == "preparing",
                        fields=[input_field("tracking_no", _l("Tracking no."))]),
            self.button("deliver", _l("Delivered"), "fa-check", "success", when=moving),
            self.button("exception", _l("Report an exception"), "fa-exclamation-triangle", "warning", when=moving,
                        fields=[input_field("text", _l("What happened"))]),
            self.button("cancel", _l("Cancel the shipment"), "fa-times", when=item.status == "preparing")]}

    @expose("/ship/<pk>", methods=["POST"])
    @has_access
    def ship(self, pk):
        return self.run_action(pk, "ship", lambda item, actor: products.ship(
            item.pk, actor, request.form.get("tracking_no", "", type=str)),
            gettext("Shipped: customer service has the tracking number."))

    @expose("/deliver/<pk>", methods=["POST"])
    @has_access
    def deliver(self, pk):
        return self.run_action(pk, "deliver", lambda item, actor: products.deliver(item.pk, actor))

    @expose("/exception/<pk>", methods=["POST"])
    @has_access
    def exception(self, pk):
        return self.run_action(pk, "exception", lambda item, actor: products.report_exception(
            item.pk, actor, request.form.get("text", "", type=str)))

    @expose("/cancel/<pk>", methods=["POST"])
    @has_access
    def cancel(self, pk):
        return self.run_action(pk, "cancel", lambda item, actor: products.cancel_shipment(item.pk, actor))


class AfterSalesTicketView(CustomerRecordView):
    """After-sales problems: logged by customer service, returned or exchanged for quality defects, supported for
    usage problems, answered by the deadline and followed up for satisfaction (MIC 售后問題處理流程, DSC 3(5),
    FSS 3(6))."""

    route_base = "/after-sales"
    datamodel = PortalMongoInterface(AfterSalesTicket)
    class_permission_name = "AfterSalesTicket"
    scope_owner_field = "handler"
    person_field = "handler"
    regulation_clauses = ("DSC 3(5)1", "FSS 3(6)1", "FSS 3(6)2", "MIC 售后服務管理/售后服務原則/1",
                          "MIC 售后服務管理/售后問題處理流程/1", "MIC 售后服務管理/售后問題處理流程/2",
                          "MIC 售后服務管理/售后問題處理流程/3")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("After-sales tickets")
    add_title = _l("Log an after-sales problem")
    edit_title = _l("Edit after-sales ticket")
    list_columns = ["number", "customer", "kind", "product", "status", "deadline", "late", "satisfaction"]
    search_columns = ["number", "customer", "kind", "product", "status", "deadline", "handler", "satisfaction"]
    order_columns = ["number", "kind", "status", "deadline"]
    base_order = ("number", "desc")
    add_columns = edit_columns = ["customer", "order", "product", "kind", "description", "handler", "deadline",
                                  "status", "result", "resolved_on", "satisfaction", "photo"]
    label_columns = {"late": _l("Overdue")}
    formatters_columns = {"late": _overdue_badge}
    description_columns = {
        "kind": _l("Quality defects are returned or exchanged; usage problems get technical support."),
        "deadline": _l("When the customer has the outcome (Approvals → Settings: after-sales days)."),
    }
    show_fieldsets = [
        (_l("Problem"), {"fields": ["number", "customer", "order", "product", "kind", "description", "photo"]}),
        (_l("Handling"), {"fields": ["handler", "deadline", "status", "actions"]}),
        (_l("Outcome"), {"fields": ["result", "resolved_on", "satisfaction"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        form.deadline.data = settings.local_today() + dt.timedelta(days=settings.get("after_sales_days"))

    def show_context(self, item) -> dict:
        return {"banners": [{"style": "danger", "text": gettext("Past its deadline.")}] if item.late else [],
                "actions": [self.button("act", _l("Add an action"), "fa-plus",
                                        when=item.status in ("open", "in_progress"),
                                        fields=[input_field("text", _l("What was done"), "textarea")])]}

    @expose("/act/<pk>", methods=["POST"])
    @has_access
    def act(self, pk):
        return self.run_action(pk, "act", lambda item, actor: products.add_ticket_action(
            item.pk, actor, request.form.get("text", "", type=str)))
