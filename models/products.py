"""Products, stock and logistics (DOMAIN 3.4; DSC 3(4), 5(3)2, MIC 產品管理, 物流管理, 售后服務管理).

Stock moves only through portal.products (reservation on order confirmation, deduction on shipment, holds
after a failed inspection): each is one conditional update, so two orders never take the same unit.
"""

import datetime as dt
from decimal import Decimal

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
    ReferenceField,
    StringField,
)

from models.agents import AgentTier
from models.common import (
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalDocument,
    PortalEmbedded,
    choices,
    field_error,
)
from models.customers import SATISFACTION, Customer
from models.files import Attachment
from models.org import Employee, owned_by_unit

UNITS = choices(("piece", _l("Piece")), ("box", _l("Box")), ("set", _l("Set")), ("kg", _l("kg")),
                ("bottle", _l("Bottle")), ("service", _l("Service")))
DISPOSALS = choices(("keep", _l("Keep selling")), ("promote", _l("Promote")), ("discount", _l("Sell at a discount")),
                    ("return_to_supplier", _l("Return to supplier")), ("scrap", _l("Scrap")))
SELECTION = choices(("tender", _l("Tender")), ("quotation", _l("Price inquiry")), ("negotiation", _l("Negotiation")))
STAGES = choices(("incoming", _l("Incoming material")), ("in_process", _l("In process")),
                 ("outgoing", _l("Outgoing goods")))
RESULTS = choices(("pass", _l("Pass")), ("fail", _l("Fail")))
QC_DISPOSALS = choices(("rework", _l("Rework and re-inspect")), ("return_to_supplier", _l("Return to supplier")),
                       ("scrap", _l("Scrap")), ("concession", _l("Accepted on concession")))
SHIPMENT_STATES = choices(("preparing", _l("Preparing")), ("shipped", _l("Shipped")),
                          ("delivered", _l("Delivered")), ("exception", _l("Exception")),
                          ("cancelled", _l("Cancelled")))
TICKET_KINDS = choices(("return", _l("Quality: return")), ("exchange", _l("Quality: exchange")),
                       ("support", _l("Usage: technical support")))
TICKET_STATES = choices(("open", _l("Open")), ("in_progress", _l("In progress")), ("resolved", _l("Resolved")),
                        ("closed", _l("Closed")))
TAKE_STATES = choices(("counting", _l("Counting")), ("reviewed", _l("Reviewed")), ("posted", _l("Posted to stock")))


# ---- products and prices (MIC 產品選擇, 產品定價) --------------------------------------------------------------
class TierPrice(PortalEmbedded):
    """The price an agent of this tier sells at, and may not go below without approval (MIC 產品定價/2)."""

    tier = ReferenceField(AgentTier, required=True, verbose_name=_l("Agent tier"))
    price = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Price (CNY)"))


class Product(PortalDocument):
    """A product of the range: prices for each tier, the unit cost for gross profit (BRD 4(4)1), its quality
    standard (MIC 產品選擇/1)."""

    meta = {"collection": "products", "indexes": ["category", "active", "name"], "ordering": ["code"]}

    code = StringField(required=True, unique=True, max_length=32, regex=r"^[A-Za-z0-9_.\-]+$",
                       verbose_name=_l("Product code"))
    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    category = StringField(required=True, max_length=64, verbose_name=_l("Category"))
    spec = StringField(max_length=200, verbose_name=_l("Specification"))
    unit = StringField(required=True, choices=UNITS, default="piece", verbose_name=_l("Unit of measure"))
    standard_price = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Standard price (CNY)"))
    unit_cost = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Unit cost (CNY)"))
    tier_prices = ListField(EmbeddedDocumentField(TierPrice), verbose_name=_l("Agent tier prices"))
    quality_standard = StringField(max_length=500, verbose_name=_l("Quality standard"))
    active = BooleanField(default=True, verbose_name=_l("On sale"))

    def __str__(self) -> str:
        return f"{self.code} {self.name}" if self.code else (self.name or "")

    def clean(self) -> None:
        self.code = (self.code or "").strip().upper()
        tiers = [getattr(line.tier, "pk", None) for line in self.tier_prices or []]
        if len(tiers) != len(set(tiers)):
            raise field_error("tier_prices", _l("Each tier has one price."))

    def floor_price(self, tier_id) -> Decimal | None:
        """The lowest unit price a seller of `tier_id` (None: staff) may offer without approval."""
        for line in self.tier_prices or []:
            if tier_id is not None and getattr(line.tier, "pk", None) == tier_id:
                return line.price
        return self.standard_price


