"""Finance screens (DOMAIN 3.6): budget lines with their derived spending, budget increases, expense claims,
expense standards, expense plans and fund reconciliations."""

from __future__ import annotations

import contextlib

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import validators as wtv

from models.common import field_error, money
from models.finance import (
    BUDGET_CATEGORIES,
    Budget,
    BudgetIncrease,
    ExpenseClaim,
    ExpensePlan,
    ExpenseStandard,
    FundReconciliation,
)
from models.org import Employee, OrgUnit
from portal import finance, scope, settings, uploads
from portal.compat import PortalMongoInterface, format_money
from portal.modelview import STAMPS, PortalModelView, ScopedModelView, input_field
from views.approvals import APPROVAL, ApprovableView

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


def _plan_choices():
    """Approved expense plans the user may open, newest period first."""
    where = ExpensePlanView.scope_for_user()
    query = ExpensePlan.objects(status="approved")
    return list((query.filter(where) if where is not None else query).order_by("-period").limit(200))


def _plan_field(label):
    return QuerySelectField(label, query_func=_plan_choices, get_pk_func=lambda p: p.pk, allow_blank=True,
                            blank_text=_l("(none)"), validators=[wtv.Optional()], widget=Select2Widget())


def _signed(value) -> Markup:
    """A difference coloured by its sign: green when the books match, red when they do not."""
    if value is None:
        return Markup("")
    amount = money(value)
    style = "text-success" if amount == 0 else "text-danger"
    return Markup(f'<strong class="{style}">{escape(f"{amount:+,.2f}" if amount else "0.00")}</strong>')


