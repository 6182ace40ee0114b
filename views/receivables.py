"""Receivables and income screens (DOMAIN 3.6): the receivables ledger with its collection actions, aging report
and bad-debt write-off, and the income ledger whose receipts pay the receivables down."""

from __future__ import annotations

import contextlib
import datetime as dt

from flask import request
from flask_appbuilder import expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.common import money
from models.receivables import AGING_BUCKETS, COLLECTION_METHODS, IncomeRecord, Receivable
from models.sales import SOLD_STAGES
from portal import receivables, scope, settings
from portal.compat import PortalMongoInterface
from portal.modelview import STAMPS, ScopedModelView, input_field
from views.approvals import APPROVAL, ApprovableView
from views.org import my_employee
from views.sales import SalesOrderView, _rows, _yuan

_FINANCE_ALL = frozenset({"Admin", "Auditor", "Finance"})


def _arg(view, name: str):
    """The record a query argument names, if the user may see it in `view` (a form opened from another page)."""
    pk = request.args.get(name, "", type=str)
    if not pk:
        return None
    where = view.scope_for_user()
    query = view.datamodel.obj.objects(pk=pk)
    with contextlib.suppress(ValidationError):
        return (query.filter(where) if where is not None else query).first()
    return None


class ReceivableView(ApprovableView):
    """Money customers owe (SOC 6.2): due dates, aging buckets, collection actions (FSS 3(7)2), escalation to the
    superior and write-off as bad debt through the approval engine (SOC 6.2, FSS 3(7)3)."""

    route_base = "/receivables"
    datamodel = PortalMongoInterface(Receivable)
    class_permission_name = "Receivable"
    scope_owner_field = "owner"
    scope_all_roles = _FINANCE_ALL
    regulation_clauses = ("SOC 6.2", "DSC 5(2)1", "FSS 3(7)1", "FSS 3(7)2", "FSS 3(7)3", "FSS 3(7)4")
    list_template = "portal/receivables/receivable_list.html"
    list_title = show_title = _l("Receivables")
    add_title = _l("New receivable")
    edit_title = _l("Edit receivable")
    list_columns = ["number", "customer", "owner", "amount", "outstanding", "due_date", "aging", "state", "status"]
    search_columns = ["number", "customer", "owner", "state", "status", "due_date", "outstanding"]
    order_columns = ["number", "amount", "outstanding", "due_date", "state"]
    base_order = ("due_date", "asc")
    add_columns = ["customer", "order", "contract", "owner", "amount", "due_date", "terms", "note"]
    edit_columns = [*add_columns, "write_off_reason"]
    label_columns = {"aging": _l("Aging"), "status": _l("Write-off")}
    description_columns = {
        "order": _l("Opened from an order, the customer, the salesperson and the amount not yet billed are filled in."),
        "owner": _l("The salesperson who chases the payment; left blank, the order's or contract's salesperson."),
        "write_off_reason": _l("Only for a write-off as bad debt: why the money cannot be collected."),
    }
    show_fieldsets = [
        (_l("Receivable"), {"fields": ["number", "customer", "order", "contract", "owner", "amount", "received",
                                       "outstanding", "due_date", "aging", "terms", "state", "settled_on", "note",
                                       "opening_ref"]}),
        (_l("Collection actions"), {"fields": ["actions"]}),
        (_l("Write-off"), {"fields": ["write_off_reason", *APPROVAL, "written_off_at"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        super().prefill_add(form)
        form.due_date.data = settings.local_today() + dt.timedelta(days=30)
        order = _arg(SalesOrderView, "order")
        if order is not None and order.stage in SOLD_STAGES:
            form.order.data, form.customer.data, form.contract.data = order, order.customer, order.contract
            form.owner.data, form.amount.data = order.salesperson, receivables.unbilled(order)

    def pre_add(self, item):
        super().pre_add(item)
        receivables.check_receivable(item)

    def pre_update(self, item):
        super().pre_update(item)
        receivables.check_receivable(item, scope.role_names())

    def pre_delete(self, item):
        super().pre_delete(item)
        if money(item.received) or item.actions:
            raise ValidationError(gettext("Money was received or collection steps were taken: this receivable "
                                          "stays on the ledger."))

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        context["can_submit"] = context["can_submit"] and item.state == "open"
        today = settings.local_today()
        is_open = item.state == "open"
        if is_open and item.due_date and item.due_date < today:
            context["banners"] = [{"style": "danger" if (today - item.due_date).days > settings.get(
                "receivable_escalation_days") else "warning", "text": gettext(
                "Overdue by %(days)s days (%(bucket)s): record each collection step; if the money cannot be "
                "collected, ask to write it off.", days=(today - item.due_date).days, bucket=item.aging)}]
        context["actions"] = [self.button(
            "collect", _l("Record a collection step"), "fa-phone", when=is_open,
            fields=[input_field("date", _l("Date"), "date", value=f"{today:%Y-%m-%d}"),
                    input_field("method", _l("Method"), "select", COLLECTION_METHODS),
                    input_field("result", _l("Result"))])]
        context["links"] = [self.link("IncomeRecordView.add", "IncomeRecord", _l("Record a receipt"), "fa-money",
                                      is_open, receivable=item.pk)]
        receipts = IncomeRecord._get_collection().find({"receivable": item.pk}, {
            "number": 1, "received_on": 1, "amount": 1, "state": 1}).sort("received_on", -1).limit(50)
        context["related"] = [{"title": gettext("Receipts"), "icon": "fa-money", "rows": _rows(
            "IncomeRecordView", receipts, lambda r: r.get("number"), lambda r: f"{r['received_on']:%Y-%m-%d}",
            lambda r: _yuan(r.get("amount")), lambda r: gettext("voided") if r.get("state") == "voided" else "")}]
        return context

    def list_context(self) -> dict:
        return {"aging_link": self.appbuilder.sm.has_access("can_aging", self.class_permission_name)}

    @expose("/collect/<pk>", methods=["POST"])
    @has_access
    def collect(self, pk):
        def run(item, actor):
            try:
                date = dt.date.fromisoformat(request.form.get("date", "", type=str))
            except ValueError:
                date = None
            receivables.add_action(item.pk, actor, date, request.form.get("method", "", type=str),
                                   request.form.get("result", "", type=str))
        return self.run_action(pk, "collect", run, gettext("The collection step is recorded."))

    @expose("/aging/")
    @has_access
    def aging(self):
        """Open receivables per customer or per salesperson in aging buckets (FSS 3(7)4)."""
        by = "owner" if request.args.get("by") == "owner" else "customer"
        report = receivables.aging(type(self).scope_raw(), settings.local_today(), by)
        return self.render_template("portal/receivables/aging.html", title=gettext("Receivables aging"), by=by,
                                    report=report, labels=dict(AGING_BUCKETS))


class IncomeRecordView(ScopedModelView):
    """The income ledger (DSC 5(2)2): every receipt with its source, customer, contract or order, amount, date and
    account. A receipt against a receivable pays it down; a posted receipt is never edited in its figures or
    deleted, only voided with a reason."""

    route_base = "/income"
    datamodel = PortalMongoInterface(IncomeRecord)
    class_permission_name = "IncomeRecord"
    scope_all_roles = _FINANCE_ALL
    regulation_clauses = ("DSC 5(2)1", "DSC 5(2)2", "SOC 6.2", "MIC 財務管理/收入管理/2")
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Income ledger")
    add_title = _l("Record a receipt")
    edit_title = _l("Edit receipt")
    list_columns = ["number", "received_on", "source", "customer", "amount", "account", "receivable", "state"]
    search_columns = ["number", "source", "customer", "received_on", "amount", "account", "state"]
    order_columns = ["number", "received_on", "amount", "source", "state"]
    base_order = ("received_on", "desc")
    add_columns = ["source", "customer", "order", "contract", "receivable", "amount", "received_on", "account",
                   "reference", "note"]
    edit_columns = ["account", "reference", "note"]
    description_columns = {
        "receivable": _l("The receivable this money pays; it is lowered by the amount at once."),
        "note": _l("Amounts and links of a posted receipt are not edited: void it and enter it again."),
    }
    show_fieldsets = [
        (_l("Receipt"), {"fields": ["number", "source", "customer", "order", "contract", "receivable", "remittance",
                                    "amount", "received_on", "account", "reference", "note", "recorded_by",
                                    "owner_unit"]}),
        (_l("Voided"), {"fields": ["state", "void_reason", "voided_at", "voided_by"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.received_on.data = settings.local_today()
        due = _arg(ReceivableView, "receivable")
        if due is not None:
            form.receivable.data, form.customer.data, form.amount.data = due, due.customer, due.outstanding
            form.order.data, form.contract.data = due.order, due.contract
            form.source.data = "order" if due.order is not None else "contract"

    def pre_add(self, item):
        super().pre_add(item)
        item.recorded_by = my_employee()
        item.validate()  # every field is right before the receivable is touched
        receivables.apply_receipt(item)

    def pre_update(self, item):
        if item.state != "posted":
            raise ValidationError(gettext("A voided receipt is not edited."))
        super().pre_update(item)

    def pre_delete(self, item):
        raise ValidationError(gettext("Receipts are not deleted from the ledger: void it with a reason."))

    def show_context(self, item) -> dict:
        return {"actions": [self.button("void", _l("Void"), "fa-ban", "danger", when=item.state == "posted",
                                        fields=[input_field("reason", _l("Why"))])]}

    @expose("/void/<pk>", methods=["POST"])
    @has_access
    def void(self, pk):
        return self.run_action(pk, "void", lambda item, actor: receivables.void(
            item.pk, actor, request.form.get("reason", "", type=str)), gettext("The receipt is voided."))
