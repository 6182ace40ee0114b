"""Risk, audit and compliance (DOMAIN 3.9; DSC 6, SOC 9, FSS 8): the risk register with its warning indicators,
customers' credit assessments, internal audit findings and legal compliance reviews.

Derived fields (a risk's score, level and breach flags) are set in `clean()` and never typed in a form; the
state of a finding after it is raised moves only through portal.risk.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
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

from models.common import MoneyField, Numbered, OwnedDocument, PortalEmbedded, choices, field_error
from models.customers import CREDIT_RATINGS, Customer
from models.org import Employee, owned_by_unit
from models.sales import Contract

RISK_CATEGORIES = choices(("market", _l("Market")), ("credit", _l("Credit")), ("operational", _l("Operational")),
                          ("legal", _l("Legal")), ("contract", _l("Contract")))
RISK_LEVELS = choices(("low", _l("Low")), ("medium", _l("Medium")), ("high", _l("High")),
                      ("critical", _l("Critical")))
RESPONSES = choices(("avoid", _l("Avoid")), ("reduce", _l("Reduce")), ("transfer", _l("Transfer")),
                    ("accept", _l("Accept")))
RISK_STATUSES = choices(("open", _l("Open")), ("monitoring", _l("Monitoring")), ("closed", _l("Closed")))
LIVE_RISK = ("open", "monitoring")  # what the matrix counts and reminders follow
DIRECTIONS = choices(("above", _l("Breached above the threshold")), ("below", _l("Breached below the threshold")))
WEAK_RATINGS = ("B", "C")  # fair and poor credit: a guarantee or a higher prepayment is required (DSC 6(2)3)
AUDIT_AREAS = choices(("finance", _l("Finance")), ("sales", _l("Sales")), ("operations", _l("Operations")),
                      ("stock", _l("Stock and logistics")), ("hr", _l("HR")), ("compliance", _l("Compliance")),
                      ("other", _l("Other")))
FINDING_SEVERITIES = choices(("low", _l("Low")), ("medium", _l("Medium")), ("high", _l("High")))
FINDING_STATES = choices(("open", _l("Open")), ("in_progress", _l("In progress")), ("corrected", _l("Corrected")),
                         ("verified", _l("Verified")))
OPEN_FINDING = ("open", "in_progress")
SUBJECT_KINDS = choices(("contract", _l("Contract")), ("decision", _l("Major business decision")))
REVIEW_RESULTS = choices(("compliant", _l("Compliant")), ("conditional", _l("Compliant with conditions")),
                         ("not_compliant", _l("Not compliant")))
# the highest score of each level: low <= 4 < medium <= 9 < high <= 16 < critical (DOMAIN 3.9)
LEVEL_BANDS = ((4, "low"), (9, "medium"), (16, "high"), (25, "critical"))


def _today():
    from portal.settings import local_today  # the company's calendar day

    return local_today()


def risk_level(score: int) -> str:
    """The level of a likelihood x impact score (1-25) by the bands of DOMAIN 3.9."""
    return next(level for top, level in LEVEL_BANDS if score <= top or top == 25)


# ---- the risk register (DSC 6(1), SOC 9, FSS 8) ---------------------------------------------------------------
class Indicator(PortalEmbedded):
    """A warning indicator: its current value is breached when it passes the threshold in the given direction
    (strictly above, or strictly below) (SOC 9.3)."""

    name = StringField(required=True, max_length=120, verbose_name=_l("Indicator"))
    threshold = DecimalField(required=True, precision=2, verbose_name=_l("Threshold"))
    direction = StringField(required=True, choices=DIRECTIONS, default="above", verbose_name=_l("Breach when"))
    current = DecimalField(precision=2, verbose_name=_l("Current value"))
    breached = BooleanField(default=False, verbose_name=_l("Breached"))
    derived_fields = ("breached",)

    def evaluate(self) -> bool:
        if self.current is None or self.threshold is None:
            self.breached = False
        elif self.direction == "below":
            self.breached = Decimal(self.current) < Decimal(self.threshold)
        else:
            self.breached = Decimal(self.current) > Decimal(self.threshold)
        return self.breached


@owned_by_unit
class Risk(OwnedDocument):
    """An identified risk, assessed by likelihood and impact, with its response, measures, owner and next review
    (DSC 6(1)1-3, SOC 9.1-9.3, FSS 8(1)-(2)). The owner unit is the owner's unit."""

    meta = {"collection": "risks",
            "indexes": ["owner_unit", "owner", "status", "level", "category", "review_on", "breached",
                        ["likelihood", "impact"]],
            "ordering": ["-score"]}

    title = StringField(required=True, max_length=200, verbose_name=_l("Risk"))
    category = StringField(required=True, choices=RISK_CATEGORIES, verbose_name=_l("Category"))
    description = StringField(max_length=5000, verbose_name=_l("Description"))
    likelihood = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Likelihood (1-5)"))
    impact = IntField(required=True, min_value=1, max_value=5, verbose_name=_l("Impact (1-5)"))
    score = IntField(verbose_name=_l("Score"))
    level = StringField(choices=RISK_LEVELS, verbose_name=_l("Level"))
    response = StringField(required=True, choices=RESPONSES, verbose_name=_l("Response"))
    measures = StringField(max_length=5000, verbose_name=_l("Measures"))
    owner = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Owner"))
    review_on = DateField(required=True, verbose_name=_l("Next review on"))
    status = StringField(required=True, choices=RISK_STATUSES, default="open", verbose_name=_l("Status"))
    indicators = ListField(EmbeddedDocumentField(Indicator), verbose_name=_l("Warning indicators"))
    breached = BooleanField(default=False, verbose_name=_l("Indicator breached"))
    breach_key = StringField(max_length=2000)  # the names of the breached indicators: one breach
    breach_notified = StringField(max_length=2000)  # the breach its owner was told about
    review_reminded_for = DateField()
    flags = None  # the list's badges (views.risk)

    def __str__(self) -> str:
        return self.title or ""

    @property
    def review_overdue(self) -> bool:
        """A live risk past its review date, in the company's calendar (FSS 8(1)2)."""
        return self.status in LIVE_RISK and self.review_on is not None and self.review_on < _today()

    def clean(self) -> None:
        if self.owner is not None:
            self.owner_unit = self.owner.owner_unit  # the risk is kept by its owner's unit
        if self.likelihood and self.impact:
            self.score = self.likelihood * self.impact
            self.level = risk_level(self.score)
        names = set()
        for number, indicator in enumerate(self.indicators or []):
            indicator.name = (indicator.name or "").strip()
            if indicator.name in names:
                raise field_error(f"indicators.{number}.name", _l("Each indicator has its own name."))
            names.add(indicator.name)
            indicator.evaluate()
        breached = sorted(i.name for i in self.indicators or [] if i.breached)
        self.breached = bool(breached)
        self.breach_key = "|".join(breached) or None
        if not breached:  # a later breach is a new one, told again (even if this copy never saw the notice)
            self.breach_notified = None
            self._mark_as_changed("breach_notified")


