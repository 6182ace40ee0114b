"""Approvals (DOMAIN 4): routes as data, the request that walks a route, delegations and notifications.

Only `portal.approvals` changes a request or an approvable document's status, with single-document
conditional updates; these classes hold the data and its validation.
"""

from flask_babel import lazy_gettext as _l
from mongoengine import (
    CASCADE,
    BooleanField,
    DateField,
    DateTimeField,
    DictField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ObjectIdField,
    ReferenceField,
    StringField,
)

from models.common import MoneyField, OwnedDocument, PortalDocument, PortalEmbedded, choices, field_error
from models.org import Employee
from models.settings import MONEY_SETTINGS

APPROVER_KINDS = choices(
    ("unit_head", _l("Head of the requester's unit")),
    ("branch_head", _l("Branch leader")),
    ("role", _l("Role")),
    ("person", _l("Named person")),
)
APPROVER_ROLES = choices(("Finance", _l("Finance")), ("Legal", _l("Legal")), ("HR", _l("HR")))
CONDITIONS = choices(
    ("always", _l("Always")),
    ("amount_above", _l("Amount above the threshold")),
    ("amount_at_most", _l("Amount at most the threshold")),
    ("over_credit_limit", _l("Customer over its credit limit")),
)
AMOUNT_CONDITIONS = frozenset({"amount_above", "amount_at_most"})
STEP_STATES = choices(
    ("waiting", _l("Waiting")), ("current", _l("Current")), ("approved", _l("Approved")),
    ("rejected", _l("Rejected")), ("returned", _l("Returned")), ("skipped", _l("Skipped")),
)
REQUEST_STATES = choices(
    ("pending", _l("Pending")), ("approved", _l("Approved")), ("rejected", _l("Rejected")),
    ("returned", _l("Returned for revision")), ("withdrawn", _l("Withdrawn")),
)
HISTORY_ACTIONS = choices(
    ("submit", _l("Submitted")), ("approve", _l("Approved")), ("reject", _l("Rejected")),
    ("return", _l("Returned")), ("withdraw", _l("Withdrawn")), ("add_sign", _l("Added an approver")),
    ("transfer", _l("Transferred")), ("cc", _l("Copied")), ("urge", _l("Urged")),
    ("remind", _l("Reminded (overdue)")), ("escalate", _l("Escalated")), ("pay", _l("Paid")),
)
# Status of an approvable document, and the only ways it changes (portal.approvals applies them)
DOC_STATUSES = choices(
    ("draft", _l("Draft")), ("pending", _l("Pending approval")), ("approved", _l("Approved")),
    ("rejected", _l("Rejected")), ("returned", _l("Returned for revision")), ("withdrawn", _l("Withdrawn")),
)
DOC_TRANSITIONS = {
    "submit": (frozenset({"draft", "returned", "withdrawn"}), "pending"),
    "approve": (frozenset({"pending"}), "approved"),
    "reject": (frozenset({"pending"}), "rejected"),
    "return": (frozenset({"pending"}), "returned"),
    "withdraw": (frozenset({"pending"}), "withdrawn"),
    "pay": (frozenset({"approved"}), "paid"),
}
EDITABLE_STATUSES = frozenset({"draft", "returned", "withdrawn"})

ROUTE_DOCUMENTS: list[tuple[str, object]] = []  # (class name, label) of every approvable document


def approvable(label):
    """Class decorator: the document can be routed; it appears in the route editor's document list."""

    def register(document_class):
        ROUTE_DOCUMENTS.append((document_class.__name__, label))
        return document_class

    return register


class RouteStep(PortalEmbedded):
    """One step of a route: who approves, when the step applies, and how long it may take."""

    label = StringField(max_length=80, verbose_name=_l("Step name"))
    approver = StringField(required=True, choices=APPROVER_KINDS, default="unit_head", verbose_name=_l("Approver"))
    role = StringField(choices=APPROVER_ROLES, verbose_name=_l("Role"))
    person = ReferenceField("Employee", verbose_name=_l("Person"))
    condition = StringField(required=True, choices=CONDITIONS, default="always", verbose_name=_l("Applies"))
    threshold = MoneyField(verbose_name=_l("Threshold (CNY)"))
    threshold_setting = StringField(choices=MONEY_SETTINGS, verbose_name=_l("Threshold setting"))
    time_limit_hours = IntField(required=True, default=48, min_value=1, max_value=24 * 60,
                                verbose_name=_l("Time limit (hours)"))


