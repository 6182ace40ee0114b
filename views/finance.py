"""Finance screens (DOMAIN 3.6): budget lines with their derived spending, budget increases, expense claims."""

from __future__ import annotations

import contextlib

from flask import abort, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import validators as wtv

from models.common import money
from models.finance import Budget, BudgetIncrease, ExpenseClaim
from models.org import Employee, OrgUnit
from portal import finance, scope, uploads
from portal.compat import PortalMongoInterface, format_money
from views.approvals import ApprovableView

_STAMPS = ["created_at", "created_by", "updated_at", "updated_by", "version"]
_APPROVAL = ["status", "submitted_at", "decided_at"]
_MONEY = {c: format_money for c in ("annual_amount", "increased", "committed", "actual", "limit", "available",
                                    "variance", "amount", "total")}


def _budget_choices():
    """Approved lines a user may charge: of their units and the units above (all of them for Finance)."""
    query = Budget.objects(status="approved")
    if not scope.role_names() & {"Admin", "Finance", "Auditor"}:
        units = set(scope.visible_units())
        own = Employee.objects(pk=scope.current_employee_id()).only("owner_unit").as_pymongo().first()
        if own and own.get("owner_unit"):
            units.add(own["owner_unit"])
        above = OrgUnit._get_collection().find({"_id": {"$in": sorted(units)}}, {"ancestors": 1})
        units |= {a for unit in above for a in unit.get("ancestors") or []}
        query = query.filter(owner_unit__in=sorted(units))
    return list(query.order_by("-year", "category").limit(500))


def _budget_field(label):
    return QuerySelectField(label, query_func=_budget_choices, get_pk_func=lambda b: b.pk, allow_blank=False,
                            validators=[wtv.DataRequired()], widget=Select2Widget())


class BudgetView(ApprovableView):
    """Budget lines per unit and year, approved by management (SOC 6.1); actual spend is the paid claims."""

    datamodel = PortalMongoInterface(Budget)
    class_permission_name = "Budget"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    regulation_clauses = ("DSC 5(1)1", "DSC 5(1)2", "DSC 5(1)3", "SOC 6.1")
    list_title = show_title = _l("Budgets")
    add_title = _l("Add budget line")
    edit_title = _l("Edit budget line")
    list_columns = ["year", "owner_unit", "category", "kind", "annual_amount", "increased", "actual", "variance",
                    "status"]
    search_columns = ["year", "owner_unit", "kind", "category", "status"]
    order_columns = ["year", "category", "kind", "annual_amount", "status"]
    base_order = ("year", "desc")
    add_columns = edit_columns = ["year", "owner_unit", "kind", "category", "annual_amount", "quarters", "months",
                                  "note"]
    label_columns = {"owner_unit": _l("Org unit"), "increased": _l("Approved increases (CNY)"),
                     "committed": _l("Committed (CNY)"), "actual": _l("Actual (CNY)"), "limit": _l("Limit (CNY)"),
                     "available": _l("Available (CNY)"), "variance": _l("Variance (CNY)")}
    description_columns = {"quarters": _l("Must add up to the annual amount."),
                           "months": _l("Optional; each quarter's months must add up to the quarter. "
                                        "Quarters left blank are filled in from the months.")}
    formatters_columns = _MONEY
    show_fieldsets = [
        (_l("Budget line"), {"fields": ["year", "owner_unit", "kind", "category", "annual_amount", "quarters",
                                        "months", "note"]}),
        (_l("Spending (derived from the claims)"), {"fields": ["increased", "limit", "committed", "available",
                                                               "actual", "variance"]}),
        (_l("Approval"), {"fields": ["requested_by", *_APPROVAL]}),
        (_l("Record"), {"fields": _STAMPS, "expanded": False}),
    ]

    def prepare_rows(self, rows):
        finance.attach_figures(rows)