# ---- credit (DSC 6(2)3, FSS 8(3)2) ---------------------------------------------------------------------------
@owned_by_unit
class CreditAssessment(OwnedDocument):
    """A customer's credit rating and limit with its basis; the latest one (by date) is the customer's rating
    and limit (portal.risk keeps the customer in step). Kept with the customer's unit."""

    meta = {"collection": "credit_assessments",
            "indexes": ["owner_unit", "rating", ["customer", "-assessed_on", "-created_at"]],
            "ordering": ["-assessed_on"]}

    customer = ReferenceField(Customer, required=True, reverse_delete_rule=DENY, verbose_name=_l("Customer"))
    rating = StringField(required=True, choices=CREDIT_RATINGS, verbose_name=_l("Credit rating"))
    credit_limit = MoneyField(required=True, verbose_name=_l("Credit limit (CNY)"))
    required_guarantee = StringField(max_length=2000, verbose_name=_l("Required guarantee"))
    prepayment_percent = DecimalField(min_value=Decimal("0"), max_value=Decimal("100"), precision=2,
                                      verbose_name=_l("Prepayment (%)"))
    assessed_on = DateField(required=True, verbose_name=_l("Assessed on"))
    assessed_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Assessed by"))
    valid_until = DateField(verbose_name=_l("Valid until"))
    basis = StringField(required=True, max_length=5000, verbose_name=_l("Basis"))

    def __str__(self) -> str:
        return f"{getattr(self.customer, 'name', '')} {self.rating or ''}".strip()

    def clean(self) -> None:
        if self.customer is not None:
            self.owner_unit = self.customer.owner_unit
        self.required_guarantee = (self.required_guarantee or "").strip() or None
        if self.assessed_on is not None and self.assessed_on > _today():
            raise field_error("assessed_on", _l("An assessment cannot be dated in the future."))
        if self.valid_until is not None and self.assessed_on is not None and self.valid_until < self.assessed_on:
            raise field_error("valid_until", _l("The end cannot be before the start."))
        if self.rating in WEAK_RATINGS:
            from portal.settings import get  # the Admin's setting

            floor = Decimal(get("weak_credit_prepayment_percent"))
            if not self.required_guarantee and Decimal(self.prepayment_percent or 0) < floor:
                raise field_error("required_guarantee", _l(
                    "Rating %(rating)s is weak credit: require a guarantee, or a prepayment of at least "
                    "%(percent)s percent (DSC 6(2)3).", rating=self.rating, percent=floor))


