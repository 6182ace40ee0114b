"""HR (DOMAIN 3.7; DSC 4, SOC 4.1, SOC 5.2, BRD 7(5)): recruitment plans, candidates, onboarding checklists,
compensation profiles, awards, career plans and employees' feedback."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    CASCADE,
    DENY,
    NULLIFY,
    BooleanField,
    DateField,
    DateTimeField,
    EmailField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.approvals import ApprovableDocument, approvable
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
    period_bounds,
)
from models.confidentiality import months_later
from models.files import Attachment
from models.org import Employee, OrgUnit, Position, owned_by_unit

CHANNELS = choices(("job_sites", _l("Job sites")), ("social_media", _l("Social media")),
                   ("campus", _l("Campus recruiting")), ("talent_market", _l("Talent market")),
                   ("referral", _l("Employee referral")))
SCREENING_RESULTS = choices(("pass", _l("Passed")), ("fail", _l("Failed")))
BACKGROUND_STATES = choices(("not_started", _l("Not started")), ("in_progress", _l("In progress")),
                            ("clear", _l("Clear")), ("concerns", _l("Concerns found")))
DECISIONS = choices(("pending", _l("Undecided")), ("offer", _l("Offer made")), ("hiring", _l("Being hired")),
                    ("hired", _l("Hired")), ("rejected", _l("Not hired")), ("withdrawn", _l("Withdrawn")))
OPEN_DECISIONS = ("pending", "offer")  # a candidate still in the process
AWARD_TITLES = choices(("outstanding_employee", _l("Outstanding employee")), ("sales_champion", _l("Sales champion")),
                       ("service_star", _l("Service star")), ("outstanding_team", _l("Outstanding team")),
                       ("other", _l("Other honour")))
OPPORTUNITIES = choices(("promotion", _l("Promotion")), ("rotation", _l("Job rotation")), ("training", _l("Training")))
FEEDBACK_TOPICS = choices(
    ("work", _l("Work and workload")), ("process", _l("Rules and processes")), ("management", _l("Management")),
    ("pay", _l("Pay and benefits")), ("development", _l("Training and development")),
    ("difficulty", _l("A practical difficulty")), ("activity", _l("Staff activities")),
    ("suggestion", _l("Suggestion")), ("other", _l("Other")),
)
FEEDBACK_STATUSES = choices(("open", _l("Open")), ("in_progress", _l("In progress")), ("answered", _l("Answered")),
                            ("closed", _l("Closed")))


def _stripped(document, field: str) -> str:
    value = (getattr(document, field) or "").strip()
    setattr(document, field, value or None)
    return value


# ---- recruitment (DSC 4(1)1-2, SOC 4.1) ---------------------------------------------------------------------------
class PlanLine(PortalEmbedded):
    """One opening of a plan: a post (or a title when there is no post yet), how many, and what they need."""

    position = ReferenceField(Position, verbose_name=_l("Position"))
    title = StringField(max_length=120, verbose_name=_l("Or a title"))
    headcount = IntField(required=True, min_value=1, max_value=1000, default=1, verbose_name=_l("Headcount"))
    requirements = StringField(max_length=1000, verbose_name=_l("Requirements"))

    def __str__(self) -> str:
        return self.title or (self.position.name if self.position is not None else "")


@owned_by_unit
@approvable(_l("Recruitment plan"))
class RecruitmentPlan(Numbered, ApprovableDocument):
    """A unit's hiring plan: posts, headcount and requirements, channels, timeline and budget; approved by the head
    of the unit (DSC 4(1)1, SOC 4.1)."""

    meta = {"collection": "recruitment_plans",
            "indexes": ["owner_unit", "status", "start", {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-start"]}
    number_prefix = "ZP"
    summary_fields = ("number", "title", "owner_unit", "lines", "channels", "start", "end", "budget")

    number = StringField(max_length=32, verbose_name=_l("Number"))
    title = StringField(required=True, max_length=200, verbose_name=_l("Title"))
    lines = ListField(EmbeddedDocumentField(PlanLine), max_length=50, verbose_name=_l("Openings"))
    channels = ListField(StringField(choices=CHANNELS), verbose_name=_l("Channels"))
    start = DateField(required=True, verbose_name=_l("Start"))
    end = DateField(required=True, verbose_name=_l("End"))
    budget = MoneyField(verbose_name=_l("Budget (CNY)"))
    requested_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Requested by"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.title or ''}".strip()

    @property
    def headcount(self) -> int:
        return sum(line.headcount or 0 for line in self.lines or [])

    def approval_amount(self):
        return self.budget

    def clean(self) -> None:
        if not _stripped(self, "title"):
            raise field_error("title", _l("Give the plan a title."))
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Choose the unit that hires."))
        if not self.lines:
            raise field_error("lines", _l("Add at least one opening: a position or a title and its headcount."))
        for number, line in enumerate(self.lines):
            line.title = (line.title or "").strip() or None
            if line.position is None and not line.title:
                raise field_error(f"lines.{number}.title", _l("Choose a position or write the title of the post."))
        if not self.channels:
            raise field_error("channels", _l("Choose at least one channel to advertise the openings on."))
        self.channels = list(dict.fromkeys(self.channels))
        if self.start and self.end and self.end < self.start:
            raise field_error("end", _l("The end cannot be before the start."))


class Interview(PortalEmbedded):
    """One interview round: when, by whom, the score and what was noted."""

    date = DateField(required=True, verbose_name=_l("Date"))
    interviewer = ReferenceField(Employee, required=True, verbose_name=_l("Interviewer"))
    round = IntField(required=True, min_value=1, max_value=10, default=1, verbose_name=_l("Round"))
    score = IntField(min_value=0, max_value=100, verbose_name=_l("Score (0-100)"))
    notes = StringField(max_length=2000, verbose_name=_l("Notes"))


@owned_by_unit
class Candidate(Numbered, OwnedDocument):
    """An applicant: CV screening, written test, interviews, background check and the decision (DSC 4(1)2, SOC 4.1).
    The decision changes only through portal.hr (offer, reject, withdraw, hire)."""

    meta = {"collection": "candidates",
            "indexes": ["owner_unit", "plan", "decision", "channel", "name",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}
    number_prefix = "YP"
    audit_exclude = ("hiring_since",)

    number = StringField(max_length=32, verbose_name=_l("Number"))
    name = StringField(required=True, max_length=64, verbose_name=_l("Name"))
    phone = StringField(max_length=32, regex=r"^[0-9+\- ()]*$", verbose_name=_l("Phone"))
    email = EmailField(max_length=254, verbose_name=_l("E-mail"))
    plan = ReferenceField(RecruitmentPlan, reverse_delete_rule=NULLIFY, verbose_name=_l("Recruitment plan"))
    position = ReferenceField(Position, reverse_delete_rule=NULLIFY, verbose_name=_l("Applied position"))
    position_title = StringField(max_length=120, verbose_name=_l("Or the title applied for"))
    channel = StringField(required=True, choices=CHANNELS, verbose_name=_l("Channel"))
    resume = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Resume"))
    screening = StringField(choices=SCREENING_RESULTS, verbose_name=_l("CV screening"))
    screening_note = StringField(max_length=1000, verbose_name=_l("Screening note"))
    test_score = IntField(min_value=0, max_value=100, verbose_name=_l("Written test score (0-100)"))
    interviews = ListField(EmbeddedDocumentField(Interview), max_length=20, verbose_name=_l("Interviews"))
    background_check = StringField(required=True, choices=BACKGROUND_STATES, default="not_started",
                                   verbose_name=_l("Background check"))
    background_note = StringField(max_length=1000, verbose_name=_l("Background check notes"))
    decision = StringField(required=True, choices=DECISIONS, default="pending", verbose_name=_l("Hiring decision"))
    decision_reason = StringField(max_length=1000, verbose_name=_l("Reason"))
    decided_by = StringField(max_length=64, verbose_name=_l("Decided by"))
    decided_at = DateTimeField(verbose_name=_l("Decided at"))
    hiring_since = DateTimeField()  # the moment a hire claimed the candidate (decision "hiring")
    employee = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Employee record"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.name or ''}".strip()

    @property
    def applied_for(self) -> str:
        return self.position_title or (self.position.name if self.position is not None else "")

    def interviews_held(self, today: dt.date) -> list:
        return [i for i in self.interviews or [] if i.date is not None and i.date <= today]

    def clean(self) -> None:
        if not _stripped(self, "name"):
            raise field_error("name", _l("Give the candidate's name."))
        _stripped(self, "position_title")
        if self.position is None and not self.position_title:
            raise field_error("position", _l("Choose the position applied for, or write its title."))
        if self.plan is not None:
            if self.plan.status != "approved":
                raise field_error("plan", _l("Only an approved recruitment plan can take candidates."))
            self.owner_unit = self.plan.owner_unit
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Choose the hiring unit, or an approved recruitment plan."))
        from portal.settings import local_today  # the company's calendar, as for document numbers

        today = local_today()
        for number, line in enumerate(self.interviews or []):
            if line.score is not None and line.date is not None and line.date > today:
                raise field_error(f"interviews.{number}.score", _l("Score an interview once it has taken place."))


# ---- onboarding (DSC 4(1)3, SOC 4.1) ------------------------------------------------------------------------------
@owned_by_unit
class Onboarding(OwnedDocument):
    """A new hire's checklist: labour contract, staff handbook, onboarding training; the confidentiality agreement is
    read from the agreements HR keeps, never typed (SOC 4.1, DSC 4(1)3)."""

    meta = {"collection": "onboardings",
            "indexes": [{"fields": ["employee"], "unique": True}, "owner_unit", "hire_date", "items_done"],
            "ordering": ["-hire_date"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=CASCADE, verbose_name=_l("Employee"))
    candidate = ReferenceField(Candidate, reverse_delete_rule=NULLIFY, verbose_name=_l("Candidate"))
    hire_date = DateField(required=True, verbose_name=_l("Hire date"))
    contract_signed_on = DateField(verbose_name=_l("Labour contract signed on"))
    contract_term_months = IntField(min_value=1, max_value=600, verbose_name=_l("Contract term (months)"))
    contract_ends_on = DateField(verbose_name=_l("Contract ends on"))
    handbook_issued_on = DateField(verbose_name=_l("Staff handbook issued on"))
    training_done_on = DateField(verbose_name=_l("Onboarding training done on"))
    training_note = StringField(max_length=500, verbose_name=_l("Training session"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))
    items_done = BooleanField(default=False, verbose_name=_l("Checklist items done"))
    incomplete_reminded = BooleanField(default=False)  # HR was told the checklist is still open (portal remind)
    agreement = None  # the employee's latest confidentiality agreement, for display (portal.hr)
    status = None  # complete or incomplete, derived for display (portal.hr)

    def __str__(self) -> str:
        return self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""

    def clean(self) -> None:
        if self.employee is not None:
            self.owner_unit = self.employee.owner_unit
        if self.contract_signed_on is not None and not self.contract_term_months:
            raise field_error("contract_term_months", _l("Give the term of the labour contract."))
        if self.contract_term_months and self.contract_signed_on is None:
            raise field_error("contract_signed_on", _l("Give the day the labour contract was signed."))
        self.contract_ends_on = (months_later(self.contract_signed_on, self.contract_term_months)
                                 - dt.timedelta(days=1)) if self.contract_signed_on else None
        self.items_done = all((self.contract_signed_on, self.handbook_issued_on, self.training_done_on))
        if self.pk is not None and "hire_date" in self._get_changed_fields():
            self.incomplete_reminded = False  # a corrected hire date is watched again
            self._mark_as_changed("incomplete_reminded")
        if self.employee is not None:
            other = type(self).objects(employee=self.employee.pk, pk__ne=self.pk).only("id").first()
            if other is not None:
                raise field_error("employee", _l("This employee already has an onboarding checklist."))


# ---- compensation (DSC 4(3)) --------------------------------------------------------------------------------------
@owned_by_unit
class CompensationProfile(OwnedDocument):
    """An employee's pay: base salary, performance pay base and bonus, with the statutory social insurance and
    housing fund (DSC 4(3)1-2). Only HR and Admin keep it; Auditor reads it; nobody else, the employee included."""

    meta = {"collection": "compensation_profiles",
            "indexes": [{"fields": ["employee"], "unique": True}, "owner_unit", "effective_from"],
            "ordering": ["-effective_from"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    base_salary = MoneyField(required=True, verbose_name=_l("Base salary (CNY per month)"))
    performance_pay_base = MoneyField(default=Decimal("0"), verbose_name=_l("Performance pay base (CNY per month)"))
    bonus = MoneyField(default=Decimal("0"), verbose_name=_l("Annual bonus target (CNY)"))
    social_insurance = BooleanField(default=True, verbose_name=_l("Social insurance"))
    housing_fund = BooleanField(default=True, verbose_name=_l("Housing fund"))
    effective_from = DateField(required=True, verbose_name=_l("Effective from"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))

    def __str__(self) -> str:  # shown in the audit log: a name, never an amount
        return self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""

    def clean(self) -> None:
        if self.employee is None:
            return
        self.owner_unit = self.employee.owner_unit
        if type(self).objects(employee=self.employee.pk, pk__ne=self.pk).only("id").first() is not None:
            raise field_error("employee", _l("This employee already has a compensation profile: edit that one."))


# ---- awards (SOC 5.2, DSC 4(4)1) ----------------------------------------------------------------------------------
@owned_by_unit
class Award(OwnedDocument):
    """An honour title with its reason and bonus (SOC 5.2, DSC 4(4)1): HR awards it, everyone may read it; the
    bonus is shown only to HR, Auditor and the person awarded."""

    meta = {"collection": "awards", "indexes": ["owner_unit", "employee", "team", "title", "awarded_on", "period"],
            "ordering": ["-awarded_on"]}

    employee = ReferenceField(Employee, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    team = ReferenceField(OrgUnit, reverse_delete_rule=DENY, verbose_name=_l("Team"))
    title = StringField(required=True, choices=AWARD_TITLES, verbose_name=_l("Honour"))
    other_title = StringField(max_length=64, verbose_name=_l("Name of the honour"))
    period_kind = StringField(required=True, choices=PERIOD_KINDS, default="year", verbose_name=_l("Period kind"))
    period = StringField(required=True, max_length=7, verbose_name=_l("Period"))
    awarded_on = DateField(required=True, verbose_name=_l("Awarded on"))
    reason = StringField(required=True, max_length=2000, verbose_name=_l("Reason"))
    bonus = MoneyField(default=Decimal("0"), verbose_name=_l("Bonus (CNY)"))
    bonus_shown = None  # the bonus as the reader may see it (views.hr)

    def __str__(self) -> str:  # no amount: the label is public
        return f"{self.honour} {self.period or ''}".strip()

    @property
    def honour(self) -> str:
        return self.other_title if self.title == "other" and self.other_title else choice_label(AWARD_TITLES,
                                                                                                self.title)

    def clean(self) -> None:
        _stripped(self, "other_title")
        if self.title == "other" and not self.other_title:
            raise field_error("other_title", _l("Name the honour."))
        if self.title == "outstanding_team" and self.team is None:
            raise field_error("team", _l("Choose the team that is honoured."))
        if self.title != "outstanding_team" and self.employee is None:
            raise field_error("employee", _l("Choose the employee who is honoured."))
        self.owner_unit = self.employee.owner_unit if self.employee is not None else self.team
        self.period = (self.period or "").strip().upper()
        if period_bounds(self.period_kind, self.period) is None:
            raise field_error("period", PERIOD_FORMATS.get(self.period_kind, PERIOD_FORMATS["year"]))
        if not _stripped(self, "reason"):
            raise field_error("reason", _l("Say what the honour is for."))


# ---- career plans (BRD 7(5)) --------------------------------------------------------------------------------------
@owned_by_unit
class CareerPlan(OwnedDocument):
    """An employee's personal career plan: goals, path, the opportunities that serve it and a mentor, reviewed on a
    date (BRD 7(5)1-2). The employee writes their goals; their managers and HR keep the rest."""

    meta = {"collection": "career_plans",
            "indexes": [{"fields": ["employee"], "unique": True}, "owner_unit", "mentor", "review_date"],
            "ordering": ["review_date"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=CASCADE, verbose_name=_l("Employee"))
    goals = StringField(required=True, max_length=4000, verbose_name=_l("Goals"))
    target_position = ReferenceField(Position, reverse_delete_rule=NULLIFY, verbose_name=_l("Target position"))
    target_grade = StringField(max_length=32, verbose_name=_l("Target grade"))
    path = StringField(max_length=2000, verbose_name=_l("Development path"))
    opportunities = ListField(StringField(choices=OPPORTUNITIES), verbose_name=_l("Opportunities"))
    mentor = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Mentor"))
    review_date = DateField(required=True, verbose_name=_l("Review date"))
    review_note = StringField(max_length=2000, verbose_name=_l("Last review"))
    review_reminded = BooleanField(default=False)  # the manager was told the review is due (portal remind)

    def __str__(self) -> str:
        return self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""

    def clean(self) -> None:
        if self.employee is None:
            return
        self.owner_unit = self.employee.owner_unit
        if not _stripped(self, "goals"):
            raise field_error("goals", _l("Write the employee's career goals."))
        if self.mentor is not None and self.mentor.pk == self.employee.pk:
            raise field_error("mentor", _l("Choose a mentor other than the employee."))
        self.opportunities = list(dict.fromkeys(self.opportunities or []))
        if self.pk is not None and "review_date" in self._get_changed_fields():
            self.review_reminded = False  # the next review is reminded again
            self._mark_as_changed("review_reminded")
        if type(self).objects(employee=self.employee.pk, pk__ne=self.pk).only("id").first() is not None:
            raise field_error("employee", _l("This employee already has a career plan: edit that one."))


# ---- employees' feedback (DSC 4(4)2) ------------------------------------------------------------------------------
class EmployeeFeedback(Numbered, PortalDocument):
    """An employee's opinion or practical difficulty, named or anonymous, answered by HR (DSC 4(4)2). An anonymous
    submission stores no trace of its author: no employee, no unit, and no name in its stamps or audit entry."""

    meta = {"collection": "employee_feedback",
            "indexes": ["employee", "status", "topic", "handler", "-created_at",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-created_at"]}
    number_prefix = "YJ"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    topic = StringField(required=True, choices=FEEDBACK_TOPICS, verbose_name=_l("Topic"))
    content = StringField(required=True, max_length=4000, verbose_name=_l("Your opinion or difficulty"))
    anonymous = BooleanField(default=False, verbose_name=_l("Anonymous"))
    employee = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Submitted by"))
    status = StringField(required=True, choices=FEEDBACK_STATUSES, default="open", verbose_name=_l("Status"))
    handler = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("HR handler"))
    reply = StringField(max_length=4000, verbose_name=_l("Reply"))
    replied_at = DateTimeField(verbose_name=_l("Replied at"))

    def __str__(self) -> str:  # never the author
        return f"{self.number or ''} {choice_label(FEEDBACK_TOPICS, self.topic)}".strip()

    @property
    def anonymous_author(self) -> bool:
        """The audit trail and the stamps name nobody for the creation of this record (portal.audit)."""
        return bool(self.anonymous)

    def clean(self) -> None:
        if not _stripped(self, "content"):
            raise field_error("content", _l("Write your opinion or the difficulty you meet."))
        if self.anonymous:
            self.employee = None
