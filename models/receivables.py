"""Income ledger and receivables (DOMAIN 3.6; DSC 5(2), SOC 6.2, FSS 3(7)).

Every receipt is an IncomeRecord. A receipt against a Receivable lowers what is still owed by one conditional
`$inc` (portal.receivables), so `received` and `outstanding` are never typed and never run below zero. A
receivable that cannot be collected is written off as a bad debt through the approval engine (route WRITE-OFF:
department head, then Finance).
"""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    DateField,
    DateTimeField,
    EmbeddedDocumentField,
    ListField,
    ReferenceField,
    StringField,
)

from models.agents import Remittance
from models.approvals import ApprovableDocument, approvable
from models.common import (
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalEmbedded,
    choice_label,
    choices,
    field_error,
    money,
)
from models.customers import Customer
from models.org import Employee, owned_by_unit
from models.sales import Contract, SalesOrder

INCOME_SOURCES = choices(("order", _l("Sales order")), ("contract", _l("Contract")),
                         ("remittance", _l("Agent remittance")), ("other", _l("Other income")))
INCOME_STATES = choices(("posted", _l("Posted")), ("voided", _l("Voided")))
RECEIVABLE_STATES = choices(("open", _l("Open")), ("settled", _l("Settled")), ("written_off", _l("Written off")))
COLLECTION_METHODS = choices(("letter", _l("Dunning letter")), ("phone", _l("Phone call")), ("visit", _l("Visit")),
                             ("legal", _l("Legal action")))
AGING_BUCKETS = choices(("not_due", _l("Not due")), ("d1_30", _l("1-30 days")), ("d31_90", _l("31-90 days")),
                        ("d91_180", _l("91-180 days")), ("over_180", _l("Over 180 days")))
BUCKET_LIMITS = ((0, "not_due"), (30, "d1_30"), (90, "d31_90"), (180, "d91_180"))  # days overdue, at most


def aging_bucket(due: dt.date | None, today: dt.date) -> str:
    """The aging bucket of an amount due on `due` (FSS 3(7)4): not due, 1-30, 31-90, 91-180, over 180 days."""
    overdue = 0 if due is None else (today - due).days
    return next((bucket for limit, bucket in BUCKET_LIMITS if overdue <= limit), "over_180")


class CollectionAction(PortalEmbedded):
    """One step taken to collect (FSS 3(7)2): a dunning letter, a call, a visit or legal action, and its result."""

    date = DateField(required=True, verbose_name=_l("Date"))
    method = StringField(required=True, choices=COLLECTION_METHODS, verbose_name=_l("Method"))
    result = StringField(required=True, max_length=1000, verbose_name=_l("Result"))
    by = StringField(max_length=64, verbose_name=_l("By"))


