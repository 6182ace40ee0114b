"""Performance appraisal (DOMAIN 6; BRD 6, FSS 6, SOC 5, DSC 4(2)): weighted KPI templates, cycles, appraisals that
walk the review flow of BRD 6(4), 360-degree inputs, improvement plans.

An appraisal changes state only through portal.appraisal (one conditional update per step, audited); these classes
hold the data and its validation. Scores are Decimals of 0-100 with two places; totals are sum(weight x score)/100
rounded half up (portal.appraisal.total_of).
"""

from decimal import Decimal
from itertools import pairwise

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
    PERIOD_FORMATS,
    PERIOD_KINDS,
    OwnedDocument,
    PortalEmbedded,
    choices,
    field_error,
    period_bounds,
)
from models.org import STAFF_KINDS, Employee, owned_by_unit

HUNDRED = Decimal("100")
SCORE_PLACES = Decimal("0.01")

CATEGORIES = choices(("result", _l("Work results")), ("process", _l("Process")), ("teamwork", _l("Teamwork")),
                     ("growth", _l("Personal growth")))
MEASURES = choices(("quantitative", _l("Quantitative")), ("qualitative", _l("Qualitative")))
# how an indicator's actual value becomes its score (FSS 6(3)1)
SCORING_RULES = choices(
    ("percent_of_target", _l("Actual as a percentage of the target, at most 100")),
    ("percent_of_target_capped_120", _l("Actual as a percentage of the target, at most 120")),
    ("lower_is_better", _l("Target divided by actual, as a percentage, at most 100 (costs, hours)")),
    ("score_is_actual", _l("The actual value is the score (a rate or rating out of 100)")),
    ("judgement", _l("Scored by judgement (qualitative)")),
)
# the portal's own ledgers that can propose an indicator's actual value (portal.kpis.SOURCES has the same keys)
KPI_SOURCES = choices(
    ("manual", _l("Entered by hand")),
    ("sales_completion", _l("Sales completion: paid orders against the plan allocation (%)")),
    ("sales_amount", _l("Sales amount: paid orders (CNY)")),
    ("gross_profit", _l("Gross profit of paid orders (CNY)")),
    ("new_customers", _l("New customers (count)")),
    ("visit_count", _l("Customer visits done (count)")),
    ("negotiation_count", _l("Negotiations held (count)")),
    ("contract_execution", _l("Contract execution: contracts completed on time (%)")),
    ("receivable_recovery", _l("Receivable recovery: collected against due (%)")),
    ("complaint_timeliness", _l("Complaints answered in time (%)")),
    ("return_visit_completion", _l("Return visits done against planned (%)")),
    ("satisfaction", _l("Customer satisfaction of complaints handled (%)")),
    ("training_pass_rate", _l("Training pass rate (%)")),
    ("peer_rating", _l("360-degree rating (peers, superior, customers; %)")),
)
CYCLE_STATUSES = choices(("planned", _l("Planned")), ("open", _l("Under way")), ("closed", _l("Ended")))
# the review flow of BRD 6(4), in order
STATES = choices(
    ("self_assessment", _l("Self-assessment")),
    ("superior_evaluation", _l("Superior evaluation")),
    ("department_review", _l("Department review")),
    ("feedback", _l("Feedback")),
    ("appeal", _l("Appeal")),
    ("closed", _l("Closed")),
    ("applied", _l("Results applied")),
)
GRADES = ("A", "B", "C", "D", "E")
DEFAULT_BANDS = (("A", 90), ("B", 80), ("C", 70), ("D", 60), ("E", 0))
NEEDS_PLAN = ("D", "E")  # an improvement plan is required before closing (DSC 4(2)3)
RECOMMENDATIONS = choices(("none", _l("None")), ("promotion", _l("Promotion")), ("raise", _l("Salary raise")),
                          ("coaching", _l("Coaching")), ("transfer", _l("Job transfer")), ("demotion", _l("Demotion")))
RATER_KINDS = choices(("superior", _l("Superior")), ("peer", _l("Peer")), ("customer", _l("Customer")))
APPEAL_OUTCOMES = choices(("upheld", _l("Upheld: scores adjusted")), ("dismissed", _l("Dismissed: scores stand")))
PLAN_OUTCOMES = choices(("open", _l("In progress")), ("improved", _l("Improved")),
                        ("not_improved", _l("Not improved")))