class ApprovalRoute(PortalDocument):
    """The route a kind of document takes (DOMAIN 4). Admin edits steps, approvers and thresholds here."""

    meta = {"collection": "approval_routes", "indexes": ["document"], "ordering": ["document", "code"]}

    code = StringField(required=True, unique=True, max_length=40, verbose_name=_l("Code"))
    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    document = StringField(required=True, choices=ROUTE_DOCUMENTS, verbose_name=_l("Document"))
    active = BooleanField(default=True, verbose_name=_l("Active"))
    clauses = ListField(StringField(max_length=64), verbose_name=_l("Clauses"))
    steps = ListField(EmbeddedDocumentField(RouteStep), verbose_name=_l("Steps"))

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if not self.steps:
            raise field_error("steps", _l("A route needs at least one step."))
        for number, step in enumerate(self.steps):
            if step.approver == "role" and not step.role:
                raise field_error(f"steps.{number}.role", _l("Choose the role that approves this step."))
            if step.approver == "person" and step.person is None:
                raise field_error(f"steps.{number}.person", _l("Choose the person who approves this step."))
            if step.condition in AMOUNT_CONDITIONS and step.threshold is None and not step.threshold_setting:
                raise field_error(f"steps.{number}.threshold", _l("Give a threshold or the setting that holds it."))
        if self.active:
            clash = type(self).objects(document=self.document, active=True, pk__ne=self.pk).first()
            if clash is not None:
                raise field_error("active", _l("Route %(code)s is already the active route of this document.",
                                               code=clash.code))


class StepState(PortalEmbedded):
    """A step of one request, with its approver resolved from the org tree at submission."""

    label = StringField(max_length=80)
    kind = StringField(max_length=20)
    role = StringField(max_length=20)
    approver = ObjectIdField()
    approver_name = StringField(max_length=64)
    time_limit_hours = IntField(default=48)
    state = StringField(choices=STEP_STATES, default="waiting")
    decided_by = ObjectIdField()
    decided_by_name = StringField(max_length=64)
    on_behalf_of = ObjectIdField()
    on_behalf_of_name = StringField(max_length=64)
    decided_at = DateTimeField()
    note = StringField(max_length=200)


class HistoryEntry(PortalEmbedded):
    """One decision or event; appended, never changed."""

    at = DateTimeField(required=True)
    actor = ObjectIdField()
    actor_name = StringField(max_length=64)
    on_behalf_of_name = StringField(max_length=64)
    step = IntField()
    step_label = StringField(max_length=80)
    step_kind = StringField(max_length=20)
    step_role = StringField(max_length=20)
    action = StringField(required=True, choices=HISTORY_ACTIONS)
    comment = StringField(max_length=2000)
    round = IntField(default=1)