# ---- stock (DSC 3(4)2, 5(3)2, MIC 產品庫存管理) -------------------------------------------------------------
@owned_by_unit
class StockItem(OwnedDocument):
    """One batch of a product in one warehouse. `available` is on hand minus reserved, kept by the same
    conditional updates that move stock; a held batch offers nothing and cannot ship."""

    meta = {"collection": "stock_items",
            "indexes": [{"fields": ["product", "warehouse", "batch"], "unique": True}, "warehouse", "owner_unit",
                        "replenish", "overstock", "held", ["product", "held", "available"]],
            "ordering": ["warehouse", "product"]}

    product = ReferenceField(Product, required=True, reverse_delete_rule=DENY, verbose_name=_l("Product"))
    warehouse = StringField(required=True, max_length=64, verbose_name=_l("Warehouse"))
    batch = StringField(max_length=64, default="", verbose_name=_l("Batch"))
    quantity = IntField(required=True, min_value=0, max_value=10**9, default=0, verbose_name=_l("On hand"))
    reserved = IntField(default=0, min_value=0, verbose_name=_l("Reserved for orders"))
    available = IntField(default=0, verbose_name=_l("Available"))
    reorder_level = IntField(min_value=0, max_value=10**9, default=0, verbose_name=_l("Reorder level"))
    max_level = IntField(min_value=0, max_value=10**9, verbose_name=_l("Maximum level"))
    replenish = BooleanField(default=False, verbose_name=_l("Replenish"))
    overstock = BooleanField(default=False, verbose_name=_l("Overstock"))
    held = BooleanField(default=False, verbose_name=_l("Held (failed inspection)"))
    received_on = DateField(verbose_name=_l("Received on"))
    last_shipped_on = DateField(verbose_name=_l("Last shipped on"))
    disposal = StringField(choices=DISPOSALS, verbose_name=_l("Disposal decision"))
    disposal_note = StringField(max_length=1000, verbose_name=_l("Disposal note"))
    flag_reminded_on = DateField()
    flags = None  # the flags as labels, for display (views.products)

    def __str__(self) -> str:
        batch = f" [{self.batch}]" if self.batch else ""
        return f"{self.product.code if self.product else ''} @ {self.warehouse}{batch}"

    def clean(self) -> None:
        self.warehouse = (self.warehouse or "").strip()
        self.batch = (self.batch or "").strip()
        if self.quantity is not None and self.quantity < (self.reserved or 0):
            raise field_error("quantity", _l("%(reserved)s are reserved for confirmed orders: on hand cannot be less.",
                                             reserved=self.reserved))
        if self.max_level is not None and self.reorder_level is not None and self.max_level < self.reorder_level:
            raise field_error("max_level", _l("The maximum cannot be below the reorder level."))
        if self.disposal and self.disposal != "keep" and not (self.disposal_note or "").strip():
            raise field_error("disposal_note", _l("Record who decided the disposal and how."))
        self.available, self.replenish, self.overstock = stock_flags(self._data)

    def slow_moving(self, today: dt.date, days: int) -> bool:
        """Nothing shipped for `days` (or never since it came in) while stock is on hand (MIC 產品庫存管理/3)."""
        last = self.last_shipped_on or self.received_on or (self.created_at.date() if self.created_at else None)
        return bool(self.quantity) and last is not None and (today - last).days >= days


def stock_flags(raw: dict) -> tuple[int, bool, bool]:
    """(available, replenish, overstock) of a stock row as stored or as edited."""
    quantity, reserved = raw.get("quantity") or 0, raw.get("reserved") or 0
    available = 0 if raw.get("held") else quantity - reserved
    reorder, maximum = raw.get("reorder_level") or 0, raw.get("max_level")
    return available, quantity - reserved < reorder, maximum is not None and quantity > maximum