CAPPED_120 = "percent_of_target_capped_120"


def score_ceiling(rule: str | None) -> Decimal:
    """The highest score a line may get: 120 when its rule lets the actual reach 120 percent, else 100."""
    return Decimal("120") if rule == CAPPED_120 else HUNDRED


def score_error(value, rule: str | None = None) -> bool:
    return value is not None and not Decimal("0") <= Decimal(value) <= score_ceiling(rule)


# ---- templates (BRD 6(2), FSS 6(1), SOC 5.1, DSC 4(2)1) -------------------------------------------------------------
class IndicatorFields(PortalEmbedded):
    """What an indicator is: shared by a template's indicators and an appraisal's lines."""

    meta = {"abstract": True}

    key = StringField(required=True, max_length=40, regex=r"^[a-z0-9_]+$", verbose_name=_l("Key"))
    name = StringField(required=True, max_length=120, verbose_name=_l("Indicator"))
    category = StringField(required=True, choices=CATEGORIES, default="result", verbose_name=_l("Category"))
    weight = DecimalField(required=True, min_value=Decimal("0.01"), max_value=HUNDRED, precision=2,
                          verbose_name=_l("Weight (%)"))
    measure = StringField(required=True, choices=MEASURES, default="quantitative",
                          verbose_name=_l("Quantitative or qualitative"))
    source = StringField(required=True, choices=KPI_SOURCES, default="manual", verbose_name=_l("Data source"))
    target = DecimalField(min_value=Decimal("0"), precision=2, verbose_name=_l("Target"))
    rule = StringField(required=True, choices=SCORING_RULES, default="score_is_actual",
                       verbose_name=_l("Scoring rule"))
    standard = StringField(max_length=1000, verbose_name=_l("Standard"))  # what "100" means, in words


class Indicator(IndicatorFields):
    """One weighted indicator of a template."""


@owned_by_unit
class KpiTemplate(OwnedDocument):
    """Indicators and weights for one staff kind (BRD 6(2)); weights total exactly 100. Launching a cycle copies
    it into each appraisal, so later edits never change a launched appraisal."""

    meta = {"collection": "kpi_templates", "indexes": ["staff_kind", "active"], "ordering": ["staff_kind", "name"]}

    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    staff_kind = StringField(required=True, choices=STAFF_KINDS, verbose_name=_l("Staff kind"))
    indicators = ListField(EmbeddedDocumentField(Indicator), verbose_name=_l("Indicators"))
    active = BooleanField(default=True, verbose_name=_l("Active"))
    clauses = StringField(max_length=200, verbose_name=_l("Clauses"))

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.indicators:
            raise field_error("indicators", _l("A template needs at least one indicator."))
        keys = [line.key for line in self.indicators]
        if len(set(keys)) != len(keys):
            raise field_error("indicators", _l("Each indicator needs its own key."))
        total = sum((Decimal(line.weight or 0) for line in self.indicators), Decimal("0"))
        if total != HUNDRED:
            raise field_error("indicators", _l("The weights add up to %(total)s; they must total exactly 100.",
                                               total=f"{total.normalize():f}"))
        for number, line in enumerate(self.indicators):
            if line.rule in ("percent_of_target", "percent_of_target_capped_120", "lower_is_better") \
                    and not line.target:
                raise field_error(f"indicators.{number}.target", _l("This scoring rule needs a target above 0."))
            if line.measure == "qualitative" and line.rule != "judgement" and line.source != "peer_rating":
                raise field_error(f"indicators.{number}.rule",
                                  _l("A qualitative indicator is scored by judgement or by the 360-degree rating."))
        if self.active:
            other = type(self).objects(staff_kind=self.staff_kind, active=True, pk__ne=self.pk).only("id").first()
            if other is not None:
                raise field_error("staff_kind", _l("Another active template already covers this staff kind: "
                                                   "deactivate it first."))


# ---- cycles (BRD 6(3), FSS 6(2), SOC 5.1) ---------------------------------------------------------------------------
class GradeBand(PortalEmbedded):
    grade = StringField(required=True, choices=[(g, g) for g in GRADES], verbose_name=_l("Rating"))
    minimum = DecimalField(required=True, min_value=Decimal("0"), max_value=HUNDRED, precision=2,
                           verbose_name=_l("From total"))


