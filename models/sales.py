"""Sales (DOMAIN 3.3; BRD 4, DSC 3(3)-(4), SOC 3, FSS 2(5), 3(4)-(5), MIC 產品定價): plans, contracts with their
outsourcing teams and progress reports, the order ledger and work reports.

Contract stages after approval and order stages move only through portal.sales, each one conditional update.
"""

from decimal import Decimal

from bson import ObjectId
from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    BooleanField,
    DateField,
    DateTimeField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ObjectIdField,
    ReferenceField,
    StringField,
)

from models.approvals import DOC_STATUSES, DOC_TRANSITIONS, EDITABLE_STATUSES, ApprovableDocument, approvable
from models.common import (
    PERIOD_FORMATS,
    PERIOD_KINDS,
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalEmbedded,
    choices,
    field_error,
    money,
    period_bounds,
)
from models.customers import Customer
from models.files import Attachment
from models.org import Employee, OrgUnit, owned_by_unit
from models.products import AfterSalesTicket, Product, Shipment

CONTRACT_KINDS = choices(("sales", _l("Sales")), ("outsourcing", _l("Outsourcing service")))
CONTRACT_STATUSES = (*((k, _l("In legal review") if k == "pending" else v) for k, v in DOC_STATUSES),
                     ("signed", _l("Signed")), ("executing", _l("Executing")), ("completed", _l("Completed")),
                     ("terminated", _l("Terminated")))
DOC_TRANSITIONS.update({  # a contract's life after its review (SOC 3.3, FSS 3(4)4)
    "sign": (frozenset({"approved"}), "signed"),
    "execute": (frozenset({"signed"}), "executing"),
    "complete": (frozenset({"executing"}), "completed"),
    "terminate": (frozenset({"signed", "executing"}), "terminated"),
})
LIVE_CONTRACT = frozenset({"signed", "executing"})
ORDER_STAGES = choices(
    ("pending_review", _l("Pending review")), ("confirmed", _l("Confirmed")),
    ("in_production", _l("In production")), ("shipped", _l("Shipped")), ("delivered", _l("Delivered")),
    ("closed", _l("Closed")), ("cancelled", _l("Cancelled")),
)
SOLD_STAGES = ("confirmed", "in_production", "shipped", "delivered", "closed")  # what sales figures count
PRICE_STATUSES = (*((k, {"draft": _l("Not needed or not asked"), "pending": _l("Waiting for the department head"),
                         "approved": _l("Approved"), "rejected": _l("Refused")}.get(k, v)) for k, v in DOC_STATUSES),)


def _period_field(document) -> None:
    document.period = (document.period or "").strip().upper()
    if period_bounds(document.period_kind, document.period) is None:
        raise field_error("period", PERIOD_FORMATS.get(document.period_kind, PERIOD_FORMATS["month"]))


# ---- sales plans (BRD 4(1)) --------------------------------------------------------------------------------
class Allocation(PortalEmbedded):
    """The part of the plan a team or a salesperson carries (BRD 4(1)3)."""

    team = ReferenceField(OrgUnit, verbose_name=_l("Team"))
    salesperson = ReferenceField(Employee, verbose_name=_l("Salesperson"))
    amount_target = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Sales target (CNY)"))
    volume_target = IntField(min_value=0, max_value=10**9, verbose_name=_l("Volume target"))