@owned_by_unit
@approvable(_l("Bad-debt write-off"))
class Receivable(Numbered, ApprovableDocument):
    """Money a customer owes under a contract or an order (SOC 6.2). `status` is the write-off approval (SOC 6.2,
    FSS 3(7)3); `state` says whether the money is still open, settled by receipts or written off."""

    meta = {"collection": "receivables",
            "indexes": ["owner_unit", "customer", "order", "contract", "owner", "state", "status", "due_date",
                        {"fields": ["number"], "unique": True, "sparse": True},
                        {"fields": ["opening_ref"], "unique": True, "sparse": True}],
            "ordering": ["due_date"]}
    number_prefix = "YS"
    requester_field = "owner"
    summary_fields = ("number", "customer", "order", "contract", "amount", "received", "outstanding", "due_date",
                      "write_off_reason")

    number = StringField(max_length=32, verbose_name=_l("Number"))
    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    contract = ReferenceField(Contract, reverse_delete_rule=DENY, verbose_name=_l("Contract"))
    order = ReferenceField(SalesOrder, reverse_delete_rule=DENY, verbose_name=_l("Order"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Responsible"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    due_date = DateField(required=True, verbose_name=_l("Due date"))
    terms = StringField(max_length=200, verbose_name=_l("Payment terms"))
    received = MoneyField(default=Decimal("0"), verbose_name=_l("Received (CNY)"))
    outstanding = MoneyField(verbose_name=_l("Outstanding (CNY)"))
    state = StringField(required=True, choices=RECEIVABLE_STATES, default="open", verbose_name=_l("State"))
    settled_on = DateField(verbose_name=_l("Settled on"))
    actions = ListField(EmbeddedDocumentField(CollectionAction), verbose_name=_l("Collection actions"))
    write_off_reason = StringField(max_length=2000, verbose_name=_l("Reason for writing off"))
    written_off_at = DateTimeField(verbose_name=_l("Written off at"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))
    # an opening balance brought over from the previous books (bulk import): its document there, the import's key
    opening_ref = StringField(max_length=64, verbose_name=_l("Opening balance reference"))
    reminded_for = DateField()  # the due date an overdue reminder went out for
    escalated_for = DateField()  # the due date the owner's head was told about

    def __str__(self) -> str:
        return self.number or ""

    @property
    def editable(self) -> bool:
        """Editable unless a write-off is on its way or done (a refused write-off leaves the debt to collect)."""
        return self.status not in ("pending", "approved")

    @property
    def aging(self) -> str:
        """The aging bucket of what is still open, as of today in the company's time zone."""
        from portal.settings import local_today

        return choice_label(AGING_BUCKETS, aging_bucket(self.due_date, local_today())) if self.state == "open" else ""

    def approval_title(self) -> str:
        name = getattr(self.customer, "name", "") if self.customer is not None else ""
        return f"{self.number} {name} · ¥{money(self.outstanding):,.2f}"

    def approval_amount(self):
        return self.outstanding

    def clean(self) -> None:
        if "due_date" in (getattr(self, "_changed_fields", None) or []):
            self.reminded_for = self.escalated_for = None  # a new due date is reminded afresh
        source = self.order or self.contract
        for field, linked in (("order", self.order), ("contract", self.contract)):
            if linked is not None and self.customer is not None and getattr(linked.customer, "pk", None) \
                    != self.customer.pk:
                raise field_error(field, _l("This belongs to another customer."))
        if self.order is not None and self.contract is None:
            self.contract = self.order.contract
        if self.owner is None and source is not None:
            self.owner = getattr(source, "salesperson", None) or getattr(source, "owner", None)
        if self.owner is not None:
            self.owner_unit = self.owner.owner_unit
        received = money(self.received or 0)
        if self.amount is not None and money(self.amount) < received:
            raise field_error("amount", _l("%(received)s has already been received: the amount cannot be less.",
                                           received=f"{received:,.2f}"))
        if self.amount is not None:
            self.outstanding = money(self.amount) - received
            if self.state == "open" and self.outstanding == 0:
                self.state = "settled"
            elif self.state == "settled" and self.outstanding > 0:
                self.state, self.settled_on = "open", None

    def check_submittable(self, today) -> None:
        if self.state != "open" or not self.outstanding:
            raise field_error("state", _l("Only an open receivable with money outstanding can be written off."))
        if self.due_date is not None and self.due_date >= today:
            raise field_error("due_date", _l("A receivable that is not overdue cannot be written off."))
        if not self.actions:
            raise field_error("actions", _l("Record the collection actions taken before asking to write it off "
                                            "(FSS 3(7)2)."))
        if not (self.write_off_reason or "").strip():
            raise field_error("write_off_reason", _l("Give the reason for writing this receivable off."))


@owned_by_unit
class IncomeRecord(Numbered, OwnedDocument):
    """One receipt of the income ledger (DSC 5(2)2): source, customer, contract or order, amount, date, account.
    Posted receipts are not edited or deleted: a mistake is voided with a reason and entered again."""

    meta = {"collection": "income_records",
            "indexes": ["owner_unit", "customer", "order", "contract", "receivable", "source", "state",
                        "-received_on", {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-received_on", "-number"]}
    number_prefix = "SR"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    source = StringField(required=True, choices=INCOME_SOURCES, default="order", verbose_name=_l("Source"))
    customer = ReferenceField(Customer, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    contract = ReferenceField(Contract, reverse_delete_rule=DENY, verbose_name=_l("Contract"))
    order = ReferenceField(SalesOrder, reverse_delete_rule=DENY, verbose_name=_l("Order"))
    receivable = ReferenceField(Receivable, reverse_delete_rule=DENY, verbose_name=_l("Against receivable"))
    remittance = ReferenceField(Remittance, reverse_delete_rule=DENY, verbose_name=_l("Remittance"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    received_on = DateField(required=True, verbose_name=_l("Received on"))
    account = StringField(required=True, max_length=120, verbose_name=_l("Into account"))
    reference = StringField(max_length=120, verbose_name=_l("Bank reference"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))
    recorded_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Recorded by"))
    state = StringField(required=True, choices=INCOME_STATES, default="posted", verbose_name=_l("State"))
    void_reason = StringField(max_length=2000, verbose_name=_l("Reason for voiding"))
    voided_at = DateTimeField(verbose_name=_l("Voided at"))
    voided_by = StringField(max_length=64, verbose_name=_l("Voided by"))

    def __str__(self) -> str:
        return self.number or ""

    def clean(self) -> None:
        if self.receivable is not None:
            due = self.receivable
            if self.customer is not None and due.customer is not None and self.customer.pk != due.customer.pk:
                raise field_error("receivable", _l("This receivable is owed by another customer."))
            self.customer, self.order = due.customer, due.order or self.order
            self.contract = due.contract or self.contract
        if self.order is not None:
            if self.customer is not None and getattr(self.order.customer, "pk", None) != self.customer.pk:
                raise field_error("order", _l("This order is another customer's."))
            self.customer, self.contract = self.order.customer, self.order.contract or self.contract
        if self.contract is not None:
            if self.customer is not None and getattr(self.contract.customer, "pk", None) != self.customer.pk:
                raise field_error("contract", _l("This contract is with another customer."))
            self.customer = self.contract.customer
        if self.remittance is not None:
            self.source = "remittance"
        missing = {"order": _l("Choose the order this money was paid for."),
                   "contract": _l("Choose the contract this money was paid under."),
                   "remittance": _l("Choose the agent's remittance this money is.")}
        if self.source in missing and getattr(self, self.source) is None and self.receivable is None \
                and not (self.source == "contract" and self.order is not None):
            raise field_error(self.source, missing[self.source])
        if self.received_on is not None and self.received_on > dt.date.today() + dt.timedelta(days=1):
            raise field_error("received_on", _l("The date cannot be in the future."))
        if self.source in ("order", "contract") and self.customer is None:
            raise field_error("customer", _l("Name the customer who paid."))
        owner = (self.receivable.owner if self.receivable is not None else None) or (
            self.order.salesperson if self.order is not None else None) or (
            self.contract.owner if self.contract is not None else None) or (
            self.remittance.agent if self.remittance is not None else None)
        if owner is not None:
            self.owner_unit = owner.owner_unit