@owned_by_unit
class AppraisalCycle(OwnedDocument):
    """One appraisal round for the employees of `owner_unit` and the units below it (the org scope)."""

    meta = {"collection": "appraisal_cycles", "indexes": ["status", "period_kind", "period", "owner_unit"],
            "ordering": ["-period"]}

    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    period_kind = StringField(required=True, choices=PERIOD_KINDS, default="month", verbose_name=_l("Cycle"))
    period = StringField(required=True, max_length=7, verbose_name=_l("Period"))
    start = DateField(verbose_name=_l("From"))  # derived from the period
    end = DateField(verbose_name=_l("To"))
    self_due = DateField(required=True, verbose_name=_l("Self-assessment due"))
    evaluation_due = DateField(required=True, verbose_name=_l("Superior evaluation due"))
    review_due = DateField(required=True, verbose_name=_l("Department review due"))
    appeal_days = IntField(required=True, min_value=1, max_value=60, default=7, verbose_name=_l("Appeal window (days)"))
    bands = ListField(EmbeddedDocumentField(GradeBand), verbose_name=_l("Grade bands"))
    status = StringField(required=True, choices=CYCLE_STATUSES, default="planned", verbose_name=_l("Status"))
    launched_at = DateTimeField(verbose_name=_l("Launched at"))
    launched_by = StringField(max_length=64, verbose_name=_l("Launched by"))
    appraisals = IntField(default=0, verbose_name=_l("Appraisals"))
    without_template = ListField(ReferenceField(Employee), verbose_name=_l("Employees without a template"))
    # a year cycle: monthly-appraised staff whose months of the year are not all closed yet get no annual result
    months_open = ListField(ReferenceField(Employee), verbose_name=_l("Monthly appraisals still open"))

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        bounds = period_bounds(self.period_kind, self.period)
        if bounds is None:
            raise field_error("period", PERIOD_FORMATS.get(self.period_kind, PERIOD_FORMATS["month"]))
        self.period = self.period.strip().upper()
        self.start, self.end = bounds
        if not self.bands:
            self.bands = [GradeBand(grade=g, minimum=Decimal(m)) for g, m in DEFAULT_BANDS]
        grades = [band.grade for band in self.bands]
        minimums = [Decimal(band.minimum) for band in self.bands]
        if grades != list(GRADES) or any(low >= high for high, low in pairwise(minimums)) \
                or minimums[-1] != 0:
            raise field_error("bands", _l("Give each grade A to E once, from the highest band down, with E "
                                          "starting at 0."))
        if not self.self_due <= self.evaluation_due <= self.review_due:
            raise field_error("evaluation_due", _l("The steps fall due in order: self-assessment, superior "
                                                   "evaluation, department review."))
        if self.self_due < self.end:
            raise field_error("self_due", _l("The self-assessment falls due after the period has ended."))


# ---- appraisals (BRD 6(4), FSS 6(3), SOC 5.1) -----------------------------------------------------------------------
class AppraisalLine(IndicatorFields):
    """An indicator of one appraisal: the template's, copied at launch, with its actual value and scores."""

    actual = DecimalField(precision=2, verbose_name=_l("Actual"))
    proposed = DecimalField(precision=2, verbose_name=_l("Proposed from the records"))
    basis = StringField(max_length=500, verbose_name=_l("Computed from"))  # in words, e.g. "3 of 4 visits done"
    override_reason = StringField(max_length=1000, verbose_name=_l("Why the actual differs from the records"))
    rating_360 = DecimalField(precision=2, verbose_name=_l("360-degree rating"))
    # 0-100 (0-120 under the "at most 120" rule): checked by Appraisal.clean and portal.appraisal
    self_score = DecimalField(min_value=Decimal("0"), precision=2, verbose_name=_l("Self score"))
    superior_score = DecimalField(min_value=Decimal("0"), precision=2, verbose_name=_l("Superior's score"))
    final_score = DecimalField(min_value=Decimal("0"), precision=2, verbose_name=_l("Final score"))