class TakeLine(PortalEmbedded):
    """Book against counted quantity of one product; the variance is derived."""

    product = ReferenceField(Product, required=True, verbose_name=_l("Product"))
    batch = StringField(max_length=64, default="", verbose_name=_l("Batch"))
    book_quantity = IntField(min_value=0, verbose_name=_l("Book quantity"))
    counted_quantity = IntField(required=True, min_value=0, max_value=10**9, verbose_name=_l("Counted quantity"))
    variance = IntField(verbose_name=_l("Variance"))
    explanation = StringField(max_length=500, verbose_name=_l("Explanation"))
    derived_fields = ("book_quantity", "variance")  # the books are read from stock, never typed


@owned_by_unit
class StockTake(Numbered, OwnedDocument):
    """A periodic count of one warehouse that keeps books equal to physical stock (MIC 產品庫存管理/2)."""

    meta = {"collection": "stock_takes", "indexes": ["owner_unit", "warehouse", "state",
                                                     {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-taken_on"]}
    number_prefix = "PD"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    warehouse = StringField(required=True, max_length=64, verbose_name=_l("Warehouse"))
    taken_on = DateField(required=True, verbose_name=_l("Date"))
    lines = ListField(EmbeddedDocumentField(TakeLine), verbose_name=_l("Lines"))
    counted_by = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Counted by"))
    reviewed_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Reviewed by"))
    state = StringField(required=True, choices=TAKE_STATES, default="counting", verbose_name=_l("State"))
    net_variance = IntField(verbose_name=_l("Net variance"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.warehouse or ''}".strip()

    def clean(self) -> None:
        self.warehouse = (self.warehouse or "").strip()
        keys = set()
        for number, line in enumerate(self.lines or []):
            key = (getattr(line.product, "pk", None), (line.batch or "").strip())
            if key in keys:
                raise field_error(f"lines.{number}.product", _l("This product and batch is counted twice."))
            keys.add(key)
            line.batch = key[1]
            line.variance = (line.counted_quantity or 0) - (line.book_quantity or 0)
            if line.variance and not (line.explanation or "").strip() and self.state != "counting":
                raise field_error(f"lines.{number}.explanation", _l("Explain the difference before the review."))
        self.net_variance = sum(line.variance for line in self.lines or [])
        if self.state != "counting":
            if self.reviewed_by is None:
                raise field_error("reviewed_by", _l("A reviewed count names its reviewer."))
            if self.counted_by is not None and self.reviewed_by.pk == self.counted_by.pk:
                raise field_error("reviewed_by", _l("The reviewer cannot be the person who counted."))


# ---- suppliers and quality (DSC 5(3)2, MIC 產品質量控制) -------------------------------------------------------
class Quote(PortalEmbedded):
    product = ReferenceField(Product, verbose_name=_l("Product"))
    item = StringField(max_length=200, verbose_name=_l("Item"))
    price = MoneyField(required=True, min_value=Decimal("0"), verbose_name=_l("Price (CNY)"))
    quoted_on = DateField(required=True, verbose_name=_l("Quoted on"))
    valid_until = DateField(verbose_name=_l("Valid until"))


class Evaluation(PortalEmbedded):
    """A periodic evaluation (of a supplier's material or a carrier's service) on a 1-5 scale."""

    evaluated_on = DateField(required=True, verbose_name=_l("Date"))
    score = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Score (1-5)"))
    quality_score = IntField(min_value=1, max_value=5, verbose_name=_l("Quality (1-5)"))
    notes = StringField(max_length=1000, verbose_name=_l("Notes"))
    evaluated_by = StringField(max_length=64, verbose_name=_l("Evaluated by"))


class Partner(PortalDocument):
    """A company the business buys from or ships with, evaluated periodically on a 1-5 scale."""

    meta = {"abstract": True, "indexes": ["name"], "ordering": ["name"]}

    name = StringField(required=True, unique=True, max_length=120, verbose_name=_l("Name"))
    contact_person = StringField(max_length=64, verbose_name=_l("Contact person"))
    phone = StringField(max_length=32, regex=r"^[0-9+\- ()]*$", verbose_name=_l("Phone"))
    evaluations = ListField(EmbeddedDocumentField(Evaluation), verbose_name=_l("Evaluations"))
    active = BooleanField(default=True, verbose_name=_l("Active"))

    def __str__(self) -> str:
        return self.name or ""

    @property
    def rating(self) -> float | None:
        """The average score of the evaluations."""
        scores = [e.score for e in self.evaluations or [] if e.score]
        return round(sum(scores) / len(scores), 1) if scores else None


class Supplier(Partner):
    """A supplier chosen by tender or price inquiry, with its quotes and evaluations (DSC 5(3)2, MIC 產品質量控制/2)."""

    meta = {"collection": "suppliers"}

    address = StringField(max_length=200, verbose_name=_l("Address"))
    products = ListField(ReferenceField(Product), verbose_name=_l("Products supplied"))
    selected_by = StringField(required=True, choices=SELECTION, default="quotation", verbose_name=_l("Selected by"))
    quotes = ListField(EmbeddedDocumentField(Quote), verbose_name=_l("Quotes"))

    def clean(self) -> None:
        for number, quote in enumerate(self.quotes or []):
            if quote.product is None and not (quote.item or "").strip():
                raise field_error(f"quotes.{number}.item", _l("Name the product or the item quoted."))
            if quote.valid_until and quote.quoted_on and quote.valid_until < quote.quoted_on:
                raise field_error(f"quotes.{number}.valid_until", _l("The end cannot be before the start."))


@owned_by_unit
class QualityInspection(Numbered, OwnedDocument):
    """An inspection along the chain (MIC 產品質量控制/1); a failed batch is held in stock until its disposal is
    recorded, so it never reaches a customer (/3)."""

    meta = {"collection": "inspections", "indexes": ["owner_unit", "product", "batch", "result",
                                                     {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-inspected_on"]}
    number_prefix = "QC"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    product = ReferenceField(Product, required=True, reverse_delete_rule=DENY, verbose_name=_l("Product"))
    batch = StringField(required=True, max_length=64, verbose_name=_l("Batch"))
    stage = StringField(required=True, choices=STAGES, default="incoming", verbose_name=_l("Stage"))
    supplier = ReferenceField(Supplier, reverse_delete_rule=NULLIFY, verbose_name=_l("Supplier"))
    inspector = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Inspector"))
    inspected_on = DateField(required=True, verbose_name=_l("Date"))
    result = StringField(required=True, choices=RESULTS, verbose_name=_l("Result"))
    defects = StringField(max_length=2000, verbose_name=_l("Defects"))
    disposal = StringField(choices=QC_DISPOSALS, verbose_name=_l("Disposal"))
    disposal_note = StringField(max_length=1000, verbose_name=_l("Disposal note"))
    disposed_by = StringField(max_length=64, verbose_name=_l("Disposal recorded by"))
    disposed_at = DateTimeField(verbose_name=_l("Disposal recorded at"))
    held_quantity = IntField(verbose_name=_l("Quantity held"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.batch or ''}".strip()

    @property
    def holding(self) -> bool:
        """A failed batch stays held until its disposal is recorded (through portal.products)."""
        return self.result == "fail" and not self.disposal

    def clean(self) -> None:
        self.batch = (self.batch or "").strip()
        if self.result == "fail" and not (self.defects or "").strip():
            raise field_error("defects", _l("A failed inspection lists its defects."))


# ---- logistics and after-sales (MIC 物流管理, 售后服務管理; DSC 3(4)3, 3(5)) ---------------------------------------
class LogisticsPartner(Partner):
    """A carrier chosen for reliability and evaluated periodically (MIC 物流合作伙伴選擇)."""

    meta = {"collection": "logistics_partners"}

    service_scope = StringField(required=True, max_length=1000, verbose_name=_l("Service scope"))
    tracking_url = StringField(max_length=300, regex=r"^https?://\S*$", verbose_name=_l("Tracking page"))


@owned_by_unit
class Shipment(Numbered, OwnedDocument):
    """Goods leaving a warehouse for an order (MIC 發貨流程, 物流跟蹤與查詢; DSC 3(4)3). Prepared by a form; shipped,
    delivered and exceptions are recorded from its page through portal.products."""

    meta = {"collection": "shipments", "indexes": ["owner_unit", "order", "status", "tracking_no",
                                                   {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}
    number_prefix = "FH"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    order = ReferenceField("SalesOrder", required=True, verbose_name=_l("Order"))
    warehouse = StringField(required=True, max_length=64, verbose_name=_l("Warehouse"))
    carrier = ReferenceField(LogisticsPartner, reverse_delete_rule=DENY, verbose_name=_l("Carrier"))
    tracking_no = StringField(max_length=64, verbose_name=_l("Tracking no."))
    status = StringField(required=True, choices=SHIPMENT_STATES, default="preparing", verbose_name=_l("Status"))
    shipped_at = DateTimeField(verbose_name=_l("Shipped at"))
    delivered_at = DateTimeField(verbose_name=_l("Delivered at"))
    exceptions = StringField(max_length=2000, verbose_name=_l("Exceptions"))
    note = StringField(max_length=1000, verbose_name=_l("Shipping details"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.tracking_no or ''}".strip()


class TicketAction(PortalEmbedded):
    at = DateTimeField(required=True, verbose_name=_l("When"))
    by = StringField(max_length=64, verbose_name=_l("By"))
    text = StringField(required=True, max_length=2000, verbose_name=_l("Action"))


@owned_by_unit
class AfterSalesTicket(Numbered, OwnedDocument):
    """A reported after-sales problem: quality defects are returned or exchanged, usage problems get support; the
    customer has the outcome by the deadline and satisfaction is followed up (MIC 售后問題處理流程, DSC 3(5))."""

    meta = {"collection": "after_sales", "indexes": ["owner_unit", "customer", "order", "status", "deadline",
                                                     "handler", {"fields": ["number"], "unique": True,
                                                                 "sparse": True}],
            "ordering": ["-created_at"]}
    number_prefix = "SH"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    order = ReferenceField("SalesOrder", verbose_name=_l("Order"))
    product = ReferenceField(Product, reverse_delete_rule=NULLIFY, verbose_name=_l("Product"))
    kind = StringField(required=True, choices=TICKET_KINDS, verbose_name=_l("Kind"))
    description = StringField(required=True, max_length=5000, verbose_name=_l("Problem"))
    handler = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Handler"))
    deadline = DateField(required=True, verbose_name=_l("Outcome due by"))
    actions = ListField(EmbeddedDocumentField(TicketAction), verbose_name=_l("Actions"))
    status = StringField(required=True, choices=TICKET_STATES, default="open", verbose_name=_l("Status"))
    result = StringField(max_length=2000, verbose_name=_l("Result"))
    resolved_on = DateField(verbose_name=_l("Resolved on"))
    satisfaction = StringField(choices=SATISFACTION, verbose_name=_l("Customer satisfaction"))
    photo = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Photo or document"))
    reminded_on = DateField()
    timeline_date = "created_at"

    def __str__(self) -> str:
        return self.number or ""

    @property
    def late(self) -> bool:
        """Open past its deadline, in the company's calendar (MIC 售后問題處理流程/3)."""
        from portal.settings import local_today

        return self.status in ("open", "in_progress") and self.deadline is not None and self.deadline < local_today()

    def clean(self) -> None:
        if self.status in ("resolved", "closed"):
            if not (self.result or "").strip():
                raise field_error("result", _l("Record the outcome given to the customer."))
            if self.resolved_on is None:
                raise field_error("resolved_on", _l("Give the date the problem was resolved."))
        if self.status == "closed" and not self.satisfaction:
            raise field_error("satisfaction", _l("Follow up the customer's satisfaction before closing."))
        if self.kind in ("return", "exchange") and self.product is None and self.order is None:
            raise field_error("product", _l("A return or exchange names the product or the order."))
