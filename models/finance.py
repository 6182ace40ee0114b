"""Finance (DOMAIN 3.6; DSC 5, BRD 8, SOC 6, FSS 7, MIC 財務管理): budget lines, budget increases, expense
standards, expense plans, expense claims and fund reconciliations."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    BooleanField,
    DateField,
    DateTimeField,
    Document,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.agents import AgentTier
from models.approvals import DOC_STATUSES, ApprovableDocument, approvable
from models.common import (
    PERIOD_FORMATS,
    PERIOD_KINDS,
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalDocument,
    PortalEmbedded,
    choice_label,
    choices,
    field_error,
    from_fen,
    money,
    period_bounds,
)
from models.files import Attachment
from models.org import Employee, Position, owned_by_unit

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
CAP_UNITS = choices(("item", _l("Per item")), ("day", _l("Per day")), ("trip", _l("Per trip (claim)")))
RECONCILIATION_STATES = choices(("open", _l("Open")), ("reviewed", _l("Reviewed")))
ACCOUNT_KINDS = choices(("bank", _l("Bank account")), ("cash", _l("Cash on hand")))
LOWEST = Decimal("-9999999999.99")  # balances and differences may be negative


def ref_id(value):
    """The id a reference holds, without reading the referenced record (a Document, DBRef or ObjectId)."""
    if value is None or isinstance(value, Document):
        return getattr(value, "pk", None)
    return getattr(value, "id", value)


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


class ExpenseStandard(PortalDocument):
    """A reimbursement cap of one budget category, per item, day or trip, for everyone, one staff grade or one
    agent tier (MIC 財務管理/費用管理/1, SOC 6.4); Finance keeps them, everyone reads them."""

    meta = {"collection": "expense_standards", "indexes": [["category", "active"], "agent_tier"],
            "ordering": ["category", "per"]}

    category = StringField(required=True, choices=BUDGET_CATEGORIES, verbose_name=_l("Category"))
    grade = StringField(max_length=32, verbose_name=_l("Staff grade"))
    agent_tier = ReferenceField(AgentTier, reverse_delete_rule=DENY, verbose_name=_l("Agent tier"))
    per = StringField(required=True, choices=CAP_UNITS, default="item", verbose_name=_l("Cap applies"))
    cap = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Cap (CNY)"))
    note = StringField(max_length=500, verbose_name=_l("Note"))
    active = BooleanField(default=True, verbose_name=_l("Active"))

    def __str__(self) -> str:
        return f"{choice_label(BUDGET_CATEGORIES, self.category)} {choice_label(CAP_UNITS, self.per)} ¥{self.cap}"

    def clean(self) -> None:
        self.grade = (self.grade or "").strip().upper() or None
        if self.grade and self.agent_tier is not None:
            raise field_error("agent_tier", _l("A standard is for a staff grade or for an agent tier, not both."))
        if self.grade and not Position.objects(grade__iexact=self.grade).only("id").first():
            raise field_error("grade", _l("No position has the grade %(grade)s.", grade=self.grade))
        if self.active:
            clash = type(self).objects(category=self.category, per=self.per, grade=self.grade,
                                       agent_tier=ref_id(self._data.get("agent_tier")), active=True,
                                       pk__ne=self.pk).only("id").first()
            if clash is not None:
                raise field_error("per", _l("An active standard for this category, cap and group exists already."))

    @classmethod
    def caps_for(cls, category: str | None, claimant) -> dict[str, tuple[Decimal, object]]:
        """The cap per item, day and trip that applies to `claimant` in `category`: the agent tier's standard,
        else the staff grade's, else the general one (one query; a second only when a grade standard exists)."""
        if not category or claimant is None:
            return {}
        rows = list(cls._get_collection().find({"category": category, "active": True},
                                               {"per": 1, "cap": 1, "grade": 1, "agent_tier": 1}))
        tier = ref_id(claimant._data.get("agent_tier"))
        grade = None
        if any(row.get("grade") for row in rows) and claimant._data.get("position") is not None:
            position = Position._get_collection().find_one({"_id": ref_id(claimant._data["position"])}, {"grade": 1})
            grade = ((position or {}).get("grade") or "").strip().upper() or None
        caps = {}
        for per, _label in CAP_UNITS:
            mine = [row for row in rows if row.get("per") == per]
            chosen = (next((r for r in mine if tier is not None and r.get("agent_tier") == tier), None)
                      or next((r for r in mine if grade and r.get("grade") == grade), None)
                      or next((r for r in mine if not r.get("grade") and not r.get("agent_tier")), None))
            if chosen is not None:
                caps[per] = (from_fen(chosen["cap"]), chosen["_id"])
        return caps