class MonthTotal(PortalEmbedded):
    """One closed monthly result an annual appraisal is made of (FSS 6(2))."""

    period = StringField(required=True, max_length=7, verbose_name=_l("Month"))
    total = DecimalField(required=True, precision=2, verbose_name=_l("Total"))
    grade = StringField(max_length=1, verbose_name=_l("Rating"))


class Step(PortalEmbedded):
    """One move of the flow, append-only: who, when, from which state to which, and what they said."""

    at = DateTimeField(required=True, verbose_name=_l("When"))
    by = StringField(required=True, max_length=64, verbose_name=_l("By"))
    from_state = StringField(choices=STATES, verbose_name=_l("From step"))
    to_state = StringField(required=True, choices=STATES, verbose_name=_l("To"))
    comment = StringField(max_length=2000, verbose_name=_l("Remarks"))


@owned_by_unit
class Appraisal(OwnedDocument):
    """One employee's appraisal in one cycle. `owner_unit` is the employee's unit at launch (scope and routing)."""

    meta = {"collection": "appraisals",
            "indexes": [{"fields": ["cycle", "employee"], "unique": True}, "employee", "appraiser", "state",
                        "owner_unit", "grade", "step_due"],
            "ordering": ["-created_at"]}

    cycle = ReferenceField(AppraisalCycle, required=True, reverse_delete_rule=DENY, verbose_name=_l("Cycle"))
    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    appraiser = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Superior"))
    template_name = StringField(max_length=120, verbose_name=_l("Template"))
    staff_kind = StringField(choices=STAFF_KINDS, verbose_name=_l("Staff kind"))
    period_kind = StringField(choices=PERIOD_KINDS, verbose_name=_l("Cycle"))  # copied from the cycle, for filters
    period = StringField(max_length=7, verbose_name=_l("Period"))
    lines = ListField(EmbeddedDocumentField(AppraisalLine), verbose_name=_l("Indicators"))
    state = StringField(required=True, choices=STATES, default="self_assessment", verbose_name=_l("Step"))
    step_due = DateField(verbose_name=_l("Step due"))
    self_comment = StringField(max_length=5000, verbose_name=_l("Self-assessment"))
    superior_comment = StringField(max_length=5000, verbose_name=_l("Superior's evaluation"))
    review_comment = StringField(max_length=5000, verbose_name=_l("Department review"))
    reviewed_by = StringField(max_length=64, verbose_name=_l("Reviewed by"))
    reviewer = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Reviewer"))
    interview_notes = StringField(max_length=5000, verbose_name=_l("Feedback interview notes"))
    feedback_at = DateTimeField(verbose_name=_l("Feedback given at"))
    acknowledged_at = DateTimeField(verbose_name=_l("Acknowledged at"))
    appeal_until = DateField(verbose_name=_l("Appeal possible until"))
    appeal_reason = StringField(max_length=5000, verbose_name=_l("Appeal"))
    appealed_at = DateTimeField(verbose_name=_l("Appealed at"))
    appeal_outcome = StringField(choices=APPEAL_OUTCOMES, verbose_name=_l("Appeal outcome"))
    appeal_decision = StringField(max_length=5000, verbose_name=_l("Appeal decision"))
    appeal_decided_by = StringField(max_length=64, verbose_name=_l("Appeal decided by"))
    total = DecimalField(precision=2, verbose_name=_l("Total"))
    grade = StringField(choices=[(g, g) for g in GRADES], verbose_name=_l("Rating"))
    # an annual appraisal of monthly-appraised staff is the mean of the year's closed monthly totals (FSS 6(2))
    monthly_totals = ListField(EmbeddedDocumentField(MonthTotal), verbose_name=_l("Monthly results"))
    # results that act (BRD 6(4)5, FSS 6(4), DSC 4(2)2-3)
    bonus_coefficient = DecimalField(precision=2, verbose_name=_l("Bonus coefficient"))
    recommendation = StringField(choices=RECOMMENDATIONS, default="none", verbose_name=_l("Recommendation"))
    recommendation_note = StringField(max_length=2000, verbose_name=_l("Recommendation note"))
    applied_at = DateTimeField(verbose_name=_l("Results applied at"))
    history = ListField(EmbeddedDocumentField(Step), verbose_name=_l("Flow history"))
    reminded_for = StringField(max_length=40)  # the step whose overdue reminder went out (portal remind)

    def __str__(self) -> str:
        name = self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""
        return f"{name} {self.period or ''}".strip()

    def clean(self) -> None:
        for number, line in enumerate(self.lines or []):
            for field in ("self_score", "superior_score", "final_score"):
                if score_error(getattr(line, field), line.rule):
                    raise field_error(f"lines.{number}.{field}", _l("Give a score between 0 and %(most)s.",
                                                                    most=score_ceiling(line.rule)))


