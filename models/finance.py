"""Finance (DOMAIN 3.6; DSC 5, BRD 8, SOC 6, FSS 7): budget lines, budget increases and expense claims."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    DateField,
    DateTimeField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.approvals import DOC_STATUSES, ApprovableDocument, approvable
from models.common import MoneyField, PortalEmbedded, choice_label, choices, field_error, money
from models.files import Attachment
from models.org import Employee, owned_by_unit

BUDGET_KINDS = choices(("revenue", _l("Revenue")), ("cost", _l("Cost")), ("expense", _l("Expense")),
                       ("fund", _l("Fund")))
BUDGET_CATEGORIES = choices(
    ("market_expansion", _l("Market expansion")), ("sales", _l("Sales")),
    ("customer_service", _l("Customer service")), ("training", _l("Training")), ("travel", _l("Travel")),
    ("entertainment", _l("Entertainment")), ("communication", _l("Communication")),
    ("business_development", _l("Business development")), ("logistics", _l("Logistics")),
    ("product_purchase", _l("Product purchase")), ("labour", _l("Labour")),
    ("office", _l("Office and equipment")), ("rent", _l("Rent")), ("other", _l("Other")),
)
CLAIM_STATUSES = (*DOC_STATUSES, ("paid", _l("Paid")))
QUARTER_MONTHS = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11))


def _amounts(values) -> list[Decimal]:
    return [money(v) for v in values or [] if v is not None]


@owned_by_unit
@approvable(_l("Budget"))
class Budget(ApprovableDocument):
    """One budget line of a unit for a year (DSC 5(1), SOC 6.1). Approved by management; spending is derived."""

    meta = {"collection": "budgets",
            "indexes": [{"fields": ["year", "owner_unit", "kind", "category"], "unique": True}, "owner_unit",
                        "status"],
            "ordering": ["-year", "category"]}

    year = IntField(required=True, min_value=2000, max_value=2100, verbose_name=_l("Year"))
    kind = StringField(required=True, choices=BUDGET_KINDS, default="expense", verbose_name=_l("Kind"))
    category = StringField(required=True, choices=BUDGET_CATEGORIES, verbose_name=_l("Category"))
    annual_amount = MoneyField(required=True, verbose_name=_l("Annual amount (CNY)"))
    quarters = ListField(MoneyField(), max_length=4, verbose_name=_l("Quarters (CNY)"),
                         item_labels=(_l("Q1"), _l("Q2"), _l("Q3"), _l("Q4")))
    months = ListField(MoneyField(), max_length=12, verbose_name=_l("Months (CNY)"),
                       item_labels=(_l("Jan"), _l("Feb"), _l("Mar"), _l("Apr"), _l("May"), _l("Jun"), _l("Jul"),
                                    _l("Aug"), _l("Sep"), _l("Oct"), _l("Nov"), _l("Dec")))
    note = StringField(max_length=1000, verbose_name=_l("Note"))
    requested_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Requested by"))
    unit_name = StringField(max_length=120)  # copied from the unit, so that naming a line reads nothing else
    summary_fields = ("year", "owner_unit", "kind", "category", "annual_amount", "quarters", "note")
    figures = None  # set by portal.finance.attach_figures: spending derived from the claims, never stored

    def __str__(self) -> str:
        return " · ".join(str(p) for p in (self.year, self.unit_name, choice_label(BUDGET_CATEGORIES, self.category),
                                           choice_label(BUDGET_KINDS, self.kind)) if p)

    def _figure(self, name):
        return None if self.figures is None else self.figures[name]

    increased = property(lambda self: self._figure("increased"), doc="Approved increases")
    committed = property(lambda self: self._figure("committed"), doc="Claims pending, approved or paid")
    actual = property(lambda self: self._figure("actual"), doc="Paid claims (DSC 5(1)3)")
    limit = property(lambda self: self._figure("limit"), doc="Annual amount plus approved increases")
    available = property(lambda self: self._figure("available"), doc="Limit minus committed")
    variance = property(lambda self: self._figure("variance"), doc="Limit minus actual: negative is overspent")

    def approval_amount(self):
        return self.annual_amount

    def clean(self) -> None:
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Choose the unit this budget line belongs to."))
        self.unit_name = self.owner_unit.name
        annual = money(self.annual_amount)
        quarters, months = _amounts(self.quarters), _amounts(self.months)
        if months and len(months) != 12:
            raise field_error("months", _l("Give all twelve months or none."))
        if months and not quarters:
            quarters = [sum((months[m] for m in q), Decimal("0")) for q in QUARTER_MONTHS]
        if len(quarters) != 4:
            raise field_error("quarters", _l("Give the four quarters (or the twelve months)."))
        if sum(quarters, Decimal("0")) != annual:
            raise field_error("quarters", _l("The quarters add up to %(sum)s, not to the annual amount %(annual)s.",
                                             sum=f"{sum(quarters):,.2f}", annual=f"{annual:,.2f}"))
        for number, q in enumerate(QUARTER_MONTHS):
            if months and sum((months[m] for m in q), Decimal("0")) != quarters[number]:
                raise field_error("months", _l("The months of Q%(q)s do not add up to that quarter.", q=number + 1))
        self.quarters, self.months = quarters, months


@approvable(_l("Budget increase"))
class BudgetIncrease(ApprovableDocument):
    """More money for a budget line, approved before anyone spends over it (FSS 7(3)2)."""

    meta = {"collection": "budget_increases", "indexes": ["budget", "owner_unit", "status"],
            "ordering": ["-created_at"]}

    summary_fields = ("budget", "amount", "reason")

    budget = ReferenceField(Budget, required=True, reverse_delete_rule=DENY, verbose_name=_l("Budget line"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    reason = StringField(required=True, max_length=2000, verbose_name=_l("Reason"))
    requested_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Requested by"))

    def __str__(self) -> str:
        return f"{self.budget} +{money(self.amount):,.2f}"

    def approval_amount(self):
        return self.amount

    def clean(self) -> None:
        if self.budget is not None:
            self.owner_unit = self.budget.owner_unit
            if self.budget.status != "approved":
                raise field_error("budget", _l("Only an approved budget line can be increased."))


class ExpenseItem(PortalEmbedded):
    """One receipt of a claim."""

    date = DateField(required=True, verbose_name=_l("Date"))
    place = StringField(max_length=100, verbose_name=_l("Place"))
    purpose = StringField(required=True, max_length=200, verbose_name=_l("Purpose"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    invoice_no = StringField(max_length=40, verbose_name=_l("Invoice no."))
    receipt = ReferenceField(Attachment, verbose_name=_l("Receipt"))


@owned_by_unit
@approvable(_l("Expense claim"))
class ExpenseClaim(ApprovableDocument):
    """A claim for money spent (BRD 8(2), FSS 7(2)): department head; branch leader above the major-expense
    threshold; Finance reviews the receipts; then it is paid and counts against its budget line."""

    meta = {"collection": "expense_claims",
            "indexes": ["claimant", "owner_unit", "budget", "status", "-created_at"],
            "ordering": ["-created_at"]}
    requester_field = "claimant"
    summary_fields = ("claimant", "owner_unit", "budget", "title", "total", "items")

    claimant = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Claimant"))
    title = StringField(required=True, max_length=120, verbose_name=_l("Purpose"))
    budget = ReferenceField(Budget, required=True, reverse_delete_rule=DENY, verbose_name=_l("Budget line"))
    items = ListField(EmbeddedDocumentField(ExpenseItem), max_length=100, verbose_name=_l("Items"))
    total = MoneyField(default=Decimal("0"), verbose_name=_l("Total (CNY)"))
    status = StringField(required=True, choices=CLAIM_STATUSES, default="draft", verbose_name=_l("Status"))
    paid_at = DateTimeField(verbose_name=_l("Paid at"))
    paid_by = StringField(max_length=64, verbose_name=_l("Paid by"))

    def __str__(self) -> str:
        return self.title or ""

    def approval_title(self) -> str:
        return f"{self.title} · ¥{money(self.total):,.2f}"

    def approval_amount(self):
        return self.total

    def clean(self) -> None:
        if self.claimant is not None:
            self.owner_unit = self.claimant.owner_unit
        self.total = sum((money(i.amount) for i in self.items or []), Decimal("0"))
        if not self.items:
            raise field_error("items", _l("Add at least one item."))
        budget = self.budget
        for number, item in enumerate(self.items):
            if budget is not None and item.date is not None and item.date.year != budget.year:
                raise field_error(f"items.{number}.date", _l("The date is outside the budget year %(year)s.",
                                                             year=budget.year))
            if item.date is not None and item.date > dt.date.today() + dt.timedelta(days=1):
                raise field_error(f"items.{number}.date", _l("The date cannot be in the future."))
        if budget is not None and self.owner_unit is not None:
            unit = self.owner_unit
            allowed = {unit.pk, *(unit.ancestors or [])}
            if budget.owner_unit is None or budget.owner_unit.pk not in allowed:
                raise field_error("budget", _l("Choose a budget line of the claimant's unit or of a unit above it."))
            if budget.status != "approved":
                raise field_error("budget", _l("This budget line is not approved yet."))

    def check_submittable(self, today) -> None:
        for number, item in enumerate(self.items or []):
            if item.receipt is None and not item.invoice_no:
                raise field_error(f"items.{number}.invoice_no",
                                  _l("Attach the receipt or give the invoice number of every item."))