@owned_by_unit
@approvable(_l("Sales plan"))
class SalesPlan(ApprovableDocument):
    """A monthly, quarterly or annual sales plan of a unit (BRD 4(1)); department head, then branch leader."""

    meta = {"collection": "sales_plans", "indexes": ["owner_unit", "status", "period", "drafted_by"],
            "ordering": ["-period"]}
    requester_field = "drafted_by"
    summary_fields = ("period_kind", "period", "owner_unit", "amount_target", "volume_target", "regions",
                      "categories", "strategy", "action_plan", "allocations")

    period_kind = StringField(required=True, choices=PERIOD_KINDS, default="month", verbose_name=_l("Period kind"))
    period = StringField(required=True, max_length=7, verbose_name=_l("Period"))
    drafted_by = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Drafted by"))
    amount_target = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Sales target (CNY)"))
    volume_target = IntField(min_value=0, max_value=10**9, verbose_name=_l("Volume target"))
    regions = ListField(StringField(max_length=64), verbose_name=_l("Regions"))
    categories = ListField(StringField(max_length=64), verbose_name=_l("Product categories"))
    strategy = StringField(required=True, max_length=5000, verbose_name=_l("Strategy"))
    action_plan = StringField(required=True, max_length=5000, verbose_name=_l("Action plan"))
    allocations = ListField(EmbeddedDocumentField(Allocation), verbose_name=_l("Allocations"))

    def __str__(self) -> str:
        return f"{self.period or ''} {getattr(self.owner_unit, 'name', '')}".strip()

    def approval_amount(self):
        return self.amount_target

    def clean(self) -> None:
        _period_field(self)
        if self.owner_unit is None and self.drafted_by is not None:
            self.owner_unit = self.drafted_by.owner_unit
        allocated, seen = Decimal("0"), set()
        for number, line in enumerate(self.allocations or []):
            if (line.team is None) == (line.salesperson is None):
                raise field_error(f"allocations.{number}.team", _l("Allocate to a team or to a salesperson, not both."))
            key = getattr(line.team or line.salesperson, "pk", None)
            if key in seen:
                raise field_error(f"allocations.{number}.team", _l("Each team or salesperson has one allocation."))
            seen.add(key)
            allocated += money(line.amount_target)
        if self.amount_target is not None and allocated > money(self.amount_target):
            raise field_error("allocations", _l("The allocations add up to %(sum)s, more than the target %(target)s.",
                                                sum=f"{allocated:,.2f}", target=f"{money(self.amount_target):,.2f}"))


class CreditChecked(ApprovableDocument):
    """A contract or order for a customer with a credit limit: what the customer owed when it was last saved or
    submitted, and whether this document takes them over the limit (DSC 6(2)3: then the department head approves).
    Set by portal.sales.refresh_credit; never typed."""

    meta = {"abstract": True}

    over_credit_limit = BooleanField(default=False, verbose_name=_l("Over the customer's credit limit"))
    credit_exposure = MoneyField(verbose_name=_l("Customer's open credit (CNY)"))