class BudgetIncreaseView(ApprovableView):
    """A request for more money on a budget line, approved by the department head (FSS 7(3)2)."""

    datamodel = PortalMongoInterface(BudgetIncrease)
    class_permission_name = "BudgetIncrease"
    scope_owner_field = "requested_by"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    regulation_clauses = ("FSS 7(3)1", "FSS 7(3)2")
    list_title = show_title = _l("Budget increases")
    add_title = _l("Request a budget increase")
    edit_title = _l("Edit budget increase")
    list_columns = ["budget", "amount", "requested_by", "status", "submitted_at"]
    search_columns = ["budget", "status", "amount"]
    order_columns = ["amount", "status", "submitted_at"]
    base_order = ("created_at", "desc")
    add_columns = edit_columns = ["budget", "amount", "reason"]
    formatters_columns = _MONEY
    add_form_extra_fields = edit_form_extra_fields = {"budget": _budget_field(_l("Budget line"))}
    show_fieldsets = [
        (_l("Budget increase"), {"fields": ["budget", "amount", "reason", "owner_unit"]}),
        (_l("Approval"), {"fields": ["requested_by", *_APPROVAL]}),
        (_l("Record"), {"fields": _STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        """Opened from a claim over budget: the line, the excess and the reason come filled in."""
        super().prefill_add(form)
        budget = next((b for b in _budget_choices() if str(b.pk) == request.args.get("budget")), None)
        if budget is not None:
            form.budget.data = budget
        with contextlib.suppress(ValueError):
            form.amount.data = money(request.args.get("amount", "")) if request.args.get("amount") else None
        if request.args.get("reason"):
            form.reason.data = request.args["reason"][:500]


class ExpenseClaimView(ApprovableView):
    """Expense claims: department head, the branch leader above the major-expense threshold, Finance review,
    payment (BRD 8(2), FSS 7(2)); over budget only with an approved increase (FSS 7(3)2)."""

    datamodel = PortalMongoInterface(ExpenseClaim)
    class_permission_name = "ExpenseClaim"
    scope_owner_field = "claimant"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    regulation_clauses = ("BRD 8(2)1", "BRD 8(2)2", "BRD 8(2)3", "FSS 7(2)1", "FSS 7(2)3", "FSS 7(3)2")
    show_template = "portal/finance/claim_show.html"
    list_title = show_title = _l("Expense claims")
    add_title = _l("New expense claim")
    edit_title = _l("Edit expense claim")
    list_columns = ["title", "claimant", "budget", "total", "status", "submitted_at"]
    search_columns = ["title", "claimant", "budget", "status", "total", "submitted_at"]
    order_columns = ["total", "status", "submitted_at"]
    base_order = ("created_at", "desc")
    add_columns = edit_columns = ["claimant", "title", "budget", "items"]
    formatters_columns = _MONEY
    description_columns = {"claimant": _l("Filled in with you unless you keep claims for your unit."),
                           "items": _l("One line per receipt: attach the scan (PDF, JPG or PNG) or give the "
                                       "invoice number.")}
    add_form_extra_fields = edit_form_extra_fields = {"budget": _budget_field(_l("Budget line"))}
    show_fieldsets = [
        (_l("Claim"), {"fields": ["title", "claimant", "owner_unit", "budget", "total"]}),
        (_l("Items"), {"fields": ["items"]}),
        (_l("Approval and payment"), {"fields": [*_APPROVAL, "paid_at", "paid_by"]}),
        (_l("Record"), {"fields": _STAMPS, "expanded": False}),
    ]

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        budget = finance.attach_figures([item.budget])[0] if item.budget is not None else None
        sm = self.appbuilder.sm
        context.update(budget=budget, excess=finance.excess_for(item) if budget is not None else 0,
                       can_pay=sm.has_access("can_pay", self.class_permission_name),
                       can_increase=sm.has_access("can_add", "BudgetIncrease"))
        return context

    @expose("/receipt/<pk>/<int:line>")
    @has_access
    def receipt(self, pk, line):
        item = self.get_item(pk)
        if item is None or not 0 <= line < len(item.items or []) or item.items[line].receipt is None:
            abort(404)
        return uploads.attachment_response(item.items[line].receipt)

    @expose("/pay/<pk>", methods=["POST"])
    @has_access
    def pay(self, pk):
        return self.run_on(pk, finance.pay, gettext("Marked as paid."))
