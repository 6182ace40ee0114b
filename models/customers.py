"""Customers and service (DOMAIN 3.2; DSC 3, 7(1); BRD 3(4), 5; SOC 7; FSS 3(1-3); MIC 客戶開發與維護).

The customer file with its contacts, and every contact with the customer: inquiries, complaints, visits,
negotiations, return visits and satisfaction surveys.
"""

import datetime as dt

from flask_babel import lazy_gettext as _l
from mongoengine import (
    CASCADE,
    DENY,
    NULLIFY,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.common import (
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalEmbedded,
    choices,
    field_error,
    utcnow,
)
from models.org import Employee, OrgUnit, owned_by_unit

CUSTOMER_KINDS = choices(("company", _l("Company")), ("person", _l("Person")))
SOURCES = choices(
    ("research", _l("Market research")), ("online", _l("Online")), ("exhibition", _l("Exhibition")),
    ("referral", _l("Referral")), ("peer", _l("Peer introduction")), ("other", _l("Other")),
)
CLASSES = choices(("A", _l("A (key)")), ("B", _l("B (regular)")), ("C", _l("C (occasional)")))
CUSTOMER_STATUSES = choices(
    ("lead", _l("Lead")), ("prospect", _l("Prospect")), ("active", _l("Active")), ("dormant", _l("Dormant")),
    ("lost", _l("Lost")),
)
CREDIT_RATINGS = choices(("AAA", "AAA"), ("AA", "AA"), ("A", "A"), ("B", "B"), ("C", "C"))
INQUIRY_CHANNELS = choices(("phone", _l("Phone")), ("walk_in", _l("Walk-in")), ("online", _l("Online")))
INQUIRY_TOPICS = choices(
    ("product", _l("Product")), ("service", _l("Service")), ("price", _l("Price")), ("policy", _l("Policy")),
    ("other", _l("Other")),
)
COMPLAINT_CHANNELS = choices(
    ("phone", _l("Phone")), ("walk_in", _l("Walk-in")), ("online", _l("Online")), ("email", _l("E-mail")),
    ("letter", _l("Letter")),
)
COMPLAINT_CATEGORIES = choices(
    ("product", _l("Product quality")), ("delivery", _l("Delivery")), ("service", _l("Service attitude")),
    ("price", _l("Price and billing")), ("after_sales", _l("After-sales")), ("other", _l("Other")),
)
SEVERITIES = choices(("critical", _l("Critical")), ("high", _l("High")), ("normal", _l("Normal")))
COMPLAINT_STATUSES = choices(
    ("open", _l("Open")), ("in_progress", _l("In progress")), ("answered", _l("Answered")),
    ("closed", _l("Closed")),
)
OPEN_COMPLAINT = ("open", "in_progress")
LOG_ACTIONS = choices(
    ("received", _l("Received")), ("note", _l("Handling step")), ("answer", _l("Answered")),
    ("close", _l("Closed")), ("reopen", _l("Reopened")),
)
SATISFACTION = choices(
    ("very_satisfied", _l("Very satisfied")), ("satisfied", _l("Satisfied")), ("neutral", _l("Neutral")),
    ("dissatisfied", _l("Dissatisfied")), ("very_dissatisfied", _l("Very dissatisfied")),
)
VISIT_STATUSES = choices(("planned", _l("Planned")), ("done", _l("Done")), ("cancelled", _l("Cancelled")))
INTENTIONS = choices(("high", _l("High")), ("medium", _l("Medium")), ("low", _l("Low")), ("none", _l("None")))
RETURN_METHODS = choices(("phone", _l("Phone")), ("email", _l("E-mail")), ("on_site", _l("On site")))
FOLLOW_UP_STATES = choices(("open", _l("Open")), ("resolved", _l("Resolved")))
SURVEY_METHODS = choices(
    ("questionnaire", _l("Questionnaire")), ("online", _l("Online form")), ("interview", _l("Interview")),
    ("phone", _l("Phone")),
)
MEASURE_STATES = choices(("planned", _l("Planned")), ("in_progress", _l("In progress")), ("done", _l("Done")))
PHONE = r"^[0-9+\- ()]*$"


# ---- confidentiality (DSC 7(1)2): what others see of a contact -----------------------------------------
def mask_phone(value: str | None) -> str:
    """138****5678: the first three and last four digits of a mobile number, less of a shorter one."""
    digits = "".join(ch for ch in value or "" if ch.isdigit())
    if not digits:
        return ""
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_email(value: str | None) -> str:
    """z***@example.com: the first letter of the mailbox and the domain."""
    if not value:
        return ""
    box, _, domain = value.partition("@")
    return f"{box[:1]}***@{domain}" if domain else "***"


def is_masked(value: str | None) -> bool:
    return bool(value) and "*" in value


def _now_or_past(document, name: str, message) -> None:
    value = getattr(document, name)
    if value is not None and value > utcnow() + dt.timedelta(minutes=5):
        raise field_error(name, message)


def _today():
    from portal.settings import local_today  # the company's calendar day

    return local_today()


def _one_of(document, fields: tuple[str, str], message) -> None:
    if all(getattr(document, f) in (None, "") for f in fields):
        raise field_error(fields[0], message)


# ---- the customer file ------------------------------------------------------------------------------
class Contact(PortalEmbedded):
    name = StringField(required=True, max_length=64, verbose_name=_l("Name"))
    title = StringField(max_length=64, verbose_name=_l("Title"))
    phone = StringField(max_length=32, regex=PHONE, verbose_name=_l("Phone"))
    email = StringField(max_length=254, verbose_name=_l("E-mail"))


@owned_by_unit
class Customer(Numbered, OwnedDocument):
    """A customer file (BRD 3(4)1, 5(2), FSS 3(1)2): profile, contacts, needs, class and owner."""

    meta = {"collection": "customers",
            "indexes": ["owner_unit", "owner", "key_owner", "status", "customer_class", "name",
                        {"fields": ["code"], "unique": True, "sparse": True}],
            "ordering": ["code"]}
    number_prefix = "KH"
    number_field = "code"

    code = StringField(max_length=32, verbose_name=_l("Customer no."))
    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    kind = StringField(required=True, choices=CUSTOMER_KINDS, default="company", verbose_name=_l("Kind"))
    industry = StringField(max_length=64, verbose_name=_l("Industry"))
    region = StringField(max_length=64, verbose_name=_l("Region"))
    source = StringField(required=True, choices=SOURCES, default="other", verbose_name=_l("Source channel"))
    contacts = ListField(EmbeddedDocumentField(Contact), verbose_name=_l("Contacts"))
    needs = StringField(max_length=5000, verbose_name=_l("Needs and intention"))
    preferences = StringField(max_length=5000, verbose_name=_l("Preferences"))
    customer_class = StringField(choices=CLASSES, verbose_name=_l("Class"))
    status = StringField(required=True, choices=CUSTOMER_STATUSES, default="lead", verbose_name=_l("Status"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Owner"))
    key_account = BooleanField(default=False, verbose_name=_l("Key account"))
    key_owner = ReferenceField(Employee, reverse_delete_rule=DENY, verbose_name=_l("Dedicated owner"))
    credit_rating = StringField(choices=CREDIT_RATINGS, verbose_name=_l("Credit rating"))
    credit_limit = MoneyField(verbose_name=_l("Credit limit"))
    last_verified_on = DateField(verbose_name=_l("Last verified on"))
    verify_reminded_on = DateField(verbose_name=_l("Re-check reminder sent on"))

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else (self.name or "")

    def clean(self) -> None:
        if getattr(self, "_contacts_masked", False):
            raise RuntimeError("a customer read with masked contacts must not be saved")
        if self.owner is not None:
            self.owner_unit = self.owner.owner_unit  # the file sits with its salesperson's unit
        if self.key_account and self.key_owner is None:  # BRD 3(4)3
            raise field_error("key_owner", _l("A key account needs a dedicated owner (BRD 3(4)3)."))
        if not self.key_account:
            self.key_owner = None
        for n, contact in enumerate(self.contacts or []):
            for name in ("phone", "email"):
                if is_masked(getattr(contact, name)):
                    raise field_error(f"contacts.{n}.{name}", _l("Type the full value: the masked one is not "
                                                                 "on file for this contact."))
            if contact.email and "@" not in contact.email.strip("@"):
                raise field_error(f"contacts.{n}.email", _l("Invalid e-mail address."))
        if self.kind == "company" and self.name:
            twin = Customer.objects(kind="company", name__iexact=self.name.strip(), pk__ne=self.pk).only("code").first()
            if twin is not None:
                raise field_error("name", _l("This company is already on file as %(code)s.", code=twin.code))

    @classmethod
    def mask_for_audit(cls, raw: dict) -> dict:
        """The audit trail records that contacts changed, never the numbers themselves (DSC 7(1)2)."""
        if raw.get("contacts"):
            raw = {**raw, "contacts": [{**c, "phone": mask_phone(c.get("phone")), "email": mask_email(c.get("email"))}
                                       for c in raw["contacts"]]}
        return raw


# ---- contact with the customer ----------------------------------------------------------------------
@owned_by_unit
class Inquiry(OwnedDocument):
    """A question by phone, walk-in or online, logged with its answer for follow-up (DSC 3(2))."""

    meta = {"collection": "inquiries", "indexes": ["owner_unit", "customer", "handled_by", "received_at"],
            "ordering": ["-received_at"]}
    timeline_date = "received_at"

    customer = ReferenceField(Customer, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    visitor_name = StringField(max_length=64, verbose_name=_l("Caller or visitor (no customer file)"))
    channel = StringField(required=True, choices=INQUIRY_CHANNELS, default="phone", verbose_name=_l("Channel"))
    topic = StringField(required=True, choices=INQUIRY_TOPICS, default="product", verbose_name=_l("Topic"))
    content = StringField(required=True, max_length=5000, verbose_name=_l("Question"))
    answer = StringField(max_length=5000, verbose_name=_l("Answer"))
    handled_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Handled by"))
    received_at = DateTimeField(required=True, default=utcnow, verbose_name=_l("Received at"))
    answered_at = DateTimeField(verbose_name=_l("Answered at"))

    def __str__(self) -> str:
        return (self.content or "")[:40]

    @property
    def answered(self) -> bool:
        return bool(self.answer)

    def clean(self) -> None:
        _one_of(self, ("customer", "visitor_name"), _l("Choose the customer or write who asked."))
        _now_or_past(self, "received_at", _l("An inquiry cannot be received in the future."))
        if self.answer and self.answered_at is None:
            self.answered_at = max(utcnow(), self.received_at or utcnow())
        if not self.answer:
            self.answered_at = None


class HandlingStep(PortalEmbedded):
    """One line of a complaint's handling log; written by the portal, never edited."""

    at = DateTimeField(required=True, verbose_name=_l("When"))
    by = StringField(max_length=64, verbose_name=_l("By"))
    action = StringField(required=True, choices=LOG_ACTIONS, verbose_name=_l("Action"))
    note = StringField(max_length=5000, verbose_name=_l("Note"))


@owned_by_unit
class Complaint(Numbered, OwnedDocument):
    """A complaint, answered within the time its severity allows (BRD 5(1)3, DSC 3(5)2, MIC 客戶投訴處理)."""

    meta = {"collection": "complaints",
            "indexes": ["owner_unit", "responsible_unit", "customer", "handler", "status", "due_at",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-received_at"]}
    number_prefix = "TS"
    timeline_date = "received_at"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    customer = ReferenceField(Customer, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    complainant = StringField(max_length=64, verbose_name=_l("Complainant (no customer file)"))
    channel = StringField(required=True, choices=COMPLAINT_CHANNELS, default="phone", verbose_name=_l("Channel"))
    received_at = DateTimeField(required=True, default=utcnow, verbose_name=_l("Received at"))
    content = StringField(required=True, max_length=5000, verbose_name=_l("Complaint"))
    category = StringField(required=True, choices=COMPLAINT_CATEGORIES, default="product",
                           verbose_name=_l("Category"))
    severity = StringField(required=True, choices=SEVERITIES, default="normal", verbose_name=_l("Severity"))
    responsible_unit = ReferenceField(OrgUnit, required=True, reverse_delete_rule=DENY,
                                      verbose_name=_l("Responsible department"))
    handler = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Handler"))
    response_hours = IntField(min_value=0, verbose_name=_l("Hours to respond"))
    due_at = DateTimeField(verbose_name=_l("Respond by"))
    status = StringField(required=True, choices=COMPLAINT_STATUSES, default="open", verbose_name=_l("Status"))
    log = ListField(EmbeddedDocumentField(HandlingStep), verbose_name=_l("Handling log"))
    result = StringField(max_length=5000, verbose_name=_l("Result given to the customer"))
    answered_at = DateTimeField(verbose_name=_l("Answered at"))
    handling_hours = DecimalField(precision=1, verbose_name=_l("Hours to answer"))
    on_time = BooleanField(verbose_name=_l("Answered in time"))
    satisfaction = StringField(choices=SATISFACTION, verbose_name=_l("Customer satisfaction"))
    root_cause = StringField(max_length=5000, verbose_name=_l("Root cause"))
    improvement = StringField(max_length=5000, verbose_name=_l("Improvement"))
    closed_at = DateTimeField(verbose_name=_l("Closed at"))
    overdue_reminded_at = DateTimeField(verbose_name=_l("Overdue reminder sent at"))

    def __str__(self) -> str:
        return f"{self.number or ''} {(self.content or '')[:30]}".strip()

    def clean(self) -> None:
        _one_of(self, ("customer", "complainant"), _l("Choose the customer or write who complained."))
        _now_or_past(self, "received_at", _l("A complaint cannot be received in the future."))
        if self.received_at is not None and self.response_hours is not None:
            due = self.received_at + dt.timedelta(hours=self.response_hours)
            if due != self.due_at:
                self.due_at, self.overdue_reminded_at = due, None  # a new deadline gets its own reminder

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        """Not answered and past its response deadline (BRD 5(1)3)."""
        return self.status in OPEN_COMPLAINT and self.due_at is not None and self.due_at < (now or utcnow())

    @property
    def overdue(self) -> bool:
        return self.is_overdue()


@owned_by_unit
class CustomerVisit(OwnedDocument):
    """A visit planned from the customer file and written up afterwards (FSS 3(2))."""

    meta = {"collection": "customer_visits", "indexes": ["owner_unit", "customer", "owner", "status", "planned_at"],
            "ordering": ["-planned_at"]}
    timeline_date = "planned_at"

    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Responsible"))
    companions = StringField(max_length=300, verbose_name=_l("Other visitors"))
    purpose = StringField(required=True, max_length=2000, verbose_name=_l("Purpose"))
    planned_at = DateTimeField(required=True, verbose_name=_l("Date and time"))
    place = StringField(required=True, max_length=200, verbose_name=_l("Place"))
    materials = StringField(max_length=2000, verbose_name=_l("Materials prepared"))
    status = StringField(required=True, choices=VISIT_STATUSES, default="planned", verbose_name=_l("Status"))
    outcome = StringField(max_length=5000, verbose_name=_l("Outcome notes"))
    intention = StringField(choices=INTENTIONS, verbose_name=_l("Assessed intention"))
    next_step = StringField(max_length=2000, verbose_name=_l("Next step"))
    reminded_at = DateTimeField(verbose_name=_l("Reminder sent at"))

    def __str__(self) -> str:
        when = f"{self.planned_at:%Y-%m-%d}" if self.planned_at else ""
        return f"{when} {(self.purpose or '')[:30]}".strip()

    def clean(self) -> None:
        if "planned_at" in self._get_changed_fields():
            self.reminded_at = None  # a new date gets its own reminder
        if self.status == "done":  # written up with intent and next steps (FSS 3(2)4)
            _now_or_past(self, "planned_at", _l("A visit that has not happened yet cannot be done."))
            for name, message in (("outcome", _l("Write up the visit before marking it done (FSS 3(2)4).")),
                                  ("intention", _l("Assess the customer's intention (FSS 3(2)4)."))):
                if not getattr(self, name):
                    raise field_error(name, message)


@owned_by_unit
class Negotiation(OwnedDocument):
    """Minutes of a negotiation: proposal, price, delivery, what was agreed and what comes next (FSS 3(3))."""

    meta = {"collection": "negotiations", "indexes": ["owner_unit", "customer", "owner", "held_on", "visit"],
            "ordering": ["-held_on"]}
    timeline_date = "held_on"

    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Responsible"))
    visit = ReferenceField(CustomerVisit, reverse_delete_rule=NULLIFY, verbose_name=_l("During visit"))
    held_on = DateField(required=True, verbose_name=_l("Date"))
    participants = StringField(required=True, max_length=1000, verbose_name=_l("Participants"))
    proposal = StringField(required=True, max_length=5000, verbose_name=_l("Proposal"))
    price = MoneyField(verbose_name=_l("Price offered"))
    delivery_time = StringField(max_length=200, verbose_name=_l("Delivery time"))
    consensus = StringField(required=True, max_length=5000, verbose_name=_l("Agreed points"))
    next_actions = StringField(required=True, max_length=5000, verbose_name=_l("Next actions"))

    def __str__(self) -> str:
        return f"{self.held_on or ''} {(self.proposal or '')[:30]}".strip()

    def clean(self) -> None:
        if self.visit is not None and self.customer is not None and self.visit.customer != self.customer:
            raise field_error("visit", _l("This visit was to another customer."))


@owned_by_unit
class ReturnVisit(OwnedDocument):
    """A planned return visit; what it found goes to the department concerned and is followed up (BRD 5(3))."""

    meta = {"collection": "return_visits",
            "indexes": ["owner_unit", "customer", "owner", "status", "planned_on", "forwarded_to"],
            "ordering": ["-planned_on"]}
    timeline_date = "planned_on"

    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Responsible"))
    planned_on = DateField(required=True, verbose_name=_l("Planned for"))
    method = StringField(required=True, choices=RETURN_METHODS, default="phone", verbose_name=_l("Method"))
    status = StringField(required=True, choices=VISIT_STATUSES, default="planned", verbose_name=_l("Status"))
    done_on = DateField(verbose_name=_l("Done on"))
    findings = StringField(max_length=5000, verbose_name=_l("Usage, satisfaction and suggestions"))
    forwarded_to = ReferenceField(OrgUnit, reverse_delete_rule=NULLIFY, verbose_name=_l("Issues forwarded to"))
    follow_up = StringField(max_length=5000, verbose_name=_l("Follow-up result"))
    follow_up_state = StringField(choices=FOLLOW_UP_STATES, verbose_name=_l("Follow-up"))
    reminded_at = DateTimeField(verbose_name=_l("Reminder sent at"))

    def __str__(self) -> str:
        return f"{self.planned_on or ''}"

    def clean(self) -> None:
        if "planned_on" in self._get_changed_fields():
            self.reminded_at = None  # a new date gets its own reminder
        if self.status == "done":
            if self.done_on is None:
                self.done_on = _today()
            if self.done_on > _today():
                raise field_error("done_on", _l("A return visit cannot be done in the future."))
            if not self.findings:
                raise field_error("findings", _l("Record what the return visit found (BRD 5(3)1)."))
        elif self.status == "planned":
            self.done_on = None
        if self.forwarded_to is not None:  # forwarded issues are followed to closure (BRD 5(3)3)
            self.follow_up_state = self.follow_up_state or "open"
            if self.follow_up_state == "resolved" and not self.follow_up:
                raise field_error("follow_up", _l("Write the follow-up result before marking it resolved."))
        else:
            self.follow_up_state = None


# ---- satisfaction surveys (BRD 5(4), SOC 7.2) ------------------------------------------------------------
class Measure(PortalEmbedded):
    """An improvement decided from a survey's results, followed up to its effect (BRD 5(4)3)."""

    problem = StringField(required=True, max_length=500, verbose_name=_l("Problem found"))
    measure = StringField(required=True, max_length=1000, verbose_name=_l("Improvement measure"))
    responsible = ReferenceField(OrgUnit, verbose_name=_l("Responsible department"))
    due = DateField(verbose_name=_l("Due"))
    state = StringField(required=True, choices=MEASURE_STATES, default="planned", verbose_name=_l("State"))
    effect = StringField(max_length=1000, verbose_name=_l("Effect"))


@owned_by_unit
class SatisfactionSurvey(OwnedDocument):
    """A periodic survey of product, service quality and service level (BRD 5(4)1-2)."""

    meta = {"collection": "surveys", "indexes": ["owner_unit", "period_start"], "ordering": ["-period_start"]}

    title = StringField(required=True, max_length=200, verbose_name=_l("Title"))
    period_start = DateField(required=True, verbose_name=_l("Period from"))
    period_end = DateField(required=True, verbose_name=_l("Period to"))
    method = StringField(required=True, choices=SURVEY_METHODS, default="questionnaire", verbose_name=_l("Method"))
    questions = ListField(StringField(max_length=300), required=True, verbose_name=_l("Questions"))
    measures = ListField(EmbeddedDocumentField(Measure), verbose_name=_l("Improvement measures"))

    def __str__(self) -> str:
        return self.title or ""

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise field_error("period_end", _l("The end cannot be before the start."))
        self.questions = [q.strip() for q in self.questions or [] if q and q.strip()]
        if not self.questions:
            raise field_error("questions", _l("A survey asks at least one question."))
        if len(set(self.questions)) != len(self.questions):
            raise field_error("questions", _l("Each question may be asked only once."))
        if len(self.questions) > 30:
            raise field_error("questions", _l("A survey asks at most 30 questions."))
        if self.pk is not None and SurveyResponse.objects(survey=self.pk).first() is not None:
            stored = SatisfactionSurvey._get_collection().find_one({"_id": self.pk}, {"questions": 1}) or {}
            if stored.get("questions") != self.questions:
                raise field_error("questions", _l("Customers have answered these questions; they can no longer "
                                                  "be changed. Start a new survey instead."))
        for n, measure in enumerate(self.measures or []):
            if measure.state == "done" and not measure.effect:
                raise field_error(f"measures.{n}.effect", _l("Write the effect of a measure that is done."))


class Score(PortalEmbedded):
    question = StringField(required=True, max_length=300, verbose_name=_l("Question"))
    score = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Score (1-5)"))


@owned_by_unit
class SurveyResponse(OwnedDocument):
    """One customer's answers to a survey: a score of 1 to 5 per question, and comments."""

    meta = {"collection": "survey_responses",
            "indexes": ["owner_unit", "survey", "customer", {"fields": ["survey", "customer"], "unique": True}],
            "ordering": ["-answered_on"]}
    timeline_date = "answered_on"

    survey = ReferenceField(SatisfactionSurvey, required=True, reverse_delete_rule=CASCADE,
                            verbose_name=_l("Survey"))
    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    answered_on = DateField(required=True, verbose_name=_l("Answered on"))
    scores = ListField(EmbeddedDocumentField(Score), verbose_name=_l("Scores"))
    comments = StringField(max_length=5000, verbose_name=_l("Comments"))

    def __str__(self) -> str:
        return f"{self.answered_on or ''}"

    def clean(self) -> None:
        if self.survey is None:
            return
        self.owner_unit = self.survey.owner_unit
        asked = list(self.survey.questions or [])
        given = [s.question for s in self.scores or []]
        stray = [q for q in given if q not in asked]
        if stray:
            raise field_error("scores", _l("Not a question of this survey: %(question)s", question=stray[0]))
        missing = [q for q in asked if q not in given]
        if missing or len(given) != len(set(given)):
            raise field_error("scores", _l("Give one score for every question of the survey."))
        if self.customer is not None and SurveyResponse.objects(survey=self.survey, customer=self.customer,
                                                                pk__ne=self.pk).first() is not None:
            raise field_error("customer", _l("This customer has already answered this survey."))
        self.scores = sorted(self.scores, key=lambda s: asked.index(s.question))