# ---- contracts (SOC 3.3-3.5, DSC 3(3), FSS 3(4)) -------------------------------------------------------------
@owned_by_unit
@approvable(_l("Contract"))
class Contract(Numbered, CreditChecked):
    """A sales or outsourcing-service contract: Legal reviews it before anyone signs (SOC 3.3, DSC 3(3)2);
    signed, it goes to operations and finance (DSC 3(3)3); near its end it is up for renewal (SOC 3.5)."""

    meta = {"collection": "contracts",
            "indexes": ["owner_unit", "customer", "status", "end", "owner",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}
    number_prefix = "HT"
    requester_field = "owner"
    summary_fields = ("number", "customer", "kind", "subject", "amount", "payment_terms", "delivery_terms", "start",
                      "end", "liabilities", "file")

    number = StringField(max_length=32, verbose_name=_l("Contract no."))
    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    kind = StringField(required=True, choices=CONTRACT_KINDS, default="sales", verbose_name=_l("Kind"))
    subject = StringField(required=True, max_length=500, verbose_name=_l("Subject"))
    amount = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Amount (CNY)"))
    payment_terms = StringField(required=True, max_length=2000, verbose_name=_l("Payment terms"))
    delivery_terms = StringField(required=True, max_length=2000, verbose_name=_l("Delivery terms"))
    start = DateField(required=True, verbose_name=_l("Start"))
    end = DateField(required=True, verbose_name=_l("End"))
    liabilities = StringField(required=True, max_length=5000, verbose_name=_l("Liability for breach"))
    file = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Contract file"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Salesperson"))
    status = StringField(required=True, choices=CONTRACT_STATUSES, default="draft", verbose_name=_l("Status"))
    signed_on = DateField(verbose_name=_l("Signed on"))
    signed_file = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Signed copy"))
    closed_on = DateField(verbose_name=_l("Completed or terminated on"))
    termination_reason = StringField(max_length=2000, verbose_name=_l("Reason for termination"))
    # outsourcing service (SOC 3.4): the dedicated team and how often the client gets a progress report
    team_leader = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Team leader"))
    team_members = ListField(ReferenceField(Employee), verbose_name=_l("Team members"))
    report_every_days = IntField(min_value=7, max_value=366, verbose_name=_l("Progress report every (days)"))
    renewal_reminded_on = DateField()
    report_reminded_for = DateField()

    def __str__(self) -> str:
        return f"{self.number or ''} {self.subject or ''}".strip()

    def approval_amount(self):
        return self.amount

    def clean(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise field_error("end", _l("The end cannot be before the start."))
        if self.owner_unit is None and self.owner is not None:
            self.owner_unit = self.owner.owner_unit
        if self.kind == "outsourcing":
            if self.team_leader is None:
                raise field_error("team_leader", _l("An outsourcing contract has a dedicated team: name its leader."))
            if not self.report_every_days:
                self.report_every_days = 30
        else:
            self.team_leader, self.team_members, self.report_every_days = None, [], None


class ClientProgressReport(OwnedDocument):
    """The outsourcing team's regular report to the client: sales, market feedback, issues (SOC 3.4)."""

    meta = {"collection": "client_reports", "indexes": ["owner_unit", "contract", "-period_end"],
            "ordering": ["-period_end"]}

    contract = ReferenceField(Contract, required=True, reverse_delete_rule=DENY, verbose_name=_l("Contract"))
    period_start = DateField(required=True, verbose_name=_l("Period from"))
    period_end = DateField(required=True, verbose_name=_l("Period to"))
    sales_figures = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Sales in the period (CNY)"))
    market_feedback = StringField(required=True, max_length=5000, verbose_name=_l("Market feedback"))
    issues = StringField(max_length=5000, verbose_name=_l("Issues"))
    sent_on = DateField(verbose_name=_l("Sent to the client on"))
    author = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Written by"))

    def __str__(self) -> str:
        return f"{self.contract.number if self.contract else ''} {self.period_start or ''} – {self.period_end or ''}"

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise field_error("period_end", _l("The end cannot be before the start."))
        if self.contract is not None:
            if self.contract.kind != "outsourcing":
                raise field_error("contract", _l("Progress reports belong to outsourcing-service contracts."))
            if self.contract.status not in LIVE_CONTRACT | {"completed"}:
                raise field_error("contract", _l("Report on a signed contract."))
            self.owner_unit = self.contract.owner_unit


# ---- the order ledger (BRD 4(3), DSC 3(4), MIC 產品定價) ---------------------------------------------------------
class OrderLine(PortalEmbedded):
    """Product, quantity and price; amount, the unit cost and the seller's floor price are filled in on save."""

    product = ReferenceField(Product, required=True, verbose_name=_l("Product"))
    quantity = IntField(required=True, min_value=1, max_value=10**7, verbose_name=_l("Quantity"))
    unit_price = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Unit price (CNY)"))
    amount = MoneyField(verbose_name=_l("Amount (CNY)"))
    unit_cost = MoneyField(verbose_name=_l("Unit cost (CNY)"))
    floor_price = MoneyField(verbose_name=_l("Price list (CNY)"))
    below_floor = BooleanField(default=False, verbose_name=_l("Below the price list"))
    category = StringField(max_length=64, verbose_name=_l("Category"))  # the product's, for the analysis
    derived_fields = ("amount", "unit_cost", "floor_price", "below_floor", "category")


class TrackingNote(PortalEmbedded):
    at = DateTimeField(required=True, verbose_name=_l("When"))
    by = StringField(max_length=64, verbose_name=_l("By"))
    text = StringField(required=True, max_length=2000, verbose_name=_l("Note"))


class Reservation(PortalEmbedded):
    """Units of one stock row held for this order since its confirmation."""

    stock_item = ObjectIdField(required=True)
    product = ObjectIdField(required=True)
    quantity = IntField(required=True)


@owned_by_unit
@approvable(_l("Order below the price list or over the credit limit"))
class SalesOrder(Numbered, CreditChecked):
    """One order of the ledger (BRD 4(3)1). `status` is the price approval: a line below the seller's tier price
    needs the department head before the order is confirmed (MIC 產品定價/2); `stage` is the order's progress."""

    meta = {"collection": "sales_orders",
            "indexes": ["owner_unit", "customer", "contract", "salesperson", "stage", "status", "-ordered_on",
                        "paid_on", {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-ordered_on", "-number"]}
    number_prefix = "DD"
    requester_field = "salesperson"
    summary_fields = ("number", "customer", "salesperson", "lines", "total", "discount")

    number = StringField(max_length=32, verbose_name=_l("Order no."))
    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    contract = ReferenceField(Contract, reverse_delete_rule=DENY, verbose_name=_l("Contract"))
    salesperson = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Salesperson"))
    cs_owner = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Customer service"))
    ordered_on = DateField(required=True, verbose_name=_l("Order date"))
    delivery_date = DateField(required=True, verbose_name=_l("Delivery date"))
    warehouse = StringField(max_length=64, verbose_name=_l("Ship from warehouse"))
    lines = ListField(EmbeddedDocumentField(OrderLine), verbose_name=_l("Lines"))
    total = MoneyField(verbose_name=_l("Total (CNY)"))
    cost_total = MoneyField(verbose_name=_l("Cost (CNY)"))
    discount = MoneyField(verbose_name=_l("Below the price list by (CNY)"))
    region = StringField(max_length=64, verbose_name=_l("Region"))
    status = StringField(required=True, choices=PRICE_STATUSES, default="draft", verbose_name=_l("Approval"))
    stage = StringField(required=True, choices=ORDER_STAGES, default="pending_review", verbose_name=_l("Stage"))
    confirmed_at = DateTimeField(verbose_name=_l("Confirmed at"))
    paid_on = DateField(verbose_name=_l("Paid on"))
    cancel_reason = StringField(max_length=2000, verbose_name=_l("Reason for cancelling"))
    tracking = ListField(EmbeddedDocumentField(TrackingNote), verbose_name=_l("Tracking notes"))
    reservations = ListField(EmbeddedDocumentField(Reservation))
    timeline_date = "ordered_on"

    def __str__(self) -> str:
        return self.number or ""

    @property
    def editable(self) -> bool:
        return self.stage == "pending_review" and self.status in EDITABLE_STATUSES

    @property
    def needs_price_approval(self) -> bool:
        return any(line.below_floor for line in self.lines or [])

    @property
    def needs_approval(self) -> bool:
        """Below the price list (MIC 產品定價/2) or over the customer's credit limit (DSC 6(2)3)."""
        return self.needs_price_approval or bool(self.over_credit_limit)

    @property
    def gross_profit(self) -> Decimal | None:
        return None if self.total is None or self.cost_total is None else money(self.total) - money(self.cost_total)

    def clean(self) -> None:
        if self.delivery_date and self.ordered_on and self.delivery_date < self.ordered_on:
            raise field_error("delivery_date", _l("Delivery cannot be before the order date."))
        if self.contract is not None and self.customer is not None:
            if self.contract.customer is None or self.contract.customer.pk != self.customer.pk:
                raise field_error("contract", _l("This contract is with another customer."))
            if self.contract.status not in LIVE_CONTRACT and self._created:
                raise field_error("contract", _l("Orders are placed under a signed contract."))
        if self.customer is not None:
            self.region = self.customer.region
        if self.owner_unit is None and self.salesperson is not None:
            self.owner_unit = self.salesperson.owner_unit
        if not self.lines:
            raise field_error("lines", _l("An order has at least one line."))
        if self.editable or self.total is None or any(line.amount is None for line in self.lines):
            self.price_lines()

    def price_lines(self) -> None:
        """Amounts, cost and the seller's price list on every line; lines below it need approval."""
        tier = getattr(self.salesperson, "agent_tier", None) if self.salesperson is not None else None
        tier_id = getattr(tier, "pk", tier if isinstance(tier, ObjectId) else None)
        total = cost = discount = Decimal("0")
        seen = set()
        for number, line in enumerate(self.lines):
            product = line.product
            if product is None:
                continue
            if product.pk in seen:
                raise field_error(f"lines.{number}.product", _l("This product is already on the order."))
            seen.add(product.pk)
            if not product.active:
                raise field_error(f"lines.{number}.product", _l("This product is no longer on sale."))
            quantity, price = line.quantity or 0, money(line.unit_price)
            line.amount = price * quantity
            line.unit_cost = money(product.unit_cost)
            line.floor_price = money(product.floor_price(tier_id))
            line.below_floor = price < line.floor_price
            line.category = product.category
            total += line.amount
            cost += line.unit_cost * quantity
            if line.below_floor:
                discount += (line.floor_price - price) * quantity
        self.total, self.cost_total, self.discount = total, cost, discount

    def approval_amount(self):
        return self.discount

    def check_submittable(self, today) -> None:
        if not self.needs_approval:
            raise field_error("lines", _l("No line is below the price list and the customer is within the credit "
                                          "limit: confirm the order directly."))


SalesOrder.register_delete_rule(Shipment, "order", DENY)
SalesOrder.register_delete_rule(AfterSalesTicket, "order", DENY)


# ---- work reports (FSS 2(5)) -------------------------------------------------------------------------------
@owned_by_unit
class WorkReport(OwnedDocument):
    """A salesperson's regular report to their superior: customers, negotiations, contracts, receivables and
    lessons (FSS 2(5)); the superior acknowledges it with a comment."""

    meta = {"collection": "work_reports", "indexes": ["owner_unit", "salesperson", "period"],
            "ordering": ["-period"]}

    salesperson = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Salesperson"))
    period_kind = StringField(required=True, choices=PERIOD_KINDS, default="month", verbose_name=_l("Period kind"))
    period = StringField(required=True, max_length=7, verbose_name=_l("Period"))
    customers_developed = IntField(required=True, min_value=0, max_value=100000,
                                   verbose_name=_l("Customers developed"))
    negotiations = IntField(required=True, min_value=0, max_value=100000, verbose_name=_l("Negotiations"))
    contracts_signed = IntField(required=True, min_value=0, max_value=100000, verbose_name=_l("Contracts signed"))
    receivables = MoneyField(min_value=Decimal("0"), verbose_name=_l("Receivables outstanding (CNY)"))
    summary = StringField(required=True, max_length=5000, verbose_name=_l("Summary"))
    lessons = StringField(max_length=5000, verbose_name=_l("Lessons learned"))
    improvements = StringField(max_length=5000, verbose_name=_l("Proposed improvements"))
    reviewed_by = StringField(max_length=64, verbose_name=_l("Acknowledged by"))
    review_comment = StringField(max_length=2000, verbose_name=_l("Superior's comment"))
    reviewed_at = DateTimeField(verbose_name=_l("Acknowledged at"))

    def __str__(self) -> str:
        return f"{self.period or ''} {getattr(self.salesperson, 'name', '')}".strip()

    def clean(self) -> None:
        _period_field(self)
        if self.salesperson is not None:
            self.owner_unit = self.salesperson.owner_unit
        clash = type(self).objects(salesperson=getattr(self.salesperson, "pk", None), period=self.period,
                                   pk__ne=self.pk).only("id").first()
        if clash is not None:
            raise field_error("period", _l("There is already a report for this period."))