class PlanLine(PortalEmbedded):
    """One planned expense: what for, how much, when (FSS 7(1)2)."""

    category = StringField(required=True, choices=BUDGET_CATEGORIES, verbose_name=_l("Category"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    planned_on = DateField(required=True, verbose_name=_l("Planned date"))
    purpose = StringField(required=True, max_length=200, verbose_name=_l("Purpose"))


@owned_by_unit
@approvable(_l("Expense plan"))
class ExpensePlan(Numbered, ApprovableDocument):
    """A salesperson's spending plan for a period, itemised by amount, timing and purpose, approved by the
    department head (FSS 7(1)); claims may name it and are set against it per category."""

    meta = {"collection": "expense_plans",
            "indexes": ["owner_unit", "salesperson", "status", "period",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-period"]}
    number_prefix = "FY"
    requester_field = "salesperson"
    summary_fields = ("number", "salesperson", "period", "total", "lines", "note")

    number = StringField(max_length=32, verbose_name=_l("Number"))
    salesperson = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Salesperson"))
    period_kind = StringField(required=True, choices=PERIOD_KINDS, default="month", verbose_name=_l("Period kind"))
    period = StringField(required=True, max_length=7, verbose_name=_l("Period"))
    lines = ListField(EmbeddedDocumentField(PlanLine), max_length=100, verbose_name=_l("Lines"))
    total = MoneyField(default=Decimal("0"), verbose_name=_l("Total (CNY)"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.period or ''}".strip()

    def approval_title(self) -> str:
        return f"{self} · ¥{money(self.total):,.2f}"

    def approval_amount(self):
        return self.total

    def clean(self) -> None:
        if self.salesperson is not None:
            self.owner_unit = self.salesperson.owner_unit
        self.period = (self.period or "").strip().upper()
        bounds = period_bounds(self.period_kind, self.period)
        if bounds is None:
            raise field_error("period", PERIOD_FORMATS.get(self.period_kind, PERIOD_FORMATS["month"]))
        if not self.lines:
            raise field_error("lines", _l("Add at least one planned expense."))
        for number, line in enumerate(self.lines):
            if line.planned_on is not None and not bounds[0] <= line.planned_on <= bounds[1]:
                raise field_error(f"lines.{number}.planned_on", _l("Plan the date within the period %(period)s.",
                                                                   period=self.period))
        self.total = sum((money(line.amount or 0) for line in self.lines), Decimal("0"))
        if self.salesperson is not None:
            same = type(self).objects(salesperson=self.salesperson.pk, period_kind=self.period_kind,
                                      period=self.period, status__ne="rejected", pk__ne=self.pk).only("number").first()
            if same is not None:
                raise field_error("period", _l("Plan %(number)s already covers this period.", number=same.number))


class ExpenseItem(PortalEmbedded):
    """One receipt of a claim; one above the applicable expense standard is flagged on save and needs a reason."""

    date = DateField(required=True, verbose_name=_l("Date"))
    place = StringField(max_length=100, verbose_name=_l("Place"))
    purpose = StringField(required=True, max_length=200, verbose_name=_l("Purpose"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    invoice_no = StringField(max_length=40, verbose_name=_l("Invoice no."))
    receipt = ReferenceField(Attachment, verbose_name=_l("Receipt"))
    excess_reason = StringField(max_length=500, verbose_name=_l("Reason for the excess"))
    over_cap = BooleanField(default=False, verbose_name=_l("Above the standard"))
    cap = MoneyField(verbose_name=_l("Standard (CNY)"))
    cap_per = StringField(choices=CAP_UNITS, verbose_name=_l("Standard applies"))
    derived_fields = ("over_cap", "cap", "cap_per")


_CAP_MESSAGES = {
    "item": lambda cap: _l("This item is above the standard of ¥%(cap)s per item: give the reason for the excess.",
                           cap=cap),
    "day": lambda cap: _l("The items of this day are above the standard of ¥%(cap)s per day: give the reason for "
                          "the excess.", cap=cap),
    "trip": lambda cap: _l("The claim is above the standard of ¥%(cap)s per trip: give the reason for the excess.",
                           cap=cap),
}


def flag_items(items, caps: dict) -> None:
    """Mark the items above the caps (MIC 財務管理/費用管理/1, SOC 6.4). An item cap looks at each item; a day cap
    at the sum of the items of one date, a trip cap at the whole claim: the item that takes the running sum
    (in the claim's order) over the cap is flagged, and every later item of that day or claim."""
    for item in items:
        item.over_cap, item.cap, item.cap_per = False, None, None
    groups = {"item": [[item] for item in items], "trip": [list(items)], "day": {}}
    for item in items:
        groups["day"].setdefault(item.date, []).append(item)
    groups["day"] = list(groups["day"].values())
    for per in ("item", "day", "trip"):  # the narrowest cap names the flag
        if per not in caps:
            continue
        cap = caps[per][0]
        for group in groups[per]:
            running = Decimal("0")
            for item in group:
                running += money(item.amount or 0)
                if running > cap and not item.over_cap:
                    item.over_cap, item.cap, item.cap_per = True, cap, per


@owned_by_unit
@approvable(_l("Expense claim"))
class ExpenseClaim(ApprovableDocument):
    """A claim for money spent (BRD 8(2), FSS 7(2)): department head; branch leader above the major-expense
    threshold; Finance reviews the receipts; then it is paid and counts against its budget line."""

    meta = {"collection": "expense_claims",
            "indexes": ["claimant", "owner_unit", "budget", "status", "-created_at"],
            "ordering": ["-created_at"]}
    requester_field = "claimant"
    summary_fields = ("claimant", "owner_unit", "budget", "plan", "title", "total", "over_standard", "items")

    claimant = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Claimant"))
    title = StringField(required=True, max_length=120, verbose_name=_l("Purpose"))
    budget = ReferenceField(Budget, required=True, reverse_delete_rule=DENY, verbose_name=_l("Budget line"))
    category = StringField(choices=BUDGET_CATEGORIES, verbose_name=_l("Category"))  # the budget line's, copied
    plan = ReferenceField(ExpensePlan, reverse_delete_rule=DENY, verbose_name=_l("Expense plan"))
    items = ListField(EmbeddedDocumentField(ExpenseItem), max_length=100, verbose_name=_l("Items"))
    total = MoneyField(default=Decimal("0"), verbose_name=_l("Total (CNY)"))
    over_standard = BooleanField(default=False, verbose_name=_l("Above the standard"))
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
        self._check_plan()
        self._apply_standards()

    def _check_plan(self) -> None:
        """A claim may name an approved expense plan of its claimant (FSS 7(1)2)."""
        plan = self.plan
        if plan is None:
            return
        if plan.status != "approved":
            raise field_error("plan", _l("Choose an approved expense plan."))
        if ref_id(plan._data.get("salesperson")) != getattr(self.claimant, "pk", None):
            raise field_error("plan", _l("Choose an expense plan of the claimant."))

    def _apply_standards(self) -> None:
        """Every item belongs to the budget line's category; items above that category's standard are flagged
        and need a reason (MIC 財務管理/費用管理/1, SOC 6.4). A fixed number of queries for any number of items."""
        self.category = self.budget.category if self.budget is not None else None
        items = self.items or []
        flag_items(items, ExpenseStandard.caps_for(self.category, self.claimant))
        self.over_standard = any(item.over_cap for item in items)
        for number, item in enumerate(items):
            if item.over_cap and not (item.excess_reason or "").strip():
                raise field_error(f"items.{number}.excess_reason", _CAP_MESSAGES[item.cap_per](f"{item.cap:,.2f}"))

    def check_submittable(self, today) -> None:
        for number, item in enumerate(self.items or []):
            if item.receipt is None and not item.invoice_no:
                raise field_error(f"items.{number}.invoice_no",
                                  _l("Attach the receipt or give the invoice number of every item."))


@owned_by_unit
class FundReconciliation(Numbered, OwnedDocument):
    """A cash count or bank reconciliation: book balance against the counted or bank balance; a difference is
    explained, and another member of Finance reviews it (DSC 5(4)2)."""

    meta = {"collection": "fund_reconciliations",
            "indexes": ["owner_unit", "status", "-reconciled_on", "account",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-reconciled_on"]}
    number_prefix = "DZ"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    account_kind = StringField(required=True, choices=ACCOUNT_KINDS, default="bank", verbose_name=_l("Kind"))
    account = StringField(required=True, max_length=120, verbose_name=_l("Account"))
    reconciled_on = DateField(required=True, verbose_name=_l("Date"))
    book_balance = MoneyField(required=True, min_value=LOWEST, verbose_name=_l("Book balance (CNY)"))
    actual_balance = MoneyField(required=True, min_value=LOWEST, verbose_name=_l("Counted or bank balance (CNY)"))
    difference = MoneyField(min_value=LOWEST, verbose_name=_l("Difference (CNY)"))
    explanation = StringField(max_length=2000, verbose_name=_l("Explanation of the difference"))
    statement = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Statement or count sheet"))
    prepared_by = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Prepared by"))
    status = StringField(required=True, choices=RECONCILIATION_STATES, default="open", verbose_name=_l("Status"))
    reviewed_by = StringField(max_length=64, verbose_name=_l("Reviewed by"))
    reviewed_at = DateTimeField(verbose_name=_l("Reviewed at"))
    review_note = StringField(max_length=1000, verbose_name=_l("Reviewer's note"))

    def __str__(self) -> str:
        return " ".join(str(p) for p in (self.number, self.account, self.reconciled_on) if p)

    def clean(self) -> None:
        if self.book_balance is not None and self.actual_balance is not None:
            self.difference = money(self.actual_balance) - money(self.book_balance)
        if self.reconciled_on is not None and self.reconciled_on > dt.date.today() + dt.timedelta(days=1):
            raise field_error("reconciled_on", _l("The date cannot be in the future."))
        if self.prepared_by is None:
            raise field_error("prepared_by", _l("Your login is not linked to an employee record."))