# ---- internal audit (DSC 6(3)3) --------------------------------------------------------------------------------
@owned_by_unit
class AuditFinding(Numbered, OwnedDocument):
    """A finding of internal audit with the corrective action the responsible unit owes by its due date; the
    responsible side reports the correction and internal audit verifies it (DSC 6(3)3)."""

    meta = {"collection": "audit_findings",
            "indexes": ["owner_unit", "responsible", "status", "due_on", "severity",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}
    number_prefix = "SJ"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    area = StringField(required=True, choices=AUDIT_AREAS, verbose_name=_l("Area"))
    finding = StringField(required=True, max_length=5000, verbose_name=_l("Finding"))
    severity = StringField(required=True, choices=FINDING_SEVERITIES, default="medium", verbose_name=_l("Severity"))
    responsible = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Responsible person"))
    corrective_action = StringField(required=True, max_length=5000, verbose_name=_l("Corrective action"))
    due_on = DateField(required=True, verbose_name=_l("Correct by"))
    status = StringField(required=True, choices=FINDING_STATES, default="open", verbose_name=_l("Status"))
    correction_note = StringField(max_length=2000, verbose_name=_l("Correction reported"))
    corrected_by = StringField(max_length=64, verbose_name=_l("Reported by"))
    corrected_login = StringField(max_length=64)  # who reported it may not verify it
    corrected_at = DateTimeField(verbose_name=_l("Reported at"))
    verified_by = StringField(max_length=64, verbose_name=_l("Verified by"))
    verified_at = DateTimeField(verbose_name=_l("Verified at"))
    verification_note = StringField(max_length=2000, verbose_name=_l("Internal audit's note"))
    reminded_for = DateField()

    def __str__(self) -> str:
        return self.number or ""

    @property
    def overdue(self) -> bool:
        """Not corrected by its due date, in the company's calendar."""
        return self.status in OPEN_FINDING and self.due_on is not None and self.due_on < _today()

    def clean(self) -> None:
        if self.owner_unit is None and self.responsible is not None:
            self.owner_unit = self.responsible.owner_unit
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Name the unit responsible for the correction."))


# ---- legal compliance (DSC 6(4)3, SOC 9.2) ---------------------------------------------------------------------
@owned_by_unit
class ComplianceReview(OwnedDocument):
    """Legal's compliance review of a contract or a major business decision (DSC 6(4)3, SOC 9.2); the review of a
    contract is kept with the contract's unit, which reads it."""

    meta = {"collection": "compliance_reviews",
            "indexes": ["owner_unit", "contract", "subject_kind", "result", "reviewed_on"],
            "ordering": ["-reviewed_on"]}

    subject_kind = StringField(required=True, choices=SUBJECT_KINDS, default="contract", verbose_name=_l("Subject"))
    contract = ReferenceField(Contract, reverse_delete_rule=DENY, verbose_name=_l("Contract"))
    decision_title = StringField(max_length=300, verbose_name=_l("Decision"))
    reviewer = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Reviewer"))
    opinion = StringField(required=True, max_length=10000, verbose_name=_l("Opinion"))
    result = StringField(required=True, choices=REVIEW_RESULTS, verbose_name=_l("Result"))
    conditions = StringField(max_length=5000, verbose_name=_l("Conditions"))
    reviewed_on = DateField(required=True, verbose_name=_l("Reviewed on"))

    def __str__(self) -> str:
        if self.subject_kind == "contract" and self.contract is not None:
            return str(self.contract)
        return self.decision_title or ""

    def clean(self) -> None:
        self.decision_title = (self.decision_title or "").strip() or None
        if self.subject_kind == "contract":
            if self.contract is None:
                raise field_error("contract", _l("Choose the contract reviewed."))
            self.decision_title = None
            self.owner_unit = self.contract.owner_unit
        else:
            self.contract = None
            if not self.decision_title:
                raise field_error("decision_title", _l("Name the decision reviewed."))
        if self.result == "conditional" and not (self.conditions or "").strip():
            raise field_error("conditions", _l("State the conditions of the opinion."))
        if self.reviewed_on is not None and self.reviewed_on > _today():
            raise field_error("reviewed_on", _l("A review cannot be dated in the future."))