class Rating(PortalEmbedded):
    key = StringField(required=True, max_length=40, verbose_name=_l("Indicator"))
    score = DecimalField(required=True, min_value=Decimal("0"), max_value=HUNDRED, precision=2,
                         verbose_name=_l("Score"))


@owned_by_unit
class Feedback360(OwnedDocument):
    """A 360-degree input (SOC 5.1, FSS 6(3)3): a peer or the superior (an account) or a customer (a one-time
    link, no account) rates the appraisal's qualitative indicators. The appraisee sees averages only, never who
    said what; the token is stored as its SHA-256 only."""

    meta = {"collection": "appraisal_feedback",
            "indexes": ["appraisal", "rater", "employee", {"fields": ["token_hash"], "unique": True, "sparse": True}],
            "ordering": ["created_at"]}
    # who said what stays out of the audit trail, which an appraised Auditor reads (the record keeps it)
    audit_exclude = ("token_hash", "rater", "ratings", "comment")

    appraisal = ReferenceField(Appraisal, required=True, reverse_delete_rule=CASCADE, verbose_name=_l("Appraisal"))
    employee = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Appraisee"))  # never sees it
    kind = StringField(required=True, choices=RATER_KINDS, verbose_name=_l("Rater"))
    rater = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Colleague"))  # peer, superior
    customer_name = StringField(max_length=120, verbose_name=_l("Customer"))  # customer
    token_hash = StringField(max_length=64)
    expires_on = DateField(verbose_name=_l("Link valid until"))
    invited_by = StringField(max_length=64, verbose_name=_l("Invited by"))
    ratings = ListField(EmbeddedDocumentField(Rating), verbose_name=_l("Ratings"))
    comment = StringField(max_length=2000, verbose_name=_l("Remarks"))
    submitted_at = DateTimeField(verbose_name=_l("Answered at"))


# ---- improvement plans (DSC 4(2)3, SOC 5.1, FSS 6(4)2) --------------------------------------------------------------
@owned_by_unit
class ImprovementPlan(OwnedDocument):
    """Coaching for a poor result (grade D or E): goals, actions, a mentor and a review date; required before the
    appraisal can close (DSC 4(2)3)."""

    meta = {"collection": "improvement_plans", "indexes": ["employee", "appraisal", "review_on", "outcome", "mentor",
                                                           "appraiser", "owner_unit"],
            "ordering": ["-review_on"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    appraisal = ReferenceField(Appraisal, required=True, reverse_delete_rule=DENY, verbose_name=_l("Appraisal"))
    goals = StringField(required=True, max_length=5000, verbose_name=_l("Goals"))
    actions = StringField(required=True, max_length=5000, verbose_name=_l("Actions"))
    mentor = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Mentor"))
    appraiser = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Superior"))  # from the appraisal
    review_on = DateField(required=True, verbose_name=_l("Review date"))
    outcome = StringField(required=True, choices=PLAN_OUTCOMES, default="open", verbose_name=_l("Outcome"))
    outcome_note = StringField(max_length=5000, verbose_name=_l("Outcome note"))
    reminded = BooleanField(default=False)

    def __str__(self) -> str:
        return str(self.appraisal) if self.appraisal is not None else ""

    def clean(self) -> None:
        if self.appraisal is not None:
            self.employee = self.appraisal.employee
            self.owner_unit = self.appraisal.owner_unit
            self.appraiser = self.appraisal.appraiser
        if self.mentor is not None and self.employee is not None and self.mentor.pk == self.employee.pk:
            raise field_error("mentor", _l("The mentor is someone other than the employee."))
        if self.outcome != "open" and not self.outcome_note:
            raise field_error("outcome_note", _l("Say what the review found."))