class ApprovalRequest(PortalDocument):
    """One document's way through its route; resubmission after a return restarts the route in a new round."""

    meta = {"collection": "approval_requests",
            "indexes": [{"fields": ["document", "doc_id"], "unique": True},
                        ["state", "current_approver", "entered_at"], ["state", "current_role", "entered_at"],
                        ["requester", "-updated_at"], ["state", "due_at"], "participants"],
            "ordering": ["-updated_at"]}

    document = StringField(required=True, max_length=40, verbose_name=_l("Document"))
    doc_id = ObjectIdField(required=True)
    title = StringField(required=True, max_length=200, verbose_name=_l("Request"))
    amount = MoneyField(verbose_name=_l("Amount (CNY)"))
    route_code = StringField(max_length=40, verbose_name=_l("Route"))
    requester = ObjectIdField(required=True)
    requester_name = StringField(max_length=64, verbose_name=_l("Requester"))
    submitted_by = StringField(max_length=64)
    submitter = ObjectIdField()  # the Employee who submitted (a clerk for a colleague): never an approver
    owner_unit = ObjectIdField()
    state = StringField(required=True, choices=REQUEST_STATES, default="pending", verbose_name=_l("State"))
    round = IntField(default=1)
    steps = ListField(EmbeddedDocumentField(StepState))
    current = IntField(default=0)
    current_approver = ObjectIdField()
    current_role = StringField(max_length=20)
    entered_at = DateTimeField(verbose_name=_l("Waiting since"))
    due_at = DateTimeField(verbose_name=_l("Due"))
    deciders = ListField(ObjectIdField())  # employees who approved a step of this round (and whom they acted for)
    participants = ListField(ObjectIdField())  # everyone who may open the request page
    cc = ListField(ObjectIdField())
    history = ListField(EmbeddedDocumentField(HistoryEntry))
    seq = IntField(default=0)  # bumped by every change: the condition of every atomic update
    last_urged_at = DateTimeField()
    reminded_for = DateTimeField()  # entered_at of the step visit whose approver was reminded (portal remind)
    escalated_for = DateTimeField()  # ... and whose approver's head was told
    closed_at = DateTimeField(verbose_name=_l("Closed at"))

    def __str__(self) -> str:
        return self.title


class ApprovalDelegation(PortalDocument):
    """While a manager is away their deputy receives and decides their approvals (DSC 2(2)2)."""

    meta = {"collection": "approval_delegations", "indexes": [["deputy", "start", "end"], "delegator"],
            "ordering": ["-start"]}

    delegator = ReferenceField("Employee", required=True, verbose_name=_l("Manager"))
    deputy = ReferenceField("Employee", required=True, verbose_name=_l("Deputy"))
    start = DateField(required=True, verbose_name=_l("From"))
    end = DateField(required=True, verbose_name=_l("To (inclusive)"))
    reason = StringField(max_length=500, verbose_name=_l("Reason"))
    active = BooleanField(default=True, verbose_name=_l("Active"))

    def __str__(self) -> str:
        return f"{self.delegator} → {self.deputy}"

    def clean(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise field_error("end", _l("The end cannot be before the start."))
        if self.delegator is not None and self.deputy is not None and self.delegator.pk == self.deputy.pk:
            raise field_error("deputy", _l("Choose someone other than the manager."))


NOTIFICATION_KINDS = (
    "waiting", "approved", "rejected", "returned", "withdrawn", "cc", "urged", "overdue", "escalated",
    "transferred", "added", "paid", "decided",
)
EMAIL_STATES = ("none", "pending", "sent", "failed")


class Notification(PortalDocument):
    """A message in someone's bell (and in their mailbox when SMTP is set up); rendered in the reader's language."""

    meta = {"collection": "notifications",
            "indexes": [["recipient", "read_at", "-created_at"], ["email_state", "created_at"]],
            "ordering": ["-created_at"]}

    recipient = ObjectIdField(required=True)  # Employee id
    kind = StringField(required=True, choices=[(k, k) for k in NOTIFICATION_KINDS])
    params = DictField()
    link = StringField(max_length=300)
    read_at = DateTimeField()
    email_state = StringField(choices=[(k, k) for k in EMAIL_STATES], default="none")
    email_attempts = IntField(default=0)


class ApprovableDocument(OwnedDocument):
    """A document that walks an approval route; its status changes only through portal.approvals."""

    meta = {"abstract": True}
    requester_field = "requested_by"  # the Employee field naming who asks
    summary_fields: tuple[str, ...] = ()  # what an approver reads on the request page

    status = StringField(required=True, choices=DOC_STATUSES, default="draft", verbose_name=_l("Status"))
    approval = ObjectIdField(verbose_name=_l("Approval request"))
    submitted_at = DateTimeField(verbose_name=_l("Submitted at"))
    decided_at = DateTimeField(verbose_name=_l("Decided at"))

    def approval_title(self) -> str:
        return str(self)

    def approval_amount(self):
        return None

    def check_submittable(self, today) -> None:
        """Raise a ValidationError naming the field when the document may not be submitted yet."""

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


Employee.register_delete_rule(ApprovalDelegation, "delegator", CASCADE)
Employee.register_delete_rule(ApprovalDelegation, "deputy", CASCADE)