class BudgetView(ApprovableView):
    """Budget lines per unit and year, approved by management (SOC 6.1); actual spend is the paid claims."""

    datamodel = PortalMongoInterface(Budget)
    list_summary_queries = 2  # claimed and increased per line: one aggregation each
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
    regulation_clauses = ("BRD 8(2)1", "BRD 8(2)2", "BRD 8(2)3", "FSS 7(1)2", "FSS 7(2)1", "FSS 7(2)3",
                          "FSS 7(3)2", "MIC 財務管理/費用管理/1", "SOC 6.4")
    show_template = "portal/finance/claim_show.html"
    list_title = show_title = _l("Expense claims")
    add_title = _l("New expense claim")
    edit_title = _l("Edit expense claim")
    list_columns = ["title", "claimant", "budget", "total", "over_standard", "status", "submitted_at"]
    search_columns = ["title", "claimant", "budget", "status", "total", "over_standard", "submitted_at"]
    order_columns = ["total", "status", "submitted_at"]
    base_order = ("created_at", "desc")
    add_columns = edit_columns = ["claimant", "title", "budget", "plan", "items"]
    formatters_columns = _MONEY
    description_columns = {"claimant": _l("Filled in with you unless you keep claims for your unit."),
                           "plan": _l("Optional: an approved expense plan of the claimant; the plan's page sets "
                                      "its claims against it per category."),
                           "items": _l("One line per receipt: attach the scan (PDF, JPG or PNG) or give the "
                                       "invoice number. Every item counts in the budget line's category; an item "
                                       "above that category's expense standard needs the reason for the excess.")}
    add_form_extra_fields = edit_form_extra_fields = {"budget": _budget_field(_l("Budget line")),
                                                      "plan": _plan_field(_l("Expense plan"))}
    show_fieldsets = [
        (_l("Claim"), {"fields": ["title", "claimant", "owner_unit", "budget", "category", "plan", "total",
                                  "over_standard"]}),
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
        flagged = sum(1 for line in item.items or [] if line.over_cap)
        if flagged:
            context["banners"] = [{"style": "warning", "text": gettext(
                "Items above the expense standard of their category: %(n)s. The reason for the excess is given "
                "with each of them (MIC 財務管理/費用管理/1, SOC 6.4).", n=flagged)}]
        return context

    def prefill_add(self, form) -> None:
        """Opened from an expense plan's page: the plan comes filled in."""
        super().prefill_add(form)
        wanted = request.args.get("plan", "", type=str)
        if wanted:
            form.plan.data = next((p for p in _plan_choices() if str(p.pk) == wanted), None)

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


class ExpenseStandardView(PortalModelView):
    """Reimbursement standards: a cap per item, day or trip for each budget category, for everyone, a staff grade
    or an agent tier (MIC 財務管理/費用管理/1, SOC 6.4). Finance keeps them; everyone reads them."""

    route_base = "/expense-standards"
    datamodel = PortalMongoInterface(ExpenseStandard)
    class_permission_name = "ExpenseStandard"
    regulation_clauses = ("MIC 財務管理/費用管理/1", "MIC 財務管理/費用管理/2", "SOC 6.4")
    list_title = show_title = _l("Expense standards")
    add_title = _l("New expense standard")
    edit_title = _l("Edit expense standard")
    list_columns = ["category", "per", "cap", "grade", "agent_tier", "active"]
    search_columns = ["category", "per", "grade", "agent_tier", "active"]
    order_columns = ["category", "per", "cap"]
    base_order = ("category", "asc")
    add_columns = edit_columns = ["category", "per", "cap", "grade", "agent_tier", "note", "active"]
    formatters_columns = {"cap": format_money}
    description_columns = {
        "per": _l("Per item: each receipt. Per day: the items of one date in a claim. Per trip: a claim's total."),
        "grade": _l("As on the positions, e.g. P3. Leave grade and tier empty for a standard that applies to "
                    "everyone; a grade's or a tier's standard takes precedence over it."),
        "agent_tier": _l("For agents of this tier; an agent's tier takes precedence over a staff grade."),
    }
    show_fieldsets = [
        (_l("Standard"), {"fields": ["category", "per", "cap", "grade", "agent_tier", "note", "active"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class ExpensePlanView(ApprovableView):
    """A salesperson's spending plan for a period: amount, date and purpose per line, approved by the department
    head (FSS 7(1)2); its page sets the claims that name it against it, per category."""

    route_base = "/expense-plans"
    datamodel = PortalMongoInterface(ExpensePlan)
    class_permission_name = "ExpensePlan"
    scope_owner_field = "salesperson"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    regulation_clauses = ("FSS 7(1)1", "FSS 7(1)2")
    show_template = "portal/finance/plan_show.html"
    list_title = show_title = _l("Expense plans")
    add_title = _l("New expense plan")
    edit_title = _l("Edit expense plan")
    list_columns = ["number", "salesperson", "period", "total", "status", "submitted_at"]
    search_columns = ["number", "salesperson", "period", "status", "total"]
    order_columns = ["number", "period", "total", "status", "submitted_at"]
    base_order = ("period", "desc")
    add_columns = edit_columns = ["salesperson", "period_kind", "period", "lines", "note"]
    formatters_columns = _MONEY
    description_columns = {
        "salesperson": _l("Filled in with you unless you keep plans for your unit."),
        "period": _l("2026-05 for a month, 2026-Q2 for a quarter, 2026 for a year."),
        "lines": _l("One line per planned expense: travel, entertainment, communication, business development; "
                    "each dated within the period."),
    }
    show_fieldsets = [
        (_l("Plan"), {"fields": ["number", "salesperson", "owner_unit", "period_kind", "period", "total", "note"]}),
        (_l("Lines"), {"fields": ["lines"]}),
        (_l("Approval"), {"fields": APPROVAL}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def may_change(self, item) -> bool:
        """Finance and Auditor read every plan; like everyone else they change only their own (or, as Clerk or
        department head, their units')."""
        if "Admin" in scope.role_names():
            return True
        return scope.sees(item.to_mongo().to_dict(), self.scope_unit_field, self.scope_owner_field, frozenset())

    def pre_add(self, item):
        super().pre_add(item)
        if not self.may_change(item):
            raise field_error("salesperson", gettext("You keep your own plans (and your units' as a clerk or head)."))

    def pre_update(self, item):
        self.check_actor(item)
        super().pre_update(item)

    def pre_delete(self, item):
        self.check_actor(item)
        super().pre_delete(item)

    def show_context(self, item) -> dict:
        context = super().show_context(item)
        context["can_submit"] = context["can_submit"] and self.may_change(item)
        context.update(figures=finance.plan_figures(item), category_choices=BUDGET_CATEGORIES)
        context["links"] = [self.link("ExpenseClaimView.add", "ExpenseClaim", _l("New claim under this plan"),
                                      "fa-credit-card", when=item.status == "approved", plan=item.pk)]
        return context

    @expose("/submit/<pk>", methods=["POST"])
    @has_access
    def submit(self, pk):
        item = self.get_item(pk)
        if item is not None and not self.may_change(item):
            flash(gettext("You may read this record but not change it."), "danger")
            return redirect(url_for("ExpensePlanView.show", pk=pk))
        return super().submit(pk)


class FundReconciliationView(ScopedModelView):
    """Cash counts and bank reconciliations: book balance against the counted or bank balance, the difference
    explained, reviewed by another member of Finance (DSC 5(4)2)."""

    route_base = "/fund-reconciliations"
    datamodel = PortalMongoInterface(FundReconciliation)
    class_permission_name = "FundReconciliation"
    scope_owner_field = "prepared_by"
    scope_all_roles = frozenset({"Admin", "Auditor", "Finance"})
    unit_from = "prepared_by"
    regulation_clauses = ("DSC 5(4)2",)
    show_template = "portal/record_show.html"
    list_title = show_title = _l("Fund reconciliations")
    add_title = _l("New fund reconciliation")
    edit_title = _l("Edit fund reconciliation")
    list_columns = ["number", "account", "reconciled_on", "book_balance", "actual_balance", "difference", "status"]
    search_columns = ["number", "account_kind", "account", "reconciled_on", "status"]
    order_columns = ["number", "reconciled_on", "difference", "status"]
    base_order = ("reconciled_on", "desc")
    add_columns = edit_columns = ["account_kind", "account", "reconciled_on", "book_balance", "actual_balance",
                                  "explanation", "statement"]
    formatters_columns = {"book_balance": format_money, "actual_balance": format_money, "difference": _signed}
    description_columns = {
        "account": _l("The bank account (bank, branch, last digits) or the cash box counted."),
        "actual_balance": _l("What the count or the bank statement shows; the difference is worked out on save."),
        "explanation": _l("Required before review when the balances differ."),
        "statement": _l("The bank statement or the signed count sheet as PDF, JPG or PNG."),
    }
    show_fieldsets = [
        (_l("Reconciliation"), {"fields": ["number", "account_kind", "account", "reconciled_on", "book_balance",
                                           "actual_balance", "difference", "explanation", "statement",
                                           "prepared_by"]}),
        (_l("Review"), {"fields": ["status", "reviewed_by", "reviewed_at", "review_note"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]

    def prefill_add(self, form) -> None:
        form.reconciled_on.data = settings.local_today()

    def pre_add(self, item):
        if item.prepared_by is None and scope.current_employee_id() is not None:
            item.prepared_by = Employee.objects(pk=scope.current_employee_id()).first()
        super().pre_add(item)

    def pre_update(self, item):
        finance.check_reconciliation_open(item)
        super().pre_update(item)

    def pre_delete(self, item):
        finance.check_reconciliation_open(item)

    def show_context(self, item) -> dict:
        explained = bool((item.explanation or "").strip())
        unexplained = item.status == "open" and money(item.difference or 0) != 0 and not explained
        return {
            "banners": [{"style": "danger", "text": gettext(
                "The balances differ by ¥%(difference)s and the difference is not explained: the reconciliation "
                "stays open until it is.", difference=format_money(item.difference))}] if unexplained else [],
            "actions": [self.button("review", _l("Reviewed"), "fa-check", "success", when=item.status == "open",
                                    fields=[input_field("note", _l("Note"))])]}

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review(self, pk):
        return self.run_action(pk, "review", lambda item, actor: finance.review_reconciliation(
            item, actor, request.form.get("note", "", type=str)), gettext("Marked as reviewed."))

    @expose("/statement/<pk>")
    @has_access
    def statement(self, pk):
        item = self.get_item(pk)
        if item is None or item.statement is None:
            abort(404)
        return uploads.attachment_response(item.statement)
